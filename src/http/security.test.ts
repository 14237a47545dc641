import { gunzipSync } from 'node:zlib';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, users } from '../db/schema/index.ts';
import { ADMIN, createAdminApp, createTestApp, setUpAdmin, signIn, type TestClient } from '../test-support/harness.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;
beforeAll(async () => {
  [t, admin] = await createAdminApp();
});
afterAll(() => t.close());

const userCount = async () => (await t.db.select({ n: count() }).from(users))[0]!.n;
const newUser = { name: 'Cizí', email: 'cizi@firma.cz', roleId: '1', locale: 'cs', password: 'Heslo cizince 2026' };

describe('cross-site requests', () => {
  it('refuses a POST from a foreign Origin, and changes nothing', async () => {
    const before = await userCount();
    const res = await admin.post('/users', newUser, { Origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(await userCount()).toBe(before);
  });

  it('refuses text/plain and upper-case content types from a foreign site', async () => {
    for (const type of ['text/plain', 'APPLICATION/X-WWW-FORM-URLENCODED', 'Multipart/Form-Data; boundary=x']) {
      const res = await admin.request('/users', {
        method: 'POST',
        body: new URLSearchParams(newUser).toString(),
        headers: { 'Content-Type': type, Origin: 'https://evil.example' },
      });
      expect(res.status, type).toBe(403);
    }
    const noType = await admin.request('/users', { method: 'POST', body: 'x', headers: { Origin: 'https://evil.example' } });
    expect(noType.status).toBe(403);
  });

  it('refuses a cross-site POST announced only by Sec-Fetch-Site', async () => {
    const res = await admin.post('/users', newUser, { Origin: '', 'Sec-Fetch-Site': 'cross-site' });
    expect(res.status).toBe(403);
  });

  it('refuses a POST without a session with 403, changing nothing', async () => {
    const before = await userCount();
    const res = await t.client().post('/users', newUser);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Nic nebylo změněno');
    expect(await userCount()).toBe(before);
  });
});

describe('headers and limits', () => {
  it('sends a strict CSP and the usual protective headers', async () => {
    const res = await admin.get('/');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('vary')).toContain('HX-Request');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an oversized body with 413 and a friendly page', async () => {
    const small = await createTestApp({ BODY_LIMIT_KB: 16 });
    try {
      const client = small.client();
      const res = await client.post('/login', { email: 'x@firma.cz', password: 'x'.repeat(64 * 1024) });
      expect(res.status).toBe(413);
      expect(await res.text()).toContain('Příliš velký požadavek');
    } finally {
      await small.close();
    }
  });

  it('compresses pages for browsers that accept gzip, and says so in Vary', async () => {
    const res = await admin.get('/roles', { 'Accept-Encoding': 'gzip, deflate' });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('vary')).toContain('Accept-Encoding');
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toContain('</html>');
    const plain = await admin.get('/roles');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toContain('</html>');
  });

  it('has no inline script or style in its pages', async () => {
    const html = await (await admin.get('/roles')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/);
    expect(html).not.toMatch(/https?:\/\/(?!localhost)/);
  });

  it('serves htmx and the stylesheet from its own origin, cacheable and compressed', async () => {
    const html = await (await admin.get('/')).text();
    const src = /src="(\/static\/vendor\/htmx\.min\.js\?v=[^"]+)"/.exec(html)![1]!;
    const res = await admin.get(src, { 'Accept-Encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toContain('htmx');
  });
});

describe('errors', () => {
  it('shows a friendly 404 page', async () => {
    const res = await admin.get('/no-such-page');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Stránka nenalezena');
  });

  it('answers object ids that do not exist with 404', async () => {
    for (const path of ['/users/99999', '/users/abc', '/roles/99999', '/users/1e3']) {
      expect((await admin.get(path)).status, path).toBe(404);
    }
  });

  it('lets a viewer not reach admin URLs (403) and logs the attempt', async () => {
    const { addUser } = await import('../test-support/harness.ts');
    await addUser(t.database, 'viewer', 'viewer@firma.cz', 'Heslo čtenáře 2026');
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo čtenáře 2026');
    for (const [method, path] of [['GET', '/users'], ['GET', '/roles'], ['GET', '/audit'], ['POST', '/users']] as const) {
      const res = method === 'GET' ? await viewer.get(path) : await viewer.post(path, newUser);
      expect(res.status, path).toBe(403);
      expect(await res.text()).toContain('Přístup odepřen');
    }
    const denied = await t.db.select().from(auditLog).where(eq(auditLog.action, 'access.denied'));
    expect(denied.map((r) => r.objectId)).toEqual(['GET /users', 'GET /roles', 'GET /audit', 'POST /users']);
    expect(denied.every((r) => r.result === 'denied' && r.actorName === 'User viewer')).toBe(true);
    expect(await t.db.select().from(users).where(eq(users.email, 'cizi@firma.cz'))).toHaveLength(0);
  });

  it('keeps the navigation to what the user may use', async () => {
    const viewer = t.client();
    await signIn(viewer, 'viewer@firma.cz', 'Heslo čtenáře 2026');
    const html = await (await viewer.get('/')).text();
    expect(html).not.toContain('href="/templates"');
    expect(await (await viewer.get('/settings')).text()).not.toContain('href="/users"');
    const adminHtml = await (await admin.get('/')).text();
    expect(adminHtml).toContain('href="/templates"');
    expect(adminHtml).toContain(ADMIN.name);
    expect(await (await admin.get('/settings')).text()).toContain('href="/users"');
  });
});

describe('health', () => {
  it('answers 200 with the database state', async () => {
    const res = await t.client().get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', db: 'ok' });
  });
});

describe('unexpected failures', () => {
  it('shows a friendly 500 page with the request number', async () => {
    const broken = await createTestApp();
    const client = broken.client();
    await setUpAdmin(client);
    // A query that fails for a reason other than a lost connection (here: a table gone missing).
    await broken.db.execute(sql`alter table sessions rename to sessions_gone`);
    const res = await client.get('/');
    await broken.close();
    expect(res.status).toBe(500);
    const html = await res.text();
    expect(html).toContain('Něco se pokazilo');
    expect(html).toContain(res.headers.get('x-request-id')!);
  });
});
