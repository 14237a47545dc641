/**
 * The storage folder for message bodies and attachments: one encrypted, compressed file per object,
 * written atomically, under fan-out folders `ab/cd/<id>`. Postgres holds what refers to them.
 *
 * Write path and its cost (see `npm run bench:store`): compress + encrypt, temp file, fsync, rename,
 * fsync of the folder. The folder fsyncs are shared between concurrent writers (`DirSyncer`), a fan-out
 * folder is created once per process (then remembered) and its parent is synced while the object's temp
 * file is written, not before it, so a write waits for two flushes, not three.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StoreFolderError, StoreIntegrityError, StoreNotFoundError, StoreTooLargeError } from './errors.ts';
import { decryptPayload, encryptPayload, HEADER_BYTES, OVERHEAD_BYTES, openObject, readHeader, sealObject } from './format.ts';
import { DirSyncer, fsyncDir } from './fsutil.ts';
import type { KeyRing } from './keys.ts';

/** Name of the file that marks a folder as a Posel store. */
export const MARKER_FILE = 'posel-store.json';
const MARKER_FORMAT = 'posel-store';
const MARKER_VERSION = 1;
/** Default cap on an object's size after decompression. */
export const DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** Default age below which the sweeper leaves files alone (their row may not be committed yet). */
export const DEFAULT_SWEEP_GRACE_MS = 60 * 60 * 1000;

/**
 * Object ids: lower case only, because macOS and Windows folders are case-insensitive and `Ab` and `ab`
 * would be one file there; no dots, so an id can never look like a temp file or climb out of the folder.
 */
const ID_PATTERN = /^[a-z0-9_-]{1,128}$/;
/** Content-addressed blobs get this prefix; `put` refuses it, so a chosen id cannot shadow a blob. */
const BLOB_PREFIX = 'blob_';
const FANOUT_DIR = /^[0-9a-f]{2}$/;
/**
 * A part of a pack (see `putBlobs`): `<pack blob id>~<index>`. `~` is outside the id alphabet, so a part
 * reference can never name a file, and the database finds a pack's users by the text before it.
 */
const PART_REF = /^(blob_[a-z0-9_-]{1,120})~(\d{1,6})$/;
const PACK_MAGIC = Buffer.from('PPK1');
/** Most parts in one pack (a bulk action writes one pack per batch of messages). */
export const MAX_PACK_PARTS = 10_000;
/** Decoded packs kept for reads that follow each other (the sender goes through a batch in order). */
const PACK_CACHE_ENTRIES = 8;
const TEMP_SUFFIX = '.tmp';
/** Entries a freshly formatted or mounted volume may hold; they do not make a folder "not empty". */
const IGNORED_IN_EMPTY_FOLDER = new Set(['lost+found', '.DS_Store']);

export interface StoreOptions {
  /** The storage folder; created when missing. Keep the key file outside it. */
  dir: string;
  keyRing: KeyRing;
  /** The store id the database recorded; when given, any other folder is refused. */
  expectStoreId?: string;
  /** Largest object, in bytes after decompression, that `put` accepts and `get` returns. */
  maxObjectBytes?: number;
  /** Flushes a folder's entries to disk; the default is `fsyncDir`. For tests that watch the write order. */
  syncDir?: (dir: string) => Promise<void>;
}

