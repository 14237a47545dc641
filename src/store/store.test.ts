import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, chmodSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyRingError, StoreFolderError, StoreIntegrityError, StoreNotFoundError, StoreTooLargeError, type IntegrityReason } from './errors.ts';
import { HEADER_BYTES } from './format.ts';
import { generateMasterKey, openKeyRing, type KeyRing } from './keys.ts';
import { MARKER_FILE, openStore, type Store, type StoreOptions } from './store.ts';

const TEXT = 'Dobrý den, posíláme Vám fakturu za objednávku č. 2026-0042. S pozdravem, Firma s.r.o.\n'.repeat(200);
const temps: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'posel-store-'));
  temps.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function setup(options: Partial<StoreOptions> = {}): Promise<{ store: Store; keyRing: KeyRing; dir: string }> {
  const dir = options.dir ?? path.join(tempDir(), 'store');
  const keyRing = options.keyRing ?? (await openKeyRing({ file: path.join(tempDir(), 'keys.json') }));
  return { store: await openStore({ ...options, dir, keyRing }), keyRing, dir };
}

/** Every file under `dir`, relative, excluding the marker. */
function filesIn(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => statSync(path.join(dir, name)).isFile() && name !== MARKER_FILE)
    .sort();
}

function fileOf(dir: string, id: string): string {
  const found = filesIn(dir).find((name) => path.basename(name) === id);
  if (!found) throw new Error(`no file for ${id}`);
  return path.join(dir, found);
}

function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(file, bytes);
}

async function integrityReason(promise: Promise<unknown>): Promise<IntegrityReason> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreIntegrityError);
  return (error as StoreIntegrityError).reason;
}

describe('round trip', () => {
  it('returns an empty object unchanged', async () => {
    const { store } = await setup();
    await store.put('empty', new Uint8Array());
    expect((await store.get('empty')).length).toBe(0);
  });

  it('returns a small object unchanged', async () => {
    const { store } = await setup();
    await store.put('msg-1', 'Ahoj, světe');
    expect((await store.get('msg-1')).toString('utf8')).toBe('Ahoj, světe');
  });

  it('returns 5 MB of random bytes unchanged', async () => {
    const { store } = await setup();
    const bytes = randomBytes(5 * 1024 * 1024);
    await store.put('big', bytes);
    expect((await store.get('big')).equals(bytes)).toBe(true);
  });

  it('replaces an object put again under the same id', async () => {
    const { store } = await setup();
    await store.put('msg-1', 'first');
    await store.put('msg-1', 'second');
    expect((await store.get('msg-1')).toString()).toBe('second');
  });

  it('compresses text before encrypting it', async () => {
    const { store, dir } = await setup();
    await store.put('text', TEXT);
    expect(statSync(fileOf(dir, 'text')).size).toBeLessThan(Buffer.byteLength(TEXT) / 10);
    expect((await store.get('text')).toString()).toBe(TEXT);
  });

  it('does not keep the plain text anywhere in the file', async () => {
    const { store, dir } = await setup();
    await store.put('secret', 'x'.repeat(10) + 'heslo123' + 'y'.repeat(3)); // too short to compress: stored raw, then encrypted
    expect(readFileSync(fileOf(dir, 'secret')).includes('heslo123')).toBe(false);
  });

  it('spreads objects into fan-out folders ab/cd/<id>', async () => {
    const { store, dir } = await setup();
    await store.put('msg-1', 'x');
    const hash = createHash('sha256').update('msg-1').digest('hex');
    expect(filesIn(dir)).toEqual([path.join(hash.slice(0, 2), hash.slice(2, 4), 'msg-1')]);
  });
});

