import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Context } from 'hono';

const PUBLIC_DIR = path.resolve(import.meta.dirname, '../../public');
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  body: Uint8Array;
  /** gzip of the body, made once at start (null when it would not be smaller). */
  gzipped: Uint8Array | null;
  type: string;
  etag: string;
}

/** Every file under public/ plus vendor scripts from node_modules, read once at start (they are small). */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (urlPath: string, file: string) => {
    const body = readFileSync(file);
    const etag = createHash('sha256').update(body).digest('base64url').slice(0, 16);
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    const gz = /^(text|image\/svg)/.test(type) ? gzipSync(body, { level: 9 }) : null;
    assets.set(urlPath, { body, gzipped: gz && gz.length < body.length ? gz : null, type, etag });
  };
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else add(`${prefix}${name}`, full);
    }
  };
  walk(PUBLIC_DIR, '');
  add('vendor/htmx.min.js', require.resolve('htmx.org/dist/htmx.min.js'));
  // Trix (rich text) is loaded only by the pages that edit a message or template body.
  add('vendor/trix.umd.min.js', require.resolve('trix/dist/trix.umd.min.js'));
  add('vendor/trix.css', require.resolve('trix/dist/trix.css'));
  return assets;
}

const assets = loadAssets();

/** The versioned URL of a static file: `/static/css/app.css?v=<hash>`, cacheable for a year. */
export function assetUrl(file: string): string {
  const asset = assets.get(file);
  return `/static/${file}${asset ? `?v=${asset.etag}` : ''}`;
}

/** Serves /static/* from memory with strong caching; versioned URLs make stale caches impossible. */
export function serveAsset(c: Context): Response {
  const file = c.req.path.replace(/^\/static\//, '');
  const asset = assets.get(file);
  if (!asset) return c.text('Not found', 404);
  const etag = `"${asset.etag}"`;
  c.header('ETag', etag);
  c.header('Cache-Control', c.req.query('v') ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
  if (c.req.header('If-None-Match') === etag) return c.body(null, 304);
  c.header('Content-Type', asset.type);
  c.header('Vary', 'Accept-Encoding');
  if (asset.gzipped && /\bgzip\b/.test(c.req.header('Accept-Encoding') ?? '')) {
    c.header('Content-Encoding', 'gzip');
    return c.body(asset.gzipped as Uint8Array<ArrayBuffer>);
  }
  return c.body(asset.body as Uint8Array<ArrayBuffer>);
}
