/**
 * Choosing a client on a form without a <select> (there may be 100,000 of them): the user types the client's
 * id, IČO or exact e-mail and the server resolves it; with htmx a type-ahead suggests clients as they type.
 * Shared by the order and contract forms and by the order import.
 */
import { asc, eq, or, type SQL } from 'drizzle-orm';
import { clientSearchCondition, prefixTsQuery } from '../clients/queries.ts';
import type { Db } from '../db/client.ts';
import { clients } from '../db/schema/index.ts';

export interface ClientRef {
  id: number;
  name: string;
  companyName: string | null;
  ico: string | null;
  email: string | null;
  city: string | null;
}

export type ClientLookup = { ok: true; client: ClientRef } | { ok: false; error: 'orders.v.client_not_found' | 'orders.v.client_ambiguous' };

const refColumns = {
  id: clients.id,
  name: clients.name,
  companyName: clients.companyName,
  ico: clients.ico,
  email: clients.email,
  city: clients.city,
};

const MAX_INT = 2_147_483_647;

async function lookup(db: Db, where: SQL): Promise<ClientLookup> {
  const rows = await db.select(refColumns).from(clients).where(where).orderBy(asc(clients.id)).limit(2);
  if (rows.length === 1) return { ok: true, client: rows[0]! };
  return { ok: false, error: rows.length ? 'orders.v.client_ambiguous' : 'orders.v.client_not_found' };
}

/** One client by id, IČO or primary e-mail (as the import names them). Two clients with one IČO is "ambiguous". */
export async function findClient(db: Db, by: { id: number } | { ico: string } | { email: string }): Promise<ClientLookup> {
  if ('id' in by) {
    if (!Number.isSafeInteger(by.id) || by.id < 1 || by.id > MAX_INT) return { ok: false, error: 'orders.v.client_not_found' };
    return lookup(db, eq(clients.id, by.id));
  }
  if ('ico' in by) return lookup(db, eq(clients.ico, by.ico.replace(/\s+/g, '')));
  return lookup(db, eq(clients.email, by.email.trim().toLowerCase()));
}

/**
 * Resolves what a user typed into a client field: an e-mail (has @), an IČO (8 digits, spaces allowed), or an id.
 * An 8-digit value is tried as IČO first, then as id.
 */
export async function resolveClientRef(db: Db, typed: string): Promise<ClientLookup> {
  const text = typed.trim();
  if (text.includes('@')) return findClient(db, { email: text });
  const digits = text.replace(/^#/, '').replace(/\s+/g, '');
  if (!/^\d{1,10}$/.test(digits)) return { ok: false, error: 'orders.v.client_not_found' };
  if (digits.length === 8) {
    const byIco = await findClient(db, { ico: digits });
    if (byIco.ok || byIco.error === 'orders.v.client_ambiguous') return byIco;
  }
  return findClient(db, { id: Number(digits) });
}

/** The client an order or contract points at, for showing its name next to the field. */
export async function getClientRef(db: Db, id: number): Promise<ClientRef | undefined> {
  const [row] = await db.select(refColumns).from(clients).where(eq(clients.id, id));
  return row;
}

/** Up to `limit` clients for the type-ahead: full-text prefix match on name, e-mail, IČO, city; or an exact id. */
export async function suggestClients(db: Db, q: string, limit = 8): Promise<ClientRef[]> {
  const text = q.trim().slice(0, 200);
  const tsQuery = prefixTsQuery(text);
  if (!tsQuery || text.length < 2) return [];
  const conditions = [clientSearchCondition(tsQuery)];
  if (/^\d{1,10}$/.test(text) && Number(text) <= MAX_INT) conditions.push(eq(clients.id, Number(text)));
  if (text.includes('@')) conditions.push(eq(clients.email, text.toLowerCase()));
  return db
    .select(refColumns)
    .from(clients)
    .where(or(...conditions))
    .orderBy(asc(clients.name), asc(clients.id))
    .limit(limit);
}
