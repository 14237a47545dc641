import { sql } from 'drizzle-orm';
import { bigint, date, index, integer, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { clients } from './clients.ts';

/**
 * Orders. Money is integer minor units (haléře, cents) in bigint; quantities are integer thousandths;
 * VAT rates are basis points (21 % = 2100). Totals are computed in code (src/orders/money.ts) and cached here.
 */
export const orders = pgTable(
  'orders',
  {
    id: serial('id').primaryKey(),
    number: text('number').notNull().unique(),
    clientId: integer('client_id')
      .notNull()
      .references(() => clients.id),
    orderedOn: date('ordered_on', { mode: 'string' }).notNull(),
    dueOn: date('due_on', { mode: 'string' }),
    /** new | confirmed | shipped | completed | cancelled */
    status: text('status').notNull().default('new'),
    currency: text('currency').notNull().default('CZK'),
    note: text('note'),
    totalNet: bigint('total_net', { mode: 'bigint' }).notNull().default(sql`0`),
    totalVat: bigint('total_vat', { mode: 'bigint' }).notNull().default(sql`0`),
    totalGross: bigint('total_gross', { mode: 'bigint' }).notNull().default(sql`0`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('orders_client_idx').on(t.clientId, t.orderedOn),
    index('orders_status_idx').on(t.status, t.orderedOn),
    index('orders_ordered_idx').on(t.orderedOn, t.id),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    id: serial('id').primaryKey(),
    orderId: integer('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    name: text('name').notNull(),
    /** Quantity in thousandths (1.5 kg = 1500). */
    quantityMilli: bigint('quantity_milli', { mode: 'bigint' }).notNull(),
    unit: text('unit').notNull().default('ks'),
    /** Unit price without VAT, in minor units. */
    unitPrice: bigint('unit_price', { mode: 'bigint' }).notNull(),
    /** VAT rate in basis points (21 % = 2100). */
    vatRateBp: integer('vat_rate_bp').notNull().default(2100),
  },
  (t) => [index('order_items_order_idx').on(t.orderId, t.position)],
);
