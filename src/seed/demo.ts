/**
 * Demo data: a made-up Czech company's address book, orders, contracts, activities and marketing lists.
 * Deterministic for a given seed and reference day (a seeded PRNG drives every choice). Rows go in with
 * multi-row INSERTs (one jsonb parameter per chunk, expanded by jsonb_to_recordset) inside one transaction,
 * so a fresh database gets all of it or none. `npm run seed:demo [-- --force]` runs it on the configured
 * database; the first-run page can call `seedDemo` directly.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import { lineTotals } from '../orders/money.ts';
import {
  ACTIVITY_SUBJECTS,
  AS_ADJECTIVE,
  AS_NOUN,
  CITIES,
  COMPANY_MAILBOXES,
  COMPANY_PREFIX,
  COMPANY_REGION,
  COMPANY_SUFFIX,
  CONTRACT_TITLES,
  FEMALE_FIRST,
  LANDLINE_PREFIXES,
  MALE_FIRST,
  MOBILE_PREFIXES,
  NOTES,
  ORDER_NOTES,
  PERSON_DOMAINS,
  PRODUCTS,
  SK_CITIES,
  STREETS,
  SURNAMES,
} from './data.ts';

export interface DemoOptions {
  clients?: number;
  orders?: number;
  contracts?: number;
  activities?: number;
  /** Seed of the PRNG (same seed and `today`, same data). */
  seed?: number;
  /** The day the data is built around (orders in the two years before it); default: now. */
  today?: Date;
  /** Seed even when the database already has clients. */
  force?: boolean;
  actor?: AuditActor;
  /** Called as each stage starts (the CLI prints it). */
  onStage?: (stage: string) => void;
}

export interface DemoCounts {
  clients: number;
  orders: number;
  orderItems: number;
  contracts: number;
  activities: number;
  lists: number;
  listMembers: number;
}

/** The database already holds clients and `force` was not given. */
export class DemoDataRefusedError extends Error {
  constructor(readonly existingClients: number) {
    super(`The database already has ${existingClients} clients; demo data goes only into an empty one (use --force to add it anyway).`);
  }
}

export const DEMO_DEFAULTS = { clients: 2000, orders: 5000, contracts: 300, activities: 600, seed: 20260101 } as const;
const SYSTEM_ACTOR: AuditActor = { actorId: null, actorName: 'seed:demo', ip: null, requestId: null };
const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------------
// Randomness and small helpers

