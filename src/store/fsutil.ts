import { open } from 'node:fs/promises';

/**
 * Flushes a directory entry to disk, so a rename or unlink survives a power cut. Windows cannot open
 * a directory for syncing; there the rename is as durable as the filesystem makes it.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const ignore = () => {};

/**
 * Group commit for directory fsyncs: concurrent writers that renamed into the same folder share one
 * fsync instead of each paying for their own.
 *
 * `sync(dir)` resolves only after an fsync of `dir` that *started after the call* has finished, so a
 * caller's rename (done before it called) is always covered. Per folder at most one fsync runs and at
 * most one waits: a caller joins the waiting one when there is one (it has not started yet, so it will
 * cover the caller's rename); otherwise it queues a new one behind the running one (which may have
 * started before the caller's rename, so it cannot be trusted to cover it). Under load, every rename
 * made while an fsync of its folder runs is covered by the single next fsync.
 */
export class DirSyncer {
  /** Per folder: the fsync not started yet, which new callers join. */
  readonly #waiting = new Map<string, Promise<void>>();
  /** Per folder: the newest fsync, started or not, which the next one queues behind. */
  readonly #latest = new Map<string, Promise<void>>();
  /** fsync system calls made, for tests and the benchmark. */
  syncs = 0;

  constructor(private readonly syncDir: (dir: string) => Promise<void> = fsyncDir) {}

  sync(dir: string): Promise<void> {
    const waiting = this.#waiting.get(dir);
    if (waiting) return waiting;
    const previous = this.#latest.get(dir);
    // Start after the previous fsync of this folder (if any) and at the earliest on the next microtask,
    // so callers arriving meanwhile join this one.
    const start = previous ? previous.then(ignore, ignore) : Promise.resolve();
    const run: Promise<void> = start
      .then(() => {
        // From here on the fsync may already be under way: later callers must queue a new one.
        if (this.#waiting.get(dir) === run) this.#waiting.delete(dir);
        this.syncs++;
        return this.syncDir(dir);
      })
      .finally(() => {
        if (this.#latest.get(dir) === run) this.#latest.delete(dir);
      });
    this.#waiting.set(dir, run);
    this.#latest.set(dir, run);
    return run;
  }
}
