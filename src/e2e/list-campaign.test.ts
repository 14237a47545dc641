/**
 * End-to-end, issue 7: a campaign over a marketing list in real Chromium, JavaScript on and off — the wizard
 * from the list's page, scheduled, paused and resumed from its page, found in the history; then a recipient
 * unsubscribes by the one-click POST (RFC 8058) their mail carries, and the client's page shows the flag.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, listMembers, marketingLists, messages, templates } from '../db/schema/index.ts';
import { ADMIN, setUpAdmin } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('a campaign over a marketing list, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  let listId = 0;
  let campaignId = 0;
  const memberIds: number[] = [];
  beforeAll(async () => {
    app = await startBrowserApp(js, 'list-campaign-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    const made = await app.t.db
      .insert(clients)
      .values(['Alena Malá', 'Bohumil Velký', 'Cecílie Nová', 'David Starý'].map((name, i) => ({ name, kind: 'person', email: `clen${i + 1}@seznam-test.cz` })))
      .returning({ id: clients.id });
    memberIds.push(...made.map((m) => m.id));
    const [list] = await app.t.db.insert(marketingLists).values({ name: 'Jarní akce' }).returning({ id: marketingLists.id });
    listId = list!.id;
    await app.t.db.insert(listMembers).values(memberIds.map((clientId) => ({ listId, clientId })));
    await app.t.db.insert(templates).values({ name: 'Jarní nabídka', purpose: 'list', subject: 'Jaro v seznamu {{list.name}}', bodyHtml: '<p>Dobrý den, {{client.name}},</p><p>jarní slevy jsou tu.</p>' });
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('runs the wizard from the list, schedules the campaign, pauses and resumes it', async () => {
    await page.goto(`${base}/lists/${listId}`);
    await Promise.all([page.waitForURL(/\/campaigns\/\d+\/message$/), page.click(`form[action="/campaigns/from-list/${listId}"] button`)]);
    campaignId = Number(/\/campaigns\/(\d+)\//.exec(page.url())![1]);
    await page.selectOption('#f-template', { label: 'Jarní nabídka' });
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/message`), page.click('button[value=load]')]);
    await expect.poll(() => page.inputValue('#f-subject')).toBe('Jaro v seznamu {{list.name}}');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/recipients`), page.click('button[value=next]')]);
    expect(await page.locator('#valid-count').innerText()).toBe('4');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/generate`), page.click('form[action$="/generate"] button.primary')]);
    const review = page.locator('#campaign-progress a', { hasText: 'Zkontrolovat zprávy' });
    await review.waitFor({ timeout: 15_000 });
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/review`), review.click()]);
    await page.goto(`${base}/campaigns/${campaignId}/send`);
    await page.check('input[name=when][value=later]');
    await page.fill('#f-at', '2099-04-01T09:00');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}`), page.click('form.campaign-send button.primary')]);
    expect(await page.locator('#campaign-status').innerText()).toBe('Odesílá se');

    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}`), page.click(`form[action="/campaigns/${campaignId}/pause"] button`)]);
    await page.locator('.flash', { hasText: 'Akce je pozastavena.' }).waitFor();
    expect(await page.locator('#campaign-status').innerText()).toBe('Pozastaveno');
    await app.shot('paused');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}`), page.click(`form[action="/campaigns/${campaignId}/resume"] button`)]);
    await page.locator('.flash', { hasText: 'Akce pokračuje.' }).waitFor();
    expect(await page.locator('#campaign-status').innerText()).toBe('Odesílá se');

    await page.goto(`${base}/campaigns`);
    const row = page.locator('table.campaigns tbody tr').first();
    expect(await row.innerText()).toContain('Jarní akce');
    expect(await row.innerText()).toContain('Odesílá se');
    await app.shot('history');
    app.expectNoProblems();
  });

  it('a recipient unsubscribes with the one-click POST their mail carries; the flag shows on their page and their mail is cancelled', async () => {
    const [mail] = await app.t.db.select().from(messages).where(eq(messages.clientId, memberIds[1]!));
    expect(mail!.status).toBe('queued');
    expect(mail!.unsubscribeUrl).toMatch(/\/unsubscribe\/[\w-]+\.[\w-]{22}$/);
    // The mail program posts to the link in the List-Unsubscribe header, from its own servers.
    const token = mail!.unsubscribeUrl!.split('/unsubscribe/')[1]!;
    const res = await fetch(`${base}/unsubscribe/${token}`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://mail.example.net' },
    });
    expect(res.status).toBe(200);
    await page.goto(`${base}/clients/${memberIds[1]}`);
    await page.locator('h1 .badge', { hasText: 'bez marketingu' }).waitFor();
    expect(await page.locator('main').innerText()).toContain(`unsubscribe: one-click (campaign ${campaignId})`);
    const [after] = await app.t.db.select({ status: messages.status }).from(messages).where(eq(messages.id, mail!.id));
    expect(after!.status).toBe('cancelled');
    await app.shot('unsubscribed');
    app.expectNoProblems();
  });
});
