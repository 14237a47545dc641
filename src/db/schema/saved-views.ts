import { index, integer, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

/**
 * A user's saved view of a list: a name and the list's query string (filters and search), shown in the
 * sidebar ("Failed this week", "Unsent drafts"). `list` says which list it belongs to (e.g. `messages`).
 */
export const savedViews = pgTable(
  'saved_views',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    list: text('list').notNull(),
    name: text('name').notNull(),
    /** The query string without the leading `?`, as the list's own form produces it; re-validated on use. */
    query: text('query').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('saved_views_user_list_name_idx').on(t.userId, t.list, t.name), index('saved_views_user_idx').on(t.userId, t.list)],
);
