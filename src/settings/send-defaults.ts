/**
 * How each kind of mail is sent unless the user chooses otherwise (issue: send modes "as defaults, per kind
 * of mail in settings"): mail to a client, about an order, a contract, an activity (per audience: its
 * contact, participants, responsible users, people kept informed, participants and responsible together),
 * and anything else. Also kept here: whether mail to a client records a CRM activity of type e-mail.
 */
import { eq } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';

/** E-mail from an activity's page, per audience (the composer's `?to=`; see ACTIVITY_AUDIENCES in messages/queries.ts). */
export const ACTIVITY_MAIL_KINDS = [
  'activity_contact',
  'activity_participants',
  'activity_responsible',
  'activity_informed',
  'activity_participants_responsible',
] as const;
export const MAIL_KINDS = ['client', 'order', 'contract', ...ACTIVITY_MAIL_KINDS, 'activity', 'other'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];
/** `desktop`: the message page offers "open in my mail program" first (the user sends it from Outlook & co.). */
export const DEFAULT_MODES = ['individual', 'together', 'bcc', 'desktop'] as const;
export type DefaultMode = (typeof DEFAULT_MODES)[number];
export type SendDefaults = Record<MailKind, DefaultMode> & {
  /** Sending (or handing to the desktop client) a message to a client records an activity of type e-mail. */
  mailCreatesActivity: boolean;
};

const KEY = 'send_mode_defaults';

/**
 * Out of the box: an activity's people get one mail together (they expect to see each other), its contact
 * (the client) one of their own; everything else goes one by one. Mail does not create activities.
 */
export const BUILT_IN_DEFAULTS: SendDefaults = {
  client: 'individual',
  order: 'individual',
  contract: 'individual',
  activity_contact: 'individual',
  activity_participants: 'together',
  activity_responsible: 'together',
  activity_informed: 'together',
  activity_participants_responsible: 'together',
  activity: 'together',
  other: 'individual',
  mailCreatesActivity: false,
};

/** Kinds a settings form from before the activity audiences may leave out (they keep the built-in default). */
const OPTIONAL_KINDS: readonly MailKind[] = ACTIVITY_MAIL_KINDS;

const isMode = (v: unknown): v is DefaultMode => typeof v === 'string' && (DEFAULT_MODES as readonly string[]).includes(v);

export async function getSendDefaults(db: Db): Promise<SendDefaults> {
  const [row] = await db.select().from(settings).where(eq(settings.key, KEY));
  const stored = (row?.value ?? {}) as Partial<Record<string, unknown>>;
  const out = { ...BUILT_IN_DEFAULTS };
  for (const kind of MAIL_KINDS) {
    const v = stored[kind];
    if (isMode(v)) out[kind] = v;
  }
  out.mailCreatesActivity = stored.mailCreatesActivity === true;
  return out;
}

/** Whether mail to a client records a CRM activity (one settings row read). */
export async function mailCreatesActivity(db: Db): Promise<boolean> {
  return (await getSendDefaults(db)).mailCreatesActivity;
}

/** The settings kind of e-mail written from an activity's page to `audience` (contact, participants…). */
export const activityMailKind = (audience: string): MailKind => {
  const kind = `activity_${audience}`;
  return (ACTIVITY_MAIL_KINDS as readonly string[]).includes(kind) ? (kind as MailKind) : 'activity';
};

/** The kind of a message by what it is linked to (the most specific record wins). */
export function mailKindOf(message: { activityId: number | null; orderId: number | null; contractId: number | null; clientId: number | null }): MailKind {
  if (message.activityId) return 'activity';
  if (message.orderId) return 'order';
  if (message.contractId) return 'contract';
  if (message.clientId) return 'client';
  return 'other';
}

/** Reads the form; unknown values are refused (null). The checkbox `mailCreatesActivity` is "1" when ticked. */
export function readSendDefaults(form: Record<string, string>): SendDefaults | null {
  const out = { ...BUILT_IN_DEFAULTS };
  for (const kind of MAIL_KINDS) {
    const v = form[kind];
    if (v === undefined && OPTIONAL_KINDS.includes(kind)) continue;
    if (!isMode(v)) return null;
    out[kind] = v;
  }
  out.mailCreatesActivity = form.mailCreatesActivity === '1';
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
