/**
 * The built-in test mailbox: an SMTP server on loopback that keeps what it receives (encrypted in the
 * store, listed in `test_mailbox`). While no SMTP account is configured, the sender delivers here, so a
 * fresh `npm start` can send at once without mail leaving the machine.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { Db } from '../db/client.ts';
import { testMailbox } from '../db/schema/index.ts';
import type { Store } from '../store/store.ts';

/** Largest message the test mailbox accepts (the attachment limit plus MIME overhead, generously). */
const MAX_BYTES = 200 * 1024 * 1024;

export interface TestMailbox {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startTestMailbox(options: { db: Db; store: Store; logger: Logger; port: number; host?: string }): Promise<TestMailbox> {
  const host = options.host ?? '127.0.0.1';
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    banner: 'Posel test mailbox: nothing leaves this machine',
    size: MAX_BYTES,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return callback(Object.assign(new Error('Message too large for the test mailbox'), { responseCode: 552 }));
        }
        try {
          const raw = Buffer.concat(chunks);
          const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
          const blobId = await options.store.putBlob(raw);
          const [row] = await options.db
            .insert(testMailbox)
            .values({
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              envelopeTo: session.envelope.rcptTo.map((r) => r.address).join(', '),
              subject: (parsed.subject ?? '').slice(0, 1000),
              messageIdHeader: parsed.messageId ?? null,
              blobId,
              sizeBytes: raw.length,
            })
            .returning({ id: testMailbox.id });
          callback(null, `Stored in the test mailbox as #${row!.id}`);
        } catch (err) {
          options.logger.error({ err }, 'test mailbox could not store a message');
          callback(Object.assign(new Error('Test mailbox could not store the message, try again'), { responseCode: 451 }));
        }
      });
    },
  });
  server.on('error', (err) => options.logger.warn({ err }, 'test mailbox error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  return {
    host,
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
