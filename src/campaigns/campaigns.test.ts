import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/client.ts';
import { readUnsubscribeToken } from '../unsubscribe/token.ts';
import { getSendDefaults, saveSendDefaults } from '../settings/send-defaults.ts';
import { activities, auditLog, campaignAttachments, campaigns, clients, listMembers, marketingLists, messageAttachments, messages, orderItems, orders, suppressions, templates } from '../db/schema/index.ts';
import { claimDue } from '../sender/queries.ts';
import { SYSTEM, createAdminApp, type TestClient } from '../test-support/harness.ts';
import { generateForCampaign, waitForGeneration, type GenerationDeps } from './generation.ts';
import {
  cancelCampaign,
  checkCampaigns,
  createCampaign,
  pauseCampaign,
  queueCampaign,
  recipientStates,
  resumeCampaign,
  saveCampaignMessage,
  startGeneration,
} from './service.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;
let deps: GenerationDeps;
let adminId: number;
const actor = () => ({ ...SYSTEM, actorId: adminId });

/** The visible text of a page: tags dropped, whitespace collapsed. */
const text = async (res: Response) =>
  (await res.text())
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ');

async function addClients(rows: { name: string; email: string | null; companyName?: string | null; noMarketing?: boolean }[]): Promise<number[]> {
  const inserted = await t.db
    .insert(clients)
    .values(rows.map((r) => ({ name: r.name, email: r.email, companyName: r.companyName ?? null, noMarketing: r.noMarketing ?? false })))
    .returning({ id: clients.id });
  return inserted.map((r) => r.id);
}

const campaignMessages = (id: number) => t.db.select().from(messages).where(eq(messages.campaignId, id)).orderBy(messages.id);
const claimAll = (now = new Date()) => claimDue(t.db, { accountId: null, isDefault: false, owner: 'test', now, leaseMs: 60_000, limit: 1000 });

async function generatedCampaign(clientIds: number[], body = '<p>Dobrý den, {{client.name}}</p>') {
  const id = await createCampaign(t.db, actor(), { kind: 'clients', name: 'Test', marketing: false, purpose: 'client', clientIds });
  await saveCampaignMessage(t.db, actor(), id, { name: 'Test', templateId: null, subject: 'Pro {{client.name}}', bodyHtml: body, attachmentPattern: null });
  await startGeneration(deps, actor(), id, { background: false });
  const result = await generateForCampaign(deps, id);
  expect(result.finished).toBe(true);
  return id;
}

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  deps = { db: t.db, store: t.store, timeZone: 'Europe/Prague', publicUrl: 'https://posel.firma.cz' };
  adminId = rowsOf<{ id: number }>(await t.db.execute(sql`select id from users order by id limit 1`))[0]!.id;
});
afterAll(() => t.close());

