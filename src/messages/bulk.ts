/**
 * Bulk actions on the communication list (/messages): send now, schedule, cancel, retry, delete drafts,
 * re-link to a client, export as .eml files in a zip. Each works on a list of message ids in batches of
 * BATCH_SIZE, every batch its own transaction with one audit row per changed message; a message that is not
 * in a state the action applies to is skipped with the reason, never forced. Selections larger than
 * BACKGROUND_OVER run as an in-process job (the page polls its progress), like the CSV import.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import { ZipFile } from 'yazl';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Permission } from '../auth/permissions.ts';
import type { Db } from '../db/client.ts';
import { messageAttachments, messages } from '../db/schema/index.ts';
import { RuleError } from '../errors.ts';
import type { Translate } from '../http/i18n/index.ts';
import { safeFilename } from '../mail/mime.ts';
import { cancel, queueMessage, reschedule, retry, sendNow, type BulkResult } from '../sender/queue.ts';
import { getSendDefaults, mailKindOf } from '../settings/send-defaults.ts';
import type { Store } from '../store/store.ts';
import { filterConditions, matchesSearch, type MessageFilter } from './queries.ts';
import { canDeleteMessage, type RuleUser } from './rules.ts';
import { deletedDraftAudit, messageMime } from './service.ts';
import { settleMessageSearch } from './search.ts';

export const BULK_ACTIONS = ['send_now', 'schedule', 'cancel', 'retry', 'delete', 'relink', 'export'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** The permission each action needs (checked by the route, and by the view to offer the action at all). */
export const ACTION_PERMISSION: Record<BulkAction, Permission> = {
  send_now: 'messages.send',
  schedule: 'messages.send',
  cancel: 'messages.send',
  retry: 'messages.send',
  delete: 'messages.delete',
  relink: 'messages.edit',
  export: 'messages.export',
};

export function isBulkAction(value: unknown): value is BulkAction {
  return typeof value === 'string' && (BULK_ACTIONS as readonly string[]).includes(value);
}

/** The most messages one action takes from "all matching"; the rest is left for another run (and said so). */
export const BULK_MAX = 100_000;
/** The most messages in one zip export (it streams, but 100,000 bodies with attachments is not a download). */
export const EXPORT_MAX = 10_000;
/** Selections larger than this run in the background with a progress page. */
export const BACKGROUND_OVER = 1_000;
/** Messages per transaction on a PostgreSQL server (other connections keep working meanwhile). */
export const BATCH_SIZE = 500;
/**
 * Messages per transaction on PGlite: it runs inside this process and a transaction holds the event loop
 * until it commits, so a batch is a pause of every page. Measured on the shared 2-core machine with 2,000
 * cancels: the longest event-loop stall was 1.3 s with 500 per batch, 0.65 s with 100, for 10-30 % less
 * throughput (notes in the helper's report).
 */
export const PGLITE_BATCH_SIZE = 100;

/** The batch size for a database. */
export const batchSizeFor = (kind: 'pglite' | 'postgres') => (kind === 'pglite' ? PGLITE_BATCH_SIZE : BATCH_SIZE);

/** What an action needs besides the ids. */
export type BulkParams =
  | { action: 'send_now' | 'cancel' | 'retry' | 'delete' }
  | { action: 'schedule'; at: Date }
  | { action: 'relink'; clientId: number; clientName: string };

/** A message left alone, and why (an i18n key: `messages.bulk.why.<status>`, `…why.not_own`, a RuleError's key). */
export interface Skip {
  id: number;
  reason: string;
}

export interface BatchOutcome {
  done: number[];
  skipped: Skip[];
}

const why = (status: string) => `messages.bulk.why.${status}`;

/** A queue function's result as an outcome; ids it did not find at all were deleted meanwhile. */
function fromQueue(ids: number[], result: BulkResult): BatchOutcome {
  const skipped: Skip[] = result.skipped.map((s) => ({ id: s.id, reason: why(s.status) }));
  const seen = new Set([...result.done, ...result.skipped.map((s) => s.id)]);
  for (const id of ids) if (!seen.has(id)) skipped.push({ id, reason: why('gone') });
  return { done: result.done, skipped };
}

// --------------------------------------------------------------------------------------------- selecting

