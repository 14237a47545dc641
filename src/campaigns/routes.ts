/**
 * Bulk e-mail wizard and campaign history, mounted at /campaigns. Each wizard step is a plain form whose
 * state lives in the campaign row (status `draft`), so reloading or going back never loses input; htmx only
 * polls the progress of generation. Every route names its permission on its own line.
 */
import { Hono, type Context } from 'hono';
import { parseLocalDateTime, toLocalInput } from '../activities/time.ts';
import { readFilter as readClientFilter } from '../clients/routes.ts';
import { matchingClientIds } from '../clients/queries.ts';
import { NotFoundError, RuleError } from '../errors.ts';
import type { FieldErrors } from '../http/forms.ts';
import { readFormAll } from '../http/forms.ts';
import { PAGE_SIZE, pageParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { getList } from '../lists/queries.ts';
import { attachmentLimitBytes, formatBytes, readMultipartForm } from '../messages/attachments.ts';
import { sendAccountChoices } from '../sender/outbox.ts';
import type { TemplatePurpose } from '../templates/catalogue.ts';
import { getTemplate, getTemplateAttachments, templateChoices } from '../templates/queries.ts';
import type { GenerationDeps } from './generation.ts';
import { checkRecipients, cursorParam, getCampaignRow, listCampaigns, recipientOutcomes, recipientStateCounts } from './queries.ts';
import {
  campaignFiles,
  CampaignMessageInvalid,
  cancelCampaign,
  createCampaign,
  loadCampaign,
  pauseCampaign,
  queueCampaign,
  resumeCampaign,
  saveCampaignMessage,
  startGeneration,
  type Campaign,
} from './service.ts';

export const campaignsRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => c.get('deps').database.db;
const genDeps = (c: Context<AppEnv>): GenerationDeps => ({
  db: db(c),
  store: c.get('deps').store,
  timeZone: c.get('deps').config.TIMEZONE,
  publicUrl: c.get('deps').config.PUBLIC_URL!,
  logger: c.get('deps').logger,
});
const idParam = (c: Context<AppEnv>) => (/^\d{1,9}$/.test(c.req.param('id') ?? '') ? Number(c.req.param('id')) : 0);
const campaignOf = (c: Context<AppEnv>) => loadCampaign(db(c), idParam(c));

/** Where a campaign's wizard stands: the step its page is. */
function stepPath(campaign: Campaign): string {
  // Order processing has its own wizard (it changes the orders' states as it writes their messages).
  if (campaign.kind === 'orders' && campaign.status !== 'sending' && campaign.status !== 'paused' && campaign.status !== 'done') return `/orders/process/${campaign.id}`;
  if (campaign.status === 'draft') return `/campaigns/${campaign.id}/message`;
  if (campaign.status === 'generating') return `/campaigns/${campaign.id}/generate`;
  if (campaign.status === 'generated') return `/campaigns/${campaign.id}/review`;
  return `/campaigns/${campaign.id}`;
}

const hhmm = (minutes: number | null) => (minutes == null ? '' : `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`);

// The steps of this wizard do not apply to order processing: its campaigns go through /orders/process.
campaignsRoutes.use('/:id{[0-9]{1,9}}/:step{message|recipients|generate|review|send}', async (c, next) => {
  const campaign = await campaignOf(c);
  if (campaign.kind === 'orders') return redirect(c, `/orders/process/${campaign.id}`);
  await next();
});

// ----------------------------------------------------------------------------------------- history

campaignsRoutes.get('/', requirePermission('campaigns.run'), async (c) => {
  const before = cursorParam(c.req.query('before'));
  const { rows, olderThan } = await listCampaigns(db(c), { before, limit: PAGE_SIZE });
  return render(c, 'campaigns/index.njk', { rows, olderThan, isFirst: !before });
});

// -------------------------------------------------------------------------------- starting a wizard

// From the address book: the ticked clients, or every client matching the filter carried in the form.
campaignsRoutes.post('/from-clients', requirePermission('campaigns.run'), async (c) => {
  const form = await readFormAll(c);
  const one = (k: string) => form[k]?.[0];
  const filter = readClientFilter({ q: one('q'), tag: one('ftag'), email: one('email'), marketing: one('marketing'), kind: one('kind') });
  const ids =
    one('scope') === 'all' ? await matchingClientIds(db(c), filter) : [...new Set((form.ids ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number))];
  if (!ids.length) {
    flash(c, 'error', 'bulk.none_selected');
    return redirect(c, '/clients');
  }
  const t = c.get('t');
  const id = await createCampaign(db(c), auditActor(c), {
    kind: 'clients',
    name: t('campaigns.default_name_clients', { count: ids.length, date: new Date().toISOString().slice(0, 10) }),
    marketing: false,
    purpose: 'client',
    locale: c.get('locale'),
    clientIds: ids,
  });
  return redirect(c, `/campaigns/${id}/message`);
});

// From a marketing list: a campaign (marketing mail; "no marketing" is respected).
campaignsRoutes.post('/from-list/:listId{[0-9]{1,9}}', requirePermission('campaigns.run'), async (c) => {
  const list = await getList(db(c), Number(c.req.param('listId')));
  if (!list) throw new NotFoundError();
  const id = await createCampaign(db(c), auditActor(c), {
    kind: 'list',
    name: list.name,
    marketing: true,
    purpose: 'list',
    locale: c.get('locale'),
    listId: list.id,
  });
  return redirect(c, `/campaigns/${id}/message`);
});

// ----------------------------------------------------------------------------------- step 1: message

async function messagePage(c: Context<AppEnv>, campaign: Campaign, extra: { values?: Record<string, string>; issues?: unknown; errors?: FieldErrors; uploadError?: string } = {}, status = 200) {
  const [templates, files] = await Promise.all([templateChoices(db(c), [campaign.purpose as TemplatePurpose]), campaignFiles(db(c), campaign.id)]);
  const values = extra.values ?? {
    name: campaign.name,
    template: campaign.templateId ? String(campaign.templateId) : '',
    subject: campaign.subject,
    body: campaign.bodyHtml,
    attachment_pattern: campaign.attachmentPattern ?? '',
  };
  const issues = (extra.issues as { field: string }[] | undefined) ?? [];
  return render(
    c,
    'campaigns/message.njk',
    {
      campaign,
      step: 1,
      templates,
      files: files.map((f) => ({ ...f, size: formatBytes(f.sizeBytes, c.get('locale')) })),
      values,
      issues: { subject: issues.filter((i) => i.field === 'subject'), bodyHtml: issues.filter((i) => i.field === 'bodyHtml') },
      errors: extra.errors ?? {},
      uploadError: extra.uploadError,
      maxMb: c.get('deps').config.ATTACHMENTS_MAX_MB,
    },
    status,
  );
}

campaignsRoutes.get('/:id{[0-9]{1,9}}/message', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status !== 'draft') return redirect(c, stepPath(campaign));
  return messagePage(c, campaign);
});

