import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { rowsOf, type Db } from '../db/client.ts';
import type { Store, SweepResult } from './store.ts';

/** Every table that points into the store (keep this list complete when a table gains a blob column); a blob none of them names is garbage (after the grace period). */
export async function isBlobReferenced(db: Db, id: string): Promise<boolean> {
  const rows = rowsOf<{ used: boolean }>(
    await db.execute(sql`
      select exists (select 1 from messages where body_blob = ${id})
          or exists (select 1 from messages where split_part(body_blob, '~', 1) = ${id} and body_blob like '%~%')
          or exists (select 1 from message_attachments where blob_id = ${id})
          or exists (select 1 from template_attachments where blob_id = ${id})
          or exists (select 1 from campaign_attachments where blob_id = ${id})
          or exists (select 1 from test_mailbox where blob_id = ${id}) as used`),
  );
  return rows[0]?.used === true;
}

/**
 * Removes store files that no row uses any more (deleted drafts, replaced bodies, uploads never saved).
 * Files younger than the store's grace period are kept: a blob is written before the row that names it.
 */
export async function sweepStore(db: Db, store: Store, options: { graceMs?: number } = {}): Promise<SweepResult> {
  return store.deleteUnreferenced((id) => isBlobReferenced(db, id), options);
}

/** Runs the sweep now and then every `intervalMs`; returns a stop function. Failures are logged, not thrown. */
export function startStoreSweeper(db: Db, store: Store, logger: Logger, intervalMs = 60 * 60_000): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const result = await sweepStore(db, store);
      if (result.deleted || result.tempFilesRemoved) logger.info({ ...result }, 'store sweep');
    } catch (err) {
      logger.warn({ err }, 'store sweep failed');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(run, 5 * 60_000);
  const timer = setInterval(run, intervalMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
