/**
 * Imports in progress, kept in this process: an upload becomes a job (its file under DATA_DIR/imports,
 * named by a random id), the mapping step edits it, and the run goes on in the background while the page
 * polls. A restart forgets the jobs (an unfinished upload is simply uploaded again); files left behind are
 * swept after a day. Only the user who uploaded a file sees its job: anyone else gets 404.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import type { Translate } from '../http/i18n/index.ts';
import { decodeHead, sniffDelimiter, type Delimiter, type Encoding, type NotText, type ScanResult } from './detect.ts';
import { guessMapping, type Mapping } from './fields.ts';
import { readHead, type CsvRecord, type ReadOptions } from './records.ts';
import { emptyCounts, RefusedCsv, runImport, type DuplicatePolicy, type ImportCounts, type RefusedRow } from './service.ts';

/** The largest file accepted (bytes actually received, not the declared length). */
export const IMPORT_MAX_BYTES = 50 * 1024 * 1024;
/** At most this many columns are offered for mapping (a wrong separator can make thousands). */
export const MAX_COLUMNS = 200;
/** Refused rows shown on the result page; all of them are in the downloadable CSV. */
export const REFUSED_SHOWN = 100;
const JOB_TTL_MS = 24 * 60 * 60 * 1000;

export type JobStatus = 'mapping' | 'running' | 'done' | 'failed';

export interface ImportJob {
  id: string;
  userId: number;
  createdAt: Date;
  touchedAt: number;
  /** As the browser sent it; shown to the user and put in the audit row, never used as a path. */
  fileName: string;
  filePath: string;
  refusedPath: string;
  bytes: number;
  bom: boolean;
  detected: { encoding: Encoding; delimiter: Delimiter };
  encoding: Encoding;
  delimiter: Delimiter;
  header: string[];
  preview: CsvRecord[];
  mapping: Mapping;
  duplicates: DuplicatePolicy;
  status: JobStatus;
  counts: ImportCounts;
  bytesRead: number;
  refusedSample: RefusedRow[];
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Settles when a started run ends (tests and graceful shutdown wait on it). */
  finished: Promise<void> | null;
}

const jobs = new Map<string, ImportJob>();

export const importsDir = (dataDir: string) => path.join(dataDir, 'imports');
export const newImportId = () => randomBytes(16).toString('hex');
export const isImportId = (value: string) => /^[0-9a-f]{32}$/.test(value);

/** Where an upload is written before it becomes a job. */
export async function uploadPath(dataDir: string, id: string): Promise<string> {
  const dir = importsDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, id);
}

export type JobRefusal = { reason: NotText | 'empty' | 'no_header' };

/** Turns an uploaded file into a job at the mapping step, or says why it cannot be one (and removes it). */
export async function createJob(params: {
  id: string;
  userId: number;
  filePath: string;
  fileName: string;
  scan: ScanResult;
}): Promise<ImportJob | JobRefusal> {
  const { scan } = params;
  const refuse = async (reason: JobRefusal['reason']) => {
    await rm(params.filePath, { force: true });
    return { reason };
  };
  if (scan.notText) return refuse(scan.notText);
  const headText = decodeHead(scan);
  if (!headText.trim()) return refuse('empty');
  const delimiter = sniffDelimiter(headText);
  const read: ReadOptions = { encoding: scan.encoding, delimiter, bom: scan.bom };
  const { header, records } = await readHead(params.filePath, read);
  if (!header.some((h) => h.trim())) return refuse('no_header');
  const dir = path.dirname(params.filePath);
  const job: ImportJob = {
    id: params.id,
    userId: params.userId,
    createdAt: new Date(),
    touchedAt: Date.now(),
    fileName: params.fileName.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200) || '—',
    filePath: params.filePath,
    refusedPath: path.join(dir, `${params.id}.refused.csv`),
    bytes: scan.bytes,
    bom: scan.bom,
    detected: { encoding: scan.encoding, delimiter },
    encoding: scan.encoding,
    delimiter,
    header: header.slice(0, MAX_COLUMNS),
    preview: records,
    mapping: guessMapping(header.slice(0, MAX_COLUMNS)),
    duplicates: 'skip',
    status: 'mapping',
    counts: emptyCounts(),
    bytesRead: 0,
    refusedSample: [],
    startedAt: null,
    finishedAt: null,
    finished: null,
  };
  jobs.set(job.id, job);
  return job;
}

