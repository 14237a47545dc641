import { Hono } from 'hono';
import { z } from 'zod';
import { isPermission, permissionGroups, type Permission } from '../auth/permissions.ts';
import { RuleError } from '../errors.ts';
import { optionalText, readForm, readFormAll, requiredText, validate } from '../http/forms.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { createRole, deleteRole, getRole, listRoles, saveRoleMatrix, setRolePermission, updateRole } from './roles.ts';

export const roleRoutes = new Hono<AppEnv>();
const idParam = (value: string) => (/^\d{1,9}$/.test(value) ? Number(value) : null);

const matrixPage = async (c: Parameters<typeof render>[0], extra: Record<string, unknown> = {}, status = 200) =>
  render(c, 'roles/index.njk', { roles: await listRoles(c.get('deps').database.db), groups: permissionGroups(), values: {}, errors: {}, ...extra }, status);

roleRoutes.get('/', requirePermission('users.manage'), (c) => matrixPage(c));

// The whole matrix as one form: how it is saved without JavaScript.
roleRoutes.post('/matrix', requirePermission('users.manage'), async (c) => {
  const form = await readFormAll(c);
  const grants = new Map<number, Set<Permission>>();
  for (const value of form.grant ?? []) {
    const [roleId, permission] = value.split(':');
    if (!roleId || !/^\d+$/.test(roleId) || !permission || !isPermission(permission)) continue;
    const set = grants.get(Number(roleId)) ?? new Set<Permission>();
    set.add(permission);
    grants.set(Number(roleId), set);
  }
  await saveRoleMatrix(c.get('deps').database.db, grants, auditActor(c));
  flash(c, 'success', 'roles.saved');
  return redirect(c, '/roles');
});

// One checkbox, toggled inline by htmx: answers with the cell and a status line.
roleRoutes.post('/:id/permissions/:permission', requirePermission('users.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const id = idParam(c.req.param('id'));
  const permission = c.req.param('permission');
  const role = id ? await getRole(db, id) : undefined;
  if (!role || !isPermission(permission)) return c.notFound();
  // htmx sends the matrix form's ticked boxes; this permission is granted when its box is among them.
  const form = await readFormAll(c);
  const granted = (form.grant ?? []).includes(`${role.id}:${permission}`);
  try {
    await setRolePermission(db, role.id, permission, granted, auditActor(c));
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
  }
  if (c.req.header('HX-Request') !== 'true') return redirect(c, '/roles');
  const t = c.get('t');
  const roleName = role.name ?? t(`role.${role.key}`);
  return render(c, 'roles/_cell.njk', {
    role: { ...role, permissions: new Set(granted ? [permission] : []) },
    permission,
    status: t(granted ? 'roles.toggled_on' : 'roles.toggled_off', { role: roleName, permission: t(`perm.${permission}`) }),
  });
});

const roleSchema = z.object({ name: requiredText(100), description: optionalText(500) });

roleRoutes.post('/', requirePermission('users.manage'), async (c) => {
  const form = await readForm(c);
  const parsed = validate(roleSchema, form);
  if (!parsed.ok) return matrixPage(c, { values: form, errors: parsed.errors }, 422);
  await createRole(c.get('deps').database.db, parsed.data, auditActor(c));
  flash(c, 'success', 'roles.created');
  return redirect(c, '/roles');
});

roleRoutes.get('/:id', requirePermission('users.manage'), async (c) => {
  const id = idParam(c.req.param('id'));
  const role = id ? await getRole(c.get('deps').database.db, id) : undefined;
  if (!role) return c.notFound();
  return render(c, 'roles/form.njk', { role, values: role, errors: {} });
});

roleRoutes.post('/:id', requirePermission('users.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const id = idParam(c.req.param('id'));
  const role = id ? await getRole(db, id) : undefined;
  if (!role) return c.notFound();
  const form = await readForm(c);
  // A built-in role may have its name emptied (back to the translated default).
  const schema = role.key ? z.object({ name: optionalText(100), description: optionalText(500) }) : roleSchema;
  const parsed = validate(schema, form);
  if (!parsed.ok) return render(c, 'roles/form.njk', { role, values: form, errors: parsed.errors }, 422);
  await updateRole(db, role.id, parsed.data, auditActor(c));
  flash(c, 'success', 'roles.updated');
  return redirect(c, '/roles');
});

roleRoutes.post('/:id/delete', requirePermission('users.manage'), async (c) => {
  const db = c.get('deps').database.db;
  const id = idParam(c.req.param('id'));
  const role = id ? await getRole(db, id) : undefined;
  if (!role) return c.notFound();
  try {
    await deleteRole(db, role.id, auditActor(c));
    flash(c, 'success', 'roles.deleted');
    return redirect(c, '/roles');
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    flash(c, 'error', error.messageKey, error.params);
    return redirect(c, `/roles/${role.id}`);
  }
});
