/**
 * HMAC keys kept in the settings table: random, created on first use (the first of several instances
 * starting at once wins, all read it back), so signed tokens (uploads, unsubscribe links) survive restarts
 * and hold across instances. Cached per database and setting.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';

const cache = new WeakMap<Db, Map<string, Promise<KeyObject>>>();

export function settingHmacKey(db: Db, setting: string): Promise<KeyObject> {
  let keys = cache.get(db);
  if (!keys) cache.set(db, (keys = new Map()));
  let key = keys.get(setting);
  if (!key) {
    key = load(db, setting);
    keys.set(setting, key);
    key.catch(() => keys.delete(setting));
  }
  return key;
}

async function load(db: Db, setting: string): Promise<KeyObject> {
  await db.insert(settings).values({ key: setting, value: randomBytes(32).toString('base64') }).onConflictDoNothing();
  const [row] = await db.select().from(settings).where(eq(settings.key, setting));
  const bytes = typeof row?.value === 'string' ? Buffer.from(row.value, 'base64') : Buffer.alloc(0);
  if (bytes.length < 32) throw new Error(`The setting ${setting} is not a valid key.`);
  return createSecretKey(bytes);
}
