/**
 * The key ring of the blob store: numbered 256-bit keys, the newest used for writes, every one kept
 * for reads. Keys come from a key file (created on first use) or from a master key in the environment.
 */
import { createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { KeyRingError } from './errors.ts';
import { fsyncDir } from './fsutil.ts';

const KEY_BYTES = 32;
const KEY_FILE_FORMAT = 'posel-store-keys';
const KEY_FILE_VERSION = 1;
/** Key ids travel in a 4-byte header field. */
const MAX_KEY_ID = 0xffff_ffff;

/** Where a key ring comes from: a file we own, or a string the operator keeps elsewhere. */
export type KeyRingSource = { file: string } | { masterKey: string };

/** A key as the store uses it: derived sub-keys only, so one raw key never serves two purposes. */
export interface StoreKey {
  readonly id: number;
  /** AES-256-GCM key for object bodies. */
  readonly encryption: KeyObject;
}

interface RawKey {
  id: number;
  key: Buffer;
  created?: string;
}

interface KeyFile {
  format: typeof KEY_FILE_FORMAT;
  version: number;
  keys: { id: number; key: string; created?: string }[];
}

/**
 * Numbered keys for the store. Reads look keys up by the id in an object's header; writes use
 * `newest`. The lowest-numbered key is the root of blob names and of the folder check, so it is never
 * dropped (rotation adds keys; it does not remove them).
 */
export class KeyRing {
  #keys = new Map<number, StoreKey>();
  #newest!: StoreKey;
  #naming!: KeyObject;
  #folderCheck!: KeyObject;

  private constructor(
    private readonly source: KeyRingSource,
    raw: RawKey[],
  ) {
    this.#load(raw);
  }

  /** Opens (or, for a file that does not exist yet, creates) a key ring. */
  static async open(source: KeyRingSource): Promise<KeyRing> {
    if ('masterKey' in source) return new KeyRing(source, parseMasterKey(source.masterKey));
    return new KeyRing(source, await readOrCreateKeyFile(source.file));
  }

  /** The key new writes use: the one with the highest id. */
  get newest(): StoreKey {
    return this.#newest;
  }

  /** Ids of all keys held, oldest first. */
  get keyIds(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  /** The key with this id, or undefined when the ring does not hold it. */
  find(id: number): StoreKey | undefined {
    return this.#keys.get(id);
  }

  /**
   * Re-reads the key file, so a key added by another process becomes readable here.
   * Returns false for a ring from the environment, which cannot change while we run.
   */
  async refresh(): Promise<boolean> {
    if (!('file' in this.source)) return false;
    this.#load(await readKeyFile(this.source.file));
    return true;
  }

  /**
   * Generates a new key, saves it to the key file and makes it the key for new writes. Old keys
   * stay, so objects written with them remain readable until re-encrypted.
   * A ring from the environment is rotated there (add `id:key` to the list), because a key we could
   * not persist would leave objects nobody can read after a restart.
   */
  async addKey(): Promise<number> {
    if (!('file' in this.source)) {
      throw new KeyRingError(
        'The store keys come from the environment; rotate them there by adding "<next id>:<new key>" to the list (see generateMasterKey).',
      );
    }
    const file = this.source.file;
    // Re-read first, so a key another process added is not lost when we write the file back.
    const raw = await readKeyFile(file);
    const id = Math.max(...raw.map((k) => k.id)) + 1;
    if (id > MAX_KEY_ID) throw new KeyRingError('The key ring has run out of key ids.');
    raw.push({ id, key: randomBytes(KEY_BYTES), created: new Date().toISOString() });
    await writeKeyFile(file, raw, 'replace');
    this.#load(raw);
    return id;
  }

  /** The keyed hash that names a content-addressed blob (HMAC-SHA-256; hides the content). */
  blobName(bytes: Uint8Array): string {
    return createHmac('sha256', this.#naming).update(bytes).digest('hex');
  }

  /** Proof, stored in the folder marker, that a folder and this key ring belong together. */
  folderCheck(storeId: string): string {
    return createHmac('sha256', this.#folderCheck).update(storeId).digest('base64');
  }

  #load(raw: RawKey[]): void {
    const sorted = [...raw].sort((a, b) => a.id - b.id);
    const oldest = sorted[0];
    const newest = sorted.at(-1);
    if (!oldest || !newest) throw new KeyRingError('The key ring holds no key.');
    this.#keys = new Map(sorted.map((k) => [k.id, { id: k.id, encryption: derive(k.key, 'object encryption') }]));
    this.#newest = this.#keys.get(newest.id)!;
    this.#naming = derive(oldest.key, 'blob naming');
    this.#folderCheck = derive(oldest.key, 'folder check');
  }
}

/** Opens a key ring from a key file (created with mode 0600 when missing) or a master key string. */
export function openKeyRing(source: KeyRingSource): Promise<KeyRing> {
  return KeyRing.open(source);
}

/** A fresh random master key in the form `openKeyRing({ masterKey })` accepts (`1:<base64>`). */
export function generateMasterKey(id = 1): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

function derive(ikm: Buffer, purpose: string): KeyObject {
  // HKDF gives each purpose an independent key, so the same raw key can safely name blobs and encrypt.
  return createSecretKey(Buffer.from(hkdfSync('sha256', ikm, 'posel-store', `posel-store v1 ${purpose}`, KEY_BYTES)));
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text, 'base64');
  // Buffer.from ignores stray characters; comparing the round trip catches typos and truncation.
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new KeyRingError(`${where} is not a base64-encoded ${KEY_BYTES}-byte key.`);
  }
  return key;
}

function parseKeyId(text: string, where: string): number {
  const id = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(id) || id < 1 || id > MAX_KEY_ID) throw new KeyRingError(`${where}: key id must be a whole number from 1.`);
  return id;
}

