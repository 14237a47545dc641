/**
 * How each kind of mail is sent unless the user chooses otherwise (issue: send modes "as defaults, per kind
 * of mail in settings"): mail to a client, about an order, a contract, an activity, and anything else.
 */
import { eq } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';

export const MAIL_KINDS = ['client', 'order', 'contract', 'activity', 'other'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];
export const DEFAULT_MODES = ['individual', 'together', 'bcc'] as const;
export type DefaultMode = (typeof DEFAULT_MODES)[number];
export type SendDefaults = Record<MailKind, DefaultMode>;

const KEY = 'send_mode_defaults';

/** Out of the box: an activity's people get one mail together (they expect to see each other); everything else goes one by one. */
export const BUILT_IN_DEFAULTS: SendDefaults = { client: 'individual', order: 'individual', contract: 'individual', activity: 'together', other: 'individual' };

export async function getSendDefaults(db: Db): Promise<SendDefaults> {
  const [row] = await db.select().from(settings).where(eq(settings.key, KEY));
  const stored = (row?.value ?? {}) as Partial<Record<string, unknown>>;
  const out = { ...BUILT_IN_DEFAULTS };
  for (const kind of MAIL_KINDS) {
    const v = stored[kind];
    if (typeof v === 'string' && (DEFAULT_MODES as readonly string[]).includes(v)) out[kind] = v as DefaultMode;
  }
  return out;
}

/** The kind of a message by what it is linked to (the most specific record wins). */
export function mailKindOf(message: { activityId: number | null; orderId: number | null; contractId: number | null; clientId: number | null }): MailKind {
  if (message.activityId) return 'activity';
  if (message.orderId) return 'order';
  if (message.contractId) return 'contract';
  if (message.clientId) return 'client';
  return 'other';
}

/** Reads the form; unknown values are refused (null). */
export function readSendDefaults(form: Record<string, string>): SendDefaults | null {
  const out = { ...BUILT_IN_DEFAULTS };
  for (const kind of MAIL_KINDS) {
    const v = form[kind];
    if (!v || !(DEFAULT_MODES as readonly string[]).includes(v)) return null;
    out[kind] = v as DefaultMode;
  }
  return out;
}

export async function saveSendDefaults(db: Db, actor: AuditActor, value: SendDefaults): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getSendDefaults(tx);
    await tx
      .insert(settings)
      .values({ key: KEY, value })
      .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: new Date() } });
    await recordAudit(tx, actor, { action: 'settings.send_defaults', objectType: 'settings', objectId: KEY, before, after: value });
  });
}
