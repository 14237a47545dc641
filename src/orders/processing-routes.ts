/**
 * The order processing wizard's pages, mounted at /orders/process. Each step is a plain form (no JavaScript
 * needed); the wizard's state is the bulk action row, so a reload or Back never loses it.
 *   POST /orders/process            the list's selection (ticked, or "all N matching") + action → a draft
 *   GET  /orders/process/:id        step 2 (action and template) or step 3 (results, review, send)
 *   POST /orders/process/:id/generate   change the orders and generate the messages
 *   POST /orders/process/:id/send       send now, schedule, or leave the drafts for later
 */
import { Hono, type Context } from 'hono';
import { parseLocalDateTime } from '../activities/time.ts';
import { RuleError } from '../errors.ts';
import type { FieldErrors } from '../http/forms.ts';
import { readForm, readFormAll } from '../http/forms.ts';
import { formatters, type Translate } from '../http/i18n/index.ts';
import { queryString } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { laterSuggestion } from '../messages/send-form.ts';
import { getSendDefaults } from '../settings/send-defaults.ts';
import { templateChoices } from '../templates/queries.ts';
import { idQuery, ORDER_STATUSES, parseDateInput, routeId, type OrderStatus } from './fields.ts';
import {
  getOrderProcessing,
  isGenerating,
  isOrderAction,
  listProcessingRows,
  matchingOrderIds,
  MAX_ORDERS_PER_RUN,
  ORDER_ACTIONS,
  ORDER_TRANSITIONS,
  processingCounts,
  queueOrderMessages,
  reasonParts,
  startOrderGeneration,
  startOrderProcessing,
  waitForOrderGeneration,
  type OrderAction,
  type ProcessingCampaign,
} from './processing.ts';

export const orderProcessingRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
const db = (c: Ctx) => c.get('deps').database.db;

const isStatus = (v: string | undefined): v is OrderStatus => (ORDER_STATUSES as readonly string[]).includes(v ?? '');

/** The order list's URL with the filter the selection form carried, to go back to on an error. */
function listUrl(form: Record<string, string[]>): string {
  const one = (k: string) => (form[k]?.[0] ?? '').slice(0, 200);
  return `/orders${queryString({ q: one('q'), status: one('status'), from: one('from'), to: one('to'), client: one('client'), sort: one('sort') })}`;
}

// Step 1 (the list's form): the ticked orders, or every order matching the filter the form carries.
orderProcessingRoutes.post('/', requirePermission('orders.manage'), requirePermission('messages.create'), async (c) => {
  const form = await readFormAll(c);
  const one = (k: string) => form[k]?.[0];
  const back = listUrl(form);
  const action = one('action');
  if (!isOrderAction(action)) {
    flash(c, 'error', 'orders.process.v.action');
    return redirect(c, back);
  }
  let ids: number[];
  if (one('scope') === 'all') {
    const q = (one('q') ?? '').trim().slice(0, 200);
    const status = one('status');
    ids = await matchingOrderIds(db(c), {
      q: q || undefined,
      status: isStatus(status) ? status : undefined,
      from: parseDateInput(one('from') ?? '') ?? undefined,
      to: parseDateInput(one('to') ?? '') ?? undefined,
      clientId: idQuery(one('client')),
    });
  } else ids = [...new Set((form.ids ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number))];
  if (!ids.length) {
    flash(c, 'error', 'orders.process.none_selected');
    return redirect(c, back);
  }
  if (ids.length > MAX_ORDERS_PER_RUN) {
    flash(c, 'error', 'orders.process.too_many', { max: MAX_ORDERS_PER_RUN });
    return redirect(c, back);
  }
  const t = c.get('t');
  let id: number;
  try {
    id = await startOrderProcessing(db(c), auditActor(c), {
      orderIds: ids,
      action,
      name: t('orders.process.campaign_name', { action: t(`orders.process.action.${action}`), count: ids.length }),
      locale: c.get('locale'),
    });
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    flash(c, 'error', error.messageKey, { max: MAX_ORDERS_PER_RUN });
    return redirect(c, back);
  }
  return redirect(c, `/orders/process/${id}`);
});

