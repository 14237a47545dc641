/**
 * The import's SQL. Each batch goes in as ONE jsonb parameter expanded by `jsonb_to_recordset`: a single
 * statement per 1,000 rows whatever their columns (a multi-row VALUES list would need 16,000 bind
 * parameters), the same on PGlite and on a server, and it turns JSON arrays into text[] for e-mails and tags.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/client.ts';
import type { ImportClient } from './fields.ts';

/** Serialises the duplicate check + write of import batches, across processes too (see runImport). */
export const IMPORT_LOCK_KEY = 726354101;

export async function lockImports(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${IMPORT_LOCK_KEY})`);
}

export interface ExistingClient {
  id: number;
  email: string | null;
  ico: string | null;
}

/** Clients whose primary e-mail or IČO is one of the given (both columns have a plain index). */
export async function findExisting(tx: Db, emails: string[], icos: string[]): Promise<ExistingClient[]> {
  if (!emails.length && !icos.length) return [];
  const rows = rowsOf<{ id: number; email: string | null; ico: string | null }>(
    await tx.execute(sql`
      select id, email, ico from clients
      where email = any (array(select jsonb_array_elements_text(${JSON.stringify(emails)}::jsonb)))
         or ico = any (array(select jsonb_array_elements_text(${JSON.stringify(icos)}::jsonb)))
      order by id`),
  );
  return rows.map((r) => ({ id: Number(r.id), email: r.email, ico: r.ico }));
}

const RECORD_COLUMNS = sql.raw(`(id integer, kind text, name text, company_name text, ico text, dic text, email text,
  emails text[], phone text, street text, city text, zip text, country text, locale text, tags text[], note text,
  no_marketing boolean)`);

/** Inserts new clients; returns how many. Absent country and language take the table's defaults. */
export async function insertClients(tx: Db, rows: ImportClient[]): Promise<number> {
  if (!rows.length) return 0;
  await tx.execute(sql`
    insert into clients (kind, name, company_name, ico, dic, email, emails, phone, street, city, zip, country, locale,
                         tags, note, no_marketing, no_marketing_at, no_marketing_source)
    select x.kind, x.name, x.company_name, x.ico, x.dic, x.email, coalesce(x.emails, '{}'), x.phone, x.street, x.city,
           x.zip, coalesce(x.country, 'CZ'), coalesce(x.locale, 'cs'), coalesce(x.tags, '{}'), x.note,
           x.no_marketing, case when x.no_marketing then now() end, case when x.no_marketing then 'import' end
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x ${RECORD_COLUMNS}`);
  return rows.length;
}

/** A row that updates client `id`; `kind` null when the file has no kind column (the stored one stays). */
export type ClientUpdate = Omit<ImportClient, 'kind'> & { id: number; kind: ImportClient['kind'] | null };

/**
 * Updates existing clients from the file ("update" chosen for duplicates). What the file does not say
 * (null) keeps the stored value; further e-mails and tags are added to the stored ones, in order, without
 * repeats; "no marketing" can be set but never cleared by an import.
 */
export async function updateClients(tx: Db, rows: ClientUpdate[]): Promise<number> {
  if (!rows.length) return 0;
  await tx.execute(sql`
    update clients c set
      kind = coalesce(x.kind, c.kind),
      name = x.name,
      company_name = coalesce(x.company_name, c.company_name),
      ico = coalesce(x.ico, c.ico),
      dic = coalesce(x.dic, c.dic),
      email = coalesce(x.email, c.email),
      emails = array(select e from unnest(c.emails || coalesce(x.emails, '{}')) with ordinality as u(e, n)
                     where e is distinct from coalesce(x.email, c.email) group by e order by min(n)),
      phone = coalesce(x.phone, c.phone),
      street = coalesce(x.street, c.street),
      city = coalesce(x.city, c.city),
      zip = coalesce(x.zip, c.zip),
      country = coalesce(x.country, c.country),
      locale = coalesce(x.locale, c.locale),
      tags = array(select t from unnest(c.tags || coalesce(x.tags, '{}')) with ordinality as u(t, n) group by t order by min(n)),
      note = coalesce(x.note, c.note),
      no_marketing = c.no_marketing or x.no_marketing,
      no_marketing_at = case when x.no_marketing and not c.no_marketing then now() else c.no_marketing_at end,
      no_marketing_source = case when x.no_marketing and not c.no_marketing then 'import' else c.no_marketing_source end,
      updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x ${RECORD_COLUMNS}
    where c.id = x.id`);
  return rows.length;
}
