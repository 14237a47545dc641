import { Hono, type MiddlewareHandler } from 'hono';
import { recordAudit } from '../audit/queries.ts';
import { auditActor } from '../http/middleware/request.ts';
import { render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { StoreError } from '../store/errors.ts';
import { attachmentItems, attachmentLimitBytes, formatBytes, readMultipartForm } from './attachments.ts';

/** /attachments: uploads for the composer and the template editor (their own size limit). */
export const attachmentsRoutes = new Hono<AppEnv>();

/** Uploading is part of writing a message or a template: either permission will do. */
function requireComposeOrTemplates(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const permissions = c.get('user')?.permissions;
    if (permissions?.has('messages.create') || permissions?.has('templates.manage')) return next();
    await recordAudit(c.get('deps').database.db, auditActor(c), {
      action: 'access.denied',
      objectType: 'route',
      objectId: `${c.req.method} ${c.req.path}`.slice(0, 300),
      summary: 'missing permission messages.create or templates.manage',
      result: 'denied',
    });
    return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: 'error.403.text' }, 403);
  };
}

/**
 * Stores the uploaded files (field `files`) and answers their rows for the attachments field: name,
 * size, the signed token in a hidden input and a remove control. The form they join is saved later;
 * until then the blobs are unreferenced, and the store's sweeper removes them if it never is.
 */
attachmentsRoutes.post(
  '/',
  requireComposeOrTemplates(),
  async (c) => {
    const limit = attachmentLimitBytes(c.get('deps').config);
    const t = c.get('t');
    let form: Awaited<ReturnType<typeof readMultipartForm>>;
    try {
      form = await readMultipartForm(c, { maxTotalBytes: limit, maxFieldBytes: 64 * 1024 });
    } catch (error) {
      if (!isStoreFailure(error)) throw error;
      // Disk full, folder gone, file over the store's own cap: the user learns the file was not kept.
      c.get('log').error({ err: error }, 'attachment upload could not be stored');
      return render(c, 'partials/attachments_error.njk', { message: t('attachments.store_failed') }, 503);
    }
    if (form.tooLarge) {
      const message = t('attachments.too_large', {
        total: formatBytes(form.uploadedBytes, c.get('locale')),
        limit: formatBytes(limit, c.get('locale')),
      });
      return render(c, 'partials/attachments_error.njk', { message }, 413);
    }
    if (!form.files.length) return render(c, 'partials/attachments_error.njk', { message: t('attachments.no_files') }, 422);
    const items = await attachmentItems(c, c.get('user')!.id, form.files);
    return render(c, 'partials/attachments_rows.njk', { items });
  },
);

/** A failure of the storage folder (missing, full, not writable, object too large), as opposed to a bug. */
function isStoreFailure(error: unknown): boolean {
  if (error instanceof StoreError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E(NOENT|NOTDIR|NOSPC|ACCES|PERM|ROFS|IO|DQUOT|ISDIR)$/.test(code);
}
