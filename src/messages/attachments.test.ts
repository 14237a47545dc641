import { createSecretKey } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, settings, users } from '../db/schema/index.ts';
import { formatters, translator } from '../http/i18n/index.ts';
import { createViews } from '../http/render.ts';
import { assetUrl } from '../http/static.ts';
import { ADMIN, addUser, createTestApp, setUpAdmin, signIn, type TestClient } from '../test-support/harness.ts';
import {
  attachmentLimitBytes,
  attachmentToken,
  attachmentTokenKey,
  collectAttachmentsDetailed,
  readAttachmentTokens,
  readMultipartForm,
  totalBytes,
  type PendingAttachment,
} from './attachments.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let adminId: number;
const LIMIT_MB = 1;

/** The uploaded files' rows as a user sees them, plus the tokens of their hidden inputs. */
const tokensOf = (html: string) => [...html.matchAll(/name="attachment" value="([^"]+)"/g)].map((m) => m[1]!);

const upload = (client: TestClient, files: { name: string; bytes: Uint8Array | string; type?: string }[]) => {
  const form = new FormData();
  for (const f of files) form.append('files', new File([f.bytes as BlobPart], f.name, { type: f.type ?? 'application/octet-stream' }));
  return client.request('/attachments', { method: 'POST', body: form });
};

/** Posts a composer-like form to a probe route that reports what the helpers made of it. */
const submit = async (client: TestClient, form: FormData) => {
  const res = await client.request('/attachments/probe', { method: 'POST', body: form });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    fields: Record<string, string[]>;
    tooLarge: boolean;
    uploadedBytes: number;
    attachments: PendingAttachment[];
    missing: string[];
  };
};

beforeAll(async () => {
  t = await createTestApp({ ATTACHMENTS_MAX_MB: LIMIT_MB });
  // A probe with the shape of the composer's save handler, under /attachments so the app's upload body
  // limit (not the small form one) applies. Added before the first request builds the router.
  t.app.post('/attachments/probe', async (c) => {
    const form = await readMultipartForm(c, { maxTotalBytes: attachmentLimitBytes(c.get('deps').config) });
    const { attachments, missing } = await collectAttachmentsDetailed(c, form.fields, form.files, c.get('user')!.id);
    return c.json({ fields: form.fields, tooLarge: form.tooLarge, uploadedBytes: form.uploadedBytes, attachments, missing });
  });
  admin = t.client();
  await setUpAdmin(admin);
  adminId = (await t.db.select().from(users).where(eq(users.email, ADMIN.email)))[0]!.id;
});
afterAll(() => t.close());

