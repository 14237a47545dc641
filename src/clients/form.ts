import { z } from 'zod';
import { emailField, optionalText, requiredText } from '../http/forms.ts';

/** IČO: 8 digits (shorter ones are left-padded with zeros, as registries print them) with the mod-11 check digit. */
export function isValidIco(value: string): boolean {
  if (!/^\d{8}$/.test(value)) return false;
  const digits = [...value].map(Number);
  const sum = digits.slice(0, 7).reduce((acc, d, i) => acc + d * (8 - i), 0);
  const r = sum % 11;
  const check = r === 0 ? 1 : r === 1 ? 0 : 11 - r;
  return check === digits[7];
}

const emailOk = (value: string) => emailField().safeParse(value).success;

/** Splits "a@x.cz, b@y.cz\n c@z.cz" into lower-cased addresses. */
export function splitList(value: string | undefined | null, separators = /[,;\n\r]+/): string[] {
  return (value ?? '')
    .split(separators)
    .map((s) => s.trim())
    .filter(Boolean);
}

const optionalEmail = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : null))
  .refine((v) => v === null || emailOk(v), 'v.email')
  .transform((v) => v?.toLowerCase() ?? null);

/** Single fields, usable one at a time for inline editing. */
export const clientFields = {
  kind: z.enum(['person', 'company'], { message: 'v.choice' }),
  name: requiredText(200),
  companyName: optionalText(200),
  ico: optionalText(20)
    .transform((v) => (v ? v.replace(/\s+/g, '').padStart(8, '0') : null))
    .refine((v) => v === null || isValidIco(v), 'v.ico'),
  dic: optionalText(20)
    .transform((v) => (v ? v.replace(/\s+/g, '').toUpperCase() : null))
    .refine((v) => v === null || /^[A-Z]{2}[0-9A-Z]{2,12}$/.test(v), 'v.dic'),
  email: optionalEmail,
  emails: z
    .string()
    .max(4000, 'v.too_long?max=4000')
    .optional()
    .transform((v, ctx) => {
      const list = [...new Set(splitList(v).map((e) => e.toLowerCase()))];
      const bad = list.find((e) => !emailOk(e));
      if (bad) ctx.addIssue({ code: 'custom', message: `v.email_in_list?value=${encodeURIComponent(bad)}` });
      return list.slice(0, 20);
    }),
  phone: optionalText(40).refine((v) => v === null || /^[+0-9 ()/-]{3,40}$/.test(v), 'v.phone'),
  street: optionalText(200),
  city: optionalText(100),
  zip: optionalText(20).refine((v) => v === null || /^[0-9A-Za-z -]{3,10}$/.test(v), 'v.zip'),
  country: optionalText(2)
    .transform((v) => (v ?? 'CZ').toUpperCase())
    .refine((v) => /^[A-Z]{2}$/.test(v), 'v.choice'),
  locale: z.enum(['cs', 'en'], { message: 'v.choice' }),
  tags: z
    .string()
    .max(2000, 'v.too_long?max=2000')
    .optional()
    .transform((v) => [...new Set(splitList(v, /[,;\n\r]+/))])
    .refine((list) => list.length <= 20 && list.every((t) => t.length <= 40), 'v.tags'),
  note: optionalText(5000),
  noMarketing: z
    .string()
    .optional()
    .transform((v) => v === 'on' || v === '1' || v === 'true'),
};

export const clientSchema = z.object(clientFields);
export type ClientInput = z.output<typeof clientSchema>;

/** Fields that can be edited inline in the list and on the detail page. */
export const INLINE_FIELDS = ['name', 'email', 'phone', 'city', 'companyName'] as const;
export type InlineField = (typeof INLINE_FIELDS)[number];

/** The form's text for a stored client (arrays joined back for the textarea/inputs). */
export function clientFormValues(client: Partial<Record<string, unknown>>) {
  return {
    ...client,
    emails: Array.isArray(client.emails) ? client.emails.join('\n') : (client.emails ?? ''),
    tags: Array.isArray(client.tags) ? client.tags.join(', ') : (client.tags ?? ''),
  };
}

const FIELD_LABEL_KEYS: Record<InlineField, string> = {
  name: 'field.client_name',
  email: 'field.email',
  phone: 'field.phone',
  city: 'field.city',
  companyName: 'field.company_name',
};

/**
 * What the inline-edit macro needs, computed once per page rather than once per cell (the address book
 * renders 150 cells): labels, whether the user may edit, the return address, and the inherited htmx target.
 */
export function inlineEditContext(t: (key: string, params?: Record<string, string>) => string, canEdit: boolean, back: string) {
  const fieldLabels = Object.fromEntries(INLINE_FIELDS.map((f) => [f, t(FIELD_LABEL_KEYS[f])]));
  return {
    fieldLabels,
    editLabels: Object.fromEntries(INLINE_FIELDS.map((f) => [f, t('clients.inline_edit', { field: fieldLabels[f]! })])),
    canEditInline: canEdit,
    backQuery: encodeURIComponent(back),
    inlineTarget: 'hx-target="closest .inline-value" hx-swap="outerHTML"',
  };
}