/** mulberry32: a tiny, fast, seedable PRNG (uniform in [0, 1)); good enough for made-up data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  weighted<T extends readonly unknown[]>(items: readonly T[], weightAt: number): T {
    let total = 0;
    for (const item of items) total += item[weightAt] as number;
    let r = this.next() * total;
    for (const item of items) {
      r -= item[weightAt] as number;
      if (r < 0) return item;
    }
    return items[items.length - 1]!;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
}

/** "Žluťoučký kůň" → "zlutoucky kun". */
export function asciiFold(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** 7 random digits plus the Czech mod-11 check digit. */
function makeIco(rnd: Random): string {
  const body = rnd.digits(7);
  let sum = 0;
  for (let i = 0; i < 7; i++) sum += Number(body[i]) * (8 - i);
  return body + String((11 - (sum % 11)) % 10);
}

const isoDate = (d: Date) => d.toISOString().slice(0, 10);

// ---------------------------------------------------------------------------------------------------
// Money: the app's own arithmetic (integer minor units, quantity in thousandths, VAT in basis points,
// each line rounded half up), so the cached totals are exactly what the order pages compute.

/** One order line's net, VAT and gross in minor units (see `lineTotals` in src/orders/money.ts). */
export function lineAmounts(quantityMilli: bigint, unitPrice: bigint, vatRateBp: number): { net: bigint; vat: bigint; gross: bigint } {
  return lineTotals({ quantityMilli, unitPrice, vatRateBp });
}

// ---------------------------------------------------------------------------------------------------
// Clients

export interface DemoClient {
  id: number;
  kind: 'person' | 'company';
  name: string;
  company_name: string | null;
  ico: string | null;
  dic: string | null;
  email: string;
  emails: string[];
  phone: string;
  street: string;
  city: string;
  zip: string;
  country: string;
  locale: string;
  tags: string[];
  note: string | null;
  no_marketing: boolean;
  no_marketing_at: string | null;
  no_marketing_source: string | null;
  created_at: string;
  updated_at: string;
}

interface Company {
  name: string;
  domain: string;
  ico: string;
}

/**
 * Makes `count` clients: about a third companies (s.r.o., a.s., with a valid IČO and DIČ = CZ + IČO),
 * the rest people with correct female surname forms, some working for one of the companies. E-mails are
 * derived from the names without diacritics and unique among those made here.
 */
export function* demoClients(count: number, options: { seed?: number; today?: Date; ids?: number[] } = {}): Generator<DemoClient> {
  const rnd = new Random(prng(options.seed ?? DEMO_DEFAULTS.seed));
  const today = (options.today ?? new Date()).getTime();
  const usedEmails = new Set<string>();
  const usedIcos = new Set<string>();
  const usedDomains = new Set<string>();
  const companies: Company[] = [];

  const uniqueEmail = (local: string, domain: string) => {
    let email = `${local}@${domain}`;
    for (let n = 2; usedEmails.has(email); n++) email = `${local}${n}@${domain}`;
    usedEmails.add(email);
    return email;
  };
  const uniqueIco = () => {
    let ico = makeIco(rnd);
    while (usedIcos.has(ico)) ico = makeIco(rnd);
    usedIcos.add(ico);
    return ico;
  };
  const phone = (mobile: boolean) =>
    `+420 ${rnd.pick(mobile ? MOBILE_PREFIXES : LANDLINE_PREFIXES)} ${rnd.digits(3)} ${rnd.digits(3)}`;

  for (let i = 0; i < count; i++) {
    const id = options.ids?.[i] ?? i + 1;
    const created = new Date(today - rnd.int(1, 3 * 365) * DAY - rnd.int(0, DAY - 1));
    const isCompany = rnd.chance(0.35);
    // A few people from Slovakia (companies stay Czech: their IČO and DIČ are Czech ones).
    const slovak = !isCompany && rnd.chance(0.03);
    const [city, zip] = slovak ? rnd.pick(SK_CITIES) : rnd.weighted(CITIES, 2);
    const street = `${rnd.pick(STREETS)} ${rnd.chance(0.6) ? `${rnd.int(100, 2999)}/${rnd.int(1, 80)}` : rnd.int(1, 250)}`;
    const tags: string[] = [];
    if (rnd.chance(0.08)) tags.push('vip');
    if (rnd.chance(0.3)) tags.push('newsletter');
    if (isCompany && rnd.chance(0.15)) tags.push(rnd.chance(0.5) ? 'velkoobchod' : 'maloobchod');
    if (rnd.chance(0.06)) tags.push('partner');
    if (isCompany && rnd.chance(0.1)) tags.push('dodavatel');
    if (rnd.chance(0.05)) tags.push('veletrh');
    if (today - created.getTime() < 90 * DAY) tags.push('nový');
    const noMarketing = rnd.chance(0.05);
    const base = {
      id,
      street,
      city,
      zip,
      country: slovak ? 'SK' : 'CZ',
      locale: rnd.chance(0.03) ? 'en' : 'cs',
      tags,
      note: rnd.chance(0.1) ? rnd.pick(NOTES) : null,
      no_marketing: noMarketing,
      no_marketing_at: noMarketing ? new Date(created.getTime() + rnd.int(1, 300) * DAY).toISOString() : null,
      no_marketing_source: noMarketing ? 'demo' : null,
      created_at: created.toISOString(),
      updated_at: new Date(created.getTime() + rnd.int(0, 60) * DAY).toISOString(),
    };
    if (isCompany) {
      let name: string;
      const style = rnd.next();
      if (style < 0.55) name = `${rnd.pick(COMPANY_PREFIX)}${rnd.pick(COMPANY_SUFFIX)} ${rnd.pick(COMPANY_REGION)} s.r.o.`;
      else if (style < 0.75) name = `${rnd.pick(SURNAMES)[0]} a syn s.r.o.`;
      else if (style < 0.88) name = `${rnd.pick(SURNAMES)[0]} & ${rnd.pick(SURNAMES)[0]}, s.r.o.`;
      else name = `${rnd.pick(AS_ADJECTIVE)} ${rnd.pick(AS_NOUN)} a.s.`;
      const stem = asciiFold(name.replace(/,?\s*(s\.r\.o\.|a\.s\.)$/, '')).replace(/&/g, ' ').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
      let domain = `${stem}.cz`;
      for (let n = 2; usedDomains.has(domain); n++) domain = `${stem}-${n}.cz`;
      usedDomains.add(domain);
      const ico = uniqueIco();
      const company: Company = { name, domain, ico };
      if (companies.length < 5000) companies.push(company);
      const mailbox = rnd.pick(COMPANY_MAILBOXES);
      yield {
        ...base,
        kind: 'company',
        name,
        company_name: null,
        ico,
        dic: rnd.chance(0.85) ? `CZ${ico}` : null,
        email: uniqueEmail(mailbox, domain),
        emails: rnd.chance(0.3) ? [uniqueEmail(mailbox === 'fakturace' ? 'obchod' : 'fakturace', domain)] : [],
        phone: phone(rnd.chance(0.3)),
      };
    } else {
      const female = rnd.chance(0.5);
      const first = female ? rnd.pick(FEMALE_FIRST) : rnd.pick(MALE_FIRST);
      const last = rnd.pick(SURNAMES)[female ? 1 : 0];
      const employer = companies.length && rnd.chance(0.3) ? rnd.pick(companies) : null;
      const f = asciiFold(first);
      const l = asciiFold(last);
      const variant = rnd.next();
      const local = variant < 0.5 ? `${f}.${l}` : variant < 0.7 ? `${f[0]}${l}` : variant < 0.85 ? `${l}.${f}` : `${f}${l}${rnd.int(1, 99)}`;
      yield {
        ...base,
        kind: 'person',
        name: `${first} ${last}`,
        company_name: employer?.name ?? null,
        // A sole trader (OSVČ) has an IČO of their own.
        ico: !employer && rnd.chance(0.06) ? uniqueIco() : null,
        dic: null,
        email: uniqueEmail(local, employer ? employer.domain : rnd.pick(PERSON_DOMAINS)),
        emails: rnd.chance(0.08) ? [uniqueEmail(`${f}.${l}`, rnd.pick(PERSON_DOMAINS))] : [],
        phone: phone(true),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** Reserves `n` ids from a serial column's sequence, so rows can be linked before they are written. */
async function reserveIds(tx: Db, table: string, n: number): Promise<number[]> {
  if (n <= 0) return [];
  const rows = rowsOf<{ id: number | string }>(
    await tx.execute(sql`select nextval(pg_get_serial_sequence(${table}, 'id')) as id from generate_series(1, ${n})`),
  );
  return rows.map((r) => Number(r.id));
}

/** Inserts `rows` into `table` in chunks: one statement per chunk, the rows as one jsonb parameter. */
async function insertChunked(tx: Db, table: string, columns: string, rows: object[], chunk = 2000): Promise<void> {
  const names = columns
    .split(',')
    .map((c) => c.trim().split(/\s+/)[0])
    .join(', ');
  for (let i = 0; i < rows.length; i += chunk) {
    await tx.execute(
      sql`insert into ${sql.raw(table)} (${sql.raw(names)}) select ${sql.raw(names)} from jsonb_to_recordset(${JSON.stringify(rows.slice(i, i + chunk))}::jsonb) as x(${sql.raw(columns)})`,
    );
  }
}

const CLIENT_COLUMNS = `id integer, kind text, name text, company_name text, ico text, dic text, email text, emails text[], phone text,
  street text, city text, zip text, country text, locale text, tags text[], note text, no_marketing boolean,
  no_marketing_at timestamptz, no_marketing_source text, created_at timestamptz, updated_at timestamptz`;
const ORDER_COLUMNS = `id integer, number text, client_id integer, ordered_on date, due_on date, status text, currency text, note text,
  total_net bigint, total_vat bigint, total_gross bigint, created_at timestamptz, updated_at timestamptz`;
const ITEM_COLUMNS = 'order_id integer, position integer, name text, quantity_milli bigint, unit text, unit_price bigint, vat_rate_bp integer';
const CONTRACT_COLUMNS = `id integer, number text, client_id integer, title text, valid_from date, valid_to date, value bigint, currency text,
  status text, note text, created_at timestamptz`;

/** Quantity in thousandths that suits the unit: whole pieces, kilograms in steps, half hours, metres to 10 cm. */
function quantityFor(rnd: Random, unit: string, price: number): number {
  switch (unit) {
    case 'ks':
      return (price < 10_000 && rnd.chance(0.4) ? rnd.pick([10, 20, 25, 50, 100]) : rnd.int(1, 12)) * 1000;
    case 'kg':
      return rnd.pick([250, 500, 1000, 1500, 2000, 2500, 5000, 10_000, 25_000, 50_000]);
    case 'h':
      return rnd.int(1, 32) * 500;
    default:
      return rnd.int(10, 1000) * 100;
  }
}

function orderStatus(rnd: Random, ageDays: number): string {
  const r = rnd.next();
  if (ageDays > 60) return r < 0.85 ? 'completed' : r < 0.93 ? 'cancelled' : 'shipped';
  if (ageDays > 14) return r < 0.45 ? 'completed' : r < 0.75 ? 'shipped' : r < 0.93 ? 'confirmed' : 'cancelled';
  return r < 0.4 ? 'new' : r < 0.8 ? 'confirmed' : r < 0.95 ? 'shipped' : 'cancelled';
}

/**
 * Fills the database with demo data and returns what it wrote. Refuses (DemoDataRefusedError) when
 * clients already exist, unless `force`. One audit row records it.
 */
export async function seedDemo(db: Db, options: DemoOptions = {}): Promise<DemoCounts> {
  const nClients = options.clients ?? DEMO_DEFAULTS.clients;
  const nOrders = nClients ? (options.orders ?? DEMO_DEFAULTS.orders) : 0;
  const nContracts = nClients ? (options.contracts ?? DEMO_DEFAULTS.contracts) : 0;
  const nActivities = nClients ? (options.activities ?? DEMO_DEFAULTS.activities) : 0;
  const seed = options.seed ?? DEMO_DEFAULTS.seed;
  const today = options.today ?? new Date();
  const stage = options.onStage ?? (() => {});
  const rnd = new Random(prng(seed ^ 0x5eed));

  const result = await db.transaction(async (tx) => {
    const [existing] = rowsOf<{ n: number | string }>(await tx.execute(sql`select count(*) as n from clients`));
    const existingClients = Number(existing?.n ?? 0);
    if (existingClients > 0 && !options.force) throw new DemoDataRefusedError(existingClients);

    const counts: DemoCounts = { clients: 0, orders: 0, orderItems: 0, contracts: 0, activities: 0, lists: 0, listMembers: 0 };

    // Clients (kept small in memory: what orders, contracts, activities and lists need).
    stage(`clients (${nClients})`);
    const clientIds = await reserveIds(tx, 'clients', nClients);
    const people: { id: number; kind: string; name: string; email: string; tags: string[]; noMarketing: boolean }[] = [];
    let chunk: DemoClient[] = [];
    for (const client of demoClients(nClients, { seed, today, ids: clientIds })) {
      chunk.push(client);
      people.push({ id: client.id, kind: client.kind, name: client.name, email: client.email, tags: client.tags, noMarketing: client.no_marketing });
      if (chunk.length === 2000) {
        await insertChunked(tx, 'clients', CLIENT_COLUMNS, chunk);
        chunk = [];
      }
    }
    await insertChunked(tx, 'clients', CLIENT_COLUMNS, chunk);
    counts.clients = nClients;
    // A few clients order often: a skewed pick favours the start of a shuffled list.
    const pickClient = () => people[Math.floor(rnd.next() ** 2 * people.length)]!;

    // Orders and their items, totals computed per line and cached on the order.
    stage(`orders (${nOrders})`);
    const orderIds = await reserveIds(tx, 'orders', nOrders);
    let orders: object[] = [];
    let items: object[] = [];
    for (let i = 0; i < nOrders; i++) {
      const id = orderIds[i]!;
      const client = pickClient();
      const ageDays = Math.floor(rnd.next() ** 1.3 * 730);
      const orderedOn = new Date(today.getTime() - ageDays * DAY);
      const eur = client.kind === 'company' && rnd.chance(0.03);
      const lineCount = rnd.int(1, 6);
      const chosen = new Set<number>();
      let net = 0n;
      let vat = 0n;
      for (let position = 1; position <= lineCount; position++) {
        let p = rnd.int(0, PRODUCTS.length - 1);
        while (chosen.has(p)) p = (p + 1) % PRODUCTS.length;
        chosen.add(p);
        const [name, unit, basePrice, vatRateBp] = PRODUCTS[p]!;
        // Prices vary a little between orders (discounts, price list changes), to whole haléře.
        const price = Math.round((basePrice * rnd.int(90, 105)) / 100 / (eur ? 25 : 1));
        const quantityMilli = quantityFor(rnd, unit, basePrice);
        const line = lineAmounts(BigInt(quantityMilli), BigInt(price), vatRateBp);
        net += line.net;
        vat += line.vat;
        items.push({ order_id: id, position, name, quantity_milli: quantityMilli, unit, unit_price: price, vat_rate_bp: vatRateBp });
      }
      const created = new Date(orderedOn.getTime() + rnd.int(8, 17) * 3_600_000);
      orders.push({
        id,
        number: `OBJ-${orderedOn.getUTCFullYear()}-${String(id).padStart(6, '0')}`,
        client_id: client.id,
        ordered_on: isoDate(orderedOn),
        due_on: isoDate(new Date(orderedOn.getTime() + (client.kind === 'company' ? 30 : 14) * DAY)),
        status: orderStatus(rnd, ageDays),
        currency: eur ? 'EUR' : 'CZK',
        note: rnd.chance(0.12) ? rnd.pick(ORDER_NOTES) : null,
        total_net: net.toString(),
        total_vat: vat.toString(),
        total_gross: (net + vat).toString(),
        created_at: created.toISOString(),
        updated_at: created.toISOString(),
      });
      counts.orderItems += lineCount;
      if (orders.length === 2000) {
        await insertChunked(tx, 'orders', ORDER_COLUMNS, orders);
        await insertChunked(tx, 'order_items', ITEM_COLUMNS, items, 5000);
        orders = [];
        items = [];
      }
    }
    await insertChunked(tx, 'orders', ORDER_COLUMNS, orders);
    await insertChunked(tx, 'order_items', ITEM_COLUMNS, items, 5000);
    counts.orders = nOrders;

    // Contracts, mostly with companies.
    stage(`contracts (${nContracts})`);
    const companies = people.filter((p) => p.kind === 'company');
    const contractIds = await reserveIds(tx, 'contracts', nContracts);
    const contracts: object[] = [];
    for (let i = 0; i < nContracts; i++) {
      const client = companies.length && rnd.chance(0.85) ? rnd.pick(companies) : pickClient();
      const from = new Date(today.getTime() - rnd.int(-30, 3 * 365) * DAY);
      const to = rnd.chance(0.3) ? null : new Date(from.getTime() + rnd.int(1, 3) * 365 * DAY);
      const r = rnd.next();
      const status = from > today ? 'draft' : r < 0.07 ? 'terminated' : to && to < today ? 'expired' : 'active';
      contracts.push({
        id: contractIds[i],
        number: `SML-${from.getUTCFullYear()}-${String(contractIds[i]).padStart(5, '0')}`,
        client_id: client.id,
        title: rnd.pick(CONTRACT_TITLES),
        valid_from: isoDate(from),
        valid_to: to ? isoDate(to) : null,
        value: String(rnd.int(50, 2000) * 1000 * 100),
        currency: 'CZK',
        status,
        note: rnd.chance(0.15) ? 'Automatické prodloužení o rok, výpovědní lhůta 3 měsíce.' : null,
        created_at: new Date(from.getTime() - rnd.int(1, 20) * DAY).toISOString(),
      });
    }
    await insertChunked(tx, 'contracts', CONTRACT_COLUMNS, contracts);
    counts.contracts = nContracts;

    // Activities with their people; the first users (if any) are made responsible.
    stage(`activities (${nActivities})`);
    const userIds = rowsOf<{ id: number }>(await tx.execute(sql`select id from users where active order by id limit 5`)).map((u) => Number(u.id));
    const activityIds = await reserveIds(tx, 'activities', nActivities);
    const activities: object[] = [];
    const responsibles: object[] = [];
    const activityPeople: object[] = [];
    const types = [['call', 35], ['email', 25], ['meeting', 20], ['task', 20]] as const;
    for (let i = 0; i < nActivities; i++) {
      const id = activityIds[i]!;
      const type = rnd.weighted(types, 1)[0];
      const client = pickClient();
      const at = new Date(today.getTime() + rnd.int(-180, 30) * DAY);
      at.setUTCHours(rnd.int(7, 15), rnd.pick([0, 15, 30, 45]), 0, 0);
      activities.push({
        id,
        type,
        subject: `${rnd.pick(ACTIVITY_SUBJECTS[type])} – ${client.name}`,
        at: at.toISOString(),
        client_id: client.id,
        note: rnd.chance(0.3) ? rnd.pick(NOTES) : null,
        done: at < today ? rnd.chance(0.9) : false,
        created_by: userIds.length ? userIds[0] : null,
      });
      if (userIds.length) responsibles.push({ activity_id: id, user_id: rnd.pick(userIds) });
      if (type !== 'task') activityPeople.push({ activity_id: id, role: 'participant', client_id: client.id, email: null, name: null });
      if (rnd.chance(0.15)) {
        const cc = pickClient();
        activityPeople.push({ activity_id: id, role: 'cc', client_id: cc.id, email: null, name: null });
      }
    }
    await insertChunked(tx, 'activities', 'id integer, type text, subject text, at timestamptz, client_id integer, note text, done boolean, created_by integer', activities);
    await insertChunked(tx, 'activity_responsibles', 'activity_id integer, user_id integer', responsibles);
    await insertChunked(tx, 'activity_people', 'activity_id integer, role text, client_id integer, email text, name text', activityPeople);
    counts.activities = nActivities;

    // Three marketing lists; people who refused marketing are not on them.
    stage('marketing lists (3)');
    const year = today.getUTCFullYear();
    const reachable = people.filter((p) => !p.noMarketing);
    const lists: { name: string; description: string; members: number[] }[] = [
      { name: `Newsletter – jaro ${year}`, description: 'Odběratelé měsíčního newsletteru.', members: reachable.filter((p) => p.tags.includes('newsletter')).map((p) => p.id) },
      { name: 'VIP klienti', description: 'Klienti s individuální péčí a zvláštními nabídkami.', members: reachable.filter((p) => p.tags.includes('vip')).map((p) => p.id) },
      {
        name: `Veletrh Stavotech ${year}`,
        description: 'Pozvánky na náš stánek a navazující nabídky.',
        members: reachable.filter((p) => p.tags.includes('veletrh') || (p.kind === 'company' && rnd.chance(0.05))).map((p) => p.id),
      },
    ];
    if (nClients) {
      for (const list of lists) {
        const [row] = rowsOf<{ id: number }>(
          await tx.execute(sql`insert into marketing_lists (name, description) values (${list.name}, ${list.description}) returning id`),
        );
        await insertChunked(tx, 'list_members', 'list_id integer, client_id integer', list.members.map((client_id) => ({ list_id: Number(row!.id), client_id })), 10_000);
        counts.lists++;
        counts.listMembers += list.members.length;
      }
    }

    await recordAudit(tx, options.actor ?? SYSTEM_ACTOR, {
      action: 'demo.seeded',
      objectType: 'database',
      summary: `demo data: ${counts.clients} clients, ${counts.orders} orders, ${counts.contracts} contracts, ${counts.activities} activities`,
      after: { ...counts, seed },
    });
    return counts;
  });
  // Fresh statistics and hint bits after a bulk load: the embedded database has no autovacuum to do it.
  await db.execute(sql`vacuum analyze`);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// `npm run seed:demo [-- --force] [--clients=N] [--orders=N] [--seed=N]`

async function cli(): Promise<number> {
  const { loadConfig, ConfigError } = await import('../config.ts');
  const { openDatabase } = await import('../db/open.ts');
  const { DataDirBusyError } = await import('../db/lock.ts');
  const args = process.argv.slice(2);
  const num = (name: string) => {
    const arg = args.find((a) => a.startsWith(`--${name}=`));
    const n = arg ? Number(arg.slice(name.length + 3)) : undefined;
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new ConfigError(`--${name} needs a whole number`);
    return n;
  };
  let opened;
  let options: DemoOptions;
  try {
    options = { force: args.includes('--force'), clients: num('clients'), orders: num('orders'), seed: num('seed') };
    const config = loadConfig();
    opened = await openDatabase(config);
    console.log(`Database: ${config.DATABASE_URL ? 'PostgreSQL server (DATABASE_URL)' : `embedded, ${path.join(config.DATA_DIR, 'db')}`}`);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DataDirBusyError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
  const { database, release } = opened;
  try {
    const started = performance.now();
    const counts = await seedDemo(database.db, { ...options, onStage: (s) => console.log(`  ${s}…`) });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `Demo data added in ${seconds} s: ${counts.clients} clients, ${counts.orders} orders (${counts.orderItems} items), ` +
        `${counts.contracts} contracts, ${counts.activities} activities, ${counts.lists} marketing lists (${counts.listMembers} members).`,
    );
    return 0;
  } catch (error) {
    if (error instanceof DemoDataRefusedError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  } finally {
    await database.close().catch(() => {});
    release();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await cli();
}
