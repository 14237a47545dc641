import { Hono, type Context } from 'hono';
import { startOfLocalDay, startOfNextLocalDay } from '../activities/time.ts';
import { csvResponse } from '../http/csv.ts';
import { readForm } from '../http/forms.ts';
import { formatters } from '../http/i18n/index.ts';
import { dateParam, PAGE_SIZE, queryString } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import {
  AUDIT_RESULTS,
  auditActions,
  auditActorChoices,
  auditObjectTypes,
  iterateAudit,
  listAudit,
  recordAudit,
  verifyAuditChain,
  type AuditFilter,
  type AuditResult,
} from './queries.ts';

export const auditRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => c.get('deps').database.db;

/** The query parameters of the filter, in the order they appear in links. */
const FILTER_KEYS = ['q', 'actor', 'action', 'type', 'from', 'to', 'result'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
/** The label of each filter field, for the "ignored" message. */
const FIELD_LABELS: Record<Exclude<FilterKey, 'q'>, string> = {
  actor: 'audit.filter_actor',
  action: 'audit.filter_action',
  type: 'audit.filter_type',
  from: 'audit.filter_from',
  to: 'audit.filter_to',
  result: 'audit.filter_result',
};

interface FilterChoices {
  actions: string[];
  objectTypes: string[];
  actors: { id: number; name: string }[];
}

async function loadChoices(c: Context<AppEnv>): Promise<FilterChoices> {
  const [actions, objectTypes, actors] = await Promise.all([auditActions(db(c)), auditObjectTypes(db(c)), auditActorChoices(db(c))]);
  return { actions, objectTypes, actors };
}

/**
 * The filter from the query string. A value that is not one of the choices (an action that never occurred,
 * a result of another kind, a malformed date) is left out and named in `ignored`, never an error. `state`
 * holds the accepted values as typed, for the form and for links that keep the filter.
 */
function readFilter(query: Record<string, string | undefined>, choices: FilterChoices, timeZone: string) {
  const filter: AuditFilter = {};
  const state: Partial<Record<FilterKey, string>> = {};
  const ignored: Exclude<FilterKey, 'q'>[] = [];
  const value = (k: FilterKey) => query[k]?.trim() || undefined;

  // Only letters and digits of the search reach SQL (prefixTsQuery); control characters are not echoed.
  const q = query.q?.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 200);
  if (q) filter.q = state.q = q;

  const actor = value('actor');
  if (actor === 'none') filter.actor = state.actor = 'none';
  else if (actor && /^\d{1,9}$/.test(actor) && choices.actors.some((a) => a.id === Number(actor))) {
    filter.actor = Number(actor);
    state.actor = actor;
  } else if (actor) ignored.push('actor');

  const action = value('action');
  if (action && choices.actions.includes(action)) filter.action = state.action = action;
  else if (action) ignored.push('action');

  const type = value('type');
  if (type && choices.objectTypes.includes(type)) filter.objectType = state.type = type;
  else if (type) ignored.push('type');

  const from = dateParam(value('from'));
  if (from) {
    filter.from = startOfLocalDay(from, timeZone);
    state.from = from;
  } else if (value('from')) ignored.push('from');

  const to = dateParam(value('to'));
  if (to) {
    filter.to = startOfNextLocalDay(to, timeZone);
    state.to = to;
  } else if (value('to')) ignored.push('to');

  const result = value('result');
  if (result && (AUDIT_RESULTS as readonly string[]).includes(result)) filter.result = state.result = result as AuditResult;
  else if (result) ignored.push('result');

  return { filter, state, ignored };
}

/** `?before=<id>`: keyset paging; anything that is not a positive id means the newest page. */
function beforeParam(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,15}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}

