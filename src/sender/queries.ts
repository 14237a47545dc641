/**
 * The sender's SQL. Claims are `FOR UPDATE SKIP LOCKED` with a lease, so several sender loops (in one
 * process or in several Posel instances on one server) never take the same message; a per-account
 * advisory lock makes the rate-limit check and the claim one step, so two instances cannot both spend
 * the same remaining capacity. Times come from the sender's clock (a parameter), not the database's,
 * so tests can run minutes in seconds.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import type { MessageAddress } from '../db/schema/index.ts';

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
 * What the account `a` may still start at `at`: the least of its per-minute, per-hour and per-day limits
 * minus the attempts in that sliding window, minus its messages in flight (by any instance). NULL when it
 * has no limit. One expression for the tick's budget and the claim's cap, so they cannot disagree.
 */
function capacityOf(at: string) {
  const used = (window: string) =>
    sql`(select count(*) from send_attempts s where s.account_id = a.id and s.started_at > ${at}::timestamptz - ${window}::interval)`;
  // LEAST ignores NULLs: a limit that is not set does not count, and none set gives NULL.
  return sql`(least(a.per_minute - case when a.per_minute is null then 0 else ${used('1 minute')} end,
                    a.per_hour - case when a.per_hour is null then 0 else ${used('1 hour')} end,
                    a.per_day - case when a.per_day is null then 0 else ${used('1 day')} end)
              - case when coalesce(a.per_minute, a.per_hour, a.per_day) is null then 0
                     else (select count(*) from messages f where f.status = 'sending' and f.account_id = a.id) end)`;
}

/** Accounts that are not paused, with what they may still send (`capacityOf`). */
export async function accountCapacities(db: Db, now: Date): Promise<AccountCapacity[]> {
  const rows = rowsOf<{ id: number; is_default: boolean; pool_size: number; remaining: string | number | null }>(
    await db.execute(sql`
      select a.id, a.is_default, a.pool_size, ${capacityOf(now.toISOString())} as remaining
        from smtp_accounts a
       where a.paused_at is null`),
  );
  return rows.map((r) => ({
    id: r.id,
    isDefault: r.is_default,
    poolSize: r.pool_size,
    remaining: r.remaining == null ? Infinity : Math.max(0, Number(r.remaining)),
  }));
}

/** Whether any SMTP account exists (paused or not); without one, mail goes to the built-in test mailbox. */
export async function hasAccounts(db: Db): Promise<boolean> {
  return rowsOf<{ n: boolean }>(await db.execute(sql`select exists (select 1 from smtp_accounts) as n`))[0]?.n === true;
}

/** A claimed message: the columns sending needs, its files and suppressed addresses. */
export interface ClaimedMessage {
  id: number;
  subject: string;
  messageIdHeader: string;
  toAddrs: MessageAddress[];
  ccAddrs: MessageAddress[];
  bccAddrs: MessageAddress[];
  bodyBlob: string;
  unsubscribeUrl: string | null;
  accountId: number | null;
  attemptCount: number;
  sendAt: Date | null;
  sentAt: Date | null;
  notAfter: Date | null;
  giveUpAt: Date | null;
  queuedAt: Date | null;
  queuedBy: number | null;
  createdAt: Date;
  updatedAt: Date;
  /** Its attachments in order. */
  attachments: { id: number; blobId: string; filename: string; contentType: string; sizeBytes: number }[];
  /** Its recipients (lower-cased) that are on the suppression list. */
  suppressed: string[];
}

const toDate = (v: unknown): Date | null => (v == null ? null : v instanceof Date ? v : new Date(String(v)));

/**
 * Claims up to `limit` due messages of one account (`null`: the test mailbox; the default account also
 * takes messages queued without an account), moving them to `sending` under a lease held by `owner`, and
 * returns them with what sending them needs. One transaction, its statements pipelined: no JIT, the
 * account's advisory lock, then the claim, which also stops at what the account's per-minute, per-hour
 * and per-day limits still allow (attempts in each sliding window and messages in flight, by any instance), so two
 * instances cannot both spend the same remaining capacity. A paused (or removed) account claims nothing.
 */
