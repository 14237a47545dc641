import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { loginThrottle } from '../db/schema/index.ts';

/** Failures allowed before delays start; then each failure doubles the wait, up to MAX_DELAY_S. */
const FREE_FAILURES = 3;
const MAX_DELAY_S = 15 * 60;

/** The key an attempt is counted under: the e-mail as typed, trimmed and lower-cased (known or not). */
export function throttleKey(email: string): string {
  // Control characters (NUL cannot even be stored in Postgres text) are dropped from the key.
  // eslint-disable-next-line no-control-regex
  return email.replace(/[\u0000-\u001f\u007f]/g, '').trim().toLowerCase().slice(0, 320);
}

/** Seconds until this key may try again; 0 when it may try now. */
export async function secondsUntilAllowed(db: Db, key: string): Promise<number> {
  const [row] = await db.select({ lockedUntil: loginThrottle.lockedUntil }).from(loginThrottle).where(eq(loginThrottle.emailKey, key));
  if (!row?.lockedUntil) return 0;
  return Math.max(0, Math.ceil((row.lockedUntil.getTime() - Date.now()) / 1000));
}

/** Counts a failure; returns the delay (s) now imposed. Counters older than a day start again. */
export async function recordLoginFailure(db: Db, key: string): Promise<number> {
  const [row] = await db
    .insert(loginThrottle)
    .values({ emailKey: key, failures: 1 })
    .onConflictDoUpdate({
      target: loginThrottle.emailKey,
      set: {
        failures: sql`case when ${loginThrottle.lastFailureAt} < now() - interval '1 day' then 1 else ${loginThrottle.failures} + 1 end`,
        lastFailureAt: sql`now()`,
      },
    })
    .returning({ failures: loginThrottle.failures });
  const failures = row?.failures ?? 1;
  if (failures < FREE_FAILURES) return 0;
  const delay = Math.min(2 ** (failures - FREE_FAILURES), MAX_DELAY_S);
  await db
    .update(loginThrottle)
    .set({ lockedUntil: new Date(Date.now() + delay * 1000) })
    .where(eq(loginThrottle.emailKey, key));
  return delay;
}

export async function clearLoginFailures(db: Db, key: string): Promise<void> {
  await db.delete(loginThrottle).where(eq(loginThrottle.emailKey, key));
}