describe('bulk e-mail wizard from the address book', () => {
  it('walks the five steps without JavaScript: errors with positions, invalid addresses with reasons, nothing queued before step 5', async () => {
    const ids = await addClients([
      { name: 'Jan Novák', email: 'jan@novak.cz' },
      { name: 'Bez E-mailu', email: null },
      { name: 'Špatná Adresa', email: 'spatna@@adresa' },
      { name: 'Blokovaný', email: 'blok@firma.cz' },
      { name: 'Eva Dvořáková', email: 'eva@dvorakova.cz', noMarketing: true },
    ]);
    await t.db.insert(suppressions).values({ address: 'blok@firma.cz', reason: 'hard bounce' });
    const [tpl] = await t.db
      .insert(templates)
      .values({ name: 'Pozdrav', purpose: 'client', subject: 'Dobrý den, {{client.name}}', bodyHtml: '<p>Vážený kliente {{client.name}},</p><p>zdraví {{sender.name}}</p>' })
      .returning({ id: templates.id });

    // The address book's bulk form posts the ticked clients here.
    let res = await admin.post('/campaigns/from-clients', { scope: 'selected', ids: ids.map(String) });
    expect(res.status).toBe(303);
    const step1 = res.headers.get('location')!;
    const id = Number(/\/campaigns\/(\d+)\/message$/.exec(step1)![1]);

    // Step 1: an unknown variable is refused with line:column, the typed text stays.
    res = await admin.post(step1, { name: 'Pozdrav klientům', template: '', subject: 'Ahoj {{client.nazev}}', body: '<p>Text</p>', attachment_pattern: '', action: 'next' });
    expect(res.status).toBe(422);
    const page = await text(res);
    expect(page).toContain('Předmět řádek 1, sloupec 6 : Neznámá proměnná „client.nazev“');
    expect(page).toContain('{{client.nazev}}');
    // "Use template" fills subject and body from the template.
    res = await admin.post(step1, { name: 'Pozdrav klientům', template: String(tpl!.id), subject: '', body: '', attachment_pattern: '', action: 'load' });
    expect(res.status).toBe(303);
    expect(await (await admin.get(step1)).text()).toContain('value="Dobrý den, {{client.name}}"');
    res = await admin.post(step1, {
      name: 'Pozdrav klientům',
      template: String(tpl!.id),
      subject: 'Dobrý den, {{client.name}}',
      body: '<p>Vážený kliente {{client.name}},</p>',
      attachment_pattern: '',
      action: 'next',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/campaigns/${id}/recipients`);

    // Step 2: each left-out recipient with the reason (not a marketing mail: "no marketing" still gets it).
    const step2 = await text(await admin.get(`/campaigns/${id}/recipients`));
    expect(step2).toMatch(/Bez E-mailu — bez e-mailu/);
    expect(step2).toMatch(/Špatná Adresa spatna@@adresa neplatná adresa/);
    expect(step2).toMatch(/Blokovaný blok@firma.cz adresa je na seznamu blokovaných/);
    expect(step2).toContain('Vygenerovat 2 zprávy');

    // Step 3: generate (in the background), progress page.
    res = await admin.post(`/campaigns/${id}/generate`, {});
    expect(res.headers.get('location')).toBe(`/campaigns/${id}/generate`);
    await waitForGeneration(id);
    expect(await text(await admin.get(`/campaigns/${id}/generate`))).toContain('Zpracováno 5 z 5 příjemců (100 %)');

    // Step 4: two drafts, generated, linked to their clients; nothing in the queue, nothing claimable.
    const generated = await campaignMessages(id);
    expect(generated.map((m) => [m.status, m.generated, m.clientId, m.subject])).toEqual([
      ['draft', true, ids[0], 'Dobrý den, Jan Novák'],
      ['draft', true, ids[4], 'Dobrý den, Eva Dvořáková'],
    ]);
    expect(await claimAll()).toEqual([]);
    const review = await text(await admin.get(`/campaigns/${id}/review`));
    expect(review).toContain('Vygenerovaných zpráv: 2');
    expect(review).toContain('bez e-mailu');
    expect(await text(await admin.get(`/messages?campaign=${id}`))).toContain('Dobrý den, Eva Dvořáková');

    // Step 5: schedule with a window; bad input keeps what was typed.
    res = await admin.post(`/campaigns/${id}/send`, { when: 'later', at: 'zítra', not_after: '', window_start: '8:00', window_end: '25:00', failure_limit: '' });
    expect(res.status).toBe(422);
    const bad = await res.text();
    expect(bad).toContain('value="zítra"');
    expect(bad).toContain('Zadejte čas jako 8:00.');
    res = await admin.post(`/campaigns/${id}/send`, { when: 'later', at: '2099-01-05T09:30', not_after: '', window_start: '8:00', window_end: '17:00', failure_limit: '5' });
    expect(res.status).toBe(303);
    const queued = await campaignMessages(id);
    expect(queued.map((m) => m.status)).toEqual(['queued', 'queued']);
    expect(queued[0]!.sendAt!.toISOString()).toBe('2099-01-05T08:30:00.000Z');
    const [row] = await t.db.select().from(campaigns).where(eq(campaigns.id, id));
    expect([row!.status, row!.windowStart, row!.windowEnd, row!.failureLimit]).toEqual(['sending', 480, 1020, 5]);
    const actions = (await t.db.select({ action: auditLog.action }).from(auditLog).where(and(eq(auditLog.objectType, 'campaign'), eq(auditLog.objectId, String(id))))).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['campaign.create', 'campaign.update', 'campaign.generate', 'campaign.generate_batch', 'campaign.generated', 'campaign.queue']));

    // History lists it with its counts and a link to its messages.
    const history = await text(await admin.get('/campaigns'));
    expect(history).toContain('Pozdrav klientům');
    expect(await admin.get('/campaigns').then((r) => r.text())).toContain(`/messages?campaign=${id}`);
  });

  it('refuses to start without a selection and answers 404 for an unknown campaign', async () => {
    const res = await admin.post('/campaigns/from-clients', { scope: 'selected' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/clients');
    expect((await admin.get('/campaigns/999999/message')).status).toBe(404);
  });
});

describe('generation', () => {
  it('a template error for one recipient (a missing value) is listed with the reason; the rest proceed', async () => {
    const ids = await addClients([
      { name: 'Firma A', email: 'a@firma-a.cz', companyName: 'A s.r.o.' },
      { name: 'Pan B', email: 'b@firma-b.cz', companyName: null },
      { name: 'Firma C', email: 'c@firma-c.cz', companyName: 'C a.s.' },
    ]);
    const id = await generatedCampaign(ids, '<p>Pro {{client.company_name}}</p>{{#client.phone}}<p>{{client.phone}}</p>{{/client.phone}}');
    const states = await recipientStates(t.db, id);
    expect(states.map((s) => [s.state, s.reason])).toEqual([
      ['generated', null],
      ['error', 'missing_value:client.company_name'],
      ['generated', null],
    ]);
    expect((await campaignMessages(id)).map((m) => m.clientId)).toEqual([ids[0], ids[2]]);
    const detail = await text(await admin.get(`/campaigns/${id}/review?state=error`));
    expect(detail).toContain('Pan B b@firma-b.cz Chyba: chybí hodnota client.company_name');
  });

  it('a list campaign: members added after the start get nothing, members who unsubscribe before their message get nothing', async () => {
    const ids = await addClients(
      Array.from({ length: 6 }, (_, i): { name: string; email: string; noMarketing?: boolean } => ({ name: `Člen ${String.fromCharCode(65 + i)}`, email: `clen${i}@seznam-test.cz` })).concat([
        { name: 'Člen Z nechce', email: 'z@seznam-test.cz', noMarketing: true },
      ]),
    );
    const [list] = await t.db.insert(marketingLists).values({ name: 'Jaro' }).returning({ id: marketingLists.id });
    await t.db.insert(listMembers).values(ids.map((clientId) => ({ listId: list!.id, clientId })));
    const id = await createCampaign(t.db, actor(), { kind: 'list', name: 'Jaro', marketing: true, purpose: 'list', listId: list!.id });
    await saveCampaignMessage(t.db, actor(), id, { name: 'Jaro', templateId: null, subject: '{{list.name}}', bodyHtml: '<p>{{client.name}}</p>', attachmentPattern: null });
    // Step 2 shows the one who refuses marketing.
    expect(await text(await admin.get(`/campaigns/${id}/recipients`))).toContain('Člen Z nechce z@seznam-test.cz nechce marketing');
    await startGeneration(deps, actor(), id, { background: false });
    // Two recipients done, then the list changes: a new member, and Člen E unsubscribes.
    await generateForCampaign(deps, id, { batchSize: 2, maxBatches: 1 });
    const [late] = await addClients([{ name: 'Člen Pozdní', email: 'pozde@seznam-test.cz' }]);
    await t.db.insert(listMembers).values({ listId: list!.id, clientId: late! });
    await t.db.update(clients).set({ noMarketing: true }).where(eq(clients.id, ids[4]!));
    expect((await generateForCampaign(deps, id, { batchSize: 2 })).finished).toBe(true);
    const states = await recipientStates(t.db, id);
    expect(states).toHaveLength(7);
    expect(states.some((s) => s.clientId === late)).toBe(false);
    expect(states.find((s) => s.clientId === ids[4])).toMatchObject({ state: 'skipped', reason: 'no_marketing' });
    expect(states.find((s) => s.clientId === ids[6])).toMatchObject({ state: 'skipped', reason: 'no_marketing' });
    const sent = await campaignMessages(id);
    expect(sent.map((m) => m.clientId).sort()).toEqual([ids[0], ids[1], ids[2], ids[3], ids[5]].sort());
    expect(new Set(sent.map((m) => m.clientId)).size).toBe(sent.length);
    expect(sent.every((m) => m.subject === 'Jaro' && m.listId === list!.id)).toBe(true);
    // Marketing mail: each message carries its recipient's own unsubscribe link, in the body and for the header.
    for (const m of sent) {
      expect(m.unsubscribeUrl).toMatch(/^https:\/\/posel\.firma\.cz\/unsubscribe\/[\w-]+\.[\w-]{22}$/);
      expect(await readUnsubscribeToken(t.db, m.unsubscribeUrl!.split('/').pop()!)).toEqual({ clientId: m.clientId, campaignId: id });
      const body = (await t.store.get(m.bodyBlob)).toString('utf8');
      expect(body).toContain(`<a href="${m.unsubscribeUrl}">Odhlásit se z obchodních sdělení</a>`);
    }
  });

  it('resumes an interrupted generation at the next pending recipient; two runs at once still write one message each', async () => {
    const ids = await addClients(Array.from({ length: 9 }, (_, i) => ({ name: `Obnova ${i}`, email: `obnova${i}@firma.cz` })));
    const id = await createCampaign(t.db, actor(), { kind: 'clients', name: 'Obnova', marketing: false, purpose: 'client', clientIds: ids });
    await saveCampaignMessage(t.db, actor(), id, { name: 'Obnova', templateId: null, subject: 'Ahoj {{client.name}}', bodyHtml: '<p>x</p>', attachmentPattern: null });
    await startGeneration(deps, actor(), id, { background: false });
    const first = await generateForCampaign(deps, id, { batchSize: 2, maxBatches: 2 });
    expect(first).toMatchObject({ generated: 4, finished: false });
    expect((await recipientStates(t.db, id)).filter((s) => s.state === 'pending').map((s) => s.position)).toEqual([4, 5, 6, 7, 8]);
    // "Restart": two processes resume the same campaign at once.
    const [a, b] = await Promise.all([generateForCampaign(deps, id, { batchSize: 2 }), generateForCampaign(deps, id, { batchSize: 2 })]);
    expect(a.generated + b.generated).toBe(5);
    const all = await campaignMessages(id);
    expect(all.map((m) => m.clientId).sort()).toEqual([...ids].sort());
    expect((await recipientStates(t.db, id)).every((s) => s.state === 'generated' && s.messageId != null)).toBe(true);
    const [row] = await t.db.select().from(campaigns).where(eq(campaigns.id, id));
    expect([row!.status, row!.processedCount, row!.recipientCount]).toEqual(['generated', 9, 9]);
  });

  it('shares one stored attachment by blob id and matches per-recipient files by the pattern', async () => {
    const ids = await addClients([
      { name: 'Faktura A', email: 'fa@firma.cz', companyName: '111' },
      { name: 'Faktura B', email: 'fb@firma.cz', companyName: '222' },
      { name: 'Faktura C', email: 'fc@firma.cz', companyName: '333' },
    ]);
    const id = await createCampaign(t.db, actor(), { kind: 'clients', name: 'Faktury', marketing: false, purpose: 'client', clientIds: ids });
    const blob = (s: string) => t.store.putBlob(s);
    const upload = [
      { blobId: await blob('obchodní podmínky'), filename: 'podminky.pdf', contentType: 'application/pdf', sizeBytes: 17 },
      { blobId: await blob('faktura 111'), filename: 'faktura-111.pdf', contentType: 'application/pdf', sizeBytes: 11 },
      { blobId: await blob('faktura 222'), filename: 'faktura-222.pdf', contentType: 'application/pdf', sizeBytes: 11 },
    ];
    await saveCampaignMessage(t.db, actor(), id, {
      name: 'Faktury',
      templateId: null,
      subject: 'Faktura',
      bodyHtml: '<p>{{client.name}}</p>',
      attachmentPattern: 'faktura-{{client.company_name}}.pdf',
      upload,
    });
    expect((await t.db.select().from(campaignAttachments).where(eq(campaignAttachments.campaignId, id))).map((f) => [f.filename, f.shared])).toEqual([
      ['podminky.pdf', true],
      ['faktura-111.pdf', false],
      ['faktura-222.pdf', false],
    ]);
    await startGeneration(deps, actor(), id, { background: false });
    await generateForCampaign(deps, id);
    const states = await recipientStates(t.db, id);
    expect(states.map((s) => s.state)).toEqual(['generated', 'generated', 'error']);
    expect(states[2]!.reason).toBe('attachment_missing:faktura-333.pdf');
    const files = await t.db
      .select({ messageId: messageAttachments.messageId, filename: messageAttachments.filename, blobId: messageAttachments.blobId })
      .from(messageAttachments)
      .where(inArray(messageAttachments.messageId, states.filter((s) => s.messageId).map((s) => s.messageId!)))
      .orderBy(messageAttachments.messageId, messageAttachments.position);
    expect(files.map((f) => f.filename)).toEqual(['podminky.pdf', 'faktura-111.pdf', 'podminky.pdf', 'faktura-222.pdf']);
    expect(files[0]!.blobId).toBe(files[2]!.blobId);
    expect(files[0]!.blobId).toBe(upload[0]!.blobId);
  });
});

describe('orders (the engine helper E calls)', () => {
  it('writes one message per order with its items, linked to the order and its client', async () => {
    const [client] = await addClients([{ name: 'Pekárna U Čápa', email: 'info@pekarna.cz' }]);
    const made = await t.db
      .insert(orders)
      .values([
        { number: 'OBJ-1', clientId: client!, orderedOn: '2026-11-20', status: 'confirmed', totalNet: 10000n, totalVat: 2100n, totalGross: 12100n },
        { number: 'OBJ-2', clientId: client!, orderedOn: '2026-11-21', status: 'confirmed', totalNet: 5000n, totalVat: 1050n, totalGross: 6050n },
      ])
      .returning({ id: orders.id });
    await t.db.insert(orderItems).values([
      { orderId: made[0]!.id, position: 1, name: 'Chléb kmínový', quantityMilli: 3000n, unit: 'ks', unitPrice: 3333n, vatRateBp: 2100 },
      { orderId: made[1]!.id, position: 1, name: 'Rohlík', quantityMilli: 10000n, unit: 'ks', unitPrice: 500n, vatRateBp: 1200 },
    ]);
    const id = await createCampaign(t.db, actor(), { kind: 'orders', name: 'Expedice', marketing: false, purpose: 'order', orderIds: [made[1]!.id, made[0]!.id, 999_999] });
    await saveCampaignMessage(t.db, actor(), id, {
      name: 'Expedice',
      templateId: null,
      subject: 'Objednávka {{order.number}} odeslána',
      bodyHtml: '<ul>{{#order.items}}<li>{{name}}</li>{{/order.items}}</ul>',
      attachmentPattern: null,
    });
    await startGeneration(deps, actor(), id, { background: false });
    expect((await generateForCampaign(deps, id)).generated).toBe(2);
    const written = await campaignMessages(id);
    expect(written.map((m) => [m.subject, m.orderId, m.clientId, m.generated])).toEqual([
      ['Objednávka OBJ-2 odeslána', made[1]!.id, client, true],
      ['Objednávka OBJ-1 odeslána', made[0]!.id, client, true],
    ]);
    expect((await t.store.get(written[0]!.bodyBlob)).toString('utf8')).toBe('<ul><li>Rohlík</li></ul>');
    // Transactional mail: no unsubscribe link, in the body or for the header.
    expect(written.every((m) => m.unsubscribeUrl === null)).toBe(true);
  });
});

describe('campaign control', () => {
  it('pause stops the sender from claiming the campaign, resume lets it, the window is respected, cancel cancels what waits', async () => {
    const ids = await addClients([
      { name: 'Ř 1', email: 'r1@firma.cz' },
      { name: 'Ř 2', email: 'r2@firma.cz' },
    ]);
    const id = await generatedCampaign(ids);
    await queueCampaign(t.db, actor(), id, { sendAt: null, notAfter: null, windowStart: 8 * 60, windowEnd: 17 * 60, failureLimit: null, accountId: null });
    // 7:00 UTC is 8:00 in Prague in winter: inside; 17:30 UTC is 18:30: outside.
    expect(await claimAll(new Date('2098-01-05T17:30:00Z'))).toEqual([]);
    await pauseCampaign(t.db, actor(), id);
    expect(await claimAll(new Date('2098-01-05T09:00:00Z'))).toEqual([]);
    const page = await text(await admin.get(`/campaigns/${id}`));
    expect(page).toContain('Pozastaveno');
    expect((await admin.post(`/campaigns/${id}/resume`, {})).status).toBe(303);
    const claimed = await claimAll(new Date('2098-01-05T09:00:00Z'));
    expect(claimed).toHaveLength(2);
    // Back to the queue (as the sender's graceful stop does), then cancel through the page.
    await t.db.update(messages).set({ status: 'queued', leaseOwner: null, leaseUntil: null }).where(inArray(messages.id, claimed));
    expect((await admin.post(`/campaigns/${id}/cancel`, {})).status).toBe(303);
    expect((await campaignMessages(id)).map((m) => m.status)).toEqual(['cancelled', 'cancelled']);
    const actions = (await t.db.select({ action: auditLog.action }).from(auditLog).where(and(eq(auditLog.objectType, 'campaign'), eq(auditLog.objectId, String(id))))).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['campaign.resume', 'campaign.cancel', 'campaign.pause']));
  });

  it('a message queued by hand goes out although its campaign is in review or has ended (a pause holds it)', async () => {
    const ids = await addClients([{ name: 'Ruční 1', email: 'rucni1@firma.cz' }]);
    const id = await generatedCampaign(ids);
    const [draft] = await campaignMessages(id);
    // Sent from the review on its own (the campaign is still `generated`): claimed like any message.
    await t.db.update(messages).set({ status: 'queued', sendAt: new Date('2098-01-05T09:00:00Z') }).where(eq(messages.id, draft!.id));
    expect(await claimAll(new Date('2098-01-05T09:00:00Z'))).toEqual([draft!.id]);
    // Resent after the campaign is done: the same.
    await t.db.update(campaigns).set({ status: 'done' }).where(eq(campaigns.id, id));
    await t.db.update(messages).set({ status: 'queued', leaseOwner: null, leaseUntil: null }).where(eq(messages.id, draft!.id));
    expect(await claimAll(new Date('2098-01-05T09:00:00Z'))).toEqual([draft!.id]);
    // Paused: held.
    await t.db.update(campaigns).set({ status: 'paused' }).where(eq(campaigns.id, id));
    await t.db.update(messages).set({ status: 'queued', leaseOwner: null, leaseUntil: null }).where(eq(messages.id, draft!.id));
    expect(await claimAll(new Date('2098-01-05T09:00:00Z'))).toEqual([]);
  });

  it('auto-pauses after the failure limit, and a campaign with nothing left to send is done', async () => {
    const ids = await addClients(Array.from({ length: 3 }, (_, i) => ({ name: `Limit ${i}`, email: `limit${i}@firma.cz` })));
    const id = await generatedCampaign(ids);
    await queueCampaign(t.db, actor(), id, { sendAt: null, notAfter: null, windowStart: null, windowEnd: null, failureLimit: 2, accountId: null });
    const list = await campaignMessages(id);
    await t.db.update(messages).set({ status: 'failed' }).where(eq(messages.id, list[0]!.id));
    expect((await checkCampaigns(t.db)).paused).not.toContain(id);
    await t.db.update(messages).set({ status: 'failed' }).where(eq(messages.id, list[1]!.id));
    expect((await checkCampaigns(t.db)).paused).toContain(id);
    const [row] = await t.db.select().from(campaigns).where(eq(campaigns.id, id));
    expect([row!.status, row!.pausedReason]).toEqual(['paused', 'failures:2']);
    expect(await text(await admin.get(`/campaigns/${id}`))).toContain('pozastaveno automaticky po 2 nedoručených zprávách');
    // Resumed and the last one sent: done.
    await resumeCampaign(deps, actor(), id);
    await t.db.update(messages).set({ status: 'sent', sentAt: new Date() }).where(eq(messages.id, list[2]!.id));
    await t.db.update(campaigns).set({ failureLimit: null }).where(eq(campaigns.id, id));
    expect((await checkCampaigns(t.db)).done).toContain(id);
  });

  it('cancelling during review leaves the drafts unqueued', async () => {
    const ids = await addClients([{ name: 'Storno', email: 'storno@firma.cz' }]);
    const id = await generatedCampaign(ids);
    await cancelCampaign(t.db, actor(), id);
    expect((await campaignMessages(id)).map((m) => m.status)).toEqual(['draft']);
    await expect(queueCampaign(t.db, actor(), id, { sendAt: null, notAfter: null, windowStart: null, windowEnd: null, failureLimit: null, accountId: null })).rejects.toThrow();
  });
});

describe('"mail to a client creates an activity" (setting) in bulk', () => {
  it('queueing a campaign records one done e-mail activity per client message, linked and audited; a marketing one records none', async () => {
    const defaults = await getSendDefaults(t.db);
    await saveSendDefaults(t.db, actor(), { ...defaults, mailCreatesActivity: true });
    try {
      const ids = await addClients([
        { name: 'Aktivita A', email: 'aktivita.a@firma.cz' },
        { name: 'Aktivita B', email: 'aktivita.b@firma.cz' },
      ]);
      const id = await generatedCampaign(ids);
      expect(await queueCampaign(t.db, actor(), id, { sendAt: null, notAfter: null, windowStart: null, windowEnd: null, failureLimit: null, accountId: null })).toBe(2);
      const sent = await campaignMessages(id);
      const made = await t.db.select().from(activities).where(inArray(activities.clientId, ids));
      expect(made.map((a) => [a.clientId, a.type, a.done, a.subject, a.note]).sort()).toEqual(
        [
          [ids[0], 'email', true, 'Pro Aktivita A', '→ aktivita.a@firma.cz'],
          [ids[1], 'email', true, 'Pro Aktivita B', '→ aktivita.b@firma.cz'],
        ].sort(),
      );
      for (const m of sent) expect(made.find((a) => a.clientId === m.clientId)!.id).toBe(m.activityId);
      const audits = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.created'), inArray(auditLog.objectId, made.map((a) => String(a.id)))));
      expect(audits).toHaveLength(2);
      expect(audits[0]!.after).toMatchObject({ type: 'email', via: 'mail', messageId: sent.find((m) => String(m.activityId) === audits[0]!.objectId)!.id });
      // Marketing: none (thousands of newsletter activities would bury the real ones).
      const [other] = await addClients([{ name: 'Aktivita C', email: 'aktivita.c@firma.cz' }]);
      const marketing = await generatedCampaign([other!]);
      await t.db.update(campaigns).set({ marketing: true }).where(eq(campaigns.id, marketing));
      await queueCampaign(t.db, actor(), marketing, { sendAt: null, notAfter: null, windowStart: null, windowEnd: null, failureLimit: null, accountId: null });
      expect(await t.db.select().from(activities).where(eq(activities.clientId, other!))).toHaveLength(0);
    } finally {
      await saveSendDefaults(t.db, actor(), defaults);
    }
  });
});
