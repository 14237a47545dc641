import * as qp from 'nodemailer/lib/qp';
import { describe, expect, it } from 'vitest';
import { prng } from '../seed/demo.ts';
import { quotedPrintable, wrapQuotedPrintable } from './qp.ts';

/** Pieces the generated inputs are made of: Czech words, escapes' neighbours, whitespace, line ends. */
const PIECES = ['Žluťoučký', 'kůň', 'úpěl', 'ďábelské', 'ódy', 'a', 'text', '=', '?', '.', ',', '!', ' ', '  ', '\t', '\n', '\r\n', '\r', '😀', 'x'.repeat(90), 'www.firma.cz/objednavka?id=42', '€', 'ABCDEF', '=3D', 'ß'];

function generated(seed: number): string {
  const r = prng(seed);
  const parts: string[] = [];
  const length = Math.floor(r() * 400);
  for (let i = 0; i < length; i++) parts.push(PIECES[Math.floor(r() * PIECES.length)]!);
  return parts.join(r() < 0.5 ? '' : ' ');
}

describe('quoted-printable', () => {
  it('places soft line breaks exactly where nodemailer does, on 3,000 generated inputs', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const encoded = qp.encode(Buffer.from(generated(seed), 'utf8'));
      expect(wrapQuotedPrintable(encoded), `input #${seed}`).toBe(qp.wrap(encoded, 76));
    }
  });

  it('wraps runs of escapes, long words and hard line breaks as nodemailer does', () => {
    for (const text of ['ř'.repeat(300), '😀'.repeat(100), `${'y'.repeat(75)}=`, `${'z'.repeat(74)}\r\n${'z'.repeat(200)}`, `${'w'.repeat(70)}\n${'v'.repeat(100)}`, 'a\rb\r'.repeat(60)]) {
      const encoded = qp.encode(Buffer.from(text, 'utf8'));
      expect(wrapQuotedPrintable(encoded)).toBe(qp.wrap(encoded, 76));
    }
  });

  it('encodes a body into lines of at most 76 characters that decode back to it', () => {
    const text = `${'Dobrý den, Žluťoučký kůň úpěl ďábelské ódy. '.repeat(2000)}   `;
    const encoded = quotedPrintable(Buffer.from(text, 'utf8')).toString('latin1');
    expect(Math.max(...encoded.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
    expect(Buffer.from(encoded.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')).toBe(text);
  });
});