export async function claimMessages(
  db: Db,
  params: { accountId: number | null; isDefault: boolean; owner: string; now: Date; leaseMs: number; limit: number; timeZone?: string },
): Promise<ClaimedMessage[]> {
  const { accountId, isDefault, owner, now, leaseMs, limit } = params;
  if (limit <= 0) return [];
  // [campaigns] minutes after local midnight, for campaigns' sending windows (config TIMEZONE; its default when not given).
  const local = new Intl.DateTimeFormat('en-GB', { timeZone: params.timeZone ?? 'Europe/Prague', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' }).formatToParts(now);
  const minute = Number(local.find((p) => p.type === 'hour')!.value) * 60 + Number(local.find((p) => p.type === 'minute')!.value);
  const at = now.toISOString();
  const forAccount =
    accountId == null ? sql`account_id is null` : isDefault ? sql`(account_id = ${accountId} or account_id is null)` : sql`account_id = ${accountId}`;
  // What the account's limits still allow (`capacityOf`); a paused or removed account: nothing.
  const room =
    accountId == null
      ? sql`${limit}::int`
      : sql`(select greatest(0, least(${limit}::int, ${capacityOf(at)})) from smtp_accounts a where a.id = ${accountId} and a.paused_at is null)`;
  const rows = await db.transaction(async (tx) => {
    const [, , claimed] = await Promise.all([
      // Not knowing the limit (the account's room is a subquery), the planner costs the claim as if it took a
      // tenth of the queue; past ~60,000 queued that crosses jit_above_cost, and compiling the statement took
      // 40–90 ms of every claim (a queue of 100,000 drained at half speed). The plan itself is the right one.
      tx.execute(sql`set local jit = off`),
      tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK}, ${accountId ?? 0})`),
      // Sent right behind the lock on the same connection: it runs (and takes its snapshot) once the lock is held.
      tx.execute(sql`
        with claimed as (
          update messages m
             set status = 'sending', lease_owner = ${owner},
                 lease_until = ${at}::timestamptz + ${`${leaseMs} milliseconds`}::interval,
                 attempt_count = m.attempt_count + 1,
                 account_id = ${accountId}
           -- The ids as an array: the update then finds its rows by primary key. As "id in (…)" the planner,
           -- not knowing the limit, expected a thousand rows and read the whole table on every claim.
           where m.id = any(array(
             select id from messages
              where status in ('queued', 'deferred') and send_at <= ${at}::timestamptz and ${forAccount}
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
              limit coalesce(${room}, 0)
              for update skip locked))
          returning m.id, m.subject, m.message_id_header, m.to_addrs, m.cc_addrs, m.bcc_addrs, m.body_blob, m.unsubscribe_url,
                    m.account_id, m.attempt_count, m.send_at, m.sent_at, m.not_after, m.give_up_at, m.queued_at, m.queued_by,
                    m.created_at, m.updated_at)
        select c.*,
               coalesce((select jsonb_agg(jsonb_build_object('id', f.id, 'blobId', f.blob_id, 'filename', f.filename,
                                                             'contentType', f.content_type, 'sizeBytes', f.size_bytes)
                                          order by f.position, f.id)
                           from message_attachments f where f.message_id = c.id), '[]'::jsonb) as attachments,
               coalesce((select jsonb_agg(s.address) from suppressions s
                          where s.address in (select lower(e->>'address') from jsonb_array_elements(c.to_addrs || c.cc_addrs || c.bcc_addrs) e)),
                        '[]'::jsonb) as suppressed
          from claimed c
         order by c.id`),
    ]);
    return rowsOf<Record<string, unknown>>(claimed);
  });
  return rows.map((r) => ({
    id: Number(r.id),
    subject: String(r.subject),
    messageIdHeader: String(r.message_id_header),
    toAddrs: r.to_addrs as MessageAddress[],
    ccAddrs: r.cc_addrs as MessageAddress[],
    bccAddrs: r.bcc_addrs as MessageAddress[],
    bodyBlob: String(r.body_blob),
    unsubscribeUrl: (r.unsubscribe_url as string | null) ?? null,
    accountId: r.account_id == null ? null : Number(r.account_id),
    attemptCount: Number(r.attempt_count),
    sendAt: toDate(r.send_at),
    sentAt: toDate(r.sent_at),
    notAfter: toDate(r.not_after),
    giveUpAt: toDate(r.give_up_at),
    queuedAt: toDate(r.queued_at),
    queuedBy: r.queued_by == null ? null : Number(r.queued_by),
    createdAt: toDate(r.created_at)!,
    updatedAt: toDate(r.updated_at)!,
    attachments: (r.attachments as ClaimedMessage['attachments']).map((f) => ({ ...f, id: Number(f.id), sizeBytes: Number(f.sizeBytes) })),
    suppressed: r.suppressed as string[],
  }));
}

/** The ids `claimMessages` claims (for tests of what may be claimed). */
export async function claimDue(db: Db, params: Parameters<typeof claimMessages>[1]): Promise<number[]> {
  return (await claimMessages(db, params)).map((m) => m.id);
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