campaignsRoutes.post('/:id{[0-9]{1,9}}/message', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status !== 'draft') return redirect(c, stepPath(campaign));
  const form = await readMultipartForm(c, { maxTotalBytes: attachmentLimitBytes(c.get('deps').config) });
  const one = (k: string) => form.fields[k]?.[0] ?? '';
  const values = { name: one('name'), template: one('template'), subject: one('subject'), body: one('body'), attachment_pattern: one('attachment_pattern') };
  const action = one('action');
  const templateId = /^\d{1,9}$/.test(values.template) ? Number(values.template) : null;
  const upload = form.tooLarge ? [] : [...form.files];
  // "Use the template": its subject, body and files replace what is in the form.
  if (action === 'load' && templateId != null) {
    const template = await getTemplate(db(c), templateId);
    if (template && template.purpose === campaign.purpose) {
      values.subject = template.subject;
      values.body = template.bodyHtml;
      const existing = new Set((await campaignFiles(db(c), campaign.id)).map((f) => f.blobId));
      for (const a of await getTemplateAttachments(db(c), templateId)) {
        if (!existing.has(a.blobId)) upload.push({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes });
      }
    }
  }
  const removeFileIds = (form.fields.remove_file ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number);
  try {
    await saveCampaignMessage(db(c), auditActor(c), campaign.id, {
      name: values.name,
      templateId,
      subject: values.subject,
      bodyHtml: values.body,
      attachmentPattern: values.attachment_pattern.trim() || null,
      upload,
      removeFileIds,
    });
  } catch (error) {
    if (!(error instanceof CampaignMessageInvalid)) throw error;
    const errors: FieldErrors = Object.fromEntries(Object.entries(error.errors).map(([k, key]) => [k, { key, params: {} }]));
    // Loading a template into an empty form is not an error yet: show it to be checked and edited.
    const fresh = await loadCampaign(db(c), campaign.id);
    if (action === 'load' && !error.issues.length) return messagePage(c, fresh, { values }, 200);
    return messagePage(c, fresh, { values, issues: error.issues, errors, uploadError: form.tooLarge ? 'campaigns.v.upload_too_large' : undefined }, 422);
  }
  const fresh = await loadCampaign(db(c), campaign.id);
  if (form.tooLarge) return messagePage(c, fresh, { values, uploadError: 'campaigns.v.upload_too_large' }, 413);
  if (action === 'next') return redirect(c, `/campaigns/${campaign.id}/recipients`);
  flash(c, 'success', 'campaigns.saved');
  return redirect(c, `/campaigns/${campaign.id}/message`);
});

