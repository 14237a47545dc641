/**
 * What users ask of the sender: send (now or later, in a send mode), send now, reschedule, cancel, retry,
 * resend, mark an uncertain message as sent. Each is one `UPDATE … WHERE status IN (<expected>)` per
 * message with its audit row in the same transaction; a message in another state is skipped and reported,
 * never forced.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { recordMailActivity } from '../activities/mail.ts';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { pgArray, type Db } from '../db/client.ts';
import { messageAttachments, messages, smtpAccounts, type MessageAddress } from '../db/schema/index.ts';
import { NotFoundError, RuleError } from '../errors.ts';
import { messageIdDomain, newMessageId } from '../messages/service.ts';

/** individual: one message per recipient; together: one message to all (optionally all in Bcc). */
export const SEND_MODES = ['individual', 'together', 'desktop'] as const;
export type SendMode = (typeof SEND_MODES)[number];

/** How long temporary failures are retried before a message fails. */
export const GIVE_UP_AFTER_MS = 48 * 3_600_000;

export interface QueueOptions {
  /** When to send; now when missing. */
  sendAt?: Date | null;
  mode: Exclude<SendMode, 'desktop'>;
  /** together: put every To recipient in Bcc, so they do not see each other. */
  bccAll?: boolean;
  notAfter?: Date | null;
  /** The account to send through; the default one when missing. */
  accountId?: number | null;
  now?: Date;
}

/** Result of an action over several messages: which changed, and which were skipped and why. */
export interface BulkResult {
  done: number[];
  skipped: { id: number; status: string }[];
}

const QUEUEABLE = ['draft', 'exported'];

const addressList = (list: MessageAddress[]) => list.map((a) => a.address).join(', ');

/**
 * Queues a draft. `individual` splits it: the first recipient keeps this message (and its Message-ID),
 * every other recipient gets a copy of its own with a fresh Message-ID, the same body and attachments
 * (stored once). `together` splits only as far as the account's recipients-per-message limit requires.
 * Returns the ids of the queued messages.
 */
export async function queueMessage(db: Db, actor: AuditActor, id: number, options: QueueOptions): Promise<number[]> {
  const now = options.now ?? new Date();
  const sendAt = options.sendAt && options.sendAt > now ? options.sendAt : now;
  if (options.notAfter && options.notAfter <= sendAt) throw new RuleError('sending.v.not_after_before_send');
  return db.transaction(async (tx) => {
    const [message] = await tx.select().from(messages).where(eq(messages.id, id)).for('update');
    if (!message) throw new NotFoundError();
    if (!QUEUEABLE.includes(message.status)) throw new RuleError('sending.v.not_draft');
    const everyone = [...message.toAddrs, ...message.ccAddrs, ...message.bccAddrs];
    if (!everyone.length) throw new RuleError('sending.v.no_recipient');
    const account = await resolveAccount(tx, options.accountId ?? message.accountId);
    const accountId = account?.id ?? null;
    // Mail to a client may record a CRM activity (a setting); every copy below is linked to it.
    const mailActivity = await recordMailActivity(tx, actor, message, now);
    const common = {
      ...(mailActivity ? { activityId: mailActivity } : {}),
      status: 'queued',
      sendAt,
      queuedAt: now,
      queuedBy: actor.actorId,
      giveUpAt: new Date(sendAt.getTime() + GIVE_UP_AFTER_MS),
      notAfter: options.notAfter ?? null,
      accountId,
      sendMode: options.mode,
      attemptCount: 0,
      lastResult: null,
      version: sql`${messages.version} + 1`,
    };
    // Who gets which copy: one recipient each (individual), or everyone together in as few messages as
    // the account's recipients-per-message limit allows. Each address keeps its field (To, Cc, Bcc),
    // unless everyone goes in Bcc.
    const individual = options.mode === 'individual';
    const tagged = [
      ...message.toAddrs.map((a) => ({ a, field: options.bccAll ? 'bcc' : 'to' })),
      ...message.ccAddrs.map((a) => ({ a, field: individual ? 'to' : options.bccAll ? 'bcc' : 'cc' })),
      ...message.bccAddrs.map((a) => ({ a, field: individual ? 'to' : 'bcc' })),
    ];
    const perMessage = individual ? 1 : Math.max(1, account?.maxRecipients ?? tagged.length);
    const groups: (typeof tagged)[] = [];
    for (let i = 0; i < tagged.length; i += perMessage) groups.push(tagged.slice(i, i + perMessage));
    const fieldsOf = (group: typeof tagged) => {
      const pick = (field: string) => group.filter((g) => g.field === field).map((g) => g.a);
      const toAddrs = pick('to');
      return { toAddrs, ccAddrs: pick('cc'), bccAddrs: pick('bcc'), recipients: addressList(toAddrs) };
    };
    const ids = [id];
    // The first group keeps this message (and its Message-ID); every other group is a copy with its own.
    await tx.update(messages).set({ ...common, ...fieldsOf(groups[0]!) }).where(eq(messages.id, id));
    if (groups.length > 1) {
      const domain = await messageIdDomain(tx);
      const files = await tx.select().from(messageAttachments).where(eq(messageAttachments.messageId, id));
      const { id: _id, messageIdHeader: _mid, version: _v, ...rest } = message;
      for (const group of groups.slice(1)) {
        const [copy] = await tx
          .insert(messages)
          .values({ ...rest, ...common, version: 1, messageIdHeader: newMessageId(domain), ...fieldsOf(group) })
          .returning({ id: messages.id });
        if (files.length) await tx.insert(messageAttachments).values(files.map(({ id: _f, ...f }) => ({ ...f, messageId: copy!.id })));
        ids.push(copy!.id);
      }
      // Copies are found by the same words as the message they were split from.
      await tx.execute(sql`insert into message_search (message_id, search)
                           select copy, s.search from message_search s, unnest(${pgArray(ids.slice(1))}::int[]) as copy
                            where s.message_id = ${id}`);
    }
    await recordAudit(tx, actor, {
      action: 'message.queue',
      objectType: 'message',
      objectId: id,
      summary: `${message.subject} → ${addressList(everyone)}`.slice(0, 1000),
      after: { sendAt: sendAt.toISOString(), mode: options.mode, bccAll: Boolean(options.bccAll), messages: ids, accountId, notAfter: options.notAfter?.toISOString() ?? null },
    });
    return ids;
  });
}

