/**
 * Issue 6, items 2 and 3: bulk actions on the communication list (selected rows, the page, all matching;
 * send now, schedule, cancel, retry, delete drafts, re-link, .eml zip), the background job for large
 * selections, and inline editing of a draft's subject and To in its row.
 */
import { inflateRawSync } from 'node:zlib';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, clients, messages, messageSearch, orders, rolePermissions, roles, users } from '../db/schema/index.ts';
import { createUser } from '../users/service.ts';
import { addUser, createAdminApp, signIn, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { BATCH_SIZE, bulkJobsSettled, runBulk } from './bulk.ts';
import { createDraft } from './service.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;
let adminId: number;
let seq = 0;

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  adminId = (await t.db.select({ id: users.id }).from(users).orderBy(users.id).limit(1))[0]!.id;
});
afterAll(() => t.close());

/** A message in any state, inserted directly (the queue's own tests cover how it gets there). */
async function message(status: string, subject: string, extra: Partial<typeof messages.$inferInsert> = {}) {
  const [m] = await t.db
    .insert(messages)
    .values({
      status,
      messageIdHeader: `<b${++seq}@posel.test>`,
      subject,
      toAddrs: [{ address: `klient${seq}@firma.cz` }],
      recipients: `klient${seq}@firma.cz`,
      bodyBlob: await t.store.putBlob(`<p>Text zprávy ${subject}</p>`),
      sendAt: status === 'queued' || status === 'deferred' ? new Date(Date.now() + 86_400_000) : null,
      createdBy: adminId,
      ...extra,
    })
    .returning();
  await t.db.insert(messageSearch).values({ messageId: m!.id, search: sql`to_tsvector('posel_unaccent', ${subject})` });
  return m!;
}
const statusOf = async (id: number) => (await t.db.select({ s: messages.status }).from(messages).where(eq(messages.id, id)))[0]?.s;
const auditRows = (action: string, ids: number[]) =>
  t.db.select().from(auditLog).where(and(eq(auditLog.action, action), inArray(auditLog.objectId, ids.map(String))));
