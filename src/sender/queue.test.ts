import { and, eq, inArray, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, messageAttachments, messages, messageSearch, smtpAccounts } from '../db/schema/index.ts';
import { RuleError } from '../errors.ts';
import { createTestApp, SYSTEM } from '../test-support/harness.ts';
import { startSmtpPeer, type SmtpPeer } from '../test-support/smtp-peer.ts';
import { cancel, markSent, queueMessage, reschedule, resend, retry, sendNow } from './queue.ts';
import { Sender } from './sender.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let peer: SmtpPeer;
let seq = 0;
const now = new Date('2026-11-23T09:00:00Z');

beforeAll(async () => {
  t = await createTestApp();
  peer = await startSmtpPeer();
});
afterAll(async () => {
  await peer.close();
  await t.close();
});

async function draft(to: string[], extra: Partial<typeof messages.$inferInsert> = {}) {
  const [m] = await t.db
    .insert(messages)
    .values({
      messageIdHeader: `<q${++seq}@posel.test>`,
      subject: 'Pozvánka na veletrh',
      toAddrs: to.map((address) => ({ address })),
      recipients: to.join(', '),
      bodyBlob: await t.store.putBlob('<p>Zveme vás.</p>'),
      ...extra,
    })
    .returning();
  await t.db.insert(messageSearch).values({ messageId: m!.id, search: sql`to_tsvector('posel_unaccent', 'Pozvánka na veletrh')` });
  return m!;
}
const row = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!;

describe('queueing a draft', () => {
  it('together: one queued message to every recipient, sent at the chosen time, audited', async () => {
    const m = await draft(['a@firma.cz', 'b@firma.cz']);
    const later = new Date(now.getTime() + 3_600_000);
    const ids = await queueMessage(t.db, SYSTEM, m.id, { mode: 'together', sendAt: later, now });
    expect(ids).toEqual([m.id]);
    const q = await row(m.id);
    expect(q).toMatchObject({ status: 'queued', sendMode: 'together', sendAt: later, giveUpAt: new Date(later.getTime() + 48 * 3_600_000) });
    const [audit] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'message.queue'));
    expect(audit!.summary).toBe('Pozvánka na veletrh → a@firma.cz, b@firma.cz');
  });

  it('together with Bcc: the recipients do not see each other', async () => {
    const m = await draft(['a@firma.cz', 'b@firma.cz']);
    await queueMessage(t.db, SYSTEM, m.id, { mode: 'together', bccAll: true, now });
    const q = await row(m.id);
    expect(q.toAddrs).toEqual([]);
    expect(q.bccAddrs.map((a) => a.address)).toEqual(['a@firma.cz', 'b@firma.cz']);
  });

  it('individual: one message per recipient, each with its own Message-ID, sharing body and attachments', async () => {
    const m = await draft(['a@firma.cz', 'b@firma.cz'], { ccAddrs: [{ address: 'c@firma.cz' }] });
    const pdf = await t.store.putBlob(Buffer.from('%PDF katalog'));
    await t.db.insert(messageAttachments).values({ messageId: m.id, blobId: pdf, filename: 'katalog.pdf', contentType: 'application/pdf', sizeBytes: 12 });
    const ids = await queueMessage(t.db, SYSTEM, m.id, { mode: 'individual', now });
    expect(ids).toHaveLength(3);
    const rows = await t.db.select().from(messages).where(inArray(messages.id, ids)).orderBy(messages.id);
    expect(rows.map((r) => r.toAddrs.map((a) => a.address))).toEqual([['a@firma.cz'], ['b@firma.cz'], ['c@firma.cz']]);
    expect(rows.every((r) => r.ccAddrs.length === 0 && r.status === 'queued' && r.bodyBlob === m.bodyBlob)).toBe(true);
    expect(new Set(rows.map((r) => r.messageIdHeader)).size).toBe(3);
    expect(rows[0]!.messageIdHeader).toBe(m.messageIdHeader);
    const files = await t.db.select().from(messageAttachments).where(inArray(messageAttachments.messageId, ids));
    expect(files.map((f) => f.blobId)).toEqual([pdf, pdf, pdf]);
    // Each copy is found by the words of the message it was split from.
    const found = await t.db.select({ id: messageSearch.messageId }).from(messageSearch).where(and(inArray(messageSearch.messageId, ids), sql`${messageSearch.search} @@ to_tsquery('posel_unaccent', 'veletrh')`));
    expect(found.map((r) => r.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  });

  it('together, within the account\'s recipients-per-message limit: as few messages as the limit allows', async () => {
    const [account] = await t.db.insert(smtpAccounts).values({ name: 'Malý limit', host: 'smtp.firma.cz', port: 587, fromAddress: 'obchod@firma.cz', maxRecipients: 2 }).returning();
    const m = await draft(['a@firma.cz', 'b@firma.cz', 'c@firma.cz'], { ccAddrs: [{ address: 'd@firma.cz' }], bccAddrs: [{ address: 'e@firma.cz' }] });
    const ids = await queueMessage(t.db, SYSTEM, m.id, { mode: 'together', accountId: account!.id, now });
    const rows = await t.db.select().from(messages).where(inArray(messages.id, ids)).orderBy(messages.id);
    expect(rows.map((r) => [r.toAddrs, r.ccAddrs, r.bccAddrs].map((l) => l.map((a) => a.address)))).toEqual([
      [['a@firma.cz', 'b@firma.cz'], [], []],
      [['c@firma.cz'], ['d@firma.cz'], []],
      [[], [], ['e@firma.cz']],
    ]);
    await t.db.update(messages).set({ accountId: null });
    await t.db.delete(smtpAccounts);
  });

  it('refuses a draft without recipients, a message already queued, and "do not send after" before the send time', async () => {
    const empty = await draft([]);
    await expect(queueMessage(t.db, SYSTEM, empty.id, { mode: 'together', now })).rejects.toThrow(RuleError);
    const m = await draft(['a@firma.cz']);
    await expect(queueMessage(t.db, SYSTEM, m.id, { mode: 'together', now, notAfter: new Date(now.getTime() - 1) })).rejects.toThrow(RuleError);
    await queueMessage(t.db, SYSTEM, m.id, { mode: 'together', now });
    await expect(queueMessage(t.db, SYSTEM, m.id, { mode: 'together', now })).rejects.toThrow(RuleError);
    expect((await row(empty.id)).status).toBe('draft');
  });

  it('takes the default account when none is chosen', async () => {
    const [account] = await t.db.insert(smtpAccounts).values({ name: 'Seznam', host: 'smtp.seznam.cz', port: 465, security: 'tls', fromAddress: 'obchod@firma.cz', isDefault: true }).returning();
    const m = await draft(['a@firma.cz']);
    await queueMessage(t.db, SYSTEM, m.id, { mode: 'together', now });
    expect((await row(m.id)).accountId).toBe(account!.id);
    await t.db.update(messages).set({ accountId: null });
    await t.db.delete(smtpAccounts);
  });
});

