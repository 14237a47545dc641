import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { WebFirst } from './busy.ts';

function setUp() {
  const first = new WebFirst();
  const app = new Hono();
  app.use(first.middleware());
  return { app, requestsDone: (ms: number) => first.requestsDone(ms) };
}

/** A request being served until `finish()` (started, and counted, when this resolves). */
async function openRequest(app: Hono) {
  let finish!: () => void;
  app.get('/', async (c) => {
    await new Promise<void>((resolve) => (finish = resolve));
    return c.text('ok');
  });
  const response = app.request('/');
  await new Promise((r) => setTimeout(r, 5));
  return { response, finish: () => finish() };
}

describe('web requests first', () => {
  it('lets background work wait while a request is served, and go as soon as it is done', async () => {
    const { app, requestsDone } = setUp();
    let finish!: () => void;
    const handlerWaits = new Promise<void>((resolve) => (finish = resolve));
    app.get('/', async (c) => {
      await handlerWaits;
      return c.text('ok');
    });
    expect(await Promise.race([requestsDone(10_000).then(() => 'free'), new Promise((r) => setTimeout(() => r('waiting'), 20))])).toBe('free');

    const response = app.request('/');
    await new Promise((r) => setTimeout(r, 5));
    let waited = false;
    const background = requestsDone(10_000).then(() => (waited = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(waited).toBe(false);
    finish();
    expect((await response).status).toBe(200);
    await background;
    expect(waited).toBe(true);
  });

  it('never waits longer than it was told to, however long a request takes', async () => {
    const { app, requestsDone } = setUp();
    const { response, finish } = await openRequest(app);
    const started = Date.now();
    await requestsDone(40);
    expect(Date.now() - started).toBeLessThan(1000);
    finish();
    await response;
  });

  it('holds background work back for at most half of each second, however busy the pages are', async () => {
    const { app, requestsDone } = setUp();
    const { response, finish } = await openRequest(app);
    await requestsDone(600); // held back for the rest of this second's share (the request never ends)
    const next = await Promise.race([requestsDone(600).then(() => 'at once'), new Promise((r) => setTimeout(() => r('held'), 100))]);
    expect(next).toBe('at once');
    finish();
    await response;
  });
});
