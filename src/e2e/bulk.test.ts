/**
 * End-to-end, issue 6 (items 2 and 3): three messages queued for later are selected in the communication
 * list and cancelled in one go ("3 zrušeno", their rows say so); a draft's subject is edited in its row.
 * JavaScript on (htmx: the filter swaps the rows, "select all" ticks the page, the row turns into a form)
 * and off (plain forms: boxes ticked one by one, the edit on a page of its own).
 */
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toLocalInput } from '../activities/time.ts';
import { messages } from '../db/schema/index.ts';
import { createDraft } from '../messages/service.ts';
import { ADMIN, setUpAdmin, SYSTEM } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('bulk actions and inline editing in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  const queued: number[] = [];
  let draftId: number;

  const draft = (subject: string, address: string) =>
    createDraft(app.t.db, app.t.store, SYSTEM, { subject, to: [{ address }], cc: [], bcc: [], bodyHtml: `<p>${subject}</p>`, attachments: [] });

  beforeAll(async () => {
    app = await startBrowserApp(js, 'bulk-', { sending: true });
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    for (const [subject, address] of [
      ['Pozvánka na veletrh', 'jan@novak.cz'],
      ['Faktura 2026-0042', 'eva@dvorakova.cz'],
      ['Připomínka schůzky', 'petr@svoboda.cz'],
    ]) queued.push(await draft(subject!, address!));
    draftId = await draft('Nabídka pečiva', 'info@pekarna.cz');
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('queues three messages for later, selects them in /messages and cancels them: "3 zrušeno"', async () => {
    const later = toLocalInput(new Date(Date.now() + 2 * 86_400_000), app.t.config.TIMEZONE);
    for (const id of queued) {
      await page.goto(`${base}/messages/${id}`);
      await page.check('.send-form input[name=when][value=later]');
      await page.fill('#f-send-at', later);
      await Promise.all([page.waitForURL(`${base}/messages/${id}`), page.click('.send-form button[type=submit]')]);
      await page.locator('.flash-success').waitFor();
    }
    await app.clickTo('header nav a[href="/messages"]', '/messages', page.locator('#messages-bulk'));
    if (js) {
      // The filter swaps the rows (and the bulk bar with its hidden filter); "select all" ticks the page.
      await page.selectOption('.message-filters select[name=status]', 'queued');
      await page.waitForURL((url) => url.searchParams.get('status') === 'queued');
      await expect.poll(() => page.locator('#message-rows tbody tr').count()).toBe(3);
      await page.check('#message-rows th.check input[data-select-all]');
      await page.locator('#bulk-count', { hasText: '3' }).waitFor();
    } else {
      for (const id of queued) await page.check(`#message-rows input[name=ids][value="${id}"]`);
    }
    for (const id of queued) expect(await page.isChecked(`#message-rows input[name=ids][value="${id}"]`)).toBe(true);
    await page.selectOption('#messages-bulk select[name=action]', 'cancel');
    await app.shot('selection');
    await Promise.all([page.waitForURL((url) => url.pathname === '/messages'), page.click('#messages-bulk button[type=submit]')]);
    await expect.poll(() => page.locator('.flash-success').textContent()).toBe('3 zrušeno.');
    // Back on the list as it was (with JavaScript: filtered to queued ones, which these no longer are).
    if (js) expect(await page.locator(queued.map((id) => `#msg-${id}`).join(', ')).count()).toBe(0);
    await page.goto(`${base}/messages`);
    for (const id of queued) expect(await page.locator(`#msg-${id} .msg-status`).textContent()).toBe('zrušeno');
    const states = await app.t.db.select({ s: messages.status }).from(messages).where(inArray(messages.id, queued));
    expect(states.map((r) => r.s)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await app.shot('cancelled');
    app.expectNoProblems();
  });

  it('runs a large selection ("all matching") in the background with a progress page, then the summary', async () => {
    const blob = await app.t.store.putBlob('<p>Hromadná</p>');
    await app.t.db.insert(messages).values(
      Array.from({ length: 1200 }, (_, i) => ({
        status: 'queued',
        messageIdHeader: `<e2e-bulk-${i}@posel.test>`,
        subject: `Hromadné oznámení ${i}`,
        toAddrs: [{ address: `k${i}@firma.cz` }],
        recipients: `k${i}@firma.cz`,
        bodyBlob: blob,
        sendAt: new Date(Date.now() + 86_400_000),
      })),
    );
    await page.goto(`${base}/messages?status=queued`);
    if (js) await page.locator('#bulk-count', { hasText: /1\s200/ }).waitFor();
    await page.check('#messages-bulk input[name=scope][value=all]');
    await page.selectOption('#messages-bulk select[name=action]', 'cancel');
    await Promise.all([page.waitForURL((url) => url.pathname.startsWith('/messages/bulk/jobs/')), page.click('#messages-bulk button[type=submit]')]);
    await page.locator('#bulk-job').waitFor();
    await app.shot('job');
    // With JavaScript the fragment polls itself; without, the page refreshes itself (and has a link to do so).
    await page.locator('#bulk-job .flash-success', { hasText: /^1\s200 zrušeno\.$/ }).waitFor({ timeout: 60_000 });
    await app.shot('job-done');
    const [left] = await app.t.db.select({ n: sql<number>`count(*)::int` }).from(messages).where(eq(messages.status, 'queued'));
    expect(left!.n).toBe(0);
    app.expectNoProblems();
  });

  it("edits a draft's subject in its row", async () => {
    await page.goto(`${base}/messages?status=draft`);
    const row = page.locator(`#msg-${draftId}`);
    if (js) {
      await page.evaluate(() => Object.assign(window, { e2eMarker: true }));
      await row.locator('a.edit').click();
      await page.locator(`#inline-${draftId}-subject`).waitFor();
      await app.shot('inline-edit');
      await page.fill(`#inline-${draftId}-subject`, 'Nabídka pečiva na prosinec');
      await page.click(`#inline-${draftId} button[type=submit]`);
      await page.locator(`#msg-${draftId} td.msg-subject > a`, { hasText: 'Nabídka pečiva na prosinec' }).waitFor();
      // Swapped in place: no page load, the list's URL kept.
      expect(await page.evaluate(() => 'e2eMarker' in window)).toBe(true);
      expect(app.pathname()).toBe('/messages');
    } else {
      await Promise.all([page.waitForURL((url) => url.pathname === `/messages/${draftId}/inline`), row.locator('a.edit').click()]);
      await app.shot('inline-edit');
      await page.fill(`#inline-${draftId}-subject`, 'Nabídka pečiva na prosinec');
      await Promise.all([page.waitForURL((url) => url.pathname === '/messages'), page.click(`#inline-${draftId} button[type=submit]`)]);
      expect(await page.locator('.flash-success').textContent()).toBe('Koncept „Nabídka pečiva na prosinec“ byl uložen.');
      await page.locator(`#msg-${draftId} td.msg-subject > a`, { hasText: 'Nabídka pečiva na prosinec' }).waitFor();
    }
    const [saved] = await app.t.db.select({ subject: messages.subject }).from(messages).where(eq(messages.id, draftId));
    expect(saved!.subject).toBe('Nabídka pečiva na prosinec');
    app.expectNoProblems();
  });
});
