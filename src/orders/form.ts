/**
 * The order form: what the user typed (kept verbatim for re-rendering), its validation into an OrderInput,
 * and the item-row actions of the no-JavaScript form ("add row", "remove row", "recalculate" are submit
 * buttons that re-render the form without saving).
 */
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { fieldErrors, requiredText, type FieldErrors } from '../http/forms.ts';
import { resolveClientRef, type ClientRef } from './client-picker.ts';
import {
  amountErrorKey,
  CURRENCIES,
  fieldError,
  noteField,
  optionalDate,
  ORDER_STATUSES,
  parseDateInput,
  requiredDate,
  type Currency,
  type OrderStatus,
} from './fields.ts';
import { moneyInput, orderTotals, parseMoney, parseQuantity, parseVatRate, quantityInput, vatRateInput, type OrderTotals } from './money.ts';
import { findOrderIdByNumber, type OrderWithItems } from './queries.ts';
import type { OrderInput, OrderItemInput } from './service.ts';

export const ITEM_FIELDS = ['name', 'quantity', 'unit', 'unitPrice', 'vatRate'] as const;
type ItemField = (typeof ITEM_FIELDS)[number];
export type ItemValues = Record<ItemField, string>;

export interface OrderFormValues {
  number: string;
  client: string;
  orderedOn: string;
  dueOn: string;
  status: string;
  currency: string;
  note: string;
  /** The order's updatedAt when the edit form was built (optimistic concurrency). */
  version: string;
  items: ItemValues[];
}

/** Most item rows a form may have (and an order may hold). */
export const MAX_ITEMS = 200;
/** Empty rows a new form starts with. */
export const NEW_FORM_ROWS = 3;
export const DEFAULT_UNIT = 'ks';
export const DEFAULT_VAT = '21';

const ITEM_KEY = /^items\[(\d{1,3})\]\.(name|quantity|unit|unitPrice|vatRate)$/;

/** The input name of an item field: `items[2].unitPrice`. */
export const itemKey = (index: number, field: ItemField) => `items[${index}].${field}`;

/** A fresh item row: nothing typed, the usual unit and VAT rate prefilled. */
export const emptyItem = (): ItemValues => ({ name: '', quantity: '', unit: DEFAULT_UNIT, unitPrice: '', vatRate: DEFAULT_VAT });

/** A row the user left alone: no name, quantity or price (unit and VAT come prefilled). */
const isBlankRow = (row: ItemValues) => !row.name.trim() && !row.quantity.trim() && !row.unitPrice.trim();

/** Everything the form sent, as strings, with the item rows in order (as many as the form showed). */
export function formValues(form: Record<string, string>): OrderFormValues {
  const shown = Math.min(MAX_ITEMS, Math.max(0, Number.parseInt(form.rows ?? '', 10) || 0));
  let count = shown;
  for (const key of Object.keys(form)) {
    const m = ITEM_KEY.exec(key);
    if (m && Number(m[1]) < MAX_ITEMS) count = Math.max(count, Number(m[1]) + 1);
  }
  const items: ItemValues[] = [];
  for (let i = 0; i < count; i++) {
    const row = emptyItem();
    for (const field of ITEM_FIELDS) {
      const value = form[itemKey(i, field)];
      if (value !== undefined) row[field] = value;
    }
    items.push(row);
  }
  const text = (k: string) => form[k] ?? '';
  return {
    number: text('number'),
    client: text('client'),
    orderedOn: text('orderedOn'),
    dueOn: text('dueOn'),
    status: text('status') || 'new',
    currency: text('currency') || 'CZK',
    note: text('note'),
    version: text('version'),
    items,
  };
}

/** The values of a new order form: today's date, empty rows, and the client when the link named one. */
export function newOrderValues(today: string, client = ''): OrderFormValues {
  return {
    number: '',
    client,
    orderedOn: today,
    dueOn: '',
    status: 'new',
    currency: 'CZK',
    note: '',
    version: '',
    items: Array.from({ length: NEW_FORM_ROWS }, emptyItem),
  };
}

/** The edit form's values from a stored order, plus one empty row to add an item. */
export function orderValues(order: OrderWithItems, sep: ',' | '.'): OrderFormValues {
  return {
    number: order.number,
    client: String(order.clientId),
    orderedOn: order.orderedOn,
    dueOn: order.dueOn ?? '',
    status: order.status,
    currency: order.currency,
    note: order.note ?? '',
    version: order.updatedAt.toISOString(),
    items: [
      ...order.items.map((i) => ({
        name: i.name,
        quantity: quantityInput(i.quantityMilli, sep),
        unit: i.unit,
        unitPrice: moneyInput(i.unitPrice, sep),
        vatRate: vatRateInput(i.vatRateBp, sep),
      })),
      emptyItem(),
    ],
  };
}

export type RowAction = { kind: 'add' } | { kind: 'remove'; index: number } | { kind: 'recalc' };

/** Which item-row button was pressed, if any (then the form is re-rendered, not saved). */
export function rowAction(form: Record<string, string>): RowAction | null {
  const action = form._action ?? '';
  if (action === 'add_row') return { kind: 'add' };
  if (action === 'recalc') return { kind: 'recalc' };
  const m = /^remove_row:(\d{1,3})$/.exec(action);
  return m ? { kind: 'remove', index: Number(m[1]) } : null;
}

