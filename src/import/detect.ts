/**
 * What kind of file was uploaded, learnt from its bytes as they stream past (no second read):
 * text or not, UTF-8 (with or without BOM) or else Windows-1250, and which separator its header line uses.
 */
import { createReadStream } from 'node:fs';

export type Encoding = 'utf-8' | 'windows-1250';
export type Delimiter = ';' | ',' | '\t';
export const ENCODINGS: readonly Encoding[] = ['utf-8', 'windows-1250'];
export const DELIMITERS: readonly Delimiter[] = [';', ',', '\t'];

/** Why a file is not a CSV we can read; each has its own message (`import.error.<reason>`). */
export type NotText = 'xlsx' | 'xls' | 'pdf' | 'utf16' | 'binary';

export interface ScanResult {
  bytes: number;
  encoding: Encoding;
  /** A UTF-8 byte-order mark opens the file (Excel's "CSV UTF-8"). */
  bom: boolean;
  /** Set when the file is not text. */
  notText: NotText | null;
  /** The first bytes, for the header and the separator. */
  head: Buffer;
}

const HEAD_BYTES = 64 * 1024;

/**
 * Feeds on the upload's chunks. UTF-8 validity is checked over the whole file with a streaming, fatal
 * decoder (a Windows-1250 "ž" late in a file must still switch the encoding); NUL bytes anywhere, or
 * many control characters in the head, mean a binary file.
 */
export class ByteScanner {
  private bytes = 0;
  private readonly headChunks: Buffer[] = [];
  private headLength = 0;
  private utf8: TextDecoder | null = new TextDecoder('utf-8', { fatal: true });
  private nul = false;

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.headLength < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headLength);
      this.headChunks.push(Buffer.from(part));
      this.headLength += part.length;
    }
    if (!this.nul && chunk.includes(0)) this.nul = true;
    if (this.utf8) {
      try {
        this.utf8.decode(chunk, { stream: true });
      } catch {
        this.utf8 = null;
      }
    }
  }

  result(): ScanResult {
    if (this.utf8) {
      try {
        this.utf8.decode(); // an incomplete sequence at the very end is not UTF-8 either
      } catch {
        this.utf8 = null;
      }
    }
    const head = Buffer.concat(this.headChunks);
    const bom = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
    return { bytes: this.bytes, encoding: this.utf8 ? 'utf-8' : 'windows-1250', bom, notText: this.notText(head), head };
  }

  private notText(head: Buffer): NotText | null {
    if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'xlsx';
    if (head.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) return 'xls';
    if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
    if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return 'utf16';
    if (this.nul) return 'binary';
    // Text has tabs and line breaks but hardly any other control characters.
    let control = 0;
    for (const byte of head) if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) control++;
    return control > Math.max(2, head.length / 100) ? 'binary' : null;
  }
}

/** Scans a file already on disk (the benchmark, and a re-check after a restart). */
export async function scanFile(filePath: string): Promise<ScanResult> {
  const scanner = new ByteScanner();
  for await (const chunk of createReadStream(filePath, { highWaterMark: 256 * 1024 })) scanner.push(chunk as Buffer);
  return scanner.result();
}

/** Decodes the head of the file (an incomplete character at the cut is dropped), without the BOM. */
export function decodeHead(scan: ScanResult, encoding: Encoding = scan.encoding): string {
  const text = new TextDecoder(encoding).decode(scan.head, { stream: true });
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The separator of the header line: the one of `;` `,` TAB that occurs most often outside quotes; on a
 * tie, the one whose count repeats on the next lines; then `;` (what Czech Excel writes).
 */
export function sniffDelimiter(text: string): Delimiter {
  const lines = splitLogicalLines(text, 6);
  const counts = lines.map((line) => countOutsideQuotes(line));
  const header = counts[0] ?? { ';': 0, ',': 0, '\t': 0 };
  const score = (d: Delimiter) => header[d] * 10 + counts.slice(1).filter((c) => c[d] === header[d] && c[d] > 0).length;
  let best: Delimiter = ';';
  for (const d of DELIMITERS) if (score(d) > score(best)) best = d;
  return best;
}

/** Up to `max` lines, not splitting inside a quoted field. */
function splitLogicalLines(text: string, max: number): string[] {
  const lines: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length && lines.length < max; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) {
      lines.push(text.slice(start, i));
      if (ch === '\r' && text[i + 1] === '\n') i++;
      start = i + 1;
    }
  }
  if (lines.length < max && start < text.length) lines.push(text.slice(start));
  return lines.filter((l) => l.trim() !== '');
}

function countOutsideQuotes(line: string): Record<Delimiter, number> {
  const counts: Record<Delimiter, number> = { ';': 0, ',': 0, '\t': 0 };
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ';' || ch === ',' || ch === '\t')) counts[ch]++;
  }
  return counts;
}