describe('missing and invalid ids', () => {
  it('throws StoreNotFoundError for an id never stored', async () => {
    const { store } = await setup();
    await expect(store.get('nope')).rejects.toBeInstanceOf(StoreNotFoundError);
    expect(await store.has('nope')).toBe(false);
  });

  it('refuses ids that could leave the folder or clash on case-insensitive disks', async () => {
    const { store } = await setup();
    for (const id of ['../x', 'a/b', 'Msg', 'a.tmp', '', 'x'.repeat(129)]) {
      await expect(store.put(id, 'x'), id).rejects.toBeInstanceOf(TypeError);
    }
  });

  it('reserves the blob_ prefix for content-addressed blobs', async () => {
    const { store } = await setup();
    await expect(store.put('blob_abc', 'x')).rejects.toBeInstanceOf(TypeError);
  });

  it('deletes an object and reports whether there was one', async () => {
    const { store } = await setup();
    await store.put('msg-1', 'x');
    expect(await store.delete('msg-1')).toBe(true);
    expect(await store.has('msg-1')).toBe(false);
    expect(await store.delete('msg-1')).toBe(false);
  });
});

describe('content-addressed blobs', () => {
  it('gives the same bytes the same id and stores them in one file', async () => {
    const { store, dir } = await setup();
    const pdf = randomBytes(200_000);
    const first = await store.putBlob(pdf);
    const second = await store.putBlob(Buffer.from(pdf));
    expect(second).toBe(first);
    expect(filesIn(dir)).toHaveLength(1);
    expect((await store.get(first)).equals(pdf)).toBe(true);
  });

  it('names blobs by a keyed hash, so the name reveals nothing without the key', async () => {
    const a = await setup();
    const b = await setup();
    const bytes = Buffer.from('invoice 42');
    const id = await a.store.putBlob(bytes);
    expect(id).not.toContain(createHash('sha256').update(bytes).digest('hex'));
    expect(await b.store.putBlob(bytes)).not.toBe(id);
  });

  it('writes once when the same bytes are put concurrently', async () => {
    const { store, dir } = await setup();
    const bytes = randomBytes(1024 * 1024);
    const ids = await Promise.all(Array.from({ length: 20 }, () => store.putBlob(bytes)));
    expect(new Set(ids).size).toBe(1);
    expect(filesIn(dir)).toHaveLength(1);
    expect((await store.get(ids[0]!)).equals(bytes)).toBe(true);
  });

  it('stays consistent when two stores on one folder put the same bytes at once', async () => {
    const { store, dir, keyRing } = await setup();
    const other = await openStore({ dir, keyRing, expectStoreId: store.storeId });
    const bytes = randomBytes(512 * 1024);
    const ids = await Promise.all([store.putBlob(bytes), other.putBlob(bytes), store.putBlob(bytes), other.putBlob(bytes)]);
    expect(new Set(ids).size).toBe(1);
    expect(filesIn(dir)).toHaveLength(1);
    expect((await other.get(ids[0]!)).equals(bytes)).toBe(true);
  });
});

describe('tampering fails closed', () => {
  it('refuses a file copied over another object (the id is bound as associated data)', async () => {
    const { store, dir } = await setup();
    await store.put('msg-a', 'for Alice');
    await store.put('msg-b', 'for Bob');
    copyFileSync(fileOf(dir, 'msg-a'), fileOf(dir, 'msg-b'));
    expect(await integrityReason(store.get('msg-b'))).toBe('auth_failed');
  });

  it.each([
    ['magic', 0, 'bad_magic'],
    ['format version', 4, 'unsupported_version'],
    ['compression', 5, 'auth_failed'],
    ['key id', 9, 'unknown_key'],
    ['nonce', 15, 'auth_failed'],
    ['ciphertext', HEADER_BYTES + 5, 'auth_failed'],
    ['tag', -3, 'auth_failed'],
  ] as const)('refuses a flipped byte in the %s', async (_part, offset, reason) => {
    const { store, dir } = await setup();
    await store.put('msg-1', TEXT);
    flipByte(fileOf(dir, 'msg-1'), offset);
    expect(await integrityReason(store.get('msg-1'))).toBe(reason);
  });

  it('refuses a file cut short inside the body', async () => {
    const { store, dir } = await setup();
    await store.put('msg-1', TEXT);
    const file = fileOf(dir, 'msg-1');
    writeFileSync(file, readFileSync(file).subarray(0, -1));
    expect(await integrityReason(store.get('msg-1'))).toBe('auth_failed');
  });

  it('refuses a file cut short inside the header', async () => {
    const { store, dir } = await setup();
    await store.put('msg-1', TEXT);
    const file = fileOf(dir, 'msg-1');
    writeFileSync(file, readFileSync(file).subarray(0, 10));
    expect(await integrityReason(store.get('msg-1'))).toBe('truncated');
  });

  it('refuses an object written with a key the ring does not hold', async () => {
    const dir = path.join(tempDir(), 'store');
    const key1 = generateMasterKey(1);
    const writer = await setup({ dir, keyRing: await openKeyRing({ masterKey: `${key1},${generateMasterKey(2)}` }) });
    await writer.store.put('msg-1', 'x');
    const reader = await setup({ dir, keyRing: await openKeyRing({ masterKey: key1 }) });
    expect(await integrityReason(reader.store.get('msg-1'))).toBe('unknown_key');
  });

  it('refuses a decompression bomb larger than the cap without inflating it', async () => {
    const { store, dir, keyRing } = await setup();
    await store.put('bomb', Buffer.alloc(8 * 1024 * 1024)); // 8 MB of zeros deflates to a few KB
    expect(statSync(fileOf(dir, 'bomb')).size).toBeLessThan(64 * 1024);
    const capped = await openStore({ dir, keyRing, maxObjectBytes: 1024 * 1024 });
    expect(await integrityReason(capped.get('bomb'))).toBe('too_large');
  });

  it('refuses to store more than the cap', async () => {
    const { store } = await setup({ maxObjectBytes: 1000 });
    await expect(store.put('msg-1', Buffer.alloc(1001))).rejects.toBeInstanceOf(StoreTooLargeError);
  });
});

