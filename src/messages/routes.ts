import { Hono, type Context } from 'hono';
import { download } from '../http/download.ts';
import { MESSAGE_STATUSES, type MessageStatus } from '../db/schema/index.ts';
import { FieldRuleError, NotFoundError, RuleError } from '../errors.ts';
import type { FieldErrors } from '../http/forms.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, fullPageLoad, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { formatAddressList } from '../mail/address.ts';
import { safeFilename } from '../mail/mime.ts';
import { attachmentItems, attachmentLimitBytes } from './attachments.ts';
import { applyTemplate, readComposerForm, templateChoices, type ComposerValues } from './composer.ts';
import {
  ACTIVITY_AUDIENCES,
  activityRecipients,
  type ActivityAudience,
  cursorParam,
  getMessage,
  getMessageAttachment,
  idParam,
  isMessageStatus,
  listMessageAttachments,
  listMessageLog,
  listFilterChoices,
  listMessages,
  SEARCH_CANDIDATES,
  searchMessages,
  type MessageFilter,
  resolveLink,
  suggestRecipients,
  type LinkContext,
  type MessageDetail,
  type MessageLink,
  type MessageRow,
} from './queries.ts';
import { canDeleteMessage, canEditMessage } from './rules.ts';
import { cancel, markSent, queueMessage, resend } from '../sender/queue.ts';
import { startOfLocalDay, startOfNextLocalDay } from '../activities/time.ts';
import { dateParam, pageParam } from '../http/listing.ts';
import { savedViewsFor } from '../saved-views/routes.ts';
import { bulkViewData, messageBulkRoutes, type BulkFormState } from './bulk-routes.ts';
import { cleanQuery, searchSnippets, searchTsQuery } from './search.ts';
import { formatters } from '../http/i18n/index.ts';
import { readForm } from '../http/forms.ts';
import { defaultSendValues, laterSuggestion, readSendForm, sendPanelData, type SendFormValues } from './send-form.ts';
import { createDraft, deleteDraft, exportMessage, parseDraftFields, StoreWriteFailed, updateDraft, type DraftAttachment } from './service.ts';

/** /messages: the composer, drafts, the detail page and its exports. */
export const messagesRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
const db = (c: Ctx) => c.get('deps').database.db;
const store = (c: Ctx) => c.get('deps').store;

const LIST_SIZE = 50;

/** The message named by the URL, or a 404 (ids out of int range included). */
async function loadMessage(c: Ctx): Promise<MessageDetail> {
  const id = idParam(c.req.param('id'));
  const message = id ? await getMessage(db(c), id) : undefined;
  if (!message) throw new NotFoundError();
  return message;
}

/** The link filters a list or a composer URL may carry: ?client=12, ?order=5, ?contract=3, ?activity=9. */
function linkFromQuery(get: (k: string) => string | undefined): MessageLink {
  return {
    clientId: idParam(get('client')),
    orderId: idParam(get('order')),
    contractId: idParam(get('contract')),
    activityId: idParam(get('activity')),
  };
}

/** A refused change: the error page with the reason (403). */
function denied(c: Ctx, reason: string) {
  return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: `messages.denied.${reason}` }, 403);
}

// ---------------------------------------------------------------------------------------------- list

/**
 * The communication list's filters from the query string. A value of the wrong type (or an unknown state)
 * is ignored and reported, never an error: the page says which filters were left out.
 */
function readListFilter(get: (k: string) => string | undefined, timeZone: string): { filter: MessageFilter; echo: Record<string, string | number | undefined>; ignored: string[] } {
  const ignored: string[] = [];
  const filter: MessageFilter = { link: linkFromQuery(get) };
  const echo: Record<string, string | number | undefined> = {
    client: filter.link!.clientId ?? undefined,
    order: filter.link!.orderId ?? undefined,
    contract: filter.link!.contractId ?? undefined,
    activity: filter.link!.activityId ?? undefined,
  };
  const take = (key: string, ok: (v: string) => boolean, set: (v: string) => void) => {
    const v = get(key)?.trim();
    if (!v) return;
    if (ok(v)) {
      set(v);
      echo[key] = v;
    } else ignored.push(key);
  };
  const isId = (v: string) => /^\d{1,9}$/.test(v);
  take('status', isMessageStatus, (v) => (filter.status = v as MessageStatus));
  take('date', (v) => v === 'created' || v === 'sent', (v) => (filter.dateField = v as 'created' | 'sent'));
  take('from', (v) => dateParam(v) !== null, (v) => (filter.from = startOfLocalDay(v, timeZone)));
  take('to', (v) => dateParam(v) !== null, (v) => (filter.to = startOfNextLocalDay(v, timeZone)));
  take('user', isId, (v) => (filter.userId = Number(v)));
  take('account', isId, (v) => (filter.accountId = Number(v)));
  take('template', isId, (v) => (filter.templateId = Number(v)));
  take('mode', (v) => ['individual', 'together'].includes(v), (v) => (filter.sendMode = v));
  take('attachments', (v) => v === 'yes' || v === 'no', (v) => (filter.attachments = v as 'yes' | 'no'));
  take('campaign', isId, (v) => (filter.campaignId = Number(v)));
  return { filter, echo, ignored };
}

