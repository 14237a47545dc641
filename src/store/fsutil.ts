import { open } from 'node:fs/promises';

/**
 * Flushes a directory entry to disk, so a rename or unlink survives a power cut. Windows cannot open
 * a directory for syncing; there the rename is as durable as the filesystem makes it.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
