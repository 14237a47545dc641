/** Shared pieces of list pages: paging, sorting, and links that keep the current filter. */

export const PAGE_SIZE = 50;

/** A page number from the query: 1 for anything that is not a sane positive integer. */
export function pageParam(value: string | undefined, max = 100_000): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isSafeInteger(n) && n >= 1 ? Math.min(n, max) : 1;
}

/** `?sort=name` or `?sort=-name` against an allow-list; anything else falls back. */
export function sortParam<T extends string>(value: string | undefined, allowed: readonly T[], fallback: `${'' | '-'}${T}`) {
  const raw = value && (allowed as readonly string[]).includes(value.replace(/^-/, '')) ? value : fallback;
  return { key: raw.replace(/^-/, '') as T, dir: raw.startsWith('-') ? ('desc' as const) : ('asc' as const), raw };
}

/** A date (YYYY-MM-DD) from the query, or null when absent or not a real date. */
export function dateParam(value: string | undefined): string | null {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const d = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value ? null : value;
}

/**
 * `?a=1&b=x` from params with overrides applied; empty values are left out, arrays repeat the key.
 * Used by views (`qs(filter, { page: 2 })`) so paging and sorting keep the filter.
 */
export function queryString(params: Record<string, unknown>, overrides: Record<string, unknown> = {}): string {
  // Built by hand with encodeURIComponent: list pages call this for every tag and pager link.
  const parts: string[] = [];
  for (const [key, value] of Object.entries({ ...params, ...overrides })) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === undefined || v === null || v === '' || v === false) continue;
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v === true ? '1' : String(v))}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
