/**
 * CSV output for spreadsheet users (Czech Excel): UTF-8 with BOM, `;` separator, CRLF. A cell that a
 * spreadsheet would run as a formula (starting with = + - @, tab or CR) is prefixed with an apostrophe,
 * so an exported `=HYPERLINK(...)` shows as text.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = Array.isArray(value) ? value.join(', ') : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[";\r\n,]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: unknown[]): string {
  return `${values.map(csvCell).join(';')}\r\n`;
}

/** A streamed CSV download: the header row, then every row `rows` yields. */
export function csvResponse(filename: string, header: string[], rows: AsyncIterable<unknown[]>): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        controller.enqueue(encoder.encode(`\uFEFF${csvLine(header)}`));
        let chunk = '';
        for await (const row of rows) {
          chunk += csvLine(row);
          if (chunk.length > 64 * 1024) {
            controller.enqueue(encoder.encode(chunk));
            chunk = '';
          }
        }
        if (chunk) controller.enqueue(encoder.encode(chunk));
        controller.close();
      } catch (error) {
        controller.error(error);
      }
    },
  });
  const safeName = filename.replace(/[^\w.-]/g, '_');
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${safeName}"`,
      'Cache-Control': 'no-store',
    },
  });
}
