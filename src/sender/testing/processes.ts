/**
 * Sender child processes for the crash and multi-process tests: a fresh database on the Postgres server,
 * a store folder with its master key (handed to the children through the environment), an SMTP account
 * pointing at a peer in the test process, and a way to start `child.ts` and watch it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../db/client.ts';
import { smtpAccounts } from '../../db/schema/index.ts';
import { generateMasterKey, openKeyRing } from '../../store/keys.ts';
import { openStore, type Store } from '../../store/store.ts';
import { createTestDatabase } from '../../test-support/harness.ts';

const CHILD = path.resolve(import.meta.dirname, 'child.ts');

export interface ServerSetup {
  database: Database;
  url: string;
  store: Store;
  storeDir: string;
  masterKey: string;
  close(): Promise<void>;
}

/** A fresh database on the server at TEST_DATABASE_URL and a fresh store; throws without the server. */
export async function serverSetup(): Promise<ServerSetup> {
  const created = await createTestDatabase();
  if (!created.url) {
    await created.drop();
    throw new Error('sender processes need TEST_DATABASE_URL (PGlite is single-process)');
  }
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'posel-sender-proc-'));
  const masterKey = generateMasterKey();
  const store = await openStore({ dir: storeDir, keyRing: await openKeyRing({ masterKey }) });
  return {
    database: created.database,
    url: created.url,
    store,
    storeDir,
    masterKey,
    close: async () => {
      await created.drop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** The default SMTP account, without limits, pointing at a loopback peer. */
export async function addPeerAccount(database: Database, port: number, poolSize = 4): Promise<number> {
  const [a] = await database.db
    .insert(smtpAccounts)
    .values({ name: 'Peer', host: '127.0.0.1', port, security: 'none', fromAddress: 'obchod@firma.cz', fromName: 'Firma s.r.o.', isDefault: true, poolSize })
    .returning({ id: smtpAccounts.id });
  return a!.id;
}

export interface SenderProcess {
  child: ChildProcess;
  /** Resolves when the loop runs. */
  ready: Promise<void>;
  /** The exit code (null when killed by a signal) and the JSON line it wrote when it stopped cleanly. */
  exited: Promise<{ code: number | null; report: Record<string, number | boolean> | null }>;
}

/** Starts `child.ts` on `setup`; `env` adds POSEL_LEASE_MS, POSEL_EXIT_WHEN_DRAINED and the like. */
export function startSenderProcess(setup: ServerSetup, env: Record<string, string> = {}): SenderProcess {
  const { TEST_DATABASE_URL: _a, DATABASE_URL: _b, ...base } = process.env;
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a second process, which SIGKILL would orphan.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...base, POSEL_DB_URL: setup.url, POSEL_STORE_DIR: setup.storeDir, POSEL_MASTER_KEY: setup.masterKey, POSEL_DB_MAX: '4', POSEL_EXIT_WITH_PARENT: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (d) => (errors += d));
  let report: Record<string, number | boolean> | null = null;
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') onReady();
    else if (line.startsWith('{')) report = JSON.parse(line);
  });
  const exited = new Promise<{ code: number | null; report: Record<string, number | boolean> | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL' && errors) process.stderr.write(`sender child failed: ${errors}\n`);
      resolve({ code, report });
    }),
  );
  return { child, ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`sender child exited early: ${errors}`)))]), exited };
}

/** Message counts by status. */
export async function statusCounts(database: Database): Promise<Record<string, number>> {
  const rows = rowsOf<{ status: string; n: number }>(await database.db.execute(sql`select status, count(*)::int as n from messages group by status`));
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Small, varied Czech bodies in the store (the queue cycles through them). */
export async function smallBodies(store: Store, n = 20): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(await store.putBlob(`<p>Dobrý den,</p><p>zasíláme fakturu č. ${2026_0000 + i}; splatnost je 14 dní. Žluťoučký kůň úpěl ďábelské ódy.</p><p>S pozdravem<br>Firma s.r.o.</p>`));
  }
  return ids;
}
