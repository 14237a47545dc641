import { and, asc, count, eq, sql, type SQL } from 'drizzle-orm';
import { pgArray, rowsOf, type Db } from '../db/client.ts';
import { clients, listMembers, marketingLists } from '../db/schema/index.ts';

/** `%q%` for ILIKE with the wildcards of `q` escaped. */
export const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

/** Every list as `{ id, name }`, by name: for a select box (the address book's "add to list"). */
export async function listAllLists(db: Db): Promise<{ id: number; name: string }[]> {
  return db
    .select({ id: marketingLists.id, name: marketingLists.name })
    .from(marketingLists)
    .orderBy(asc(marketingLists.name), asc(marketingLists.id));
}

/** The lists a client is a member of, by name, with when the client was added. */
export async function listClientLists(db: Db, clientId: number): Promise<{ id: number; name: string; addedAt: Date }[]> {
  return db
    .select({ id: marketingLists.id, name: marketingLists.name, addedAt: listMembers.addedAt })
    .from(listMembers)
    .innerJoin(marketingLists, eq(marketingLists.id, listMembers.listId))
    .where(eq(listMembers.clientId, clientId))
    .orderBy(asc(marketingLists.name), asc(marketingLists.id));
}

// Correlated subqueries name the outer table in plain SQL: in a select without joins drizzle renders
// `${marketingLists.id}` as a bare "id", which inside the subquery would bind to clients.id instead.
const memberCount = sql<number>`(select count(*)::int from list_members m where m.list_id = marketing_lists.id)`;
const noMarketingCount = sql<number>`(select count(*)::int from list_members m join clients c on c.id = m.client_id
                                       where m.list_id = marketing_lists.id and c.no_marketing)`;

export interface ListSummary {
  id: number;
  name: string;
  description: string | null;
  members: number;
  noMarketing: number;
}

