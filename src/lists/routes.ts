import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import { optionalText, readForm, readFormAll, requiredText, validate } from '../http/forms.ts';
import { PAGE_SIZE, pageParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { MAX_UPLOAD_BYTES } from './csv-import.ts';
import { getList, getMember, listLists, listMembersPage, searchClients } from './queries.ts';
import {
  addClientsToList,
  createList,
  deleteList,
  ImportFileError,
  importMembers,
  ListFieldError,
  removeListMember,
  updateList,
  type ImportReport,
} from './service.ts';

export const listsRoutes = new Hono<AppEnv>();

const listSchema = z.object({ name: requiredText(200), description: optionalText(1000) });

/** An htmx request for one region of the page (not a boosted navigation, not a history restore). */
const wantsFragment = (c: Context<AppEnv>, target: string) => isPartial(c) && c.req.header('HX-Target') === target;

const db = (c: Context<AppEnv>) => c.get('deps').database.db;

/** The list named by the URL, or a 404 (ids out of int range included). */
async function loadList(c: Context<AppEnv>) {
  const raw = c.req.param('id') ?? '';
  const list = /^\d{1,9}$/.test(raw) ? await getList(db(c), Number(raw)) : undefined;
  if (!list) throw new NotFoundError();
  return list;
}

type ListRow = Awaited<ReturnType<typeof loadList>>;

/** Everything the detail page shows: the members page (filtered by `q`) and, when searching to add, candidates. */
async function detailData(c: Context<AppEnv>, list: ListRow) {
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const find = (c.req.query('find') ?? '').trim().slice(0, 200);
  const page = pageParam(c.req.query('page'));
  const members = await listMembersPage(db(c), { listId: list.id, q: q || undefined, page, pageSize: PAGE_SIZE });
  const canManage = c.get('user')?.permissions.has('lists.manage') ?? false;
  const candidates = canManage && find ? await searchClients(db(c), find, { listId: list.id, limit: 15 }) : [];
  return {
    list,
    ...members,
    page,
    pages: Math.max(1, Math.ceil(members.total / PAGE_SIZE)),
    q,
    find,
    filter: { q, find },
    candidates,
    maxUploadMb: MAX_UPLOAD_BYTES / 1024 / 1024,
  };
}

listsRoutes.get('/', requirePermission('clients.view'), async (c) => {
  const page = pageParam(c.req.query('page'));
  const { rows, total } = await listLists(db(c), { page, pageSize: PAGE_SIZE });
  return render(c, 'lists/index.njk', { rows, total, page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)) });
});

listsRoutes.get('/new', requirePermission('lists.manage'), (c) => render(c, 'lists/form.njk', { values: {}, errors: {}, isNew: true }));

listsRoutes.post('/', requirePermission('lists.manage'), async (c) => {
  const form = await readForm(c);
  const parsed = validate(listSchema, form);
  let errors = parsed.ok ? {} : parsed.errors;
  if (parsed.ok) {
    try {
      const id = await createList(db(c), parsed.data, auditActor(c));
      flash(c, 'success', 'lists.created');
      return redirect(c, `/lists/${id}`);
    } catch (error) {
      if (!(error instanceof ListFieldError)) throw error;
      errors = { [error.field]: { key: error.messageKey, params: {} } };
    }
  }
  return render(c, 'lists/form.njk', { values: form, errors, isNew: true }, 422);
});

listsRoutes.get('/:id{[0-9]+}', requirePermission('clients.view'), async (c) => {
  const list = await loadList(c);
  const data = await detailData(c, list);
  if (wantsFragment(c, 'members')) return render(c, 'lists/_members.njk', data);
  if (wantsFragment(c, 'candidates')) return render(c, 'lists/_candidates.njk', data);
  return render(c, 'lists/detail.njk', data);
});

listsRoutes.get('/:id{[0-9]+}/edit', requirePermission('lists.manage'), async (c) => {
  const list = await loadList(c);
  return render(c, 'lists/form.njk', { values: list, list, errors: {}, isNew: false });
});

listsRoutes.post('/:id{[0-9]+}', requirePermission('lists.manage'), async (c) => {
  const list = await loadList(c);
  const form = await readForm(c);
  const parsed = validate(listSchema, form);
  let errors = parsed.ok ? {} : parsed.errors;
  if (parsed.ok) {
    try {
      await updateList(db(c), list.id, parsed.data, auditActor(c));
      flash(c, 'success', 'lists.updated');
      return redirect(c, `/lists/${list.id}`);
    } catch (error) {
      if (!(error instanceof ListFieldError)) throw error;
      errors = { [error.field]: { key: error.messageKey, params: {} } };
    }
  }
  return render(c, 'lists/form.njk', { values: form, list, errors, isNew: false }, 422);
});

