import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { messages } from './messages.ts';
import { users } from './users.ts';

/**
 * SMTP accounts Posel sends through. The password is sealed with the store's keys (never shown back);
 * limits are counted from `send_attempts`, so they hold across restarts and several instances.
 */
export const smtpAccounts = pgTable(
  'smtp_accounts',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    /** none | starttls | tls (implicit) */
    security: text('security').notNull().default('starttls'),
    /** Accept a certificate that does not verify (self-signed). Off unless an admin turns it on. */
    allowInvalidCert: boolean('allow_invalid_cert').notNull().default(false),
    username: text('username'),
    /** base64 of the password sealed with the store's newest key (src/sender/secrets.ts). */
    passwordSealed: text('password_sealed'),
    fromName: text('from_name'),
    fromAddress: text('from_address').notNull(),
    replyTo: text('reply_to'),
    perMinute: integer('per_minute'),
    perHour: integer('per_hour'),
    perDay: integer('per_day'),
    maxRecipients: integer('max_recipients').notNull().default(50),
    poolSize: integer('pool_size').notNull().default(2),
    isDefault: boolean('is_default').notNull().default(false),
    /** Paused (by an admin, or after an authentication failure): its messages wait. */
    pausedAt: timestamp('paused_at', { withTimezone: true }),
    pausedReason: text('paused_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    updatedBy: integer('updated_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [check('smtp_accounts_security_check', sql`${t.security} in ('none', 'starttls', 'tls')`)],
);

/**
 * Every delivery attempt: when, through which account, how long, and what the server said. The sender's
 * rate limits count rows here per account in sliding windows.
 */
export const sendAttempts = pgTable(
  'send_attempts',
  {
    id: serial('id').primaryKey(),
    messageId: integer('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    /** null: the built-in test mailbox. */
    accountId: integer('account_id'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    durationMs: integer('duration_ms').notNull().default(0),
    /** sent | deferred | failed | uncertain | paused */
    outcome: text('outcome').notNull(),
    smtpCode: integer('smtp_code'),
    /** The server's exact reply, or the network error. */
    response: text('response'),
    /** Recipients this attempt was for, and those the server refused (comma separated). */
    recipients: text('recipients').notNull().default(''),
    rejected: text('rejected'),
  },
  (t) => [index('send_attempts_message_idx').on(t.messageId, t.startedAt), index('send_attempts_account_idx').on(t.accountId, t.startedAt)],
);

/** Addresses that bounced permanently (5xx): later sends skip them. An admin can remove an entry. */
export const suppressions = pgTable('suppressions', {
  address: text('address').primaryKey(),
  reason: text('reason').notNull(),
  smtpCode: integer('smtp_code'),
  response: text('response'),
  messageId: integer('message_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The built-in test mailbox: what the embedded SMTP server received when no account is configured.
 * The raw message is kept in the store (encrypted like everything else).
 */
export const testMailbox = pgTable(
  'test_mailbox',
  {
    id: serial('id').primaryKey(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    envelopeFrom: text('envelope_from').notNull().default(''),
    envelopeTo: text('envelope_to').notNull().default(''),
    subject: text('subject').notNull().default(''),
    messageIdHeader: text('message_id_header'),
    blobId: text('blob_id').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
  },
  (t) => [index('test_mailbox_received_idx').on(t.receivedAt, t.id)],
);
