import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from './csv.ts';

describe('csv output', () => {
  it('never lets a cell start a formula', () => {
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    for (const s of ['+1', '-2', '@SUM(A1)', '\tx', '\rx']) expect(csvCell(s).replace(/^"/, '')).toMatch(/^'/);
  });

  it('quotes separators, quotes and line breaks', () => {
    expect(csvLine(['Novák; s.r.o.', 'a "b"', 'x\ny', 12, null])).toBe('"Novák; s.r.o.";"a ""b""";"x\ny";12;\r\n');
  });
});
