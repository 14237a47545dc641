/**
 * A real SMTP server on loopback (`smtp-server`) for sender tests, with switchable fault modes: what a
 * provider answers on connect, RCPT and DATA, dropped connections, silence. It records what it accepted.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  messageId: string | undefined;
  parsed: () => Promise<ParsedMail>;
}

export interface PeerBehaviour {
  /** Reply code (and text) on connect, e.g. 421. */
  onConnect?: { code: number; message: string } | null;
  /** Per recipient: a reply code to refuse it with. */
  onRcpt?: (address: string) => { code: number; message: string } | null;
  /** After the message data: refuse, drop the connection, or never answer. */
  onData?: 'accept' | { code: number; message: string } | 'drop-after-data' | 'drop-during-data' | 'silence';
  /** Delay before answering DATA, in ms (a slow server). */
  dataDelayMs?: number;
}

export interface SmtpPeer {
  port: number;
  received: Received[];
  behaviour: PeerBehaviour;
  close(): Promise<void>;
}

type Conn = { _socket?: { destroy(): void } };

export async function startSmtpPeer(options: Partial<SMTPServerOptions> = {}, behaviour: PeerBehaviour = {}): Promise<SmtpPeer> {
  const received: Received[] = [];
  const peer = { behaviour } as SmtpPeer;
  const fail = (r: { code: number; message: string }) => Object.assign(new Error(r.message), { responseCode: r.code });
  let server: SMTPServer;
  const dropAll = () => {
    for (const c of (server as unknown as { connections: Set<Conn> }).connections) c._socket?.destroy();
  };
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onConnect(_session, cb) {
      const r = peer.behaviour.onConnect;
      cb(r ? fail(r) : undefined);
    },
    onRcptTo(address, _session, cb) {
      const r = peer.behaviour.onRcpt?.(address.address);
      cb(r ? fail(r) : undefined);
    },
    onData(stream, session, cb) {
      const mode = peer.behaviour.onData ?? 'accept';
      if (mode === 'drop-during-data') {
        stream.once('data', () => dropAll());
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (mode === 'silence') return;
        if (mode === 'drop-after-data') return dropAll();
        const answer = () => {
          if (typeof mode === 'object') return cb(fail(mode));
          const raw = Buffer.concat(chunks);
          const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(raw.toString('latin1'))?.[1];
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            messageId,
            parsed: () => simpleParser(raw),
          });
          cb();
        };
        if (peer.behaviour.dataDelayMs) setTimeout(answer, peer.behaviour.dataDelayMs);
        else answer();
      });
    },
    ...options,
  });
  // A client that drops its connection (a killed sender) is not a failure of the peer.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.port = (server.server.address() as AddressInfo).port;
  peer.received = received;
  peer.close = () =>
    new Promise<void>((resolve) => {
      dropAll();
      server.close(() => resolve());
    });
  return peer;
}
