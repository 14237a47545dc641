import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, campaignRecipients, campaigns, clients, messages, orders, suppressions } from '../db/schema/index.ts';
import { createAdminApp, createTestApp, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { createTemplate } from '../templates/service.ts';
import { isGenerating, waitForOrderGeneration } from './processing.ts';
import { createOrder } from './service.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let withEmail: number;
let noEmail: number;
let bounced: number;
let templateId: number;

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const rows = await t.db
    .insert(clients)
    .values([
      { name: 'Pekárna U Lípy', email: 'info@pekarna.cz' },
      { name: 'Bez adresy s.r.o.' },
      { name: 'Odražená adresa', email: 'nikdo@neexistuje.cz' },
    ])
    .returning({ id: clients.id });
  [withEmail, noEmail, bounced] = rows.map((r) => r.id) as [number, number, number];
  await t.db.insert(suppressions).values({ address: 'nikdo@neexistuje.cz', reason: 'hard_bounce' });
  templateId = await createTemplate(
    t.db,
    {
      name: 'Objednávka odeslána',
      purpose: 'order',
      locale: 'cs',
      subject: 'Objednávka {{order.number}}: {{order.status}}',
      bodyHtml: '<p>Dobrý den, {{client.name}},</p><ul>{{#order.items}}<li>{{name}} × {{quantity}}</li>{{/order.items}}</ul>',
      attachments: [],
    },
    SYSTEM,
  );
});
afterAll(() => t.close());

let seq = 0;
async function order(clientId: number, status: 'new' | 'confirmed' | 'shipped' | 'completed' | 'cancelled' = 'confirmed') {
  seq++;
  return createOrder(
    t.db,
    {
      number: `P-${seq}-${Math.random().toString(36).slice(2, 7)}`,
      clientId,
      orderedOn: '2026-11-20',
      dueOn: null,
      status,
      currency: 'CZK',
      note: null,
      items: [{ name: `Rohlík ${seq}`, quantityMilli: 3000n, unit: 'ks', unitPrice: 350n, vatRateBp: 1200 }],
    },
    SYSTEM,
  );
}

const statusOf = async (id: number) => (await t.db.select({ s: orders.status }).from(orders).where(eq(orders.id, id)))[0]!.s;
const campaignIdFrom = (res: Response) => Number(/\/orders\/process\/(\d+)$/.exec(res.headers.get('location') ?? '')?.[1]);

async function start(ids: number[], action = 'ship') {
  const res = await admin.post('/orders/process', { scope: 'selected', ids: ids.map(String), action });
  expect(res.status).toBe(303);
  return campaignIdFrom(res);
}

