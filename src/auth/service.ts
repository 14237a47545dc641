import { eq, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { roles, users } from '../db/schema/index.ts';
import { RuleError } from '../errors.ts';
import { burnPasswordCheck, hashPassword, PASSWORD_MAX, verifyPassword } from './password.ts';
import { ADMIN_ROLE } from './permissions.ts';
import { createSession, deleteUserSessions } from './session.ts';
import { clearLoginFailures, recordLoginFailure, secondsUntilAllowed, throttleKey } from './throttle.ts';

export type LoginResult =
  | { ok: true; token: string; userId: number }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; seconds: number };

interface RequestMeta extends AuditActor {
  userAgent: string | null;
}

/**
 * Signs a user in. Unknown and known e-mails take the same path and the same time (a password hash is
 * verified either way) and get the same answer; failures per typed e-mail bring growing delays.
 */
export async function login(db: Db, input: { email: string; password: string }, meta: RequestMeta): Promise<LoginResult> {
  const key = throttleKey(input.email);
  const shownEmail = /^[^\s@]{1,64}@[^\s@]{1,190}$/.test(key) ? key : '(not an e-mail)';
  const wait = await secondsUntilAllowed(db, key);
  if (wait > 0) {
    await recordAudit(db, meta, {
      action: 'auth.login_failed',
      objectType: 'user',
      summary: `${shownEmail}: throttled`,
      result: 'denied',
    });
    return { ok: false, reason: 'throttled', seconds: wait };
  }
  const password = input.password.slice(0, PASSWORD_MAX + 1);
  const [user] =
    shownEmail === key ? await db.select().from(users).where(eq(users.email, key)).limit(1) : [undefined];
  let ok = false;
  if (user && user.active && input.password.length <= PASSWORD_MAX) ok = await verifyPassword(user.passwordHash, password);
  else await burnPasswordCheck(password);

  if (!ok) {
    const delay = await recordLoginFailure(db, key);
    // Nobody is signed in: the attempt has no actor; the account it aimed at is the object.
    await recordAudit(db, meta, {
      action: 'auth.login_failed',
      objectType: 'user',
      objectId: user?.id,
      summary: `${shownEmail}${user && !user.active ? ': deactivated' : ''}${delay ? `: delay ${delay}s` : ''}`,
      result: 'failed',
    });
    return { ok: false, reason: 'invalid' };
  }
  return db.transaction(async (tx) => {
    await clearLoginFailures(tx, key);
    const session = await createSession(tx, user!.id, meta);
    await recordAudit(tx, { ...meta, actorId: user!.id, actorName: user!.name }, {
      action: 'auth.login',
      objectType: 'user',
      objectId: user!.id,
      summary: user!.email,
    });
    return { ok: true as const, token: session.token, userId: user!.id };
  });
}

/** Thrown by setup when an administrator already exists (a second browser tab, or a race). */
export class AlreadySetUpError extends Error {}

/** Creates the first administrator and signs them in; refuses once any user exists. */
export async function setupFirstAdmin(
  db: Db,
  input: { name: string; email: string; password: string; locale: string },
  meta: RequestMeta,
): Promise<{ token: string; userId: number }> {
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    // Two set-up forms submitted at once: only the first may create the administrator.
    await tx.execute(sql`select pg_advisory_xact_lock(726354002)`);
    const [existing] = await tx.select({ id: users.id }).from(users).limit(1);
    if (existing) throw new AlreadySetUpError();
    const [adminRole] = await tx.select({ id: roles.id }).from(roles).where(eq(roles.key, ADMIN_ROLE));
    const [user] = await tx
      .insert(users)
      .values({ email: input.email, name: input.name, passwordHash, roleId: adminRole!.id, locale: input.locale })
      .returning({ id: users.id });
    const actor = { ...meta, actorId: user!.id, actorName: input.name };
    await recordAudit(tx, actor, {
      action: 'auth.setup',
      objectType: 'user',
      objectId: user!.id,
      summary: input.email,
      after: { name: input.name, email: input.email, role: ADMIN_ROLE },
    });
    const session = await createSession(tx, user!.id, meta);
    await recordAudit(tx, actor, { action: 'auth.login', objectType: 'user', objectId: user!.id, summary: input.email });
    return { token: session.token, userId: user!.id };
  });
}

/** Changes the signed-in user's password after checking the current one; ends their other sessions. */
export async function changeOwnPassword(
  db: Db,
  input: { userId: number; sessionId: string; current: string; next: string },
  actor: AuditActor,
): Promise<void> {
  const [user] = await db.select().from(users).where(eq(users.id, input.userId));
  if (!user || input.current.length > PASSWORD_MAX || !(await verifyPassword(user.passwordHash, input.current))) {
    throw new RuleError('v.password_wrong');
  }
  const passwordHash = await hashPassword(input.next);
  await db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, user.id));
    await deleteUserSessions(tx, user.id, input.sessionId);
    await recordAudit(tx, actor, { action: 'auth.password_changed', objectType: 'user', objectId: user.id, summary: user.email });
  });
}

/** Sets the user's interface language. */
export async function setOwnLocale(db: Db, userId: number, locale: string, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const [before] = await tx.select({ locale: users.locale }).from(users).where(eq(users.id, userId));
    await tx.update(users).set({ locale, updatedAt: new Date() }).where(eq(users.id, userId));
    await recordAudit(tx, actor, {
      action: 'user.locale_changed',
      objectType: 'user',
      objectId: userId,
      summary: `${before?.locale ?? '?'} → ${locale}`,
      before: { locale: before?.locale },
      after: { locale },
    });
  });
}
