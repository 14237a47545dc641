/**
 * End-to-end, issue 6 (first part): the communication list's search finds "Žluťoučký kůň" from
 * "zlutoucky kun" with the words marked, and a filter plus search is kept in the URL, so the same view
 * opens in a new tab, and can be saved as a named view. JavaScript on (htmx, as you type) and off (a plain GET form).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDraft } from '../messages/service.ts';
import { ADMIN, setUpAdmin, SYSTEM } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('the communication list in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;

  beforeAll(async () => {
    app = await startBrowserApp(js, 'hub-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    const draft = (subject: string, body: string) =>
      createDraft(app.t.db, app.t.store, SYSTEM, { subject, to: [{ address: 'jan@novak.cz' }], cc: [], bcc: [], bodyHtml: body, attachments: [] });
    await draft('Žluťoučký kůň na výstavě', '<p>Přijďte se podívat.</p>');
    await draft('Faktura 2026-0042', '<p>Žluťoučký obal zdarma.</p>');
    await draft('Pozvánka na veletrh', '<p>Zveme vás.</p>');
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('finds "Žluťoučký kůň" by "zlutoucky kun", with the words marked', async () => {
    await app.clickTo('header nav a[href="/messages"]', '/messages', page.locator('h1'));
    if (js) {
      await page.locator('#f-q').pressSequentially('zlutoucky kun', { delay: 20 });
      await page.waitForURL((url) => url.searchParams.get('q') === 'zlutoucky kun');
    } else {
      await page.fill('#f-q', 'zlutoucky kun');
      await Promise.all([page.waitForURL((url) => url.searchParams.get('q') === 'zlutoucky kun'), page.click('.search-row button[type=submit]')]);
    }
    await page.locator('#message-rows mark', { hasText: 'kůň' }).waitFor();
    const subjects = await page.locator('#message-rows tbody td.msg-subject > a:not(.edit)').allTextContents();
    expect(subjects).toEqual(['Žluťoučký kůň na výstavě']);
    await app.shot('search');
    app.expectNoProblems();
  });

  it('a filter plus a search is in the URL, and the URL opens the same view in a new tab', async () => {
    await page.goto(`${base}/messages`);
    await page.fill('#f-q', 'zlutoucky');
    await page.selectOption('select[name=status]', 'draft');
    if (!js) await Promise.all([page.waitForURL(/status=draft/), page.click('.search-row button[type=submit]')]);
    else await page.waitForURL((url) => url.searchParams.get('q') === 'zlutoucky' && url.searchParams.get('status') === 'draft');
    await expect.poll(() => page.locator('#message-rows tbody tr').count()).toBe(2);
    const url = page.url();
    const tab = await page.context().newPage();
    await tab.goto(url);
    expect(await tab.locator('#message-rows tbody td.msg-subject > a:not(.edit)').allTextContents()).toEqual(['Žluťoučký kůň na výstavě', 'Faktura 2026-0042']);
    expect(await tab.inputValue('#f-q')).toBe('zlutoucky');
    expect(await tab.locator('select[name=status]').inputValue()).toBe('draft');
    await tab.close();
    app.expectNoProblems();
  });

  it('saves the filtered view under a name and opens it again from the sidebar', async () => {
    // Continues from the filtered list of the previous step (search "zlutoucky", state draft).
    await page.fill('#view-name', 'Žluťoučké koncepty');
    await Promise.all([page.waitForURL(/status=draft/), page.click('.save-view button[type=submit]')]);
    await page.locator('#flash', { hasText: 'Pohled „Žluťoučké koncepty“ je uložen.' }).waitFor();
    const link = page.locator('#saved-views a', { hasText: 'Žluťoučké koncepty' });
    expect(await link.getAttribute('aria-current')).toBe('true');
    await app.shot('saved-view');
    // The page is already /messages (with a query), so wait for the plain list, not just the path.
    await Promise.all([page.waitForURL((url) => url.pathname === '/messages' && url.search === ''), page.click('header nav a[href="/messages"]')]);
    await expect.poll(() => page.locator('#message-rows tbody tr').count()).toBe(3);
    expect(await page.inputValue('#f-q')).toBe('');
    await app.clickTo('#saved-views a:has-text("Žluťoučké koncepty")', '/messages', page.locator('#saved-views [aria-current="true"]'));
    expect(await page.inputValue('#f-q')).toBe('zlutoucky');
    expect(await page.locator('#message-rows tbody td.msg-subject > a:not(.edit)').allTextContents()).toEqual(['Žluťoučký kůň na výstavě', 'Faktura 2026-0042']);
    app.expectNoProblems();
  });
});
