import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import type { FieldErrors } from '../http/forms.ts';
import { readForm } from '../http/forms.ts';
import { PAGE_SIZE, sortParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { communicationTab } from '../messages/queries.ts';
import { clientPickerRoutes } from './client-picker-routes.ts';
import { getClientRef, resolveClientRef, type ClientRef } from './client-picker.ts';
import { CURRENCIES, FieldRuleError, idQuery, ORDER_STATUSES, parseDateInput, routeId, todayIn, type OrderStatus } from './fields.ts';
import {
  applyRowAction,
  formValues,
  newOrderValues,
  orderValues,
  previewTotals,
  readOrderForm,
  rowAction,
  type OrderFormValues,
} from './form.ts';
import { importEnvelope, importOrders } from './import.ts';
import { orderTotals, quantityInput, vatRateInput } from './money.ts';
import { orderProcessingRoutes } from './processing-routes.ts';
import { ORDER_ACTIONS } from './processing.ts';
import { countOrders, getOrderWithItems, listOrders, ORDER_SORTS, type OrderSort, type OrderWithItems } from './queries.ts';
import { changeOrderStatus, createOrder, updateOrder, type OrderInput } from './service.ts';

export const ordersRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;
const db = (c: Ctx) => c.get('deps').database.db;

/**
 * A fragment-only request (htmx swapping the table). htmx also sends HX-Request when it restores a page from
 * history after a cache miss (historyCacheSize is 0): that one needs the whole page, or Back shows a bare table.
 */
/** Decimal mark for numbers written back into form fields, in the user's language. */
const decimalMark = (c: Ctx): ',' | '.' => (c.get('locale') === 'cs' ? ',' : '.');

const isStatus = (v: string | undefined): v is OrderStatus => (ORDER_STATUSES as readonly string[]).includes(v ?? '');

const DEFAULT_SORT = '-orderedOn';
/** The direction a column sorts in when first clicked. */
const FIRST_DIR: Record<(typeof ORDER_SORTS)[number], '' | '-'> = { orderedOn: '-', number: '' };

/** Which item fields the edit table shows, in order, with their labels and input hints. */
const ITEM_COLUMNS = [
  { name: 'name', label: 'orders.item.name', cls: 'c-name', maxlength: 200 },
  { name: 'quantity', label: 'orders.item.quantity', cls: 'c-num', inputmode: 'decimal', maxlength: 20 },
  { name: 'unit', label: 'orders.item.unit', cls: 'c-unit', maxlength: 20 },
  { name: 'unitPrice', label: 'orders.item.unit_price', cls: 'c-num', inputmode: 'decimal', maxlength: 30 },
  { name: 'vatRate', label: 'orders.item.vat_rate', cls: 'c-vat', inputmode: 'decimal', maxlength: 8 },
];

// ---------------------------------------------------------------------------------------------- list

ordersRoutes.get('/', requirePermission('orders.view'), async (c) => {
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const status = c.req.query('status');
  const from = parseDateInput(c.req.query('from') ?? '');
  const to = parseDateInput(c.req.query('to') ?? '');
  const clientId = idQuery(c.req.query('client'));
  const sort = sortParam<OrderSort>(c.req.query('sort'), ORDER_SORTS, DEFAULT_SORT);
  const filter = { q: q || undefined, status: isStatus(status) ? status : undefined, from: from ?? undefined, to: to ?? undefined, clientId };
  const [page, count, clientFilter] = await Promise.all([
    listOrders(db(c), { ...filter, sort: sort.key, dir: sort.dir, after: c.req.query('after'), before: c.req.query('before'), limit: PAGE_SIZE }),
    countOrders(db(c), filter),
    clientId ? getClientRef(db(c), clientId) : undefined,
  ]);
  // What links keep: the filter as the query names it, and the sort unless it is the default.
  const filterQs = { q, status: filter.status, from, to, client: clientId, sort: sort.raw === DEFAULT_SORT ? undefined : sort.raw };
  const sortLinks = Object.fromEntries(
    ORDER_SORTS.map((key) => {
      const next = sort.key === key ? (sort.dir === 'asc' ? `-${key}` : key) : `${FIRST_DIR[key]}${key}`;
      return [key, { sort: next === DEFAULT_SORT ? undefined : next, current: sort.key === key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : null }];
    }),
  );
  const data = {
    ...page,
    count,
    clientFilter,
    statuses: ORDER_STATUSES,
    form: { q, status: filter.status ?? '', from: from ?? c.req.query('from') ?? '', to: to ?? c.req.query('to') ?? '', client: c.req.query('client') ?? '' },
    filterQs,
    filtered: !!(q || filter.status || from || to || clientId),
    sort,
    sortLinks,
    processActions: ORDER_ACTIONS,
  };
  return render(c, isPartial(c) ? 'orders/_rows.njk' : 'orders/index.njk', data);
});

// ---------------------------------------------------------------------------------------------- client picker

ordersRoutes.route('/', clientPickerRoutes('orders.manage', '/orders'));

// ---------------------------------------------------------------------------------------------- processing wizard

ordersRoutes.route('/process', orderProcessingRoutes);

// ---------------------------------------------------------------------------------------------- form

interface FormPage {
  values: OrderFormValues;
  errors: FieldErrors;
  order?: { id: number; number: string };
  client?: ClientRef | null;
}

/** The client named in the field, for the "✓ name" line, when it resolves; errors are the form's business. */
async function clientForDisplay(c: Ctx, typed: string): Promise<ClientRef | null> {
  if (!typed.trim()) return null;
  const found = await resolveClientRef(db(c), typed);
  return found.ok ? found.client : null;
}

function renderForm(c: Ctx, page: FormPage, status = 200, itemsOnly = false): Response {
  const t = c.get('t');
  const action = page.order ? `/orders/${page.order.id}` : '/orders';
  return render(
    c,
    itemsOnly ? 'orders/_items.njk' : 'orders/form.njk',
    {
      ...page,
      isNew: !page.order,
      action,
      pickerBase: '/orders',
      itemColumns: ITEM_COLUMNS,
      preview: previewTotals(page.values.items),
      statusOptions: ORDER_STATUSES.map((s) => ({ value: s, label: t(`orders.status.${s}`) })),
      currencyOptions: CURRENCIES.map((cur) => ({ value: cur, label: cur })),
    },
    status,
  );
}

/**
 * A POST of the order form: an item-row button re-renders (only the items for htmx), otherwise the form is
 * validated and `save` is called; field errors come back at 422 with everything typed kept.
 */
async function handleOrderPost(c: Ctx, order: OrderWithItems | undefined, save: (input: OrderInput, version: string) => Promise<number>) {
  const form = await readForm(c);
  const pageOrder = order ? { id: order.id, number: order.number } : undefined;
  const action = rowAction(form);
  if (action) {
    const values = applyRowAction(formValues(form), action);
    const itemsOnly = isPartial(c);
    return renderForm(c, { values, errors: {}, order: pageOrder, client: itemsOnly ? null : await clientForDisplay(c, values.client) }, 200, itemsOnly);
  }
  const result = await readOrderForm(db(c), form, order?.id);
  if (result.input) {
    try {
      const id = await save(result.input, result.values.version);
      return redirect(c, `/orders/${id}`);
    } catch (error) {
      if (!(error instanceof FieldRuleError)) throw error;
      result.errors[error.field] = { key: error.messageKey, params: {} };
    }
  }
  return renderForm(c, { values: result.values, errors: result.errors, order: pageOrder, client: result.client }, 422);
}

ordersRoutes.get('/new', requirePermission('orders.manage'), async (c) => {
  const clientId = idQuery(c.req.query('client'));
  const client = clientId ? await getClientRef(db(c), clientId) : undefined;
  const values = newOrderValues(todayIn(c.get('deps').config.TIMEZONE), client ? String(client.id) : '');
  return renderForm(c, { values, errors: {}, client: client ?? null });
});

ordersRoutes.post('/', requirePermission('orders.manage'), (c) =>
  handleOrderPost(c, undefined, async (input) => {
    const id = await createOrder(db(c), input, auditActor(c));
    flash(c, 'success', 'orders.created');
    return id;
  }),
);

// ---------------------------------------------------------------------------------------------- import

ordersRoutes.post('/import', requirePermission('import.run'), requirePermission('orders.manage'), async (c) => {
  const t = c.get('t');
  if (!/^application\/json\b/i.test(c.req.header('Content-Type') ?? '')) return c.json({ error: t('orders.import.json_only') }, 415);
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: t('orders.import.bad_json') }, 400);
  }
  const envelope = importEnvelope.safeParse(body);
  if (!envelope.success) {
    const [key = '', query = ''] = (envelope.error.issues[0]?.message ?? '').split('?');
    const message = key.startsWith('orders.') ? t(key, Object.fromEntries(new URLSearchParams(query))) : t('orders.import.shape');
    return c.json({ error: message }, 400);
  }
  const log = c.get('log');
  const result = await importOrders(db(c), envelope.data, auditActor(c), t, (err, index) => log.error({ err, index }, 'order import: unexpected error'));
  return c.json(result);
});