const flashOf = async (client: TestClient = admin) => {
  const html = await (await client.get('/messages?status=draft')).text();
  return /<p class="flash flash-(?:success|error|info)"[^>]*>([^<]*)/.exec(html)?.[1]?.trim().replace(/&#39;/g, "'").replace(/&quot;/g, '"');
};
const bulk = (form: Record<string, string | string[]>, client: TestClient = admin) => client.post('/messages/bulk', { back: '/messages', scope: 'selected', ...form });

describe('the bulk bar on /messages', () => {
  it('shows a box per row, "this page", "all matching" (counted on request) and the actions the user may run', async () => {
    const m = await message('queued', 'Pozvánka na veletrh');
    const html = await (await admin.get('/messages')).text();
    expect(html).toContain('id="messages-bulk"');
    expect(html).toMatch(new RegExp(`<input type="checkbox" name="ids" value="${m.id}" form="messages-bulk"`));
    expect(html).toMatch(new RegExp(`<input type="hidden" name="page_ids" value="${m.id}">`));
    expect(html).toContain('hx-get="/messages/bulk/count"');
    for (const a of ['send_now', 'schedule', 'cancel', 'retry', 'delete', 'relink', 'export']) expect(html).toContain(`<option value="${a}"`);
    const count = await (await admin.get('/messages/bulk/count?status=queued', { 'HX-Request': 'true' })).text();
    expect(count).toMatch(/všech \d+ odpovídajících/);
  });

  it('keeps the filter and search as hidden fields for "all matching"', async () => {
    const html = await (await admin.get('/messages?status=queued&q=veletrh')).text();
    expect(html).toContain('<input type="hidden" name="f.status" value="queued">');
    expect(html).toContain('<input type="hidden" name="f.q" value="veletrh">');
  });

  it('shows a viewer neither boxes nor the bar', async () => {
    await addUser(t.database, 'viewer', 'viewer@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    const html = await (await viewer.get('/messages')).text();
    expect(html).not.toContain('messages-bulk');
    expect(html).not.toContain('name="ids"');
  });
});

describe('bulk actions', () => {
  it('cancels the selected messages and says how many were skipped and why, with an audit row each', async () => {
    const a = await message('queued', 'A');
    const b = await message('deferred', 'B');
    const c = await message('sent', 'C');
    const res = await bulk({ action: 'cancel', ids: [a.id, b.id, c.id].map(String) });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/messages');
    expect([await statusOf(a.id), await statusOf(b.id), await statusOf(c.id)]).toEqual(['cancelled', 'cancelled', 'sent']);
    expect(await flashOf()).toBe('2 zrušeno, 1 přeskočeno: už odesláno.');
    expect((await auditRows('message.cancel', [a.id, b.id, c.id])).map((r) => Number(r.objectId)).sort()).toEqual([a.id, b.id].sort());
  });

  it('groups several skip reasons with their counts', async () => {
    const a = await message('queued', 'A2');
    const s1 = await message('sent', 'S1');
    const s2 = await message('sent', 'S2');
    const d = await message('draft', 'D');
    await bulk({ action: 'cancel', ids: [a.id, s1.id, s2.id, d.id].map(String) });
    expect(await flashOf()).toBe('1 zrušeno, 3 přeskočeno: už odesláno (2), koncept (není ve frontě) (1).');
  });

  it('refuses an action the user lacks the permission for, changing nothing and logging the attempt', async () => {
    const m = await message('queued', 'Viewer cancel');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    const res = await bulk({ action: 'cancel', ids: [String(m.id)] }, viewer);
    expect(res.status).toBe(403);
    expect(await statusOf(m.id)).toBe('queued');
    const denied = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'access.denied'), eq(auditLog.objectId, 'POST /messages/bulk')));
    expect(denied.at(-1)?.summary).toBe('missing permission messages.send');
  });

  it('checks each action\'s own permission: a sender may cancel but not delete, export or re-link', async () => {
    const [role] = await t.db.insert(roles).values({ name: 'Odesílatel' }).returning();
    await t.db.insert(rolePermissions).values(['messages.view', 'messages.send'].map((permission) => ({ roleId: role!.id, permission })));
    await createUser(t.db, { name: 'Odesílatel', email: 'sender@firma.cz', roleId: role!.id, locale: 'cs', password: 'Heslo pro test 123' }, SYSTEM);
    const sender = t.client();
    await signIn(sender, 'sender@firma.cz', 'Heslo pro test 123');
    const html = await (await sender.get('/messages')).text();
    expect(html).toContain('<option value="cancel"');
    for (const a of ['delete', 'relink', 'export']) expect(html).not.toContain(`<option value="${a}"`);
    const d = await message('draft', 'Cizí akce');
    for (const [action, permission] of [['delete', 'messages.delete'], ['export', 'messages.export'], ['relink', 'messages.edit']] as const) {
      const res = await bulk({ action, client: 'jan@novak.cz', ids: [String(d.id)] }, sender);
      expect(res.status).toBe(403);
      const [denied] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'access.denied'), eq(auditLog.summary, `missing permission ${permission}`)));
      expect(denied?.objectId).toBe('POST /messages/bulk');
    }
    expect(await statusOf(d.id)).toBe('draft');
    const q = await message('queued', 'Odesílatel ruší');
    await bulk({ action: 'cancel', ids: [String(q.id)] }, sender);
    expect(await statusOf(q.id)).toBe('cancelled');
  });

  it('refuses a schedule without a future time: the list again with the error, the ticks and the typing kept', async () => {
    const m = await message('queued', 'Plánovaná');
    const before = (await t.db.select().from(messages).where(eq(messages.id, m.id)))[0]!.sendAt;
    const res = await bulk({ action: 'schedule', at: 'zítra ráno', ids: [String(m.id)], back: '/messages?status=queued' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Zadejte čas odeslání v budoucnosti');
    expect(html).toMatch(new RegExp(`name="ids" value="${m.id}" form="messages-bulk" checked`));
    expect(html).toContain('value="zítra ráno"');
    expect(html).toMatch(/<option value="schedule" selected>/);
    expect((await t.db.select().from(messages).where(eq(messages.id, m.id)))[0]!.sendAt).toEqual(before);
  });

  it('says when nothing was selected or no action chosen', async () => {
    expect(await (await bulk({ action: 'cancel' })).text()).toContain('Nevybrali jste žádnou zprávu');
    const m = await message('queued', 'Bez akce');
    expect(await (await bulk({ action: '', ids: [String(m.id)] })).text()).toContain('Zvolte akci.');
  });

  it('schedules waiting messages and queues drafts for the chosen local time', async () => {
    const q = await message('queued', 'Q');
    const d = await message('draft', 'Koncept k naplánování');
    const res = await bulk({ action: 'schedule', at: '2099-05-01T09:30', ids: [String(q.id), String(d.id)] });
    expect(res.status).toBe(303);
    const rows = await t.db.select().from(messages).where(inArray(messages.id, [q.id, d.id]));
    for (const r of rows) {
      expect(r.status).toBe('queued');
      expect(r.sendAt?.toISOString()).toBe('2099-05-01T07:30:00.000Z'); // Europe/Prague, summer time
    }
    expect(await flashOf()).toMatch(/^2 naplánováno na 1\. 5\. 2099 9:30\.$/);
    expect(await auditRows('message.reschedule', [q.id])).toHaveLength(1);
    expect(await auditRows('message.queue', [d.id])).toHaveLength(1);
  });

  it('sends waiting messages now and retries failed ones', async () => {
    const q = await message('queued', 'Hned');
    const f = await message('failed', 'Selhala');
    await bulk({ action: 'send_now', ids: [String(q.id), String(f.id)] });
    expect(await flashOf()).toBe('1 zařazeno k odeslání hned, 1 přeskočeno: neodesláno.');
    const [row] = await t.db.select().from(messages).where(eq(messages.id, q.id));
    expect(row!.sendAt!.getTime()).toBeLessThanOrEqual(Date.now());
    await bulk({ action: 'retry', ids: [String(f.id)] });
    expect(await statusOf(f.id)).toBe('queued');
    expect(await auditRows('message.retry', [f.id])).toHaveLength(1);
  });

  it('applies an action to all messages matching the filter and the search, re-run on the server', async () => {
    const x = await message('failed', 'Faktura za březen');
    const y = await message('failed', 'Faktura za duben');
    const other = await message('failed', 'Pozvánka');
    const queued = await message('queued', 'Faktura ve frontě');
    await bulk({ action: 'retry', scope: 'all', 'f.status': 'failed', 'f.q': 'faktura', back: '/messages?status=failed&q=faktura' });
    expect([await statusOf(x.id), await statusOf(y.id)]).toEqual(['queued', 'queued']);
    expect(await statusOf(other.id)).toBe('failed');
    expect(await statusOf(queued.id)).toBe('queued');
  });

  it('takes "this page" from the page\'s ids, without JavaScript', async () => {
    const a = await message('queued', 'P1');
    const b = await message('queued', 'P2');
    await bulk({ action: 'cancel', scope: 'page', page_ids: [String(a.id), String(b.id)] });
    expect([await statusOf(a.id), await statusOf(b.id)]).toEqual(['cancelled', 'cancelled']);
  });

  it('deletes drafts the user may delete, skipping others\' drafts and non-drafts, with the delete audit row', async () => {
    const mine = await message('draft', 'Můj koncept');
    const queued = await message('queued', 'Ve frontě');
    await bulk({ action: 'delete', ids: [String(mine.id), String(queued.id)] });
    expect(await statusOf(mine.id)).toBeUndefined();
    expect(await flashOf()).toBe('1 smazáno, 1 přeskočeno: už ve frontě.');
    const [row] = await auditRows('message.delete', [mine.id]);
    expect(row?.before).toMatchObject({ subject: 'Můj koncept', to: expect.stringContaining('@firma.cz') });

    // Staff may delete their own drafts only (not someone else's without "edit generated").
    await addUser(t.database, 'staff', 'staff@firma.cz');
    const staff = t.client();
    await signIn(staff, 'staff@firma.cz', 'Heslo pro test 123');
    const admins = await message('draft', 'Koncept administrátorky');
    await bulk({ action: 'delete', ids: [String(admins.id)] }, staff);
    expect(await statusOf(admins.id)).toBe('draft');
    expect(await flashOf(staff)).toBe('0 smazáno, 1 přeskočeno: koncept někoho jiného nebo vygenerovaný.');
  });

  it('re-links messages to a client (picked by e-mail), clearing an order of another client, with before/after in the log', async () => {
    const [novak] = await t.db.insert(clients).values({ name: 'Jan Novák', email: 'jan@novak.cz', kind: 'person' }).returning();
    const [dvorak] = await t.db.insert(clients).values({ name: 'Eva Dvořáková', email: 'eva@dvorakova.cz', kind: 'person' }).returning();
    const [order] = await t.db.insert(orders).values({ number: 'OBJ-1', clientId: novak!.id, orderedOn: '2026-03-01' }).returning();
    const sent = await message('sent', 'Omylem u Nováka', { clientId: novak!.id, orderId: order!.id });
    const already = await message('sent', 'Už u Dvořákové', { clientId: dvorak!.id });
    const res = await bulk({ action: 'relink', client: 'eva@dvorakova.cz', ids: [String(sent.id), String(already.id)] });
    expect(res.status).toBe(303);
    const [row] = await t.db.select().from(messages).where(eq(messages.id, sent.id));
    expect({ clientId: row!.clientId, orderId: row!.orderId }).toEqual({ clientId: dvorak!.id, orderId: null });
    expect(await flashOf()).toBe('1 propojeno s klientem Eva Dvořáková, 1 přeskočeno: už u tohoto klienta.');
    const [audit] = await auditRows('message.relink', [sent.id]);
    expect(audit?.before).toMatchObject({ clientId: novak!.id, orderId: order!.id });
    expect(audit?.after).toMatchObject({ clientId: dvorak!.id, orderId: null });

    const bad = await bulk({ action: 'relink', client: 'nikdo@nikde.cz', ids: [String(sent.id)] });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).toContain('value="nikdo@nikde.cz"');
    expect(html).toMatch(/class="error">[^<]+<\/small>/);
  });

  it('offers clients for the re-link field as the user types', async () => {
    const html = await (await admin.get('/messages/bulk/client-suggest?client=dvo', { 'HX-Request': 'true' })).text();
    expect(html).toContain('Eva Dvořáková');
    expect(html).toContain('hx-get="/messages/bulk/client-field?client=');
    const field = await (await admin.get('/messages/bulk/client-field?client=eva%40dvorakova.cz', { 'HX-Request': 'true' })).text();
    expect(field).toContain('✓ Eva Dvořáková');
  });
});

