/**
 * The action log page (/audit): filters, fulltext search over the summary, keyset paging that keeps the
 * filter, CSV export of everything matching, and bad input that never breaks the page.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { ADMIN, addUser, createAdminApp, createTestApp, signIn, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { auditActions, auditFilterSql, iterateAudit, listAudit, recordAudit, type AuditActor } from './queries.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
let clerk: AuditActor;
let boss: AuditActor;

/** The table rows of an /audit page, as HTML snippets. */
function tableRows(html: string): string[] {
  return html.match(/<tr class="result-[\s\S]*?<\/tr>/g) ?? [];
}

async function page(query: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await admin.get(`/audit?${new URLSearchParams(query)}`, headers);
  return { status: res.status, html: await res.text() };
}

/** Inserts a row with a chosen time (the trigger keeps a given `at`, and still chains the row). */
async function recordAt(at: string, summary: string) {
  await t.db.execute(sql`insert into audit_log (at, actor_id, actor_name, action, summary) values (${at}::timestamptz, null, 'test', 'test.dated', ${summary})`);
}

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  const clerkId = await addUser(t.database, 'staff', 'referent@firma.cz');
  const [me] = await t.db.select().from(users).where(eq(users.email, ADMIN.email));
  clerk = { actorId: clerkId, actorName: 'Referent', ip: '10.0.0.7', requestId: 'req-clerk' };
  boss = { actorId: me!.id, actorName: me!.name, ip: '10.0.0.1', requestId: 'req-boss' };

  await recordAudit(t.db, clerk, { action: 'client.created', objectType: 'client', objectId: 41, summary: 'Žluťoučký kůň s.r.o.' });
  await recordAudit(t.db, clerk, { action: 'client.updated', objectType: 'client', objectId: 41, summary: 'Žluťoučký kůň: nová adresa' });
  await recordAudit(t.db, boss, { action: 'client.updated', objectType: 'client', objectId: 42, summary: 'Pekárna U Čápa: telefon' });
  await recordAudit(t.db, boss, { action: 'order.created', objectType: 'order', objectId: 7, summary: 'Objednávka pro Žluťoučký kůň' });
  await recordAudit(t.db, clerk, { action: 'message.failed', objectType: 'message', objectId: 9, summary: 'Doručení selhalo: mailbox full', result: 'failed' });
  await recordAudit(t.db, SYSTEM, { action: 'access.denied', objectType: 'route', objectId: 'GET /users', summary: 'missing permission users.manage', result: 'denied' });
  // 2026-03-10 23:30 UTC is already 11 March in Prague (UTC+1 in winter).
  await recordAt('2026-03-10T23:30:00Z', 'late-evening-row');
  await recordAt('2026-03-09T12:00:00Z', 'earlier-day-row');
});
afterAll(() => t.close());

describe('action log filters', () => {
  it('narrows to one user', async () => {
    const rows = tableRows((await page({ actor: String(clerk.actorId) })).html);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toContain('Referent');
  });

  it('narrows to rows written without a user', async () => {
    const rows = tableRows((await page({ actor: 'none', action: 'access.denied' })).html);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.join('')).not.toContain('Referent');
  });

  it('narrows to one action, and offers it by its translated name', async () => {
    const { html } = await page({ action: 'client.updated' });
    const rows = tableRows(html);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toContain('Úprava klienta');
    expect(html).toMatch(/<option value="client\.updated" selected>Úprava klienta<\/option>/);
  });

  it('narrows to one object type', async () => {
    const rows = tableRows((await page({ type: 'order' })).html);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('Objednávka pro Žluťoučký kůň');
  });

  it('narrows to a result', async () => {
    const rows = tableRows((await page({ result: 'failed' })).html);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('mailbox full');
  });

  it('narrows to local calendar days in the configured time zone', async () => {
    const day11 = tableRows((await page({ from: '2026-03-11', to: '2026-03-11' })).html).join('');
    expect(day11).toContain('late-evening-row');
    expect(day11).not.toContain('earlier-day-row');
    const upTo10 = tableRows((await page({ to: '2026-03-10' })).html).join('');
    expect(upTo10).toContain('earlier-day-row');
    expect(upTo10).not.toContain('late-evening-row');
    expect(upTo10).not.toContain('Žluťoučký');
  });

  it('links each row to its object', async () => {
    const { html } = await page({ type: 'order' });
    expect(html).toContain('href="/orders/7"');
  });
});

