/**
 * The write path's durability and its shortcuts: folders made once per process, folder fsyncs shared by
 * concurrent writers, and objects written by earlier versions (zlib level 6) still readable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DirSyncer, fsyncDir } from './fsutil.ts';
import { generateMasterKey, openKeyRing } from './keys.ts';
import { openStore, type Store } from './store.ts';

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posel-store-'));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A folder sync as it happened: which folder, what it held when the sync began, whether it finished. */
interface SyncEvent {
  dir: string;
  entries: string[];
  done: boolean;
}

/** Opens a fresh store whose folder syncs are real but recorded (optionally slowed down). */
async function recordingStore(options: { delayMs?: number; dir?: string; masterKey?: string } = {}) {
  const events: SyncEvent[] = [];
  const dir = options.dir ?? path.join(tempDir(), 'store');
  const keyRing = await openKeyRing({ masterKey: options.masterKey ?? generateMasterKey() });
  const store = await openStore({
    dir,
    keyRing,
    syncDir: async (folder) => {
      const event: SyncEvent = { dir: folder, entries: readdirSync(folder), done: false };
      events.push(event);
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      await fsyncDir(folder);
      event.done = true;
    },
  });
  events.length = 0; // opening syncs nothing through the store, but start clean anyway
  return { store, dir, events };
}

/** The fan-out folder (relative) the store puts `id` in. */
function folderOf(id: string): string {
  const hash = createHash('sha256').update(id).digest('hex');
  return path.join(hash.slice(0, 2), hash.slice(2, 4));
}

/** Ids found to share one fan-out folder (about 65,536 tries per id, so found once per file). */
const sameFolderIds = ['msg-0'];
/** `count` ids that share one fan-out folder. */
function idsInOneFolder(count: number): string[] {
  const folder = folderOf('msg-0');
  for (let i = Number(sameFolderIds.at(-1)!.slice(4)) + 1; sameFolderIds.length < count; i++) {
    if (folderOf(`msg-${i}`) === folder) sameFolderIds.push(`msg-${i}`);
  }
  return sameFolderIds.slice(0, count);
}

describe('durability of a write', () => {
  it('syncs the new folders and the object entry, each after its entry exists, before put resolves', async () => {
    const { store, dir, events } = await recordingStore();
    const folder = folderOf('msg-1');
    await store.put('msg-1', 'Dobrý den');
    const top = path.join(dir, path.dirname(folder));
    const leaf = path.join(dir, folder);
    expect(events.map((e) => e.dir).sort()).toEqual([dir, top, leaf].sort());
    expect(events.every((e) => e.done)).toBe(true);
    expect(events.find((e) => e.dir === dir)!.entries).toContain(path.dirname(folder));
    expect(events.find((e) => e.dir === top)!.entries).toContain(path.basename(folder));
    // The object's folder is synced after the rename: the final name is there, the temp file is gone.
    expect(events.find((e) => e.dir === leaf)!.entries).toEqual(['msg-1']);
  });

  it('syncs a folder it made only once per process: the next write there syncs just the object entry', async () => {
    const [first, second] = idsInOneFolder(2);
    const { store, dir, events } = await recordingStore();
    await store.put(first!, 'a');
    events.length = 0;
    await store.put(second!, 'b');
    expect(events.map((e) => e.dir)).toEqual([path.join(dir, folderOf(second!))]);
  });

  it('takes a folder found already made (after a restart) as it is: only the object entry is synced', async () => {
    const [first, second] = idsInOneFolder(2);
    const masterKey = generateMasterKey();
    const earlier = await recordingStore({ masterKey });
    await earlier.store.put(first!, 'a');
    const later = await recordingStore({ masterKey, dir: earlier.dir });
    await later.store.put(second!, 'b');
    expect(later.events.map((e) => e.dir)).toEqual([path.join(earlier.dir, folderOf(second!))]);
    expect((await later.store.get(first!)).toString()).toBe('a');
  });

  it('lets concurrent writes into one folder share its fsyncs, and every write is readable after', async () => {
    const ids = idsInOneFolder(6);
    const { store, dir, events } = await recordingStore({ delayMs: 30 });
    await Promise.all(ids.map((id) => store.put(id, `body of ${id}`)));
    const leafSyncs = events.filter((e) => e.dir === path.join(dir, folderOf(ids[0]!)));
    expect(leafSyncs.length).toBeLessThan(ids.length);
    expect(leafSyncs.every((e) => e.done)).toBe(true);
    for (const id of ids) expect((await store.get(id)).toString()).toBe(`body of ${id}`);
  });

  it('syncs the folder after a delete, so the removal survives a power cut', async () => {
    const { store, dir, events } = await recordingStore();
    await store.put('msg-1', 'x');
    events.length = 0;
    await store.delete('msg-1');
    expect(events).toEqual([{ dir: path.join(dir, folderOf('msg-1')), entries: [], done: true }]);
  });
});

