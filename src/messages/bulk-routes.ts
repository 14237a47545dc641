/**
 * The communication list's own actions: bulk actions over selected rows, the page or everything matching
 * the filter (POST /messages/bulk), their background progress (/messages/bulk/jobs/:id), the client picker
 * for "re-link", and inline editing of a draft's subject and To in its row (/messages/:id/inline).
 * Mounted by src/messages/routes.ts, which hands over its filter reader and list page (one definition of
 * what the list shows, also for re-showing it with a refused bulk form's errors).
 */
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { eq } from 'drizzle-orm';
import { parseLocalDateTime } from '../activities/time.ts';
import { messages } from '../db/schema/index.ts';
import { FieldRuleError, NotFoundError, RuleError } from '../errors.ts';
import { contentDisposition } from '../http/download.ts';
import { readForm, readFormAll, type FieldErrors } from '../http/forms.ts';
import { formatters } from '../http/i18n/index.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { formatAddressList } from '../mail/address.ts';
import { resolveClientRef, suggestClients, type ClientRef } from '../orders/client-picker.ts';
import {
  ACTION_PERMISSION,
  BACKGROUND_OVER,
  batchSizeFor,
  BULK_ACTIONS,
  BULK_MAX,
  countMatching,
  EXPORT_MAX,
  exportZip,
  getBulkJob,
  isBulkAction,
  matchingIds,
  runBulk,
  runningBulkJobs,
  startBulkJob,
  summaryText,
  type BulkJob,
  type BulkParams,
} from './bulk.ts';
import { getMessage, idParam, listMessageAttachments, rowsQuery, type MessageFilter, type MessageRow } from './queries.ts';
import { canEditMessage } from './rules.ts';
import { cleanQuery, searchTsQuery } from './search.ts';
import { laterSuggestion } from './send-form.ts';
import { parseDraftFields, StoreWriteFailed, updateDraft } from './service.ts';

type Ctx = Context<AppEnv>;
type Get = (k: string) => string | undefined;
const db = (c: Ctx) => c.get('deps').database.db;

/** A bulk form sent back with errors: what was chosen and ticked, shown again as it was. */
export interface BulkFormState {
  errors: FieldErrors;
  values: { action: string; scope: string; at: string; client: string };
  selected: number[];
  client: ClientRef | null;
  back: string;
}

export interface ListDeps {
  readFilter: (get: Get, timeZone: string) => { filter: MessageFilter; ignored: string[] };
  listPage: (c: Ctx, get: Get, bulk?: BulkFormState, status?: number) => Promise<Response>;
}

/** Whether the user may run any bulk action (the list then shows the boxes and the bar). */
const canBulk = (c: Ctx) => BULK_ACTIONS.some((a) => c.get('user')?.permissions.has(ACTION_PERMISSION[a]));
const err = (key: string, params: Record<string, string> = {}) => ({ key, params });
const parseIds = (values: string[] | undefined) => [...new Set((values ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number))];
/** The list URL a form came from: only /messages itself (anything else falls back to it). */
const listBack = (value: string | undefined) => {
  const back = safeNext(value ?? '/messages');
  return back === '/messages' || back.startsWith('/messages?') ? back : '/messages';
};

/** The rows with what the list offers on each (inline edit), and the bulk bar's choices. */
export function bulkViewData(c: Ctx, rows: MessageRow[], state?: BulkFormState) {
  const user = c.get('user')!;
  const actions = BULK_ACTIONS.filter((a) => user.permissions.has(ACTION_PERMISSION[a]));
  const url = new URL(c.req.url);
  return {
    rows: rows.map((r) => ({ ...r, editable: canEditMessage(user, r).ok })),
    msgSelectable: actions.length > 0,
    back: state?.back ?? url.pathname + url.search,
    msgBulk: {
      actions,
      errors: state?.errors ?? {},
      values: state?.values ?? { action: '', scope: 'selected', at: laterSuggestion(c.get('deps').config.TIMEZONE), client: '' },
      selected: state?.selected ?? [],
      client: state?.client ?? null,
      running: runningBulkJobs(user.id),
      max: BULK_MAX,
    },
  };
}

