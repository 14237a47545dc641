/**
 * The order processing wizard (issue 7, item 4): selected orders → an action (confirm, ship, complete, or
 * only notify) → an order template → each order's state changes and one message per order is generated,
 * linked to the order and its client, as a bulk action (`campaigns` row of kind `orders`) whose messages are
 * reviewed before anything is sent.
 *
 * Each order is one transaction: lock the order, check the transition and the client's address, change the
 * state (audited), render the template from the changed order, write the draft (audited) and mark the
 * recipient row `generated`. Anything that goes wrong rolls back that order only and leaves its row
 * `skipped`/`error` with the reason; the others proceed. The recipient row is locked `pending` first, so two
 * runs over the same bulk action (a double click, a resume after a crash) never process an order twice.
 *
 * This is a small engine of its own because the campaigns engine (src/campaigns/, helper D) was being built
 * at the same time; its shape (frozen recipients, one transaction per recipient, reasons on the row) is the
 * same, so it can absorb this one.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { campaignRecipients, campaigns, clients, messages, orders, suppressions } from '../db/schema/index.ts';
import { NotFoundError, RuleError } from '../errors.ts';
import { isValidAddress } from '../mail/address.ts';
import { createDraft } from '../messages/service.ts';
import type { QueueOptions } from '../sender/queue.ts';
import { queueMessage } from '../sender/queue.ts';
import type { Store } from '../store/store.ts';
import { loadTemplateData, type DataContext } from '../templates/data.ts';
import { renderTemplate, validateTemplate } from '../templates/engine.ts';
import { getTemplate, getTemplateAttachments } from '../templates/queries.ts';
import type { OrderStatus } from './fields.ts';
import { filterConditions, type OrderFilter } from './queries.ts';

export const ORDER_ACTIONS = ['confirm', 'ship', 'complete', 'notify'] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

export const isOrderAction = (v: unknown): v is OrderAction => (ORDER_ACTIONS as readonly unknown[]).includes(v);

/**
 * What each action does to an order's status, and from which statuses it may. "notify" changes nothing and
 * works on any order. An order already in the target status is refused too: mailing "shipped" twice is what
 * "notify" is for.
 */
export const ORDER_TRANSITIONS: Record<OrderAction, { from: readonly OrderStatus[]; to: OrderStatus | null }> = {
  confirm: { from: ['new'], to: 'confirmed' },
  ship: { from: ['new', 'confirmed'], to: 'shipped' },
  complete: { from: ['new', 'confirmed', 'shipped'], to: 'completed' },
  notify: { from: ['new', 'confirmed', 'shipped', 'completed', 'cancelled'], to: null },
};

/** Most orders one run takes (each is a transaction in the request; more is a job for the campaigns engine). */
export const MAX_ORDERS_PER_RUN = 1000;

/**
 * Why an order was left out, as an i18n key with its parameters in a query string
 * (`orders.process.reason.not_allowed?status=completed`), kept on the recipient row.
 */
export type ReasonText = string;

const reason = (key: string, params: Record<string, string> = {}): ReasonText => {
  const qs = new URLSearchParams(params).toString();
  return `orders.process.reason.${key}${qs ? `?${qs}` : ''}`;
};

/** Splits a stored reason back into its i18n key and parameters. */
export function reasonParts(text: string | null): { key: string; params: Record<string, string> } | null {
  if (!text) return null;
  const [key = '', query = ''] = text.split('?');
  return { key, params: Object.fromEntries(new URLSearchParams(query)) };
}

/** A per-order refusal: the order is left out with this reason (`skipped`), nothing of it is written. */
class OrderLeftOut extends Error {
  constructor(readonly reason: ReasonText) {
    super(reason);
  }
}

/** Why an order cannot take `action` now (status or address), or null when it can. */
function problemOf(action: OrderAction, status: string, email: string | null, suppressed: boolean): ReasonText | null {
  const rule = ORDER_TRANSITIONS[action];
  if (rule.to && status === rule.to) return reason('already', { status });
  if (!(rule.from as readonly string[]).includes(status)) return reason('not_allowed', { status });
  const address = email?.trim() ?? '';
  if (!address) return reason('no_email');
  if (!isValidAddress(address)) return reason('bad_email', { email: address });
  if (suppressed) return reason('suppressed', { email: address });
  return null;
}

// ------------------------------------------------------------------------------------------- selection

/** Ids of the orders matching the list's filter, newest first, at most `cap` + 1 (so "too many" shows). */
export async function matchingOrderIds(db: Db, filter: OrderFilter, cap = MAX_ORDERS_PER_RUN): Promise<number[]> {
  const where = await filterConditions(db, filter);
  const rows = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(...where))
    .orderBy(sql`${orders.orderedOn} desc`, sql`${orders.id} desc`)
    .limit(cap + 1);
  return rows.map((r) => r.id);
}