async function loadCampaign(c: Ctx): Promise<ProcessingCampaign> {
  const id = routeId(c.req.param('id'));
  return getOrderProcessing(db(c), id ?? 0);
}

interface StepValues {
  action: string;
  template: string;
  when: string;
  at: string;
}

/** The wizard page for the bulk action's state: step 2 before generation, step 3 after. */
async function wizardPage(c: Ctx, campaign: ProcessingCampaign, values: Partial<StepValues> = {}, errors: FieldErrors = {}, status = 200) {
  const action: OrderAction = isOrderAction(values.action) ? values.action : isOrderAction(campaign.orderAction) ? campaign.orderAction : 'notify';
  const [rows, counts, templates, sendDefaults] = await Promise.all([
    listProcessingRows(db(c), campaign, action),
    processingCounts(db(c), campaign.id),
    templateChoices(db(c), ['order']),
    getSendDefaults(db(c)),
  ]);
  const t = c.get('t');
  const step = campaign.status === 'draft' ? 2 : 3;
  return render(
    c,
    'orders/process.njk',
    {
      campaign,
      step,
      rows: rows.map((r) => ({ ...r, problemText: explain(t, r.problem), reasonText: explain(t, r.reason) })),
      counts,
      ready: rows.filter((r) => r.state === 'pending' && !r.problem).length,
      templates,
      actions: ORDER_ACTIONS.map((a) => ({ value: a, to: ORDER_TRANSITIONS[a].to })),
      values: {
        action,
        template: values.template ?? (campaign.templateId ? String(campaign.templateId) : templates.length === 1 ? String(templates[0]!.id) : ''),
        when: values.when ?? 'now',
        at: values.at ?? laterSuggestion(c.get('deps').config.TIMEZONE),
      },
      errors,
      sendMode: sendDefaults.order,
      reviewUrl: `/messages?campaign=${campaign.id}`,
      generatingHere: isGenerating(campaign.id),
    },
    status,
  );
}

/** A stored reason (`key?param=value`) as text in the user's language; statuses are translated too. */
function explain(t: Translate, text: string | null): string | null {
  const parts = reasonParts(text);
  if (!parts) return null;
  const params = { ...parts.params };
  if (params.status) params.status = t(`orders.status.${params.status}`);
  return t(parts.key, params);
}

/** Up to this many orders, "generate" answers when they are done; more, and it answers at once with the progress. */
const WAIT_FOR_AT_MOST = 50;

orderProcessingRoutes.get('/:id{[0-9]+}', requirePermission('orders.manage'), async (c) => {
  const campaign = await loadCampaign(c);
  // While this process generates, a page without JavaScript refreshes itself (htmx polls the fragment instead).
  if (campaign.status === 'generating' && isGenerating(campaign.id)) c.header('Refresh', '2');
  return wizardPage(c, campaign);
});

/** The progress fragment htmx polls; once the run is over the whole page is loaded again to show the result. */
orderProcessingRoutes.get('/:id{[0-9]+}/progress', requirePermission('orders.manage'), async (c) => {
  const campaign = await loadCampaign(c);
  if (campaign.status !== 'generating' || !isGenerating(campaign.id)) {
    c.header('HX-Refresh', 'true');
    return c.body(null, 204);
  }
  return render(c, 'orders/_process_progress.njk', { campaign, running: true });
});

