/**
 * Unsubscribing from marketing mail: the client's "no marketing" flag is set (with when and how), every
 * marketing message still waiting for them is cancelled (so nothing more of a running campaign reaches
 * them), and both are in the action log. Transactional mail (orders, contracts) is not affected.
 */
import { sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import type { UnsubscribeTarget } from './token.ts';

export type UnsubscribeVia = 'one-click' | 'link';

export interface UnsubscribeResult {
  email: string | null;
  /** The flag was already set (a second click, or set by staff): nothing changed. */
  already: boolean;
  /** Waiting marketing messages to this client that were cancelled. */
  cancelled: number;
}

/** Marketing messages not yet on their way: drafts of a campaign and queued or deferred ones. */
const WAITING = sql`('draft', 'queued', 'deferred')`;

export async function unsubscribeClient(db: Db, actor: AuditActor, target: UnsubscribeTarget, via: UnsubscribeVia): Promise<UnsubscribeResult | null> {
  return db.transaction(async (tx) => {
    const [client] = rowsOf<{ id: number; email: string | null; noMarketing: boolean }>(
      await tx.execute(sql`select id, email, no_marketing as "noMarketing" from clients where id = ${target.clientId} for update`),
    );
    if (!client) return null;
    const source = `unsubscribe: ${via}${target.campaignId ? ` (campaign ${target.campaignId})` : ''}`;
    if (!client.noMarketing) {
      await tx.execute(sql`
        update clients set no_marketing = true, no_marketing_at = now(), no_marketing_source = ${source}, updated_at = now()
         where id = ${client.id}`);
    }
    const cancelled = rowsOf<{ id: number; subject: string }>(
      await tx.execute(sql`
        update messages m set status = 'cancelled', updated_at = now(), version = m.version + 1, lease_owner = null, lease_until = null
          from campaigns c
         where c.id = m.campaign_id and c.marketing and m.client_id = ${client.id} and m.status in ${WAITING}
        returning m.id, m.subject`),
    );
    await recordAudit(tx, actor, {
      action: 'client.unsubscribed',
      objectType: 'client',
      objectId: client.id,
      summary: client.email ?? undefined,
      before: { noMarketing: client.noMarketing },
      after: { noMarketing: true, source, cancelledMessages: cancelled.map((m) => m.id) },
    });
    for (const m of cancelled) {
      await recordAudit(tx, actor, { action: 'message.cancel', objectType: 'message', objectId: m.id, summary: m.subject, after: { reason: 'unsubscribed' } });
    }
    return { email: client.email, already: client.noMarketing, cancelled: cancelled.length };
  });
}