/**
 * Starts the wizard: a bulk action of kind `orders` in `draft` with the chosen orders frozen as its
 * recipients (newest first). Unknown ids are dropped; none left is a RuleError. Audited.
 */
export async function startOrderProcessing(db: Db, actor: AuditActor, input: { orderIds: number[]; action: OrderAction; name: string; locale: string }): Promise<number> {
  const ids = [...new Set(input.orderIds)].filter((id) => Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647);
  if (ids.length > MAX_ORDERS_PER_RUN) throw new RuleError('orders.process.too_many');
  return db.transaction(async (tx) => {
    const found = ids.length
      ? await tx
          .select({ id: orders.id, clientId: orders.clientId, email: clients.email })
          .from(orders)
          .innerJoin(clients, eq(clients.id, orders.clientId))
          .where(inArray(orders.id, ids))
          .orderBy(sql`${orders.orderedOn} desc`, sql`${orders.id} desc`)
      : [];
    if (!found.length) throw new RuleError('orders.process.none_selected');
    const [campaign] = await tx
      .insert(campaigns)
      .values({
        kind: 'orders',
        name: input.name,
        status: 'draft',
        orderAction: input.action,
        purpose: 'order',
        locale: input.locale,
        recipientCount: found.length,
        createdBy: actor.actorId,
      })
      .returning({ id: campaigns.id });
    const campaignId = campaign!.id;
    for (let i = 0; i < found.length; i += 500) {
      await tx.insert(campaignRecipients).values(
        found.slice(i, i + 500).map((o, j) => ({ campaignId, position: i + j + 1, orderId: o.id, clientId: o.clientId, email: o.email })),
      );
    }
    await recordAudit(tx, actor, {
      action: 'campaign.create',
      objectType: 'campaign',
      objectId: campaignId,
      summary: input.name,
      after: { kind: 'orders', orderAction: input.action, orders: found.map((o) => o.id) },
    });
    return campaignId;
  });
}

// ------------------------------------------------------------------------------------------- reading

export type ProcessingCampaign = typeof campaigns.$inferSelect;

/** The bulk action if it is an order processing one; NotFoundError otherwise. */
export async function getOrderProcessing(db: Db, id: number): Promise<ProcessingCampaign> {
  const [row] = await db.select().from(campaigns).where(and(eq(campaigns.id, id), eq(campaigns.kind, 'orders')));
  if (!row) throw new NotFoundError();
  return row;
}

export interface ProcessingRow {
  position: number;
  orderId: number | null;
  number: string | null;
  status: string | null;
  clientId: number | null;
  clientName: string | null;
  email: string | null;
  state: string;
  reason: string | null;
  messageId: number | null;
  messageStatus: string | null;
  /** Before generation: why this order would be left out with the chosen action (null: it will be processed). */
  problem: ReasonText | null;
}

/** The bulk action's orders with their current state, client, address, result and (before the run) any problem. */
export async function listProcessingRows(db: Db, campaign: ProcessingCampaign, action: OrderAction): Promise<ProcessingRow[]> {
  const rows = await db
    .select({
      position: campaignRecipients.position,
      orderId: campaignRecipients.orderId,
      number: orders.number,
      status: orders.status,
      clientId: clients.id,
      clientName: clients.name,
      email: clients.email,
      state: campaignRecipients.state,
      reason: campaignRecipients.reason,
      messageId: campaignRecipients.messageId,
      messageStatus: messages.status,
      suppressed: sql<boolean>`exists (select 1 from ${suppressions} where ${suppressions.address} = lower(trim(${clients.email})))`,
    })
    .from(campaignRecipients)
    .leftJoin(orders, eq(orders.id, campaignRecipients.orderId))
    .leftJoin(clients, eq(clients.id, orders.clientId))
    .leftJoin(messages, eq(messages.id, campaignRecipients.messageId))
    .where(eq(campaignRecipients.campaignId, campaign.id))
    .orderBy(asc(campaignRecipients.position));
  return rows.map(({ suppressed, ...r }) => ({
    ...r,
    problem:
      r.state !== 'pending' ? null : r.orderId == null || r.status == null ? reason('order_missing') : problemOf(action, r.status, r.email, Boolean(suppressed)),
  }));
}

