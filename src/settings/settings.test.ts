import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, messages, smtpAccounts } from '../db/schema/index.ts';
import { Sender } from '../sender/sender.ts';
import { addUser, ADMIN, createAdminApp, signIn, type TestClient } from '../test-support/harness.ts';
import { startSmtpPeer, type SmtpPeer } from '../test-support/smtp-peer.ts';
import { hasSmtpAccounts } from './queries.ts';
import { secretPurpose } from './service.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;

/** The visible text of a page: tags dropped, entities of quotes decoded, whitespace collapsed. */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

const PASSWORD = 'Tajné-heslo 42 &<x>';

/** The form as a browser posts it, with overrides. */
function accountForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    preset: 'custom',
    name: 'Obchod',
    host: 'smtp.firma.cz',
    port: '587',
    security: 'starttls',
    username: 'obchod@firma.cz',
    password: PASSWORD,
    fromName: 'Firma s.r.o.',
    fromAddress: 'obchod@firma.cz',
    replyTo: '',
    perMinute: '30',
    perHour: '',
    perDay: '1000',
    maxRecipients: '50',
    poolSize: '2',
    ...overrides,
  };
}

async function createAccount(overrides: Record<string, string> = {}): Promise<number> {
  const res = await admin.post('/settings/accounts', accountForm(overrides));
  if (res.status !== 303) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  const [row] = await t.db.select({ id: smtpAccounts.id }).from(smtpAccounts).orderBy(sql`id desc`).limit(1);
  return row!.id;
}

const account = async (id: number) => (await t.db.select().from(smtpAccounts).where(eq(smtpAccounts.id, id)))[0]!;
const auditOf = (id: number) =>
  t.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.objectType, 'smtp_account'), eq(auditLog.objectId, String(id))))
    .orderBy(auditLog.id);

beforeAll(async () => {
  [t, admin] = await createAdminApp();
});
afterAll(() => t.close());

