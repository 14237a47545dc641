/**
 * Writing what became of sent messages, several at a time. Each finished send hands in its outcome; the
 * writer commits everything handed in meanwhile at once (group commit): the attempt rows, the messages'
 * new states, suppressions, paused accounts and one audit row per message — one statement (one round
 * trip) in the usual case, a transaction of several when an address is suppressed or an account paused.
 * So the audit chain's lock and the commit's flush are paid once per batch instead of once per message,
 * and a send's "sent" is committed at most `GATHER_MS` (25 ms) after the batch before it started.
 *
 * A message whose lease this sender lost meanwhile (it took longer than the lease, and another sender
 * requeued it) keeps the state its new owner gives it: the attempt is recorded, and its audit row says
 * `message.lease_lost` instead of a second `message.sent`.
 */
import { eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { requestsDone } from '../http/busy.ts';
import { pgArray, rowsOf, type Db } from '../db/client.ts';
import { smtpAccounts } from '../db/schema/index.ts';

/** One finished send, ready to be written. */
export interface OutcomeRecord {
  messageId: number;
  accountId: number | null;
  accountName: string | null;
  started: Date;
  durationMs: number;
  /** send_attempts.outcome: sent | deferred | failed | uncertain | paused */
  attemptOutcome: string;
  code: number | null;
  response: string;
  recipients: string[];
  rejected: string | null;
  /** The message's new state. */
  status: string;
  sendAt: Date | null;
  sentAt: Date | null;
  /** 1 when the attempt does not count (the account was paused before the server saw the message). */
  uncountAttempt: 0 | 1;
  suppress: { address: string; code: number | null; response: string }[];
  /** The account to pause (authentication refused), with the reason. */
  pauseAccount: { id: number; name: string; reason: string } | null;
  audit: { action: string; summary: string; after: Record<string, unknown>; result: 'ok' | 'failed' };
}


/** Most outcomes written in one transaction. */
const MAX_BATCH = 100;
/**
 * A batch starts at most this long after the one before it started, so the outcomes of sends that finish
 * meanwhile share its statement: written one or two at a time (sends finish every few milliseconds), the
 * statement's parsing, planning, commit and audit-chain lock cost the database more than the rows did.
 * The first outcome after a quiet spell is written at once.
 */
const GATHER_MS = 25;
/**
 * Pending outcomes that are written at once, without waiting for the rest of `GATHER_MS`: a lane claims
 * more only as its messages are recorded (at most 8 per connection in flight), so a fast server must not
 * wait on the writer's clock.
 */
const GATHER_ENOUGH = 8;

export class OutcomeWriter {
  readonly #db: Db;
  readonly #owner: string;
  readonly #actor: AuditActor;
  readonly #log: Logger;
  readonly #now: () => Date;
  #pending: { record: OutcomeRecord; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #flushing: Promise<void> | null = null;
  /** When the last batch started (performance.now()). */
  #lastBatch = -Infinity;
  /** Ends the wait for the rest of `GATHER_MS` (set while waiting). */
  #gathered: (() => void) | null = null;

  constructor(options: { db: Db; owner: string; actor: AuditActor; logger: Logger; now: () => Date }) {
    this.#db = options.db;
    this.#owner = options.owner;
    this.#actor = options.actor;
    this.#log = options.logger;
    this.#now = options.now;
  }

  /** Resolves once the outcome is committed. */
  write(record: OutcomeRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      if (this.#pending.length >= GATHER_ENOUGH) this.#gathered?.();
      this.#flushing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length) {
        const wait = this.#lastBatch + GATHER_MS - performance.now();
        if (wait > 0 && this.#pending.length < GATHER_ENOUGH) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.#gathered = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#gathered = null;
        }
        this.#lastBatch = performance.now();
        // Web requests first (src/http/busy.ts): the database work of a batch waits for the pages being served.
        await requestsDone();
        const batch = this.#pending.splice(0, MAX_BATCH);
        try {
          await this.#writeBatch(batch.map((b) => b.record));
          for (const b of batch) b.resolve();
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          // One bad outcome must not take the others with it: write them one by one.
          this.#log.warn({ err, size: batch.length }, 'writing a batch of send outcomes failed; writing them one by one');
          for (const b of batch) {
            await this.#writeBatch([b.record]).then(b.resolve, b.reject);
          }
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #writeBatch(records: OutcomeRecord[]): Promise<void> {
    // The usual batch (sent, deferred, failed without a bounce): one statement, so one round trip.
    if (!records.some((r) => r.suppress.length || r.pauseAccount)) return this.#writeOutcomes(this.#db, records);
    // A bounce to suppress or an account to pause: those first, then the same statement, in one transaction.
    const now = this.#now();
    await this.#db.transaction(async (tx) => {
      for (const r of records) {
        for (const s of r.suppress) {
          await tx.execute(sql`
            insert into suppressions (address, reason, smtp_code, response, message_id)
            values (${s.address.toLowerCase()}, 'hard bounce', ${s.code}, ${s.response.slice(0, 1000)}, ${r.messageId})
            on conflict (address) do nothing`);
        }
      }
      const paused = new Map(records.flatMap((r) => (r.pauseAccount ? [[r.pauseAccount.id, r.pauseAccount] as const] : [])));
      for (const account of paused.values()) {
        const changed = await tx
          .update(smtpAccounts)
          .set({ pausedAt: now, pausedReason: account.reason })
          .where(eq(smtpAccounts.id, account.id))
          .returning({ id: smtpAccounts.id });
        if (changed.length) {
          await recordAudit(tx, this.#actor, { action: 'account.paused', objectType: 'smtp_account', objectId: account.id, summary: `${account.name}: ${account.reason}`, result: 'failed' });
        }
      }
      await this.#writeOutcomes(tx, records);
    });
  }

  /**
   * The attempt rows, the messages' new states and their audit rows, in one statement: its parts see one
   * snapshot and commit together. The audit rows go last (the chain's lock is taken by the first and held
   * to the commit; the chain trigger runs per row and sees the rows before it).
   */
  async #writeOutcomes(db: Db, records: OutcomeRecord[]): Promise<void> {
    const rows = JSON.stringify(
      records.map((r, i) => ({
        i,
        message_id: r.messageId,
        account_id: r.accountId,
        started_at: r.started.toISOString(),
        duration_ms: r.durationMs,
        outcome: r.attemptOutcome,
        smtp_code: r.code,
        response: r.response,
        recipients: r.recipients.join(', '),
        rejected: r.rejected,
        status: r.status,
        send_at: r.sendAt?.toISOString() ?? null,
        sent_at: r.sentAt?.toISOString() ?? null,
        uncount: r.uncountAttempt,
        action: r.audit.action,
        summary: r.audit.summary.slice(0, 1000),
        after: r.audit.after,
        result: r.audit.result,
      })),
    );
    // The batch's ids again as an array: the planner then finds the rows by primary key. Joined only to the
    // recordset (estimated at 100 rows, whatever its size), it scanned every 'sending' entry of the status
    // index and the dead row versions behind them, on every batch.
    const ids = pgArray(records.map((r) => r.messageId));
    const lost = rowsOf<{ object_id: string; action: string }>(
      await db.execute(sql`
        with x as (
          select * from jsonb_to_recordset(${rows}::jsonb) as x(i int, message_id int, account_id int, started_at timestamptz, duration_ms int,
                      outcome text, smtp_code int, response text, recipients text, rejected text, status text, send_at timestamptz,
                      sent_at timestamptz, uncount int, action text, summary text, after jsonb, result text)),
        attempts as (
          insert into send_attempts (message_id, account_id, started_at, duration_ms, outcome, smtp_code, response, recipients, rejected)
          select message_id, account_id, started_at, duration_ms, outcome, smtp_code, response, recipients, rejected from x),
        updated as (
          -- Every transition is guarded by the state and the lease it expects (DESIGN.md rule 4).
          update messages m
             set status = x.status, lease_owner = null, lease_until = null, last_result = x.response,
                 send_at = x.send_at, sent_at = x.sent_at, attempt_count = m.attempt_count - x.uncount
            from x
           where m.id = any(${ids}::int[]) and m.id = x.message_id and m.status = 'sending' and m.lease_owner = ${this.#owner}
          returning m.id)
        insert into audit_log (actor_id, actor_name, action, object_type, object_id, summary, before, after, ip, request_id, result)
        select ${this.#actor.actorId}::int, ${this.#actor.actorName}::text,
               case when u.id is null then 'message.lease_lost' else x.action end, 'message', x.message_id::text, x.summary, null, x.after,
               ${this.#actor.ip}::text, ${this.#actor.requestId}::text, x.result
          from x left join updated u on u.id = x.message_id
         order by x.i
        returning object_id, action`),
    ).filter((r) => r.action === 'message.lease_lost');
    for (const r of lost) this.#log.warn({ messageId: Number(r.object_id) }, 'lease lost while sending; attempt recorded, state left to its new owner');
  }

  /** Resolves when everything handed in so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }
}
