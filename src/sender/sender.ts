/**
 * The in-process sending loop (DESIGN.md rules 4–5). Each round: requeue expired leases now and then,
 * work out what every account may still send, claim that many due messages under a lease, and process
 * each as named steps — check it may still go, drop suppressed recipients, build the MIME, hand it to the
 * server, classify the answer, and record the attempt, the new state and an audit row in one transaction.
 * "Sent" is committed right after the server's 250. The loop sleeps only when a round found nothing, and
 * wakes at once when a message is queued or when it is stopped.
 */
import { randomUUID } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import { messages, smtpAccounts, suppressions, type MessageAddress } from '../db/schema/index.ts';
import { buildMessageMime } from '../messages/service.ts';
import type { Store } from '../store/store.ts';
import { backoffMs, classifyFailure, classifyReport, shouldSuppress, type Outcome } from './classify.ts';
import { accountCapacities, claimDue, hasAccounts, releaseLeases, requeueExpiredLeases } from './queries.ts';
import { SendFailure, Transports, type TransportConfig } from './transport.ts';

export interface SenderOptions {
  db: Db;
  store: Store;
  logger: Logger;
  /** Where mail goes while no SMTP account exists: the built-in test mailbox. */
  testMailbox: { host: string; port: number } | null;
  transports?: Transports;
  /** The clock for every time the sender writes or compares (tests run it fast). */
  now?: () => Date;
  leaseMs?: number;
  /** Longest sleep when idle. */
  idleMs?: number;
  /** Temporary failures are retried until this long after queueing. */
  giveUpMs?: number;
  timeouts?: TransportConfig['timeouts'];
}

const SENDER_ACTOR: AuditActor = { actorId: null, actorName: 'Posel', ip: null, requestId: null };
const TEST_MAILBOX_ID = 'test-mailbox';

type MessageRow = typeof messages.$inferSelect;
type AccountRow = typeof smtpAccounts.$inferSelect;

export class Sender {
  readonly owner = `sender-${randomUUID()}`;
  readonly #db: Db;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #transports: Transports;
  readonly #now: () => Date;
  readonly #leaseMs: number;
  readonly #idleMs: number;
  readonly #giveUpMs: number;
  readonly #options: SenderOptions;
  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #lastLeaseSweep = 0;

  constructor(options: SenderOptions) {
    this.#options = options;
    this.#db = options.db;
    this.#store = options.store;
    this.#log = options.logger;
    this.#transports = options.transports ?? new Transports();
    this.#now = options.now ?? (() => new Date());
    this.#leaseMs = options.leaseMs ?? 5 * 60_000;
    this.#idleMs = options.idleMs ?? 2000;
    this.#giveUpMs = options.giveUpMs ?? 48 * 3_600_000;
  }

  /** Starts the loop in the background. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Wakes an idle loop (a message was just queued). */
  wake(): void {
    this.#wake?.();
  }

