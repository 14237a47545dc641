import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/client.ts';
import { auditLog, clients, listMembers, marketingLists } from '../db/schema/index.ts';
import { SYSTEM, addUser, createAdminApp, createTestApp, setUpAdmin, signIn, type TestClient } from '../test-support/harness.ts';
import { listAllLists, listClientLists } from './queries.ts';
import { addClientsToList } from './service.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
const c: Record<string, number> = {};

/** The visible text of a page: tags dropped, whitespace collapsed. */
const text = async (res: Response) =>
  (await res.text())
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/\s+/g, ' ');

/** Windows-1250 bytes of a string (built by inverting Node's decoder). */
function cp1250(s: string): Uint8Array {
  const decoded = new TextDecoder('windows-1250').decode(Uint8Array.from({ length: 256 }, (_, i) => i));
  const table = new Map([...decoded].map((ch, i) => [ch, i]));
  return Uint8Array.from([...s].map((ch) => table.get(ch) ?? 0x3f));
}

const upload = (client: TestClient, listId: number, bytes: Uint8Array | string, name = 'clenove.csv') => {
  const form = new FormData();
  form.append('file', new File([typeof bytes === 'string' ? bytes : (bytes as Uint8Array<ArrayBuffer>)], name, { type: 'text/csv' }));
  return client.request(`/lists/${listId}/import`, { method: 'POST', body: form });
};

async function newList(name: string, description = '') {
  const res = await admin.post('/lists', { name, description });
  if (res.status !== 303) throw new Error(`list create failed: ${res.status}`);
  return Number(/\/lists\/(\d+)$/.exec(res.headers.get('location')!)![1]);
}

const memberIds = async (listId: number) =>
  (await t.db.select({ id: listMembers.clientId }).from(listMembers).where(eq(listMembers.listId, listId))).map((r) => r.id).sort((a, b) => a - b);

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const rows = await t.db
    .insert(clients)
    .values([
      { name: 'Jan Novák', email: 'jan@novak.cz', kind: 'person' },
      { name: 'Eva Dvořáková', email: 'eva@dvorakova.cz', kind: 'person', noMarketing: true },
      { name: 'Stavby Brno s.r.o.', email: 'info@stavby.cz', ico: '12345678', emails: ['obchod@stavby.cz'] },
      { name: 'Šťastný & syn', email: 'stastny@syn.cz', ico: '01234567' },
    ])
    .returning({ id: clients.id, name: clients.name });
  for (const [i, key] of ['novak', 'eva', 'stavby', 'stastny'].entries()) c[key] = rows[i]!.id;
});
afterAll(() => t.close());

