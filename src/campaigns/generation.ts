/**
 * The generation engine of bulk actions: one draft message per frozen recipient, rendered with that
 * recipient's own data. Resumable and exactly-once: recipients are frozen in `campaign_recipients`
 * (position order) when generation starts; each batch takes the next pending rows, writes the bodies to
 * the store first (a blob without a row is swept later), then commits the messages and the rows' new
 * states together. A batch whose rows another process already took (two instances resuming the same
 * campaign) finds them no longer pending under its row locks and writes nothing for them. A process
 * killed mid-batch leaves those rows pending: the next run does them again, and nobody gets two messages.
 * Bodies of a batch go to the store as one pack; the next batch is rendered while the current one commits.
 */
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import Mustache from 'mustache';
import type { Logger } from 'pino';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import { rowsOf, type Db } from '../db/client.ts';
import {
  campaignAttachments,
  campaignRecipients,
  campaigns,
  clients,
  marketingLists,
  orderItems,
  orders,
  users,
} from '../db/schema/index.ts';
import { formatters, isLocale, type Locale } from '../http/i18n/index.ts';
import { parseAddressList } from '../mail/address.ts';
import { sanitizeBodyHtml } from '../mail/html.ts';
import { safeFilename } from '../mail/mime.ts';
import { settleMessageSearch } from '../messages/search.ts';
import { unsubscribeFooterHtml, unsubscribeLinks } from '../unsubscribe/token.ts';
import { messageIdDomain, newMessageId, searchVector } from '../messages/service.ts';
import type { Store } from '../store/store.ts';
import type { TemplatePurpose } from '../templates/catalogue.ts';
import { clientColumns, clientData, orderTemplateData, type ClientRecord, type DataContext } from '../templates/data.ts';
import { renderTemplate, TemplateInvalidError, type TemplateData } from '../templates/engine.ts';

/** What the engine needs: the database, the store, the time zone dates are shown in. */
export interface GenerationDeps {
  db: Db;
  store: Store;
  timeZone: string;
  /** Where recipients reach Posel (config PUBLIC_URL): marketing mail links its unsubscribe page there. */
  publicUrl: string;
  logger?: Logger;
}

/** A generation of at least this many messages settles the search index when it ends (see settleMessageSearch). */
const SETTLE_AFTER = 1000;

/** Recipients rendered and committed per transaction. */
export const GENERATION_BATCH = 200;

/** The system as the actor of background work (the campaign's author is named in the summary). */
export const CAMPAIGN_ACTOR: AuditActor = { actorId: null, actorName: 'Posel (hromadné akce)', ip: null, requestId: null };

/**
 * Why a recipient gets no message. Stored as `code` or `code:detail` in campaign_recipients.reason and shown
 * as `campaigns.reason.<code>` with the detail.
 */
export type ReasonCode = 'no_record' | 'no_email' | 'invalid_email' | 'suppressed' | 'no_marketing' | 'missing_value' | 'attachment_missing' | 'template';

export const reasonOf = (code: ReasonCode, detail?: string) => (detail ? `${code}:${detail.slice(0, 200)}` : code);

/** The address problem of a recipient, or null when mail may go to `email`. */
export function recipientProblem(r: { exists: boolean; email: string | null; suppressed: boolean; noMarketing: boolean }, marketing: boolean): ReasonCode | null {
  if (!r.exists) return 'no_record';
  if (!r.email?.trim()) return 'no_email';
  if (!normaliseAddress(r.email)) return 'invalid_email';
  if (r.suppressed) return 'suppressed';
  if (marketing && r.noMarketing) return 'no_marketing';
  return null;
}

/** The address as we send to it (validated strictly, domain lower-cased), or null. */
export function normaliseAddress(email: string): string | null {
  const parsed = parseAddressList(email, { max: 1 });
  return parsed.ok && parsed.addresses.length === 1 ? parsed.addresses[0]!.address : null;
}

