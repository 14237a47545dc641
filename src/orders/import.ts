/**
 * JSON import of orders from an ERP: `{ "orders": [ … ] }`, upserted by order number. Every order is
 * validated and saved on its own (its own transaction), so one bad order is reported and the rest go in.
 */
import { z } from 'zod';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { isConnectionError, type Db } from '../db/client.ts';
import { parseErrorKey, requiredText } from '../http/forms.ts';
import type { Translate } from '../http/i18n/index.ts';
import { findClient } from './client-picker.ts';
import { amountErrorKey, CURRENCIES, FieldRuleError, isIsoDate, noteField, ORDER_STATUSES } from './fields.ts';
import { parseMoney, parseQuantity, parseVatRate, type Parsed } from './money.ts';
import { MAX_ITEMS } from './form.ts';
import { upsertImportedOrder, type ImportedOrder, type OrderItemInput } from './service.ts';

/** Most orders in one request (the body limit caps it too). */
export const MAX_IMPORT_ORDERS = 1000;

/** A decimal as a JSON string ("1234.50", "1 234,50") or number (33.33); parsed exactly later, never as a double sum. */
const decimal = z.union([z.string().max(40), z.number().finite()], { message: 'orders.import.decimal' }).transform((v) => String(v));

const isoDate = z.string({ message: 'orders.import.date' }).refine(isIsoDate, 'orders.import.date');

const clientRef = z.union(
  [
    z.object({ id: z.union([z.number().int().positive(), z.string().regex(/^\d{1,10}$/).transform(Number)]) }).strict(),
    z.object({ ico: z.string().trim().regex(/^\d{8}$/, 'orders.import.ico') }).strict(),
    z.object({ email: z.string().trim().min(3).max(254) }).strict(),
  ],
  { message: 'orders.import.client_ref' },
);

const importedItem = z.object({
  name: requiredText(200),
  quantity: decimal,
  unit: z.string().trim().max(20, 'v.too_long?max=20').optional(),
  unitPrice: decimal,
  vatRate: decimal,
});

const importedOrder = z.object({
  number: requiredText(50),
  client: clientRef,
  orderedOn: isoDate,
  dueOn: isoDate.nullable().optional(),
  status: z.enum(ORDER_STATUSES, { message: 'v.choice' }).optional(),
  currency: z.enum(CURRENCIES, { message: 'v.choice' }).optional(),
  note: z.union([noteField(4000), z.null()]).optional(),
  items: z.array(importedItem).min(1, 'orders.v.items_required').max(MAX_ITEMS, 'orders.v.too_many_items'),
});

export const importEnvelope = z.object({
  orders: z.array(z.unknown()).min(1, 'orders.import.empty').max(MAX_IMPORT_ORDERS, `orders.import.too_many?max=${MAX_IMPORT_ORDERS}`),
});

export interface ImportError {
  index: number;
  number: string | null;
  message: string;
}

export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
  errors: ImportError[];
}

/** A field path as the ERP wrote it: `items[2].unitPrice`. */
const pathText = (path: readonly PropertyKey[]) =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');

class ImportProblem extends Error {
  constructor(
    readonly path: string,
    readonly key: string,
    readonly params: Record<string, string> = {},
  ) {
    super(key);
  }
}

function amount<T>(parsed: Parsed<T>, path: string): T {
  if (!parsed.ok) throw new ImportProblem(path, amountErrorKey(parsed.error));
  return parsed.value;
}

/** Validates one imported order and turns it into service input; throws an ImportProblem naming the field. */
async function toOrderInput(db: Db, raw: unknown): Promise<ImportedOrder> {
  const parsed = importedOrder.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const { key, params } = parseErrorKey(issue.message);
    throw new ImportProblem(pathText(issue.path), key, params);
  }
  const o = parsed.data;
  const items: OrderItemInput[] = o.items.map((item, i) => ({
    name: item.name,
    quantityMilli: amount(parseQuantity(item.quantity), `items[${i}].quantity`),
    unit: item.unit || 'ks',
    unitPrice: amount(parseMoney(item.unitPrice, { allowNegative: true }), `items[${i}].unitPrice`),
    vatRateBp: amount(parseVatRate(item.vatRate), `items[${i}].vatRate`),
  }));
  if (o.dueOn && o.dueOn < o.orderedOn) throw new ImportProblem('dueOn', 'orders.v.due_before_ordered');
  const client = await findClient(db, o.client);
  if (!client.ok) throw new ImportProblem('client', client.error);
  return { ...o, clientId: client.client.id, items };
}

/**
 * Imports `payload.orders`: each order validated, its client resolved (by id, IČO or e-mail) and upserted by
 * number in its own transaction. Messages are in the importing user's language. A database outage is not
 * an order's fault: it stops the import and surfaces as 503.
 */
export async function importOrders(
  db: Db,
  payload: { orders: unknown[] },
  actor: AuditActor,
  t: Translate,
  onUnexpected?: (error: unknown, index: number) => void,
): Promise<ImportResult> {
  const result: ImportResult = { created: 0, updated: 0, unchanged: 0, errors: [] };
  for (const [index, raw] of payload.orders.entries()) {
    const number = typeof (raw as { number?: unknown })?.number === 'string' ? (raw as { number: string }).number.trim() : null;
    try {
      const input = await toOrderInput(db, raw);
      result[await upsertImportedOrder(db, input, actor)]++;
    } catch (error) {
      if (isConnectionError(error)) throw error;
      let message: string;
      if (error instanceof ImportProblem) message = `${error.path ? `${error.path}: ` : ''}${t(error.key, error.params)}`;
      else if (error instanceof FieldRuleError) message = `${error.field}: ${t(error.messageKey)}`;
      else {
        // A bug or a database refusal we did not foresee: this order is reported, the others still go in.
        onUnexpected?.(error, index);
        message = t('orders.import.failed');
      }
      result.errors.push({ index, number, message });
    }
  }
  await recordAudit(db, actor, {
    action: 'order.import',
    objectType: 'order',
    summary: `created ${result.created}, updated ${result.updated}, unchanged ${result.unchanged}, failed ${result.errors.length}`,
    after: { created: result.created, updated: result.updated, unchanged: result.unchanged, failed: result.errors.map((e) => e.index) },
  });
  return result;
}
