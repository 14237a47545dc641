import { simpleParser, type AddressObject } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';
import { describe, expect, it } from 'vitest';
import { htmlToPlainText } from './html.ts';
import { assembleMime, buildMime, encodeAttachment, encodeBody, safeContentType, safeFilename, UnsafeHeaderError, type MimeInput } from './mime.ts';

const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(70_000, 7)]);
const bytes = Buffer.from([0, 1, 2, 255, 254, 13, 10, 0]);

const message = (over: Partial<MimeInput> = {}): MimeInput => ({
  messageId: '<abc.123@posel.firma.cz>',
  from: { address: 'obchod@firma.cz', name: 'Firma s.r.o.' },
  to: [{ address: 'jan@klient.cz', name: 'Novák, Jan' }],
  cc: [{ address: 'ucetni@klient.cz' }],
  bcc: [{ address: 'archiv@firma.cz' }],
  subject: 'Nabídka č. 42 – žluťoučký kůň úpěl ďábelské ódy',
  html: '<p>Dobrý den, <strong>pane Nováku</strong>,</p><p>v příloze posíláme nabídku.</p>',
  date: new Date('2026-03-01T10:00:00Z'),
  attachments: [
    { filename: 'Nabídka 42.pdf', contentType: 'application/pdf', content: pdf },
    { filename: '../../keys.json', contentType: 'application/octet-stream', content: bytes },
  ],
  ...over,
});

const addresses = (a: AddressObject | AddressObject[] | undefined) => (Array.isArray(a) ? a : a ? [a] : []).flatMap((x) => x.value);

describe('buildMime', () => {
  it('round-trips subject, body, derived text, attachments and Message-ID through mailparser', async () => {
    const parsed = await simpleParser(await buildMime(message()));
    expect(parsed.subject).toBe('Nabídka č. 42 – žluťoučký kůň úpěl ďábelské ódy');
    expect(parsed.messageId).toBe('<abc.123@posel.firma.cz>');
    expect(parsed.html).toContain('<strong>pane Nováku</strong>');
    expect(parsed.text).toContain('Dobrý den, pane Nováku,');
    expect(parsed.date?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['Nabídka 42.pdf', 'keys.json']);
    expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
    expect(parsed.attachments[1]!.content.equals(bytes)).toBe(true);
    expect(parsed.attachments[0]!.contentType).toBe('application/pdf');
    expect(addresses(parsed.to)).toEqual([{ address: 'jan@klient.cz', name: 'Novák, Jan' }]);
    expect(addresses(parsed.from)).toEqual([{ address: 'obchod@firma.cz', name: 'Firma s.r.o.' }]);
  });

  it('leaves Bcc out of an ordinary message', async () => {
    const raw = await buildMime(message());
    expect(raw.toString('latin1')).not.toMatch(/^Bcc:/im);
    expect((await simpleParser(raw)).bcc).toBeUndefined();
  });

  it('marks an unsent draft with X-Unsent: 1 and keeps Bcc', async () => {
    const parsed = await simpleParser(await buildMime(message(), { unsent: true }));
    expect(parsed.headers.get('x-unsent')).toBe('1');
    expect(addresses(parsed.bcc)).toEqual([{ address: 'archiv@firma.cz', name: '' }]);
  });

  it('uses a given plain-text part as it is', async () => {
    const parsed = await simpleParser(await buildMime(message({ text: 'Vlastní text.' })));
    expect(parsed.text?.trim()).toBe('Vlastní text.');
  });

  it('refuses CR/LF in the subject', async () => {
    await expect(buildMime(message({ subject: 'Ahoj\r\nBcc: spy@evil.cz' }))).rejects.toBeInstanceOf(UnsafeHeaderError);
  });

  it('refuses CR/LF in a display name or an address', async () => {
    await expect(buildMime(message({ to: [{ address: 'jan@klient.cz', name: 'Jan\r\nBcc: spy@evil.cz' }] }))).rejects.toBeInstanceOf(UnsafeHeaderError);
    await expect(buildMime(message({ cc: [{ address: 'jan@klient.cz\nBcc: spy@evil.cz' }] }))).rejects.toBeInstanceOf(UnsafeHeaderError);
  });

  it('refuses CR/LF in extra headers and a malformed Message-ID', async () => {
    await expect(buildMime(message({ headers: { 'X-Posel': 'a\r\nBcc: x@y.cz' } }))).rejects.toBeInstanceOf(UnsafeHeaderError);
    await expect(buildMime(message({ messageId: 'abc' }))).rejects.toBeInstanceOf(UnsafeHeaderError);
  });

  it('never reads a file or a URL named by an attachment', async () => {
    const input = message();
    // Even if something upstream smuggled a path in, only the buffer reaches the message.
    (input.attachments[0] as unknown as { path: string }).path = '/etc/passwd';
    const parsed = await simpleParser(await buildMime(input));
    expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
  });
});

