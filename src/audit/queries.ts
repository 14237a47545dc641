import { desc, lt, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import { auditLog } from '../db/schema/index.ts';

/** Who acted and from where; taken from the request (see `auditActor` in src/http/context.ts). */
export interface AuditActor {
  actorId: number | null;
  actorName: string | null;
  ip: string | null;
  requestId: string | null;
}

export interface AuditEntry {
  action: string;
  objectType?: string;
  objectId?: string | number;
  summary?: string;
  before?: unknown;
  after?: unknown;
  result?: 'ok' | 'denied' | 'failed';
}

/**
 * Appends one row to the action log. Call it with the transaction that makes the change it records,
 * so both commit or neither does. The chain trigger fills id, prev_hash and hash.
 */
export async function recordAudit(db: Db, actor: AuditActor, entry: AuditEntry): Promise<void> {
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  await db.execute(sql`
    insert into audit_log (actor_id, actor_name, action, object_type, object_id, summary, before, after,
                           ip, request_id, result)
    values (${actor.actorId}, ${actor.actorName}, ${entry.action}, ${entry.objectType ?? null},
            ${entry.objectId == null ? null : String(entry.objectId)}, ${entry.summary ?? null},
            ${json(entry.before)}::jsonb, ${json(entry.after)}::jsonb, ${actor.ip}, ${actor.requestId},
            ${entry.result ?? 'ok'})`);
}

export type AuditRow = typeof auditLog.$inferSelect;

/** The newest entries, older than `beforeId` when given (keyset paging: fast however deep). */
export async function listAudit(db: Db, params: { beforeId?: number; limit: number }): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(params.beforeId ? lt(auditLog.id, params.beforeId) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(params.limit);
}

export type ChainResult =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenId: number; reason: 'hash_mismatch' | 'link_broken' };

/**
 * Recomputes every row's hash in id order and checks each row points at its predecessor.
 * Returns the first broken row: a changed row shows as `hash_mismatch`, a removed or inserted
 * row as `link_broken` on the row after it.
 */
export async function verifyAuditChain(db: Db, batchSize = 5000): Promise<ChainResult> {
  let previousHash: string | null = null;
  let lastId = 0;
  let count = 0;
  for (;;) {
    const batch = rowsOf<{ id: string | number; prev_hash: string | null; hash: string; expected: string }>(
      await db.execute(sql`
        select id, prev_hash, hash, audit_row_hash(prev_hash, a) as expected
        from audit_log a where id > ${lastId} order by id limit ${batchSize}`),
    );
    for (const row of batch) {
      const id = Number(row.id);
      if (row.prev_hash !== previousHash) return { ok: false, count, brokenId: id, reason: 'link_broken' };
      if (row.hash !== row.expected) return { ok: false, count, brokenId: id, reason: 'hash_mismatch' };
      previousHash = row.hash;
      lastId = id;
      count++;
    }
    if (batch.length < batchSize) return { ok: true, count };
  }
}