describe('folders', () => {
  it('makes a fan-out folder again when it was removed behind the store\'s back', async () => {
    const { store, dir } = await recordingStore();
    await store.put('msg-1', 'first');
    rmSync(path.join(dir, path.dirname(folderOf('msg-1'))), { recursive: true });
    await store.put('msg-1', 'second');
    expect((await store.get('msg-1')).toString()).toBe('second');
  });

  it('does not recreate a storage folder that disappeared (a volume gone), but fails the write', async () => {
    const { store, dir } = await recordingStore();
    rmSync(dir, { recursive: true });
    await expect(store.put('msg-1', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('group commit of folder syncs', () => {
  /** A folder sync that finishes only when the test says so. */
  function controlled() {
    const started: string[] = [];
    const finish: (() => void)[] = [];
    const syncer = new DirSyncer(
      (dir) =>
        new Promise<void>((resolve) => {
          started.push(dir);
          finish.push(resolve);
        }),
    );
    return { syncer, started, finish };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('runs one fsync for callers that arrive together', async () => {
    const { syncer, started, finish } = controlled();
    const calls = [syncer.sync('/d'), syncer.sync('/d'), syncer.sync('/d')];
    await tick();
    expect(started).toEqual(['/d']);
    finish[0]!();
    await Promise.all(calls);
    expect(syncer.syncs).toBe(1);
  });

  it('gives a caller that arrives during an fsync a new one that starts after it, shared with later arrivals', async () => {
    const { syncer, started, finish } = controlled();
    let firstDone = false;
    let secondDone = false;
    void syncer.sync('/d').then(() => (firstDone = true));
    await tick();
    // The running fsync may have begun before this caller's rename, so it must not count for it.
    const second = syncer.sync('/d').then(() => (secondDone = true));
    const third = syncer.sync('/d');
    await tick();
    expect(started).toHaveLength(1);
    finish[0]!();
    await tick();
    expect(firstDone).toBe(true);
    expect(secondDone).toBe(false);
    expect(started).toHaveLength(2);
    finish[1]!();
    await Promise.all([second, third]);
    expect(syncer.syncs).toBe(2);
  });

  it('keeps folders apart: each gets its own fsync', async () => {
    const { syncer, started, finish } = controlled();
    const calls = [syncer.sync('/a'), syncer.sync('/b')];
    await tick();
    expect(started.sort()).toEqual(['/a', '/b']);
    for (const f of finish) f();
    await Promise.all(calls);
  });

  it('passes an fsync failure to every caller that shared it, and tries afresh for the next', async () => {
    let fail = true;
    const syncer = new DirSyncer(async () => {
      if (fail) throw Object.assign(new Error('EIO'), { code: 'EIO' });
    });
    const results = await Promise.allSettled([syncer.sync('/d'), syncer.sync('/d')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(syncer.sync('/d')).resolves.toBeUndefined();
  });
});

describe('compression', () => {
  it('returns a highly compressible 8 MB object whole (too big to inflate on the event loop)', async () => {
    const { store } = await recordingStore();
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    await store.put('zeros', zeros);
    expect((await store.get('zeros')).equals(zeros)).toBe(true);
  });

  it('round-trips 1 MB of text whose compressed form is over the inline limit', async () => {
    const { store } = await recordingStore();
    const text = randomBytes(512 * 1024).toString('hex');
    await store.put('hex', text);
    expect((await store.get('hex')).toString()).toBe(text);
  });
});

describe('a store folder written by the previous version (zlib level 6)', () => {
  const fixture = fileURLToPath(new URL('./fixtures/store-v1', import.meta.url));
  const masterKey = `1:${Buffer.alloc(32, 1).toString('base64')}`;
  const html =
    '<p>Dobrý den, paní Nováková,</p>\n' +
    '<p>v příloze zasíláme fakturu č. 2026-0042 za objednávku OBJ-2026-001. Žluťoučký kůň úpěl ďábelské ódy.</p>\n'.repeat(40);
  const attachment = () => {
    let x = 7;
    return Buffer.alloc(3000, 0).map(() => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
  };
  const blobId = 'blob_1070b16edb0e1e7169e741341af4a02f7479464319c3b22481175e4f4b25dc21';

  async function openCopy(): Promise<Store> {
    const dir = path.join(tempDir(), 'store');
    cpSync(fixture, dir, { recursive: true });
    return openStore({ dir, keyRing: await openKeyRing({ masterKey }), expectStoreId: '7774832c-9584-4dec-90a7-a3703e3ebdb4' });
  }

  it('opens, and reads every object back unchanged', async () => {
    const store = await openCopy();
    expect((await store.get('message-1')).toString()).toBe(html);
    expect((await store.get('empty')).length).toBe(0);
    expect((await store.get(blobId)).equals(attachment())).toBe(true);
  });

  it('still deduplicates against its blobs and takes new writes', async () => {
    const store = await openCopy();
    expect(await store.putBlob(attachment())).toBe(blobId);
    await store.put('message-1', 'nové znění');
    expect((await store.get('message-1')).toString()).toBe('nové znění');
    const ids: string[] = [];
    for await (const id of store.ids()) ids.push(id);
    expect(ids.sort()).toEqual([blobId, 'empty', 'message-1']);
  });
});
