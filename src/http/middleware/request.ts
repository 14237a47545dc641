import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type nunjucks from 'nunjucks';
import type { AuditActor } from '../../audit/queries.ts';
import type { AppDeps, AppEnv } from '../types.ts';

/** Puts the dependencies, a request id, a child logger and the client IP on the context; logs the outcome. */
export function requestContext(deps: AppDeps, views: nunjucks.Environment): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('X-Request-Id');
    const requestId = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    const log = deps.logger.child({ reqId: requestId });
    c.set('deps', deps);
    c.set('views', views);
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('ip', clientIp(c, deps.config.TRUST_PROXY));
    c.set('user', null);
    c.set('sessionId', null);
    c.set('flash', null);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const level = c.req.path.startsWith('/static/') ? 'debug' : c.res.status >= 500 ? 'error' : 'info';
    log[level]({ method: c.req.method, path: c.req.path, status: c.res.status, ms, user: c.get('user')?.id }, 'request');
  };
}

function clientIp(c: Context<AppEnv>, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = c.req.header('X-Forwarded-For')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // no socket (app.request() in tests)
  }
}

/** Who is acting, for an audit row written by this request. */
export function auditActor(c: Context<AppEnv>): AuditActor {
  const user = c.get('user');
  return { actorId: user?.id ?? null, actorName: user?.name ?? null, ip: c.get('ip'), requestId: c.get('requestId') };
}
