import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from './types.ts';

/** A field error: an i18n key with its parameters (`v.too_long?max=200` in zod messages). */
export interface FieldError {
  key: string;
  params: Record<string, string>;
}
export type FieldErrors = Record<string, FieldError>;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** A required single-line text field: trimmed, no control characters, at most `max` characters. */
export const requiredText = (max: number) =>
  z
    .string({ message: 'v.required' })
    .trim()
    .min(1, 'v.required')
    .max(max, `v.too_long?max=${max}`)
    .refine((v) => !CONTROL.test(v) && !/[\r\n]/.test(v), 'v.control_chars');

/** Optional text: empty becomes null. */
export const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `v.too_long?max=${max}`)
    .refine((v) => !CONTROL.test(v), 'v.control_chars')
    .transform((v) => (v === '' ? null : v))
    .optional()
    .transform((v) => v ?? null);

/**
 * An e-mail address, validated strictly (we check it before anything else sees it): one @, a dotted
 * domain of letters, digits and hyphens, no spaces, quotes or control characters. Lower-cased.
 */
export const emailField = () =>
  z
    .string({ message: 'v.required' })
    .trim()
    .min(1, 'v.required')
    .max(254, 'v.too_long?max=254')
    .regex(
      /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/,
      'v.email',
    )
    .refine((v) => !v.startsWith('.') && !v.includes('..') && !v.split('@')[0]!.endsWith('.'), 'v.email')
    .transform((v) => v.toLowerCase());

/** Reads a urlencoded or multipart form as plain strings (files and repeated keys' extras ignored). */
export async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(body)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

/** Like readForm, but keeps every value of each key (for checkbox groups). */
export async function readFormAll(c: Context<AppEnv>): Promise<Record<string, string[]>> {
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, string[]> = Object.create(null);
  for (const [k, v] of Object.entries(body)) {
    out[k] = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
  }
  return out;
}

/** Turns zod issues into one error per field (the first), as i18n keys with parameters. */
export function fieldErrors(error: z.ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? '_');
    if (!out[field]) out[field] = parseErrorKey(issue.message);
  }
  return out;
}

export function parseErrorKey(message: string): FieldError {
  const [key = message, query = ''] = message.split('?');
  return { key, params: Object.fromEntries(new URLSearchParams(query)) };
}

/** Validates `form` with `schema`; on failure returns the field errors instead of throwing. */
export function validate<T extends z.ZodType>(
  schema: T,
  form: Record<string, string>,
): { ok: true; data: z.output<T> } | { ok: false; errors: FieldErrors } {
  const result = schema.safeParse(form);
  return result.success ? { ok: true, data: result.data } : { ok: false, errors: fieldErrors(result.error) };
}
