/**
 * Sending from a message's detail page: the send panel queues it (now or later, in a mode), the sender
 * delivers it to an SMTP peer over loopback, and the page shows the state and the server's reply; resend,
 * cancel and the permission to send.
 */
import { eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activityPeople, activityResponsibles, auditLog, clients, messages, users } from '../db/schema/index.ts';
import { Sender } from '../sender/sender.ts';
import { addUser, createAdminApp, signIn, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { startSmtpPeer, type SmtpPeer } from '../test-support/smtp-peer.ts';
import { createDraft } from './service.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;
let peer: SmtpPeer;
let sender: Sender;

const text = async (res: Response) => (await res.text()).replace(/<[^>]+>/g, ' ').replace(/&#39;|&quot;/g, "'").replace(/\s+/g, ' ');
const row = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!;

async function draft(to: string[], extra: { activityId?: number } = {}) {
  return createDraft(
    t.db,
    t.store,
    SYSTEM,
    { subject: 'Pozvánka na školení', to: to.map((address) => ({ address })), cc: [], bcc: [], bodyHtml: '<p>Zveme vás na školení.</p>', attachments: [] },
    { link: { activityId: extra.activityId ?? null } },
  );
}

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  peer = await startSmtpPeer();
  sender = new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: { host: '127.0.0.1', port: peer.port } });
});
afterAll(async () => {
  await sender.stop();
  await peer.close();
  await t.close();
});

