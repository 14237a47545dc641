import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { NotFoundError } from '../errors.ts';
import { requiredText, readForm, validate, type FieldErrors } from '../http/forms.ts';
import { PAGE_SIZE, pageParam } from '../http/listing.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { auditActor } from '../http/middleware/request.ts';
import { flash, fullPageLoad, isPartial, redirect, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import {
  attachmentItems,
  attachmentLimitBytes,
  collectAttachmentsDetailed,
  DEFAULT_MAX_FIELD_BYTES,
  formatBytes,
  readMultipartForm,
  totalBytes,
  type PendingAttachment,
} from '../messages/attachments.ts';
import { TEMPLATE_PURPOSES, catalogueFor, isTemplatePurpose, tagFor, type TemplatePurpose } from './catalogue.ts';
import { loadTemplateData, type RecordLink } from './data.ts';
import { MAX_BODY_CHARS, renderTemplate, TemplateInvalidError, validateTemplate, type TemplateIssue } from './engine.ts';
import { getTemplate, getTemplateAttachments, listTemplates, recordChoices, type TemplateRow } from './queries.ts';
import { createTemplate, deleteTemplate, duplicateTemplate, updateTemplate, type TemplateInput } from './service.ts';

/** /templates: message templates (permission templates.manage). */
export const templatesRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => c.get('deps').database.db;

const formSchema = z.object({
  name: requiredText(200),
  purpose: z.enum(TEMPLATE_PURPOSES, { message: 'v.required' }),
  locale: z.enum(['cs', 'en'], { message: 'v.required' }),
});

/** The template named by the URL, or a 404 (ids out of int range included). */
async function loadTemplate(c: Context<AppEnv>): Promise<TemplateRow> {
  const raw = c.req.param('id') ?? '';
  const row = /^\d{1,9}$/.test(raw) ? await getTemplate(db(c), Number(raw)) : undefined;
  if (!row) throw new NotFoundError();
  return row;
}

const purposeOf = (value: unknown, fallback: TemplatePurpose = 'client'): TemplatePurpose => (isTemplatePurpose(value) ? value : fallback);

/** The variables panel of a purpose: labels in the user's language and the tag each inserts. */
function variablesPanel(purpose: TemplatePurpose, locale: 'cs' | 'en') {
  return catalogueFor(purpose).variables.map((v) => ({
    key: v.key,
    kind: v.kind,
    label: v.label[locale],
    tag: tagFor(v),
    fields: (v.fields ?? []).map((f) => ({ key: f.key, label: f.label[locale], tag: `{{${f.key}}}` })),
  }));
}

const recordLinkFor = (purpose: TemplatePurpose, id: number): RecordLink =>
  ({ client: { clientId: id }, order: { orderId: id }, contract: { contractId: id }, activity: { activityId: id }, list: { listId: id } })[purpose];

interface FormValues {
  name: string;
  purpose: TemplatePurpose;
  locale: string;
  subject: string;
  bodyHtml: string;
  bodyMode: string;
  previewRecord: string;
  previewQ: string;
}

/** Template issues as the form shows them: per field, each with its position and tag. */
function issuesByField(issues: TemplateIssue[]) {
  return { subject: issues.filter((i) => i.field === 'subject'), bodyHtml: issues.filter((i) => i.field === 'bodyHtml') };
}

/**
 * The preview iframe's document (for `srcdoc`, escaped by the view): the sanitised body under its own CSP
 * that allows nothing but inline `data:` images, so a preview makes no request (the iframe is sandboxed
 * without scripts, and a srcdoc frame also inherits the page's CSP).
 */
function previewDocument(bodyHtml: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:">` +
    `<meta name="referrer" content="no-referrer"></head><body>${bodyHtml}</body></html>`
  );
}

