/**
 * Mail and CRM activities (issue 7, item 5): whom "send e-mail to" on an activity reaches and in which send
 * mode (settings → how mail is sent, per audience), and the activity of type e-mail that mail to a client
 * records when the setting says so.
 */
import { eq, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import { activities, campaigns, messages, type MessageAddress } from '../db/schema/index.ts';
import { ACTIVITY_AUDIENCES, activityRecipients, type ActivityAudience } from '../messages/queries.ts';
import { activityMailKind, getSendDefaults, type DefaultMode } from '../settings/send-defaults.ts';

const addressSet = (list: readonly MessageAddress[]) => [...new Set(list.map((a) => a.address.trim().toLowerCase()))].sort().join(',');

/**
 * Which of the activity's audiences a message is written to: the first whose addresses are exactly the
 * message's (To, Cc and Bcc together). Null when the user changed the recipients into something else.
 */
export async function activityAudienceOf(db: Db, activityId: number, addresses: readonly MessageAddress[]): Promise<ActivityAudience | null> {
  const wanted = addressSet(addresses);
  if (!wanted) return null;
  for (const audience of ACTIVITY_AUDIENCES) {
    if (addressSet(await activityRecipients(db, activityId, audience)) === wanted) return audience;
  }
  return null;
}

export interface ActivityMailChoice {
  audience: ActivityAudience;
  /** How many addresses it reaches (0: the menu shows it but says nobody). */
  count: number;
  mode: DefaultMode;
}

/** The "send e-mail to" menu of an activity: each audience with how many it reaches and its send mode from settings. */
export async function activityMailChoices(db: Db, activityId: number): Promise<ActivityMailChoice[]> {
  const defaults = await getSendDefaults(db);
  return Promise.all(
    ACTIVITY_AUDIENCES.map(async (audience) => ({
      audience,
      count: (await activityRecipients(db, activityId, audience)).length,
      mode: defaults[activityMailKind(audience)],
    })),
  );
}

/**
 * The send mode a message about an activity starts with: that of the audience it is written to, else the
 * general "mail about an activity" one.
 */
export async function activityMessageMode(db: Db, message: { activityId: number; toAddrs: MessageAddress[]; ccAddrs: MessageAddress[]; bccAddrs: MessageAddress[] }): Promise<DefaultMode> {
  const [defaults, audience] = await Promise.all([
    getSendDefaults(db),
    activityAudienceOf(db, message.activityId, [...message.toAddrs, ...message.ccAddrs, ...message.bccAddrs]),
  ]);
  return defaults[audience ? activityMailKind(audience) : 'activity'];
}

/** What recordMailActivity needs of a message (a row of `messages`, locked by the caller's transaction). */
export interface MailForActivity {
  id: number;
  subject: string;
  clientId: number | null;
  activityId: number | null;
  campaignId: number | null;
  toAddrs: MessageAddress[];
}

/**
 * "Sending mail to a client creates a CRM activity" (a setting): when it is on and the message is to a client
 * and not already about an activity, writes an activity of type e-mail (done, now, linked to the client),
 * links the message to it (messages.activity_id) and logs it — all in the caller's transaction, which is the
 * one that queues the message or hands it to the desktop client. Marketing mail (a campaign over a list)
 * records none: thousands of "newsletter" activities would bury the real ones. Returns the activity's id,
 * or null when none was written.
 */
export async function recordMailActivity(tx: Db, actor: AuditActor, message: MailForActivity, now = new Date()): Promise<number | null> {
  if (!message.clientId || message.activityId) return null;
  if (!(await getSendDefaults(tx)).mailCreatesActivity) return null;
  if (message.campaignId) {
    const [campaign] = await tx.select({ marketing: campaigns.marketing }).from(campaigns).where(eq(campaigns.id, message.campaignId));
    if (campaign?.marketing) return null;
  }
  const subject = (message.subject || '—').slice(0, 200);
  const to = message.toAddrs.map((a) => a.address).join(', ');
  const [row] = await tx
    .insert(activities)
    .values({ type: 'email', subject, at: now, clientId: message.clientId, note: to ? `→ ${to}`.slice(0, 2000) : null, done: true, createdBy: actor.actorId })
    .returning({ id: activities.id });
  await tx.update(messages).set({ activityId: row!.id }).where(eq(messages.id, message.id));
  await recordAudit(tx, actor, {
    action: 'activity.created',
    objectType: 'activity',
    objectId: row!.id,
    summary: subject,
    after: { type: 'email', subject, clientId: message.clientId, messageId: message.id, via: 'mail' },
  });
  return row!.id;
}

/**
 * `recordMailActivity` for every message of a bulk action queued at once (step 5 of a campaign, or of order
 * processing): when the setting is on and the campaign is not marketing, each of the campaign's messages
 * queued at `queuedAt` to a client, not already about an activity, gets its own done activity of type
 * e-mail, is linked to it and the activity is logged — in set-based statements, in the caller's
 * transaction (thousands of messages must not mean thousands of round trips). Returns how many were written.
 */
export async function recordCampaignMailActivities(tx: Db, actor: AuditActor, campaign: { id: number; marketing: boolean }, queuedAt: Date): Promise<number> {
  if (campaign.marketing || !(await getSendDefaults(tx)).mailCreatesActivity) return 0;
  const rows = rowsOf<{ id: number }>(
    await tx.execute(sql`
      with src as (
        select m.id as message_id, m.client_id,
               left(coalesce(nullif(m.subject, ''), '—'), 200) as subject,
               nullif(left('→ ' || coalesce((select string_agg(e->>'address', ', ') from jsonb_array_elements(m.to_addrs) e), ''), 2000), '→ ') as note,
               nextval(pg_get_serial_sequence('activities', 'id'))::int as activity_id
          from messages m
         where m.campaign_id = ${campaign.id} and m.status = 'queued' and m.queued_at = ${queuedAt.toISOString()}::timestamptz
           and m.client_id is not null and m.activity_id is null
         order by m.id),
      made as (
        insert into activities (id, type, subject, at, client_id, note, done, created_by)
        select activity_id, 'email', subject, ${queuedAt.toISOString()}::timestamptz, client_id, note, true, ${actor.actorId}::int from src),
      linked as (
        update messages m set activity_id = src.activity_id from src where m.id = src.message_id)
      insert into audit_log (actor_id, actor_name, action, object_type, object_id, summary, before, after, ip, request_id, result)
      select ${actor.actorId}::int, ${actor.actorName}::text, 'activity.created', 'activity', src.activity_id::text, src.subject, null,
             jsonb_build_object('type', 'email', 'subject', src.subject, 'clientId', src.client_id, 'messageId', src.message_id, 'via', 'mail'),
             ${actor.ip}::text, ${actor.requestId}::text, 'ok'
        from src order by src.message_id
      returning id`),
  );
  return rows.length;
}