/** The newest `limit` ids matching the list's filter (and search), and whether more matched. */
export async function matchingIds(db: Db, filter: MessageFilter, query: SQL | null, limit = BULK_MAX): Promise<{ ids: number[]; capped: boolean }> {
  const rows = await db
    .select({ id: messages.id })
    .from(messages)
    .where(and(...filterConditions(filter), ...(query ? [matchesSearch(query)] : [])))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(limit + 1);
  return { ids: rows.slice(0, limit).map((r) => r.id), capped: rows.length > limit };
}

/** How many messages match, counted up to `cap + 1` (a count of a million rows per page view would cost). */
export async function countMatching(db: Db, filter: MessageFilter, query: SQL | null, cap = BULK_MAX): Promise<number> {
  const where = and(...filterConditions(filter), ...(query ? [matchesSearch(query)] : []));
  const sub = db.select({ one: sql`1` }).from(messages).where(where).limit(cap + 1).as('m');
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(sub);
  return row?.n ?? 0;
}

// ---------------------------------------------------------------------------------------------- actions

/**
 * Queues drafts (send now or at `at`) the way their detail page would by default: the send mode set for
 * their kind of mail (settings), the default account. Each draft is queueMessage's own transaction.
 */
async function queueDrafts(db: Db, actor: AuditActor, ids: number[], at: Date | null): Promise<BatchOutcome> {
  const out: BatchOutcome = { done: [], skipped: [] };
  if (!ids.length) return out;
  const defaults = await getSendDefaults(db);
  const rows = await db
    .select({ id: messages.id, clientId: messages.clientId, orderId: messages.orderId, contractId: messages.contractId, activityId: messages.activityId })
    .from(messages)
    .where(inArray(messages.id, ids));
  for (const row of rows) {
    const mode = defaults[mailKindOf(row)];
    try {
      await queueMessage(db, actor, row.id, { mode: mode === 'individual' ? 'individual' : 'together', bccAll: mode === 'bcc', sendAt: at });
      out.done.push(row.id);
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      const known: Record<string, string> = { 'sending.v.not_draft': why('changed'), 'sending.v.no_recipient': why('no_recipient') };
      out.skipped.push({ id: row.id, reason: known[error.messageKey] ?? error.messageKey });
    }
  }
  const found = new Set(rows.map((r) => r.id));
  for (const id of ids) if (!found.has(id)) out.skipped.push({ id, reason: why('gone') });
  return out;
}

/** Send now / schedule: waiting messages get the new time; drafts are queued for it. */
async function sendOrSchedule(db: Db, actor: AuditActor, ids: number[], at: Date | null): Promise<BatchOutcome> {
  const drafts = (await db.select({ id: messages.id }).from(messages).where(and(inArray(messages.id, ids), eq(messages.status, 'draft')))).map((r) => r.id);
  const draftSet = new Set(drafts);
  const rest = ids.filter((id) => !draftSet.has(id));
  const waiting = fromQueue(rest, at ? await reschedule(db, actor, rest, at) : await sendNow(db, actor, rest));
  const queued = await queueDrafts(db, actor, drafts, at);
  return { done: [...waiting.done, ...queued.done], skipped: [...waiting.skipped, ...queued.skipped] };
}

/**
 * Deletes the drafts among `ids` that `user` may delete (rules.ts), in one transaction, with the same audit
 * row as deleting one draft from its page (src/messages/service.ts deleteDraft).
 */
