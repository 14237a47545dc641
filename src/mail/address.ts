/**
 * Strict e-mail address validation (DESIGN.md: addresses are validated by us before nodemailer sees
 * them). We accept what people type into a To field — bare addresses and `Name <address>`, separated by
 * commas, semicolons or new lines — and refuse anything that could smuggle a header or fool a reader:
 * control characters, quoted local parts, and internationalised domains that mix scripts in one label.
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import type { MessageAddress } from '../db/schema/messages.ts';

export type { MessageAddress } from '../db/schema/messages.ts';

/** An i18n key with parameters; `item` names the offending entry as the user typed it (shortened). */
export interface AddressError {
  key: string;
  params?: Record<string, string | number>;
}
export type AddressListResult = { ok: true; addresses: MessageAddress[] } | { ok: false; error: AddressError };

/** Longest address field we look at; longer input is refused before any parsing. */
export const MAX_ADDRESS_FIELD_CHARS = 10_000;
/** Default cap on the number of addresses in one field. */
export const DEFAULT_MAX_ADDRESSES = 500;
/** Longest display name (RFC 5322 has no limit; a header line should stay readable). */
export const MAX_NAME_CHARS = 200;

// Everything below U+0020 except what separates entries, DEL, C1 controls, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** RFC 5322 dot-atom characters (no quoted strings, no comments, no spaces). */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A top-level domain: letters, or an IDN in punycode. */
const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * Parses an address field: `a@b.cz`, `Jan Novák <jan@b.cz>`, `"Novák, Jan" <jan@b.cz>`, separated by
 * `,` `;` or new lines. Duplicates (case-insensitive) are dropped, keeping the first. Domains are
 * lower-cased and converted to punycode. The first problem found is returned, naming the entry.
 */
export function parseAddressList(input: string, opts: { max?: number } = {}): AddressListResult {
  const max = opts.max ?? DEFAULT_MAX_ADDRESSES;
  if (input.length > MAX_ADDRESS_FIELD_CHARS) return fail('addr.field_too_long', { max: MAX_ADDRESS_FIELD_CHARS });
  // Tabs come with addresses pasted from a spreadsheet: plain whitespace.
  input = input.replace(/\t/g, ' ');
  if (CONTROL.test(input)) {
    const bad = input.split(/[,;\r\n]/).find((e) => CONTROL.test(e)) ?? input;
    return fail('addr.control_chars', { item: shown(bad) });
  }
  const entries = splitEntries(input);
  if (entries === null) return fail('addr.unbalanced', {});
  const out: MessageAddress[] = [];
  const seen = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const parsed = parseEntry(entry);
    if ('error' in parsed) return { ok: false, error: parsed.error };
    const key = parsed.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(parsed);
    if (out.length > max) return fail('addr.too_many', { max });
  }
  return { ok: true, addresses: out };
}

/** True when `s` is one plain address (no display name) that `parseAddressList` would accept. */
export function isValidAddress(s: string): boolean {
  if (s.length > 254 || ANY_CONTROL.test(s)) return false;
  return normaliseAddress(s.trim()) !== null;
}

/** `"Name" <a@b.cz>`, or just the address: for display and for headers (names already checked). */
export function formatAddress(a: MessageAddress): string {
  if (!a.name) return a.address;
  return `"${a.name.replace(/[\\"]/g, (ch) => `\\${ch}`)}" <${a.address}>`;
}

/** Addresses joined with `, `. */
export function formatAddressList(list: MessageAddress[]): string {
  return list.map(formatAddress).join(', ');
}

function fail(key: string, params: Record<string, string | number>): AddressListResult {
  return { ok: false, error: { key, params } };
}