/** The entries of a zip (central directory → local headers → deflate), enough to read yazl's output back. */
function unzip(zip: Buffer): { name: string; data: Buffer }[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataAt, dataAt + size);
    out.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    at += 46 + nameLength + extra + comment;
  }
  return out;
}

describe('export as .eml files in a zip', () => {
  it('streams a zip of <id>-<subject>.eml files that parse back, and logs one row naming them', async () => {
    const a = await createDraft(t.db, t.store, SYSTEM, { subject: 'Žluťoučký kůň / cena', to: [{ address: 'jan@novak.cz', name: 'Jan Novák' }], cc: [], bcc: [], bodyHtml: '<p>Dobrý den, posíláme nabídku.</p>', attachments: [] });
    const b = await createDraft(t.db, t.store, SYSTEM, { subject: 'Faktura 2026-0042', to: [{ address: 'eva@dvorakova.cz' }], cc: [], bcc: [], bodyHtml: '<p>Faktura v příloze.</p>', attachments: [] });
    const res = await bulk({ action: 'export', ids: [String(a), String(b)] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="zpravy-\d{4}-\d{2}-\d{2}\.zip"/);
    const entries = unzip(Buffer.from(await res.arrayBuffer()));
    expect(entries.map((e) => e.name)).toEqual([`${a}-Žluťoučký kůň _ cena.eml`, `${b}-Faktura 2026-0042.eml`]);
    const first = await simpleParser(entries[0]!.data);
    expect(first.subject).toBe('Žluťoučký kůň / cena');
    expect(first.text).toContain('posíláme nabídku');
    expect((first.to as { text: string }).text).toContain('jan@novak.cz');
    const log = await t.db.select().from(auditLog).where(eq(auditLog.action, 'message.export_bulk'));
    expect(log).toHaveLength(1);
    expect(log[0]!.after).toMatchObject({ count: 2, ids: [a, b] });
    expect(await statusOf(a)).toBe('draft');
  });
});

describe('large selections', () => {
  it('cancels 1,500 queued messages in batches through a background job, with progress, an audit row each and a summary', async () => {
    await t.db.update(messages).set({ status: 'sent' }).where(inArray(messages.status, ['queued', 'deferred']));
    const blob = await t.store.putBlob('<p>Hromadná</p>');
    const values = Array.from({ length: 1500 }, (_, i) => ({
      status: 'queued',
      messageIdHeader: `<bulk${i}@posel.test>`,
      subject: `Hromadná ${i}`,
      toAddrs: [{ address: `k${i}@firma.cz` }],
      recipients: `k${i}@firma.cz`,
      bodyBlob: blob,
      sendAt: new Date(Date.now() + 86_400_000),
    }));
    const ids: number[] = [];
    for (let i = 0; i < values.length; i += 1000) ids.push(...(await t.db.insert(messages).values(values.slice(i, i + 1000)).returning({ id: messages.id })).map((r) => r.id));

    const res = await bulk({ action: 'cancel', scope: 'all', 'f.status': 'queued', back: '/messages?status=queued' });
    expect(res.status).toBe(303);
    const jobUrl = res.headers.get('location')!;
    expect(jobUrl).toMatch(/^\/messages\/bulk\/jobs\/[0-9a-f]{32}$/);
    // The page answers while the job runs; someone else cannot see it.
    const running = await (await admin.get(jobUrl)).text();
    expect(running).toMatch(/Zpracováno [\d\s ]+ z 1[\s ]500|zrušeno/);
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    expect((await viewer.get(jobUrl)).status).toBe(404);

    await bulkJobsSettled();
    const done = await (await admin.get(jobUrl, { 'HX-Request': 'true' })).text();
    expect(done).toMatch(/1[\s ]500 zrušeno\./);
    expect(done).not.toContain('hx-trigger');
    const [left] = await t.db.select({ n: sql<number>`count(*)::int` }).from(messages).where(eq(messages.status, 'queued'));
    expect(left!.n).toBe(0);
    const [logged] = await t.db
      .select({ n: sql<number>`count(distinct ${auditLog.objectId})::int` })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'message.cancel'), inArray(auditLog.objectId, ids.map(String))));
    expect(logged!.n).toBe(1500);
  });

  it('reports progress after every batch', async () => {
    const ids = await Promise.all(Array.from({ length: 3 }, (_, i) => message('queued', `Progress ${i}`).then((m) => m.id)));
    const seen: number[] = [];
    const totals = await runBulk(t.db, SYSTEM, { id: adminId, permissions: new Set() }, { action: 'cancel' }, [...ids, ...Array.from({ length: BATCH_SIZE }, (_, i) => 2_000_000_000 + i)], (n) => seen.push(n));
    expect(seen).toEqual([BATCH_SIZE, BATCH_SIZE + 3]);
    expect(totals.done).toBe(3);
    expect(totals.reasons).toEqual({ 'messages.bulk.why.gone': BATCH_SIZE });
  });
});

