/**
 * The pipeline's bookkeeping: outcomes of many sends written in batches keep one audit row per message and
 * an intact hash chain; a shared body and file are read and encoded once; a send whose lease was taken over
 * does not log a second "sent". Real database (PGlite, or the server with TEST_DATABASE_URL), real SMTP peer.
 */
import { and, eq, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/queries.ts';
import { auditLog, messages, sendAttempts, smtpAccounts } from '../db/schema/index.ts';
import { createTestApp } from '../test-support/harness.ts';
import { startSmtpPeer, type SmtpPeer } from '../test-support/smtp-peer.ts';
import { Sender } from './sender.ts';
import { seedQueue } from './testing/seed.ts';

type T = Awaited<ReturnType<typeof createTestApp>>;
let t: T;
let peer: SmtpPeer | null = null;
const senders: Sender[] = [];

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.stop()));
  await peer?.close();
  peer = null;
  for (const table of [sendAttempts, messages, smtpAccounts]) await t.db.delete(table);
});

async function account(port: number, poolSize = 3) {
  const [a] = await t.db
    .insert(smtpAccounts)
    .values({ name: 'Firemní', host: '127.0.0.1', port, security: 'none', fromAddress: 'obchod@firma.cz', fromName: 'Firma s.r.o.', isDefault: true, poolSize })
    .returning();
  return a!;
}

function sender(extra: Partial<ConstructorParameters<typeof Sender>[0]> = {}) {
  const s = new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: null, ...extra });
  senders.push(s);
  return s;
}

describe('the sending pipeline', () => {
  it('sends 120 messages sharing a body and a file: each received once, one attempt and one audit row each, chain intact', async () => {
    peer = await startSmtpPeer();
    const a = await account(peer.port);
    const body = await t.store.putBlob('<p>Dobrý den,</p><p>v příloze zasíláme fakturu. Žluťoučký kůň úpěl ďábelské ódy.</p>');
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(50_000, 0xab)]);
    const blobId = await t.store.putBlob(pdf);
    const ids = await seedQueue(t.db, { count: 120, bodyBlobs: [body], accountId: a.id, attachment: { blobId, filename: 'Faktura.pdf', contentType: 'application/pdf', sizeBytes: pdf.length } });

    const s = sender();
    expect(await s.tick()).toBe(120);

    expect(peer.received.map((r) => r.messageId).sort()).toEqual([...ids].sort());
    const sample = await peer.received[7]!.parsed();
    expect(sample.text).toContain('Žluťoučký kůň úpěl ďábelské ódy.');
    expect(sample.attachments[0]!.content.equals(pdf)).toBe(true);
    const states = await t.db.execute(sql`select status, count(*)::int as n from messages group by status`);
    expect(JSON.stringify(states)).toContain('"n":120');
    const attempts = await t.db.select().from(sendAttempts);
    expect(attempts).toHaveLength(120);
    expect(attempts.every((x) => x.outcome === 'sent' && x.smtpCode === 250)).toBe(true);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.objectType, 'message'));
    expect(audit.map((r) => r.action)).toEqual(Array(120).fill('message.sent'));
    expect(new Set(audit.map((r) => r.objectId)).size).toBe(120);
    expect(audit[0]!.summary).toMatch(/^Faktura 2026-\d+ – připomínka splatnosti → klient\d+@firma\.cz: 250/);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('a send that outlived its lease, taken over meanwhile, records its attempt but no second "sent"', async () => {
    // The server answers DATA after 1.5 s; the lease is 300 ms and renewals are stopped by a takeover:
    // another sender's sweep requeues the message and it is sent again under the new owner.
    peer = await startSmtpPeer({}, { dataDelayMs: 1500 });
    const a = await account(peer.port, 1);
    const body = await t.store.putBlob('<p>Dobrý den.</p>');
    await seedQueue(t.db, { count: 1, bodyBlobs: [body], accountId: a.id });
    const slow = sender({ leaseMs: 300 });
    const sending = slow.tick();
    // Wait until the message is in flight, then take it over as a crashed sender's message would be.
    for (let i = 0; i < 100 && peer.received.length === 0; i++) {
      const [m] = await t.db.select().from(messages);
      if (m?.status === 'sending') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await t.db.update(messages).set({ status: 'sent', leaseOwner: null, leaseUntil: null, sentAt: new Date() });
    await sending;

    const [m] = await t.db.select().from(messages);
    expect(m!.status).toBe('sent');
    expect(await t.db.select().from(sendAttempts)).toHaveLength(1);
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'message'), eq(auditLog.objectId, String(m!.id))));
    expect(audit.map((r) => r.action)).toEqual(['message.lease_lost']);
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('renews the lease of a message whose send takes longer than the lease', async () => {
    peer = await startSmtpPeer({}, { dataDelayMs: 1200 });
    const a = await account(peer.port, 1);
    const body = await t.store.putBlob('<p>Dobrý den.</p>');
    await seedQueue(t.db, { count: 1, bodyBlobs: [body], accountId: a.id });
    const s = sender({ leaseMs: 400 });
    const sending = s.tick();
    await new Promise((r) => setTimeout(r, 900));
    // Well past the first lease: still held, with a lease in the future.
    const [during] = await t.db.select().from(messages);
    expect(during!.status).toBe('sending');
    expect(during!.leaseUntil!.getTime()).toBeGreaterThan(Date.now() - 50);
    await sending;
    const [after] = await t.db.select().from(messages);
    expect(after!.status).toBe('sent');
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'message'), eq(auditLog.objectId, String(after!.id))));
    expect(audit.map((r) => r.action)).toEqual(['message.sent']);
  });
});
