/**
 * The in-process sending loop (DESIGN.md rules 4–5), as a pipeline per account: it claims due messages
 * under a lease as fast as the account's connections free up (never more than pool size × 8 claimed and
 * not yet recorded, so a crash can only repeat that many), and processes each as named steps — check it
 * may still go, drop suppressed recipients, build the MIME (its body encoded on a worker thread), hand it
 * to the server, classify the answer — then hands the outcome to a writer that commits the attempt, the
 * new state and an audit row for every send finished meanwhile at once (`OutcomeWriter`). "Sent" is
 * committed right after the server's 250 (with the other outcomes of that moment). Leases of messages in
 * flight are renewed while they are sent. Bodies and files that many messages share are read and encoded
 * once (`PartCache`); the account's transport is built once per change of the account. Web requests
 * served by this process go first (`src/http/busy.ts`). The loop sleeps only when it found nothing, and
 * wakes at once when a message is queued or when it is stopped.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { smtpAccounts, type MessageAddress } from '../db/schema/index.ts';
import { requestsDone } from '../http/busy.ts';
import { sharedEncoderPool, type BodyEncoder } from '../mail/encoder.ts';
import { buildMessageChunks } from '../messages/service.ts';
import type { Store } from '../store/store.ts';
import { backoffMs, classifyFailure, classifyReport, shouldSuppress, type Outcome } from './classify.ts';
import { PartCache } from './parts.ts';
import { accountCapacities, claimMessages, hasAccounts, releaseLeases, requeueExpiredLeases, type ClaimedMessage } from './queries.ts';
import { OutcomeWriter, type OutcomeRecord } from './record.ts';
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
  /** Bytes of encoded bodies and files kept between messages (default 32 MiB). */
  partCacheBytes?: number;
  /** The zone of campaigns' sending windows (config TIMEZONE; default Europe/Prague). */
  timeZone?: string;
  /** Encodes bodies (default: the process's pool of worker threads). */
  encoder?: BodyEncoder;
}

const SENDER_ACTOR: AuditActor = { actorId: null, actorName: 'Posel', ip: null, requestId: null };
const TEST_MAILBOX_ID = 'test-mailbox';
/** How often leases of messages in flight are renewed, as a share of the lease. */
const RENEW_EVERY = 1 / 3;
/** How often expired leases (of a crashed sender) are requeued. */
const SWEEP_EVERY_MS = 30_000;

type AccountRow = typeof smtpAccounts.$inferSelect;