describe('action log search', () => {
  it('finds "Žluťoučký" when searching "zlutoucky"', async () => {
    const rows = tableRows((await page({ q: 'zlutoucky' })).html);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toContain('Žluťoučký');
  });

  it('matches the last word as a prefix while typing', async () => {
    const rows = tableRows((await page({ q: 'ZLUTOUCKY ku' })).html);
    expect(rows).toHaveLength(3);
  });

  it('combines with the filters', async () => {
    const rows = tableRows((await page({ q: 'zlutoucky', actor: String(clerk.actorId), action: 'client.updated' })).html);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('nová adresa');
  });

  it('says nothing was found', async () => {
    const { status, html } = await page({ q: 'neexistujicislovo' });
    expect(status).toBe(200);
    expect(tableRows(html)).toHaveLength(0);
    expect(html).toContain('Nic nenalezeno');
  });

  it('uses the fulltext index for the search', async () => {
    const plan = await t.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      const rows = rowsOf<Record<string, string>>(await tx.execute(sql`explain select id from audit_log where ${auditFilterSql({ q: 'zlutoucky' })}`));
      return rows.map((r) => Object.values(r).join(' ')).join('\n');
    });
    expect(plan).toContain('audit_log_summary_search_idx');
  });
});

describe('action log paging', () => {
  it('keeps the filter in the "older" link and pages through matching rows only', async () => {
    for (let i = 0; i < 60; i++) await recordAudit(t.db, boss, { action: 'test.paged', summary: `paged-row-${i}` });
    for (let i = 0; i < 5; i++) await recordAudit(t.db, clerk, { action: 'test.paged', summary: `clerk-row-${i}` });
    const first = await page({ action: 'test.paged', actor: String(boss.actorId) });
    expect(tableRows(first.html)).toHaveLength(50);
    expect(first.html).not.toContain('clerk-row');
    const older = /href="(\/audit\?[^"]*before=\d+)" rel="next"/.exec(first.html)![1]!.replace(/&amp;/g, '&');
    expect(older).toContain('action=test.paged');
    expect(older).toContain(`actor=${boss.actorId}`);
    const second = await admin.get(older);
    const rows = tableRows(await second.text());
    expect(rows).toHaveLength(10);
    expect(rows.join('')).toContain('paged-row-0<');
    expect(rows.join('')).not.toContain('clerk-row');
  });

  it('answers an htmx request with the rows only', async () => {
    const { html } = await page({ q: 'zlutoucky' }, { 'HX-Request': 'true' });
    expect(html).not.toContain('<html');
    expect(tableRows(html)).toHaveLength(3);
    expect(html).toContain('href="/audit/export?q=zlutoucky"');
  });
});

describe('action log search beyond the newest rows', () => {
  it('pages a search through the window of newest rows and then the older rest, missing nothing', async () => {
    for (let i = 0; i < 40; i++) {
      await recordAudit(t.db, clerk, { action: 'test.window', summary: i % 3 === 0 ? `okénko ${i}` : `jiný text ${i}` });
    }
    const expected = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === 0).reverse().map((i) => `okénko ${i}`);
    const seen: string[] = [];
    let beforeId: number | undefined;
    for (;;) {
      const rows = await listAudit(t.db, { filter: { q: 'okenko', action: 'test.window' }, beforeId, limit: 4, searchWindow: 5 });
      seen.push(...rows.map((r) => r.summary!));
      if (rows.length < 4) break;
      beforeId = rows[rows.length - 1]!.id;
    }
    expect(seen).toEqual(expected);
    const exported: string[] = [];
    for await (const r of iterateAudit(t.db, { q: 'okenko' }, 2000, 7)) exported.push(r.summary!);
    expect(exported).toEqual(expected);
  });
});

