import { describe, expect, it } from 'vitest';
import { catalogueFor, TEMPLATE_PURPOSES } from './catalogue.ts';
import { orderTemplateData, type ClientRecord, type OrderItemRecord, type OrderRecord } from './data.ts';
import { MAX_SECTION_DEPTH, renderTemplate, TemplateInvalidError, validateTemplate, type TemplateData } from './engine.ts';
import { trixInjectedCss, trixStyleHashes } from './trix-csp.ts';

const body = (bodyHtml: string, purpose: (typeof TEMPLATE_PURPOSES)[number] = 'order') => validateTemplate(purpose, { subject: '', bodyHtml });

const ctx = { locale: 'cs' as const, sender: { name: 'Jana Nováková', email: 'jana@firma.cz' }, timeZone: 'Europe/Prague' };
const client = (name: string): ClientRecord => ({
  name,
  companyName: null,
  ico: '12345678',
  dic: null,
  email: 'info@pekarna.cz',
  phone: null,
  street: 'Hlavní 1',
  city: 'Tábor',
  zip: '390 01',
  country: 'CZ',
});
const order: OrderRecord = {
  number: 'OBJ-2026-0042',
  orderedOn: '2026-11-20',
  dueOn: '2026-12-01',
  status: 'confirmed',
  currency: 'CZK',
  note: null,
  totalNet: 9999n,
  totalVat: 2100n,
  totalGross: 12099n,
};
const items: OrderItemRecord[] = [{ position: 1, name: 'Chléb <kmínový>', quantityMilli: 3000n, unit: 'ks', unitPrice: 3333n, vatRateBp: 2100 }];
const data = (name = 'Pekárna U Čápa'): TemplateData => orderTemplateData(order, items, client(name), ctx, new Date('2026-11-22T10:00:00Z'));

describe('template validation', () => {
  it('accepts catalogue variables, item fields inside the items section and the ready table', () => {
    expect(
      validateTemplate('order', {
        subject: 'Objednávka {{order.number}}',
        bodyHtml: '<p>{{client.name}}</p>{{#order.items}}{{name}} {{quantity}} {{client.city}}{{/order.items}}{{^order.note}}bez poznámky{{/order.note}}{{{order.items_table}}}',
      }),
    ).toEqual([]);
  });

  it('refuses an unknown variable with its line, column and tag', () => {
    expect(body('<p>Dobrý den,</p>\n<p>  {{client.secret}}</p>')).toEqual([
      { field: 'bodyHtml', code: 'unknown_variable', line: 2, column: 6, tag: '{{client.secret}}', params: { name: 'client.secret' } },
    ]);
  });

  it('refuses a syntax error with its position', () => {
    expect(body('Hello\n{{#order.items}}{{name}}')).toMatchObject([{ code: 'unclosed_section', line: 2, column: 1, tag: '{{#order.items}}' }]);
    expect(body('a {{/order.items}}')).toMatchObject([{ code: 'unopened_section', line: 1, column: 3 }]);
    expect(body('x\n  {{client.name')).toMatchObject([{ code: 'unclosed_tag', line: 2, column: 3 }]);
  });

  it.each(['{{constructor}}', '{{__proto__}}', '{{client.constructor.name}}', '{{client.name.length}}', '{{toString}}', '{{hasOwnProperty}}', '{{.}}'])(
    'refuses %s as an unknown variable',
    (tag) => {
      expect(body(tag)).toMatchObject([{ code: 'unknown_variable', tag }]);
    },
  );

  it('refuses an item field outside its section', () => {
    expect(body('{{name}}')).toMatchObject([{ code: 'unknown_variable' }]);
  });

  it('refuses triple braces of a user field, in both spellings', () => {
    expect(body('{{{client.name}}}')).toMatchObject([{ code: 'unescaped_not_allowed' }]);
    expect(body('{{& client.name}}')).toMatchObject([{ code: 'unescaped_not_allowed' }]);
  });

  it('refuses the ready table in the subject and without triple braces', () => {
    expect(validateTemplate('order', { subject: '{{{order.items_table}}}', bodyHtml: '' })).toMatchObject([{ field: 'subject', code: 'html_in_subject' }]);
    expect(body('{{order.items_table}}')).toMatchObject([{ code: 'html_needs_triple' }]);
    expect(body('{{order.items}}')).toMatchObject([{ code: 'list_needs_section' }]);
  });

  it('refuses partials and delimiter changes', () => {
    expect(body('{{> header}}')).toMatchObject([{ code: 'partial_not_allowed' }]);
    expect(body('{{=<% %>=}}<%client.name%>')).toMatchObject([{ code: 'delimiters_not_allowed' }]);
  });

  it('refuses a 2 MB template and a long subject without parsing them', () => {
    expect(body(`<p>${'{{client.name}} '.repeat(130_000)}</p>`)).toEqual([{ field: 'bodyHtml', code: 'too_large', params: { max: '256 KB' } }]);
    expect(validateTemplate('client', { subject: 'x'.repeat(1001), bodyHtml: '' })).toMatchObject([{ field: 'subject', code: 'too_large' }]);
  });

  it('refuses sections nested deeper than the limit', () => {
    const deep = '{{#client.name}}'.repeat(MAX_SECTION_DEPTH + 1) + 'x' + '{{/client.name}}'.repeat(MAX_SECTION_DEPTH + 1);
    expect(body(deep)).toMatchObject([{ code: 'too_deep', params: { max: MAX_SECTION_DEPTH } }]);
    const thousand = '{{#client.name}}'.repeat(1000) + '{{/client.name}}'.repeat(1000);
    expect(body(thousand)).toMatchObject([{ code: 'too_deep' }]);
  });

  it('refuses CR/LF in the subject', () => {
    expect(validateTemplate('client', { subject: 'Ahoj\r\nBcc: x@evil.cz', bodyHtml: '' })).toMatchObject([{ field: 'subject', code: 'subject_newline', line: 1, column: 5 }]);
  });

  it('knows each purpose’s variables and only those', () => {
    expect(body('{{contract.number}}', 'order')).toMatchObject([{ code: 'unknown_variable' }]);
    expect(body('{{contract.number}} {{client.name}} {{sender.name}} {{today}}', 'contract')).toEqual([]);
    expect(body('{{list.name}} {{client.email}}', 'list')).toEqual([]);
    expect(body('{{activity.when}} {{activity.responsible}}', 'activity')).toEqual([]);
    for (const purpose of TEMPLATE_PURPOSES) expect(catalogueFor(purpose).byKey.has('client.name')).toBe(true);
  });
});

