/**
 * The on-disk format of one store object:
 *
 *   magic "PSOB" (4) | version (1) | compression (1) | key id (4, big-endian) | nonce (12) | ciphertext | tag (16)
 *
 * The header is readable without a key (so reads can pick the key and the re-encryption loop can find
 * old objects), and it is authenticated together with the object id as AES-256-GCM associated data:
 * changing a header byte, or moving a file to another object's name, fails the tag check.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { StoreIntegrityError } from './errors.ts';
import type { KeyRing, StoreKey } from './keys.ts';

const MAGIC = Buffer.from('PSOB', 'ascii');
/** Bumped when the layout changes; readers refuse versions they do not know. */
export const FORMAT_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Magic, version, compression, key id, nonce. */
export const HEADER_BYTES = MAGIC.length + 1 + 1 + 4 + NONCE_BYTES;
/** Bytes an object adds to its (compressed) payload. */
export const OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;

/** How the payload was compressed before encryption. */
export enum Compression {
  /** Stored as is: compression did not make it smaller (already compressed or random data). */
  None = 0,
  DeflateRaw = 1,
}

const deflateRaw = promisify(zlib.deflateRaw);
const inflateRaw = promisify(zlib.inflateRaw) as (buf: Uint8Array, options: zlib.ZlibOptions) => Promise<Buffer>;

/**
 * zlib level for new objects. Measured by `npm run bench:store` on ~20 KB Czech HTML bodies (one thread,
 * on a busy 2-CPU machine): level 1 ratio 0.151 at 58–146 MB/s, level 3 ratio 0.145 at 72–158 MB/s,
 * level 6 (zlib's default, used before) ratio 0.136 at 44–72 MB/s. Level 3 is about twice as fast as 6
 * for 0.009 more bytes per byte; level 1 was not reliably faster than 3 and compresses less. Readers do
 * not care: any level inflates the same way, so objects written at level 6 stay readable.
 */
export const COMPRESSION_LEVEL = 3;
/**
 * Inputs up to this size are (de)compressed on the calling thread: for a typical body that takes a
 * fraction of a millisecond, less than a round trip through libuv's thread pool, whose few threads are
 * busy with the fsyncs of concurrent writes. Larger inputs go to the pool, so the event loop never
 * blocks for long.
 */
export const INLINE_ZLIB_BYTES = 64 * 1024;
/** Output cap of an inflate on the calling thread; a larger result is inflated again in the pool. */
const INLINE_INFLATE_MAX_OUTPUT = 1024 * 1024;

async function deflate(plain: Uint8Array): Promise<Buffer> {
  const options = { level: COMPRESSION_LEVEL };
  return plain.length <= INLINE_ZLIB_BYTES ? zlib.deflateRawSync(plain, options) : deflateRaw(plain, options);
}

async function inflate(payload: Buffer, maxBytes: number): Promise<Buffer> {
  if (payload.length <= INLINE_ZLIB_BYTES) {
    try {
      return zlib.inflateRawSync(payload, { maxOutputLength: Math.max(1, Math.min(maxBytes, INLINE_INFLATE_MAX_OUTPUT)) });
    } catch (error) {
      // Larger than the inline cap but perhaps within the real one: inflate again off the event loop.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE' || maxBytes <= INLINE_INFLATE_MAX_OUTPUT) throw error;
    }
  }
  // maxOutputLength makes zlib stop at the cap instead of inflating a bomb into memory.
  return inflateRaw(payload, { maxOutputLength: Math.max(1, maxBytes) });
}

/** The readable part of an object file. */
export interface ObjectHeader {
  version: number;
  compression: Compression;
  keyId: number;
  nonce: Buffer;
  /** The header bytes exactly as stored; they go into the associated data. */
  raw: Buffer;
}

