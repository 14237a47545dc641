import { and, asc, count, desc, eq, gte, lte, ne, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { clients, contracts } from '../db/schema/index.ts';
import { clientSearchCondition, prefixTsQuery } from '../clients/queries.ts';

export const CONTRACT_STATUSES = ['draft', 'active', 'expired', 'terminated'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];

export const CONTRACT_SORTS = ['validFrom', 'validTo', 'number', 'title', 'value'] as const;
export type ContractSort = (typeof CONTRACT_SORTS)[number];

/** Days ahead that count as "expiring soon". */
export const EXPIRING_DAYS = 30;

export interface ContractFilter {
  /** Number prefix, words of the title, or the client's name / e-mail / IČO. */
  q?: string;
  status?: ContractStatus;
  clientId?: number;
  /** Active contracts whose validity ends between these dates (today … today + 30 days). */
  expiring?: { from: string; to: string };
}

export interface ContractListParams extends ContractFilter {
  sort: ContractSort;
  dir: 'asc' | 'desc';
  page: number;
  pageSize: number;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (m) => `\\${m}`);

function filterConditions(f: ContractFilter): SQL | undefined {
  const where: SQL[] = [];
  if (f.status) where.push(eq(contracts.status, f.status));
  if (f.clientId) where.push(eq(contracts.clientId, f.clientId));
  if (f.expiring) {
    // contracts_valid_idx (valid_to, id) serves the range.
    where.push(eq(contracts.status, 'active'), gte(contracts.validTo, f.expiring.from), lte(contracts.validTo, f.expiring.to));
  }
  const q = f.q?.trim();
  if (q) {
    const tsQuery = prefixTsQuery(q);
    const byClient = tsQuery
      ? sql`${contracts.clientId} in (select ${clients.id} from ${clients} where ${clientSearchCondition(tsQuery)})`
      : sql`false`;
    where.push(
      sql`(${contracts.number} ilike ${`${escapeLike(q)}%`} or unaccent(${contracts.title}) ilike unaccent(${`%${escapeLike(q)}%`}) or ${byClient})`,
    );
  }
  return where.length ? and(...where) : undefined;
}

const SORT_COLUMNS = {
  validFrom: contracts.validFrom,
  validTo: contracts.validTo,
  number: contracts.number,
  title: contracts.title,
  value: contracts.value,
} as const;

/** One page of contracts with their client's name, and the total for paging (contracts are few; offset paging is fine). */
export async function listContracts(db: Db, params: ContractListParams) {
  const where = filterConditions(params);
  const column = SORT_COLUMNS[params.sort];
  // Open-ended contracts (no valid_to) sort last either way.
  const primary = params.sort === 'validTo' ? sql`${column} ${sql.raw(params.dir)} nulls last` : params.dir === 'asc' ? asc(column) : desc(column);
  const [rows, [total]] = await Promise.all([
    db
      .select({
        id: contracts.id,
        number: contracts.number,
        title: contracts.title,
        validFrom: contracts.validFrom,
        validTo: contracts.validTo,
        value: contracts.value,
        currency: contracts.currency,
        status: contracts.status,
        clientId: contracts.clientId,
        clientName: clients.name,
      })
      .from(contracts)
      .innerJoin(clients, eq(clients.id, contracts.clientId))
      .where(where)
      .orderBy(primary, params.dir === 'asc' ? asc(contracts.id) : desc(contracts.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(contracts).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/** A contract with its client; undefined when there is no such contract. */
export async function getContract(db: Db, id: number) {
  const [row] = await db
    .select({
      id: contracts.id,
      number: contracts.number,
      clientId: contracts.clientId,
      title: contracts.title,
      validFrom: contracts.validFrom,
      validTo: contracts.validTo,
      value: contracts.value,
      currency: contracts.currency,
      status: contracts.status,
      note: contracts.note,
      createdAt: contracts.createdAt,
      updatedAt: contracts.updatedAt,
      client: { id: clients.id, name: clients.name, companyName: clients.companyName, ico: clients.ico, email: clients.email, city: clients.city },
    })
    .from(contracts)
    .innerJoin(clients, eq(clients.id, contracts.clientId))
    .where(eq(contracts.id, id));
  return row;
}

export type ContractDetail = NonNullable<Awaited<ReturnType<typeof getContract>>>;

/** A client's contracts, most recently started first (for the client's page; uses contracts_client_idx). */
export async function listClientContracts(db: Db, clientId: number, limit = 20) {
  return db
    .select({
      id: contracts.id,
      number: contracts.number,
      title: contracts.title,
      validFrom: contracts.validFrom,
      validTo: contracts.validTo,
      status: contracts.status,
      value: contracts.value,
      currency: contracts.currency,
    })
    .from(contracts)
    .where(eq(contracts.clientId, clientId))
    .orderBy(desc(contracts.validFrom), desc(contracts.id))
    .limit(limit);
}

/** The id of the contract with this number, if any (other than `exceptId`). */
export async function findContractIdByNumber(db: Db, number: string, exceptId?: number): Promise<number | undefined> {
  const [row] = await db
    .select({ id: contracts.id })
    .from(contracts)
    .where(exceptId ? and(eq(contracts.number, number), ne(contracts.id, exceptId)) : eq(contracts.number, number))
    .limit(1);
  return row?.id;
}