describe('action log export', () => {
  it('exports every matching row, not one page, and logs the export', async () => {
    for (let i = 0; i < 120; i++) await recordAudit(t.db, clerk, { action: 'test.exported', summary: `export-row-${i}` });
    const res = await admin.get('/audit/export?action=test.exported');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toContain('text/csv');
    const lines = (await res.text()).replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines[0]).toBe('at;actor;action;object_type;object_id;summary;result;ip;request_id');
    expect(lines).toHaveLength(121);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z;Referent;test\.exported;;;export-row-119;ok;10\.0\.0\.7;req-clerk$/);
    const log = tableRows((await page({ action: 'audit.export' })).html);
    expect(log[0]).toContain('action=test.exported');
    expect(log[0]).toContain(ADMIN.name);
  });

  it('keeps the search and the filters in the export', async () => {
    const text = await (await admin.get('/audit/export?q=zlutoucky&type=client')).text();
    const lines = text.trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(text).toContain('Žluťoučký kůň: nová adresa');
  });

  it('writes cells a spreadsheet would run as formulas as text', async () => {
    await recordAudit(t.db, clerk, { action: 'test.formula', summary: '=HYPERLINK("http://evil.example")' });
    const text = await (await admin.get('/audit/export?action=test.formula')).text();
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
  });
});

describe('action log bad input', () => {
  it('ignores an unknown result with a visible message', async () => {
    const { status, html } = await page({ result: 'exploded' });
    expect(status).toBe(200);
    expect(html).toContain('Neznámá nebo chybná hodnota filtru byla ignorována: Výsledek.');
    expect(tableRows(html).length).toBeGreaterThan(0);
  });

  it('ignores an action that never occurred, a malformed date and a stranger user', async () => {
    const { status, html } = await page({ action: 'drop table', from: '2026-02-31', to: 'yesterday', actor: '99999', q: 'pekarna' });
    expect(status).toBe(200);
    expect(html).toContain('ignorována: Kdo, Akce, Od, Do.');
    expect(tableRows(html)).toHaveLength(1);
  });

  it.each([
    ['an open quote', '"zlutoucky'],
    ['operators', `&|!:*()`],
    ['SQL', `'); drop table audit_log; --`],
    ['10 KB of text', 'kůň '.repeat(2600)],
    ['NUL', 'zlu\u0000toucky'],
    ['a lone minus', '-'],
    ['emoji', '🐴 kůň'],
  ])('answers a search with %s with a result or "nothing found"', async (_name, q) => {
    const { status, html } = await page({ q });
    expect(status).toBe(200);
    expect(tableRows(html).length > 0 || html.includes('Nic nenalezeno')).toBe(true);
  });

  it('never fails on NUL or garbage in any parameter', async () => {
    for (const key of ['actor', 'action', 'type', 'from', 'to', 'result', 'before']) {
      const { status } = await page({ [key]: 'x\u0000y' });
      expect(status, key).toBe(200);
      expect((await admin.get(`/audit/export?${key}=%00`)).status, key).toBe(200);
    }
  });
});

describe('action log access and chain check', () => {
  it('refuses a user without audit.view', async () => {
    await addUser(t.database, 'viewer', 'ctenar@firma.cz');
    const reader = t.client();
    await signIn(reader, 'ctenar@firma.cz', 'Heslo pro test 123');
    expect((await reader.get('/audit')).status).toBe(403);
    expect((await reader.get('/audit/export')).status).toBe(403);
    expect((await reader.post('/audit/verify', {})).status).toBe(403);
  });

  it('shows the chain check without JavaScript after a redirect back to the filtered page', async () => {
    const res = await admin.post('/audit/verify', { back: '/audit?result=failed' });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/audit?result=failed');
    const html = await (await admin.get('/audit?result=failed')).text();
    expect(html).toMatch(/Řetězec je neporušený: ověřeno [\d\s\u00a0]+ záznamů\./);
  });

  it('shows the chain check as a fragment with htmx', async () => {
    const res = await admin.post('/audit/verify', {}, { 'HX-Request': 'true' });
    const html = await res.text();
    expect(html).not.toContain('<html');
    expect(html).toContain('Řetězec je neporušený');
  });

  it('lists the actions present in the log', async () => {
    const actions = await auditActions(t.db);
    expect(actions).toEqual(expect.arrayContaining(['client.created', 'order.created', 'test.dated', 'auth.setup']));
    expect(new Set(actions).size).toBe(actions.length);
  });
});
