/**
 * The import run: records stream from the file, each is checked against the mapping, valid ones are
 * written in batches (one transaction per batch: a long import never holds the database, and PGlite's
 * single connection stays free for other requests between batches), refused ones are reported with their
 * line and reasons. A bad row never costs a good one.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { csvLine } from '../http/csv.ts';
import type { Translate } from '../http/i18n/index.ts';
import { checkRecord, type ImportClient, type Mapping, type Problem } from './fields.ts';
import { findExisting, insertClients, lockImports, updateClients, type ClientUpdate, type ExistingClient } from './queries.ts';
import { readRecords, type ReadOptions } from './records.ts';

export type DuplicatePolicy = 'skip' | 'update';

export interface ImportSpec {
  filePath: string;
  read: ReadOptions;
  mapping: Mapping;
  duplicates: DuplicatePolicy;
}

export interface ImportCounts {
  /** Data records read (the header not counted). */
  rows: number;
  created: number;
  updated: number;
  /** Duplicates left alone ("skip" chosen). */
  skipped: number;
  refused: number;
  /** Records with nothing in any mapped column; passed over silently. */
  empty: number;
}

export interface RefusedRow {
  line: number;
  problems: Problem[];
  cells: string[];
}

export interface ImportHooks {
  /** After each batch is committed (and once at the end), with the bytes of the file read so far. */
  progress?: (counts: ImportCounts, bytesRead: number) => void;
  /** Each refused record, in file order. */
  refused?: (row: RefusedRow) => void | Promise<void>;
  /** For the audit row: the import's id and the file's name as uploaded. */
  audit?: { importId: string; fileName: string };
  batchSize?: number;
}

export const BATCH_SIZE = 1000;

export const emptyCounts = (): ImportCounts => ({ rows: 0, created: 0, updated: 0, skipped: 0, refused: 0, empty: 0 });

/** Matches by e-mail first, then by IČO, unless both sides have e-mails that differ (two people of one company). */
function findMatch<T extends { email: string | null; ico: string | null }>(
  client: ImportClient,
  byEmail: Map<string, T>,
  byIco: Map<string, T[]>,
): T | undefined {
  if (client.email) {
    const hit = byEmail.get(client.email);
    if (hit) return hit;
  }
  if (client.ico) {
    for (const hit of byIco.get(client.ico) ?? []) if (!(client.email && hit.email && hit.email !== client.email)) return hit;
  }
  return undefined;
}

function index<T extends { email: string | null; ico: string | null }>(item: T, byEmail: Map<string, T>, byIco: Map<string, T[]>) {
  if (item.email && !byEmail.has(item.email)) byEmail.set(item.email, item);
  if (item.ico) byIco.set(item.ico, [...(byIco.get(item.ico) ?? []), item]);
}

/** `next` over `base` with update semantics: stated values win, lists are merged, no-marketing only turns on. */
function merge<T extends Omit<ImportClient, 'kind'>>(base: T, next: ImportClient, kindStated: boolean): T {
  const pick = <K extends keyof ImportClient>(k: K) => (next[k] ?? base[k as keyof T]) as T[keyof T];
  const email = (next.email ?? base.email) as string | null;
  return {
    ...base,
    kind: kindStated ? next.kind : (base as { kind?: unknown }).kind,
    name: next.name,
    company_name: pick('company_name'),
    ico: pick('ico'),
    dic: pick('dic'),
    email,
    emails: [...new Set([...base.emails, ...next.emails])].filter((e) => e !== email),
    phone: pick('phone'),
    street: pick('street'),
    city: pick('city'),
    zip: pick('zip'),
    country: pick('country'),
    locale: pick('locale'),
    tags: [...new Set([...base.tags, ...next.tags])],
    note: pick('note'),
    no_marketing: base.no_marketing || next.no_marketing,
  };
}

/**
 * Imports the file. Duplicates (by e-mail or IČO, see `findMatch`) are looked up per batch under an
 * advisory lock, so rows of earlier batches, and of another import running at the same time, count as
 * existing. One audit row with the counts is written with the last batch (or with result "failed" and the
 * counts so far when the run breaks off).
 */
