import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, clients, contracts } from '../db/schema/index.ts';
import { addDays, todayIn } from '../orders/fields.ts';
import { addUser, createAdminApp, createTestApp, signIn, type TestClient } from '../test-support/harness.ts';
import { listClientContracts } from './queries.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let dvorak: number;
let kral: number;
const today = todayIn('Europe/Prague');

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const rows = await t.db
    .insert(clients)
    .values([
      { name: 'Dvořák Stavby s.r.o.', ico: '24681357', email: 'stavby@dvorak.cz' },
      { name: 'Král Jiří', kind: 'person', email: 'jiri@kral.cz' },
    ])
    .returning({ id: clients.id });
  dvorak = rows[0]!.id;
  kral = rows[1]!.id;
});
afterAll(() => t.close());

function contractForm(overrides: Record<string, string> = {}) {
  return {
    number: `SML-${Math.random().toString(36).slice(2, 9)}`,
    client: String(dvorak),
    title: 'Servisní smlouva',
    validFrom: '2026-01-01',
    validTo: '2026-12-31',
    value: '120 000,50',
    currency: 'CZK',
    status: 'active',
    note: '',
    ...overrides,
  } as Record<string, string> & { number: string };
}

const byNumber = async (number: string) => (await t.db.select().from(contracts).where(eq(contracts.number, number)))[0];
const errorFor = (html: string, name: string) => new RegExp(`id="e-${name}"[^>]*>([^<]*)<`).exec(html)?.[1];

describe('creating and editing a contract', () => {
  it('stores the value in minor units and shows the detail page', async () => {
    const form = contractForm();
    const res = await admin.post('/contracts', form);
    expect(res.status).toBe(303);
    const row = (await byNumber(form.number))!;
    expect(row).toMatchObject({ value: 12000050n, clientId: dvorak, validTo: '2026-12-31', status: 'active' });
    const html = await (await admin.get(`/contracts/${row.id}`)).text();
    expect(html).toContain('Smlouva byla vytvořena.');
    expect(html).toMatch(/120\s000,50\s*Kč/);
    expect(html).toContain('Servisní smlouva');
  });

  it('an end of validity before its start is a field error, and the input is kept', async () => {
    const form = contractForm({ validFrom: '2026-06-01', validTo: '2026-05-31', note: 'pozor' });
    const res = await admin.post('/contracts', form);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'validTo')).toBe('Konec platnosti nemůže být dříve než její začátek.');
    expect(html).toContain('value="2026-05-31"');
    expect(html).toContain('value="Servisní smlouva"');
    expect(html).toContain('>pozor</textarea>');
    expect(await byNumber(form.number)).toBeUndefined();
  });

  it('a value with three decimals, a duplicate number and an unknown client are field errors', async () => {
    const first = contractForm();
    await admin.post('/contracts', first);
    const res = await admin.post('/contracts', contractForm({ number: first.number, value: '10,505', client: '77777777' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'value')).toBe('Nejvýše 2 desetinná místa.');
    expect(errorFor(html, 'number')).toBe('Smlouva s tímto číslem už existuje.');
    expect(errorFor(html, 'client')).toBe('Klient s tímto ID, IČO ani e-mailem neexistuje.');
    expect(html).toContain('value="10,505"');
  });

  it('an edit and a status change are logged with before and after', async () => {
    const form = contractForm();
    await admin.post('/contracts', form);
    const row = (await byNumber(form.number))!;
    const edit = await (await admin.get(`/contracts/${row.id}/edit`)).text();
    expect(edit).toContain('value="120000,50"');
    const version = /name="version" value="([^"]+)"/.exec(edit)![1]!;
    expect((await admin.post(`/contracts/${row.id}`, { ...form, version, value: '150 000', client: 'jiri@kral.cz' })).status).toBe(303);
    expect(await byNumber(form.number)).toMatchObject({ value: 15000000n, clientId: kral });
    expect((await admin.post(`/contracts/${row.id}/status`, { status: 'terminated' })).status).toBe(303);
    const rows = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'contract'), eq(auditLog.objectId, String(row.id))));
    expect(rows.map((r) => r.action)).toEqual(['contract.created', 'contract.updated', 'contract.status_changed']);
    expect(rows[1]).toMatchObject({ before: { value: '120000.50', clientId: dvorak }, after: { value: '150000.00', clientId: kral } });
    expect(rows[2]).toMatchObject({ before: { status: 'active' }, after: { status: 'terminated' } });
  });

  it('an edit over someone else’s newer save is refused', async () => {
    const form = contractForm();
    await admin.post('/contracts', form);
    const row = (await byNumber(form.number))!;
    const res = await admin.post(`/contracts/${row.id}`, { ...form, version: '2000-01-01T00:00:00.000Z', title: 'Můj nový název' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('mezitím změnil někdo jiný');
    expect(html).toContain('value="Můj nový název"');
  });
});