/** What one claim loaded for its messages besides their rows: the account and its transport. */
interface ClaimContext {
  account: AccountRow | null;
  transport: TransportConfig | null;
}

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
  readonly #parts: PartCache;
  readonly #writer: OutcomeWriter;
  readonly #encode: BodyEncoder;
  /** Ids this sender claimed and has not recorded yet: their leases are renewed. */
  readonly #held = new Set<number>();
  /** Decrypted account passwords, by account id and change time. */
  readonly #passwords = new Map<string, string | null>();
  #running = false;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #lastLeaseSweep = 0;
  #renewTimer: NodeJS.Timeout | null = null;
  #renewing: Promise<void> | null = null;
  #processed = 0;
  /**
   * Building messages: four at a time (reading the store, the body encoded on a worker thread, the parts
   * assembled here), each started from a fresh turn of the event loop, so web requests served by this
   * process wait for at most a few short assemblies, never for a claim's worth. (Eight at a time, with a
   * window of 16 per connection, drained a little faster without page requests, but not under them, and
   * the list page's p95 rose to 2.03× idle.)
   */
  readonly #building = new Gate(4);

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
    this.#parts = new PartCache(options.partCacheBytes);
    this.#encode = options.encoder ?? sharedEncoderPool().encode;
    this.#writer = new OutcomeWriter({ db: this.#db, owner: this.owner, actor: SENDER_ACTOR, logger: this.#log, now: this.#now });
  }

  /** Messages this sender has processed (sent, or given any other recorded outcome) since it was made. */
  get processed(): number {
    return this.#processed;
  }

  /** Starts the loop in the background. */
  start(): void {
    if (this.#running) return;
    // The encoding thread loads while the loop looks for work, so the first message does not wait for it.
    if (!this.#options.encoder) sharedEncoderPool().warm();
    this.#running = true;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Wakes an idle loop (a message was just queued). */
  wake(): void {
    this.#wake?.();
  }

  /** Stops claiming, lets in-flight sends finish (or gives their leases back), closes connections. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#running) {
      this.#running = false;
      this.wake();
      await this.#loop;
    }
    await this.#writer.drain();
    this.#stopRenewing();
    await this.#renewing;
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

  /**
   * Sends what may go now: for each account, claims and sends until nothing is due or its limits are
   * spent. Returns how many messages were processed (0: nothing to do, the loop may sleep).
   */
  async tick(): Promise<number> {
    await this.#sweepExpiredLeases();
    const lanes: Promise<number>[] = [];
    if (!(await hasAccounts(this.#db))) {
      if (this.#options.testMailbox) lanes.push(this.#lane(null, false, Infinity, 2));
    } else {
      for (const account of await accountCapacities(this.#db, this.#now())) {
        if (account.remaining > 0) lanes.push(this.#lane(account.id, account.isDefault, account.remaining, account.poolSize));
      }
    }
    if (!lanes.length) return 0;
    this.#startRenewing();
    try {
      return (await Promise.all(lanes)).reduce((a, b) => a + b, 0);
    } finally {
      if (!this.#held.size) this.#stopRenewing();
    }
  }

  async #sweepExpiredLeases(): Promise<void> {
    const now = this.#now();
    if (now.getTime() - this.#lastLeaseSweep <= SWEEP_EVERY_MS) return;
    this.#lastLeaseSweep = now.getTime();
    const requeued = await requeueExpiredLeases(this.#db, now);
    if (requeued) this.#log.warn({ requeued }, 'requeued messages whose lease expired');
  }

  /**
   * One account's pipeline: keeps up to pool size × 8 messages claimed and not yet recorded, claiming
   * more whenever half of that frees up (fewer, larger claims), until nothing more is due, `budget`
   * (what its limits allow now) is spent, the account is paused, or the sender stops.
   */
  async #lane(accountId: number | null, isDefault: boolean, budget: number, poolSize: number): Promise<number> {
    const window = Math.max(1, poolSize) * 8;
    const step = Math.ceil(window / 2);
    let inFlight = 0;
    let processed = 0;
    let drained = false;
    let paused = false;
    let freed: (() => void) | null = null;
    const tasks = new Set<Promise<void>>();
    try {
      while (!this.#stopping && !drained && !paused && budget > 0) {
        const room = Math.min(window - inFlight, budget);
        if (room < Math.min(step, budget)) {
          await new Promise<void>((resolve) => (freed = resolve));
          continue;
        }
        await this.#sweepExpiredLeases();
        await requestsDone(); // web requests first (src/http/busy.ts)
        const claimed = await this.#claim(accountId, isDefault, room);
        if (!claimed) {
          paused = true;
          break;
        }
        if (claimed.messages.length < room) drained = true;
        budget -= claimed.messages.length;
        for (const message of claimed.messages) {
          inFlight++;
          const task = this.#process(message, claimed.context)
            .then((outcome) => {
              if (outcome === 'auth') paused = true;
            })
            .finally(() => {
              inFlight--;
              processed++;
              this.#processed++;
              tasks.delete(task);
              freed?.();
              freed = null;
            });
          tasks.add(task);
        }
        if (!claimed.messages.length) break;
      }
    } finally {
      // Even when a claim failed: what was claimed is sent and recorded before the lane ends.
      while (tasks.size) await Promise.race(tasks);
    }
    return processed;
  }

  /**
   * Claims up to `limit` due messages with what their steps need (`claimMessages`: one transaction), and
   * the account's transport. Null when the account was paused or removed meanwhile (the lane stops).
   */
  async #claim(accountId: number | null, isDefault: boolean, limit: number): Promise<{ messages: ClaimedMessage[]; context: ClaimContext } | null> {
    let account: AccountRow | null = null;
    if (accountId != null) {
      account = (await this.#db.select().from(smtpAccounts).where(eq(smtpAccounts.id, accountId)))[0] ?? null;
      if (!account || account.pausedAt) return null;
    }
    const claimed = await claimMessages(this.#db, { accountId, isDefault, owner: this.owner, now: this.#now(), leaseMs: this.#leaseMs, limit, timeZone: this.#options.timeZone });
    for (const m of claimed) this.#held.add(m.id);
    const context: ClaimContext = { account, transport: null };
    if (!claimed.length) return { messages: [], context };
    try {
      context.transport = account ? await this.#transportFor(account) : this.#testMailboxTransport();
      return { messages: claimed, context };
    } catch (err) {
      // Could not prepare: give the messages back as they were rather than leave them to the lease.
      const ids = claimed.map((m) => m.id);
      for (const id of ids) this.#held.delete(id);
      await this.#db
        .execute(sql`update messages set status = 'queued', lease_owner = null, lease_until = null, attempt_count = greatest(attempt_count - 1, 0)
                      where id in ${ids} and status = 'sending' and lease_owner = ${this.owner}`)
        .catch(() => {});
      throw err;
    }
  }

  /** The steps of one claimed message; each ends in a recorded outcome, never in silence. Returns its kind. */
  async #process(message: ClaimedMessage, context: ClaimContext): Promise<Outcome['kind']> {
    const started = this.#now();
    try {
      // 1. May it still go?
      if (message.notAfter && started > message.notAfter) {
        return await this.#record(message, null, started, { kind: 'failed', code: null, response: 'not sent: past "do not send after"', rejected: [] }, []);
      }
      // 2. Recipients, minus suppressed addresses.
      const everyone = [...message.toAddrs, ...message.ccAddrs, ...message.bccAddrs];
      const suppressed = new Set(message.suppressed);
      const recipients = everyone.map((a) => a.address).filter((a) => !suppressed.has(a.toLowerCase()));
      if (!recipients.length) {
        return await this.#record(message, null, started, { kind: 'failed', code: null, response: 'no recipient left: every address is on the suppression list', rejected: [] }, []);
      }
      // 3. The account, or the test mailbox.
      const account = message.accountId != null && context.account?.id === message.accountId ? context.account : null;
      const transport = account ? context.transport : message.accountId == null ? this.#testMailboxTransport() : null;
      if (!transport) {
        return await this.#record(message, null, started, { kind: 'deferred', code: null, response: 'no SMTP account and no test mailbox', retryAfterMs: 60_000 }, recipients);
      }
      const from: MessageAddress = account
        ? { address: account.fromAddress, ...(account.fromName ? { name: account.fromName } : {}) }
        : { address: 'posel@localhost', name: 'Posel' };
      // 4. The MIME message, with its Message-ID fixed since creation.
      const raw = await this.#building.run(() =>
        buildMessageChunks(this.#db, this.#store, message, {
          sending: { from, replyTo: account?.replyTo ?? null },
          attachments: message.attachments,
          cache: this.#parts,
          encode: this.#encode,
        }),
      );
      // 5. Hand it over, and classify what the server said.
      let outcome: Outcome;
      try {
        outcome = classifyReport(await this.#transports.send(account ? `account-${account.id}` : TEST_MAILBOX_ID, transport, { from: from.address, to: recipients }, raw));
      } catch (error) {
        if (!(error instanceof SendFailure)) throw error;
        outcome = classifyFailure(error);
      }
      return await this.#record(message, account, started, outcome, recipients);
    } catch (err) {
      // A bug or an unreadable body: do not lose the message; retry later with backoff, and say why.
      this.#log.error({ err, messageId: message.id }, 'sending a message failed unexpectedly');
      return this.#record(message, null, started, { kind: 'deferred', code: null, response: `internal error: ${(err as Error).message}`, retryAfterMs: null }, []).catch((e) => {
        this.#log.error({ err: e }, 'recording a failure failed');
        return 'deferred' as const;
      });
    } finally {
      this.#held.delete(message.id);
    }
  }

  async #transportFor(account: AccountRow): Promise<TransportConfig> {
    const key = `${account.id}:${account.updatedAt.getTime()}`;
    let password = this.#passwords.get(key);
    if (password === undefined) {
      password = account.passwordSealed ? await this.#store.openSecret(`smtp-account:${account.id}`, account.passwordSealed) : null;
      for (const old of this.#passwords.keys()) if (old.startsWith(`${account.id}:`)) this.#passwords.delete(old);
      this.#passwords.set(key, password);
    }
    return {
      key,
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

  /** Keeps the leases of messages in flight from running out during long sends. */
  #startRenewing(): void {
    if (this.#renewTimer) return;
    this.#renewTimer = setInterval(() => {
      if (!this.#held.size || this.#renewing) return;
      const ids = [...this.#held];
      this.#renewing = this.#db
        .execute(sql`update messages set lease_until = ${this.#now().toISOString()}::timestamptz + ${`${this.#leaseMs} milliseconds`}::interval
                      where id in ${ids} and status = 'sending' and lease_owner = ${this.owner}`)
        .then(() => undefined, (err) => this.#log.warn({ err }, 'renewing leases failed'))
        .finally(() => (this.#renewing = null));
    }, Math.max(50, this.#leaseMs * RENEW_EVERY));
    this.#renewTimer.unref();
  }

  #stopRenewing(): void {
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    this.#renewTimer = null;
  }

  /** Works out the message's new state and hands the outcome to the writer; resolves once committed. */
  async #record(message: ClaimedMessage, account: AccountRow | null, started: Date, outcome: Outcome, recipients: string[]): Promise<Outcome['kind']> {
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
    const record: OutcomeRecord = {
      messageId: message.id,
      accountId: account?.id ?? null,
      accountName: account?.name ?? null,
      started,
      durationMs: Math.max(0, now.getTime() - started.getTime()),
      attemptOutcome: outcome.kind === 'auth' ? 'paused' : outcome.kind,
      code: outcome.code,
      response,
      recipients,
      rejected: rejected.length ? rejected.map((r) => `${r.address} (${r.response})`).join(', ') : null,
      status,
      sendAt,
      sentAt: outcome.kind === 'sent' ? now : null,
      uncountAttempt: outcome.kind === 'auth' ? 1 : 0,
      suppress: toSuppress.map((r) => ({ address: r.address, code: r.code, response: r.response })),
      pauseAccount: outcome.kind === 'auth' && account ? { id: account.id, name: account.name, reason: response } : null,
      audit: {
        action: `message.${status === 'queued' ? 'held' : status}`,
        summary: `${message.subject} → ${recipients.join(', ')}: ${response}`,
        after: { status, attempt, account: account?.name ?? 'test mailbox', code: outcome.code, queuedBy: message.queuedBy },
        result: status === 'sent' ? 'ok' : 'failed',
      },
    };
    await this.#writer.write(record);
    return outcome.kind;
  }
}

/** At most `width` tasks at once, each started on a fresh turn of the event loop (after pending I/O). */
class Gate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly width: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.width) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      await new Promise((resolve) => setImmediate(resolve));
      // Web requests first: a page being served by this process finishes before the next build starts.
      await requestsDone();
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