/** Counts of the bulk action's rows by result. */
export async function processingCounts(db: Db, campaignId: number): Promise<Record<'pending' | 'generated' | 'skipped' | 'error', number>> {
  const rows = await db
    .select({ state: campaignRecipients.state, n: sql<number>`count(*)::int` })
    .from(campaignRecipients)
    .where(eq(campaignRecipients.campaignId, campaignId))
    .groupBy(campaignRecipients.state);
  const out = { pending: 0, generated: 0, skipped: 0, error: 0 };
  for (const r of rows) if (r.state in out) out[r.state as keyof typeof out] = Number(r.n);
  return out;
}

// ------------------------------------------------------------------------------------------- generation

export interface GenerateInput {
  action: OrderAction;
  templateId: number;
  /** Who writes: the data's `sender`, and the language of values is the template's. */
  ctx: DataContext;
}

/** Runs in flight in this process, by bulk action: a second start joins the first instead of racing it. */
const running = new Map<number, Promise<void>>();

/** Whether this process is generating the bulk action's messages right now. */
export const isGenerating = (campaignId: number): boolean => running.has(campaignId);

/** The run in flight for the bulk action, if any (tests and the request that started a small run await it). */
export const waitForOrderGeneration = (campaignId: number): Promise<void> => running.get(campaignId) ?? Promise.resolve();

/**
 * Step 2 → 3: fixes the action and template on the bulk action (only from `draft`, or `generating` to resume
 * an interrupted run) and starts processing every pending order, one transaction each, in the background of
 * this process. Returns once the run has started; `waitForOrderGeneration` gives its end. A template that no
 * longer passes its catalogue, or that is not an order template, is refused before any order is touched.
 */
export async function startOrderGeneration(
  db: Db,
  store: Store,
  actor: AuditActor,
  campaignId: number,
  input: GenerateInput,
  onError: (error: unknown) => void = () => {},
): Promise<void> {
  const template = await getTemplate(db, input.templateId);
  if (!template || template.purpose !== 'order') throw new RuleError('orders.process.v.template');
  if (validateTemplate('order', template).length) throw new RuleError('orders.process.v.template_invalid');
  const started = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(campaigns)
      .set({ status: 'generating', orderAction: input.action, templateId: template.id, subject: template.subject, bodyHtml: template.bodyHtml, locale: template.locale, updatedAt: new Date() })
      .where(and(eq(campaigns.id, campaignId), eq(campaigns.kind, 'orders'), inArray(campaigns.status, ['draft', 'generating'])))
      .returning({ id: campaigns.id, name: campaigns.name });
    if (!row) return false;
    await recordAudit(tx, actor, {
      action: 'campaign.generate',
      objectType: 'campaign',
      objectId: campaignId,
      summary: row.name,
      after: { orderAction: input.action, templateId: template.id },
    });
    return true;
  });
  if (!started) throw new RuleError('orders.process.v.not_draft');
  if (running.has(campaignId)) return;
  const run = (async () => {
    const attachments = (await getTemplateAttachments(db, template.id)).map((a) => ({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes }));
    const pending = await db
      .select({ position: campaignRecipients.position })
      .from(campaignRecipients)
      .where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.state, 'pending')))
      .orderBy(asc(campaignRecipients.position));
    for (const { position } of pending) {
      await processOne(db, store, actor, campaignId, position, { ...input, template, attachments });
    }
    await db
      .update(campaigns)
      .set({ status: 'generated', generatedAt: new Date(), updatedAt: new Date() })
      .where(and(eq(campaigns.id, campaignId), eq(campaigns.status, 'generating')));
  })()
    // A run that dies (database gone) leaves the bulk action `generating`: its page offers to resume.
    .catch(onError)
    .finally(() => running.delete(campaignId));
  running.set(campaignId, run);
}

/** startOrderGeneration and wait for the run to end. */
export async function generateOrderMessages(db: Db, store: Store, actor: AuditActor, campaignId: number, input: GenerateInput): Promise<void> {
  let failure: unknown;
  await startOrderGeneration(db, store, actor, campaignId, input, (error) => (failure = error));
  await waitForOrderGeneration(campaignId);
  if (failure) throw failure;
}

type Prepared = GenerateInput & {
  template: NonNullable<Awaited<ReturnType<typeof getTemplate>>>;
  attachments: { blobId: string; filename: string; contentType: string; sizeBytes: number }[];
};