/** The preview for the form's current content: rendered subject and body, or why there is none. */
async function buildPreview(c: Context<AppEnv>, values: FormValues) {
  const issues = validateTemplate(values.purpose, values);
  if (issues.length) return { issues };
  const id = /^\d{1,9}$/.test(values.previewRecord) ? Number(values.previewRecord) : null;
  if (!id) return { message: 'templates.preview_pick' };
  const user = c.get('user')!;
  const locale = values.locale === 'en' ? 'en' : 'cs';
  try {
    const data = await loadTemplateData(db(c), values.purpose, recordLinkFor(values.purpose, id), {
      locale,
      sender: { name: user.name, email: user.email },
      timeZone: c.get('deps').config.TIMEZONE,
    });
    const rendered = renderTemplate(values.purpose, values, data);
    return { rendered, doc: previewDocument(rendered.bodyHtml) };
  } catch (error) {
    if (error instanceof NotFoundError) return { message: 'templates.preview_not_found' };
    if (error instanceof TemplateInvalidError) return { issues: error.issues };
    throw error;
  }
}

/** Everything the editor page shows. */
async function formPage(
  c: Context<AppEnv>,
  opts: {
    template?: TemplateRow;
    values: FormValues;
    errors?: FieldErrors;
    issues?: TemplateIssue[];
    attachments: PendingAttachment[];
    attachmentsError?: { key: string; params: Record<string, string> } | null;
    preview?: Awaited<ReturnType<typeof buildPreview>> | null;
  },
  status = 200,
) {
  const user = c.get('user')!;
  const limit = attachmentLimitBytes(c.get('deps').config);
  const records = await recordChoices(db(c), opts.values.purpose, opts.values.previewQ.trim().slice(0, 100));
  return render(
    c,
    'templates/form.njk',
    {
      template: opts.template ?? null,
      isNew: !opts.template,
      values: opts.values,
      errors: opts.errors ?? {},
      issues: issuesByField(opts.issues ?? []),
      purposes: TEMPLATE_PURPOSES,
      purpose: opts.values.purpose,
      variables: variablesPanel(opts.values.purpose, c.get('locale')),
      records,
      attachmentItems: await attachmentItems(c, user.id, opts.attachments),
      attachmentsLimit: limit,
      attachmentsError: opts.attachmentsError ?? null,
      preview: opts.preview ?? null,
      action: opts.template ? `/templates/${opts.template.id}/edit` : '/templates/new',
    },
    status,
  );
}

const first = (fields: Record<string, string[]>, key: string) => fields[key]?.[0] ?? '';

function valuesFrom(fields: Record<string, string[]>): FormValues {
  return {
    name: first(fields, 'name'),
    purpose: purposeOf(first(fields, 'purpose')),
    locale: first(fields, 'locale') === 'en' ? 'en' : 'cs',
    // Line endings as browsers send them (CRLF) would shift every column: normalise to LF.
    subject: first(fields, 'subject'),
    bodyHtml: first(fields, 'body').replace(/\r\n?/g, '\n'),
    bodyMode: first(fields, 'body_mode') === 'html' ? 'html' : 'rich',
    previewRecord: first(fields, 'preview_record'),
    previewQ: first(fields, 'preview_q'),
  };
}

/** The editor form's own body limit (the app-wide form limit skips these URLs). */
function editorBodyLimit(): ReturnType<typeof bodyLimit> {
  return async (c, next) => {
    const limit = bodyLimit({
      maxSize: 2 * attachmentLimitBytes(c.get('deps').config) + DEFAULT_MAX_FIELD_BYTES + 1024 * 1024,
      onError: () => {
        throw new HTTPException(413);
      },
    });
    return limit(c, next);
  };
}

/**
 * Save, preview or refresh from the editor form (the same POST, so nothing typed or uploaded is lost
 * without JavaScript): `action=preview` and `action=refresh` re-render the form, anything else saves.
 */
