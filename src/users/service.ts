import { eq, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { hashPassword } from '../auth/password.ts';
import { ADMIN_ROLE } from '../auth/permissions.ts';
import { deleteUserSessions } from '../auth/session.ts';
import type { Db } from '../db/client.ts';
import { roles, users } from '../db/schema/index.ts';
import { FieldRuleError, NotFoundError, RuleError } from '../errors.ts';
import { countOtherActiveAdmins, emailTaken, getUser } from './queries.ts';

export interface UserInput {
  name: string;
  email: string;
  roleId: number;
  locale: string;
  /** Set on create; on update only when the admin sets a new one. */
  password: string | null;
}

// Serialises changes that could remove the last administrator.
const lockAdmins = (tx: Db) => tx.execute(sql`select pg_advisory_xact_lock(726354003)`);

async function roleExists(tx: Db, roleId: number) {
  const [role] = await tx.select({ id: roles.id, key: roles.key }).from(roles).where(eq(roles.id, roleId));
  if (!role) throw new FieldRuleError('roleId', 'v.choice');
  return role;
}

export async function createUser(db: Db, input: UserInput, actor: AuditActor): Promise<number> {
  const passwordHash = await hashPassword(input.password!);
  return db.transaction(async (tx) => {
    const role = await roleExists(tx, input.roleId);
    if (await emailTaken(tx, input.email)) throw new FieldRuleError('email', 'v.email_taken');
    const [row] = await tx
      .insert(users)
      .values({ name: input.name, email: input.email, roleId: input.roleId, locale: input.locale, passwordHash })
      .returning({ id: users.id });
    await recordAudit(tx, actor, {
      action: 'user.created',
      objectType: 'user',
      objectId: row!.id,
      summary: input.email,
      after: { name: input.name, email: input.email, role: role.key ?? role.id, locale: input.locale },
    });
    return row!.id;
  });
}

/** Saves an admin's edit of a user. The last active administrator keeps the admin role. */
export async function updateUser(db: Db, id: number, input: UserInput, actor: AuditActor): Promise<void> {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  await db.transaction(async (tx) => {
    await lockAdmins(tx);
    const before = await getUser(tx, id);
    if (!before) throw new NotFoundError();
    const role = await roleExists(tx, input.roleId);
    if (await emailTaken(tx, input.email, id)) throw new FieldRuleError('email', 'v.email_taken');
    if (before.roleKey === ADMIN_ROLE && role.key !== ADMIN_ROLE && before.active && (await countOtherActiveAdmins(tx, id)) === 0) {
      throw new FieldRuleError('roleId', 'users.last_admin');
    }
    await tx
      .update(users)
      .set({
        name: input.name,
        email: input.email,
        roleId: input.roleId,
        locale: input.locale,
        updatedAt: new Date(),
        ...(passwordHash ? { passwordHash } : {}),
      })
      .where(eq(users.id, id));
    if (passwordHash) await deleteUserSessions(tx, id);
    await recordAudit(tx, actor, {
      action: 'user.updated',
      objectType: 'user',
      objectId: id,
      summary: input.email,
      before: { name: before.name, email: before.email, role: before.roleKey ?? before.roleId, locale: before.locale },
      after: {
        name: input.name,
        email: input.email,
        role: role.key ?? role.id,
        locale: input.locale,
        ...(passwordHash ? { password: 'changed' } : {}),
      },
    });
  });
}

/** Deactivates (ending every session at once) or reactivates a user. */
export async function setUserActive(db: Db, id: number, active: boolean, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    await lockAdmins(tx);
    const user = await getUser(tx, id);
    if (!user) throw new NotFoundError();
    if (user.active === active) return;
    if (!active && user.roleKey === ADMIN_ROLE && (await countOtherActiveAdmins(tx, id)) === 0) {
      throw new RuleError('users.last_admin');
    }
    await tx.update(users).set({ active, updatedAt: new Date() }).where(eq(users.id, id));
    if (!active) await deleteUserSessions(tx, id);
    await recordAudit(tx, actor, {
      action: active ? 'user.activated' : 'user.deactivated',
      objectType: 'user',
      objectId: id,
      summary: user.email,
      before: { active: user.active },
      after: { active },
    });
  });
}
