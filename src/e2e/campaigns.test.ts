/**
 * End-to-end: the bulk e-mail wizard in real Chromium, with JavaScript on and off. Twenty clients ticked in
 * the address book get a message from a template; one generated message is reviewed and edited; the rest is
 * scheduled, and the history shows the bulk action with its counts.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, messages, templates } from '../db/schema/index.ts';
import { ADMIN, setUpAdmin } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('bulk e-mail from the address book, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  let campaignId = 0;
  beforeAll(async () => {
    app = await startBrowserApp(js, 'campaigns-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    await app.t.db.insert(clients).values(
      Array.from({ length: 22 }, (_, i) => ({ name: `Klient ${String(i + 1).padStart(2, '0')}`, email: i === 3 ? null : `klient${i + 1}@firma.cz`, city: 'Brno' })),
    );
    await app.t.db.insert(templates).values({ name: 'Podzimní nabídka', purpose: 'client', subject: 'Nabídka pro {{client.name}}', bodyHtml: '<p>Dobrý den, {{client.name}},</p><p>posíláme nabídku.</p>' });
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('starts from 20 clients ticked in the address book and fills the message from a template', async () => {
    await page.goto(`${base}/clients`);
    const boxes = page.locator('#rows input[name=ids]');
    await expect.poll(() => boxes.count()).toBe(22);
    for (let i = 0; i < 20; i++) await boxes.nth(i).check();
    await Promise.all([page.waitForURL(/\/campaigns\/\d+\/message$/), page.click('#email-selected')]);
    campaignId = Number(/\/campaigns\/(\d+)\//.exec(page.url())![1]);
    await page.locator('.campaign-steps li[aria-current=step]', { hasText: 'Zpráva' }).waitFor();
    await page.selectOption('#f-template', { label: 'Podzimní nabídka' });
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/message`), page.click('button[value=load]')]);
    await expect.poll(() => page.inputValue('#f-subject')).toBe('Nabídka pro {{client.name}}');
    await app.shot('1-message');
    // A mistake in the text is shown with its position; the typed text stays.
    await page.fill('#f-subject', 'Nabídka pro {{client.jmeno}}');
    await page.click('button[value=next]');
    await page.locator('#e-subject', { hasText: 'řádek 1, sloupec 13' }).waitFor();
    expect(await page.inputValue('#f-subject')).toBe('Nabídka pro {{client.jmeno}}');
    await page.fill('#f-subject', 'Nabídka pro {{client.name}}');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/recipients`), page.click('button[value=next]')]);
    app.expectNoProblems([/status of 422/]);
  });

  it('lists the client without an e-mail as left out, generates 19 messages with a progress bar', async () => {
    await page.locator('table.campaign-invalid', { hasText: 'Klient 04' }).waitFor();
    expect(await page.locator('table.campaign-invalid').innerText()).toContain('bez e-mailu');
    expect(await page.locator('#valid-count').innerText()).toBe('19');
    await app.shot('2-recipients');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/generate`), page.click('form[action$="/generate"] button.primary')]);
    await page.locator('#campaign-progress progress').waitFor();
    await app.shot('3-generate');
    const review = page.locator('#campaign-progress a', { hasText: 'Zkontrolovat zprávy' });
    await review.waitFor({ timeout: 15_000 });
    expect(await page.locator('#campaign-progress').innerText()).toContain('Zpracováno 20 z 20 příjemců (100 %)');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}/review`), review.click()]);
    app.expectNoProblems();
  });

  it('reviews the generated messages and edits one of them', async () => {
    await page.locator('.lead', { hasText: 'Vygenerovaných zpráv: 19' }).waitFor();
    await app.shot('4-review');
    const first = await app.t.db.select().from(messages).where(eq(messages.campaignId, campaignId)).orderBy(messages.id).limit(1);
    expect(first[0]!.subject).toBe('Nabídka pro Klient 01');
    // The review links each draft to the composer (messages.edit_generated).
    await Promise.all([page.waitForURL(`${base}/messages/${first[0]!.id}/edit`), page.click(`a[href="/messages/${first[0]!.id}/edit"]`)]);
    await page.fill('#f-subject', 'Nabídka pro Klient 01 (upraveno)');
    await Promise.all([page.waitForURL(`${base}/messages/${first[0]!.id}`), page.click('#composer .form-actions button[value=save]')]);
    await page.locator('.flash', { hasText: 'Změny konceptu byly uloženy.' }).waitFor();
    const [edited] = await app.t.db.select().from(messages).where(eq(messages.id, first[0]!.id));
    expect([edited!.subject, edited!.status]).toEqual(['Nabídka pro Klient 01 (upraveno)', 'draft']);
    app.expectNoProblems();
  });

  it('schedules the campaign and finds it in the history with its counts', async () => {
    await page.goto(`${base}/campaigns/${campaignId}/send`);
    await page.check('input[name=when][value=later]');
    await page.fill('#f-at', '2099-03-02T09:00');
    await page.fill('#f-window_start', '08:00');
    await page.fill('#f-window_end', '17:00');
    await app.shot('5-send');
    await Promise.all([page.waitForURL(`${base}/campaigns/${campaignId}`), page.click('form.campaign-send button.primary')]);
    await page.locator('.flash', { hasText: 'Naplánováno 19 zpráv na 2099-03-02 09:00.' }).waitFor();
    expect(await page.locator('#campaign-status').innerText()).toBe('Odesílá se');
    const statuses = await app.t.db.select({ status: messages.status }).from(messages).where(eq(messages.campaignId, campaignId));
    expect(statuses.map((s) => s.status)).toEqual(Array(19).fill('queued'));
    await page.goto(`${base}/campaigns`);
    const row = page.locator('table.campaigns tbody tr').first();
    expect(await row.innerText()).toMatch(/E-mail 20 klientům.*E-mail z adresáře · Podzimní nabídka · Jana Nováková.*Odesílá se/s);
    await app.shot('history');
    await Promise.all([page.waitForURL(/\/messages\?campaign=\d+/), row.locator('a', { hasText: 'Zprávy' }).click()]);
    await page.locator('main', { hasText: 'Nabídka pro Klient 01 (upraveno)' }).waitFor();
    app.expectNoProblems();
  });
});
