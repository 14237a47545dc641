/**
 * Trix injects two `<style>` elements when it loads (default CSS of <trix-toolbar> and <trix-editor>).
 * Our CSP is `style-src 'self'`, which blocks them. Rather than a per-request nonce (which would need the
 * nonce in <head> of every page and state per request) we allow exactly those two style texts by hash:
 * computed once at start from the very Trix file we serve, so an upgrade of Trix cannot silently break it.
 * A hash allows only that exact CSS, which is harmless; no other inline style is allowed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// Values Trix concatenates into its CSS (attachmentSelector, and cursorTargetStyles outside IE 11).
const ATTACHMENT_SELECTOR = '[data-trix-attachment]';
const CURSOR_TARGET = { display: 'inline-block', width: '1px' };

/** Reads one JS string literal starting at `at` (a double quote); returns its value and the index after it. */
function readString(source: string, at: number): { value: string; end: number } {
  if (source[at] !== '"') throw new Error(`expected a string at ${at}`);
  let i = at + 1;
  while (i < source.length && source[i] !== '"') i += source[i] === '\\' ? 2 : 1;
  return { value: JSON.parse(source.slice(at, i + 1)) as string, end: i + 1 };
}

/** Evaluates `"…".concat(x, "…", y.display, …)…` as Trix writes it; identifiers map to the known values. */
function readCss(source: string, at: number): string {
  let { value, end } = readString(source, at);
  while (source.startsWith('.concat(', end)) {
    end += '.concat('.length;
    for (;;) {
      if (source[end] === '"') {
        const s = readString(source, end);
        value += s.value;
        end = s.end;
      } else {
        const id = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?/.exec(source.slice(end, end + 100))?.[0];
        if (!id) throw new Error(`unexpected token at ${end}`);
        value += id.endsWith('.display') ? CURSOR_TARGET.display : id.endsWith('.width') ? CURSOR_TARGET.width : ATTACHMENT_SELECTOR;
        end += id.length;
      }
      if (source[end] === ',') end++;
      else if (source[end] === ')') {
        end++;
        break;
      } else throw new Error(`unexpected token at ${end}`);
    }
  }
  return value;
}

/** The CSS texts Trix injects, from the served file (`installDefaultCSSForTagName(tag, css)` calls). */
export function trixInjectedCss(file = require.resolve('trix/dist/trix.umd.min.js')): string[] {
  const source = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const tag of ['trix-toolbar', 'trix-editor']) {
    const marker = `"${tag}","%t`;
    const at = source.indexOf(marker);
    if (at < 0) throw new Error(`Trix default CSS for ${tag} not found`);
    out.push(readCss(source, at + tag.length + 3).replace(/%t/g, tag));
  }
  if (!source.includes(`"${ATTACHMENT_SELECTOR}"`)) throw new Error('Trix attachment selector changed');
  return out;
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

let cached: string[] | null = null;

/**
 * CSP `style-src` sources for Trix's injected styles (and the empty style element it inserts before
 * filling it). If the file cannot be read the editor still works, only unstyled by Trix's defaults.
 */
export function trixStyleHashes(): string[] {
  if (cached) return cached;
  try {
    cached = ['', ...trixInjectedCss()].map(sha256);
  } catch {
    cached = [];
  }
  return cached;
}