export interface SweepOptions {
  /** Files younger than this are kept; covers a blob written but whose row is not committed yet. */
  graceMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export interface SweepResult {
  /** Objects asked about. */
  checked: number;
  /** Objects removed because nothing referenced them. */
  deleted: number;
  /** Temp files removed that a crashed write left behind. */
  tempFilesRemoved: number;
}

interface Marker {
  format: typeof MARKER_FORMAT;
  version: number;
  storeId: string;
  created: string;
  keyCheck: string;
}

/**
 * Opens the storage folder, initialising an empty one. Refuses a folder that holds other files, a store
 * other than `expectStoreId`, and a store whose key ring is not `keyRing`, so a wrong path or a wrong key
 * fails at startup instead of on the first read.
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const dir = path.resolve(options.dir);
  const maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  if (!Number.isSafeInteger(maxObjectBytes) || maxObjectBytes < 1) throw new RangeError('maxObjectBytes must be a positive whole number');
  await mkdir(dir, { recursive: true });
  const info = await stat(dir);
  if (!info.isDirectory()) throw new StoreFolderError('not_a_directory', `The storage folder ${dir} is not a folder.`);

  let marker = await readMarker(dir);
  if (!marker) {
    const entries = (await readdir(dir)).filter((name) => !IGNORED_IN_EMPTY_FOLDER.has(name) && !isMarkerTemp(name));
    if (entries.length > 0) {
      throw new StoreFolderError(
        'not_a_store',
        `The storage folder ${dir} is not empty and has no ${MARKER_FILE}, so it is not a Posel store. Point Posel at its own storage folder, or at an empty one.`,
      );
    }
    if (options.expectStoreId) {
      throw new StoreFolderError(
        'missing_store',
        `The storage folder ${dir} is empty, but the database expects store ${options.expectStoreId}. Is the right volume mounted?`,
      );
    }
    marker = await createMarker(dir, options.keyRing);
  }
  if (options.expectStoreId && marker.storeId !== options.expectStoreId) {
    throw new StoreFolderError(
      'store_mismatch',
      `The storage folder ${dir} holds store ${marker.storeId}, but the database expects store ${options.expectStoreId}. Check the storage folder setting.`,
    );
  }
  if (marker.keyCheck !== options.keyRing.folderCheck(marker.storeId)) {
    throw new StoreFolderError(
      'wrong_keys',
      `The store keys do not belong to the storage folder ${dir} (store ${marker.storeId}). Check the key file or master key.`,
    );
  }
  return new Store(dir, marker.storeId, options.keyRing, maxObjectBytes, options.syncDir);
}

/** An open storage folder. Create it with `openStore`. */
export class Store {
  /** In-flight `putBlob` writes by id, so concurrent calls with the same bytes write once. */
  readonly #pendingBlobs = new Map<string, Promise<void>>();
  /** Directory fsyncs shared by concurrent writers (group commit). */
  readonly #dirSync: DirSyncer;
  /** Fan-out folders (`ab`, `ab/cd`) that exist and whose entry in their parent this process has synced. */
  readonly #readyFolders = new Set<string>();
  /** Fan-out folders being made ready, so concurrent writers wait for the same mkdir and parent sync. */
  readonly #preparingFolders = new Map<string, FolderState>();
  /** Recently read packs, decoded into their parts (least recently used first). */
  readonly #packs = new Map<string, Promise<Buffer[]>>();

  /** @internal use `openStore` */
  constructor(
    readonly dir: string,
    /** Random id from the folder marker; the database records it and passes it back as `expectStoreId`. */
    readonly storeId: string,
    private readonly keyRing: KeyRing,
    /** Cap on an object's size after decompression. */
    readonly maxObjectBytes: number,
    syncDir: (dir: string) => Promise<void> = fsyncDir,
  ) {
    this.#dirSync = new DirSyncer(syncDir);
  }

  /** Stores `bytes` under `id`, replacing what was there, atomically. */
  async put(id: string, bytes: Uint8Array | string): Promise<void> {
    checkId(id);
    if (id.startsWith(BLOB_PREFIX)) throw new TypeError(`Store ids starting with "${BLOB_PREFIX}" are reserved for putBlob.`);
    await this.#write(id, toBytes(bytes));
  }

  /**
   * Stores content once, named by its keyed hash, and returns that id; the same bytes give the same id
   * and are written only the first time. The name reveals nothing about the content without the key.
   */
  async putBlob(bytes: Uint8Array | string): Promise<string> {
    const data = toBytes(bytes);
    const id = BLOB_PREFIX + this.keyRing.blobName(data);
    const pending = this.#pendingBlobs.get(id);
    if (pending) {
      await pending;
      return id;
    }
    const work = (async () => {
      const file = this.#pathOf(id);
      try {
        // Fresh mtime: the sweeper's grace period then protects a blob that was just referenced again.
        const now = new Date();
        await utimes(file, now, now);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await this.#write(id, data);
      }
    })();
    this.#pendingBlobs.set(id, work);
    try {
      await work;
    } finally {
      this.#pendingBlobs.delete(id);
    }
    return id;
  }

  /**
   * Stores many small contents as one object (a pack) and returns a reference to each part, in order:
   * one write and one fsync for a whole batch of generated message bodies instead of one per body, and
   * similar bodies compress together. A part is read with `get(ref)` like any object; the pack is removed
   * by the sweeper once no row refers to any of its parts (see src/store/sweep.ts).
   */
  async putBlobs(parts: readonly (Uint8Array | string)[]): Promise<string[]> {
    if (!parts.length) return [];
    if (parts.length > MAX_PACK_PARTS) throw new TypeError(`A pack holds at most ${MAX_PACK_PARTS} parts.`);
    const bytes = parts.map(toBytes);
    const head = Buffer.alloc(8 + 4 * bytes.length);
    PACK_MAGIC.copy(head, 0);
    head.writeUInt32BE(bytes.length, 4);
    bytes.forEach((b, i) => head.writeUInt32BE(b.length, 8 + 4 * i));
    const id = await this.putBlob(Buffer.concat([head, ...bytes]));
    return bytes.map((_, i) => `${id}~${i}`);
  }

