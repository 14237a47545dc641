import { describe, expect, it } from 'vitest';
import { EncoderPool } from './encoder.ts';
import { encodeBody } from './mime.ts';

const bodies = [
  '<p>Dobrý den, <strong>Jano Nováková</strong>,</p><p>Žluťoučký kůň úpěl ďábelské ódy.</p><table><tr><td>Šroub</td><td>4 ks</td></tr></table>',
  `<p>${'dlouhý řádek a=b, '.repeat(300)}</p>`,
  '<p>Plain ASCII.</p>',
];

describe('EncoderPool', () => {
  it('encodes bodies on a worker thread to the same bytes as encoding them here', async () => {
    const pool = new EncoderPool({ size: 2 });
    try {
      const results = await Promise.all([...bodies, ...bodies, ...bodies].map((html) => pool.encode(html)));
      expect(pool.threaded).toBe(true);
      for (const [i, got] of results.entries()) {
        const here = (await encodeBody(bodies[i % bodies.length]!))!;
        expect(got!.text.equals(here.text)).toBe(true);
        expect(got!.html.equals(here.html)).toBe(true);
      }
      expect(await pool.encode('')).toBeNull();
    } finally {
      await pool.close();
    }
  });

  it('encodes here when its worker cannot start, and loses no job', async () => {
    const pool = new EncoderPool({ size: 1, workerFile: new URL('./no-such-worker.ts', import.meta.url) });
    const results = await Promise.all(bodies.map((html) => pool.encode(html)));
    expect(pool.threaded).toBe(false);
    for (const [i, got] of results.entries()) expect(got!.html.equals((await encodeBody(bodies[i]!))!.html)).toBe(true);
    // Later jobs go straight to this thread.
    expect((await pool.encode(bodies[0]!))!.text.equals((await encodeBody(bodies[0]!))!.text)).toBe(true);
    await pool.close();
  });

  it('can start its workers before the first body', async () => {
    const pool = new EncoderPool({ size: 2 });
    pool.warm();
    expect((await pool.encode(bodies[0]!))!.html.equals((await encodeBody(bodies[0]!))!.html)).toBe(true);
    expect(pool.threaded).toBe(true);
    await pool.close();
  });

  it('still encodes after it was closed (on this thread)', async () => {
    const pool = new EncoderPool({ size: 1 });
    await pool.encode(bodies[0]!);
    await pool.close();
    expect(pool.threaded).toBe(false);
    expect((await pool.encode(bodies[2]!))!.html.equals((await encodeBody(bodies[2]!))!.html)).toBe(true);
  });
});
