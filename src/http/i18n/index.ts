import * as activities from './activities.ts';
import * as audit from './audit.ts';
import * as campaigns from './campaigns.ts';
import * as clients from './clients.ts';
import * as contracts from './contracts.ts';
import * as dashboard from './dashboard.ts';
import { cs } from './cs.ts';
import { en } from './en.ts';
import * as imports from './import.ts';
import * as lists from './lists.ts';
import * as orders from './orders.ts';
import * as attachments from './attachments.ts';
import * as messages from './messages.ts';
import * as templates from './templates.ts';
import * as sending from './sending.ts';
import * as settings from './settings.ts';
import * as views from './views.ts';
import * as unsubscribe from './unsubscribe.ts';

export const LOCALES = ['cs', 'en'] as const;
export type Locale = (typeof LOCALES)[number];
export type MessageKey = keyof typeof cs;

/** The core catalogue plus one file per domain (each exports `cs` and an `en` with the same keys). */
const domains = [clients, orders, contracts, activities, lists, imports, templates, messages, attachments, sending, settings, audit, dashboard, views, unsubscribe, campaigns];
export type Translate = (key: MessageKey | string, params?: Record<string, string | number>) => string;

export const catalogues: Record<Locale, Record<string, string>> = {
  cs: Object.assign({}, cs, ...domains.map((d) => d.cs)),
  en: Object.assign({}, en, ...domains.map((d) => d.en)),
};

export function isLocale(value: unknown): value is Locale {
  return value === 'cs' || value === 'en';
}

const pluralRules: Record<Locale, Intl.PluralRules> = { cs: new Intl.PluralRules('cs'), en: new Intl.PluralRules('en') };

/** The number in a `count` parameter: a number, or a formatted one ("1 234"); null for anything else. */
function countOf(value: string | number | undefined): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !/^\d[\d\s\u00a0,.]*$/.test(value)) return null;
  return Number(value.replace(/\D/g, ''));
}

/**
 * A translator for one locale. An unknown key (a bug) shows the key itself rather than failing the page.
 * With a `count` parameter, the form for its plural category is used when the catalogue has one
 * (`key#one`, `key#few`: Czech "1 zpráva", "3 zprávy", "5 zpráv"); the plain key is the rest.
 */
export function translator(locale: Locale): Translate {
  const catalogue = catalogues[locale];
  return (key, params) => {
    const count = countOf(params?.count);
    const text = (count != null ? catalogue[`${key}#${pluralRules[locale].select(count)}`] : undefined) ?? catalogue[key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
  };
}

/** Picks cs or en from an Accept-Language header by quality; Slovak readers get Czech. */
export function negotiateLocale(header: string | undefined, fallback: Locale): Locale {
  if (!header) return fallback;
  let best: { locale: Locale; q: number } | null = null;
  for (const part of header.split(',').slice(0, 20)) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.find((p) => p.trim().startsWith('q='));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    const primary = tag.split('-')[0];
    const locale: Locale | null = primary === 'cs' || primary === 'sk' ? 'cs' : primary === 'en' ? 'en' : null;
    if (locale && (!best || q > best.q)) best = { locale, q };
  }
  return best?.locale ?? fallback;
}

const formatterCache = new Map<string, ReturnType<typeof createFormatters>>();

/** Date and number formatting in the user's language and the configured time zone (built once per pair). */
export function formatters(locale: Locale, timeZone: string) {
  const key = `${locale}|${timeZone}`;
  let f = formatterCache.get(key);
  if (!f) formatterCache.set(key, (f = createFormatters(locale, timeZone)));
  return f;
}

function createFormatters(locale: Locale, timeZone: string) {
  const tag = locale === 'cs' ? 'cs-CZ' : 'en-GB';
  const dateTime = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  const date = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeZone });
  const number = new Intl.NumberFormat(tag);
  const moneyFormats = new Map<string, Intl.NumberFormat>();
  const moneyFormat = (currency: string) => {
    let f = moneyFormats.get(currency);
    if (!f) moneyFormats.set(currency, (f = new Intl.NumberFormat(tag, { style: 'currency', currency })));
    return f;
  };
  const dateOnly = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeZone: 'UTC' });
  const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
  // A calendar date ("2026-03-29", a SQL date) is the same day everywhere: format it in UTC, not TIMEZONE.
  const isDateOnly = (v: unknown) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);
  return {
    dateTime: (v: unknown) => (v == null ? '' : dateTime.format(toDate(v))),
    date: (v: unknown) => (v == null || v === '' ? '' : isDateOnly(v) ? dateOnly.format(new Date(`${v}T00:00:00Z`)) : date.format(toDate(v))),
    number: (v: unknown) => (v == null ? '' : number.format(Number(v))),
    /** Money held in integer minor units (bigint, number or numeric string), e.g. 123456 CZK → 1 234,56 Kč. */
    money: (minor: unknown, currency = 'CZK') => {
      if (minor == null || minor === '') return '';
      const m = BigInt(minor as bigint | number | string);
      const sign = m < 0n ? '-' : '';
      const abs = m < 0n ? -m : m;
      return moneyFormat(currency).format(Number(`${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`));
    },
  };
}
