/**
 * The "Send" panel of a message's detail page: what it offers (accounts, modes), what it defaults to, and
 * reading what the user chose. Sending itself is src/sender/queue.ts.
 */
import { activityMessageMode } from '../activities/mail.ts';
import { parseLocalDateTime, toLocalInput } from '../activities/time.ts';
import type { Db } from '../db/client.ts';
import type { FieldErrors } from '../http/forms.ts';
import { listAttempts, sendAccountChoices } from '../sender/outbox.ts';
import type { QueueOptions } from '../sender/queue.ts';
import { getSendDefaults, mailKindOf } from '../settings/send-defaults.ts';
import type { MessageDetail } from './queries.ts';

/** individual | together | bcc (together, everyone in Bcc) */
export const SEND_FORM_MODES = ['individual', 'together', 'bcc'] as const;

export interface SendFormValues {
  mode: string;
  when: string;
  at: string;
  notAfter: string;
  account: string;
  /** The settings send this kind of mail through the desktop mail client: the panel offers that first. */
  desktop?: boolean;
}

/**
 * The mode a message starts with: the default for its kind of mail (settings → how mail is sent); mail about
 * an activity uses its audience's (participants, responsible…). `desktop` starts as "together" with the
 * panel offering the desktop mail client first.
 */
export async function defaultSendValues(db: Db, message: MessageDetail): Promise<SendFormValues> {
  const mode = message.activityId ? await activityMessageMode(db, { ...message, activityId: message.activityId }) : (await getSendDefaults(db))[mailKindOf(message)];
  return { mode: mode === 'desktop' ? 'together' : mode, when: 'now', at: '', notAfter: '', account: '', desktop: mode === 'desktop' };
}

/** Everything the panel and the log tab show about sending this message. */
export async function sendPanelData(db: Db, message: MessageDetail) {
  const [accounts, attempts] = await Promise.all([sendAccountChoices(db), listAttempts(db, message.id)]);
  return { accounts, attempts, accountName: accounts.find((a) => a.id === message.accountId)?.name ?? null };
}

/** Reads the panel's fields into queue options, or field errors (the values are shown again as typed). */
export function readSendForm(
  form: Record<string, string>,
  timeZone: string,
  now = new Date(),
): { ok: true; options: QueueOptions; values: SendFormValues } | { ok: false; errors: FieldErrors; values: SendFormValues } {
  const values: SendFormValues = {
    mode: form.mode ?? '',
    when: form.when === 'later' ? 'later' : 'now',
    at: (form.at ?? '').slice(0, 40),
    notAfter: (form.not_after ?? '').slice(0, 40),
    account: (form.account ?? '').slice(0, 12),
  };
  const errors: FieldErrors = {};
  if (!(SEND_FORM_MODES as readonly string[]).includes(values.mode)) errors.mode = { key: 'v.choice', params: {} };
  let sendAt: Date | null = null;
  if (values.when === 'later') {
    sendAt = parseLocalDateTime(values.at, timeZone);
    if (!sendAt) errors.at = { key: 'send.v.at', params: {} };
    else if (sendAt.getTime() < now.getTime() - 60_000) errors.at = { key: 'send.v.at_past', params: {} };
  }
  let notAfter: Date | null = null;
  if (values.notAfter) {
    notAfter = parseLocalDateTime(values.notAfter, timeZone);
    if (!notAfter) errors.not_after = { key: 'send.v.at', params: {} };
    else if (notAfter <= (sendAt ?? now)) errors.not_after = { key: 'sending.v.not_after_before_send', params: {} };
  }
  let accountId: number | null = null;
  if (values.account) {
    if (/^\d{1,9}$/.test(values.account)) accountId = Number(values.account);
    else errors.account = { key: 'v.choice', params: {} };
  }
  if (Object.keys(errors).length) return { ok: false, errors, values };
  return {
    ok: true,
    values,
    options: { mode: values.mode === 'individual' ? 'individual' : 'together', bccAll: values.mode === 'bcc', sendAt, notAfter, accountId },
  };
}

/** The datetime-local value of "now + 1 hour", a sensible start for "send later". */
export function laterSuggestion(timeZone: string, now = new Date()): string {
  return toLocalInput(new Date(now.getTime() + 3_600_000), timeZone);
}
