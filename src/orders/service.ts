import { asc, eq } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { orderItems, orders } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { FieldRuleError, isUniqueViolation, type Currency, type OrderStatus } from './fields.ts';
import { moneyInput, orderTotals, quantityInput, totalsInRange, vatRateInput, type OrderTotals } from './money.ts';
import { findOrderIdByNumber } from './queries.ts';

export interface OrderItemInput {
  name: string;
  quantityMilli: bigint;
  unit: string;
  unitPrice: bigint;
  vatRateBp: number;
}

export interface OrderInput {
  number: string;
  clientId: number;
  orderedOn: string;
  dueOn: string | null;
  status: OrderStatus;
  currency: Currency;
  note: string | null;
  items: OrderItemInput[];
}

type StoredOrder = typeof orders.$inferSelect;

/** The order as the action log keeps it: plain JSON, amounts as decimal strings (JSON has no bigint). */
function auditSnapshot(order: Omit<OrderInput, 'items'>, items: readonly OrderItemInput[], totals: OrderTotals) {
  return {
    number: order.number,
    clientId: order.clientId,
    orderedOn: order.orderedOn,
    dueOn: order.dueOn,
    status: order.status,
    currency: order.currency,
    note: order.note,
    items: items.map((i) => ({
      name: i.name,
      quantity: quantityInput(i.quantityMilli, '.'),
      unit: i.unit,
      unitPrice: moneyInput(i.unitPrice, '.'),
      vatRate: vatRateInput(i.vatRateBp, '.'),
    })),
    totalNet: moneyInput(totals.net, '.'),
    totalVat: moneyInput(totals.vat, '.'),
    totalGross: moneyInput(totals.gross, '.'),
  };
}

function computeTotals(items: readonly OrderItemInput[]): OrderTotals {
  const totals = orderTotals(items);
  if (!totalsInRange(totals)) throw new FieldRuleError('items', 'orders.v.total_too_large');
  return totals;
}

async function writeItems(tx: Db, orderId: number, items: readonly OrderItemInput[]) {
  if (!items.length) return;
  await tx.insert(orderItems).values(
    items.map((item, position) => ({
      orderId,
      position,
      name: item.name,
      quantityMilli: item.quantityMilli,
      unit: item.unit,
      unitPrice: item.unitPrice,
      vatRateBp: item.vatRateBp,
    })),
  );
}

/** Maps a race on the unique order number (another request inserted it meanwhile) to the field error. */
async function numberUnique<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'orders_number_unique')) throw new FieldRuleError('number', 'orders.v.number_taken');
    throw error;
  }
}

async function insertOrder(tx: Db, input: OrderInput, actor: AuditActor, via?: 'import'): Promise<number> {
  const totals = computeTotals(input.items);
  const { items, ...header } = input;
  const [row] = await tx
    .insert(orders)
    .values({ ...header, totalNet: totals.net, totalVat: totals.vat, totalGross: totals.gross })
    .returning({ id: orders.id });
  await writeItems(tx, row!.id, items);
  await recordAudit(tx, actor, {
    action: 'order.created',
    objectType: 'order',
    objectId: row!.id,
    summary: via ? `${input.number} (${via})` : input.number,
    after: auditSnapshot(header, items, totals),
  });
  return row!.id;
}

async function storedItems(tx: Db, orderId: number): Promise<OrderItemInput[]> {
  return tx
    .select({
      name: orderItems.name,
      quantityMilli: orderItems.quantityMilli,
      unit: orderItems.unit,
      unitPrice: orderItems.unitPrice,
      vatRateBp: orderItems.vatRateBp,
    })
    .from(orderItems)
    .where(eq(orderItems.orderId, orderId))
    .orderBy(asc(orderItems.position), asc(orderItems.id));
}

const headerOf = (o: StoredOrder): Omit<OrderInput, 'items'> => ({
  number: o.number,
  clientId: o.clientId,
  orderedOn: o.orderedOn,
  dueOn: o.dueOn,
  status: o.status as OrderStatus,
  currency: o.currency as Currency,
  note: o.note,
});

/**
 * Replaces a locked order's header and items with `input`; writes nothing (and logs nothing) when nothing
 * changed. Returns whether it changed.
 */
