import { and, asc, count, desc, eq, ilike, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { activities, clients, contracts, marketingLists, orders, templateAttachments, templates } from '../db/schema/index.ts';
import type { TemplatePurpose } from './catalogue.ts';

/** `%q%` for ILIKE with the wildcards of `q` escaped. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

export interface TemplateFilter {
  purpose?: TemplatePurpose;
  q?: string;
}

export interface TemplateSummary {
  id: number;
  name: string;
  purpose: TemplatePurpose;
  locale: string;
  subject: string;
  updatedAt: Date;
  attachments: number;
}

const attachmentCount = sql<number>`(select count(*)::int from template_attachments a where a.template_id = templates.id)`;

function where(f: TemplateFilter): SQL | undefined {
  const parts: SQL[] = [];
  if (f.purpose) parts.push(eq(templates.purpose, f.purpose));
  if (f.q) parts.push(ilike(templates.name, likePattern(f.q)));
  return parts.length ? and(...parts) : undefined;
}

/** One page of templates by name, filtered by purpose and a name search. */
export async function listTemplates(db: Db, params: TemplateFilter & { page: number; pageSize: number }): Promise<{ rows: TemplateSummary[]; total: number }> {
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: templates.id,
        name: templates.name,
        purpose: templates.purpose,
        locale: templates.locale,
        subject: templates.subject,
        updatedAt: templates.updatedAt,
        attachments: attachmentCount,
      })
      .from(templates)
      .where(where(params))
      .orderBy(asc(templates.name), asc(templates.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(templates).where(where(params)),
  ]);
  return { rows: rows as TemplateSummary[], total: total?.n ?? 0 };
}

export type TemplateRow = typeof templates.$inferSelect & { purpose: TemplatePurpose };
export type TemplateAttachmentRow = typeof templateAttachments.$inferSelect;

/** One template, or undefined. */
export async function getTemplate(db: Db, id: number): Promise<TemplateRow | undefined> {
  const [row] = await db.select().from(templates).where(eq(templates.id, id));
  return row as TemplateRow | undefined;
}

/** A template's attachments in their order. */
export async function getTemplateAttachments(db: Db, templateId: number): Promise<TemplateAttachmentRow[]> {
  return db.select().from(templateAttachments).where(eq(templateAttachments.templateId, templateId)).orderBy(asc(templateAttachments.position), asc(templateAttachments.id));
}

/** Templates for a select box, by name; only the given purposes when asked. */
export async function templateChoices(db: Db, purposes?: readonly TemplatePurpose[]): Promise<{ id: number; name: string; purpose: TemplatePurpose; locale: string }[]> {
  if (purposes && purposes.length === 0) return [];
  const rows = await db
    .select({ id: templates.id, name: templates.name, purpose: templates.purpose, locale: templates.locale })
    .from(templates)
    .where(purposes ? inArray(templates.purpose, [...purposes]) : undefined)
    .orderBy(asc(templates.name), asc(templates.id));
  return rows as { id: number; name: string; purpose: TemplatePurpose; locale: string }[];
}

export interface RecordChoice {
  id: number;
  label: string;
}

/**
 * Records a preview can use for a purpose: the most recent ones, or those matching `q` (name, number,
 * subject). Small and simple on purpose: it feeds a select box.
 */
export async function recordChoices(db: Db, purpose: TemplatePurpose, q: string, limit = 20): Promise<RecordChoice[]> {
  const like = q ? likePattern(q) : null;
  switch (purpose) {
    case 'client':
      return db
        .select({ id: clients.id, label: sql<string>`${clients.name} || coalesce(' <' || ${clients.email} || '>', '')` })
        .from(clients)
        .where(like ? sql`${clients.name} ilike ${like} or ${clients.email} ilike ${like}` : undefined)
        .orderBy(desc(clients.updatedAt), desc(clients.id))
        .limit(limit);
    case 'order':
      return db
        .select({ id: orders.id, label: sql<string>`${orders.number} || ' · ' || ${clients.name}` })
        .from(orders)
        .innerJoin(clients, eq(clients.id, orders.clientId))
        .where(like ? sql`${orders.number} ilike ${like} or ${clients.name} ilike ${like}` : undefined)
        .orderBy(desc(orders.orderedOn), desc(orders.id))
        .limit(limit);
    case 'contract':
      return db
        .select({ id: contracts.id, label: sql<string>`${contracts.number} || ' · ' || ${contracts.title}` })
        .from(contracts)
        .where(like ? sql`${contracts.number} ilike ${like} or ${contracts.title} ilike ${like}` : undefined)
        .orderBy(desc(contracts.validFrom), desc(contracts.id))
        .limit(limit);
    case 'activity':
      return db
        .select({ id: activities.id, label: activities.subject })
        .from(activities)
        .where(like ? ilike(activities.subject, like) : undefined)
        .orderBy(desc(activities.at), desc(activities.id))
        .limit(limit);
    case 'list':
      return db
        .select({ id: marketingLists.id, label: marketingLists.name })
        .from(marketingLists)
        .where(like ? ilike(marketingLists.name, like) : undefined)
        .orderBy(asc(marketingLists.name), asc(marketingLists.id))
        .limit(limit);
  }
}
