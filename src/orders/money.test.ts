import { describe, expect, it } from 'vitest';
import {
  divRoundHalfUp,
  lineTotals,
  moneyInput,
  orderTotals,
  parseMoney,
  parseQuantity,
  parseVatRate,
  quantityInput,
  totalsInRange,
  vatRateInput,
} from './money.ts';

const ok = <T>(value: T) => ({ ok: true, value });
const err = (error: string) => ({ ok: false, error });

describe('parseMoney', () => {
  it('reads Czech and English ways of writing an amount', () => {
    expect(parseMoney('1 234,50')).toEqual(ok(123450n));
    expect(parseMoney('1\u00a0234,5')).toEqual(ok(123450n));
    expect(parseMoney('1234.5')).toEqual(ok(123450n));
    expect(parseMoney('1.234,50')).toEqual(ok(123450n));
    expect(parseMoney('1,234.50')).toEqual(ok(123450n));
    expect(parseMoney(' 33,33 ')).toEqual(ok(3333n));
    expect(parseMoney('0')).toEqual(ok(0n));
    expect(parseMoney(',5')).toEqual(ok(50n));
    expect(parseMoney('007')).toEqual(ok(700n));
  });

  it('refuses a third decimal instead of rounding it away', () => {
    expect(parseMoney('12,345')).toEqual(err('money_decimals'));
    expect(parseMoney('1,500')).toEqual(err('money_decimals'));
    expect(parseMoney('0.001')).toEqual(err('money_decimals'));
  });

  it('refuses what is not a number, or is grouped irregularly', () => {
    for (const bad of ['abc', '12 34', '1e5', '5,', '1,2,3', '--5', '1 234.567,5', '12a', '0x10', '']) {
      expect(parseMoney(bad), bad).toEqual(err('number_format'));
    }
  });

  it('refuses negative amounts unless asked, and absurdly large ones', () => {
    expect(parseMoney('-10')).toEqual(err('negative'));
    expect(parseMoney('-10,50', { allowNegative: true })).toEqual(ok(-1050n));
    expect(parseMoney('\u221210', { allowNegative: true })).toEqual(ok(-1000n));
    expect(parseMoney('9 999 999 999,99')).toEqual(ok(999_999_999_999n));
    expect(parseMoney('10 000 000 000')).toEqual(err('too_large'));
    expect(parseMoney('1'.repeat(40))).toEqual(err('too_large'));
  });
});

describe('parseQuantity and parseVatRate', () => {
  it('reads quantities in thousandths, up to three decimals', () => {
    expect(parseQuantity('3')).toEqual(ok(3000n));
    expect(parseQuantity('1,5')).toEqual(ok(1500n));
    expect(parseQuantity('0.125')).toEqual(ok(125n));
    expect(parseQuantity('1 000')).toEqual(ok(1_000_000n));
    expect(parseQuantity('0,0001')).toEqual(err('quantity_decimals'));
  });

  it('refuses a negative or zero quantity', () => {
    expect(parseQuantity('-1')).toEqual(err('negative'));
    expect(parseQuantity('0')).toEqual(err('zero'));
    expect(parseQuantity('0,000')).toEqual(err('zero'));
  });

  it('reads VAT rates in percent as basis points, 0 to 100 %', () => {
    expect(parseVatRate('21')).toEqual(ok(2100));
    expect(parseVatRate('21 %')).toEqual(ok(2100));
    expect(parseVatRate('10,5')).toEqual(ok(1050));
    expect(parseVatRate('0')).toEqual(ok(0));
    expect(parseVatRate('101')).toEqual(err('too_large'));
    expect(parseVatRate('-1')).toEqual(err('negative'));
    expect(parseVatRate('21,125')).toEqual(err('vat_decimals'));
  });
});

describe('rounding and totals', () => {
  it('rounds half away from zero', () => {
    expect(divRoundHalfUp(5n, 10n)).toBe(1n);
    expect(divRoundHalfUp(4n, 10n)).toBe(0n);
    expect(divRoundHalfUp(15n, 10n)).toBe(2n);
    expect(divRoundHalfUp(-5n, 10n)).toBe(-1n);
    expect(divRoundHalfUp(-4n, 10n)).toBe(0n);
    expect(divRoundHalfUp(209979n, 100n)).toBe(2100n);
    expect(() => divRoundHalfUp(1n, 0n)).toThrow(RangeError);
  });

  it('3 × 33,33 Kč at 21 % is 99,99 net, 21,00 VAT, 120,99 gross', () => {
    expect(lineTotals({ quantityMilli: 3000n, unitPrice: 3333n, vatRateBp: 2100 })).toEqual({ net: 9999n, vat: 2100n, gross: 12099n });
  });

  it('rounds each line on its own, then sums, and summarises per VAT rate', () => {
    // 0,333 × 1,00 = 0,333 → 0,33; three such lines are 0,99, not the 1,00 one rounding at the end would give.
    const third = { quantityMilli: 333n, unitPrice: 100n, vatRateBp: 2100 };
    const totals = orderTotals([third, third, third, { quantityMilli: 1500n, unitPrice: 1999n, vatRateBp: 1200 }]);
    expect(totals.lines[0]).toEqual({ net: 33n, vat: 7n, gross: 40n });
    // 1,5 × 19,99 = 29,985 → 29,99; 12 % of 29,99 = 3,5988 → 3,60.
    expect(totals.lines[3]).toEqual({ net: 2999n, vat: 360n, gross: 3359n });
    expect(totals).toMatchObject({ net: 3098n, vat: 381n, gross: 3479n });
    expect(totals.byRate).toEqual([
      { vatRateBp: 2100, net: 99n, vat: 21n, gross: 120n },
      { vatRateBp: 1200, net: 2999n, vat: 360n, gross: 3359n },
    ]);
  });

  it('handles a discount line (negative price) and an empty order', () => {
    const totals = orderTotals([
      { quantityMilli: 1000n, unitPrice: 10000n, vatRateBp: 2100 },
      { quantityMilli: 1000n, unitPrice: -1050n, vatRateBp: 2100 },
    ]);
    expect(totals).toMatchObject({ net: 8950n, vat: 1879n, gross: 10829n }); // VAT 21,00 + (−10,50 → −2,205 → −2,21)
    expect(orderTotals([])).toMatchObject({ net: 0n, vat: 0n, gross: 0n, lines: [], byRate: [] });
  });

  it('keeps large orders exact and knows the limit', () => {
    const big = lineTotals({ quantityMilli: 9_999_999_999n, unitPrice: 999_999_999_999n, vatRateBp: 2100 });
    expect(big.net).toBe(9_999_999_998_990_000_000n); // beyond 2^63: BigInt, never a double
    expect(totalsInRange(big)).toBe(false);
    expect(totalsInRange(lineTotals({ quantityMilli: 1000n, unitPrice: 100n, vatRateBp: 2100 }))).toBe(true);
  });
});

describe('writing values back into a form', () => {
  it('formats without grouping, with the decimal mark asked for', () => {
    expect(moneyInput(123450n)).toBe('1234,50');
    expect(moneyInput(5n, '.')).toBe('0.05');
    expect(moneyInput(-1050n)).toBe('-10,50');
    expect(quantityInput(1500n)).toBe('1,5');
    expect(quantityInput(3000n)).toBe('3');
    expect(quantityInput(125n, '.')).toBe('0.125');
    expect(vatRateInput(2100)).toBe('21');
    expect(vatRateInput(1050)).toBe('10,5');
    expect(parseMoney(moneyInput(987654321n))).toEqual(ok(987654321n));
  });
});
