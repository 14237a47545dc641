/**
 * Test harness: a fresh database per test file (in-memory PGlite, or a new database on the server
 * at TEST_DATABASE_URL, dropped afterwards), the real app, and a small cookie-keeping client.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import type { AuditActor } from '../audit/queries.ts';
import { loadConfig, type Config } from '../config.ts';
import { openPglite, openPostgres, type Database } from '../db/client.ts';
import { createApp } from '../http/app.ts';
import { generateMasterKey, openKeyRing } from '../store/keys.ts';
import { openStore } from '../store/store.ts';
import { listRoles } from '../users/roles.ts';
import { createUser } from '../users/service.ts';

export const SYSTEM: AuditActor = { actorId: null, actorName: 'test', ip: null, requestId: null };
export const ADMIN = { name: 'Jana Nováková', email: 'jana@firma.cz', password: 'Žluťoučký kůň 2026' };

export async function createTestDatabase(): Promise<{ database: Database; drop: () => Promise<void>; url?: string }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const database = await openPglite(null);
    await database.migrate();
    return { database, drop: () => database.close() };
  }
  const name = `posel_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = openPostgres(url.toString(), { max: 5 });
  await database.migrate();
  return {
    database,
    url: url.toString(),
    drop: async () => {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'posel-test-'));
  return { ...loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir }), ...overrides };
}

export async function createTestApp(overrides: Partial<Config> = {}, database?: Database) {
  const created = database ? { database, drop: async () => {} } : await createTestDatabase();
  const config = testConfig(overrides);
  const store = await openStore({ dir: config.STORAGE_DIR!, keyRing: await openKeyRing({ masterKey: generateMasterKey() }) });
  const app = createApp({ config, database: created.database, store, logger: pino({ level: 'silent' }) });
  return {
    app,
    config,
    database: created.database,
    db: created.database.db,
    store,
    close: created.drop,
    client: (origin = 'http://localhost') => new TestClient(app, origin),
  };
}

type App = ReturnType<typeof createApp>;

/** Sends requests to the app like a browser would: keeps cookies, sends Origin on unsafe methods. */
export class TestClient {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly app: App,
    private readonly origin = 'http://localhost',
  ) {}

  async request(pathname: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size && !headers.has('Cookie')) {
      headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const method = (init.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD' && !headers.has('Origin')) headers.set('Origin', this.origin);
    const res = await this.app.request(pathname, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(pathname: string, headers: Record<string, string> = {}) {
    return this.request(pathname, { headers });
  }

  post(pathname: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const item of Array.isArray(v) ? v : [v]) body.append(k, item);
    return this.request(pathname, {
      method: 'POST',
      body: body.toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    });
  }
}

/** A fresh app whose first-run set-up is done, with a client signed in as ADMIN. */
export async function createAdminApp(overrides: Partial<Config> = {}) {
  const t = await createTestApp(overrides);
  const admin = t.client();
  await setUpAdmin(admin);
  return [t, admin] as const;
}

/** Completes first-run set-up as ADMIN; the client is then signed in. */
export async function setUpAdmin(client: TestClient) {
  const res = await client.post('/setup', { name: ADMIN.name, email: ADMIN.email, password: ADMIN.password, password2: ADMIN.password });
  if (res.status !== 303) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  return res;
}

/** Creates a user with a built-in role directly (no HTTP), returning its id. */
export async function addUser(database: Database, roleKey: string, email: string, password = 'Heslo pro test 123') {
  const role = (await listRoles(database.db)).find((r) => r.key === roleKey)!;
  return createUser(database.db, { name: `User ${roleKey}`, email, roleId: role.id, locale: 'cs', password }, SYSTEM);
}

export async function signIn(client: TestClient, email: string, password: string) {
  const res = await client.post('/login', { email, password });
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  return res;
}
