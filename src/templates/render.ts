/**
 * What the composer calls: a saved template rendered for a record, and the templates to offer.
 */
import type { Db } from '../db/client.ts';
import { NotFoundError } from '../errors.ts';
import { isLocale } from '../http/i18n/index.ts';
import type { TemplatePurpose } from './catalogue.ts';
import { loadTemplateData, type DataContext, type RecordLink } from './data.ts';
import { renderTemplate } from './engine.ts';
import { getTemplate, getTemplateAttachments, templateChoices } from './queries.ts';

export type { RecordLink, DataContext } from './data.ts';

export interface RenderedTemplate {
  template: { id: number; name: string; purpose: TemplatePurpose; locale: string };
  subject: string;
  bodyHtml: string;
  /** The template's attachments (blobs already in the store, shared by content). */
  attachments: { blobId: string; filename: string; contentType: string; sizeBytes: number }[];
}

/**
 * Renders template `templateId` for the linked record (its purpose decides which record: an order template
 * needs `link.orderId`, a client template `link.clientId`…), with values formatted in the template's language. Throws NotFoundError when the template or the
 * record does not exist, TemplateInvalidError when the stored template no longer passes the catalogue.
 */
export async function renderTemplateFor(db: Db, templateId: number, link: RecordLink, ctx: DataContext): Promise<RenderedTemplate> {
  if (!Number.isSafeInteger(templateId) || templateId < 1 || templateId > 2_147_483_647) throw new NotFoundError();
  const template = await getTemplate(db, templateId);
  if (!template) throw new NotFoundError();
  // Values are formatted in the language the template writes in (ctx.locale only when it names none).
  const locale = isLocale(template.locale) ? template.locale : ctx.locale;
  const [data, attachments] = await Promise.all([loadTemplateData(db, template.purpose, link, { ...ctx, locale }), getTemplateAttachments(db, templateId)]);
  const rendered = renderTemplate(template.purpose, template, data);
  return {
    template: { id: template.id, name: template.name, purpose: template.purpose, locale: template.locale },
    ...rendered,
    attachments: attachments.map((a) => ({ blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes })),
  };
}

/** Templates for a select box, by name (only `purposes` when given). */
export async function listTemplateChoices(db: Db, purposes?: TemplatePurpose[]): Promise<{ id: number; name: string; purpose: TemplatePurpose; locale: string }[]> {
  return templateChoices(db, purposes);
}
