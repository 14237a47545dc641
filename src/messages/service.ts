/**
 * Drafts: create, edit, delete, export. The body goes to the store before the transaction (a blob without
 * a row is swept later; a row never points to a missing blob); the row, its attachments and the audit row
 * are then written in one transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { recordMailActivity } from '../activities/mail.ts';
import { recordAudit, type AuditActor, type AuditEntry } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import { messageAttachments, messages, messageSearch, type MessageAddress } from '../db/schema/index.ts';
import { FieldRuleError, NotFoundError, RuleError } from '../errors.ts';
import type { FieldErrors } from '../http/forms.ts';
import { formatAddressList, parseAddressList } from '../mail/address.ts';
import { htmlToPlainText, sanitizeBodyHtml } from '../mail/html.ts';
import type { BodyEncoder } from '../mail/encoder.ts';
import { assembleMimeChunks, buildMime, encodeAttachment, encodeBody } from '../mail/mime.ts';
import type { Store } from '../store/store.ts';
import { listMessageAttachments, type MessageLink } from './queries.ts';
import { canDeleteMessage, canEditMessage, type RuleUser } from './rules.ts';
import { listUnsubscribeHeaders } from '../unsubscribe/token.ts';

/**
 * The domain of generated Message-IDs (`<random@domain>`) while no sending account exists; with one, the
 * domain of its sender address is used (receivers' spam filters distrust IDs from a made-up domain).
 */
export const MESSAGE_ID_DOMAIN = 'posel.invalid';
/** Longest subject we keep (RFC 5322 lines stop at 998 characters; the header folds anyway). */
export const MAX_SUBJECT_CHARS = 500;
/** Largest body HTML accepted from the composer (the form's own limit is larger, for attachments). */
export const MAX_BODY_CHARS = 2 * 1024 * 1024;
/** Most addresses in one of To, Cc, Bcc. */
export const MAX_ADDRESSES_PER_FIELD = 100;
/** Body text indexed for search; beyond this the words are not searchable (the body itself is kept). */
export const MAX_INDEXED_BODY_CHARS = 200 * 1024;

/** An attachment of a draft: a blob already in the store (uploaded or taken from a template). */
export interface DraftAttachment {
  blobId: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

/** A draft as the composer hands it over, already validated by `parseDraftFields`. */
export interface DraftInput {
  subject: string;
  to: MessageAddress[];
  cc: MessageAddress[];
  bcc: MessageAddress[];
  /** HTML as typed; sanitised here. */
  bodyHtml: string;
  attachments: DraftAttachment[];
  templateId?: number | null;
}

/** The store could not be written: nothing was saved; the form says so and keeps the input. */
export class StoreWriteFailed extends FieldRuleError {
  constructor(override readonly cause: unknown) {
    super('_form', 'messages.v.store_failed');
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u2028\u2029]/;

/**
 * Checks the composer's text fields. A draft may be incomplete (no recipient, no subject), but what is
 * there must be valid: no CR/LF or control characters in the subject, every address well formed.
 */
export function parseDraftFields(form: {
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
}): { ok: true; value: Omit<DraftInput, 'attachments' | 'templateId'> } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const subject = (form.subject ?? '').trim();
  if (/[\r\n]/.test(subject)) errors.subject = { key: 'messages.v.subject_newline', params: {} };
  else if (CONTROL.test(subject)) errors.subject = { key: 'v.control_chars', params: {} };
  else if (subject.length > MAX_SUBJECT_CHARS) errors.subject = { key: 'v.too_long', params: { max: String(MAX_SUBJECT_CHARS) } };
  const lists: Record<'to' | 'cc' | 'bcc', MessageAddress[]> = { to: [], cc: [], bcc: [] };
  for (const field of ['to', 'cc', 'bcc'] as const) {
    const parsed = parseAddressList(form[field] ?? '', { max: MAX_ADDRESSES_PER_FIELD });
    if (parsed.ok) lists[field] = parsed.addresses;
    else errors[field] = { key: parsed.error.key, params: stringParams(parsed.error.params) };
  }
  const body = form.body ?? '';
  if (body.length > MAX_BODY_CHARS) errors.body = { key: 'messages.v.body_too_large', params: { mb: String(MAX_BODY_CHARS / 1024 / 1024) } };
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, value: { subject, ...lists, bodyHtml: body } };
}

