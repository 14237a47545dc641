/**
 * End-to-end, issue 4: a template with an items loop previewed on an order; a message composed from a
 * client's detail with two attachments (dropped onto the form with JavaScript, picked with the file input
 * without), shown on the client's Communication tab, exported for the desktop mail client and parsed back;
 * and a viewer who can read it but not edit it. JavaScript on and off.
 */
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, messages, orderItems, orders, templates } from '../db/schema/index.ts';
import { ADMIN, addUser, setUpAdmin } from '../test-support/harness.ts';
import { startBrowserApp, type BrowserApp } from './browser.ts';

const PDF = Buffer.from('%PDF-1.4\n% faktura 2026-0042\n');
const TERMS = Buffer.from('Obchodní podmínky: platba do 14 dnů.');

describe.each([true, false])('messages and templates in the browser, JavaScript %s', (js) => {
  let app: BrowserApp;
  let page: BrowserApp['page'];
  let base: string;
  let clientId: number;
  let orderId: number;

  async function signInAs(email: string, password: string) {
    await page.goto(`${base}/login`);
    await page.fill('#f-email', email);
    await page.fill('#f-password', password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
  }

  beforeAll(async () => {
    app = await startBrowserApp(js, 'messages-');
    ({ page, base } = app);
    await setUpAdmin(app.t.client());
    const [client] = await app.t.db.insert(clients).values({ name: 'Pekárna U Čápa', email: 'info@pekarna.cz', city: 'Tábor' }).returning();
    clientId = client!.id;
    const [order] = await app.t.db
      .insert(orders)
      .values({ number: 'OBJ-2026-0042', clientId, orderedOn: '2026-11-20', status: 'confirmed', totalNet: 19_999n, totalVat: 4_200n, totalGross: 24_199n })
      .returning();
    orderId = order!.id;
    await app.t.db.insert(orderItems).values([
      { orderId, position: 1, name: 'Chléb kmínový', quantityMilli: 3000n, unit: 'ks', unitPrice: 3333n, vatRateBp: 2100 },
      { orderId, position: 2, name: 'Rohlík tukový', quantityMilli: 10_000n, unit: 'ks', unitPrice: 300n, vatRateBp: 1200 },
    ]);
    await signInAs(ADMIN.email, ADMIN.password);
  });
  afterAll(() => app?.close());

  it('creates an order template with an items loop and previews it on a real order', async () => {
    await app.clickTo('header nav a[href="/templates"]', '/templates', page.locator('h1'));
    await Promise.all([page.waitForURL(`${base}/templates/new`), page.click('a[href="/templates/new"]')]);
    await page.fill('#f-name', 'Potvrzení objednávky');
    await page.selectOption('#f-purpose', 'order');
    if (js) {
      await page.locator('trix-editor').waitFor();
      await page.locator('#template-variables [data-insert="{{order.number}}"]').first().waitFor();
      await page.click('button[data-rich-mode="html"]');
    } else {
      await page.click('button[value=refresh]');
    }
    await page.fill('#f-subject', 'Potvrzení objednávky {{order.number}}');
    await page.fill('#f-body', '<p>Dobrý den, {{client.name}},</p><ul>{{#order.items}}<li>{{name}}: {{quantity}} {{unit}}</li>{{/order.items}}</ul><p>Celkem {{order.total}}</p>');
    await page.selectOption('#preview-record', String(orderId));
    await page.click('.preview-button');
    await page.locator('#template-preview iframe').waitFor();
    await expect.poll(() => page.textContent('.preview-subject')).toContain('Potvrzení objednávky OBJ-2026-0042');
    const frame = page.frameLocator('#template-preview iframe');
    await expect.poll(() => frame.locator('body').textContent()).toContain('Rohlík tukový');
    expect(await frame.locator('body').textContent()).toContain('Dobrý den, Pekárna U Čápa,');
    await app.shot('template-preview');
    await Promise.all([page.waitForURL(`${base}/templates`), page.click('button[value=save]')]);
    const [saved] = await app.t.db.select().from(templates);
    expect(saved).toMatchObject({ name: 'Potvrzení objednávky', purpose: 'order' });
    expect(saved!.bodyHtml).toContain('{{#order.items}}');
    app.expectNoProblems();
  });

  it('composes from the client detail with two attachments and saves the draft', async () => {
    await page.goto(`${base}/clients/${clientId}`);
    await Promise.all([page.waitForURL(/\/messages\/new\?client=\d+/), page.click(`a[href="/messages/new?client=${clientId}"]`)]);
    expect(await page.inputValue('#f-to')).toContain('info@pekarna.cz');
    await page.fill('#f-subject', 'Faktura a podmínky');
    if (js) {
      await page.locator('trix-editor').waitFor();
      await page.click('trix-editor');
      await page.keyboard.type('Dobrý den, v příloze posíláme fakturu.');
      const files = await page.evaluateHandle(
        ([pdf, terms]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([Uint8Array.from(pdf!)], 'faktura.pdf', { type: 'application/pdf' }));
          dt.items.add(new File([Uint8Array.from(terms!)], 'podminky.txt', { type: 'text/plain' }));
          return dt;
        },
        [[...PDF], [...TERMS]],
      );
      await page.dispatchEvent('#composer', 'dragover', { dataTransfer: files });
      await page.dispatchEvent('#composer', 'drop', { dataTransfer: files });
      await expect.poll(() => page.locator('#composer [data-attachment]').count()).toBe(2);
      await expect.poll(() => page.textContent('[data-attachment-total]')).toMatch(/25 MB/);
    } else {
      await page.fill('#f-body', '<p>Dobrý den, v příloze posíláme fakturu.</p>');
      await page.setInputFiles('#f-files', [
        { name: 'faktura.pdf', mimeType: 'application/pdf', buffer: PDF },
        { name: 'podminky.txt', mimeType: 'text/plain', buffer: TERMS },
      ]);
    }
    await app.shot('composer');
    await Promise.all([page.waitForURL(/\/messages\/\d+$/), page.click('#composer .form-actions button[value=save]')]);
    await page.locator('.flash', { hasText: 'Koncept zprávy byl uložen.' }).waitFor();
    const [row] = await app.t.db.select().from(messages).where(eq(messages.clientId, clientId));
    expect(row).toMatchObject({ subject: 'Faktura a podmínky', status: 'draft', attachmentCount: 2 });
    await expect.poll(() => page.frameLocator('iframe.message-frame').locator('body').textContent()).toContain('Dobrý den, v příloze posíláme fakturu.');
    await app.shot('message-detail');
    app.expectNoProblems();
  });

  it('shows the message on the client\'s Communication tab', async () => {
    await page.goto(`${base}/clients/${clientId}?tab=communication`);
    await page.locator('#communication a', { hasText: 'Faktura a podmínky' }).waitFor();
    await app.shot('client-communication');
    app.expectNoProblems();
  });

  it('exports the message for the desktop mail client: same subject, body and attachments, X-Unsent: 1', async () => {
    const [row] = await app.t.db.select().from(messages).where(eq(messages.clientId, clientId));
    await page.goto(`${base}/messages/${row!.id}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`form[action="/messages/${row!.id}/open-in-mail-client"] button`)]);
    const mail = await simpleParser(Buffer.from(await (await download.createReadStream()).toArray().then((c) => Buffer.concat(c))));
    expect(mail.subject).toBe('Faktura a podmínky');
    expect(mail.headers.get('x-unsent')).toBe('1');
    expect(mail.html).toContain('Dobrý den, v příloze posíláme fakturu.');
    expect(mail.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['faktura.pdf', PDF.toString()],
      ['podminky.txt', TERMS.toString()],
    ]);
    const [after] = await app.t.db.select().from(messages).where(eq(messages.id, row!.id));
    expect(after!.status).toBe('exported');
    app.expectNoProblems();
  });

  it('shows a hostile body inert: no script runs, no remote request is made', async () => {
    const { createDraft } = await import('../messages/service.ts');
    const { SYSTEM } = await import('../test-support/harness.ts');
    const id = await createDraft(app.t.db, app.t.store, SYSTEM, {
      subject: 'Zlá zpráva',
      to: [{ address: 'jan@novak.cz' }],
      cc: [],
      bcc: [],
      bodyHtml:
        '<p>Text</p><script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">odkaz</a>' +
        '<style>body{background:url(https://tracker.example/bg.png)}</style><div data-hx-post="/logout">x</div>' +
        '<meta http-equiv="refresh" content="0;url=https://evil.example/"><img src="https://tracker.example/pixel.png">',
      attachments: [],
    });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // Chromium reports a request the frame's CSP stops as a request that failed with "csp";
    // anything else to another origin (a response, or another failure) would have left the machine.
    const foreign: string[] = [];
    const blocked: string[] = [];
    page.on('requestfailed', (r) => !r.url().startsWith(base) && (/csp|BLOCKED_BY_CSP/i.test(r.failure()?.errorText ?? '') ? blocked : foreign).push(r.url()));
    page.on('response', (r) => !r.url().startsWith(base) && foreign.push(`response ${r.url()}`));
    await page.goto(`${base}/messages/${id}`);
    await expect.poll(() => page.frameLocator('iframe.message-frame').locator('body').textContent()).toContain('Text');
    await page.waitForTimeout(500);
    expect(dialogs).toEqual([]);
    expect(foreign).toEqual([]);
    expect(blocked).toEqual(['https://tracker.example/pixel.png']);
    expect(page.url()).toBe(`${base}/messages/${id}`);
    // The remote image is blocked by the frame's CSP until "show images": that refusal is the only noise.
    app.expectNoProblems([/tracker\.example|Content Security Policy/]);
  });

  it('lets a viewer read the message but not edit it', async () => {
    await addUser(app.t.database, 'viewer', `viewer-${js}@firma.cz`);
    const [row] = await app.t.db.select().from(messages).where(eq(messages.clientId, clientId));
    // A draft of the admin's own, so the only thing stopping the viewer is the permission.
    await app.t.db.update(messages).set({ status: 'draft' }).where(eq(messages.id, row!.id));
    await page.context().clearCookies();
    await signInAs(`viewer-${js}@firma.cz`, 'Heslo pro test 123');
    await page.goto(`${base}/messages/${row!.id}`);
    await page.locator('h1', { hasText: 'Faktura a podmínky' }).waitFor();
    expect(await page.locator(`a[href="/messages/${row!.id}/edit"]`).count()).toBe(0);
    const res = await page.goto(`${base}/messages/${row!.id}/edit`);
    expect(res!.status()).toBe(403);
    await app.shot('viewer-denied');
    app.expectNoProblems([/status of 403/]);
  });
});
