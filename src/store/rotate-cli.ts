/**
 * `npm run store:rotate-key`: adds a new store key to the key file and re-encrypts every stored object with
 * it. It needs only the storage folder and the keys, not the database, so it can run while Posel runs.
 * With MASTER_KEY, add the new key to the variable first (`id:key,…`), then run it to re-encrypt.
 * Exit code 0 when every object is on the newest key, 1 when some failed their integrity check.
 */
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { openKeyRing } from './keys.ts';
import { rotateStoreKey } from './rotate.ts';
import { openStore } from './store.ts';

try {
  const config = loadConfig();
  const keyRing = await openKeyRing(config.MASTER_KEY ? { masterKey: config.MASTER_KEY } : { file: path.join(config.DATA_DIR, 'keys.json') });
  const store = await openStore({ dir: config.STORAGE_DIR!, keyRing });
  const result = await rotateStoreKey(store, keyRing, {
    addKey: !config.MASTER_KEY,
    onProgress: (n) => console.log(`${n} objects checked…`),
  });
  console.log(`Key ${result.keyId} is now used for new writes. Checked ${result.checked} objects, re-encrypted ${result.reencrypted}.`);
  for (const f of result.failed) console.log(`FAILED ${f.id}: ${f.error}`);
  if (result.failed.length) process.exitCode = 1;
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
