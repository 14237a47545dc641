import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { readForm } from '../http/forms.ts';
import { formatters } from '../http/i18n/index.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { DELIMITERS, ENCODINGS, type Delimiter, type Encoding } from './detect.ts';
import { IMPORT_FIELDS, isColumnTarget, mappingProblems } from './fields.ts';
import {
  createJob,
  discardJob,
  getJob,
  IMPORT_MAX_BYTES,
  listJobs,
  newImportId,
  REFUSED_SHOWN,
  rereadJob,
  startJob,
  sweepJobs,
  uploadPath,
  type ImportJob,
} from './jobs.ts';
import { describeProblem, previewRecords } from './service.ts';
import { receiveUpload } from './upload.ts';

/**
 * CSV import of clients, mounted at /clients/import. Every route needs `import.run`. app.ts leaves the
 * body limit of every route here to this router: the upload (POST /) streams to disk under its own 50 MB
 * limit (counted in upload.ts), the small mapping forms get the app's usual form limit (`formLimit`).
 */
export const importRoutes = new Hono<AppEnv>();

/** BODY_LIMIT_KB, as app.ts applies it to every other form. */
const formLimit: MiddlewareHandler<AppEnv> = (c, next) =>
  bodyLimit({
    maxSize: c.get('deps').config.BODY_LIMIT_KB * 1024,
    onError: (ctx) => {
      throw new HTTPException(413, { res: ctx.text('Payload too large', 413) });
    },
  })(c, next);

const MAX_MB = IMPORT_MAX_BYTES / 1024 / 1024;
const DELIMITER_NAMES: Record<Delimiter, string> = { ';': 'semicolon', ',': 'comma', '\t': 'tab' };
const delimiterFrom = (value: string | undefined) => DELIMITERS.find((d) => DELIMITER_NAMES[d] === value);
const encodingFrom = (value: string | undefined) => ENCODINGS.find((e) => e === value);

function user(c: Context<AppEnv>) {
  return c.get('user')!;
}

function jobOf(c: Context<AppEnv>): ImportJob | undefined {
  return getJob(c.req.param('id') ?? '', user(c).id);
}

function uploadPage(c: Context<AppEnv>, error: string | null = null, status = 200) {
  return render(c, 'import/index.njk', { jobs: listJobs(user(c).id), maxMb: MAX_MB, error, errorParams: { max: MAX_MB } }, status);
}

importRoutes.get('/', requirePermission('import.run'), async (c) => {
  void sweepJobs(c.get('deps').config.DATA_DIR).catch((err) => c.get('log').warn({ err }, 'import sweep failed'));
  return uploadPage(c);
});

importRoutes.post('/', requirePermission('import.run'), async (c) => {
  const id = newImportId();
  const filePath = await uploadPath(c.get('deps').config.DATA_DIR, id);
  const upload = await receiveUpload(c.req.raw, filePath, IMPORT_MAX_BYTES);
  if (!upload.ok) {
    const status = upload.reason === 'too_large' ? 413 : upload.reason === 'no_file' ? 422 : 400;
    return uploadPage(c, `import.error.${upload.reason}`, status);
  }
  if (upload.bytes === 0) return uploadPage(c, upload.fileName ? 'import.error.empty' : 'import.error.no_file', 422);
  const job = await createJob({ id, userId: user(c).id, filePath, fileName: upload.fileName, scan: upload.scan });
  if ('reason' in job) return uploadPage(c, `import.error.${job.reason}`, 422);
  return redirect(c, `/clients/import/${job.id}`);
});

/** The mapping step's view model: columns with their targets and a sample, and the preview rows. */
async function mappingData(c: Context<AppEnv>, job: ImportJob, extra: Record<string, unknown> = {}) {
  const t = c.get('t');
  const rows = await previewRecords(c.get('deps').database.db, job.preview, job.mapping);
  const fields = IMPORT_FIELDS.filter((f) => job.mapping.includes(f));
  const show = (field: (typeof IMPORT_FIELDS)[number], value: unknown): string => {
    if (value === null || value === undefined) return '';
    if (Array.isArray(value)) return value.join(', ');
    if (field === 'no_marketing') return value ? t('common.yes') : '';
    if (field === 'kind') return t(`import.kind.${value}`);
    return String(value);
  };
  return {
    job,
    maxMb: MAX_MB,
    sizeText: fileSize(c, job.bytes),
    columns: job.header.map((label, index) => ({
      index,
      label: label.trim() || t('import.mapping.column_n', { n: index + 1 }),
      sample: job.preview.map((r) => (r.cells[index] ?? '').trim()).find((v) => v) ?? '',
      target: job.mapping[index] ?? 'ignore',
    })),
    targets: [{ value: 'ignore', label: t('import.mapping.ignore') }, ...IMPORT_FIELDS.map((f) => ({ value: f, label: t(`import.field.${f}`) }))],
    encodings: ENCODINGS.map((e) => ({ value: e, label: t(`import.encoding.${e}`) })),
    delimiters: DELIMITERS.map((d) => ({ value: DELIMITER_NAMES[d], label: t(`import.delimiter.${DELIMITER_NAMES[d]}`) })),
    encoding: job.encoding,
    delimiter: DELIMITER_NAMES[job.delimiter],
    detected: { encoding: t(`import.encoding.${job.detected.encoding}`), delimiter: t(`import.delimiter.${DELIMITER_NAMES[job.detected.delimiter]}`) },
    previewFields: fields.map((f) => ({ key: f, label: t(`import.field.${f}`) })),
    previewRows: rows.map((r) => ({
      line: r.line,
      status: r.status,
      values: fields.map((f) => show(f, r.client ? r.client[f] : null)),
      problems: r.problems.map((p) => describeProblem(t, p)),
    })),
    errors: [] as string[],
    notice: null as string | null,
    ...extra,
  };
}

