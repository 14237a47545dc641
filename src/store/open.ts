import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';
import { openKeyRing } from './keys.ts';
import { openStore, type Store } from './store.ts';

const STORE_ID_SETTING = 'store.id';

/**
 * Opens the configured storage folder with the configured keys (MASTER_KEY, or the key file in DATA_DIR,
 * created on first start) and ties it to this database: the first start records the folder's store id,
 * later starts refuse any other folder (a wrong path, or a volume that is not mounted) with a clear error.
 */
export async function openConfiguredStore(config: Config, db: Db): Promise<Store> {
  const keyRing = await openKeyRing(config.MASTER_KEY ? { masterKey: config.MASTER_KEY } : { file: path.join(config.DATA_DIR, 'keys.json') });
  const [recorded] = await db.select().from(settings).where(eq(settings.key, STORE_ID_SETTING));
  const expectStoreId = typeof recorded?.value === 'string' ? recorded.value : undefined;
  const store = await openStore({ dir: config.STORAGE_DIR!, keyRing, expectStoreId });
  if (!expectStoreId) {
    await db.insert(settings).values({ key: STORE_ID_SETTING, value: store.storeId }).onConflictDoNothing();
  }
  return store;
}
