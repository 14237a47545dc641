import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activityPeople, auditLog, clients, contracts, listMembers, marketingLists, messages, orderItems, orders, templateAttachments, templates } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { addUser, createAdminApp, signIn, type TestClient } from '../test-support/harness.ts';
import { loadTemplateData } from './data.ts';
import { listTemplateChoices, renderTemplateFor } from './render.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;
const ids: Record<string, number> = {};

const ctx = { locale: 'cs' as const, sender: { name: 'Jana Nováková', email: 'jana@firma.cz' }, timeZone: 'Europe/Prague' };

/** The visible text of a page: tags dropped, whitespace collapsed, the common entities decoded. */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** Posts the editor form as a browser does (multipart), with optional files. */
function postForm(client: TestClient, path: string, fields: Record<string, string | string[]>, files: { name: string; body: string; type?: string }[] = []) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
  for (const f of files) form.append('files', new File([f.body], f.name, { type: f.type ?? 'application/pdf' }));
  return client.request(path, { method: 'POST', body: form });
}

const ITEMS_BODY = '<p>Dobrý den, {{client.name}},</p><ul>{{#order.items}}<li>{{name}}: {{quantity}} {{unit}} × {{unit_price}}</li>{{/order.items}}</ul><p>Celkem {{order.total}}</p>';

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const [pekarna, evil] = await t.db
    .insert(clients)
    .values([
      { name: 'Pekárna U Čápa', email: 'info@pekarna.cz', city: 'Tábor', ico: '12345678' },
      { name: '<img src=x onerror=alert(1)> {{secret}}', email: 'evil@example.cz' },
    ])
    .returning({ id: clients.id });
  ids.pekarna = pekarna!.id;
  ids.evil = evil!.id;
  const [order] = await t.db
    .insert(orders)
    .values({ number: 'OBJ-2026-0042', clientId: ids.pekarna, orderedOn: '2026-11-20', status: 'confirmed', totalNet: 16499n, totalVat: 3465n, totalGross: 19964n })
    .returning({ id: orders.id });
  ids.order = order!.id;
  await t.db.insert(orderItems).values([
    { orderId: ids.order, position: 1, name: 'Chléb kmínový', quantityMilli: 3000n, unit: 'ks', unitPrice: 3333n, vatRateBp: 2100 },
    { orderId: ids.order, position: 2, name: 'Rohlík <tuhý>', quantityMilli: 1500n, unit: 'kg', unitPrice: 4333n, vatRateBp: 2100 },
  ]);
  const [evilOrder] = await t.db
    .insert(orders)
    .values({ number: 'OBJ-EVIL', clientId: ids.evil, orderedOn: '2026-11-21', totalNet: 0n, totalVat: 0n, totalGross: 0n })
    .returning({ id: orders.id });
  ids.evilOrder = evilOrder!.id;
  const [contract] = await t.db
    .insert(contracts)
    .values({ number: 'SML-7', clientId: ids.pekarna, title: 'Dodávky pečiva', validFrom: '2026-01-01', value: 12000000n })
    .returning({ id: contracts.id });
  ids.contract = contract!.id;
  const [activity] = await t.db
    .insert(activities)
    .values({ type: 'meeting', subject: 'Ochutnávka', at: new Date('2026-12-03T09:30:00Z'), clientId: ids.pekarna })
    .returning({ id: activities.id });
  ids.activity = activity!.id;
  await t.db.insert(activityPeople).values({ activityId: ids.activity, role: 'participant', name: 'Petr Malý', email: 'petr@maly.cz' });
  const [list] = await t.db.insert(marketingLists).values({ name: 'Jarní akce' }).returning({ id: marketingLists.id });
  ids.list = list!.id;
  await t.db.insert(listMembers).values({ listId: ids.list, clientId: ids.pekarna });
});
afterAll(() => t.close());

