/**
 * Encoded MIME parts the sender keeps between messages: a body's text and HTML parts and an attachment's
 * part, keyed by the store blob they come from. Blob ids name their content (a keyed hash), so an entry
 * can never go stale. Bounded by bytes, least recently used first out; concurrent asks for one key share
 * one encoding, so a queue of 10,000 copies of one mail reads and encodes its body and file once.
 */
import type { EncodedPartCache } from '../messages/service.ts';

export class PartCache implements EncodedPartCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, { value: unknown; bytes: number }>();
  readonly #pending = new Map<string, Promise<unknown>>();
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
    if (pending) return pending as Promise<T>;
    const work = make();
    this.#pending.set(key, work);
    try {
      const value = await work;
      const bytes = sizeOf(value) + key.length;
      if (bytes <= this.#maxBytes / 4) {
        this.#entries.set(key, { value, bytes });
        this.#bytes += bytes;
        for (const [oldest, entry] of this.#entries) {
          if (this.#bytes <= this.#maxBytes) break;
          this.#entries.delete(oldest);
          this.#bytes -= entry.bytes;
        }
      }
      return value;
    } finally {
      this.#pending.delete(key);
    }
  }

  /** Bytes held (for tests and the benchmark). */
  get bytes(): number {
    return this.#bytes;
  }
}
