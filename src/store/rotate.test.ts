import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openKeyRing } from './keys.ts';
import { rotateStoreKey } from './rotate.ts';
import { openStore } from './store.ts';

describe('key rotation', () => {
  it('moves every object to a new key, keeps them readable, and does nothing the second time', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'posel-rotate-'));
    const keyRing = await openKeyRing({ file: path.join(dir, 'keys.json') });
    const store = await openStore({ dir: path.join(dir, 'store'), keyRing });
    await store.put('message-1', 'Dobrý den, posíláme fakturu.');
    await store.put('message-2', Buffer.alloc(10_000, 7));
    const blob = await store.putBlob(Buffer.from('%PDF-1.7 faktura'));

    const first = await rotateStoreKey(store, keyRing, { addKey: true });
    expect(first).toMatchObject({ keyId: 2, checked: 3, reencrypted: 3, failed: [] });
    for (const id of ['message-1', 'message-2', blob]) expect(await store.keyIdOf(id)).toBe(2);
    expect((await store.get('message-1')).toString()).toBe('Dobrý den, posíláme fakturu.');
    expect((await store.get(blob)).toString()).toBe('%PDF-1.7 faktura');
    expect(await store.putBlob(Buffer.from('%PDF-1.7 faktura'))).toBe(blob); // same content, same id after rotation

    const second = await rotateStoreKey(store, keyRing, { addKey: false });
    expect(second).toMatchObject({ keyId: 2, checked: 3, reencrypted: 0 });
  });
});
