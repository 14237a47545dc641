/**
 * Money, quantities and VAT as integers: amounts in minor units (haléře, cents), quantities in thousandths,
 * VAT rates in basis points (21 % = 2100). Parsing accepts what people type in Czech or English
 * ("1 234,50", "1234.5", "1.234,50", "1,234.50"); arithmetic is BigInt only, so no floating point ever
 * touches money. Pure functions, no I/O.
 */

/** Why a typed number was refused; the form maps each to an i18n key (`orders.v.<error>`). */
export type AmountError = 'number_format' | 'money_decimals' | 'quantity_decimals' | 'vat_decimals' | 'negative' | 'zero' | 'too_large';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: AmountError };

/** Largest unit price or contract value: 9 999 999 999,99 (keeps every total far inside bigint). */
export const MAX_MONEY = 10n ** 12n - 1n;
/** Largest quantity: 9 999 999,999. */
export const MAX_QUANTITY_MILLI = 10n ** 10n - 1n;
/** Largest order total; also below 2^53, so totals survive JSON readers that use doubles. */
export const MAX_TOTAL = 10n ** 15n - 1n;

// Spaces people (and spreadsheets) put between thousands: plain, no-break, narrow no-break, thin.
const GROUP_SPACES = /[\u00a0\u202f\u2009]/g;

/**
 * Splits a typed decimal into sign, integer digits and fraction digits, or null when it is not a number.
 * Grouping must be regular (1 234 567 / 1.234.567 / 1,234,567): "12 34" is refused rather than guessed.
 */
function splitDecimal(input: string): { negative: boolean; int: string; frac: string } | null {
  let s = input.replace(GROUP_SPACES, ' ').trim().replace(/\u2212/g, '-');
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1).trimStart();
  }
  if (!s) return null;
  const lastComma = s.lastIndexOf(',');
  const lastDot = s.lastIndexOf('.');
  let decimalSep: ',' | '.' | null = null;
  let groupSep: ' ' | ',' | '.' = ' ';
  if (lastComma >= 0 && lastDot >= 0) {
    // Both present: the last one separates decimals, the other groups thousands.
    decimalSep = lastComma > lastDot ? ',' : '.';
    groupSep = decimalSep === ',' ? '.' : ',';
  } else if (lastComma >= 0 || lastDot >= 0) {
    decimalSep = lastComma >= 0 ? ',' : '.';
  }
  let intPart = s;
  let frac = '';
  if (decimalSep) {
    const at = s.lastIndexOf(decimalSep);
    intPart = s.slice(0, at);
    frac = s.slice(at + 1);
    if (!/^\d+$/.test(frac)) return null;
    if (intPart === '') intPart = '0'; // ",5" → 0,5
  }
  if (intPart.includes(' ') && groupSep !== ' ') {
    // "1 234.567,5": spaces and dots both grouping; accept spaces only as the group separator.
    return null;
  }
  const group = groupSep === ' ' ? ' ' : groupSep;
  const grouped = new RegExp(`^\\d{1,3}(?:${group === '.' ? '\\.' : group}\\d{3})+$`);
  if (!/^\d+$/.test(intPart) && !grouped.test(intPart)) return null;
  return { negative, int: intPart.split(group).join('').replace(/^0+(?=\d)/, ''), frac };
}

/** Parses a typed decimal into an integer count of 10^-scale units; more fraction digits than `scale` is an error. */
export function parseDecimal(input: string, scale: number, decimalsError: AmountError): Parsed<bigint> {
  const parts = splitDecimal(input);
  if (!parts) return { ok: false, error: 'number_format' };
  if (parts.int.length > 18) return { ok: false, error: 'too_large' };
  // Strict: "12,500" as money is refused, not read as 12,50 (an English "1,500" means 1500).
  const frac = parts.frac;
  if (frac.length > scale) return { ok: false, error: decimalsError };
  const units = BigInt(parts.int) * 10n ** BigInt(scale) + BigInt(frac.padEnd(scale, '0') || '0');
  return { ok: true, value: parts.negative ? -units : units };
}

/** A money amount with at most 2 decimals, in minor units. Negative amounts are allowed only when asked (discount lines). */
export function parseMoney(input: string, options: { allowNegative?: boolean } = {}): Parsed<bigint> {
  const parsed = parseDecimal(input, 2, 'money_decimals');
  if (!parsed.ok) return parsed;
  if (parsed.value < 0n && !options.allowNegative) return { ok: false, error: 'negative' };
  if (abs(parsed.value) > MAX_MONEY) return { ok: false, error: 'too_large' };
  return parsed;
}

