import { and, asc, count, desc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import { clients } from '../db/schema/index.ts';

export const CLIENT_SORTS = ['name', 'city', 'created'] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];

/** What the address book list is filtered by (all optional); it is also the "all matching" bulk scope. */
export interface ClientFilter {
  q?: string;
  tag?: string;
  /** yes: has a primary e-mail; no: has none */
  email?: 'yes' | 'no';
  /** yes: marketing allowed; no: refuses marketing */
  marketing?: 'yes' | 'no';
  kind?: 'person' | 'company';
}

/**
 * Turns what a user types into a prefix tsquery for as-you-type search: words of letters and digits, each
 * a prefix (`novak:*`), all required. Everything else (quotes, operators, SQL) is dropped, so any input is
 * safe and valid. The posel_unaccent configuration folds diacritics and case on both sides.
 */
export function prefixTsQuery(q: string | undefined): string | null {
  if (!q) return null;
  const words = q.normalize('NFC').match(/[\p{L}\p{N}]+/gu)?.slice(0, 8) ?? [];
  return words.length ? words.map((w) => `${w.slice(0, 60)}:*`).join(' & ') : null;
}

/** "The client matches this prefix tsquery", on the generated tsvector (GIN index). */
export function clientSearchCondition(tsquery: string): SQL {
  return sql`${clients.search} @@ to_tsquery('posel_unaccent', ${tsquery})`;
}

/** The SQL condition for a filter; undefined when nothing filters. */
export function clientFilterSql(filter: ClientFilter): SQL | undefined {
  const parts: SQL[] = [];
  const tsquery = prefixTsQuery(filter.q);
  if (filter.q !== undefined && filter.q.trim() !== '' && !tsquery) parts.push(sql`false`);
  if (tsquery) parts.push(clientSearchCondition(tsquery));
  if (filter.tag) parts.push(sql`${clients.tags} @> array[${filter.tag}]::text[]`);
  if (filter.email === 'yes') parts.push(sql`${clients.email} is not null`);
  if (filter.email === 'no') parts.push(sql`${clients.email} is null`);
  if (filter.marketing === 'yes') parts.push(eq(clients.noMarketing, false));
  if (filter.marketing === 'no') parts.push(eq(clients.noMarketing, true));
  if (filter.kind) parts.push(eq(clients.kind, filter.kind));
  return parts.length ? and(...parts) : undefined;
}

const listColumns = {
  id: clients.id,
  kind: clients.kind,
  name: clients.name,
  companyName: clients.companyName,
  ico: clients.ico,
  email: clients.email,
  phone: clients.phone,
  city: clients.city,
  tags: clients.tags,
  noMarketing: clients.noMarketing,
};

export type ClientListRow = { [K in keyof typeof listColumns]: (typeof clients.$inferSelect)[K] };

/** One page of the address book and the number of all matching clients. */
export async function listClients(
  db: Db,
  filter: ClientFilter,
  page: { page: number; pageSize: number; sort: ClientSort; dir: 'asc' | 'desc' },
): Promise<{ rows: ClientListRow[]; total: number }> {
  const where = clientFilterSql(filter);
  const order =
    page.sort === 'created'
      ? [desc(clients.createdAt), desc(clients.id)]
      : page.sort === 'city'
        ? [page.dir === 'desc' ? desc(clients.city) : asc(clients.city), asc(clients.name), asc(clients.id)]
        : [page.dir === 'desc' ? desc(clients.name) : asc(clients.name), asc(clients.id)];
  const offset = (page.page - 1) * page.pageSize;
  const countAll = async () => (await db.select({ n: count() }).from(clients).where(where))[0]?.n ?? 0;
  if (!where) {
    // Unfiltered: the page comes straight off the (name, id) index; the count is a separate cheap scan.
    const [rows, total] = await Promise.all([
      db.select(listColumns).from(clients).orderBy(...order).limit(page.pageSize).offset(offset),
      countAll(),
    ]);
    return { rows, total };
  }
  // Filtered: every match is read for the sort anyway, so count them in the same pass (count(*) over ()).
  const rows = await db
    .select({ ...listColumns, total: sql<string>`count(*) over ()` })
    .from(clients)
    .where(where)
    .orderBy(...order)
    .limit(page.pageSize)
    .offset(offset);
  const total = rows[0] ? Number(rows[0].total) : page.page > 1 ? await countAll() : 0;
  return { rows: rows.map(({ total: _total, ...row }) => row), total };
}

/** Ids of every client matching the filter (the "all N matching" bulk scope), in id order. */
export async function matchingClientIds(db: Db, filter: ClientFilter): Promise<number[]> {
  const rows = await db.select({ id: clients.id }).from(clients).where(clientFilterSql(filter)).orderBy(asc(clients.id));
  return rows.map((r) => r.id);
}

/** Every matching client (or the given ids), in batches by id: for CSV export of any size. */
export async function* iterateClients(db: Db, scope: { filter: ClientFilter } | { ids: number[] }, batch = 2000) {
  let after = 0;
  for (;;) {
    const where =
      'ids' in scope ? and(inArray(clients.id, scope.ids.length ? scope.ids : [0]), gt(clients.id, after)) : and(clientFilterSql(scope.filter), gt(clients.id, after));
    const rows = await db.select().from(clients).where(where).orderBy(asc(clients.id)).limit(batch);
    for (const row of rows) yield row;
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.id;
  }
}

export type Client = typeof clients.$inferSelect;

export async function getClient(db: Db, id: number): Promise<Client | undefined> {
  const [row] = await db.select().from(clients).where(eq(clients.id, id));
  return row;
}

/** The most used tags, for the filter's suggestions. */
export async function topTags(db: Db, limit = 30): Promise<string[]> {
  const rows = rowsOf<{ tag: string }>(
    await db.execute(sql`select tag from (select unnest(tags) as tag from clients) t group by tag order by count(*) desc, tag limit ${limit}`),
  );
  return rows.map((r) => r.tag);
}