async function replaceOrder(tx: Db, before: StoredOrder, input: OrderInput, actor: AuditActor, via?: 'import'): Promise<boolean> {
  const beforeItems = await storedItems(tx, before.id);
  const beforeSnapshot = auditSnapshot(headerOf(before), beforeItems, orderTotals(beforeItems));
  const totals = computeTotals(input.items);
  const { items, ...header } = input;
  const afterSnapshot = auditSnapshot(header, items, totals);
  if (JSON.stringify(beforeSnapshot) === JSON.stringify(afterSnapshot)) return false;
  await tx
    .update(orders)
    .set({ ...header, totalNet: totals.net, totalVat: totals.vat, totalGross: totals.gross, updatedAt: new Date() })
    .where(eq(orders.id, before.id));
  await tx.delete(orderItems).where(eq(orderItems.orderId, before.id));
  await writeItems(tx, before.id, items);
  await recordAudit(tx, actor, {
    action: 'order.updated',
    objectType: 'order',
    objectId: before.id,
    summary: via ? `${input.number} (${via})` : input.number,
    before: beforeSnapshot,
    after: afterSnapshot,
  });
  return true;
}

const lockOrder = async (tx: Db, id: number) => (await tx.select().from(orders).where(eq(orders.id, id)).for('update'))[0];

/** Creates an order with its items and cached totals, and logs it. A taken number is a field error. */
export async function createOrder(db: Db, input: OrderInput, actor: AuditActor): Promise<number> {
  return numberUnique(() =>
    db.transaction(async (tx) => {
      if (await findOrderIdByNumber(tx, input.number)) throw new FieldRuleError('number', 'orders.v.number_taken');
      return insertOrder(tx, input, actor);
    }),
  );
}

/**
 * Saves an edit of an order (header and the full list of items). `version` is the `updatedAt` the form was
 * built from: if someone saved the order since, the edit is refused rather than silently overwriting theirs.
 */
export async function updateOrder(db: Db, id: number, input: OrderInput, actor: AuditActor, version?: string): Promise<boolean> {
  return numberUnique(() =>
    db.transaction(async (tx) => {
      const before = await lockOrder(tx, id);
      if (!before) throw new NotFoundError();
      if (version && before.updatedAt.toISOString() !== version) throw new FieldRuleError('_form', 'orders.v.changed_meanwhile');
      if (await findOrderIdByNumber(tx, input.number, id)) throw new FieldRuleError('number', 'orders.v.number_taken');
      return replaceOrder(tx, before, input, actor);
    }),
  );
}

/** Moves an order to another status and logs the transition. Returns false when it already had that status. */
export async function changeOrderStatus(db: Db, id: number, status: OrderStatus, actor: AuditActor): Promise<boolean> {
  return db.transaction(async (tx) => {
    const before = await lockOrder(tx, id);
    if (!before) throw new NotFoundError();
    if (before.status === status) return false;
    await tx.update(orders).set({ status, updatedAt: new Date() }).where(eq(orders.id, id));
    await recordAudit(tx, actor, {
      action: 'order.status_changed',
      objectType: 'order',
      objectId: id,
      summary: before.number,
      before: { status: before.status },
      after: { status },
    });
    return true;
  });
}

/** What an imported order may leave out; on update, a left-out field keeps its stored value. */
export type ImportedOrder = Omit<OrderInput, 'dueOn' | 'status' | 'currency' | 'note'> & {
  dueOn?: string | null;
  status?: OrderStatus;
  currency?: Currency;
  note?: string | null;
};

/**
 * Creates or updates (by order number) one imported order in its own transaction, logged like an edit in
 * the form. Returns what happened.
 */
export async function upsertImportedOrder(db: Db, input: ImportedOrder, actor: AuditActor): Promise<'created' | 'updated' | 'unchanged'> {
  return numberUnique(() =>
    db.transaction(async (tx) => {
      const existingId = await findOrderIdByNumber(tx, input.number);
      const before = existingId ? await lockOrder(tx, existingId) : undefined;
      if (!before) {
        await insertOrder(
          tx,
          { ...input, dueOn: input.dueOn ?? null, status: input.status ?? 'new', currency: input.currency ?? 'CZK', note: input.note ?? null },
          actor,
          'import',
        );
        return 'created';
      }
      const merged: OrderInput = {
        ...input,
        dueOn: input.dueOn === undefined ? before.dueOn : input.dueOn,
        status: input.status ?? (before.status as OrderStatus),
        currency: input.currency ?? (before.currency as Currency),
        note: input.note === undefined ? before.note : input.note,
      };
      if (merged.dueOn && merged.dueOn < merged.orderedOn) throw new FieldRuleError('dueOn', 'orders.v.due_before_ordered');
      return (await replaceOrder(tx, before, merged, actor, 'import')) ? 'updated' : 'unchanged';
    }),
  );
}
