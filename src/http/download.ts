import type { Context } from 'hono';
import { safeFilename } from '../mail/mime.ts';
import type { AppEnv } from './types.ts';

/** RFC 6266 Content-Disposition: an ASCII fallback and the UTF-8 name. */
export function contentDisposition(name: string): string {
  const safe = safeFilename(name);
  const ascii = safe.normalize('NFD').replace(/[^\x20-\x7e]/g, '').replace(/["\\%]/g, '_') || 'attachment';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(safe).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** Sends stored bytes as a file download: never rendered inline, never sniffed, never cached. */
export function download(c: Context<AppEnv>, bytes: Buffer, filename: string, contentType: string): Response {
  c.header('Content-Type', contentType);
  c.header('Content-Disposition', contentDisposition(filename));
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Cache-Control', 'no-store');
  c.header('Content-Length', String(bytes.length));
  return c.body(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as never, 200);
}