describe('presets', () => {
  it('fills host, port, security and limits from a preset without JavaScript, keeping what was typed', async () => {
    const res = await admin.post('/settings/accounts', { preset: 'gmail', usePreset: '1', name: 'Můj Gmail', host: '', port: '', fromAddress: 'ja@gmail.com', password: 'x' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('value="smtp.gmail.com"');
    expect(html).toMatch(/id="f-port"[^>]*value="587"/);
    expect(html).toMatch(/<option value="starttls" selected>/);
    expect(html).toMatch(/id="f-perMinute"[^>]*value="20"/);
    expect(html).toMatch(/id="f-perDay"[^>]*value="500"/);
    expect(html).toContain('value="Můj Gmail"');
    expect(html).toContain('value="ja@gmail.com"');
    expect(text(html)).toContain('heslo aplikace');
    expect(text(html)).toContain('zadejte ho prosím znovu');
    expect(await t.db.select().from(smtpAccounts)).toHaveLength(0);
  });

  it('opens the new-account form filled from the preset in the link', async () => {
    const html = await (await admin.get('/settings/accounts/new?preset=seznam')).text();
    expect(html).toContain('value="smtp.seznam.cz"');
    expect(html).toMatch(/id="f-port"[^>]*value="465"/);
    expect(html).toMatch(/<option value="tls" selected>/);
    expect(html).toMatch(/<option value="seznam" selected/);
  });

  it('creates an account from a preset with the preset values saved', async () => {
    const filled = await admin.post('/settings/accounts', { preset: 'microsoft365', usePreset: '1' });
    const html = await filled.text();
    const value = (name: string) => new RegExp(`id="f-${name}"[^>]*value="([^"]*)"`).exec(html)?.[1] ?? '';
    const id = await createAccount({
      preset: 'microsoft365',
      name: 'Microsoft',
      host: value('host'),
      port: value('port'),
      security: 'starttls',
      perMinute: value('perMinute'),
      perHour: value('perHour'),
      perDay: value('perDay'),
      maxRecipients: value('maxRecipients'),
    });
    expect(await account(id)).toMatchObject({ host: 'smtp.office365.com', port: 587, security: 'starttls', perMinute: 30, perHour: null, perDay: 10_000 });
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });
});

describe('SMTP accounts', () => {
  it('seals the password and never shows it in a page or the audit log', async () => {
    const id = await createAccount({ name: 'Tajné' });
    const row = await account(id);
    expect(row.passwordSealed).toBeTruthy();
    expect(row.passwordSealed).not.toContain(PASSWORD);
    expect(Buffer.from(row.passwordSealed!, 'base64').toString('latin1')).not.toContain('Tajn');
    expect(await t.store.openSecret(secretPurpose(id), row.passwordSealed!)).toBe(PASSWORD);

    const escaped = PASSWORD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const path of ['/settings/accounts', `/settings/accounts/${id}/edit`, `/settings/accounts/${id}/delete`, '/audit']) {
      const html = await (await admin.get(path)).text();
      expect(html, path).not.toContain(escaped);
      expect(html, path).not.toContain('Tajné-heslo');
      expect(html, path).not.toContain(row.passwordSealed!);
    }
    const log = await auditOf(id);
    expect(log.map((r) => r.action)).toEqual(['account.create']);
    const all = JSON.stringify(await t.db.select().from(auditLog));
    expect(all).not.toContain('Tajné-heslo');
    expect(all).not.toContain(row.passwordSealed!);
    expect(log[0]!.after).toMatchObject({ passwordSet: true, passwordChanged: true, host: 'smtp.firma.cz' });
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });

  it('keeps the password when the edit leaves it empty, and bumps updated_at', async () => {
    const id = await createAccount({ name: 'Beze změny hesla' });
    const before = await account(id);
    await new Promise((r) => setTimeout(r, 5));
    const res = await admin.post(`/settings/accounts/${id}`, accountForm({ name: 'Přejmenovaný', password: '', perMinute: '' }));
    expect(res.status).toBe(303);
    const after = await account(id);
    expect(after.name).toBe('Přejmenovaný');
    expect(after.perMinute).toBeNull();
    expect(after.passwordSealed).toBe(before.passwordSealed);
    expect(after.updatedAt.getTime()).toBeGreaterThan(before.updatedAt.getTime());
    const update = (await auditOf(id)).find((r) => r.action === 'account.update')!;
    expect(update.before).toMatchObject({ name: 'Beze změny hesla', perMinute: 30 });
    expect(update.after).toMatchObject({ name: 'Přejmenovaný', perMinute: null, passwordSet: true });
    expect(update.after).not.toHaveProperty('passwordChanged');
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });

  it('replaces or removes the password on request, recording only that it changed', async () => {
    const id = await createAccount({ name: 'Výměna hesla' });
    await admin.post(`/settings/accounts/${id}`, accountForm({ name: 'Výměna hesla', password: 'Nové heslo 2' }));
    const row = await account(id);
    expect(await t.store.openSecret(secretPurpose(id), row.passwordSealed!)).toBe('Nové heslo 2');
    await admin.post(`/settings/accounts/${id}`, accountForm({ name: 'Výměna hesla', password: '', removePassword: '1' }));
    expect((await account(id)).passwordSealed).toBeNull();
    const updates = (await auditOf(id)).filter((r) => r.action === 'account.update');
    expect(updates.map((u) => (u.after as { passwordChanged?: boolean }).passwordChanged)).toEqual([true, true]);
    expect(JSON.stringify(updates)).not.toContain('Nové heslo 2');
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });

  it('refuses an invalid sender address next to the field, keeping the input but not the password', async () => {
    const res = await admin.post('/settings/accounts', accountForm({ name: 'Chybná adresa', fromAddress: 'obchod@firma', replyTo: 'a b@firma.cz', port: '70000' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="e-fromAddress"[^>]*>Zadejte platnou e-mailovou adresu/);
    expect(html).toMatch(/id="e-replyTo"[^>]*>Zadejte platnou e-mailovou adresu/);
    expect(html).toMatch(/id="e-port"[^>]*>Zadejte celé číslo od 1 do 65535/);
    expect(html).toContain('value="Chybná adresa"');
    expect(html).toContain('value="obchod@firma"');
    expect(html).toContain('value="smtp.firma.cz"');
    expect(html).not.toContain('Tajné-heslo');
    expect(text(html)).toContain('zadejte ho prosím znovu');
    expect(await t.db.select().from(smtpAccounts).where(eq(smtpAccounts.name, 'Chybná adresa'))).toHaveLength(0);
  });

  it('refuses a line break smuggled into the sender name', async () => {
    const res = await admin.post('/settings/accounts', accountForm({ fromName: 'Firma\r\nBcc: x@evil.cz' }));
    expect(res.status).toBe(422);
    expect(await res.text()).toMatch(/id="e-fromName"/);
  });

  it('answers 403 to a user without settings.manage', async () => {
    const id = await createAccount({ name: 'Cizí' });
    await addUser(t.database, 'staff', 'pavel@firma.cz');
    const staff = t.client();
    await signIn(staff, 'pavel@firma.cz', 'Heslo pro test 123');
    expect((await staff.get('/settings/accounts')).status).toBe(403);
    expect((await staff.get(`/settings/accounts/${id}/edit`)).status).toBe(403);
    expect((await staff.post('/settings/accounts', accountForm({ name: 'Podvrh' }))).status).toBe(403);
    expect((await staff.post(`/settings/accounts/${id}/delete`, {})).status).toBe(403);
    expect(await account(id)).toBeTruthy();
    expect(await (await staff.get('/')).text()).not.toContain('href="/settings/accounts"');
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });

  it('keeps exactly one default account: the first, then the one marked, then a survivor', async () => {
    const a = await createAccount({ name: 'První' });
    const b = await createAccount({ name: 'Druhý' });
    const defaults = async () => (await t.db.select({ name: smtpAccounts.name }).from(smtpAccounts).where(eq(smtpAccounts.isDefault, true))).map((r) => r.name);
    expect(await defaults()).toEqual(['První']);
    expect((await admin.post(`/settings/accounts/${b}/default`, {})).status).toBe(303);
    expect(await defaults()).toEqual(['Druhý']);
    const c = await createAccount({ name: 'Třetí', isDefault: '1' });
    expect(await defaults()).toEqual(['Třetí']);
    // Unticking is not possible on the default's own form: it stays default.
    await admin.post(`/settings/accounts/${c}`, accountForm({ name: 'Třetí', password: '' }));
    expect(await defaults()).toEqual(['Třetí']);
    await admin.post(`/settings/accounts/${c}/delete`, {});
    expect(await defaults()).toEqual(['První']);
    expect((await auditOf(b)).map((r) => r.action)).toEqual(['account.create', 'account.default']);
    await admin.post(`/settings/accounts/${a}/delete`, {});
    await admin.post(`/settings/accounts/${b}/delete`, {});
  });

  it('says where waiting messages go before deleting, and sends them through the default after', async () => {
    const main = await createAccount({ name: 'Hlavní' });
    const other = await createAccount({ name: 'Vedlejší' });
    const [m] = await t.db
      .insert(messages)
      .values({
        status: 'queued',
        messageIdHeader: `<${randomUUID()}@posel.test>`,
        subject: 'Čeká',
        toAddrs: [{ address: 'jan@novak.cz' }],
        recipients: 'jan@novak.cz',
        bodyBlob: await t.store.putBlob('<p>Čeká</p>'),
        sendAt: new Date(),
        accountId: other,
      })
      .returning({ id: messages.id });
    const confirm = text(await (await admin.get(`/settings/accounts/${other}/delete`)).text());
    expect(confirm).toContain('Na tento účet čeká zpráv: 1.');
    expect(confirm).toContain('odejdou přes výchozí účet Hlavní');
    expect((await admin.post(`/settings/accounts/${other}/delete`, {})).status).toBe(303);
    const [after] = await t.db.select().from(messages).where(eq(messages.id, m!.id));
    expect(after!.accountId).toBeNull();
    expect(after!.status).toBe('queued');
    const [del] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'account.delete'), eq(auditLog.objectId, String(other))));
    expect(del!.after).toMatchObject({ waitingMoved: 1 });
    await t.db.delete(messages).where(eq(messages.id, m!.id));
    await admin.post(`/settings/accounts/${main}/delete`, {});
  });

  it('shows a paused account with its reason and resumes it', async () => {
    const id = await createAccount({ name: 'Pozastavený' });
    await t.db.update(smtpAccounts).set({ pausedAt: new Date(), pausedReason: '535 5.7.8 Authentication failed' }).where(eq(smtpAccounts.id, id));
    const list = await (await admin.get('/settings/accounts')).text();
    expect(list).toContain('535 5.7.8 Authentication failed');
    expect(list).toContain(`action="/settings/accounts/${id}/resume"`);
    expect((await admin.post(`/settings/accounts/${id}/resume`, {})).status).toBe(303);
    expect(await account(id)).toMatchObject({ pausedAt: null, pausedReason: null });
    const resume = (await auditOf(id)).find((r) => r.action === 'account.resume')!;
    expect(resume.before).toMatchObject({ pausedReason: '535 5.7.8 Authentication failed' });
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });

  it('shows usage against the limits from the send attempts', async () => {
    const id = await createAccount({ name: 'Vytížený', perMinute: '2', perHour: '', perDay: '100' });
    const [m] = await t.db
      .insert(messages)
      .values({ status: 'sent', messageIdHeader: `<${randomUUID()}@posel.test>`, subject: 'x', toAddrs: [], recipients: '', bodyBlob: await t.store.putBlob('x') })
      .returning({ id: messages.id });
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    for (const at of [ago(10_000), ago(20_000), ago(30 * 60_000), ago(5 * 3_600_000)]) {
      await t.db.execute(sql`insert into send_attempts (message_id, account_id, started_at, outcome) values (${m!.id}, ${id}, ${at}::timestamptz, 'sent')`);
    }
    const page = text(await (await admin.get('/settings/accounts')).text());
    expect(page).toMatch(/min 2\/2 · hod 3 · den 4\/100/);
    await t.db.delete(messages).where(eq(messages.id, m!.id));
    await admin.post(`/settings/accounts/${id}/delete`, {});
  });

  it('knows whether any account exists, at once after a change here', async () => {
    expect(await hasSmtpAccounts(t.db)).toBe(false);
    const id = await createAccount({ name: 'Cache' });
    expect(await hasSmtpAccounts(t.db)).toBe(true);
    await admin.post(`/settings/accounts/${id}/delete`, {});
    expect(await hasSmtpAccounts(t.db)).toBe(false);
  });
});

