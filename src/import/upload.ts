/**
 * Receives a multipart upload straight to disk: the file part streams through the byte scanner into a
 * temp file named by us (never by the user's file name), the real bytes are counted (a Content-Length
 * header may lie or be absent), and nothing larger than a small form field is held in memory.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { ByteScanner, type ScanResult } from './detect.ts';

export type UploadOutcome =
  | { ok: true; bytes: number; fileName: string; scan: ScanResult; fields: Record<string, string> }
  | { ok: false; reason: 'too_large' | 'no_file' | 'bad_request' };

class TooLarge extends Error {}

/**
 * Reads the multipart body of `request` and writes its `file` part to `destination`. Past `maxBytes` the
 * file is refused; the rest of the body is still read (and thrown away) up to twice the limit, so the
 * browser gets our answer rather than a reset connection; beyond that the upload is cut off.
 */
export async function receiveUpload(request: Request, destination: string, maxBytes: number): Promise<UploadOutcome> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data;/i.test(contentType) || !request.body) return { ok: false, reason: 'bad_request' };
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes * 2) return { ok: false, reason: 'too_large' };

  let busboy: BusboyInstance;
  try {
    busboy = Busboy({
      headers: { 'content-type': contentType },
      limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 8 * 1024, parts: 30, headerPairs: 50 },
    });
  } catch {
    return { ok: false, reason: 'bad_request' };
  }

  const fields: Record<string, string> = Object.create(null);
  let fileName = '';
  let tooLarge = false;
  let fileDone = null as Promise<ScanResult> | null;

  busboy.on('field', (name: string, value: string) => {
    fields[name] = value;
  });
  busboy.on('file', (field: string, stream: Readable, name: string) => {
    if (field !== 'file' || fileDone) {
      stream.resume();
      return;
    }
    fileName = name;
    const scanner = new ByteScanner();
    stream.on('limit', () => {
      tooLarge = true;
    });
    const scan = new Transform({
      transform(chunk: Buffer, _enc, done) {
        scanner.push(chunk);
        done(null, chunk);
      },
    });
    fileDone = pipeline(stream, scan, createWriteStream(destination, { flags: 'wx', mode: 0o600 })).then(() => scanner.result());
    fileDone.catch(() => {}); // awaited below; avoid an unhandled rejection while the body is still streaming
  });

  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received > maxBytes * 2 + 1024 * 1024) done(new TooLarge());
      else done(null, chunk);
    },
  });

  try {
    await pipeline(Readable.fromWeb(request.body as import('node:stream/web').ReadableStream), counter, busboy as unknown as Writable);
    const scan = fileDone ? await fileDone : null;
    if (tooLarge) throw new TooLarge();
    if (!scan) return { ok: false, reason: 'no_file' };
    return { ok: true, bytes: scan.bytes, fileName, scan, fields };
  } catch (error) {
    await rm(destination, { force: true });
    if (error instanceof TooLarge || tooLarge) return { ok: false, reason: 'too_large' };
    return { ok: false, reason: 'bad_request' };
  }
}
