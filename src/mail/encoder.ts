/**
 * Encoding message bodies off the main thread. Deriving a body's plain text and quoted-printable
 * encoding its two parts is the sender's one long stretch of CPU per distinct body (about 2 ms for a
 * 20 KB body); done on the thread that serves pages and talks SMTP it stalls both. `EncoderPool` hands
 * bodies to worker threads (`encode-worker.ts`), least busy first, and gets the encoded parts back
 * without copying them. Workers start on first use and do not keep the process alive when idle.
 *
 * Nothing depends on the workers being there: a worker that cannot start, or dies, has its jobs encoded
 * on the main thread instead (and one that dies within a second of starting turns the pool off), so a
 * message is never lost to the pool — only sent a little slower.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../threads.ts';
import { encodeBody, type EncodedBody } from './mime.ts';

/** Encodes a body's text and HTML parts (null: the body lacks one of them; see `encodeBody`). */
export type BodyEncoder = (html: string) => Promise<EncodedBody | null>;

interface Job {
  html: string;
  resolve: (body: EncodedBody | null) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  startedAt: number;
}

type Reply = { id: number; text: ArrayBuffer; html: ArrayBuffer } | { id: number; empty: true } | { id: number; error: string };

export class EncoderPool {
  readonly size: number;
  readonly #file: string;
  readonly #slots: Slot[] = [];
  #nextId = 1;
  #disabled = false;
  #closed = false;

  /**
   * `size`: worker threads (default: one fewer than the cores, at least one, at most four); `workerFile`:
   * the worker's module (tests give one that fails).
   */
  constructor(options: { size?: number; workerFile?: URL } = {}) {
    this.size = options.size ?? Math.max(1, Math.min(4, os.availableParallelism() - 1));
    this.#file = (options.workerFile ?? new URL('./encode-worker.ts', import.meta.url)).href;
  }

  /** Whether bodies are encoded on worker threads (false once the pool turned itself off, or after close). */
  get threaded(): boolean {
    return !this.#disabled && !this.#closed && this.size > 0;
  }

  readonly encode: BodyEncoder = (html) => {
    if (!this.threaded) return encodeBody(html);
    const slot = this.#pick();
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      slot.jobs.set(id, { html, resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, html });
    });
  };

  /** Starts the workers now rather than on the first body (each takes a few hundred ms to load). */
  warm(): void {
    while (this.threaded && this.#slots.length < this.size) this.#start();
  }

  /** Stops the workers; jobs still running are encoded on this thread. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.splice(0).map((slot) => this.#retire(slot)));
  }

  #pick(): Slot {
    if (this.#slots.length < this.size) return this.#start();
    return this.#slots.reduce((best, s) => (s.jobs.size < best.jobs.size ? s : best));
  }

  #start(): Slot {
    const worker = startTsWorker(this.#file);
    const slot: Slot = { worker, jobs: new Map(), startedAt: Date.now() };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const job = slot.jobs.get(reply.id);
      if (!job) return;
      slot.jobs.delete(reply.id);
      if (!slot.jobs.size) worker.unref();
      if ('error' in reply) job.reject(new Error(reply.error));
      else if ('empty' in reply) job.resolve(null);
      else job.resolve({ text: Buffer.from(reply.text), html: Buffer.from(reply.html) });
    });
    const lost = () => {
      const i = this.#slots.indexOf(slot);
      if (i < 0) return;
      this.#slots.splice(i, 1);
      // A worker that cannot even start (no loader, no memory) would fail again: encode here from now on.
      if (Date.now() - slot.startedAt < 1000) this.#disabled = true;
      this.#fallBack(slot);
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.#slots.push(slot);
    return slot;
  }

  /** Encodes a gone worker's jobs on this thread. */
  #fallBack(slot: Slot): void {
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    for (const job of jobs) encodeBody(job.html).then(job.resolve, job.reject);
  }

  async #retire(slot: Slot): Promise<void> {
    this.#fallBack(slot);
    slot.worker.removeAllListeners();
    await slot.worker.terminate();
  }
}

let shared: EncoderPool | null = null;

/** The process's encoder pool (one for every sender in the process). */
export function sharedEncoderPool(): EncoderPool {
  shared ??= new EncoderPool();
  return shared;
}
