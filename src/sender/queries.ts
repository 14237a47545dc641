/**
 * The sender's SQL. Claims are `FOR UPDATE SKIP LOCKED` with a lease, so several sender loops (in one
 * process or in several Posel instances on one server) never take the same message; a per-account
 * advisory lock makes the rate-limit check and the claim one step, so two instances cannot both spend
 * the same remaining capacity. Times come from the sender's clock (a parameter), not the database's,
 * so tests can run minutes in seconds.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';

/** Advisory lock namespace of the per-account claim (any constant; distinct from the audit chain's). */
const CLAIM_LOCK = 0x706f73; // 'pos'

export interface AccountCapacity {
  id: number;
  isDefault: boolean;
  poolSize: number;
  /** Messages it may start now without breaking a per-minute/hour/day limit (Infinity when unlimited). */
  remaining: number;
}

/**
 * Accounts that are not paused, with what they may still send: each limit minus the attempts in its
 * sliding window and the messages in flight.
 */
export async function accountCapacities(db: Db, now: Date): Promise<AccountCapacity[]> {
  const rows = rowsOf<{
    id: number;
    is_default: boolean;
    pool_size: number;
    per_minute: number | null;
    per_hour: number | null;
    per_day: number | null;
    used_minute: string | number;
    used_hour: string | number;
    used_day: string | number;
    in_flight: string | number;
  }>(
    await db.execute(sql`
      select a.id, a.is_default, a.pool_size, a.per_minute, a.per_hour, a.per_day,
             (select count(*) from send_attempts s where s.account_id = a.id and s.started_at > ${now.toISOString()}::timestamptz - interval '1 minute') as used_minute,
             (select count(*) from send_attempts s where s.account_id = a.id and s.started_at > ${now.toISOString()}::timestamptz - interval '1 hour') as used_hour,
             (select count(*) from send_attempts s where s.account_id = a.id and s.started_at > ${now.toISOString()}::timestamptz - interval '1 day') as used_day,
             (select count(*) from messages m where m.status = 'sending' and m.account_id = a.id) as in_flight
      from smtp_accounts a
      where a.paused_at is null`),
  );
  return rows.map((r) => {
    const inFlight = Number(r.in_flight);
    const left = (limit: number | null, used: string | number) => (limit == null ? Infinity : limit - Number(used) - inFlight);
    return {
      id: r.id,
      isDefault: r.is_default,
      poolSize: r.pool_size,
      remaining: Math.max(0, Math.min(left(r.per_minute, r.used_minute), left(r.per_hour, r.used_hour), left(r.per_day, r.used_day))),
    };
  });
}

/** Whether any SMTP account exists (paused or not); without one, mail goes to the built-in test mailbox. */
export async function hasAccounts(db: Db): Promise<boolean> {
  return rowsOf<{ n: boolean }>(await db.execute(sql`select exists (select 1 from smtp_accounts) as n`))[0]?.n === true;
}

/**
 * Claims up to `limit` due messages of one account (`null`: the test mailbox; the default account also
 * takes messages queued without an account), moving them to `sending` under a lease held by `owner`.
 */
export async function claimDue(
  db: Db,
  params: { accountId: number | null; isDefault: boolean; owner: string; now: Date; leaseMs: number; limit: number; timeZone?: string },
): Promise<number[]> {
  const { accountId, isDefault, owner, now, leaseMs, limit } = params;
  // [campaigns] minutes after local midnight, for campaigns' sending windows (config TIMEZONE; its default when not given).
  const local = new Intl.DateTimeFormat('en-GB', { timeZone: params.timeZone ?? 'Europe/Prague', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' }).formatToParts(now);
  const minute = Number(local.find((p) => p.type === 'hour')!.value) * 60 + Number(local.find((p) => p.type === 'minute')!.value);
  if (limit <= 0) return [];
  const forAccount =
    accountId == null ? sql`account_id is null` : isDefault ? sql`(account_id = ${accountId} or account_id is null)` : sql`account_id = ${accountId}`;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK}, ${accountId ?? 0})`);
    const rows = rowsOf<{ id: number }>(
      await tx.execute(sql`
        update messages m
           set status = 'sending', lease_owner = ${owner},
               lease_until = ${now.toISOString()}::timestamptz + ${`${leaseMs} milliseconds`}::interval,
               attempt_count = m.attempt_count + 1,
               account_id = ${accountId}
         where m.id in (
           select id from messages
            where status in ('queued', 'deferred') and send_at <= ${now.toISOString()}::timestamptz and ${forAccount}
              -- [campaigns] a bulk action's mail waits while its campaign is paused, never goes once it is
              -- cancelled (a retry deferred before the cancel included) and, when the campaign has a sending
              -- window, waits outside it (local time). A message someone queued by hand (sent from the review,
              -- resent after the campaign ended) goes like any other.
              and (campaign_id is null or exists (
                select 1 from campaigns c
                 where c.id = messages.campaign_id and c.status not in ('paused', 'cancelled')
                   and (c.window_start is null or c.window_end is null or case
                        when c.window_start <= c.window_end then ${minute}::int >= c.window_start and ${minute}::int < c.window_end
                        else ${minute}::int >= c.window_start or ${minute}::int < c.window_end end)))
            order by send_at, id
            limit ${limit}
            for update skip locked)
        returning m.id`),
    );
    return rows.map((r) => r.id).sort((a, b) => a - b);
  });
}

/**
 * Puts messages whose lease ran out (their sender crashed or hung) back in the queue. A message that was
 * mid-DATA may then go out twice, with the same Message-ID, which receivers use to spot the duplicate.
 */
export async function requeueExpiredLeases(db: Db, now: Date): Promise<number> {
  const rows = rowsOf<{ id: number }>(
    await db.execute(sql`
      update messages
         set status = 'queued', lease_owner = null, lease_until = null, send_at = ${now.toISOString()}::timestamptz,
             last_result = 'lease expired: requeued'
       where status = 'sending' and lease_until < ${now.toISOString()}::timestamptz
      returning id`),
  );
  return rows.length;
}

/** Gives back messages this owner still holds (graceful shutdown): they return to the queue as they were. */
export async function releaseLeases(db: Db, owner: string): Promise<number> {
  const rows = rowsOf<{ id: number }>(
    await db.execute(sql`
      update messages set status = 'queued', lease_owner = null, lease_until = null, attempt_count = greatest(attempt_count - 1, 0)
       where status = 'sending' and lease_owner = ${owner}
      returning id`),
  );
  return rows.length;
}

/** The earliest time a waiting message becomes due (so an idle loop knows how long it may sleep). */
export async function nextDueAt(db: Db): Promise<Date | null> {
  const row = rowsOf<{ at: string | Date | null }>(
    await db.execute(sql`select min(send_at) as at from messages where status in ('queued', 'deferred')`),
  )[0];
  return row?.at ? new Date(row.at) : null;
}
