import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// These tests start the product the README's way (tsx src/main.ts) as real processes.
const TSX = path.resolve('node_modules/.bin/tsx');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Started {
  const { TEST_DATABASE_URL: _skip, DATABASE_URL: _skip2, ...base } = process.env;
  const child = spawn(TSX, ['src/main.ts'], { env: { ...base, LOG_LEVEL: 'info', TEST_MAILBOX_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(check: () => boolean, what: string, ms = 40_000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the server process', () => {
  it('refuses a second start on the same data folder with a clear message, and stops cleanly', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'posel-main-'));
    const [portA, portB] = [await freePort(), await freePort()];
    const first = start({ DATA_DIR: dataDir, PORT: String(portA) });
    try {
      await waitFor(() => first.output().includes('Posel is running'), 'first start');
      const health = await fetch(`http://127.0.0.1:${portA}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok', db: 'ok' });

      const second = start({ DATA_DIR: dataDir, PORT: String(portB) });
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/Another Posel \(process \d+\) is already running on .*Stop it first/);
      expect((await fetch(`http://127.0.0.1:${portA}/healthz`)).status).toBe(200);

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(existsSync(path.join(dataDir, 'posel.pid'))).toBe(false);

      // The data survives a restart: the database is already set up and migrated.
      const again = start({ DATA_DIR: dataDir, PORT: String(portB) });
      await waitFor(() => again.output().includes('Posel is running'), 'restart');
      const setup = await fetch(`http://127.0.0.1:${portB}/`, { redirect: 'manual' });
      expect(setup.headers.get('location')).toBe('/setup');
      again.child.kill('SIGINT');
      expect(await again.exited).toBe(0);
    } finally {
      first.child.kill('SIGKILL');
    }
  }, 90_000);

  it('stops at start-up with one line naming a bad configuration key', async () => {
    const run = start({ PORT: 'abc', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'posel-main-')) });
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toBe('Invalid configuration: PORT="abc": expected a whole number');
  }, 30_000);
});

describe('the storage folder at start-up', () => {
  it('refuses a folder that is not a Posel store with a clear message', async () => {
    const foreign = mkdtempSync(path.join(os.tmpdir(), 'posel-foreign-'));
    writeFileSync(path.join(foreign, 'dokument.txt'), 'someone else’s files');
    const run = start({ DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'posel-main-')), STORAGE_DIR: foreign, PORT: String(await freePort()) });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/The storage folder .* is not empty and has no posel-store\.json, so it is not a Posel store/);
  }, 60_000);
});

describe('npm run audit:verify', () => {
  it('reports an intact chain, then names the first row someone changed', async () => {
    const { loadConfig } = await import('./config.ts');
    const { openDatabase } = await import('./db/open.ts');
    const { recordAudit } = await import('./audit/queries.ts');
    const { sql } = await import('drizzle-orm');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'posel-verify-'));
    const config = loadConfig({ DATA_DIR: dataDir });
    const actor = { actorId: null, actorName: 'test', ip: null, requestId: null };

    let { database, release } = await openDatabase(config);
    for (let i = 0; i < 5; i++) await recordAudit(database.db, actor, { action: 'test.event', summary: `row ${i}` });
    await database.close();
    release();

    const runVerify = async () => {
      const { TEST_DATABASE_URL: _a, DATABASE_URL: _b, ...base } = process.env;
      const child = spawn(TSX, ['src/audit/verify-cli.ts'], { env: { ...base, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      return { code, out };
    };

    const intact = await runVerify();
    expect(intact.out).toContain('Audit chain intact: 5 rows checked.');
    expect(intact.code).toBe(0);

    ({ database, release } = await openDatabase(config));
    await database.db.execute(sql`alter table audit_log disable trigger audit_log_no_update_delete`);
    await database.db.execute(sql`update audit_log set summary = 'forged' where id = 3`);
    await database.close();
    release();

    const broken = await runVerify();
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('Audit chain BROKEN at row 3');
  }, 60_000);
});
