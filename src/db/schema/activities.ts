import { boolean, index, integer, pgTable, primaryKey, serial, text, timestamp } from 'drizzle-orm/pg-core';
import { clients } from './clients.ts';
import { users } from './users.ts';

/** CRM activities: calls, meetings, tasks and e-mails, each with its people. */
export const activities = pgTable(
  'activities',
  {
    id: serial('id').primaryKey(),
    /** call | meeting | task | email */
    type: text('type').notNull(),
    subject: text('subject').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    clientId: integer('client_id').references(() => clients.id),
    note: text('note'),
    done: boolean('done').notNull().default(false),
    createdBy: integer('created_by').references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('activities_at_idx').on(t.at, t.id), index('activities_client_idx').on(t.clientId, t.at)],
);

/** Users responsible for an activity. */
export const activityResponsibles = pgTable(
  'activity_responsibles',
  {
    activityId: integer('activity_id')
      .notNull()
      .references(() => activities.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
  },
  (t) => [primaryKey({ columns: [t.activityId, t.userId] }), index('activity_responsibles_user_idx').on(t.userId)],
);

/** Participants and people kept informed (CC): a client from the address book, or a free address. */
export const activityPeople = pgTable(
  'activity_people',
  {
    id: serial('id').primaryKey(),
    activityId: integer('activity_id')
      .notNull()
      .references(() => activities.id, { onDelete: 'cascade' }),
    /** participant | cc */
    role: text('role').notNull(),
    clientId: integer('client_id').references(() => clients.id, { onDelete: 'cascade' }),
    email: text('email'),
    name: text('name'),
  },
  (t) => [index('activity_people_activity_idx').on(t.activityId)],
);
