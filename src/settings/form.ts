/**
 * The SMTP account form: what the browser posts, validated into an `AccountInput`. Every field keeps
 * what was typed when something is wrong (except the password, which is never sent back to the page).
 */
import { z } from 'zod';
import { optionalText, requiredText, validate, type FieldErrors } from '../http/forms.ts';
import { isValidAddress } from '../mail/address.ts';
import type { Security } from '../sender/transport.ts';
import { presetByKey, type PresetKey } from './presets.ts';

export const SECURITY_OPTIONS: readonly Security[] = ['none', 'starttls', 'tls'];

export interface AccountInput {
  name: string;
  host: string;
  port: number;
  security: Security;
  allowInvalidCert: boolean;
  username: string | null;
  /** A newly typed password; null keeps the stored one (unless `removePassword`). */
  password: string | null;
  removePassword: boolean;
  fromName: string | null;
  fromAddress: string;
  replyTo: string | null;
  perMinute: number | null;
  perHour: number | null;
  perDay: number | null;
  maxRecipients: number;
  poolSize: number;
  isDefault: boolean;
}

/** The form as the page shows it: strings, as typed. */
export type AccountFormValues = Record<string, string>;

const LINE_BREAK = /[\r\n\u2028\u2029]/;
// A host name or an IPv4/IPv6 address: letters, digits, dots, hyphens, colons (and brackets for IPv6).
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^\[?[0-9A-Fa-f:.]+\]?$/;

const checkbox = z
  .string()
  .optional()
  .transform((v) => v != null && v !== '' && v !== '0');

const singleLine = (max: number) => optionalText(max).refine((v) => v == null || !LINE_BREAK.test(v), 'v.control_chars');

/** A whole number in [min, max]; `''` is null when `optional`. */
const wholeNumber = (min: number, max: number, optional: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const s = (v ?? '').trim().replace(/[\s\u00a0]/g, '');
      if (s === '') {
        if (optional) return null;
        ctx.addIssue({ code: 'custom', message: 'v.required' });
        return z.NEVER;
      }
      const n = /^\d{1,9}$/.test(s) ? Number(s) : NaN;
      if (!(n >= min && n <= max)) {
        ctx.addIssue({ code: 'custom', message: `settings.v.range?min=${min}&max=${max}` });
        return z.NEVER;
      }
      return n;
    });

const accountSchema = z.object({
  name: requiredText(200),
  host: requiredText(253).refine((v) => HOST.test(v), 'settings.v.host'),
  port: wholeNumber(1, 65_535, false),
  security: z.enum(['none', 'starttls', 'tls'], { message: 'v.choice' }),
  allowInvalidCert: checkbox,
  username: singleLine(254),
  password: z
    .string()
    .optional()
    .transform((v) => v ?? '')
    .refine((v) => v.length <= 500, 'v.too_long?max=500')
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/[\u0000\r\n]/.test(v), 'v.control_chars')
    .transform((v) => (v === '' ? null : v)),
  removePassword: checkbox,
  fromName: singleLine(200),
  fromAddress: requiredText(254).refine((v) => isValidAddress(v), 'v.email'),
  replyTo: singleLine(254).refine((v) => v == null || isValidAddress(v), 'v.email'),
  perMinute: wholeNumber(1, 1_000_000, true),
  perHour: wholeNumber(1, 1_000_000, true),
  perDay: wholeNumber(1, 10_000_000, true),
  maxRecipients: wholeNumber(1, 10_000, false),
  poolSize: wholeNumber(1, 10, false),
  isDefault: checkbox,
});

/** Validates the posted form; field errors are keyed by the form's field names. */
export function parseAccountForm(form: AccountFormValues): { ok: true; data: AccountInput } | { ok: false; errors: FieldErrors } {
  const result = validate(accountSchema, form);
  if (!result.ok) return result;
  const d = result.data;
  return {
    ok: true,
    data: {
      ...d,
      security: d.security as Security,
      port: d.port!,
      maxRecipients: d.maxRecipients!,
      poolSize: d.poolSize!,
      // Addresses as the sender will use them: the domain lower-cased.
      fromAddress: lowerDomain(d.fromAddress),
      replyTo: d.replyTo == null ? null : lowerDomain(d.replyTo),
    },
  };
}

function lowerDomain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at) + address.slice(at).toLowerCase();
}

const text = (v: string | number | null | undefined) => (v == null ? '' : String(v));

/** The form filled from a saved account (the password never; it stays on the server). */
export function formFromAccount(a: {
  name: string;
  host: string;
  port: number;
  security: string;
  allowInvalidCert: boolean;
  username: string | null;
  fromName: string | null;
  fromAddress: string;
  replyTo: string | null;
  perMinute: number | null;
  perHour: number | null;
  perDay: number | null;
  maxRecipients: number;
  poolSize: number;
  isDefault: boolean;
}, preset: PresetKey): AccountFormValues {
  return {
    preset,
    name: a.name,
    host: a.host,
    port: text(a.port),
    security: a.security,
    allowInvalidCert: a.allowInvalidCert ? '1' : '',
    username: text(a.username),
    fromName: text(a.fromName),
    fromAddress: a.fromAddress,
    replyTo: text(a.replyTo),
    perMinute: text(a.perMinute),
    perHour: text(a.perHour),
    perDay: text(a.perDay),
    maxRecipients: text(a.maxRecipients),
    poolSize: text(a.poolSize),
    isDefault: a.isDefault ? '1' : '',
  };
}

/** A new account's form: the custom preset's values. */
export function emptyForm(): AccountFormValues {
  return applyPreset({ preset: 'custom', poolSize: '2', maxRecipients: '50' }, 'custom');
}

/** `form` with the preset's host, port, security and limits filled in (the no-JavaScript "Use preset"). */
export function applyPreset(form: AccountFormValues, key: string | undefined): AccountFormValues {
  const preset = presetByKey(key);
  if (!preset) return form;
  const filled: AccountFormValues = {
    host: preset.host,
    port: text(preset.port),
    security: preset.security,
    perMinute: text(preset.perMinute),
    perHour: text(preset.perHour),
    perDay: text(preset.perDay),
    maxRecipients: text(preset.maxRecipients),
  };
  // "Custom" fills only what is still empty: it must not wipe what the admin typed.
  if (preset.key === 'custom') {
    const out: AccountFormValues = { ...form, preset: 'custom' };
    for (const [k, v] of Object.entries(filled)) if (!out[k]) out[k] = v;
    return out;
  }
  return { ...form, ...filled, preset: preset.key };
}