/** Choices for the selects, labelled in the user's language (the raw name where no label exists). */
function labelledChoices(c: Context<AppEnv>, choices: FilterChoices) {
  const t = c.get('t');
  const label = (prefix: string, v: string) => {
    const text = t(`${prefix}.${v}`);
    return text === `${prefix}.${v}` ? v : text;
  };
  const collator = new Intl.Collator(c.get('locale'));
  const byLabel = (a: { label: string }, b: { label: string }) => collator.compare(a.label, b.label);
  return {
    actors: choices.actors,
    actions: choices.actions.map((v) => ({ value: v, label: label('action', v) })).sort(byLabel),
    objectTypes: choices.objectTypes.map((v) => ({ value: v, label: label('object', v) })).sort(byLabel),
    results: AUDIT_RESULTS,
  };
}

// Newest first; "older" pages by keyset (?before=<id>), so paging stays fast however long the log is.
auditRoutes.get('/', requirePermission('audit.view'), async (c) => {
  const query = c.req.query();
  const choices = await loadChoices(c);
  const { filter, state, ignored } = readFilter(query, choices, c.get('deps').config.TIMEZONE);
  const before = beforeParam(query.before);
  const rows = await listAudit(db(c), { filter, beforeId: before, limit: PAGE_SIZE + 1 });
  const hasMore = rows.length > PAGE_SIZE;
  const page = rows.slice(0, PAGE_SIZE);
  const t = c.get('t');
  const data = {
    rows: page,
    olderThan: hasMore ? page[page.length - 1]!.id : null,
    isFirst: before === undefined,
    state,
    filtered: Object.keys(state).length > 0,
    ignoredFields: ignored.map((k) => t(FIELD_LABELS[k])).join(', '),
    exportHref: `/audit/export${queryString(state)}`,
  };
  if (isPartial(c)) return render(c, 'audit/_rows.njk', data);
  return render(c, 'audit/index.njk', { ...data, choices: labelledChoices(c, choices), back: c.req.path + (new URL(c.req.url).search || '') });
});

const EXPORT_HEADER = ['at', 'actor', 'action', 'object_type', 'object_id', 'summary', 'result', 'ip', 'request_id'];

// Every matching entry (not one page), streamed in keyset batches. The export itself is logged first, so
// the log shows who took a copy of it and with which filter.
auditRoutes.get('/export', requirePermission('audit.view'), async (c) => {
  const { filter, state } = readFilter(c.req.query(), await loadChoices(c), c.get('deps').config.TIMEZONE);
  const filterText = Object.entries(state).map(([k, v]) => `${k}=${v}`).join(', ');
  await recordAudit(db(c), auditActor(c), {
    action: 'audit.export',
    summary: filterText ? `CSV export, filter: ${filterText}` : 'CSV export, whole log',
    after: { filter: state },
  });
  const database = db(c);
  async function* rows() {
    for await (const r of iterateAudit(database, filter)) {
      yield [r.at, r.actorName ?? (r.actorId == null ? '' : `#${r.actorId}`), r.action, r.objectType, r.objectId, r.summary, r.result, r.ip, r.requestId];
    }
  }
  return csvResponse(`audit-${new Date().toISOString().slice(0, 10)}.csv`, EXPORT_HEADER, rows());
});

// Checking the chain changes nothing: htmx gets the result fragment; without JavaScript the result travels
// as a flash message through a 303 back to the page (and filter) the user came from.
auditRoutes.post('/verify', requirePermission('audit.view'), async (c) => {
  const result = await verifyAuditChain(db(c));
  if (isPartial(c)) return render(c, 'audit/_verify.njk', { result });
  const back = safeNext((await readForm(c)).back);
  const t = c.get('t');
  const count = formatters(c.get('locale'), c.get('deps').config.TIMEZONE).number(result.count);
  if (result.ok) flash(c, 'success', 'audit.verify_ok', { count });
  else flash(c, 'error', 'audit.verify_broken', { id: result.brokenId, reason: t(`audit.reason.${result.reason}`) });
  return redirect(c, back.startsWith('/audit') ? back : '/audit');
});
