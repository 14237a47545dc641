/**
 * `npm run bench:render`: issue 4's template benchmark. An order template (a greeting, the items loop and
 * the ready items table) is rendered for 10,000 orders of 20 items each, with the data built in memory
 * beforehand (render only, as the issue asks). Reported: renders/s of `renderTemplate` (catalogue-checked,
 * escaped, sanitised again only when the template's markup needs it), median of 5 runs, beside the baseline
 * of a plain `Mustache.render` of the same template and data in the same run. For information also the
 * rates of a template with a whole-`href` variable (checked as a URL, no sanitising) and of one with a
 * variable inside a longer attribute value (sanitised on every render: much slower).
 *
 * Env: BENCH_ORDERS (10000), BENCH_ITEMS (20), BENCH_RUNS (5).
 * The last line is `result: bench=render renders_per_s=… baseline_per_s=… ratio=…`.
 */
import Mustache from 'mustache';
import { sanitizeBodyHtml } from '../src/mail/html.ts';
import { orderTemplateData, type ClientRecord, type OrderItemRecord, type OrderRecord } from '../src/templates/data.ts';
import { renderTemplate, validateTemplate, type TemplateData } from '../src/templates/engine.ts';
import { orderTotals } from '../src/orders/money.ts';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 10_000);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const template = {
  subject: 'Potvrzení objednávky {{order.number}} – {{client.name}}',
  // As saved: the editor sanitises the body before it is stored.
  bodyHtml: sanitizeBodyHtml(
    '<p>Dobrý den, {{client.name}},</p><p>děkujeme za objednávku <strong>{{order.number}}</strong> ze dne {{order.date}}.' +
      '{{#order.due_date}} Termín dodání: {{order.due_date}}.{{/order.due_date}}</p>' +
      '<ul>{{#order.items}}<li>{{position}}. {{name}} – {{quantity}} {{unit}} × {{unit_price}} (DPH {{vat_rate}}) = {{total}}</li>{{/order.items}}</ul>' +
      '{{{order.items_table}}}' +
      '<p>Celkem k úhradě: <strong>{{order.total}}</strong>{{^order.note}} (bez poznámky){{/order.note}}</p>' +
      '<p>S pozdravem<br>{{sender.name}}<br>{{sender.email}}</p>',
  ),
};
// A whole link target that is one variable is checked as a URL on render (no sanitising needed) …
const withLinkVariable = { ...template, bodyHtml: sanitizeBodyHtml(`${template.bodyHtml}<p><a href="{{client.email}}">{{client.email}}</a></p>`) };
// … a variable inside a longer attribute value makes every output go through the sanitiser again.
const withAttribute = { ...template, bodyHtml: sanitizeBodyHtml(`${template.bodyHtml}<p><a href="https://obchod.example.cz/?ico={{client.ico}}">e-shop</a></p>`) };

const NAMES = ['Chléb kmínový', 'Rohlík tukový', 'Koláč s mákem', 'Bageta <celozrnná>', 'Houska & sůl', 'Vánočka', 'Buchta „povidlová“'];
const CITIES = ['Praha', 'Brno', 'Ostrava', 'Plzeň', 'Tábor', 'České Budějovice'];

function buildData(): TemplateData[] {
  const ctx = { locale: 'cs' as const, sender: { name: 'Jana Nováková', email: 'jana@firma.cz' }, timeZone: 'Europe/Prague' };
  const now = new Date();
  const out: TemplateData[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const items: OrderItemRecord[] = Array.from({ length: ITEMS }, (_, j) => ({
      position: j + 1,
      name: `${NAMES[(i + j) % NAMES.length]} ${j + 1}`,
      quantityMilli: BigInt(((i + j) % 9) * 500 + 500),
      unit: j % 3 ? 'ks' : 'kg',
      unitPrice: BigInt(((i * 31 + j * 17) % 50_000) + 100),
      vatRateBp: j % 4 ? 2100 : 1200,
    }));
    const totals = orderTotals(items);
    const order: OrderRecord = {
      number: `OBJ-2026-${String(i + 1).padStart(5, '0')}`,
      orderedOn: '2026-11-20',
      dueOn: i % 2 ? '2026-12-01' : null,
      status: 'confirmed',
      currency: 'CZK',
      note: i % 5 ? null : 'Dodat ráno',
      totalNet: totals.net,
      totalVat: totals.vat,
      totalGross: totals.gross,
    };
    const client: ClientRecord = {
      name: i % 100 === 0 ? `<img src=x onerror=alert(${i})> Novák` : `Pekárna č. ${i}`,
      companyName: null,
      ico: String(10_000_000 + i),
      dic: null,
      email: `pekarna${i}@example.cz`,
      phone: null,
      street: `Hlavní ${i % 200}`,
      city: CITIES[i % CITIES.length]!,
      zip: '390 01',
      country: 'CZ',
    };
    out.push(orderTemplateData(order, items, client, ctx, now));
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function rate(label: string, count: number, fn: (i: number) => { bodyHtml: string }): number {
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    for (let i = 0; i < count; i++) sink += fn(i).bodyHtml.length;
    rates.push(count / ((performance.now() - start) / 1000));
  }
  const m = median(rates);
  console.log(`${label.padEnd(58)} ${Math.round(m).toLocaleString('en').padStart(9)} renders/s  (runs: ${rates.map((x) => Math.round(x)).join(', ')})`);
  if (sink === 0) console.log('(nothing rendered?)');
  return m;
}

const issues = validateTemplate('order', template);
if (issues.length) throw new Error(`benchmark template is invalid: ${JSON.stringify(issues)}`);
console.log(`bench:render — ${ORDERS.toLocaleString('en')} orders × ${ITEMS} items, ${RUNS} runs each; template body ${template.bodyHtml.length} chars`);
const t0 = performance.now();
const data = buildData();
console.log(`data built in ${Math.round(performance.now() - t0)} ms (not timed below)`);
const sample = renderTemplate('order', template, data[0]!);
console.log(`one rendered body: ${sample.bodyHtml.length} chars; subject: ${sample.subject}`);

// Warm-up, so the first timed run is not the JIT's.
for (let i = 0; i < Math.min(ORDERS, 1000); i++) renderTemplate('order', template, data[i]!);
for (let i = 0; i < Math.min(ORDERS, 1000); i++) Mustache.render(template.bodyHtml, data[i]);

const posel = rate('renderTemplate (subject + body, checked, escaped)', ORDERS, (i) => renderTemplate('order', template, data[i]!));
const baseline = rate('baseline: Mustache.render (body + subject, no checks)', ORDERS, (i) => ({
  bodyHtml: Mustache.render(template.bodyHtml, data[i]) + Mustache.render(template.subject, data[i]),
}));
rate('info: with a link variable href="{{client.email}}"', ORDERS, (i) => renderTemplate('order', withLinkVariable, data[i]!));
const sanitised = Math.min(ORDERS, 1000);
rate(`info: variable inside an attribute: sanitised (${sanitised} orders)`, sanitised, (i) => renderTemplate('order', withAttribute, data[i]!));

const ratio = posel / baseline;
console.log(`goal ≥ 10,000 renders/s: ${posel >= 10_000 ? 'met' : 'NOT met'}`);
console.log(`result: bench=render renders_per_s=${Math.round(posel)} baseline_per_s=${Math.round(baseline)} ratio=${ratio.toFixed(2)}`);