describe('actions on waiting and finished messages', () => {
  it('cancel changes queued ones and reports the others as skipped with their state', async () => {
    const a = await draft(['a@firma.cz']);
    const b = await draft(['b@firma.cz']);
    const c = await draft(['c@firma.cz'], { status: 'sent' });
    await queueMessage(t.db, SYSTEM, a.id, { mode: 'together', now });
    await queueMessage(t.db, SYSTEM, b.id, { mode: 'together', now });
    const result = await cancel(t.db, SYSTEM, [a.id, b.id, c.id]);
    expect(result).toEqual({ done: [a.id, b.id], skipped: [{ id: c.id, status: 'sent' }] });
    expect((await row(a.id)).status).toBe('cancelled');
    expect((await row(c.id)).status).toBe('sent');
  });

  it('reschedule and send now move the send time of waiting messages', async () => {
    const m = await draft(['a@firma.cz']);
    await queueMessage(t.db, SYSTEM, m.id, { mode: 'together', now });
    const at = new Date(now.getTime() + 86_400_000);
    await reschedule(t.db, SYSTEM, [m.id], at);
    expect((await row(m.id)).sendAt).toEqual(at);
    await sendNow(t.db, SYSTEM, [m.id], now);
    expect((await row(m.id)).sendAt).toEqual(now);
  });

  it('retry queues failed messages again; mark sent settles an uncertain one', async () => {
    const failed = await draft(['a@firma.cz'], { status: 'failed' });
    const uncertain = await draft(['b@firma.cz'], { status: 'uncertain' });
    expect((await retry(t.db, SYSTEM, [failed.id], now)).done).toEqual([failed.id]);
    expect((await row(failed.id)).status).toBe('queued');
    expect((await markSent(t.db, SYSTEM, [uncertain.id], now)).done).toEqual([uncertain.id]);
    expect((await row(uncertain.id)).status).toBe('sent');
  });

  it('resend of a sent message goes out again under a new Message-ID, and the log keeps both attempts', async () => {
    const m = await draft(['jan@firma.cz']);
    await queueMessage(t.db, SYSTEM, m.id, { mode: 'together' });
    const sender = new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: { host: '127.0.0.1', port: peer.port } });
    await t.db.update(messages).set({ status: 'cancelled' }).where(sql`${messages.status} in ('queued', 'deferred') and ${messages.id} <> ${m.id}`);
    await sender.tick();
    expect((await row(m.id)).status).toBe('sent');
    await resend(t.db, SYSTEM, m.id);
    const again = await row(m.id);
    expect(again.status).toBe('queued');
    expect(again.messageIdHeader).not.toBe(m.messageIdHeader);
    await sender.tick();
    await sender.stop();
    const ids = peer.received.map((r) => r.messageId);
    expect(ids).toContain(m.messageIdHeader);
    expect(ids).toContain(again.messageIdHeader);
    const actions = (await t.db.select().from(auditLog).where(eq(auditLog.objectId, String(m.id))).orderBy(auditLog.id)).map((a) => a.action);
    expect(actions).toEqual(['message.queue', 'message.sent', 'message.resend', 'message.sent']);
  });
});

describe('Message-IDs', () => {
  it('take the default sending account\'s domain once one exists', async () => {
    const { createDraft } = await import('../messages/service.ts');
    const before = await createDraft(t.db, t.store, SYSTEM, { subject: 'A', to: [{ address: 'a@firma.cz' }], cc: [], bcc: [], bodyHtml: '<p>a</p>', attachments: [] });
    expect((await row(before)).messageIdHeader).toMatch(/@posel\.invalid>$/);
    await t.db.insert(smtpAccounts).values({ name: 'Pekárna', host: 'smtp.seznam.cz', port: 465, security: 'tls', fromAddress: 'obchod@Pekarna-Capa.cz', isDefault: true });
    const after = await createDraft(t.db, t.store, SYSTEM, { subject: 'B', to: [{ address: 'a@firma.cz' }], cc: [], bcc: [], bodyHtml: '<p>b</p>', attachments: [] });
    expect((await row(after)).messageIdHeader).toMatch(/^<[0-9a-f]{32}@pekarna-capa\.cz>$/);
    await t.db.update(messages).set({ accountId: null });
    await t.db.delete(smtpAccounts);
  });
});
