/**
 * Building a message as MIME (an .eml file, or what SMTP sends). Headers and the MIME tree come from
 * nodemailer's MimeNode (its header encoding, folding and address handling); the parts' bodies are
 * encoded here, synchronously, with the transfer encodings nodemailer would choose and its escapes
 * (`qp.ts`, which may break quoted-printable lines elsewhere) and base64 lines, so the bytes are those of
 * nodemailer's streaming `build()` up to where soft line breaks fall, at a fraction of its cost. A body's
 * text and HTML parts and an attachment's part can be encoded once (`encodeBody`, `encodeAttachment`) and
 * put into any number of messages (`assembleMime`): the sender does that for a body or a file many
 * messages share.
 *
 * It gets buffers only — never paths or URLs — and file and URL access is disabled on top of that.
 * Headers are checked for CR/LF here too, although addresses and subjects are validated long before.
 */
import { PassThrough } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';
import type { MessageAddress } from './address.ts';
import { htmlToPlainText } from './html.ts';
import { quotedPrintable } from './qp.ts';

export interface MimeAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** Everything but the body: the header fields of a message. */
export interface MimeHeaderInput {
  /** `<…@…>`, fixed when the message was created. */
  messageId: string;
  from?: MessageAddress;
  to: MessageAddress[];
  cc?: MessageAddress[];
  bcc?: MessageAddress[];
  replyTo?: MessageAddress;
  subject: string;
  date?: Date;
  /** Extra headers (names and values are checked for CR/LF). */
  headers?: Record<string, string>;
}

export interface MimeInput extends MimeHeaderInput {
  html: string;
  /** Plain-text part; derived from `html` when missing. */
  text?: string;
  attachments: MimeAttachment[];
}

/** A body's text/plain and text/html parts, encoded (headers and content), for `assembleMime`. */
export interface EncodedBody {
  readonly text: Buffer;
  readonly html: Buffer;
}

/** One attachment's part, encoded (headers and content), for `assembleMime`. */
export interface EncodedPart {
  readonly bytes: Buffer;
}

// eslint-disable-next-line no-control-regex
const HEADER_UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/;
const HEADER_NAME = /^[A-Za-z0-9-]{1,76}$/;
const MESSAGE_ID = /^<[^<>\s@]+@[^<>\s@]+>$/;
const NODE_OPTIONS = { disableFileAccess: true, disableUrlAccess: true } as const;
const CRLF = Buffer.from('\r\n');

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

/** The checked header fields, in the form (and order) nodemailer's composer sets them on the root. */
function headerFields(input: MimeHeaderInput, opts: { unsent?: boolean }) {
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
  return {
    headers,
    from: checkAddresses('From', input.from ? [input.from] : undefined)?.[0],
    to: checkAddresses('To', input.to),
    cc: checkAddresses('Cc', input.cc),
    bcc: checkAddresses('Bcc', input.bcc),
    replyTo: checkAddresses('Reply-To', input.replyTo ? [input.replyTo] : undefined)?.[0],
    subject: input.subject,
    messageId: input.messageId,
    date: input.date ?? new Date(),
  };
}

/** Base64 in lines of 76 characters, each but the last ended by CRLF (as nodemailer's encoder writes it). */
function base64Lines(content: Buffer): Buffer {
  const b64 = Buffer.from(content.toString('base64'), 'latin1');
  const lines = Math.ceil(b64.length / 76);
  if (lines <= 1) return b64;
  const out = Buffer.allocUnsafe(b64.length + (lines - 1) * 2);
  let to = 0;
  for (let from = 0; from < b64.length; from += 76) {
    if (from) to += CRLF.copy(out, to);
    to += b64.copy(out, to, from, Math.min(from + 76, b64.length));
  }
  return out;
}

/** Per ASCII code: 1 a Latin letter, 2 a control character MimeNode counts against plain text, 0 neither. */
const ASCII_CLASS = new Uint8Array(128).map((_, c) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? 1 : c <= 0x08 || c === 0x0b || c === 0x0c || (c >= 0x0e && c <= 0x1f) ? 2 : 0,
);