/**
 * The list page for a query (`get` reads it: the URL's, or the one a bulk form came back from). `bulk`
 * carries a refused bulk action's errors and choices, so the page shows them with the selection kept.
 */
async function listPage(c: Ctx, get: (k: string) => string | undefined, bulk?: BulkFormState, status = 200) {
  const config = c.get('deps').config;
  const { filter, echo, ignored } = readListFilter(get, config.TIMEZONE);
  const q = cleanQuery(get('q'));
  const query = q ? searchTsQuery(q) : null;
  const linked = filter.link?.clientId || filter.link?.orderId || filter.link?.contractId || filter.link?.activityId ? await resolveLink(db(c), filter.link!) : null;
  let data: Record<string, unknown>;
  if (q) {
    // Search ranks the newest SEARCH_CANDIDATES matches: no page lies beyond them.
    const page = pageParam(get('page'), Math.ceil(SEARCH_CANDIDATES / LIST_SIZE));
    const found = query ? await searchMessages(db(c), { ...filter, query, page, limit: LIST_SIZE }) : { rows: [], more: false, capped: false };
    const snippets = query ? await searchSnippets(db(c), store(c), found.rows, query) : new Map();
    data = { rows: found.rows.map((r) => ({ ...r, snippet: snippets.get(r.id) })), more: found.more, page, searching: true, capped: found.capped, candidates: SEARCH_CANDIDATES };
  } else {
    const before = cursorParam(get('before'));
    const { rows, olderThan } = await listMessages(db(c), { ...filter, before, limit: LIST_SIZE });
    data = { rows, olderThan, isFirst: !before, searching: false };
  }
  Object.assign(data, {
    q,
    filter: { ...echo, q: q || undefined },
    statuses: MESSAGE_STATUSES,
    linked,
    ignored,
    choices: await listFilterChoices(db(c)),
  });
  Object.assign(data, await savedViewsFor(c, 'messages'));
  Object.assign(data, bulkViewData(c, data.rows as MessageRow[], bulk));
  // A filtered list swapped in by htmx also refreshes the saved-views sidebar (it saves the current query).
  if (isPartial(c) && c.req.header('HX-Target') === 'message-rows') return render(c, 'saved-views/_with-list.njk', { ...data, listTemplate: 'messages/_list.njk' });
  return render(c, 'messages/index.njk', data, status);
}

messagesRoutes.get('/', requirePermission('messages.view'), (c) => listPage(c, (k) => c.req.query(k)));
// Bulk actions and inline editing of the list's rows (src/messages/bulk-routes.ts).
messagesRoutes.route('/', messageBulkRoutes({ readFilter: readListFilter, listPage }));

// ------------------------------------------------------------------------------------------ composer

/** Address-book type-ahead for To/Cc/Bcc: suggestions for the entry being typed (after the last , or ;). */
messagesRoutes.get('/recipients', requirePermission('messages.create'), async (c) => {
  const field = ['to', 'cc', 'bcc'].includes(c.req.query('field') ?? '') ? c.req.query('field')! : 'to';
  const typed = (c.req.query('q') ?? c.req.query(field) ?? '').slice(-300);
  const current = typed.split(/[,;\n]/).pop()!.trim();
  const suggestions = await suggestRecipients(db(c), current);
  return render(c, 'messages/_recipients.njk', { suggestions, field, q: current });
});

interface ComposerState {
  values: ComposerValues;
  errors: FieldErrors;
  attachments: DraftAttachment[];
  linkCtx: LinkContext;
  message?: MessageDetail;
}

