/**
 * Reads a CSV file record by record, streaming (memory stays flat however large the file): bytes are
 * decoded in the detected encoding, line endings of any kind (CRLF, LF, lone CR, mixed) become LF, and
 * csv-parse splits records, honouring quotes, separators and line breaks inside quoted fields.
 */
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { parse, type CsvError, type Info } from 'csv-parse';
import type { Delimiter, Encoding } from './detect.ts';

export interface ReadOptions {
  encoding: Encoding;
  delimiter: Delimiter;
  /** A UTF-8 BOM opens the file: its three bytes are skipped whatever the encoding. */
  bom: boolean;
}

/** A record with the physical line it starts on (1-based; what a text editor shows). */
export interface CsvRecord {
  type: 'record';
  line: number;
  cells: string[];
}

/** A part of the file csv-parse could not read as a record (an unclosed quote, an absurdly long field). */
export interface BrokenRecord {
  type: 'broken';
  line: number;
  /** `unclosed`: the rest of the file from `line` on was swallowed by an open quote or a giant field. */
  reason: 'unclosed' | 'malformed';
}

export type ReadItem = CsvRecord | BrokenRecord;

/** A record longer than this many characters is not a row of an address book: an open quote ran away. */
const MAX_RECORD_CHARS = 1_000_000;

/** Decodes bytes to text and normalises every line ending to LF (a CR at a chunk's end waits for the next). */
class DecodeText extends Transform {
  private readonly decoder: TextDecoder;
  private pendingCr = false;

  constructor(encoding: Encoding) {
    super({ readableObjectMode: true });
    this.decoder = new TextDecoder(encoding);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.emitText(this.decoder.decode(chunk, { stream: true }), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.emitText(this.decoder.decode(), true);
    done();
  }

  private emitText(decoded: string, end: boolean): void {
    let text = this.pendingCr ? `\r${decoded}` : decoded;
    this.pendingCr = false;
    if (!end && text.endsWith('\r')) {
      this.pendingCr = true;
      text = text.slice(0, -1);
    }
    if (text) this.push(text.replace(/\r\n?/g, '\n'));
  }
}

/**
 * Yields every record of the file (the header included, as the first), and a `broken` item where the
 * file cannot be read as CSV. `progress` gets the bytes read so far.
 */
export async function* readRecords(
  filePath: string,
  options: ReadOptions,
  progress?: (bytesRead: number) => void,
): AsyncGenerator<ReadItem> {
  const file = createReadStream(filePath, { start: options.bom ? 3 : 0, highWaterMark: 256 * 1024 });
  const decode = new DecodeText(options.encoding);
  const parser = parse({
    delimiter: options.delimiter,
    record_delimiter: '\n',
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    info: true,
  });
  const skipped: BrokenRecord[] = [];
  let lastLine = 0;
  parser.on('skip', (error: CsvError) => {
    const reason = error.code === 'CSV_QUOTE_NOT_CLOSED' || error.code === 'CSV_MAX_RECORD_SIZE' ? 'unclosed' : 'malformed';
    skipped.push({ type: 'broken', line: lastLine + 1, reason });
  });
  file.on('error', (error) => parser.destroy(error));
  decode.on('error', (error) => parser.destroy(error));
  file.pipe(decode).pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      while (skipped.length) yield skipped.shift()!;
      // info.lines is the line a record ends on; it starts as many lines earlier as it holds line breaks.
      let breaks = 0;
      for (const cell of item.record) for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) breaks++;
      lastLine = item.info.lines;
      progress?.(file.bytesRead);
      yield { type: 'record', line: item.info.lines - breaks, cells: item.record };
    }
    while (skipped.length) yield skipped.shift()!;
    progress?.(file.bytesRead);
  } finally {
    file.destroy();
    decode.destroy();
    parser.destroy();
  }
}

/** The header (first record) and up to `rows` records after it, for the mapping step. */
export async function readHead(filePath: string, options: ReadOptions, rows = 10): Promise<{ header: string[]; records: CsvRecord[] }> {
  let header: string[] | null = null;
  const records: CsvRecord[] = [];
  for await (const item of readRecords(filePath, options)) {
    if (item.type !== 'record') continue;
    if (!header) header = item.cells;
    else records.push(item);
    if (records.length >= rows) break;
  }
  return { header: header ?? [], records };
}
