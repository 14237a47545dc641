import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test-support/harness.ts';
import { isConnectionError, rowsOf, type Database } from './client.ts';

let database: Database;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ database, drop } = await createTestDatabase());
});
afterAll(() => drop());

describe('database', () => {
  it('folds diacritics and case in the posel_unaccent search configuration', async () => {
    const [row] = rowsOf<{ hit: boolean; miss: boolean }>(
      await database.db.execute(sql`
        select to_tsvector('posel_unaccent', 'Příliš žluťoučký kůň úpěl ďábelské ódy') @@ plainto_tsquery('posel_unaccent', 'ZLUTOUCKY kun') as hit,
               to_tsvector('posel_unaccent', 'Příliš žluťoučký kůň') @@ plainto_tsquery('posel_unaccent', 'kocka') as miss`),
    );
    expect(row).toEqual({ hit: true, miss: false });
  });

  it('applies migrations idempotently', async () => {
    await database.migrate();
    const roles = rowsOf<{ key: string }>(await database.db.execute(sql`select key from roles order by id`));
    expect(roles.map((r) => r.key)).toEqual(['admin', 'manager', 'staff', 'viewer']);
  });

  it('tells connection failures from query errors', async () => {
    const queryError = await database.db.execute(sql`select * from no_such_table`).catch((e: unknown) => e);
    expect(isConnectionError(queryError)).toBe(false);
    expect(isConnectionError(Object.assign(new Error('x'), { cause: { code: 'ECONNREFUSED' } }))).toBe(true);
  });
});