/** The entry as the user typed it, short enough for a message and without control characters. */
function shown(entry: string): string {
  const clean = entry.trim().replace(ANY_CONTROL, '?').replace(new RegExp(ANY_CONTROL.source, 'g'), '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}…` : clean;
}

/**
 * Splits on `,` `;` and line breaks outside double quotes and angle brackets. Returns null when a quote
 * or bracket is left open (the rest could not be read reliably). Linear in the input.
 */
function splitEntries(input: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '<') angle = true;
    else if (ch === '>') angle = false;
    else if (!angle && (ch === ',' || ch === ';' || ch === '\n' || ch === '\r')) {
      out.push(input.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted || angle) return null;
  out.push(input.slice(start));
  return out;
}

function parseEntry(entry: string): MessageAddress | { error: AddressError } {
  const err = (key: string) => ({ error: { key, params: { item: shown(entry) } } });
  if (ANY_CONTROL.test(entry)) return err('addr.control_chars');
  let name: string | undefined;
  let address: string;
  if (entry.endsWith('>')) {
    const open = entry.lastIndexOf('<');
    if (open < 0) return err('addr.invalid');
    address = entry.slice(open + 1, -1).trim();
    let display = entry.slice(0, open).trim();
    if (display.startsWith('"')) {
      if (display.length < 2 || !display.endsWith('"')) return err('addr.invalid');
      display = display.slice(1, -1).replace(/\\(.)/g, '$1');
    } else if (/["<>]/.test(display)) {
      return err('addr.invalid');
    }
    display = display.replace(/\s+/g, ' ').trim();
    if (display.length > MAX_NAME_CHARS) return err('addr.name_too_long');
    if (display) name = display;
  } else {
    address = entry;
  }
  if (address.includes('"')) return err('addr.quoted_local');
  if (/\s/.test(address) || /[<>]/.test(address)) return err('addr.invalid');
  const at = address.lastIndexOf('@');
  if (at < 0 || address.indexOf('@') !== at) return err('addr.invalid');
  const domain = address.slice(at + 1);
  if (!domain) return err('addr.bad_domain');
  const ascii = asciiDomain(domain);
  if (ascii === 'mixed') return err('addr.mixed_script');
  if (ascii === null) return err('addr.bad_domain');
  const local = address.slice(0, at);
  if (!LOCAL_PART.test(local) || local.length > 64) return err('addr.invalid');
  const full = `${local}@${ascii}`;
  if (full.length > 254) return err('addr.invalid');
  return name ? { address: full, name } : { address: full };
}

function normaliseAddress(address: string): string | null {
  const parsed = parseEntry(address);
  if ('error' in parsed || parsed.name) return null;
  if (address.endsWith('>')) return null;
  return parsed.address;
}

/** The lower-cased ASCII (punycode) form of a domain; null when invalid, 'mixed' for a look-alike. */
function asciiDomain(domain: string): string | null | 'mixed' {
  if (domain.length > 253 * 4) return null;
  const lower = domain.toLowerCase();
  // eslint-disable-next-line no-control-regex
  const isAscii = /^[\x21-\x7e]*$/.test(lower);
  if (!isAscii && lower.split('.').some(mixesScripts)) return 'mixed';
  const ascii = isAscii ? lower : domainToASCII(lower);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => ASCII_LABEL.test(l)) || !TLD.test(labels.at(-1)!)) return null;
  // Punycode typed directly (xn--…) gets the same look-alike check as Unicode typed directly.
  if (labels.some((l) => l.startsWith('xn--'))) {
    const unicode = domainToUnicode(ascii);
    if (!unicode) return null;
    if (unicode.split('.').some(mixesScripts)) return 'mixed';
  }
  return ascii;
}

/**
 * Scripts whose letters may share a label: Japanese mixes Han, Hiragana and Katakana, Korean mixes Han
 * and Hangul, and Latin is allowed with Han/Japanese (common in Japan). Anything else mixed — typically
 * Latin with Cyrillic or Greek look-alikes — is refused.
 */
const SCRIPTS: [string, RegExp][] = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  ['Han', /\p{Script=Han}/u],
  ['Hiragana', /\p{Script=Hiragana}/u],
  ['Katakana', /\p{Script=Katakana}/u],
  ['Hangul', /\p{Script=Hangul}/u],
  ['Thai', /\p{Script=Thai}/u],
  ['Devanagari', /\p{Script=Devanagari}/u],
  ['Georgian', /\p{Script=Georgian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
];
const ALLOWED_MIXES = [new Set(['Han', 'Hiragana', 'Katakana', 'Latin']), new Set(['Han', 'Hangul', 'Latin'])];

function mixesScripts(label: string): boolean {
  const found = new Set<string>();
  for (const ch of label) {
    if (/[0-9\-.]/.test(ch)) continue;
    const script = SCRIPTS.find(([, re]) => re.test(ch))?.[0];
    // Letters of scripts we do not list count as one more script (so they cannot pair with Latin).
    found.add(script ?? (/\p{L}/u.test(ch) ? 'Other' : 'Common'));
  }
  found.delete('Common');
  if (found.size <= 1) return false;
  return !ALLOWED_MIXES.some((allowed) => [...found].every((s) => allowed.has(s)));
}
