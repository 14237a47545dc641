/**
 * End-to-end, issue 5: with the test mailbox and the sending loop running as `npm start` runs them, a user
 * composes and sends a message, sees it in the test mailbox and the sent state with the server's reply in
 * the message log; schedules one for later and sees it go; sends from an activity to its participants as
 * one mail; resends with one click. JavaScript on and off.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activityPeople, clients, messages, testMailbox } from '../db/schema/index.ts';
import { toLocalInput } from '../activities/time.ts';
import { ADMIN, setUpAdmin } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('sending in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  let clientId: number;
  let activityId: number;

  const statusOf = async (id: number) => (await app.t.db.select({ s: messages.status }).from(messages).where(eq(messages.id, id)))[0]!.s;
  const idFromUrl = () => Number(/\/messages\/(\d+)/.exec(page.url())![1]);

  async function fillBody(body: string) {
    if (js) {
      await page.locator('trix-editor').waitFor();
      await page.click('trix-editor');
      await page.keyboard.type(body);
    } else {
      await page.fill('#f-body', `<p>${body}</p>`);
    }
  }

  async function composeFor(url: string, subject: string, body: string) {
    await page.goto(`${base}${url}`);
    await page.fill('#f-subject', subject);
    await fillBody(body);
    await Promise.all([page.waitForURL(/\/messages\/\d+$/), page.click('#composer .form-actions button[value=save]')]);
    return idFromUrl();
  }

  async function send(options: { mode?: string; later?: Date } = {}) {
    if (options.mode) await page.check(`.send-form input[name=mode][value=${options.mode}]`);
    if (options.later) {
      await page.check('.send-form input[name=when][value=later]');
      await page.fill('#f-send-at', toLocalInput(options.later, app.t.config.TIMEZONE));
    }
    await Promise.all([page.waitForURL(/\/messages\/\d+$/), page.click('.send-form button[type=submit]')]);
    await page.locator('.flash-success').waitFor();
  }

  beforeAll(async () => {
    app = await startBrowserApp(js, 'sending-', { sending: true });
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    const [client] = await app.t.db.insert(clients).values({ name: 'Pekárna U Čápa', email: 'info@pekarna.cz' }).returning();
    clientId = client!.id;
    const [activity] = await app.t.db.insert(activities).values({ subject: 'Ochutnávka pečiva', type: 'meeting', at: new Date('2026-12-03T09:00:00Z'), clientId }).returning();
    activityId = activity!.id;
    await app.t.db.insert(activityPeople).values([
      { activityId, role: 'participant', clientId },
      { activityId, role: 'participant', email: 'jana@kavarna.cz', name: 'Jana z kavárny' },
    ]);
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('composes and sends; the mail is in the test mailbox and the log shows the server\'s reply', async () => {
    const id = await composeFor(`/messages/new?client=${clientId}`, 'Nabídka vánočního cukroví', 'Dobrý den, posíláme nabídku.');
    await send();
    await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('sent');
    await page.goto(`${base}/messages/${id}?tab=log`);
    await page.locator('.send-attempts', { hasText: 'Stored in the test mailbox' }).waitFor();
    await app.shot('message-log');
    await page.goto(`${base}/test-mailbox`);
    await page.click('a:text("Nabídka vánočního cukroví")');
    await page.locator('h1', { hasText: 'Nabídka vánočního cukroví' }).waitFor();
    expect(await page.textContent('main')).toContain('info@pekarna.cz');
    await app.shot('test-mailbox-mail');
    app.expectNoProblems();
  });

  it('schedules one for later and sees it go when its time comes', async () => {
    const id = await composeFor(`/messages/new?client=${clientId}`, 'Připomínka ochutnávky', 'Těšíme se na vás.');
    await send({ later: new Date(Date.now() + 3 * 60_000) });
    expect(await statusOf(id)).toBe('queued');
    await page.goto(`${base}/outbox`);
    await page.locator('table.outbox', { hasText: 'Připomínka ochutnávky' }).waitFor();
    await app.shot('outbox-scheduled');
    // Its time comes (moved, rather than waiting three minutes in a test).
    await app.t.db.update(messages).set({ sendAt: new Date() }).where(eq(messages.id, id));
    await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('sent');
    await page.goto(`${base}/messages/${id}`);
    await page.locator('.send-state', { hasText: 'odesláno' }).waitFor();
    app.expectNoProblems();
  });

  it('sends from an activity to its participants as one mail', async () => {
    await page.goto(`${base}/activities/${activityId}`);
    await page.click('details.menu summary');
    await Promise.all([page.waitForURL(/\/messages\/new\?activity=\d+&to=participants/), page.click(`a[href="/messages/new?activity=${activityId}&to=participants"]`)]);
    expect(await page.inputValue('#f-to')).toContain('jana@kavarna.cz');
    await page.fill('#f-subject', 'Program ochutnávky');
    await fillBody('Program v příloze.');
    await Promise.all([page.waitForURL(/\/messages\/\d+$/), page.click('#composer .form-actions button[value=save]')]);
    const id = idFromUrl();
    expect(await page.isChecked('.send-form input[name=mode][value=together]')).toBe(true);
    await send();
    await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('sent');
    const received = await app.t.db.select().from(testMailbox).where(eq(testMailbox.subject, 'Program ochutnávky'));
    expect(received).toHaveLength(1);
    expect(received[0]!.envelopeTo).toBe('info@pekarna.cz, jana@kavarna.cz');
    app.expectNoProblems();
  });

  it('resends with one click', async () => {
    const [sent] = await app.t.db.select().from(messages).where(eq(messages.subject, 'Nabídka vánočního cukroví'));
    await page.goto(`${base}/messages/${sent!.id}`);
    expect(await page.textContent('.send-state')).toContain('Půjde na: info@pekarna.cz');
    await Promise.all([page.waitForURL(/\/messages\/\d+$/), page.click(`form[action="/messages/${sent!.id}/resend"] button`)]);
    await page.locator('.flash-success', { hasText: 'znovu zařazena k odeslání na: info@pekarna.cz' }).waitFor();
    await expect.poll(() => app.t.db.select().from(testMailbox).where(eq(testMailbox.subject, 'Nabídka vánočního cukroví')).then((r) => r.length), { timeout: 10_000 }).toBe(2);
    await page.goto(`${base}/messages/${sent!.id}?tab=log`);
    expect(await page.locator('.send-attempts tbody tr').count()).toBe(2);
    await app.shot('resent-log');
    app.expectNoProblems();
  });
});
