import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { decodeHex, encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { and, eq, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { roles, sessions, users } from '../db/schema/index.ts';
import { ADMIN_ROLE, isPermission, PERMISSIONS, type Permission } from './permissions.ts';

/** The signed-in user as every request sees it. */
export interface SessionUser {
  id: number;
  name: string;
  email: string;
  locale: string;
  roleId: number;
  roleKey: string | null;
  roleName: string | null;
  permissions: ReadonlySet<Permission>;
}

export interface SessionPolicy {
  idleMs: number;
  maxAgeMs: number;
}

/** How often last_seen_at is refreshed: a write per request would be wasteful. */
const TOUCH_AFTER_MS = 60_000;

function randomString(bytes: number): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

function hashSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret));
}

/** Creates a session and returns its token `id.secret` (the secret is never stored). */
export async function createSession(
  db: Db,
  userId: number,
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ id: string; token: string }> {
  const id = randomString(15);
  const secret = randomString(20);
  await db.insert(sessions).values({
    id,
    secretHash: encodeHexLowerCase(hashSecret(secret)),
    userId,
    ip: meta.ip,
    userAgent: meta.userAgent?.slice(0, 300) ?? null,
  });
  return { id, token: `${id}.${secret}` };
}

/**
 * Checks a token and returns the session's user, or null for a malformed, unknown, tampered, idle,
 * expired or deactivated one (and deletes such a session).
 */
export async function validateSessionToken(
  db: Db,
  token: string,
  policy: SessionPolicy,
): Promise<{ sessionId: string; user: SessionUser } | null> {
  const parts = token.split('.');
  if (parts.length !== 2 || !/^[a-z2-7]{24}$/.test(parts[0]!) || !/^[a-z2-7]{32}$/.test(parts[1]!)) return null;
  const [id, secret] = parts as [string, string];
  const [row] = await db
    .select({
      secretHash: sessions.secretHash,
      createdAt: sessions.createdAt,
      lastSeenAt: sessions.lastSeenAt,
      userId: users.id,
      name: users.name,
      email: users.email,
      locale: users.locale,
      active: users.active,
      roleId: roles.id,
      roleKey: roles.key,
      roleName: roles.name,
      permissions: sql<string[]>`array(select permission from role_permissions rp where rp.role_id = ${roles.id})`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(roles, eq(roles.id, users.roleId))
    .where(eq(sessions.id, id));
  if (!row) return null;
  const now = Date.now();
  const valid =
    constantTimeEqual(hashSecret(secret), decodeHex(row.secretHash)) &&
    row.active &&
    now - row.lastSeenAt.getTime() < policy.idleMs &&
    now - row.createdAt.getTime() < policy.maxAgeMs;
  if (!valid) {
    await db.delete(sessions).where(eq(sessions.id, id));
    return null;
  }
  if (now - row.lastSeenAt.getTime() > TOUCH_AFTER_MS) {
    await db.update(sessions).set({ lastSeenAt: new Date(now) }).where(eq(sessions.id, id));
  }
  const permissions = new Set<Permission>(
    row.roleKey === ADMIN_ROLE ? PERMISSIONS : (row.permissions ?? []).filter(isPermission),
  );
  return {
    sessionId: id,
    user: {
      id: row.userId,
      name: row.name,
      email: row.email,
      locale: row.locale,
      roleId: row.roleId,
      roleKey: row.roleKey,
      roleName: row.roleName,
      permissions,
    },
  };
}

export async function deleteSession(db: Db, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
}

/** Ends every session of a user, except `keepSessionId` when given. */
export async function deleteUserSessions(db: Db, userId: number, keepSessionId?: string): Promise<void> {
  await db
    .delete(sessions)
    .where(keepSessionId ? and(eq(sessions.userId, userId), ne(sessions.id, keepSessionId)) : eq(sessions.userId, userId));
}

/** Removes sessions past their idle or absolute limit (run now and then; validation checks anyway). */
export async function sweepSessions(db: Db, policy: SessionPolicy): Promise<void> {
  const now = Date.now();
  await db
    .delete(sessions)
    .where(
      or(lt(sessions.lastSeenAt, new Date(now - policy.idleMs)), lt(sessions.createdAt, new Date(now - policy.maxAgeMs))),
    );
}
