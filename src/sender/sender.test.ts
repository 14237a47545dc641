/**
 * The sender against a real SMTP server over loopback, in each fault mode a provider shows; the database is
 * real (PGlite, or the server with TEST_DATABASE_URL). Times come from a clock the tests move.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, messageAttachments, messages, sendAttempts, smtpAccounts, suppressions } from '../db/schema/index.ts';
import { createTestApp } from '../test-support/harness.ts';
import { startSmtpPeer, type SmtpPeer } from '../test-support/smtp-peer.ts';
import { Sender } from './sender.ts';

type T = Awaited<ReturnType<typeof createTestApp>>;
let t: T;
let peer: SmtpPeer;
let clock: Date;
const senders: Sender[] = [];

function sender(extra: Partial<ConstructorParameters<typeof Sender>[0]> = {}) {
  const s = new Sender({
    db: t.db,
    store: t.store,
    logger: pino({ level: 'silent' }),
    testMailbox: { host: '127.0.0.1', port: peer.port },
    now: () => clock,
    timeouts: { connection: 1500, greeting: 1500, socket: 1500 },
    ...extra,
  });
  senders.push(s);
  return s;
}

async function queue(to: string[], extra: Partial<typeof messages.$inferInsert> = {}, body = '<p>Dobrý den, posíláme fakturu.</p>') {
  const bodyBlob = await t.store.putBlob(body);
  const [m] = await t.db
    .insert(messages)
    .values({
      status: 'queued',
      messageIdHeader: `<${randomUUID()}@posel.test>`,
      subject: 'Faktura 2026-0042',
      toAddrs: to.map((address) => ({ address })),
      recipients: to.join(', '),
      bodyBlob,
      sendAt: clock,
      queuedAt: clock,
      ...extra,
    })
    .returning();
  return m!;
}

const reload = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!;
const attemptsOf = (id: number) => t.db.select().from(sendAttempts).where(eq(sendAttempts.messageId, id));

async function account(values: Partial<typeof smtpAccounts.$inferInsert> = {}) {
  const [a] = await t.db
    .insert(smtpAccounts)
    .values({ name: 'Firemní', host: '127.0.0.1', port: peer.port, security: 'none', fromAddress: 'obchod@firma.cz', fromName: 'Firma s.r.o.', isDefault: true, ...values })
    .returning();
  return a!;
}

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.stop()));
  await peer?.close();
  for (const table of [sendAttempts, messages, suppressions, smtpAccounts]) await t.db.delete(table);
});

async function withPeer(behaviour: Parameters<typeof startSmtpPeer>[1] = {}, options: Parameters<typeof startSmtpPeer>[0] = {}) {
  clock = new Date('2026-11-23T09:00:00Z');
  peer = await startSmtpPeer(options, behaviour);
}

describe('sending to the test mailbox (no SMTP account)', () => {
  it('delivers a queued message with its Message-ID and attachments, records the 250 and an audit row', async () => {
    await withPeer();
    const m = await queue(['jan.novak@seznam.cz']);
    const pdf = await t.store.putBlob(Buffer.from('%PDF-1.4 faktura'));
    await t.db.insert(messageAttachments).values({ messageId: m.id, blobId: pdf, filename: 'faktura.pdf', contentType: 'application/pdf', sizeBytes: 16 });

    expect(await sender().tick()).toBe(1);

    const after = await reload(m.id);
    expect(after.status).toBe('sent');
    expect(after.sentAt).toEqual(clock);
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0]!.messageId).toBe(m.messageIdHeader);
    const parsed = await peer.received[0]!.parsed();
    expect(parsed.subject).toBe('Faktura 2026-0042');
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['faktura.pdf', '%PDF-1.4 faktura']]);
    const [attempt] = await attemptsOf(m.id);
    expect(attempt).toMatchObject({ outcome: 'sent', smtpCode: 250, accountId: null });
    const audit = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'message'), eq(auditLog.objectId, String(m.id))));
    expect(audit.map((a) => a.action)).toEqual(['message.sent']);
  });

  it('sends nothing before its time, then sends it', async () => {
    await withPeer();
    const m = await queue(['jan@firma.cz'], { sendAt: new Date(clock.getTime() + 3_600_000) });
    const s = sender();
    expect(await s.tick()).toBe(0);
    clock = new Date(clock.getTime() + 3_600_001);
    expect(await s.tick()).toBe(1);
    expect((await reload(m.id)).status).toBe('sent');
  });
});

describe('SMTP answers and faults', () => {
  it('550 for one of three recipients: the others get it, that address is suppressed and skipped next time', async () => {
    await withPeer({ onRcpt: (a) => (a === 'neni@firma.cz' ? { code: 550, message: 'No such user here' } : null) });
    const m = await queue(['a@firma.cz', 'neni@firma.cz', 'b@firma.cz']);
    const s = sender();
    await s.tick();
    expect((await reload(m.id)).status).toBe('sent');
    expect(peer.received[0]!.to).toEqual(['a@firma.cz', 'b@firma.cz']);
    expect((await attemptsOf(m.id))[0]!.rejected).toContain('neni@firma.cz (550 No such user here)');
    expect(await t.db.select().from(suppressions)).toMatchObject([{ address: 'neni@firma.cz', smtpCode: 550 }]);

    const next = await queue(['neni@firma.cz', 'c@firma.cz']);
    await s.tick();
    expect(peer.received[1]!.to).toEqual(['c@firma.cz']);
    expect((await reload(next.id)).status).toBe('sent');
  });

  it('451 on RCPT: deferred with backoff; a later round delivers it', async () => {
    await withPeer({ onRcpt: () => ({ code: 451, message: 'Greylisted, try again in 300 seconds' }) });
    const m = await queue(['jan@firma.cz']);
    const s = sender();
    await s.tick();
    const deferred = await reload(m.id);
    expect(deferred.status).toBe('deferred');
    expect(deferred.sendAt!.getTime() - clock.getTime()).toBeGreaterThanOrEqual(300_000);
    expect(deferred.lastResult).toContain('451');
    expect(await s.tick()).toBe(0); // not due yet: no hot loop

    peer.behaviour.onRcpt = () => null;
    clock = new Date(deferred.sendAt!.getTime() + 1);
    await s.tick();
    expect((await reload(m.id)).status).toBe('sent');
    expect((await attemptsOf(m.id)).map((a) => a.outcome)).toEqual(['deferred', 'sent']);
  });

  it('452 on RCPT is temporary too', async () => {
    await withPeer({ onRcpt: () => ({ code: 452, message: 'Too many recipients' }) });
    const m = await queue(['jan@firma.cz']);
    await sender().tick();
    expect((await reload(m.id)).status).toBe('deferred');
  });

  it('552 after DATA (too large): failed, and the address is not suppressed', async () => {
    await withPeer({ onData: { code: 552, message: 'Message size exceeds limit' } });
    const m = await queue(['jan@firma.cz']);
    await sender().tick();
    const after = await reload(m.id);
    expect(after.status).toBe('failed');
    expect(after.lastResult).toBe('552 Message size exceeds limit');
    expect(await t.db.select().from(suppressions)).toEqual([]);
  });

  it('421 on connect: deferred', async () => {
    await withPeer({ onConnect: { code: 421, message: 'Too busy, come back later' } });
    const m = await queue(['jan@firma.cz']);
    await sender().tick();
    expect((await reload(m.id)).status).toBe('deferred');
  });

  it('connection dropped after the whole message was written: uncertain, for a human to decide', async () => {
    await withPeer({ onData: 'drop-after-data' });
    const m = await queue(['jan@firma.cz']);
    await sender().tick();
    expect((await reload(m.id)).status).toBe('uncertain');
  });

  it('connection reset in the middle of DATA: deferred (the server cannot have accepted it)', async () => {
    await withPeer({ onData: 'drop-during-data' });
    const big = `<p>${'Žluťoučký kůň úpěl ďábelské ódy. '.repeat(120_000)}</p>`;
    const m = await queue(['jan@firma.cz'], {}, big);
    await sender().tick();
    expect((await reload(m.id)).status).toBe('deferred');
  });

  it('a server that never greets: deferred after the timeout, not stuck in sending', async () => {
    clock = new Date('2026-11-23T09:00:00Z');
    const sockets: net.Socket[] = [];
    const mute = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    peer = { port: (mute.address() as net.AddressInfo).port, received: [], behaviour: {}, close: async () => { sockets.forEach((s) => s.destroy()); await new Promise((r) => mute.close(r)); } };
    const m = await queue(['jan@firma.cz']);
    await sender().tick();
    expect((await reload(m.id)).status).toBe('deferred');
  });

  it('a slow server (1 s before answering DATA) still ends sent', async () => {
    await withPeer({ dataDelayMs: 1000 });
    const m = await queue(['jan@firma.cz']);
    await sender({ timeouts: { connection: 5000, greeting: 5000, socket: 5000 } }).tick();
    expect((await reload(m.id)).status).toBe('sent');
  });

  it('wrong password (535): the account is paused, the message waits in the queue, the admin sees why', async () => {
    await withPeer({}, { authOptional: false, onAuth: (_a, _s, cb) => cb(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 })) });
    const a = await account({ username: 'obchod@firma.cz' });
    await t.db.update(smtpAccounts).set({ passwordSealed: await t.store.sealSecret(`smtp-account:${a.id}`, 'špatné heslo') }).where(eq(smtpAccounts.id, a.id));
    const m = await queue(['jan@firma.cz'], { accountId: a.id });
    const s = sender();
    await s.tick();
    expect((await reload(m.id)).status).toBe('queued');
    const [paused] = await t.db.select().from(smtpAccounts).where(eq(smtpAccounts.id, a.id));
    expect(paused!.pausedAt).not.toBeNull();
    expect(paused!.pausedReason).toContain('535');
    expect(await s.tick()).toBe(0);
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.action, 'account.paused'));
    expect(audit).toHaveLength(1);
  });

  it('temporary failures stop at the give-up time: failed', async () => {
    await withPeer({ onRcpt: () => ({ code: 451, message: 'Try later' }) });
    const m = await queue(['jan@firma.cz'], { giveUpAt: new Date(clock.getTime() + 30_000) });
    await sender().tick();
    const after = await reload(m.id);
    expect(after.status).toBe('failed');
    expect(after.lastResult).toMatch(/^gave up after 1 attempts: 451 Try later/);
  });

  it('past "do not send after": failed without contacting the server', async () => {
    await withPeer();
    const m = await queue(['jan@firma.cz'], { notAfter: new Date(clock.getTime() - 1) });
    await sender().tick();
    expect((await reload(m.id)).status).toBe('failed');
    expect(peer.received).toHaveLength(0);
  });
});

describe('queue mechanics', () => {
  it('an account limited to 30 per minute sends 90 messages over three minutes', async () => {
    await withPeer();
    await account({ perMinute: 30, poolSize: 4 });
    for (let i = 0; i < 90; i++) await queue([`klient${i}@firma.cz`]);
    const s = sender();
    const sentPerMinute: number[] = [];
    for (let minute = 0; minute < 3; minute++) {
      let n = 0;
      for (let round = 0; round < 20; round++) n += await s.tick();
      sentPerMinute.push(n);
      clock = new Date(clock.getTime() + 60_001);
    }
    expect(sentPerMinute).toEqual([30, 30, 30]);
    expect(peer.received).toHaveLength(90);
  });

  it('two senders sharing an account limited to 30 per minute send 30 in that minute together, not 30 each', async () => {
    await withPeer();
    await account({ perMinute: 30, poolSize: 4 });
    for (let i = 0; i < 90; i++) await queue([`klient${i}@firma.cz`]);
    const [a, b] = [sender(), sender()];
    let n = 0;
    for (let round = 0; round < 10; round++) n += (await Promise.all([a.tick(), b.tick()])).reduce((x, y) => x + y, 0);
    expect(n).toBe(30);
    expect(peer.received).toHaveLength(30);
    clock = new Date(clock.getTime() + 60_001);
    for (let round = 0; round < 10; round++) await Promise.all([a.tick(), b.tick()]);
    expect(peer.received).toHaveLength(60);
  });

  it('a lease that expired (the sender died mid-send) is requeued and sent again with the same Message-ID', async () => {
    await withPeer();
    const m = await queue(['jan@firma.cz']);
    await t.db.update(messages).set({ status: 'sending', leaseOwner: 'dead-sender', leaseUntil: new Date(clock.getTime() - 1) }).where(eq(messages.id, m.id));
    await sender().tick();
    expect((await reload(m.id)).status).toBe('sent');
    expect(peer.received[0]!.messageId).toBe(m.messageIdHeader);
  });

  it('two senders on one database deliver each of 200 messages exactly once', async () => {
    await withPeer();
    await account({ poolSize: 3 });
    const ids = [];
    for (let i = 0; i < 200; i++) ids.push((await queue([`klient${i}@firma.cz`])).id);
    const a = sender();
    const b = sender();
    for (let round = 0; round < 60; round++) {
      const [x, y] = await Promise.all([a.tick(), b.tick()]);
      if (x + y === 0) break;
    }
    const counts = new Map<string, number>();
    for (const r of peer.received) counts.set(r.messageId!, (counts.get(r.messageId!) ?? 0) + 1);
    expect(counts.size).toBe(200);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const states = await t.db.execute(sql`select status, count(*)::int as n from messages group by status`);
    expect(JSON.stringify(states)).toContain('"sent"');
  });

  it('stop() gives claimed but unsent messages back to the queue', async () => {
    await withPeer({ dataDelayMs: 300 });
    const m = await queue(['jan@firma.cz']);
    const s = sender({ idleMs: 50 });
    s.start();
    await new Promise((r) => setTimeout(r, 100));
    await s.stop();
    const after = await reload(m.id);
    expect(['sent', 'queued']).toContain(after.status); // finished in flight, or released: never stuck in sending
  });
});