describe('template rendering', () => {
  it('escapes a client name in the body and keeps it literal in the subject', () => {
    const out = renderTemplate('order', { subject: 'Pro {{client.name}}', bodyHtml: '<p>Dobrý den, {{client.name}}</p>' }, data('<img src=x onerror=alert(1)>'));
    expect(out.bodyHtml).toBe('<p>Dobrý den, &lt;img src=x onerror=alert(1)&gt;</p>');
    expect(out.subject).toBe('Pro <img src=x onerror=alert(1)>');
  });

  it('shows a client named {{secret}} literally, without rendering it again', () => {
    const out = renderTemplate('order', { subject: '{{client.name}}', bodyHtml: '<p>{{client.name}}</p>' }, data('{{secret}} {{{order.items_table}}}'));
    expect(out.subject).toBe('{{secret}} {{{order.items_table}}}');
    expect(out.bodyHtml).toBe('<p>{{secret}} {{{order.items_table}}}</p>');
  });

  it('collapses line breaks that a value brings into the subject', () => {
    const out = renderTemplate('order', { subject: 'Ahoj {{client.name}}', bodyHtml: '' }, data('Eva\r\nBcc: x@evil.cz'));
    expect(out.subject).toBe('Ahoj Eva Bcc: x@evil.cz');
  });

  it('repeats the items section and inserts the ready table with escaped cells, formatted in Czech', () => {
    const out = renderTemplate(
      'order',
      { subject: '', bodyHtml: '<ul>{{#order.items}}<li>{{name}}: {{quantity}} {{unit}} × {{unit_price}} = {{total}}</li>{{/order.items}}</ul>{{{order.items_table}}}' },
      data(),
    );
    expect(out.bodyHtml).toContain('<li>Chléb &lt;kmínový&gt;: 3 ks × 33,33\u00a0Kč = 120,99\u00a0Kč</li>');
    expect(out.bodyHtml).toContain('<td>Chléb &lt;kmínový&gt;</td>');
    expect(out.bodyHtml).toContain('<td colspan="4" align="right">Celkem k úhradě</td><td align="right">120,99\u00a0Kč</td>');
    expect(out.bodyHtml).not.toContain('<kmínový>');
  });

  it('sanitises the output when a variable sits inside markup (a link target)', () => {
    const tree = data('javascript:alert(1)');
    const out = renderTemplate('order', { subject: '', bodyHtml: '<p><a href="{{client.name}}">web</a></p>' }, tree);
    expect(out.bodyHtml).not.toContain('javascript:');
    expect(out.bodyHtml).toContain('>web</a>');
  });

  it('keeps a variable link target only when its value is a safe URL', () => {
    const tpl = { subject: '', bodyHtml: '<p><a href="{{client.name}}" rel="noopener noreferrer">web</a></p>' };
    expect(renderTemplate('order', tpl, data('https://pekarna.cz/?a=1&b=2')).bodyHtml).toBe('<p><a href="https://pekarna.cz/?a=1&amp;b=2" rel="noopener noreferrer">web</a></p>');
    expect(renderTemplate('order', tpl, data(' javascript:alert(1)')).bodyHtml).toBe('<p><a href="" rel="noopener noreferrer">web</a></p>');
    expect(renderTemplate('order', tpl, data('java\tscript:alert(1)')).bodyHtml).not.toContain('script:');
  });

  it('sanitises the output of a template whose markup was never sanitised', () => {
    const out = renderTemplate('order', { subject: '', bodyHtml: '<p onclick="x()">{{client.name}}</p><script>alert(1)</script>' }, data());
    expect(out.bodyHtml).toBe('<p>Pekárna U Čápa</p>');
  });

  it('refuses to render an invalid template', () => {
    expect(() => renderTemplate('order', { subject: '', bodyHtml: '{{constructor}}' }, data())).toThrow(TemplateInvalidError);
  });

  it('builds data without prototypes', () => {
    const tree = data() as Record<string, unknown>;
    expect(Object.getPrototypeOf(tree)).toBeNull();
    expect(Object.getPrototypeOf(tree.client)).toBeNull();
    expect('constructor' in (tree.client as object)).toBe(false);
  });
});

describe('Trix and the CSP', () => {
  it('finds both styles Trix injects and hashes them (plus the empty style it starts with)', () => {
    const css = trixInjectedCss();
    expect(css[0]).toMatch(/^trix-toolbar \{/);
    expect(css[1]).toContain('trix-editor [data-trix-attachment] figcaption textarea');
    expect(css[1]).toContain('display: inline-block !important;');
    expect(trixStyleHashes()).toHaveLength(3);
  });
});
