/**
 * Bulk actions ("hromadné akce") and campaigns: the wizard's state kept in the campaign row (`draft`), the
 * start of generation, queueing at step 5, pause / resume / cancel, and the watcher that auto-pauses a
 * campaign after too many failures and closes finished ones. Each state change is one
 * `UPDATE … WHERE status IN (<expected>)` with its audit row in the same transaction.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { recordCampaignMailActivities } from '../activities/mail.ts';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { pgArray, rowsOf, type Db } from '../db/client.ts';
import { campaignAttachments, campaignRecipients, campaigns, messages, templates } from '../db/schema/index.ts';
import { NotFoundError, RuleError } from '../errors.ts';
import { safeFilename } from '../mail/mime.ts';
import { settleMessageSearch } from '../messages/search.ts';
import { cancel as cancelMessages, GIVE_UP_AFTER_MS } from '../sender/queue.ts';
import type { TemplatePurpose } from '../templates/catalogue.ts';
import { validateTemplate, type TemplateIssue } from '../templates/engine.ts';
import { CAMPAIGN_ACTOR, freezeRecipients, kickGeneration, type GenerationDeps } from './generation.ts';

export const CAMPAIGN_KINDS = ['clients', 'list', 'orders'] as const;
export type CampaignKind = (typeof CAMPAIGN_KINDS)[number];
export type Campaign = typeof campaigns.$inferSelect;

/** Most recipients one bulk action from the address book may have (the list kind has no limit). */
export const MAX_SELECTED = 100_000;

export interface NewCampaign {
  kind: CampaignKind;
  name: string;
  marketing: boolean;
  purpose: TemplatePurpose;
  locale?: string;
  listId?: number | null;
  clientIds?: number[];
  orderIds?: number[];
  orderAction?: string | null;
  templateId?: number | null;
  subject?: string;
  bodyHtml?: string;
}

/**
 * Starts a wizard: a campaign in `draft`. A selection of clients (or orders) is kept as its recipient rows
 * at once, in the order given; a list's members are frozen only when generation starts.
 */