describe('inline editing of a draft in the list', () => {
  const partial = { 'HX-Request': 'true' };

  it('swaps the row for a small form and saves subject and To through the edit rules, with the audit row', async () => {
    const d = await message('draft', 'Nabídka', { toAddrs: [{ address: 'jan@novak.cz' }], recipients: 'jan@novak.cz', ccAddrs: [{ address: 'kopie@firma.cz' }] });
    const list = await (await admin.get('/messages?status=draft')).text();
    expect(list).toContain(`hx-get="/messages/${d.id}/inline?back=`);
    const form = await (await admin.get(`/messages/${d.id}/inline?back=%2Fmessages`, partial)).text();
    expect(form).toMatch(/^\s*<tr id="msg-\d+" class="msg-editing">/);
    expect(form).toContain('name="subject" type="text" value="Nabídka"');
    expect(form).toContain(`name="version" value="${d.version}"`);

    const res = await admin.post(`/messages/${d.id}/inline`, { subject: 'Nabídka na rok 2027', to: 'Jan Novák <jan@novak.cz>, eva@dvorakova.cz', version: String(d.version), back: '/messages' }, partial);
    expect(res.status).toBe(200);
    const row = await res.text();
    expect(row).toContain('Nabídka na rok 2027');
    expect(row).toContain('jan@novak.cz, eva@dvorakova.cz');
    const [saved] = await t.db.select().from(messages).where(eq(messages.id, d.id));
    expect(saved!.ccAddrs).toEqual([{ address: 'kopie@firma.cz' }]);
    expect(saved!.version).toBe(d.version + 1);
    const [audit] = await auditRows('message.update', [d.id]);
    expect(audit?.before).toMatchObject({ subject: 'Nabídka' });
    expect(audit?.after).toMatchObject({ subject: 'Nabídka na rok 2027' });
  });

  it('shows a bad address in the row with the typing kept', async () => {
    const d = await message('draft', 'Adresa');
    const res = await admin.post(`/messages/${d.id}/inline`, { subject: 'Adresa 2', to: 'jan@@novak', version: String(d.version) }, partial);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('value="jan@@novak"');
    expect(html).toContain('value="Adresa 2"');
    expect(html).toMatch(/aria-invalid="true" aria-describedby="inline-\d+-e-to"/);
    expect(await statusOf(d.id)).toBe('draft');
  });

  it('refuses a stale version with the input kept', async () => {
    const d = await message('draft', 'Souběh');
    const res = await admin.post(`/messages/${d.id}/inline`, { subject: 'Moje verze', to: '', version: String(d.version - 1) }, partial);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('Mezitím zprávu upravil někdo jiný');
    expect(html).toContain('value="Moje verze"');
    expect((await t.db.select().from(messages).where(eq(messages.id, d.id)))[0]!.subject).toBe('Souběh');
  });

  it('offers no edit link on a sent message and refuses an edit of one', async () => {
    const s = await message('sent', 'Odeslaná');
    const list = await (await admin.get('/messages?status=sent')).text();
    expect(list).not.toContain(`/messages/${s.id}/inline`);
    const res = await admin.post(`/messages/${s.id}/inline`, { subject: 'x', to: '', version: String(s.version) }, partial);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('upravovat a mazat lze jen koncepty');
  });

  it('works without JavaScript: a page with the same form, saving returns to the list with a flash', async () => {
    const d = await message('draft', 'Bez JS');
    const page = await (await admin.get(`/messages/${d.id}/inline?back=%2Fmessages%3Fstatus%3Ddraft`)).text();
    expect(page).toContain('<h1>Úprava předmětu a příjemců</h1>');
    expect(page).toContain(`action="/messages/${d.id}/inline"`);
    const res = await admin.post(`/messages/${d.id}/inline`, { subject: 'Bez JS 2', to: 'jan@novak.cz', version: String(d.version), back: '/messages?status=draft' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/messages?status=draft');
    expect(await flashOf()).toBe('Koncept „Bez JS 2“ byl uložen.');
  });
});
