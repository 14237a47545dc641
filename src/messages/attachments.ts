/**
 * Attachments on their way into a message or a template: multipart uploads streamed into memory under a
 * hard cap and stored in the blob store at once, and signed tokens that let a form carry earlier
 * uploads from one submission to the next (hidden inputs) without trusting what the browser sends back.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { AppEnv } from '../http/types.ts';
import { settingHmacKey } from '../settings/hmac-keys.ts';
import { safeContentType, safeFilename } from '../mail/mime.ts';

/** An attachment whose bytes are already in the store, not yet tied to a message or template row. */
export interface PendingAttachment {
  blobId: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

/** What a form shows for one attachment: the token for its hidden input, the name and the size. */
export interface AttachmentItem {
  token: string;
  filename: string;
  sizeBytes: number;
}

export interface MultipartForm {
  /** Every text field, each value in order (like readFormAll). */
  fields: Record<string, string[]>;
  /** Every uploaded non-empty file, already stored (empty when `tooLarge`). */
  files: PendingAttachment[];
  /** The files together went over `maxTotalBytes`: none were stored, the fields were kept. */
  tooLarge: boolean;
  /** Bytes of the files received (up to where reading stopped), for the "31.2 MB of 25 MB" message. */
  uploadedBytes: number;
  /** The text fields went over `maxFieldBytes`; values past it are cut (and so fail any length check). */
  fieldsTruncated: boolean;
}

/** The setting that holds the token key: random, created on first use, so tokens survive restarts. */
const TOKEN_KEY_SETTING = 'attachments.token_key';
/** How long a token is honoured; a form re-rendered from a saved draft gets fresh ones. */
export const TOKEN_MAX_AGE_SECONDS = 7 * 24 * 3600;
/** Default budget for the text fields of one multipart request (a message body is the big one). */
export const DEFAULT_MAX_FIELD_BYTES = 1024 * 1024;
const MAX_FILES_PER_REQUEST = 100;

export type TokenKey = KeyObject;

/** The HMAC key for attachment tokens (from the settings table; created the first time it is needed). */
export function attachmentTokenKey(source: Context<AppEnv> | Db): Promise<TokenKey> {
  return settingHmacKey('req' in source ? source.get('deps').database.db : source, TOKEN_KEY_SETTING);
}

interface TokenPayload {
  u: number;
  b: string;
  f: string;
  t: string;
  s: number;
  /** Issued at, in seconds. */
  i: number;
}

function mac(key: TokenKey, body: string): Buffer {
  return createHmac('sha256', key).update(`posel attachment v1.${body}`).digest();
}

/**
 * A signed, opaque, URL-safe token naming an upload of `userId`, for a hidden form input. Only the same
 * user gets it back from `readAttachmentTokens`, so a token seen by someone else is worthless to them.
 */
export function attachmentToken(key: TokenKey, userId: number, a: PendingAttachment, now = Date.now()): string {
  const payload: TokenPayload = { u: userId, b: a.blobId, f: a.filename, t: a.contentType, s: a.sizeBytes, i: Math.floor(now / 1000) };
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** The attachments of the valid tokens among `tokens`, in order; forged, expired or other users' ones are dropped. */
export function readAttachmentTokens(key: TokenKey, userId: number, tokens: string[], now = Date.now()): PendingAttachment[] {
  const out: PendingAttachment[] = [];
  for (const token of tokens) {
    const a = readToken(key, userId, token, now);
    if (a) out.push(a);
  }
  return out;
}

function readToken(key: TokenKey, userId: number, token: string, now: number): PendingAttachment | null {
  if (typeof token !== 'string' || token.length > 4096) return null;
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined) return null;
  const expected = mac(key, body);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let p: TokenPayload;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    return null;
  }
  if (p.u !== userId || typeof p.b !== 'string' || typeof p.f !== 'string' || typeof p.t !== 'string' || !Number.isSafeInteger(p.s)) return null;
  if (!Number.isFinite(p.i) || now / 1000 - p.i > TOKEN_MAX_AGE_SECONDS || p.i - now / 1000 > 300) return null;
  return { blobId: p.b, filename: p.f, contentType: p.t, sizeBytes: p.s };
}