listsRoutes.post('/:id{[0-9]+}/delete', requirePermission('lists.manage'), async (c) => {
  const list = await loadList(c);
  await deleteList(db(c), list.id, auditActor(c));
  flash(c, 'success', 'lists.deleted', { name: list.name });
  return redirect(c, '/lists');
});

// The type-ahead: address-book clients matching `find`, each with an "add" button.
listsRoutes.get('/:id{[0-9]+}/candidates', requirePermission('lists.manage'), async (c) => {
  const list = await loadList(c);
  return render(c, 'lists/_candidates.njk', await detailData(c, list));
});

// Adds one or more clients (`clientId`): inline for htmx (the candidate turns into "added"), else back to the page.
listsRoutes.post('/:id{[0-9]+}/members', requirePermission('lists.manage'), async (c) => {
  const list = await loadList(c);
  const form = await readFormAll(c);
  const ids = (form.clientId ?? []).filter((v) => /^\d{1,9}$/.test(v)).map(Number);
  const result = await addClientsToList(db(c), list.id, ids, auditActor(c));
  const next = safeNext(form.next?.[0] ?? `/lists/${list.id}`);
  if (isPartial(c)) {
    const fresh = await getList(db(c), list.id);
    const members = await listMembersPage(db(c), { listId: list.id, page: 1, pageSize: PAGE_SIZE });
    return render(c, 'lists/_added.njk', {
      result,
      list: fresh,
      ...members,
      page: 1,
      pages: Math.max(1, Math.ceil(members.total / PAGE_SIZE)),
      q: '',
      filter: {},
      name: form.name?.[0] ?? '',
    });
  }
  flash(c, 'success', 'lists.added', { added: result.added, already: result.already });
  return redirect(c, next.startsWith(`/lists/${list.id}`) ? next : `/lists/${list.id}`);
});

listsRoutes.post('/:id{[0-9]+}/members/:clientId{[0-9]+}/remove', requirePermission('lists.manage'), async (c) => {
  const list = await loadList(c);
  const clientId = /^\d{1,9}$/.test(c.req.param('clientId')) ? Number(c.req.param('clientId')) : 0;
  const member = clientId ? await getMember(db(c), list.id, clientId) : undefined;
  if (!member) return c.notFound();
  await removeListMember(db(c), list.id, clientId, auditActor(c));
  const form = await readForm(c);
  if (isPartial(c)) return render(c, 'lists/_removed.njk', { member, list: await getList(db(c), list.id) });
  flash(c, 'success', 'lists.removed', { name: member.name });
  const next = safeNext(form.next ?? '');
  return redirect(c, next.startsWith(`/lists/${list.id}`) ? next : `/lists/${list.id}`);
});

/** The detail page with the outcome of an upload: the report, or why the file could not be read. */
async function importPage(c: Context<AppEnv>, list: ListRow, outcome: { report?: ImportReport; importError?: string }, status: number) {
  const data = await detailData(c, (await getList(db(c), list.id)) ?? list);
  c.header('HX-Push-Url', `/lists/${list.id}`);
  return render(c, 'lists/detail.njk', { ...data, ...outcome }, status);
}

listsRoutes.get('/:id{[0-9]+}/import', requirePermission('clients.view'), async (c) => redirect(c, `/lists/${(await loadList(c)).id}`));

listsRoutes.post(
  '/:id{[0-9]+}/import',
  requirePermission('lists.manage'),
  // The file may be up to 5 MB; the multipart envelope adds a little. Note: the app-wide BODY_LIMIT_KB
  // runs first, so uploads above it are refused there (413) before reaching this limit.
  bodyLimit({
    maxSize: MAX_UPLOAD_BYTES + 64 * 1024,
    onError: async (c) => importPage(c as Context<AppEnv>, await loadList(c as Context<AppEnv>), { importError: 'lists.import.too_large' }, 413),
  }),
  async (c) => {
    const list = await loadList(c);
    let file: unknown;
    try {
      file = (await c.req.parseBody()).file;
    } catch {
      file = undefined; // not a readable multipart form
    }
    try {
      if (!(file instanceof File) || file.size === 0) throw new ImportFileError(file instanceof File ? 'empty' : 'no_file');
      if (file.size > MAX_UPLOAD_BYTES) throw new ImportFileError('too_large');
      const report = await importMembers(db(c), list.id, { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }, auditActor(c));
      return importPage(c, list, { report }, 200);
    } catch (error) {
      if (!(error instanceof ImportFileError)) throw error;
      return importPage(c, list, { importError: error.messageKey }, error.problem === 'too_large' ? 413 : 422);
    }
  },
);