async function renderComposer(c: Ctx, state: ComposerState, status = 200) {
  const user = c.get('user')!;
  const config = c.get('deps').config;
  return render(
    c,
    'messages/compose.njk',
    {
      ...state,
      isNew: !state.message,
      formAction: state.message ? `/messages/${state.message.id}/edit` : '/messages/new',
      templates: await templateChoices(db(c), state.linkCtx),
      attachmentItems: await attachmentItems(c, user.id, state.attachments),
      limitBytes: attachmentLimitBytes(config),
    },
    status,
  );
}

function emptyValues(): ComposerValues {
  return { to: '', cc: '', bcc: '', subject: '', body: '', bodyMode: 'rich', template: '', version: '' };
}

messagesRoutes.get('/new', requirePermission('messages.create'), async (c) => {
  const full = fullPageLoad(c);
  if (full) return full;
  const linkCtx = await resolveLink(db(c), linkFromQuery((k) => c.req.query(k)));
  const values = emptyValues();
  const audience = c.req.query('to');
  if (linkCtx.activity && audience && (ACTIVITY_AUDIENCES as readonly string[]).includes(audience)) {
    // E-mail from an activity to its participants, responsible users, people kept informed …
    values.to = formatAddressList(await activityRecipients(db(c), linkCtx.activity.id, audience as ActivityAudience));
  } else if (linkCtx.client?.email) values.to = formatAddressList([{ address: linkCtx.client.email, name: linkCtx.client.name }]);
  return renderComposer(c, { values, errors: {}, attachments: [], linkCtx });
});

/**
 * The composer's POST: "Use template" re-renders the form filled from the template (nothing saved yet);
 * "Save draft" validates and saves. Any problem re-renders with 422, every field and attachment kept.
 */
async function handleComposerPost(c: Ctx, message: MessageDetail | undefined) {
  const user = c.get('user')!;
  const config = c.get('deps').config;
  const linkOf = async (raw: Record<string, string | undefined>) =>
    message
      ? resolveLink(db(c), { clientId: message.clientId, orderId: message.orderId, contractId: message.contractId, activityId: message.activityId })
      : resolveLink(db(c), linkFromQuery((k) => raw[k] ?? c.req.query(k)));
  let form: Awaited<ReturnType<typeof readComposerForm>>;
  try {
    form = await readComposerForm(c, config, user.id);
  } catch (error) {
    if (!(error instanceof StoreWriteFailed)) throw error;
    // The files could not be stored, so the upload is lost; say why (the fields went with the request).
    c.get('log').error({ err: error.cause }, 'message store write failed');
    const values = { ...emptyValues(), version: message ? String(message.version) : '' };
    return renderComposer(c, { values, errors: { _form: { key: error.messageKey, params: {} } }, attachments: [], linkCtx: await linkOf({}), message }, 503);
  }
  const values = form.values;
  const linkCtx = await linkOf(form.raw);
  const state: ComposerState = { values, errors: { ...form.errors }, attachments: form.attachments, linkCtx, message };

  if (form.action === 'template') {
    const applied = await applyTemplate(c, linkCtx, values.template, state.attachments);
    if (!applied.ok) return renderComposer(c, { ...state, errors: { ...state.errors, template: applied.error } }, 422);
    return renderComposer(c, { ...state, values: { ...values, ...applied.values }, attachments: applied.attachments });
  }
  if (form.tooLarge || Object.keys(state.errors).length) return renderComposer(c, state, 422);

  const parsed = parseDraftFields(values);
  if (!parsed.ok) return renderComposer(c, { ...state, errors: parsed.errors }, 422);
  const templateId = idParam(values.template);
  const input = { ...parsed.value, attachments: state.attachments, templateId: templateId ?? undefined };
  try {
    let id: number;
    if (message) {
      const version = Number.parseInt(values.version, 10);
      await updateDraft(db(c), store(c), auditActor(c), user, message.id, input, Number.isSafeInteger(version) ? version : -1);
      id = message.id;
      flash(c, 'success', 'messages.updated');
    } else {
      id = await createDraft(db(c), store(c), auditActor(c), input, { link: linkCtx.link });
      flash(c, 'success', 'messages.created');
    }
    return redirect(c, `/messages/${id}`);
  } catch (error) {
    if (error instanceof StoreWriteFailed) c.get('log').error({ err: error.cause }, 'message store write failed');
    if (error instanceof FieldRuleError) return renderComposer(c, { ...state, errors: { [error.field]: { key: error.messageKey, params: {} } } }, error instanceof StoreWriteFailed ? 503 : 422);
    if (error instanceof RuleError) return denied(c, error.messageKey.replace('messages.denied.', ''));
    throw error;
  }
}