/** Applies a row action to the typed values; nothing typed in other rows is lost. */
export function applyRowAction(values: OrderFormValues, action: RowAction): OrderFormValues {
  const items = [...values.items];
  if (action.kind === 'add' && items.length < MAX_ITEMS) items.push(emptyItem());
  if (action.kind === 'remove' && action.index < items.length) items.splice(action.index, 1);
  if (!items.length) items.push(emptyItem());
  return { ...values, items };
}

interface ParsedItems {
  items: OrderItemInput[];
  errors: FieldErrors;
}

/** Validates the item rows; blank rows are skipped, every other row must be complete and valid. */
export function parseItems(rows: readonly ItemValues[]): ParsedItems {
  const items: OrderItemInput[] = [];
  const errors: FieldErrors = {};
  rows.forEach((row, i) => {
    if (isBlankRow(row)) return;
    const name = row.name.trim();
    const unit = row.unit.trim() || DEFAULT_UNIT;
    const err = (field: ItemField, key: string, params: Record<string, string> = {}) => {
      errors[itemKey(i, field)] = fieldError(key, params);
    };
    if (!name) err('name', 'v.required');
    else if (name.length > 200) err('name', 'v.too_long', { max: '200' });
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f]/.test(name)) err('name', 'v.control_chars');
    if (unit.length > 20) err('unit', 'v.too_long', { max: '20' });
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f]/.test(unit)) err('unit', 'v.control_chars');
    const quantity = row.quantity.trim() ? parseQuantity(row.quantity) : null;
    if (!quantity) err('quantity', 'v.required');
    else if (!quantity.ok) err('quantity', amountErrorKey(quantity.error));
    const price = row.unitPrice.trim() ? parseMoney(row.unitPrice, { allowNegative: true }) : null;
    if (!price) err('unitPrice', 'v.required');
    else if (!price.ok) err('unitPrice', amountErrorKey(price.error));
    const vat = row.vatRate.trim() ? parseVatRate(row.vatRate) : null;
    if (!vat) err('vatRate', 'v.required');
    else if (!vat.ok) err('vatRate', amountErrorKey(vat.error));
    if (quantity?.ok && price?.ok && vat?.ok && !Object.keys(errors).some((k) => k.startsWith(`items[${i}].`))) {
      items.push({ name, quantityMilli: quantity.value, unit, unitPrice: price.value, vatRateBp: vat.value });
    }
  });
  return { items, errors };
}

/** Totals of the rows that are already valid, shown under the items while the form is being filled in. */
export function previewTotals(rows: readonly ItemValues[]): OrderTotals | null {
  const { items } = parseItems(rows);
  return items.length ? orderTotals(items) : null;
}

const headerSchema = z.object({
  number: requiredText(50),
  client: requiredText(254),
  orderedOn: requiredDate(),
  dueOn: optionalDate(),
  status: z.enum(ORDER_STATUSES, { message: 'v.choice' }),
  currency: z.enum(CURRENCIES, { message: 'v.choice' }),
  note: noteField(4000),
});

/** "Due before ordered" is checked on its own, so it shows even while other fields still have errors. */
function dueBeforeOrdered(values: { orderedOn: string; dueOn: string }): boolean {
  const ordered = parseDateInput(values.orderedOn);
  const due = values.dueOn.trim() ? parseDateInput(values.dueOn) : null;
  return !!ordered && !!due && due < ordered;
}

export interface OrderFormResult {
  values: OrderFormValues;
  errors: FieldErrors;
  /** The client the field resolved to (shown next to it even when other fields have errors). */
  client: ClientRef | null;
  input: OrderInput | null;
}

/**
 * Validates the whole order form at once (every error is shown together): the header fields, the items, the
 * client reference, and whether the number is free (`exceptId`: the order being edited).
 */
export async function readOrderForm(db: Db, form: Record<string, string>, exceptId?: number): Promise<OrderFormResult> {
  const values = formValues(form);
  const header = headerSchema.safeParse(values);
  const errors: FieldErrors = header.success ? {} : fieldErrors(header.error);
  if (!errors.dueOn && dueBeforeOrdered(values)) errors.dueOn = fieldError('orders.v.due_before_ordered');
  const items = parseItems(values.items);
  Object.assign(errors, items.errors);
  const filledRows = values.items.filter((r) => !isBlankRow(r)).length;
  if (!filledRows) errors.items = fieldError('orders.v.items_required');

  let client: ClientRef | null = null;
  if (values.client.trim() && !errors.client) {
    const found = await resolveClientRef(db, values.client);
    if (found.ok) client = found.client;
    else errors.client = fieldError(found.error);
  }
  const number = values.number.trim();
  if (number && !errors.number && (await findOrderIdByNumber(db, number, exceptId))) {
    errors.number = fieldError('orders.v.number_taken');
  }
  if (!header.success || Object.keys(errors).length || !client) return { values, errors, client, input: null };
  const h = header.data;
  return {
    values,
    errors,
    client,
    input: {
      number: h.number,
      clientId: client.id,
      orderedOn: h.orderedOn,
      dueOn: h.dueOn,
      status: h.status as OrderStatus,
      currency: h.currency as Currency,
      note: h.note,
      items: items.items,
    },
  };
}
