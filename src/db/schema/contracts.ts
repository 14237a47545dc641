import { sql } from 'drizzle-orm';
import { bigint, date, index, integer, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { clients } from './clients.ts';

export const contracts = pgTable(
  'contracts',
  {
    id: serial('id').primaryKey(),
    number: text('number').notNull().unique(),
    clientId: integer('client_id')
      .notNull()
      .references(() => clients.id),
    title: text('title').notNull(),
    validFrom: date('valid_from', { mode: 'string' }).notNull(),
    validTo: date('valid_to', { mode: 'string' }),
    /** Contract value in minor units. */
    value: bigint('value', { mode: 'bigint' }).notNull().default(sql`0`),
    currency: text('currency').notNull().default('CZK'),
    /** draft | active | expired | terminated */
    status: text('status').notNull().default('active'),
    note: text('note'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('contracts_client_idx').on(t.clientId), index('contracts_valid_idx').on(t.validTo, t.id)],
);
