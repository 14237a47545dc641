import { and, asc, desc, eq, getTableColumns, isNotNull, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { clientSearchCondition, prefixTsQuery } from '../clients/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import {
  activities,
  auditLog,
  clients,
  contracts,
  MESSAGE_STATUSES,
  messageAttachments,
  messages,
  messageSearch,
  orders,
  templates,
  users,
  type MessageAddress,
  type MessageStatus,
} from '../db/schema/index.ts';

/** The records a message belongs to (any subset). */
export interface MessageLink {
  clientId?: number | null;
  orderId?: number | null;
  contractId?: number | null;
  activityId?: number | null;
}

const MAX_INT = 2_147_483_647;

/** A record id from a query or form value: a positive int4, or null. */
export function idParam(value: string | undefined | null): number | null {
  if (!value || !/^\d{1,10}$/.test(value)) return null;
  const n = Number(value);
  return n >= 1 && n <= MAX_INT ? n : null;
}

/** True for one of the states of MESSAGE_STATUSES (a query's `?status=`). */
export function isMessageStatus(value: unknown): value is MessageStatus {
  return typeof value === 'string' && (MESSAGE_STATUSES as readonly string[]).includes(value);
}

const creator = alias(users, 'creator');
const updater = alias(users, 'updater');

/**
 * The name of what a list row links to, as a scalar subquery on the table's primary key (see rowColumns).
 * Spelled out with qualified names: drizzle leaves columns unqualified in a one-table query, and an
 * unqualified `created_by` inside the subquery would be the linked table's own column, not the message's.
 */
const nameOf = (table: 'clients' | 'orders' | 'contracts' | 'activities' | 'users', column: string, fk: string) =>
  sql<string | null>`(${sql.raw(`select l.${column} from ${table} l where l.id = messages.${fk}`)})`;

/**
 * Columns of a row in the message lists (the /messages page and the Communication tabs). The linked
 * records' names are scalar subqueries, not joins: five left joins cost the planner 3–5 ms per query
 * (join orders × the messages indexes), ten times the page's run time, paid on every request because
 * drizzle's queries are not prepared; each subquery plans in microseconds.
 */
const rowColumns = {
  id: messages.id,
  status: messages.status,
  subject: messages.subject,
  recipients: messages.recipients,
  attachmentCount: messages.attachmentCount,
  clientId: messages.clientId,
  clientName: nameOf('clients', 'name', 'client_id'),
  orderId: messages.orderId,
  orderNumber: nameOf('orders', 'number', 'order_id'),
  contractId: messages.contractId,
  contractNumber: nameOf('contracts', 'number', 'contract_id'),
  activityId: messages.activityId,
  activitySubject: nameOf('activities', 'subject', 'activity_id'),
  createdBy: messages.createdBy,
  creatorName: nameOf('users', 'name', 'created_by'),
  /** With status and createdBy: whether the list may offer inline editing (rules.ts). */
  generated: messages.generated,
  createdAt: messages.createdAt,
  /** Keyset cursor with microseconds (a JS Date would round them away and skip rows). */
  cursor: sql<string>`to_char(${messages.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z,' || ${messages.id}`,
};

export type MessageRow = {
  id: number;
  status: string;
  subject: string;
  recipients: string;
  attachmentCount: number;
  clientId: number | null;
  clientName: string | null;
  orderId: number | null;
  orderNumber: string | null;
  contractId: number | null;
  contractNumber: string | null;
  activityId: number | null;
  activitySubject: string | null;
  createdBy: number | null;
  creatorName: string | null;
  generated: boolean;
  createdAt: Date;
  cursor: string;
};

function linkConditions(link: MessageLink): SQL[] {
  const parts: SQL[] = [];
  if (link.clientId) parts.push(eq(messages.clientId, link.clientId));
  if (link.orderId) parts.push(eq(messages.orderId, link.orderId));
  if (link.contractId) parts.push(eq(messages.contractId, link.contractId));
  if (link.activityId) parts.push(eq(messages.activityId, link.activityId));
  return parts;
}

/** A keyset cursor `<ISO time with µs>Z,<id>` from the query, or null when malformed. */
export function cursorParam(value: string | undefined): { at: string; id: number } | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z),(\d{1,10})$/.exec(value ?? '');
  if (!m) return null;
  const id = idParam(m[2]);
  return id && !Number.isNaN(Date.parse(m[1]!)) ? { at: m[1]!, id } : null;
}

