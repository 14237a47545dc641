import { Hono, type Context } from 'hono';
import { NotFoundError } from '../errors.ts';
import { readForm, readFormAll, type FieldErrors } from '../http/forms.ts';
import { PAGE_SIZE, dateParam, pageParam, queryString, sortParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { communicationTab } from '../messages/queries.ts';
import { searchClients, type ClientHit } from '../lists/queries.ts';
import { first, freeAddressesText, ids, readActivityForm, type RawForm } from './form.ts';
import { activityMailChoices } from './mail.ts';
import {
  ACTIVITY_TYPES,
  PERSON_ROLES,
  clientsById,
  getActivity,
  getPeople,
  getResponsibles,
  listActivities,
  responsibleChoices,
  type ActivityFilter,
  type ActivityType,
} from './queries.ts';
import { createActivity, deleteActivity, setActivityDone, updateActivity } from './service.ts';
import { startOfLocalDay, startOfNextLocalDay, toLocalInput } from './time.ts';

export const activitiesRoutes = new Hono<AppEnv>();

/** The pickers of the form: the activity's client (one) and its people (many). */
const PICKERS = ['client', ...PERSON_ROLES] as const;
type Picker = (typeof PICKERS)[number];
const chosenKey = (p: Picker) => (p === 'client' ? 'clientId' : `${p}Client`);

const db = (c: Context<AppEnv>) => c.get('deps').database.db;
const timeZone = (c: Context<AppEnv>) => c.get('deps').config.TIMEZONE;

/** An htmx request for one region of the page (not a boosted navigation, not a history restore). */
const wantsFragment = (c: Context<AppEnv>, target: string) => isPartial(c) && c.req.header('HX-Target') === target;

async function loadActivity(c: Context<AppEnv>) {
  const raw = c.req.param('id') ?? '';
  const activity = /^\d{1,9}$/.test(raw) ? await getActivity(db(c), Number(raw)) : undefined;
  if (!activity) throw new NotFoundError();
  return activity;
}

// ---- the list ---------------------------------------------------------------------------------

activitiesRoutes.get('/', requirePermission('activities.view'), async (c) => {
  const query = c.req.query();
  const scope = query.scope === 'all' ? 'all' : 'mine';
  const type = (ACTIVITY_TYPES as readonly string[]).includes(query.type ?? '') ? (query.type as ActivityType) : undefined;
  const state = query.state === 'open' || query.state === 'done' ? query.state : undefined;
  const from = dateParam(query.from);
  const to = dateParam(query.to);
  const q = (query.q ?? '').trim().slice(0, 200);
  const sort = sortParam<'at' | 'subject'>(query.sort, ['at', 'subject'], '-at');
  const page = pageParam(query.page);
  const filter: ActivityFilter = {
    scope,
    userId: c.get('user')!.id,
    type,
    state,
    from: from ? startOfLocalDay(from, timeZone(c)) : undefined,
    to: to ? startOfNextLocalDay(to, timeZone(c)) : undefined,
    q: q || undefined,
    sort,
    page,
    pageSize: PAGE_SIZE,
  };
  const { rows, total } = await listActivities(db(c), filter);
  const data = {
    rows,
    total,
    page,
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    types: ACTIVITY_TYPES,
    // What the links keep (paging, sorting); the default sort is left out of URLs.
    filter: { scope, type, state, from, to, q, sort: sort.raw === '-at' ? null : sort.raw },
    sort,
  };
  if (!wantsFragment(c, 'rows')) return render(c, 'activities/index.njk', data);
  // The filter form sends its empty fields too; the address bar gets the tidy URL of the same view.
  c.header('HX-Push-Url', `/activities${queryString(data.filter, { page: page > 1 ? page : null })}`);
  return render(c, 'activities/_rows.njk', data);
});

// ---- the form ---------------------------------------------------------------------------------

/** The form page: what was typed, the chosen clients (with names), the users to choose from, search results. */
async function formPage(
  c: Context<AppEnv>,
  form: RawForm,
  options: { activity?: { id: number; subject: string }; errors?: FieldErrors; results?: Partial<Record<Picker, ClientHit[]>>; already?: number[] },
  status = 200,
) {
  const chosenIds = Object.fromEntries(PICKERS.map((p) => [p, ids(form, chosenKey(p))])) as Record<Picker, number[]>;
  const found = await clientsById(db(c), Object.values(chosenIds).flat());
  const chosen = Object.fromEntries(
    PICKERS.map((p) => [p, chosenIds[p].flatMap((id) => (found.has(id) ? [found.get(id)!] : []))]),
  ) as Record<Picker, { id: number; name: string; email: string | null }[]>;
  if (chosen.client.length > 1) chosen.client = chosen.client.slice(-1);
  const selected = ids(form, 'responsible');
  const users = await responsibleChoices(db(c), [...selected, ...(options.already ?? [])]);
  const values: Record<string, string> = {};
  for (const key of ['type', 'subject', 'at', 'note', 'done', 'participantEmails', 'ccEmails', 'clientQuery', 'participantQuery', 'ccQuery']) {
    values[key] = first(form, key);
  }
  return render(
    c,
    'activities/form.njk',
    {
      isNew: !options.activity,
      activity: options.activity,
      values,
      chosen,
      users,
      selectedUsers: selected.map(String),
      typeOptions: ACTIVITY_TYPES.map((value) => ({ value, label: c.get('t')(`activities.type.${value}`) })),
      results: options.results ?? {},
      errors: options.errors ?? {},
      timeZone: timeZone(c),
    },
    status,
  );
}

/**
 * Searching and picking without JavaScript: the form's "Find" buttons (and Enter in a search box) post the
 * form with `_find`, a found client's "Add" button with `_pick=<picker>:<id>`. The form comes back with
 * the results or the pick, everything typed kept. Null when the post is a real save.
 */
async function searchOrPick(c: Context<AppEnv>, form: RawForm, options: Parameters<typeof formPage>[2]): Promise<Response | null> {
  const find = first(form, '_find');
  const pick = /^(client|participant|cc):(\d{1,9})$/.exec(first(form, '_pick'));
  const queries = PICKERS.filter((p) => first(form, `${p}Query`).trim());
  if (!pick && !find) return null;
  if (!pick && find === 'auto' && !queries.length) return null; // Enter in an ordinary field: save
  if (pick) {
    const key = chosenKey(pick[1] as Picker);
    form[key] = pick[1] === 'client' ? [pick[2]!] : [...(form[key] ?? []), pick[2]!];
  }
  const results: Partial<Record<Picker, ClientHit[]>> = {};
  for (const p of queries) results[p] = await searchClients(db(c), first(form, `${p}Query`), { limit: 10 });
  return formPage(c, form, { ...options, results });
}

/** Rounds now up to the next half hour: the default time of a new activity. */
function nextHalfHour(): Date {
  const step = 30 * 60 * 1000;
  return new Date(Math.ceil(Date.now() / step) * step);
}

activitiesRoutes.get('/new', requirePermission('activities.manage'), async (c) => {
  const client = /^\d{1,9}$/.test(c.req.query('client') ?? '') ? c.req.query('client')! : null;
  const form: RawForm = {
    type: ['call'],
    at: [toLocalInput(nextHalfHour(), timeZone(c))],
    responsible: [String(c.get('user')!.id)],
    clientId: client ? [client] : [],
  };
  return formPage(c, form, {});
});

activitiesRoutes.post('/', requirePermission('activities.manage'), async (c) => {
  const form = await readFormAll(c);
  const searched = await searchOrPick(c, form, {});
  if (searched) return searched;
  const allowed = new Set((await responsibleChoices(db(c))).map((u) => u.id));
  const result = await readActivityForm(db(c), form, { timeZone: timeZone(c), allowedResponsible: allowed });
  if (!result.ok) return formPage(c, form, { errors: result.errors }, 422);
  const id = await createActivity(db(c), result.input, auditActor(c));
  flash(c, 'success', 'activities.created');
  return redirect(c, `/activities/${id}`);
});

// ---- type-ahead fragments -----------------------------------------------------------------------

activitiesRoutes.get('/people', requirePermission('activities.manage'), async (c) => {
  const role = (PICKERS as readonly string[]).includes(c.req.query('role') ?? '') ? (c.req.query('role') as Picker) : 'participant';
  const query = (c.req.query(`${role}Query`) ?? '').trim();
  const results = await searchClients(db(c), query, { limit: 10 });
  return render(c, 'activities/_results.njk', { role, query, hits: results });
});

activitiesRoutes.get('/pick', requirePermission('activities.manage'), async (c) => {
  const pick = /^(client|participant|cc):(\d{1,9})$/.exec(c.req.query('_pick') ?? '');
  const client = pick ? (await clientsById(db(c), [Number(pick[2])])).get(Number(pick[2])) : undefined;
  if (!pick || !client) return c.notFound();
  return render(c, 'activities/_chip.njk', { role: pick[1], person: client, oobClear: pick[1] === 'client' });
});

// ---- one activity -----------------------------------------------------------------------------

activitiesRoutes.get('/:id{[0-9]+}', requirePermission('activities.view'), async (c) => {
  const activity = await loadActivity(c);
  const [responsible, people] = await Promise.all([getResponsibles(db(c), activity.id), getPeople(db(c), activity.id)]);
  const tab = c.req.query('tab') === 'communication' ? 'communication' : 'details';
  const communication =
    tab === 'communication' && c.get('user')!.permissions.has('messages.view') ? await communicationTab(db(c), { activityId: activity.id }) : null;
  const mailChoices = c.get('user')!.permissions.has('messages.create') ? await activityMailChoices(db(c), activity.id) : [];
  return render(c, 'activities/detail.njk', {
    tab,
    communication,
    mailChoices,
    activity,
    responsible,
    participants: people.filter((p) => p.role === 'participant'),
    cc: people.filter((p) => p.role === 'cc'),
  });
});

activitiesRoutes.get('/:id{[0-9]+}/edit', requirePermission('activities.manage'), async (c) => {
  const activity = await loadActivity(c);
  const [responsible, people] = await Promise.all([getResponsibles(db(c), activity.id), getPeople(db(c), activity.id)]);
  const clientsOf = (role: string) => people.filter((p) => p.role === role && p.clientId).map((p) => String(p.clientId));
  const form: RawForm = {
    type: [activity.type],
    subject: [activity.subject],
    at: [toLocalInput(activity.at, timeZone(c))],
    note: [activity.note ?? ''],
    done: activity.done ? ['1'] : [],
    clientId: activity.clientId ? [String(activity.clientId)] : [],
    responsible: responsible.map((u) => String(u.id)),
    participantClient: clientsOf('participant'),
    participantEmails: [freeAddressesText(people.filter((p) => p.role === 'participant'))],
    ccClient: clientsOf('cc'),
    ccEmails: [freeAddressesText(people.filter((p) => p.role === 'cc'))],
  };
  return formPage(c, form, { activity, already: responsible.map((u) => u.id) });
});

activitiesRoutes.post('/:id{[0-9]+}', requirePermission('activities.manage'), async (c) => {
  const activity = await loadActivity(c);
  const already = (await getResponsibles(db(c), activity.id)).map((u) => u.id);
  const form = await readFormAll(c);
  const searched = await searchOrPick(c, form, { activity, already });
  if (searched) return searched;
  const allowed = new Set([...(await responsibleChoices(db(c))).map((u) => u.id), ...already]);
  const result = await readActivityForm(db(c), form, { timeZone: timeZone(c), allowedResponsible: allowed });
  if (!result.ok) return formPage(c, form, { activity, already, errors: result.errors }, 422);
  await updateActivity(db(c), activity.id, result.input, auditActor(c));
  flash(c, 'success', 'activities.updated');
  return redirect(c, `/activities/${activity.id}`);
});

// One button: done ↔ not done. Inline for htmx (the button swaps itself), a plain POST and 303 without.
activitiesRoutes.post('/:id{[0-9]+}/done', requirePermission('activities.manage'), async (c) => {
  const activity = await loadActivity(c);
  const form = await readForm(c);
  const done = form.done === '1';
  await setActivityDone(db(c), activity.id, done, auditActor(c));
  if (isPartial(c)) return render(c, 'activities/_done.njk', { a: { id: activity.id, subject: activity.subject, done }, next: form.next, announce: true });
  flash(c, 'success', done ? 'activities.marked_done' : 'activities.marked_open', { subject: activity.subject });
  const next = safeNext(form.next);
  return redirect(c, next.startsWith('/activities') ? next : `/activities/${activity.id}`);
});

activitiesRoutes.post('/:id{[0-9]+}/delete', requirePermission('activities.manage'), async (c) => {
  const activity = await loadActivity(c);
  await deleteActivity(db(c), activity.id, auditActor(c));
  flash(c, 'success', 'activities.deleted', { subject: activity.subject });
  return redirect(c, '/activities');
});