/**
 * Parses `<base64>` (one key, id 1) or `1:<base64>,2:<base64>` (rotation: the highest id writes).
 * Only real 256-bit keys are accepted, not passphrases, so the strength never depends on what someone typed.
 */
function parseMasterKey(text: string): RawKey[] {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) throw new KeyRingError('The store master key is empty; create one with generateMasterKey().');
  if (entries.length === 1 && !entries[0]!.includes(':')) return [{ id: 1, key: decodeKey(entries[0]!, 'The store master key') }];
  const keys: RawKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const where = `Store master key entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new KeyRingError(`${where} has no "id:" prefix (expected id:base64key).`);
    const id = parseKeyId(entry.slice(0, colon), where);
    if (keys.some((k) => k.id === id)) throw new KeyRingError(`${where} repeats key id ${id}.`);
    keys.push({ id, key: decodeKey(entry.slice(colon + 1), where) });
  }
  return keys;
}

async function readOrCreateKeyFile(file: string): Promise<RawKey[]> {
  try {
    return await readKeyFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const first: RawKey[] = [{ id: 1, key: randomBytes(KEY_BYTES), created: new Date().toISOString() }];
  const created = await writeKeyFile(file, first, 'create');
  // Two processes starting at once: the loser must use the winner's keys, or its writes are lost.
  return created ? first : readKeyFile(file);
}

async function readKeyFile(file: string): Promise<RawKey[]> {
  const info = await stat(file);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new KeyRingError(
      `The store key file ${file} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${file}`,
    );
  }
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as KeyFile;
  } catch {
    throw new KeyRingError(`The store key file ${file} is not valid JSON.`);
  }
  if (parsed?.format !== KEY_FILE_FORMAT || !Array.isArray(parsed.keys)) {
    throw new KeyRingError(`${file} is not a Posel store key file.`);
  }
  if (parsed.version !== KEY_FILE_VERSION) {
    throw new KeyRingError(`The store key file ${file} has format version ${parsed.version}; this Posel reads version ${KEY_FILE_VERSION}.`);
  }
  const keys: RawKey[] = [];
  for (const entry of parsed.keys) {
    const where = `${file}, key ${JSON.stringify(entry?.id)}`;
    const id = parseKeyId(String(entry?.id), where);
    if (keys.some((k) => k.id === id)) throw new KeyRingError(`${where} is listed twice.`);
    keys.push({ id, key: decodeKey(String(entry?.key), where), created: entry.created });
  }
  if (keys.length === 0) throw new KeyRingError(`The store key file ${file} holds no key.`);
  return keys;
}

/**
 * Writes the key file atomically with mode 0600. `create` never overwrites (returns false when the
 * file appeared meanwhile); `replace` swaps the file in with a rename.
 */
async function writeKeyFile(file: string, keys: RawKey[], mode: 'create' | 'replace'): Promise<boolean> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const body: KeyFile = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    keys: keys.map((k) => ({ id: k.id, key: k.key.toString('base64'), ...(k.created ? { created: k.created } : {}) })),
  };
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(body, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (mode === 'replace') {
      await rename(temp, file);
    } else {
      try {
        await link(temp, file); // unlike rename, link refuses to replace an existing file
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    }
  } finally {
    await unlink(temp).catch(() => {});
  }
  await fsyncDir(dir);
  return true;
}
