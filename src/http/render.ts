import path from 'node:path';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import nunjucks from 'nunjucks';
import type { Permission } from '../auth/permissions.ts';
import { formatters } from './i18n/index.ts';
import { queryString } from './listing.ts';
import { assetUrl } from './static.ts';
import type { AppEnv, Flash } from './types.ts';

export const VIEWS_DIR = path.resolve(import.meta.dirname, '../../views');

/** Our own views only (autoescape on). User-written templates never go through Nunjucks. */
export function createViews(options: { watch?: boolean } = {}): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR, { noCache: options.watch ?? false }), {
    autoescape: true,
    throwOnUndefined: false,
    // Tags leave no blank lines behind: list pages repeat their rows' markup 50 times.
    trimBlocks: true,
    lstripBlocks: true,
  });
  return env;
}

/** True for an htmx request that wants only a fragment (a boosted navigation wants the whole page). */
export function isPartial(c: Context<AppEnv>): boolean {
  // htmx also sends HX-Request when it restores history after a cache miss: that needs the whole page.
  return (
    c.req.header('HX-Request') === 'true' &&
    c.req.header('HX-Boosted') !== 'true' &&
    c.req.header('HX-History-Restore-Request') !== 'true'
  );
}

/**
 * The main menu. An entry shows when the user holds any of its permissions; `also` lists other paths that
 * belong to it (the administration pages sit under one entry, so the bar stays one line on a small screen).
 */
const NAV: { href: string; key: string; anyOf?: Permission[]; also?: string[] }[] = [
  { href: '/', key: 'nav.home' },
  { href: '/messages', key: 'nav.messages', anyOf: ['messages.view'] },
  { href: '/outbox', key: 'nav.outbox', anyOf: ['messages.view'] },
  { href: '/clients', key: 'nav.clients', anyOf: ['clients.view'] },
  { href: '/orders', key: 'nav.orders', anyOf: ['orders.view'] },
  { href: '/contracts', key: 'nav.contracts', anyOf: ['contracts.view'] },
  { href: '/activities', key: 'nav.activities', anyOf: ['activities.view'] },
  { href: '/lists', key: 'nav.lists', anyOf: ['clients.view'] },
  { href: '/campaigns', key: 'nav.campaigns', anyOf: ['campaigns.run'] },
  { href: '/templates', key: 'nav.templates', anyOf: ['templates.manage'] },
  { href: '/audit', key: 'nav.audit', anyOf: ['audit.view'] },
  { href: '/settings', key: 'nav.settings', anyOf: ['settings.manage', 'users.manage', 'messages.view'], also: ['/users', '/roles', '/test-mailbox'] },
];

/** Renders a view with the common context (user, t, formatting, navigation, flash). */
export function render(c: Context<AppEnv>, template: string, data: Record<string, unknown> = {}, status = 200): Response {
  const user = c.get('user') ?? null;
  const locale = c.get('locale');
  const can = (p: Permission) => user?.permissions.has(p) ?? false;
  const fmt = formatters(locale, c.get('deps').config.TIMEZONE);
  const currentPath = c.req.path;
  const html = c.get('views').render(template, {
    t: c.get('t'),
    locale,
    user,
    can,
    fmt,
    asset: assetUrl,
    qs: queryString,
    requestId: c.get('requestId'),
    flash: c.get('flash'),
    path: currentPath,
    pathWithQuery: currentPath + (new URL(c.req.url).search || ''),
    nav: NAV.filter((n) => !n.anyOf || n.anyOf.some(can)).map((n) => ({
      ...n,
      current: n.href === '/' ? currentPath === '/' : [n.href, ...(n.also ?? [])].some((p) => currentPath.startsWith(p)),
    })),
    noSmtpAccount: c.get('noSmtpAccount') ?? false,
    roleLabel: (role: { key: string | null; name: string | null } | null) =>
      role ? (role.name ?? (role.key ? c.get('t')(`role.${role.key}`) : '')) : '',
    ...data,
  });
  c.header('Vary', 'HX-Request');
  c.header('Cache-Control', 'no-store');
  return c.html(html, status as 200);
}

const FLASH_COOKIE = 'posel_flash';

/** Queues a message for the next page the browser shows (set before a 303). */
export function flash(c: Context<AppEnv>, type: Flash['type'], key: string, params?: Flash['params']): void {
  setCookie(c, FLASH_COOKIE, encodeURIComponent(JSON.stringify({ type, key, params })), {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: isHttps(c),
    maxAge: 60,
  });
}

/** Reads and clears the queued flash message. Only i18n keys travel in it, never markup. */
export function takeFlash(c: Context<AppEnv>): Flash | null {
  const raw = getCookie(c, FLASH_COOKIE);
  if (!raw) return null;
  deleteCookie(c, FLASH_COOKIE, { path: '/' });
  try {
    const value = JSON.parse(decodeURIComponent(raw)) as Flash;
    if (typeof value.key !== 'string' || !['success', 'error', 'info'].includes(value.type)) return null;
    return { type: value.type, key: value.key, params: typeof value.params === 'object' ? value.params : undefined };
  } catch {
    return null;
  }
}

/**
 * Editor pages need their scripts (Trix, the editor's own), which an htmx swap would not run: a boosted or
 * history-restore request for one is answered with HX-Redirect, so the browser loads the page in full.
 */
export function fullPageLoad(c: Context<AppEnv>): Response | null {
  if (c.req.header('HX-Request') !== 'true') return null;
  c.header('HX-Redirect', new URL(c.req.url).pathname + new URL(c.req.url).search);
  return c.body(null, 200);
}

/** 303 to `location`; for htmx requests an HX-Location so only the body is swapped. */
export function redirect(c: Context<AppEnv>, location: string): Response {
  if (c.req.header('HX-Request') === 'true' && c.req.header('HX-Boosted') !== 'true') {
    c.header('HX-Location', location);
    return c.body(null, 200);
  }
  return c.redirect(location, 303);
}

export function isHttps(c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return c.get('deps').config.TRUST_PROXY && c.req.header('X-Forwarded-Proto') === 'https';
}

/** Only same-site relative paths are followed after sign-in (no open redirect). */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  if (/[\u0000-\u001f]/.test(value)) return '/';
  return value.slice(0, 2000);
}
