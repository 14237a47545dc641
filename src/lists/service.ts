import { and, eq, sql } from 'drizzle-orm';
import { recordAudit, type AuditActor, type AuditEntry } from '../audit/queries.ts';
import { pgArray, rowsOf, type Db } from '../db/client.ts';
import { listMembers, marketingLists } from '../db/schema/index.ts';
import { NotFoundError, RuleError } from '../errors.ts';
import { decodeText, readMemberRows, type DecodeProblem, type RowProblem } from './csv-import.ts';
import { clientsByEmails, clientsByIcos, getList, getMember, listNameTaken } from './queries.ts';

export interface ListInput {
  name: string;
  description: string | null;
}

/** Thrown with the field it concerns, so the form can show it in place. */
export class ListFieldError extends RuleError {
  constructor(
    readonly field: string,
    messageKey: string,
  ) {
    super(messageKey);
  }
}

/** Creates a list; its name must differ (ignoring case) from every other list's. */
export async function createList(db: Db, input: ListInput, actor: AuditActor): Promise<number> {
  return db.transaction(async (tx) => {
    if (await listNameTaken(tx, input.name)) throw new ListFieldError('name', 'lists.v.name_taken');
    const [row] = await tx.insert(marketingLists).values(input).returning({ id: marketingLists.id });
    await recordAudit(tx, actor, { action: 'list.created', objectType: 'list', objectId: row!.id, summary: input.name, after: input });
    return row!.id;
  });
}

export async function updateList(db: Db, id: number, input: ListInput, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const [before] = await tx.select().from(marketingLists).where(eq(marketingLists.id, id)).for('update');
    if (!before) throw new NotFoundError();
    if (await listNameTaken(tx, input.name, id)) throw new ListFieldError('name', 'lists.v.name_taken');
    await tx.update(marketingLists).set({ ...input, updatedAt: new Date() }).where(eq(marketingLists.id, id));
    await recordAudit(tx, actor, {
      action: 'list.updated',
      objectType: 'list',
      objectId: id,
      summary: input.name,
      before: { name: before.name, description: before.description },
      after: input,
    });
  });
}

/** Deletes a list and its memberships (the clients stay); the log keeps its name and size. */
export async function deleteList(db: Db, id: number, actor: AuditActor): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getList(tx, id);
    if (!before) throw new NotFoundError();
    await tx.delete(marketingLists).where(eq(marketingLists.id, id));
    await recordAudit(tx, actor, {
      action: 'list.deleted',
      objectType: 'list',
      objectId: id,
      summary: before.name,
      before: { name: before.name, description: before.description, members: before.members },
    });
  });
}

const CHUNK = 20_000;

/**
 * Adds clients to a list in one transaction. Ids of clients that do not exist are skipped; clients already
 * in the list count as `already`. Each chunk is one INSERT … SELECT over `unnest` of a single array parameter
 * (so 100 000 ids are a handful of statements, not 100 000), with ON CONFLICT DO NOTHING for concurrent adds.
 */
async function addMembers(db: Db, listId: number, clientIds: number[], actor: AuditActor, audit: (r: { added: number; already: number }) => AuditEntry) {
  const ids = [...new Set(clientIds.filter((id) => Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647))];
  return db.transaction(async (tx) => {
    // FOR KEY SHARE: the list cannot be deleted under us; concurrent adds to it still run.
    const [list] = await tx.select({ id: marketingLists.id }).from(marketingLists).where(eq(marketingLists.id, listId)).for('key share');
    if (!list) throw new NotFoundError();
    let added = 0;
    let wanted = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const [row] = rowsOf<{ wanted: number | string; added: number | string }>(
        await tx.execute(sql`
          with wanted as (
            select c.id from unnest(${pgArray(ids.slice(i, i + CHUNK))}::int[]) as u(id) join clients c on c.id = u.id
          ), inserted as (
            insert into list_members (list_id, client_id) select ${listId}, id from wanted
            on conflict do nothing returning 1
          )
          select (select count(*) from wanted) as wanted, (select count(*) from inserted) as added`),
      );
      wanted += Number(row?.wanted ?? 0);
      added += Number(row?.added ?? 0);
    }
    const result = { added, already: wanted - added };
    if (added > 0) await tx.update(marketingLists).set({ updatedAt: new Date() }).where(eq(marketingLists.id, listId));
    await recordAudit(tx, actor, audit(result));
    return result;
  });
}

