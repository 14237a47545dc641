import { Hono } from 'hono';
import { z } from 'zod';
import { passwordProblem } from '../auth/password.ts';
import { FieldRuleError, RuleError } from '../errors.ts';
import { emailField, parseErrorKey, readForm, requiredText, validate, type FieldErrors } from '../http/forms.ts';
import { LOCALES } from '../http/i18n/index.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { getUser, listUsers } from './queries.ts';
import { listRoles } from './roles.ts';
import type { Context } from 'hono';
import { createUser, setUserActive, updateUser } from './service.ts';

export const userRoutes = new Hono<AppEnv>();
const PAGE_SIZE = 50;

const userSchema = z.object({
  name: requiredText(200),
  email: emailField(),
  roleId: z.coerce.number({ message: 'v.choice' }).int('v.choice').positive('v.choice'),
  locale: z.enum(LOCALES, { message: 'v.choice' }),
});

/** The role choices for the user form, labelled in the user's language. */
async function roleOptions(c: Context<AppEnv>) {
  const t = c.get('t');
  return (await listRoles(c.get('deps').database.db)).map((r) => ({ value: r.id, key: r.key, label: r.name ?? t(`role.${r.key}`) }));
}

const idParam = (value: string) => (/^\d{1,9}$/.test(value) ? Number(value) : null);

userRoutes.get('/', requirePermission('users.manage'), async (c) => {
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const page = Math.max(1, Math.min(100_000, Number.parseInt(c.req.query('page') ?? '1', 10) || 1));
  const { rows, total } = await listUsers(c.get('deps').database.db, { q: q || undefined, page, pageSize: PAGE_SIZE });
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const data = { rows, total, q, page, pages };
  return render(c, isPartial(c) ? 'users/_rows.njk' : 'users/index.njk', data);
});

userRoutes.get('/new', requirePermission('users.manage'), async (c) => {
  const roles = await roleOptions(c);
  const staff = roles.find((r) => r.key === 'staff');
  return render(c, 'users/form.njk', {
    roles,
    values: { locale: c.get('locale'), roleId: staff?.value },
    errors: {},
    isNew: true,
  });
});

/** Validates the user form; the password is required on create, optional on edit. */
function readUser(form: Record<string, string>, isNew: boolean) {
  const parsed = validate(userSchema, form);
  const errors: FieldErrors = parsed.ok ? {} : { ...parsed.errors };
  const password = form.password ?? '';
  if (isNew || password) {
    const problem = password ? passwordProblem(password, { email: form.email, name: form.name }) : 'v.required';
    if (problem) errors.password = parseErrorKey(problem);
  }
  return { parsed, errors, password: password || null };
}

userRoutes.post('/', requirePermission('users.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const form = await readForm(c);
  const { parsed, errors, password } = readUser(form, true);
  if (parsed.ok && !Object.keys(errors).length) {
    try {
      const id = await createUser(db, { ...parsed.data, password }, auditActor(c));
      flash(c, 'success', 'users.created');
      return redirect(c, `/users/${id}`);
    } catch (error) {
      if (!(error instanceof FieldRuleError)) throw error;
      errors[error.field] = { key: error.messageKey, params: {} };
    }
  }
  const { password: _omit, ...values } = form;
  return render(c, 'users/form.njk', { roles: await roleOptions(c), values, errors, isNew: true }, 422);
});

userRoutes.get('/:id', requirePermission('users.manage'), async (c) => {
  const id = idParam(c.req.param('id'));
  const user = id ? await getUser(c.get('deps').database.db, id) : undefined;
  if (!user) return c.notFound();
  return render(c, 'users/form.njk', {
    roles: await roleOptions(c),
    values: user,
    user_: user,
    errors: {},
    isNew: false,
  });
});

userRoutes.post('/:id', requirePermission('users.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const id = idParam(c.req.param('id'));
  const user = id ? await getUser(db, id) : undefined;
  if (!user) return c.notFound();
  const form = await readForm(c);
  const { parsed, errors, password } = readUser(form, false);
  if (parsed.ok && !Object.keys(errors).length) {
    try {
      await updateUser(db, user.id, { ...parsed.data, password }, auditActor(c));
      flash(c, 'success', 'users.updated');
      return redirect(c, `/users/${user.id}`);
    } catch (error) {
      if (!(error instanceof FieldRuleError)) throw error;
      errors[error.field] = { key: error.messageKey, params: {} };
    }
  }
  const { password: _omit, ...values } = form;
  return render(c, 'users/form.njk', { roles: await roleOptions(c), values, user_: user, errors, isNew: false }, 422);
});

for (const [path, active] of [['deactivate', false], ['activate', true]] as const) {
  userRoutes.post(`/:id/${path}`, requirePermission('users.manage'), async (c) => {
    const db = c.get('deps').database.db;
    const id = idParam(c.req.param('id'));
    const user = id ? await getUser(db, id) : undefined;
    if (!user) return c.notFound();
    try {
      await setUserActive(db, user.id, active, auditActor(c));
      flash(c, 'success', active ? 'users.activated' : 'users.deactivated');
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      flash(c, 'error', error.messageKey);
    }
    return redirect(c, `/users/${user.id}`);
  });
}