/** The chosen account (it must exist), else the default one, else none (the test mailbox). */
async function resolveAccount(tx: Db, wanted: number | null | undefined): Promise<{ id: number; maxRecipients: number } | null> {
  const columns = { id: smtpAccounts.id, maxRecipients: smtpAccounts.maxRecipients };
  if (wanted != null) {
    const [account] = await tx.select(columns).from(smtpAccounts).where(eq(smtpAccounts.id, wanted));
    if (!account) throw new RuleError('sending.v.unknown_account');
    return account;
  }
  const [fallback] = await tx.select(columns).from(smtpAccounts).orderBy(sql`${smtpAccounts.isDefault} desc`, smtpAccounts.id).limit(1);
  return fallback ?? null;
}

/**
 * Applies one state transition to several messages: those in `from` change (`set`), the others are
 * skipped with their current state. One audit row per changed message, in the same transaction.
 */
async function transition(
  db: Db,
  actor: AuditActor,
  ids: number[],
  from: string[],
  set: Record<string, unknown>,
  action: string,
  after: Record<string, unknown> = {},
): Promise<BulkResult> {
  if (!ids.length) return { done: [], skipped: [] };
  return db.transaction(async (tx) => {
    const changed = await tx
      .update(messages)
      .set({ ...set, leaseOwner: null, leaseUntil: null, version: sql`${messages.version} + 1` })
      .where(and(inArray(messages.id, ids), inArray(messages.status, from)))
      .returning({ id: messages.id, subject: messages.subject, recipients: messages.recipients, status: messages.status });
    for (const m of changed) {
      await recordAudit(tx, actor, { action, objectType: 'message', objectId: m.id, summary: `${m.subject} → ${m.recipients}`.slice(0, 1000), after: { status: m.status, ...after } });
    }
    const doneIds = new Set(changed.map((m) => m.id));
    const rest = ids.filter((id) => !doneIds.has(id));
    const skipped = rest.length ? await tx.select({ id: messages.id, status: messages.status }).from(messages).where(inArray(messages.id, rest)) : [];
    return { done: [...doneIds].sort((a, b) => a - b), skipped };
  });
}

/** Waiting messages go out at the next round. */
export function sendNow(db: Db, actor: AuditActor, ids: number[], now = new Date()): Promise<BulkResult> {
  return transition(db, actor, ids, ['queued', 'deferred'], { sendAt: now, status: 'queued' }, 'message.send_now');
}

/** Waiting messages get a new send time (their give-up time moves with it). */
export function reschedule(db: Db, actor: AuditActor, ids: number[], at: Date): Promise<BulkResult> {
  return transition(db, actor, ids, ['queued', 'deferred'], { sendAt: at, giveUpAt: new Date(at.getTime() + GIVE_UP_AFTER_MS), status: 'queued' }, 'message.reschedule', { sendAt: at.toISOString() });
}

/** Waiting messages are not sent. */
export function cancel(db: Db, actor: AuditActor, ids: number[]): Promise<BulkResult> {
  return transition(db, actor, ids, ['queued', 'deferred'], { status: 'cancelled' }, 'message.cancel');
}

/** Failed or cancelled messages are queued again, with a fresh give-up time. */
export function retry(db: Db, actor: AuditActor, ids: number[], now = new Date()): Promise<BulkResult> {
  return transition(db, actor, ids, ['failed', 'cancelled'], { status: 'queued', sendAt: now, giveUpAt: new Date(now.getTime() + GIVE_UP_AFTER_MS), queuedAt: now, queuedBy: actor.actorId }, 'message.retry');
}

/**
 * Sends a message again (messages.resend). A sent message gets a new Message-ID, or receivers would
 * discard the copy as a duplicate; a failed or uncertain one keeps its own, so a receiver that did get the
 * uncertain one can recognise the second.
 */
export async function resend(db: Db, actor: AuditActor, id: number, now = new Date()): Promise<BulkResult> {
  const [message] = await db.select({ status: messages.status }).from(messages).where(eq(messages.id, id));
  if (!message) throw new NotFoundError();
  const fresh = message.status === 'sent' ? { messageIdHeader: newMessageId(await messageIdDomain(db)), sentAt: null } : {};
  return transition(
    db,
    actor,
    [id],
    ['sent', 'failed', 'uncertain'],
    { status: 'queued', sendAt: now, giveUpAt: new Date(now.getTime() + GIVE_UP_AFTER_MS), queuedAt: now, queuedBy: actor.actorId, ...fresh },
    'message.resend',
    { previous: message.status },
  );
}

/** A human checked that an uncertain message did arrive. */
export function markSent(db: Db, actor: AuditActor, ids: number[], now = new Date()): Promise<BulkResult> {
  return transition(db, actor, ids, ['uncertain'], { status: 'sent', sentAt: now }, 'message.mark_sent');
}
