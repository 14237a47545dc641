import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../db/client.ts';
import { createTestApp, createTestDatabase, setUpAdmin } from '../test-support/harness.ts';

// Needs a Postgres server (TEST_DATABASE_URL): the app talks to it through a TCP relay that the test
// cuts and restores, which is what a stopped and restarted server looks like from the app.
const serverUrl = process.env.TEST_DATABASE_URL;

class Relay {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

describe.skipIf(!serverUrl)('database outage', () => {
  let relay: Relay;
  let direct: Awaited<ReturnType<typeof createTestDatabase>>;
  let viaRelay: Database;
  let t: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    direct = await createTestDatabase();
    const url = new URL(direct.url!);
    relay = new Relay({ host: url.hostname, port: Number(url.port || 5432) });
    await relay.up();
    url.hostname = '127.0.0.1';
    url.port = String(relay.port);
    viaRelay = openPostgres(url.toString(), { max: 2 });
    t = await createTestApp({}, viaRelay);
  });
  afterAll(async () => {
    await relay.down();
    await viaRelay.close().catch(() => {});
    await direct.drop();
  });

  it('reports 503 while the database is away, shows a friendly page, and recovers by itself', async () => {
    const admin = t.client();
    await setUpAdmin(admin);
    expect((await admin.get('/healthz')).status).toBe(200);

    await relay.down();
    const health = await admin.get('/healthz');
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'error', db: 'down' });
    const page = await admin.get('/users');
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('Databáze je nedostupná');

    await relay.up();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await admin.get('/healthz')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await admin.get('/users')).status).toBe(200);
  }, 60_000);
});
