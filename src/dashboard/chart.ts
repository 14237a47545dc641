/**
 * The geometry of the dashboard's "sent / failed per day" chart. The view draws it as inline SVG from
 * these numbers (escaped like any other value; no chart library, no client script, no inline style:
 * colours come from classes in public/css/dashboard.css).
 */
import type { DayCount } from './queries.ts';
import { weekdayOf } from './periods.ts';

export interface ChartBar {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ChartDay extends DayCount {
  /** The day's slot (the hover target spans the plot's height). */
  x: number;
  width: number;
  sentBar: ChartBar | null;
  failedBar: ChartBar | null;
  /** Day and month, for the axis label under Mondays (and the first day). */
  dayOfMonth: number;
  month: number;
  labelled: boolean;
  weekend: boolean;
}

export interface Chart {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  /** The y axis: gridlines at these values (0 … top of the scale). */
  ticks: { value: number; y: number }[];
  days: ChartDay[];
  totals: { sent: number; failed: number };
}

const WIDTH = 900;
const HEIGHT = 200;
const PLOT = { left: 40, top: 8, right: WIDTH - 4, bottom: HEIGHT - 22 };
const TICKS = 4;

const round = (n: number) => Math.round(n * 10) / 10;

/** A step of 1, 2 or 5 × 10ⁿ so that TICKS steps cover `max` (whole messages: at least 1). */
export function niceStep(max: number): number {
  const raw = Math.max(1, max) / TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  return Math.max(1, Math.ceil(step));
}

/** Lays out one bar pair per day on a shared scale. */
export function buildChart(days: DayCount[]): Chart {
  const max = days.reduce((m, d) => Math.max(m, d.sent, d.failed), 0);
  const step = niceStep(max);
  const top = step * TICKS;
  const plotHeight = PLOT.bottom - PLOT.top;
  const slot = (PLOT.right - PLOT.left) / Math.max(1, days.length);
  const yOf = (value: number) => PLOT.bottom - (value / top) * plotHeight;
  const bar = (value: number, x: number, width: number): ChartBar | null => {
    if (value <= 0) return null;
    // A single message still shows: at least 1.5 units tall.
    const height = Math.max(1.5, PLOT.bottom - yOf(value));
    return { x: round(x), y: round(PLOT.bottom - height), width: round(width), height: round(height) };
  };
  const barWidth = slot * 0.36;
  const gap = slot * 0.06;
  return {
    width: WIDTH,
    height: HEIGHT,
    plot: PLOT,
    ticks: Array.from({ length: TICKS + 1 }, (_, i) => ({ value: i * step, y: round(yOf(i * step)) })),
    days: days.map((d, i) => {
      const x = PLOT.left + i * slot;
      const [, month, dayOfMonth] = d.day.split('-').map(Number) as [number, number, number];
      const weekday = weekdayOf(d.day);
      return {
        ...d,
        x: round(x),
        width: round(slot),
        sentBar: bar(d.sent, x + (slot - 2 * barWidth - gap) / 2, barWidth),
        failedBar: bar(d.failed, x + (slot - 2 * barWidth - gap) / 2 + barWidth + gap, barWidth),
        dayOfMonth,
        month,
        // Mondays, and the first day unless a Monday follows too closely for two labels.
        labelled: weekday === 0 || (i === 0 && weekday <= 4),
        weekend: weekday >= 5,
      };
    }),
    totals: days.reduce((t, d) => ({ sent: t.sent + d.sent, failed: t.failed + d.failed }), { sent: 0, failed: 0 }),
  };
}
