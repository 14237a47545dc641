/**
 * Encoded MIME parts the sender keeps between messages: a body's text and HTML parts and an attachment's
 * part, keyed by the store blob they come from. Blob ids name their content (a keyed hash), so an entry
 * can never go stale. Bounded by bytes, least recently used first out; concurrent asks for one key share
 * one encoding, so a queue of 10,000 copies of one mail reads and encodes its body and file at most twice.
 *
 * A part is kept only once a second message wants it (another ask while it is encoded, or a later one
 * while its key is still remembered): most bodies of a campaign belong to one message each, and keeping
 * them would only push the shared parts out and give the garbage collector old objects to trace.
 */
import type { EncodedPartCache } from '../messages/service.ts';

/** Keys asked for once, remembered (most recent last) so that the second ask keeps the part. */
const REMEMBERED_KEYS = 4096;

export class PartCache implements EncodedPartCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, { value: unknown; bytes: number }>();
  readonly #pending = new Map<string, { work: Promise<unknown>; shared: boolean }>();
  readonly #askedOnce = new Set<string>();
  #bytes = 0;

  /** `maxBytes`: the most encoded bytes kept; a single part larger than a quarter of it is not kept. */
  constructor(maxBytes = 32 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  async get<T>(key: string, make: () => Promise<T>, sizeOf: (value: T) => number): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.value as T;
    }
    const pending = this.#pending.get(key);
    if (pending) {
      pending.shared = true;
      return pending.work as Promise<T>;
    }
    const entry = { work: make() as Promise<unknown>, shared: this.#askedOnce.delete(key) };
    this.#pending.set(key, entry);
    try {
      const value = (await entry.work) as T;
      if (entry.shared) this.#keep(key, value, sizeOf(value) + key.length);
      else this.#remember(key);
      return value;
    } finally {
      this.#pending.delete(key);
    }
  }

  #keep(key: string, value: unknown, bytes: number): void {
    if (bytes > this.#maxBytes / 4) return;
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  #remember(key: string): void {
    this.#askedOnce.add(key);
    if (this.#askedOnce.size > REMEMBERED_KEYS) this.#askedOnce.delete(this.#askedOnce.values().next().value!);
  }

  /** Bytes held (for tests and the benchmark). */
  get bytes(): number {
    return this.#bytes;
  }
}