// Step 2 → 3: change the orders and generate the messages (one transaction per order).
orderProcessingRoutes.post('/:id{[0-9]+}/generate', requirePermission('orders.manage'), requirePermission('messages.create'), async (c) => {
  const campaign = await loadCampaign(c);
  const form = await readForm(c);
  const values = { action: (form.action ?? '').slice(0, 20), template: (form.template ?? '').slice(0, 12) };
  const errors: FieldErrors = {};
  if (!isOrderAction(values.action)) errors.action = { key: 'orders.process.v.action', params: {} };
  const templateId = /^\d{1,9}$/.test(values.template) ? Number(values.template) : null;
  const templates = await templateChoices(db(c), ['order']);
  if (!templateId || !templates.some((x) => x.id === templateId)) errors.template = { key: 'orders.process.v.template', params: {} };
  if (Object.keys(errors).length || !isOrderAction(values.action) || !templateId) return wizardPage(c, campaign, values, errors, 422);
  const user = c.get('user')!;
  const log = c.get('log');
  try {
    await startOrderGeneration(
      db(c),
      c.get('deps').store,
      auditActor(c),
      campaign.id,
      {
        action: values.action,
        templateId,
        ctx: { locale: c.get('locale'), sender: { name: user.name, email: user.email }, timeZone: c.get('deps').config.TIMEZONE },
      },
      (err) => log.error({ err, campaignId: campaign.id }, 'order processing stopped'),
    );
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    if (error.messageKey === 'orders.process.v.not_draft') {
      flash(c, 'info', error.messageKey);
      return redirect(c, `/orders/process/${campaign.id}`);
    }
    return wizardPage(c, campaign, values, { template: { key: error.messageKey, params: {} } }, 422);
  }
  // A few orders are done while the user waits, and the page shows the result; more show the progress.
  if (campaign.recipientCount > WAIT_FOR_AT_MOST) return redirect(c, `/orders/process/${campaign.id}`);
  await waitForOrderGeneration(campaign.id);
  const counts = await processingCounts(db(c), campaign.id);
  const failed = counts.skipped + counts.error;
  flash(c, failed ? 'info' : 'success', failed ? 'orders.process.generated_some' : 'orders.process.generated', { count: counts.generated, failed });
  return redirect(c, `/orders/process/${campaign.id}`);
});

// Step 3: send the generated messages now, at a time, or leave them as drafts to send later.
orderProcessingRoutes.post('/:id{[0-9]+}/send', requirePermission('orders.manage'), async (c) => {
  const campaign = await loadCampaign(c);
  const form = await readForm(c);
  const values = { when: ['now', 'later', 'leave'].includes(form.when ?? '') ? form.when! : 'now', at: (form.at ?? '').slice(0, 40) };
  if (values.when === 'leave') {
    flash(c, 'info', 'orders.process.left');
    return redirect(c, `/messages?campaign=${campaign.id}`);
  }
  if (!c.get('user')!.permissions.has('messages.send')) {
    return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: 'error.403.text' }, 403);
  }
  const timeZone = c.get('deps').config.TIMEZONE;
  let sendAt: Date | null = null;
  if (values.when === 'later') {
    sendAt = parseLocalDateTime(values.at, timeZone);
    if (!sendAt) return wizardPage(c, campaign, values, { at: { key: 'send.v.at', params: {} } }, 422);
    if (sendAt.getTime() < Date.now() - 60_000) return wizardPage(c, campaign, values, { at: { key: 'send.v.at_past', params: {} } }, 422);
  }
  const mode = (await getSendDefaults(db(c))).order;
  let result: { queued: number; skipped: number };
  try {
    result = await queueOrderMessages(db(c), auditActor(c), campaign.id, { sendAt, mode: mode === 'individual' ? 'individual' : 'together', bccAll: mode === 'bcc' });
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    flash(c, 'error', error.messageKey);
    return redirect(c, `/orders/process/${campaign.id}`);
  }
  c.get('deps').sender?.wake();
  const fmt = formatters(c.get('locale'), timeZone);
  flash(c, 'success', sendAt ? 'orders.process.scheduled' : 'orders.process.queued', { count: result.queued, skipped: result.skipped, at: sendAt ? fmt.dateTime(sendAt) : '' });
  return redirect(c, `/messages?campaign=${campaign.id}`);
});
