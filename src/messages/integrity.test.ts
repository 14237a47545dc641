/**
 * A stored body that was altered (a flipped byte, a truncated or swapped file) fails closed: the user gets
 * a clear error page instead of garbage, and the action log gets a failed row naming the object.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, messages } from '../db/schema/index.ts';
import { createAdminApp, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { createDraft } from './service.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;

async function fileOf(id: string, dir = t.store.dir): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = await fileOf(id, full).catch(() => '');
      if (found) return found;
    } else if (entry.name === id) return full;
  }
  throw new Error(`no file for ${id}`);
}

const draft = (body: string) =>
  createDraft(t.db, t.store, SYSTEM, { subject: 'Smlouva', to: [{ address: 'jan@novak.cz' }], cc: [], bcc: [], bodyHtml: body, attachments: [] });
const blobOf = async (id: number) => (await t.db.select().from(messages).where(eq(messages.id, id)))[0]!.bodyBlob;

beforeAll(async () => {
  [t, admin] = await createAdminApp();
});
afterAll(() => t.close());

describe('an altered stored body', () => {
  it('a flipped byte: a clear error page, no content, and a failed audit row naming the object', async () => {
    const id = await draft('<p>Tajné podmínky smlouvy</p>');
    const file = await fileOf(await blobOf(id));
    const bytes = await readFile(file);
    bytes[bytes.length - 20]! ^= 0x01;
    await writeFile(file, bytes);

    const res = await admin.get(`/messages/${id}/body`);
    expect(res.status).toBe(500);
    const html = await res.text();
    expect(html).toContain('Uložený soubor je poškozený nebo chybí');
    expect(html).not.toContain('Tajné podmínky');
    const [row] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'store.unreadable'));
    expect(row).toMatchObject({ objectType: 'blob', objectId: await blobOf(id), result: 'failed' });
    expect(row!.summary).toContain('auth_failed');
  });

  it('a file swapped for another message\'s file is refused too (the id is bound to the content)', async () => {
    const a = await draft('<p>První</p>');
    const b = await draft('<p>Druhá</p>');
    await writeFile(await fileOf(await blobOf(a)), await readFile(await fileOf(await blobOf(b))));
    expect((await admin.get(`/messages/${a}/body`)).status).toBe(500);
  });

  it('a truncated file is refused', async () => {
    const id = await draft('<p>Zkrácená</p>');
    const file = await fileOf(await blobOf(id));
    await writeFile(file, (await readFile(file)).subarray(0, 10));
    const res = await admin.get(`/messages/${id}/body`);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('Uložený soubor je poškozený nebo chybí');
  });
});
