import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, savedViews } from '../db/schema/index.ts';
import { addUser, createAdminApp, signIn, type TestClient } from '../test-support/harness.ts';
import { normaliseViewQuery } from './service.ts';

describe('saved views of the communication list', () => {
  let t: Awaited<ReturnType<typeof createAdminApp>>[0];
  let admin: TestClient;
  let other: TestClient;
  beforeAll(async () => {
    [t, admin] = await createAdminApp();
    await addUser(t.database, 'staff', 'petr@firma.cz');
    other = t.client();
    await signIn(other, 'petr@firma.cz', 'Heslo pro test 123');
  });
  afterAll(() => t.close());

  const sidebar = async (client: TestClient, path = '/messages') => {
    const html = await (await client.get(path)).text();
    return /<aside class="saved-views"[\s\S]*?<\/aside>/.exec(html)?.[0] ?? '';
  };
  const flashOf = async (client: TestClient, path = '/messages') =>
    /class="flash flash-(?:success|error)"[^>]*>([^<]*)/.exec(await (await client.get(path)).text())?.[1]?.trim();

  it('keeps the list\'s parameters without paging, in a stable order', () => {
    expect(normaliseViewQuery('?status=failed&page=3&q=faktura&from=&before=2026-01-01T00%3A00%3A00Z%2C5')).toBe('q=faktura&status=failed');
    expect(normaliseViewQuery('')).toBe('');
  });

  it('offers to save the current filter, saves it under a name and lists it as a link to the same filter', async () => {
    expect(await sidebar(admin, '/messages?status=failed&q=faktura&page=2')).toContain('id="view-query" value="q=faktura&amp;status=failed"');
    const res = await admin.post('/views', { list: 'messages', name: '  Nezdařené   faktury ', query: 'status=failed&q=faktura&page=2' });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/messages?q=faktura&status=failed');
    expect(await flashOf(admin, '/messages?q=faktura&status=failed')).toBe('Pohled „Nezdařené faktury“ je uložen.');
    const aside = await sidebar(admin);
    expect(aside).toContain('<a href="/messages?q=faktura&amp;status=failed">Nezdařené faktury</a>');
    // Opened, the view is marked as the current one.
    expect(await sidebar(admin, '/messages?q=faktura&status=failed')).toContain('aria-current="true">Nezdařené faktury');
    const [row] = await t.db.select().from(auditLog).where(eq(auditLog.action, 'view.saved'));
    expect(row).toMatchObject({ objectType: 'view', summary: 'Nezdařené faktury', actorName: 'Jana Nováková' });
  });

  it('replaces a view saved again under the same name, and each user sees only their own', async () => {
    await admin.post('/views', { list: 'messages', name: 'Koncepty', query: 'status=draft' });
    await admin.post('/views', { list: 'messages', name: 'Koncepty', query: 'status=draft&user=1' });
    const mine = await t.db.select().from(savedViews).where(eq(savedViews.name, 'Koncepty'));
    expect(mine.map((v) => v.query)).toEqual(['status=draft&user=1']);
    expect(await sidebar(other)).not.toContain('Koncepty');
    expect(await sidebar(other)).toContain('Zatím žádné');
    // Another user cannot delete it: not found, and it stays.
    expect((await other.post(`/views/${mine[0]!.id}/delete`, {})).status).toBe(404);
    expect(await t.db.select().from(savedViews).where(eq(savedViews.id, mine[0]!.id))).toHaveLength(1);
  });

  it('refuses an empty or too long name with a clear message and keeps what was typed', async () => {
    const long = 'x'.repeat(81);
    const res = await admin.post('/views', { list: 'messages', name: long, query: 'status=sent' });
    expect(res.headers.get('Location')).toBe('/messages?status=sent');
    const html = await (await admin.get('/messages?status=sent')).text();
    expect(html).toContain('Název pohledu může mít nejvýše 80 znaků.');
    expect(html).toContain(`value="${long}"`);
    await admin.post('/views', { list: 'messages', name: '   ', query: '' });
    expect(await flashOf(admin)).toBe('Zadejte název pohledu.');
    // An unknown list is not a thing that exists.
    expect((await admin.post('/views', { list: 'audit', name: 'x', query: '' })).status).toBe(404);
  });

  it('deletes a view and returns to the list as it was', async () => {
    const [v] = await t.db.select().from(savedViews).where(eq(savedViews.name, 'Nezdařené faktury'));
    const res = await admin.post(`/views/${v!.id}/delete`, { query: 'status=sent' });
    expect(res.headers.get('Location')).toBe('/messages?status=sent');
    expect(await sidebar(admin)).not.toContain('Nezdařené faktury');
    expect((await t.db.select().from(auditLog).where(eq(auditLog.action, 'view.deleted'))).length).toBe(1);
  });

  it('refreshes the sidebar with the new query when htmx swaps the filtered list', async () => {
    const html = await (await admin.get('/messages?status=queued', { 'HX-Request': 'true', 'HX-Target': 'message-rows' })).text();
    // Only the links and the query to save are swapped: a view name being typed is not wiped.
    expect(html).toMatch(/<div id="saved-views-list" hx-swap-oob="true">/);
    expect(html).toMatch(/<input type="hidden" name="query" id="view-query" value="status=queued" hx-swap-oob="true">/);
    expect(html).not.toContain('id="view-name"');
  });
});