async function handleEditorPost(c: Context<AppEnv>, template?: TemplateRow) {
  const user = c.get('user')!;
  const config = c.get('deps').config;
  const limit = attachmentLimitBytes(config);
  const form = await readMultipartForm(c, { maxTotalBytes: limit });
  const values = valuesFrom(form.fields);
  const { attachments, missing } = await collectAttachmentsDetailed(c, form.fields, form.files, user.id);
  const locale = c.get('locale');
  let attachmentsError: { key: string; params: Record<string, string> } | null = null;
  let kept = attachments;
  if (form.tooLarge || totalBytes(attachments) > limit) {
    // Too much: this request's files are dropped (readMultipartForm already did when the upload itself was
    // over), so the form shows the earlier, valid list with the message.
    const size = form.tooLarge ? form.uploadedBytes : totalBytes(attachments);
    attachmentsError = { key: 'templates.attachments_too_large', params: { size: formatBytes(size, locale), max: formatBytes(limit, locale) } };
    kept = attachments.filter((a) => !form.files.includes(a));
  } else if (missing.length) {
    attachmentsError = { key: 'templates.attachments_missing', params: { names: missing.join(', ') } };
  }

  const action = first(form.fields, 'action');
  if (action === 'preview' || action === 'refresh' || action === 'find') {
    const preview = action === 'preview' ? await buildPreview(c, values) : null;
    return formPage(c, { template, values, attachments: kept, attachmentsError, preview });
  }

  const parsed = validate(formSchema, { name: values.name, purpose: first(form.fields, 'purpose'), locale: first(form.fields, 'locale') });
  const issues = validateTemplate(values.purpose, values);
  // Fields past readMultipartForm's budget arrive cut short: say the text is too long rather than save a stump.
  if (form.fieldsTruncated && !issues.some((i) => i.code === 'too_large')) issues.push({ field: 'bodyHtml', code: 'too_large', params: { max: `${MAX_BODY_CHARS / 1024} KB` } });
  if (!parsed.ok || issues.length || attachmentsError) {
    return formPage(c, { template, values, errors: parsed.ok ? {} : parsed.errors, issues, attachments: kept, attachmentsError }, 422);
  }
  const input: TemplateInput = { ...parsed.data, subject: values.subject, bodyHtml: values.bodyHtml, attachments: kept };
  try {
    if (template) await updateTemplate(db(c), template.id, input, auditActor(c));
    else {
      await createTemplate(db(c), input, auditActor(c));
      flash(c, 'success', 'templates.created');
      return redirect(c, '/templates');
    }
  } catch (error) {
    if (!(error instanceof TemplateInvalidError)) throw error;
    return formPage(c, { template, values, issues: error.issues, attachments: kept }, 422);
  }
  flash(c, 'success', 'templates.updated');
  return redirect(c, '/templates');
}

templatesRoutes.get('/', requirePermission('templates.manage'), async (c) => {
  const purpose = isTemplatePurpose(c.req.query('purpose')) ? (c.req.query('purpose') as TemplatePurpose) : undefined;
  const q = (c.req.query('q') ?? '').trim().slice(0, 200);
  const page = pageParam(c.req.query('page'));
  const { rows, total } = await listTemplates(db(c), { purpose, q: q || undefined, page, pageSize: PAGE_SIZE });
  const data = { rows, total, page, pages: Math.max(1, Math.ceil(total / PAGE_SIZE)), filter: { purpose, q }, purposes: TEMPLATE_PURPOSES };
  if (isPartial(c) && c.req.header('HX-Target') === 'template-rows') return render(c, 'templates/_rows.njk', data);
  return render(c, 'templates/index.njk', data);
});


templatesRoutes.get('/new', requirePermission('templates.manage'), async (c) => {
  const full = fullPageLoad(c);
  if (full) return full;
  const purpose = purposeOf(c.req.query('purpose'));
  return formPage(c, {
    values: { name: '', purpose, locale: c.get('locale'), subject: '', bodyHtml: '', bodyMode: 'rich', previewRecord: '', previewQ: '' },
    attachments: [],
  });
});

