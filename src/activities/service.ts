import { eq } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { activities, activityPeople, activityResponsibles } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import type { ActivityInput, PersonInput } from './form.ts';
import { getPeople, getResponsibles } from './queries.ts';

/** What the action log keeps of an activity: enough to see what changed, people as `client:12` or the address. */
function snapshot(a: Omit<ActivityInput, 'people'> & { people: PersonInput[] }) {
  const who = (role: string) => a.people.filter((p) => p.role === role).map((p) => (p.clientId ? `client:${p.clientId}` : p.email));
  return {
    type: a.type,
    subject: a.subject,
    at: a.at.toISOString(),
    clientId: a.clientId,
    note: a.note,
    done: a.done,
    responsible: [...a.responsible].sort((x, y) => x - y),
    participants: who('participant'),
    cc: who('cc'),
  };
}

/** The saved activity in the shape of its input (for the log's "before"). */
async function loadInput(tx: Db, id: number): Promise<ActivityInput | undefined> {
  const [row] = await tx.select().from(activities).where(eq(activities.id, id)).for('update');
  if (!row) return undefined;
  const [responsible, people] = await Promise.all([getResponsibles(tx, id), getPeople(tx, id)]);
  return {
    type: row.type as ActivityInput['type'],
    subject: row.subject,
    at: row.at,
    clientId: row.clientId,
    note: row.note,
    done: row.done,
    responsible: responsible.map((u) => u.id),
    people: people.map((p) => ({ role: p.role as PersonInput['role'], clientId: p.clientId, email: p.email, name: p.name })),
  };
}

async function writeLinks(tx: Db, id: number, input: ActivityInput) {
  await tx.delete(activityResponsibles).where(eq(activityResponsibles.activityId, id));
  await tx.delete(activityPeople).where(eq(activityPeople.activityId, id));
  if (input.responsible.length) await tx.insert(activityResponsibles).values(input.responsible.map((userId) => ({ activityId: id, userId })));
  if (input.people.length) await tx.insert(activityPeople).values(input.people.map((p) => ({ activityId: id, ...p })));
}

/** Creates an activity with its responsible users and people; logged with everything it holds. */
export async function createActivity(db: Db, input: ActivityInput, actor: AuditActor): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(activities)
      .values({
        type: input.type,
        subject: input.subject,
        at: input.at,
        clientId: input.clientId,
        note: input.note,
        done: input.done,
        createdBy: actor.actorId,
      })
      .returning({ id: activities.id });
    await writeLinks(tx, row!.id, input);
    await recordAudit(tx, actor, { action: 'activity.created', objectType: 'activity', objectId: row!.id, summary: input.subject, after: snapshot(input) });
    return row!.id;
  });
}

/** Saves an edit: the activity's fields, and its responsible users and people replaced as a whole. */
export async function updateActivity(db: Db, id: number, input: ActivityInput, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await loadInput(tx, id);
    if (!before) throw new NotFoundError();
    await tx
      .update(activities)
      .set({ type: input.type, subject: input.subject, at: input.at, clientId: input.clientId, note: input.note, done: input.done, updatedAt: new Date() })
      .where(eq(activities.id, id));
    await writeLinks(tx, id, input);
    await recordAudit(tx, actor, {
      action: 'activity.updated',
      objectType: 'activity',
      objectId: id,
      summary: input.subject,
      before: snapshot(before),
      after: snapshot(input),
    });
  });
}

/** Marks an activity done or not done; nothing is written (or logged) when it already is. */
export async function setActivityDone(db: Db, id: number, done: boolean, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.select({ done: activities.done, subject: activities.subject }).from(activities).where(eq(activities.id, id)).for('update');
    if (!row) throw new NotFoundError();
    if (row.done === done) return;
    await tx.update(activities).set({ done, updatedAt: new Date() }).where(eq(activities.id, id));
    await recordAudit(tx, actor, {
      action: done ? 'activity.done' : 'activity.reopened',
      objectType: 'activity',
      objectId: id,
      summary: row.subject,
      before: { done: row.done },
      after: { done },
    });
  });
}

/** Deletes an activity with its people; the log keeps all of it. */
export async function deleteActivity(db: Db, id: number, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await loadInput(tx, id);
    if (!before) throw new NotFoundError();
    await tx.delete(activities).where(eq(activities.id, id));
    await recordAudit(tx, actor, { action: 'activity.deleted', objectType: 'activity', objectId: id, summary: before.subject, before: snapshot(before) });
  });
}
