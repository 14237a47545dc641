import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../orders/fields.ts';
import { openPglite, rowsOf, type Database } from './client.ts';
import { PgliteThread } from './pglite-client.ts';

// The embedded database on its own thread, through drizzle as the app uses it.
let database: Database;
beforeAll(async () => {
  database = await openPglite(null);
  await database.db.execute(sql`create table t (id int primary key, n int not null default 0, at timestamptz default now())`);
});
afterAll(() => database.close());

const count = async (db = database.db) => rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from t`))[0]!.n;

describe('PGlite on its own thread', () => {
  it('keeps a transaction to itself: a query sent meanwhile sees only what was committed', async () => {
    let seenInside = -1;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = database.db.transaction(async (t) => {
      await t.execute(sql`insert into t (id) values (1), (2)`);
      seenInside = await count(t as never);
      await held;
    });
    // Sent while the transaction is open: it waits for the commit (PGlite is one session).
    await new Promise((r) => setTimeout(r, 20));
    const outside = count();
    release();
    await tx;
    expect(seenInside).toBe(2);
    expect(await outside).toBe(2);
  });

  it('runs transactions started in the same moment one after the other (each reads what the one before wrote)', async () => {
    await database.db.execute(sql`insert into t (id, n) values (10, 0)`);
    const bump = () =>
      database.db.transaction(async (t) => {
        const [row] = rowsOf<{ n: number }>(await t.execute(sql`select n from t where id = 10`));
        await new Promise((r) => setTimeout(r, 5));
        await t.execute(sql`update t set n = ${row!.n + 1} where id = 10`);
      });
    await Promise.all([bump(), bump(), bump(), bump()]);
    expect(rowsOf<{ n: number }>(await database.db.execute(sql`select n from t where id = 10`))[0]!.n).toBe(4);
  });

  it('rolls back a transaction whose callback throws, and gives PostgreSQL errors their code and constraint', async () => {
    const before = await count();
    const error = await database.db
      .transaction(async (t) => {
        await t.execute(sql`insert into t (id) values (100)`);
        await t.execute(sql`insert into t (id) values (1)`);
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(error, 't_pkey')).toBe(true);
    expect(await count()).toBe(before);
    // Nested transactions are savepoints.
    await database.db.transaction(async (t) => {
      await t.execute(sql`insert into t (id) values (200)`);
      await t.transaction(async (inner) => {
        await inner.execute(sql`insert into t (id) values (201)`);
        inner.rollback();
      }).catch(() => {});
    });
    expect(rowsOf<{ id: number }>(await database.db.execute(sql`select id from t where id >= 200 order by id`)).map((r) => r.id)).toEqual([200]);
  });

  it('returns timestamps as the database wrote them, so drizzle maps them to dates', async () => {
    const [row] = await database.db.execute(sql`select at from t where id = 1`).then((r) => rowsOf<{ at: unknown }>(r));
    expect(typeof row!.at).toBe('string');
  });

  it("serves a page's queries before the sending loop's that wait (after the one running)", async () => {
    let urgent = false;
    const thread = await PgliteThread.open(null, { urgent: () => urgent });
    try {
      const order: string[] = [];
      const run = (name: string) => thread.query(`select pg_sleep(0.02), '${name}' as n`).then(() => order.push(name));
      const background = [run('sender 1'), run('sender 2'), run('sender 3')];
      urgent = true;
      const page = run('page');
      urgent = false;
      await Promise.all([...background, page]);
      expect(order).toEqual(['sender 1', 'page', 'sender 2', 'sender 3']);
    } finally {
      await thread.close();
    }
  });

  it('holds the background statements and transactions while pages are being served (as long as `yieldTo` says)', async () => {
    let urgent = false;
    let pageDone!: () => void;
    let page = new Promise<void>((resolve) => (pageDone = resolve));
    const thread = await PgliteThread.open(null, { urgent: () => urgent, yieldTo: () => page });
    try {
      const order: string[] = [];
      const background = thread.query("select 'sender' as n").then(() => order.push('sender query'));
      const tx = thread.transaction(async (t) => {
        await t.query('select 1');
        order.push('sender transaction');
      });
      urgent = true;
      const pageQuery = thread.query("select 'page' as n").then(() => order.push('page query'));
      urgent = false;
      await pageQuery;
      await new Promise((r) => setTimeout(r, 30));
      expect(order).toEqual(['page query']);
      pageDone();
      page = Promise.resolve();
      await Promise.all([background, tx]);
      expect(order.sort()).toEqual(['page query', 'sender query', 'sender transaction']);
    } finally {
      await thread.close();
    }
  });

  it('keeps data on disk across a close and an open, and refuses calls after close', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'posel-pglite-thread-'));
    try {
      const first = await PgliteThread.open(dir);
      await first.exec('create table kept (v text); insert into kept values (\'Žluťoučký kůň\')');
      await first.close();
      await expect(first.query('select 1')).rejects.toThrow(/closed/);
      const second = await PgliteThread.open(dir);
      expect((await second.query<{ v: string }>('select v from kept')).rows).toEqual([{ v: 'Žluťoučký kůň' }]);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
