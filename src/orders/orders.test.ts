import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, clients, orderItems, orders } from '../db/schema/index.ts';
import { addUser, createAdminApp, createTestApp, signIn, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { getOrderWithItems, listClientOrders } from './queries.ts';
import { createOrder } from './service.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let novak: number; // Novák a syn s.r.o., IČO 12345678
let svoboda: number; // Svobodová Eva, e-mail eva@svobodova.cz

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const rows = await t.db
    .insert(clients)
    .values([
      { name: 'Novák a syn s.r.o.', ico: '12345678', email: 'info@novak.cz', city: 'Brno' },
      { name: 'Svobodová Eva', kind: 'person', email: 'eva@svobodova.cz', city: 'Praha' },
      { name: 'Dvojče A', ico: '87654321' },
      { name: 'Dvojče B', ico: '87654321' },
    ])
    .returning({ id: clients.id });
  novak = rows[0]!.id;
  svoboda = rows[1]!.id;
});
afterAll(() => t.close());

/** A filled-in order form; `items` rows become `items[i].field`. */
function orderForm(overrides: Record<string, string> = {}, items: Record<string, string>[] = [{ name: 'Šroub M8', quantity: '3', unit: 'ks', unitPrice: '33,33', vatRate: '21' }]) {
  const form: Record<string, string> = {
    number: `OBJ-${Math.random().toString(36).slice(2, 9)}`,
    client: String(novak),
    orderedOn: '2026-03-02',
    dueOn: '2026-03-16',
    status: 'new',
    currency: 'CZK',
    note: '',
    rows: String(items.length),
  };
  items.forEach((item, i) => {
    for (const [k, v] of Object.entries(item)) form[`items[${i}].${k}`] = v;
  });
  return { ...form, ...overrides } as Record<string, string> & { number: string };
}

const orderByNumber = async (number: string) => (await t.db.select().from(orders).where(eq(orders.number, number)))[0];
/** The error text shown next to the field with this input name. */
const errorFor = (html: string, name: string) => {
  const input = new RegExp(`<input[^>]*name="${name.replace(/[[\]().]/g, '\\$&')}"[^>]*aria-describedby="([^"]*)"`).exec(html);
  const id = input?.[1]?.split(' ').find((x) => x.startsWith('e-'));
  return id ? new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] : undefined;
};

describe('creating an order', () => {
  it('stores items and totals in integer arithmetic: 3 × 33,33 Kč at 21 % is 120,99 Kč', async () => {
    const form = orderForm();
    const res = await admin.post('/orders', form);
    expect(res.status).toBe(303);
    const order = (await orderByNumber(form.number))!;
    expect(res.headers.get('location')).toBe(`/orders/${order.id}`);
    expect(order).toMatchObject({ totalNet: 9999n, totalVat: 2100n, totalGross: 12099n, clientId: novak, dueOn: '2026-03-16' });
    const [item] = await t.db.select().from(orderItems).where(eq(orderItems.orderId, order.id));
    expect(item).toMatchObject({ name: 'Šroub M8', quantityMilli: 3000n, unitPrice: 3333n, vatRateBp: 2100, position: 0 });

    const html = await (await admin.get(`/orders/${order.id}`)).text();
    expect(html).toContain('Objednávka byla vytvořena.');
    expect(html).toMatch(/data-total="net">99,99\s*Kč/);
    expect(html).toMatch(/data-total="vat">21,00\s*Kč/);
    expect(html).toMatch(/data-total="gross">120,99\s*Kč/);
  });

  it('sums several VAT rates and shows the summary per rate', async () => {
    const form = orderForm({}, [
      { name: 'Práce', quantity: '1,5', unit: 'h', unitPrice: '1 200', vatRate: '21' },
      { name: 'Kniha', quantity: '2', unit: 'ks', unitPrice: '199.90', vatRate: '12 %' },
    ]);
    expect((await admin.post('/orders', form)).status).toBe(303);
    const order = (await orderByNumber(form.number))!;
    // 1,5 × 1 200 = 1 800 + 378 VAT; 2 × 199,90 = 399,80 + 47,976 → 47,98 VAT.
    expect(order).toMatchObject({ totalNet: 219980n, totalVat: 42598n, totalGross: 262578n });
    const html = await (await admin.get(`/orders/${order.id}`)).text();
    expect(html).toContain('Rekapitulace DPH');
    expect(html).toMatch(/<th scope="row">12 %<\/th><td class="num nowrap">399,80\s*Kč/);
  });

  it('skips blank item rows and ignores the prefilled unit and VAT in them', async () => {
    const form = orderForm({ rows: '3', 'items[1].unit': 'ks', 'items[1].vatRate': '21', 'items[2].name': '', 'items[2].vatRate': '21' });
    expect((await admin.post('/orders', form)).status).toBe(303);
    const order = (await orderByNumber(form.number))!;
    expect(await t.db.select().from(orderItems).where(eq(orderItems.orderId, order.id))).toHaveLength(1);
  });

  it('finds the client by IČO or by e-mail as well as by id', async () => {
    const byIco = orderForm({ client: '123 45 678' });
    expect((await admin.post('/orders', byIco)).status).toBe(303);
    expect((await orderByNumber(byIco.number))!.clientId).toBe(novak);
    const byEmail = orderForm({ client: 'Eva@Svobodova.cz' });
    expect((await admin.post('/orders', byEmail)).status).toBe(303);
    expect((await orderByNumber(byEmail.number))!.clientId).toBe(svoboda);
  });

  it('preselects the client named in ?client= on the new-order form', async () => {
    const html = await (await admin.get(`/orders/new?client=${svoboda}`)).text();
    expect(html).toMatch(new RegExp(`name="client" type="text" value="${svoboda}"`));
    expect(html).toContain('✓ Svobodová Eva');
    expect(html).toContain('name="items[2].name"'); // three empty rows to start with
  });
});

