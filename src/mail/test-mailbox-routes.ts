/**
 * /test-mailbox: what the built-in test mailbox received (src/mail/test-mailbox.ts), shown as received —
 * headers, the HTML body in a sandboxed iframe under its own strict CSP, the text part, attachments and
 * the raw source — plus "Delete all".
 */
import { Hono, type Context } from 'hono';
import { download } from '../http/download.ts';
import { count, desc, eq } from 'drizzle-orm';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { recordAudit } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { testMailbox } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { PAGE_SIZE, pageParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { hasSmtpAccounts } from '../settings/queries.ts';
import { safeFilename } from './mime.ts';

export const testMailboxRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
type MailRow = typeof testMailbox.$inferSelect;
const db = (c: Ctx) => c.get('deps').database.db;

/** One page of received mail, newest first, with the total. */
export async function listReceived(db: Db, params: { page: number; pageSize: number }): Promise<{ rows: MailRow[]; total: number }> {
  const [rows, [total]] = await Promise.all([
    db
      .select()
      .from(testMailbox)
      .orderBy(desc(testMailbox.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(testMailbox),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/** One received mail's row, or undefined. */
export async function getReceived(db: Db, id: number): Promise<MailRow | undefined> {
  return (await db.select().from(testMailbox).where(eq(testMailbox.id, id)))[0];
}

/** Empties the test mailbox (the stored files go with the next store sweep); audited. Returns how many. */
export async function clearReceived(db: Db, actor: ReturnType<typeof auditActor>): Promise<number> {
  return db.transaction(async (tx) => {
    const removed = await tx.delete(testMailbox).returning({ id: testMailbox.id });
    await recordAudit(tx, actor, {
      action: 'test_mailbox.clear',
      objectType: 'test_mailbox',
      summary: `${removed.length} message(s) deleted`,
      before: { count: removed.length },
    });
    return removed.length;
  });
}

async function loadMail(c: Ctx): Promise<MailRow> {
  const raw = c.req.param('id') ?? '';
  const row = /^\d{1,9}$/.test(raw) ? await getReceived(db(c), Number(raw)) : undefined;
  if (!row) throw new NotFoundError();
  return row;
}

/** The raw message and its parse (cid: images in the HTML become data: URIs, so they show in the frame). */
async function loadParsed(c: Ctx): Promise<{ row: MailRow; raw: Buffer; mail: ParsedMail }> {
  const row = await loadMail(c);
  const raw = await c.get('deps').store.get(row.blobId);
  return { row, raw, mail: await simpleParser(raw) };
}

const addressText = (a: AddressObject | AddressObject[] | undefined) => (a ? (Array.isArray(a) ? a.map((x) => x.text).join(', ') : a.text) : '');

function headerText(mail: ParsedMail, name: string): string {
  const v = mail.headers.get(name);
  if (v == null) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && 'text' in v) return String((v as { text: unknown }).text);
  if (typeof v === 'object' && 'value' in v) return String((v as { value: unknown }).value);
  return String(v);
}


/**
 * The CSP of a received mail's body: nothing may run or load — inline styles and embedded images only —
 * and even opened on its own the page is sandboxed (no script, no same-origin, no forms).
 */
export const RECEIVED_BODY_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:; font-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

testMailboxRoutes.get('/', requirePermission('messages.view'), async (c) => {
  const page = pageParam(c.req.query('page'));
  const { rows, total } = await listReceived(db(c), { page, pageSize: PAGE_SIZE });
  return render(c, 'test-mailbox/index.njk', {
    rows,
    total,
    page,
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    hasAccounts: await hasSmtpAccounts(db(c)),
  });
});

testMailboxRoutes.get('/:id{[0-9]+}', requirePermission('messages.view'), async (c) => {
  const { row, mail } = await loadParsed(c);
  return render(c, 'test-mailbox/detail.njk', {
    row,
    headers: {
      from: addressText(mail.from),
      to: addressText(mail.to),
      cc: addressText(mail.cc),
      replyTo: addressText(mail.replyTo),
      subject: mail.subject ?? '',
      date: mail.date ?? null,
      messageId: mail.messageId ?? '',
      xUnsent: headerText(mail, 'x-unsent'),
    },
    hasHtml: Boolean(mail.html),
    text: mail.text ?? '',
    attachments: mail.attachments.map((a, index) => ({
      index,
      filename: safeFilename(a.filename ?? `attachment-${index + 1}`),
      contentType: a.contentType,
      size: a.size,
      inline: a.contentDisposition === 'inline' || Boolean(a.related),
    })),
  });
});

// The body as received, under its own CSP (the app-wide one must leave a handler's CSP alone).
testMailboxRoutes.get('/:id{[0-9]+}/body', requirePermission('messages.view'), async (c) => {
  const { mail } = await loadParsed(c);
  const html = mail.html || mail.textAsHtml || '';
  c.header('Content-Security-Policy', RECEIVED_BODY_CSP);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
  return c.html(`<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><base target="_blank">${html}`);
});

testMailboxRoutes.get('/:id{[0-9]+}/attachments/:index{[0-9]+}', requirePermission('messages.view'), async (c) => {
  const { mail } = await loadParsed(c);
  const index = Number(c.req.param('index'));
  const attachment = Number.isSafeInteger(index) ? mail.attachments[index] : undefined;
  if (!attachment) throw new NotFoundError();
  // An opaque type: a browser never renders a received file on our origin.
  return download(c, attachment.content, attachment.filename ?? `attachment-${index + 1}`, 'application/octet-stream');
});

testMailboxRoutes.get('/:id{[0-9]+}/raw', requirePermission('messages.view'), async (c) => {
  const row = await loadMail(c);
  const raw = await c.get('deps').store.get(row.blobId);
  return download(c, raw, `${safeFilename(row.subject).slice(0, 80) || `mail-${row.id}`}.eml`, 'message/rfc822');
});

// Without JavaScript the confirmation is a page of its own.
testMailboxRoutes.get('/clear', requirePermission('settings.manage'), async (c) => {
  const { total } = await listReceived(db(c), { page: 1, pageSize: 1 });
  return render(c, 'test-mailbox/clear.njk', { total });
});

testMailboxRoutes.post('/clear', requirePermission('settings.manage'), async (c) => {
  const removed = await clearReceived(db(c), auditActor(c));
  flash(c, 'success', 'test_mailbox.cleared', { count: removed });
  return redirect(c, '/test-mailbox');
});
