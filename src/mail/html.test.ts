import { describe, expect, it } from 'vitest';
import { htmlToPlainText, sanitizeBodyHtml } from './html.ts';

const clean = sanitizeBodyHtml;

describe('sanitizeBodyHtml', () => {
  it('removes script elements with their content', () => {
    expect(clean('<p>Dobrý den</p><script>alert(1)</script>')).toBe('<p>Dobrý den</p>');
  });

  it('removes event handlers such as onerror (and an image left without a safe source)', () => {
    expect(clean('<img src=x onerror=alert(1)>')).toBe('');
    expect(clean('<img src="https://firma.cz/logo.png" onerror="alert(1)" alt="Logo">')).toBe('<img src="https://firma.cz/logo.png" alt="Logo" />');
  });

  it('drops javascript: and vbscript: links, however they are disguised', () => {
    for (const href of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', 'javascript&#58;alert(1)', ' javascript:alert(1)', 'vbscript:msgbox(1)']) {
      const out = clean(`<a href="${href}">klik</a>`);
      expect(out, href).not.toMatch(/href/);
      expect(out).toContain('klik');
    }
  });

  it('removes style elements and style attributes', () => {
    expect(clean('<style>p{color:red}</style><p style="color:red">Text</p>')).toBe('<p>Text</p>');
  });

  it('removes hx-* and data-* attributes', () => {
    expect(clean('<div data-hx-post="/users/1/delete" hx-get="/x" data-id="1" class="c">a</div>')).toBe('<div>a</div>');
  });

  it('removes meta refresh, iframes, objects, forms, inputs, base and link elements', () => {
    const out = clean(
      '<meta http-equiv="refresh" content="0;url=https://evil.cz"><base href="https://evil.cz/"><link rel="stylesheet" href="https://evil.cz/a.css">' +
        '<iframe src="https://evil.cz"></iframe><object data="x"></object><form action="https://evil.cz"><input name="p"><button>Go</button></form><p>ok</p>',
    );
    expect(out).not.toMatch(/<(meta|base|link|iframe|object|form|input)/i);
    expect(out).toContain('<p>ok</p>');
  });

  it('keeps what Trix produces and tables, with safe cell attributes', () => {
    const html =
      '<div><strong>Tučně</strong> <em>kurzíva</em> <del>škrt</del><br></div><ul><li>a</li></ul><blockquote>q</blockquote><pre>kód</pre><h1>Nadpis</h1>' +
      '<table><thead><tr><th colspan="2">Položka</th></tr></thead><tbody><tr><td rowspan="1" align="right">1</td></tr></tbody></table>';
    expect(clean(html)).toBe(html.replace('<br>', '<br />'));
  });

  it('adds rel="noopener noreferrer" to links and keeps http(s) and mailto targets', () => {
    expect(clean('<a href="https://firma.cz" target="_blank">web</a>')).toBe('<a href="https://firma.cz" rel="noopener noreferrer">web</a>');
    expect(clean('<a href="mailto:jana@firma.cz">mail</a>')).toContain('href="mailto:jana@firma.cz"');
  });

  it('drops relative and protocol-relative links (meaningless or misleading in an e-mail)', () => {
    expect(clean('<a href="/users">x</a><a href="//evil.cz">y</a>')).not.toMatch(/href/);
  });

  it('keeps image sources that are https, cid: or raster data URIs, and drops SVG data URIs', () => {
    expect(clean('<img src="cid:logo@posel">')).toBe('<img src="cid:logo@posel" />');
    expect(clean('<img src="data:image/png;base64,iVBORw0KGgo=">')).toContain('data:image/png');
    expect(clean('<img src="data:image/svg+xml;base64,PHN2Zz4=">')).toBe('');
    expect(clean('<img src="data:text/html;base64,PHNjcmlwdD4=">')).toBe('');
  });

  it('leaves Mustache tags in text untouched', () => {
    const body = '<p>Dobrý den, {{client.name}}</p>{{#order.items}}<p>{{name}} {{quantity}}</p>{{/order.items}}{{^order.items}}nic{{/order.items}}{{{order.items_table}}}';
    expect(clean(body)).toBe(body);
  });

  it('keeps a link whose whole target is one Mustache variable (the rendered body is sanitised again)', () => {
    expect(clean('<a href="{{client.web}}">web</a>')).toBe('<a href="{{client.web}}" rel="noopener noreferrer">web</a>');
    expect(clean('<a href="{{client.web}}/x">web</a>')).not.toMatch(/href/);
  });

  it('escapes text that looks like markup after sanitising', () => {
    expect(clean('<p>&lt;img src=x onerror=alert(1)&gt;</p>')).toBe('<p>&lt;img src=x onerror=alert(1)&gt;</p>');
  });
});

describe('htmlToPlainText', () => {
  it('derives readable text with links and paragraphs', () => {
    const text = htmlToPlainText('<h1>Nabídka</h1><p>Dobrý den, <strong>Jano</strong>,</p><p>viz <a href="https://firma.cz/n">nabídka</a>.</p><ul><li>jedna</li><li>dvě</li></ul>');
    expect(text).toContain('Nabídka');
    expect(text).toContain('Dobrý den, Jano,');
    expect(text).toContain('nabídka [https://firma.cz/n]');
    expect(text).toMatch(/\* jedna\n \* dvě/);
  });

  it('lays out tables as columns and skips images', () => {
    const text = htmlToPlainText('<table><tr><th>Položka</th><th>Ks</th></tr><tr><td>Šroub</td><td>3</td></tr></table><img src="https://x.cz/a.png" alt="logo">');
    expect(text).toMatch(/Položka\s+Ks\nŠroub\s+3/);
    expect(text).not.toContain('x.cz');
  });
});
