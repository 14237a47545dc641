/**
 * Fills the queue fast for sender tests and the send benchmark: many queued messages inserted in batches
 * (not through the composer), each with its own Message-ID, optionally sharing one attachment blob.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import { messageAttachments, messages, messageSearch } from '../../db/schema/index.ts';
import { searchVector } from '../../messages/service.ts';

export interface SeedAttachment {
  blobId: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

export interface SeedOptions {
  count: number;
  /** Store ids of bodies; message i gets `bodyBlobs[i % length]`. */
  bodyBlobs: string[];
  accountId: number | null;
  attachment?: SeedAttachment;
  sendAt?: Date;
  /** The recipient of message i. */
  to?: (i: number) => string;
  /** The body text message i is found by (as a composed message's search vector); none: not found by search. */
  searchText?: (i: number) => string;
  batch?: number;
}

/** Queues `count` messages; returns their Message-ID headers in order (`<seed-…@posel.test>`). */
export async function seedQueue(db: Db, options: SeedOptions): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  const sendAt = options.sendAt ?? new Date();
  const to = options.to ?? ((i: number) => `klient${i}@firma.cz`);
  const batch = options.batch ?? 500;
  const ids: string[] = [];
  for (let start = 0; start < options.count; start += batch) {
    const rows: (typeof messages.$inferInsert & { subject: string; recipients: string })[] = [];
    for (let i = start; i < Math.min(options.count, start + batch); i++) {
      const messageIdHeader = `<seed-${run}-${i}@posel.test>`;
      ids.push(messageIdHeader);
      const address = to(i);
      const subject = `Faktura 2026-${String(i).padStart(6, '0')} – připomínka splatnosti`;
      rows.push({
        status: 'queued',
        messageIdHeader,
        subject,
        toAddrs: [{ address, name: `Klient č. ${i}` }],
        recipients: address,
        bodyBlob: options.bodyBlobs[i % options.bodyBlobs.length]!,
        sendAt,
        queuedAt: sendAt,
        accountId: options.accountId,
        attachmentCount: options.attachment ? 1 : 0,
      });
    }
    const inserted = await db.insert(messages).values(rows).returning({ id: messages.id });
    const searchText = options.searchText;
    if (searchText) {
      await db.insert(messageSearch).values(inserted.map((m, k) => ({ messageId: m.id, search: searchVector(rows[k]!.subject, rows[k]!.recipients, searchText(start + k)) })));
    }
    const file = options.attachment;
    if (file) {
      await db.insert(messageAttachments).values(inserted.map((m) => ({ messageId: m.id, ...file })));
    }
  }
  return ids;
}
