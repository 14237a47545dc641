/**
 * Building a message as MIME (an .eml file, or what SMTP sends) with nodemailer's composer. It gets
 * buffers only — never paths or URLs — and file and URL access is disabled on top of that. Headers
 * are checked for CR/LF here too, although addresses and subjects are validated long before.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MessageAddress } from './address.ts';
import { htmlToPlainText } from './html.ts';

export interface MimeAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface MimeInput {
  /** `<…@…>`, fixed when the message was created. */
  messageId: string;
  from?: MessageAddress;
  to: MessageAddress[];
  cc?: MessageAddress[];
  bcc?: MessageAddress[];
  replyTo?: MessageAddress;
  subject: string;
  html: string;
  /** Plain-text part; derived from `html` when missing. */
  text?: string;
  date?: Date;
  attachments: MimeAttachment[];
  /** Extra headers (names and values are checked for CR/LF). */
  headers?: Record<string, string>;
}

// eslint-disable-next-line no-control-regex
const HEADER_UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/;
const HEADER_NAME = /^[A-Za-z0-9-]{1,76}$/;
const MESSAGE_ID = /^<[^<>\s@]+@[^<>\s@]+>$/;

/** Thrown when a header value would carry a line break or other control character. */
export class UnsafeHeaderError extends Error {
  constructor(readonly field: string) {
    super(`Refusing to build a message: the ${field} header holds a line break or control character.`);
    this.name = 'UnsafeHeaderError';
  }
}

function checkHeader(field: string, value: string | undefined): void {
  if (value !== undefined && HEADER_UNSAFE.test(value)) throw new UnsafeHeaderError(field);
}

function checkAddresses(field: string, list: MessageAddress[] | undefined): { name: string; address: string }[] | undefined {
  if (!list?.length) return undefined;
  return list.map((a) => {
    checkHeader(field, a.address);
    checkHeader(field, a.name);
    if (/[\s<>"]/.test(a.address)) throw new UnsafeHeaderError(field);
    return { name: a.name ?? '', address: a.address };
  });
}

/**
 * Builds the RFC 5322 message. `unsent` adds `X-Unsent: 1` (Outlook then opens the .eml as an editable
 * draft) and keeps the Bcc header, as does `keepBcc`; otherwise Bcc recipients are not written.
 * Throws `UnsafeHeaderError` for CR/LF in the subject, names, addresses or extra headers.
 */
export async function buildMime(input: MimeInput, opts: { unsent?: boolean; keepBcc?: boolean } = {}): Promise<Buffer> {
  checkHeader('Subject', input.subject);
  checkHeader('Message-ID', input.messageId);
  if (!MESSAGE_ID.test(input.messageId)) throw new UnsafeHeaderError('Message-ID');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw new UnsafeHeaderError(name);
    checkHeader(name, value);
    headers[name] = value;
  }
  if (opts.unsent) headers['X-Unsent'] = '1';
  const composer = new MailComposer({
    messageId: input.messageId,
    from: checkAddresses('From', input.from ? [input.from] : undefined)?.[0],
    to: checkAddresses('To', input.to),
    cc: checkAddresses('Cc', input.cc),
    bcc: checkAddresses('Bcc', input.bcc),
    replyTo: checkAddresses('Reply-To', input.replyTo ? [input.replyTo] : undefined)?.[0],
    subject: input.subject,
    date: input.date ?? new Date(),
    html: input.html,
    text: input.text ?? htmlToPlainText(input.html),
    headers,
    attachments: input.attachments.map((a) => ({
      filename: safeFilename(a.filename),
      contentType: safeContentType(a.contentType),
      content: a.content,
      contentDisposition: 'attachment',
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const node = composer.compile();
  node.keepBcc = Boolean(opts.unsent || opts.keepBcc);
  return node.build();
}

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** A bare `type/subtype` (parameters dropped), or application/octet-stream for anything odd. */
export function safeContentType(value: string): string {
  const bare = (value.split(';')[0] ?? '').trim().toLowerCase();
  return CONTENT_TYPE.test(bare) ? bare : 'application/octet-stream';
}

const MAX_FILENAME_CHARS = 180;
const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|$)/i;

/**
 * A file name safe for a header, a download and any desktop: the last path segment only
 * (`../../keys.json` → `keys.json`), no control characters or line breaks, none of `<>:"/\|?*`, no
 * leading dots or trailing dots and spaces, not a reserved Windows device name, at most 180 characters
 * keeping the extension. Never empty: `attachment`.
 */
export function safeFilename(name: string): string {
  let s = String(name ?? '').normalize('NFC');
  s = s.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
  s = s.replace(/[<>:"|?*]/g, '_');
  s = s.replace(/\s+/g, ' ').trim();
  s = s.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  if ([...s].length > MAX_FILENAME_CHARS) {
    const chars = [...s];
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 ? [...s.slice(dot)] : [];
    const keepExt = ext.length > 1 && ext.length <= 20 ? ext : [];
    s = chars.slice(0, MAX_FILENAME_CHARS - keepExt.length).join('').replace(/[.\s]+$/, '') + keepExt.join('');
  }
  return s || 'attachment';
}