describe('the contract list', () => {
  beforeAll(async () => {
    await t.db.insert(contracts).values([
      { number: 'EXP-SOON', clientId: kral, title: 'Nájem kanceláře', validFrom: '2025-01-01', validTo: addDays(today, 10), status: 'active' },
      { number: 'EXP-LATER', clientId: kral, title: 'Údržba zeleně', validFrom: '2025-01-01', validTo: addDays(today, 60), status: 'active' },
      { number: 'EXP-PAST', clientId: kral, title: 'Stará smlouva', validFrom: '2024-01-01', validTo: addDays(today, -1), status: 'active' },
      { number: 'EXP-DRAFT', clientId: kral, title: 'Návrh nájmu', validFrom: '2025-01-01', validTo: addDays(today, 5), status: 'draft' },
      ...Array.from({ length: 55 }, (_, i) => ({
        number: `PG-${String(i).padStart(3, '0')}`,
        clientId: dvorak,
        title: `Rámcová smlouva ${i}`,
        validFrom: addDays('2024-01-01', i),
        status: 'active',
      })),
    ]);
  });
  const numbersIn = (html: string) => [...html.matchAll(/<a href="\/contracts\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]!);

  it('"ending within 30 days" shows active contracts ending from today to 30 days ahead', async () => {
    const html = await (await admin.get('/contracts?expiring=1')).text();
    expect(numbersIn(html)).toEqual(['EXP-SOON']);
    expect(html).toContain('brzy končí');
  });

  it('filters by status and client, and searches number, title (without diacritics) and client', async () => {
    expect(numbersIn(await (await admin.get(`/contracts?status=draft&client=${kral}`)).text())).toEqual(['EXP-DRAFT']);
    expect(numbersIn(await (await admin.get('/contracts?q=udrzba')).text())).toEqual(['EXP-LATER']);
    expect(numbersIn(await (await admin.get('/contracts?q=exp-p')).text())).toEqual(['EXP-PAST']);
    const byClient = numbersIn(await (await admin.get('/contracts?q=kral&sort=number')).text());
    expect(byClient).toEqual(expect.arrayContaining(['EXP-DRAFT', 'EXP-LATER', 'EXP-PAST', 'EXP-SOON']));
    expect(byClient.some((n) => n.startsWith('PG-'))).toBe(false);
  });

  it('pages through the list, keeping the filter in the links', async () => {
    const first = await (await admin.get(`/contracts?client=${dvorak}&q=ramcova`)).text();
    expect(first).toContain('Počet smluv: 55');
    expect(numbersIn(first)).toHaveLength(50);
    const next = /href="([^"]*)"[^>]*rel="next"/.exec(first)![1]!.replace(/&amp;/g, '&');
    expect(next).toContain('q=ramcova');
    const second = await (await admin.get(next)).text();
    expect(numbersIn(second)).toHaveLength(5);
    expect(new Set([...numbersIn(first), ...numbersIn(second)]).size).toBe(55);
  });

  it('answers htmx with the rows only', async () => {
    const html = await (await admin.get('/contracts?expiring=1', { 'HX-Request': 'true' })).text();
    expect(html).not.toContain('<html');
    expect(html).toContain('EXP-SOON');
  });
});

describe('permissions and unknown ids', () => {
  it('staff may view contracts but not create or edit them', async () => {
    await addUser(t.database, 'staff', 'smlouvy@firma.cz', 'Heslo referenta 2026');
    const staff = t.client();
    await signIn(staff, 'smlouvy@firma.cz', 'Heslo referenta 2026');
    const [row] = await t.db.select().from(contracts).limit(1);
    expect((await staff.get('/contracts')).status).toBe(200);
    expect((await staff.get(`/contracts/${row!.id}`)).status).toBe(200);
    expect((await staff.get(`/contracts/${row!.id}?tab=communication`)).status).toBe(200);
    expect((await staff.get('/contracts/new')).status).toBe(403);
    expect((await staff.post('/contracts', contractForm())).status).toBe(403);
    expect((await staff.post(`/contracts/${row!.id}/status`, { status: 'draft' })).status).toBe(403);
  });

  it('a guessed nonexistent id or a non-numeric one is 404', async () => {
    expect((await admin.get('/contracts/424242')).status).toBe(404);
    expect((await admin.get('/contracts/x1')).status).toBe(404);
    expect((await admin.get('/contracts/424242/edit')).status).toBe(404);
    expect((await admin.post('/contracts/424242', contractForm())).status).toBe(404);
  });
});

describe('queries for other modules', () => {
  it('listClientContracts gives a client’s contracts, most recently started first', async () => {
    const rows = await listClientContracts(t.db, kral);
    expect(Object.keys(rows[0]!).sort()).toEqual(['currency', 'id', 'number', 'status', 'title', 'validFrom', 'validTo', 'value']);
    expect(rows.map((r) => r.validFrom)).toEqual([...rows.map((r) => r.validFrom)].sort().reverse());
    expect(await listClientContracts(t.db, kral, 2)).toHaveLength(2);
  });
});