templatesRoutes.post('/new', requirePermission('templates.manage'), editorBodyLimit(), (c) => handleEditorPost(c));

templatesRoutes.get('/:id{[0-9]+}', requirePermission('templates.manage'), async (c) => {
  const url = `/templates/${(await loadTemplate(c)).id}/edit`;
  if (c.req.header('HX-Request') !== 'true') return c.redirect(url, 303);
  c.header('HX-Redirect', url);
  return c.body(null, 200);
});

templatesRoutes.get('/:id{[0-9]+}/edit', requirePermission('templates.manage'), async (c) => {
  const template = await loadTemplate(c);
  const full = fullPageLoad(c);
  if (full) return full;
  const attachments = (await getTemplateAttachments(db(c), template.id)).map((a) => ({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes }));
  return formPage(c, {
    template,
    values: {
      name: template.name,
      purpose: template.purpose,
      locale: template.locale,
      subject: template.subject,
      bodyHtml: template.bodyHtml,
      bodyMode: /<(table|img)[\s>]/i.test(template.bodyHtml) ? 'html' : 'rich',
      previewRecord: c.req.query('record') ?? '',
      previewQ: '',
    },
    attachments,
    // GET …/edit?record=12 previews the saved template without JavaScript.
    preview: c.req.query('record') ? await buildPreview(c, { ...template, bodyMode: 'rich', previewRecord: c.req.query('record') ?? '', previewQ: '' }) : null,
  });
});

templatesRoutes.post('/:id{[0-9]+}/edit', requirePermission('templates.manage'), editorBodyLimit(), async (c) => handleEditorPost(c, await loadTemplate(c)));

// The variables panel for a purpose (htmx swaps it when the purpose changes), with the preview's record choices.
templatesRoutes.get('/variables', requirePermission('templates.manage'), async (c) => {
  const purpose = purposeOf(c.req.query('purpose'));
  const records = await recordChoices(db(c), purpose, '');
  return render(c, 'templates/_purpose_swap.njk', { variables: variablesPanel(purpose, c.get('locale')), purpose, records, values: { previewRecord: '' } });
});

// Record choices for the preview (the type-ahead).
templatesRoutes.get('/records', requirePermission('templates.manage'), async (c) => {
  const purpose = purposeOf(c.req.query('purpose'));
  const q = (c.req.query('preview_q') ?? '').trim().slice(0, 100);
  const records = await recordChoices(db(c), purpose, q);
  return render(c, 'templates/_records.njk', { records, values: { previewRecord: c.req.query('preview_record') ?? '' } });
});

// Live preview of the current (unsaved) form content: htmx posts the form's fields here.
templatesRoutes.post('/preview', requirePermission('templates.manage'), async (c) => {
  const form = await readForm(c);
  const values = valuesFrom(Object.fromEntries(Object.entries(form).map(([k, v]) => [k, [v]])));
  return render(c, 'templates/_preview.njk', { preview: await buildPreview(c, values) });
});

templatesRoutes.get('/:id{[0-9]+}/delete', requirePermission('templates.manage'), async (c) => render(c, 'templates/delete.njk', { template: await loadTemplate(c) }));

templatesRoutes.post('/:id{[0-9]+}/delete', requirePermission('templates.manage'), async (c) => {
  const template = await loadTemplate(c);
  const { name } = await deleteTemplate(db(c), template.id, auditActor(c));
  flash(c, 'success', 'templates.deleted', { name });
  return redirect(c, '/templates');
});

templatesRoutes.post('/:id{[0-9]+}/duplicate', requirePermission('templates.manage'), async (c) => {
  const template = await loadTemplate(c);
  const id = await duplicateTemplate(db(c), template.id, c.get('t')('templates.copy_of', { name: template.name }), auditActor(c));
  flash(c, 'success', 'templates.duplicated');
  // A full page load (not an htmx swap): the editor needs its scripts.
  return c.redirect(`/templates/${id}/edit`, 303);
});
