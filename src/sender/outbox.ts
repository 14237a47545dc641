/**
 * The outbox ("Sending e-mails"): what is waiting, in flight, uncertain or failed, with counters for the
 * live header and each account's usage against its limits.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';

export const OUTBOX_STATUSES = ['queued', 'sending', 'deferred', 'uncertain', 'failed'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export interface OutboxFilter {
  status?: OutboxStatus;
  /** An account id, or 0 for the test mailbox (no account). */
  account?: number;
}

export interface OutboxRow {
  id: number;
  status: string;
  subject: string;
  recipients: string;
  sendAt: Date | null;
  attemptCount: number;
  lastResult: string | null;
  accountName: string | null;
  queuedByName: string | null;
}

function where(filter: OutboxFilter): SQL {
  const parts = [filter.status ? sql`m.status = ${filter.status}` : sql`m.status in ('queued', 'sending', 'deferred', 'uncertain', 'failed')`];
  if (filter.account === 0) parts.push(sql`m.account_id is null`);
  else if (filter.account) parts.push(sql`m.account_id = ${filter.account}`);
  return sql.join(parts, sql` and `);
}

/** One page of the outbox: the next to go first, then the rest by time. */
export async function listOutbox(db: Db, filter: OutboxFilter, page: number, pageSize: number): Promise<{ rows: OutboxRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db.execute(sql`
      select m.id, m.status, m.subject, m.recipients, m.send_at as "sendAt", m.attempt_count as "attemptCount",
             m.last_result as "lastResult", a.name as "accountName", u.name as "queuedByName"
        from messages m
        left join smtp_accounts a on a.id = m.account_id
        left join users u on u.id = m.queued_by
       where ${where(filter)}
       order by m.send_at nulls last, m.id
       limit ${pageSize} offset ${(page - 1) * pageSize}`),
    db.execute(sql`select count(*)::int as n from messages m where ${where(filter)}`),
  ]);
  return {
    rows: rowsOf<OutboxRow>(rows).map((r) => ({ ...r, sendAt: r.sendAt ? new Date(r.sendAt) : null })),
    total: rowsOf<{ n: number }>(count)[0]?.n ?? 0,
  };
}

/** Ids of every message the filter matches (the "all N matching" bulk selection), capped. */
export async function outboxIds(db: Db, filter: OutboxFilter, cap = 100_000): Promise<number[]> {
  return rowsOf<{ id: number }>(await db.execute(sql`select m.id from messages m where ${where(filter)} order by m.id limit ${cap}`)).map((r) => r.id);
}

/** How many messages are in each outbox state (and sent today), for the live counters. */
export async function outboxCounts(db: Db, since: Date): Promise<Record<OutboxStatus | 'sentToday', number>> {
  const rows = rowsOf<{ status: string; n: number }>(
    await db.execute(sql`
      select status, count(*)::int as n from messages
       where status in ('queued', 'sending', 'deferred', 'uncertain', 'failed')
       group by status
      union all
      select 'sentToday', count(*)::int from messages where status = 'sent' and sent_at >= ${since.toISOString()}::timestamptz`),
  );
  const counts = { queued: 0, sending: 0, deferred: 0, uncertain: 0, failed: 0, sentToday: 0 };
  for (const r of rows) counts[r.status as keyof typeof counts] = r.n;
  return counts;
}

export interface AccountUsage {
  id: number;
  name: string;
  isDefault: boolean;
  pausedAt: Date | null;
  pausedReason: string | null;
  perMinute: number | null;
  perHour: number | null;
  perDay: number | null;
  usedMinute: number;
  usedHour: number;
  usedDay: number;
  waiting: number;
}

/** Each account's attempts in its limit windows, and how many messages wait for it. */
export async function accountUsage(db: Db, now: Date): Promise<AccountUsage[]> {
  const at = now.toISOString();
  const rows = rowsOf<AccountUsage & { pausedAt: string | Date | null }>(
    await db.execute(sql`
      select a.id, a.name, a.is_default as "isDefault", a.paused_at as "pausedAt", a.paused_reason as "pausedReason",
             a.per_minute as "perMinute", a.per_hour as "perHour", a.per_day as "perDay",
             (select count(*)::int from send_attempts s where s.account_id = a.id and s.started_at > ${at}::timestamptz - interval '1 minute') as "usedMinute",
             (select count(*)::int from send_attempts s where s.account_id = a.id and s.started_at > ${at}::timestamptz - interval '1 hour') as "usedHour",
             (select count(*)::int from send_attempts s where s.account_id = a.id and s.started_at > ${at}::timestamptz - interval '1 day') as "usedDay",
             (select count(*)::int from messages m where m.status in ('queued', 'deferred') and (m.account_id = a.id or (a.is_default and m.account_id is null))) as waiting
        from smtp_accounts a
       order by a.is_default desc, a.name`),
  );
  return rows.map((r) => ({ ...r, pausedAt: r.pausedAt ? new Date(r.pausedAt) : null }));
}

export interface AttemptRow {
  id: number;
  startedAt: Date;
  durationMs: number;
  outcome: string;
  smtpCode: number | null;
  response: string | null;
  recipients: string;
  rejected: string | null;
  accountName: string | null;
}

/** Every delivery attempt of a message, newest first, with the account it went through. */
export async function listAttempts(db: Db, messageId: number): Promise<AttemptRow[]> {
  const rows = rowsOf<AttemptRow & { startedAt: string | Date }>(
    await db.execute(sql`
      select s.id, s.started_at as "startedAt", s.duration_ms as "durationMs", s.outcome, s.smtp_code as "smtpCode",
             s.response, s.recipients, s.rejected, a.name as "accountName"
        from send_attempts s left join smtp_accounts a on a.id = s.account_id
       where s.message_id = ${messageId}
       order by s.id desc
       limit 200`),
  );
  return rows.map((r) => ({ ...r, startedAt: new Date(r.startedAt) }));
}

export interface SendAccountChoice {
  id: number;
  name: string;
  fromAddress: string;
  isDefault: boolean;
  paused: boolean;
}

/** The accounts a message can be sent through, the default first. */
export async function sendAccountChoices(db: Db): Promise<SendAccountChoice[]> {
  return rowsOf<SendAccountChoice>(
    await db.execute(sql`
      select id, name, from_address as "fromAddress", is_default as "isDefault", paused_at is not null as paused
        from smtp_accounts order by is_default desc, name`),
  );
}
