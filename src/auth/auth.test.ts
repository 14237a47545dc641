import { desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, sessions, users } from '../db/schema/index.ts';
import { ADMIN, addUser, createTestApp, setUpAdmin, signIn } from '../test-support/harness.ts';

let t: Awaited<ReturnType<typeof createTestApp>>;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const lastAudit = async () => (await t.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(1))[0]!;

describe('first run', () => {
  it('sends every page to /setup while no user exists', async () => {
    const client = t.client();
    for (const path of ['/', '/users', '/audit', '/login']) {
      const res = await client.get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe('/setup');
    }
  });

  it('keeps what was typed and explains each error in place', async () => {
    const res = await t.client().post('/setup', { name: 'Jana', email: 'not-an-email', password: 'short', password2: 'short' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('value="Jana"');
    expect(html).toContain('value="not-an-email"');
    expect(html).toContain('e-mailovou adresu');
    expect(html).toContain('alespoň 10 znaků');
    expect(html).not.toContain('short'); // passwords are never echoed back
  });

  it('refuses mismatched and guessable passwords', async () => {
    const mismatch = await t.client().post('/setup', { name: 'Jana', email: 'jana@firma.cz', password: 'Dlouhé heslo 1', password2: 'Dlouhé heslo 2' });
    expect(await mismatch.text()).toContain('Hesla se neshodují');
    const weak = await t.client().post('/setup', { name: 'Jana', email: 'jana@firma.cz', password: 'aaaaaaaaaaaa', password2: 'aaaaaaaaaaaa' });
    expect(await weak.text()).toContain('snadno uhodnutelné');
  });

  it('creates the administrator, signs them in, and logs it', async () => {
    const client = t.client();
    await setUpAdmin(client);
    const home = await client.get('/');
    expect(home.status).toBe(200);
    expect(await home.text()).toContain(ADMIN.name);
    const [user] = await t.db.select().from(users).where(eq(users.email, ADMIN.email));
    expect(user!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await lastAudit()).toMatchObject({ action: 'auth.login', actorName: ADMIN.name });
  });

  it('refuses a second set-up once an administrator exists', async () => {
    const res = await t.client().post('/setup', { name: 'Eva', email: 'eva@firma.cz', password: 'Jiné dlouhé heslo', password2: 'Jiné dlouhé heslo' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    expect(await t.db.select().from(users)).toHaveLength(1);
  });
});

describe('sign-in', () => {
  it('signs in with the right password and returns to the page asked for', async () => {
    const client = t.client();
    const res = await client.post('/login', { email: 'JANA@firma.cz ', password: ADMIN.password, next: '/audit' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/audit');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('posel_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect((await client.get('/audit')).status).toBe(200);
  });

  it('never follows an off-site "next"', async () => {
    const res = await t.client().post('/login', { email: ADMIN.email, password: ADMIN.password, next: '//evil.example/x' });
    expect(res.headers.get('location')).toBe('/');
  });

  it('gives a wrong password and an unknown e-mail the same answer', async () => {
    const wrong = await t.client().post('/login', { email: 'eva.known@firma.cz', password: 'whatever-1' });
    await addUser(t.database, 'staff', 'eva.known@firma.cz');
    const known = await t.client().post('/login', { email: 'eva.known@firma.cz', password: 'whatever-2' });
    const unknown = await t.client().post('/login', { email: 'nobody@firma.cz', password: 'whatever-3' });
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (s: string) => s.replace(/[0-9a-f-]{36}/g, '').replace(/value="[^"]*"/g, '');
    expect(strip(await known.text())).toBe(strip(await unknown.text()));
    expect(wrong.status).toBe(401);
  });

  it('logs a failed sign-in without the password', async () => {
    await t.client().post('/login', { email: ADMIN.email, password: 'Tajné-špatné-heslo' });
    const row = await lastAudit();
    expect(row).toMatchObject({ action: 'auth.login_failed', result: 'failed' });
    expect(JSON.stringify(row)).not.toContain('Tajné-špatné-heslo');
  });

  it('asks for empty fields instead of failing', async () => {
    const res = await t.client().post('/login', { email: '', password: '' });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('Vyplňte prosím toto pole.');
  });

  it('answers a 1 MB password, NUL and emoji with a clear message, not a 500', async () => {
    for (const password of ['x'.repeat(1024 * 1024), 'abc\u0000def', '🔑🔑🔑 heslo 🔑']) {
      const res = await t.client().post('/login', { email: 'nul@firma.cz', password });
      expect([401, 429]).toContain(res.status);
      expect(await res.text()).toMatch(/Nesprávný e-mail nebo heslo|Příliš mnoho/);
    }
    const res = await t.client().post('/login', { email: 'a\u0000b@firma.cz', password: 'x' });
    expect(res.status).toBe(401);
  });

  it('slows down repeated failures for one e-mail with growing delays', async () => {
    const email = 'throttled@firma.cz';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.client().post('/login', { email, password: `bad-${i}` })).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses[3]).toBe(429);
    const res = await t.client().post('/login', { email, password: 'bad' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await res.text()).toContain('Zkuste to znovu za');
  });
});

describe('sessions', () => {
  it('sends a tampered cookie back to sign-in', async () => {
    const client = t.client();
    await signIn(client, ADMIN.email, ADMIN.password);
    const token = client.cookies.get('posel_session')!;
    const [id, secret] = token.split('.');
    const flipped = `${id}.${secret!.slice(0, -1)}${secret!.endsWith('a') ? 'b' : 'a'}`;
    for (const bad of [flipped, 'garbage', `${id}`, `${id}.${secret}.x`, '%00']) {
      const res = await client.get('/users', { Cookie: `posel_session=${bad}` });
      expect(res.status, bad).toBe(303);
      expect(res.headers.get('location')).toBe('/login?next=%2Fusers');
    }
  });

  it('ends a session after the idle timeout', async () => {
    const client = t.client();
    await signIn(client, ADMIN.email, ADMIN.password);
    const id = client.cookies.get('posel_session')!.split('.')[0]!;
    await t.db.update(sessions).set({ lastSeenAt: new Date(Date.now() - 9 * 3600_000) }).where(eq(sessions.id, id));
    expect((await client.get('/')).status).toBe(303);
    expect(await t.db.select().from(sessions).where(eq(sessions.id, id))).toHaveLength(0);
  });

  it('signs out, and the old cookie no longer works', async () => {
    const client = t.client();
    await signIn(client, ADMIN.email, ADMIN.password);
    const token = client.cookies.get('posel_session')!;
    const res = await client.post('/logout', {});
    expect(res.headers.get('location')).toBe('/login');
    const replay = await client.get('/', { Cookie: `posel_session=${token}` });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/login');
  });
});

describe('own account', () => {
  it('changes the password after checking the current one, ending other sessions', async () => {
    const email = 'pavel@firma.cz';
    await addUser(t.database, 'staff', email, 'Původní heslo 1');
    const other = t.client();
    await signIn(other, email, 'Původní heslo 1');
    const me = t.client();
    await signIn(me, email, 'Původní heslo 1');

    const wrong = await me.post('/account/password', { current: 'nope', password: 'Nové heslo pro Pavla', password2: 'Nové heslo pro Pavla' });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain('Současné heslo není správné');

    const ok = await me.post('/account/password', { current: 'Původní heslo 1', password: 'Nové heslo pro Pavla', password2: 'Nové heslo pro Pavla' });
    expect(ok.status).toBe(303);
    expect((await me.get('/account')).status).toBe(200);
    expect((await other.get('/account')).status).toBe(303);
    await signIn(t.client(), email, 'Nové heslo pro Pavla');
  });

  it('switches the interface language and keeps it for the user', async () => {
    const client = t.client();
    await signIn(client, ADMIN.email, ADMIN.password);
    expect(await (await client.get('/')).text()).toContain('Přehled');
    await client.post('/account/locale', { locale: 'en' });
    client.cookies.delete('posel_lang');
    const page = await (await client.get('/')).text();
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('Overview');
    await client.post('/account/locale', { locale: 'cs' });
  });

  it('uses Accept-Language before sign-in', async () => {
    const en = await (await t.client().get('/login', { 'Accept-Language': 'en-US,en;q=0.9' })).text();
    expect(en).toContain('Sign in');
    const cs = await (await t.client().get('/login', { 'Accept-Language': 'sk,en;q=0.5' })).text();
    expect(cs).toContain('Přihlášení');
  });
});

describe('first run with demo data', () => {
  it('fills the database when the administrator asks for demo data', async () => {
    const fresh = await createTestApp();
    try {
      const client = fresh.client();
      const res = await client.post('/setup', { name: ADMIN.name, email: ADMIN.email, password: ADMIN.password, password2: ADMIN.password, demo: 'on' });
      expect(res.status).toBe(303);
      const home = await (await client.get('/')).text();
      expect(home).toContain('Ukázková data jsou připravena: 2000 klientů, 5000 objednávek.');
      const list = await (await client.get('/clients')).text();
      expect(list).toMatch(/Nalezeno klientů: 2\u00a0000/);
    } finally {
      await fresh.close();
    }
  }, 120_000);
});
