import { and, asc, count, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { roles, users } from '../db/schema/index.ts';

export interface UserListParams {
  q?: string;
  page: number;
  pageSize: number;
}

const searchCondition = (q: string | undefined) => {
  if (!q) return undefined;
  const like = `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
  return sql`(unaccent(${users.name}) ilike unaccent(${like}) or ${users.email} ilike ${like})`;
};

/** One page of users with their role, by name; and the total for paging. */
export async function listUsers(db: Db, params: UserListParams) {
  const where = searchCondition(params.q);
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: users.id,
        name: users.name,
        email: users.email,
        active: users.active,
        locale: users.locale,
        createdAt: users.createdAt,
        role: { id: roles.id, key: roles.key, name: roles.name },
      })
      .from(users)
      .innerJoin(roles, eq(roles.id, users.roleId))
      .where(where)
      .orderBy(asc(users.active), asc(users.name), asc(users.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(users).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

export async function getUser(db: Db, id: number) {
  const [row] = await db
    .select({
      id: users.id,
      name: users.name,
      email: users.email,
      active: users.active,
      locale: users.locale,
      roleId: users.roleId,
      roleKey: roles.key,
      createdAt: users.createdAt,
      updatedAt: users.updatedAt,
    })
    .from(users)
    .innerJoin(roles, eq(roles.id, users.roleId))
    .where(eq(users.id, id));
  return row;
}

export async function emailTaken(db: Db, email: string, exceptId?: number): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(exceptId ? and(eq(users.email, email), ne(users.id, exceptId)) : eq(users.email, email))
    .limit(1);
  return !!row;
}

/** Active users holding the admin role, other than `exceptId`. */
export async function countOtherActiveAdmins(db: Db, exceptId: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(users)
    .innerJoin(roles, eq(roles.id, users.roleId))
    .where(and(eq(roles.key, 'admin'), eq(users.active, true), ne(users.id, exceptId)));
  return row?.n ?? 0;
}
