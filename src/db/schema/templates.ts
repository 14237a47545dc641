import { check, index, integer, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { users } from './users.ts';

/** What a template is written for: it decides which variables it may use (src/templates/catalogue.ts). */
export const TEMPLATE_PURPOSES = ['client', 'order', 'contract', 'activity', 'list'] as const;
export type TemplatePurpose = (typeof TEMPLATE_PURPOSES)[number];

/**
 * Message templates: logic-less Mustache in subject and body, checked against the purpose's variable
 * catalogue when saved. Bodies are sanitised HTML (they are the company's own text, kept in the database).
 */
export const templates = pgTable(
  'templates',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    purpose: text('purpose').notNull(),
    /** cs | en: the language of the mail it writes. */
    locale: text('locale').notNull().default('cs'),
    subject: text('subject').notNull().default(''),
    bodyHtml: text('body_html').notNull().default(''),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedBy: integer('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('templates_purpose_idx').on(t.purpose, t.name),
    check('templates_purpose_check', sql`${t.purpose} in ('client', 'order', 'contract', 'activity', 'list')`),
  ],
);

/** A template's attachments: blobs in the store (deduplicated by content), copied to each message it writes. */
export const templateAttachments = pgTable(
  'template_attachments',
  {
    id: serial('id').primaryKey(),
    templateId: integer('template_id')
      .notNull()
      .references(() => templates.id, { onDelete: 'cascade' }),
    blobId: text('blob_id').notNull(),
    /** Sanitised file name as the recipient sees it. */
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    position: integer('position').notNull().default(0),
  },
  (t) => [index('template_attachments_template_idx').on(t.templateId, t.position), index('template_attachments_blob_idx').on(t.blobId)],
);