export async function createCampaign(db: Db, actor: AuditActor, input: NewCampaign): Promise<number> {
  const ids = [...new Set(input.kind === 'orders' ? (input.orderIds ?? []) : (input.clientIds ?? []))];
  if (input.kind !== 'list' && !ids.length) throw new RuleError('campaigns.v.no_recipients');
  if (ids.length > MAX_SELECTED) throw new RuleError('campaigns.v.too_many', { max: MAX_SELECTED });
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(campaigns)
      .values({
        kind: input.kind,
        name: input.name.slice(0, 200),
        marketing: input.marketing,
        purpose: input.purpose,
        locale: input.locale ?? 'cs',
        listId: input.listId ?? null,
        orderAction: input.orderAction ?? null,
        templateId: input.templateId ?? null,
        subject: input.subject ?? '',
        bodyHtml: input.bodyHtml ?? '',
        createdBy: actor.actorId,
      })
      .returning({ id: campaigns.id });
    const id = row!.id;
    if (input.kind === 'orders') {
      // Each order is a recipient (its client gets the mail); ids that are not orders are dropped. Chunks of an
      // int[] literal, not IN lists: 100,000 ids would exceed the protocol's parameter limit.
      let base = 0;
      for (let i = 0; i < ids.length; i += 5000) {
        const chunk = ids.slice(i, i + 5000);
        const added = rowsOf<{ position: number }>(
          await tx.execute(sql`
            insert into campaign_recipients (campaign_id, position, order_id, client_id)
            select ${id}, (${base} + row_number() over (order by s.ord) - 1)::int, o.id, o.client_id
              from unnest(${pgArray(chunk)}::int[]) with ordinality as s(order_id, ord)
              join orders o on o.id = s.order_id
            returning position`),
        );
        base += added.length;
      }
      await tx.update(campaigns).set({ recipientCount: base }).where(eq(campaigns.id, id));
    } else if (input.kind === 'clients') {
      // Ids that are not (or no longer) clients are dropped; the rest keep the selection's order, positions dense.
      let base = 0;
      for (let i = 0; i < ids.length; i += 5000) {
        const chunk = ids.slice(i, i + 5000);
        const added = rowsOf<{ position: number }>(
          await tx.execute(sql`
            insert into campaign_recipients (campaign_id, position, client_id)
            select ${id}, (${base} + row_number() over (order by s.ord) - 1)::int, c.id
              from unnest(${pgArray(chunk)}::int[]) with ordinality as s(client_id, ord)
              join clients c on c.id = s.client_id
            returning position`),
        );
        base += added.length;
      }
      const [count] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from campaign_recipients where campaign_id = ${id}`));
      if (!count?.n) throw new RuleError('campaigns.v.no_recipients');
      await tx.update(campaigns).set({ recipientCount: count.n }).where(eq(campaigns.id, id));
    }
    await recordAudit(tx, actor, {
      action: 'campaign.create',
      objectType: 'campaign',
      objectId: id,
      summary: input.name.slice(0, 300),
      after: { kind: input.kind, marketing: input.marketing, listId: input.listId ?? null, selected: ids.length },
    });
    return id;
  });
}

/** The campaign, or NotFoundError. */
export async function loadCampaign(db: Db, id: number): Promise<Campaign> {
  if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) throw new NotFoundError();
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  if (!row) throw new NotFoundError();
  return row;
}

/** Step 1 refused: template issues (with line:column) and field errors, shown next to their fields. */
export class CampaignMessageInvalid extends Error {
  constructor(
    readonly issues: TemplateIssue[],
    readonly errors: Record<string, string>,
  ) {
    super('campaign message invalid');
  }
}

/**
 * A per-recipient file name pattern as a test of a file name: the Mustache tags match any text. Files that
 * fit it are per-recipient candidates; every other file goes to everyone.
 */
export function patternMatcher(pattern: string | null): (filename: string) => boolean {
  if (!pattern?.trim()) return () => false;
  const parts = pattern.split(/\{\{\{?[^}]*\}?\}\}/).map((p) => safeFilename(p).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`^${parts.join('.+')}$`, 'i');
  return (name) => re.test(name);
}

export interface CampaignMessageInput {
  name: string;
  templateId: number | null;
  subject: string;
  bodyHtml: string;
  attachmentPattern: string | null;
  /** New uploads (already in the store) and the ids of campaign files to drop. */
  upload?: { blobId: string; filename: string; contentType: string; sizeBytes: number }[];
  removeFileIds?: number[];
}

/**
 * Saves step 1 of a draft campaign: name, template, subject and body checked against the purpose's
 * catalogue (positions of errors kept for the form), the per-recipient pattern, added and removed files.
 * Files are saved even when the text is refused, so the user never uploads twice.
 */
export async function saveCampaignMessage(db: Db, actor: AuditActor, id: number, input: CampaignMessageInput): Promise<void> {
  const campaign = await loadCampaign(db, id);
  if (campaign.status !== 'draft') throw new RuleError('campaigns.v.not_draft');
  const purpose = campaign.purpose as TemplatePurpose;
  const errors: Record<string, string> = {};
  if (!input.name.trim()) errors.name = 'v.required';
  if (!input.subject.trim()) errors.subject = 'v.required';
  if (!input.bodyHtml.trim()) errors.body = 'v.required';
  const issues = validateTemplate(purpose, { subject: input.subject, bodyHtml: input.bodyHtml });
  if (input.attachmentPattern) {
    const patternIssues = validateTemplate(purpose, { subject: input.attachmentPattern, bodyHtml: '' });
    if (patternIssues.length) errors.attachment_pattern = 'campaigns.v.pattern';
  }
  if (input.templateId != null) {
    const [tpl] = await db.select({ id: templates.id, purpose: templates.purpose }).from(templates).where(eq(templates.id, input.templateId));
    if (!tpl || tpl.purpose !== purpose) errors.template = 'v.choice';
  }
  await db.transaction(async (tx) => {
    const matches = patternMatcher(input.attachmentPattern);
    if (input.removeFileIds?.length) {
      await tx.delete(campaignAttachments).where(and(eq(campaignAttachments.campaignId, id), inArray(campaignAttachments.id, input.removeFileIds)));
    }
    if (input.upload?.length) {
      const [{ next } = { next: 0 }] = rowsOf<{ next: number }>(
        await tx.execute(sql`select coalesce(max(position) + 1, 0)::int as next from campaign_attachments where campaign_id = ${id}`),
      );
      await tx.insert(campaignAttachments).values(input.upload.map((f, i) => ({ campaignId: id, shared: !matches(f.filename), ...f, position: next + i })));
    }
    // The pattern decides which files are per-recipient: re-sort the existing ones when it changes.
    const files = await tx.select({ id: campaignAttachments.id, filename: campaignAttachments.filename, shared: campaignAttachments.shared }).from(campaignAttachments).where(eq(campaignAttachments.campaignId, id));
    for (const f of files) {
      const shared = !matches(f.filename);
      if (shared !== f.shared) await tx.update(campaignAttachments).set({ shared }).where(eq(campaignAttachments.id, f.id));
    }
    const valid = !issues.length && !Object.keys(errors).length;
    // Invalid text is kept too (the wizard's state lives in the row), it just cannot go on to step 2.
    await tx
      .update(campaigns)
      .set({
        name: input.name.trim().slice(0, 200) || campaign.name,
        templateId: input.templateId,
        subject: input.subject.slice(0, 1000),
        bodyHtml: input.bodyHtml,
        attachmentPattern: input.attachmentPattern?.trim() || null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(campaigns.id, id), eq(campaigns.status, 'draft')));
    await recordAudit(tx, actor, {
      action: 'campaign.update',
      objectType: 'campaign',
      objectId: id,
      summary: `${campaign.name}: ${input.subject}`.slice(0, 300),
      after: { templateId: input.templateId, subject: input.subject, attachmentPattern: input.attachmentPattern, added: input.upload?.map((f) => f.filename) ?? [], removed: input.removeFileIds ?? [], valid },
    });
  });
  if (issues.length || Object.keys(errors).length) throw new CampaignMessageInvalid(issues, errors);
}

/** The campaign's files, in order. */
export function campaignFiles(db: Db, id: number) {
  return db.select().from(campaignAttachments).where(eq(campaignAttachments.campaignId, id)).orderBy(asc(campaignAttachments.position), asc(campaignAttachments.id));
}

/**
 * Step 3: freezes the recipients and starts generating in the background. Refused unless the campaign is a
 * draft whose message passes the catalogue.
 */
export async function startGeneration(deps: GenerationDeps, actor: AuditActor, id: number, options: { background?: boolean } = {}): Promise<void> {
  const campaign = await loadCampaign(deps.db, id);
  if (campaign.status !== 'draft') throw new RuleError('campaigns.v.not_draft');
  if (!campaign.subject.trim() || !campaign.bodyHtml.trim() || validateTemplate(campaign.purpose as TemplatePurpose, campaign).length) {
    throw new RuleError('campaigns.v.message_first');
  }
  await deps.db.transaction(async (tx) => {
    const moved = await tx
      .update(campaigns)
      .set({ status: 'generating', updatedAt: sql`now()` })
      .where(and(eq(campaigns.id, id), eq(campaigns.status, 'draft')))
      .returning({ id: campaigns.id });
    if (!moved.length) throw new RuleError('campaigns.v.not_draft');
    const count = await freezeRecipients(tx, campaign);
    await tx.update(campaigns).set({ recipientCount: count }).where(eq(campaigns.id, id));
    await recordAudit(tx, actor, {
      action: 'campaign.generate',
      objectType: 'campaign',
      objectId: id,
      summary: `${campaign.name}: ${count}`,
      after: { recipients: count, templateId: campaign.templateId, subject: campaign.subject },
    });
  });
  // Tests run the engine themselves (generateForCampaign) to stop it between batches.
  if (options.background !== false) void kickGeneration(deps, id);
}

/** Queueing at least this many messages at once refreshes the planner's statistics afterwards. */
const BULK_SETTLE_AFTER = 1000;

export interface SendOptions {
  /** null: now. */
  sendAt: Date | null;
  notAfter: Date | null;
  /** Minutes after local midnight, both or neither. */
  windowStart: number | null;
  windowEnd: number | null;
  failureLimit: number | null;
  accountId: number | null;
  now?: Date;
}

/**
 * Step 5: every draft of the generated campaign is queued (one message per recipient already, so each
 * keeps its own Message-ID), with the campaign's send time, "do not send after", window and failure limit.
 * Nothing of the campaign is in the queue before this. Returns how many messages were queued.
 */
export async function queueCampaign(db: Db, actor: AuditActor, id: number, options: SendOptions): Promise<number> {
  const now = options.now ?? new Date();
  const sendAt = options.sendAt && options.sendAt > now ? options.sendAt : now;
  if (options.notAfter && options.notAfter <= sendAt) throw new RuleError('sending.v.not_after_before_send');
  const queued = await db.transaction(async (tx) => {
    const moved = await tx
      .update(campaigns)
      .set({
        status: 'sending',
        sendAt,
        notAfter: options.notAfter,
        windowStart: options.windowStart,
        windowEnd: options.windowEnd,
        failureLimit: options.failureLimit,
        accountId: options.accountId,
        sendMode: 'individual',
        queuedAt: now,
        updatedAt: sql`now()`,
      })
      .where(and(eq(campaigns.id, id), eq(campaigns.status, 'generated')))
      .returning({ id: campaigns.id, name: campaigns.name, marketing: campaigns.marketing });
    if (!moved.length) throw new RuleError('campaigns.v.not_generated');
    // One UPDATE for the whole campaign: each message has exactly one recipient, so there is nothing to split.
    const queued = await tx
      .update(messages)
      .set({
        status: 'queued',
        sendAt,
        queuedAt: now,
        queuedBy: actor.actorId,
        giveUpAt: new Date(sendAt.getTime() + GIVE_UP_AFTER_MS),
        notAfter: options.notAfter,
        accountId: options.accountId,
        sendMode: 'individual',
        attemptCount: 0,
        lastResult: null,
        version: sql`${messages.version} + 1`,
      })
      .where(and(eq(messages.campaignId, id), inArray(messages.status, ['draft', 'exported'])))
      .returning({ id: messages.id });
    // "Mail to a client creates an activity" (a setting), as for a message sent by hand; never for marketing.
    await recordCampaignMailActivities(tx, actor, moved[0]!, now);
    await recordAudit(tx, actor, {
      action: 'campaign.queue',
      objectType: 'campaign',
      objectId: id,
      summary: `${moved[0]!.name}: ${queued.length}`,
      after: {
        messages: queued.length,
        sendAt: sendAt.toISOString(),
        notAfter: options.notAfter?.toISOString() ?? null,
        window: options.windowStart != null ? [options.windowStart, options.windowEnd] : null,
        failureLimit: options.failureLimit,
        accountId: options.accountId,
      },
    });
    return queued.length;
  });
  // Many rows changed at once: fresh statistics (the embedded database has no autovacuum), so the sender's
  // claim walks the queue's index instead of reading every waiting row each time (see settleMessageSearch).
  if (queued >= BULK_SETTLE_AFTER) await settleMessageSearch(db).catch(() => {});
  return queued;
}

async function transition(db: Db, actor: AuditActor, id: number, from: string[], set: Partial<typeof campaigns.$inferInsert>, action: string): Promise<Campaign> {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
    if (!before) throw new NotFoundError();
    if (!from.includes(before.status)) throw new RuleError('campaigns.v.state', { status: before.status });
    const [after] = await tx
      .update(campaigns)
      .set({ ...set, updatedAt: sql`now()` })
      .where(and(eq(campaigns.id, id), eq(campaigns.status, before.status)))
      .returning();
    await recordAudit(tx, actor, {
      action,
      objectType: 'campaign',
      objectId: id,
      summary: before.name,
      before: { status: before.status },
      after: { status: after!.status, ...(set.pausedReason ? { reason: set.pausedReason } : {}) },
    });
    return after!;
  });
}

/** Stops generating or sending: the sender claims none of its messages until it is resumed. */
export function pauseCampaign(db: Db, actor: AuditActor, id: number, reason = 'user'): Promise<Campaign> {
  return transition(db, actor, id, ['generating', 'sending'], { status: 'paused', pausedReason: reason }, 'campaign.pause');
}

/**
 * Continues where the campaign was paused: generation when recipients are still pending (and restarts the
 * background job), otherwise sending (or review, when it was never queued).
 */
export async function resumeCampaign(deps: GenerationDeps, actor: AuditActor, id: number): Promise<Campaign> {
  const [pending] = rowsOf<{ n: number }>(
    await deps.db.execute(sql`select count(*)::int as n from campaign_recipients where campaign_id = ${id} and state = 'pending'`),
  );
  const campaign = await loadCampaign(deps.db, id);
  const status = campaign.generatedAt == null && (pending?.n ?? 0) > 0 ? 'generating' : campaign.queuedAt ? 'sending' : 'generated';
  const after = await transition(deps.db, actor, id, ['paused'], { status, pausedReason: null }, 'campaign.resume');
  if (status === 'generating') void kickGeneration(deps, id);
  return after;
}

/**
 * Cancels the campaign: generation stops, its waiting messages are cancelled (each with its audit row);
 * drafts stay in the outbox for whoever wants them, sent ones are history.
 */
export async function cancelCampaign(db: Db, actor: AuditActor, id: number): Promise<{ cancelled: number }> {
  await transition(db, actor, id, ['draft', 'generating', 'generated', 'sending', 'paused'], { status: 'cancelled', finishedAt: sql`now()` as unknown as Date }, 'campaign.cancel');
  const waiting = await db.select({ id: messages.id }).from(messages).where(and(eq(messages.campaignId, id), inArray(messages.status, ['queued', 'deferred'])));
  let cancelled = 0;
  for (let i = 0; i < waiting.length; i += 500) {
    cancelled += (await cancelMessages(db, actor, waiting.slice(i, i + 500).map((m) => m.id))).done.length;
  }
  return { cancelled };
}

/**
 * The watcher's round: a sending campaign with `failure_limit` failed messages or more is paused (reason
 * `failures`); one with nothing left to send is done. Returns what it changed.
 */
export async function checkCampaigns(db: Db): Promise<{ paused: number[]; done: number[] }> {
  const over = rowsOf<{ id: number; failed: number }>(
    await db.execute(sql`
      select c.id, (select count(*)::int from messages m where m.campaign_id = c.id and m.status = 'failed') as failed
        from campaigns c
       where c.status = 'sending' and c.failure_limit is not null
         and (select count(*) from messages m where m.campaign_id = c.id and m.status = 'failed') >= c.failure_limit`),
  );
  const paused: number[] = [];
  for (const c of over) {
    try {
      await transition(db, CAMPAIGN_ACTOR, c.id, ['sending'], { status: 'paused', pausedReason: `failures:${c.failed}` }, 'campaign.auto_pause');
      paused.push(c.id);
    } catch (error) {
      if (!(error instanceof RuleError)) throw error; // changed meanwhile
    }
  }
  const finished = rowsOf<{ id: number }>(
    await db.execute(sql`
      select c.id from campaigns c
       where c.status = 'sending'
         and not exists (select 1 from messages m where m.campaign_id = c.id and m.status in ('draft', 'queued', 'sending', 'deferred'))`),
  );
  const done: number[] = [];
  for (const c of finished) {
    try {
      await transition(db, CAMPAIGN_ACTOR, c.id, ['sending'], { status: 'done', finishedAt: sql`now()` as unknown as Date }, 'campaign.done');
      done.push(c.id);
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
    }
  }
  return { paused, done };
}

/** Runs `checkCampaigns` every `everyMs` (main.ts); returns the stop function. */
export function startCampaignWatcher(db: Db, logger: Logger, everyMs = 15_000): () => void {
  const timer = setInterval(() => {
    checkCampaigns(db).catch((err) => logger.warn({ err }, 'campaign check failed'));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The recipient rows' position range and state of a campaign (for tests and the review). */
export function recipientStates(db: Db, id: number) {
  return db
    .select({ position: campaignRecipients.position, clientId: campaignRecipients.clientId, state: campaignRecipients.state, reason: campaignRecipients.reason, messageId: campaignRecipients.messageId })
    .from(campaignRecipients)
    .where(eq(campaignRecipients.campaignId, id))
    .orderBy(asc(campaignRecipients.position));
}