export async function deleteDrafts(db: Db, actor: AuditActor, user: RuleUser, ids: number[]): Promise<BatchOutcome> {
  if (!ids.length) return { done: [], skipped: [] };
  return db.transaction(async (tx) => {
    const rows = await tx.select().from(messages).where(inArray(messages.id, ids)).for('update');
    const skipped: Skip[] = [];
    const allowed: typeof rows = [];
    for (const row of rows) {
      const rule = canDeleteMessage(user, row);
      if (rule.ok) allowed.push(row);
      else skipped.push({ id: row.id, reason: rule.reason === 'not_draft' ? why(row.status) : why(rule.reason) });
    }
    const found = new Set(rows.map((r) => r.id));
    for (const id of ids) if (!found.has(id)) skipped.push({ id, reason: why('gone') });
    if (!allowed.length) return { done: [], skipped };
    const allowedIds = allowed.map((r) => r.id);
    const files = await tx
      .select({ messageId: messageAttachments.messageId, filename: messageAttachments.filename })
      .from(messageAttachments)
      .where(inArray(messageAttachments.messageId, allowedIds))
      .orderBy(messageAttachments.messageId, messageAttachments.position, messageAttachments.id);
    await tx.delete(messages).where(and(inArray(messages.id, allowedIds), eq(messages.status, 'draft')));
    for (const before of allowed) {
      const filenames = files.filter((f) => f.messageId === before.id).map((f) => f.filename);
      await recordAudit(tx, actor, deletedDraftAudit(before, filenames, { bulk: true }));
    }
    return { done: allowedIds.sort((a, b) => a - b), skipped };
  });
}

/**
 * Files messages under another client, whatever their state (the link is not the content: a sent message
 * filed under the wrong client is the usual case). An order, contract or activity link that belongs to a
 * different client is cleared, or the message would show on one client's order and another's page. The
 * composer never writes the link, so no edit in progress can overwrite this (no version bump needed).
 */
export async function relinkMessages(db: Db, actor: AuditActor, ids: number[], clientId: number): Promise<BatchOutcome> {
  if (!ids.length) return { done: [], skipped: [] };
  return db.transaction(async (tx) => {
    const rows = await tx
      .select({ id: messages.id, subject: messages.subject, recipients: messages.recipients, clientId: messages.clientId, orderId: messages.orderId, contractId: messages.contractId, activityId: messages.activityId })
      .from(messages)
      .where(inArray(messages.id, ids))
      .for('update');
    const skipped: Skip[] = [];
    const found = new Set(rows.map((r) => r.id));
    for (const id of ids) if (!found.has(id)) skipped.push({ id, reason: why('gone') });
    const change = rows.filter((r) => {
      if (r.clientId !== clientId) return true;
      skipped.push({ id: r.id, reason: why('same_client') });
      return false;
    });
    if (!change.length) return { done: [], skipped };
    // A record link survives only when that record belongs to the new client.
    const after = await tx
      .update(messages)
      .set({
        clientId,
        orderId: sql`case when exists (select 1 from orders o where o.id = ${messages.orderId} and o.client_id = ${clientId}) then ${messages.orderId} end`,
        contractId: sql`case when exists (select 1 from contracts k where k.id = ${messages.contractId} and k.client_id = ${clientId}) then ${messages.contractId} end`,
        activityId: sql`case when exists (select 1 from activities a where a.id = ${messages.activityId} and a.client_id = ${clientId}) then ${messages.activityId} end`,
      })
      .where(inArray(messages.id, change.map((r) => r.id)))
      .returning({ id: messages.id, clientId: messages.clientId, orderId: messages.orderId, contractId: messages.contractId, activityId: messages.activityId });
    const byId = new Map(after.map((r) => [r.id, r]));
    for (const before of change) {
      const now = byId.get(before.id)!;
      await recordAudit(tx, actor, {
        action: 'message.relink',
        objectType: 'message',
        objectId: before.id,
        summary: `${before.subject || '—'}${before.recipients ? ` → ${before.recipients}` : ''}`.slice(0, 300),
        before: { clientId: before.clientId, orderId: before.orderId, contractId: before.contractId, activityId: before.activityId },
        after: { clientId: now.clientId, orderId: now.orderId, contractId: now.contractId, activityId: now.activityId },
      });
    }
    return { done: change.map((r) => r.id).sort((a, b) => a - b), skipped };
  });
}

/** Runs one batch (at most BATCH_SIZE ids) of an action. */
export async function runBatch(db: Db, actor: AuditActor, user: RuleUser, params: BulkParams, ids: number[]): Promise<BatchOutcome> {
  switch (params.action) {
    case 'send_now':
      return sendOrSchedule(db, actor, ids, null);
    case 'schedule':
      return sendOrSchedule(db, actor, ids, params.at);
    case 'cancel':
      return fromQueue(ids, await cancel(db, actor, ids));
    case 'retry':
      return fromQueue(ids, await retry(db, actor, ids));
    case 'delete':
      return deleteDrafts(db, actor, user, ids);
    case 'relink':
      return relinkMessages(db, actor, ids, params.clientId);
  }
}