/** The list rows' select (one row by id for the list's inline editing: src/messages/bulk-routes.ts). */
export function rowsQuery(db: Db) {
  return db.select(rowColumns).from(messages);
}

/** What the communication list can be narrowed by (all optional; they combine). */
export interface MessageFilter {
  status?: MessageStatus;
  link?: MessageLink;
  /** Local-day range already turned into instants: [from, to). */
  from?: Date;
  to?: Date;
  /** Which time the range applies to. */
  dateField?: 'created' | 'sent';
  userId?: number;
  /** An account id, or 0 for messages without one (the test mailbox). */
  accountId?: number;
  templateId?: number;
  sendMode?: string;
  attachments?: 'yes' | 'no';
  /** The bulk action (campaign) that generated the messages. */
  campaignId?: number;
}

/** Messages whose words match a search (`searchTsQuery`): their vectors are in `message_search`. */
export function matchesSearch(query: SQL): SQL {
  return sql`exists (select 1 from ${messageSearch} where ${messageSearch.messageId} = ${messages.id} and ${messageSearch.search} @@ ${query})`;
}

/** The WHERE parts of a filter (bulk actions re-run it for "all matching": src/messages/bulk.ts). */
export function filterConditions(filter: MessageFilter): SQL[] {
  const where: SQL[] = [...linkConditions(filter.link ?? {})];
  if (filter.status) where.push(eq(messages.status, filter.status));
  const at = filter.dateField === 'sent' ? messages.sentAt : messages.createdAt;
  if (filter.from) where.push(sql`${at} >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) where.push(sql`${at} < ${filter.to.toISOString()}::timestamptz`);
  if (filter.userId) where.push(eq(messages.createdBy, filter.userId));
  if (filter.accountId === 0) where.push(sql`${messages.accountId} is null`);
  else if (filter.accountId) where.push(eq(messages.accountId, filter.accountId));
  if (filter.templateId) where.push(eq(messages.templateId, filter.templateId));
  if (filter.sendMode) where.push(eq(messages.sendMode, filter.sendMode));
  if (filter.attachments === 'yes') where.push(sql`${messages.attachmentCount} > 0`);
  if (filter.attachments === 'no') where.push(sql`${messages.attachmentCount} = 0`);
  if (filter.campaignId) where.push(eq(messages.campaignId, filter.campaignId));
  return where;
}

const unfilteredLists = new WeakMap<Db, ReturnType<typeof prepareUnfilteredList>>();

/**
 * The unfiltered list's first page and older pages as prepared statements. drizzle sends other queries
 * unprepared, so the server plans each one again; for this query that planning (about 0.5 ms) costs
 * more than running it (0.3 ms at a million messages) and queues under 20 concurrent requests.
 */
function prepareUnfilteredList(db: Db) {
  const page = (where?: SQL) =>
    rowsQuery(db).where(where).orderBy(desc(messages.createdAt), desc(messages.id)).limit(sql.placeholder('limit'));
  return {
    first: page().prepare('messages_list_first'),
    older: page(sql`(${messages.createdAt}, ${messages.id}) < (${sql.placeholder('at')}::timestamptz, ${sql.placeholder('id')}::int)`).prepare('messages_list_older'),
  };
}

function unfilteredList(db: Db) {
  let prepared = unfilteredLists.get(db);
  if (!prepared) unfilteredLists.set(db, (prepared = prepareUnfilteredList(db)));
  return prepared;
}

/**
 * One page of messages, newest first, older than `before` when given (keyset on (created_at, id), which
 * the messages_created_idx serves: fast however deep). `olderThan` is the cursor of the next page.
 */
export async function listMessages(
  db: Db,
  params: MessageFilter & { before?: { at: string; id: number } | null; limit: number },
): Promise<{ rows: MessageRow[]; olderThan: string | null }> {
  const where = filterConditions(params);
  let rows: MessageRow[];
  if (!where.length) {
    // The unfiltered list (most requests): prepared statements, planned once per connection.
    const prepared = unfilteredList(db);
    rows = params.before
      ? await prepared.older.execute({ at: params.before.at, id: params.before.id, limit: params.limit + 1 })
      : await prepared.first.execute({ limit: params.limit + 1 });
  } else {
    if (params.before) where.push(sql`(${messages.createdAt}, ${messages.id}) < (${params.before.at}::timestamptz, ${params.before.id})`);
    rows = await rowsQuery(db)
      .where(and(...where))
      .orderBy(desc(messages.createdAt), desc(messages.id))
      .limit(params.limit + 1);
  }
  const more = rows.length > params.limit;
  const page = more ? rows.slice(0, params.limit) : rows;
  return { rows: page, olderThan: more ? page[page.length - 1]!.cursor : null };
}

/**
 * How many matches a search ranks: the newest this many. Ranking reads every candidate's search vector,
 * so ranking all of a word found in 400,000 of a million messages reads all those rows; the list says
 * when there were more, and asks to refine.
 */
export const SEARCH_CANDIDATES = 1000;

/**
 * One page of search results, best match first (subject weighs more than recipients, recipients more
 * than the body: the vector's A/B/C weights), then newest, among the newest SEARCH_CANDIDATES matches
 * (`capped` when there were more). Ranked pages are numbered, not keyset.
 */
export async function searchMessages(
  db: Db,
  params: MessageFilter & { query: SQL; page: number; limit: number },
): Promise<{ rows: (MessageRow & { bodyBlob: string })[]; more: boolean; capped: boolean }> {
  const offset = (params.page - 1) * params.limit;
  if (offset >= SEARCH_CANDIDATES) return { rows: [], more: false, capped: false };
  // Without parallel workers: for this query the planner likes them (it guesses thousands of matches for
  // a rare word), and starting them cost more than the whole search (1,000,000 messages on the server:
  // rare word p50 18.4 → 6.1 ms, common word 42.2 → 22.0 ms). The embedded database has none anyway.
  return db.transaction(async (tx) => {
    await tx.execute(sql`set local max_parallel_workers_per_gather = 0`);
    return rankedPage(tx, params, offset);
  });
}

async function rankedPage(
  db: Db,
  params: MessageFilter & { query: SQL; page: number; limit: number },
  offset: number,
): Promise<{ rows: (MessageRow & { bodyBlob: string })[]; more: boolean; capped: boolean }> {
  const where = [...filterConditions(params), sql`${messageSearch.search} @@ ${params.query}`];
  // Three steps, visibly, because the order matters for speed at a million messages:
  // 1. candidates: the newest matches, one more than we rank (to know there were more). For a common word
  //    the planner walks messages_created_idx backwards and stops early; for a rare one it takes the GIN index.
  const candidates = db
    .select({ id: messages.id, createdAt: messages.createdAt, search: messageSearch.search })
    .from(messages)
    .innerJoin(messageSearch, eq(messageSearch.messageId, messages.id))
    .where(and(...where))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(SEARCH_CANDIDATES + 1)
    .as('candidates');
  // 2. ranked: ts_rank over those only (their vectors come along from step 1), one page of ids, and how
  //    many candidates there were.
  const rank = sql`ts_rank(${candidates.search}, ${params.query})`;
  const ranked = db
    .select({ id: candidates.id, rank: sql<number>`${rank}`.as('rank'), found: sql<number>`count(*) over ()`.as('found') })
    .from(candidates)
    .orderBy(sql`"rank" desc`, desc(candidates.createdAt), desc(candidates.id))
    .limit(Math.min(params.limit + 1, SEARCH_CANDIDATES - offset + 1))
    .offset(offset)
    .as('ranked');
  // 3. the page's rows with the names of what they link to.
  const rows = await db
    .select({ ...rowColumns, bodyBlob: messages.bodyBlob, found: ranked.found })
    .from(ranked)
    .innerJoin(messages, eq(messages.id, ranked.id))
    .orderBy(desc(ranked.rank), desc(messages.createdAt), desc(messages.id));
  const capped = Number(rows[0]?.found ?? 0) > SEARCH_CANDIDATES;
  const shown = Math.min(params.limit, SEARCH_CANDIDATES - offset);
  return {
    rows: rows.slice(0, shown).map(({ found: _found, ...row }) => row),
    more: rows.length > shown && offset + shown < SEARCH_CANDIDATES,
    capped,
  };
}

/** A record's messages for its Communication tab, newest first; `more` when there are others beyond `limit`. */
export async function listMessagesFor(db: Db, link: MessageLink, limit = 20): Promise<{ rows: MessageRow[]; more: boolean }> {
  if (!linkConditions(link).length) return { rows: [], more: false };
  const { rows, olderThan } = await listMessages(db, { link, limit });
  return { rows, more: olderThan !== null };
}

/** A message with the names of everything it links to, for the detail page and the composer. */
export async function getMessage(db: Db, id: number) {
  const messageColumns = getTableColumns(messages);
  const [row] = await db
    .select({
      message: messageColumns,
      clientName: clients.name,
      clientEmail: clients.email,
      clientLocale: clients.locale,
      orderNumber: orders.number,
      contractNumber: contracts.number,
      activitySubject: activities.subject,
      templateName: templates.name,
      creatorName: creator.name,
      updaterName: updater.name,
    })
    .from(messages)
    .leftJoin(clients, eq(clients.id, messages.clientId))
    .leftJoin(orders, eq(orders.id, messages.orderId))
    .leftJoin(contracts, eq(contracts.id, messages.contractId))
    .leftJoin(activities, eq(activities.id, messages.activityId))
    .leftJoin(templates, eq(templates.id, messages.templateId))
    .leftJoin(creator, eq(creator.id, messages.createdBy))
    .leftJoin(updater, eq(updater.id, messages.updatedBy))
    .where(eq(messages.id, id));
  if (!row) return undefined;
  const { message, ...names } = row;
  return { ...message, ...names };
}

export type MessageDetail = NonNullable<Awaited<ReturnType<typeof getMessage>>>;

export type MessageAttachmentRow = typeof messageAttachments.$inferSelect;

/** A message's attachments in their order. */
export async function listMessageAttachments(db: Db, messageId: number): Promise<MessageAttachmentRow[]> {
  return db
    .select()
    .from(messageAttachments)
    .where(eq(messageAttachments.messageId, messageId))
    .orderBy(asc(messageAttachments.position), asc(messageAttachments.id));
}

/** One attachment of one message (an attachment id of another message answers undefined). */
export async function getMessageAttachment(db: Db, messageId: number, attachmentId: number): Promise<MessageAttachmentRow | undefined> {
  const [row] = await db
    .select()
    .from(messageAttachments)
    .where(and(eq(messageAttachments.messageId, messageId), eq(messageAttachments.id, attachmentId)));
  return row;
}

/** The message's own entries of the action log (created, edited, exported …), newest first. */
export async function listMessageLog(db: Db, messageId: number, limit = 200) {
  return db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.objectType, 'message'), eq(auditLog.objectId, String(messageId))))
    .orderBy(desc(auditLog.id))
    .limit(limit);
}

export interface RecipientSuggestion {
  id: number;
  name: string;
  email: string;
  companyName: string | null;
}

/**
 * Address-book suggestions for the To/Cc/Bcc fields: clients with an e-mail whose name, e-mail, IČO or city
 * match what was typed (the address book's own prefix search, GIN index), plus an exact e-mail match.
 */
export async function suggestRecipients(db: Db, q: string, limit = 8): Promise<RecipientSuggestion[]> {
  const text = q.trim().slice(0, 200);
  const tsQuery = prefixTsQuery(text);
  if (!tsQuery || text.length < 2) return [];
  const match = text.includes('@') ? or(clientSearchCondition(tsQuery), eq(clients.email, text.toLowerCase())) : clientSearchCondition(tsQuery);
  const rows = await db
    .select({ id: clients.id, name: clients.name, email: clients.email, companyName: clients.companyName })
    .from(clients)
    .where(and(isNotNull(clients.email), match))
    .orderBy(asc(clients.name), asc(clients.id))
    .limit(limit);
  return rows.map((r) => ({ ...r, email: r.email! }));
}

export interface LinkedClient {
  id: number;
  name: string;
  email: string | null;
  locale: string;
}

/** What the composer shows for the linked records, and the link with only records that exist. */
export interface LinkContext {
  link: MessageLink;
  client: LinkedClient | null;
  order: { id: number; number: string } | null;
  contract: { id: number; number: string; title: string } | null;
  activity: { id: number; subject: string } | null;
}

/**
 * Resolves the records a new message is written for. An order, contract or activity brings its client
 * (when the link names no client, or names the same one); ids of records that do not exist are dropped.
 */
export async function resolveLink(db: Db, wanted: MessageLink): Promise<LinkContext> {
  const out: LinkContext = { link: {}, client: null, order: null, contract: null, activity: null };
  let clientId = wanted.clientId ?? null;
  if (wanted.orderId) {
    const [o] = await db.select({ id: orders.id, number: orders.number, clientId: orders.clientId }).from(orders).where(eq(orders.id, wanted.orderId));
    if (o) {
      out.order = { id: o.id, number: o.number };
      out.link.orderId = o.id;
      clientId ??= o.clientId;
    }
  }
  if (wanted.contractId) {
    const [k] = await db
      .select({ id: contracts.id, number: contracts.number, title: contracts.title, clientId: contracts.clientId })
      .from(contracts)
      .where(eq(contracts.id, wanted.contractId));
    if (k) {
      out.contract = { id: k.id, number: k.number, title: k.title };
      out.link.contractId = k.id;
      clientId ??= k.clientId;
    }
  }
  if (wanted.activityId) {
    const [a] = await db
      .select({ id: activities.id, subject: activities.subject, clientId: activities.clientId })
      .from(activities)
      .where(eq(activities.id, wanted.activityId));
    if (a) {
      out.activity = { id: a.id, subject: a.subject };
      out.link.activityId = a.id;
      clientId ??= a.clientId;
    }
  }
  if (clientId) {
    const [cl] = await db.select({ id: clients.id, name: clients.name, email: clients.email, locale: clients.locale }).from(clients).where(eq(clients.id, clientId));
    if (cl) {
      out.client = cl;
      out.link.clientId = cl.id;
    }
  }
  return out;
}

/** The `?client=12` (or order, contract, activity) query naming a record, for "show all" and "new e-mail". */
export function linkQuery(link: MessageLink): string {
  const parts: string[] = [];
  if (link.clientId) parts.push(`client=${link.clientId}`);
  if (link.orderId) parts.push(`order=${link.orderId}`);
  if (link.contractId) parts.push(`contract=${link.contractId}`);
  if (link.activityId) parts.push(`activity=${link.activityId}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * What a record's Communication tab shows (views/partials/communication.njk): its newest messages,
 * whether there are more, and the query that names the record. Pass exactly one id.
 */
export async function communicationTab(db: Db, link: MessageLink, limit = 20) {
  const { rows, more } = await listMessagesFor(db, link, limit);
  return { rows, more, query: linkQuery(link) };
}

/** Whom "e-mail from an activity" writes to. */
export const ACTIVITY_AUDIENCES = ['contact', 'participants', 'responsible', 'informed', 'participants_responsible'] as const;
export type ActivityAudience = (typeof ACTIVITY_AUDIENCES)[number];

/**
 * The addresses of an activity's audience: its client (contact), its participants, its responsible users,
 * the people kept informed, or participants and responsible users together. People without an e-mail are
 * left out; an address is listed once.
 */
export async function activityRecipients(db: Db, activityId: number, audience: ActivityAudience): Promise<MessageAddress[]> {
  const out = new Map<string, MessageAddress>();
  const add = (email: string | null, name: string | null) => {
    if (email && !out.has(email.toLowerCase())) out.set(email.toLowerCase(), { address: email, ...(name ? { name } : {}) });
  };
  if (audience === 'contact') {
    const rows = rowsOf<{ email: string | null; name: string }>(
      await db.execute(sql`select c.email, c.name from activities a join clients c on c.id = a.client_id where a.id = ${activityId}`),
    );
    for (const r of rows) add(r.email, r.name);
  }
  if (audience === 'participants' || audience === 'informed' || audience === 'participants_responsible') {
    const role = audience === 'informed' ? 'cc' : 'participant';
    const rows = rowsOf<{ email: string | null; name: string | null }>(
      await db.execute(sql`
        select coalesce(p.email, c.email) as email, coalesce(p.name, c.name) as name
          from activity_people p left join clients c on c.id = p.client_id
         where p.activity_id = ${activityId} and p.role = ${role}
         order by p.id`),
    );
    for (const r of rows) add(r.email, r.name);
  }
  if (audience === 'responsible' || audience === 'participants_responsible') {
    const rows = rowsOf<{ email: string; name: string }>(
      await db.execute(sql`
        select u.email, u.name from activity_responsibles r join users u on u.id = r.user_id
         where r.activity_id = ${activityId} and u.active order by u.name`),
    );
    for (const r of rows) add(r.email, r.name);
  }
  return [...out.values()];
}

/** The choices of the list's filter selects: users who wrote messages, accounts, templates. */
export async function listFilterChoices(db: Db) {
  const [people, accounts, tpls] = await Promise.all([
    db.select({ id: users.id, name: users.name }).from(users).orderBy(asc(users.name)),
    rowsOf<{ id: number; name: string }>(await db.execute(sql`select id, name from smtp_accounts order by name`)),
    db.select({ id: templates.id, name: templates.name }).from(templates).orderBy(asc(templates.name)),
  ]);
  return { users: people, accounts, templates: tpls };
}
