import type { KeyRing } from './keys.ts';
import type { Store } from './store.ts';

export interface RotationResult {
  keyId: number;
  checked: number;
  reencrypted: number;
  failed: { id: string; error: string }[];
}

/**
 * Adds a new key (unless the keys come from the environment and were rotated there) and re-encrypts every
 * object that uses an older one. Objects stay readable throughout: each is rewritten atomically, and a
 * reader that meets the new key id reloads the key file. An object that fails its integrity check is
 * reported and left as it is, never rewritten.
 */
export async function rotateStoreKey(
  store: Store,
  keyRing: KeyRing,
  options: { addKey: boolean; onProgress?: (checked: number) => void },
): Promise<RotationResult> {
  const keyId = options.addKey ? await keyRing.addKey() : keyRing.newest.id;
  const result: RotationResult = { keyId, checked: 0, reencrypted: 0, failed: [] };
  for await (const id of store.ids()) {
    try {
      if (await store.reencrypt(id)) result.reencrypted++;
    } catch (error) {
      result.failed.push({ id, error: (error as Error).message });
    }
    if (++result.checked % 1000 === 0) options.onProgress?.(result.checked);
  }
  return result;
}