  /** Stops claiming, lets in-flight sends finish (or gives their leases back), closes connections. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.wake();
    await this.#loop;
    await releaseLeases(this.#db, this.owner).catch((err) => this.#log.warn({ err }, 'releasing leases failed'));
    this.#transports.closeAll();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let processed = 0;
      try {
        processed = await this.tick();
      } catch (err) {
        this.#log.error({ err }, 'sender round failed');
      }
      if (processed === 0 && this.#running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#idleMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }

  /** One round: claim what may go now and send it. Returns how many messages were processed. */
  async tick(): Promise<number> {
    const now = this.#now();
    if (now.getTime() - this.#lastLeaseSweep > 30_000) {
      this.#lastLeaseSweep = now.getTime();
      const requeued = await requeueExpiredLeases(this.#db, now);
      if (requeued) this.#log.warn({ requeued }, 'requeued messages whose lease expired');
    }
    const work: Promise<number>[] = [];
    if (!(await hasAccounts(this.#db))) {
      if (this.#options.testMailbox) work.push(this.#round(null, false, 4));
    } else {
      for (const account of await accountCapacities(this.#db, now)) {
        const limit = Math.min(account.remaining, account.poolSize * 4);
        if (limit > 0) work.push(this.#round(account.id, account.isDefault, limit, account.poolSize));
      }
    }
    return (await Promise.all(work)).reduce((a, b) => a + b, 0);
  }

  async #round(accountId: number | null, isDefault: boolean, limit: number, concurrency = 2): Promise<number> {
    const ids = await claimDue(this.#db, { accountId, isDefault, owner: this.owner, now: this.#now(), leaseMs: this.#leaseMs, limit });
    let next = 0;
    const worker = async () => {
      while (next < ids.length) await this.#process(ids[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    return ids.length;
  }

  /** The steps of one claimed message; each ends in a recorded outcome, never in silence. */
  async #process(id: number): Promise<void> {
    const [message] = await this.#db.select().from(messages).where(eq(messages.id, id));
    if (!message || message.status !== 'sending' || message.leaseOwner !== this.owner) return;
    const started = this.#now();
    try {
      // 1. May it still go?
      if (message.notAfter && started > message.notAfter) {
        return await this.#record(message, null, started, { kind: 'failed', code: null, response: 'not sent: past "do not send after"', rejected: [] }, []);
      }
      // 2. Recipients, minus suppressed addresses.
      const everyone = [...message.toAddrs, ...message.ccAddrs, ...message.bccAddrs];
      const suppressed = await this.#suppressed(everyone.map((a) => a.address));
      const recipients = everyone.map((a) => a.address).filter((a) => !suppressed.has(a));
      if (!recipients.length) {
        return await this.#record(message, null, started, { kind: 'failed', code: null, response: 'no recipient left: every address is on the suppression list', rejected: [] }, []);
      }
      // 3. The account, or the test mailbox.
      const account = message.accountId ? (await this.#db.select().from(smtpAccounts).where(eq(smtpAccounts.id, message.accountId)))[0] : undefined;
      const transport = account ? await this.#transportFor(account) : this.#testMailboxTransport();
      if (!transport) {
        return await this.#record(message, null, started, { kind: 'deferred', code: null, response: 'no SMTP account and no test mailbox', retryAfterMs: 60_000 }, recipients);
      }
      const from: MessageAddress = account
        ? { address: account.fromAddress, ...(account.fromName ? { name: account.fromName } : {}) }
        : { address: 'posel@localhost', name: 'Posel' };
      // 4. The MIME message, with its Message-ID fixed since creation.
      const raw = await buildMessageMime(this.#db, this.#store, message, { sending: { from, replyTo: account?.replyTo ?? null } });
      // 5. Hand it over, and classify what the server said.
      let outcome: Outcome;
      try {
        outcome = classifyReport(await this.#transports.send(account ? `account-${account.id}` : TEST_MAILBOX_ID, transport, { from: from.address, to: recipients }, raw));
      } catch (error) {
        if (!(error instanceof SendFailure)) throw error;
        outcome = classifyFailure(error);
      }
      await this.#record(message, account ?? null, started, outcome, recipients);
    } catch (err) {
      // A bug or an unreadable body: do not lose the message; retry later with backoff, and say why.
      this.#log.error({ err, messageId: id }, 'sending a message failed unexpectedly');
      await this.#record(message, null, started, { kind: 'deferred', code: null, response: `internal error: ${(err as Error).message}`, retryAfterMs: null }, []).catch(
        (e) => this.#log.error({ err: e }, 'recording a failure failed'),
      );
    }
  }

  async #suppressed(addresses: string[]): Promise<Set<string>> {
    if (!addresses.length) return new Set();
    const rows = await this.#db.select({ address: suppressions.address }).from(suppressions).where(inArray(suppressions.address, addresses.map((a) => a.toLowerCase())));
    return new Set(rows.map((r) => r.address));
  }

  async #transportFor(account: AccountRow): Promise<TransportConfig> {
    const password = account.passwordSealed ? await this.#store.openSecret(`smtp-account:${account.id}`, account.passwordSealed) : null;
    return {
      key: `${account.id}:${account.updatedAt.getTime()}`,
      host: account.host,
      port: account.port,
      security: account.security as TransportConfig['security'],
      allowInvalidCert: account.allowInvalidCert,
      username: account.username,
      password,
      poolSize: account.poolSize,
      ...(this.#options.timeouts ? { timeouts: this.#options.timeouts } : {}),
    };
  }

  #testMailboxTransport(): TransportConfig | null {
    const box = this.#options.testMailbox;
    if (!box) return null;
    return { key: `${box.host}:${box.port}`, host: box.host, port: box.port, security: 'none', allowInvalidCert: false, poolSize: 2, ...(this.#options.timeouts ? { timeouts: this.#options.timeouts } : {}) };
  }

  /** The attempt, the message's new state, suppressions, a paused account and the audit row: one transaction. */
  async #record(message: MessageRow, account: AccountRow | null, started: Date, outcome: Outcome, recipients: string[]): Promise<void> {
    const now = this.#now();
    const attempt = message.attemptCount;
    let status: string = outcome.kind === 'auth' ? 'queued' : outcome.kind;
    let sendAt: Date | null = message.sendAt;
    let response = outcome.response.slice(0, 2000);
    if (outcome.kind === 'deferred') {
      sendAt = new Date(now.getTime() + backoffMs(attempt, outcome.retryAfterMs));
      const giveUpAt = message.giveUpAt ?? new Date((message.queuedAt ?? message.createdAt).getTime() + this.#giveUpMs);
      if (sendAt > giveUpAt) {
        status = 'failed';
        response = `gave up after ${attempt} attempts: ${response}`;
      } else if (message.notAfter && sendAt > message.notAfter) {
        status = 'failed';
        response = `not retried: next try would be past "do not send after": ${response}`;
      }
    }
    const rejected = outcome.kind === 'sent' || outcome.kind === 'failed' ? outcome.rejected : [];
    const toSuppress = rejected.filter(shouldSuppress);
    if (outcome.kind === 'failed' && !rejected.length && outcome.code != null && [550, 551, 553].includes(outcome.code) && recipients.length === 1) {
      toSuppress.push({ address: recipients[0]!, code: outcome.code, response: outcome.response });
    }
    await this.#db.transaction(async (tx) => {
      await tx.execute(sql`
        insert into send_attempts (message_id, account_id, started_at, duration_ms, outcome, smtp_code, response, recipients, rejected)
        values (${message.id}, ${account?.id ?? null}, ${started.toISOString()}::timestamptz, ${Math.max(0, now.getTime() - started.getTime())},
                ${outcome.kind === 'auth' ? 'paused' : outcome.kind}, ${outcome.code}, ${response}, ${recipients.join(', ')},
                ${rejected.length ? rejected.map((r) => `${r.address} (${r.response})`).join(', ') : null})`);
      const updated = rowsOf<{ id: number }>(
        await tx.execute(sql`
          update messages
             set status = ${status}, lease_owner = null, lease_until = null, last_result = ${response},
                 send_at = ${sendAt?.toISOString() ?? null}::timestamptz, sent_at = ${outcome.kind === 'sent' ? now.toISOString() : null}::timestamptz,
                 attempt_count = attempt_count - ${outcome.kind === 'auth' ? 1 : 0}
           where id = ${message.id} and status = 'sending' and lease_owner = ${this.owner}
          returning id`),
      );
      if (!updated.length) this.#log.warn({ messageId: message.id }, 'lease lost while sending; attempt recorded, state left to its new owner');
      for (const r of toSuppress) {
        await tx.execute(sql`
          insert into suppressions (address, reason, smtp_code, response, message_id)
          values (${r.address.toLowerCase()}, 'hard bounce', ${r.code}, ${r.response.slice(0, 1000)}, ${message.id})
          on conflict (address) do nothing`);
      }
      if (outcome.kind === 'auth' && account) {
        await tx.update(smtpAccounts).set({ pausedAt: now, pausedReason: response }).where(eq(smtpAccounts.id, account.id));
        await recordAudit(tx, SENDER_ACTOR, { action: 'account.paused', objectType: 'smtp_account', objectId: account.id, summary: `${account.name}: ${response}`, result: 'failed' });
      }
      await recordAudit(tx, SENDER_ACTOR, {
        action: `message.${status === 'queued' ? 'held' : status}`,
        objectType: 'message',
        objectId: message.id,
        summary: `${message.subject} → ${recipients.join(', ')}: ${response}`.slice(0, 1000),
        after: { status, attempt, account: account?.name ?? 'test mailbox', code: outcome.code, queuedBy: message.queuedBy },
        result: status === 'sent' ? 'ok' : 'failed',
      });
    });
  }
}
