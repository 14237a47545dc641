import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, primaryKey, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { tsvector } from './types.ts';

/** The address book: people and companies Posel writes to. */
export const clients = pgTable(
  'clients',
  {
    id: serial('id').primaryKey(),
    /** person | company */
    kind: text('kind').notNull().default('company'),
    /** A person's full name, or a company's name as people call it. */
    name: text('name').notNull(),
    /** For a person: the company they work for; for a company: its registered name when different. */
    companyName: text('company_name'),
    /** IČO: Czech company identification number (8 digits). */
    ico: text('ico'),
    /** DIČ: VAT id, e.g. CZ12345678. */
    dic: text('dic'),
    /** Primary e-mail, lower-cased. */
    email: text('email'),
    /** Further e-mails, lower-cased. */
    emails: text('emails').array().notNull().default(sql`'{}'::text[]`),
    phone: text('phone'),
    street: text('street'),
    city: text('city'),
    zip: text('zip'),
    country: text('country').notNull().default('CZ'),
    /** Preferred language of mail to this client: cs | en. */
    locale: text('locale').notNull().default('cs'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    note: text('note'),
    /** "No marketing": never mailed by marketing features; when and from where it was set. */
    noMarketing: boolean('no_marketing').notNull().default(false),
    noMarketingAt: timestamp('no_marketing_at', { withTimezone: true }),
    noMarketingSource: text('no_marketing_source'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Names weigh A, e-mail (whole and split at @ . - _), IČO and DIČ weigh B; diacritics folded. */
    search: tsvector('search')
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('posel_unaccent'::regconfig, coalesce(name, '') || ' ' || coalesce(company_name, '')), 'A') || setweight(to_tsvector('posel_unaccent'::regconfig, coalesce(email, '') || ' ' || translate(coalesce(email, ''), '@.-_+', '     ') || ' ' || coalesce(ico, '') || ' ' || coalesce(dic, '') || ' ' || coalesce(city, '')), 'B')`,
      ),
  },
  (t) => [
    index('clients_search_idx').using('gin', t.search),
    index('clients_tags_idx').using('gin', t.tags),
    index('clients_email_idx').on(t.email),
    index('clients_ico_idx').on(t.ico),
    index('clients_name_idx').on(t.name, t.id),
    index('clients_created_idx').on(t.createdAt, t.id),
  ],
);

/** Marketing lists ("Marketingový seznam") and their members. */
export const marketingLists = pgTable('marketing_lists', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const listMembers = pgTable(
  'list_members',
  {
    listId: integer('list_id')
      .notNull()
      .references(() => marketingLists.id, { onDelete: 'cascade' }),
    clientId: integer('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.listId, t.clientId] }), index('list_members_client_idx').on(t.clientId)],
);
