/**
 * A loopback SMTP peer for the process tests: accepts everything and records each message's Message-ID.
 * Unlike `test-support/smtp-peer.ts` it expects clients to vanish (a sender killed with SIGKILL resets its
 * connections), so connection errors are ignored instead of surfacing as unhandled 'error' events.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface RecordingPeer {
  port: number;
  /** Message-ID of every message received in full, in arrival order (a duplicate appears twice). */
  received: string[];
  /** Envelope recipients → the Message-IDs they received (with repeats). */
  byRecipient: Map<string, string[]>;
  close(): Promise<void>;
}

export async function startRecordingPeer(): Promise<RecordingPeer> {
  const received: string[] = [];
  const byRecipient = new Map<string, string[]>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    maxClients: 1000,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => {}); // the client went away mid-message: nothing was received
      stream.on('end', () => {
        const head = Buffer.concat(chunks).subarray(0, 8192).toString('latin1');
        const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(head)?.[1] ?? '(none)';
        received.push(messageId);
        for (const { address } of session.envelope.rcptTo) byRecipient.set(address, [...(byRecipient.get(address) ?? []), messageId]);
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    byRecipient,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