describe('order processing wizard', () => {
  it('offers a checkbox per order and the actions on the order list', async () => {
    const id = await order(withEmail);
    const html = await (await admin.get('/orders')).text();
    expect(html).toContain(`name="ids" value="${id}" form="process"`);
    expect(html).toContain('action="/orders/process"');
    expect(html).toContain('Označit jako odeslané');
  });

  it('ships three orders: each changes state, gets one message with its items, linked to the order and client, in one bulk action', async () => {
    const ids = [await order(withEmail), await order(withEmail, 'new'), await order(withEmail)];
    const campaignId = await start(ids);
    const step2 = await (await admin.get(`/orders/process/${campaignId}`)).text();
    expect(step2).toContain('Zpracuje se 3 z 3 objednávek');
    expect(step2).toContain('Objednávka odeslána');
    // Nothing happened yet.
    expect(await statusOf(ids[0]!)).toBe('confirmed');

    const res = await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
    expect(res.status).toBe(303);
    for (const id of ids) expect(await statusOf(id)).toBe('shipped');
    const mails = await t.db.select().from(messages).where(eq(messages.campaignId, campaignId));
    expect(mails).toHaveLength(3);
    for (const m of mails) {
      expect(m.status).toBe('draft');
      expect(m.generated).toBe(true);
      expect(m.clientId).toBe(withEmail);
      expect(ids).toContain(m.orderId);
      expect(m.subject).toMatch(/^Objednávka P-\d+-\w+: odeslaná$/);
      expect(m.toAddrs).toEqual([{ address: 'info@pekarna.cz', name: 'Pekárna U Lípy' }]);
      const body = (await t.store.get(m.bodyBlob)).toString('utf8');
      expect(body).toMatch(/Rohlík \d+ × 3/);
    }
    const [campaign] = await t.db.select().from(campaigns).where(eq(campaigns.id, campaignId));
    expect(campaign).toMatchObject({ kind: 'orders', orderAction: 'ship', status: 'generated', templateId, recipientCount: 3, processedCount: 3 });
    const audits = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'order.status_changed'), inArray(auditLog.objectId, ids.map(String))));
    expect(audits).toHaveLength(3);

    const step3 = await (await admin.get(`/orders/process/${campaignId}`)).text();
    expect(step3).toContain(`href="/messages?campaign=${campaignId}"`);
    expect(step3).toContain('Připravené e-maily: <strong data-count="generated">3</strong>');
    // The order's Communication tab shows its message.
    const tab = await (await admin.get(`/orders/${ids[0]}?tab=communication`)).text();
    expect(tab).toMatch(/Objednávka P-\d+-\w+: odeslaná/);
  });

  it('reports each failing order with its reason and rolls back only that order', async () => {
    const good = await order(withEmail);
    const done = await order(withEmail, 'completed');
    const mute = await order(noEmail);
    const bounce = await order(bounced);
    const campaignId = await start([good, done, mute, bounce]);
    const step2 = await (await admin.get(`/orders/process/${campaignId}`)).text();
    expect(step2).toContain('Zpracuje se 1 z 4 objednávek');
    expect(step2).toContain('ze stavu „dokončená“ to nejde');
    expect(step2).toContain('klient nemá e-mail');

    await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
    expect(await statusOf(good)).toBe('shipped');
    expect(await statusOf(done)).toBe('completed');
    expect(await statusOf(mute)).toBe('confirmed');
    expect(await statusOf(bounce)).toBe('confirmed');
    const rows = await t.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId));
    const byOrder = new Map(rows.map((r) => [r.orderId, r]));
    expect(byOrder.get(good)!.state).toBe('generated');
    expect(byOrder.get(done)).toMatchObject({ state: 'skipped', reason: 'orders.process.reason.not_allowed?status=completed' });
    expect(byOrder.get(mute)).toMatchObject({ state: 'skipped', reason: 'orders.process.reason.no_email' });
    expect(byOrder.get(bounce)!.reason).toMatch(/^orders\.process\.reason\.suppressed/);
    expect(await t.db.select().from(messages).where(eq(messages.campaignId, campaignId))).toHaveLength(1);

    const step3 = await (await admin.get(`/orders/process/${campaignId}`)).text();
    expect(step3).toContain('klient nemá e-mail');
    expect(step3).toContain('nikdo@neexistuje.cz');
  });

  it('an order whose message cannot be written keeps its old state; the others proceed', async () => {
    // A real failure after the state change: the database refuses this one message.
    await t.db.execute(sql`create or replace function refuse_doomed() returns trigger language plpgsql as $$
      begin if new.subject like '%DOOMED%' then raise exception 'refused for the test'; end if; return new; end $$`);
    await t.db.execute(sql`create trigger refuse_doomed before insert on messages for each row execute function refuse_doomed()`);
    try {
      const fine = await order(withEmail);
      const doomed = await order(withEmail);
      await t.db.update(orders).set({ number: `DOOMED-${doomed}` }).where(eq(orders.id, doomed));
      const campaignId = await start([fine, doomed]);
      await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
      expect(await statusOf(fine)).toBe('shipped');
      expect(await statusOf(doomed)).toBe('confirmed');
      const logged = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'order.status_changed'), eq(auditLog.objectId, String(doomed))));
      expect(logged).toHaveLength(0);
      const [row] = await t.db.select().from(campaignRecipients).where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.orderId, doomed)));
      expect(row!.state).toBe('error');
      const step3 = await (await admin.get(`/orders/process/${campaignId}`)).text();
      expect(step3).toContain('chyba při zpracování');
    } finally {
      await t.db.execute(sql`drop trigger refuse_doomed on messages`);
    }
  });

  it('a second submit of the same step writes nothing twice', async () => {
    const id = await order(withEmail);
    const campaignId = await start([id], 'confirm');
    await t.db.update(orders).set({ status: 'new' }).where(eq(orders.id, id));
    await Promise.all([
      admin.post(`/orders/process/${campaignId}/generate`, { action: 'confirm', template: String(templateId) }),
      admin.post(`/orders/process/${campaignId}/generate`, { action: 'confirm', template: String(templateId) }),
    ]);
    expect(await statusOf(id)).toBe('confirmed');
    expect(await t.db.select().from(messages).where(eq(messages.campaignId, campaignId))).toHaveLength(1);
    const [row] = await t.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId));
    expect(row!.state).toBe('generated');
  });

  it('notify changes no state; a missing template is a field error and keeps the chosen action', async () => {
    const id = await order(withEmail, 'cancelled');
    const campaignId = await start([id], 'notify');
    const bad = await admin.post(`/orders/process/${campaignId}/generate`, { action: 'notify', template: '' });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).toContain('Vyberte šablonu pro objednávky.');
    expect(html).toMatch(/value="notify" checked/);
    await admin.post(`/orders/process/${campaignId}/generate`, { action: 'notify', template: String(templateId) });
    expect(await statusOf(id)).toBe('cancelled');
    expect(await t.db.select().from(messages).where(eq(messages.campaignId, campaignId))).toHaveLength(1);
  });

  it('"all matching" takes every order the filter matches', async () => {
    const c = (await t.db.insert(clients).values({ name: 'Filtr Klient', email: 'filtr@klient.cz' }).returning({ id: clients.id }))[0]!.id;
    const ids = [await order(c), await order(c)];
    const res = await admin.post('/orders/process', { scope: 'all', client: String(c), action: 'complete' });
    const campaignId = campaignIdFrom(res);
    const rows = await t.db.select().from(campaignRecipients).where(eq(campaignRecipients.campaignId, campaignId));
    expect(rows.map((r) => r.orderId).sort()).toEqual([...ids].sort());
  });

  it('nothing ticked goes back to the list with a message', async () => {
    const res = await admin.post('/orders/process', { scope: 'selected', action: 'ship', status: 'new' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/orders?status=new');
    expect(await (await admin.get('/orders?status=new')).text()).toContain('Nevybrali jste žádnou objednávku.');
  });

  it('sends now or schedules: the generated drafts are queued, audited', async () => {
    const ids = [await order(withEmail), await order(withEmail)];
    const campaignId = await start(ids);
    await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
    const res = await admin.post(`/orders/process/${campaignId}/send`, { when: 'later', at: '2099-01-01T08:00' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/messages?campaign=${campaignId}`);
    const mails = await t.db.select().from(messages).where(eq(messages.campaignId, campaignId));
    expect(mails.map((m) => m.status)).toEqual(['queued', 'queued']);
    expect(mails[0]!.sendAt!.getUTCFullYear()).toBe(2099);
    const [campaign] = await t.db.select().from(campaigns).where(eq(campaigns.id, campaignId));
    expect(campaign!.status).toBe('sending');
    // A second send does nothing.
    await admin.post(`/orders/process/${campaignId}/send`, { when: 'now' });
    expect((await t.db.select().from(messages).where(eq(messages.campaignId, campaignId))).every((m) => m.sendAt!.getUTCFullYear() === 2099)).toBe(true);
  });

  it('many orders: generate answers at once with the progress, which polls itself until the result', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 51; i++) ids.push(await order(withEmail));
    const campaignId = await start(ids);
    const res = await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
    expect(res.status).toBe(303);
    const during = await admin.get(`/orders/process/${campaignId}`);
    const html = await during.text();
    if (isGenerating(campaignId)) {
      expect(html).toContain(`hx-get="/orders/process/${campaignId}/progress"`);
      expect(during.headers.get('Refresh')).toBe('2');
    }
    await waitForOrderGeneration(campaignId);
    const fragment = await admin.get(`/orders/process/${campaignId}/progress`, { 'HX-Request': 'true' });
    expect(fragment.headers.get('HX-Refresh')).toBe('true');
    expect(await t.db.select().from(messages).where(eq(messages.campaignId, campaignId))).toHaveLength(51);
    expect(await (await admin.get(`/orders/process/${campaignId}`)).text()).toContain('Připravené e-maily: <strong data-count="generated">51</strong>');
  });

  it('a run that stopped (process restarted) offers to resume, and resuming finishes the rest once', async () => {
    const ids = [await order(withEmail), await order(withEmail)];
    const campaignId = await start(ids);
    await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
    // As if the process died after the first order: the second row back to pending, its order unchanged.
    const [second] = await t.db.select().from(campaignRecipients).where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.orderId, ids[1]!)));
    await t.db.delete(messages).where(eq(messages.id, second!.messageId!));
    await t.db.update(campaignRecipients).set({ state: 'pending', messageId: null }).where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.orderId, ids[1]!)));
    await t.db.update(orders).set({ status: 'confirmed' }).where(eq(orders.id, ids[1]!));
    await t.db.update(campaigns).set({ status: 'generating' }).where(eq(campaigns.id, campaignId));
    const page = await (await admin.get(`/orders/process/${campaignId}`)).text();
    expect(page).toContain('Zpracování se přerušilo');
    expect(page).toContain('Pokračovat ve zpracování');
    await admin.post(`/orders/process/${campaignId}/generate`, { action: 'ship', template: String(templateId) });
    expect(await statusOf(ids[1]!)).toBe('shipped');
    const mails = await t.db.select().from(messages).where(eq(messages.campaignId, campaignId));
    expect(mails.map((m) => m.orderId).sort()).toEqual([...ids].sort());
    expect((await t.db.select().from(campaigns).where(eq(campaigns.id, campaignId)))[0]!.status).toBe('generated');
  });

  it('someone without orders.manage cannot start it', async () => {
    const { addUser, signIn } = await import('../test-support/harness.ts');
    await addUser(t.database, 'viewer', 'viewer@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    const id = await order(withEmail);
    const res = await viewer.post('/orders/process', { scope: 'selected', ids: [String(id)], action: 'ship' });
    expect(res.status).toBe(403);
    expect(await (await viewer.get('/orders')).text()).not.toContain('action="/orders/process"');
  });
});