describe('POST /attachments', () => {
  it('stores the files and answers their rows with name, size, token and a remove box', async () => {
    const res = await upload(admin, [
      { name: 'Nabídka č. 42.pdf', bytes: '%PDF-1.4 nabídka', type: 'application/pdf' },
      { name: 'ceník.xlsx', bytes: new Uint8Array(3000).fill(9) },
    ]);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Nabídka č. 42.pdf');
    expect(html).toContain('ceník.xlsx');
    expect(html).toMatch(/3 kB/);
    expect(html).toMatch(/name="remove_attachment"/);
    const tokens = tokensOf(html);
    expect(tokens).toHaveLength(2);
    const [pdf, xlsx] = readAttachmentTokens(await attachmentTokenKey(t.db), adminId, tokens);
    expect(pdf).toMatchObject({ filename: 'Nabídka č. 42.pdf', contentType: 'application/pdf', sizeBytes: 17 });
    expect((await t.store.get(pdf!.blobId)).toString()).toBe('%PDF-1.4 nabídka');
    expect(xlsx!.contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  });

  it('stores a file named ../../keys.json under a safe name, in the store only', async () => {
    const res = await upload(admin, [{ name: '../../keys.json', bytes: '{"keys":[]}' }]);
    const [a] = readAttachmentTokens(await attachmentTokenKey(t.db), adminId, tokensOf(await res.text()));
    expect(a!.filename).toBe('keys.json');
    expect(a!.blobId).toMatch(/^blob_[0-9a-f]+$/);
  });

  it('strips CR/LF from a file name', async () => {
    const res = await upload(admin, [{ name: 'faktura\r\nX-Evil: 1.pdf', bytes: 'x' }]);
    const [a] = readAttachmentTokens(await attachmentTokenKey(t.db), adminId, tokensOf(await res.text()));
    expect(a!.filename).not.toMatch(/[\r\n]/);
    expect(a!.filename.endsWith('.pdf')).toBe(true);
  });

  it('escapes a file name that looks like markup', async () => {
    const html = await (await upload(admin, [{ name: '<img src=x onerror=alert(1)>.txt', bytes: 'x' }])).text();
    expect(html).not.toContain('<img');
    expect(html).toContain('<span class="attachment-name">_img src=x onerror=alert(1)_.txt</span>');
  });

  it('stores the same content once', async () => {
    const key = await attachmentTokenKey(t.db);
    const first = readAttachmentTokens(key, adminId, tokensOf(await (await upload(admin, [{ name: 'a.pdf', bytes: 'same bytes' }])).text()));
    const second = readAttachmentTokens(key, adminId, tokensOf(await (await upload(admin, [{ name: 'b.pdf', bytes: 'same bytes' }])).text()));
    expect(second[0]!.blobId).toBe(first[0]!.blobId);
  });

  it('refuses files over the limit with a message naming the total and the limit, storing nothing', async () => {
    const before = await countObjects();
    const res = await upload(admin, [
      { name: 'velky1.bin', bytes: new Uint8Array(700 * 1024).fill(1) },
      { name: 'velky2.bin', bytes: new Uint8Array(700 * 1024).fill(2) },
    ]);
    expect(res.status).toBe(413);
    const text = await res.text();
    expect(text).toMatch(/1,4 MB/);
    expect(text).toMatch(/1 MB/);
    expect(await countObjects()).toBe(before);
  });

  it('answers 422 when no file was chosen', async () => {
    const form = new FormData();
    form.append('files', new File([], ''));
    expect((await admin.request('/attachments', { method: 'POST', body: form })).status).toBe(422);
  });

  it('is refused (403, logged) for a user who can neither write messages nor manage templates', async () => {
    await addUser(t.database, 'viewer', 'divak@firma.cz');
    const viewer = t.client();
    await signIn(viewer, 'divak@firma.cz', 'Heslo pro test 123');
    expect((await upload(viewer, [{ name: 'a.txt', bytes: 'x' }])).status).toBe(403);
    const denied = await t.db.select().from(auditLog).where(eq(auditLog.action, 'access.denied'));
    expect(denied.some((r) => r.objectId === 'POST /attachments')).toBe(true);
  });
});

async function countObjects() {
  let n = 0;
  for await (const _ of t.store.ids()) n++;
  return n;
}

describe('attachment tokens', () => {
  const a: PendingAttachment = { blobId: 'blob_abc', filename: 'a.pdf', contentType: 'application/pdf', sizeBytes: 10 };

  it('read back for the same user', async () => {
    const key = await attachmentTokenKey(t.db);
    expect(readAttachmentTokens(key, 7, [attachmentToken(key, 7, a)])).toEqual([a]);
  });

  it('are worthless to another user', async () => {
    const key = await attachmentTokenKey(t.db);
    expect(readAttachmentTokens(key, 8, [attachmentToken(key, 7, a)])).toEqual([]);
  });

  it('are dropped when forged or altered', async () => {
    const key = await attachmentTokenKey(t.db);
    const token = attachmentToken(key, 7, a);
    const [body, sig] = token.split('.');
    const forgedBody = Buffer.from(JSON.stringify({ u: 7, b: 'blob_other', f: 'x', t: 'text/plain', s: 1, i: Math.floor(Date.now() / 1000) })).toString('base64url');
    expect(readAttachmentTokens(key, 7, [`${forgedBody}.${sig}`, `${body}.${sig!.slice(1)}`, `${body}`, 'garbage', ''])).toEqual([]);
  });

  it('expire after a week', async () => {
    const key = await attachmentTokenKey(t.db);
    const old = attachmentToken(key, 7, a, Date.now() - 8 * 24 * 3600_000);
    expect(readAttachmentTokens(key, 7, [old])).toEqual([]);
  });

  it('keep their key across restarts (it lives in the database)', async () => {
    const key = await attachmentTokenKey(t.db);
    const [row] = await t.db.select().from(settings).where(eq(settings.key, 'attachments.token_key'));
    const reloaded = createSecretKey(Buffer.from(row!.value as string, 'base64'));
    expect(readAttachmentTokens(reloaded, 7, [attachmentToken(key, 7, a)])).toEqual([a]);
  });
});

describe('a form with attachments (readMultipartForm + collectAttachments)', () => {
  const earlierUploads = async () => {
    const html = await (await upload(admin, [
      { name: 'prvni.pdf', bytes: 'první' },
      { name: 'druhy.pdf', bytes: 'druhý' },
    ])).text();
    return tokensOf(html);
  };

  it('keeps earlier uploads in order, drops ticked ones, and appends the new files', async () => {
    const [first, second] = await earlierUploads();
    const form = new FormData();
    form.append('subject', 'Nabídka');
    form.append('attachment', first!);
    form.append('attachment', second!);
    form.append('remove_attachment', first!);
    form.append('files', new File(['třetí'], 'treti.pdf', { type: 'application/pdf' }));
    const result = await submit(admin, form);
    expect(result.fields.subject).toEqual(['Nabídka']);
    expect(result.attachments.map((x) => x.filename)).toEqual(['druhy.pdf', 'treti.pdf']);
    expect(totalBytes(result.attachments)).toBe(Buffer.byteLength('druhý') + Buffer.byteLength('třetí'));
  });

  it('ignores the empty part of an unused file input', async () => {
    const form = new FormData();
    form.append('subject', 'Bez příloh');
    form.append('files', new File([], ''));
    const result = await submit(admin, form);
    expect(result.attachments).toEqual([]);
  });

  it('keeps every field when the files go over the limit, and reports the size', async () => {
    const [first] = await earlierUploads();
    const form = new FormData();
    form.append('subject', 'Velká zpráva');
    form.append('body', '<p>Text, který se nesmí ztratit.</p>');
    form.append('files', new File([new Uint8Array(1536 * 1024)], 'velky.bin'));
    form.append('attachment', first!);
    form.append('to', 'jan@klient.cz');
    const result = await submit(admin, form);
    expect(result.tooLarge).toBe(true);
    expect(result.uploadedBytes).toBeGreaterThan(LIMIT_MB * 1024 * 1024);
    expect(result.fields.subject).toEqual(['Velká zpráva']);
    expect(result.fields.body).toEqual(['<p>Text, který se nesmí ztratit.</p>']);
    expect(result.fields.to).toEqual(['jan@klient.cz']);
    expect(result.attachments.map((x) => x.filename)).toEqual(['prvni.pdf']);
  });

  it('drops a forged token and a token of another user', async () => {
    const [mine] = await earlierUploads();
    const otherId = await addUser(t.database, 'staff', 'kolega@firma.cz');
    const key = await attachmentTokenKey(t.db);
    const stolen = attachmentToken(key, typeof otherId === 'number' ? otherId : adminId + 1000, {
      blobId: readAttachmentTokens(key, adminId, [mine!])[0]!.blobId, filename: 'cizi.pdf', contentType: 'application/pdf', sizeBytes: 5,
    });
    const form = new FormData();
    form.append('attachment', stolen);
    form.append('attachment', `${mine!.split('.')[0]}x.${mine!.split('.')[1]}`);
    form.append('attachment', mine!);
    const result = await submit(admin, form);
    expect(result.attachments.map((x) => x.filename)).toEqual(['prvni.pdf']);
  });

  it('names an earlier upload the store no longer has', async () => {
    const [first] = await earlierUploads();
    const html = await (await upload(admin, [{ name: 'smazany.pdf', bytes: `jen jednou ${Date.now()}` }])).text();
    const [gone] = tokensOf(html);
    await t.store.delete(readAttachmentTokens(await attachmentTokenKey(t.db), adminId, [gone!])[0]!.blobId);
    const form = new FormData();
    form.append('attachment', first!);
    form.append('attachment', gone!);
    const result = await submit(admin, form);
    expect(result.attachments.map((x) => x.filename)).toEqual(['prvni.pdf']);
    expect(result.missing).toEqual(['smazany.pdf']);
  });

  it('reads an ordinary urlencoded form too (no files)', async () => {
    const [first] = await earlierUploads();
    const res = await admin.post('/attachments/probe', { subject: 'Bez enctype', attachment: first! });
    const result = (await res.json()) as { fields: Record<string, string[]>; attachments: PendingAttachment[] };
    expect(result.fields.subject).toEqual(['Bez enctype']);
    expect(result.attachments.map((x) => x.filename)).toEqual(['prvni.pdf']);
  });
});

describe('the attachments field (views/partials/attachments.njk)', () => {
  const renderField = (items: { token: string; filename: string; sizeBytes: number }[], error: unknown = null) =>
    createViews().renderString(
      '{% import "partials/attachments.njk" as att with context %}{{ att.attachmentsField(items, limit, t, fmt, error) }}',
      { items, limit: 25 * 1024 * 1024, t: translator('cs'), fmt: formatters('cs', 'Europe/Prague'), asset: assetUrl, error },
    );

  it('lists the attachments with hidden tokens, remove boxes, and the total against the limit', () => {
    const html = renderField([
      { token: 'tok1', filename: 'Nabídka.pdf', sizeBytes: 2.5 * 1024 * 1024 },
      { token: 'tok2', filename: 'Ceník.xlsx', sizeBytes: 900 * 1024 },
    ]);
    expect(html).toContain('<input type="hidden" name="attachment" value="tok1">');
    expect(html).toContain('name="remove_attachment" value="tok2"');
    expect(html).toContain('Nabídka.pdf');
    expect(html).toContain('2,5 MB');
    expect(html).toContain('900 kB');
    expect(html).toContain('3,4 MB z 25 MB');
    expect(html).toContain('data-limit="26214400"');
  });

  it('offers a multiple file input that works without JavaScript, and a drop hint', () => {
    const html = renderField([]);
    expect(html).toMatch(/<input id="f-files" type="file" name="files" multiple/);
    expect(html).toContain('přetáhnout');
    expect(html).not.toMatch(/<script>|style="|\son[a-z]+=/);
  });

  it('shows an error next to the field', () => {
    const html = renderField([], { key: 'attachments.too_large', params: { total: '31,2 MB', limit: '25 MB' } });
    expect(html).toContain('Přílohy mají dohromady 31,2 MB, limit je 25 MB.');
    expect(html).toContain('aria-invalid="true"');
  });
});

describe('requests far over the limit', () => {
  it('stops reading a request more than twice over the limit and answers 413', async () => {
    const res = await upload(admin, [{ name: 'obri.bin', bytes: new Uint8Array(4 * 1024 * 1024) }]);
    expect(res.status).toBe(413);
  });
});

describe('a storage folder that cannot be written', () => {
  it('answers 503 with a message instead of a server error', async () => {
    const other = await createTestApp();
    try {
      const client = other.client();
      await setUpAdmin(client);
      // The folder replaced by a file: every write fails (as with a volume gone or read-only).
      await rm(other.store.dir, { recursive: true, force: true });
      await writeFile(other.store.dir, 'not a folder');
      const res = await upload(client, [{ name: 'a.pdf', bytes: 'x' }]);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('nepodařilo uložit');
    } finally {
      await other.close();
    }
  });
});

describe('malformed uploads', () => {
  it('answers 400 to a multipart body cut off in the middle', async () => {
    const body = '--XYZ\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhalf a fi';
    const res = await admin.request('/attachments', { method: 'POST', body, headers: { 'Content-Type': 'multipart/form-data; boundary=XYZ' } });
    expect(res.status).toBe(400);
  });
});
