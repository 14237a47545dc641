import { rm, writeFile } from 'node:fs/promises';
import { and, eq, sql } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, auditLog, clients, contracts, messageAttachments, messages, messageSearch, orders } from '../db/schema/index.ts';
import { createTemplate } from '../templates/service.ts';
import { createDraft } from './service.ts';
import { addUser, ADMIN, createAdminApp, createTestApp, signIn, SYSTEM, type TestClient } from '../test-support/harness.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let novak: number;
let orderId: number;

/** The visible text of a page: tags dropped, entities that matter decoded, whitespace collapsed. */
const text = async (res: Response) =>
  (await res.text())
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** The value of an input in a page (what the form kept). */
function inputValue(html: string, name: string): string | undefined {
  const m = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ?? new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html);
  return m?.[1]?.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** Posts the composer as the browser does: multipart, with optional files. */
function compose(client: TestClient, url: string, fields: Record<string, string | string[]>, files: { name: string; type: string; bytes: Uint8Array | string }[] = []) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
  for (const f of files) form.append('files', new File([typeof f.bytes === 'string' ? f.bytes : (f.bytes as Uint8Array<ArrayBuffer>)], f.name, { type: f.type }));
  return client.request(url, { method: 'POST', body: form });
}

const idFrom = (res: Response) => Number(/\/messages\/(\d+)$/.exec(res.headers.get('location') ?? '')?.[1]);

async function newDraft(client: TestClient, fields: Record<string, string>, files: { name: string; type: string; bytes: Uint8Array | string }[] = []) {
  const res = await compose(client, '/messages/new', { action: 'save', ...fields }, files);
  if (res.status !== 303) throw new Error(`draft not created: ${res.status} ${(await text(res)).slice(0, 500)}`);
  return idFrom(res);
}

const messageRow = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!;
const auditOf = async (id: number, action: string) =>
  t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'message'), eq(auditLog.objectId, String(id)), eq(auditLog.action, action)));

beforeAll(async () => {
  [t, admin] = await createAdminApp({ ATTACHMENTS_MAX_MB: 1 });
  [{ id: novak }] = (await t.db
    .insert(clients)
    .values({ name: 'Jan Novák', email: 'jan@novak.cz', kind: 'person' })
    .returning({ id: clients.id })) as [{ id: number }];
  await t.db.insert(clients).values({ name: 'Eva Dvořáková', email: 'eva@dvorakova.cz', kind: 'person' });
  [{ id: orderId }] = (await t.db.insert(orders).values({ number: 'OBJ-2026-001', clientId: novak, orderedOn: '2026-03-01' }).returning({ id: orders.id })) as [
    { id: number },
  ];
});
afterAll(() => t.close());

