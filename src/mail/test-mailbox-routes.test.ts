import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, testMailbox } from '../db/schema/index.ts';
import { addUser, createAdminApp, signIn, type TestClient } from '../test-support/harness.ts';
import { startTestMailbox, type TestMailbox } from './test-mailbox.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;
let box: TestMailbox;

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

const PDF = randomBytes(40_000);
// A 1×1 transparent GIF, embedded in the HTML by Content-ID.
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Sends one real mail over SMTP into the test mailbox; returns its row id. */
async function deliver(subject: string): Promise<number> {
  const transport = nodemailer.createTransport({ host: box.host, port: box.port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({
      from: '"Posel" <posel@firma.cz>',
      to: '"Marie Dvořáková" <marie@dvorakova.cz>',
      cc: 'eva@dvorakova.cz',
      subject,
      messageId: '<test-mailbox-1@firma.cz>',
      headers: { 'X-Unsent': '1' },
      html: '<p>Dobrý den, <b>paní Dvořáková</b></p><img src="cid:logo@firma" alt="logo"><script>document.title = "pwned"</script>',
      text: 'Dobrý den, paní Dvořáková',
      attachments: [
        { filename: 'Faktura č. 42.pdf', content: PDF, contentType: 'application/pdf' },
        { filename: 'logo.gif', content: GIF, contentType: 'image/gif', cid: 'logo@firma' },
      ],
    });
  } finally {
    transport.close();
  }
  const [row] = await t.db.select().from(testMailbox).where(eq(testMailbox.subject, subject));
  return row!.id;
}

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  box = await startTestMailbox({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), port: 0 });
});
afterAll(async () => {
  await box.close();
  await t.close();
});

describe('test mailbox page', () => {
  let id: number;
  const SUBJECT = 'Potvrzení objednávky – žluťoučký kůň';
  beforeAll(async () => {
    id = await deliver(SUBJECT);
  });

  it('says mail does not leave the machine and lists what arrived, newest first', async () => {
    const second = await deliver('Druhá zpráva');
    const html = await (await admin.get('/test-mailbox')).text();
    expect(text(html)).toContain('Nic neopustí tento počítač');
    expect(html).toContain(SUBJECT);
    expect(html).toContain('marie@dvorakova.cz');
    expect(html.indexOf('Druhá zpráva')).toBeLessThan(html.indexOf(SUBJECT));
    await t.db.delete(testMailbox).where(eq(testMailbox.id, second));
  });

  it('shows the mail as received: headers, the sandboxed body, the text part and attachments', async () => {
    const html = await (await admin.get(`/test-mailbox/${id}`)).text();
    const visible = text(html);
    expect(visible).toContain(SUBJECT);
    expect(visible).toContain('"Posel" <posel@firma.cz>');
    expect(visible).toContain('"Marie Dvořáková" <marie@dvorakova.cz>');
    expect(visible).toContain('eva@dvorakova.cz');
    expect(visible).toContain('<test-mailbox-1@firma.cz>');
    expect(visible).toMatch(/X-Unsent 1/);
    expect(visible).toContain('Dobrý den, paní Dvořáková');
    expect(html).toMatch(new RegExp(`<iframe[^>]*sandbox="[^"]*"[^>]*src="/test-mailbox/${id}/body"`));
    expect(html).not.toMatch(/sandbox="[^"]*allow-scripts/);
    expect(html).not.toMatch(/sandbox="[^"]*allow-same-origin/);
    expect(html).toMatch(new RegExp(`href="/test-mailbox/${id}/attachments/\\d+"[^>]*>Faktura č. 42.pdf<`));
    expect(html).toMatch(new RegExp(`href="/test-mailbox/${id}/attachments/\\d+"[^>]*>logo.gif<`));
  });

  it('serves the body as received under a CSP that lets nothing run or load', async () => {
    const res = await admin.get(`/test-mailbox/${id}/body`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('img-src data: cid:;');
    expect(csp).not.toContain('script-src');
    expect(csp).toContain('sandbox');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    expect(body).toContain('<b>paní Dvořáková</b>');
    // As received (the script is there, and the CSP keeps it from running); the cid: image is inlined.
    expect(body).toContain('<script>');
    expect(body).toMatch(/<img src="data:image\/gif;base64,/);
  });

  it('downloads an attachment byte for byte, as a download', async () => {
    const page = await (await admin.get(`/test-mailbox/${id}`)).text();
    const index = new RegExp(`/test-mailbox/${id}/attachments/(\\d+)"[^>]*>Faktura`).exec(page)![1];
    const res = await admin.get(`/test-mailbox/${id}/attachments/${index}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(PDF)).toBe(true);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="Faktura c\. 42\.pdf"; filename\*=UTF-8''Faktura%20%C4%8D\.%2042\.pdf$/);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await admin.get(`/test-mailbox/${id}/attachments/9`)).status).toBe(404);
  });

  it('downloads the raw source as .eml', async () => {
    const res = await admin.get(`/test-mailbox/${id}/raw`);
    expect(res.headers.get('content-type')).toContain('message/rfc822');
    expect(res.headers.get('content-disposition')).toContain('.eml');
    const raw = Buffer.from(await res.arrayBuffer());
    const [row] = await t.db.select().from(testMailbox).where(eq(testMailbox.id, id));
    expect(raw.equals(await t.store.get(row!.blobId))).toBe(true);
    expect((await simpleParser(raw)).subject).toBe(SUBJECT);
  });

  it('answers 404 for a mail that is not there', async () => {
    expect((await admin.get('/test-mailbox/999999')).status).toBe(404);
    expect((await admin.get('/test-mailbox/99999999999')).status).toBe(404);
  });

  it('lets a reader look but not empty it', async () => {
    await addUser(t.database, 'staff', 'petr@firma.cz');
    const staff = t.client();
    await signIn(staff, 'petr@firma.cz', 'Heslo pro test 123');
    expect((await staff.get('/test-mailbox')).status).toBe(200);
    expect((await staff.post('/test-mailbox/clear', {})).status).toBe(403);
    expect(await t.db.select().from(testMailbox)).not.toHaveLength(0);
  });

  it('deletes everything after a confirmation, and logs it', async () => {
    const confirm = text(await (await admin.get('/test-mailbox/clear')).text());
    expect(confirm).toContain('Smazat 1 zprávu z testovací schránky?');
    const res = await admin.post('/test-mailbox/clear', {});
    expect(res.status).toBe(303);
    expect(await t.db.select().from(testMailbox)).toHaveLength(0);
    const [log] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'test_mailbox.clear'));
    expect(log!.before).toEqual({ count: 1 });
    expect(text(await (await admin.get('/test-mailbox')).text())).toContain('Schránka je prázdná.');
  });
});