/** The configured limit on one message's attachments, in bytes. */
export function attachmentLimitBytes(config: Pick<Config, 'ATTACHMENTS_MAX_MB'>): number {
  return Math.round(config.ATTACHMENTS_MAX_MB * 1024 * 1024);
}

/** Sum of the attachments' sizes. */
export function totalBytes(list: { sizeBytes: number }[]): number {
  return list.reduce((sum, a) => sum + a.sizeBytes, 0);
}

/**
 * The final, ordered attachment list of a submitted form: the earlier uploads carried in `attachment`
 * tokens, minus those ticked in `remove_attachment`, then the files of this request. Tokens that are
 * forged, expired or of another user are dropped, as are uploads the store no longer has (the sweeper
 * removes blobs no row has used for an hour; see `collectAttachmentsDetailed` to tell the user).
 */
export async function collectAttachments(
  c: Context<AppEnv>,
  fields: Record<string, string[]>,
  files: PendingAttachment[],
  userId: number,
): Promise<PendingAttachment[]> {
  return (await collectAttachmentsDetailed(c, fields, files, userId)).attachments;
}

/** Like `collectAttachments`, also naming the earlier uploads that are gone from the store. */
export async function collectAttachmentsDetailed(
  c: Context<AppEnv>,
  fields: Record<string, string[]>,
  files: PendingAttachment[],
  userId: number,
): Promise<{ attachments: PendingAttachment[]; missing: string[] }> {
  const key = await attachmentTokenKey(c);
  const removed = new Set(fields.remove_attachment ?? []);
  const kept = (fields.attachment ?? []).filter((t) => !removed.has(t));
  const earlier = readAttachmentTokens(key, userId, [...new Set(kept)]);
  const store = c.get('deps').store;
  const attachments: PendingAttachment[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const a of [...earlier, ...files]) {
    const id = `${a.blobId}\n${a.filename}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (!(await store.has(a.blobId).catch(() => false))) {
      missing.push(a.filename);
      continue;
    }
    attachments.push(a);
  }
  return { attachments, missing };
}

/** The items an attachments field shows for `list` (fresh tokens for the hidden inputs). */
export async function attachmentItems(c: Context<AppEnv>, userId: number, list: PendingAttachment[]): Promise<AttachmentItem[]> {
  const key = await attachmentTokenKey(c);
  return list.map((a) => ({ token: attachmentToken(key, userId, a), filename: a.filename, sizeBytes: a.sizeBytes }));
}

const EXTENSION_TYPES: Record<string, string> = {
  pdf: 'application/pdf', txt: 'text/plain', csv: 'text/csv', html: 'text/html', htm: 'text/html', xml: 'application/xml',
  json: 'application/json', zip: 'application/zip', '7z': 'application/x-7z-compressed', rar: 'application/vnd.rar',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml',
  tif: 'image/tiff', tiff: 'image/tiff', bmp: 'image/bmp', heic: 'image/heic',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  rtf: 'application/rtf', eml: 'message/rfc822', ics: 'text/calendar', isdoc: 'application/xml', mp3: 'audio/mpeg',
  mp4: 'video/mp4',
};

/** The upload's content type when it names one; otherwise a guess from the extension. */
export function uploadContentType(declared: string | undefined, filename: string): string {
  const type = safeContentType(declared ?? '');
  if (type !== 'application/octet-stream' && declared) return type;
  const ext = filename.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1).toLowerCase() : '';
  return EXTENSION_TYPES[ext] ?? 'application/octet-stream';
}

class RequestTooLarge extends Error {}

/**
 * Reads a form that may carry files (`multipart/form-data`), storing each non-empty file in the blob
 * store. Files are held in memory only up to `maxTotalBytes` in all; past that they are dropped and
 * the rest of the body is read and thrown away (up to twice the limit, then reading stops), so the
 * caller can re-render the form with every field kept and a clear message. A urlencoded form is read
 * too (no files), so a form without `enctype` still works.
 */
export async function readMultipartForm(
  c: Context<AppEnv>,
  opts: { maxTotalBytes: number; maxFieldBytes?: number },
): Promise<MultipartForm> {
  const maxFieldBytes = opts.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  const result: MultipartForm = { fields: Object.create(null), files: [], tooLarge: false, uploadedBytes: 0, fieldsTruncated: false };
  const contentType = c.req.header('content-type') ?? '';
  if (!/^multipart\/form-data;/i.test(contentType)) {
    if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
      const text = await readCapped(c.req.raw, maxFieldBytes);
      if (text === null) result.fieldsTruncated = true;
      else for (const [k, v] of new URLSearchParams(text)) (result.fields[k] ??= []).push(v);
    }
    return result;
  }
  const body = c.req.raw.body;
  if (!body) return result;
  // Stop reading altogether past this: the files' limit twice over, plus the fields.
  const hardCap = opts.maxTotalBytes * 2 + maxFieldBytes + 1024 * 1024;
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > hardCap) {
    result.tooLarge = true;
    result.uploadedBytes = declared;
    await body.cancel().catch(() => {});
    return result;
  }

  let busboy: BusboyInstance;
  try {
    busboy = Busboy({
      headers: { 'content-type': contentType },
      defCharset: 'utf8',
      limits: {
        files: MAX_FILES_PER_REQUEST,
        fileSize: opts.maxTotalBytes + 1,
        fields: 2000,
        fieldSize: maxFieldBytes,
        parts: 2000 + MAX_FILES_PER_REQUEST,
        headerPairs: 50,
      },
    });
  } catch {
    return result;
  }

  const received: { filename: string; contentType: string; chunks: Buffer[] }[] = [];
  let fileBytes = 0;
  let fieldBytes = 0;
  const fileDone: Promise<void>[] = [];

  busboy.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    if (valueTruncated) result.fieldsTruncated = true;
    fieldBytes += Buffer.byteLength(value);
    if (fieldBytes > maxFieldBytes) {
      result.fieldsTruncated = true;
      return;
    }
    (result.fields[name] ??= []).push(value);
  });
  busboy.on('fieldsLimit', () => (result.fieldsTruncated = true));
  busboy.on('partsLimit', () => (result.fieldsTruncated = true));
  // More files than we take in one request: refuse them all rather than keep some silently.
  busboy.on('filesLimit', () => (result.tooLarge = true));
  busboy.on('file', (_field: string, stream: Readable, filename: string, _enc: string, mimeType: string) => {
    const entry = { filename, contentType: mimeType, chunks: [] as Buffer[] };
    received.push(entry);
    fileDone.push(
      new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => {
          fileBytes += chunk.length;
          result.uploadedBytes = fileBytes;
          if (fileBytes > opts.maxTotalBytes) {
            // Over the limit: let go of everything held so far, keep counting for the message.
            result.tooLarge = true;
            for (const r of received) r.chunks = [];
            return;
          }
          entry.chunks.push(chunk);
        });
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      }),
    );
  });

  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      if (total > hardCap) done(new RequestTooLarge());
      else done(null, chunk);
    },
  });

  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), counter, busboy as unknown as Writable);
    await Promise.all(fileDone);
  } catch (error) {
    if (error instanceof RequestTooLarge) {
      result.tooLarge = true;
      result.files = [];
      return result;
    }
    // A malformed body or a client that went away mid-upload: nothing to re-render for anybody.
    throw new HTTPException(400, { message: 'Malformed or incomplete form data.', cause: error });
  }
  if (result.tooLarge) return result;

  const store = c.get('deps').store;
  for (const r of received) {
    const bytes = Buffer.concat(r.chunks);
    if (bytes.length === 0 && !r.filename) continue; // the empty part of a file input nobody used
    if (bytes.length === 0) continue;
    const filename = safeFilename(r.filename);
    const blobId = await store.putBlob(bytes);
    result.files.push({ blobId, filename, contentType: uploadContentType(r.contentType, filename), sizeBytes: bytes.length });
  }
  return result;
}

/** A small body as text, or null when it is longer than `max` bytes. */
async function readCapped(request: Request, max: number): Promise<string | null> {
  if (!request.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `3.4 MB`, `512 kB`, `12 B` in the user's language (decimal comma in Czech). */
export function formatBytes(bytes: number, locale: string): string {
  const nf = (n: number, digits: number) => new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${nf(bytes / 1024, 0)} kB`;
  return `${nf(bytes / (1024 * 1024), 1)} MB`;
}