describe('bad input gives a field error and keeps what was typed', () => {
  it('a price with three decimals', async () => {
    const form = orderForm({ 'items[0].unitPrice': '12,345', note: 'Doručit ráno' });
    const res = await admin.post('/orders', form);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'items[0].unitPrice')).toBe('Nejvýše 2 desetinná místa.');
    expect(html).toContain('value="12,345"');
    expect(html).toContain(`value="${form.number}"`);
    expect(html).toContain('value="Šroub M8"');
    expect(html).toContain('>Doručit ráno</textarea>');
    expect(await orderByNumber(form.number)).toBeUndefined();
  });

  it('a negative quantity', async () => {
    const res = await admin.post('/orders', orderForm({ 'items[0].quantity': '-2' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'items[0].quantity')).toBe('Hodnota nesmí být záporná.');
    expect(html).toContain('value="-2"');
  });

  it('a duplicate order number', async () => {
    const first = orderForm();
    await admin.post('/orders', first);
    const res = await admin.post('/orders', orderForm({ number: first.number, 'items[0].name': 'Jiná položka' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'number')).toBe('Objednávka s tímto číslem už existuje.');
    expect(html).toContain('value="Jiná položka"');
  });

  it('a due date before the order date', async () => {
    const res = await admin.post('/orders', orderForm({ orderedOn: '2026-03-10', dueOn: '2026-03-09' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'dueOn')).toBe('Termín dodání nemůže být dříve než datum objednání.');
    expect(html).toContain('value="2026-03-09"');
  });

  it('every error at once: unknown client, missing name, bad date, no number', async () => {
    const res = await admin.post('/orders', orderForm({ number: '', client: 'nikdo@nikde.cz', orderedOn: '31. 2. 2026', 'items[0].name': '' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(errorFor(html, 'number')).toBe('Vyplňte prosím toto pole.');
    expect(errorFor(html, 'client')).toBe('Klient s tímto ID, IČO ani e-mailem neexistuje.');
    expect(errorFor(html, 'orderedOn')).toBe('Zadejte platné datum, např. 24. 3. 2026.');
    expect(errorFor(html, 'items[0].name')).toBe('Vyplňte prosím toto pole.');
    // A date the browser could not show in a date picker comes back as text, as typed.
    expect(html).toMatch(/name="orderedOn" type="text" value="31. 2. 2026"/);
    expect(html).toContain('value="nikdo@nikde.cz"');
  });

  it('an IČO shared by two clients asks for the id', async () => {
    const html = await (await admin.post('/orders', orderForm({ client: '87654321' }))).text();
    expect(errorFor(html, 'client')).toMatch(/více klientů/);
  });

  it('an order without items', async () => {
    const res = await admin.post('/orders', orderForm({}, [{ name: '', quantity: '', unit: 'ks', unitPrice: '', vatRate: '21' }]));
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('Vyplňte alespoň jednu položku.');
  });
});

describe('item rows without JavaScript and with htmx', () => {
  it('"add row" re-renders the form with one more row, nothing typed lost, nothing saved', async () => {
    const form = orderForm({ _action: 'add_row', note: 'poznámka' });
    const res = await admin.post('/orders', form);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html');
    expect(html).toContain('name="items[1].name"');
    expect(html).not.toContain('name="items[2].name"');
    expect(html).toContain('value="Šroub M8"');
    expect(html).toContain(`value="${form.number}"`);
    expect(html).toContain('>poznámka</textarea>');
    expect(html).not.toContain('class="error"'); // nothing validated yet
    expect(html).toMatch(/Celkem s DPH<\/dt><dd class="grand">120,99\s*Kč/); // running totals of valid rows
    expect(await orderByNumber(form.number)).toBeUndefined();
  });

  it('"remove row" drops that row only', async () => {
    const form = orderForm({ _action: 'remove_row:0' }, [
      { name: 'První', quantity: '1', unit: 'ks', unitPrice: '1', vatRate: '21' },
      { name: 'Druhá', quantity: '2', unit: 'ks', unitPrice: '2', vatRate: '21' },
    ]);
    const html = await (await admin.post('/orders', form)).text();
    expect(html).not.toContain('value="První"');
    expect(html).toMatch(/name="items\[0\]\.name" value="Druhá"/);
  });

  it('with htmx, "add row" answers only the items fieldset', async () => {
    const res = await admin.post('/orders', orderForm({ _action: 'add_row' }), { 'HX-Request': 'true' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('<html');
    expect(html.trim()).toMatch(/^(\{#[\s\S]*?#\}\s*)?<fieldset id="items"/);
    expect(html).toContain('name="items[1].name"');
  });
});

describe('the client picker', () => {
  it('suggests clients by name without diacritics, and picking one fills in its id', async () => {
    const res = await admin.get('/orders/client-suggest?q=novak', { 'HX-Request': 'true' });
    const html = await res.text();
    expect(html).toContain('Novák a syn s.r.o.');
    expect(html).toContain(`hx-get="/orders/client-field?client=${novak}"`);
    expect(html).not.toContain('Svobodová');
    const field = await (await admin.get(`/orders/client-field?client=${novak}`, { 'HX-Request': 'true' })).text();
    expect(field).toMatch(new RegExp(`name="client" type="text" value="${novak}"`));
    expect(field).toContain('✓ Novák a syn s.r.o.');
    expect(await (await admin.get('/orders/client-suggest?q=zzzz')).text()).toContain('Žádný klient neodpovídá.');
  });
});

describe('the order list', () => {
  let listClient: number;
  beforeAll(async () => {
    [{ id: listClient }] = (await t.db.insert(clients).values({ name: 'Žluťoučký Kůň a.s.', ico: '11223344' }).returning({ id: clients.id })) as [{ id: number }];
    const statuses = ['new', 'confirmed', 'shipped', 'completed', 'cancelled'] as const;
    await t.db.insert(orders).values(
      Array.from({ length: 120 }, (_, i) => ({
        number: `LST-${String(i).padStart(4, '0')}`,
        clientId: listClient,
        orderedOn: `2025-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
        status: statuses[i % 5]!,
        totalGross: BigInt(i * 100),
      })),
    );
  });

  const numbersIn = (html: string) => [...html.matchAll(/>(LST-\d{4})</g)].map((m) => m[1]!);

  it('filters by status, date range and client, and counts what matches', async () => {
    const html = await (await admin.get(`/orders?status=shipped&from=2025-03-01&to=2025-06-30&client=${listClient}`)).text();
    const found = numbersIn(html);
    const expected = Array.from({ length: 120 }, (_, i) => i)
      .filter((i) => i % 5 === 2 && (i % 12) + 1 >= 3 && (i % 12) + 1 <= 6)
      .map((i) => `LST-${String(i).padStart(4, '0')}`);
    expect(found.sort()).toEqual(expected.sort());
    expect(html).toContain(`Počet objednávek: ${expected.length}`);
    expect(html).toContain('klient Žluťoučký Kůň a.s.');
    expect(html).toMatch(/<option value="shipped" selected>/);
  });

  it('searches by order number prefix and by client name without diacritics', async () => {
    const byNumber = numbersIn(await (await admin.get('/orders?q=lst-011')).text());
    expect(byNumber.sort()).toEqual(['LST-0110', 'LST-0111', 'LST-0112', 'LST-0113', 'LST-0114', 'LST-0115', 'LST-0116', 'LST-0117', 'LST-0118', 'LST-0119']);
    const byClient = await (await admin.get('/orders?q=zlutoucky%20kun&status=new')).text();
    expect(byClient).toContain('Počet objednávek: 24');
    const other = await (await admin.get('/orders?q=svobodova')).text();
    expect(numbersIn(other)).toEqual([]);
  });

  it('finds orders when very many clients match the search (more than fit in a list of ids)', async () => {
    const many = await t.db
      .insert(clients)
      .values(Array.from({ length: 510 }, (_, i) => ({ name: `Hromadný odběratel ${i}` })))
      .returning({ id: clients.id });
    await t.db.insert(orders).values(many.map((c, i) => ({ number: `HRM-${i}`, clientId: c.id, orderedOn: '2024-05-01' })));
    const html = await (await admin.get('/orders?q=hromadny%20odberatel')).text();
    expect(html).toContain('Počet objednávek: 510');
    expect((html.match(/>HRM-\d+</g) ?? []).length).toBe(50);
  });

  it('pages by keyset, newest first, through every order exactly once', async () => {
    let url: string | undefined = `/orders?client=${listClient}`;
    const seen: string[] = [];
    const pages: string[][] = [];
    while (url) {
      const html = await (await admin.get(url)).text();
      const numbers = numbersIn(html);
      pages.push(numbers);
      seen.push(...numbers);
      url = /href="([^"]*)"[^>]*rel="next"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    }
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(new Set(seen).size).toBe(120);
    const rows = await t.db.select().from(orders).where(eq(orders.clientId, listClient));
    const expected = rows.sort((a, b) => b.orderedOn.localeCompare(a.orderedOn) || b.id - a.id).map((r) => r.number);
    expect(seen).toEqual(expected);
  });

  it('goes back a page with the "newer" link', async () => {
    const first = await (await admin.get(`/orders?client=${listClient}`)).text();
    const next = /href="([^"]*)"[^>]*rel="next"/.exec(first)![1]!.replace(/&amp;/g, '&');
    const second = await (await admin.get(next)).text();
    const prev = /href="([^"]*)"[^>]*rel="prev"/.exec(second)![1]!.replace(/&amp;/g, '&');
    expect(numbersIn(await (await admin.get(prev)).text())).toEqual(numbersIn(first));
  });

  it('sorts by number when asked, and ignores a tampered cursor', async () => {
    const html = await (await admin.get(`/orders?client=${listClient}&sort=number`)).text();
    expect(numbersIn(html).slice(0, 3)).toEqual(['LST-0000', 'LST-0001', 'LST-0002']);
    expect((await admin.get(`/orders?client=${listClient}&after=bm90IGpzb24`)).status).toBe(200);
    expect((await admin.get(`/orders?client=${listClient}&after=${Buffer.from('["x",1]').toString('base64url')}`)).status).toBe(200);
  });

  it('answers htmx with the table only, and a history restore with the whole page', async () => {
    const partial = await (await admin.get('/orders?status=cancelled', { 'HX-Request': 'true' })).text();
    expect(partial).not.toContain('<html');
    expect(partial).toContain('LST-0004');
    const restore = await (await admin.get('/orders?status=cancelled', { 'HX-Request': 'true', 'HX-History-Restore-Request': 'true' })).text();
    expect(restore).toContain('<html');
  });
});

describe('permissions and unknown ids', () => {
  let staff: TestClient;
  beforeAll(async () => {
    await addUser(t.database, 'staff', 'referent@firma.cz', 'Heslo referenta 2026');
    staff = t.client();
    await signIn(staff, 'referent@firma.cz', 'Heslo referenta 2026');
  });

  it('staff (orders.view only) sees orders but gets 403 on creating or editing one', async () => {
    const id = await createOrder(
      t.db,
      { number: 'PERM-1', clientId: novak, orderedOn: '2026-01-05', dueOn: null, status: 'new', currency: 'CZK', note: null, items: [] },
      SYSTEM,
    );
    expect((await staff.get('/orders')).status).toBe(200);
    expect((await staff.get(`/orders/${id}`)).status).toBe(200);
    expect((await staff.get('/orders/new')).status).toBe(403);
    expect((await staff.post('/orders', orderForm())).status).toBe(403);
    expect((await staff.get(`/orders/${id}/edit`)).status).toBe(403);
    expect((await staff.post(`/orders/${id}/status`, { status: 'cancelled' })).status).toBe(403);
    expect((await getOrderWithItems(t.db, id))!.status).toBe('new');
    expect(await (await staff.get(`/orders/${id}`)).text()).not.toContain(`/orders/${id}/edit`);
  });

  it('a guessed nonexistent id, a non-numeric one and an absurd one are 404', async () => {
    expect((await admin.get('/orders/999999')).status).toBe(404);
    expect((await admin.get('/orders/abc')).status).toBe(404);
    expect((await admin.get('/orders/99999999999999999999')).status).toBe(404);
    expect((await admin.get('/orders/999999/edit')).status).toBe(404);
    expect((await admin.post('/orders/999999', orderForm())).status).toBe(404);
    expect((await admin.post('/orders/999999/status', { status: 'new' })).status).toBe(404);
  });
});

describe('editing and status changes are logged with before and after', () => {
  it('an edit writes one audit row with both versions, in readable amounts', async () => {
    const form = orderForm();
    await admin.post('/orders', form);
    const order = (await orderByNumber(form.number))!;
    const edit = await (await admin.get(`/orders/${order.id}/edit`)).text();
    expect(edit).toContain('value="33,33"'); // amounts written back the Czech way
    const version = /name="version" value="([^"]+)"/.exec(edit)![1]!;
    const res = await admin.post(`/orders/${order.id}`, orderForm({ number: form.number, version }, [
      { name: 'Šroub M8', quantity: '4', unit: 'ks', unitPrice: '33,33', vatRate: '21' },
    ]));
    expect(res.status).toBe(303);
    expect((await orderByNumber(form.number))!.totalNet).toBe(13332n);
    const rows = await t.db.select().from(auditLog).where(and(eq(auditLog.objectType, 'order'), eq(auditLog.objectId, String(order.id))));
    expect(rows.map((r) => r.action)).toEqual(['order.created', 'order.updated']);
    const updated = rows[1]!;
    expect(updated.actorName).toBe('Jana Nováková');
    expect(updated.before).toMatchObject({ totalNet: '99.99', items: [{ quantity: '3', unitPrice: '33.33', vatRate: '21' }] });
    expect(updated.after).toMatchObject({ totalNet: '133.32', items: [{ quantity: '4' }] });
  });

  it('an edit over someone else’s newer save is refused, keeping the input', async () => {
    const form = orderForm();
    await admin.post('/orders', form);
    const order = (await orderByNumber(form.number))!;
    const stale = new Date(order.updatedAt.getTime() - 60_000).toISOString();
    const res = await admin.post(`/orders/${order.id}`, orderForm({ number: form.number, version: stale, note: 'moje změna' }));
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('mezitím změnil někdo jiný');
    expect(html).toContain('>moje změna</textarea>');
  });

  it('a status change is logged as such', async () => {
    const form = orderForm();
    await admin.post('/orders', form);
    const order = (await orderByNumber(form.number))!;
    const res = await admin.post(`/orders/${order.id}/status`, { status: 'shipped' });
    expect(res.status).toBe(303);
    expect((await orderByNumber(form.number))!.status).toBe('shipped');
    const [row] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'order.status_changed'), eq(auditLog.objectId, String(order.id))));
    expect(row).toMatchObject({ before: { status: 'new' }, after: { status: 'shipped' } });
    expect(await (await admin.get(`/orders/${order.id}`)).text()).toContain('Stav objednávky: odeslaná.');
  });
});

describe('JSON import for an ERP', () => {
  const post = (client: TestClient, body: unknown) =>
    client.request('/orders/import', { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

  it('creates and updates by number, and reports a bad order without losing the good ones', async () => {
    const res = await post(admin, {
      orders: [
        { number: 'ERP-1', client: { ico: '12345678' }, orderedOn: '2026-02-01', items: [{ name: 'Kabel', quantity: 3, unitPrice: '33.33', vatRate: 21 }] },
        { number: 'ERP-2', client: { email: 'eva@svobodova.cz' }, orderedOn: '2026-02-02', items: [{ name: 'Víko', quantity: '1', unitPrice: 10.005, vatRate: '21' }] },
        { number: 'ERP-3', client: { id: svoboda }, orderedOn: '2026-02-03', dueOn: '2026-02-28', status: 'confirmed', currency: 'EUR', note: 'z ERP', items: [{ name: 'Služba', quantity: '2,5', unit: 'h', unitPrice: '40', vatRate: '0' }] },
        { number: 'ERP-4', client: { ico: '99999999' }, orderedOn: '2026-02-04', items: [{ name: 'X', quantity: 1, unitPrice: 1, vatRate: 21 }] },
        { client: { id: novak } },
      ],
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ created: 2, updated: 0 });
    expect(body.errors).toEqual([
      { index: 1, number: 'ERP-2', message: 'items[0].unitPrice: Nejvýše 2 desetinná místa.' },
      { index: 3, number: 'ERP-4', message: 'client: Klient s tímto ID, IČO ani e-mailem neexistuje.' },
      { index: 4, number: null, message: expect.stringMatching(/^number: /) },
    ]);
    expect(await orderByNumber('ERP-1')).toMatchObject({ clientId: novak, totalGross: 12099n, status: 'new', currency: 'CZK' });
    expect(await orderByNumber('ERP-3')).toMatchObject({ clientId: svoboda, totalNet: 10000n, totalVat: 0n, status: 'confirmed', currency: 'EUR', note: 'z ERP' });
    expect(await orderByNumber('ERP-2')).toBeUndefined();

    const again = await post(admin, {
      orders: [{ number: 'ERP-3', client: { id: svoboda }, orderedOn: '2026-02-03', items: [{ name: 'Služba', quantity: '3', unit: 'h', unitPrice: '40', vatRate: '0' }] }],
    });
    expect(await again.json()).toEqual({ created: 0, updated: 1, unchanged: 0, errors: [] });
    // Fields the ERP left out keep their values; the items are replaced.
    const erp3 = await getOrderWithItems(t.db, (await orderByNumber('ERP-3'))!.id);
    expect(erp3).toMatchObject({ status: 'confirmed', currency: 'EUR', note: 'z ERP', dueOn: '2026-02-28', totalNet: 12000n });
    expect(erp3!.items).toHaveLength(1);
  });

  it('logs every imported order and the import itself', async () => {
    const erp1 = (await orderByNumber('ERP-1'))!;
    const [created] = await t.db.select().from(auditLog).where(and(eq(auditLog.action, 'order.created'), eq(auditLog.objectId, String(erp1.id))));
    expect(created).toMatchObject({ summary: 'ERP-1 (import)', actorName: 'Jana Nováková' });
    const imports = await t.db.select().from(auditLog).where(eq(auditLog.action, 'order.import'));
    expect(imports[0]!.summary).toBe('created 2, updated 0, unchanged 0, failed 3');
    const updates = await t.db.select().from(auditLog).where(inArray(auditLog.action, ['order.updated']));
    expect(updates.some((u) => (u.before as { items: { quantity: string }[] }).items[0]!.quantity === '2.5')).toBe(true);
  });

  it('refuses what is not a JSON list of orders, and users without import.run', async () => {
    expect((await post(admin, { orders: 'x' })).status).toBe(400);
    expect((await admin.request('/orders/import', { method: 'POST', body: '{', headers: { 'Content-Type': 'application/json' } })).status).toBe(400);
    expect((await admin.post('/orders/import', { orders: '[]' })).status).toBe(415);
    await addUser(t.database, 'staff', 'bez-importu@firma.cz', 'Heslo bez importu 1');
    const staff = t.client();
    await signIn(staff, 'bez-importu@firma.cz', 'Heslo bez importu 1');
    expect((await post(staff, { orders: [] })).status).toBe(403);
  });
});

describe('queries for other modules', () => {
  it('listClientOrders gives a client’s recent orders, newest first', async () => {
    const rows = await listClientOrders(t.db, svoboda, 2);
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[0]!).sort()).toEqual(['currency', 'id', 'number', 'orderedOn', 'status', 'totalGross']);
    expect(rows[0]!.orderedOn >= rows[1]!.orderedOn).toBe(true);
    expect(await listClientOrders(t.db, 2_000_000)).toEqual([]);
  });

  it('getOrderWithItems gives the items in order, and undefined for an unknown id', async () => {
    const order = await getOrderWithItems(t.db, (await orderByNumber('ERP-1'))!.id);
    expect(order).toMatchObject({ number: 'ERP-1', client: { id: novak, name: 'Novák a syn s.r.o.' }, items: [{ name: 'Kabel', quantityMilli: 3000n }] });
    expect(await getOrderWithItems(t.db, 987654)).toBeUndefined();
  });
});
