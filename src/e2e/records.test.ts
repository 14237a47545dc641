/**
 * End-to-end: the business records in real Chromium, with JavaScript on and off. A client is created,
 * found by a search without diacritics, its phone edited inline, clients added in bulk to a marketing
 * list; a CSV file is imported; an order with items is opened.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, marketingLists, orderItems, orders } from '../db/schema/index.ts';
import { ADMIN, setUpAdmin } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

describe.each([true, false])('business records in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  beforeAll(async () => {
    app = await startBrowserApp(js, 'records-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    await app.t.db.insert(clients).values([
      { name: 'Marie Dvořáková', email: 'marie@dvorakova.cz', city: 'Brno', kind: 'person' },
      { name: 'Pekárna U Čápa', email: 'info@pekarna.cz', city: 'Tábor', tags: ['vip'] },
    ]);
    await app.t.db.insert(marketingLists).values({ name: 'Jarní akce' });
    const [pekarna] = await app.t.db.select().from(clients).where(eq(clients.name, 'Pekárna U Čápa'));
    const [order] = await app.t.db
      .insert(orders)
      .values({ number: 'OBJ-2026-0042', clientId: pekarna!.id, orderedOn: '2026-11-20', status: 'confirmed', totalNet: 9999n, totalVat: 2100n, totalGross: 12099n })
      .returning();
    await app.t.db.insert(orderItems).values([
      { orderId: order!.id, position: 1, name: 'Chléb kmínový', quantityMilli: 3000n, unit: 'ks', unitPrice: 3333n, vatRateBp: 2100 },
    ]);
    await page.goto(`${base}/login`);
    await page.fill('#f-email', ADMIN.email);
    await page.fill('#f-password', ADMIN.password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  });
  afterAll(() => app?.close());

  it('creates a client from the address book', async () => {
    await app.clickTo('header nav a[href="/clients"]', '/clients', page.locator('h1', { hasText: 'Adresář klientů' }));
    await app.clickTo('a[href="/clients/new"]', '/clients/new', page.locator('h1', { hasText: 'Nový klient' }));
    await page.check('input[name=kind][value=person]');
    await page.fill('#f-name', 'Jan Novák');
    await page.fill('#f-email', 'jan.novak@seznam');
    await page.fill('#f-city', 'Olomouc');
    await page.click('form.client-form button[type=submit]');
    await page.locator('#e-email').waitFor();
    expect(await page.inputValue('#f-name')).toBe('Jan Novák');
    await page.fill('#f-email', 'jan.novak@seznam.cz');
    await Promise.all([page.waitForURL(/\/clients\/\d+$/), page.click('form.client-form button[type=submit]')]);
    await page.locator('.flash', { hasText: 'Klient byl vytvořen.' }).waitFor();
    await app.shot('client-created');
    app.expectNoProblems([/status of 422/]);
  });

  it('finds "Novák" when searching "novak"', async () => {
    await page.goto(`${base}/clients`);
    await page.fill('#f-q', 'novak');
    if (!js) await page.click('form[role=search] button[type=submit]');
    await page.locator('#rows a', { hasText: 'Jan Novák' }).waitFor();
    await expect.poll(() => page.locator('#rows table.clients tbody tr').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('q')).toBe('novak');
    await app.shot('search-novak');
    app.expectNoProblems();
  });

  it('edits the phone number inline', async () => {
    const cell = page.locator('[id$="-phone"]').first();
    await cell.locator('a.edit').click();
    const input = page.locator('form.inline-edit input[name=value]');
    await input.waitFor();
    await input.fill('+420 777 123 456');
    await page.locator('form.inline-edit button[type=submit]').click();
    await page.locator('#rows [id$="-phone"]', { hasText: '+420 777 123 456' }).waitFor();
    if (!js) expect(new URL(page.url()).searchParams.get('q')).toBe('novak'); // back to the filtered list
    await app.shot('inline-phone');
    app.expectNoProblems();
  });

  it('adds every client matching a filter to a marketing list in bulk', async () => {
    await page.goto(`${base}/clients?email=yes`);
    await page.check('input[name=scope][value=all]');
    await page.selectOption('select[name=action]', 'list');
    await page.selectOption('select[name=listId]', { label: 'Jarní akce' });
    await page.click('#bulk button[type=submit]');
    await page.locator('.flash', { hasText: 'Do seznamu přidáno 3 klientů' }).waitFor();
    await app.shot('bulk-list');
    app.expectNoProblems();
  });

  it('opens an order with its items from the order list', async () => {
    await app.clickTo('header nav a[href="/orders"]', '/orders', page.locator('a', { hasText: 'OBJ-2026-0042' }));
    await app.clickTo('a:has-text("OBJ-2026-0042")', '/orders/1', page.locator('table.order-items'));
    const item = page.locator('table.order-items tbody tr', { hasText: 'Chléb kmínový' });
    await item.waitFor();
    expect(await item.innerText()).toContain('33,33');
    expect(await page.locator('main').innerText()).toContain('120,99');
    await app.shot('order-detail');
    app.expectNoProblems();
  });

  it('imports clients from a CSV file, reporting the refused row', async () => {
    const csv = '\uFEFFJméno;E-mail;Telefon;Město\r\nVěra Nováková;vera@novakova.cz;602 111 222;Jihlava\r\nChybný řádek;neni-email;;Brno\r\n';
    await page.goto(`${base}/clients/import`);
    await page.setInputFiles('#f-file', { name: 'klienti.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await Promise.all([page.waitForURL(/\/clients\/import\/[^/]+$/), page.click('form[action="/clients/import"] button[type=submit]')]);
    await page.locator('form.import-form').waitFor();
    await app.shot('import-mapping');
    await page.click('form.import-form button.primary');
    const done = page.locator('#import-status h2', { hasText: 'Import dokončen' });
    for (let i = 0; i < 20 && !(await done.count()); i++) {
      if (!js) await page.reload();
      await page.waitForTimeout(300);
    }
    await done.waitFor();
    const counts = await page.locator('.import-counts').innerText();
    expect(counts).toMatch(/Vytvořeno nových klientů\s+1/);
    expect(counts).toMatch(/Odmítnuto\s+1/);
    expect(await page.locator('table.import-refused').innerText()).toContain('neni-email');
    await app.shot('import-result');
    await page.goto(`${base}/clients?q=vera%20novakova`);
    await page.locator('#rows a', { hasText: 'Věra Nováková' }).waitFor();
    app.expectNoProblems();
  });
});
