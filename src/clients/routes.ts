import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { csvResponse } from '../http/csv.ts';
import { readForm, readFormAll, validate } from '../http/forms.ts';
import { PAGE_SIZE, pageParam, queryString, sortParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { RuleError } from '../errors.ts';
import { addClientsToList } from '../lists/service.ts';
import { listAllLists } from '../lists/queries.ts';
import { clientFields, clientFormValues, clientSchema, INLINE_FIELDS, inlineEditContext, type InlineField } from './form.ts';
import { clientDetailTab, CLIENT_TABS } from './tabs.ts';
import {
  CLIENT_SORTS,
  getClient,
  iterateClients,
  listClients,
  matchingClientIds,
  topTags,
  type ClientFilter,
} from './queries.ts';
import { addTagToClients, createClient, deleteClient, updateClient, updateClientField } from './service.ts';

export const clientsRoutes = new Hono<AppEnv>();

/** The list filter from the query string (or a bulk form): unknown values are ignored, never an error. */
export function readFilter(source: Record<string, string | undefined>): ClientFilter {
  const pick = <T extends string>(v: string | undefined, allowed: readonly T[]) => (allowed.includes(v as T) ? (v as T) : undefined);
  return {
    q: source.q?.trim().slice(0, 200) || undefined,
    tag: source.tag?.trim().slice(0, 40) || undefined,
    email: pick(source.email, ['yes', 'no'] as const),
    marketing: pick(source.marketing, ['yes', 'no'] as const),
    kind: pick(source.kind, ['person', 'company'] as const),
  };
}

let tagCache: { at: number; tags: Promise<string[]> } | null = null;
/** Tag suggestions change rarely; computing them scans every client, so keep them a minute. */
function cachedTags(c: Context<AppEnv>) {
  if (!tagCache || Date.now() - tagCache.at > 60_000) tagCache = { at: Date.now(), tags: topTags(c.get('deps').database.db) };
  return tagCache.tags;
}

const idParam = (c: Context<AppEnv>) => Number(c.req.param('id'));
const inline = (c: Context<AppEnv>, back: string) =>
  inlineEditContext(c.get('t'), c.get('user')!.permissions.has('clients.manage'), back);

clientsRoutes.get('/', requirePermission('clients.view'), async (c) => {
  const db = c.get('deps').database.db;
  const query = c.req.query();
  const filter = readFilter(query);
  const sort = sortParam(query.sort, CLIENT_SORTS, 'name');
  const page = pageParam(query.page);
  const { rows, total } = await listClients(db, filter, { page, pageSize: PAGE_SIZE, sort: sort.key, dir: sort.dir });
  const state = { ...filter, sort: sort.raw === 'name' ? undefined : sort.raw };
  const data = {
    rows,
    total,
    filter,
    state,
    page,
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    back: `/clients${queryString(state, { page: page > 1 ? page : undefined })}`,
    filtered: Object.values(filter).some(Boolean),
  };
  Object.assign(data, inline(c, data.back));
  if (isPartial(c)) return render(c, 'clients/_rows.njk', data);
  const [tags, lists] = await Promise.all([cachedTags(c), listAllLists(db)]);
  return render(c, 'clients/index.njk', { ...data, tags, lists });
});

clientsRoutes.get('/export', requirePermission('clients.view'), (c) => {
  const filter = readFilter(c.req.query());
  return exportCsv(c, { filter });
});

const EXPORT_HEADER = ['id', 'kind', 'name', 'company_name', 'ico', 'dic', 'email', 'emails', 'phone', 'street', 'city', 'zip', 'country', 'locale', 'tags', 'no_marketing', 'note', 'created_at'];

function exportCsv(c: Context<AppEnv>, scope: { filter: ClientFilter } | { ids: number[] }) {
  const db = c.get('deps').database.db;
  async function* rows() {
    for await (const r of iterateClients(db, scope)) {
      yield [r.id, r.kind, r.name, r.companyName, r.ico, r.dic, r.email, r.emails, r.phone, r.street, r.city, r.zip, r.country, r.locale, r.tags, r.noMarketing ? 1 : 0, r.note, r.createdAt];
    }
  }
  return csvResponse(`clients-${new Date().toISOString().slice(0, 10)}.csv`, EXPORT_HEADER, rows());
}

// Bulk actions over the ticked clients, or over every client matching the filter carried in the form.
clientsRoutes.post('/bulk', requirePermission('clients.view'), async (c) => {
  const db = c.get('deps').database.db;
  const form = await readFormAll(c);
  const one = (k: string) => form[k]?.[0];
  const filter = readFilter({ q: one('q'), tag: one('ftag'), email: one('email'), marketing: one('marketing'), kind: one('kind') });
  const back = safeNext(one('back') ?? '/clients');
  const ids =
    one('scope') === 'all'
      ? await matchingClientIds(db, filter)
      : [...new Set((form.ids ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number))];
  const action = one('action');
  if (action === 'export') return exportCsv(c, one('scope') === 'all' ? { filter } : { ids });
  if (!c.get('user')!.permissions.has(action === 'list' ? 'lists.manage' : 'clients.manage')) {
    return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: 'error.403.text' }, 403);
  }
  if (!ids.length) {
    flash(c, 'error', 'bulk.none_selected');
    return redirect(c, back);
  }
  if (action === 'tag') {
    const tag = (one('tagValue') ?? '').trim().slice(0, 40);
    if (!tag || /[,;\u0000-\u001f]/.test(tag)) {
      flash(c, 'error', 'v.tags');
      return redirect(c, back);
    }
    const { changed, skipped } = await addTagToClients(db, ids, tag, auditActor(c));
    tagCache = null;
    flash(c, 'success', 'bulk.tag_added', { tag, count: changed, skipped });
  } else if (action === 'list') {
    const listId = Number(one('listId'));
    const lists = await listAllLists(db);
    if (!lists.some((l) => l.id === listId)) {
      flash(c, 'error', 'v.choice');
      return redirect(c, back);
    }
    const { added, already } = await addClientsToList(db, listId, ids, auditActor(c));
    flash(c, 'success', 'bulk.list_added', { added, already });
  } else {
    flash(c, 'error', 'v.choice');
  }
  return redirect(c, back);
});