// -------------------------------------------------------------------------------- step 2: recipients

campaignsRoutes.get('/:id{[0-9]{1,9}}/recipients', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status !== 'draft') return redirect(c, stepPath(campaign));
  const [checked, list] = await Promise.all([checkRecipients(db(c), campaign), campaign.listId ? getList(db(c), campaign.listId) : undefined]);
  return render(c, 'campaigns/recipients.njk', { campaign, step: 2, checked, list });
});

// ------------------------------------------------------------------------------- step 3: generation

campaignsRoutes.post('/:id{[0-9]{1,9}}/generate', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  try {
    await startGeneration(genDeps(c), auditActor(c), campaign.id);
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    flash(c, 'error', error.messageKey, error.params);
    return redirect(c, stepPath(campaign) === `/campaigns/${campaign.id}/message` && error.messageKey === 'campaigns.v.message_first' ? `/campaigns/${campaign.id}/message` : stepPath(campaign));
  }
  return redirect(c, `/campaigns/${campaign.id}/generate`);
});

async function progressData(c: Context<AppEnv>, campaign: Campaign) {
  const states = await recipientStateCounts(db(c), campaign.id);
  const total = campaign.recipientCount;
  const processed = Math.min(total, campaign.processedCount);
  return { campaign, step: 3, states, total, processed, percent: total ? Math.floor((processed * 100) / total) : 100, running: campaign.status === 'generating' };
}

campaignsRoutes.get('/:id{[0-9]{1,9}}/generate', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status === 'draft') return redirect(c, stepPath(campaign));
  const data = await progressData(c, campaign);
  if (isPartial(c)) return render(c, 'campaigns/_progress.njk', data);
  // Without JavaScript the page reloads itself while generation runs (htmx polls the fragment instead; a
  // boosted navigation ignores this header).
  if (data.running && c.req.header('HX-Request') !== 'true') c.header('Refresh', '2');
  return render(c, 'campaigns/generate.njk', data);
});

// ----------------------------------------------------------------------------------- step 4: review

