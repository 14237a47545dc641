import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages, testMailbox } from '../db/schema/index.ts';
import { Sender } from '../sender/sender.ts';
import { createTestApp } from '../test-support/harness.ts';
import { startTestMailbox, type TestMailbox } from './test-mailbox.ts';

describe('the built-in test mailbox', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let box: TestMailbox;
  beforeAll(async () => {
    t = await createTestApp();
    box = await startTestMailbox({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), port: 0 });
  });
  afterAll(async () => {
    await box.close();
    await t.close();
  });

  it('keeps what the sender delivers while no SMTP account exists, encrypted in the store', async () => {
    const [m] = await t.db
      .insert(messages)
      .values({
        status: 'queued',
        messageIdHeader: `<${randomUUID()}@posel.test>`,
        subject: 'Potvrzení objednávky OBJ-2026-0042',
        toAddrs: [{ address: 'marie@dvorakova.cz', name: 'Marie Dvořáková' }],
        recipients: 'marie@dvorakova.cz',
        bodyBlob: await t.store.putBlob('<p>Děkujeme za objednávku.</p>'),
        sendAt: new Date(),
      })
      .returning();
    const sender = new Sender({ db: t.db, store: t.store, logger: pino({ level: 'silent' }), testMailbox: { host: box.host, port: box.port } });
    expect(await sender.tick()).toBe(1);
    await sender.stop();

    const [sent] = await t.db.select().from(messages).where(eq(messages.id, m!.id));
    expect(sent!.status).toBe('sent');
    expect(sent!.lastResult).toMatch(/^250 Stored in the test mailbox as #\d+$/);
    const [received] = await t.db.select().from(testMailbox);
    expect(received).toMatchObject({ subject: 'Potvrzení objednávky OBJ-2026-0042', envelopeTo: 'marie@dvorakova.cz', messageIdHeader: m!.messageIdHeader });
    expect((await t.store.get(received!.blobId)).toString()).toContain('Message-ID: ' + m!.messageIdHeader);
  });
});