  /**
   * Seals a small secret (an SMTP password) with the newest key for keeping in the database, bound to
   * `purpose` (e.g. `smtp-account:3`) so a sealed value copied to another row does not open there.
   */
  async sealSecret(purpose: string, plain: string): Promise<string> {
    return (await sealObject(`secret:${purpose}`, Buffer.from(plain, 'utf8'), this.keyRing.newest)).toString('base64');
  }

  /** Opens what `sealSecret` made for the same purpose; throws `StoreIntegrityError` for anything else. */
  async openSecret(purpose: string, sealed: string): Promise<string> {
    return (await openObject(`secret:${purpose}`, Buffer.from(sealed, 'base64'), this.keyRing, 64 * 1024)).toString('utf8');
  }

  /** The bytes stored under `id`. Throws `StoreNotFoundError`, or `StoreIntegrityError` for anything altered. */
  async get(id: string): Promise<Buffer> {
    const part = PART_REF.exec(id);
    if (part) return this.#getPart(id, part[1]!, Number(part[2]));
    checkId(id);
    return openObject(id, await this.#readFile(id), this.keyRing, this.maxObjectBytes);
  }

  async #getPart(ref: string, packId: string, index: number): Promise<Buffer> {
    let pack = this.#packs.get(packId);
    if (pack) {
      this.#packs.delete(packId); // most recently used goes last
    } else {
      pack = this.get(packId).then((bytes) => splitPack(packId, bytes));
      pack.catch(() => this.#packs.delete(packId));
    }
    this.#packs.set(packId, pack);
    while (this.#packs.size > PACK_CACHE_ENTRIES) this.#packs.delete(this.#packs.keys().next().value!);
    const parts = await pack;
    const found = parts[index];
    if (!found) throw new StoreNotFoundError(ref);
    return found;
  }

  /** Whether a file exists for `id` (for a pack's part: its pack), without reading or checking it. */
  async has(id: string): Promise<boolean> {
    id = PART_REF.exec(id)?.[1] ?? id;
    checkId(id);
    try {
      return (await stat(this.#pathOf(id))).isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Removes the object; returns false when there was none. */
  async delete(id: string): Promise<boolean> {
    checkId(id);
    const file = this.#pathOf(id);
    try {
      await unlink(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    await this.#dirSync.sync(path.dirname(file));
    return true;
  }

  /** The id of the key an object is encrypted with, read from its header (not authenticated by itself). */
  async keyIdOf(id: string): Promise<number> {
    checkId(id);
    let handle;
    try {
      handle = await open(this.#pathOf(id), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreNotFoundError(id);
      throw error;
    }
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
      return readHeader(id, buffer.subarray(0, bytesRead)).keyId;
    } finally {
      await handle.close();
    }
  }

  /**
   * Rewrites one object under the newest key (authenticating it first; the compressed payload is
   * reused). Returns false when it already used the newest key.
   */
  async reencrypt(id: string): Promise<boolean> {
    checkId(id);
    const newest = this.keyRing.newest;
    const { header, payload } = await decryptPayload(id, await this.#readFile(id), this.keyRing);
    if (header.keyId === newest.id) return false;
    await this.#replace(id, encryptPayload(id, payload, header.compression, newest));
    return true;
  }

  /** Every object id in the folder, in no particular order. */
  async *ids(): AsyncGenerator<string> {
    for (const { name } of await this.#walk()) {
      if (ID_PATTERN.test(name)) yield name;
    }
  }

  /**
   * Removes objects nothing refers to. `isReferenced` asks the database; files younger than the grace
   * period are skipped, because their row may still be in an open transaction. A `putBlob` that reuses
   * a blob refreshes its age, so the race with this sweep is limited to a blob re-used in the instant
   * between the last age check and the removal.
   */
  async deleteUnreferenced(isReferenced: (id: string) => Promise<boolean>, options: SweepOptions = {}): Promise<SweepResult> {
    const graceMs = options.graceMs ?? DEFAULT_SWEEP_GRACE_MS;
    const now = options.now ?? Date.now;
    const result: SweepResult = { checked: 0, deleted: 0, tempFilesRemoved: 0 };
    const isOld = async (file: string) => {
      try {
        return now() - (await stat(file)).mtimeMs >= graceMs;
      } catch {
        return false; // gone meanwhile
      }
    };
    for (const { name, file } of await this.#walk()) {
      if (name.endsWith(TEMP_SUFFIX)) {
        // A temp file this old belongs to a write that crashed; a live write finishes in seconds.
        if ((await isOld(file)) && (await unlink(file).then(() => true, () => false))) result.tempFilesRemoved++;
        continue;
      }
      if (!ID_PATTERN.test(name) || !(await isOld(file))) continue;
      result.checked++;
      if (await isReferenced(name)) continue;
      if (!(await isOld(file))) continue; // re-used by putBlob while we asked
      if (await this.delete(name)) result.deleted++;
    }
    return result;
  }

  async #write(id: string, bytes: Buffer): Promise<void> {
    if (bytes.length > this.maxObjectBytes) {
      throw new StoreTooLargeError(`Object ${id} has ${bytes.length} bytes; the store accepts at most ${this.maxObjectBytes}.`);
    }
    await this.#replace(id, await sealObject(id, bytes, this.keyRing.newest));
  }

  /**
   * Temp file in the same folder, fsync, rename, fsync the folder: readers see the old file or the new,
   * never half, and the call resolves only once the new entry is durable (the file's, and for a folder
   * this process has not synced yet, the folder's own entry in its parent).
   */
  async #replace(id: string, contents: Buffer): Promise<void> {
    const { folder, file } = this.#locate(id);
    const dir = path.dirname(file);
    const temp = `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    const { handle, folderState } = await this.#createTemp(folder, temp);
    let folderDurable: Promise<void>;
    try {
      try {
        await handle.writeFile(contents);
        await handle.sync();
        // Only now, so on a journalling file system the flush of the temp file has usually carried the
        // new folder's entry along, and this sync of its parent finds nothing left to flush.
        folderDurable = folderState.durable();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    await Promise.all([this.#dirSync.sync(dir), folderDurable]);
  }

  /** Creates the temp file, making its fan-out folder first. */
  async #createTemp(folder: string, temp: string): Promise<{ handle: FileHandle; folderState: FolderState }> {
    for (let attempt = 0; ; attempt++) {
      const state = this.#prepareFolder(folder);
      await state.made;
      try {
        const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        return { handle, folderState: state };
      } catch (error) {
        // A folder we remembered was removed behind our back: forget it and make it again, once. (A
        // missing storage folder itself is not recreated: mkdir of the fan-out folder fails then.)
        if (attempt > 0 || (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        for (let rel = folder; rel !== '.'; rel = path.dirname(rel)) {
          this.#readyFolders.delete(rel);
          this.#preparingFolders.delete(rel);
        }
      }
    }
  }

  /**
   * Makes a fan-out folder (`ab` or `ab/cd`) exist, once per process: `made` settles when it exists;
   * `durable()` settles when its entry in its parent is on disk: for a folder we created, by syncing the
   * parent (once, shared by every writer that asks); a folder that was already there is taken as durable.
   * (Only a folder made by another process that then lost power before syncing it would not be; that
   * process's own write never completed, and ours would need the power cut within the same instant.)
   * Ready folders cost nothing afterwards: no mkdir, no parent sync.
   */
  #prepareFolder(rel: string): FolderState {
    if (this.#readyFolders.has(rel)) return READY;
    const pending = this.#preparingFolders.get(rel);
    if (pending) return pending;
    const parentRel = path.dirname(rel);
    const parent = parentRel === '.' ? READY : this.#prepareFolder(parentRel);
    const abs = path.join(this.dir, rel);
    // Whether we made the folder (false: it was there already). Not recursive: the storage folder
    // itself is never recreated, so a missing volume fails the write instead of filling the mount point.
    const created = parent.made.then(() =>
      mkdir(abs).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
          return false;
        },
      ),
    );
    const made = created.then(ignore);
    let durable: Promise<void> | undefined;
    const state: FolderState = {
      made,
      durable: () => {
        if (durable) return durable;
        const ownEntry = created.then((fresh) => (fresh ? this.#dirSync.sync(path.dirname(abs)) : undefined));
        durable = Promise.all([parent.durable(), ownEntry]).then(ignore);
        durable.then(
          () => {
            if (this.#preparingFolders.get(rel) === state) this.#preparingFolders.delete(rel);
            this.#readyFolders.add(rel);
          },
          () => {
            if (this.#preparingFolders.get(rel) === state) this.#preparingFolders.delete(rel);
          },
        );
        return durable;
      },
    };
    // Forget a folder whose mkdir failed, so the next write tries again.
    made.catch(() => {
      if (this.#preparingFolders.get(rel) === state) this.#preparingFolders.delete(rel);
    });
    this.#preparingFolders.set(rel, state);
    return state;
  }

  async #readFile(id: string): Promise<Buffer> {
    const file = this.#pathOf(id);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreNotFoundError(id);
      throw error;
    }
    try {
      // Refuse before reading: no valid object is larger than the cap plus the format's overhead.
      const { size } = await handle.stat();
      if (size > this.maxObjectBytes + OVERHEAD_BYTES) throw new StoreIntegrityError(id, 'too_large', `file has ${size} bytes`);
      // One read of the known size (readFile would stat again); a file cut short meanwhile comes back short
      // and fails the tag check.
      const buffer = Buffer.allocUnsafe(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  #pathOf(id: string): string {
    return this.#locate(id).file;
  }

  /** The object's fan-out folder (relative, `ab/cd`) and file. */
  #locate(id: string): { folder: string; file: string } {
    // Fan out by a hash of the id, so ids of any shape spread evenly over 65,536 folders.
    const hash = createHash('sha256').update(id).digest('hex');
    const folder = path.join(hash.slice(0, 2), hash.slice(2, 4));
    return { folder, file: path.join(this.dir, folder, id) };
  }

  async #walk(): Promise<{ name: string; file: string }[]> {
    const out: { name: string; file: string }[] = [];
    for (const first of await readdir(this.dir)) {
      if (!FANOUT_DIR.test(first)) continue;
      for (const second of await readdir(path.join(this.dir, first)).catch(() => [])) {
        if (!FANOUT_DIR.test(second)) continue;
        const folder = path.join(this.dir, first, second);
        for (const name of await readdir(folder).catch(() => [])) out.push({ name, file: path.join(folder, name) });
      }
    }
    return out;
  }
}

/** A fan-out folder on its way to ready: `made` once it exists; `durable()` syncs its entry (once). */
interface FolderState {
  made: Promise<void>;
  durable: () => Promise<void>;
}

const ignore = () => {};
const done = Promise.resolve();
const READY: FolderState = { made: done, durable: () => done };

/** The parts of a pack written by `putBlobs`; anything else under a part reference is an integrity error. */
function splitPack(id: string, bytes: Buffer): Buffer[] {
  const bad = () => new StoreIntegrityError(id, 'not_a_pack');
  if (bytes.length < 8 || !bytes.subarray(0, 4).equals(PACK_MAGIC)) throw bad();
  const count = bytes.readUInt32BE(4);
  if (count > MAX_PACK_PARTS || bytes.length < 8 + 4 * count) throw bad();
  const parts: Buffer[] = [];
  let at = 8 + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = bytes.readUInt32BE(8 + 4 * i);
    if (at + length > bytes.length) throw bad();
    parts.push(bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== bytes.length) throw bad();
  return parts;
}

function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) throw new TypeError(`Invalid store id ${JSON.stringify(id)}: use 1–128 of a-z, 0-9, _ and -.`);
}

function toBytes(bytes: Uint8Array | string): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isMarkerTemp(name: string): boolean {
  return name.startsWith(`${MARKER_FILE}.`) && name.endsWith(TEMP_SUFFIX);
}

async function readMarker(dir: string): Promise<Marker | null> {
  const file = path.join(dir, MARKER_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let marker: Partial<Marker>;
  try {
    marker = JSON.parse(text) as Partial<Marker>;
  } catch {
    throw new StoreFolderError('bad_marker', `${file} is not valid JSON.`);
  }
  if (marker?.format !== MARKER_FORMAT || typeof marker.storeId !== 'string' || typeof marker.keyCheck !== 'string') {
    throw new StoreFolderError('bad_marker', `${file} is not a Posel store marker.`);
  }
  if (marker.version !== MARKER_VERSION) {
    throw new StoreFolderError(
      'bad_marker',
      `The storage folder ${dir} has format version ${marker.version}; this Posel reads version ${MARKER_VERSION}.`,
    );
  }
  return marker as Marker;
}

async function createMarker(dir: string, keyRing: KeyRing): Promise<Marker> {
  const storeId = randomUUID();
  const marker: Marker = {
    format: MARKER_FORMAT,
    version: MARKER_VERSION,
    storeId,
    created: new Date().toISOString(),
    keyCheck: keyRing.folderCheck(storeId),
  };
  const file = path.join(dir, MARKER_FILE);
  const temp = `${file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(marker, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // link, unlike rename, never replaces: when two processes initialise at once, the first marker wins.
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  await fsyncDir(dir);
  return (await readMarker(dir))!;
}
