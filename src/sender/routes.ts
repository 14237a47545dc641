import { Hono, type Context } from 'hono';
import { parseLocalDateTime } from '../activities/time.ts';
import { RuleError } from '../errors.ts';
import { readFormAll } from '../http/forms.ts';
import { PAGE_SIZE, pageParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { accountUsage, listOutbox, OUTBOX_STATUSES, outboxCounts, outboxIds, type OutboxFilter, type OutboxStatus } from './outbox.ts';
import { cancel, markSent, reschedule, retry, sendNow, type BulkResult } from './queue.ts';

/** /outbox: "Sending e-mails" — waiting, uncertain and failed messages, bulk actions, account usage. */
export const outboxRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => c.get('deps').database.db;

/** The filter from the query (or a form); values of another type are ignored and reported. */
function readFilter(get: (k: string) => string | undefined): { filter: OutboxFilter; ignored: boolean } {
  const filter: OutboxFilter = {};
  let ignored = false;
  const status = get('status');
  if (status) {
    if ((OUTBOX_STATUSES as readonly string[]).includes(status)) filter.status = status as OutboxStatus;
    else ignored = true;
  }
  const account = get('account');
  if (account) {
    if (/^\d{1,9}$/.test(account)) filter.account = Number(account);
    else ignored = true;
  }
  return { filter, ignored };
}

function startOfToday(timeZone: string): Date {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  return parseLocalDateTime(`${day}T00:00`, timeZone) ?? new Date();
}

async function countersData(c: Context<AppEnv>) {
  const counts = await outboxCounts(db(c), startOfToday(c.get('deps').config.TIMEZONE));
  // Poll only while something is on its way; an idle outbox stops asking.
  return { counts, active: counts.queued + counts.sending + counts.deferred > 0 };
}

outboxRoutes.get('/', requirePermission('messages.view'), async (c) => {
  const { filter, ignored } = readFilter((k) => c.req.query(k));
  const page = pageParam(c.req.query('page'));
  const { rows, total } = await listOutbox(db(c), filter, page, PAGE_SIZE);
  const data = {
    rows,
    total,
    page,
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    filter,
    ignored,
    statuses: OUTBOX_STATUSES,
    accounts: await accountUsage(db(c), new Date()),
    ...(await countersData(c)),
    back: c.req.path + (new URL(c.req.url).search || ''),
  };
  if (isPartial(c) && c.req.header('HX-Target') === 'outbox-rows') return render(c, 'outbox/_rows.njk', data);
  return render(c, 'outbox/index.njk', data);
});

outboxRoutes.get('/counters', requirePermission('messages.view'), async (c) => render(c, 'outbox/_counters.njk', await countersData(c)));

const ACTIONS = {
  send_now: { permission: 'messages.send', run: sendNow },
  cancel: { permission: 'messages.send', run: cancel },
  retry: { permission: 'messages.send', run: retry },
  mark_sent: { permission: 'messages.send', run: markSent },
  reschedule: { permission: 'messages.send', run: null },
} as const;

outboxRoutes.post('/action', requirePermission('messages.send'), async (c) => {
  const form = await readFormAll(c);
  const one = (k: string) => form[k]?.[0];
  const back = safeNext(one('back') ?? '/outbox');
  const action = one('action') ?? '';
  if (!(action in ACTIONS)) {
    flash(c, 'error', 'outbox.v.action');
    return redirect(c, back);
  }
  let ids: number[];
  if (one('scope') === 'all') {
    ids = await outboxIds(db(c), readFilter(one).filter);
  } else {
    ids = (form.ids ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number);
  }
  if (!ids.length) {
    flash(c, 'error', 'outbox.v.none_selected');
    return redirect(c, back);
  }
  const actor = auditActor(c);
  let result: BulkResult;
  try {
    if (action === 'reschedule') {
      const at = parseLocalDateTime(one('at') ?? '', c.get('deps').config.TIMEZONE);
      if (!at || at.getTime() < Date.now() - 60_000) {
        flash(c, 'error', 'outbox.v.at');
        return redirect(c, back);
      }
      result = await reschedule(db(c), actor, ids, at);
    } else {
      result = await ACTIONS[action as Exclude<keyof typeof ACTIONS, 'reschedule'>].run(db(c), actor, ids);
    }
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    flash(c, 'error', error.messageKey);
    return redirect(c, back);
  }
  if (action === 'send_now' || action === 'retry') c.get('deps').sender?.wake();
  const t = c.get('t');
  const reasons = [...new Set(result.skipped.map((s) => t(`messages.status.${s.status}`)))].join(', ');
  flash(c, result.done.length ? 'success' : 'error', result.skipped.length ? 'outbox.done_skipped' : 'outbox.done', {
    action: t(`outbox.action.${action}`),
    done: result.done.length,
    skipped: result.skipped.length,
    reasons,
  });
  return redirect(c, back);
});
