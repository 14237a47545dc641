/**
 * The dashboard's periods in the configured zone (TIMEZONE): today, this week (Monday start) and the
 * chart's last 30 days, as local calendar dates and as UTC instants for index-friendly ranges.
 */
import { startOfLocalDay, startOfNextLocalDay } from '../activities/time.ts';

/** Days the chart covers, today included. */
export const CHART_DAYS = 30;

export interface DashboardPeriods {
  /** Local calendar date of `now`, `YYYY-MM-DD`. */
  today: string;
  /** Local date of this week's Monday. */
  weekStartDate: string;
  /** Local date of the chart's first day (29 days before today). */
  chartFirstDate: string;
  /** Midnight starting today, this week's Monday, the chart's first day; and midnight ending today. */
  todayStart: Date;
  weekStart: Date;
  chartStart: Date;
  end: Date;
}

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date (`YYYY-MM-DD`) of an instant in a zone. */
export function localDate(instant: Date, timeZone: string): string {
  let f = dayFormatters.get(timeZone);
  if (!f) dayFormatters.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  return f.format(instant);
}

/** Calendar arithmetic on a `YYYY-MM-DD` date (no time zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Day of the week of a calendar date, Monday = 0 … Sunday = 6. */
export function weekdayOf(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

/** Today, this week and the chart's 30 days around `now`, in `timeZone`. */
export function dashboardPeriods(now: Date, timeZone: string): DashboardPeriods {
  const today = localDate(now, timeZone);
  const weekStartDate = addDays(today, -weekdayOf(today));
  const chartFirstDate = addDays(today, -(CHART_DAYS - 1));
  return {
    today,
    weekStartDate,
    chartFirstDate,
    todayStart: startOfLocalDay(today, timeZone),
    weekStart: startOfLocalDay(weekStartDate, timeZone),
    chartStart: startOfLocalDay(chartFirstDate, timeZone),
    end: startOfNextLocalDay(today, timeZone),
  };
}
