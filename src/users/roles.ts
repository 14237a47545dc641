import { and, asc, count, eq, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { ADMIN_ROLE, BUILT_IN_ROLES, isPermission, type Permission } from '../auth/permissions.ts';
import type { Db } from '../db/client.ts';
import { rolePermissions, roles, users } from '../db/schema/index.ts';
import { NotFoundError, RuleError } from '../errors.ts';

export interface RoleRow {
  id: number;
  key: string | null;
  name: string | null;
  description: string | null;
  userCount: number;
  permissions: Set<Permission>;
}

/** Every role with its permissions and number of users; built-in roles first, in their fixed order. */
export async function listRoles(db: Db): Promise<RoleRow[]> {
  const rows = await db
    .select({
      id: roles.id,
      key: roles.key,
      name: roles.name,
      description: roles.description,
      userCount: sql<number>`(select count(*)::int from users u where u.role_id = ${roles.id})`,
      permissions: sql<string[]>`array(select permission from role_permissions rp where rp.role_id = ${roles.id})`,
    })
    .from(roles)
    .orderBy(asc(roles.id));
  const rank = (key: string | null) => {
    const i = BUILT_IN_ROLES.indexOf(key as (typeof BUILT_IN_ROLES)[number]);
    return i === -1 ? BUILT_IN_ROLES.length : i;
  };
  return rows
    .map((r) => ({ ...r, userCount: Number(r.userCount), permissions: new Set((r.permissions ?? []).filter(isPermission)) }))
    .sort((a, b) => rank(a.key) - rank(b.key) || a.id - b.id);
}

export async function getRole(db: Db, id: number) {
  const [role] = await db.select().from(roles).where(eq(roles.id, id));
  return role;
}

const roleLabel = (role: { key: string | null; name: string | null; id: number }) => role.name ?? role.key ?? `#${role.id}`;

/** Grants or revokes one permission; returns whether anything changed. The admin role is fixed. */
export async function setRolePermission(
  db: Db,
  roleId: number,
  permission: Permission,
  granted: boolean,
  actor: AuditActor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const role = await getRole(tx, roleId);
    if (!role) throw new NotFoundError();
    if (role.key === ADMIN_ROLE) throw new RuleError('roles.admin_all');
    const changed = granted
      ? await tx.insert(rolePermissions).values({ roleId, permission }).onConflictDoNothing().returning()
      : await tx
          .delete(rolePermissions)
          .where(and(eq(rolePermissions.roleId, roleId), eq(rolePermissions.permission, permission)))
          .returning();
    if (changed.length === 0) return false;
    await recordAudit(tx, actor, {
      action: granted ? 'role.permission_granted' : 'role.permission_revoked',
      objectType: 'role',
      objectId: roleId,
      summary: `${roleLabel(role)}: ${permission}`,
      after: { permission, granted },
    });
    return true;
  });
}

/** Saves the whole matrix at once (the form without JavaScript): one audit row per change. */
export async function saveRoleMatrix(db: Db, grants: Map<number, Set<Permission>>, actor: AuditActor): Promise<number> {
  return db.transaction(async (tx) => {
    let changes = 0;
    for (const role of await listRoles(tx)) {
      if (role.key === ADMIN_ROLE) continue;
      const wanted = grants.get(role.id) ?? new Set<Permission>();
      const add = [...wanted].filter((p) => !role.permissions.has(p));
      const remove = [...role.permissions].filter((p) => !wanted.has(p));
      for (const permission of add) await tx.insert(rolePermissions).values({ roleId: role.id, permission });
      for (const permission of remove) {
        await tx
          .delete(rolePermissions)
          .where(and(eq(rolePermissions.roleId, role.id), eq(rolePermissions.permission, permission)));
      }
      for (const [permission, granted] of [...add.map((p) => [p, true] as const), ...remove.map((p) => [p, false] as const)]) {
        await recordAudit(tx, actor, {
          action: granted ? 'role.permission_granted' : 'role.permission_revoked',
          objectType: 'role',
          objectId: role.id,
          summary: `${roleLabel(role)}: ${permission}`,
          after: { permission, granted },
        });
        changes++;
      }
    }
    return changes;
  });
}

export async function createRole(db: Db, input: { name: string; description: string | null }, actor: AuditActor) {
  return db.transaction(async (tx) => {
    const [role] = await tx.insert(roles).values(input).returning({ id: roles.id });
    await recordAudit(tx, actor, { action: 'role.created', objectType: 'role', objectId: role!.id, summary: input.name, after: input });
    return role!.id;
  });
}

export async function updateRole(db: Db, id: number, input: { name: string | null; description: string | null }, actor: AuditActor) {
  await db.transaction(async (tx) => {
    const before = await getRole(tx, id);
    if (!before) throw new NotFoundError();
    if (!before.key && !input.name) throw new RuleError('v.required');
    await tx.update(roles).set(input).where(eq(roles.id, id));
    await recordAudit(tx, actor, {
      action: 'role.updated',
      objectType: 'role',
      objectId: id,
      summary: input.name ?? before.key ?? '',
      before: { name: before.name, description: before.description },
      after: input,
    });
  });
}

/** Deletes a role no user holds; built-in roles stay. */
export async function deleteRole(db: Db, id: number, actor: AuditActor) {
  await db.transaction(async (tx) => {
    const role = await getRole(tx, id);
    if (!role) throw new NotFoundError();
    if (role.key) throw new RuleError('roles.builtin_delete');
    const [holders] = await tx.select({ n: count() }).from(users).where(eq(users.roleId, id));
    if ((holders?.n ?? 0) > 0) throw new RuleError('roles.in_use', { count: holders!.n });
    await tx.delete(roles).where(eq(roles.id, id));
    await recordAudit(tx, actor, { action: 'role.deleted', objectType: 'role', objectId: id, summary: role.name ?? '', before: role });
  });
}
