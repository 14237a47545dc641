import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { count } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit/queries.ts';
import { seedDemo } from '../seed/demo.ts';
import { users } from '../db/schema/index.ts';
import { RuleError } from '../errors.ts';
import { emailField, readForm, requiredText, validate, type FieldErrors } from '../http/forms.ts';
import { isLocale, LOCALES } from '../http/i18n/index.ts';
import { auditActor } from '../http/middleware/request.ts';
import { clearSessionCookie, LANG_COOKIE, setSessionCookie } from '../http/middleware/session.ts';
import { flash, isHttps, redirect, render, safeNext } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { deleteSession } from './session.ts';
import { PASSWORD_MAX, passwordProblem } from './password.ts';
import { AlreadySetUpError, changeOwnPassword, login, setOwnLocale, setupFirstAdmin } from './service.ts';

export const authRoutes = new Hono<AppEnv>();

const newPasswordPair = (form: Record<string, string>, context: { email?: string; name?: string }, a: string, b: string) => {
  const errors: FieldErrors = {};
  const password = form[a] ?? '';
  if (!password) errors[a] = { key: 'v.required', params: {} };
  else {
    const problem = passwordProblem(password, context);
    if (problem) {
      const [key = problem, query = ''] = problem.split('?');
      errors[a] = { key, params: Object.fromEntries(new URLSearchParams(query)) };
    } else if (password !== form[b]) errors[b] = { key: 'v.password_mismatch', params: {} };
  }
  return errors;
};

const setupSchema = z.object({ name: requiredText(200), email: emailField() });

// No user exists yet: create the first administrator.
authRoutes.get('/setup', async (c) => {
  const [row] = await c.get('deps').database.db.select({ n: count() }).from(users);
  if ((row?.n ?? 0) > 0) return c.redirect('/login', 303);
  return render(c, 'auth/setup.njk', { values: {}, errors: {} });
});

authRoutes.post('/setup', async (c) => {
  const form = await readForm(c);
  const parsed = validate(setupSchema, form);
  const errors: FieldErrors = parsed.ok ? {} : { ...parsed.errors };
  Object.assign(errors, newPasswordPair(form, { email: form.email, name: form.name }, 'password', 'password2'));
  const values = { name: form.name ?? '', email: form.email ?? '', demo: form.demo === 'on' };
  if (!parsed.ok || Object.keys(errors).length) return render(c, 'auth/setup.njk', { values, errors }, 422);
  try {
    const db = c.get('deps').database.db;
    const { token, userId } = await setupFirstAdmin(
      db,
      { ...parsed.data, password: form.password!, locale: c.get('locale') },
      { ...auditActor(c), userAgent: c.req.header('User-Agent') ?? null },
    );
    setSessionCookie(c, token);
    if (form.demo === 'on') {
      // Opt-in demo data, so the product can be tried at once. A failure here must not undo the set-up.
      try {
        const counts = await seedDemo(db, { actor: { ...auditActor(c), actorId: userId, actorName: parsed.data.name } });
        flash(c, 'success', 'setup.demo_done', { clients: counts.clients, orders: counts.orders });
      } catch (error) {
        c.get('log').error({ err: error }, 'demo data failed');
        flash(c, 'error', 'setup.demo_failed');
      }
    }
    return c.redirect('/', 303);
  } catch (error) {
    if (error instanceof AlreadySetUpError) return c.redirect('/login', 303);
    throw error;
  }
});

authRoutes.get('/login', (c) => {
  if (c.get('user')) return c.redirect(safeNext(c.req.query('next')), 303);
  return render(c, 'auth/login.njk', { values: {}, next: safeNext(c.req.query('next')) });
});

authRoutes.post('/login', async (c) => {
  const form = await readForm(c);
  const email = (form.email ?? '').slice(0, 400);
  const password = form.password ?? '';
  const next = safeNext(form.next);
  const values = { email: email.trim() };
  const errors: FieldErrors = {};
  if (!email.trim()) errors.email = { key: 'v.required', params: {} };
  if (!password) errors.password = { key: 'v.required', params: {} };
  if (Object.keys(errors).length) return render(c, 'auth/login.njk', { values, errors, next }, 422);

  const result = await login(
    c.get('deps').database.db,
    { email, password: password.length > PASSWORD_MAX ? password.slice(0, PASSWORD_MAX + 1) : password },
    { ...auditActor(c), userAgent: c.req.header('User-Agent') ?? null },
  );
  if (result.ok) {
    setSessionCookie(c, result.token);
    return c.redirect(next, 303);
  }
  const message =
    result.reason === 'throttled'
      ? { key: 'login.throttled', params: { seconds: result.seconds } }
      : { key: 'login.invalid', params: {} };
  if (result.reason === 'throttled') c.header('Retry-After', String(result.seconds));
  return render(c, 'auth/login.njk', { values, message, next }, result.reason === 'throttled' ? 429 : 401);
});

authRoutes.post('/logout', async (c) => {
  const sessionId = c.get('sessionId');
  const user = c.get('user');
  if (sessionId && user) {
    const db = c.get('deps').database.db;
    await db.transaction(async (tx) => {
      await deleteSession(tx, sessionId);
      await recordAudit(tx, auditActor(c), { action: 'auth.logout', objectType: 'user', objectId: user.id, summary: user.email });
    });
  }
  clearSessionCookie(c);
  flash(c, 'info', 'login.logged_out');
  return c.redirect('/login', 303);
});

// Language before sign-in (a cookie); signed-in users change theirs on the account page.
authRoutes.post('/lang', async (c) => {
  const form = await readForm(c);
  const locale = form.locale;
  if (isLocale(locale)) {
    setCookie(c, LANG_COOKIE, locale, { path: '/', sameSite: 'Lax', httpOnly: true, secure: isHttps(c), maxAge: 31_536_000 });
    const user = c.get('user');
    if (user && user.locale !== locale) await setOwnLocale(c.get('deps').database.db, user.id, locale, auditActor(c));
  }
  return c.redirect(safeNext(form.next), 303);
});

authRoutes.get('/account', (c) => render(c, 'account/index.njk', { errors: {}, locales: LOCALES }));

authRoutes.post('/account/password', async (c) => {
  const user = c.get('user')!;
  const form = await readForm(c);
  const errors: FieldErrors = {};
  if (!form.current) errors.current = { key: 'v.required', params: {} };
  Object.assign(errors, newPasswordPair(form, { email: user.email, name: user.name }, 'password', 'password2'));
  if (!Object.keys(errors).length) {
    try {
      await changeOwnPassword(
        c.get('deps').database.db,
        { userId: user.id, sessionId: c.get('sessionId')!, current: form.current!, next: form.password! },
        auditActor(c),
      );
      flash(c, 'success', 'account.password_changed');
      return redirect(c, '/account');
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      errors.current = { key: error.messageKey, params: {} };
    }
  }
  return render(c, 'account/index.njk', { errors, locales: LOCALES }, 422);
});

authRoutes.post('/account/locale', async (c) => {
  const user = c.get('user')!;
  const form = await readForm(c);
  if (!isLocale(form.locale)) {
    return render(c, 'account/index.njk', { errors: { locale: { key: 'v.choice', params: {} } }, locales: LOCALES }, 422);
  }
  await setOwnLocale(c.get('deps').database.db, user.id, form.locale, auditActor(c));
  setCookie(c, LANG_COOKIE, form.locale, { path: '/', sameSite: 'Lax', httpOnly: true, secure: isHttps(c), maxAge: 31_536_000 });
  flash(c, 'success', 'account.locale_saved');
  return redirect(c, '/account');
});
