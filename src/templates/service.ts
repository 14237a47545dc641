import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { recordAudit, type AuditActor } from '../audit/queries.ts';
import type { Db } from '../db/client.ts';
import { templateAttachments, templates } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { sanitizeBodyHtml } from '../mail/html.ts';
import type { PendingAttachment } from '../messages/attachments.ts';
import type { TemplatePurpose } from './catalogue.ts';
import { TemplateInvalidError, validateTemplate } from './engine.ts';
import { getTemplate, getTemplateAttachments } from './queries.ts';

export interface TemplateInput {
  name: string;
  purpose: TemplatePurpose;
  locale: 'cs' | 'en';
  subject: string;
  bodyHtml: string;
  attachments: PendingAttachment[];
}

/**
 * The body as it will be stored: sanitised, then checked. The author's own text is checked first, so the
 * positions in the messages match what they typed; the sanitised text is checked again because it is
 * what renders (sanitising may drop a tag that held a variable).
 */
export function prepareTemplate(input: Pick<TemplateInput, 'purpose' | 'subject' | 'bodyHtml'>): { subject: string; bodyHtml: string } {
  const typed = validateTemplate(input.purpose, input);
  if (typed.length) throw new TemplateInvalidError(typed);
  const clean = { subject: input.subject, bodyHtml: sanitizeBodyHtml(input.bodyHtml) };
  const issues = validateTemplate(input.purpose, clean);
  if (issues.length) throw new TemplateInvalidError(issues);
  return clean;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What the log keeps of a template: its fields, a hash of the body (not the body), the attachments' names. */
function snapshot(t: { name: string; purpose: string; locale: string; subject: string; bodyHtml: string }, attachments: { filename: string; sizeBytes: number }[]) {
  return {
    name: t.name,
    purpose: t.purpose,
    locale: t.locale,
    subject: t.subject,
    bodySha256: sha256(t.bodyHtml),
    bodyLength: t.bodyHtml.length,
    attachments: attachments.map((a) => ({ filename: a.filename, sizeBytes: a.sizeBytes })),
  };
}

async function writeAttachments(tx: Db, templateId: number, list: PendingAttachment[]) {
  await tx.delete(templateAttachments).where(eq(templateAttachments.templateId, templateId));
  if (!list.length) return;
  await tx.insert(templateAttachments).values(
    list.map((a, position) => ({ templateId, blobId: a.blobId, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes, position })),
  );
}

/** Creates a template (checked and sanitised), its attachments and the audit row in one transaction. */
export async function createTemplate(db: Db, input: TemplateInput, actor: AuditActor): Promise<number> {
  const clean = prepareTemplate(input);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(templates)
      .values({ name: input.name, purpose: input.purpose, locale: input.locale, ...clean, createdBy: actor.actorId, updatedBy: actor.actorId })
      .returning({ id: templates.id });
    await writeAttachments(tx, row!.id, input.attachments);
    await recordAudit(tx, actor, {
      action: 'template.create',
      objectType: 'template',
      objectId: row!.id,
      summary: input.name,
      after: snapshot({ ...input, ...clean }, input.attachments),
    });
    return row!.id;
  });
}

/** Replaces a template's fields and attachments; the log keeps before and after. */
export async function updateTemplate(db: Db, id: number, input: TemplateInput, actor: AuditActor): Promise<void> {
  const clean = prepareTemplate(input);
  await db.transaction(async (tx) => {
    const [before] = await tx.select().from(templates).where(eq(templates.id, id)).for('update');
    if (!before) throw new NotFoundError();
    const beforeAttachments = await getTemplateAttachments(tx, id);
    await tx
      .update(templates)
      .set({ name: input.name, purpose: input.purpose, locale: input.locale, ...clean, updatedBy: actor.actorId, updatedAt: new Date() })
      .where(eq(templates.id, id));
    await writeAttachments(tx, id, input.attachments);
    await recordAudit(tx, actor, {
      action: 'template.update',
      objectType: 'template',
      objectId: id,
      summary: input.name,
      before: snapshot(before, beforeAttachments),
      after: snapshot({ ...input, ...clean }, input.attachments),
    });
  });
}

/** Deletes a template; messages written from it keep their own copy (their link is set to null). */
export async function deleteTemplate(db: Db, id: number, actor: AuditActor): Promise<{ name: string }> {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(templates).where(eq(templates.id, id)).for('update');
    if (!before) throw new NotFoundError();
    const attachments = await getTemplateAttachments(tx, id);
    await tx.delete(templates).where(eq(templates.id, id));
    await recordAudit(tx, actor, {
      action: 'template.delete',
      objectType: 'template',
      objectId: id,
      summary: before.name,
      before: snapshot(before, attachments),
    });
    return { name: before.name };
  });
}

/** Copies a template with its attachments (the blobs are shared, not copied) under `name`. */
export async function duplicateTemplate(db: Db, id: number, name: string, actor: AuditActor): Promise<number> {
  const source = await getTemplate(db, id);
  if (!source) throw new NotFoundError();
  const attachments = await getTemplateAttachments(db, id);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(templates)
      .values({
        name: name.slice(0, 200),
        purpose: source.purpose,
        locale: source.locale,
        subject: source.subject,
        bodyHtml: source.bodyHtml,
        createdBy: actor.actorId,
        updatedBy: actor.actorId,
      })
      .returning({ id: templates.id });
    await writeAttachments(tx, row!.id, attachments);
    await recordAudit(tx, actor, {
      action: 'template.create',
      objectType: 'template',
      objectId: row!.id,
      summary: name,
      after: { ...snapshot({ ...source, name }, attachments), copiedFrom: id },
    });
    return row!.id;
  });
}
