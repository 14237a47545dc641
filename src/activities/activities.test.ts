import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activities, auditLog, clients, users } from '../db/schema/index.ts';
import { ADMIN, addUser, createAdminApp, createTestApp, signIn, type TestClient } from '../test-support/harness.ts';
import { listClientActivities } from './queries.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let adminId: number;
let staffId: number;
let staff: TestClient;
let novak: { id: number };
let firma: { id: number };

const idOf = (res: Response) => Number(/\/activities\/(\d+)$/.exec(res.headers.get('location') ?? '')?.[1]);
/** The visible text of a page, tags dropped and whitespace collapsed: what a user reads. */
const text = async (res: Response) =>
  (await res.text())
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/\s+/g, ' ');

/** A complete, valid form; tests override what they are about. */
const activityForm = (overrides: Record<string, string | string[]> = {}) => ({
  type: 'call',
  subject: 'Telefonát o zakázce',
  at: '2026-03-10T10:00',
  responsible: [String(adminId)],
  note: '',
  ...overrides,
});

async function create(client: TestClient, overrides: Record<string, string | string[]> = {}) {
  const res = await client.post('/activities', activityForm(overrides));
  if (res.status !== 303) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return idOf(res);
}

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  adminId = (await t.db.select().from(users).where(eq(users.email, ADMIN.email)))[0]!.id;
  staffId = await addUser(t.database, 'staff', 'petr@firma.cz', 'Heslo referenta 2026');
  await t.db.update(users).set({ name: 'Petr Referent' }).where(eq(users.id, staffId));
  staff = t.client();
  await signIn(staff, 'petr@firma.cz', 'Heslo referenta 2026');
  [novak, firma] = (await t.db
    .insert(clients)
    .values([
      { kind: 'person', name: 'Jan Novák', email: 'jan.novak@example.cz', ico: null },
      { kind: 'company', name: 'Stavby Brno s.r.o.', email: 'info@stavby-brno.cz', ico: '12345678' },
    ])
    .returning({ id: clients.id })) as [{ id: number }, { id: number }];
});
afterAll(() => t.close());

