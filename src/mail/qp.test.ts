import * as qp from 'nodemailer/lib/qp';
import { describe, expect, it } from 'vitest';
import { prng } from '../seed/demo.ts';
import { quotedPrintable } from './qp.ts';

/** Pieces the generated inputs are made of: Czech words, escapes' neighbours, whitespace, line ends. */
const PIECES = ['Žluťoučký', 'kůň', 'úpěl', 'ďábelské', 'ódy', 'a', 'text', '=', '?', '.', ',', '!', ' ', '  ', '\t', '\n', '\r\n', '\r', '😀', 'x'.repeat(90), 'www.firma.cz/objednavka?id=42', '€', 'ABCDEF', '=3D', 'ß'];

function generated(seed: number): string {
  const r = prng(seed);
  const parts: string[] = [];
  const length = Math.floor(r() * 400);
  for (let i = 0; i < length; i++) parts.push(PIECES[Math.floor(r() * PIECES.length)]!);
  return parts.join(r() < 0.5 ? '' : ' ');
}

/** Quoted-printable decoded (soft breaks joined, escapes turned back into bytes). */
const decode = (encoded: string) =>
  Buffer.from(encoded.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');

/** Lines as a reader's decoder splits them (CRLF or LF; a CR alone is a character). */
const linesOf = (encoded: string) => encoded.split(/\r?\n/);

describe('quoted-printable', () => {
  it('writes the escapes nodemailer writes, in lines of at most 76 characters that decode back, on 3,000 generated inputs', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const bytes = Buffer.from(generated(seed), 'utf8');
      const encoded = quotedPrintable(bytes).toString('latin1');
      expect(encoded.replace(/=\r\n/g, ''), `input #${seed}`).toBe(qp.encode(bytes));
      expect(Math.max(0, ...linesOf(encoded).map((l) => l.length)), `input #${seed}`).toBeLessThanOrEqual(76);
      expect(decode(encoded).equals(bytes), `input #${seed}`).toBe(true);
    }
  });

  it('never splits an escape or the escapes of one character, and breaks runs of escapes and long words', () => {
    for (const text of ['ř'.repeat(300), '😀'.repeat(100), `${'y'.repeat(75)}=`, `${'z'.repeat(74)}\r\n${'z'.repeat(200)}`, `${'w'.repeat(70)}\n${'v'.repeat(100)}`, 'a\rb\r'.repeat(60)]) {
      const encoded = quotedPrintable(Buffer.from(text, 'utf8')).toString('latin1');
      for (const line of linesOf(encoded)) {
        expect(line.length).toBeLessThanOrEqual(76);
        // Each line holds whole escapes, and whole characters: no line starts with a UTF-8 continuation byte.
        expect(line.replace(/=$/, '')).toMatch(/^(?:[^=]|=[0-9A-F]{2})*$/);
        expect(line).not.toMatch(/^=[89AB][0-9A-F]/);
      }
      expect(decode(encoded).toString('utf8')).toBe(text);
    }
  });

  it('escapes a space or tab at the end of a line and at the very end', () => {
    expect(quotedPrintable(Buffer.from('a \r\nb\t\nc ')).toString('latin1')).toBe('a=20\r\nb=09\nc=20');
  });

  it('encodes a body into lines of at most 76 characters that decode back to it', () => {
    const text = `${'Dobrý den, Žluťoučký kůň úpěl ďábelské ódy. '.repeat(2000)}   `;
    const encoded = quotedPrintable(Buffer.from(text, 'utf8')).toString('latin1');
    expect(Math.max(...encoded.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
    expect(decode(encoded).toString('utf8')).toBe(text);
  });
});
