import { and, asc, desc, eq, gt, gte, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { prefixTsQuery } from '../clients/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import { auditLog, users } from '../db/schema/index.ts';

/** Who acted and from where; taken from the request (see `auditActor` in src/http/context.ts). */
export interface AuditActor {
  actorId: number | null;
  actorName: string | null;
  ip: string | null;
  requestId: string | null;
}

export interface AuditEntry {
  action: string;
  objectType?: string;
  objectId?: string | number;
  summary?: string;
  before?: unknown;
  after?: unknown;
  result?: 'ok' | 'denied' | 'failed';
}

/**
 * Appends one row to the action log. Call it with the transaction that makes the change it records,
 * so both commit or neither does. The chain trigger fills id, prev_hash and hash.
 */
export async function recordAudit(db: Db, actor: AuditActor, entry: AuditEntry): Promise<void> {
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  await db.execute(sql`
    insert into audit_log (actor_id, actor_name, action, object_type, object_id, summary, before, after,
                           ip, request_id, result)
    values (${actor.actorId}, ${actor.actorName}, ${entry.action}, ${entry.objectType ?? null},
            ${entry.objectId == null ? null : String(entry.objectId)}, ${entry.summary ?? null},
            ${json(entry.before)}::jsonb, ${json(entry.after)}::jsonb, ${actor.ip}, ${actor.requestId},
            ${entry.result ?? 'ok'})`);
}

export type AuditRow = typeof auditLog.$inferSelect;

export const AUDIT_RESULTS = ['ok', 'denied', 'failed'] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** What the action log is filtered by (all optional, all combined). Values are already validated. */
export interface AuditFilter {
  /** A user's id, or 'none' for rows written without a signed-in user (system, sign-in attempts). */
  actor?: number | 'none';
  action?: string;
  objectType?: string;
  /** Inclusive lower bound of `at`. */
  from?: Date;
  /** Exclusive upper bound of `at`. */
  to?: Date;
  result?: AuditResult;
  /** Words typed into the search box; see `prefixTsQuery`. */
  q?: string;
}

/**
 * The summary's search vector. The expression must stay identical to the index in
 * migrations/0007_audit_search.sql, or the planner cannot use that index.
 */
const summaryVector = sql`to_tsvector('posel_unaccent', coalesce(${auditLog.summary}, ''))`;

/** The conditions on plain columns (everything but the search), each served by a btree index. */
function columnFilterSql(filter: AuditFilter): SQL | undefined {
  const parts: SQL[] = [];
  if (filter.actor === 'none') parts.push(isNull(auditLog.actorId));
  else if (filter.actor !== undefined) parts.push(eq(auditLog.actorId, filter.actor));
  if (filter.action) parts.push(eq(auditLog.action, filter.action));
  if (filter.objectType) parts.push(eq(auditLog.objectType, filter.objectType));
  if (filter.from) parts.push(gte(auditLog.at, filter.from));
  if (filter.to) parts.push(lt(auditLog.at, filter.to));
  if (filter.result) parts.push(eq(auditLog.result, filter.result));
  return parts.length ? and(...parts) : undefined;
}

/** The fulltext condition, or undefined when nothing was typed. */
function searchSql(filter: AuditFilter): SQL | undefined {
  if (filter.q === undefined || filter.q.trim() === '') return undefined;
  // Only letters and digits survive prefixTsQuery, so any input is a valid query; typed text with no
  // word in it (punctuation only) finds nothing rather than everything.
  const tsquery = prefixTsQuery(filter.q);
  return tsquery ? sql`${summaryVector} @@ to_tsquery('posel_unaccent', ${tsquery})` : sql`false`;
}

/** The SQL condition for a filter; undefined when nothing filters. */
export function auditFilterSql(filter: AuditFilter): SQL | undefined {
  return and(columnFilterSql(filter), searchSql(filter));
}

/** How many of the newest rows a search reads in order before it switches to the fulltext index. */
const SEARCH_WINDOW = 3000;

/**
 * The newest entries matching `filter`, older than `beforeId` when given (keyset paging: fast however deep).
 *
 * A search needs care: Postgres cannot estimate how many rows a prefix query matches. Read newest-first
 * along the primary key, a rare word makes it compute the summary's vector for every row of the log
 * (seconds on 200,000 rows); through the GIN index, a common word makes it fetch and sort every match.
 * So a search runs in two bounded steps: first the newest SEARCH_WINDOW candidate rows in id order
 * (enough for a common word), then, only if the page is not full, the older rest through the GIN index
 * (`id + 0` keeps the planner from walking the primary key instead) — which by then only a rarer word
 * reaches, with few matches to sort.
 */
export async function listAudit(
  db: Db,
  params: { filter?: AuditFilter; beforeId?: number; limit: number; /** tests use a small one */ searchWindow?: number },
): Promise<AuditRow[]> {
  const filter = params.filter ?? {};
  const columns = columnFilterSql(filter);
  const search = searchSql(filter);
  const before = params.beforeId ? lt(auditLog.id, params.beforeId) : undefined;
  if (!search) {
    return db.select().from(auditLog).where(and(columns, before)).orderBy(desc(auditLog.id)).limit(params.limit);
  }
  const window = params.searchWindow ?? Math.max(SEARCH_WINDOW, params.limit * 2);
  const [edge] = rowsOf<{ lowest: string | number | null; n: string | number }>(
    await db.execute(sql`
      select min(id) as lowest, count(*) as n
      from (select ${auditLog.id} from ${auditLog} where ${and(columns, before) ?? sql`true`} order by ${auditLog.id} desc limit ${window}) w`),
  );
  if (!edge || edge.lowest === null) return [];
  const lowest = Number(edge.lowest);
  const recent = await db
    .select()
    .from(auditLog)
    .where(and(columns, before, gte(auditLog.id, lowest), search))
    .orderBy(desc(auditLog.id))
    .limit(params.limit);
  if (recent.length >= params.limit || Number(edge.n) < window) return recent;
  const older = await db
    .select()
    .from(auditLog)
    .where(and(columns, lt(auditLog.id, lowest), search))
    .orderBy(sql`${auditLog.id} + 0 desc`)
    .limit(params.limit - recent.length);
  return [...recent, ...older];
}

/**
 * Every entry matching `filter`, newest first, with flat memory (CSV export). Without a search it pages by
 * keyset; with one it walks the log in id ranges (linear in the log's size, never a sort of every match).
 */
export async function* iterateAudit(db: Db, filter: AuditFilter, batch = 2000, span = 10_000): AsyncGenerator<AuditRow> {
  if (!searchSql(filter)) {
    let beforeId: number | undefined;
    for (;;) {
      const rows = await listAudit(db, { filter, beforeId, limit: batch });
      yield* rows;
      if (rows.length < batch) return;
      beforeId = rows[rows.length - 1]!.id;
    }
  }
  const where = auditFilterSql(filter);
  const [top] = await db.select({ id: sql<string | number | null>`max(${auditLog.id})` }).from(auditLog);
  for (let high = Number(top?.id ?? 0); high > 0; high -= span) {
    yield* await db
      .select()
      .from(auditLog)
      .where(and(where, lte(auditLog.id, high), gt(auditLog.id, high - span)))
      .orderBy(desc(auditLog.id));
  }
}

/**
 * The distinct values of an indexed column, by a skip scan: one index probe per value instead of reading
 * the whole log (Postgres has no loose index scan of its own). A few dozen actions → a few dozen probes.
 */
async function distinctValues(db: Db, column: 'action' | 'object_type'): Promise<string[]> {
  const col = sql.identifier(column);
  const rows = rowsOf<{ v: string | null }>(
    await db.execute(sql`
      with recursive vals(v) as (
        (select ${col} from audit_log where ${col} is not null order by ${col} limit 1)
        union all
        select (select ${col} from audit_log where ${col} > vals.v order by ${col} limit 1) from vals where vals.v is not null
      )
      select v from vals where v is not null limit 1000`),
  );
  return rows.map((r) => r.v!);
}

/** The actions that occur in the log, for the filter's choices. */
export function auditActions(db: Db): Promise<string[]> {
  return distinctValues(db, 'action');
}

/** The object types that occur in the log, for the filter's choices. */
export function auditObjectTypes(db: Db): Promise<string[]> {
  return distinctValues(db, 'object_type');
}

/** Every user (active or not) as a choice for the actor filter, by name. */
export async function auditActorChoices(db: Db): Promise<{ id: number; name: string }[]> {
  return db.select({ id: users.id, name: users.name }).from(users).orderBy(asc(users.name), asc(users.id));
}

export type ChainResult =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenId: number; reason: 'hash_mismatch' | 'link_broken' };

/**
 * Recomputes every row's hash in id order and checks each row points at its predecessor.
 * Returns the first broken row: a changed row shows as `hash_mismatch`, a removed or inserted
 * row as `link_broken` on the row after it.
 */
export async function verifyAuditChain(db: Db, batchSize = 5000): Promise<ChainResult> {
  let previousHash: string | null = null;
  let lastId = 0;
  let count = 0;
  for (;;) {
    const batch = rowsOf<{ id: string | number; prev_hash: string | null; hash: string; expected: string }>(
      await db.execute(sql`
        select id, prev_hash, hash, audit_row_hash(prev_hash, a) as expected
        from audit_log a where id > ${lastId} order by id limit ${batchSize}`),
    );
    for (const row of batch) {
      const id = Number(row.id);
      if (row.prev_hash !== previousHash) return { ok: false, count, brokenId: id, reason: 'link_broken' };
      if (row.hash !== row.expected) return { ok: false, count, brokenId: id, reason: 'hash_mismatch' };
      previousHash = row.hash;
      lastId = id;
      count++;
    }
    if (batch.length < batchSize) return { ok: true, count };
  }
}