/** A quantity with at most 3 decimals, in thousandths; it must be more than zero. */
export function parseQuantity(input: string): Parsed<bigint> {
  const parsed = parseDecimal(input, 3, 'quantity_decimals');
  if (!parsed.ok) return parsed;
  if (parsed.value < 0n) return { ok: false, error: 'negative' };
  if (parsed.value === 0n) return { ok: false, error: 'zero' };
  if (parsed.value > MAX_QUANTITY_MILLI) return { ok: false, error: 'too_large' };
  return parsed;
}

/** A VAT rate in percent ("21", "21 %", "10,5") with at most 2 decimals, in basis points, 0–100 %. */
export function parseVatRate(input: string): Parsed<number> {
  const parsed = parseDecimal(input.replace(/\s*%\s*$/, ''), 2, 'vat_decimals');
  if (!parsed.ok) return parsed;
  if (parsed.value < 0n) return { ok: false, error: 'negative' };
  if (parsed.value > 10_000n) return { ok: false, error: 'too_large' };
  return { ok: true, value: Number(parsed.value) };
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

/**
 * `n / d` rounded half away from zero ("half up" as accountants mean it: 0,5 → 1, −0,5 → −1), d > 0.
 * BigInt division truncates toward zero, so the remainder tells which way to go.
 */
export function divRoundHalfUp(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new RangeError('divisor must be positive');
  const q = n / d;
  const r = n % d;
  if (2n * abs(r) >= d) return n < 0n ? q - 1n : q + 1n;
  return q;
}

export interface LineInput {
  quantityMilli: bigint;
  unitPrice: bigint;
  vatRateBp: number;
}

export interface Amounts {
  net: bigint;
  vat: bigint;
  gross: bigint;
}

/** One item's net (quantity × unit price), VAT and gross, each rounded half up to minor units on the line. */
export function lineTotals(line: LineInput): Amounts {
  const net = divRoundHalfUp(line.quantityMilli * line.unitPrice, 1000n);
  const vat = divRoundHalfUp(net * BigInt(line.vatRateBp), 10_000n);
  return { net, vat, gross: net + vat };
}

export interface OrderTotals extends Amounts {
  lines: Amounts[];
  /** Sums per VAT rate, highest rate first (the "rekapitulace DPH" of a Czech document). */
  byRate: (Amounts & { vatRateBp: number })[];
}

/** Totals of an order: every line rounded on its own, then summed; plus the summary per VAT rate. */
export function orderTotals(lines: readonly LineInput[]): OrderTotals {
  const perLine = lines.map(lineTotals);
  const byRate = new Map<number, Amounts>();
  const total: Amounts = { net: 0n, vat: 0n, gross: 0n };
  perLine.forEach((amounts, i) => {
    const rate = lines[i]!.vatRateBp;
    const sum = byRate.get(rate) ?? { net: 0n, vat: 0n, gross: 0n };
    byRate.set(rate, { net: sum.net + amounts.net, vat: sum.vat + amounts.vat, gross: sum.gross + amounts.gross });
    total.net += amounts.net;
    total.vat += amounts.vat;
    total.gross += amounts.gross;
  });
  return {
    ...total,
    lines: perLine,
    byRate: [...byRate].sort((a, b) => b[0] - a[0]).map(([vatRateBp, sums]) => ({ vatRateBp, ...sums })),
  };
}

/** True when every amount of the order fits what we promise to store and show. */
export function totalsInRange(totals: Amounts): boolean {
  return abs(totals.net) <= MAX_TOTAL && abs(totals.vat) <= MAX_TOTAL && abs(totals.gross) <= MAX_TOTAL;
}

/**
 * Writes an integer count of 10^-scale units back as a decimal for a form field: no grouping, `sep` as the
 * decimal mark, trailing zeros trimmed down to `minDecimals` ("1234,50" for money, "1,5" for a quantity).
 */
export function formatDecimal(value: bigint, scale: number, sep: ',' | '.' = ',', minDecimals = 0): string {
  const negative = value < 0n;
  const digits = abs(value).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  let frac = scale ? digits.slice(digits.length - scale) : '';
  while (frac.length > minDecimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  return `${negative ? '-' : ''}${int}${frac ? sep + frac : ''}`;
}

/** Money in minor units as typed in a form: always two decimals ("33,33", "1200,00"). */
export const moneyInput = (minor: bigint, sep: ',' | '.' = ',') => formatDecimal(minor, 2, sep, 2);
/** A quantity in thousandths as typed: "3", "1,5", "0,125". */
export const quantityInput = (milli: bigint, sep: ',' | '.' = ',') => formatDecimal(milli, 3, sep);
/** A VAT rate in basis points as typed: "21", "10,5". */
export const vatRateInput = (bp: number, sep: ',' | '.' = ',') => formatDecimal(BigInt(bp), 2, sep);
