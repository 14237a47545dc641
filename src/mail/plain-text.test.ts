import { compile } from 'html-to-text';
import { describe, expect, it } from 'vitest';
import { prng } from '../seed/demo.ts';
import { sanitizeBodyHtml } from './html.ts';
import { htmlToPlainText } from './plain-text.ts';

/** html-to-text with the options Posel used before it had its own converter: the reference layout. */
const reference = compile({
  wordwrap: 78,
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, ignoreHref: false } },
    { selector: 'img', format: 'skip' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
});
const expected = (html: string) => reference(html).trim();
/** The text's lines without the blank ones (quoted blank lines too): what is left when spacing is not compared. */
const withoutBlankLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => !/^[> ]*$/.test(line))
    .join('\n');

describe('htmlToPlainText', () => {
  it('keeps paragraphs apart and Trix line breaks as they are', () => {
    expect(htmlToPlainText('<div>Dobrý den,<br><br>posíláme <strong>fakturu</strong>.<br>Jana</div><p>Další</p>')).toBe(
      'Dobrý den,\n\nposíláme fakturu.\nJana\n\nDalší',
    );
  });

  it('wraps lines at 78 characters without splitting words', () => {
    const text = htmlToPlainText(`<p>${'slovo '.repeat(40)}</p>`);
    const lines = text.split('\n');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    expect(text.replace(/\n/g, ' ')).toBe('slovo '.repeat(40).trim());
  });

  it('writes links as text [url], once when the text is the address', () => {
    expect(htmlToPlainText('<p><a href="https://firma.cz/x">náš web</a>, <a href="mailto:a@firma.cz">a@firma.cz</a>, <a href="https://x.cz">https://x.cz</a></p>')).toBe(
      'náš web [https://firma.cz/x], a@firma.cz, https://x.cz',
    );
  });

  it('marks list items and quotes on every line', () => {
    expect(htmlToPlainText('<ul><li>jedna</li><li>dva</li></ul><ol><li>první</li></ol><blockquote><p>a</p><p>b</p></blockquote>')).toBe(
      '* jedna\n * dva\n\n 1. první\n\n> a\n> \n> b',
    );
  });

  it('lays tables out in columns', () => {
    expect(htmlToPlainText('<table><tr><th>Položka</th><th>Ks</th></tr><tr><td>Deska dubová</td><td>4</td></tr></table>')).toBe(
      'Položka        Ks\nDeska dubová   4',
    );
  });

  it('decodes entities and leaves out images and scripts', () => {
    expect(htmlToPlainText('<p>a &amp; b &lt;c&gt;<img src="cid:x" alt="logo"></p><script>alert(1)</script><style>p{}</style>')).toBe('a & b <c>');
  });

  it('lays out what the sanitiser lets through as html-to-text does, up to the number of blank lines between blocks', () => {
    const r = prng(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
    const WORDS = ['Dobrý', 'den', 'žluťoučký', 'kůň', 'faktura', 'č.', '2026-0042', 'Kč', '&amp;', '&nbsp;', 'objednávka,', 'https://firma.cz/a?b=1', 'x'.repeat(90)];
    const words = () => Array.from({ length: 1 + Math.floor(r() * 30) }, () => pick(WORDS)).join(pick([' ', ' ', '  ', '\n']));
    const inline = (): string => {
      const w = words();
      switch (Math.floor(r() * 8)) {
        case 0: return `<strong>${w}</strong> ${words()}`;
        case 1: return `${w} <a href="https://firma.cz/${Math.floor(r() * 9)}">${words()}</a> `;
        case 2: return `${w}<br>${words()}`;
        case 3: return `<em>${w}</em>`;
        default: return w;
      }
    };
    const block = (depth: number): string => {
      const kind = Math.floor(r() * (depth > 1 ? 3 : 9));
      switch (kind) {
        case 0: return `<p>${inline()} ${inline()}</p>`;
        case 1: return `<div>${inline()}</div>`;
        case 2: return `<h2>${words()}</h2>`;
        case 3: return `<ul>${Array.from({ length: 1 + Math.floor(r() * 4) }, () => `<li>${inline()}</li>`).join('')}</ul>`;
        case 4: return `<ol>${Array.from({ length: 1 + Math.floor(r() * 4) }, () => `<li>${inline()}</li>`).join('')}</ol>`;
        case 5: return `<blockquote>${block(depth + 1)}${block(depth + 1)}</blockquote>`;
        case 6: return `<table><tr><th>${pick(WORDS)}</th><th>${pick(WORDS)}</th></tr>${Array.from({ length: 1 + Math.floor(r() * 3) }, () => `<tr><td>${pick(WORDS)} ${pick(WORDS)}</td><td>${Math.floor(r() * 1000)} Kč</td></tr>`).join('')}</table>`;
        case 7: return '<hr>';
        default: return `<div>${block(depth + 1)}${inline()}</div>`;
      }
    };
    let differing = 0;
    const first: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const html = sanitizeBodyHtml(Array.from({ length: 1 + Math.floor(r() * 6) }, () => block(0)).join('\n'));
      if (withoutBlankLines(htmlToPlainText(html)) !== withoutBlankLines(expected(html))) {
        differing++;
        if (first.length < 3) first.push(html);
      }
    }
    expect(first.map((html) => ({ html, ours: htmlToPlainText(html), theirs: expected(html) }))).toEqual([]);
    expect(differing).toBe(0);
  });
});
