/**
 * The embedded database on a thread of its own (`pglite-thread.ts`), behind the two calls drizzle's PGlite
 * driver makes: `query` and `transaction`. PGlite is one session, so a transaction owns it: while one is
 * open, other queries wait here until it ends (as inside PGlite itself). Requests go to the thread one at a
 * time and the next is chosen here (`#dispatch`): the open transaction's, else a page's, else the oldest
 * of the rest, which also waits a moment while pages are being served.
 *
 * Why a thread: PGlite executes in WebAssembly on the thread that calls it. On the main thread every
 * statement stops page requests and SMTP conversations for as long as it runs (the sending loop measured
 * about 5 ms of it per message); here it runs beside them, on another core when there is one.
 */
import type { Worker } from 'node:worker_threads';
import type { QueryOptions, Results } from '@electric-sql/pglite';
import { startTsWorker } from '../threads.ts';

type Reply = { id: number; result: unknown } | { id: number; error: Record<string, unknown> } | { ready: boolean; error?: Record<string, unknown> };

interface Call {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** A request waiting to be sent to the thread. */
interface Queued {
  request: Record<string, unknown>;
  call: Call;
}

/** What a transaction's callback gets: the same calls, inside the transaction. */
export interface PgliteThreadTransaction {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
  rollback(): Promise<void>;
  readonly closed: boolean;
}

/** An error from the database thread, with PostgreSQL's fields (code, constraint, detail…) as the driver gave them. */
function toError(data: Record<string, unknown>): Error {
  const { message, name, ...fields } = data;
  const error = new Error(String(message));
  error.name = String(name ?? 'Error');
  return Object.assign(error, fields);
}

export class PgliteThread {
  readonly #worker: Worker;
  readonly #urgent: () => boolean;
  readonly #yieldTo: (() => Promise<void>) | null;
  /** Background work waits for `yieldTo` (then one request goes without waiting again). */
  #holding = false;
  #released = false;
  readonly #calls = new Map<number, Call>();
  /** Requests not sent yet: the open transaction's, those of pages being served, the rest. */
  readonly #queued = { transaction: [] as Queued[], urgent: [] as Queued[], other: [] as Queued[] };
  #nextId = 1;
  /** Settles when the open transaction ends; null when none is open. */
  #transaction: Promise<void> | null = null;
  #closed = false;
  #exitError: Error | null = null;

  private constructor(worker: Worker, urgent: () => boolean, yieldTo: (() => Promise<void>) | null) {
    this.#worker = worker;
    this.#urgent = urgent;
    this.#yieldTo = yieldTo;
  }