/** Totals of a run: how many changed, how many were skipped for each reason, and the first skipped ids. */
export interface BulkTotals {
  done: number;
  skipped: number;
  reasons: Record<string, number>;
  skippedSample: Skip[];
}

export const emptyTotals = (): BulkTotals => ({ done: 0, skipped: 0, reasons: {}, skippedSample: [] });
const SKIPPED_SHOWN = 50;

function addOutcome(totals: BulkTotals, outcome: BatchOutcome): void {
  totals.done += outcome.done.length;
  totals.skipped += outcome.skipped.length;
  for (const s of outcome.skipped) {
    totals.reasons[s.reason] = (totals.reasons[s.reason] ?? 0) + 1;
    if (totals.skippedSample.length < SKIPPED_SHOWN) totals.skippedSample.push(s);
  }
}

/** Runs an action over all `ids` in batches; `progress` hears after each batch (the job page shows it). */
export async function runBulk(
  db: Db,
  actor: AuditActor,
  user: RuleUser,
  params: BulkParams,
  ids: number[],
  progress?: (processed: number, totals: BulkTotals) => void,
  batchSize = BATCH_SIZE,
): Promise<BulkTotals> {
  const totals = emptyTotals();
  for (let i = 0; i < ids.length; i += batchSize) {
    addOutcome(totals, await runBatch(db, actor, user, params, ids.slice(i, i + batchSize)));
    progress?.(Math.min(i + batchSize, ids.length), totals);
    // Let waiting requests in between batches (a job of 100,000 must not hold the event loop's turn).
    if (i + batchSize < ids.length) await new Promise((resolve) => setImmediate(resolve));
  }
  // A large action rewrote thousands of rows (each a new entry in the search index's pending list).
  if (ids.length >= 1000) await settleMessageSearch(db).catch(() => {});
  return totals;
}

/**
 * The flash (or job page) sentence: "3 cancelled, 2 skipped: already sent". Skip reasons are grouped, with
 * their counts when there are several; `capped` adds that only the first BULK_MAX were taken.
 */
export function summaryText(t: Translate, params: BulkParams, totals: BulkTotals, options: { capped?: boolean; at?: string; number?: (n: number) => string } = {}): string {
  const num = options.number ?? String;
  const done = t(`messages.bulk.done.${params.action}`, {
    done: num(totals.done),
    at: options.at ?? '',
    client: params.action === 'relink' ? params.clientName : '',
  });
  let text = `${done}.`;
  if (totals.skipped) {
    const groups = Object.entries(totals.reasons).sort((a, b) => b[1] - a[1]);
    const reasons = groups.map(([key, n]) => (groups.length > 1 ? `${t(key)} (${num(n)})` : t(key))).join(', ');
    text = `${t('messages.bulk.with_skipped', { done, skipped: num(totals.skipped), reasons })}.`;
  }
  if (options.capped) text += ` ${t('messages.bulk.capped', { max: num(BULK_MAX) })}`;
  return text;
}

// ----------------------------------------------------------------------------------------------- export

/** `<id>-<safe subject>.eml`, the subject cut to 80 characters. */
export function emlEntryName(id: number, subject: string): string {
  const safe = safeFilename(subject.replace(/[/\\]/g, '_')).slice(0, 80);
  return `${id}-${safe || 'message'}.eml`;
}

/**
 * The selected messages as .eml files in a zip, streamed: each file is built (body and attachments read
 * from the store) only when the zip is ready to write it, so memory stays at one message whatever the
 * count. One audit row names how many and which. Ids that no longer exist are left out.
 */