describe('marketing lists', () => {
  it('creates, renames and deletes a list, logging each step', async () => {
    const id = await newList('Jarní akce', 'Pozvánky na jaro');
    expect((await admin.post('/lists', { name: 'jarní AKCE' })).status).toBe(422);
    expect((await admin.post(`/lists/${id}`, { name: 'Jarní akce 2026', description: '' })).status).toBe(303);
    expect(await text(await admin.get('/lists'))).toContain('Jarní akce 2026');
    expect((await admin.post(`/lists/${id}/delete`, {})).status).toBe(303);
    expect(await t.db.select().from(marketingLists).where(eq(marketingLists.id, id))).toHaveLength(0);
    const log = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'list'), eq(auditLog.objectId, String(id))));
    expect(log.map((r) => r.action)).toEqual(['list.created', 'list.updated', 'list.deleted']);
    expect(log[1]!.before).toMatchObject({ name: 'Jarní akce' });
  });

  it('keeps the typed input and shows the error next to the name', async () => {
    const res = await admin.post('/lists', { name: '', description: 'Zůstane' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="e-name"[^>]*>Vyplňte prosím toto pole/);
    expect(html).toContain('Zůstane</textarea>');
  });

  it('flags members who refuse marketing, on the detail and in the index counts', async () => {
    const id = await newList('Newsletter');
    await addClientsToList(t.db, id, [c.novak!, c.eva!], SYSTEM);
    const detail = await admin.get(`/lists/${id}`);
    const html = await detail.text();
    expect(html).toMatch(new RegExp(`<tr id="member-${c.eva}" class="no-marketing-row">[\\s\\S]*?badge no-marketing[^>]*>nechce marketing<`));
    expect(html).not.toMatch(new RegExp(`<tr id="member-${c.novak}" class="no-marketing-row">`));
    expect(await text(new Response(html))).toContain('Členů: 2 z toho 1 nechce marketing');
    const index = await text(await admin.get('/lists'));
    expect(index).toMatch(/Newsletter 2 1/);
  });

  it('counts each list\'s own no-marketing members (whatever the ids)', async () => {
    const lists = [await newList('Počty A'), await newList('Počty B'), await newList('Počty C')];
    await addClientsToList(t.db, lists[0]!, [c.novak!], SYSTEM);
    await addClientsToList(t.db, lists[2]!, [c.novak!, c.eva!, c.stavby!], SYSTEM);
    for (const [i, expected] of [[0, 'Členů: 1 '], [1, 'Členů: 0 '], [2, 'Členů: 3 z toho 1 nechce marketing']] as const) {
      const page = await text(await admin.get(`/lists/${lists[i]}`));
      expect(page).toContain(expected);
      if (i < 2) expect(page).not.toContain('z toho');
    }
    const index = await text(await admin.get('/lists'));
    expect(index).toMatch(/Počty A 1 0/);
    expect(index).toMatch(/Počty B 0 0/);
    expect(index).toMatch(/Počty C 3 1/);
  });

  it('finds clients to add as you type, adds one inline and removes one inline', async () => {
    const id = await newList('Ruční výběr');
    const hits = await admin.get(`/lists/${id}/candidates?find=stastny`, { 'HX-Request': 'true' });
    const hitsHtml = await hits.text();
    expect(hitsHtml).not.toContain('<html');
    expect(hitsHtml).toContain('Šťastný &amp; syn');
    const added = await admin.post(`/lists/${id}/members`, { clientId: String(c.stastny), name: 'Šťastný & syn' }, { 'HX-Request': 'true' });
    const addedHtml = await added.text();
    expect(addedHtml).toContain('přidán(a)');
    expect(addedHtml).toContain('hx-swap-oob');
    expect(await memberIds(id)).toEqual([c.stastny]);
    expect(await (await admin.get(`/lists/${id}/candidates?find=stastny`, { 'HX-Request': 'true' })).text()).toContain('už je v seznamu');
    const removed = await admin.post(`/lists/${id}/members/${c.stastny}/remove`, {}, { 'HX-Request': 'true' });
    expect(await removed.text()).toContain('Šťastný &amp; syn byl(a) odebrán(a) ze seznamu.');
    expect(await memberIds(id)).toEqual([]);
    const log = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'list'), eq(auditLog.objectId, String(id))));
    expect(log.map((r) => r.action)).toEqual(['list.created', 'list.members_added', 'list.member_removed']);
  });

  it('adds and removes without JavaScript: plain posts answered with 303 back to the list', async () => {
    const id = await newList('Bez JS');
    const found = await text(await admin.get(`/lists/${id}?find=novak`));
    expect(found).toContain('Jan Novák');
    const add = await admin.post(`/lists/${id}/members`, { clientId: String(c.novak), next: `/lists/${id}?find=novak` });
    expect(add.status).toBe(303);
    expect(add.headers.get('location')).toBe(`/lists/${id}?find=novak`);
    expect(await text(await admin.get(`/lists/${id}`))).toContain('Přidáno do seznamu: 1, už v něm bylo: 0.');
    const remove = await admin.post(`/lists/${id}/members/${c.novak}/remove`, { next: `/lists/${id}` });
    expect(remove.status).toBe(303);
    expect(await memberIds(id)).toEqual([]);
    expect((await admin.post(`/lists/${id}/members/${c.novak}/remove`, {})).status).toBe(404);
  });

  it('imports a UTF-8 file with BOM and an e-mail header, reporting added, already there and unmatched rows', async () => {
    const id = await newList('Import UTF-8');
    await addClientsToList(t.db, id, [c.novak!], SYSTEM);
    const csv = '\uFEFFJméno,E-mail\r\nJan,jan@novak.cz\r\nStavby,OBCHOD@stavby.cz\r\nNikdo,nikdo@nikde.cz\r\nChyba,jan@@novak\r\n';
    const res = await upload(admin, id, new TextEncoder().encode(csv));
    expect(res.status).toBe(200);
    const page = await text(res);
    expect(page).toContain('1 přidáno do seznamu');
    expect(page).toContain('1 už v seznamu bylo');
    expect(page).toContain('2 řádků bez shody v adresáři');
    expect(page).toContain('4 nikdo@nikde.cz žádný klient s tímto e-mailem');
    expect(page).toContain('5 jan@@novak neplatná e-mailová adresa');
    expect(await memberIds(id)).toEqual([c.novak, c.stavby].sort((a, b) => a! - b!));
    const [row] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'list.members_imported'), eq(auditLog.objectId, String(id))));
    expect(row!.after).toMatchObject({ added: 1, already: 1, unmatched: 2, file: 'clenove.csv' });
  });

  it('imports a Windows-1250 file with ; and CRLF, quotes inside fields, matching by IČO', async () => {
    const id = await newList('Import 1250');
    const csv = 'Název;IČO\r\n"Stavby ""Brno""; s.r.o.";12345678\r\n"Šťastný & syn";1234567\r\nŽádná firma;87654321\r\n';
    const res = await upload(admin, id, cp1250(csv), 'firmy-1250.csv');
    expect(res.status).toBe(200);
    const page = await text(res);
    expect(page).toContain('2 přidáno do seznamu');
    expect(page).toContain('4 87654321 žádný klient s tímto IČO');
    expect(await memberIds(id)).toEqual([c.stavby, c.stastny].sort((a, b) => a! - b!));
  });

  it('refuses a binary file, an Excel workbook and an empty upload with a clear message, never a 500', async () => {
    const id = await newList('Chybné soubory');
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    const bin = await upload(admin, id, png, 'obrazek.csv');
    expect(bin.status).toBe(422);
    expect(await bin.text()).toMatch(/id="e-file"[^>]*>Soubor není textový soubor CSV/);
    const xlsx = await upload(admin, id, Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 6, 0]), 'seznam.xlsx');
    expect(await xlsx.text()).toContain('Toto je sešit Excelu, ne CSV.');
    const empty = await upload(admin, id, new Uint8Array(), 'prazdny.csv');
    expect(empty.status).toBe(422);
    const none = await admin.post(`/lists/${id}/import`, {});
    expect(none.status).toBe(422);
    expect(await none.text()).toContain('Vyberte prosím soubor CSV.');
    expect(await memberIds(id)).toEqual([]);
  });

  it('refuses a file over 5 MB with a clear message', async () => {
    const big = await createTestApp(); // the upload route has its own limit, above the app-wide form limit
    try {
      const client = big.client();
      await setUpAdmin(client);
      const [list] = await big.db.insert(marketingLists).values({ name: 'Velký' }).returning();
      const res = await upload(client, list!.id, new Uint8Array(6 * 1024 * 1024).fill(0x61));
      expect(res.status).toBe(413);
      expect(await res.text()).toMatch(/id="e-file"[^>]*>Soubor je větší než 5 MB/);
    } finally {
      await big.close();
    }
  });

  it('addClientsToList adds 10,000 clients quickly, once, with one audit row per call', async () => {
    const id = await newList('Hromadný');
    const inserted = rowsOf<{ id: number }>(
      await t.db.execute(sql`insert into clients (name, email) select 'Klient ' || g, 'k' || g || '@hromadne.cz' from generate_series(1, 10000) g returning id`),
    ).map((r) => Number(r.id));
    const started = performance.now();
    expect(await addClientsToList(t.db, id, inserted, SYSTEM)).toEqual({ added: 10_000, already: 0 });
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(5000);
    expect(await addClientsToList(t.db, id, [...inserted, ...inserted, 999_999_999, -1], SYSTEM)).toEqual({ added: 0, already: 10_000 });
    const [{ n }] = rowsOf<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from list_members where list_id = ${id}`)) as [{ n: number }];
    expect(n).toBe(10_000);
    const log = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'list.members_added'), eq(auditLog.objectId, String(id))));
    expect(log).toHaveLength(2);
    expect(log[0]!.after).toMatchObject({ added: 10_000, already: 0 });
    const page = await text(await admin.get(`/lists/${id}?page=200`));
    expect(page).toContain('Strana 200 / 200');
  });

  it('offers lists for a select box and tells which lists a client is in', async () => {
    const a = await newList('Alfa seznam');
    await addClientsToList(t.db, a, [c.eva!], SYSTEM);
    const all = await listAllLists(t.db);
    expect(all.find((l) => l.id === a)).toEqual({ id: a, name: 'Alfa seznam' });
    expect((await listClientLists(t.db, c.eva!)).map((l) => l.name)).toContain('Alfa seznam');
  });

  it('lets a viewer see lists but not change them', async () => {
    const id = await newList('Jen pro čtení');
    await addUser(t.database, 'viewer', 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    const viewer = t.client();
    await signIn(viewer, 'ctenar@firma.cz', 'Heslo čtenáře 2026');
    expect((await viewer.get('/lists')).status).toBe(200);
    const detail = await viewer.get(`/lists/${id}`);
    expect(detail.status).toBe(200);
    expect(await detail.text()).not.toContain('Nahrát a přidat');
    expect((await viewer.post('/lists', { name: 'Čtenářův' })).status).toBe(403);
    expect((await viewer.post(`/lists/${id}/members`, { clientId: String(c.novak) })).status).toBe(403);
    expect((await upload(viewer, id, 'jan@novak.cz')).status).toBe(403);
    expect(await memberIds(id)).toEqual([]);
  });

  it('answers 404 for unknown lists', async () => {
    expect((await admin.get('/lists/999999')).status).toBe(404);
    expect((await admin.get('/lists/99999999999')).status).toBe(404);
    expect((await admin.post('/lists/999999/members', { clientId: '1' })).status).toBe(404);
    expect((await upload(admin, 999999, 'jan@novak.cz')).status).toBe(404);
  });
});
