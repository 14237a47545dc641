/**
 * Worker threads that run this project's TypeScript files. On Node 20 a worker does not inherit the
 * loader the main thread got from `tsx` (or `--import tsx`), so its bootstrap registers tsx's ES-module
 * API itself and then loads the file. Used by the body encoder and the embedded database's thread.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The bootstrap: tsx's ES module build (its CommonJS build cannot register from a worker on Node 20), then the file. */
function workerSource(file: string): string {
  const api = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file)}); })`;
}

/** Starts a worker thread running the TypeScript module `file`. */
export function startTsWorker(file: URL | string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  return new Worker(workerSource(typeof file === 'string' ? file : file.href), { execArgv: [], ...options, eval: true });
}
