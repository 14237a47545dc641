/** Reads for the SMTP account settings: the accounts with their usage, one account, and "is any set up". */
import { asc, desc, eq, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import { smtpAccounts } from '../db/schema/index.ts';

export type AccountRow = typeof smtpAccounts.$inferSelect;

/** An account as pages show it: no sealed password, only whether one is stored. */
export type AccountView = Omit<AccountRow, 'passwordSealed'> & { hasPassword: boolean };

export interface AccountUsage {
  /** Attempts started in the last minute / hour / day (what the sender's limits count). */
  minute: number;
  hour: number;
  day: number;
  /** Messages queued or deferred for this account (those without an account count for the default one). */
  waiting: number;
}

export const toView = ({ passwordSealed, ...rest }: AccountRow): AccountView => ({ ...rest, hasPassword: passwordSealed != null });

/** One account, or undefined. */
export async function getAccount(db: Db, id: number): Promise<AccountRow | undefined> {
  return (await db.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)))[0];
}

/** Every account, the default first, then by name; each with its usage against its limits. */
export async function listAccounts(db: Db, now = new Date()): Promise<(AccountView & { usage: AccountUsage })[]> {
  const accounts = await db.select().from(smtpAccounts).orderBy(desc(smtpAccounts.isDefault), asc(smtpAccounts.name), asc(smtpAccounts.id));
  if (!accounts.length) return [];
  const at = now.toISOString();
  // One pass over the last day of attempts (the (account_id, started_at) index), counted per window.
  const used = rowsOf<{ account_id: number; minute: string | number; hour: string | number; day: string | number }>(
    await db.execute(sql`
      select account_id,
             count(*) filter (where started_at > ${at}::timestamptz - interval '1 minute') as minute,
             count(*) filter (where started_at > ${at}::timestamptz - interval '1 hour') as hour,
             count(*) as day
        from send_attempts
       where account_id is not null and started_at > ${at}::timestamptz - interval '1 day'
       group by account_id`),
  );
  const waiting = rowsOf<{ account_id: number | null; n: string | number }>(
    await db.execute(sql`select account_id, count(*) as n from messages where status in ('queued', 'deferred') group by account_id`),
  );
  const usedBy = new Map(used.map((r) => [r.account_id, r]));
  const waitingBy = new Map(waiting.map((r) => [r.account_id, Number(r.n)]));
  return accounts.map((a) => {
    const u = usedBy.get(a.id);
    return {
      ...toView(a),
      usage: {
        minute: Number(u?.minute ?? 0),
        hour: Number(u?.hour ?? 0),
        day: Number(u?.day ?? 0),
        waiting: (waitingBy.get(a.id) ?? 0) + (a.isDefault ? (waitingBy.get(null) ?? 0) : 0),
      },
    };
  });
}

/** Messages waiting (queued or deferred) for this account itself. */
export async function waitingFor(db: Db, accountId: number): Promise<number> {
  const row = rowsOf<{ n: string | number }>(
    await db.execute(sql`select count(*) as n from messages where status in ('queued', 'deferred') and account_id = ${accountId}`),
  )[0];
  return Number(row?.n ?? 0);
}

const CACHE_MS = 10_000;
// Per database (tests run several apps in one process); cleared by this module's own writes.
const accountsCache = new WeakMap<object, { value: boolean; at: number }>();

/**
 * Whether any SMTP account exists (without one, mail goes to the built-in test mailbox and the layout
 * says so). Cached for 10 s per database, because every page asks; creating or deleting an account
 * here clears the cache at once (another instance's change shows within 10 s).
 */
export async function hasSmtpAccounts(db: Db): Promise<boolean> {
  const cached = accountsCache.get(db);
  if (cached && Date.now() - cached.at < CACHE_MS) return cached.value;
  const value = rowsOf<{ n: boolean }>(await db.execute(sql`select exists (select 1 from smtp_accounts) as n`))[0]?.n === true;
  accountsCache.set(db, { value, at: Date.now() });
  return value;
}

/** Forgets the cached answer of `hasSmtpAccounts` (after an account is created or deleted). */
export function forgetSmtpAccountsCache(db: Db): void {
  accountsCache.delete(db);
}