export async function exportZip(db: Db, store: Store, actor: AuditActor, ids: number[], logger?: Logger): Promise<{ stream: Readable; count: number }> {
  const rows: { id: number; subject: string }[] = [];
  for (let i = 0; i < ids.length; i += 5_000) {
    const part = ids.slice(i, i + 5_000);
    rows.push(...(await db.select({ id: messages.id, subject: messages.subject }).from(messages).where(inArray(messages.id, part))));
  }
  const order = new Map(ids.map((id, i) => [id, i]));
  rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  await recordAudit(db, actor, {
    action: 'message.export_bulk',
    objectType: 'message',
    summary: `${rows.length} × .eml (zip)`,
    after: { format: 'eml-zip', count: rows.length, ids: rows.map((r) => r.id) },
  });
  const zip = new ZipFile();
  for (const row of rows) {
    zip.addReadStreamLazy(emlEntryName(row.id, row.subject), (done) => {
      messageMime(db, store, row.id, { unsent: false }).then(
        ({ bytes }) => done(null, Readable.from([bytes])),
        (error: unknown) => done(error, undefined as never),
      );
    });
  }
  zip.end();
  const output = zip.outputStream as Readable;
  // yazl reports a failed entry on the zip, not on its output: end the download as failed, not hung.
  zip.on('error', (error: unknown) => {
    logger?.error({ err: error }, 'zip export failed');
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return { stream: output, count: rows.length };
}

// ------------------------------------------------------------------------------------------ background

export type BulkJobStatus = 'running' | 'done' | 'failed';

/** An action running in the background, kept in this process (a restart forgets it; work done stays done). */
export interface BulkJob {
  id: string;
  userId: number;
  params: BulkParams;
  /** Shown again on the summary: the schedule time as the user's zone writes it. */
  at: string;
  capped: boolean;
  total: number;
  processed: number;
  totals: BulkTotals;
  status: BulkJobStatus;
  startedAt: Date;
  finishedAt: Date | null;
  /** The list the user came from (the summary links back to it). */
  back: string;
  /** Settles when the run ends (tests and graceful shutdown wait on it). */
  finished: Promise<void>;
}

const jobs = new Map<string, BulkJob>();
const JOB_TTL_MS = 24 * 60 * 60 * 1000;
export const isBulkJobId = (value: string) => /^[0-9a-f]{32}$/.test(value);

/** Starts an action over `ids` in the background; batches go one after another, progress lands on the job. */
export function startBulkJob(
  deps: { db: Db; logger: Logger; batchSize?: number },
  actor: AuditActor,
  user: RuleUser,
  params: BulkParams,
  ids: number[],
  meta: { at?: string; capped?: boolean; back: string },
): BulkJob {
  const now = Date.now();
  for (const [id, old] of jobs) if (old.finishedAt && now - old.finishedAt.getTime() > JOB_TTL_MS) jobs.delete(id);
  const job: BulkJob = {
    id: randomBytes(16).toString('hex'),
    userId: user.id,
    params,
    at: meta.at ?? '',
    capped: meta.capped ?? false,
    total: ids.length,
    processed: 0,
    totals: emptyTotals(),
    status: 'running',
    startedAt: new Date(),
    finishedAt: null,
    back: meta.back,
    finished: Promise.resolve(),
  };
  const snapshot = { id: user.id, permissions: new Set(user.permissions) };
  job.finished = (async () => {
    // Start on a later turn: the request that started the job answers first.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      job.totals = await runBulk(
        deps.db,
        actor,
        snapshot,
        params,
        ids,
        (processed, totals) => {
          job.processed = processed;
          job.totals = totals;
        },
        deps.batchSize,
      );
      job.status = 'done';
    } catch (error) {
      job.status = 'failed';
      deps.logger.error({ err: error, bulkJob: job.id, action: params.action }, 'bulk action failed');
    } finally {
      job.finishedAt = new Date();
    }
  })();
  jobs.set(job.id, job);
  return job;
}

/** The user's job, or undefined (unknown, expired, or someone else's: the page answers 404). */
export function getBulkJob(id: string, userId: number): BulkJob | undefined {
  const job = isBulkJobId(id) ? jobs.get(id) : undefined;
  return job && job.userId === userId ? job : undefined;
}

/** The user's jobs still running (the list says so, with a link to their progress). */
export function runningBulkJobs(userId: number): BulkJob[] {
  return [...jobs.values()].filter((j) => j.userId === userId && j.status === 'running');
}

/** Settles when every running bulk action has ended (graceful shutdown, tests). */
export function bulkJobsSettled(): Promise<void> {
  return Promise.all([...jobs.values()].map((j) => j.finished)).then(() => {});
}
