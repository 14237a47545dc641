/**
 * The composer's form plumbing: reading its multipart POST (fields, new files, attachments carried as
 * signed tokens), the template choices for the linked record, and "Use template".
 */
import type { Context } from 'hono';
import type { Config } from '../config.ts';
import type { TemplatePurpose } from '../db/schema/templates.ts';
import type { Db } from '../db/client.ts';
import type { FieldError, FieldErrors } from '../http/forms.ts';
import type { AppEnv } from '../http/types.ts';
import { listTemplateChoices, renderTemplateFor } from '../templates/render.ts';
import { attachmentLimitBytes, collectAttachmentsDetailed, readMultipartForm, totalBytes } from './attachments.ts';
import type { LinkContext } from './queries.ts';
import { MAX_BODY_CHARS, StoreWriteFailed, type DraftAttachment } from './service.ts';
import { StoreError } from '../store/errors.ts';

/** What the composer's fields hold, as typed (re-rendered unchanged after an error). */
export interface ComposerValues {
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  /** The editor's last mode (rich text or HTML source), so a re-rendered form opens where the user was. */
  bodyMode: string;
  template: string;
  version: string;
}

export interface ComposerForm {
  values: ComposerValues;
  /** Every field's first value (hidden link inputs included). */
  raw: Record<string, string | undefined>;
  attachments: DraftAttachment[];
  errors: FieldErrors;
  /** The request was larger than the attachment limit allows: the upload was cut off. */
  tooLarge: boolean;
  /** `save` (default) or `template` ("Use template"). */
  action: 'save' | 'template';
}

/**
 * Reads the composer POST (multipart: files may come with it; urlencoded works too) with the configured
 * attachment limit. Attachments are the tokens the form carried (minus those ticked for removal) plus the
 * files just uploaded; a total over the limit, or earlier uploads gone from the store, are field errors.
 * A store that cannot be written while taking the files becomes `StoreWriteFailed`.
 */
export async function readComposerForm(c: Context<AppEnv>, config: Config, userId: number): Promise<ComposerForm> {
  const limit = attachmentLimitBytes(config);
  let read: Awaited<ReturnType<typeof readMultipartForm>>;
  try {
    read = await readMultipartForm(c, { maxTotalBytes: limit, maxFieldBytes: MAX_BODY_CHARS + 1024 * 1024 });
  } catch (error) {
    if (isStoreFailure(error)) throw new StoreWriteFailed(error);
    throw error;
  }
  const fields = read.fields;
  const first = (k: string) => fields[k]?.[0];
  const raw: Record<string, string | undefined> = Object.create(null);
  for (const k of Object.keys(fields)) raw[k] = first(k);
  const values: ComposerValues = {
    to: first('to') ?? '',
    cc: first('cc') ?? '',
    bcc: first('bcc') ?? '',
    subject: first('subject') ?? '',
    body: first('body') ?? '',
    bodyMode: first('body_mode') === 'html' ? 'html' : 'rich',
    template: first('template') ?? '',
    version: first('version') ?? '',
  };
  const errors: FieldErrors = {};
  if (read.fieldsTruncated) errors.body = { key: 'messages.v.body_too_large', params: { mb: String(MAX_BODY_CHARS / 1024 / 1024) } };
  const collected = await collectAttachmentsDetailed(c, fields, read.files, userId);
  const attachments: DraftAttachment[] = collected.attachments.map((a) => ({
    blobId: a.blobId,
    filename: a.filename,
    contentType: a.contentType,
    sizeBytes: a.sizeBytes,
  }));
  if (collected.missing.length) errors.attachments = { key: 'messages.v.attachment_gone', params: { names: collected.missing.join(', ') } };
  if (read.tooLarge || totalBytes(attachments) > limit) {
    errors.attachments = { key: 'messages.v.attachments_too_large', params: { mb: String(Math.round(limit / 1024 / 1024)) } };
  }
  return { values, raw, attachments, errors, tooLarge: read.tooLarge, action: first('action') === 'template' ? 'template' : 'save' };
}

/** A failure of the storage folder (missing, full, not writable), as opposed to a bug. */
function isStoreFailure(error: unknown): boolean {
  if (error instanceof StoreError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E(NOENT|NOTDIR|NOSPC|ACCES|PERM|ROFS|IO|DQUOT|EXIST|ISDIR)$/.test(code);
}

/** Template purposes that fit the linked records: each linked kind's own, plus `client` with a client. */
export function purposesFor(ctx: LinkContext): TemplatePurpose[] {
  const out: TemplatePurpose[] = [];
  if (ctx.order) out.push('order');
  if (ctx.contract) out.push('contract');
  if (ctx.activity) out.push('activity');
  if (ctx.client) out.push('client');
  return out;
}

/** The templates the composer offers (none when nothing is linked: a template renders for a record). */
export async function templateChoices(db: Db, ctx: LinkContext) {
  const purposes = purposesFor(ctx);
  return purposes.length ? listTemplateChoices(db, purposes) : [];
}

/**
 * "Use template": renders the chosen template for the linked records and returns the subject, body and
 * attachments it fills in (the template's attachments join those already on the form, without repeats).
 */
export async function applyTemplate(
  c: Context<AppEnv>,
  ctx: LinkContext,
  templateValue: string,
  current: DraftAttachment[],
): Promise<{ ok: true; values: Partial<ComposerValues>; attachments: DraftAttachment[] } | { ok: false; error: FieldError }> {
  const id = /^\d{1,9}$/.test(templateValue) ? Number(templateValue) : null;
  const db = c.get('deps').database.db;
  const allowed = await templateChoices(db, ctx);
  const chosen = allowed.find((t) => t.id === id);
  if (!id || !chosen) return { ok: false, error: { key: 'messages.v.template_choose', params: {} } };
  const user = c.get('user')!;
  const config = c.get('deps').config;
  let rendered: Awaited<ReturnType<typeof renderTemplateFor>>;
  try {
    rendered = await renderTemplateFor(db, id, definedLink(ctx.link), {
      // Dates and amounts are written in the template's language (the language of the mail).
      locale: chosen.locale === 'en' ? 'en' : 'cs',
      sender: { name: user.name, email: user.email },
      timeZone: config.TIMEZONE,
    });
  } catch (error) {
    c.get('log').warn({ err: error, templateId: id }, 'template could not be rendered');
    return { ok: false, error: { key: 'messages.v.template_failed', params: {} } };
  }
  const attachments = [...current];
  for (const a of rendered.attachments) {
    if (!attachments.some((x) => x.blobId === a.blobId && x.filename === a.filename)) {
      attachments.push({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes });
    }
  }
  return { ok: true, values: { subject: rendered.subject, body: rendered.bodyHtml, template: String(id) }, attachments };
}

/** The link with only the ids that are set (the template renderer takes `number | undefined`). */
function definedLink(link: LinkContext['link']) {
  return {
    clientId: link.clientId ?? undefined,
    orderId: link.orderId ?? undefined,
    contractId: link.contractId ?? undefined,
    activityId: link.activityId ?? undefined,
  };
}
