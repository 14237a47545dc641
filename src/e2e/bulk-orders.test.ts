/**
 * End-to-end, issue 7 item 4: the order processing wizard. A user ticks three orders in the order list,
 * chooses "mark as shipped" and an order template, reviews the result, sends, and finds each generated mail
 * on its order's Communication tab; the order not ticked is untouched. JavaScript on and off; a screenshot
 * of each wizard step (.test-results/screenshots/bulk-orders-*).
 * Sending from an activity to its participants as one mail is covered in sending.test.ts.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activityPeople, clients, messages, orders } from '../db/schema/index.ts';
import { createOrder } from '../orders/service.ts';
import { createTemplate } from '../templates/service.ts';
import { ADMIN, setUpAdmin, SYSTEM } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('order processing in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  const picked: { id: number; number: string }[] = [];
  let untouched: number;
  let clientId: number;

  beforeAll(async () => {
    app = await startBrowserApp(js, 'bulk-orders-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    const [client] = await app.t.db.insert(clients).values({ name: 'Pekárna U Čápa', email: 'info@pekarna.cz' }).returning();
    clientId = client!.id;
    await createTemplate(
      app.t.db,
      {
        name: 'Objednávka odeslána',
        purpose: 'order',
        locale: 'cs',
        subject: 'Objednávka {{order.number}} je na cestě',
        bodyHtml: '<p>Dobrý den,</p><p>objednávka {{order.number}} je ve stavu {{order.status}}:</p><ul>{{#order.items}}<li>{{name}}: {{quantity}} {{unit}}</li>{{/order.items}}</ul>',
        attachments: [],
      },
      SYSTEM,
    );
    for (let i = 1; i <= 4; i++) {
      const number = `OBJ-2026-${100 + i}`;
      const id = await createOrder(
        app.t.db,
        {
          number,
          clientId: client!.id,
          orderedOn: `2026-11-0${i}`,
          dueOn: null,
          status: 'confirmed',
          currency: 'CZK',
          note: null,
          items: [
            { name: 'Chléb kváskový', quantityMilli: BigInt(i * 1000), unit: 'ks', unitPrice: 6500n, vatRateBp: 1200 },
            { name: 'Rohlík', quantityMilli: 20_000n, unit: 'ks', unitPrice: 300n, vatRateBp: 1200 },
          ],
        },
        SYSTEM,
      );
      if (i <= 3) picked.push({ id, number });
      else untouched = id;
    }
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('processes three orders as shipped and finds the generated mails on each order', async () => {
    // Step 1: tick three orders in the list, choose the action.
    await page.goto(`${base}/orders`);
    for (const o of picked) await page.check(`input[name=ids][value="${o.id}"]`);
    await page.selectOption('#process select[name=action]', 'ship');
    await app.shot('step1-select');
    await Promise.all([page.waitForURL(/\/orders\/process\/\d+$/), page.click('#process button[type=submit]')]);
    const wizard = new URL(page.url()).pathname;
    const campaignId = Number(wizard.split('/').pop());

    // Step 2: the three orders are listed as fine; choose the template.
    await page.locator('.process-orders').waitFor();
    expect(await page.locator('.process-orders tbody tr').count()).toBe(3);
    await expect.poll(() => page.locator('.process-form').textContent()).toContain('Zpracuje se 3 z 3 objednávek');
    await page.selectOption('#f-template', { label: 'Objednávka odeslána (cs)' });
    await page.check('input[name=action][value=ship]');
    await app.shot('step2-template');
    await app.clickTo('.process-form button[type=submit]', wizard, page.locator('.process-results'));

    // Step 3: every order shipped, one mail each, nothing sent yet.
    await page.locator('.flash-success').waitFor();
    expect(await page.locator('.process-results tr.state-generated').count()).toBe(3);
    await app.shot('step3-review');
    for (const o of picked) expect((await app.t.db.select().from(orders).where(eq(orders.id, o.id)))[0]!.status).toBe('shipped');
    expect((await app.t.db.select().from(orders).where(eq(orders.id, untouched)))[0]!.status).toBe('confirmed');
    const drafts = await app.t.db.select().from(messages).where(eq(messages.campaignId, campaignId));
    expect(drafts.map((m) => m.status)).toEqual(['draft', 'draft', 'draft']);
    expect(await page.locator(`a[href="/messages?campaign=${campaignId}"]`).count()).toBe(1);

    // Review one of them: its body lists the order's items.
    const first = drafts.find((m) => m.orderId === picked[0]!.id)!;
    await app.clickTo(`.process-results a[href="/messages/${first.id}"]`, `/messages/${first.id}`, page.locator('h1', { hasText: `Objednávka ${picked[0]!.number} je na cestě` }));
    const body = (await app.t.store.get(first.bodyBlob)).toString('utf8');
    expect(body).toContain('Chléb kváskový: 1 ks');
    expect(body).toContain('ve stavu odeslaná');

    // Send now.
    await page.goto(`${base}${wizard}`);
    await page.check('.process-send input[name=when][value=now]');
    await Promise.all([page.waitForURL(/\/messages\?campaign=\d+$/), page.click('.process-send button[type=submit]')]);
    await page.locator('.flash-success').waitFor();
    expect((await app.t.db.select().from(messages).where(eq(messages.campaignId, campaignId))).map((m) => m.status)).toEqual(['queued', 'queued', 'queued']);

    // Each order's Communication tab shows its own mail.
    for (const o of picked) {
      await page.goto(`${base}/orders/${o.id}?tab=communication`);
      await page.getByText(`Objednávka ${o.number} je na cestě`).first().waitFor();
      for (const other of picked.filter((x) => x !== o)) expect(await page.getByText(`Objednávka ${other.number} je na cestě`).count()).toBe(0);
    }
    app.expectNoProblems();
  });

  it('with no template chosen, step 2 says so next to the field and keeps the chosen action', async () => {
    await page.goto(`${base}/orders`);
    await page.check(`input[name=ids][value="${untouched}"]`);
    await page.selectOption('#process select[name=action]', 'complete');
    await Promise.all([page.waitForURL(/\/orders\/process\/\d+$/), page.click('#process button[type=submit]')]);
    await page.locator('.process-form').waitFor();
    // The only order template is chosen for you; take it back.
    expect(await page.inputValue('#f-template')).not.toBe('');
    await page.selectOption('#f-template', '');
    await page.click('.process-form button[type=submit]');
    await page.locator('#e-template').waitFor();
    expect(await page.textContent('#e-template')).toContain('Vyberte šablonu pro objednávky.');
    expect(await page.isChecked('input[name=action][value=complete]')).toBe(true);
    expect((await app.t.db.select().from(orders).where(eq(orders.id, untouched)))[0]!.status).toBe('confirmed');
    app.expectNoProblems([/status of 422/]);
  });
  it('the activity offers mail to each audience with its send mode; the setting makes client mail an activity', async () => {
    // Settings: participants through the desktop client; sent client mail creates an activity.
    await page.goto(`${base}/settings/sending`);
    await page.check('input[name=activity_participants][value=desktop]');
    await page.check('input[name=mailCreatesActivity]');
    await app.shot('settings-sending');
    await app.clickTo('form[action="/settings/sending"] button[type=submit]', '/settings/sending', page.locator('.flash-success'));
    expect(await page.isChecked('input[name=mailCreatesActivity]')).toBe(true);

    const [activity] = await app.t.db.insert(activities).values({ subject: 'Ochutnávka', type: 'meeting', at: new Date('2026-12-03T09:00:00Z'), clientId }).returning();
    await app.t.db.insert(activityPeople).values([
      { activityId: activity!.id, role: 'participant', clientId },
      { activityId: activity!.id, role: 'participant', email: 'jana@kavarna.cz', name: 'Jana' },
    ]);
    await page.goto(`${base}/activities/${activity!.id}`);
    await page.click('details.menu summary');
    const participants = page.locator('li.mail-choice', { hasText: 'Účastníkům (2)' });
    await participants.waitFor();
    expect(await participants.textContent()).toContain('Přes můj poštovní program');
    expect(await page.locator('li.mail-choice', { hasText: 'Informovaným osobám (nikdo)' }).locator('a').count()).toBe(0);
    await app.shot('activity-menu');
    await Promise.all([
      page.waitForURL(/\/messages\/new\?activity=\d+&to=participants/),
      page.click(`a[href="/messages/new?activity=${activity!.id}&to=participants"]`),
    ]);
    expect(await page.inputValue('#f-to')).toContain('jana@kavarna.cz');
    app.expectNoProblems();
  });
});
