import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settings } from '../db/schema/index.ts';
import { createTestDatabase, testConfig } from '../test-support/harness.ts';
import { StoreFolderError } from './errors.ts';
import { openConfiguredStore } from './open.ts';

let t: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'posel-store-'));

describe('the configured storage folder', () => {
  const config = testConfig();

  it('is created on first start, with a key file, and recorded in the database', async () => {
    const store = await openConfiguredStore(config, t.database.db);
    const [row] = await t.database.db.select().from(settings).where(eq(settings.key, 'store.id'));
    expect(row!.value).toBe(store.storeId);
    await store.put('hello', Buffer.from('Žluťoučký kůň'));
    const again = await openConfiguredStore(config, t.database.db);
    expect((await again.get('hello')).toString()).toBe('Žluťoučký kůň');
  });

  it('refuses an empty folder once the database knows its store (a volume not mounted, a wrong path)', async () => {
    const moved = { ...config, STORAGE_DIR: tempDir() };
    await expect(openConfiguredStore(moved, t.database.db)).rejects.toThrow(/is empty, but the database expects store/);
  });

  it('refuses a folder that is not a Posel store', async () => {
    const foreign = tempDir();
    writeFileSync(path.join(foreign, 'faktura.pdf'), 'not ours');
    const error = await openConfiguredStore({ ...config, STORAGE_DIR: foreign }, t.database.db).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreFolderError);
    expect((error as Error).message).toMatch(/is not a Posel store/);
  });
});