/**
 * Freezes who the campaign writes to, once (a second call keeps the first set): a list's members as they
 * are now, ordered by name; for a selection of clients or orders the rows exist since the wizard started,
 * and their addresses are taken now. Returns the number of recipients.
 */
export async function freezeRecipients(tx: Db, campaign: { id: number; kind: string; listId: number | null }): Promise<number> {
  const [{ n } = { n: 0 }] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from campaign_recipients where campaign_id = ${campaign.id}`));
  if (campaign.kind === 'list' && n === 0 && campaign.listId != null) {
    await tx.execute(sql`
      insert into campaign_recipients (campaign_id, position, client_id, email)
      select ${campaign.id}, (row_number() over (order by c.name, c.id) - 1)::int, c.id, c.email
        from list_members m join clients c on c.id = m.client_id
       where m.list_id = ${campaign.listId}`);
  } else {
    await tx.execute(sql`
      update campaign_recipients r set email = c.email
        from clients c
       where r.campaign_id = ${campaign.id} and r.state = 'pending' and c.id = r.client_id`);
  }
  const [count] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from campaign_recipients where campaign_id = ${campaign.id}`));
  return count?.n ?? 0;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The words of a generated (sanitised) body for its search vector: tags dropped, block ends as line breaks,
 * entities decoded. The same words `htmlToPlainText` finds, without laying them out, which counts when a
 * campaign writes 100,000 bodies; the body itself is kept as rendered.
 */
export function searchText(html: string): string {
  return html
    .replace(/<(?:br\s*\/?|\/(?:p|div|li|tr|td|th|h[1-6]|ul|ol|table|blockquote))>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]+\d*);/gi, (m, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+/g, ' ')
    .trim();
}

type Tree = { [key: string]: string | Tree | Tree[] };
const tree = (entries: Record<string, string | Tree | Tree[]>): Tree => Object.assign(Object.create(null) as Tree, entries);

/**
 * The names a template inserts outside any section: each must have a value for the recipient, or the
 * recipient is an error ("missing value"). Inside `{{#x}}…{{/x}}` a value may be empty: that is how a
 * template says "optional".
 */
// A writer without Mustache's global cache (which never forgets).
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;

function requiredNames(source: string): string[] {
  const out = new Set<string>();
  try {
    for (const token of writer.parse(source) as unknown as [string, string][]) {
      if (token && (token[0] === 'name' || token[0] === '&')) out.add(token[1]);
    }
  } catch {
    // An invalid template is refused by renderTemplate with positions; nothing to add here.
  }
  return [...out];
}