describe('key rotation', () => {
  it('keeps old objects readable after a key is added and writes new ones with the new key', async () => {
    const { store, keyRing } = await setup();
    await store.put('old', 'written with key 1');
    const newId = await keyRing.addKey();
    expect(newId).toBe(2);
    await store.put('new', 'written with key 2');
    expect((await store.get('old')).toString()).toBe('written with key 1');
    expect(await store.keyIdOf('old')).toBe(1);
    expect(await store.keyIdOf('new')).toBe(2);
  });

  it('re-encrypts an object with the newest key, once', async () => {
    const { store, keyRing } = await setup();
    await store.put('msg-1', TEXT);
    await keyRing.addKey();
    expect(await store.reencrypt('msg-1')).toBe(true);
    expect(await store.keyIdOf('msg-1')).toBe(2);
    expect((await store.get('msg-1')).toString()).toBe(TEXT);
    expect(await store.reencrypt('msg-1')).toBe(false);
  });

  it('keeps blob ids stable across rotation, so deduplication survives it', async () => {
    const { store, keyRing } = await setup();
    const before = await store.putBlob('same attachment');
    await keyRing.addKey();
    expect(await store.putBlob('same attachment')).toBe(before);
  });

  it('reads objects written with a key another process added to the key file', async () => {
    const keyFile = path.join(tempDir(), 'keys.json');
    const dir = path.join(tempDir(), 'store');
    const mine = await setup({ dir, keyRing: await openKeyRing({ file: keyFile }) });
    const theirs = await setup({ dir, keyRing: await openKeyRing({ file: keyFile }) });
    await theirs.keyRing.addKey();
    await theirs.store.put('msg-1', 'new key');
    expect((await mine.store.get('msg-1')).toString()).toBe('new key');
  });

  it('re-reads the key file before adding, so keys added elsewhere are not lost', async () => {
    const keyFile = path.join(tempDir(), 'keys.json');
    const a = await openKeyRing({ file: keyFile });
    const b = await openKeyRing({ file: keyFile });
    expect(await a.addKey()).toBe(2);
    expect(await b.addKey()).toBe(3);
    expect((await openKeyRing({ file: keyFile })).keyIds).toEqual([1, 2, 3]);
  });
});