/** One row of the list by id, with its inline-edit flag (the fragment htmx swaps in). */
async function listRow(c: Ctx, id: number) {
  const [row] = await rowsQuery(db(c)).where(eq(messages.id, id));
  if (!row) throw new NotFoundError();
  return { ...row, editable: canEditMessage(c.get('user'), row).ok };
}

/** The progress fragment's data; the summary once the job has ended. */
function jobData(c: Ctx, job: BulkJob) {
  const fmt = formatters(c.get('locale'), c.get('deps').config.TIMEZONE);
  return {
    job,
    percent: job.total ? Math.min(100, Math.floor((job.processed / job.total) * 100)) : 100,
    summary: job.status === 'running' ? null : summaryText(c.get('t'), job.params, job.totals, { capped: job.capped, at: job.at, number: fmt.number }),
    skippedSample: job.totals.skippedSample.map((s) => ({ id: s.id, reason: c.get('t')(s.reason) })),
  };
}

export function messageBulkRoutes(deps: ListDeps) {
  const routes = new Hono<AppEnv>();

  /** "All N matching": counted only when the bar asks (htmx, on load), capped at BULK_MAX + 1. */
  routes.get('/bulk/count', requirePermission('messages.view'), async (c) => {
    const { filter } = deps.readFilter((k) => c.req.query(k), c.get('deps').config.TIMEZONE);
    const q = cleanQuery(c.req.query('q'));
    const query = q ? searchTsQuery(q) : null;
    const count = q && !query ? 0 : await countMatching(db(c), filter, query);
    return render(c, 'messages/_bulk_count.njk', { count: Math.min(count, BULK_MAX), more: count > BULK_MAX });
  });

  routes.post('/bulk', requirePermission('messages.view'), async (c) => {
    const user = c.get('user')!;
    const config = c.get('deps').config;
    const form = await readFormAll(c);
    const one = (k: string) => form[k]?.[0];
    const back = listBack(one('back'));
    const backQuery = new URL(back, 'http://list').searchParams;
    const values = {
      action: (one('action') ?? '').slice(0, 20),
      scope: ['selected', 'page', 'all'].includes(one('scope') ?? '') ? one('scope')! : 'selected',
      at: (one('at') ?? '').slice(0, 40),
      client: (one('client') ?? '').slice(0, 254),
    };
    const selected = parseIds(form.ids);
    let client: ClientRef | null = null;
    // A refused form: the list again, as the user left it (ticks, action, time, client), with the reason.
    const refuse = (errors: FieldErrors) => deps.listPage(c, (k) => backQuery.get(k) ?? undefined, { errors, values, selected, client, back }, 422);

    if (!isBulkAction(values.action)) return refuse({ action: err('messages.bulk.v.action') });
    const action = values.action;
    // Each action states its own permission; a refusal is logged like any other route's.
    const denied = await requirePermission(ACTION_PERMISSION[action])(c, async () => {});
    if (denied) return denied;

    let params: BulkParams;
    let atText = '';
    const fmt = formatters(c.get('locale'), config.TIMEZONE);
    if (action === 'schedule') {
      const at = parseLocalDateTime(values.at, config.TIMEZONE);
      if (!at || at.getTime() < Date.now() - 60_000) return refuse({ at: err('messages.bulk.v.at') });
      params = { action, at };
      atText = fmt.dateTime(at);
    } else if (action === 'relink') {
      const found = values.client.trim() ? await resolveClientRef(db(c), values.client) : null;
      if (!found?.ok) return refuse({ client: err(found ? found.error : 'messages.bulk.v.client') });
      client = found.client;
      params = { action, clientId: found.client.id, clientName: found.client.name };
    } else params = { action } as BulkParams;

    let ids: number[];
    let capped = false;
    if (values.scope === 'all') {
      const { filter } = deps.readFilter((k) => one(`f.${k}`), config.TIMEZONE);
      const q = cleanQuery(one('f.q'));
      const query = q ? searchTsQuery(q) : null;
      ({ ids, capped } = q && !query ? { ids: [], capped: false } : await matchingIds(db(c), filter, query, action === 'export' ? EXPORT_MAX : BULK_MAX));
      if (!ids.length) return refuse({ scope: err('messages.bulk.v.none_matching') });
    } else {
      ids = values.scope === 'page' ? parseIds(form.page_ids) : selected;
      if (!ids.length) return refuse({ scope: err('messages.bulk.v.none_selected') });
      ids = ids.slice(0, BULK_MAX);
    }

    const actor = auditActor(c);
    if (action === 'export') {
      if (capped) return refuse({ scope: err('messages.bulk.v.export_max', { max: fmt.number(EXPORT_MAX) }) });
      const { stream } = await exportZip(db(c), c.get('deps').store, actor, ids, c.get('log'));
      const day = new Date().toISOString().slice(0, 10);
      return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
        headers: {
          'Content-Type': 'application/zip',
          'Content-Disposition': contentDisposition(`${c.get('t')('messages.bulk.zip_name')}-${day}.zip`),
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-store',
        },
      });
    }

    if (ids.length > BACKGROUND_OVER) {
      const { database, logger, sender } = c.get('deps');
      const job = startBulkJob({ db: database.db, logger, batchSize: batchSizeFor(database.kind) }, actor, user, params, ids, { at: atText, capped, back });
      if (action === 'send_now' || action === 'retry') void job.finished.then(() => sender?.wake());
      return redirect(c, `/messages/bulk/jobs/${job.id}`);
    }
    const totals = await runBulk(db(c), actor, user, params, ids, undefined, batchSizeFor(c.get('deps').database.kind));
    if (totals.done && (action === 'send_now' || action === 'retry')) c.get('deps').sender?.wake();
    flash(c, totals.done ? 'success' : 'error', 'messages.bulk.flash', { text: summaryText(c.get('t'), params, totals, { capped, at: atText, number: fmt.number }) });
    return redirect(c, back);
  });

  /** A background action's progress (polls itself with htmx; a reload link and a refresh without JS). */
  routes.get('/bulk/jobs/:job', requirePermission('messages.view'), (c) => {
    const job = getBulkJob(c.req.param('job'), c.get('user')!.id);
    if (!job) throw new NotFoundError();
    return render(c, isPartial(c) ? 'messages/_bulk_job.njk' : 'messages/bulk_job.njk', jobData(c, job));
  });

  // The re-link client picker: the order form's type-ahead, answering with the bulk bar's own field.
  routes.get('/bulk/client-suggest', requirePermission('messages.edit'), async (c) => {
    const q = c.req.query('q') ?? c.req.query('client') ?? '';
    return render(c, 'orders/_client_suggest.njk', { clients: await suggestClients(db(c), q), q: q.trim(), pickerBase: '/messages/bulk' });
  });
  routes.get('/bulk/client-field', requirePermission('messages.edit'), async (c) => {
    const typed = (c.req.query('client') ?? '').slice(0, 254);
    const found = typed.trim() ? await resolveClientRef(db(c), typed) : null;
    return render(c, 'messages/_bulk_client.njk', {
      msgBulk: { values: { client: typed }, errors: found && !found.ok ? { client: err(found.error) } : {}, client: found?.ok ? found.client : null },
    });
  });

  // ------------------------------------------------------------------------------------ inline editing

  /** The row with its small form (htmx), or a page with the same form (without JavaScript). */
  routes.get('/:id{[0-9]+}/inline', requirePermission('messages.view'), async (c) => {
    const id = idParam(c.req.param('id'));
    const message = id ? await getMessage(db(c), id) : undefined;
    if (!message) throw new NotFoundError();
    const back = listBack(c.req.query('back'));
    const allowed = canEditMessage(c.get('user'), message);
    const row = await listRow(c, message.id);
    const base = { m: row, back, msgSelectable: canBulk(c), msgBulk: { selected: [] } };
    if (c.req.query('view') === '1' || !allowed.ok) {
      if (isPartial(c)) return render(c, 'messages/_bulk_row.njk', { ...base, rowError: allowed.ok ? null : `messages.denied.${allowed.reason}` });
      if (allowed.ok) return redirect(c, back);
      return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: `messages.denied.${allowed.reason}` }, 403);
    }
    const values = { subject: message.subject, to: formatAddressList(message.toAddrs), version: String(message.version) };
    return render(c, isPartial(c) ? 'messages/_bulk_row.njk' : 'messages/bulk_edit.njk', { ...base, editing: true, values, errors: {} });
  });

  /**
   * Saves the subject and To of a draft (updateDraft: the edit rules, the stale-version check, the audit
   * row). Cc, Bcc, body and attachments stay as they are. Errors come back in the row, the typing kept.
   */
  routes.post('/:id{[0-9]+}/inline', requirePermission('messages.view'), async (c) => {
    const id = idParam(c.req.param('id'));
    const message = id ? await getMessage(db(c), id) : undefined;
    if (!message) throw new NotFoundError();
    const form = await readForm(c);
    const back = listBack(form.back);
    const values = { subject: (form.subject ?? '').slice(0, 2000), to: (form.to ?? '').slice(0, 20_000), version: (form.version ?? '').slice(0, 12) };
    const partial = isPartial(c);
    const again = async (errors: FieldErrors, status: number) =>
      render(c, partial ? 'messages/_bulk_row.njk' : 'messages/bulk_edit.njk', { m: await listRow(c, message.id), back, msgSelectable: canBulk(c), msgBulk: { selected: [] }, editing: true, values, errors }, status);
    const denied = async (reason: string) =>
      partial
        ? render(c, 'messages/_bulk_row.njk', { m: await listRow(c, message.id), back, msgSelectable: canBulk(c), msgBulk: { selected: [] }, rowError: reason }, 403)
        : render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: reason }, 403);
    const user = c.get('user')!;
    const allowed = canEditMessage(user, message);
    if (!allowed.ok) return denied(`messages.denied.${allowed.reason}`);
    const parsed = parseDraftFields({ subject: values.subject, to: values.to });
    if (!parsed.ok) return again(parsed.errors, 422);
    const store = c.get('deps').store;
    const version = Number.parseInt(values.version, 10);
    try {
      const [body, files] = await Promise.all([store.get(message.bodyBlob), listMessageAttachments(db(c), message.id)]);
      await updateDraft(
        db(c),
        store,
        auditActor(c),
        user,
        message.id,
        {
          subject: parsed.value.subject,
          to: parsed.value.to,
          cc: message.ccAddrs,
          bcc: message.bccAddrs,
          bodyHtml: body.toString('utf8'),
          attachments: files.map((a) => ({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes })),
        },
        Number.isSafeInteger(version) ? version : -1,
      );
    } catch (error) {
      if (error instanceof StoreWriteFailed) {
        c.get('log').error({ err: error.cause }, 'message store write failed');
        return again({ _form: err(error.messageKey) }, 503);
      }
      if (error instanceof FieldRuleError) return again({ [error.field]: err(error.messageKey) }, 422);
      if (error instanceof RuleError) return denied(error.messageKey);
      throw error;
    }
    if (partial) return render(c, 'messages/_bulk_row.njk', { m: await listRow(c, message.id), back, msgSelectable: canBulk(c), msgBulk: { selected: [] }, saved: true });
    flash(c, 'success', 'messages.bulk.inline_saved', { subject: parsed.value.subject || '—' });
    return redirect(c, back);
  });

  return routes;
}
