import { describe, expect, it } from 'vitest';
import { catalogues, formatters, negotiateLocale, translator } from './index.ts';

describe('i18n', () => {
  it('has the same keys in both languages, none empty (plural forms, key#one…, as each language needs)', () => {
    const base = (keys: string[]) => [...new Set(keys.map((k) => k.split('#')[0]!))].sort();
    expect(base(Object.keys(catalogues.en))).toEqual(base(Object.keys(catalogues.cs)));
    for (const k of Object.keys({ ...catalogues.cs, ...catalogues.en })) {
      if (k.includes('#')) expect(catalogues.cs[k.split('#')[0]!] ?? catalogues.en[k.split('#')[0]!], `${k} without its plain form`).toBeTruthy();
    }
    for (const [k, v] of Object.entries(catalogues.en)) expect(v.length, k).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(catalogues.cs)) expect(v.length, k).toBeGreaterThan(0);
  });

  it('picks the plural form for a count, formatted or not', () => {
    const cs = translator('cs');
    expect(cs('campaigns.queued', { count: 1 })).toBe('Do fronty zařazena 1 zpráva.');
    expect(cs('campaigns.queued', { count: 3 })).toBe('Do fronty zařazeny 3 zprávy.');
    expect(cs('campaigns.queued', { count: 5 })).toBe('Do fronty zařazeno 5 zpráv.');
    expect(cs('campaigns.queued', { count: 0 })).toBe('Do fronty zařazeno 0 zpráv.');
    expect(cs('campaigns.generate', { count: '1\u00a0234' })).toBe('Vygenerovat 1\u00a0234 zpráv');
    expect(cs('campaigns.generate', { count: '2' })).toBe('Vygenerovat 2 zprávy');
    expect(translator('en')('send.queued', { count: 1, to: 'a@b.cz' })).toBe('Queued for sending (1 message): a@b.cz.');
    expect(translator('en')('send.queued', { count: 2, to: 'a@b.cz, c@d.cz' })).toBe('Queued for sending (2 messages): a@b.cz, c@d.cz.');
  });

  it('fills parameters', () => {
    expect(translator('en')('login.throttled', { seconds: 8 })).toBe('Too many failed attempts. Try again in 8 s.');
  });

  it('picks the language from Accept-Language by quality', () => {
    expect(negotiateLocale('en-GB,en;q=0.9,cs;q=0.8', 'cs')).toBe('en');
    expect(negotiateLocale('de-DE,cs;q=0.5,en;q=0.4', 'en')).toBe('cs');
    expect(negotiateLocale('de-DE', 'cs')).toBe('cs');
    expect(negotiateLocale('en;q=abc, *', 'cs')).toBe('cs');
    expect(negotiateLocale(undefined, 'en')).toBe('en');
  });

  it('writes Czech dates and numbers the Czech way', () => {
    const f = formatters('cs', 'Europe/Prague');
    expect(f.number(1234567.5)).toBe('1\u00a0234\u00a0567,5');
    expect(f.dateTime(new Date('2026-11-22T18:05:00Z'))).toBe('22. 11. 2026 19:05');
    expect(formatters('en', 'Europe/Prague').number(1234567.5)).toBe('1,234,567.5');
    expect(formatters('cs', 'America/New_York').date('2026-03-29')).toBe('29. 3. 2026');
    expect(f.money(123456n, 'CZK')).toBe('1\u00a0234,56\u00a0Kč');
    expect(f.money('-5', 'EUR')).toBe('-0,05\u00a0€');
  });
});
