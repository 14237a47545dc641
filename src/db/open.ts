import path from 'node:path';
import type { Config } from '../config.ts';
import { openPglite, openPostgres, type Database } from './client.ts';
import { lockDataDir } from './lock.ts';

/**
 * Opens the configured database and applies migrations: the server at DATABASE_URL, or the embedded
 * one in DATA_DIR/db (locked to this process). `release` gives the data folder back.
 */
export async function openDatabase(config: Config): Promise<{ database: Database; release: () => void }> {
  if (config.DATABASE_URL) {
    const database = openPostgres(config.DATABASE_URL);
    await database.migrate();
    return { database, release: () => {} };
  }
  const release = lockDataDir(config.DATA_DIR);
  try {
    const database = await openPglite(path.join(config.DATA_DIR, 'db'));
    await database.migrate();
    return { database, release };
  } catch (error) {
    release();
    throw error;
  }
}
