import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { activitiesRoutes } from '../activities/routes.ts';
import { auditRoutes } from '../audit/routes.ts';
import { campaignsRoutes } from '../campaigns/routes.ts';
import { clientsRoutes } from '../clients/routes.ts';
import { contractsRoutes } from '../contracts/routes.ts';
import { dashboardRoutes } from '../dashboard/routes.ts';
import { importRoutes } from '../import/routes.ts';
import { listsRoutes } from '../lists/routes.ts';
import { ordersRoutes } from '../orders/routes.ts';
import { attachmentsRoutes } from '../messages/attachments-routes.ts';
import { messagesRoutes } from '../messages/routes.ts';
import { templatesRoutes } from '../templates/routes.ts';
import { settingsRoutes } from '../settings/routes.ts';
import { testMailboxRoutes } from '../mail/test-mailbox-routes.ts';
import { outboxRoutes } from '../sender/routes.ts';
import { trixStyleHashes } from '../templates/trix-csp.ts';
import { authRoutes } from '../auth/routes.ts';
import { isConnectionError } from '../db/client.ts';
import { NotFoundError } from '../errors.ts';
import { recordAudit } from '../audit/queries.ts';
import { StoreIntegrityError, StoreNotFoundError } from '../store/errors.ts';
import { auditActor } from './middleware/request.ts';
import { roleRoutes } from '../users/roles-routes.ts';
import { userRoutes } from '../users/routes.ts';
import { translator } from './i18n/index.ts';
import { countRequests } from './busy.ts';
import { compressPages } from './middleware/compress.ts';
import { requestContext } from './middleware/request.ts';
import { loadSession, requireSignIn } from './middleware/session.ts';
import { createViews, isPartial, render } from './render.ts';
import { hasSmtpAccounts } from '../settings/queries.ts';
import { savedViewsRoutes } from '../saved-views/routes.ts';
import { unsubscribeRoutes } from '../unsubscribe/routes.ts';
import { serveAsset } from './static.ts';
import type { AppDeps, AppEnv } from './types.ts';

/** Builds the web application. Middleware order matters and is commented where it does. */
export function createApp(deps: AppDeps, options: { watchViews?: boolean } = {}) {
  const views = createViews({ watch: options.watchViews });
  const app = new Hono<AppEnv>();

  // First: the sender in this process lets a request being served go before its next message.
  app.use(countRequests());
  app.use(requestContext(deps, views));
  app.use(
    secureHeaders({
      // A route that sets its own policy keeps it (the message body iframe: stricter, framed by us).
      overwrite: false,
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Trix's two injected <style> elements, allowed by hash only (src/templates/trix-csp.ts).
        styleSrc: ["'self'", ...trixStyleHashes()],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: 'same-origin',
      strictTransportSecurity: false,
    }),
  );
  app.use(compressPages());

  // Static files and the health check need neither a session nor the database.
  app.get('/static/*', serveAsset);
  app.get('/favicon.ico', (c) => c.redirect('/static/img/favicon.svg', 301));
  app.get('/healthz', async (c) => {
    const ok = await deps.database.ping(2000);
    return c.json({ status: ok ? 'ok' : 'error', db: ok ? 'ok' : 'down' }, ok ? 200 : 503);
  });

  // Unsafe methods: same origin only (Origin / Sec-Fetch-Site), bounded body.
  // Unsubscribe links are authorised by their signed token, and RFC 8058 one-click POSTs come from mail providers.
  const sameOrigin = csrf();
  app.use((c, next) => (c.req.path.startsWith('/unsubscribe/') ? next() : sameOrigin(c, next)));
  // Upload routes set their own, larger limit (with a clear message); everything else gets this one.
  const uploadRoute = /^\/(clients\/import|lists\/\d+\/import|attachments|messages\/(new|\d+\/edit)|templates\/(new|\d+\/edit)|campaigns\/\d+\/message)(\/|$)/;
  const formLimit = bodyLimit({
    maxSize: deps.config.BODY_LIMIT_KB * 1024,
    onError: (c) => {
      throw new HTTPException(413, { res: c.text('Payload too large', 413) });
    },
  });
  app.use((c, next) => (uploadRoute.test(c.req.path) ? next() : formLimit(c, next)));

  app.use(loadSession());
  app.use(requireSignIn());
  app.use(async (c, next) => {
    if (c.get('user') && !isPartial(c)) c.set('noSmtpAccount', !(await hasSmtpAccounts(deps.database.db)));
    await next();
  });

  app.route('/', dashboardRoutes);
  app.route('/', authRoutes);
  app.route('/clients/import', importRoutes);
  app.route('/clients', clientsRoutes);
  app.route('/orders', ordersRoutes);
  app.route('/contracts', contractsRoutes);
  app.route('/activities', activitiesRoutes);
  app.route('/lists', listsRoutes);
  app.route('/users', userRoutes);
  app.route('/roles', roleRoutes);
  app.route('/audit', auditRoutes);
  app.route('/attachments', attachmentsRoutes);
  app.route('/messages', messagesRoutes);
  app.route('/templates', templatesRoutes);
  app.route('/settings', settingsRoutes);
  app.route('/test-mailbox', testMailboxRoutes);
  app.route('/outbox', outboxRoutes);
  app.route('/campaigns', campaignsRoutes);
  app.route('/views', savedViewsRoutes);
  app.route('/unsubscribe', unsubscribeRoutes);

  app.notFound((c) => errorPage(c, 404, 'error.404.title', 'error.404.text'));

  app.onError(async (error, c) => {
    if (error instanceof NotFoundError) return errorPage(c, 404, 'error.404.title', 'error.404.text');
    if (error instanceof StoreIntegrityError || error instanceof StoreNotFoundError) {
      // Fail closed, loudly: the user sees that the stored file is damaged or missing, the log says which.
      c.get('log')?.error({ err: error }, 'store object unreadable');
      await recordAudit(deps.database.db, auditActor(c), {
        action: 'store.unreadable',
        objectType: 'blob',
        objectId: error.objectId,
        summary: `${c.req.method} ${c.req.path}: ${error instanceof StoreIntegrityError ? error.reason : 'missing'}`,
        result: 'failed',
      }).catch((err) => c.get('log')?.error({ err }, 'audit of a store failure failed'));
      return errorPage(c, 500, 'error.store.title', 'error.store.text');
    }
    if (error instanceof HTTPException) {
      if (error.status === 403) return errorPage(c, 403, 'error.403.title', 'error.csrf.text');
      if (error.status === 413) return errorPage(c, 413, 'error.413.title', 'error.413.text');
      return error.getResponse();
    }
    if (isConnectionError(error)) {
      c.get('log')?.warn({ err: error }, 'database unavailable');
      c.header('Retry-After', '5');
      return errorPage(c, 503, 'error.503.title', 'error.503.text');
    }
    c.get('log')?.error({ err: error }, 'unhandled error');
    return errorPage(c, 500, 'error.500.title', 'error.500.text');
  });

  return app;
}

/** Error pages render without the database, in the request's language (or the default one). */
function errorPage(c: Parameters<typeof render>[0], code: number, title: string, text: string): Response {
  if (!c.get('locale')) {
    c.set('locale', c.get('deps').config.DEFAULT_LOCALE);
    c.set('t', translator(c.get('locale')));
  }
  try {
    return render(c, 'errors/error.njk', { code, title, text }, code);
  } catch {
    return c.text(`Error ${code}`, code as 500);
  }
}