function stringParams(params: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(params ?? {}).map(([k, v]) => [k, String(v)]));
}

/** A fresh RFC 5322 Message-ID: 128 random bits, hex, at `domain`. */
export function newMessageId(domain = MESSAGE_ID_DOMAIN): string {
  return `<${randomBytes(16).toString('hex')}@${domain}>`;
}

/** The domain for new Message-IDs: the default sending account's sender domain, else MESSAGE_ID_DOMAIN. */
export async function messageIdDomain(db: Db): Promise<string> {
  const [row] = rowsOf<{ domain: string }>(
    await db.execute(sql`select lower(split_part(from_address, '@', 2)) as domain from smtp_accounts order by is_default desc, id limit 1`),
  );
  return row?.domain && /^[a-z0-9.-]{1,253}$/.test(row.domain) ? row.domain : MESSAGE_ID_DOMAIN;
}

/** Hex SHA-256 of a text (the log keeps this of a body, never the body). */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The To addresses, comma-separated (the `recipients` column: lists, sorting, summaries). */
function recipientsOf(to: MessageAddress[]): string {
  return to.map((a) => a.address).join(', ');
}

/** Everything search should find a recipient by: names and addresses of To, Cc and Bcc. */
function recipientsText(input: Pick<DraftInput, 'to' | 'cc' | 'bcc'>): string {
  return [...input.to, ...input.cc, ...input.bcc].map((a) => `${a.name ?? ''} ${a.address}`).join(' ');
}

/**
 * The search vector: subject (A), recipients (B; addresses also split at @ . - _ + like the address
 * book's, so "novak" finds jan.novak@firma.cz), body text (C, capped). Computed in SQL with the
 * posel_unaccent configuration, which folds diacritics and case.
 */
export function searchVector(subject: string, recipients: string, bodyText: string) {
  return sql`setweight(to_tsvector('posel_unaccent'::regconfig, ${subject}), 'A')
    || setweight(to_tsvector('posel_unaccent'::regconfig, ${recipients} || ' ' || translate(${recipients}, '@.-_+', '     ')), 'B')
    || setweight(to_tsvector('posel_unaccent'::regconfig, ${bodyText.slice(0, MAX_INDEXED_BODY_CHARS)}), 'C')`;
}

/** What the log keeps of a draft's content: subject, recipients, a hash of the body, attachment names. */
function auditState(input: { subject: string; to: MessageAddress[]; cc: MessageAddress[]; bcc: MessageAddress[]; bodySha256: string; attachments: { filename: string }[] }) {
  return {
    subject: input.subject,
    to: formatAddressList(input.to),
    cc: formatAddressList(input.cc),
    bcc: formatAddressList(input.bcc),
    bodySha256: input.bodySha256,
    attachments: input.attachments.map((a) => a.filename),
  };
}

function summaryOf(subject: string, to: MessageAddress[]): string {
  const recipients = recipientsOf(to);
  return `${subject || '—'}${recipients ? ` → ${recipients}` : ''}`.slice(0, 300);
}

interface PreparedBody {
  html: string;
  text: string;
  blobId: string;
  sha256: string;
  bytes: number;
}

/**
 * Sanitises the body and writes it (and checks the attachments) in the store, before any transaction.
 * A store that cannot be written (disk full, folder gone) becomes `StoreWriteFailed`.
 */
async function prepareBody(store: Store, input: DraftInput): Promise<PreparedBody> {
  const html = sanitizeBodyHtml(input.bodyHtml);
  const text = htmlToPlainText(html);
  let blobId: string;
  try {
    blobId = await store.putBlob(html);
  } catch (error) {
    throw new StoreWriteFailed(error);
  }
  for (const a of input.attachments) {
    let present: boolean;
    try {
      present = await store.has(a.blobId);
    } catch (error) {
      throw new StoreWriteFailed(error);
    }
    if (!present) throw new FieldRuleError('attachments', 'messages.v.attachment_missing');
  }
  return { html, text, blobId, sha256: sha256(html), bytes: Buffer.byteLength(html, 'utf8') };
}

