import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from '../db/client.ts';
import { icoChecksumOk } from '../import/fields.ts';
import { createTestDatabase } from '../test-support/harness.ts';
import { FEMALE_FIRST, SURNAMES } from './data.ts';
import { DemoDataRefusedError, demoClients, lineAmounts, seedDemo, type DemoCounts } from './demo.ts';

const TODAY = new Date('2026-11-22T10:00:00Z');
let database: Database;
let drop: () => Promise<void>;
let counts: DemoCounts;

const query = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await database.db.execute(q));
const one = async (q: ReturnType<typeof sql>) => Number(Object.values((await query<Record<string, unknown>>(q))[0]!)[0]);

beforeAll(async () => {
  ({ database, drop } = await createTestDatabase());
  counts = await seedDemo(database.db, { today: TODAY });
});
afterAll(() => drop());

describe('demo data', () => {
  it('fills an empty database with the default amounts and reports them', async () => {
    expect(counts).toMatchObject({ clients: 2000, orders: 5000, contracts: 300, activities: 600, lists: 3 });
    expect(await one(sql`select count(*) from clients`)).toBe(2000);
    expect(await one(sql`select count(*) from orders`)).toBe(5000);
    expect(await one(sql`select count(*) from order_items`)).toBe(counts.orderItems);
    expect(await one(sql`select count(*) from contracts`)).toBe(300);
    expect(await one(sql`select count(*) from activities`)).toBe(600);
    expect(await one(sql`select count(*) from marketing_lists`)).toBe(3);
    expect(await one(sql`select count(*) from list_members`)).toBe(counts.listMembers);
    expect(await one(sql`select count(*) from audit_log where action = 'demo.seeded'`)).toBe(1);
  });

  it('caches order totals equal to the sum of their lines, each rounded half up', async () => {
    // The same arithmetic in SQL: numeric round() rounds half away from zero.
    const mismatches = await one(sql`
      select count(*) from orders o join (
        select order_id,
               sum(round(quantity_milli * unit_price / 1000.0)) as net,
               sum(round(round(quantity_milli * unit_price / 1000.0) * vat_rate_bp / 10000.0)) as vat,
               count(*) as lines
        from order_items group by order_id) i on i.order_id = o.id
      where o.total_net <> i.net or o.total_vat <> i.vat or o.total_gross <> i.net + i.vat or i.lines not between 1 and 6`);
    expect(mismatches).toBe(0);
    expect(await one(sql`select count(*) from orders where total_gross <= 0`)).toBe(0);
    expect(await one(sql`select count(distinct vat_rate_bp) from order_items`)).toBe(3);
    expect(await one(sql`select count(distinct unit) from order_items`)).toBe(4);
  });

  it('rounds a line half up in minor units: quantity in thousandths, VAT in basis points', () => {
    // 1.5 kg × 0.25 Kč = 0.375 Kč → 38 haléřů; 21 % of 38 = 7.98 → 8.
    expect(lineAmounts(1500n, 25n, 2100)).toEqual({ net: 38n, vat: 8n, gross: 46n });
    // 3 × 12.50 Kč at 12 %: 3750 + 450.
    expect(lineAmounts(3000n, 1250n, 1200)).toEqual({ net: 3750n, vat: 450n, gross: 4200n });
    // Exactly half a haléř rounds up: 0.5 × 1 haléř → 1.
    expect(lineAmounts(500n, 1n, 0)).toEqual({ net: 1n, vat: 0n, gross: 1n });
  });

  it('gives companies a valid IČO and DIČ = CZ + IČO, and a legal form', async () => {
    const companies = await query<{ name: string; ico: string; dic: string | null }>(sql`select name, ico, dic from clients where kind = 'company'`);
    expect(companies.length).toBeGreaterThan(500);
    for (const c of companies) {
      expect(icoChecksumOk(c.ico), c.ico).toBe(true);
      if (c.dic) expect(c.dic).toBe(`CZ${c.ico}`);
      expect(c.name).toMatch(/ (s\.r\.o\.|a\.s\.)$/);
    }
    expect(await one(sql`select count(distinct ico) - count(ico) from clients`)).toBe(0);
  });

  it('writes women with female surname forms and e-mails without diacritics', async () => {
    const people = await query<{ name: string; email: string }>(sql`select name, email from clients where kind = 'person'`);
    const female = new Set<string>(FEMALE_FIRST);
    const femaleSurnames = new Set(SURNAMES.map((s) => s[1]));
    const maleSurnames = new Set(SURNAMES.map((s) => s[0]));
    for (const p of people) {
      const [first, last] = p.name.split(' ') as [string, string];
      expect(female.has(first) ? femaleSurnames.has(last) : maleSurnames.has(last), p.name).toBe(true);
      expect(p.email).toMatch(/^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+$/);
    }
    expect(people.some((p) => p.name.endsWith('ová'))).toBe(true);
    expect(await one(sql`select count(distinct email) - count(email) from clients`)).toBe(0);
  });

  it('marks about 5 % as "no marketing" and keeps them off the marketing lists', async () => {
    const share = (await one(sql`select count(*) filter (where no_marketing) from clients`)) / 2000;
    expect(share).toBeGreaterThan(0.03);
    expect(share).toBeLessThan(0.07);
    expect(await one(sql`select count(*) from list_members m join clients c on c.id = m.client_id where c.no_marketing`)).toBe(0);
  });

  it('is deterministic for a seed and a reference day', () => {
    const a = [...demoClients(300, { seed: 7, today: TODAY })];
    const b = [...demoClients(300, { seed: 7, today: TODAY })];
    const c = [...demoClients(300, { seed: 8, today: TODAY })];
    expect(b).toEqual(a);
    expect(c.map((x) => x.email)).not.toEqual(a.map((x) => x.email));
  });

  it('refuses a database that already has clients unless forced', async () => {
    await expect(seedDemo(database.db, { clients: 10, orders: 10 })).rejects.toBeInstanceOf(DemoDataRefusedError);
    expect(await one(sql`select count(*) from clients`)).toBe(2000);
    const more = await seedDemo(database.db, { clients: 10, orders: 20, contracts: 2, activities: 3, force: true, seed: 99 });
    expect(more).toMatchObject({ clients: 10, orders: 20 });
    expect(await one(sql`select count(*) from clients`)).toBe(2010);
    expect(await one(sql`select count(distinct number) from orders`)).toBe(5020);
  });
});
