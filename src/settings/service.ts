/**
 * SMTP account changes: each one and its audit row in one transaction. Passwords are sealed with the
 * store's keys under the purpose `smtp-account:<id>` (what `Sender` opens) and never leave the server:
 * not in a page, not in the audit log (which records only that the password changed).
 */
import { randomUUID } from 'node:crypto';
import { asc, eq, ne, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { smtpAccounts } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import type { MessageAddress } from '../mail/address.ts';
import { buildMime } from '../mail/mime.ts';
import { Transports, type Security, type TransportConfig } from '../sender/transport.ts';
import type { Store } from '../store/store.ts';
import type { AccountInput } from './form.ts';
import { forgetSmtpAccountsCache, getAccount, waitingFor, type AccountRow } from './queries.ts';

/** Serialises changes to the set of accounts, so "exactly one default" holds under concurrent admins. */
const ACCOUNTS_LOCK = 0x736d7470; // 'smtp'

/** The purpose a password is sealed under: the same string `Sender` opens it with. */
export const secretPurpose = (accountId: number) => `smtp-account:${accountId}`;

/** What the audit log keeps of an account: everything but the password (only whether one is set). */
function auditView(a: AccountRow) {
  return {
    name: a.name,
    host: a.host,
    port: a.port,
    security: a.security,
    allowInvalidCert: a.allowInvalidCert,
    username: a.username,
    passwordSet: a.passwordSealed != null,
    fromName: a.fromName,
    fromAddress: a.fromAddress,
    replyTo: a.replyTo,
    perMinute: a.perMinute,
    perHour: a.perHour,
    perDay: a.perDay,
    maxRecipients: a.maxRecipients,
    poolSize: a.poolSize,
    isDefault: a.isDefault,
  };
}

const columns = (input: AccountInput) => ({
  name: input.name,
  host: input.host,
  port: input.port,
  security: input.security,
  allowInvalidCert: input.allowInvalidCert,
  username: input.username,
  fromName: input.fromName,
  fromAddress: input.fromAddress,
  replyTo: input.replyTo,
  perMinute: input.perMinute,
  perHour: input.perHour,
  perDay: input.perDay,
  maxRecipients: input.maxRecipients,
  poolSize: input.poolSize,
});

async function lockAccounts(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${ACCOUNTS_LOCK})`);
}

/** Makes `id` the only default account (inside a transaction holding the accounts lock). */
async function setOnlyDefault(tx: Db, id: number): Promise<void> {
  await tx.update(smtpAccounts).set({ isDefault: sql`${smtpAccounts.id} = ${id}` }).where(sql`${smtpAccounts.isDefault} or ${smtpAccounts.id} = ${id}`);
}

/** Creates an account; the first one, or one marked default, becomes the (only) default. Returns its id. */
export async function createAccount(db: Db, store: Store, input: AccountInput, actor: AuditActor): Promise<number> {
  const id = await db.transaction(async (tx) => {
    await lockAccounts(tx);
    const others = await tx.select({ id: smtpAccounts.id }).from(smtpAccounts).limit(1);
    const [row] = await tx
      .insert(smtpAccounts)
      .values({ ...columns(input), isDefault: false, updatedBy: actor.actorId })
      .returning({ id: smtpAccounts.id });
    const id = row!.id;
    // The purpose names the id, so the password is sealed once the row exists.
    if (input.password != null) {
      await tx.update(smtpAccounts).set({ passwordSealed: await store.sealSecret(secretPurpose(id), input.password) }).where(eq(smtpAccounts.id, id));
    }
    if (input.isDefault || !others.length) await setOnlyDefault(tx, id);
    const saved = (await getAccount(tx, id))!;
    await recordAudit(tx, actor, {
      action: 'account.create',
      objectType: 'smtp_account',
      objectId: id,
      summary: `${saved.name} (${saved.host}:${saved.port})`,
      after: { ...auditView(saved), ...(input.password != null ? { passwordChanged: true } : {}) },
    });
    return id;
  });
  forgetSmtpAccountsCache(db);
  return id;
}

/**
 * Saves an edited account. An empty password keeps the stored one; `removePassword` drops it. `updated_at`
 * moves, so the sender builds a fresh pooled transport with the new settings. The default account stays
 * default (another account becomes default by being marked so).
 */
export async function updateAccount(db: Db, store: Store, id: number, input: AccountInput, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    await lockAccounts(tx);
    const [before] = await tx.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)).for('update');
    if (!before) throw new NotFoundError();
    let passwordSealed = before.passwordSealed;
    if (input.password != null) passwordSealed = await store.sealSecret(secretPurpose(id), input.password);
    else if (input.removePassword) passwordSealed = null;
    const passwordChanged = input.password != null || (input.removePassword && before.passwordSealed != null);
    await tx
      .update(smtpAccounts)
      .set({ ...columns(input), passwordSealed, updatedAt: new Date(), updatedBy: actor.actorId })
      .where(eq(smtpAccounts.id, id));
    if (input.isDefault && !before.isDefault) await setOnlyDefault(tx, id);
    const after = (await getAccount(tx, id))!;
    await recordAudit(tx, actor, {
      action: 'account.update',
      objectType: 'smtp_account',
      objectId: id,
      summary: `${after.name} (${after.host}:${after.port})`,
      before: auditView(before),
      after: { ...auditView(after), ...(passwordChanged ? { passwordChanged: true } : {}) },
    });
  });
}

/**
 * Deletes an account. Its waiting messages lose their account (the foreign key sets it null) and so go
 * through the default account; when the default itself goes, the oldest remaining account becomes default.
 * Returns how many messages were waiting for it and which account is default now.
 */
export async function deleteAccount(db: Db, id: number, actor: AuditActor): Promise<{ waiting: number; newDefault: AccountRow | null }> {
  const result = await db.transaction(async (tx) => {
    await lockAccounts(tx);
    const [before] = await tx.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)).for('update');
    if (!before) throw new NotFoundError();
    const waiting = await waitingFor(tx, id);
    await tx.delete(smtpAccounts).where(eq(smtpAccounts.id, id));
    let newDefault: AccountRow | null = null;
    if (before.isDefault) {
      const [next] = await tx.select().from(smtpAccounts).where(ne(smtpAccounts.id, id)).orderBy(asc(smtpAccounts.createdAt), asc(smtpAccounts.id)).limit(1);
      if (next) {
        await setOnlyDefault(tx, next.id);
        newDefault = { ...next, isDefault: true };
      }
    }
    await recordAudit(tx, actor, {
      action: 'account.delete',
      objectType: 'smtp_account',
      objectId: id,
      summary: `${before.name} (${before.host}:${before.port}); ${waiting} waiting message(s) → ${newDefault?.name ?? (before.isDefault ? 'test mailbox' : 'default account')}`,
      before: auditView(before),
      after: { waitingMoved: waiting, newDefault: newDefault?.name ?? null },
    });
    return { waiting, newDefault };
  });
  forgetSmtpAccountsCache(db);
  return result;
}

/** Makes `id` the default account: messages queued without an account go through it. */
export async function makeDefault(db: Db, id: number, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    await lockAccounts(tx);
    const [account] = await tx.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)).for('update');
    if (!account) throw new NotFoundError();
    if (account.isDefault) return;
    const [previous] = await tx.select({ id: smtpAccounts.id, name: smtpAccounts.name }).from(smtpAccounts).where(eq(smtpAccounts.isDefault, true)).limit(1);
    await setOnlyDefault(tx, id);
    await recordAudit(tx, actor, {
      action: 'account.default',
      objectType: 'smtp_account',
      objectId: id,
      summary: account.name,
      before: { default: previous?.name ?? null },
      after: { default: account.name },
    });
  });
}

/** Resumes a paused account (paused by an admin or after an authentication failure): its messages go again. */
export async function resumeAccount(db: Db, id: number, actor: AuditActor): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [account] = await tx.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)).for('update');
    if (!account) throw new NotFoundError();
    if (!account.pausedAt) return false;
    await tx.update(smtpAccounts).set({ pausedAt: null, pausedReason: null }).where(eq(smtpAccounts.id, id));
    await recordAudit(tx, actor, {
      action: 'account.resume',
      objectType: 'smtp_account',
      objectId: id,
      summary: account.name,
      before: { pausedAt: account.pausedAt.toISOString(), pausedReason: account.pausedReason },
      after: { pausedAt: null },
    });
    return true;
  });
}

export interface TestStep {
  step: 'verify' | 'send';
  ok: boolean;
  /** The server's exact reply (or the network error) as it came. */
  response: string;
  /** True when `response` is what the SMTP server said; false for a network or TLS error. */
  fromServer: boolean;
  code: number | null;
}

export interface TestResult {
  ok: boolean;
  steps: TestStep[];
}

/** Short timeouts: the admin waits for this page, and it must never hang. */
export const TEST_TIMEOUTS = { connection: 10_000, greeting: 10_000, socket: 20_000 } as const;

interface SmtpError {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
}

const failure = (step: TestStep['step'], error: unknown): TestStep => {
  const e = (error ?? {}) as SmtpError;
  // The server's reply when there was one (e.g. "535 5.7.8 Authentication failed"); else the network error.
  const response = e.response?.trim() || [e.code, e.message].filter(Boolean).join(': ') || String(error);
  return { step, ok: false, response: response.slice(0, 2000), code: e.responseCode ?? null, fromServer: Boolean(e.response?.trim()) };
};

/**
 * "Test connection": connects, starts TLS as configured and signs in (nodemailer's verify), then, when
 * `sendTo` is given, sends a small test message to it over a connection of its own. Reports what the
 * server answered at each step; audited as `account.test`. Never throws for an SMTP or network problem.
 */
export async function testAccount(
  db: Db,
  store: Store,
  id: number,
  options: { sendTo?: MessageAddress | null; subject: string; html: string; timeouts?: TransportConfig['timeouts'] },
  actor: AuditActor,
): Promise<TestResult> {
  const account = await getAccount(db, id);
  if (!account) throw new NotFoundError();
  const password = account.passwordSealed ? await store.openSecret(secretPurpose(account.id), account.passwordSealed) : null;
  const config: TransportConfig = {
    key: `test-${account.id}-${randomUUID()}`,
    host: account.host,
    port: account.port,
    security: account.security as Security,
    allowInvalidCert: account.allowInvalidCert,
    username: account.username,
    password,
    poolSize: 1,
    timeouts: options.timeouts ?? TEST_TIMEOUTS,
  };
  const transports = new Transports();
  const steps: TestStep[] = [];
  try {
    await transports.verify(config);
    steps.push({ step: 'verify', ok: true, response: '', code: null, fromServer: false });
  } catch (error) {
    steps.push(failure('verify', error));
  }
  if (steps[0]!.ok && options.sendTo) {
    try {
      const from: MessageAddress = { address: account.fromAddress, ...(account.fromName ? { name: account.fromName } : {}) };
      const domain = account.fromAddress.slice(account.fromAddress.lastIndexOf('@') + 1) || 'posel.invalid';
      const raw = await buildMime({
        messageId: `<${randomUUID()}@${domain}>`,
        from,
        to: [options.sendTo],
        ...(account.replyTo ? { replyTo: { address: account.replyTo } } : {}),
        subject: options.subject,
        html: options.html,
        attachments: [],
      });
      const report = await transports.send(config.key, config, { from: account.fromAddress, to: [options.sendTo.address] }, raw);
      const refused = report.rejected.map((r) => `${r.address}: ${r.response}`).join('; ');
      steps.push({
        step: 'send',
        ok: report.accepted.length > 0,
        response: (report.response || refused).slice(0, 2000),
        code: Number(/^\d{3}/.exec(report.response)?.[0]) || null,
        fromServer: true,
      });
    } catch (error) {
      steps.push(failure('send', error));
    } finally {
      transports.closeAll();
    }
  }
  const result: TestResult = { ok: steps.every((s) => s.ok), steps };
  await recordAudit(db, actor, {
    action: 'account.test',
    objectType: 'smtp_account',
    objectId: account.id,
    summary: `${account.name} (${account.host}:${account.port}): ${steps.map((s) => `${s.step} ${s.ok ? 'ok' : 'failed'}${s.response ? ` — ${s.response}` : ''}`).join('; ')}`.slice(0, 1000),
    after: { steps: steps.map((s) => ({ step: s.step, ok: s.ok, code: s.code, response: s.response.slice(0, 500) })), sentTo: options.sendTo?.address ?? null },
    result: result.ok ? 'ok' : 'failed',
  });
  return result;
}