/**
 * The transfer encoding MimeNode gives a text part: 7bit for printable ASCII in lines of at most 76
 * characters (and at most 128 KiB), else quoted-printable when Latin letters outnumber other characters
 * (non-ASCII and control characters), else base64. One pass over the text (MimeNode's regular
 * expressions take three).
 */
function textTransferEncoding(text: string): string {
  let other = 0;
  let latin = 0;
  let lineStart = 0;
  let longLine = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) other++;
    else {
      const kind = ASCII_CLASS[c]!;
      if (kind === 1) latin++;
      else if (kind === 2) other++;
      else if (c === 0x0a || c === 0x0d) {
        if (i - lineStart > 76) longLine = true;
        lineStart = i + 1;
      }
    }
  }
  if (text.length - lineStart > 76) longLine = true;
  if (other === 0 && !longLine && text.length <= 128 * 1024) return '7bit';
  return other < latin ? 'quoted-printable' : 'base64';
}

/** Streams one node through nodemailer (a message/* attachment, which is not base64). */
function streamNode(node: MimeNode): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    out.on('end', () => resolve(Buffer.concat(chunks)));
    out.on('error', reject);
    node.stream(out, {}, (err?: Error | null) => (err ? reject(err) : out.end()));
  });
}

/** A parent for encoding parts on their own (a part's headers do not depend on the message it goes in). */
const scratchParent = () => new MimeNode('multipart/mixed', NODE_OPTIONS);

/**
 * A text part's bytes: the two headers MimeNode writes for it, a blank line, and the text in the transfer
 * encoding MimeNode would choose. Built directly: a MimeNode per part costs more than its headers.
 */
function textPart(type: 'text/plain' | 'text/html', text: string): Buffer {
  const encoding = textTransferEncoding(text);
  const bytes = Buffer.from(text, 'utf8');
  const content = encoding === 'quoted-printable' ? quotedPrintable(bytes) : encoding === 'base64' ? base64Lines(bytes) : bytes;
  return Buffer.concat([Buffer.from(`Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`, 'latin1'), content]);
}

/**
 * Encodes a body's plain-text and HTML parts once, for any number of messages. `text` is derived from
 * `html` when missing. Null when either would be empty: such a message has no alternative part, and
 * `buildMime` builds it whole.
 */
export async function encodeBody(html: string, text?: string): Promise<EncodedBody | null> {
  const plain = text ?? htmlToPlainText(html);
  if (!html || !plain) return null;
  return { text: textPart('text/plain', plain), html: textPart('text/html', html) };
}

/** Encodes one attachment's part once, for any number of messages (file name and type made safe). */
export async function encodeAttachment(a: MimeAttachment): Promise<EncodedPart> {
  const contentType = safeContentType(a.contentType);
  const node = scratchParent().createChild(contentType, { ...NODE_OPTIONS, filename: safeFilename(a.filename) });
  // As nodemailer's composer does (and in its header order): a message/* part cannot be encoded
  // (RFC 2046 5.2.1); anything else is base64.
  const message = /^message\//i.test(contentType);
  node.setHeader('Content-Transfer-Encoding', !message ? 'base64' : a.content.every((b) => b < 0x80) ? '7bit' : '8bit');
  node.setHeader('Content-Disposition', 'attachment');
  node.setContent(a.content);
  if (message) return { bytes: await streamNode(node) };
  return { bytes: Buffer.concat([Buffer.from(`${node.buildHeaders()}\r\n\r\n`, 'utf8'), base64Lines(a.content)]) };
}

/** Raw bytes of the nodes of one tree: what `serialize` writes for a leaf. */
type RawParts = Map<MimeNode, Buffer>;

/** A child of `parent` whose bytes are already encoded (nodemailer's `build()` writes them as they are). */
function rawChild(parent: MimeNode, bytes: Buffer, raws: RawParts): void {
  const child = parent.createChild(false, NODE_OPTIONS);
  child.setRaw(bytes);
  raws.set(child, bytes);
}

