/**
 * Shared set-up for browser tests: the real app on a fresh database, served on a free loopback port, and a
 * Chromium page (JavaScript on or off) that records every console error, page error, failed request and
 * request to another origin, so each step can assert that nothing went wrong.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import pino from 'pino';
import { startTestMailbox } from '../mail/test-mailbox.ts';
import { Sender } from '../sender/sender.ts';
import { createTestApp } from '../test-support/harness.ts';

export const SCREENSHOTS = path.resolve('.test-results/screenshots');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserApp {
  t: Awaited<ReturnType<typeof createTestApp>>;
  page: Page;
  base: string;
  mode: 'js' | 'nojs';
  /** Asserts nothing went wrong since the last check; `expected` lists problems a step causes on purpose. */
  expectNoProblems(expected?: RegExp[]): void;
  shot(step: string): Promise<unknown>;
  pathname(): string;
  /**
   * Clicks and waits until the page is at `target` and shows `arrived`. With JavaScript the click must be
   * handled by htmx (hx-boost) unless `boosted` is false: a marker set on `window` has to survive it.
   */
  clickTo(selector: string, target: string, arrived: Locator, boosted?: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * `sending`: also run what `npm start` runs for mail — the built-in test mailbox and the sending loop
 * (polling every 200 ms), so a test can send and see the result.
 */
export async function startBrowserApp(js: boolean, prefix = '', options: { sending?: boolean } = {}): Promise<BrowserApp> {
  const t = await createTestApp();
  const mailbox = options.sending ? await startTestMailbox({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), port: 0 }) : null;
  const sender = mailbox
    ? new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: { host: mailbox.host, port: mailbox.port }, idleMs: 200 })
    : null;
  sender?.start();
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ javaScriptEnabled: js, locale: 'cs-CZ' });
  const page = await context.newPage();
  let problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('requestfailed', (req) => {
    // A download (CSV export) aborts its navigation by design.
    if (req.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`requestfailed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('request', (req) => {
    if (!req.url().startsWith(`${base}/`) && !req.url().startsWith('data:')) problems.push(`foreign request: ${req.url()}`);
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const mode = js ? 'js' : 'nojs';
  const pathname = () => new URL(page.url()).pathname;

  return {
    t,
    page,
    base,
    mode,
    pathname,
    expectNoProblems(expected = []) {
      const unexpected = problems.filter((p) => !expected.some((re) => re.test(p)));
      problems = [];
      expect(unexpected).toEqual([]);
    },
    // caret: 'initial' because hiding the caret leaves `style=""` on inputs, which htmx then settles onto
    // swapped-in inputs of the same id: a CSP inline-style violation caused by the test, not the app.
    shot: (step) => page.screenshot({ path: path.join(SCREENSHOTS, `${prefix}${mode}-${step}.png`), fullPage: true, caret: 'initial' }),
    async clickTo(selector, target, arrived, boosted = true) {
      // Mark what is on screen now: when the page already has the target's path (a link that drops a
      // query), the URL test alone would pass before the new page arrives.
      if (js) await page.evaluate(() => {
        Object.assign(window, { e2eMarker: true });
        for (const el of document.body.children) el.setAttribute('data-e2e-stale', '');
      });
      await Promise.all([page.waitForURL((url) => url.pathname === target), page.click(selector)]);
      if (js) await page.locator('[data-e2e-stale]').first().waitFor({ state: 'detached' });
      await arrived.waitFor();
      expect(pathname()).toBe(target);
      if (js) expect(await page.evaluate(() => 'e2eMarker' in window), `${selector} boosted?`).toBe(boosted);
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sender?.stop();
      await mailbox?.close();
      await t.close();
    },
  };
}