describe('test connection', () => {
  let peer: SmtpPeer;
  beforeAll(async () => {
    peer = await startSmtpPeer({
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, cb) {
        if (auth.username === 'obchod@firma.cz' && auth.password === PASSWORD) return cb(null, { user: auth.username });
        // The reply a real provider gives (Gmail, Microsoft 365): code, enhanced code, text.
        cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
      },
    });
  });
  afterAll(() => peer.close());

  const peerAccount = (overrides: Record<string, string> = {}) =>
    createAccount({ name: `Peer ${randomUUID().slice(0, 6)}`, host: '127.0.0.1', port: String(peer.port), security: 'none', ...overrides });

  it('verifies, sends a test mail to the signed-in user, and shows the server’s 250', async () => {
    const id = await peerAccount();
    await t.db.update(smtpAccounts).set({ pausedAt: new Date(), pausedReason: '535 earlier failure' }).where(eq(smtpAccounts.id, id));
    const before = peer.received.length;
    const res = await admin.post(`/settings/accounts/${id}/test`, { sendMail: '1' }, { 'HX-Request': 'true', 'HX-Target': 'test-result' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('<html');
    expect(html).toContain('id="test-result"');
    expect(text(html)).toContain('Spojení funguje.');
    expect(text(html)).toMatch(/Odpověď serveru: 250 /);
    // Paused earlier: now that it works, the result offers to resume it.
    expect(html).toContain(`action="/settings/accounts/${id}/resume"`);
    expect(peer.received.length).toBe(before + 1);
    const mail = await peer.received.at(-1)!.parsed();
    expect(peer.received.at(-1)!.to).toEqual([ADMIN.email]);
    expect(mail.subject).toContain('zkušební e-mail');
    expect(mail.from?.value[0]?.address).toBe('obchod@firma.cz');
    const [log] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'account.test'), eq(auditLog.objectId, String(id))));
    expect(log!.result).toBe('ok');
    expect(JSON.stringify(log)).not.toContain(PASSWORD);
  });

  it('shows the server’s exact refusal when the sign-in is wrong, on a full page without JavaScript', async () => {
    const id = await peerAccount({ password: 'špatné heslo' });
    const before = peer.received.length;
    const res = await admin.post(`/settings/accounts/${id}/test`, { sendMail: '1' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html');
    expect(text(html)).toContain('Spojení se nepodařilo.');
    expect(text(html)).toContain('Odpověď serveru: 535 5.7.8 Username and Password not accepted');
    expect(peer.received.length).toBe(before);
    const [log] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'account.test'), eq(auditLog.objectId, String(id))));
    expect(log!.result).toBe('failed');
    expect(log!.summary).toContain('535 5.7.8 Username and Password not accepted');
  });

  it('reports a server that is not there, quickly', async () => {
    const closed = await startSmtpPeer();
    const port = closed.port;
    await closed.close();
    const id = await peerAccount({ port: String(port), username: '', password: '' });
    const started = Date.now();
    const html = text(await (await admin.post(`/settings/accounts/${id}/test`, {})).text());
    expect(html).toContain('Spojení se nepodařilo.');
    expect(html).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a certificate that does not verify unless the admin allows it', async () => {
    // smtp-server's built-in certificate does not verify (self-signed, and by now expired): implicit TLS.
    const tls = new SMTPServer({ secure: true, authOptional: true, logger: false, onData: (stream, _s, cb) => stream.on('end', () => cb()).resume() });
    tls.on('error', () => {}); // the refused handshakes
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const port = String((tls.server.address() as AddressInfo).port);
    try {
      const strict = await peerAccount({ port, security: 'tls', username: '', password: '' });
      const refused = text(await (await admin.post(`/settings/accounts/${strict}/test`, {})).text());
      expect(refused).toContain('Spojení se nepodařilo.');
      expect(refused).toMatch(/Chyba spojení: ESOCKET: (self[- ]signed certificate|certificate has expired)/i);
      const lenient = await peerAccount({ port, security: 'tls', username: '', password: '', allowInvalidCert: '1' });
      expect((await account(lenient)).allowInvalidCert).toBe(true);
      expect(text(await (await admin.post(`/settings/accounts/${lenient}/test`, {})).text())).toContain('Spojení funguje.');
    } finally {
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });

  it('after the engine pauses an account on 535, a fixed password and Resume get its message out', async () => {
    const id = await peerAccount({ password: 'staré heslo' });
    const [m] = await t.db
      .insert(messages)
      .values({
        status: 'queued',
        messageIdHeader: `<${randomUUID()}@posel.test>`,
        subject: 'Po obnovení',
        toAddrs: [{ address: 'jan@novak.cz' }],
        recipients: 'jan@novak.cz',
        bodyBlob: await t.store.putBlob('<p>Dobrý den</p>'),
        sendAt: new Date(),
        accountId: id,
      })
      .returning({ id: messages.id });
    const sender = new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: null });
    try {
      await sender.tick();
      expect((await account(id)).pausedAt).not.toBeNull();
      const list = text(await (await admin.get('/settings/accounts')).text());
      expect(list).toContain('535 5.7.8 Username and Password not accepted');

      await admin.post(`/settings/accounts/${id}`, accountForm({ name: (await account(id)).name, host: '127.0.0.1', port: String(peer.port), security: 'none', password: PASSWORD }));
      expect((await account(id)).pausedAt).not.toBeNull();
      expect((await admin.post(`/settings/accounts/${id}/resume`, {})).status).toBe(303);
      const before = peer.received.length;
      await sender.tick();
      const [sent] = await t.db.select().from(messages).where(eq(messages.id, m!.id));
      expect(sent!.status).toBe('sent');
      expect(peer.received.length).toBe(before + 1);
    } finally {
      await sender.stop();
    }
  });
});
