import type { MiddlewareHandler } from 'hono';
import { recordAudit } from '../../audit/queries.ts';
import type { Permission } from '../../auth/permissions.ts';
import { render } from '../render.ts';
import type { AppEnv } from '../types.ts';
import { auditActor } from './request.ts';

/** The route needs `permission`; a signed-in user without it gets 403 and the attempt is logged. */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = c.get('user');
    if (user?.permissions.has(permission)) return next();
    await recordAudit(c.get('deps').database.db, auditActor(c), {
      action: 'access.denied',
      objectType: 'route',
      objectId: `${c.req.method} ${c.req.path}`.slice(0, 300),
      summary: `missing permission ${permission}`,
      result: 'denied',
    });
    return render(c, 'errors/error.njk', { code: 403, title: 'error.403.title', text: 'error.403.text' }, 403);
  };
}