describe('buildMime against nodemailer', () => {
  // Multipart boundaries are random, and quoted-printable lines may break elsewhere (qp.ts): with those
  // set aside, everything must be byte for byte what nodemailer's composer writes.
  const withoutBoundaries = (b: Buffer) =>
    b
      .toString('latin1')
      .replace(/--_NmP-[0-9a-f]+-Part_\d+/g, '<boundary>')
      .replace(/=\r\n/g, '');
  const composed = (input: MimeInput, keepBcc: boolean) => {
    const node = new MailComposer({
      messageId: input.messageId,
      from: input.from,
      to: input.to,
      cc: input.cc,
      bcc: input.bcc,
      subject: input.subject,
      date: input.date,
      html: input.html,
      text: input.text ?? htmlToPlainText(input.html),
      attachments: input.attachments.map((a) => ({ filename: safeFilename(a.filename), contentType: safeContentType(a.contentType), content: a.content, contentDisposition: 'attachment' as const })),
      disableFileAccess: true,
      disableUrlAccess: true,
    }).compile();
    node.keepBcc = keepBcc;
    return node.build();
  };

  it('writes the same bytes as nodemailer for Czech, long-line, whitespace-ending, plain ASCII and emoji bodies, up to where lines break', async () => {
    const bodies = [
      message().html,
      `<p>${'Žluťoučký kůň úpěl ďábelské ódy, a=b. '.repeat(400)}</p>`,
      '<p>Plain ASCII, short lines.</p>',
      `<pre>${'x'.repeat(200)}\n  trailing spaces   \n\tand a tab\t</pre>   `,
      '<p>Ahoj 😀 = rovná se ?=UTF-8?</p>\r\n<p>další řádek</p>',
    ];
    for (const [i, html] of bodies.entries()) {
      for (const attachments of [[], message().attachments.slice(0, 1), message().attachments]) {
        const input = message({ html, attachments });
        const ours = await buildMime(input, { keepBcc: i % 2 === 0 });
        expect(withoutBoundaries(ours)).toBe(withoutBoundaries(await composed(input, i % 2 === 0)));
        expect(Math.max(...ours.toString('latin1').split(/\r?\n/).map((line) => line.length))).toBeLessThanOrEqual(78);
      }
    }
  });

  it('puts parts encoded once into many messages, each with its own headers', async () => {
    const body = (await encodeBody(message().html))!;
    const file = await encodeAttachment(message().attachments[0]!);
    const first = await simpleParser(assembleMime({ ...message(), to: [{ address: 'a@klient.cz' }], messageId: '<1@posel.firma.cz>' }, body, [file]));
    const second = await simpleParser(assembleMime({ ...message(), to: [{ address: 'b@klient.cz' }], messageId: '<2@posel.firma.cz>' }, body, [file]));
    expect([first.messageId, second.messageId]).toEqual(['<1@posel.firma.cz>', '<2@posel.firma.cz>']);
    expect(addresses(second.to)).toEqual([{ address: 'b@klient.cz', name: '' }]);
    expect(second.html).toBe(first.html);
    expect(second.attachments[0]!.content.equals(pdf)).toBe(true);
  });

  it('chooses the transfer encoding nodemailer would for each part (7bit, quoted-printable, base64)', async () => {
    const pieces = ['a', 'Ab', ' ', '\n', '\r\n', 'č', 'ž', '😀', '\t', '\u0001', 'x'.repeat(80), '<p>', '='];
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const seen = new Set<string>();
    const edges = ['x'.repeat(76), 'x'.repeat(77), `${'x'.repeat(76)}\r\ny`, `y\n${'x'.repeat(77)}`];
    for (let i = 0; i < 400 + edges.length; i++) {
      const text = edges[i - 400] ?? Array.from({ length: 1 + Math.floor(next() * 40) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
      const node = new MimeNode('text/plain; charset=utf-8');
      node.setContent(text);
      const theirs = String(node.getTransferEncoding());
      const part = (await encodeBody('<p>x</p>', text))!.text.toString('latin1');
      const ours = /Content-Transfer-Encoding: ([\w-]+)/.exec(part)![1];
      expect({ text, encoding: ours }).toEqual({ text, encoding: theirs });
      seen.add(theirs);
    }
    expect([...seen].sort()).toEqual(['7bit', 'base64', 'quoted-printable']);
  });

  it('builds a message without a text part (an image-only body) whole, as before', async () => {
    const parsed = await simpleParser(await buildMime(message({ html: '<img src="cid:x">', attachments: [] })));
    expect(parsed.html).toContain('<img');
  });
});

describe('safeFilename', () => {
  it('keeps only the last path segment', () => {
    expect(safeFilename('../../keys.json')).toBe('keys.json');
    expect(safeFilename('C:\\Users\\jana\\faktura.pdf')).toBe('faktura.pdf');
  });

  it('removes CR/LF and control characters', () => {
    expect(safeFilename('faktura\r\nX-Evil: 1\u0000.pdf')).toBe('fakturaX-Evil_ 1.pdf');
  });

  it('replaces reserved characters and trims dots and spaces', () => {
    expect(safeFilename(' .hidden<>:"|?*.txt. ')).toBe('hidden_______.txt');
    expect(safeFilename('CON.txt')).toBe('_CON.txt');
  });

  it('keeps Czech letters', () => {
    expect(safeFilename('Smlouva – Žluťoučký kůň.docx')).toBe('Smlouva – Žluťoučký kůň.docx');
  });

  it('shortens long names to 180 characters keeping the extension', () => {
    const name = safeFilename(`${'dlouhý název '.repeat(30)}.pdf`);
    expect([...name].length).toBeLessThanOrEqual(180);
    expect(name.endsWith('.pdf')).toBe(true);
  });

  it('is never empty', () => {
    expect(safeFilename('')).toBe('attachment');
    expect(safeFilename('../..')).toBe('attachment');
    expect(safeFilename('\r\n')).toBe('attachment');
  });
});

describe('safeContentType', () => {
  it('keeps a bare type and refuses anything odd', () => {
    expect(safeContentType('Application/PDF; name="x.pdf"')).toBe('application/pdf');
    expect(safeContentType('text/html\r\nX-Evil: 1')).toBe('application/octet-stream');
    expect(safeContentType('')).toBe('application/octet-stream');
  });
});
