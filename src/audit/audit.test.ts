import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp, createTestApp, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { listAudit, recordAudit, verifyAuditChain } from './queries.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
beforeAll(async () => {
  [t, admin] = await createAdminApp();
});
afterAll(() => t.close());

describe('audit log', () => {
  it('chains every row to the one before it', async () => {
    for (let i = 0; i < 5; i++) await recordAudit(t.db, SYSTEM, { action: 'test.event', summary: `n${i}`, after: { i, text: 'Žluťoučký' } });
    const result = await verifyAuditChain(t.db);
    expect(result).toEqual({ ok: true, count: expect.any(Number) });
    const rows = await listAudit(t.db, { limit: 3 });
    expect(rows[0]!.prevHash).toBe(rows[1]!.hash);
  });

  it('keeps one chain when many transactions write at once', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.db.transaction(async (tx) => {
          await recordAudit(tx, SYSTEM, { action: 'test.concurrent', summary: String(i) });
        }),
      ),
    );
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('writes nothing when the change it records is rolled back', async () => {
    const before = (await listAudit(t.db, { limit: 1 }))[0]!.id;
    await expect(
      t.db.transaction(async (tx) => {
        await recordAudit(tx, SYSTEM, { action: 'test.rolled_back' });
        throw new Error('change failed');
      }),
    ).rejects.toThrow('change failed');
    expect((await listAudit(t.db, { limit: 1 }))[0]!.id).toBe(before);
    await recordAudit(t.db, SYSTEM, { action: 'test.after_rollback' });
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    await expect(t.db.execute(sql`update audit_log set summary = 'forged'`)).rejects.toThrow();
    await expect(t.db.execute(sql`delete from audit_log`)).rejects.toThrow();
    await expect(t.db.execute(sql`truncate audit_log`)).rejects.toThrow();
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it('names the first broken row when someone with the power to bypass triggers edits or removes one', async () => {
    const rows = await listAudit(t.db, { limit: 10 });
    const victim = rows[5]!;
    await t.db.execute(sql`alter table audit_log disable trigger audit_log_no_update_delete`);
    try {
      await t.db.execute(sql`update audit_log set summary = 'forged' where id = ${victim.id}`);
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenId: victim.id, reason: 'hash_mismatch' });
      await t.db.execute(sql`update audit_log set summary = ${victim.summary} where id = ${victim.id}`);
      expect((await verifyAuditChain(t.db)).ok).toBe(true);

      await t.db.execute(sql`delete from audit_log where id = ${victim.id}`);
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenId: rows[4]!.id, reason: 'link_broken' });
    } finally {
      await t.db.execute(sql`alter table audit_log enable trigger audit_log_no_update_delete`);
    }
  });

  it('shows the log with keyset paging and a verify button', async () => {
    for (let i = 0; i < 60; i++) await recordAudit(t.db, SYSTEM, { action: 'test.page', summary: `page-row-${i}` });
    const first = await (await admin.get('/audit')).text();
    expect(first).toContain('page-row-59');
    expect(first).not.toContain('page-row-5<');
    const older = /href="\/audit\?before=(\d+)"/.exec(first)![1];
    const second = await (await admin.get(`/audit?before=${older}`)).text();
    expect(second).toContain('page-row-5<');
    const verify = await admin.post('/audit/verify', {}, { 'HX-Request': 'true' });
    expect(await verify.text()).toContain('Řetězec je porušen'); // broken by the previous test on purpose
  });
});