describe('key ring', () => {
  it('creates the key file with mode 0600 on first use and reuses it after', async () => {
    const keyFile = path.join(tempDir(), 'secrets', 'keys.json');
    const dir = path.join(tempDir(), 'store');
    const first = await setup({ dir, keyRing: await openKeyRing({ file: keyFile }) });
    if (process.platform !== 'win32') expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    await first.store.put('msg-1', 'x');
    const again = await setup({ dir, keyRing: await openKeyRing({ file: keyFile }) });
    expect((await again.store.get('msg-1')).toString()).toBe('x');
  });

  it.skipIf(process.platform === 'win32')('refuses a key file other users can read', async () => {
    const keyFile = path.join(tempDir(), 'keys.json');
    await openKeyRing({ file: keyFile });
    chmodSync(keyFile, 0o644);
    await expect(openKeyRing({ file: keyFile })).rejects.toThrow(/chmod 600/);
  });

  it('accepts a master key from the environment and refuses a malformed one', async () => {
    const ring = await openKeyRing({ masterKey: generateMasterKey().slice(2) });
    expect(ring.keyIds).toEqual([1]);
    await expect(openKeyRing({ masterKey: 'too-short' })).rejects.toBeInstanceOf(KeyRingError);
    await expect(openKeyRing({ masterKey: '' })).rejects.toBeInstanceOf(KeyRingError);
    await expect(openKeyRing({ masterKey: `${generateMasterKey(1)},${generateMasterKey(1)}` })).rejects.toThrow(/repeats/);
  });

  it('writes with the highest id of a master key list', async () => {
    const ring = await openKeyRing({ masterKey: `${generateMasterKey(1)} ${generateMasterKey(3)}` });
    expect(ring.newest.id).toBe(3);
  });

  it('refuses addKey for keys from the environment, which it could not persist', async () => {
    const ring = await openKeyRing({ masterKey: generateMasterKey() });
    await expect(ring.addKey()).rejects.toThrow(/rotate them there/);
  });
});

describe('storage folder', () => {
  it('initialises an empty folder with a marker', async () => {
    const dir = tempDir();
    const { store } = await setup({ dir });
    const marker = JSON.parse(readFileSync(path.join(dir, MARKER_FILE), 'utf8'));
    expect(marker).toMatchObject({ format: 'posel-store', version: 1, storeId: store.storeId });
  });

  it('creates a folder that does not exist, and keeps its store id on reopening', async () => {
    const { store, dir, keyRing } = await setup({ dir: path.join(tempDir(), 'a', 'b') });
    const reopened = await openStore({ dir, keyRing, expectStoreId: store.storeId });
    expect(reopened.storeId).toBe(store.storeId);
  });

  it('refuses a folder that holds other files and no marker', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'photo.jpg'), 'not ours');
    await expect(setup({ dir })).rejects.toMatchObject({ reason: 'not_a_store', message: expect.stringMatching(/not a Posel store/) });
  });

  it('ignores lost+found when deciding whether a folder is empty', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'lost+found'));
    const { store } = await setup({ dir });
    expect(store.storeId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a store other than the one the database expects', async () => {
    const { dir, keyRing } = await setup();
    await expect(openStore({ dir, keyRing, expectStoreId: 'another-store' })).rejects.toMatchObject({ reason: 'store_mismatch' });
  });

  it('refuses an empty folder when an existing store is expected (volume not mounted)', async () => {
    const keyRing = await openKeyRing({ masterKey: generateMasterKey() });
    await expect(openStore({ dir: tempDir(), keyRing, expectStoreId: 'abc' })).rejects.toMatchObject({ reason: 'missing_store' });
  });

  it('refuses a key ring the store was not created with', async () => {
    const { dir } = await setup();
    const stranger = await openKeyRing({ masterKey: generateMasterKey() });
    await expect(openStore({ dir, keyRing: stranger })).rejects.toMatchObject({ reason: 'wrong_keys' });
  });

  it('refuses a marker of a newer format version', async () => {
    const { dir, keyRing } = await setup();
    const file = path.join(dir, MARKER_FILE);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), version: 2 }));
    const error = await openStore({ dir, keyRing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFolderError);
    expect(error).toMatchObject({ reason: 'bad_marker' });
  });

  it('leaves no temp files behind after writes', async () => {
    const { store, dir } = await setup();
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(`msg-${i}`, `body ${i}`)));
    await store.putBlob(TEXT);
    expect(readdirSync(dir, { recursive: true }).filter((name) => String(name).endsWith('.tmp'))).toEqual([]);
    expect(filesIn(dir)).toHaveLength(31);
  });

  it('lists every object id', async () => {
    const { store } = await setup();
    await store.put('msg-1', 'a');
    await store.put('msg-2', 'b');
    const ids: string[] = [];
    for await (const id of store.ids()) ids.push(id);
    expect(ids.sort()).toEqual(['msg-1', 'msg-2']);
  });
});