describe('the send panel', () => {
  it('sends now: queued, delivered, and the page shows "sent" with the server reply in the log', async () => {
    const id = await draft(['jan@novak.cz']);
    const page = await text(await admin.get(`/messages/${id}`));
    expect(page).toContain('Není nastaven SMTP účet: zpráva půjde do testovací schránky');
    const res = await admin.post(`/messages/${id}/send`, { mode: 'together', when: 'now' });
    expect(res.status).toBe(303);
    expect((await row(id)).status).toBe('queued');
    await sender.tick();
    expect((await row(id)).status).toBe('sent');
    expect(peer.received.at(-1)!.to).toEqual(['jan@novak.cz']);
    const detail = await text(await admin.get(`/messages/${id}`));
    expect(detail).toContain('odesláno');
    expect(detail).toContain('250 OK: message queued');
    const log = await text(await admin.get(`/messages/${id}?tab=log`));
    expect(log).toContain('Pokusy o doručení');
    expect(log).toContain('doručeno serveru');
  });

  it('individually: one message per recipient, each delivered alone', async () => {
    const id = await draft(['a@firma.cz', 'b@firma.cz']);
    // "Other" mail goes one by one unless settings say otherwise.
    expect(await (await admin.get(`/messages/${id}`)).text()).toMatch(/value="individual" checked/);
    await admin.post(`/messages/${id}/send`, { mode: 'individual', when: 'now' });
    const before = peer.received.length;
    await sender.tick();
    expect(peer.received.slice(before).map((r) => r.to).sort()).toEqual([['a@firma.cz'], ['b@firma.cz']]);
  });

  it('mail about an activity defaults to one message to all its people', async () => {
    const [activity] = await t.db.insert(activities).values({ subject: 'Školení obsluhy', type: 'meeting', at: new Date('2026-12-01T09:00:00Z') }).returning();
    const id = await draft(['a@firma.cz', 'b@firma.cz', 'c@firma.cz'], { activityId: activity!.id });
    const html = await (await admin.get(`/messages/${id}`)).text();
    expect(html).toMatch(/value="together" checked/);
  });

  it('the default mode per kind of mail comes from settings', async () => {
    const form = { client: 'individual', order: 'individual', contract: 'individual', activity: 'together', other: 'bcc' };
    expect((await admin.post('/settings/sending', { ...form, other: 'nonsense' })).status).toBe(422);
    expect((await admin.post('/settings/sending', form)).status).toBe(303);
    const id = await draft(['a@firma.cz', 'b@firma.cz']);
    expect(await (await admin.get(`/messages/${id}`)).text()).toMatch(/value="bcc" checked/);
    await admin.post('/settings/sending', { ...form, other: 'individual' });
    const [audit] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'settings.send_defaults'));
    expect(audit!.after).toMatchObject({ other: 'bcc' });
  });

  it('e-mail from an activity is addressed to the audience chosen: participants, responsible users, or both', async () => {
    const [client] = await t.db.insert(clients).values({ name: 'Marie Dvořáková', email: 'marie@dvorakova.cz' }).returning();
    const [activity] = await t.db.insert(activities).values({ subject: 'Porada', type: 'meeting', at: new Date('2026-12-02T09:00:00Z'), clientId: client!.id }).returning();
    await t.db.insert(activityPeople).values([
      { activityId: activity!.id, role: 'participant', clientId: client!.id },
      { activityId: activity!.id, role: 'participant', email: 'host@partner.cz', name: 'Host z partnera' },
      { activityId: activity!.id, role: 'cc', email: 'sef@firma.cz' },
    ]);
    const [me] = await t.db.select().from(users);
    await t.db.insert(activityResponsibles).values({ activityId: activity!.id, userId: me!.id });
    const toOf = async (who: string) => /name="to"[^>]*value="([^"]*)"/.exec(await (await admin.get(`/messages/new?activity=${activity!.id}&to=${who}`)).text())?.[1]?.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    expect(await toOf('participants')).toBe('"Marie Dvořáková" <marie@dvorakova.cz>, "Host z partnera" <host@partner.cz>');
    expect(await toOf('informed')).toBe('sef@firma.cz');
    expect(await toOf('participants_responsible')).toContain(me!.email);
    expect(await toOf('contact')).toBe('"Marie Dvořáková" <marie@dvorakova.cz>');
  });

  it('schedules for later: nothing goes before the time; a bad time is refused with the form kept', async () => {
    const id = await draft(['later@firma.cz']);
    const bad = await admin.post(`/messages/${id}/send`, { mode: 'together', when: 'later', at: 'pozítří', not_after: '' });
    expect(bad.status).toBe(422);
    const badPage = await bad.text();
    expect(badPage).toContain('Zadejte datum a čas');
    expect(badPage).toContain('value="pozítří"');
    expect((await row(id)).status).toBe('draft');

    const res = await admin.post(`/messages/${id}/send`, { mode: 'together', when: 'later', at: '2099-01-15T08:30' });
    expect(res.status).toBe(303);
    const queued = await row(id);
    expect(queued.status).toBe('queued');
    expect(queued.sendAt!.toISOString()).toBe('2099-01-15T07:30:00.000Z');
    await sender.tick();
    expect((await row(id)).status).toBe('queued');
    expect(await text(await admin.get(`/messages/${id}`))).toContain('odejde 15. 1. 2099 8:30');
    await admin.post(`/messages/${id}/cancel`, {});
    expect((await row(id)).status).toBe('cancelled');
  });

  it('resends a sent message with one click; the button says where it goes', async () => {
    const id = await draft(['jan@novak.cz']);
    await admin.post(`/messages/${id}/send`, { mode: 'together', when: 'now' });
    await sender.tick();
    expect(await text(await admin.get(`/messages/${id}`))).toContain('Půjde na: jan@novak.cz');
    await admin.post(`/messages/${id}/resend`, {});
    expect((await row(id)).status).toBe('queued');
    await sender.tick();
    expect((await row(id)).status).toBe('sent');
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.objectId, String(id)));
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['message.queue', 'message.sent', 'message.resend']));
  });

  it('a viewer cannot send', async () => {
    const id = await draft(['jan@novak.cz']);
    await addUser(t.database, 'viewer', 'viewer@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo pro test 123');
    expect(await (await viewer.get(`/messages/${id}`)).text()).not.toContain(`action="/messages/${id}/send"`);
    expect((await viewer.post(`/messages/${id}/send`, { mode: 'together', when: 'now' })).status).toBe(403);
    expect((await row(id)).status).toBe('draft');
  });
});
