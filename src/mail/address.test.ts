import { describe, expect, it } from 'vitest';
import { catalogues } from '../http/i18n/index.ts';
import { formatAddress, formatAddressList, isValidAddress, parseAddressList } from './address.ts';

const ok = (input: string, opts?: { max?: number }) => {
  const r = parseAddressList(input, opts);
  if (!r.ok) throw new Error(`expected ok, got ${r.error.key} ${JSON.stringify(r.error.params)}`);
  return r.addresses;
};
const refused = (input: string, opts?: { max?: number }) => {
  const r = parseAddressList(input, opts);
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.addresses)}`);
  return r.error;
};

describe('parseAddressList', () => {
  it('accepts a bare address, a named one and a quoted name with a comma', () => {
    expect(ok('jana@firma.cz, Jan Novák <jan@firma.cz>; "Novák, Jan" <novak@firma.cz>')).toEqual([
      { address: 'jana@firma.cz' },
      { address: 'jan@firma.cz', name: 'Jan Novák' },
      { address: 'novak@firma.cz', name: 'Novák, Jan' },
    ]);
  });

  it('splits on new lines and ignores empty entries', () => {
    expect(ok('a@firma.cz\r\nb@firma.cz\n\n, ;c@firma.cz').map((a) => a.address)).toEqual(['a@firma.cz', 'b@firma.cz', 'c@firma.cz']);
  });

  it('lower-cases the domain and keeps the local part as typed', () => {
    expect(ok('Jana.Nova@FIRMA.CZ')).toEqual([{ address: 'Jana.Nova@firma.cz' }]);
  });

  it('drops duplicates case-insensitively, keeping the first', () => {
    expect(ok('Jana <jana@firma.cz>, JANA@firma.cz, jana@FIRMA.cz')).toEqual([{ address: 'jana@firma.cz', name: 'Jana' }]);
  });

  it('refuses a quoted local part with a space, naming it', () => {
    const error = refused('ok@firma.cz, "a@b.cz x"@evil.cz');
    expect(error.key).toBe('addr.quoted_local');
    expect(error.params?.item).toBe('"a@b.cz x"@evil.cz');
  });

  it('refuses a display name carrying CR/LF (header injection)', () => {
    expect(refused('"Jan\r\nBcc: spy@evil.cz" <jan@firma.cz>').key).toBe('addr.control_chars');
  });

  it('refuses a line break that would leave a header behind', () => {
    expect(refused('jan@firma.cz\r\nBcc: spy@evil.cz').key).toBe('addr.invalid');
  });

  it('refuses other control characters anywhere', () => {
    expect(refused('jan@firma.cz\u0000').key).toBe('addr.control_chars');
    expect(refused('Jan\u0007 <jan@firma.cz>').key).toBe('addr.control_chars');
  });

  it('refuses a missing or invalid domain', () => {
    for (const bad of ['jan@', 'jan@localhost', 'jan@-firma.cz', 'jan@firma.c', 'jan@firma..cz', 'jan@fir_ma.cz']) {
      expect(['addr.bad_domain', 'addr.invalid']).toContain(refused(bad).key);
    }
    expect(refused('jan@localhost').key).toBe('addr.bad_domain');
  });

  it('refuses malformed local parts and stray brackets', () => {
    for (const bad of ['jan', 'a..b@firma.cz', '.a@firma.cz', 'a@b@firma.cz', 'Jan <jan@firma.cz', 'Jan >jan@firma.cz']) {
      expect(parseAddressList(bad).ok, bad).toBe(false);
    }
  });

  it('refuses an IDN look-alike mixing Cyrillic and Latin in one label', () => {
    const error = refused('podpora@\u0430pple.com'); // Cyrillic а
    expect(error.key).toBe('addr.mixed_script');
    expect(error.params?.item).toBe('podpora@\u0430pple.com');
  });

  it('refuses the same look-alike typed as punycode', () => {
    expect(refused('podpora@xn--pple-43d.com').key).toBe('addr.mixed_script');
  });

  it('accepts a pure Unicode domain, converted to punycode', () => {
    expect(ok('info@háčkyčárky.cz')).toEqual([{ address: 'info@xn--hkyrky-ptac70bc.cz' }]);
    expect(ok('info@пример.рф')).toEqual([{ address: 'info@xn--e1afmkfd.xn--p1ai' }]);
  });

  it('refuses a 300 KB field at once, saying the limit', () => {
    const field = 'jana@firma.cz, '.repeat(20_000);
    const started = performance.now();
    const error = refused(field);
    expect(performance.now() - started).toBeLessThan(50);
    expect(error).toEqual({ key: 'addr.field_too_long', params: { max: 10_000 } });
  });

  it('refuses more addresses than the maximum, saying the limit', () => {
    const field = Array.from({ length: 6 }, (_, i) => `a${i}@firma.cz`).join(', ');
    expect(refused(field, { max: 5 })).toEqual({ key: 'addr.too_many', params: { max: 5 } });
    expect(ok(field, { max: 6 })).toHaveLength(6);
  });

  it('has a message in both languages for every error key', () => {
    for (const key of ['addr.field_too_long', 'addr.too_many', 'addr.control_chars', 'addr.unbalanced', 'addr.invalid', 'addr.quoted_local', 'addr.bad_domain', 'addr.mixed_script', 'addr.name_too_long']) {
      expect(catalogues.cs[key], key).toBeTruthy();
      expect(catalogues.en[key], key).toBeTruthy();
    }
  });
});

describe('isValidAddress', () => {
  it('accepts one plain address and nothing else', () => {
    expect(isValidAddress('jana@firma.cz')).toBe(true);
    expect(isValidAddress('Jana <jana@firma.cz>')).toBe(false);
    expect(isValidAddress('jana@firma.cz, b@firma.cz')).toBe(false);
    expect(isValidAddress('jana@firma.cz\n')).toBe(false);
  });
});

describe('formatAddress', () => {
  it('quotes names and escapes quotes in them', () => {
    expect(formatAddress({ address: 'jan@firma.cz', name: 'Novák, "Honza"' })).toBe('"Novák, \\"Honza\\"" <jan@firma.cz>');
    expect(formatAddressList([{ address: 'a@firma.cz' }, { address: 'b@firma.cz', name: 'B' }])).toBe('a@firma.cz, "B" <b@firma.cz>');
  });

  it('round-trips through the parser', () => {
    const list = [{ address: 'jan@firma.cz', name: 'Novák, "Honza"' }, { address: 'b@firma.cz' }];
    expect(ok(formatAddressList(list))).toEqual(list);
  });
});
