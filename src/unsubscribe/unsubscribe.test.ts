import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, campaigns, clients, messages } from '../db/schema/index.ts';
import { messageMime } from '../messages/service.ts';
import { createAdminApp, type TestClient } from '../test-support/harness.ts';
import { listUnsubscribeHeaders, readUnsubscribeToken, unsubscribeToken, unsubscribeUrl } from './token.ts';

describe('unsubscribing from marketing mail', () => {
  let t: Awaited<ReturnType<typeof createAdminApp>>[0];
  let visitor: TestClient;
  let eva: number;
  let petr: number;
  let marketing: number;
  let transactional: number;
  let seq = 0;
  beforeAll(async () => {
    [t] = await createAdminApp();
    visitor = t.client(); // not signed in
    const rows = await t.db
      .insert(clients)
      .values([
        { name: 'Svobodová Eva', kind: 'person', email: 'eva@svobodova.cz' },
        { name: 'Petr Dvořák', kind: 'person', email: 'petr@dvorak.cz' },
      ])
      .returning({ id: clients.id });
    [eva, petr] = rows.map((r) => r.id) as [number, number];
    const cs = await t.db
      .insert(campaigns)
      .values([
        { kind: 'list', name: 'Jarní nabídka', marketing: true, status: 'sending' },
        { kind: 'orders', name: 'Expedice', marketing: false, status: 'sending' },
      ])
      .returning({ id: campaigns.id });
    [marketing, transactional] = cs.map((r) => r.id) as [number, number];
  });
  afterAll(() => t.close());

  async function message(clientId: number, campaignId: number | null, status: string) {
    const [m] = await t.db
      .insert(messages)
      .values({
        status,
        messageIdHeader: `<u${++seq}@posel.test>`,
        subject: `Zpráva ${seq}`,
        toAddrs: [{ address: 'x@y.cz' }],
        recipients: 'x@y.cz',
        bodyBlob: await t.store.putBlob('<p>x</p>'),
        clientId,
        campaignId,
      })
      .returning({ id: messages.id });
    return m!.id;
  }
  const statusOf = async (id: number) => (await t.db.select({ s: messages.status }).from(messages).where(eq(messages.id, id)))[0]!.s;
  const flag = async (id: number) => (await t.db.select().from(clients).where(eq(clients.id, id)))[0]!;

  it('signs tokens that name the client and campaign, and refuses altered or made-up ones', async () => {
    const token = await unsubscribeToken(t.db, { clientId: eva, campaignId: marketing });
    expect(await readUnsubscribeToken(t.db, token)).toEqual({ clientId: eva, campaignId: marketing });
    const [payload, mac] = token.split('.') as [string, string];
    const other = Buffer.from(`${petr}.${marketing}`).toString('base64url');
    expect(await readUnsubscribeToken(t.db, `${other}.${mac}`)).toBeNull();
    expect(await readUnsubscribeToken(t.db, `${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'Q' : 'A'}`)).toBeNull();
    expect(await readUnsubscribeToken(t.db, `${payload}.${mac[0] === 'x' ? 'y' : 'x'}${mac.slice(1)}`)).toBeNull();
    expect(await readUnsubscribeToken(t.db, 'nesmysl')).toBeNull();
    const url = await unsubscribeUrl(t.db, 'https://posel.firma.cz', { clientId: eva, campaignId: null });
    expect(url).toMatch(/^https:\/\/posel\.firma\.cz\/unsubscribe\/[\w-]+\.[\w-]{22}$/);
    expect(listUnsubscribeHeaders(url)).toEqual({ 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
  });

  it('shows the page without signing in, and opening it changes nothing (mail scanners open links)', async () => {
    const token = await unsubscribeToken(t.db, { clientId: petr, campaignId: marketing });
    const res = await visitor.get(`/unsubscribe/${token}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('p***@dvorak.cz');
    expect(html).not.toContain('petr@dvorak.cz');
    expect(html).toContain(`action="/unsubscribe/${token}"`);
    expect((await flag(petr)).noMarketing).toBe(false);
  });

  it('one-click POST from the mail provider (RFC 8058) sets the flag, cancels waiting marketing mail only, and is logged', async () => {
    const waiting = await message(eva, marketing, 'queued');
    const deferred = await message(eva, marketing, 'deferred');
    const sent = await message(eva, marketing, 'sent');
    const invoice = await message(eva, transactional, 'queued');
    const byHand = await message(eva, null, 'queued');
    const token = await unsubscribeToken(t.db, { clientId: eva, campaignId: marketing });
    // A provider's server posts from its own origin (or none): the token is the authority.
    const res = await visitor.request(`/unsubscribe/${token}`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://mail.example.net' },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Unsubscribed.');
    const c = await flag(eva);
    expect(c.noMarketing).toBe(true);
    expect(c.noMarketingSource).toBe(`unsubscribe: one-click (campaign ${marketing})`);
    expect(await statusOf(waiting)).toBe('cancelled');
    expect(await statusOf(deferred)).toBe('cancelled');
    expect(await statusOf(sent)).toBe('sent');
    expect(await statusOf(invoice)).toBe('queued');
    expect(await statusOf(byHand)).toBe('queued');
    const [row] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'client.unsubscribed'));
    expect(row).toMatchObject({ objectType: 'client', objectId: String(eva), summary: 'eva@svobodova.cz', actorId: null, result: 'ok' });
    expect((row!.after as { cancelledMessages: number[] }).cancelledMessages.sort()).toEqual([waiting, deferred].sort());
    const cancels = await t.db.select().from(auditLog).where(eq(auditLog.action, 'message.cancel'));
    expect(cancels.map((r) => Number(r.objectId)).sort()).toEqual([waiting, deferred].sort());
  });

  it('the page\'s button unsubscribes too, and a second visit says it is already done', async () => {
    const token = await unsubscribeToken(t.db, { clientId: petr, campaignId: null });
    const res = await visitor.post(`/unsubscribe/${token}`, {});
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('na adresu p***@dvorak.cz už obchodní sdělení posílat nebudeme');
    expect((await flag(petr)).noMarketingSource).toBe('unsubscribe: link');
    expect(await (await visitor.get(`/unsubscribe/${token}`)).text()).toContain('je již odhlášena');
  });

  it('answers an altered link with a clear page (404), never a change', async () => {
    const res = await visitor.get('/unsubscribe/MTIz.AAAAAAAAAAAAAAAAAAAAAA');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Tento odkaz pro odhlášení neplatí');
    const post = await visitor.request('/unsubscribe/MTIz.AAAAAAAAAAAAAAAAAAAAAA', {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(post.status).toBe(404);
    // Other pages still need the same origin.
    expect((await visitor.request('/views', { method: 'POST', body: 'list=messages', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' } })).status).toBe(403);
  });

  it('a marketing message is built with List-Unsubscribe and one-click POST headers; other mail without', async () => {
    const url = await unsubscribeUrl(t.db, 'https://posel.firma.cz', { clientId: petr, campaignId: marketing });
    const withLink = await message(petr, marketing, 'draft');
    await t.db.update(messages).set({ unsubscribeUrl: url }).where(eq(messages.id, withLink));
    const raw = (await messageMime(t.db, t.store, withLink, { unsent: false })).bytes.toString('utf8').replace(/\r\n[ \t]+/g, ' ');
    expect(raw).toContain(`List-Unsubscribe: <${url}>`);
    expect(raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const plain = await message(petr, transactional, 'draft');
    expect((await messageMime(t.db, t.store, plain, { unsent: false })).bytes.toString('utf8')).not.toContain('List-Unsubscribe');
  });
});
