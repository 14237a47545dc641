/**
 * Reading bulk actions: the history with live counts, one campaign's counts, the recipients as the wizard's
 * step 2 checks them, and the frozen recipients with their outcome.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import { recipientProblem, type ReasonCode } from './generation.ts';

/** The message states a campaign counts (its messages' live states). */
export const COUNTED_STATES = ['draft', 'queued', 'sending', 'sent', 'deferred', 'failed', 'uncertain', 'cancelled'] as const;
export type CampaignCounts = Record<(typeof COUNTED_STATES)[number], number> & { total: number };

export interface CampaignListRow {
  id: number;
  kind: string;
  name: string;
  marketing: boolean;
  status: string;
  pausedReason: string | null;
  templateName: string | null;
  listName: string | null;
  author: string | null;
  createdAt: Date;
  generatedAt: Date | null;
  queuedAt: Date | null;
  finishedAt: Date | null;
  recipientCount: number;
  processedCount: number;
  counts: CampaignCounts;
}

/**
 * Counts of a campaign's messages by state, computed from the messages themselves (never stored, so they
 * are always live): one grouped scan of messages_campaign_idx per campaign.
 */
const countsSql = sql`(select coalesce(jsonb_object_agg(g.status, g.n), '{}'::jsonb)
                         from (select m.status, count(*)::int as n from messages m where m.campaign_id = c.id group by m.status) g)`;

function toCounts(raw: Record<string, number> | string | null): CampaignCounts {
  const obj = typeof raw === 'string' ? (JSON.parse(raw) as Record<string, number>) : (raw ?? {});
  const counts = { total: 0 } as CampaignCounts;
  for (const s of COUNTED_STATES) counts[s] = Number(obj[s] ?? 0);
  counts.total = Object.values(obj).reduce((a, b) => a + Number(b), 0);
  return counts;
}

type RawRow = {
  id: number;
  kind: string;
  name: string;
  marketing: boolean;
  status: string;
  paused_reason: string | null;
  template_name: string | null;
  list_name: string | null;
  author: string | null;
  created_at: string | Date;
  generated_at: string | Date | null;
  queued_at: string | Date | null;
  finished_at: string | Date | null;
  recipient_count: number;
  processed_count: number;
  counts: Record<string, number> | string | null;
};

const date = (v: string | Date | null) => (v == null ? null : new Date(v));

function toRow(r: RawRow): CampaignListRow {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    marketing: r.marketing,
    status: r.status,
    pausedReason: r.paused_reason,
    templateName: r.template_name,
    listName: r.list_name,
    author: r.author,
    createdAt: new Date(r.created_at),
    generatedAt: date(r.generated_at),
    queuedAt: date(r.queued_at),
    finishedAt: date(r.finished_at),
    recipientCount: r.recipient_count,
    processedCount: r.processed_count,
    counts: toCounts(r.counts),
  };
}

const selectRows = sql`
  select c.id, c.kind, c.name, c.marketing, c.status, c.paused_reason, t.name as template_name, l.name as list_name,
         u.name as author, c.created_at, c.generated_at, c.queued_at, c.finished_at, c.recipient_count, c.processed_count,
         ${countsSql} as counts
    from campaigns c
    left join templates t on t.id = c.template_id
    left join marketing_lists l on l.id = c.list_id
    left join users u on u.id = c.created_by`;

/**
 * One page of the history, newest first, keyset on (created_at, id) (campaigns_created_idx): `before` is the
 * cursor `<iso>_<id>` of the last row of the previous page.
 */
export async function listCampaigns(db: Db, params: { before?: { at: string; id: number } | null; limit: number }): Promise<{ rows: CampaignListRow[]; olderThan: string | null }> {
  const where = params.before ? sql`where (c.created_at, c.id) < (${params.before.at}::timestamptz, ${params.before.id})` : sql``;
  const raw = rowsOf<RawRow>(await db.execute(sql`${selectRows} ${where} order by c.created_at desc, c.id desc limit ${params.limit + 1}`));
  const rows = raw.slice(0, params.limit).map(toRow);
  const last = rows[rows.length - 1];
  return { rows, olderThan: raw.length > params.limit && last ? `${last.createdAt.toISOString()}_${last.id}` : null };
}

/** One campaign as the history shows it (with live counts), or undefined. */
export async function getCampaignRow(db: Db, id: number): Promise<CampaignListRow | undefined> {
  const [raw] = rowsOf<RawRow>(await db.execute(sql`${selectRows} where c.id = ${id}`));
  return raw ? toRow(raw) : undefined;
}

