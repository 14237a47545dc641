import { and, asc, desc, eq, gte, inArray, lte, ne, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import { clients, orderItems, orders } from '../db/schema/index.ts';
import { clientSearchCondition, prefixTsQuery } from '../clients/queries.ts';
import { isIsoDate, type OrderStatus } from './fields.ts';

export interface OrderFilter {
  /** Order number prefix, or words of the client's name / e-mail / IČO. */
  q?: string;
  status?: OrderStatus;
  /** Ordered on or after (YYYY-MM-DD). */
  from?: string;
  /** Ordered on or before (YYYY-MM-DD). */
  to?: string;
  clientId?: number;
}

export const ORDER_SORTS = ['orderedOn', 'number'] as const;
export type OrderSort = (typeof ORDER_SORTS)[number];

export interface OrderPageParams extends OrderFilter {
  sort: OrderSort;
  dir: 'asc' | 'desc';
  /** Cursor of the last row seen: the page continues after it. */
  after?: string;
  /** Cursor of the first row seen: the page ends before it (going back). */
  before?: string;
  limit: number;
}

/** LIKE pattern for "starts with", with the wildcards the user typed taken literally. */
const startsWith = (text: string) => `${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

/** Up to this many matching clients are looked up first and passed as a list; more, and a subquery is used. */
const CLIENT_LIST_MAX = 500;

// Whether the database compares text by code point (PGlite: C; a server created with C or C.UTF-8). Then a
// prefix is exactly a range, which the unique index on orders.number serves; a linguistic collation (cs_CZ,
// ICU) orders "OBJ-1" and "OBJ.2" differently, so there we fall back to ILIKE alone (a scan, but correct).
const codePointOrder = new WeakMap<Db, Promise<boolean>>();
function sortsByCodePoint(db: Db): Promise<boolean> {
  let known = codePointOrder.get(db);
  if (!known) {
    known = db
      .execute(sql`select ('B' < 'a' and 'Z-9' < 'Z.' and 'z' < 'É') as ok`)
      .then((r) => rowsOf<{ ok: boolean }>(r)[0]?.ok === true)
      .catch(() => false);
    codePointOrder.set(db, known);
  }
  return known;
}

/** The smallest string greater than every string starting with `prefix` (in code point order). */
function prefixEnd(prefix: string): string {
  const chars = [...prefix];
  const last = chars.pop()!.codePointAt(0)!;
  return chars.join('') + String.fromCodePoint(Math.min(last + 1, 0x10ffff));
}

/**
 * "Order number starts with `q`", case-insensitively. With code point order, the prefix as typed, upper-
 * and lower-cased becomes index ranges (ILIKE still decides, so mixed-case numbers are found when one of the
 * three spellings matches their case).
 */
async function numberPrefix(db: Db, q: string): Promise<SQL> {
  const like = sql`${orders.number} ilike ${startsWith(q)}`;
  if (!(await sortsByCodePoint(db))) return like;
  const ranges = [...new Set([q, q.toUpperCase(), q.toLowerCase()])].map(
    (p) => sql`(${orders.number} >= ${p} and ${orders.number} < ${prefixEnd(p)})`,
  );
  return sql`((${sql.join(ranges, sql` or `)}) and ${like})`;
}

/**
 * "The client matches the full-text search". The clients come first from the GIN index: when few match, their
 * ids go in as a list, so orders come by orders_client_idx (a handful of rows to sort, however rare the match);
 * when many match, a subquery lets the ordered scan stop as soon as a page is full.
 */
async function clientMatches(db: Db, tsQuery: string): Promise<SQL> {
  const ids = await db
    .select({ id: clients.id })
    .from(clients)
    .where(clientSearchCondition(tsQuery))
    .limit(CLIENT_LIST_MAX + 1);
  if (ids.length === 0) return sql`false`;
  if (ids.length <= CLIENT_LIST_MAX) return inArray(orders.clientId, ids.map((r) => r.id));
  return sql`${orders.clientId} in (select ${clients.id} from ${clients} where ${clientSearchCondition(tsQuery)})`;
}

/** The WHERE conditions of the order list's filter (also used by the processing wizard's "all matching"). */
export async function filterConditions(db: Db, f: OrderFilter): Promise<SQL[]> {
  const where: SQL[] = [];
  if (f.status) where.push(eq(orders.status, f.status));
  if (f.from) where.push(gte(orders.orderedOn, f.from));
  if (f.to) where.push(lte(orders.orderedOn, f.to));
  if (f.clientId) where.push(eq(orders.clientId, f.clientId));
  const q = f.q?.trim();
  if (q) {
    const tsQuery = prefixTsQuery(q);
    const [byNumber, byClient] = await Promise.all([numberPrefix(db, q), tsQuery ? clientMatches(db, tsQuery) : sql`false`]);
    where.push(sql`(${byNumber} or ${byClient})`);
  }
  return where;
}

type Cursor = [value: string, id: number];

/** An opaque page cursor: the sort value and id of a row, base64url JSON. */
export function encodeCursor(value: string, id: number): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

/** Reads a cursor back, or null when it was tampered with or belongs to another sort. */
export function decodeCursor(raw: string | undefined, sort: OrderSort): Cursor | null {
  if (!raw || raw.length > 300) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [v, id] = value as [unknown, unknown];
    if (typeof v !== 'string' || !Number.isSafeInteger(id) || (id as number) < 1 || (id as number) > 2_147_483_647) return null;
    if (sort === 'orderedOn' && !isIsoDate(v)) return null;
    return [v, id as number];
  } catch {
    return null;
  }
}

const listColumns = {
  id: orders.id,
  number: orders.number,
  orderedOn: orders.orderedOn,
  dueOn: orders.dueOn,
  status: orders.status,
  currency: orders.currency,
  totalNet: orders.totalNet,
  totalGross: orders.totalGross,
  clientId: orders.clientId,
  clientName: clients.name,
};


/**
 * One page of orders, keyset-paged: ORDER BY (ordered_on, id) or number, continued from a cursor, so a page
 * deep in 300,000 orders costs the same as the first (the orders_ordered_idx / unique number index is walked
 * from the cursor; no OFFSET). `hasPrevious`/`hasNext` say whether links to the neighbouring pages make sense.
 */
export async function listOrders(db: Db, params: OrderPageParams) {
  const where = await filterConditions(db, params);
  const after = decodeCursor(params.after, params.sort);
  const before = after ? null : decodeCursor(params.before, params.sort);
  const backwards = !!before;
  const cursor = after ?? before;
  // Going back, walk the other way from the cursor and reverse the page afterwards.
  const ascending = (params.dir === 'asc') !== backwards;
  if (cursor) {
    const [value, id] = cursor;
    if (params.sort === 'number') {
      where.push(ascending ? sql`${orders.number} > ${value}` : sql`${orders.number} < ${value}`);
    } else {
      where.push(
        ascending
          ? sql`(${orders.orderedOn}, ${orders.id}) > (${value}::date, ${id})`
          : sql`(${orders.orderedOn}, ${orders.id}) < (${value}::date, ${id})`,
      );
    }
  }
  const dirFn = ascending ? asc : desc;
  const orderBy = params.sort === 'number' ? [dirFn(orders.number)] : [dirFn(orders.orderedOn), dirFn(orders.id)];
  const fetched = await db
    .select(listColumns)
    .from(orders)
    .innerJoin(clients, eq(clients.id, orders.clientId))
    .where(and(...where))
    .orderBy(...orderBy)
    .limit(params.limit + 1);
  const more = fetched.length > params.limit;
  const rows = fetched.slice(0, params.limit);
  if (backwards) rows.reverse();
  const cursorOf = (row: (typeof rows)[number] | undefined) =>
    row ? encodeCursor(params.sort === 'number' ? row.number : row.orderedOn, row.id) : null;
  return {
    rows,
    hasPrevious: backwards ? more : !!after,
    hasNext: backwards ? true : more,
    firstCursor: cursorOf(rows[0]),
    lastCursor: cursorOf(rows.at(-1)),
  };
}

/**
 * How many orders match, counting at most `cap` (an exact count of 300,000 rows on every keystroke is
 * wasted work; "more than 10,000" is what the user needs to know).
 */
export async function countOrders(db: Db, filter: OrderFilter, cap = 10_000): Promise<{ count: number; capped: boolean }> {
  const where = await filterConditions(db, filter);
  const inner = db.select({ one: sql`1` }).from(orders).where(and(...where)).limit(cap + 1);
  const [row] = rowsOf<{ n: number | string }>(await db.execute(sql`select count(*)::int as n from (${inner}) as matching`));
  const n = Number(row?.n ?? 0);
  return { count: Math.min(n, cap), capped: n > cap };
}

/** An order with its client and its items in position order; undefined when there is no such order. */
export async function getOrderWithItems(db: Db, id: number) {
  const [order] = await db
    .select({
      id: orders.id,
      number: orders.number,
      clientId: orders.clientId,
      orderedOn: orders.orderedOn,
      dueOn: orders.dueOn,
      status: orders.status,
      currency: orders.currency,
      note: orders.note,
      totalNet: orders.totalNet,
      totalVat: orders.totalVat,
      totalGross: orders.totalGross,
      createdAt: orders.createdAt,
      updatedAt: orders.updatedAt,
      client: { id: clients.id, name: clients.name, companyName: clients.companyName, ico: clients.ico, email: clients.email, city: clients.city },
    })
    .from(orders)
    .innerJoin(clients, eq(clients.id, orders.clientId))
    .where(eq(orders.id, id));
  if (!order) return undefined;
  const items = await db
    .select({
      id: orderItems.id,
      position: orderItems.position,
      name: orderItems.name,
      quantityMilli: orderItems.quantityMilli,
      unit: orderItems.unit,
      unitPrice: orderItems.unitPrice,
      vatRateBp: orderItems.vatRateBp,
    })
    .from(orderItems)
    .where(eq(orderItems.orderId, id))
    .orderBy(asc(orderItems.position), asc(orderItems.id));
  return { ...order, items };
}

export type OrderWithItems = NonNullable<Awaited<ReturnType<typeof getOrderWithItems>>>;

/** A client's most recent orders, newest first (for the client's page; uses orders_client_idx). */
export async function listClientOrders(db: Db, clientId: number, limit = 20) {
  return db
    .select({
      id: orders.id,
      number: orders.number,
      orderedOn: orders.orderedOn,
      status: orders.status,
      currency: orders.currency,
      totalGross: orders.totalGross,
    })
    .from(orders)
    .where(eq(orders.clientId, clientId))
    .orderBy(desc(orders.orderedOn), desc(orders.id))
    .limit(limit);
}

/** The id of the order with this number, if any (other than `exceptId`). */
export async function findOrderIdByNumber(db: Db, number: string, exceptId?: number): Promise<number | undefined> {
  const [row] = await db
    .select({ id: orders.id })
    .from(orders)
    .where(exceptId ? and(eq(orders.number, number), ne(orders.id, exceptId)) : eq(orders.number, number))
    .limit(1);
  return row?.id;
}
