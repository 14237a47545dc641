import { eq } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { contracts } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { FieldRuleError, isUniqueViolation, type Currency } from '../orders/fields.ts';
import { moneyInput } from '../orders/money.ts';
import { findContractIdByNumber, type ContractStatus } from './queries.ts';

export interface ContractInput {
  number: string;
  clientId: number;
  title: string;
  validFrom: string;
  validTo: string | null;
  /** Minor units. */
  value: bigint;
  currency: Currency;
  status: ContractStatus;
  note: string | null;
}

/** The contract as the action log keeps it: the value as a decimal string (JSON has no bigint). */
const auditSnapshot = (c: ContractInput) => ({ ...c, value: moneyInput(c.value, '.') });

const fromRow = (row: typeof contracts.$inferSelect): ContractInput => ({
  number: row.number,
  clientId: row.clientId,
  title: row.title,
  validFrom: row.validFrom,
  validTo: row.validTo,
  value: row.value,
  currency: row.currency as Currency,
  status: row.status as ContractStatus,
  note: row.note,
});

async function numberUnique<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'contracts_number_unique')) throw new FieldRuleError('number', 'contracts.v.number_taken');
    throw error;
  }
}

const lockContract = async (tx: Db, id: number) => (await tx.select().from(contracts).where(eq(contracts.id, id)).for('update'))[0];

/** Creates a contract and logs it. A taken number is a field error. */
export async function createContract(db: Db, input: ContractInput, actor: AuditActor): Promise<number> {
  return numberUnique(() =>
    db.transaction(async (tx) => {
      if (await findContractIdByNumber(tx, input.number)) throw new FieldRuleError('number', 'contracts.v.number_taken');
      const [row] = await tx.insert(contracts).values(input).returning({ id: contracts.id });
      await recordAudit(tx, actor, {
        action: 'contract.created',
        objectType: 'contract',
        objectId: row!.id,
        summary: input.number,
        after: auditSnapshot(input),
      });
      return row!.id;
    }),
  );
}

/**
 * Saves an edit of a contract, logged with before and after; nothing is written when nothing changed.
 * `version` is the `updatedAt` the form was built from: a save by someone else since then refuses the edit.
 */
export async function updateContract(db: Db, id: number, input: ContractInput, actor: AuditActor, version?: string): Promise<boolean> {
  return numberUnique(() =>
    db.transaction(async (tx) => {
      const row = await lockContract(tx, id);
      if (!row) throw new NotFoundError();
      if (version && row.updatedAt.toISOString() !== version) throw new FieldRuleError('_form', 'contracts.v.changed_meanwhile');
      if (await findContractIdByNumber(tx, input.number, id)) throw new FieldRuleError('number', 'contracts.v.number_taken');
      const before = auditSnapshot(fromRow(row));
      const after = auditSnapshot(input);
      if (JSON.stringify(before) === JSON.stringify(after)) return false;
      await tx
        .update(contracts)
        .set({ ...input, updatedAt: new Date() })
        .where(eq(contracts.id, id));
      await recordAudit(tx, actor, { action: 'contract.updated', objectType: 'contract', objectId: id, summary: input.number, before, after });
      return true;
    }),
  );
}

/** Moves a contract to another status and logs the transition. False when it already had that status. */
export async function changeContractStatus(db: Db, id: number, status: ContractStatus, actor: AuditActor): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = await lockContract(tx, id);
    if (!row) throw new NotFoundError();
    if (row.status === status) return false;
    await tx.update(contracts).set({ status, updatedAt: new Date() }).where(eq(contracts.id, id));
    await recordAudit(tx, actor, {
      action: 'contract.status_changed',
      objectType: 'contract',
      objectId: id,
      summary: row.number,
      before: { status: row.status },
      after: { status },
    });
    return true;
  });
}