describe('activities', () => {
  it('creates an activity with responsible users, a client participant and a free CC address, and shows them', async () => {
    const id = await create(admin, {
      type: 'meeting',
      subject: 'Schůzka k nabídce',
      responsible: [String(adminId), String(staffId)],
      clientId: String(firma!.id),
      participantClient: String(novak!.id),
      ccEmails: 'Eva Účetní <eva@ucetni.cz>',
      note: 'Přinést ceník',
    });
    const page = await text(await admin.get(`/activities/${id}`));
    expect(page).toContain('Schůzka k nabídce');
    expect(page).toContain('Schůzka'); // the type
    expect(page).toMatch(/Odpovědní uživatelé Jana Nováková, Petr Referent/);
    expect(page).toContain('Stavby Brno s.r.o.');
    expect(page).toMatch(/Účastníci Jan Novák jan\.novak@example\.cz z adresáře/);
    expect(page).toMatch(/Na vědomí Eva Účetní eva@ucetni\.cz/);
    expect(page).toContain('Přinést ceník');
    const tab = await admin.get(`/activities/${id}?tab=communication`);
    expect(await tab.text()).toMatch(/<section id="communication"/);
  });

  it('links a typed address or IČO of an address-book client to that client', async () => {
    const id = await create(admin, { participantEmails: 'JAN.NOVAK@example.cz, 12345678' });
    const html = await (await admin.get(`/activities/${id}`)).text();
    expect(html).toContain(`href="/clients/${novak!.id}"`);
    expect(html).toContain(`href="/clients/${firma!.id}"`);
  });

  it('shows the time as entered in Prague, in winter and in summer, and stores it in UTC', async () => {
    const winter = await create(admin, { subject: 'Zimní hovor', at: '2026-01-15T09:05' });
    const summer = await create(admin, { subject: 'Letní hovor', at: '2026-07-15T14:30' });
    const [w] = await t.db.select().from(activities).where(eq(activities.id, winter));
    const [s] = await t.db.select().from(activities).where(eq(activities.id, summer));
    expect(w!.at.toISOString()).toBe('2026-01-15T08:05:00.000Z');
    expect(s!.at.toISOString()).toBe('2026-07-15T12:30:00.000Z');
    expect(await text(await admin.get(`/activities/${winter}`))).toContain('15. 1. 2026 9:05');
    expect(await text(await admin.get(`/activities/${summer}`))).toContain('15. 7. 2026 14:30');
    expect(await (await admin.get(`/activities/${summer}/edit`)).text()).toContain('value="2026-07-15T14:30"');
    expect(await (await admin.get(`/activities/${winter}/edit`)).text()).toContain('value="2026-01-15T09:05"');
  });

  it('keeps everything typed and names the invalid free address next to its field', async () => {
    const res = await admin.post(
      '/activities',
      activityForm({ subject: 'Hovor s chybou', participantClient: String(novak!.id), ccEmails: 'ok@firma.cz\njana@@firma', note: 'Poznámka zůstane' }),
    );
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="e-ccEmails"[^>]*>Neplatná e-mailová adresa: jana@@firma</);
    expect(html).toContain('value="Hovor s chybou"');
    expect(html).toContain('ok@firma.cz\njana@@firma</textarea>');
    expect(html).toContain('Poznámka zůstane</textarea>');
    expect(html).toContain('value="2026-03-10T10:00"');
    expect(html).toMatch(new RegExp(`name="participantClient" value="${novak!.id}" checked`));
    expect(await t.db.select().from(activities).where(eq(activities.subject, 'Hovor s chybou'))).toHaveLength(0);
  });

  it('refuses a missing subject, a bad time and no responsible user, each next to its field', async () => {
    const res = await admin.post('/activities', activityForm({ subject: '', at: '2026-02-30T10:00', responsible: [] }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="e-subject"[^>]*>Vyplňte prosím toto pole/);
    expect(html).toMatch(/id="e-at"[^>]*>Zadejte platné datum a čas/);
    expect(html).toMatch(/id="e-responsible"[^>]*>Vyberte alespoň jednoho/);
  });

  it('"mine" shows only the activities I am responsible for; "all" shows everyone\'s', async () => {
    await create(admin, { subject: 'Úkol pro Petra', type: 'task', responsible: [String(staffId)] });
    await create(admin, { subject: 'Úkol pro Janu', type: 'task', responsible: [String(adminId)] });
    const mine = await text(await staff.get('/activities?scope=mine&q=úkol'));
    expect(mine).toContain('Úkol pro Petra');
    expect(mine).not.toContain('Úkol pro Janu');
    const byDefault = await text(await staff.get('/activities?q=ukol'));
    expect(byDefault).toContain('Úkol pro Petra');
    expect(byDefault).not.toContain('Úkol pro Janu');
    const all = await text(await staff.get('/activities?scope=all&q=ukol'));
    expect(all).toContain('Úkol pro Petra');
    expect(all).toContain('Úkol pro Janu');
  });

  it('filters by type, done state and a date range of local days, and answers htmx with the table only', async () => {
    await create(admin, { subject: 'Pozdní večer', type: 'email', at: '2026-05-31T23:30' }); // 21:30 UTC on 31 May
    await create(admin, { subject: 'Ranní e-mail', type: 'email', at: '2026-06-01T00:15' }); // 22:15 UTC on 31 May
    const june = await text(await admin.get('/activities?scope=all&type=email&from=2026-06-01&to=2026-06-30'));
    expect(june).toContain('Ranní e-mail');
    expect(june).not.toContain('Pozdní večer');
    const may = await text(await admin.get('/activities?scope=all&type=email&to=2026-05-31'));
    expect(may).toContain('Pozdní večer');
    expect(may).not.toContain('Ranní e-mail');
    const done = await text(await admin.get('/activities?scope=all&type=email&state=done'));
    expect(done).not.toContain('Ranní e-mail');
    const partial = await admin.get('/activities?scope=all&type=email', { 'HX-Request': 'true', 'HX-Target': 'rows' });
    const fragment = await partial.text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('Ranní e-mail');
    const tidy = await admin.get('/activities?scope=all&type=email&state=&from=&to=&q=', { 'HX-Request': 'true', 'HX-Target': 'rows' });
    expect(tidy.headers.get('HX-Push-Url')).toBe('/activities?scope=all&type=email');
    const restore = await admin.get('/activities?scope=all', { 'HX-Request': 'true', 'HX-History-Restore-Request': 'true' });
    expect(await restore.text()).toContain('<html');
  });

  it('pages the list, keeping the filter in the links', async () => {
    for (let i = 1; i <= 51; i++) await t.db.insert(activities).values({ type: 'task', subject: `Hromadný úkol ${i}`, at: new Date(Date.UTC(2027, 0, 1, 0, i)) });
    const first = await admin.get('/activities?scope=all&q=hromadn');
    const html = await first.text();
    expect(html).toContain('Počet aktivit: 51');
    expect(html).toContain('href="/activities?scope=all&amp;q=hromadn&amp;page=2"');
    const second = await text(await admin.get('/activities?scope=all&q=hromadn&page=2'));
    expect(second).toContain('Hromadný úkol 1 ');
  });

  it('marks done and back with one button: inline with htmx, a plain POST without', async () => {
    const id = await create(admin, { subject: 'Zavolat zpět' });
    const inline = await admin.post(`/activities/${id}/done`, { done: '1', next: '/activities' }, { 'HX-Request': 'true' });
    expect(inline.status).toBe(200);
    const fragment = await inline.text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('Vrátit jako nehotové');
    expect((await t.db.select().from(activities).where(eq(activities.id, id)))[0]!.done).toBe(true);
    const plain = await admin.post(`/activities/${id}/done`, { done: '0', next: '/activities?scope=all' });
    expect(plain.status).toBe(303);
    expect(plain.headers.get('location')).toBe('/activities?scope=all');
    expect((await t.db.select().from(activities).where(eq(activities.id, id)))[0]!.done).toBe(false);
    const log = await t.db.select().from(auditLog).where(eq(auditLog.objectId, String(id)));
    expect(log.map((r) => r.action)).toEqual(['activity.created', 'activity.done', 'activity.reopened']);
  });

  it('edits an activity and logs before and after', async () => {
    const id = await create(admin, { subject: 'Původní předmět', participantEmails: 'stary@firma.cz' });
    const res = await admin.post(`/activities/${id}`, activityForm({ subject: 'Nový předmět', participantEmails: 'novy@firma.cz', done: '1' }));
    expect(res.status).toBe(303);
    const page = await text(await admin.get(`/activities/${id}`));
    expect(page).toContain('Nový předmět');
    expect(page).toContain('novy@firma.cz');
    expect(page).not.toContain('stary@firma.cz');
    const [row] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.updated'), eq(auditLog.objectId, String(id))));
    expect(row).toMatchObject({ actorName: ADMIN.name, objectType: 'activity' });
    expect(row!.before).toMatchObject({ subject: 'Původní předmět', participants: ['stary@firma.cz'], done: false });
    expect(row!.after).toMatchObject({ subject: 'Nový předmět', participants: ['novy@firma.cz'], done: true });
  });

  it('deletes an activity and logs what it was', async () => {
    const id = await create(admin, { subject: 'Ke smazání' });
    expect((await admin.post(`/activities/${id}/delete`, {})).status).toBe(303);
    expect((await admin.get(`/activities/${id}`)).status).toBe(404);
    const [row] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'activity.deleted'), eq(auditLog.objectId, String(id))));
    expect(row!.before).toMatchObject({ subject: 'Ke smazání' });
  });

  it('preselects the client given by ?client=', async () => {
    const html = await (await admin.get(`/activities/new?client=${firma!.id}`)).text();
    expect(html).toMatch(new RegExp(`name="clientId" value="${firma!.id}" checked`));
    expect(html).toContain('Stavby Brno s.r.o.');
  });

  it('finds clients by name, IČO or e-mail as you type, and picks one as a checked chip', async () => {
    const hits = await (await admin.get('/activities/people?role=participant&participantQuery=novak', { 'HX-Request': 'true' })).text();
    expect(hits).toContain('Jan Novák');
    expect(hits).toContain(`value="participant:${novak!.id}"`);
    expect(await (await admin.get('/activities/people?role=cc&ccQuery=1234', { 'HX-Request': 'true' })).text()).toContain('Stavby Brno');
    expect(await (await admin.get('/activities/people?role=cc&ccQuery=info@stavby', { 'HX-Request': 'true' })).text()).toContain('Stavby Brno');
    const chip = await (await admin.get(`/activities/pick?_pick=cc:${novak!.id}`, { 'HX-Request': 'true' })).text();
    expect(chip).toMatch(new RegExp(`name="ccClient" value="${novak!.id}" checked`));
  });

  it('searches and picks without JavaScript by posting the form, losing nothing typed', async () => {
    const found = await admin.post('/activities', activityForm({ subject: 'Bez JS', _find: 'participant', participantQuery: 'Novák' }));
    expect(found.status).toBe(200);
    const html = await found.text();
    expect(html).toContain(`value="participant:${novak!.id}"`);
    expect(html).toContain('value="Bez JS"');
    const picked = await admin.post('/activities', activityForm({ subject: 'Bez JS', _pick: `participant:${novak!.id}`, participantQuery: 'Novák' }));
    expect(await picked.text()).toMatch(new RegExp(`name="participantClient" value="${novak!.id}" checked`));
    // Enter in an ordinary field (the hidden default button) with empty search boxes saves.
    expect((await admin.post('/activities', activityForm({ subject: 'Enter uloží', _find: 'auto' }))).status).toBe(303);
  });

  it('lets a viewer read activities but not create them (403)', async () => {
    await addUser(t.database, 'viewer', 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    const viewer = t.client();
    await signIn(viewer, 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    expect((await viewer.get('/activities?scope=all')).status).toBe(200);
    expect((await viewer.get('/activities/new')).status).toBe(403);
    expect((await viewer.post('/activities', activityForm({ subject: 'Čtenář zakládá' }))).status).toBe(403);
    expect(await t.db.select().from(activities).where(eq(activities.subject, 'Čtenář zakládá'))).toHaveLength(0);
    const id = await create(admin, { subject: 'Pro čtenáře' });
    const page = await viewer.get(`/activities/${id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('Označit hotové');
    expect((await viewer.post(`/activities/${id}/done`, { done: '1' })).status).toBe(403);
  });

  it('answers 404 for unknown or malformed ids', async () => {
    expect((await admin.get('/activities/999999')).status).toBe(404);
    expect((await admin.get('/activities/99999999999999')).status).toBe(404);
    expect((await admin.get('/activities/abc')).status).toBe(404);
    expect((await admin.post('/activities/999999/done', { done: '1' })).status).toBe(404);
    expect((await admin.get('/activities/999999/edit')).status).toBe(404);
  });

  it('lists a client\'s recent activities, including those it takes part in', async () => {
    const about = await create(admin, { subject: 'O firmě', clientId: String(firma!.id), at: '2026-09-01T10:00' });
    const withIt = await create(admin, { subject: 'S firmou', participantClient: String(firma!.id), at: '2026-09-02T10:00' });
    const recent = await listClientActivities(t.db, firma!.id, 5);
    expect(recent.slice(0, 2).map((a) => a.id)).toEqual([withIt, about]);
    expect(Object.keys(recent[0]!).sort()).toEqual(['at', 'done', 'id', 'subject', 'type']);
  });
});