messagesRoutes.post('/new', requirePermission('messages.create'), (c) => handleComposerPost(c, undefined));

messagesRoutes.get('/:id{[0-9]+}/edit', requirePermission('messages.view'), async (c) => {
  const message = await loadMessage(c);
  const allowed = canEditMessage(c.get('user'), message);
  if (!allowed.ok) return denied(c, allowed.reason);
  const full = fullPageLoad(c);
  if (full) return full;
  const body = (await store(c).get(message.bodyBlob)).toString('utf8');
  const attachments = await listMessageAttachments(db(c), message.id);
  const linkCtx = await resolveLink(db(c), { clientId: message.clientId, orderId: message.orderId, contractId: message.contractId, activityId: message.activityId });
  return renderComposer(c, {
    values: {
      to: formatAddressList(message.toAddrs),
      cc: formatAddressList(message.ccAddrs),
      bcc: formatAddressList(message.bccAddrs),
      subject: message.subject,
      body,
      bodyMode: 'rich',
      template: message.templateId ? String(message.templateId) : '',
      version: String(message.version),
    },
    errors: {},
    attachments: attachments.map((a) => ({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes })),
    linkCtx,
    message,
  });
});

messagesRoutes.post('/:id{[0-9]+}/edit', requirePermission('messages.view'), async (c) => {
  const message = await loadMessage(c);
  const allowed = canEditMessage(c.get('user'), message);
  if (!allowed.ok) return denied(c, allowed.reason);
  return handleComposerPost(c, message);
});

// -------------------------------------------------------------------------------------------- detail

messagesRoutes.get('/:id{[0-9]+}', requirePermission('messages.view'), async (c) => {
  const message = await loadMessage(c);
  return detailPage(c, message, { values: await defaultSendValues(db(c), message), errors: {} });
});

/** The detail page (message or log tab) with the send panel in the given state. */
async function detailPage(c: Ctx, message: MessageDetail, send: { values: SendFormValues; errors: FieldErrors }, status = 200) {
  const user = c.get('user')!;
  const tab = c.req.query('tab') === 'log' ? 'log' : 'message';
  const [attachments, log, panel] = await Promise.all([
    listMessageAttachments(db(c), message.id),
    tab === 'log' ? listMessageLog(db(c), message.id) : Promise.resolve([]),
    sendPanelData(db(c), message),
  ]);
  return render(
    c,
    'messages/detail.njk',
    {
      message,
      attachments,
      log,
      tab,
      images: c.req.query('images') === '1',
      canEdit: canEditMessage(user, message).ok,
      canDelete: canDeleteMessage(user, message).ok,
      send: {
        ...send,
        ...panel,
        later: laterSuggestion(c.get('deps').config.TIMEZONE),
        sendable: ['draft', 'exported'].includes(message.status),
        recipientsText: [...message.toAddrs, ...message.ccAddrs, ...message.bccAddrs].map((a) => a.address).join(', '),
      },
    },
    status,
  );
}

// ------------------------------------------------------------------------------------------- sending

messagesRoutes.post('/:id{[0-9]+}/send', requirePermission('messages.send'), async (c) => {
  const message = await loadMessage(c);
  const read = readSendForm(await readForm(c), c.get('deps').config.TIMEZONE);
  if (!read.ok) return detailPage(c, message, { values: read.values, errors: read.errors }, 422);
  let ids: number[];
  try {
    ids = await queueMessage(db(c), auditActor(c), message.id, read.options);
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    return detailPage(c, message, { values: read.values, errors: { _send: { key: error.messageKey, params: {} } } }, 422);
  }
  c.get('deps').sender?.wake();
  const fmt = formatters(c.get('locale'), c.get('deps').config.TIMEZONE);
  const recipients = [...message.toAddrs, ...message.ccAddrs, ...message.bccAddrs].map((a) => a.address).join(', ');
  flash(c, 'success', read.options.sendAt ? 'send.scheduled' : 'send.queued', {
    count: ids.length,
    to: recipients.length > 200 ? `${recipients.slice(0, 200)}…` : recipients,
    at: read.options.sendAt ? fmt.dateTime(read.options.sendAt) : '',
  });
  return redirect(c, `/messages/${message.id}`);
});

