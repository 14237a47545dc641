/**
 * Saved views: a user's named filter + search of a list ("Failed this week", "Unsent drafts"), shown beside
 * the list. A view is only a query string for the list's own GET form, so the list re-validates it on every
 * use exactly as if it had been typed; saving one under an existing name replaces it.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { savedViews } from '../db/schema/index.ts';
import type { Permission } from '../auth/permissions.ts';
import { NotFoundError, RuleError } from '../errors.ts';

/** The lists that can have saved views: the path their query string belongs to and who may see the list. */
export const VIEW_LISTS = { messages: { path: '/messages', permission: 'messages.view' } } as const satisfies Record<string, { path: string; permission: Permission }>;
export type ViewList = keyof typeof VIEW_LISTS;
export const isViewList = (v: unknown): v is ViewList => typeof v === 'string' && Object.hasOwn(VIEW_LISTS, v);

export const VIEW_NAME_MAX = 80;
export const VIEW_QUERY_MAX = 2000;
/** A user keeps at most this many views per list (the sidebar stays a sidebar). */
export const VIEWS_PER_LIST = 30;
/** Paging is not part of a view: a view always opens at its first page. */
const PAGING = new Set(['page', 'before']);

/** A view's name as stored and shown: trimmed, inner runs of spaces collapsed. */
export const cleanViewName = (name: string) => name.trim().replace(/\s+/g, ' ');

export interface SavedView {
  id: number;
  name: string;
  query: string;
  href: string;
}

/** The query string of a view: the list's parameters without paging and empty values, in a stable order. */
export function normaliseViewQuery(raw: string): string {
  const params = new URLSearchParams(raw.startsWith('?') ? raw.slice(1) : raw);
  const kept = [...params].filter(([k, v]) => !PAGING.has(k) && v.trim() !== '' && k.length <= 40);
  kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(kept).toString();
}

export async function listSavedViews(db: Db, userId: number, list: ViewList): Promise<SavedView[]> {
  const rows = await db
    .select({ id: savedViews.id, name: savedViews.name, query: savedViews.query })
    .from(savedViews)
    .where(and(eq(savedViews.userId, userId), eq(savedViews.list, list)))
    .orderBy(asc(sql`lower(${savedViews.name})`), asc(savedViews.id));
  return rows.map((r) => ({ ...r, href: VIEW_LISTS[list].path + (r.query ? `?${r.query}` : '') }));
}

/** Saves (or, under a name the user already has for this list, replaces) a view; returns its id. */
export async function saveView(db: Db, actor: AuditActor, userId: number, list: ViewList, name: string, rawQuery: string): Promise<number> {
  const clean = cleanViewName(name);
  if (!clean) throw new RuleError('views.v.name');
  if (clean.length > VIEW_NAME_MAX) throw new RuleError('views.v.name_long');
  if (rawQuery.length > VIEW_QUERY_MAX) throw new RuleError('views.v.query_long');
  const query = normaliseViewQuery(rawQuery);
  if (query.length > VIEW_QUERY_MAX) throw new RuleError('views.v.query_long');
  return db.transaction(async (tx) => {
    const existing = await tx
      .select({ id: savedViews.id, query: savedViews.query })
      .from(savedViews)
      .where(and(eq(savedViews.userId, userId), eq(savedViews.list, list), eq(savedViews.name, clean)));
    let id: number;
    if (existing[0]) {
      id = existing[0].id;
      await tx.update(savedViews).set({ query }).where(eq(savedViews.id, id));
    } else {
      const [{ n } = { n: 0 }] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(savedViews)
        .where(and(eq(savedViews.userId, userId), eq(savedViews.list, list)));
      if (n >= VIEWS_PER_LIST) throw new RuleError('views.v.too_many');
      const [row] = await tx.insert(savedViews).values({ userId: userId, list, name: clean, query }).returning({ id: savedViews.id });
      id = row!.id;
    }
    await recordAudit(tx, actor, {
      action: existing[0] ? 'view.replaced' : 'view.saved',
      objectType: 'view',
      objectId: id,
      summary: clean,
      ...(existing[0] ? { before: { query: existing[0].query } } : {}),
      after: { list, name: clean, query },
    });
    return id;
  });
}

/** Deletes one of the user's own views (another user's view is "not found"). */
export async function deleteView(db: Db, actor: AuditActor, userId: number, id: number): Promise<ViewList> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .delete(savedViews)
      .where(and(eq(savedViews.id, id), eq(savedViews.userId, userId)))
      .returning({ name: savedViews.name, list: savedViews.list, query: savedViews.query });
    if (!row) throw new NotFoundError();
    await recordAudit(tx, actor, { action: 'view.deleted', objectType: 'view', objectId: id, summary: row.name, before: { list: row.list, query: row.query } });
    return row.list as ViewList;
  });
}