/** The tree as nodemailer's `stream()` writes it: headers, blank line, each child between boundaries. */
function serialize(node: MimeNode, raws: RawParts, out: Buffer[]): void {
  const raw = raws.get(node);
  if (raw) return void out.push(raw);
  out.push(Buffer.from(`${node.buildHeaders()}\r\n\r\n`, 'utf8'));
  const boundary = node.boundary;
  if (!node.multipart || !boundary) throw new Error('assembleMime: a leaf without encoded bytes');
  node.childNodes.forEach((child, i) => {
    out.push(Buffer.from(`${i ? '\r\n' : ''}--${boundary}\r\n`, 'latin1'));
    serialize(child, raws, out);
  });
  out.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
}

/**
 * The MIME tree of a message from encoded parts: multipart/alternative (text, HTML) alone, or inside
 * multipart/mixed with the attachments — the structure nodemailer's composer gives such a message.
 * Exposed with its raw parts so tests can compare with nodemailer's own `build()` of the same tree.
 */
export function mimeTree(input: MimeHeaderInput, body: EncodedBody, attachments: EncodedPart[], opts: { unsent?: boolean; keepBcc?: boolean } = {}) {
  const fields = headerFields(input, opts);
  const raws: RawParts = new Map();
  const root = new MimeNode(attachments.length ? 'multipart/mixed' : 'multipart/alternative', NODE_OPTIONS);
  const alternative = attachments.length ? root.createChild('multipart/alternative', NODE_OPTIONS) : root;
  rawChild(alternative, body.text, raws);
  rawChild(alternative, body.html, raws);
  for (const a of attachments) rawChild(root, a.bytes, raws);
  if (Object.keys(fields.headers).length) root.addHeader(fields.headers);
  for (const [header, value] of [
    ['from', fields.from],
    ['to', fields.to],
    ['cc', fields.cc],
    ['bcc', fields.bcc],
    ['reply-to', fields.replyTo],
    ['subject', fields.subject],
    ['message-id', fields.messageId],
    ['date', fields.date],
  ] as const) {
    if (value) root.setHeader(header, value as never);
  }
  root.messageId();
  root.keepBcc = Boolean(opts.unsent || opts.keepBcc);
  return { root, raws };
}

/**
 * The RFC 5322 bytes of a message made of encoded parts, as the list of chunks they are written in: the
 * encoded parts themselves, not copies (the sender streams them to the server as they are).
 */
export function assembleMimeChunks(input: MimeHeaderInput, body: EncodedBody, attachments: EncodedPart[], opts: { unsent?: boolean; keepBcc?: boolean } = {}): Buffer[] {
  const { root, raws } = mimeTree(input, body, attachments, opts);
  const out: Buffer[] = [];
  serialize(root, raws, out);
  return out;
}

/** The RFC 5322 bytes of a message made of encoded parts (see `buildMime` for the options). */
export function assembleMime(input: MimeHeaderInput, body: EncodedBody, attachments: EncodedPart[], opts: { unsent?: boolean; keepBcc?: boolean } = {}): Buffer {
  return Buffer.concat(assembleMimeChunks(input, body, attachments, opts));
}

/**
 * Builds the RFC 5322 message. `unsent` adds `X-Unsent: 1` (Outlook then opens the .eml as an editable
 * draft) and keeps the Bcc header, as does `keepBcc`; otherwise Bcc recipients are not written.
 * Throws `UnsafeHeaderError` for CR/LF in the subject, names, addresses or extra headers.
 */
export async function buildMime(input: MimeInput, opts: { unsent?: boolean; keepBcc?: boolean } = {}): Promise<Buffer> {
  const body = await encodeBody(input.html, input.text);
  if (body) return assembleMime(input, body, await Promise.all(input.attachments.map(encodeAttachment)), opts);
  return composeWhole(input, opts);
}

/** A message without both a text and an HTML part, built whole by nodemailer's composer. */
async function composeWhole(input: MimeInput, opts: { unsent?: boolean; keepBcc?: boolean }): Promise<Buffer> {
  const fields = headerFields(input, opts);
  const composer = new MailComposer({
    ...fields,
    html: input.html,
    text: input.text ?? htmlToPlainText(input.html),
    attachments: input.attachments.map((a) => ({
      filename: safeFilename(a.filename),
      contentType: safeContentType(a.contentType),
      content: a.content,
      contentDisposition: 'attachment',
    })),
    ...NODE_OPTIONS,
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