function lookup(data: TemplateData, name: string): unknown {
  let value: unknown = data;
  for (const part of name.split('.')) {
    if (value == null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

interface CampaignRow {
  id: number;
  kind: string;
  status: string;
  marketing: boolean;
  purpose: TemplatePurpose;
  locale: string;
  subject: string;
  bodyHtml: string;
  templateId: number | null;
  listId: number | null;
  attachmentPattern: string | null;
  createdBy: number | null;
}

interface Outcome {
  position: number;
  state: 'generated' | 'skipped' | 'error';
  reason: string | null;
  message?: {
    header: string;
    clientId: number | null;
    orderId: number | null;
    to: { address: string; name?: string };
    subject: string;
    html: string;
    text: string;
    blobId: string;
    files: { blobId: string; filename: string; contentType: string; sizeBytes: number }[];
    /** Marketing mail: the recipient's unsubscribe address (List-Unsubscribe and the footer link). */
    unsubscribeUrl: string | null;
  };
}

/**
 * Generates the campaign's pending recipients, batch by batch, until none is left (or `maxBatches` ran:
 * tests stop there to simulate an interruption), then marks the campaign `generated`. Stops early when the
 * campaign leaves `generating` (paused or cancelled). Works for every kind: clients and list (the client is
 * the record) and orders (the order is the record, purpose `order`, its client the recipient).
 */
export async function generateForCampaign(
  deps: GenerationDeps,
  campaignId: number,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<{ generated: number; skipped: number; errors: number; finished: boolean }> {
  const { db } = deps;
  const batchSize = options.batchSize ?? GENERATION_BATCH;
  const totals = { generated: 0, skipped: 0, errors: 0 };
  const [campaign] = (await db.select().from(campaigns).where(eq(campaigns.id, campaignId))) as unknown as CampaignRow[];
  if (!campaign || campaign.status !== 'generating') return { ...totals, finished: false };
  const [author] = campaign.createdBy
    ? await db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, campaign.createdBy))
    : [];
  const locale: Locale = isLocale(campaign.locale) ? campaign.locale : 'cs';
  const ctx: DataContext = { locale, timeZone: deps.timeZone, sender: { name: author?.name ?? '', email: author?.email ?? '' } };
  const unsubscribeLink = campaign.marketing ? await unsubscribeLinks(db, deps.publicUrl) : null;
  const [list] = campaign.listId ? await db.select({ name: marketingLists.name }).from(marketingLists).where(eq(marketingLists.id, campaign.listId)) : [];
  const files = await db.select().from(campaignAttachments).where(eq(campaignAttachments.campaignId, campaignId)).orderBy(asc(campaignAttachments.position), asc(campaignAttachments.id));
  const shared = files.filter((f) => f.shared).map((f) => ({ blobId: f.blobId, filename: f.filename, contentType: f.contentType, sizeBytes: f.sizeBytes }));
  const perRecipient = new Map(files.filter((f) => !f.shared).map((f) => [f.filename.toLowerCase(), f]));
  const required = [...requiredNames(campaign.subject), ...requiredNames(campaign.bodyHtml)];
  // Sanitised once here, the body's markup is already what the sanitiser keeps, so the engine renders it
  // without sanitising every message again (engine.ts needsSanitize); tags inside markup still make it do so.
  const template = { subject: campaign.subject, bodyHtml: sanitizeBodyHtml(campaign.bodyHtml) };
  const today = formatters(locale, deps.timeZone).date(new Date());
  const senderTree = () => tree({ name: ctx.sender.name, email: ctx.sender.email });

  /** Reads and renders the pending recipients after position `after`, bodies into the store; null when none is left or the run must stop. */
  const prepare = async (after: number): Promise<{ outcomes: Outcome[]; last: number } | null> => {
    if (stopping) return null;
    const [state] = await db.select({ status: campaigns.status }).from(campaigns).where(eq(campaigns.id, campaignId));
    if (state?.status !== 'generating') return null;
    const pending = await db
      .select({
        position: campaignRecipients.position,
        clientId: campaignRecipients.clientId,
        orderId: campaignRecipients.orderId,
        email: campaignRecipients.email,
        client: { id: clients.id, ...clientColumns, noMarketing: clients.noMarketing },
        suppressed: sql<boolean>`exists (select 1 from suppressions s where s.address = lower(${campaignRecipients.email}))`,
      })
      .from(campaignRecipients)
      .leftJoin(clients, eq(clients.id, campaignRecipients.clientId))
      .where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.state, 'pending'), gt(campaignRecipients.position, after)))
      .orderBy(asc(campaignRecipients.position))
      .limit(batchSize);
    if (!pending.length) return null;

    // Orders of this batch with their items, in two queries (kind 'orders').
    const orderIds = pending.map((p) => p.orderId).filter((id): id is number => id != null);
    const orderRows = orderIds.length ? await db.select().from(orders).where(inArray(orders.id, orderIds)) : [];
    const itemRows = orderIds.length
      ? await db.select().from(orderItems).where(inArray(orderItems.orderId, orderIds)).orderBy(asc(orderItems.orderId), asc(orderItems.position), asc(orderItems.id))
      : [];
    const orderById = new Map(orderRows.map((o) => [o.id, o]));
    const itemsByOrder = new Map<number, typeof itemRows>();
    for (const item of itemRows) itemsByOrder.set(item.orderId, [...(itemsByOrder.get(item.orderId) ?? []), item]);
    const domain = await messageIdDomain(db);
    const now = new Date();

    const outcomes: Outcome[] = pending.map((p): Outcome => {
      const client = p.client?.id != null ? p.client : null;
      const order = p.orderId != null ? orderById.get(p.orderId) : undefined;
      const problem = recipientProblem(
        { exists: client != null && (campaign.kind !== 'orders' || order != null), email: p.email, suppressed: Boolean(p.suppressed), noMarketing: client?.noMarketing ?? false },
        campaign.marketing,
      );
      if (problem) return { position: p.position, state: 'skipped', reason: reasonOf(problem) };
      const record = client as ClientRecord;
      let data: TemplateData;
      if (campaign.purpose === 'order' && order) {
        data = orderTemplateData(order, itemsByOrder.get(order.id) ?? [], record, ctx, now);
      } else {
        const entries: Record<string, Tree> = {};
        if (campaign.purpose === 'list') entries.list = tree({ name: list?.name ?? '' });
        data = tree({ client: clientData(record, ctx), sender: senderTree(), today, ...entries }) as TemplateData;
      }
      const missing = required.find((name) => {
        const value = lookup(data, name);
        return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
      });
      if (missing) return { position: p.position, state: 'error', reason: reasonOf('missing_value', missing) };
      let rendered: { subject: string; bodyHtml: string };
      try {
        rendered = renderTemplate(campaign.purpose, template, data);
      } catch (error) {
        if (!(error instanceof TemplateInvalidError)) throw error;
        return { position: p.position, state: 'error', reason: reasonOf('template', error.issues[0]?.tag ?? error.issues[0]?.code) };
      }
      const attached = [...shared];
      if (campaign.attachmentPattern) {
        let wanted = '';
        try {
          wanted = safeFilename(renderTemplate(campaign.purpose, { subject: campaign.attachmentPattern, bodyHtml: '' }, data).subject);
        } catch {
          wanted = '';
        }
        const file = wanted ? perRecipient.get(wanted.toLowerCase()) : undefined;
        if (!file) return { position: p.position, state: 'error', reason: reasonOf('attachment_missing', wanted || campaign.attachmentPattern) };
        attached.push({ blobId: file.blobId, filename: file.filename, contentType: file.contentType, sizeBytes: file.sizeBytes });
      }
      // Marketing mail carries its recipient's unsubscribe link in a footer (and as List-Unsubscribe when sent).
      const unsubscribe = unsubscribeLink && client ? unsubscribeLink({ clientId: client.id, campaignId }) : null;
      const html = unsubscribe ? rendered.bodyHtml + unsubscribeFooterHtml(unsubscribe, locale) : rendered.bodyHtml;
      return {
        position: p.position,
        state: 'generated',
        reason: null,
        message: {
          header: newMessageId(domain),
          clientId: client?.id ?? null,
          orderId: order?.id ?? null,
          to: { address: normaliseAddress(p.email!)!, ...(client?.name ? { name: client.name } : {}) },
          subject: rendered.subject,
          html,
          text: searchText(rendered.bodyHtml),
          blobId: '',
          files: attached,
          unsubscribeUrl: unsubscribe,
        },
      };
    });
    // The batch's bodies go to the store as one pack (one write, one fsync), before the transaction: a pack
    // no row uses (a lost race, a crash before commit) is swept later.
    const withBody = outcomes.filter((o) => o.message);
    const refs = await deps.store.putBlobs(withBody.map((o) => o.message!.html));
    withBody.forEach((o, i) => (o.message!.blobId = refs[i]!));
    return { outcomes, last: pending[pending.length - 1]!.position };
  };

  /** Commits a prepared batch: its messages and its rows' states in one transaction. */
  const commit = async (outcomes: Outcome[]): Promise<void> => {
    const done = await db.transaction(async (tx) => {
      // The rows still pending under our lock are ours; any other was done meanwhile by another run.
      const positions = outcomes.map((o) => o.position);
      const owned = new Set(
        rowsOf<{ position: number }>(
          await tx.execute(sql`
            select position from campaign_recipients
             where campaign_id = ${campaignId} and state = 'pending'
               and position in (${sql.join(positions.map((p) => sql`${p}`), sql`, `)})
             for update`),
        ).map((r) => r.position),
      );
      const mine = outcomes.filter((o) => owned.has(o.position));
      if (!mine.length) return mine;
      const toInsert = mine.filter((o) => o.message);
      const idByHeader = new Map<string, number>();
      if (toInsert.length) {
        // Plain SQL with only the columns we set: drizzle's builder would add every other column as DEFAULT
        // and a parameter list per row, which costs more than the insert itself at 200 rows a batch.
        const rows = toInsert.map(({ message: m }) => {
          const size = Buffer.byteLength(m!.html, 'utf8') + m!.files.reduce((sum, f) => sum + f.sizeBytes, 0);
          return sql`('draft', ${m!.header}, ${m!.subject}, ${JSON.stringify([m!.to])}::jsonb, ${m!.to.address}, ${m!.blobId}, ${size}, ${m!.files.length},
            ${m!.clientId}::int, ${m!.orderId}::int, ${campaign.listId}::int, ${campaignId}::int, ${campaign.templateId}::int, true, ${campaign.createdBy}::int, ${campaign.createdBy}::int,
            ${m!.unsubscribeUrl}::text)`;
        });
        const inserted = rowsOf<{ id: number; header: string }>(
          await tx.execute(sql`
            insert into messages (status, message_id_header, subject, to_addrs, recipients, body_blob, size_bytes, attachment_count,
                                  client_id, order_id, list_id, campaign_id, template_id, generated, created_by, updated_by, unsubscribe_url)
            values ${sql.join(rows, sql`, `)}
            returning id, message_id_header as header`),
        );
        for (const r of inserted) idByHeader.set(r.header, r.id);
        const vectors = toInsert.map(({ message: m }) => sql`(${idByHeader.get(m!.header)!}::int, ${searchVector(m!.subject, `${m!.to.name ?? ''} ${m!.to.address}`, m!.text)})`);
        await tx.execute(sql`insert into message_search (message_id, search) values ${sql.join(vectors, sql`, `)}`);
        const attachmentRows = toInsert.flatMap(({ message: m }) =>
          m!.files.map((f, position) => ({ messageId: idByHeader.get(m!.header)!, blobId: f.blobId, filename: f.filename, contentType: f.contentType, sizeBytes: f.sizeBytes, position })),
        );
        for (let i = 0; i < attachmentRows.length; i += 1000) {
          const chunk = attachmentRows.slice(i, i + 1000).map((a) => sql`(${a.messageId}::int, ${a.blobId}, ${a.filename}, ${a.contentType}, ${a.sizeBytes}::int, ${a.position}::int)`);
          await tx.execute(sql`insert into message_attachments (message_id, blob_id, filename, content_type, size_bytes, position) values ${sql.join(chunk, sql`, `)}`);
        }
      }
      const values = mine.map(
        (o) => sql`(${o.position}::int, ${o.state}::text, ${o.reason}::text, ${o.message ? idByHeader.get(o.message.header)! : null}::int)`,
      );
      await tx.execute(sql`
        update campaign_recipients r
           set state = v.state, reason = v.reason, message_id = v.message_id
          from (values ${sql.join(values, sql`, `)}) as v(position, state, reason, message_id)
         where r.campaign_id = ${campaignId} and r.position = v.position`);
      await tx.execute(sql`update campaigns set processed_count = processed_count + ${mine.length}, updated_at = now() where id = ${campaignId}`);
      const count = (s: Outcome['state']) => mine.filter((o) => o.state === s).length;
      await recordAudit(tx, CAMPAIGN_ACTOR, {
        action: 'campaign.generate_batch',
        objectType: 'campaign',
        objectId: campaignId,
        summary: `#${mine[0]!.position + 1}–${mine[mine.length - 1]!.position + 1}: ${count('generated')} generated, ${count('skipped')} skipped, ${count('error')} errors`,
        after: { generated: count('generated'), skipped: count('skipped'), errors: count('error'), positions: [mine[0]!.position, mine[mine.length - 1]!.position] },
      });
      return mine;
    });
    for (const o of done) totals[o.state === 'generated' ? 'generated' : o.state === 'skipped' ? 'skipped' : 'errors']++;
  };

  // Pipelined: the next batch is rendered (CPU, here) while this one commits (waiting on the database).
  let batches = 0;
  let next = prepare(-1);
  for (;;) {
    const batch = await next;
    if (!batch) break;
    batches++;
    next = options.maxBatches !== undefined && batches >= options.maxBatches ? Promise.resolve(null) : prepare(batch.last);
    next.catch(() => {}); // awaited at the next turn; a failing commit must not leave it unhandled meanwhile
    await commit(batch.outcomes);
  }

  // Everything processed: the campaign waits for review (nothing is queued before step 5).
  const [left] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from campaign_recipients where campaign_id = ${campaignId} and state = 'pending'`));
  if ((left?.n ?? 0) > 0) return { ...totals, finished: false };
  const finished = await db.transaction(async (tx) => {
    const moved = await tx
      .update(campaigns)
      .set({ status: 'generated', generatedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(campaigns.id, campaignId), eq(campaigns.status, 'generating')))
      .returning({ id: campaigns.id, name: campaigns.name });
    if (!moved.length) return false;
    const counts = rowsOf<{ state: string; n: number }>(
      await tx.execute(sql`select state, count(*)::int as n from campaign_recipients where campaign_id = ${campaignId} group by state`),
    );
    await recordAudit(tx, CAMPAIGN_ACTOR, {
      action: 'campaign.generated',
      objectType: 'campaign',
      objectId: campaignId,
      summary: `${moved[0]!.name}: ${counts.map((c) => `${c.state} ${c.n}`).join(', ')}`,
      after: Object.fromEntries(counts.map((c) => [c.state, c.n])),
    });
    return true;
  });
  // Thousands of new messages sit in the search index's pending list: merge it now, so searches stay fast.
  if (finished && totals.generated >= SETTLE_AFTER) {
    await settleMessageSearch(db).catch((err) => deps.logger?.warn({ err }, 'settling the search index failed'));
  }
  return { ...totals, finished };
}

// ------------------------------------------------------------------------------------ background runs

const running = new Map<number, Promise<void>>();
let stopping = false;

/** Graceful shutdown: running generations stop after their current batch (they resume at the next start). */
export function stopGenerations(): void {
  stopping = true;
}

/** Runs the generation of a campaign in the background (once per process; a second call joins the first). */
export function kickGeneration(deps: GenerationDeps, campaignId: number): Promise<void> {
  let run = running.get(campaignId);
  if (!run) {
    run = generateForCampaign(deps, campaignId)
      .then(() => undefined)
      .catch((err) => deps.logger?.error({ err, campaignId }, 'campaign generation failed; it resumes at the next start'))
      .finally(() => running.delete(campaignId));
    running.set(campaignId, run);
  }
  return run;
}

/** The running generation of a campaign, if any (tests and graceful shutdown wait on it). */
export function waitForGeneration(campaignId: number): Promise<void> {
  return running.get(campaignId) ?? Promise.resolve();
}

/** Settles when every running generation has. */
export async function generationsSettled(): Promise<void> {
  await Promise.all([...running.values()]);
}

/** At start-up: campaigns left `generating` by a stopped or killed process continue where they were. */
export async function resumeGenerating(deps: GenerationDeps): Promise<number[]> {
  const rows = await deps.db.select({ id: campaigns.id }).from(campaigns).where(eq(campaigns.status, 'generating'));
  for (const r of rows) void kickGeneration(deps, r.id);
  return rows.map((r) => r.id);
}
