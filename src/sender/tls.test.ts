/**
 * The sender over encrypted connections, against smtp-server with its built-in certificate (self-signed,
 * so it does not verify): STARTTLS and implicit TLS are refused by default and work when the admin allows
 * the certificate; AUTH PLAIN and AUTH LOGIN both sign in.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import pino from 'pino';
import type { SMTPServerAuthentication, SMTPServerSession } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messages, sendAttempts, smtpAccounts } from '../db/schema/index.ts';
import { createTestApp } from '../test-support/harness.ts';
import { startSmtpPeer, type SmtpPeer } from '../test-support/smtp-peer.ts';
import { Sender } from './sender.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let peer: SmtpPeer | null = null;
const sessions: { secure: boolean; method: string; user: string }[] = [];
const PASSWORD = 'Heslo-pro-SMTP 2026';

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());
afterEach(async () => {
  await peer?.close();
  peer = null;
  sessions.length = 0;
  for (const table of [sendAttempts, messages, smtpAccounts]) await t.db.delete(table);
});

/** A peer that requires sign-in with the given methods; `secure` = implicit TLS, else STARTTLS offered. */
async function tlsPeer(secure: boolean, authMethods: string[]) {
  peer = await startSmtpPeer({
    secure,
    disabledCommands: [],
    authOptional: false,
    authMethods,
    onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb) {
      sessions.push({ secure: session.secure, method: auth.method, user: auth.username ?? '' });
      if (auth.username === 'obchod@firma.cz' && auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
    },
  });
  return peer;
}

async function accountAndMessage(security: 'starttls' | 'tls', allowInvalidCert: boolean) {
  const [a] = await t.db
    .insert(smtpAccounts)
    .values({ name: 'Firemní', host: '127.0.0.1', port: peer!.port, security, allowInvalidCert, username: 'obchod@firma.cz', fromAddress: 'obchod@firma.cz', isDefault: true })
    .returning();
  await t.db.update(smtpAccounts).set({ passwordSealed: await t.store.sealSecret(`smtp-account:${a!.id}`, PASSWORD) }).where(eq(smtpAccounts.id, a!.id));
  const [m] = await t.db
    .insert(messages)
    .values({
      status: 'queued',
      messageIdHeader: `<${randomUUID()}@posel.test>`,
      subject: 'Šifrované spojení',
      toAddrs: [{ address: 'jan@novak.cz' }],
      recipients: 'jan@novak.cz',
      bodyBlob: await t.store.putBlob('<p>Dobrý den</p>'),
      sendAt: new Date(),
      accountId: a!.id,
    })
    .returning();
  return { account: a!, message: m! };
}

async function drain() {
  const sender = new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: null, timeouts: { connection: 3000, greeting: 3000, socket: 3000 } });
  try {
    await sender.tick();
  } finally {
    await sender.stop();
  }
}
const reload = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!;
const accountOf = async (id: number) => (await t.db.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)))[0]!;

describe.each([
  ['STARTTLS', 'starttls', false],
  ['implicit TLS', 'tls', true],
] as const)('%s with a certificate that does not verify', (_name, security, secure) => {
  it('is refused by default: nothing is sent, the account is paused with the reason, the message waits', async () => {
    await tlsPeer(secure, ['PLAIN', 'LOGIN']);
    const { account, message } = await accountAndMessage(security, false);
    await drain();
    expect(peer!.received).toHaveLength(0);
    expect(sessions).toHaveLength(0); // the password never travelled
    const m = await reload(message.id);
    expect(['queued', 'deferred']).toContain(m.status);
    const a = await accountOf(account.id);
    expect(a.pausedAt).not.toBeNull();
    expect(a.pausedReason).toMatch(/certificate/i);
  });

  it('is accepted when the admin allows it, and the mail goes out encrypted', async () => {
    await tlsPeer(secure, ['PLAIN', 'LOGIN']);
    const { message } = await accountAndMessage(security, true);
    await drain();
    expect((await reload(message.id)).status).toBe('sent');
    expect(peer!.received).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ secure: true, user: 'obchod@firma.cz' });
  });
});

describe.each(['PLAIN', 'LOGIN'])('AUTH %s', (method) => {
  it('signs in and sends', async () => {
    await tlsPeer(false, [method]);
    const { message } = await accountAndMessage('starttls', true);
    await drain();
    expect((await reload(message.id)).status).toBe('sent');
    expect(sessions.map((s) => s.method)).toEqual([method]);
  });
});
