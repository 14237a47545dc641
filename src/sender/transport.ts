/**
 * SMTP transports: one pooled nodemailer transport per account (rebuilt when the account changes), fed
 * prebuilt raw messages with an explicit envelope. Each send reports whether the whole message had been
 * handed to the connection when it failed, which is what separates "deferred" from "uncertain".
 */
import { Readable } from 'node:stream';
import { requestsDone } from '../http/busy.ts';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

export type Security = 'none' | 'starttls' | 'tls';


export interface TransportConfig {
  /** Identifies the configuration: a changed key gets a fresh transport. */
  key: string;
  host: string;
  port: number;
  security: Security;
  allowInvalidCert: boolean;
  username?: string | null;
  password?: string | null;
  poolSize: number;
  /** Milliseconds; defaults suit real providers. Tests shorten them. */
  timeouts?: { connection?: number; greeting?: number; socket?: number };
}

export interface RejectedRecipient {
  address: string;
  code: number | null;
  response: string;
}

export interface SendReport {
  response: string;
  accepted: string[];
  rejected: RejectedRecipient[];
}

/** What went wrong, with nodemailer's classification fields and whether DATA had been fully written. */
export class SendFailure extends Error {
  override name = 'SendFailure';
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly command: string | undefined,
    readonly responseCode: number | undefined,
    readonly response: string | undefined,
    /** The message's last byte had been handed to the connection: the server may have accepted it. */
    readonly afterData: boolean,
    readonly rejected: RejectedRecipient[] = [],
  ) {
    super(message);
  }
}

interface NodemailerError extends Error {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  rejected?: string[];
  rejectedErrors?: NodemailerError[];
  recipient?: string;
}

const rejectedOf = (errors: NodemailerError[] | undefined): RejectedRecipient[] =>
  (errors ?? []).map((e) => ({ address: e.recipient ?? '', code: e.responseCode ?? null, response: e.response ?? e.message }));

/** Server, security, login and timeouts: the same for a pooled sender and a one-off verify. */
function connectionOptions(config: TransportConfig, defaults: { connection: number; greeting: number; socket: number }) {
  return {
    host: config.host,
    port: config.port,
    secure: config.security === 'tls',
    requireTLS: config.security === 'starttls',
    ignoreTLS: config.security === 'none',
    tls: { rejectUnauthorized: !config.allowInvalidCert },
    auth: config.username ? { user: config.username, pass: config.password ?? '' } : undefined,
    connectionTimeout: config.timeouts?.connection ?? defaults.connection,
    greetingTimeout: config.timeouts?.greeting ?? defaults.greeting,
    socketTimeout: config.timeouts?.socket ?? defaults.socket,
  };
}

/** The most bytes handed to a connection at once. */
const PIECE_BYTES = 64 * 1024;

/**
 * `chunks` as consecutive pieces of `size` bytes (the last one shorter): a piece inside one chunk is a
 * view of it, a piece across chunks a copy of the parts.
 */
export function piecesOf(chunks: readonly Buffer[], size: number): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const flush = () => {
    if (runBytes) out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(size - runBytes, chunk.length - offset);
      run.push(chunk.subarray(offset, offset + take));
      runBytes += take;
      offset += take;
      if (runBytes === size) flush();
    }
  }
  flush();
  return out;
}

export class Transports {
  readonly #pool = new Map<string, { key: string; transporter: Transporter }>();

  #get(id: string, config: TransportConfig): Transporter {
    const cached = this.#pool.get(id);
    if (cached?.key === config.key) return cached.transporter;
    cached?.transporter.close();
    const transporter = nodemailer.createTransport({
      pool: true,
      maxConnections: Math.max(1, config.poolSize),
      maxMessages: 100,
      ...connectionOptions(config, { connection: 30_000, greeting: 30_000, socket: 120_000 }),
      disableFileAccess: true,
      disableUrlAccess: true,
    } satisfies SMTPPool.Options);
    this.#pool.set(id, { key: config.key, transporter });
    return transporter;
  }

  /**
   * Sends `raw` (the message, or its chunks in order) to `to` through the account `id`; resolves with the
   * server's reply or throws `SendFailure`.
   */
  async send(id: string, config: TransportConfig, envelope: { from: string; to: string[] }, raw: Buffer | Buffer[]): Promise<SendReport> {
    let afterData = false;
    // Handed over in pieces of 64 KiB as the connection drains, so "ended" means the connection took the
    // last byte. Small chunks (headers, boundaries) are joined: each piece is one write to the socket.
    const pieces = piecesOf(Array.isArray(raw) ? raw : [raw], PIECE_BYTES);
    let next = 0;
    const stream = new Readable({
      read() {
        const piece = pieces[next++];
        if (!piece) return void this.push(null);
        // Web requests first (src/http/busy.ts): the next piece waits while a page is being served.
        void requestsDone().then(() => {
          if (!this.destroyed) this.push(piece);
        });
      },
    });
    stream.once('end', () => {
      afterData = true;
    });
    try {
      const info = (await this.#get(id, config).sendMail({ envelope, raw: stream })) as {
        response?: string;
        accepted?: (string | { address: string })[];
        rejectedErrors?: NodemailerError[];
      };
      return {
        response: info.response ?? '',
        accepted: (info.accepted ?? []).map((a) => (typeof a === 'string' ? a : a.address)),
        rejected: rejectedOf(info.rejectedErrors),
      };
    } catch (error) {
      const e = error as NodemailerError;
      throw new SendFailure(e.message, e.code, e.command, e.responseCode, e.response, afterData, rejectedOf(e.rejectedErrors));
    }
  }

  /** Verifies connection and login (the "Test connection" button); throws nodemailer's error. */
  async verify(config: TransportConfig): Promise<void> {
    const transporter = nodemailer.createTransport({
      ...connectionOptions(config, { connection: 15_000, greeting: 15_000, socket: 30_000 }),
    } satisfies SMTPTransport.Options);
    try {
      await transporter.verify();
    } finally {
      transporter.close();
    }
  }

  /** Closes every pooled connection (shutdown, or an account removed). */
  closeAll(): void {
    for (const { transporter } of this.#pool.values()) transporter.close();
    this.#pool.clear();
  }
}