campaignsRoutes.get('/:id{[0-9]{1,9}}/review', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status === 'draft' || campaign.status === 'generating') return redirect(c, stepPath(campaign));
  const state = ['generated', 'skipped', 'error'].includes(c.req.query('state') ?? '') ? c.req.query('state') : undefined;
  const page = pageParam(c.req.query('page'));
  const [row, outcomes, states] = await Promise.all([
    getCampaignRow(db(c), campaign.id),
    recipientOutcomes(db(c), campaign.id, { state, page, pageSize: PAGE_SIZE }),
    recipientStateCounts(db(c), campaign.id),
  ]);
  return render(c, 'campaigns/review.njk', { campaign, row, step: 4, state, page, pages: Math.max(1, Math.ceil(outcomes.total / PAGE_SIZE)), outcomes: outcomes.rows, states });
});

// ------------------------------------------------------------------------------------- step 5: send

interface SendValues {
  when: string;
  at: string;
  not_after: string;
  window_start: string;
  window_end: string;
  failure_limit: string;
  account: string;
}

async function sendPage(c: Context<AppEnv>, campaign: Campaign, values: SendValues, errors: FieldErrors = {}, status = 200) {
  const [accounts, row] = await Promise.all([sendAccountChoices(db(c)), getCampaignRow(db(c), campaign.id)]);
  return render(c, 'campaigns/send.njk', { campaign, row, step: 5, accounts, values, errors }, status);
}

campaignsRoutes.get('/:id{[0-9]{1,9}}/send', requirePermission('messages.send'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status !== 'generated') return redirect(c, stepPath(campaign));
  const tz = c.get('deps').config.TIMEZONE;
  return sendPage(c, campaign, {
    when: 'now',
    at: toLocalInput(new Date(Date.now() + 3_600_000), tz),
    not_after: '',
    window_start: hhmm(campaign.windowStart),
    window_end: hhmm(campaign.windowEnd),
    failure_limit: campaign.failureLimit == null ? '' : String(campaign.failureLimit),
    account: campaign.accountId ? String(campaign.accountId) : '',
  });
});

const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

campaignsRoutes.post('/:id{[0-9]{1,9}}/send', requirePermission('messages.send'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status !== 'generated') return redirect(c, stepPath(campaign));
  const form = await readFormAll(c);
  const one = (k: string) => (form[k]?.[0] ?? '').trim().slice(0, 40);
  const values: SendValues = {
    when: ['now', 'later', 'outbox'].includes(one('when')) ? one('when') : 'now',
    at: one('at'),
    not_after: one('not_after'),
    window_start: one('window_start'),
    window_end: one('window_end'),
    failure_limit: one('failure_limit'),
    account: one('account'),
  };
  if (values.when === 'outbox') {
    flash(c, 'info', 'campaigns.left_in_outbox');
    return redirect(c, `/campaigns/${campaign.id}`);
  }
  const tz = c.get('deps').config.TIMEZONE;
  const errors: FieldErrors = {};
  const err = (field: string, key: string, params: Record<string, string> = {}) => (errors[field] = { key, params });
  let sendAt: Date | null = null;
  if (values.when === 'later') {
    sendAt = parseLocalDateTime(values.at, tz);
    if (!sendAt) err('at', 'send.v.at');
    else if (sendAt.getTime() < Date.now() - 60_000) err('at', 'send.v.at_past');
  }
  let notAfter: Date | null = null;
  if (values.not_after) {
    notAfter = parseLocalDateTime(values.not_after, tz);
    if (!notAfter) err('not_after', 'send.v.at');
    else if (notAfter <= (sendAt ?? new Date())) err('not_after', 'sending.v.not_after_before_send');
  }
  const minutes = (v: string) => {
    const m = TIME.exec(v);
    return m ? Number(m[1]) * 60 + Number(m[2]) : null;
  };
  let windowStart: number | null = null;
  let windowEnd: number | null = null;
  if (values.window_start || values.window_end) {
    windowStart = minutes(values.window_start);
    windowEnd = minutes(values.window_end);
    if (windowStart == null) err('window_start', 'campaigns.v.time');
    if (windowEnd == null) err('window_end', 'campaigns.v.time');
    if (windowStart != null && windowStart === windowEnd) err('window_end', 'campaigns.v.window_empty');
  }
  let failureLimit: number | null = null;
  if (values.failure_limit) {
    if (/^\d{1,6}$/.test(values.failure_limit) && Number(values.failure_limit) > 0) failureLimit = Number(values.failure_limit);
    else err('failure_limit', 'campaigns.v.failure_limit');
  }
  let accountId: number | null = null;
  if (values.account) {
    const accounts = await sendAccountChoices(db(c));
    if (/^\d{1,9}$/.test(values.account) && accounts.some((a) => a.id === Number(values.account))) accountId = Number(values.account);
    else err('account', 'v.choice');
  }
  if (Object.keys(errors).length) return sendPage(c, campaign, values, errors, 422);
  try {
    const queued = await queueCampaign(db(c), auditActor(c), campaign.id, { sendAt, notAfter, windowStart, windowEnd, failureLimit, accountId });
    c.get('deps').sender?.wake();
    flash(c, 'success', sendAt ? 'campaigns.scheduled' : 'campaigns.queued', { count: queued, at: sendAt ? toLocalInput(sendAt, tz).replace('T', ' ') : '' });
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    return sendPage(c, campaign, values, { _form: { key: error.messageKey, params: {} } }, 422);
  }
  return redirect(c, `/campaigns/${campaign.id}`);
});