/** One click sends a sent, failed or uncertain message again (the button says to whom). */
messagesRoutes.post('/:id{[0-9]+}/resend', requirePermission('messages.resend'), async (c) => {
  const message = await loadMessage(c);
  const result = await resend(db(c), auditActor(c), message.id);
  if (result.done.length) {
    c.get('deps').sender?.wake();
    flash(c, 'success', 'send.resent', { to: message.recipients || [...message.ccAddrs, ...message.bccAddrs].map((a) => a.address).join(', ') });
  } else flash(c, 'error', 'send.not_resendable', { status: c.get('t')(`messages.status.${message.status}`) });
  return redirect(c, `/messages/${message.id}`);
});

/** Waiting: cancel. Uncertain: a human confirms it arrived. */
for (const [path, action, key] of [
  ['cancel', cancel, 'send.cancelled'],
  ['mark-sent', markSent, 'send.marked_sent'],
] as const) {
  messagesRoutes.post(`/:id{[0-9]+}/${path}`, requirePermission('messages.send'), async (c) => {
    const message = await loadMessage(c);
    const result = await action(db(c), auditActor(c), [message.id]);
    if (result.done.length) flash(c, 'success', key);
    else flash(c, 'error', 'send.not_in_state', { status: c.get('t')(`messages.status.${message.status}`) });
    return redirect(c, `/messages/${message.id}`);
  });
}

/**
 * The stored body for the detail page's sandboxed iframe, under its own CSP: no script at all, inline
 * styles only, images only from data:/cid: unless the user asked for remote ones (`?images=1`).
 * Needs the app-wide secureHeaders to leave a handler's own CSP alone (overwrite: false).
 */
messagesRoutes.get('/:id{[0-9]+}/body', requirePermission('messages.view'), async (c) => {
  const message = await loadMessage(c);
  const html = (await store(c).get(message.bodyBlob)).toString('utf8');
  const images = c.req.query('images') === '1' ? ' https: http:' : '';
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:${images}; font-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'`,
  );
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
  return c.html(
    `<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><base target="_blank"></head><body>${html}</body></html>`,
  );
});


messagesRoutes.get('/:id{[0-9]+}/attachments/:attId{[0-9]+}', requirePermission('messages.view'), async (c) => {
  const message = await loadMessage(c);
  const attId = idParam(c.req.param('attId'));
  const attachment = attId ? await getMessageAttachment(db(c), message.id, attId) : undefined;
  if (!attachment) throw new NotFoundError();
  const bytes = await store(c).get(attachment.blobId);
  // Served as a download of an opaque type: a browser never renders an attachment on our origin.
  return download(c, bytes, attachment.filename, 'application/octet-stream');
});

function emlName(subject: string, id: number): string {
  return `${safeFilename(subject).slice(0, 80) || `message-${id}`}.eml`;
}

messagesRoutes.get('/:id{[0-9]+}/eml', requirePermission('messages.export'), async (c) => {
  const message = await loadMessage(c);
  const { bytes } = await exportMessage(db(c), store(c), auditActor(c), message.id, { unsent: false });
  return download(c, bytes, emlName(message.subject, message.id), 'message/rfc822');
});

messagesRoutes.post('/:id{[0-9]+}/open-in-mail-client', requirePermission('messages.export'), async (c) => {
  const message = await loadMessage(c);
  const { bytes } = await exportMessage(db(c), store(c), auditActor(c), message.id, { unsent: true });
  return download(c, bytes, emlName(message.subject, message.id), 'message/rfc822');
});

messagesRoutes.post('/:id{[0-9]+}/delete', requirePermission('messages.delete'), async (c) => {
  const message = await loadMessage(c);
  try {
    await deleteDraft(db(c), auditActor(c), c.get('user')!, message.id);
  } catch (error) {
    if (error instanceof RuleError) return denied(c, error.messageKey.replace('messages.denied.', ''));
    throw error;
  }
  flash(c, 'success', 'messages.deleted', { subject: message.subject || '—' });
  return redirect(c, '/messages');
});
