import { describe, expect, it } from 'vitest';
import { PartCache } from './parts.ts';

/** A `make` that counts its calls and returns `value`. */
function maker(value: string) {
  const calls = { n: 0 };
  return { calls, make: async () => (calls.n++, value) };
}
const size = (v: string) => v.length;

describe('PartCache', () => {
  it('does not keep a part only one message asked for', async () => {
    const cache = new PartCache(1024);
    const { calls, make } = maker('x'.repeat(100));
    expect(await cache.get('body:a', make, size)).toBe('x'.repeat(100));
    expect(calls.n).toBe(1);
    expect(cache.bytes).toBe(0);
  });

  it('keeps a part once a second message asks for it, and serves the third from memory', async () => {
    const cache = new PartCache(1024);
    const { calls, make } = maker('y'.repeat(100));
    await cache.get('file:b', make, size);
    await cache.get('file:b', make, size);
    expect(calls.n).toBe(2);
    expect(cache.bytes).toBeGreaterThanOrEqual(100);
    await cache.get('file:b', make, size);
    await cache.get('file:b', make, size);
    expect(calls.n).toBe(2);
  });

  it('encodes once for asks that come while it is being encoded, and keeps that part', async () => {
    const cache = new PartCache(1024);
    const { calls, make } = maker('z'.repeat(50));
    const all = await Promise.all([1, 2, 3].map(() => cache.get('body:c', make, size)));
    expect(all.every((v) => v === 'z'.repeat(50))).toBe(true);
    expect(calls.n).toBe(1);
    await cache.get('body:c', make, size);
    expect(calls.n).toBe(1);
  });

  it('drops the least recently used parts beyond its size, and never keeps one over a quarter of it', async () => {
    const cache = new PartCache(1000);
    const twice = async (key: string, value: string) => {
      await cache.get(key, async () => value, size);
      await cache.get(key, async () => value, size);
    };
    await twice('k1', 'a'.repeat(200));
    await twice('k2', 'b'.repeat(200));
    await twice('k3', 'c'.repeat(200));
    await twice('k4', 'd'.repeat(200));
    await twice('k5', 'e'.repeat(200)); // over 1000 bytes with the keys: k1 goes
    expect(cache.bytes).toBeLessThanOrEqual(1000);
    const k1 = maker('a'.repeat(200));
    await cache.get('k1', k1.make, size);
    expect(k1.calls.n).toBe(1);
    const k5 = maker('e'.repeat(200));
    await cache.get('k5', k5.make, size);
    expect(k5.calls.n).toBe(0);
    const big = maker('f'.repeat(300));
    await cache.get('big', big.make, size);
    await cache.get('big', big.make, size);
    await cache.get('big', big.make, size);
    expect(big.calls.n).toBe(3);
  });
});
