/**
 * A sender process for crash, multi-process and memory tests: opens a Postgres database and the store,
 * runs one `Sender` (as `npm start` does, without the web part) and stops cleanly on SIGTERM.
 *
 * Env: POSEL_DB_URL (postgres://…), POSEL_STORE_DIR, POSEL_MASTER_KEY (the same folder and key the queueing
 * side used), POSEL_LEASE_MS (default 5 min), POSEL_IDLE_MS (default 200), POSEL_LOG_LEVEL (silent),
 * POSEL_DB_MAX (connections, default 10), POSEL_EXIT_WITH_PARENT=1 (exit when stdin closes),
 * POSEL_EXIT_WHEN_DRAINED=1 (exit once nothing is queued,
 * deferred or sending). Writes `ready` on stdout once the loop runs, and when it stops one JSON line
 * `{"processed":…}` (after draining also `"drained":true,"ms":…,"maxRssMb":…`).
 */
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { openPostgres, rowsOf } from '../../db/client.ts';
import { openKeyRing } from '../../store/keys.ts';
import { openStore } from '../../store/store.ts';
import { Sender } from '../sender.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const database = openPostgres(env('POSEL_DB_URL'), { max: Number(process.env.POSEL_DB_MAX ?? 10) });
const store = await openStore({ dir: env('POSEL_STORE_DIR'), keyRing: await openKeyRing({ masterKey: env('POSEL_MASTER_KEY') }) });
const logger = pino({ level: process.env.POSEL_LOG_LEVEL ?? 'silent' });
const sender = new Sender({
  db: database.db,
  store,
  logger,
  testMailbox: null,
  leaseMs: Number(process.env.POSEL_LEASE_MS ?? 5 * 60_000),
  idleMs: Number(process.env.POSEL_IDLE_MS ?? 200),
});

const started = performance.now();
sender.start();
process.stdout.write('ready\n');

let stopping = false;
async function finish(code: number, report: Record<string, unknown> = {}): Promise<void> {
  if (stopping) return;
  stopping = true;
  await sender.stop();
  await database.close();
  process.stdout.write(`${JSON.stringify({ ...report, processed: sender.processed })}\n`);
  process.exit(code);
}
process.on('SIGTERM', () => void finish(0));
// Started by a test or a benchmark: stdin is a pipe from the parent; when it closes the parent is gone.
if (process.env.POSEL_EXIT_WITH_PARENT === '1') {
  process.stdin.on('close', () => process.exit(1));
  process.stdin.resume();
}
process.on('SIGINT', () => void finish(0));

/**
 * This process's peak RSS in MB. On Linux from /proc (VmHWM, of this process's own memory): getrusage's
 * maxRSS survives exec, so a child spawned by a big parent would report the parent's peak.
 */
function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Math.round(Number(kb) / 102.4) / 10;
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
}

if (process.env.POSEL_EXIT_WHEN_DRAINED === '1') {
  const poll = async (): Promise<void> => {
    try {
      const [row] = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from messages where status in ('queued', 'deferred', 'sending')`));
      if (row && row.n === 0) {
        const ms = performance.now() - started;
        return await finish(0, { drained: true, ms: Math.round(ms), maxRssMb: peakRssMb() });
      }
    } catch (err) {
      logger.error({ err }, 'poll failed');
    }
    setTimeout(() => void poll(), 250);
  };
  void poll();
}