/** Compresses (when that helps) and encrypts `plain` for object `objectId` under `key`. */
export async function sealObject(objectId: string, plain: Uint8Array, key: StoreKey): Promise<Buffer> {
  // Compress before encrypting: ciphertext does not compress.
  const deflated = plain.length === 0 ? null : await deflate(plain);
  const [compression, payload] =
    deflated && deflated.length < plain.length ? [Compression.DeflateRaw, deflated] : [Compression.None, plain];
  return encryptPayload(objectId, payload, compression, key);
}

/** Encrypts an already compressed payload; used by `sealObject` and to re-encrypt without recompressing. */
export function encryptPayload(objectId: string, payload: Uint8Array, compression: Compression, key: StoreKey): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeUInt8(compression, 5);
  header.writeUInt32BE(key.id, 6);
  // A fresh random nonce per write: GCM breaks completely if a nonce repeats under one key.
  randomBytes(NONCE_BYTES).copy(header, 10);
  const cipher = createCipheriv('aes-256-gcm', key.encryption, header.subarray(10), { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(header, objectId));
  const body = Buffer.concat([cipher.update(payload), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Parses and checks the header; throws `StoreIntegrityError` for anything not written by this format. */
export function readHeader(objectId: string, file: Buffer): ObjectHeader {
  if (file.length < HEADER_BYTES) throw new StoreIntegrityError(objectId, 'truncated');
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) throw new StoreIntegrityError(objectId, 'bad_magic');
  const version = file.readUInt8(4);
  if (version !== FORMAT_VERSION) throw new StoreIntegrityError(objectId, 'unsupported_version', `version ${version}`);
  const compression = file.readUInt8(5);
  if (!(compression in Compression)) {
    throw new StoreIntegrityError(objectId, 'unknown_compression', `codec ${compression}`);
  }
  return {
    version,
    compression,
    keyId: file.readUInt32BE(6),
    nonce: file.subarray(10, HEADER_BYTES),
    raw: file.subarray(0, HEADER_BYTES),
  };
}

/**
 * Authenticates and decrypts a whole object file, returning the still-compressed payload.
 * Nothing is returned unless the tag matched.
 */
export async function decryptPayload(
  objectId: string,
  file: Buffer,
  keyRing: KeyRing,
): Promise<{ header: ObjectHeader; payload: Buffer }> {
  const header = readHeader(objectId, file);
  if (file.length < OVERHEAD_BYTES) throw new StoreIntegrityError(objectId, 'truncated');
  let key = keyRing.find(header.keyId);
  // Another process may have added the key since we loaded the ring.
  if (!key && (await keyRing.refresh())) key = keyRing.find(header.keyId);
  if (!key) throw new StoreIntegrityError(objectId, 'unknown_key', `key id ${header.keyId}`);
  const decipher = createDecipheriv('aes-256-gcm', key.encryption, header.nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(header.raw, objectId));
  decipher.setAuthTag(file.subarray(file.length - TAG_BYTES));
  try {
    const payload = Buffer.concat([decipher.update(file.subarray(HEADER_BYTES, file.length - TAG_BYTES)), decipher.final()]);
    return { header, payload };
  } catch {
    throw new StoreIntegrityError(objectId, 'auth_failed');
  }
}

/** Decrypts and decompresses an object file; output larger than `maxBytes` is refused, not produced. */
export async function openObject(objectId: string, file: Buffer, keyRing: KeyRing, maxBytes: number): Promise<Buffer> {
  const { header, payload } = await decryptPayload(objectId, file, keyRing);
  if (header.compression === Compression.None) {
    if (payload.length > maxBytes) throw new StoreIntegrityError(objectId, 'too_large');
    return payload;
  }
  try {
    return await inflate(payload, maxBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new StoreIntegrityError(objectId, 'too_large', `expands past ${maxBytes} bytes`);
    }
    throw new StoreIntegrityError(objectId, 'corrupt_compression');
  }
}

function associatedData(header: Buffer, objectId: string): Buffer {
  // The header has a fixed length, so header ‖ id is unambiguous.
  return Buffer.concat([header, Buffer.from(objectId, 'utf8')]);
}
