import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, clients, listMembers, marketingLists } from '../db/schema/index.ts';
import { addUser, createAdminApp, createTestApp, signIn, type TestClient } from '../test-support/harness.ts';
import { isValidIco } from './form.ts';
import { prefixTsQuery } from './queries.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;

const seed = [
  { name: 'Jan Novák', email: 'jan.novak@seznam.cz', city: 'Brno', tags: ['vip'], kind: 'person' },
  { name: 'Žluťoučký kůň s.r.o.', email: 'info@kun.cz', ico: '27082440', city: 'Praha', tags: ['velkoobchod'], kind: 'company' },
  { name: 'Marie Nováková', email: null, city: 'Ostrava', tags: ['vip', 'velkoobchod'], kind: 'person', noMarketing: true },
  { name: 'Petr Svoboda', email: 'petr@svoboda.cz', city: 'Plzeň', tags: [], kind: 'person' },
];

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  await t.db.insert(clients).values(seed);
});
afterAll(() => t.close());

const names = (html: string) => [...html.matchAll(/<a href="\/clients\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
const byName = async (name: string) => (await t.db.select().from(clients).where(eq(clients.name, name)))[0]!;

describe('search', () => {
  it('turns any typing into a safe prefix query', () => {
    expect(prefixTsQuery('Novák jan')).toBe('Novák:* & jan:*');
    expect(prefixTsQuery(`'); drop table clients; --`)).toBe('drop:* & table:* & clients:*');
    expect(prefixTsQuery('"&|!:*()')).toBeNull();
  });

  it('finds "Novák" for "novak" and "Žluťoučký kůň" for "zlutoucky kun", ignoring case', async () => {
    expect(names(await (await admin.get('/clients?q=novak')).text())).toEqual(['Jan Novák', 'Marie Nováková']);
    expect(names(await (await admin.get('/clients?q=ZLUTOUCKY%20kun')).text())).toEqual(['Žluťoučký kůň s.r.o.']);
  });

  it('matches as you type, by e-mail part and by IČO', async () => {
    expect(names(await (await admin.get('/clients?q=nov')).text())).toEqual(['Jan Novák', 'Marie Nováková']);
    expect(names(await (await admin.get('/clients?q=svoboda.cz')).text())).toEqual(['Petr Svoboda']);
    expect(names(await (await admin.get('/clients?q=2708')).text())).toEqual(['Žluťoučký kůň s.r.o.']);
  });

  it('answers hostile or odd search strings with a result or "nothing found", never a 500', async () => {
    for (const q of ['"', '-', '&|!:*()', "' or 1=1 --", 'x'.repeat(10_000), '🙂', 'a\u0000b']) {
      const res = await admin.get(`/clients?q=${encodeURIComponent(q)}`);
      expect(res.status, q).toBe(200);
    }
  });

  it('combines search with filters; unknown filter values are ignored', async () => {
    expect(names(await (await admin.get('/clients?q=novak&tag=vip&email=yes')).text())).toEqual(['Jan Novák']);
    expect(names(await (await admin.get('/clients?marketing=no')).text())).toEqual(['Marie Nováková']);
    expect(names(await (await admin.get('/clients?kind=company&sort=-name')).text())).toEqual(['Žluťoučký kůň s.r.o.']);
    expect((await admin.get('/clients?email=maybe&kind=robot&page=-3&sort=evil')).status).toBe(200);
  });

  it('returns only the table for htmx, keeping the filter in links', async () => {
    const res = await admin.get('/clients?q=nov&tag=vip', { 'HX-Request': 'true' });
    const html = await res.text();
    expect(html).not.toContain('<html');
    expect(html).toContain('href="/clients/export?q=nov&amp;tag=vip"');
    expect(res.headers.get('vary')).toContain('HX-Request');
  });

  it('pages through a long list', async () => {
    await t.db.insert(clients).values(Array.from({ length: 120 }, (_, i) => ({ name: `Zkušební klient ${String(i).padStart(3, '0')}`, tags: ['test'] })));
    const first = await (await admin.get('/clients?tag=test')).text();
    expect(first).toContain('Zkušební klient 000');
    expect(first).toContain('/clients?tag=test&amp;page=2');
    const third = await (await admin.get('/clients?tag=test&page=3')).text();
    expect(names(third)).toHaveLength(20);
    expect(third).toContain('Zkušební klient 119');
  });
});

describe('create and edit', () => {
  it('creates a client and logs it', async () => {
    const res = await admin.post('/clients', {
      kind: 'company', name: 'Pekárna U Čápa', companyName: 'Pekárna U Čápa s.r.o.', ico: '25596641', dic: 'cz25596641',
      email: 'Objednavky@Pekarna.cz', emails: 'a@pekarna.cz, b@pekarna.cz', phone: '+420 601 123 456', city: 'Tábor', zip: '390 01', country: 'cz',
      locale: 'cs', tags: 'pekárna, vip', note: 'Volat dopoledne.',
    });
    expect(res.status).toBe(303);
    const c = await byName('Pekárna U Čápa');
    expect(c).toMatchObject({ email: 'objednavky@pekarna.cz', emails: ['a@pekarna.cz', 'b@pekarna.cz'], dic: 'CZ25596641', tags: ['pekárna', 'vip'], country: 'CZ' });
    expect(res.headers.get('location')).toBe(`/clients/${c.id}`);
    const [row] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'client.created'));
    expect(row).toMatchObject({ objectId: String(c.id), result: 'ok' });
    expect(await (await admin.get(`/clients/${c.id}`)).text()).toContain('Volat dopoledne.');
  });

  it('refuses bad input field by field and keeps everything typed', async () => {
    const res = await admin.post('/clients', { kind: 'company', name: '', email: 'nope@', ico: '12345678', dic: 'X', phone: 'call me', emails: 'ok@x.cz, bad@', locale: 'cs', note: 'Důležitá poznámka' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="e-name"[^>]*>Vyplňte/);
    expect(html).toMatch(/id="e-email"[^>]*>Zadejte platnou/);
    expect(html).toMatch(/id="e-ico"[^>]*>IČO má 8 číslic/);
    expect(html).toMatch(/id="e-dic"/);
    expect(html).toMatch(/id="e-phone"/);
    expect(html).toMatch(/id="e-emails"[^>]*>Neplatná adresa: bad@/);
    expect(html).toContain('value="nope@"');
    expect(html).toContain('Důležitá poznámka');
  });

  it('checks the IČO check digit', () => {
    expect(isValidIco('27082440')).toBe(true);
    expect(isValidIco('25596641')).toBe(true);
    expect(isValidIco('27082441')).toBe(false);
  });

  it('edits a phone number inline with htmx, logging before and after', async () => {
    const c = await byName('Jan Novák');
    const form = await admin.get(`/clients/${c.id}/field/phone?back=/clients`, { 'HX-Request': 'true' });
    expect(await form.text()).toMatch(/<form id="c-\d+-phone"/);
    const bad = await admin.post(`/clients/${c.id}/field/phone`, { value: 'volejte', back: '/clients' }, { 'HX-Request': 'true' });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('value="volejte"');
    const ok = await admin.post(`/clients/${c.id}/field/phone`, { value: '777 888 999', back: '/clients' }, { 'HX-Request': 'true' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/<span id="c-\d+-phone"[^>]*>777 888 999/);
    expect((await byName('Jan Novák')).phone).toBe('777 888 999');
    const [row] = await t.db.select().from(auditLog).where(eq(auditLog.summary, 'Jan Novák: phone'));
    expect(row).toMatchObject({ before: { phone: null }, after: { phone: '777 888 999' } });
  });

  it('edits inline without JavaScript: a one-field page that returns to the list', async () => {
    const c = await byName('Petr Svoboda');
    const page = await admin.get(`/clients/${c.id}/field/city?back=/clients%3Fq%3Dpetr`);
    expect(await page.text()).toContain('<html');
    const res = await admin.post(`/clients/${c.id}/field/city`, { value: 'Klatovy', back: '/clients?q=petr' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/clients?q=petr');
    expect((await byName('Petr Svoboda')).city).toBe('Klatovy');
  });

  it('records when and by whom "no marketing" was set', async () => {
    const c = await byName('Petr Svoboda');
    await admin.post(`/clients/${c.id}`, { kind: 'person', name: c.name, email: c.email ?? '', locale: 'cs', noMarketing: 'on' });
    const after = await byName('Petr Svoboda');
    expect(after.noMarketing).toBe(true);
    expect(after.noMarketingSource).toContain('Jana Nováková');
    expect(after.noMarketingAt).toBeInstanceOf(Date);
  });
});

describe('bulk actions and export', () => {
  it('adds a tag to the selected clients', async () => {
    const ids = [(await byName('Jan Novák')).id, (await byName('Petr Svoboda')).id];
    const res = await admin.post('/clients/bulk', { scope: 'selected', ids: ids.map(String), action: 'tag', tagValue: 'newsletter', back: '/clients' });
    expect(res.status).toBe(303);
    expect((await byName('Jan Novák')).tags).toContain('newsletter');
    expect((await byName('Marie Nováková')).tags).not.toContain('newsletter');
  });

  it('adds every client matching the filter to a marketing list', async () => {
    const [list] = await t.db.insert(marketingLists).values({ name: 'Jarní akce' }).returning();
    const res = await admin.post('/clients/bulk', { scope: 'all', q: 'novak', action: 'list', listId: String(list!.id), back: '/clients?q=novak' });
    expect(res.status).toBe(303);
    const members = await t.db.select().from(listMembers).where(eq(listMembers.listId, list!.id));
    expect(members).toHaveLength(2);
  });

  it('explains an empty selection instead of doing nothing silently', async () => {
    const res = await admin.post('/clients/bulk', { scope: 'selected', action: 'tag', tagValue: 'x', back: '/clients' });
    expect(res.status).toBe(303);
    const page = await (await admin.get('/clients')).text();
    expect(page).toContain('Nevybrali jste žádného klienta');
  });

  it('exports the current filter as CSV that never starts a formula', async () => {
    await t.db.insert(clients).values({ name: '=HYPERLINK("http://evil.example","klik")', email: 'formula@x.cz', tags: ['formula'] });
    const res = await admin.get('/clients/export?tag=formula');
    expect(res.headers.get('content-type')).toContain('text/csv');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // BOM: Excel then reads UTF-8
    const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil.example"",""klik"")"`);
  });
});

describe('permissions', () => {
  it('lets staff view but a viewer not change clients, and answers unknown ids with 404', async () => {
    await addUser(t.database, 'viewer', 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    const viewer = t.client();
    await signIn(viewer, 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    expect((await viewer.get('/clients')).status).toBe(200);
    const c = await byName('Jan Novák');
    expect((await viewer.post(`/clients/${c.id}/field/phone`, { value: '1' })).status).toBe(403);
    expect((await viewer.post('/clients', { kind: 'person', name: 'X', locale: 'cs' })).status).toBe(403);
    expect((await viewer.post('/clients/bulk', { scope: 'all', action: 'tag', tagValue: 'x' })).status).toBe(403);
    expect((await admin.get('/clients/999999')).status).toBe(404);
    expect((await admin.get('/clients/abc')).status).toBe(404);
    expect((await admin.get(`/clients/${c.id}/field/password`)).status).toBe(404);
  });

  it('keeps the search index in step with edits', async () => {
    const c = await byName('Jan Novák');
    await t.db.execute(sql`update clients set name = 'Jan Dvořák' where id = ${c.id}`);
    expect(names(await (await admin.get('/clients?q=dvorak')).text())).toEqual(['Jan Dvořák']);
  });
});