describe('sweeping unreferenced files', () => {
  const HOUR = 60 * 60 * 1000;

  it('removes old objects nothing references and keeps the rest', async () => {
    const { store } = await setup();
    await store.put('kept', 'a');
    await store.put('orphan', 'b');
    const result = await store.deleteUnreferenced(async (id) => id === 'kept', { now: () => Date.now() + 2 * HOUR });
    expect(result).toEqual({ checked: 2, deleted: 1, tempFilesRemoved: 0 });
    expect(await store.has('kept')).toBe(true);
    expect(await store.has('orphan')).toBe(false);
  });

  it('keeps files younger than the grace period, whose row may not be committed yet', async () => {
    const { store } = await setup();
    await store.putBlob('just written');
    const result = await store.deleteUnreferenced(async () => false);
    expect(result.deleted).toBe(0);
  });

  it('removes temp files a crashed write left behind', async () => {
    const { store, dir } = await setup();
    await store.put('msg-1', 'a');
    const crashed = `${fileOf(dir, 'msg-1')}.abc123.tmp`;
    writeFileSync(crashed, 'half');
    const old = new Date(Date.now() - 2 * HOUR);
    utimesSync(crashed, old, old);
    const result = await store.deleteUnreferenced(async () => true);
    expect(result.tempFilesRemoved).toBe(1);
    expect(await store.has('msg-1')).toBe(true);
  });
});

describe('packs: many small bodies in one object (bulk generation)', () => {
  it('returns a reference per part that reads back exactly, writing one file for all of them', async () => {
    const { store, dir } = await setup();
    const bodies = Array.from({ length: 200 }, (_, i) => `<p>Dobrý den, zákazníku č. ${i}, posíláme potvrzení objednávky.</p>`);
    bodies.push('', 'Žluťoučký kůň'.repeat(1000));
    const refs = await store.putBlobs(bodies);
    expect(refs).toHaveLength(bodies.length);
    expect(new Set(refs.map((r) => r.split('~')[0])).size).toBe(1);
    expect(refs[5]).toMatch(/^blob_[a-z0-9_-]+~5$/);
    expect(filesIn(dir)).toHaveLength(1);
    for (const i of [0, 5, 199, 200, 201]) expect((await store.get(refs[i]!)).toString('utf8')).toBe(bodies[i]);
    expect(await store.has(refs[3]!)).toBe(true);
    // The same parts again: the same pack, not a second file.
    expect(await store.putBlobs(bodies)).toEqual(refs);
    expect(filesIn(dir)).toHaveLength(1);
    expect(await store.putBlobs([])).toEqual([]);
  });

  it('refuses a part that is not there, and a part of an object that is not a pack', async () => {
    const { store } = await setup();
    const [ref] = await store.putBlobs(['jediný']);
    const pack = ref!.split('~')[0]!;
    await expect(store.get(`${pack}~1`)).rejects.toBeInstanceOf(StoreNotFoundError);
    const plain = await store.putBlob('obyčejný blob');
    await expect(store.get(`${plain}~0`)).rejects.toMatchObject({ name: 'StoreIntegrityError', reason: 'not_a_pack' });
    await expect(store.get('blob_neexistuje~0')).rejects.toBeInstanceOf(StoreNotFoundError);
    // A reference is not an id: it cannot be written to, and odd spellings are refused.
    await expect(store.put(`${pack}~0`, 'x')).rejects.toThrow();
    await expect(store.get(`${pack}~01x`)).rejects.toThrow();
  });

  it('detects an altered pack like any other object', async () => {
    const { store, dir } = await setup();
    const refs = await store.putBlobs(['první', 'druhá']);
    const file = path.join(dir, filesIn(dir)[0]!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20]! ^= 1;
    writeFileSync(file, bytes);
    const fresh = await openStore({ dir, keyRing: (store as unknown as { keyRing: KeyRing }).keyRing });
    await expect(fresh.get(refs[1]!)).rejects.toBeInstanceOf(StoreIntegrityError);
  });
});
