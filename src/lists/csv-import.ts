/**
 * Reading a member file for a marketing list: one column of e-mails or IČOs, or a table whose header row
 * names an `email` / `e-mail` and/or `ico` / `IČO` column. What Czech offices actually send: UTF-8 with or
 * without BOM, Windows-1250 from older Excel, `;` or `,` (or tab) separators, CRLF, quoted cells.
 * Pure functions: no database here, so every case is cheap to test.
 */
import { emailField } from '../http/forms.ts';

/** Largest accepted upload. */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;

export type DecodeProblem = 'empty' | 'binary' | 'spreadsheet';

/**
 * Bytes → text. A BOM decides (UTF-8, UTF-16); otherwise strict UTF-8, and when that fails Windows-1250
 * (every byte is valid there, so it is the fallback, not a guess among many). NUL bytes or many control
 * characters mean this is not a text file; an Excel workbook is recognised by its signature.
 */
export function decodeText(bytes: Uint8Array): { ok: true; text: string; encoding: string } | { ok: false; problem: DecodeProblem } {
  if (!bytes.length) return { ok: false, problem: 'empty' };
  const startsWith = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  // .xlsx is a zip (PK\3\4), .xls an OLE2 compound file.
  if (startsWith(0x50, 0x4b, 0x03, 0x04) || startsWith(0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) return { ok: false, problem: 'spreadsheet' };
  let text: string;
  let encoding: string;
  try {
    if (startsWith(0xef, 0xbb, 0xbf)) {
      encoding = 'utf-8';
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(3));
    } else if (startsWith(0xff, 0xfe) || startsWith(0xfe, 0xff)) {
      encoding = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
      text = new TextDecoder(encoding, { fatal: true }).decode(bytes.subarray(2));
    } else {
      if (bytes.includes(0)) return { ok: false, problem: 'binary' };
      try {
        encoding = 'utf-8';
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        encoding = 'windows-1250';
        text = new TextDecoder('windows-1250').decode(bytes);
      }
    }
  } catch {
    return { ok: false, problem: 'binary' };
  }
  // Text files have next to no control characters besides tab, CR, LF (and a form feed now and then).
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 32 && code !== 9 && code !== 10 && code !== 13 && code !== 12) || code === 0x7f || code === 0xfffd) control++;
  }
  if (text.includes('\u0000') || control > Math.max(2, text.length / 200)) return { ok: false, problem: 'binary' };
  if (!text.trim()) return { ok: false, problem: 'empty' };
  return { ok: true, text, encoding };
}

/** The separator of the first line that has one: the most frequent of `;`, `,` and tab outside quotes. */
export function detectSeparator(text: string): string {
  const firstLines = text.slice(0, 4096).split(/\r\n|\n|\r/).filter((l) => l.trim());
  for (const line of firstLines.slice(0, 5)) {
    const counts = new Map<string, number>([[';', 0], [',', 0], ['\t', 0]]);
    let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
    }
    const [best, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    if (n > 0) return best;
  }
  return ';';
}

/** RFC 4180 records (quoted cells may hold separators, `""` and line breaks), each with the line it starts on. */
export function parseCsv(text: string, separator = detectSeparator(text)): { line: number; cells: string[] }[] {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let atCellStart = true;
  let line = 1;
  let recordLine = 1;
  const endCell = () => {
    cells.push(cell);
    cell = '';
    atCellStart = true;
  };
  const endRecord = () => {
    endCell();
    if (cells.some((c) => c.trim() !== '')) records.push({ line: recordLine, cells });
    cells = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"' && atCellStart && cell.trim() === '') {
      quoted = true;
      cell = '';
      atCellStart = false;
    } else if (ch === separator) {
      endCell();
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      cell += ch;
      if (ch !== ' ') atCellStart = false;
    }
  }
  if (cell !== '' || cells.length) endRecord();
  return records;
}

export type RowProblem = 'bad_email' | 'bad_ico' | 'not_email_or_ico' | 'empty';

export type MemberRow =
  | { line: number; kind: 'email' | 'ico'; value: string; key: string }
  | { line: number; kind: 'invalid'; value: string; problem: RowProblem };

const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
const EMAIL_HEADERS = new Set(['email', 'mail', 'emailaddress', 'emailovaadresa']);
const ICO_HEADERS = new Set(['ico', 'ic', 'icocompany']);
const email = emailField();

/** One cell → an e-mail (validated strictly) or an IČO (digits, spaces allowed, left-padded to 8). */
export function classify(value: string, line: number, as?: 'email' | 'ico'): MemberRow {
  const v = value.trim();
  if (!v) return { line, kind: 'invalid', value: v, problem: 'empty' };
  if (as === 'email' || (!as && v.includes('@'))) {
    const parsed = email.safeParse(v);
    return parsed.success ? { line, kind: 'email', value: v, key: parsed.data } : { line, kind: 'invalid', value: v, problem: 'bad_email' };
  }
  const digits = v.replace(/\s+/g, '');
  if (/^\d{1,8}$/.test(digits)) return { line, kind: 'ico', value: v, key: digits.padStart(8, '0') };
  return { line, kind: 'invalid', value: v, problem: as === 'ico' || /^\d+$/.test(digits) ? 'bad_ico' : 'not_email_or_ico' };
}

const looksLikeKey = (cell: string) => cell.includes('@') || /^\d{1,8}$/.test(cell.replace(/\s+/g, ''));

/**
 * The rows of a member file. With a header row (a cell named e-mail or IČO), those columns are read: the
 * e-mail when present, else the IČO. Without one, each row's first cell that looks like an e-mail or IČO
 * is taken (so a one-column file just works), or its first non-empty cell, reported as not matching.
 */
export function readMemberRows(text: string): { rows: MemberRow[]; header: boolean } {
  const records = parseCsv(text);
  const first = records[0];
  let emailCol = -1;
  let icoCol = -1;
  if (first && !first.cells.some(looksLikeKey)) {
    first.cells.forEach((cell, i) => {
      const name = fold(cell);
      if (emailCol < 0 && EMAIL_HEADERS.has(name)) emailCol = i;
      if (icoCol < 0 && ICO_HEADERS.has(name)) icoCol = i;
    });
  }
  const header = emailCol >= 0 || icoCol >= 0;
  const rows: MemberRow[] = [];
  for (const record of header ? records.slice(1) : records) {
    const cells = record.cells.map((c) => c.trim());
    if (header) {
      const e = emailCol >= 0 ? (cells[emailCol] ?? '') : '';
      const i = icoCol >= 0 ? (cells[icoCol] ?? '') : '';
      rows.push(e ? classify(e, record.line, 'email') : classify(i, record.line, 'ico'));
    } else {
      const cell = cells.find(looksLikeKey) ?? cells.find((c) => c !== '') ?? '';
      rows.push(classify(cell, record.line));
    }
  }
  return { rows, header };
}
