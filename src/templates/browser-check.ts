/**
 * Manual browser check of the template editor (run: `npx tsx src/templates/browser-check.ts`): the real app
 * on a fresh database in Chromium, JavaScript on and off; records console errors (CSP violations among
 * them) and foreign requests, and saves screenshots to .test-results/screenshots/templates-*.png.
 * Not part of the suites; the integrator may turn it into src/e2e/templates.test.ts.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { clients, orderItems, orders, templates } from '../db/schema/index.ts';
import { ADMIN, createTestApp, setUpAdmin } from '../test-support/harness.ts';

const SHOTS = path.resolve('.test-results/screenshots');
mkdirSync(SHOTS, { recursive: true });

async function run(js: boolean) {
  const t = await createTestApp();
  await setUpAdmin(t.client());
  const [client] = await t.db.insert(clients).values({ name: 'Pekárna U Čápa <b>', email: 'info@pekarna.cz', city: 'Tábor' }).returning();
  const [order] = await t.db
    .insert(orders)
    .values({ number: 'OBJ-2026-0042', clientId: client!.id, orderedOn: '2026-11-20', status: 'confirmed', totalNet: 9999n, totalVat: 2100n, totalGross: 12099n })
    .returning();
  await t.db.insert(orderItems).values([
    { orderId: order!.id, position: 1, name: 'Chléb kmínový', quantityMilli: 3000n, unit: 'ks', unitPrice: 3333n, vatRateBp: 2100 },
    { orderId: order!.id, position: 2, name: 'Rohlík', quantityMilli: 10000n, unit: 'ks', unitPrice: 300n, vatRateBp: 1200 },
  ]);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'] });
  const page = await (await browser.newContext({ javaScriptEnabled: js, locale: 'cs-CZ' })).newPage();
  const problems: string[] = [];
  page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => !r.url().startsWith(`${base}/`) && !r.url().startsWith('data:') && !r.url().startsWith('about:') && problems.push(`foreign: ${r.url()}`));
  const mode = js ? 'js' : 'nojs';
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `templates-${mode}-${name}.png`), fullPage: true });
  const report = (step: string) => {
    console.log(`[${mode}] ${step}: ${problems.length ? problems.join(' | ') : 'no problems'}`);
    problems.length = 0;
  };

  await page.goto(`${base}/login`);
  await page.fill('#f-email', ADMIN.email);
  await page.fill('#f-password', ADMIN.password);
  await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  await page.goto(`${base}/templates`);
  await page.click('a[href="/templates/new"]');
  await page.waitForURL(`${base}/templates/new`);
  if (js) await page.locator('trix-editor').waitFor();
  await page.waitForTimeout(300);
  report('editor loaded');
  await page.fill('#f-name', 'Potvrzení objednávky');
  await page.selectOption('#f-purpose', 'order');
  if (js) {
    await page.locator('#template-variables code', { hasText: '{{order.number}}' }).first().waitFor();
    await page.click('#f-subject');
    await page.keyboard.type('Objednávka ');
    await page.click('button[data-insert="{{order.number}}"]');
    await page.click('trix-editor');
    await page.keyboard.type('Dobrý den, ');
    await page.click('button[data-insert="{{client.name}}"]');
    await page.keyboard.press('Enter');
    await page.click('#template-variables [data-insert^="{{#order.items}}"]');
    console.log(`[${mode}] subject: ${await page.inputValue('#f-subject')}`);
    console.log(`[${mode}] body: ${await page.inputValue('#f-body')}`);
    await shot('editor');
    await page.click('button[data-rich-mode="html"]');
    await page.fill('#f-body', `${await page.inputValue('#f-body')}{{{order.items_table}}}<p><img src="https://example.com/track.png"></p>`);
    await page.click('.preview-button');
    await page.locator('#template-preview iframe').waitFor();
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    console.log(`[${mode}] preview subject: ${await page.textContent('.preview-subject')}`);
    console.log(`[${mode}] preview body text: ${(await frame?.textContent('body'))?.replace(/\s+/g, ' ').slice(0, 300)}`);
    await shot('preview');
    report('insert + preview (a blocked remote image is expected here)');
  } else {
    await page.click('button[value=refresh]');
    await page.fill('#f-subject', 'Objednávka {{order.number}}');
    await page.fill('#f-body', '<p>Dobrý den, {{client.name}}</p>{{#order.items}}<p>{{name}} {{quantity}}</p>{{/order.items}}{{{order.items_table}}}');
    await page.click('button[value=preview]');
    await page.locator('#template-preview iframe').waitFor();
    console.log(`[${mode}] preview subject: ${await page.textContent('.preview-subject')}`);
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    console.log(`[${mode}] preview frames: ${page.frames().length}; body text: ${(await frame?.textContent('body').catch((e: Error) => e.message))?.replace(/\s+/g, ' ').slice(0, 200)}`);
    await shot('preview');
    report('preview');
  }
  await page.click('button[value=save]');
  await page.waitForURL(`${base}/templates`);
  await shot('saved');
  const rows = await t.db.select().from(templates);
  console.log(`[${mode}] saved: ${JSON.stringify(rows.map((r) => ({ name: r.name, subject: r.subject, body: r.bodyHtml })))}`);
  report('saved');
  await page.goto(`${base}/templates/${rows[0]!.id}/edit`);
  await page.waitForTimeout(500);
  await shot('edit');
  report('edit page');
  await browser.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.close();
}

await run(true);
await run(false);