async function insertAttachments(tx: Db, messageId: number, list: DraftAttachment[]) {
  if (!list.length) return;
  await tx.insert(messageAttachments).values(
    list.map((a, position) => ({ messageId, blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes, position })),
  );
}

const attachmentsBytes = (list: DraftAttachment[]) => list.reduce((sum, a) => sum + a.sizeBytes, 0);

/**
 * Creates a draft linked to `link` (ids already resolved to existing records). The creator is the actor;
 * `generated` marks a message the system wrote (others then need messages.edit_generated to edit it).
 */
export async function createDraft(
  db: Db,
  store: Store,
  actor: AuditActor,
  input: DraftInput,
  options: { link?: MessageLink; generated?: boolean } = {},
): Promise<number> {
  const body = await prepareBody(store, input);
  const link = options.link ?? {};
  const recipients = recipientsOf(input.to);
  const domain = await messageIdDomain(db);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(messages)
      .values({
        status: 'draft',
        messageIdHeader: newMessageId(domain),
        subject: input.subject,
        toAddrs: input.to,
        ccAddrs: input.cc,
        bccAddrs: input.bcc,
        recipients,
        bodyBlob: body.blobId,
        sizeBytes: body.bytes + attachmentsBytes(input.attachments),
        attachmentCount: input.attachments.length,
        clientId: link.clientId ?? null,
        orderId: link.orderId ?? null,
        contractId: link.contractId ?? null,
        activityId: link.activityId ?? null,
        templateId: input.templateId ?? null,
        generated: options.generated ?? false,
        createdBy: actor.actorId,
        updatedBy: actor.actorId,
      })
      .returning({ id: messages.id });
    const id = row!.id;
    await tx.insert(messageSearch).values({ messageId: id, search: searchVector(input.subject, recipientsText(input), body.text) });
    await insertAttachments(tx, id, input.attachments);
    await recordAudit(tx, actor, {
      action: 'message.create',
      objectType: 'message',
      objectId: id,
      summary: summaryOf(input.subject, input.to),
      after: { ...auditState({ ...input, bodySha256: body.sha256 }), link },
    });
    return id;
  });
}

/**
 * Saves an edit of a draft. Refused when the message is no longer a draft or the user may not edit it
 * (rules.ts), and when `expectedVersion` is not the current version: someone else saved in between, and
 * overwriting would lose their change. The audit row keeps before/after of subject, recipients, body hash.
 */
export async function updateDraft(
  db: Db,
  store: Store,
  actor: AuditActor,
  user: RuleUser,
  id: number,
  input: DraftInput,
  expectedVersion: number,
): Promise<void> {
  const body = await prepareBody(store, input);
  await db.transaction(async (tx) => {
    const [before] = await tx.select().from(messages).where(eq(messages.id, id)).for('update');
    if (!before) throw new NotFoundError();
    // A stale form first: whatever changed meanwhile (an edit, an export), the user keeps their input.
    if (before.version !== expectedVersion) throw new FieldRuleError('_form', 'messages.v.stale');
    const allowed = canEditMessage(user, before);
    if (!allowed.ok) throw new RuleError(`messages.denied.${allowed.reason}`);
    const beforeAttachments = await listMessageAttachments(tx, id);
    const beforeBody = await store.get(before.bodyBlob).then(
      (b) => sha256(b.toString('utf8')),
      () => null,
    );
    await tx
      .update(messages)
      .set({
        subject: input.subject,
        toAddrs: input.to,
        ccAddrs: input.cc,
        bccAddrs: input.bcc,
        recipients: recipientsOf(input.to),
        bodyBlob: body.blobId,
        sizeBytes: body.bytes + attachmentsBytes(input.attachments),
        attachmentCount: input.attachments.length,
        templateId: input.templateId === undefined ? before.templateId : input.templateId,
        updatedBy: actor.actorId,
        updatedAt: sql`now()`,
        version: before.version + 1,
      })
      .where(and(eq(messages.id, id), eq(messages.version, expectedVersion)));
    const search = searchVector(input.subject, recipientsText(input), body.text);
    await tx.insert(messageSearch).values({ messageId: id, search }).onConflictDoUpdate({ target: messageSearch.messageId, set: { search } });
    await tx.delete(messageAttachments).where(eq(messageAttachments.messageId, id));
    await insertAttachments(tx, id, input.attachments);
    await recordAudit(tx, actor, {
      action: 'message.update',
      objectType: 'message',
      objectId: id,
      summary: summaryOf(input.subject, input.to),
      before: auditState({
        subject: before.subject,
        to: before.toAddrs,
        cc: before.ccAddrs,
        bcc: before.bccAddrs,
        bodySha256: beforeBody ?? '',
        attachments: beforeAttachments,
      }),
      after: auditState({ ...input, bodySha256: body.sha256 }),
    });
  });
}