// ---------------------------------------------------------------------------------------------- one order

async function loadOrder(c: Ctx): Promise<OrderWithItems> {
  const id = routeId(c.req.param('id'));
  const order = id ? await getOrderWithItems(db(c), id) : undefined;
  if (!order) throw new NotFoundError();
  return order;
}

ordersRoutes.get('/:id{[0-9]+}', requirePermission('orders.view'), async (c) => {
  const order = await loadOrder(c);
  const sep = decimalMark(c);
  const totals = orderTotals(order.items);
  const lines = order.items.map((item, i) => ({
    name: item.name,
    quantity: quantityInput(item.quantityMilli, sep),
    unit: item.unit,
    unitPrice: item.unitPrice,
    vatRate: vatRateInput(item.vatRateBp, sep),
    ...totals.lines[i]!,
  }));
  const byRate = totals.byRate.map((r) => ({ ...r, vatRate: vatRateInput(r.vatRateBp, sep) }));
  const tab = c.req.query('tab') === 'communication' ? 'communication' : 'details';
  const communication =
    tab === 'communication' && c.get('user')!.permissions.has('messages.view') ? await communicationTab(db(c), { orderId: order.id }) : null;
  return render(c, 'orders/detail.njk', {
    order,
    lines,
    totals,
    byRate,
    tab,
    communication,
    statuses: ORDER_STATUSES,
  });
});

