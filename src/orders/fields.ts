/**
 * Form pieces shared by orders and contracts: dates typed as ISO or the Czech way, the currencies we keep
 * money in, today's date in the configured time zone, and errors as field errors.
 */
import { z } from 'zod';
import type { FieldError } from '../http/forms.ts';
import type { AmountError } from './money.ts';

export const ORDER_STATUSES = ['new', 'confirmed', 'shipped', 'completed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * Currencies money may be kept in. All have two-decimal minor units, which `fmt.money` and the
 * `orders.total_*` columns assume; a currency with other minor units (JPY, HUF in practice) needs more than a code.
 */
export const CURRENCIES = ['CZK', 'EUR', 'USD', 'GBP', 'PLN', 'CHF'] as const;
export type Currency = (typeof CURRENCIES)[number];

export { FieldRuleError } from '../errors.ts';

/** A field error from an i18n key. */
export const fieldError = (key: string, params: Record<string, string> = {}): FieldError => ({ key, params });

/** The i18n key for a refused amount, quantity or rate. */
export const amountErrorKey = (error: AmountError) => `orders.v.${error}`;

/** True for a real calendar date in YYYY-MM-DD. */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/**
 * A date from a form: YYYY-MM-DD (what `<input type=date>` sends) or "5. 1. 2026" / "5.1.2026" (what people
 * type where the browser shows a plain text box). Null when it is neither or not a real date.
 */
export function parseDateInput(value: string): string | null {
  const v = value.trim();
  if (isIsoDate(v)) return v;
  const m = /^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})$/.exec(v);
  if (!m) return null;
  const iso = `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}`;
  return isIsoDate(iso) && iso >= '1900-01-01' ? iso : null;
}

/** A required date field, as YYYY-MM-DD. */
export const requiredDate = () =>
  z
    .string({ message: 'v.required' })
    .trim()
    .min(1, 'v.required')
    .refine((v) => parseDateInput(v) !== null, 'orders.v.date')
    .transform((v) => parseDateInput(v)!);

/** An optional date field: empty becomes null. */
export const optionalDate = () =>
  z
    .string()
    .trim()
    .refine((v) => v === '' || parseDateInput(v) !== null, 'orders.v.date')
    .transform((v) => (v === '' ? null : parseDateInput(v)))
    .optional()
    .transform((v) => v ?? null);

/** A multi-line note: tabs and line breaks allowed, other control characters not; empty becomes null. */
export const noteField = (max: number) =>
  z
    .string()
    .max(max, `v.too_long?max=${max}`)
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v), 'v.control_chars')
    .transform((v) => (v.trim() === '' ? null : v.replace(/\r\n?/g, '\n').trimEnd()))
    .optional()
    .transform((v) => v ?? null);

/** Today's date (YYYY-MM-DD) in `timeZone`, not in the server's zone. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** `iso` plus `days` calendar days. */
export function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A numeric route id within the range of a Postgres integer, or null (the route then answers 404). */
export function routeId(value: string | undefined): number | null {
  if (!value || !/^\d{1,10}$/.test(value)) return null;
  const n = Number(value);
  return n >= 1 && n <= 2_147_483_647 ? n : null;
}

/** A positive integer id from a query parameter, or undefined. */
export function idQuery(value: string | undefined): number | undefined {
  return routeId(value?.trim()) ?? undefined;
}

/** True for a unique-constraint violation on `constraint` (the driver error may be wrapped by drizzle). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint: name, constraint_name: name2 } = e as { code?: string; constraint?: string; constraint_name?: string };
    if (code === '23505' && (name === constraint || name2 === constraint)) return true;
  }
  return false;
}
