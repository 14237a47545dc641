import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { inWebRequest, requestsDone } from '../http/busy.ts';
import { PgliteThread } from './pglite-client.ts';
import * as schema from './schema/index.ts';

/** The drizzle database, whichever driver is underneath; transactions have the same shape. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Applies migrations/ (idempotent). */
  migrate(): Promise<void>;
  /** Answers within `timeoutMs` whether the database responds. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}


export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');

/**
 * Opens the embedded PGlite database: in `dataDir` on disk, or in memory when `dataDir` is null
 * (tests), on a thread of its own (`pglite-client.ts`). The caller must hold the data-folder lock: PGlite
 * is single-process.
 */
export async function openPglite(dataDir: string | null): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = await PgliteThread.open(dataDir, { urgent: inWebRequest, yieldTo: requestsDone });
  const db = drizzlePglite({ client: client as unknown as PGlite, schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    migrate: () => migratePglite(db as never, { migrationsFolder: MIGRATIONS_DIR }),
    ping: () => ping(db, 2000),
    close: () => client.close(),
  };
}

/** Connects to a PostgreSQL server; postgres.js reconnects by itself when the server comes back. */
export function openPostgres(url: string, options: { max?: number } = {}): Database {
  const client = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    migrate: () => migratePostgres(db as never, { migrationsFolder: MIGRATIONS_DIR }),
    ping: (timeoutMs = 2000) => ping(db, timeoutMs),
    close: () => client.end({ timeout: 5 }),
  };
}

async function ping(db: Db, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([db.execute(sql`select 1`).then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Rows of a raw `db.execute` result: PGlite returns `{ rows }`, postgres.js an array. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/**
 * A Postgres array literal (`{"a","b"}`) sent as ONE text parameter and cast in SQL (`::int[]`, `::text[]`).
 * Drizzle expands a JS array into one parameter per element, which breaks past 65 535 elements; this does not.
 */
export function pgArray(values: readonly (string | number)[]): string {
  return `{${values.map((v) => (typeof v === 'number' ? String(v) : `"${v.replace(/[\\"]/g, (m) => `\\${m}`)}"`)).join(',')}}`;
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** True when an error (or its cause) means the database could not be reached, not that a query was wrong. */
export function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
    if (Array.isArray((e as { errors?: unknown }).errors)) {
      if ((e as { errors: unknown[] }).errors.some(isConnectionError)) return true;
    }
  }
  return false;
}
