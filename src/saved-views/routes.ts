import { Hono, type Context } from 'hono';
import { NotFoundError, RuleError } from '../errors.ts';
import { readForm } from '../http/forms.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, redirect } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { cleanViewName, deleteView, isViewList, listSavedViews, normaliseViewQuery, saveView, VIEW_LISTS, type ViewList } from './service.ts';

/** /views: save and delete the signed-in user's saved views (each user sees and changes only their own). */
export const savedViewsRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => c.get('deps').database.db;

/** What a list page needs to show the views sidebar: the user's views and the current query to save. */
export async function savedViewsFor(c: Context<AppEnv>, list: ViewList): Promise<{ savedViews: Awaited<ReturnType<typeof listSavedViews>>; viewList: ViewList; viewQuery: string }> {
  const user = c.get('user');
  const viewQuery = normaliseViewQuery(new URL(c.req.url).search);
  return { savedViews: user ? await listSavedViews(db(c), user.id, list) : [], viewList: list, viewQuery };
}

savedViewsRoutes.post('/', async (c) => {
  const user = c.get('user');
  if (!user) throw new NotFoundError();
  const form = await readForm(c);
  const list = form.list;
  if (!isViewList(list) || !user.permissions.has(VIEW_LISTS[list].permission)) throw new NotFoundError();
  const query = form.query ?? '';
  const back = VIEW_LISTS[list].path + (query ? `?${normaliseViewQuery(query)}` : '');
  const name = cleanViewName(form.name ?? '');
  try {
    await saveView(db(c), auditActor(c), user.id, list, name, query);
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    // The typed name travels back with the message, so the field is filled again.
    flash(c, 'error', error.messageKey, { name: name.slice(0, 200) });
    return redirect(c, back);
  }
  flash(c, 'success', 'views.saved', { name });
  return redirect(c, back);
});

savedViewsRoutes.post('/:id{[0-9]+}/delete', async (c) => {
  const user = c.get('user');
  if (!user) throw new NotFoundError();
  const form = await readForm(c);
  const list = await deleteView(db(c), auditActor(c), user.id, Number(c.req.param('id')));
  flash(c, 'success', 'views.deleted');
  const query = normaliseViewQuery(form.query ?? '');
  return redirect(c, VIEW_LISTS[list].path + (query ? `?${query}` : ''));
});