/** One order: state change + message + audit rows in one transaction, or its row marked with the reason. */
async function processOne(db: Db, store: Store, actor: AuditActor, campaignId: number, position: number, job: Prepared): Promise<void> {
  const rowKey = and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.position, position), eq(campaignRecipients.state, 'pending'));
  try {
    await db.transaction(async (tx) => {
      // The row first: a concurrent run that got here earlier has moved it on, and this one stops.
      const [row] = await tx.select().from(campaignRecipients).where(rowKey).for('update');
      if (!row) return;
      if (row.orderId == null) throw new OrderLeftOut(reason('order_missing'));
      const [order] = await tx.select().from(orders).where(eq(orders.id, row.orderId)).for('update');
      if (!order) throw new OrderLeftOut(reason('order_missing'));
      const [client] = await tx.select({ id: clients.id, name: clients.name, email: clients.email }).from(clients).where(eq(clients.id, order.clientId));
      const address = client?.email?.trim().toLowerCase() ?? '';
      const suppressed = address ? (await tx.select({ a: suppressions.address }).from(suppressions).where(eq(suppressions.address, address))).length > 0 : false;
      const problem = problemOf(job.action, order.status, client?.email ?? null, suppressed);
      if (problem) throw new OrderLeftOut(problem);
      const to = ORDER_TRANSITIONS[job.action].to;
      if (to) {
        await tx.update(orders).set({ status: to, updatedAt: new Date() }).where(eq(orders.id, order.id));
        await recordAudit(tx, actor, {
          action: 'order.status_changed',
          objectType: 'order',
          objectId: order.id,
          summary: `${order.number} (#${campaignId})`,
          before: { status: order.status },
          after: { status: to, campaignId },
        });
      }
      // Rendered from the order as it is now, so {{order.status}} says "shipped".
      const data = await loadTemplateData(tx, 'order', { orderId: order.id }, job.ctx);
      const rendered = renderTemplate('order', job.template, data);
      const messageId = await createDraft(
        tx,
        store,
        actor,
        { subject: rendered.subject, to: [{ address: client!.email!.trim(), name: client!.name }], cc: [], bcc: [], bodyHtml: rendered.bodyHtml, attachments: job.attachments, templateId: job.template.id },
        { link: { orderId: order.id, clientId: order.clientId }, generated: true },
      );
      await tx.update(messages).set({ campaignId }).where(eq(messages.id, messageId));
      await tx.update(campaignRecipients).set({ state: 'generated', messageId, email: client!.email, reason: null }).where(rowKey);
      await tx.update(campaigns).set({ processedCount: sql`${campaigns.processedCount} + 1`, updatedAt: new Date() }).where(eq(campaigns.id, campaignId));
    });
  } catch (error) {
    const leftOut = error instanceof OrderLeftOut;
    const text = leftOut ? error.reason : reason('failed', { error: error instanceof RuleError ? error.messageKey : error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    await db.transaction(async (tx) => {
      const marked = await tx.update(campaignRecipients).set({ state: leftOut ? 'skipped' : 'error', reason: text }).where(rowKey).returning({ position: campaignRecipients.position });
      if (marked.length) await tx.update(campaigns).set({ processedCount: sql`${campaigns.processedCount} + 1`, updatedAt: new Date() }).where(eq(campaigns.id, campaignId));
    });
  }
}

// ------------------------------------------------------------------------------------------- sending

/**
 * Step 3: queues every generated message that is still a draft (now, or at `sendAt`). One transaction per
 * message (queueMessage); a message someone already sent, deleted or exported meanwhile is counted as skipped.
 */
export async function queueOrderMessages(
  db: Db,
  actor: AuditActor,
  campaignId: number,
  options: Pick<QueueOptions, 'sendAt' | 'mode' | 'bccAll'>,
): Promise<{ queued: number; skipped: number }> {
  const [campaign] = await db
    .update(campaigns)
    .set({ status: 'sending', sendAt: options.sendAt ?? null, queuedAt: new Date(), updatedAt: new Date() })
    .where(and(eq(campaigns.id, campaignId), eq(campaigns.kind, 'orders'), eq(campaigns.status, 'generated')))
    .returning({ id: campaigns.id, name: campaigns.name });
  if (!campaign) throw new RuleError('orders.process.v.not_generated');
  const rows = await db
    .select({ messageId: campaignRecipients.messageId })
    .from(campaignRecipients)
    .innerJoin(messages, eq(messages.id, campaignRecipients.messageId))
    .where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.state, 'generated')))
    .orderBy(asc(campaignRecipients.position));
  let queued = 0;
  let skipped = 0;
  for (const { messageId } of rows) {
    try {
      await queueMessage(db, actor, messageId!, { mode: options.mode, bccAll: options.bccAll, sendAt: options.sendAt ?? null });
      queued++;
    } catch (error) {
      if (!(error instanceof RuleError || error instanceof NotFoundError)) throw error;
      skipped++;
    }
  }
  await recordAudit(db, actor, {
    action: 'campaign.queue',
    objectType: 'campaign',
    objectId: campaignId,
    summary: campaign.name,
    after: { queued, skipped, sendAt: options.sendAt?.toISOString() ?? null },
  });
  return { queued, skipped };
}