describe('template pages', () => {
  let templateId = 0;

  it('creates an order template with an items loop and an attachment, and lists it', async () => {
    const res = await postForm(
      admin,
      '/templates/new',
      { name: 'Potvrzení objednávky', purpose: 'order', locale: 'cs', subject: 'Objednávka {{order.number}}', body: ITEMS_BODY, action: 'save' },
      [{ name: 'obchodni-podminky.pdf', body: '%PDF-1.4 podmínky' }],
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/templates');
    const [row] = await t.db.select().from(templates).where(eq(templates.name, 'Potvrzení objednávky'));
    templateId = row!.id;
    expect(row).toMatchObject({ purpose: 'order', locale: 'cs', subject: 'Objednávka {{order.number}}' });
    expect(row!.bodyHtml).toContain('{{#order.items}}<li>{{name}}');
    const files = await t.db.select().from(templateAttachments).where(eq(templateAttachments.templateId, templateId));
    expect(files).toMatchObject([{ filename: 'obchodni-podminky.pdf', sizeBytes: Buffer.byteLength('%PDF-1.4 podmínky') }]);
    expect(await t.store.has(files[0]!.blobId)).toBe(true);
    const [audit] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'template.create'), eq(auditLog.objectId, String(templateId))));
    expect(audit).toMatchObject({ objectType: 'template', summary: 'Potvrzení objednávky', result: 'ok' });

    const list = await admin.get('/templates');
    expect(text(await list.text())).toContain('Potvrzení objednávky Objednávka CS Objednávka {{order.number}} 1');
    const filtered = await admin.get('/templates?purpose=client');
    expect(text(await filtered.text())).not.toContain('Potvrzení objednávky');
    const searched = await admin.get('/templates?q=potvrzen', { 'HX-Request': 'true', 'HX-Target': 'template-rows' });
    const fragment = await searched.text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('Potvrzení objednávky');
  });

  it('shows the editor with the variables of the purpose and the attachment', async () => {
    const res = await admin.get(`/templates/${templateId}/edit`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('{{#order.items}}');
    expect(html).toContain('{{{order.items_table}}}');
    expect(html).toContain('obchodni-podminky.pdf');
    expect(html).toContain('name="body"');
    expect(html).toMatch(/<option value="\d+"[^>]*>OBJ-2026-0042 · Pekárna U Čápa<\/option>/);
  });

  it('sends an htmx navigation to the editor to a full page load (its scripts must run)', async () => {
    const res = await admin.get(`/templates/${templateId}/edit`, { 'HX-Request': 'true', 'HX-Boosted': 'true' });
    expect(res.headers.get('HX-Redirect')).toBe(`/templates/${templateId}/edit`);
    expect(await res.text()).toBe('');
    const short = await admin.get(`/templates/${templateId}`);
    expect(short.status).toBe(303);
    expect(short.headers.get('location')).toBe(`/templates/${templateId}/edit`);
  });

  it('finds records for the preview by number or name', async () => {
    const res = await admin.get('/templates/records?purpose=order&preview_q=evil', { 'HX-Request': 'true' });
    const html = await res.text();
    expect(html).toContain('OBJ-EVIL');
    expect(html).not.toContain('OBJ-2026-0042');
    const clientsRes = await admin.get('/templates/records?purpose=client&preview_q=pek', { 'HX-Request': 'true' });
    expect(await clientsRes.text()).toContain('Pekárna U Čápa &lt;info@pekarna.cz&gt;');
  });

  it('swaps the variables panel when the purpose changes', async () => {
    const res = await admin.get('/templates/variables?purpose=contract', { 'HX-Request': 'true' });
    const html = await res.text();
    expect(html).toContain('{{contract.number}}');
    expect(html).not.toContain('{{order.number}}');
    expect(html).toContain('hx-swap-oob');
  });

  it('previews the unsaved form on a real order, escaped, in a sandboxed frame', async () => {
    const res = await admin.post(
      '/templates/preview',
      { purpose: 'order', locale: 'cs', subject: 'Objednávka {{order.number}} – {{client.name}}', body: ITEMS_BODY, preview_record: String(ids.order) },
      { 'HX-Request': 'true' },
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Objednávka OBJ-2026-0042 – Pekárna U Čápa');
    expect(html).toMatch(/<iframe[^>]* sandbox=""[^>]* srcdoc="/);
    expect(html).not.toMatch(/allow-scripts/);
    // The body sits escaped inside srcdoc: the item named "Rohlík <tuhý>" is escaped twice over.
    expect(html).toContain('Rohlík &amp;lt;tuhý&amp;gt;: 1,5 kg × 43,33');
    expect(html).toContain('default-src &#39;none&#39;; img-src data:');
  });

  it('previews a client named like markup or a tag literally', async () => {
    const res = await admin.post('/templates/preview', {
      purpose: 'order',
      locale: 'cs',
      subject: 'Pro {{client.name}}',
      body: '<p>{{client.name}}</p>',
      preview_record: String(ids.evilOrder),
    });
    const html = await res.text();
    expect(html).toContain('Pro &lt;img src=x onerror=alert(1)&gt; {{secret}}');
    expect(html).toContain('&lt;p&gt;&amp;lt;img src=x onerror=alert(1)&amp;gt; {{secret}}&lt;/p&gt;');
    expect(html).not.toContain('<img src=x');
  });

  it('shows validation issues instead of a preview', async () => {
    const res = await admin.post('/templates/preview', { purpose: 'order', locale: 'cs', subject: '', body: '<p>{{client.secret}}</p>', preview_record: String(ids.order) });
    const page = text(await res.text());
    expect(page).toContain('řádek 1, sloupec 4');
    expect(page).toContain('{{client.secret}}');
    expect(page).not.toContain('iframe');
  });

  it('previews without JavaScript through the form itself, keeping everything typed', async () => {
    const res = await postForm(admin, `/templates/${templateId}/edit`, {
      name: 'Změněný název',
      purpose: 'order',
      locale: 'cs',
      subject: 'Objednávka {{order.number}}',
      body: ITEMS_BODY,
      preview_record: String(ids.order),
      action: 'preview',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('value="Změněný název"');
    expect(html).toContain('srcdoc=');
    const [row] = await t.db.select().from(templates).where(eq(templates.id, templateId));
    expect(row!.name).toBe('Potvrzení objednávky');
  });

  it('refuses an unknown variable on save with its position, keeping the form', async () => {
    const res = await postForm(admin, `/templates/${templateId}/edit`, {
      name: 'Potvrzení objednávky',
      purpose: 'order',
      locale: 'cs',
      subject: 'Objednávka {{order.numbr}}',
      body: '<p>Ahoj</p>\r\n<p>{{{client.name}}}</p>',
      action: 'save',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    const page = text(html);
    expect(page).toContain('řádek 1, sloupec 12');
    expect(page).toContain('Neznámá proměnná „order.numbr“');
    expect(page).toContain('řádek 2, sloupec 4');
    expect(page).toContain('{{{client.name}}}');
    expect(html).toContain('value="Objednávka {{order.numbr}}"');
    expect(html).toContain('&lt;p&gt;{{{client.name}}}&lt;/p&gt;');
    const [row] = await t.db.select().from(templates).where(eq(templates.id, templateId));
    expect(row!.subject).toBe('Objednávka {{order.number}}');
  });

  it('saves an edit, sanitising the body, and logs before and after', async () => {
    const edit = await admin.get(`/templates/${templateId}/edit`);
    const token = /name="attachment" value="([^"]+)"/.exec(await edit.text())![1]!;
    const res = await postForm(admin, `/templates/${templateId}/edit`, {
      name: 'Potvrzení objednávky v2',
      purpose: 'order',
      locale: 'en',
      subject: 'Order {{order.number}}',
      body: '<p onclick="steal()">Hello {{client.name}}</p><script>alert(1)</script>{{{order.items_table}}}',
      attachment: token,
      action: 'save',
    });
    expect(res.status).toBe(303);
    const [row] = await t.db.select().from(templates).where(eq(templates.id, templateId));
    expect(row).toMatchObject({ name: 'Potvrzení objednávky v2', locale: 'en', subject: 'Order {{order.number}}' });
    expect(row!.bodyHtml).toBe('<p>Hello {{client.name}}</p>{{{order.items_table}}}');
    expect(await t.db.select().from(templateAttachments).where(eq(templateAttachments.templateId, templateId))).toHaveLength(1);
    const [audit] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'template.update'), eq(auditLog.objectId, String(templateId))));
    expect(audit!.before).toMatchObject({ name: 'Potvrzení objednávky', locale: 'cs' });
    expect(audit!.after).toMatchObject({ name: 'Potvrzení objednávky v2', locale: 'en', attachments: [{ filename: 'obchodni-podminky.pdf' }] });
  });

  it('renders the saved template for an order through the composer API, in the template’s language', async () => {
    const out = await renderTemplateFor(t.db, templateId, { orderId: ids.order }, ctx);
    expect(out.template).toMatchObject({ id: templateId, purpose: 'order', locale: 'en' });
    expect(out.subject).toBe('Order OBJ-2026-0042');
    expect(out.bodyHtml).toContain('<p>Hello Pekárna U Čápa</p><table');
    expect(out.bodyHtml).toContain('<th align="left">Item</th>');
    expect(out.bodyHtml).toContain('<td>Rohlík &lt;tuhý&gt;</td><td align="right">1.5 kg</td><td align="right">CZK\u00a043.33</td>');
    expect(out.attachments).toMatchObject([{ filename: 'obchodni-podminky.pdf', contentType: 'application/pdf' }]);
    const choices = await listTemplateChoices(t.db, ['order']);
    expect(choices.map((c) => c.name)).toContain('Potvrzení objednávky v2');
    expect(await listTemplateChoices(t.db, ['contract'])).toEqual([]);
    await expect(renderTemplateFor(t.db, templateId, { orderId: 999_999 }, ctx)).rejects.toBeInstanceOf(NotFoundError);
    await expect(renderTemplateFor(t.db, 999_999, { orderId: ids.order }, ctx)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('duplicates a template with its attachments', async () => {
    const res = await admin.post(`/templates/${templateId}/duplicate`, {});
    expect(res.status).toBe(303);
    const copyId = Number(/\/templates\/(\d+)\/edit$/.exec(res.headers.get('location')!)![1]);
    const [copy] = await t.db.select().from(templates).where(eq(templates.id, copyId));
    expect(copy).toMatchObject({ name: 'Kopie – Potvrzení objednávky v2', purpose: 'order', subject: 'Order {{order.number}}' });
    expect(await t.db.select().from(templateAttachments).where(eq(templateAttachments.templateId, copyId))).toHaveLength(1);
  });

  it('deletes after a confirmation; messages written from it keep their copy', async () => {
    const [message] = await t.db
      .insert(messages)
      .values({ messageIdHeader: '<t1@posel.invalid>', subject: 'Order OBJ-2026-0042', bodyBlob: 'x', templateId })
      .returning({ id: messages.id });
    const confirm = await admin.get(`/templates/${templateId}/delete`);
    expect(text(await confirm.text())).toContain('Smazat šablonu „Potvrzení objednávky v2“?');
    const res = await admin.post(`/templates/${templateId}/delete`, {});
    expect(res.status).toBe(303);
    expect(await t.db.select().from(templates).where(eq(templates.id, templateId))).toEqual([]);
    const [kept] = await t.db.select().from(messages).where(eq(messages.id, message!.id));
    expect(kept).toMatchObject({ subject: 'Order OBJ-2026-0042', templateId: null });
    const [audit] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'template.delete'), eq(auditLog.objectId, String(templateId))));
    expect(audit).toMatchObject({ summary: 'Potvrzení objednávky v2' });
    expect((await admin.get(`/templates/${templateId}/edit`)).status).toBe(404);
  });

  it('refuses a viewer (no templates.manage) with 403', async () => {
    await addUser(t.database, 'viewer', 'viewer@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    expect((await viewer.get('/templates')).status).toBe(403);
    expect((await viewer.get('/templates/new')).status).toBe(403);
    const res = await postForm(viewer, '/templates/new', { name: 'X', purpose: 'client', locale: 'cs', subject: '', body: '' });
    expect(res.status).toBe(403);
    expect((await viewer.post('/templates/preview', { purpose: 'client', body: '' })).status).toBe(403);
  });
});

describe('template data of real records', () => {
  it('fills a contract, an activity, a list and a client', async () => {
    const contract = (await loadTemplateData(t.db, 'contract', { contractId: ids.contract }, ctx)) as Record<string, Record<string, string>>;
    expect(contract.contract).toMatchObject({ number: 'SML-7', title: 'Dodávky pečiva', valid_from: '1. 1. 2026', value: '120\u00a0000,00\u00a0Kč', status: 'platná' });
    expect(contract.client!.name).toBe('Pekárna U Čápa');
    const activity = (await loadTemplateData(t.db, 'activity', { activityId: ids.activity }, ctx)) as Record<string, Record<string, string>>;
    expect(activity.activity).toMatchObject({ type: 'Schůzka', subject: 'Ochutnávka', time: '10:30', participants: 'Petr Malý' });
    const list = (await loadTemplateData(t.db, 'list', { listId: ids.list }, ctx)) as Record<string, Record<string, string>>;
    expect(list.list!.name).toBe('Jarní akce');
    expect(list.client!.email).toBe('info@pekarna.cz');
    const client = (await loadTemplateData(t.db, 'client', { clientId: ids.pekarna }, ctx)) as Record<string, Record<string, string>>;
    expect(client.client).toMatchObject({ name: 'Pekárna U Čápa', ico: '12345678', country: 'Česko' });
    expect(client.sender).toMatchObject({ name: 'Jana Nováková', email: 'jana@firma.cz' });
  });

  it('answers NotFoundError for a missing record', async () => {
    await expect(loadTemplateData(t.db, 'contract', { contractId: 999_999 }, ctx)).rejects.toBeInstanceOf(NotFoundError);
    await expect(loadTemplateData(t.db, 'order', {}, ctx)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('template attachments over the limit', () => {
  it('refuses the upload with a message and keeps everything typed', async () => {
    const [small, smallAdmin] = await createAdminApp({ ATTACHMENTS_MAX_MB: 1 });
    try {
      const res = await postForm(
        smallAdmin,
        '/templates/new',
        { name: 'Ceník', purpose: 'client', locale: 'cs', subject: 'Ceník pro {{client.name}}', body: '<p>Dobrý den, {{client.name}}</p>', action: 'save' },
        [{ name: 'cenik.pdf', body: 'x'.repeat(1024 * 1024 + 10) }],
      );
      expect(res.status).toBe(422);
      const html = await res.text();
      expect(text(html)).toContain('povolené maximum je 1 MB');
      expect(html).toContain('value="Ceník pro {{client.name}}"');
      expect(html).toContain('&lt;p&gt;Dobrý den, {{client.name}}&lt;/p&gt;');
      expect(await small.db.select().from(templates)).toEqual([]);
    } finally {
      await small.close();
    }
  });
});