ordersRoutes.get('/:id{[0-9]+}/edit', requirePermission('orders.manage'), async (c) => {
  const order = await loadOrder(c);
  return renderForm(c, { values: orderValues(order, decimalMark(c)), errors: {}, order, client: order.client });
});

ordersRoutes.post('/:id{[0-9]+}', requirePermission('orders.manage'), async (c) => {
  const order = await loadOrder(c);
  return handleOrderPost(c, order, async (input, version) => {
    const changed = await updateOrder(db(c), order.id, input, auditActor(c), version || undefined);
    flash(c, changed ? 'success' : 'info', changed ? 'orders.updated' : 'orders.unchanged');
    return order.id;
  });
});

const statusForm = z.object({ status: z.enum(ORDER_STATUSES) });

ordersRoutes.post('/:id{[0-9]+}/status', requirePermission('orders.manage'), async (c) => {
  const order = await loadOrder(c);
  const parsed = statusForm.safeParse(await readForm(c));
  if (!parsed.success) flash(c, 'error', 'orders.status_invalid');
  else {
    const changed = await changeOrderStatus(db(c), order.id, parsed.data.status, auditActor(c));
    const t = c.get('t');
    if (changed) flash(c, 'success', 'orders.status_changed', { status: t(`orders.status.${parsed.data.status}`) });
  }
  return redirect(c, `/orders/${order.id}`);
});
