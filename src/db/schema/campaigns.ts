import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, primaryKey, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { clients, marketingLists } from './clients.ts';
import { orders } from './orders.ts';
import { smtpAccounts } from './sending.ts';
import { templates } from './templates.ts';
import { users } from './users.ts';

/**
 * Bulk actions ("hromadné akce") and campaigns: one row per run of a bulk wizard — mail to clients selected
 * in the address book (`clients`), to a marketing list (`list`, a campaign: marketing mail with unsubscribe),
 * or the order processing wizard (`orders`). Its messages carry `messages.campaign_id`; their live counts
 * come from those messages' states. The recipients are frozen in `campaign_recipients` when generation
 * starts, so a list that changes later does not change who gets mail, and an interrupted generation resumes.
 */
export const campaigns = pgTable(
  'campaigns',
  {
    id: serial('id').primaryKey(),
    kind: text('kind').notNull(),
    name: text('name').notNull(),
    /** Marketing mail: List-Unsubscribe, "no marketing" respected. Transactional (orders, contracts): false. */
    marketing: boolean('marketing').notNull().default(false),
    /**
     * draft (wizard not finished) → generating → generated (review) → sending → done; paused (by a user or
     * after too many failures) and cancelled at any point after generation starts.
     */
    status: text('status').notNull().default('draft'),
    pausedReason: text('paused_reason'),
    templateId: integer('template_id').references(() => templates.id, { onDelete: 'set null' }),
    listId: integer('list_id').references(() => marketingLists.id, { onDelete: 'set null' }),
    /** Order processing: confirm | ship | complete | notify. */
    orderAction: text('order_action'),
    /** The message as the wizard's step 1 left it: Mustache subject and sanitised HTML body. */
    subject: text('subject').notNull().default(''),
    bodyHtml: text('body_html').notNull().default(''),
    /** Template purpose the subject/body are checked against (client, order, list...). */
    purpose: text('purpose').notNull().default('client'),
    locale: text('locale').notNull().default('cs'),
    /** Per-recipient attachment: a file name pattern (Mustache, e.g. `faktura-{{client.number}}.pdf`). */
    attachmentPattern: text('attachment_pattern'),
    accountId: integer('account_id').references(() => smtpAccounts.id, { onDelete: 'set null' }),
    sendMode: text('send_mode'),
    sendAt: timestamp('send_at', { withTimezone: true }),
    notAfter: timestamp('not_after', { withTimezone: true }),
    /** Sending window in minutes after local midnight (TIMEZONE), e.g. 480–1020 for 8:00–17:00; null = any time. */
    windowStart: integer('window_start'),
    windowEnd: integer('window_end'),
    /** Auto-pause after this many failed messages (null: never). */
    failureLimit: integer('failure_limit'),
    /** Recipients frozen at generation start, and how many of them have been processed. */
    recipientCount: integer('recipient_count').notNull().default(0),
    processedCount: integer('processed_count').notNull().default(0),
    createdBy: integer('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    generatedAt: timestamp('generated_at', { withTimezone: true }),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('campaigns_created_idx').on(t.createdAt, t.id),
    index('campaigns_status_idx').on(t.status),
    check('campaigns_kind_check', sql`${t.kind} in ('clients', 'list', 'orders')`),
    check(
      'campaigns_status_check',
      sql`${t.status} in ('draft', 'generating', 'generated', 'sending', 'paused', 'done', 'cancelled')`,
    ),
  ],
);

/**
 * Who a bulk action writes to, frozen when generation starts (position = order of generation). Each row
 * ends `generated` (with its message), `skipped` (invalid address, suppressed, no e-mail, no marketing) or
 * `error` (e.g. a template value missing), always with the reason: nobody is skipped silently.
 */
export const campaignRecipients = pgTable(
  'campaign_recipients',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    clientId: integer('client_id').references(() => clients.id, { onDelete: 'set null' }),
    orderId: integer('order_id').references(() => orders.id, { onDelete: 'set null' }),
    email: text('email'),
    /** pending | generated | skipped | error */
    state: text('state').notNull().default('pending'),
    reason: text('reason'),
    /** The generated message (no FK: messages reference campaigns). */
    messageId: integer('message_id'),
  },
  (t) => [
    primaryKey({ columns: [t.campaignId, t.position] }),
    index('campaign_recipients_state_idx').on(t.campaignId, t.state),
    index('campaign_recipients_client_idx').on(t.clientId),
  ],
);

/**
 * A bulk action's files: `shared` ones go to every message; the others are per-recipient candidates,
 * matched to a recipient by the campaign's attachment pattern.
 */
export const campaignAttachments = pgTable(
  'campaign_attachments',
  {
    id: serial('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    shared: boolean('shared').notNull().default(true),
    blobId: text('blob_id').notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    position: integer('position').notNull().default(0),
  },
  (t) => [index('campaign_attachments_campaign_idx').on(t.campaignId, t.position), index('campaign_attachments_blob_idx').on(t.blobId)],
);
