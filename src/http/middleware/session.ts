import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { count } from 'drizzle-orm';
import { validateSessionToken, type SessionPolicy } from '../../auth/session.ts';
import type { Config } from '../../config.ts';
import { users } from '../../db/schema/index.ts';
import { isLocale, negotiateLocale, translator } from '../i18n/index.ts';
import { isHttps, redirect, render, takeFlash } from '../render.ts';
import type { AppEnv } from '../types.ts';

export const SESSION_COOKIE = 'posel_session';
export const LANG_COOKIE = 'posel_lang';

export function sessionPolicy(config: Config): SessionPolicy {
  return { idleMs: config.SESSION_IDLE_MINUTES * 60_000, maxAgeMs: config.SESSION_MAX_DAYS * 86_400_000 };
}

export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: isHttps(c),
    maxAge: c.get('deps').config.SESSION_MAX_DAYS * 86_400,
  });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c) });
}

/** Loads the session's user (if any), the language and the flash message. */
export function loadSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { config, database } = c.get('deps');
    const token = getCookie(c, SESSION_COOKIE);
    if (token) {
      const session = await validateSessionToken(database.db, token, sessionPolicy(config));
      if (session) {
        c.set('user', session.user);
        c.set('sessionId', session.sessionId);
      } else {
        clearSessionCookie(c);
      }
    }
    const user = c.get('user');
    const cookieLang = getCookie(c, LANG_COOKIE);
    const locale =
      user && isLocale(user.locale)
        ? user.locale
        : isLocale(cookieLang)
          ? cookieLang
          : negotiateLocale(c.req.header('Accept-Language'), config.DEFAULT_LOCALE);
    c.set('locale', locale);
    c.set('t', translator(locale));
    c.set('flash', takeFlash(c));
    await next();
  };
}

const PUBLIC = /^\/(login|setup|lang|healthz|unsubscribe)(\/|$)/;

/**
 * With no user in the database, everything leads to /setup. Afterwards every non-public page needs
 * a session: a page view goes to /login (and back after), a change without a session is refused (403).
 */
export function requireSignIn(): MiddlewareHandler<AppEnv> {
  let setUp = false; // once a user exists it stays so (users are deactivated, never deleted)
  return async (c, next) => {
    const path = c.req.path;
    if (!setUp) {
      const [row] = await c.get('deps').database.db.select({ n: count() }).from(users);
      setUp = (row?.n ?? 0) > 0;
      if (!setUp && !/^\/(setup|lang|healthz)(\/|$)/.test(path)) return redirect(c, '/setup');
    }
    if (c.get('user') || PUBLIC.test(path)) return next();
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') {
      const next_ = path === '/' ? '' : `?next=${encodeURIComponent(path + new URL(c.req.url).search)}`;
      if (c.req.header('HX-Request') === 'true') {
        c.header('HX-Redirect', `/login${next_}`);
        return c.body(null, 204);
      }
      return c.redirect(`/login${next_}`, 303);
    }
    return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: 'error.session.text', showLogin: true }, 403);
  };
}