clientsRoutes.get('/new', requirePermission('clients.manage'), (c) =>
  render(c, 'clients/form.njk', { values: { kind: 'company', locale: 'cs', country: 'CZ' }, errors: {}, isNew: true }),
);

clientsRoutes.post('/', requirePermission('clients.manage'), async (c) => {
  const form = await readForm(c);
  const parsed = validate(clientSchema, form);
  if (!parsed.ok) return render(c, 'clients/form.njk', { values: form, errors: parsed.errors, isNew: true }, 422);
  const id = await createClient(c.get('deps').database.db, parsed.data, auditActor(c));
  flash(c, 'success', 'clients.created');
  return redirect(c, `/clients/${id}`);
});

clientsRoutes.get('/:id{[0-9]{1,9}}', requirePermission('clients.view'), async (c) => {
  const db = c.get('deps').database.db;
  const client = await getClient(db, idParam(c));
  if (!client) return c.notFound();
  const tab = (CLIENT_TABS as readonly string[]).includes(c.req.query('tab') ?? '') ? c.req.query('tab')! : 'details';
  const tabData = await clientDetailTab(c, client.id, tab);
  return render(c, 'clients/detail.njk', { client, tab, tabs: CLIENT_TABS, ...tabData, ...inline(c, `/clients/${client.id}`) });
});

clientsRoutes.get('/:id{[0-9]{1,9}}/edit', requirePermission('clients.manage'), async (c) => {
  const client = await getClient(c.get('deps').database.db, idParam(c));
  if (!client) return c.notFound();
  return render(c, 'clients/form.njk', { client, values: clientFormValues(client), errors: {}, isNew: false });
});

clientsRoutes.post('/:id{[0-9]{1,9}}', requirePermission('clients.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const client = await getClient(db, idParam(c));
  if (!client) return c.notFound();
  const form = await readForm(c);
  const parsed = validate(clientSchema, form);
  if (!parsed.ok) return render(c, 'clients/form.njk', { client, values: form, errors: parsed.errors, isNew: false }, 422);
  await updateClient(db, client.id, parsed.data, auditActor(c));
  flash(c, 'success', 'clients.updated');
  return redirect(c, `/clients/${client.id}`);
});

clientsRoutes.post('/:id{[0-9]{1,9}}/delete', requirePermission('clients.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const id = idParam(c);
  try {
    await deleteClient(db, id, auditActor(c));
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    flash(c, 'error', error.messageKey);
    return redirect(c, `/clients/${id}`);
  }
  flash(c, 'success', 'clients.deleted');
  return redirect(c, '/clients');
});

// Inline editing of one field: htmx swaps the cell for a small form and back; without JS the same URL
// is a page with that one field, and saving returns to where the user came from.
const isInlineField = (f: string): f is InlineField => (INLINE_FIELDS as readonly string[]).includes(f);

clientsRoutes.get('/:id{[0-9]{1,9}}/field/:field', requirePermission('clients.view'), async (c) => {
  const field = c.req.param('field');
  const client = await getClient(c.get('deps').database.db, idParam(c));
  if (!client || !isInlineField(field)) return c.notFound();
  const back = safeNext(c.req.query('back') ?? `/clients/${client.id}`);
  const editing = c.req.query('view') !== '1' && c.get('user')!.permissions.has('clients.manage');
  const data = { client, field, value: client[field] ?? '', back, editing, errors: {}, ...inline(c, back) };
  if (isPartial(c)) return render(c, 'clients/_field.njk', data);
  return render(c, 'clients/field.njk', data);
});

clientsRoutes.post('/:id{[0-9]{1,9}}/field/:field', requirePermission('clients.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const field = c.req.param('field');
  const client = await getClient(db, idParam(c));
  if (!client || !isInlineField(field)) return c.notFound();
  const form = await readForm(c);
  const back = safeNext(form.back ?? `/clients/${client.id}`);
  const parsed = validate(z.object({ value: clientFields[field] }), { value: form.value ?? '' });
  if (!parsed.ok) {
    const data = { client, field, value: form.value ?? '', back, editing: true, errors: parsed.errors, ...inline(c, back) };
    return render(c, isPartial(c) ? 'clients/_field.njk' : 'clients/field.njk', data, 422);
  }
  const updated = await updateClientField(db, client.id, field, parsed.data.value as never, auditActor(c));
  if (isPartial(c)) {
    return render(c, 'clients/_field.njk', { client: updated, field, value: updated[field] ?? '', back, editing: false, saved: true, errors: {}, ...inline(c, back) });
  }
  flash(c, 'success', 'clients.inline_saved');
  return redirect(c, back);
});