  /**
   * Starts the thread and opens the database (in `dataDir`, or in memory when null). `urgent` tells,
   * when a query is made, whether it should go before the others waiting (a page being served);
   * `yieldTo` is what the others wait for before each statement and transaction (the pages being served,
   * for a moment at most: `requestsDone`).
   */
  static async open(dataDir: string | null, options: { urgent?: () => boolean; yieldTo?: () => Promise<void> } = {}): Promise<PgliteThread> {
    const worker = startTsWorker(new URL('./pglite-thread.ts', import.meta.url), { workerData: { dataDir } });
    const client = new PgliteThread(worker, options.urgent ?? (() => false), options.yieldTo ?? null);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if (!('ready' in reply)) return;
        done();
        if (reply.ready) resolve();
        else reject(toError(reply.error ?? { message: 'the database thread could not open the database' }));
      };
      const onExit = (code: number) => {
        done();
        reject(new Error(`the database thread exited (${code}) before the database opened`));
      };
      const done = () => {
        worker.off('message', onMessage);
        worker.off('error', reject);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', reject);
      worker.on('exit', onExit);
    });
    worker.unref();
    worker.on('message', (reply: Reply) => client.#settle(reply));
    const gone = (reason: Error) => {
      client.#exitError = reason;
      for (const call of client.#calls.values()) call.reject(reason);
      client.#calls.clear();
      for (const queue of Object.values(client.#queued)) for (const q of queue.splice(0)) q.call.reject(reason);
    };
    worker.on('error', (err) => gone(err));
    worker.on('exit', (code) => gone(new Error(`the database thread exited (${code})`)));
    return client;
  }

  #settle(reply: Reply): void {
    if ('ready' in reply) return;
    const call = this.#calls.get(reply.id);
    if (!call) return;
    this.#calls.delete(reply.id);
    if ('error' in reply) call.reject(toError(reply.error));
    else call.resolve(reply.result);
    this.#dispatch();
  }

  /**
   * Sends the next request when the thread has none: one at a time, so the choice is made here — the
   * open transaction's statements (nothing else may run inside it), else a page's, else the oldest other.
   * Queries outside a transaction are independent, so a page's may overtake the sending loop's.
   */
  #dispatch(): void {
    if (this.#calls.size) return;
    let next = this.#transaction ? this.#queued.transaction.shift() : this.#queued.urgent.shift();
    if (!next && !this.#transaction && this.#queued.other.length) {
      if (this.#holding) return;
      if (this.#yieldTo && !this.#released) {
        // Web requests first: the next background statement waits while pages are being served.
        this.#holding = true;
        void this.#yieldTo().then(() => {
          this.#holding = false;
          this.#released = true;
          this.#dispatch();
        });
        return;
      }
      this.#released = false;
      next = this.#queued.other.shift();
    }
    if (!next) {
      // The thread keeps the process alive only while it has work (a script that forgets to close still ends).
      this.#worker.unref();
      return;
    }
    const id = this.#nextId++;
    this.#calls.set(id, next.call);
    this.#worker.ref();
    this.#worker.postMessage({ ...next.request, id });
  }

  #call<T>(request: Record<string, unknown>, kind: 'transaction' | 'statement'): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the database is closed'));
    if (this.#exitError) return Promise.reject(this.#exitError);
    return new Promise<T>((resolve, reject) => {
      const queue = kind === 'transaction' ? this.#queued.transaction : this.#urgent() ? this.#queued.urgent : this.#queued.other;
      queue.push({ request, call: { resolve: resolve as (value: unknown) => void, reject } });
      this.#dispatch();
    });
  }

  #query<T>(sql: string, params: unknown[] | undefined, options: QueryOptions | undefined, kind: 'transaction' | 'statement'): Promise<Results<T>> {
    // Parsers cannot cross threads: the types given parsers are kept as text there (drizzle's parsers keep
    // dates, times and intervals as the database wrote them, and that is all they do).
    const rawTypes = options?.parsers ? Object.keys(options.parsers).map(Number) : undefined;
    return this.#call({ op: 'query', sql, params: params ?? [], rowMode: options?.rowMode ?? 'object', rawTypes }, kind);
  }

  /** A statement on its own; it waits while a transaction is open (PGlite is one session). */
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this.#query<T>(sql, params, options, 'statement');
  }

  exec(sql: string): Promise<Results[]> {
    return this.#call({ op: 'exec', sql }, 'statement');
  }

  /** Runs `fn` in a transaction: committed when it returns, rolled back when it throws (or calls rollback). */
  async transaction<T>(fn: (tx: PgliteThreadTransaction) => Promise<T>): Promise<T> {
    // Background work lets the pages being served go first: they would wait for the whole transaction.
    if (this.#yieldTo && !this.#urgent()) await this.#yieldTo();
    // Checked and taken in the same turn: no other caller can open one in between.
    while (this.#transaction) await this.#transaction;
    let end!: () => void;
    this.#transaction = new Promise<void>((resolve) => (end = resolve));
    let finished = false;
    const rollback = async () => {
      if (finished) return;
      finished = true;
      await this.#call({ op: 'query', sql: 'rollback' }, 'transaction');
    };
    const tx: PgliteThreadTransaction = {
      query: <R>(sql: string, params?: unknown[], options?: QueryOptions) => {
        if (finished) return Promise.reject(new Error('the transaction has already ended'));
        return this.#query<R>(sql, params, options, 'transaction');
      },
      exec: (sql: string) => (finished ? Promise.reject(new Error('the transaction has already ended')) : this.#call<Results[]>({ op: 'exec', sql }, 'transaction')),
      rollback,
      get closed() {
        return finished;
      },
    };
    try {
      await this.#call({ op: 'query', sql: 'begin' }, 'transaction');
      const result = await fn(tx);
      if (!finished) {
        finished = true;
        await this.#call({ op: 'query', sql: 'commit' }, 'transaction');
      }
      return result;
    } catch (error) {
      if (!finished) await rollback().catch(() => {});
      throw error;
    } finally {
      this.#transaction = null;
      // What waited for the transaction goes first (a page's query before the next transaction begins).
      this.#dispatch();
      end();
    }
  }

  /** Closes the database and ends the thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#transaction) await this.#transaction;
    await this.#call({ op: 'close' }, 'statement').catch(() => {});
    this.#closed = true;
    await this.#worker.terminate();
  }
}
