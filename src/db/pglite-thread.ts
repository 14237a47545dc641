/**
 * The embedded database's own thread (`pglite-client.ts` talks to it): PGlite runs here, so its work —
 * planning, executing, writing pages — does not stop the main thread from serving pages and talking
 * SMTP. Gets `{ id, op: 'query', sql, params, rowMode, rawTypes }`, `{ id, op: 'exec', sql }` or
 * `{ id, op: 'close' }`; answers `{ id, result }` or `{ id, error }` (the error's message and its
 * PostgreSQL fields: code, constraint, detail…). PGlite runs one statement at a time, in the order the
 * requests arrive; which of them form a transaction is the main thread's business.
 */
import { PGlite, type QueryOptions } from '@electric-sql/pglite';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { parentPort, workerData } from 'node:worker_threads';

type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; rowMode?: 'array' | 'object'; rawTypes?: number[] }
  | { id: number; op: 'exec'; sql: string }
  | { id: number; op: 'close' };

const port = parentPort!;
const { dataDir } = workerData as { dataDir: string | null };

/** Identity parsers (the value as PostgreSQL's text) for the types the caller asked to keep as text. */
const parsersCache = new Map<string, QueryOptions['parsers']>();
function rawParsers(types: number[] | undefined): QueryOptions['parsers'] {
  if (!types?.length) return undefined;
  const key = types.join(',');
  let parsers = parsersCache.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(types.map((t) => [t, (value: string) => value]));
    parsersCache.set(key, parsers);
  }
  return parsers;
}

/** An error as plain data: its message and the primitive fields PostgreSQL gave it. */
function errorData(error: unknown): Record<string, unknown> {
  const e = error as Record<string, unknown>;
  const data: Record<string, unknown> = { message: error instanceof Error ? error.message : String(error), name: error instanceof Error ? error.name : 'Error' };
  for (const [key, value] of Object.entries(e ?? {})) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) data[key] = value;
  }
  return data;
}

try {
  const db = await PGlite.create({ dataDir: dataDir ?? undefined, extensions: { unaccent } });
  // Search indexes merge their pending list in short steps (256 kB, not 4 MB): on this one session a 4 MB
  // merge stalled every statement behind it for a quarter of a second. (A server merges in the background,
  // and there the larger list costs less.)
  await db.exec(`set gin_pending_list_limit = '256kB'`);
  port.on('message', (req: Request) => {
    const run = async () => {
      switch (req.op) {
        case 'query': {
          const { rows, fields, affectedRows } = await db.query(req.sql, req.params ?? [], { rowMode: req.rowMode ?? 'object', parsers: rawParsers(req.rawTypes) });
          return { rows, fields, affectedRows };
        }
        case 'exec':
          return (await db.exec(req.sql)).map(({ rows, fields, affectedRows }) => ({ rows, fields, affectedRows }));
        case 'close':
          await db.close();
          return null;
      }
    };
    run().then(
      (result) => port.postMessage({ id: req.id, result }),
      (error: unknown) => port.postMessage({ id: req.id, error: errorData(error) }),
    );
  });
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ ready: false, error: errorData(error) });
}