describe('composer', () => {
  it('opened from a client, prefills To with the client and links the draft to it', async () => {
    const page = await admin.get(`/messages/new?client=${novak}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(inputValue(html, 'to')).toBe('"Jan Novák" <jan@novak.cz>');
    expect(inputValue(html, 'client')).toBe(String(novak));

    const id = await newDraft(admin, { client: String(novak), to: inputValue(html, 'to')!, subject: 'Nabídka', body: '<p>Dobrý den</p>' });
    const row = await messageRow(id);
    expect(row).toMatchObject({ status: 'draft', clientId: novak, subject: 'Nabídka', recipients: 'jan@novak.cz' });
    expect(row.toAddrs).toEqual([{ address: 'jan@novak.cz', name: 'Jan Novák' }]);
    expect(row.messageIdHeader).toMatch(/^<[0-9a-f]{32}@posel\.invalid>$/);
    expect((await t.store.get(row.bodyBlob)).toString()).toBe('<p>Dobrý den</p>');
    const [audit] = await auditOf(id, 'message.create');
    expect(audit?.summary).toBe('Nabídka → jan@novak.cz');
  });

  it('opened from an order, links the order and its client and addresses the client', async () => {
    const html = await (await admin.get(`/messages/new?order=${orderId}`)).text();
    expect(inputValue(html, 'to')).toBe('"Jan Novák" <jan@novak.cz>');
    expect(inputValue(html, 'order')).toBe(String(orderId));
    expect(inputValue(html, 'client')).toBe(String(novak));
    const id = await newDraft(admin, { order: String(orderId), client: String(novak), to: 'jan@novak.cz', subject: 'K objednávce' });
    expect(await messageRow(id)).toMatchObject({ orderId, clientId: novak });
  });

  it('suggests address-book clients with an e-mail as recipients', async () => {
    const res = await admin.get('/messages/recipients?field=cc&cc=' + encodeURIComponent('jan@novak.cz, dvoř'), { 'HX-Request': 'true' });
    const html = await res.text();
    expect(html).toContain('data-append-address="eva@dvorakova.cz"');
    expect(html).toContain('data-field="f-cc"');
    expect(html).not.toContain('jan@novak.cz');
  });

  it('refuses a subject with a line break, keeping everything typed', async () => {
    const res = await compose(admin, '/messages/new', { action: 'save', to: 'jan@novak.cz', subject: 'Ahoj\r\nBcc: x@evil.cz', body: '<p>Text zůstane</p>' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Předmět musí být na jednom řádku');
    expect(inputValue(html, 'to')).toBe('jan@novak.cz');
    expect(html).toContain('Text zůstane');
    expect(await t.db.select().from(messages).where(eq(messages.subject, 'Ahoj\r\nBcc: x@evil.cz'))).toHaveLength(0);
  });

  it('refuses a 300 KB address field before parsing it, keeping the rest', async () => {
    const before = (await t.db.select().from(messages)).length;
    const res = await compose(admin, '/messages/new', { action: 'save', to: 'a@b.cz,'.repeat(300 * 1024 / 7), subject: 'Velký seznam' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Pole s adresami je příliš dlouhé');
    expect(inputValue(html, 'subject')).toBe('Velký seznam');
    expect((await t.db.select().from(messages)).length).toBe(before);
  });

  it('refuses attachments over the limit, keeping the other fields and saving nothing', async () => {
    const before = (await t.db.select().from(messages)).length;
    const big = new Uint8Array(1024 * 1024 + 10).fill(65);
    const res = await compose(admin, '/messages/new', { action: 'save', to: 'jan@novak.cz', subject: 'S velkou přílohou', body: '<p>Tělo</p>' }, [
      { name: 'velky.bin', type: 'application/octet-stream', bytes: big },
    ]);
    expect([413, 422]).toContain(res.status);
    const html = await res.text();
    expect(html).toContain('přesahují povolených 1 MB');
    expect(inputValue(html, 'subject')).toBe('S velkou přílohou');
    expect(inputValue(html, 'to')).toBe('jan@novak.cz');
    expect((await t.db.select().from(messages)).length).toBe(before);
  });

  it('saves attachments with the draft and serves them as downloads', async () => {
    const id = await newDraft(admin, { to: 'jan@novak.cz', subject: 'S přílohou' }, [
      { name: '../../keys.json', type: 'application/json', bytes: '{"a":1}' },
      { name: 'faktura.pdf', type: 'application/pdf', bytes: '%PDF-1.4 test' },
    ]);
    const atts = await t.db.select().from(messageAttachments).where(eq(messageAttachments.messageId, id));
    expect(atts.map((a) => a.filename).sort()).toEqual(['faktura.pdf', 'keys.json']);
    expect(await messageRow(id)).toMatchObject({ attachmentCount: 2 });
    const pdf = atts.find((a) => a.filename === 'faktura.pdf')!;
    const res = await admin.get(`/messages/${id}/attachments/${pdf.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('attachment; filename="faktura.pdf"');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe('%PDF-1.4 test');
    // An attachment id of another message is not found here.
    const other = await newDraft(admin, { subject: 'Jiná' });
    expect((await admin.get(`/messages/${other}/attachments/${pdf.id}`)).status).toBe(404);
  });

  it('a viewer (no messages.create) gets 403 on the composer', async () => {
    await addUser(t.database, 'viewer', 'divak@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'divak@firma.cz', 'Heslo pro test 123');
    expect((await viewer.get('/messages/new')).status).toBe(403);
    expect((await compose(viewer, '/messages/new', { subject: 'x' })).status).toBe(403);
    expect((await viewer.get('/messages')).status).toBe(200);
  });
});

describe('editing drafts', () => {
  it('saves an edit and logs before/after with a hash of the body', async () => {
    const id = await newDraft(admin, { to: 'jan@novak.cz', subject: 'Původní', body: '<p>Jedna</p>' });
    const page = await (await admin.get(`/messages/${id}/edit`)).text();
    expect(inputValue(page, 'version')).toBe('1');
    const res = await compose(admin, `/messages/${id}/edit`, { action: 'save', version: '1', to: 'jan@novak.cz, eva@dvorakova.cz', subject: 'Nový', body: '<p>Dvě</p>' });
    expect(res.status).toBe(303);
    const row = await messageRow(id);
    expect(row).toMatchObject({ subject: 'Nový', version: 2, recipients: 'jan@novak.cz, eva@dvorakova.cz' });
    const [audit] = await auditOf(id, 'message.update');
    const before = audit!.before as Record<string, string>;
    const after = audit!.after as Record<string, string>;
    expect(before.subject).toBe('Původní');
    expect(after.subject).toBe('Nový');
    expect(after.to).toBe('jan@novak.cz, eva@dvorakova.cz');
    expect(before.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(after.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(after.bodySha256).not.toBe(before.bodySha256);
    expect(await text(await admin.get(`/messages/${id}`))).toContain(`Upraveno ${ADMIN.name}`);
    const log = await text(await admin.get(`/messages/${id}?tab=log`));
    expect(log).toContain('Úprava zprávy');
    expect(log).toContain('Nová zpráva');
  });

  it('refuses a save based on an older version, keeping the input', async () => {
    const id = await newDraft(admin, { subject: 'Verze' });
    expect((await compose(admin, `/messages/${id}/edit`, { action: 'save', version: '1', subject: 'První' })).status).toBe(303);
    const res = await compose(admin, `/messages/${id}/edit`, { action: 'save', version: '1', subject: 'Druhý', body: '<p>moje změna</p>' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Mezitím zprávu upravil někdo jiný');
    expect(inputValue(html, 'subject')).toBe('Druhý');
    expect(html).toContain('moje změna');
    expect((await messageRow(id)).subject).toBe('První');
  });

  it("another user cannot edit my draft without messages.edit_generated, but can with it", async () => {
    const id = await newDraft(admin, { subject: 'Moje' });
    await addUser(t.database, 'staff', 'kolega@firma.cz');
    const staff = t.client();
    await signIn(staff, 'kolega@firma.cz', 'Heslo pro test 123');
    expect((await staff.get(`/messages/${id}/edit`)).status).toBe(403);
    expect((await compose(staff, `/messages/${id}/edit`, { action: 'save', version: '1', subject: 'Cizí' })).status).toBe(403);
    expect(await text(await staff.get(`/messages/${id}`))).not.toMatch(/href="\/messages\/\d+\/edit"/);

    await addUser(t.database, 'manager', 'vedouci@firma.cz');
    const manager = t.client();
    await signIn(manager, 'vedouci@firma.cz', 'Heslo pro test 123');
    expect((await manager.get(`/messages/${id}/edit`)).status).toBe(200);
    expect((await compose(manager, `/messages/${id}/edit`, { action: 'save', version: '1', subject: 'Upraveno vedoucím' })).status).toBe(303);
    expect((await messageRow(id)).subject).toBe('Upraveno vedoucím');
  });

  it('a sent message is read-only', async () => {
    const id = await newDraft(admin, { subject: 'Odeslaná' });
    await t.db.update(messages).set({ status: 'sent' }).where(eq(messages.id, id));
    expect((await admin.get(`/messages/${id}/edit`)).status).toBe(403);
    expect((await compose(admin, `/messages/${id}/edit`, { action: 'save', version: '1', subject: 'Změna' })).status).toBe(403);
    expect((await admin.post(`/messages/${id}/delete`, {})).status).toBe(403);
    expect((await messageRow(id)).subject).toBe('Odeslaná');
    const page = await admin.get(`/messages/${id}`);
    expect(await page.text()).not.toContain(`/messages/${id}/edit`);
  });

  it('deletes a draft and logs it', async () => {
    const id = await newDraft(admin, { subject: 'Ke smazání' });
    const res = await admin.post(`/messages/${id}/delete`, {});
    expect(res.status).toBe(303);
    expect(await t.db.select().from(messages).where(eq(messages.id, id))).toHaveLength(0);
    expect(await auditOf(id, 'message.delete')).toHaveLength(1);
    expect((await admin.get(`/messages/${id}`)).status).toBe(404);
  });
});

describe('detail page and body', () => {
  it('serves the body under a strict CSP, sanitised', async () => {
    const id = await newDraft(admin, {
      subject: 'Nebezpečné',
      body: '<p>Ahoj<script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">klik</a></p>',
    });
    const stored = (await t.store.get((await messageRow(id)).bodyBlob)).toString();
    expect(stored).not.toMatch(/<script|onerror|javascript:/i);
    const res = await admin.get(`/messages/${id}/body`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("img-src data: cid:;");
    expect(csp).not.toContain('script-src');
    const body = await res.text();
    expect(body).toContain('Ahoj');
    expect(body).not.toMatch(/<script|onerror|javascript:/i);
    const withImages = await admin.get(`/messages/${id}/body?images=1`);
    expect(withImages.headers.get('content-security-policy')).toContain('img-src data: cid: https: http:');
  });

  it('shows the headers and the body in a sandboxed iframe', async () => {
    const id = await newDraft(admin, { to: '"Jan Novák" <jan@novak.cz>', cc: 'eva@dvorakova.cz', subject: 'Hlavičky', client: String(novak) });
    const html = await (await admin.get(`/messages/${id}`)).text();
    expect(html).toMatch(new RegExp(`<iframe[^>]*sandbox[^>]*src="/messages/${id}/body"`));
    expect(html).not.toMatch(/sandbox="[^"]*allow-scripts/);
    const visible = await text(new Response(html));
    expect(visible).toContain('Jan Novák <jan@novak.cz>');
    expect(visible).toContain('eva@dvorakova.cz');
    expect(visible).toContain((await messageRow(id)).messageIdHeader);
    expect(visible).toContain('Jan Novák');
  });
});

describe('.eml export', () => {
  it('downloads the message as .eml that parses back with its subject, body and attachments', async () => {
    const id = await newDraft(admin, { to: 'jan@novak.cz', bcc: 'archiv@firma.cz', subject: 'Export čeština', body: '<p>Dobrý den, <b>pane</b></p>' }, [
      { name: 'cenik.txt', type: 'text/plain', bytes: 'Ceník 2026' },
    ]);
    const res = await admin.get(`/messages/${id}/eml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('message/rfc822');
    expect(res.headers.get('content-disposition')).toContain('.eml');
    const mail = await simpleParser(Buffer.from(await res.arrayBuffer()));
    expect(mail.subject).toBe('Export čeština');
    expect(mail.html).toContain('<b>pane</b>');
    expect(mail.text).toContain('Dobrý den');
    expect(mail.attachments.map((a) => a.filename)).toEqual(['cenik.txt']);
    expect(mail.attachments[0]!.content.toString()).toBe('Ceník 2026');
    expect(mail.headers.get('x-unsent')).toBeUndefined();
    expect(mail.messageId).toBe((await messageRow(id)).messageIdHeader);
    expect((await messageRow(id)).status).toBe('draft');
    expect(await auditOf(id, 'message.export')).toHaveLength(1);
  });

  it('"open in my mail program" answers X-Unsent: 1 and marks the draft exported', async () => {
    const id = await newDraft(admin, { to: 'jan@novak.cz', subject: 'Do Outlooku', body: '<p>Text</p>' }, [
      { name: 'priloha.txt', type: 'text/plain', bytes: 'obsah' },
    ]);
    const res = await admin.post(`/messages/${id}/open-in-mail-client`, {});
    expect(res.status).toBe(200);
    const mail = await simpleParser(Buffer.from(await res.arrayBuffer()));
    expect(mail.headers.get('x-unsent')).toBe('1');
    expect(mail.subject).toBe('Do Outlooku');
    expect(mail.attachments.map((a) => a.filename)).toEqual(['priloha.txt']);
    expect((await messageRow(id)).status).toBe('exported');
    // Exported again: still exported, logged again; no longer editable.
    expect((await admin.post(`/messages/${id}/open-in-mail-client`, {})).status).toBe(200);
    expect(await auditOf(id, 'message.export')).toHaveLength(2);
    expect((await admin.get(`/messages/${id}/edit`)).status).toBe(403);
  });
});

describe('search vector', () => {
  it('indexes subject, recipients (also split at @ and dots) and body text, without diacritics', async () => {
    const id = await newDraft(admin, { to: '"Petr Šťastný" <petr.stastny@example.org>', subject: 'Žádost o cenovou nabídku', body: '<p>Posíláme <b>harmonogram</b> prací.</p>' });
    const found = async (q: string) =>
      (await t.db.select({ id: messageSearch.messageId }).from(messageSearch).where(sql`${messageSearch.search} @@ to_tsquery('posel_unaccent', ${q})`)).map((r) => r.id);
    expect(await found('zadost')).toContain(id);
    expect(await found('stastny')).toContain(id);
    expect(await found('example')).toContain(id);
    expect(await found('harmonogram')).toContain(id);
  });

  it('follows an edit: the new words are found, the old ones no longer', async () => {
    const id = await newDraft(admin, { to: 'jan@novak.cz', subject: 'Objednávka vánočních ozdob', body: '<p>Posíláme katalog.</p>' });
    expect((await compose(admin, `/messages/${id}/edit`, { action: 'save', version: '1', to: 'jan@novak.cz', subject: 'Objednávka velikonočních kraslic', body: '<p>Posíláme ceník.</p>' })).status).toBe(303);
    const found = async (q: string) =>
      (await t.db.select({ id: messageSearch.messageId }).from(messageSearch).where(sql`${messageSearch.search} @@ to_tsquery('posel_unaccent', ${q})`)).map((r) => r.id);
    expect(await found('kraslic:*')).toContain(id);
    expect(await found('cenik')).toContain(id);
    expect(await found('ozdob:*')).not.toContain(id);
    expect(await found('katalog')).not.toContain(id);
  });
});

describe('lists and the Communication tab', () => {
  it("a client's Communication tab lists its messages and offers a new e-mail", async () => {
    const id = await newDraft(admin, { client: String(novak), to: 'jan@novak.cz', subject: 'Na kartě klienta' });
    const html = await (await admin.get(`/clients/${novak}?tab=communication`)).text();
    expect(html).toContain(`href="/messages/${id}"`);
    expect(html).toContain('Na kartě klienta');
    expect(html).toContain(`href="/messages/new?client=${novak}"`);
    const order = await (await admin.get(`/orders/${orderId}?tab=communication`)).text();
    expect(order).toContain('K objednávce');
    expect(order).not.toContain('Na kartě klienta');
  });

  it('contracts and activities: "New e-mail" links the record and its client; their tabs list only their messages', async () => {
    const [{ id: contractId }] = (await t.db
      .insert(contracts)
      .values({ number: 'SML-7', clientId: novak, title: 'Servis', validFrom: '2026-01-01' })
      .returning({ id: contracts.id })) as [{ id: number }];
    const [{ id: activityId }] = (await t.db
      .insert(activities)
      .values({ type: 'call', subject: 'Telefonát o servisu', at: new Date('2026-03-02T10:00:00Z'), clientId: novak })
      .returning({ id: activities.id })) as [{ id: number }];
    expect(await (await admin.get(`/contracts/${contractId}`)).text()).toContain(`href="/messages/new?contract=${contractId}"`);
    expect(await (await admin.get(`/activities/${activityId}`)).text()).toContain(`href="/messages/new?activity=${activityId}&amp;to=contact"`);
    const c = await newDraft(admin, { contract: String(contractId), client: String(novak), subject: 'Ke smlouvě' });
    const a = await newDraft(admin, { activity: String(activityId), client: String(novak), subject: 'K telefonátu' });
    expect(await messageRow(c)).toMatchObject({ contractId, clientId: novak });
    expect(await messageRow(a)).toMatchObject({ activityId, clientId: novak });
    const contractTab = await text(await admin.get(`/contracts/${contractId}?tab=communication`));
    expect(contractTab).toContain('Ke smlouvě');
    expect(contractTab).not.toContain('K telefonátu');
    const activityTab = await text(await admin.get(`/activities/${activityId}?tab=communication`));
    expect(activityTab).toContain('K telefonátu');
    expect(activityTab).not.toContain('Ke smlouvě');
  });

  it('the tab shows at most 20 messages, newest first, and links to all of them', async () => {
    const [{ id: busy }] = (await t.db.insert(clients).values({ name: 'Vytížený klient', email: 'busy@firma.cz' }).returning({ id: clients.id })) as [{ id: number }];
    for (let i = 1; i <= 21; i++) {
      await createDraft(t.db, t.store, SYSTEM, { subject: `Zpráva č. ${i}.`, to: [], cc: [], bcc: [], bodyHtml: '', attachments: [] }, { link: { clientId: busy } });
    }
    const tab = await text(await admin.get(`/clients/${busy}?tab=communication`));
    expect(tab).toContain('Zpráva č. 21.');
    expect(tab).not.toContain('Zpráva č. 1.');
    expect(tab.indexOf('Zpráva č. 21.')).toBeLessThan(tab.indexOf('Zpráva č. 20.'));
    const html = await (await admin.get(`/clients/${busy}?tab=communication`)).text();
    expect(html).toContain(`href="/messages?client=${busy}"`);
    expect(await text(await admin.get(`/messages?client=${busy}`))).toContain('Zpráva č. 1.');
  });

  it('lists messages newest first, filters by state and record, and pages with a keyset', async () => {
    const list = await text(await admin.get('/messages'));
    expect(list).toContain('Na kartě klienta');
    const filtered = await text(await admin.get('/messages?status=exported'));
    expect(filtered).toContain('Do Outlooku');
    expect(filtered).not.toContain('Na kartě klienta');
    const byOrder = await text(await admin.get(`/messages?order=${orderId}`));
    expect(byOrder).toContain('K objednávce');
    expect(byOrder).not.toContain('Na kartě klienta');

    const all = await t.db.select({ id: messages.id }).from(messages);
    for (let i = all.length; i < 55; i++) await newDraft(admin, { subject: `Hromadná ${i}` });
    const first = await (await admin.get('/messages')).text();
    const older = /href="\/messages\?before=([^"]+)"/.exec(first)?.[1];
    expect(older).toBeTruthy();
    const second = await text(await admin.get(`/messages?before=${older}`));
    const firstIds = [...first.matchAll(/href="\/messages\/(\d+)"/g)].map((m) => m[1]);
    const secondIds = [...(await (await admin.get(`/messages?before=${older}`)).text()).matchAll(/href="\/messages\/(\d+)"/g)].map((m) => m[1]);
    expect(firstIds.length).toBe(50);
    expect(secondIds.some((x) => firstIds.includes(x))).toBe(false);
    expect(second).toContain('Nejnovější');
  });
});

describe('templates in the composer', () => {
  it('"Use template" on an order fills subject, body and attachments rendered for the order, then saves', async () => {
    const blobId = await t.store.putBlob('Obchodní podmínky');
    const templateId = await createTemplate(
      t.db,
      {
        name: 'Potvrzení objednávky',
        purpose: 'order',
        locale: 'cs',
        subject: 'Objednávka {{order.number}}',
        bodyHtml: '<p>Dobrý den, {{client.name}}, potvrzujeme {{order.number}}.</p>',
        attachments: [{ blobId, filename: 'podminky.txt', contentType: 'text/plain', sizeBytes: 17 }],
      },
      SYSTEM,
    );
    const page = await (await admin.get(`/messages/new?order=${orderId}`)).text();
    expect(page).toContain(`<option value="${templateId}"`);
    const res = await compose(admin, '/messages/new', { action: 'template', template: String(templateId), order: String(orderId), client: String(novak), to: 'jan@novak.cz', subject: '' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(inputValue(html, 'subject')).toBe('Objednávka OBJ-2026-001');
    expect(html).toContain('potvrzujeme OBJ-2026-001');
    expect(html).toContain('podminky.txt');
    expect(inputValue(html, 'to')).toBe('jan@novak.cz');
    const token = inputValue(html, 'attachment')!;
    expect(html).toContain('Dobrý den, Jan Novák, potvrzujeme OBJ-2026-001.');
    const body = '<p>Dobrý den, Jan Novák, potvrzujeme OBJ-2026-001.</p>';
    const id = await newDraft(admin, { order: String(orderId), client: String(novak), to: 'jan@novak.cz', subject: 'Objednávka OBJ-2026-001', body, template: String(templateId), attachment: token });
    const row = await messageRow(id);
    expect(row).toMatchObject({ templateId, orderId, attachmentCount: 1 });
  });
});

describe('store failure', () => {
  it('saves nothing when the store cannot be written, and keeps the form', async () => {
    const [own, client] = await createAdminApp();
    try {
      // The storage folder is replaced by a file: every write fails.
      await rm(own.store.dir, { recursive: true, force: true });
      await writeFile(own.store.dir, 'not a folder');
      const res = await compose(client, '/messages/new', { action: 'save', to: 'jan@novak.cz', subject: 'Neuloží se', body: '<p>Obsah zůstane</p>' });
      expect(res.status).toBe(503);
      const html = await res.text();
      expect(html).toContain('úložiště zpráv není dostupné');
      expect(inputValue(html, 'subject')).toBe('Neuloží se');
      expect(html).toContain('Obsah zůstane');
      expect(await own.db.select().from(messages)).toHaveLength(0);
      expect(await own.db.select().from(auditLog).where(eq(auditLog.action, 'message.create'))).toHaveLength(0);
    } finally {
      await own.close();
    }
  });
});