/** Deletes a draft (its attachment rows go with it; unused blobs are swept later). */
export async function deleteDraft(db: Db, actor: AuditActor, user: RuleUser, id: number): Promise<void> {
  await db.transaction(async (tx) => {
    const [before] = await tx.select().from(messages).where(eq(messages.id, id)).for('update');
    if (!before) throw new NotFoundError();
    const allowed = canDeleteMessage(user, before);
    if (!allowed.ok) throw new RuleError(`messages.denied.${allowed.reason}`);
    const attachments = await listMessageAttachments(tx, id);
    await tx.delete(messages).where(and(eq(messages.id, id), eq(messages.status, 'draft')));
    await recordAudit(tx, actor, deletedDraftAudit(before, attachments.map((a) => a.filename)));
  });
}

/** The audit entry of a deleted draft: what it was (subject, recipients, body, attachment names). */
export function deletedDraftAudit(before: typeof messages.$inferSelect, filenames: string[], extra: Record<string, unknown> = {}): AuditEntry {
  return {
    action: 'message.delete',
    objectType: 'message',
    objectId: before.id,
    summary: summaryOf(before.subject, before.toAddrs),
    before: {
      subject: before.subject,
      to: formatAddressList(before.toAddrs),
      cc: formatAddressList(before.ccAddrs),
      bcc: formatAddressList(before.bccAddrs),
      bodyBlob: before.bodyBlob,
      attachments: filenames,
      ...extra,
    },
  };
}

/**
 * Encoded MIME parts kept between messages (the sender's cache), by a key naming immutable content.
 * `sizeOf` tells how many bytes a value holds.
 */
export interface EncodedPartCache {
  get<T>(key: string, make: () => Promise<T>, sizeOf: (value: T) => number): Promise<T>;
}

/** Store ids of content-addressed blobs: the same id always holds the same bytes, so encodings can be kept. */
const isBlobId = (id: string) => id.startsWith('blob_');

/**
 * A stored message as RFC 5322 bytes: its body and attachments read from the store. For export (`unsent`
 * or a plain copy) the Bcc line stays: it is the user's own copy, and Outlook needs it to send the draft.
 * For sending, `from`/`replyTo` come from the account and Bcc is left out of the headers. The sender hands
 * in the attachment rows it already loaded and a cache, so a body or a file shared by many messages is read
 * and encoded once.
 */
