/**
 * Quoted-printable as nodemailer writes it, byte for byte, at a fraction of its cost: the bytes are
 * escaped by nodemailer's own `encode`; the soft line breaks are placed by `wrapQuotedPrintable`, which
 * makes the same decisions as nodemailer's `wrap` (lib/qp) with index arithmetic on the string instead
 * of a substring and four regular expressions per line (most of the sender's body-encoding time).
 * `qp.test.ts` compares the two on many generated inputs.
 */
import * as qp from 'nodemailer/lib/qp';

const LINE = 76;
/** nodemailer's `lineMargin`: the end of a line searched for a better place to break it. */
const MARGIN = Math.floor(LINE / 3);
/** Input slice of nodemailer's quoted-printable encoder stream (its wrap decisions depend on it). */
const QP_SLICE = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const EQ = 0x3d;
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** Where nodemailer prefers to break a long line: after a space, tab, period, comma, ! or ?. */
const isBreak = (c: number) => c === 0x20 || c === 0x09 || c === 0x2e || c === 0x2c || c === 0x21 || c === 0x3f;
/** Characters a regular expression's `.` does not match (QP output is ASCII: CR and LF). */
const isTerminator = (c: number) => c === CR || c === LF;

/**
 * Adds soft line breaks (`=\r\n`) to quoted-printable text so no line is longer than 76 characters:
 * nodemailer's `wrap(str, 76)`, the same result for every input.
 */
export function wrapQuotedPrintable(str: string): string {
  const len = str.length;
  if (len <= LINE) return str;
  const out: string[] = [];
  const hexAt = (i: number) => isHex(str.charCodeAt(i));
  /** Whether str[start, end) ends with an escape `=XX`. */
  const endsWithEscape = (start: number, end: number) => end - start >= 3 && str.charCodeAt(end - 3) === EQ && hexAt(end - 2) && hexAt(end - 1);
  /** The length of a cut-off escape (`=` or `=X`) that str[start, end) ends with: 0, 1 or 2. */
  const partialEscape = (start: number, end: number) =>
    str.charCodeAt(end - 1) === EQ ? 1 : end - start >= 2 && str.charCodeAt(end - 2) === EQ && hexAt(end - 1) ? 2 : 0;
  let pos = 0;
  // The first CRLF at or after `pos` (searched again only once passed: the search is not per line).
  let crlf = str.indexOf('\r\n');
  while (pos < len) {
    const full = Math.min(LINE, len - pos);
    let end = pos + full;
    // A hard line break within the line: the line ends there.
    if (crlf !== -1 && crlf < pos) crlf = str.indexOf('\r\n', pos);
    if (crlf !== -1 && crlf + 2 <= end) {
      out.push(str.slice(pos, crlf + 2));
      pos = crlf + 2;
      continue;
    }
    if (str.charCodeAt(end - 1) === LF) {
      out.push(str.slice(pos, end));
      pos = end;
      continue;
    }
    // A bare LF near the end, with no line terminator after it: the line ends after it.
    const marginStart = Math.max(pos, end - MARGIN);
    let lf = -1;
    for (let i = end - 1; i >= marginStart; i--) {
      const c = str.charCodeAt(i);
      if (c === LF) lf = i;
      if (isTerminator(c)) break;
    }
    if (lf !== -1) {
      out.push(str.slice(pos, lf + 1));
      pos = lf + 1;
      continue;
    }
    let breakAt = -1;
    if (full > LINE - MARGIN) {
      for (let i = end - 1; i >= marginStart; i--) {
        if (isBreak(str.charCodeAt(i))) {
          breakAt = i;
          break;
        }
      }
    }
    const partial = breakAt === -1 ? partialEscape(pos, end) : 0;
    if (breakAt !== -1) {
      end = breakAt + 1;
    } else if (partial || endsWithEscape(pos, end)) {
      // Never split an escape: a partial one at the end goes to the next line…
      end -= partial;
      // …and nor a UTF-8 sequence: continuation bytes and their lead byte move on with it.
      while (end - pos > 3 && end - pos < len - pos && !onlyEscapes(str, pos, end) && endsWithEscape(pos, end)) {
        const code = parseInt(str.slice(end - 2, end), 16);
        if (code < 128) break;
        end -= 3;
        if (code >= 0xc0) break;
      }
    }
    if (end === pos) end = pos + full;
    if (end < len && str.charCodeAt(end - 1) !== LF) {
      if (end - pos === LINE && endsWithEscape(pos, end)) end -= 3;
      else if (end - pos === LINE) end -= 1;
      out.push(str.slice(pos, end), '=\r\n');
    } else {
      out.push(str.slice(pos, end));
    }
    pos = end;
  }
  return out.join('');
}

/** Whether str[start, end) is one to four escapes and nothing else. */
function onlyEscapes(str: string, start: number, end: number): boolean {
  const n = end - start;
  if (n % 3 !== 0 || n < 3 || n > 12) return false;
  for (let i = start; i < end; i += 3) {
    if (str.charCodeAt(i) !== EQ || !isHex(str.charCodeAt(i + 1)) || !isHex(str.charCodeAt(i + 2))) return false;
  }
  return true;
}

/**
 * Quoted-printable in lines of at most 76 characters, as nodemailer's encoder stream writes it: trailing
 * spaces and tabs held back and encoded at the end, the input taken in 64 KiB slices, the last line of
 * each slice wrapped again with the next.
 */
export function quotedPrintable(content: Buffer): Buffer {
  let end = content.length;
  while (end > 0 && (content[end - 1] === 0x20 || content[end - 1] === 0x09)) end--;
  const out: string[] = [];
  let line = '';
  const slices = (bytes: Buffer) => {
    for (let start = 0; start < bytes.length; start += QP_SLICE) {
      const wrapped = wrapQuotedPrintable(line + qp.encode(bytes.subarray(start, Math.min(start + QP_SLICE, bytes.length))));
      const lastLf = wrapped.lastIndexOf('\n');
      line = wrapped.substring(lastLf + 1);
      out.push(wrapped.substring(0, lastLf + 1));
    }
  };
  slices(content.subarray(0, end));
  slices(content.subarray(end));
  out.push(line);
  return Buffer.from(out.join(''), 'latin1');
}
