import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { messages, templateAttachments, templates } from '../db/schema/index.ts';
import { createTestApp } from '../test-support/harness.ts';
import { sweepStore } from './sweep.ts';

describe('store sweep against the database', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('removes only blobs no message, message attachment or template attachment uses', async () => {
    const body = await t.store.putBlob('<p>Dobrý den</p>');
    const templateFile = await t.store.putBlob(Buffer.alloc(1000, 7));
    const orphan = await t.store.putBlob('nikdo mě nepoužívá');
    await t.db.insert(messages).values({ messageIdHeader: '<sweep-1@posel.invalid>', bodyBlob: body });
    const [template] = await t.db.insert(templates).values({ name: 'Faktura', purpose: 'order' }).returning();
    await t.db.insert(templateAttachments).values({
      templateId: template!.id,
      blobId: templateFile,
      filename: 'obchodni-podminky.pdf',
      contentType: 'application/pdf',
      sizeBytes: 1000,
    });

    const result = await sweepStore(t.db, t.store, { graceMs: 0 });

    expect(result.deleted).toBe(1);
    expect(await t.store.has(orphan)).toBe(false);
    expect(await t.store.has(body)).toBe(true);
    expect(await t.store.has(templateFile)).toBe(true);
  });

  it('keeps a fresh unreferenced blob during the grace period (its row may not be committed yet)', async () => {
    const fresh = await t.store.putBlob('právě nahráno');
    const result = await sweepStore(t.db, t.store);
    expect(result.deleted).toBe(0);
    expect(await t.store.has(fresh)).toBe(true);
  });

  it('keeps a pack of bodies while any message uses one of its parts, and removes it after the last', async () => {
    const [first, second] = await t.store.putBlobs(['<p>Dobrý den, paní Nováková</p>', '<p>Dobrý den, pane Dvořáku</p>']);
    const pack = first!.split('~')[0]!;
    const [a, b] = await t.db
      .insert(messages)
      .values([
        { messageIdHeader: '<sweep-pack-1@posel.invalid>', bodyBlob: first! },
        { messageIdHeader: '<sweep-pack-2@posel.invalid>', bodyBlob: second! },
      ])
      .returning();
    await sweepStore(t.db, t.store, { graceMs: 0 });
    expect(await t.store.has(pack)).toBe(true);
    // One message edited (its body now a blob of its own), the other still in the pack: the pack stays.
    await t.db.update(messages).set({ bodyBlob: await t.store.putBlob('<p>upraveno</p>') }).where(eq(messages.id, a!.id));
    await sweepStore(t.db, t.store, { graceMs: 0 });
    expect((await t.store.get(second!)).toString()).toBe('<p>Dobrý den, pane Dvořáku</p>');
    await t.db.delete(messages).where(eq(messages.id, b!.id));
    await sweepStore(t.db, t.store, { graceMs: 0 });
    expect(await t.store.has(pack)).toBe(false);
  });
});