// ------------------------------------------------------------------------------- detail and actions

campaignsRoutes.get('/:id{[0-9]{1,9}}', requirePermission('campaigns.run'), async (c) => {
  const campaign = await campaignOf(c);
  if (campaign.status === 'draft') return redirect(c, stepPath(campaign));
  const state = ['generated', 'skipped', 'error', 'pending'].includes(c.req.query('state') ?? '') ? c.req.query('state') : undefined;
  const page = pageParam(c.req.query('page'));
  const [row, outcomes, states] = await Promise.all([
    getCampaignRow(db(c), campaign.id),
    recipientOutcomes(db(c), campaign.id, { state, page, pageSize: PAGE_SIZE }),
    recipientStateCounts(db(c), campaign.id),
  ]);
  const tz = c.get('deps').config.TIMEZONE;
  return render(c, 'campaigns/detail.njk', {
    campaign,
    row,
    outcomes: outcomes.rows,
    states,
    state,
    page,
    pages: Math.max(1, Math.ceil(outcomes.total / PAGE_SIZE)),
    window: campaign.windowStart != null ? `${hhmm(campaign.windowStart)}–${hhmm(campaign.windowEnd)}` : null,
    sendAtLocal: campaign.sendAt ? toLocalInput(campaign.sendAt, tz).replace('T', ' ') : null,
    notAfterLocal: campaign.notAfter ? toLocalInput(campaign.notAfter, tz).replace('T', ' ') : null,
  });
});

function actionRoute(name: 'pause' | 'resume' | 'cancel') {
  campaignsRoutes.post(`/:id{[0-9]{1,9}}/${name}`, requirePermission('campaigns.run'), async (c) => {
    const campaign = await campaignOf(c);
    try {
      if (name === 'pause') await pauseCampaign(db(c), auditActor(c), campaign.id);
      else if (name === 'resume') {
        await resumeCampaign(genDeps(c), auditActor(c), campaign.id);
        c.get('deps').sender?.wake();
      } else {
        const { cancelled } = await cancelCampaign(db(c), auditActor(c), campaign.id);
        flash(c, 'success', 'campaigns.cancelled', { count: cancelled });
        return redirect(c, `/campaigns/${campaign.id}`);
      }
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      flash(c, 'error', 'campaigns.v.state', { status: c.get('t')(`campaigns.status.${campaign.status}`) });
      return redirect(c, `/campaigns/${campaign.id}`);
    }
    flash(c, 'success', `campaigns.${name}d`);
    return redirect(c, `/campaigns/${campaign.id}`);
  });
}
actionRoute('pause');
actionRoute('resume');
actionRoute('cancel');