/** `<iso>_<id>` → the keyset cursor, or null when malformed. */
export function cursorParam(value: string | undefined): { at: string; id: number } | null {
  const m = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)_(\d{1,9})$/.exec(value ?? '');
  return m && !Number.isNaN(Date.parse(m[1]!)) ? { at: m[1]!, id: Number(m[2]) } : null;
}

export interface CheckedRecipient {
  clientId: number | null;
  orderId: number | null;
  name: string | null;
  email: string | null;
  reason: ReasonCode | null;
}

/**
 * Step 2: who the campaign would write to now, each checked (address syntax, suppression list, no e-mail,
 * "no marketing" for marketing mail). A list's members are read live (they are frozen at generation).
 * Returns the counts and the refused ones (up to `showInvalid`) with their reasons, plus the first valid ones.
 */
export async function checkRecipients(
  db: Db,
  campaign: { id: number; kind: string; listId: number | null; marketing: boolean },
  options: { showInvalid?: number; showValid?: number } = {},
): Promise<{ total: number; valid: number; invalid: CheckedRecipient[]; invalidCount: number; sample: CheckedRecipient[]; byReason: Record<string, number> }> {
  const source =
    campaign.kind === 'list'
      ? sql`select null::int as order_id, c.id as client_id, c.name, c.email, c.no_marketing, true as present
              from list_members m join clients c on c.id = m.client_id where m.list_id = ${campaign.listId ?? 0}
             order by c.name, c.id`
      : sql`select r.order_id, r.client_id, c.name, c.email, coalesce(c.no_marketing, false) as no_marketing, c.id is not null as present
              from campaign_recipients r left join clients c on c.id = r.client_id where r.campaign_id = ${campaign.id}
             order by r.position`;
  const rows = rowsOf<{ order_id: number | null; client_id: number | null; name: string | null; email: string | null; no_marketing: boolean; present: boolean; suppressed: boolean }>(
    await db.execute(sql`select x.*, exists (select 1 from suppressions s where s.address = lower(x.email)) as suppressed from (${source}) x`),
  );
  const invalid: CheckedRecipient[] = [];
  const sample: CheckedRecipient[] = [];
  const byReason: Record<string, number> = {};
  let valid = 0;
  for (const r of rows) {
    const reason = recipientProblem({ exists: r.present, email: r.email, suppressed: r.suppressed, noMarketing: r.no_marketing }, campaign.marketing);
    const item = { clientId: r.client_id, orderId: r.order_id, name: r.name, email: r.email, reason };
    if (reason) {
      byReason[reason] = (byReason[reason] ?? 0) + 1;
      if (invalid.length < (options.showInvalid ?? 500)) invalid.push(item);
    } else {
      valid++;
      if (sample.length < (options.showValid ?? 50)) sample.push(item);
    }
  }
  return { total: rows.length, valid, invalid, invalidCount: rows.length - valid, sample, byReason };
}

export interface RecipientOutcome {
  position: number;
  clientId: number | null;
  name: string | null;
  email: string | null;
  state: string;
  reason: string | null;
  messageId: number | null;
  messageStatus: string | null;
  subject: string | null;
}

/** The frozen recipients of a campaign with their outcome, one page (by position), optionally one state. */
export async function recipientOutcomes(db: Db, id: number, params: { state?: string; page: number; pageSize: number }): Promise<{ rows: RecipientOutcome[]; total: number }> {
  const stateWhere = params.state ? sql`and r.state = ${params.state}` : sql``;
  const rows = rowsOf<{ position: number; client_id: number | null; name: string | null; email: string | null; state: string; reason: string | null; message_id: number | null; message_status: string | null; subject: string | null }>(
    await db.execute(sql`
      select r.position, r.client_id, c.name, r.email, r.state, r.reason, r.message_id, m.status as message_status, m.subject
        from campaign_recipients r
        left join clients c on c.id = r.client_id
        left join messages m on m.id = r.message_id
       where r.campaign_id = ${id} ${stateWhere}
       order by r.position
       limit ${params.pageSize} offset ${(params.page - 1) * params.pageSize}`),
  );
  const [count] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from campaign_recipients r where r.campaign_id = ${id} ${stateWhere}`));
  return {
    total: count?.n ?? 0,
    rows: rows.map((r) => ({ position: r.position, clientId: r.client_id, name: r.name, email: r.email, state: r.state, reason: r.reason, messageId: r.message_id, messageStatus: r.message_status, subject: r.subject })),
  };
}

/** How many recipient rows are in each state (pending, generated, skipped, error). */
export async function recipientStateCounts(db: Db, id: number): Promise<Record<string, number>> {
  const rows = rowsOf<{ state: string; n: number }>(await db.execute(sql`select state, count(*)::int as n from campaign_recipients where campaign_id = ${id} group by state`));
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}