export async function buildMessageChunks(
  db: Db,
  store: Store,
  message: Pick<
    typeof messages.$inferSelect,
    'id' | 'messageIdHeader' | 'toAddrs' | 'ccAddrs' | 'bccAddrs' | 'subject' | 'sentAt' | 'updatedAt' | 'unsubscribeUrl' | 'bodyBlob'
  >,
  options: {
    unsent?: boolean;
    sending?: { from: MessageAddress; replyTo: string | null };
    attachments?: { blobId: string; filename: string; contentType: string }[];
    cache?: EncodedPartCache;
    /** Encodes the body's parts (the sender's hands it to worker threads); `encodeBody` here by default. */
    encode?: BodyEncoder;
  },
): Promise<Buffer[]> {
  const attachments = options.attachments ?? (await listMessageAttachments(db, message.id));
  const cache = options.cache;
  const cached = <T>(blobId: string, key: string, make: () => Promise<T>, sizeOf: (value: T) => number): Promise<T> =>
    cache && isBlobId(blobId) ? cache.get(key, make, sizeOf) : make();
  const html = async () => (await store.get(message.bodyBlob)).toString('utf8');
  const sending = options.sending;
  const headers = {
    messageId: message.messageIdHeader,
    ...(sending ? { from: sending.from, ...(sending.replyTo ? { replyTo: { address: sending.replyTo } } : {}) } : {}),
    to: message.toAddrs,
    cc: message.ccAddrs,
    bcc: message.bccAddrs,
    subject: message.subject,
    ...(sending ? {} : { date: message.sentAt ?? message.updatedAt }),
    // Marketing mail: one-click unsubscribe for the mail program (RFC 8058), the same address as the footer link.
    ...(message.unsubscribeUrl ? { headers: listUnsubscribeHeaders(message.unsubscribeUrl) } : {}),
  };
  const opts = { unsent: Boolean(options.unsent), keepBcc: !sending };
  const body = await cached(message.bodyBlob, `body:${message.bodyBlob}`, async () => (options.encode ?? encodeBody)(await html()), (b) => (b ? b.text.length + b.html.length : 0));
  if (!body) {
    // No text or no HTML part (an empty body): nodemailer's composer builds such a message whole.
    const files = await Promise.all(attachments.map(async (a) => ({ filename: a.filename, contentType: a.contentType, content: await store.get(a.blobId) })));
    return [await buildMime({ ...headers, html: await html(), attachments: files }, opts)];
  }
  const parts = await Promise.all(
    attachments.map((a) =>
      cached(
        a.blobId,
        `file:${a.blobId}:${a.contentType}:${a.filename}`,
        async () => encodeAttachment({ filename: a.filename, contentType: a.contentType, content: await store.get(a.blobId) }),
        (p) => p.bytes.length,
      ),
    ),
  );
  return assembleMimeChunks(headers, body, parts, opts);
}

/** `buildMessageChunks` as one buffer (an .eml file). */
export async function buildMessageMime(...args: Parameters<typeof buildMessageChunks>): Promise<Buffer> {
  return Buffer.concat(await buildMessageChunks(...args));
}

/** The message as an RFC 5322 file, built from the stored body and attachments. */
export async function messageMime(db: Db, store: Store, id: number, options: { unsent: boolean }): Promise<{ bytes: Buffer; subject: string }> {
  const [message] = await db.select().from(messages).where(eq(messages.id, id));
  if (!message) throw new NotFoundError();
  return { bytes: await buildMessageMime(db, store, message, options), subject: message.subject };
}

/**
 * Exports a message as an .eml and logs it. `unsent` (for "open in my mail program") adds X-Unsent: 1 and
 * hands a draft over to the desktop client: one `UPDATE … WHERE status = 'draft'` moves it to `exported`
 * (an exported message is exported again as it is; other states keep theirs).
 */
export async function exportMessage(
  db: Db,
  store: Store,
  actor: AuditActor,
  id: number,
  options: { unsent: boolean },
): Promise<{ bytes: Buffer; subject: string; status: string }> {
  const { bytes, subject } = await messageMime(db, store, id, options);
  return db.transaction(async (tx) => {
    const [current] = await tx.select({ status: messages.status, subject: messages.subject, to: messages.toAddrs }).from(messages).where(eq(messages.id, id));
    if (!current) throw new NotFoundError();
    let status = current.status;
    if (options.unsent) {
      const moved = await tx
        .update(messages)
        .set({ status: 'exported', version: sql`${messages.version} + 1` })
        .where(and(eq(messages.id, id), eq(messages.status, 'draft')))
        .returning({ id: messages.id });
      if (moved.length) {
        status = 'exported';
        // Handed to the desktop client counts as sent to the client: it may record a CRM activity (a setting).
        const [row] = await tx.select().from(messages).where(eq(messages.id, id));
        if (row) await recordMailActivity(tx, actor, row);
      }
    }
    await recordAudit(tx, actor, {
      action: 'message.export',
      objectType: 'message',
      objectId: id,
      summary: summaryOf(current.subject, current.to),
      before: { status: current.status },
      after: { status, format: 'eml', unsent: options.unsent, bytes: bytes.length },
    });
    return { bytes, subject, status };
  });
}
