/**
 * What several benchmarks share: a scratch database on the Postgres server (made and dropped per run) and
 * a scratch storage folder with a fresh key. (Seeded random numbers: `prng` of src/seed/demo.ts.)
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { openPostgres, type Database } from '../src/db/client.ts';
import { generateMasterKey, openKeyRing } from '../src/store/keys.ts';
import { openStore, type Store } from '../src/store/store.ts';

export const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

/** A migrated database of its own on the server (`name` made unique per process); `drop` removes it. */
export async function scratchServerDatabase(name: string): Promise<{ database: Database; url: string; drop(): Promise<void> }> {
  const dbName = `${name}_${process.pid}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  const database = openPostgres(url.toString(), { max: 10 });
  await database.migrate();
  return {
    database,
    url: url.toString(),
    drop: async () => {
      await database.close().catch(() => {});
      await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
      await admin.end();
    },
  };
}

/** An empty storage folder in the system's temp folder, with a new master key. */
export async function scratchStore(prefix: string): Promise<{ store: Store; dir: string; masterKey: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const masterKey = generateMasterKey();
  return { store: await openStore({ dir, keyRing: await openKeyRing({ masterKey }) }), dir, masterKey };
}
