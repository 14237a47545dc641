import { and, eq, inArray, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import { activities, clients, contracts, orders } from '../db/schema/index.ts';
import { NotFoundError, RuleError } from '../errors.ts';
import type { ClientInput, InlineField } from './form.ts';
import { getClient, type Client } from './queries.ts';

/** The parts of a client worth showing in an audit row's before/after (not the search vector). */
function snapshot(c: Partial<Client>) {
  const { search: _s, createdAt: _c, updatedAt: _u, ...rest } = c as Client;
  return rest;
}

function changedOnly(before: Record<string, unknown>, after: Record<string, unknown>) {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const key of Object.keys(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      b[key] = before[key];
      a[key] = after[key];
    }
  }
  return { before: b, after: a };
}

const marketingStamp = (input: { noMarketing: boolean }, was: boolean | undefined, actor: AuditActor) =>
  input.noMarketing && !was
    ? { noMarketingAt: new Date(), noMarketingSource: `manual: ${actor.actorName ?? 'system'}` }
    : !input.noMarketing
      ? { noMarketingAt: null, noMarketingSource: null }
      : {};

export async function createClient(db: Db, input: ClientInput, actor: AuditActor): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(clients)
      .values({ ...input, ...marketingStamp(input, false, actor) })
      .returning();
    await recordAudit(tx, actor, {
      action: 'client.created',
      objectType: 'client',
      objectId: row!.id,
      summary: row!.name,
      after: snapshot(row!),
    });
    return row!.id;
  });
}

export async function updateClient(db: Db, id: number, input: ClientInput, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getClient(tx, id);
    if (!before) throw new NotFoundError();
    const [after] = await tx
      .update(clients)
      .set({ ...input, ...marketingStamp(input, before.noMarketing, actor), updatedAt: new Date() })
      .where(eq(clients.id, id))
      .returning();
    const diff = changedOnly(snapshot(before), snapshot(after!));
    await recordAudit(tx, actor, { action: 'client.updated', objectType: 'client', objectId: id, summary: after!.name, ...diff });
  });
}

/** Saves one field edited inline; returns the updated client. */
export async function updateClientField<F extends InlineField>(
  db: Db,
  id: number,
  field: F,
  value: ClientInput[F],
  actor: AuditActor,
): Promise<Client> {
  return db.transaction(async (tx) => {
    const before = await getClient(tx, id);
    if (!before) throw new NotFoundError();
    const [after] = await tx
      .update(clients)
      .set({ [field]: value, updatedAt: new Date() })
      .where(eq(clients.id, id))
      .returning();
    await recordAudit(tx, actor, {
      action: 'client.updated',
      objectType: 'client',
      objectId: id,
      summary: `${after!.name}: ${field}`,
      before: { [field]: before[field] },
      after: { [field]: after![field] },
    });
    return after!;
  });
}

/** Deletes a client that nothing else refers to. */
export async function deleteClient(db: Db, id: number, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getClient(tx, id);
    if (!before) throw new NotFoundError();
    const [used] = rowsOf<{ used: boolean }>(
      await tx.execute(sql`
        select exists(select 1 from ${orders} where client_id = ${id})
            or exists(select 1 from ${contracts} where client_id = ${id})
            or exists(select 1 from ${activities} where client_id = ${id}) as used`),
    );
    if (used?.used) throw new RuleError('clients.in_use');
    await tx.delete(clients).where(eq(clients.id, id));
    await recordAudit(tx, actor, { action: 'client.deleted', objectType: 'client', objectId: id, summary: before.name, before: snapshot(before) });
  });
}

/** Adds a tag to many clients at once (one statement, one audit row); returns how many changed. */
export async function addTagToClients(db: Db, ids: number[], tag: string, actor: AuditActor): Promise<{ changed: number; skipped: number }> {
  if (!ids.length) return { changed: 0, skipped: 0 };
  return db.transaction(async (tx) => {
    let changed = 0;
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000);
      const rows = await tx
        .update(clients)
        .set({ tags: sql`array_append(${clients.tags}, ${tag})`, updatedAt: new Date() })
        .where(and(inArray(clients.id, chunk), sql`not (${clients.tags} @> array[${tag}]::text[])`))
        .returning({ id: clients.id });
      changed += rows.length;
    }
    await recordAudit(tx, actor, {
      action: 'client.bulk_tagged',
      objectType: 'client',
      summary: `+${tag}: ${changed} of ${ids.length}`,
      after: { tag, changed, requested: ids.length },
    });
    return { changed, skipped: ids.length - changed };
  });
}
