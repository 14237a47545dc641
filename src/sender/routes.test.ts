import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../db/schema/index.ts';
import { addUser, createAdminApp, signIn, type TestClient } from '../test-support/harness.ts';

describe('the outbox page', () => {
  let t: Awaited<ReturnType<typeof createAdminApp>>[0];
  let admin: TestClient;
  let seq = 0;
  beforeAll(async () => {
    [t, admin] = await createAdminApp();
  });
  afterAll(() => t.close());

  async function message(status: string, subject: string) {
    const [m] = await t.db
      .insert(messages)
      .values({
        status,
        messageIdHeader: `<o${++seq}@posel.test>`,
        subject,
        toAddrs: [{ address: `klient${seq}@firma.cz` }],
        recipients: `klient${seq}@firma.cz`,
        bodyBlob: await t.store.putBlob('<p>x</p>'),
        sendAt: new Date(Date.now() + 3_600_000),
        lastResult: status === 'deferred' ? '451 4.7.1 Greylisted, try again in 300 seconds' : null,
      })
      .returning();
    return m!;
  }
  const statusOf = async (id: number) => (await t.db.select({ s: messages.status }).from(messages).where(eq(messages.id, id)))[0]!.s;
  const flashOf = async () => {
    const html = await (await admin.get('/outbox')).text();
    return /class="flash[^"]*"[^>]*>([^<]*)/.exec(html)?.[1]?.trim();
  };

  it('lists waiting and failed messages with the server\'s last reply, and live counters that poll while busy', async () => {
    await message('queued', 'Pozvánka na veletrh');
    await message('deferred', 'Faktura 2026-0042');
    await message('sent', 'Už odeslaná');
    const html = await (await admin.get('/outbox')).text();
    expect(html).toContain('Pozvánka na veletrh');
    expect(html).toContain('451 4.7.1 Greylisted, try again in 300 seconds');
    expect(html).not.toContain('Už odeslaná');
    expect(html).toMatch(/id="outbox-counters"[^>]*hx-trigger="every 5s"/);
  });

  it('bulk-cancels the selected messages and says which were skipped and why', async () => {
    const a = await message('queued', 'A');
    const b = await message('deferred', 'B');
    const c = await message('sent', 'C');
    const res = await admin.post('/outbox/action', { action: 'cancel', scope: 'selected', ids: [String(a.id), String(b.id), String(c.id)], back: '/outbox' });
    expect(res.status).toBe(303);
    expect(await statusOf(a.id)).toBe('cancelled');
    expect(await statusOf(b.id)).toBe('cancelled');
    expect(await statusOf(c.id)).toBe('sent');
    expect(await flashOf()).toBe('Zrušit odeslání: hotovo u 2 zpráv, 1 přeskočeno (stav: odesláno).');
  });

  it('applies an action to all messages matching the filter', async () => {
    await t.db.update(messages).set({ status: 'cancelled' }).where(sql`status in ('queued', 'deferred')`);
    const x = await message('failed', 'X');
    const y = await message('failed', 'Y');
    const q = await message('queued', 'Q');
    await admin.post('/outbox/action', { action: 'retry', scope: 'all', status: 'failed', back: '/outbox?status=failed' });
    expect(await statusOf(x.id)).toBe('queued');
    expect(await statusOf(y.id)).toBe('queued');
    expect(await statusOf(q.id)).toBe('queued');
  });

  it('refuses a reschedule without a valid future time, changing nothing', async () => {
    const m = await message('queued', 'R');
    const before = (await t.db.select().from(messages).where(eq(messages.id, m.id)))[0]!.sendAt;
    await admin.post('/outbox/action', { action: 'reschedule', scope: 'selected', ids: [String(m.id)], at: 'zítra', back: '/outbox' });
    expect(await flashOf()).toContain('Zadejte nový čas odeslání v budoucnosti');
    expect((await t.db.select().from(messages).where(eq(messages.id, m.id)))[0]!.sendAt).toEqual(before);
  });

  it('stops polling when nothing is on its way', async () => {
    await t.db.update(messages).set({ status: 'sent' });
    const html = await (await admin.get('/outbox/counters')).text();
    expect(html).toContain('id="outbox-counters"');
    expect(html).not.toContain('hx-trigger');
  });

  it('ignores an unknown state in the filter with a message', async () => {
    const html = await (await admin.get('/outbox?status=nonsense')).text();
    expect(html).toContain('Neznámá hodnota filtru byla ignorována.');
  });

  it('lets a viewer look but not act', async () => {
    await addUser(t.database, 'viewer', 'viewer@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    expect((await viewer.get('/outbox')).status).toBe(200);
    const m = await message('queued', 'V');
    expect((await viewer.post('/outbox/action', { action: 'cancel', ids: [String(m.id)] })).status).toBe(403);
    expect(await statusOf(m.id)).toBe('queued');
  });
});