/** Applies the mapping form to the job; true when the columns changed (new separator) and must be checked again. */
async function applyForm(job: ImportJob, form: Record<string, string>): Promise<boolean> {
  job.mapping = job.header.map((_, i) => {
    const value = form[`col_${i}`];
    return isColumnTarget(value) ? value : 'ignore';
  });
  if (form.duplicates === 'skip' || form.duplicates === 'update') job.duplicates = form.duplicates;
  const encoding: Encoding = encodingFrom(form.encoding) ?? job.encoding;
  const delimiter: Delimiter = delimiterFrom(form.delimiter) ?? job.delimiter;
  return rereadJob(job, encoding, delimiter);
}

/** "1,2 MB" or "340 kB", in the user's number format. */
function fileSize(c: Context<AppEnv>, bytes: number): string {
  const fmt = formatters(c.get('locale'), c.get('deps').config.TIMEZONE);
  if (bytes >= 1024 * 1024) return `${fmt.number(Math.round((bytes / 1024 / 1024) * 10) / 10)} MB`;
  return `${fmt.number(Math.max(1, Math.round(bytes / 1024)))} kB`;
}

const mappingView = (c: Context<AppEnv>) => (isPartial(c) ? 'import/_mapping.njk' : 'import/mapping.njk');
const statusView = (c: Context<AppEnv>) => (isPartial(c) ? 'import/_status.njk' : 'import/status.njk');

/** The status fragment's data: progress while running, counts and refused rows when done. */
function statusData(c: Context<AppEnv>, job: ImportJob) {
  const t = c.get('t');
  return {
    job,
    percent: job.bytes ? Math.min(100, Math.floor((job.bytesRead / job.bytes) * 100)) : 100,
    refused: job.refusedSample.map((r) => ({ line: r.line, reasons: r.problems.map((p) => describeProblem(t, p)).join('; ') })),
    refusedShown: Math.min(job.refusedSample.length, REFUSED_SHOWN),
    seconds: job.startedAt && job.finishedAt ? ((job.finishedAt.getTime() - job.startedAt.getTime()) / 1000).toFixed(1) : null,
  };
}

importRoutes.get('/:id', requirePermission('import.run'), async (c) => {
  const job = jobOf(c);
  if (!job) return c.notFound();
  if (job.status === 'mapping') return render(c, 'import/mapping.njk', await mappingData(c, job));
  return render(c, 'import/status.njk', statusData(c, job));
});

importRoutes.post('/:id/preview', formLimit, requirePermission('import.run'), async (c) => {
  const job = jobOf(c);
  if (!job) return c.notFound();
  if (job.status !== 'mapping') return redirect(c, `/clients/import/${job.id}`);
  const changed = await applyForm(job, await readForm(c));
  if (isPartial(c)) return render(c, 'import/_mapping.njk', await mappingData(c, job, { notice: changed ? 'import.mapping.reread' : null }));
  // Without JavaScript: the choices are kept on the job, so post/redirect/get shows them (a reload re-posts nothing).
  if (changed) flash(c, 'info', 'import.mapping.reread');
  return redirect(c, `/clients/import/${job.id}`);
});

importRoutes.post('/:id/run', formLimit, requirePermission('import.run'), async (c) => {
  const job = jobOf(c);
  if (!job) return c.notFound();
  if (job.status !== 'mapping') return redirect(c, `/clients/import/${job.id}`);
  const changed = await applyForm(job, await readForm(c));
  if (changed) return render(c, mappingView(c), await mappingData(c, job, { notice: 'import.mapping.reread' }), 422);
  const problems = mappingProblems(job.mapping);
  if (problems.length) {
    const t = c.get('t');
    const errors = problems.map((p) => t(p.key, { ...p.params, field: p.params.field ? t(`import.field.${p.params.field}`) : '' }));
    return render(c, mappingView(c), await mappingData(c, job, { errors }), 422);
  }
  const { database, logger } = c.get('deps');
  startJob(job, { db: database.db, logger, t: c.get('t') }, auditActor(c));
  return redirect(c, `/clients/import/${job.id}`);
});

importRoutes.get('/:id/progress', requirePermission('import.run'), (c) => {
  const job = jobOf(c);
  if (!job) return c.notFound();
  if (job.status === 'mapping') return redirect(c, `/clients/import/${job.id}`);
  return render(c, statusView(c), statusData(c, job));
});

importRoutes.get('/:id/refused.csv', requirePermission('import.run'), (c) => {
  const job = jobOf(c);
  if (!job || (job.status !== 'done' && job.status !== 'failed') || job.counts.refused === 0) return c.notFound();
  const stream = Readable.toWeb(createReadStream(job.refusedPath)) as ReadableStream<Uint8Array>;
  const day = job.createdAt.toISOString().slice(0, 10);
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="refused-rows-${day}.csv"`,
      'Cache-Control': 'no-store',
    },
  });
});

importRoutes.post('/:id/discard', formLimit, requirePermission('import.run'), async (c) => {
  const job = jobOf(c);
  if (!job) return c.notFound();
  await discardJob(job);
  flash(c, 'info', 'import.discarded');
  return redirect(c, '/clients/import');
});
