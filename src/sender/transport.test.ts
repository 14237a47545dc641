import { describe, expect, it } from 'vitest';
import { piecesOf } from './transport.ts';

describe('piecesOf', () => {
  it('joins small chunks and splits large ones into pieces of the given size, bytes in order', () => {
    const chunks = [Buffer.from('ab'), Buffer.from('c'), Buffer.from('defghij'), Buffer.alloc(0), Buffer.from('k')];
    const pieces = piecesOf(chunks, 4);
    expect(pieces.map((p) => p.toString())).toEqual(['abcd', 'efgh', 'ijk']);
  });

  it('hands a piece inside one chunk over as a view, without copying', () => {
    const big = Buffer.alloc(10, 1);
    const [first] = piecesOf([big], 4);
    expect(first!.buffer).toBe(big.buffer);
  });

  it('gives nothing for an empty message', () => {
    expect(piecesOf([Buffer.alloc(0)], 4)).toEqual([]);
  });
});
