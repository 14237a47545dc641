/**
 * End-to-end: the action log in real Chromium, with JavaScript on and off. A search without diacritics plus
 * a filter narrows the log and the URL reproduces the view in a new tab; "older" keeps the filter; the
 * filtered log is exported as CSV; the chain check shows its result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../audit/queries.ts';
import { ADMIN, SYSTEM, setUpAdmin } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('action log in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  beforeAll(async () => {
    app = await startBrowserApp(js, 'audit-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    await recordAudit(app.t.db, SYSTEM, { action: 'client.created', objectType: 'client', objectId: 1, summary: 'Žluťoučký kůň s.r.o.' });
    await recordAudit(app.t.db, SYSTEM, { action: 'client.updated', objectType: 'client', objectId: 1, summary: 'Žluťoučký kůň: nová adresa' });
    await recordAudit(app.t.db, SYSTEM, { action: 'message.failed', objectType: 'message', objectId: 3, summary: 'Žluťoučký kůň: mailbox full', result: 'failed' });
    for (let i = 0; i < 55; i++) await recordAudit(app.t.db, SYSTEM, { action: 'client.updated', summary: `Hromadná úprava ${i}` });
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('narrows the log by a search without diacritics plus a filter, and the URL reproduces it', async () => {
    await app.clickTo('header nav a[href="/audit"]', '/audit', page.locator('h1', { hasText: 'Log akcí' }));
    await page.fill('#f-q', 'zlutoucky ku');
    if (!js) await page.click('form[role=search] button[type=submit]');
    await expect.poll(() => page.locator('#rows tbody tr').count()).toBe(3);
    await page.selectOption('#f-action', { label: 'Úprava klienta' });
    if (!js) await page.click('form[role=search] button[type=submit]');
    await expect.poll(() => page.locator('#rows tbody tr').count()).toBe(1);
    expect(await page.locator('#rows tbody tr').innerText()).toContain('nová adresa');
    const url = new URL(page.url());
    expect(url.searchParams.get('q')).toBe('zlutoucky ku');
    expect(url.searchParams.get('action')).toBe('client.updated');
    await app.shot('filtered');

    const tab = await page.context().newPage();
    await tab.goto(page.url());
    expect(await tab.locator('#rows tbody tr').count()).toBe(1);
    expect(await tab.inputValue('#f-q')).toBe('zlutoucky ku');
    await tab.close();
    app.expectNoProblems();
  });

  it('exports the filtered log as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rows a[href^="/audit/export"]')]);
    const chunks: Buffer[] = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('Žluťoučký kůň: nová adresa');
    app.expectNoProblems();
  });

  it('pages to older entries keeping the filter', async () => {
    await page.goto(`${base}/audit?action=client.updated`);
    expect(await page.locator('#rows tbody tr').count()).toBe(50);
    await page.click('#rows a[rel=next]');
    await expect.poll(() => page.locator('#rows tbody tr').count()).toBe(6);
    expect(new URL(page.url()).searchParams.get('action')).toBe('client.updated');
    app.expectNoProblems();
  });

  it('ignores a bad filter value with a message', async () => {
    await page.goto(`${base}/audit?result=exploded&from=2026-02-31`);
    await page.locator('.flash', { hasText: 'ignorována: Od, Výsledek' }).waitFor();
    await app.shot('ignored');
    app.expectNoProblems();
  });

  it('checks the chain and shows the result', async () => {
    await page.goto(`${base}/audit?result=failed`);
    await page.click('form[action="/audit/verify"] button');
    await page.locator('.flash', { hasText: 'Řetězec je neporušený' }).waitFor();
    if (!js) expect(new URL(page.url()).searchParams.get('result')).toBe('failed');
    await app.shot('verified');
    app.expectNoProblems();
  });
});
