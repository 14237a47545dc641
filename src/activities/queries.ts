import { and, asc, count, desc, eq, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { activities, activityPeople, activityResponsibles, clients, users } from '../db/schema/index.ts';
import { likePattern } from '../lists/queries.ts';

export const ACTIVITY_TYPES = ['call', 'meeting', 'task', 'email'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];
export const PERSON_ROLES = ['participant', 'cc'] as const;
export type PersonRole = (typeof PERSON_ROLES)[number];

export interface ActivityFilter {
  /** `mine`: activities the user is responsible for. */
  scope: 'mine' | 'all';
  userId: number;
  type?: ActivityType;
  state?: 'open' | 'done';
  /** Inclusive start and exclusive end, as instants (the route turns local days into these). */
  from?: Date;
  to?: Date;
  q?: string;
  sort: { key: 'at' | 'subject'; dir: 'asc' | 'desc' };
  page: number;
  pageSize: number;
}

function filterCondition(f: ActivityFilter): SQL | undefined {
  return and(
    f.scope === 'mine'
      ? sql`exists (select 1 from activity_responsibles r where r.activity_id = activities.id and r.user_id = ${f.userId})`
      : undefined,
    f.type ? eq(activities.type, f.type) : undefined,
    f.state ? eq(activities.done, f.state === 'done') : undefined,
    f.from ? gte(activities.at, f.from) : undefined,
    f.to ? lt(activities.at, f.to) : undefined,
    f.q ? sql`unaccent(${activities.subject}) ilike unaccent(${likePattern(f.q)})` : undefined,
  );
}

/** Names of the users responsible for the activity in the outer query, comma-separated. */
// Correlated subqueries name the outer table in plain SQL (drizzle may render `${activities.id}` as a bare
// "id", which inside a subquery binds to the nearest table having an id).
const responsibleNames = sql<string | null>`(select string_agg(u.name, ', ' order by u.name) from activity_responsibles r
  join users u on u.id = r.user_id where r.activity_id = activities.id)`;

/** One page of activities for the list, and the total for paging. */
export async function listActivities(db: Db, f: ActivityFilter) {
  const where = filterCondition(f);
  const order = f.sort.dir === 'asc' ? asc : desc;
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: activities.id,
        type: activities.type,
        subject: activities.subject,
        at: activities.at,
        done: activities.done,
        clientId: activities.clientId,
        clientName: clients.name,
        responsible: responsibleNames,
      })
      .from(activities)
      .leftJoin(clients, eq(clients.id, activities.clientId))
      .where(where)
      .orderBy(f.sort.key === 'subject' ? order(activities.subject) : order(activities.at), order(activities.id))
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize),
    db.select({ n: count() }).from(activities).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/** The recent activities of a client: those about it and those it takes part in (or is kept informed of). */
export async function listClientActivities(db: Db, clientId: number, limit = 20) {
  return db
    .select({ id: activities.id, type: activities.type, subject: activities.subject, at: activities.at, done: activities.done })
    .from(activities)
    .where(
      or(
        eq(activities.clientId, clientId),
        sql`exists (select 1 from activity_people p where p.activity_id = activities.id and p.client_id = ${clientId})`,
      ),
    )
    .orderBy(desc(activities.at), desc(activities.id))
    .limit(limit);
}

/** One activity with its client and author, or undefined. */
export async function getActivity(db: Db, id: number) {
  const [row] = await db
    .select({
      id: activities.id,
      type: activities.type,
      subject: activities.subject,
      at: activities.at,
      note: activities.note,
      done: activities.done,
      clientId: activities.clientId,
      clientName: clients.name,
      clientEmail: clients.email,
      createdBy: activities.createdBy,
      createdByName: users.name,
      createdAt: activities.createdAt,
      updatedAt: activities.updatedAt,
    })
    .from(activities)
    .leftJoin(clients, eq(clients.id, activities.clientId))
    .leftJoin(users, eq(users.id, activities.createdBy))
    .where(eq(activities.id, id));
  return row;
}

/** The users responsible for an activity, by name. */
export async function getResponsibles(db: Db, activityId: number) {
  return db
    .select({ id: users.id, name: users.name, email: users.email, active: users.active })
    .from(activityResponsibles)
    .innerJoin(users, eq(users.id, activityResponsibles.userId))
    .where(eq(activityResponsibles.activityId, activityId))
    .orderBy(asc(users.name), asc(users.id));
}

/** Participants and CC of an activity: address-book clients (with their details) and free addresses. */
export async function getPeople(db: Db, activityId: number) {
  return db
    .select({
      role: activityPeople.role,
      clientId: activityPeople.clientId,
      email: activityPeople.email,
      name: activityPeople.name,
      clientName: clients.name,
      clientEmail: clients.email,
      clientNoMarketing: clients.noMarketing,
    })
    .from(activityPeople)
    .leftJoin(clients, eq(clients.id, activityPeople.clientId))
    .where(eq(activityPeople.activityId, activityId))
    .orderBy(asc(activityPeople.id));
}

/** Users who can be made responsible: the active ones, plus `alsoIds` (already responsible, perhaps inactive now). */
export async function responsibleChoices(db: Db, alsoIds: number[] = []) {
  return db
    .select({ id: users.id, name: users.name, email: users.email, active: users.active })
    .from(users)
    .where(alsoIds.length ? or(eq(users.active, true), inArray(users.id, alsoIds)) : eq(users.active, true))
    .orderBy(asc(users.name), asc(users.id));
}

/** The clients with these ids (for the chosen people of a form), keyed by id. */
export async function clientsById(db: Db, ids: number[]) {
  const unique = [...new Set(ids)].filter((id) => id > 0 && id <= 2_147_483_647);
  if (!unique.length) return new Map<number, { id: number; name: string; email: string | null }>();
  const rows = await db
    .select({ id: clients.id, name: clients.name, email: clients.email })
    .from(clients)
    .where(inArray(clients.id, unique.slice(0, 1000)));
  return new Map(rows.map((r) => [r.id, r]));
}

/** The first client (lowest id) having this IČO or (primary) e-mail; for entries typed by hand. */
export async function clientByKey(db: Db, key: { ico?: string; email?: string }) {
  const [row] = await db
    .select({ id: clients.id, name: clients.name, email: clients.email })
    .from(clients)
    .where(key.ico ? eq(clients.ico, key.ico) : eq(clients.email, key.email ?? ''))
    .orderBy(asc(clients.id))
    .limit(1);
  return row;
}
