/**
 * Mail from CRM activities (issue 7, item 5): the activity's "send e-mail to" menu with each audience's send
 * mode from settings, the message page starting in that mode (the desktop client offered first when set),
 * and the setting that makes mail to a client record an activity of type e-mail, linked to the message.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, activityPeople, auditLog, campaigns, clients, messages } from '../db/schema/index.ts';
import { createDraft } from '../messages/service.ts';
import { createAdminApp, SYSTEM, type TestClient } from '../test-support/harness.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;
let clientId: number;
let activityId: number;

const BASE = { client: 'individual', order: 'individual', contract: 'individual', activity: 'together', other: 'individual' };
const AUDIENCES = {
  activity_contact: 'individual',
  activity_participants: 'together',
  activity_responsible: 'together',
  activity_informed: 'bcc',
  activity_participants_responsible: 'together',
};
const row = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!;

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const [client] = await t.db.insert(clients).values({ name: 'Kavárna Na Rohu', email: 'info@kavarna.cz' }).returning();
  clientId = client!.id;
  const [activity] = await t.db.insert(activities).values({ subject: 'Ochutnávka', type: 'meeting', at: new Date('2026-12-03T09:00:00Z'), clientId }).returning();
  activityId = activity!.id;
  await t.db.insert(activityPeople).values([
    { activityId, role: 'participant', clientId },
    { activityId, role: 'participant', email: 'jana@kavarna.cz', name: 'Jana' },
  ]);
});
afterAll(() => t.close());

async function draftTo(addresses: string[], link: { clientId?: number; activityId?: number; orderId?: number } = {}, subject = 'Zpráva klientovi') {
  return createDraft(
    t.db,
    t.store,
    SYSTEM,
    { subject, to: addresses.map((address) => ({ address })), cc: [], bcc: [], bodyHtml: '<p>Dobrý den.</p>', attachments: [] },
    { link },
  );
}

describe('send e-mail from an activity', () => {
  it('the menu lists every audience with how many it reaches and its send mode from settings', async () => {
    expect((await admin.post('/settings/sending', { ...BASE, ...AUDIENCES, activity_participants: 'desktop' })).status).toBe(303);
    const html = await (await admin.get(`/activities/${activityId}`)).text();
    expect(html).toContain(`href="/messages/new?activity=${activityId}&amp;to=participants"`);
    expect(html).toMatch(/Účastníkům \(2\)<small class="muted">Způsob odeslání: Přes můj poštovní program<\/small><\/a>/);
    expect(html).toMatch(/Kontaktu \(klientovi\) \(1\)/);
    // Nobody is kept informed: shown, not a link.
    expect(html).toContain('Informovaným osobám (nikdo)');
    expect(html).not.toContain(`to=informed"`);
  });

  it('a message to the participants starts in their mode: desktop offers the mail program first', async () => {
    const id = await draftTo(['info@kavarna.cz', 'jana@kavarna.cz'], { activityId, clientId });
    const html = await (await admin.get(`/messages/${id}`)).text();
    expect(html).toContain('se podle nastavení posílá z vašeho poštovního programu');
    expect(html).toContain(`action="/messages/${id}/open-in-mail-client" hx-boost="false" class="send-desktop"`);
    await admin.post('/settings/sending', { ...BASE, ...AUDIENCES, activity_participants: 'bcc' });
    expect(await (await admin.get(`/messages/${id}`)).text()).toMatch(/value="bcc" checked/);
  });

  it('a message whose recipients match no audience uses the general activity mode', async () => {
    await admin.post('/settings/sending', { ...BASE, ...AUDIENCES, activity: 'individual' });
    const id = await draftTo(['someone@else.cz', 'jana@kavarna.cz'], { activityId });
    expect(await (await admin.get(`/messages/${id}`)).text()).toMatch(/value="individual" checked/);
  });

  it('the settings page shows the audiences and the activity checkbox; a bad value is refused', async () => {
    const html = await (await admin.get('/settings/sending')).text();
    expect(html).toContain('Z aktivity účastníkům i odpovědným');
    expect(html).toContain('name="mailCreatesActivity"');
    expect((await admin.post('/settings/sending', { ...BASE, ...AUDIENCES, activity_informed: 'pigeon' })).status).toBe(422);
  });
});

describe('mail to a client creates an activity (setting)', () => {
  const activitiesOf = (id: number) => t.db.select().from(activities).where(and(eq(activities.clientId, clientId), eq(activities.type, 'email'), eq(activities.subject, `Nabídka ${id}`)));

  it('off (the default): sending creates no activity', async () => {
    await admin.post('/settings/sending', { ...BASE, ...AUDIENCES });
    const id = await draftTo(['info@kavarna.cz'], { clientId }, 'Nabídka 1');
    expect((await admin.post(`/messages/${id}/send`, { mode: 'individual', when: 'now' })).status).toBe(303);
    expect(await activitiesOf(1)).toHaveLength(0);
    expect((await row(id)).activityId).toBeNull();
  });

  it('on: sending records a done activity of type e-mail, linked to the client and the message, audited', async () => {
    await admin.post('/settings/sending', { ...BASE, ...AUDIENCES, mailCreatesActivity: '1' });
    expect(await (await admin.get('/settings/sending')).text()).toMatch(/name="mailCreatesActivity" value="1" checked/);
    const id = await draftTo(['info@kavarna.cz', 'druhy@kavarna.cz'], { clientId }, 'Nabídka 2');
    await admin.post(`/messages/${id}/send`, { mode: 'individual', when: 'now' });
    const [activity] = await activitiesOf(2);
    expect(activity).toMatchObject({ type: 'email', done: true, clientId });
    // Both copies (one per recipient) point to the one activity.
    const copies = await t.db.select().from(messages).where(eq(messages.subject, 'Nabídka 2'));
    expect(copies).toHaveLength(2);
    expect(copies.every((m) => m.activityId === activity!.id)).toBe(true);
    const [audit] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.created'), eq(auditLog.objectId, String(activity!.id))));
    expect(audit!.after).toMatchObject({ type: 'email', messageId: id, clientId });
    // The activity's Communication tab shows the message.
    expect(await (await admin.get(`/activities/${activity!.id}?tab=communication`)).text()).toContain('Nabídka 2');
  });

  it('on: handing a message to the desktop client records one too', async () => {
    const id = await draftTo(['info@kavarna.cz'], { clientId }, 'Nabídka 3');
    expect((await admin.post(`/messages/${id}/open-in-mail-client`, {})).status).toBe(200);
    const [activity] = await activitiesOf(3);
    expect((await row(id)).activityId).toBe(activity!.id);
  });

  it('on: mail already about an activity, mail to no client, and marketing campaign mail record none', async () => {
    const before = (await t.db.select().from(activities)).length;
    const aboutActivity = await draftTo(['jana@kavarna.cz'], { activityId, clientId }, 'Nabídka 4');
    await admin.post(`/messages/${aboutActivity}/send`, { mode: 'together', when: 'now' });
    const noClient = await draftTo(['nekdo@jinde.cz'], {}, 'Nabídka 5');
    await admin.post(`/messages/${noClient}/send`, { mode: 'together', when: 'now' });
    const [campaign] = await t.db.insert(campaigns).values({ kind: 'list', name: 'Vánoční nabídka', marketing: true, status: 'generated' }).returning();
    const marketing = await draftTo(['info@kavarna.cz'], { clientId }, 'Nabídka 6');
    await t.db.update(messages).set({ campaignId: campaign!.id }).where(eq(messages.id, marketing));
    await admin.post(`/messages/${marketing}/send`, { mode: 'together', when: 'now' });
    expect((await row(marketing)).status).toBe('queued');
    expect((await t.db.select().from(activities)).length).toBe(before);
    expect((await row(aboutActivity)).activityId).toBe(activityId);
  });
});
