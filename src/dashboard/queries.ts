/**
 * The dashboard's figures: messages sent, failed, deferred and queued today and this week, sent / failed
 * per local day for the chart, and the latest failures.
 *
 * Each message counts once, in the state it is in now, on the day of its latest step: `sent` when the
 * server accepted it (`sent_at`), `failed` / `deferred` / `uncertain` at its last delivery attempt
 * (`send_attempts.started_at`: the sender does not touch `updated_at`, so that is the only record of
 * when a message failed), `queued` when it was queued. So a message that failed yesterday and was sent
 * after a retry today counts as sent today, and the figures add up with the outbox's.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import type { DashboardPeriods } from './periods.ts';

export const COUNTED_STATES = ['sent', 'failed', 'deferred', 'queued'] as const;
export type CountedState = (typeof COUNTED_STATES)[number];

export type PeriodCounts = Record<CountedState, { today: number; week: number }>;

/**
 * `la.at`: when a message `m` that is not sent reached its state: its last attempt (one backward step in
 * `send_attempts_message_idx` per message), else its last edit. A lateral join, so it is computed once per
 * row even when the query filters and groups on it (a repeated subquery also inflates the plan's cost
 * estimate past the server's JIT threshold, which then costs more than the query).
 */
const lastAttempt = sql`cross join lateral (select coalesce(max(s.started_at), m.updated_at) as at from send_attempts s where s.message_id = m.id) la`;

/**
 * Sent, failed, deferred and queued messages today and this week (Monday start). Sent and failed come
 * from the chart's days (this week always lies within them), so the large `sent` range is read once per
 * page; deferred and queued are few rows, reached through `messages_status_idx`.
 */
export async function periodCounts(db: Db, p: DashboardPeriods, days: DayCount[]): Promise<PeriodCounts> {
  const counts = Object.fromEntries(COUNTED_STATES.map((s) => [s, { today: 0, week: 0 }])) as PeriodCounts;
  for (const d of days) {
    if (d.day < p.weekStartDate || d.day > p.today) continue;
    for (const s of ['sent', 'failed'] as const) {
      counts[s].week += d[s];
      if (d.day === p.today) counts[s].today += d[s];
    }
  }
  const week = p.weekStart.toISOString();
  const end = p.end.toISOString();
  const rows = rowsOf<{ status: 'deferred' | 'queued'; today: number; week: number }>(
    await db.execute(sql`
      with events as (
        select m.status, la.at from messages m ${lastAttempt} where m.status = 'deferred'
        union all
        select m.status, coalesce(m.queued_at, m.created_at) from messages m where m.status = 'queued'
      )
      select status,
             count(*) filter (where at >= ${p.todayStart.toISOString()}::timestamptz and at < ${end}::timestamptz)::int as today,
             count(*) filter (where at >= ${week}::timestamptz and at < ${end}::timestamptz)::int as week
        from events
       group by status`),
  );
  for (const r of rows) counts[r.status] = { today: Number(r.today), week: Number(r.week) };
  return counts;
}

export interface DayCount {
  /** Local calendar date, `YYYY-MM-DD`. */
  day: string;
  sent: number;
  failed: number;
}

/**
 * Sent and failed messages per local day over the chart's days (every day present, zeros included).
 * One query: generate_series yields the local days; each message is bucketed by its time in the zone,
 * read only within the [first day's midnight, tomorrow's midnight) range, so `sent_at` stays a plain range.
 */
export async function dailyCounts(db: Db, p: DashboardPeriods, timeZone: string): Promise<DayCount[]> {
  const rows = rowsOf<{ day: string; sent: number; failed: number }>(await db.execute(dailyCountsQuery(p, timeZone)));
  return rows.map((r) => ({ day: r.day, sent: Number(r.sent), failed: Number(r.failed) }));
}

/** The SQL of dailyCounts (exported for src/dashboard/measure.ts, which prints its plan). */
export function dailyCountsQuery(p: DashboardPeriods, timeZone: string): SQL {
  const from = p.chartStart.toISOString();
  const to = p.end.toISOString();
  return sql`
    with days as (
      select d::date as day from generate_series(${p.chartFirstDate}::date, ${p.today}::date, interval '1 day') d
    ),
    sent as (
      select (m.sent_at at time zone ${timeZone})::date as day, count(*)::int as n
        from messages m
       where m.status = 'sent' and m.sent_at >= ${from}::timestamptz and m.sent_at < ${to}::timestamptz
       group by 1
    ),
    failed as (
      select (la.at at time zone ${timeZone})::date as day, count(*)::int as n
        from messages m ${lastAttempt}
       where m.status = 'failed' and la.at >= ${from}::timestamptz and la.at < ${to}::timestamptz
       group by 1
    )
    select to_char(days.day, 'YYYY-MM-DD') as day, coalesce(sent.n, 0) as sent, coalesce(failed.n, 0) as failed
      from days
      left join sent on sent.day = days.day
      left join failed on failed.day = days.day
     order by days.day`;
}

export interface FailureRow {
  id: number;
  status: 'failed' | 'uncertain';
  subject: string;
  recipients: string;
  lastResult: string | null;
  failedAt: Date;
  accountName: string | null;
}

/** The newest failed and uncertain messages (by their last attempt), with the server's last reply. */
export async function latestFailures(db: Db, limit = 10): Promise<FailureRow[]> {
  const rows = rowsOf<FailureRow & { failedAt: string | Date }>(
    await db.execute(sql`
      select f.id, f.status, f.subject, f.recipients, f.last_result as "lastResult", f.at as "failedAt", a.name as "accountName"
        from (select m.id, m.status, m.subject, m.recipients, m.last_result, m.account_id, la.at
                from messages m ${lastAttempt} where m.status in ('failed', 'uncertain')) f
        left join smtp_accounts a on a.id = f.account_id
       order by f.at desc, f.id desc
       limit ${limit}`),
  );
  return rows.map((r) => ({ ...r, failedAt: new Date(r.failedAt) }));
}