/** The user's job, or undefined (unknown, expired, or someone else's). */
export function getJob(id: string, userId: number): ImportJob | undefined {
  const job = isImportId(id) ? jobs.get(id) : undefined;
  if (!job || job.userId !== userId) return undefined;
  job.touchedAt = Date.now();
  return job;
}

/** The user's jobs, newest first (the upload page lists them). */
export function listJobs(userId: number): ImportJob[] {
  return [...jobs.values()].filter((j) => j.userId === userId).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

/**
 * Reads the head again with another encoding or separator chosen by the user. The mapping is guessed
 * afresh when the columns changed; otherwise the user's choices stay.
 */
export async function rereadJob(job: ImportJob, encoding: Encoding, delimiter: Delimiter): Promise<boolean> {
  if (job.status !== 'mapping' || (encoding === job.encoding && delimiter === job.delimiter)) return false;
  const { header, records } = await readHead(job.filePath, { encoding, delimiter, bom: job.bom });
  const columns = header.slice(0, MAX_COLUMNS);
  const sameShape = columns.length === job.header.length && delimiter === job.delimiter;
  job.encoding = encoding;
  job.delimiter = delimiter;
  job.header = columns;
  job.preview = records;
  if (!sameShape) job.mapping = guessMapping(columns);
  return !sameShape;
}

/** Starts the run in the background; progress and the outcome land on the job. */
export function startJob(job: ImportJob, deps: { db: Db; logger: Logger; t: Translate }, actor: AuditActor): void {
  if (job.status !== 'mapping') return;
  job.status = 'running';
  job.startedAt = new Date();
  const refused = new RefusedCsv(job.refusedPath, job.header, deps.t);
  job.finished = (async () => {
    let status: JobStatus = 'failed';
    try {
      job.counts = await runImport(
        deps.db,
        { filePath: job.filePath, read: { encoding: job.encoding, delimiter: job.delimiter, bom: job.bom }, mapping: job.mapping, duplicates: job.duplicates },
        actor,
        {
          audit: { importId: job.id, fileName: job.fileName },
          progress: (counts, bytesRead) => {
            job.counts = counts;
            job.bytesRead = bytesRead;
          },
          refused: async (row) => {
            job.counts.refused++;
            if (job.refusedSample.length < REFUSED_SHOWN) job.refusedSample.push(row);
            await refused.write(row);
          },
        },
      );
      job.bytesRead = job.bytes;
      status = 'done';
    } catch (error) {
      deps.logger.error({ err: error, importId: job.id }, 'import failed');
    } finally {
      // The refused-rows file is complete before the page offers it.
      await refused.close().catch(() => {});
      await rm(job.filePath, { force: true }).catch(() => {});
      job.finishedAt = new Date();
      job.status = status;
    }
  })();
}

/** Settles when every running import has ended (for graceful shutdown and tests). */
export function importsSettled(): Promise<void> {
  return Promise.all([...jobs.values()].map((j) => j.finished)).then(() => {});
}

/** Forgets a job at the mapping step and removes its file. */
export async function discardJob(job: ImportJob): Promise<void> {
  if (job.status === 'running') return;
  jobs.delete(job.id);
  await rm(job.filePath, { force: true });
  await rm(job.refusedPath, { force: true });
}

/** Forgets jobs untouched for a day and removes files in DATA_DIR/imports that no job owns and are that old. */
export async function sweepJobs(dataDir: string, now = Date.now()): Promise<void> {
  for (const job of jobs.values()) {
    if (job.status !== 'running' && now - job.touchedAt > JOB_TTL_MS) await discardJob(job);
  }
  const dir = importsDir(dataDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const id = name.slice(0, 32);
    if (jobs.has(id)) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info && now - info.mtimeMs > JOB_TTL_MS) await rm(file, { force: true });
  }
}
