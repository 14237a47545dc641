import { Hono } from 'hono';
import type { Permission } from '../auth/permissions.ts';
import { requirePermission } from '../http/middleware/permission.ts';
import { render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { resolveClientRef, suggestClients } from './client-picker.ts';

/**
 * The client field's two htmx endpoints (type-ahead suggestions and the resolved field), for any record
 * form that picks a client: mounted under /orders and /contracts with that section's permission.
 */
export function clientPickerRoutes(permission: Permission, pickerBase: string) {
  const routes = new Hono<AppEnv>();
  routes.get('/client-suggest', requirePermission(permission), async (c) => {
    const q = c.req.query('q') ?? c.req.query('client') ?? '';
    const clients = await suggestClients(c.get('deps').database.db, q);
    return render(c, 'orders/_client_suggest.njk', { clients, q: q.trim(), pickerBase });
  });
  routes.get('/client-field', requirePermission(permission), async (c) => {
    const typed = (c.req.query('client') ?? '').slice(0, 254);
    const found = typed.trim() ? await resolveClientRef(c.get('deps').database.db, typed) : null;
    return render(c, 'orders/_client_field.njk', {
      values: { client: typed },
      errors: found && !found.ok ? { client: { key: found.error, params: {} } } : {},
      client: found?.ok ? found.client : null,
      pickerBase,
    });
  });
  return routes;
}