export async function runImport(db: Db, spec: ImportSpec, actor: AuditActor, hooks: ImportHooks = {}): Promise<ImportCounts> {
  const counts = emptyCounts();
  const batchSize = hooks.batchSize ?? BATCH_SIZE;
  const kindStated = spec.mapping.includes('kind');
  let batch: ImportClient[] = [];
  let bytesRead = 0;
  let header = true;

  const auditEntry = (result: 'ok' | 'failed', c: ImportCounts = counts) => ({
    action: 'clients.imported',
    objectType: 'import',
    objectId: hooks.audit?.importId,
    summary: `${hooks.audit?.fileName ?? spec.filePath}: ${c.created} created, ${c.updated} updated, ${c.skipped} skipped, ${c.refused} refused`.slice(0, 500),
    after: { ...c, duplicates: spec.duplicates, encoding: spec.read.encoding, delimiter: spec.read.delimiter, mapping: spec.mapping },
    result,
  });

  const flush = async (rows: ImportClient[], final: boolean) => {
    await db.transaction(async (tx) => {
      const found = { created: 0, updated: 0, skipped: 0 };
      if (rows.length) {
        await lockImports(tx);
        const emails = [...new Set(rows.map((r) => r.email).filter((e): e is string => !!e))];
        const icos = [...new Set(rows.map((r) => r.ico).filter((i): i is string => !!i))];
        const existingByEmail = new Map<string, ExistingClient>();
        const existingByIco = new Map<string, ExistingClient[]>();
        for (const row of await findExisting(tx, emails, icos)) index(row, existingByEmail, existingByIco);

        const inserts: ImportClient[] = [];
        const insertByEmail = new Map<string, ImportClient>();
        const insertByIco = new Map<string, ImportClient[]>();
        const updates = new Map<number, ClientUpdate>();
        for (const client of rows) {
          const existing = findMatch(client, existingByEmail, existingByIco);
          const pending = existing ? undefined : findMatch(client, insertByEmail, insertByIco);
          if ((existing || pending) && spec.duplicates === 'skip') {
            found.skipped++;
          } else if (existing) {
            const base: ClientUpdate = updates.get(existing.id) ?? { ...client, id: existing.id, kind: kindStated ? client.kind : null, emails: [], tags: [] };
            updates.set(existing.id, merge(base, client, kindStated));
            found.updated++;
          } else if (pending) {
            // A repeat within this batch of a row about to be created: it updates that row before it is written.
            Object.assign(pending, merge(pending, client, kindStated));
            found.updated++;
          } else {
            inserts.push(client);
            index(client, insertByEmail, insertByIco);
          }
        }
        found.created = await insertClients(tx, inserts);
        await updateClients(tx, [...updates.values()]);
      }
      if (final) {
        const total = { ...counts, created: counts.created + found.created, updated: counts.updated + found.updated, skipped: counts.skipped + found.skipped };
        await recordAudit(tx, actor, auditEntry('ok', total));
      }
      return found;
    }).then((found) => {
      counts.created += found.created;
      counts.updated += found.updated;
      counts.skipped += found.skipped;
    });
    hooks.progress?.({ ...counts }, bytesRead);
  };

  // One batch is written while the next is read and checked (parsing is a third of the work); the next
  // batch's duplicate lookup starts only after the previous one committed, so it sees those rows.
  let writing: Promise<void> | null = null;
  const write = async (final: boolean) => {
    const rows = batch;
    batch = [];
    await writing;
    writing = flush(rows, final);
    writing.catch(() => {}); // awaited at the next write or at the end; not unhandled meanwhile
  };

  try {
    for await (const item of readRecords(spec.filePath, spec.read, (n) => (bytesRead = n))) {
      if (item.type === 'record' && header) {
        header = false;
        continue;
      }
      counts.rows++;
      if (item.type === 'broken') {
        counts.refused++;
        await hooks.refused?.({ line: item.line, problems: [{ key: `import.reason.csv_${item.reason}`, params: {} }], cells: [] });
        continue;
      }
      const checked = checkRecord(item.cells, spec.mapping);
      if (checked.ok === 'empty') counts.empty++;
      else if (checked.ok) {
        batch.push(checked.client);
        if (batch.length >= batchSize) await write(false);
      } else {
        counts.refused++;
        await hooks.refused?.({ line: item.line, problems: checked.problems, cells: item.cells });
      }
    }
    await write(true);
    await writing;
  } catch (error) {
    await (writing as Promise<void> | null)?.catch(() => {});
    await recordAudit(db, actor, auditEntry('failed')).catch(() => {});
    throw error;
  }
  // Fresh statistics for the planner after a bulk change (the embedded database has no autovacuum).
  if (counts.created + counts.updated > 1000) await db.execute(sql`analyze clients`);
  return counts;
}

/** A problem in words, in the language of `t` (field names translated too). */
export function describeProblem(t: Translate, problem: Problem): string {
  const params = { ...problem.params };
  if (typeof params.field === 'string') params.field = t(`import.field.${params.field}`);
  return t(problem.key, params);
}

/**
 * Writes refused rows as a CSV the user can fix and import again: the line, the reasons, then the
 * record's own cells under the file's own header (UTF-8 with BOM, `;`, like every Posel export).
 */
export class RefusedCsv {
  private readonly out: WriteStream;

  constructor(
    filePath: string,
    header: string[],
    private readonly t: Translate,
  ) {
    this.out = createWriteStream(filePath, { flags: 'w', mode: 0o600 });
    this.out.write(`\uFEFF${csvLine([t('import.refused.line'), t('import.refused.reason'), ...header])}`);
  }

  async write(row: RefusedRow): Promise<void> {
    const reasons = row.problems.map((p) => describeProblem(this.t, p)).join('; ');
    if (!this.out.write(csvLine([row.line, reasons, ...row.cells]))) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

export interface PreviewRow {
  line: number;
  status: 'new' | 'duplicate' | 'refused' | 'empty';
  client: ImportClient | null;
  problems: Problem[];
}

/** The first records as the import would treat them with this mapping: new, duplicate, refused (why) or empty. */
export async function previewRecords(db: Db, records: { line: number; cells: string[] }[], mapping: Mapping): Promise<PreviewRow[]> {
  const checked = records.map((r) => ({ line: r.line, result: checkRecord(r.cells, mapping) }));
  const clients = checked.flatMap((c) => (c.result.ok === true ? [c.result.client] : []));
  const byEmail = new Map<string, { email: string | null; ico: string | null }>();
  const byIco = new Map<string, { email: string | null; ico: string | null }[]>();
  const existing = await findExisting(
    db,
    [...new Set(clients.flatMap((c) => (c.email ? [c.email] : [])))],
    [...new Set(clients.flatMap((c) => (c.ico ? [c.ico] : [])))],
  );
  for (const row of existing) index(row, byEmail, byIco);
  return checked.map(({ line, result }) => {
    if (result.ok === 'empty') return { line, status: 'empty', client: null, problems: [] };
    if (!result.ok) return { line, status: 'refused', client: null, problems: result.problems };
    const duplicate = !!findMatch(result.client, byEmail, byIco);
    if (!duplicate) index(result.client, byEmail, byIco);
    return { line, status: duplicate ? 'duplicate' : 'new', client: result.client, problems: [] };
  });
}