/** One page of lists with their member counts (and how many members refuse marketing). */
export async function listLists(db: Db, params: { page: number; pageSize: number }): Promise<{ rows: ListSummary[]; total: number }> {
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: marketingLists.id,
        name: marketingLists.name,
        description: marketingLists.description,
        members: memberCount,
        noMarketing: noMarketingCount,
      })
      .from(marketingLists)
      .orderBy(asc(marketingLists.name), asc(marketingLists.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(marketingLists),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/** One list with its counts, or undefined. */
export async function getList(db: Db, id: number): Promise<(ListSummary & { createdAt: Date; updatedAt: Date }) | undefined> {
  const [row] = await db
    .select({
      id: marketingLists.id,
      name: marketingLists.name,
      description: marketingLists.description,
      createdAt: marketingLists.createdAt,
      updatedAt: marketingLists.updatedAt,
      members: memberCount,
      noMarketing: noMarketingCount,
    })
    .from(marketingLists)
    .where(eq(marketingLists.id, id));
  return row;
}

/** True when another list (not `exceptId`) already has this name, ignoring case. */
export async function listNameTaken(db: Db, name: string, exceptId?: number): Promise<boolean> {
  const [row] = await db
    .select({ id: marketingLists.id })
    .from(marketingLists)
    .where(
      and(sql`lower(${marketingLists.name}) = lower(${name})`, exceptId ? sql`${marketingLists.id} <> ${exceptId}` : undefined),
    )
    .limit(1);
  return !!row;
}

const memberSearch = (q: string | undefined): SQL | undefined =>
  q ? sql`(unaccent(${clients.name}) ilike unaccent(${likePattern(q)}) or ${clients.email} ilike ${likePattern(q)} or ${clients.ico} = ${q})` : undefined;

/** One page of a list's members, by name; `q` narrows by name, e-mail or IČO. */
export async function listMembersPage(db: Db, params: { listId: number; q?: string; page: number; pageSize: number }) {
  const where = and(eq(listMembers.listId, params.listId), memberSearch(params.q));
  const [rows, [total]] = await Promise.all([
    db
      .select({
        clientId: clients.id,
        name: clients.name,
        companyName: clients.companyName,
        email: clients.email,
        ico: clients.ico,
        noMarketing: clients.noMarketing,
        addedAt: listMembers.addedAt,
      })
      .from(listMembers)
      .innerJoin(clients, eq(clients.id, listMembers.clientId))
      .where(where)
      .orderBy(asc(clients.name), asc(clients.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(listMembers).innerJoin(clients, eq(clients.id, listMembers.clientId)).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/** One member of a list (with the client's name), or undefined when the client is not in the list. */
export async function getMember(db: Db, listId: number, clientId: number) {
  const [row] = await db
    .select({ clientId: clients.id, name: clients.name, email: clients.email })
    .from(listMembers)
    .innerJoin(clients, eq(clients.id, listMembers.clientId))
    .where(and(eq(listMembers.listId, listId), eq(listMembers.clientId, clientId)));
  return row;
}

export interface ClientHit {
  id: number;
  name: string;
  companyName: string | null;
  email: string | null;
  ico: string | null;
  noMarketing: boolean;
  /** Set when searching for a list: whether the client is already in it. */
  member?: boolean;
}

/**
 * The address-book search behind the type-ahead pickers (list members, activity people): a client id
 * (`12` or `#12`), an IČO, or words matched as prefixes against the client's search vector (name,
 * company, e-mail split at @ . - _, IČO, DIČ, city; diacritics folded). Best matches first.
 */
export async function searchClients(db: Db, q: string, options: { limit?: number; listId?: number } = {}): Promise<ClientHit[]> {
  const text = q.trim().slice(0, 200);
  if (!text) return [];
  const conditions: SQL[] = [];
  const id = /^#?(\d{1,9})$/.exec(text);
  if (id) conditions.push(sql`${clients.id} = ${Number(id[1])}`);
  const digits = text.replace(/\s+/g, '');
  if (/^\d{2,10}$/.test(digits)) conditions.push(sql`${clients.ico} like ${`${digits}%`}`);
  // Words of letters and digits only: safe inside to_tsquery syntax.
  const words = text.split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, 8);
  const tsquery = words.length ? words.map((w) => `${w}:*`).join(' & ') : null;
  if (tsquery) conditions.push(sql`${clients.search} @@ to_tsquery('posel_unaccent', ${tsquery})`);
  if (text.includes('@')) conditions.push(sql`${clients.email} like ${`${text.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`}`);
  if (!conditions.length) return [];
  const member = options.listId
    ? sql<boolean>`exists (select 1 from list_members m where m.list_id = ${options.listId} and m.client_id = clients.id)`
    : sql<boolean>`false`;
  const rank = tsquery ? sql`ts_rank(${clients.search}, to_tsquery('posel_unaccent', ${tsquery}))` : sql`0`;
  return db
    .select({
      id: clients.id,
      name: clients.name,
      companyName: clients.companyName,
      email: clients.email,
      ico: clients.ico,
      noMarketing: clients.noMarketing,
      member,
    })
    .from(clients)
    .where(sql.join(conditions.map((c) => sql`(${c})`), sql` or `))
    .orderBy(sql`${rank} desc`, asc(clients.name), asc(clients.id))
    .limit(options.limit ?? 10);
}

/** Clients whose primary or further e-mail is one of `emails` (lower-cased): `[client id, matched e-mail]`. */
export async function clientsByEmails(db: Db, emails: string[]): Promise<{ id: number; key: string }[]> {
  if (!emails.length) return [];
  const arr = pgArray(emails);
  // The primary e-mail is indexed; further e-mails are only checked on clients that have some.
  const rows = rowsOf<{ id: number; key: string }>(
    await db.execute(sql`
      select c.id, c.email as key from unnest(${arr}::text[]) as k(key) join ${clients} c on c.email = k.key
      union
      select c.id, e as key from ${clients} c cross join lateral unnest(c.emails) as e
       where cardinality(c.emails) > 0 and e = any(${arr}::text[])`),
  );
  return rows.map((r) => ({ id: Number(r.id), key: r.key }));
}

/** Clients with one of the IČOs: `[client id, IČO]`. */
export async function clientsByIcos(db: Db, icos: string[]): Promise<{ id: number; key: string }[]> {
  if (!icos.length) return [];
  const rows = rowsOf<{ id: number; key: string }>(
    await db.execute(sql`select c.id, c.ico as key from ${clients} c where c.ico = any(${pgArray(icos)}::text[])`),
  );
  return rows.map((r) => ({ id: Number(r.id), key: r.key }));
}