/**
 * Adds clients to a marketing list (used by the address book's bulk action and by the list's own pages).
 * One transaction and one audit row with the counts; unknown client ids are skipped.
 */
export async function addClientsToList(
  db: Db,
  listId: number,
  clientIds: number[],
  actor: AuditActor,
): Promise<{ added: number; already: number }> {
  return addMembers(db, listId, clientIds, actor, (r) => ({
    action: 'list.members_added',
    objectType: 'list',
    objectId: listId,
    summary: `+${r.added}`,
    after: { ...r, requested: clientIds.length },
  }));
}

/** Removes one client from a list; false when the client was not in it. */
export async function removeListMember(db: Db, listId: number, clientId: number, actor: AuditActor): Promise<boolean> {
  return db.transaction(async (tx) => {
    const member = await getMember(tx, listId, clientId);
    if (!member) return false;
    await tx.delete(listMembers).where(and(eq(listMembers.listId, listId), eq(listMembers.clientId, clientId)));
    await recordAudit(tx, actor, {
      action: 'list.member_removed',
      objectType: 'list',
      objectId: listId,
      summary: member.email ?? member.name,
      before: { clientId, name: member.name, email: member.email },
    });
    return true;
  });
}

export interface ImportReport {
  fileName: string;
  encoding: string;
  rows: number;
  added: number;
  already: number;
  unmatched: { line: number; value: string; reason: RowProblem | 'no_client_email' | 'no_client_ico' }[];
}

/** The file could not be read at all (the report explains which rows could not be matched instead). */
export class ImportFileError extends RuleError {
  constructor(readonly problem: DecodeProblem | 'too_large' | 'no_file' | 'no_rows') {
    super(`lists.import.${problem}`);
  }
}

const LOOKUP_CHUNK = 10_000;

/**
 * Adds the clients a member file names (by e-mail or IČO) to the list. Rows that match no client are
 * reported with the reason; an e-mail or IČO shared by several clients adds each of them.
 */
export async function importMembers(db: Db, listId: number, file: { name: string; bytes: Uint8Array }, actor: AuditActor): Promise<ImportReport> {
  const decoded = decodeText(file.bytes);
  if (!decoded.ok) throw new ImportFileError(decoded.problem);
  const { rows } = readMemberRows(decoded.text);
  if (!rows.length) throw new ImportFileError('no_rows');

  const emails = [...new Set(rows.flatMap((r) => (r.kind === 'email' ? [r.key] : [])))];
  const icos = [...new Set(rows.flatMap((r) => (r.kind === 'ico' ? [r.key] : [])))];
  const byEmail = new Map<string, number[]>();
  const byIco = new Map<string, number[]>();
  for (const [keys, lookup, into] of [
    [emails, clientsByEmails, byEmail],
    [icos, clientsByIcos, byIco],
  ] as const) {
    for (let i = 0; i < keys.length; i += LOOKUP_CHUNK) {
      for (const { id, key } of await lookup(db, keys.slice(i, i + LOOKUP_CHUNK))) into.set(key, [...(into.get(key) ?? []), id]);
    }
  }

  const ids: number[] = [];
  const unmatched: ImportReport['unmatched'] = [];
  for (const row of rows) {
    if (row.kind === 'invalid') unmatched.push({ line: row.line, value: row.value, reason: row.problem });
    else {
      const found = (row.kind === 'email' ? byEmail : byIco).get(row.key);
      if (found) ids.push(...found);
      else unmatched.push({ line: row.line, value: row.value, reason: row.kind === 'email' ? 'no_client_email' : 'no_client_ico' });
    }
  }
  const fileName = file.name.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
  const result = await addMembers(db, listId, ids, actor, (r) => ({
    action: 'list.members_imported',
    objectType: 'list',
    objectId: listId,
    summary: `${fileName}: +${r.added}`,
    after: { ...r, file: fileName, rows: rows.length, unmatched: unmatched.length },
  }));
  return { fileName, encoding: decoded.encoding, rows: rows.length, ...result, unmatched };
}
