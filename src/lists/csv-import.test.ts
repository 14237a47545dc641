import { describe, expect, it } from 'vitest';
import { decodeText, detectSeparator, parseCsv, readMemberRows } from './csv-import.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('member file reading', () => {
  it('decodes UTF-8 with and without BOM, and falls back to Windows-1250', () => {
    expect(decodeText(utf8('\uFEFFŽluťoučký')).ok && (decodeText(utf8('\uFEFFŽluťoučký')) as { text: string }).text).toBe('Žluťoučký');
    expect(decodeText(utf8('Žluťoučký'))).toMatchObject({ ok: true, text: 'Žluťoučký', encoding: 'utf-8' });
    // "Žluťoučký kůň" in Windows-1250
    const cp1250 = Uint8Array.from([0x8e, 0x6c, 0x75, 0x9d, 0x6f, 0x75, 0xe8, 0x6b, 0xfd, 0x20, 0x6b, 0xf9, 0xf2]);
    expect(decodeText(cp1250)).toMatchObject({ ok: true, text: 'Žluťoučký kůň', encoding: 'windows-1250' });
  });

  it('refuses binary files and recognises an Excel workbook', () => {
    expect(decodeText(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]))).toEqual({ ok: false, problem: 'binary' });
    expect(decodeText(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0]))).toEqual({ ok: false, problem: 'spreadsheet' });
    const noise = Uint8Array.from({ length: 4000 }, (_, i) => ((i * 7919) % 251) + 1);
    expect(decodeText(noise)).toEqual({ ok: false, problem: 'binary' });
    expect(decodeText(new Uint8Array())).toEqual({ ok: false, problem: 'empty' });
    expect(decodeText(utf8(' \r\n '))).toEqual({ ok: false, problem: 'empty' });
  });

  it('detects the separator outside quotes', () => {
    expect(detectSeparator('"a;b",c,d\n')).toBe(',');
    expect(detectSeparator('jméno;email\r\n')).toBe(';');
    expect(detectSeparator('jen@email.cz\n')).toBe(';');
  });

  it('parses quoted cells with separators, doubled quotes and line breaks, keeping line numbers', () => {
    const rows = parseCsv('"Novák; ""Stavby"" s.r.o.";a@b.cz\r\n"dva\r\nřádky";c@d.cz\r\n\r\nposlední;e@f.cz', ';');
    expect(rows).toEqual([
      { line: 1, cells: ['Novák; "Stavby" s.r.o.', 'a@b.cz'] },
      { line: 2, cells: ['dva\r\nřádky', 'c@d.cz'] },
      { line: 5, cells: ['poslední', 'e@f.cz'] },
    ]);
  });

  it('reads a one-column file of e-mails and IČOs without a header', () => {
    const { rows, header } = readMemberRows('Jana@Firma.cz\n01234567\n1234567\nnesmysl\n');
    expect(header).toBe(false);
    expect(rows).toEqual([
      { line: 1, kind: 'email', value: 'Jana@Firma.cz', key: 'jana@firma.cz' },
      { line: 2, kind: 'ico', value: '01234567', key: '01234567' },
      { line: 3, kind: 'ico', value: '1234567', key: '01234567' },
      { line: 4, kind: 'invalid', value: 'nesmysl', problem: 'not_email_or_ico' },
    ]);
  });

  it('reads the named columns of a table with a header row', () => {
    const { rows, header } = readMemberRows('Název;IČO;E-mail\nStavby;12345678;\nNovák;;jan@novak.cz\nPrázdný;;\nŠpatný;;jan@@novak\n');
    expect(header).toBe(true);
    expect(rows.map((r) => (r.kind === 'invalid' ? `${r.line}:${r.problem}` : `${r.line}:${r.kind}:${r.key}`))).toEqual([
      '2:ico:12345678',
      '3:email:jan@novak.cz',
      '4:empty',
      '5:bad_email',
    ]);
  });
});
