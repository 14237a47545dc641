import { Hono } from 'hono';
import { requirePermission } from '../http/middleware/permission.ts';
import { isPartial, render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { listAudit, verifyAuditChain } from './queries.ts';

export const auditRoutes = new Hono<AppEnv>();
const PAGE_SIZE = 50;

// Newest first; "older" pages by keyset (?before=<id>), so paging stays fast however long the log is.
auditRoutes.get('/', requirePermission('audit.view'), async (c) => {
  const before = Number.parseInt(c.req.query('before') ?? '', 10);
  const rows = await listAudit(c.get('deps').database.db, {
    beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined,
    limit: PAGE_SIZE + 1,
  });
  const hasMore = rows.length > PAGE_SIZE;
  const page = rows.slice(0, PAGE_SIZE);
  const data = { rows: page, olderThan: hasMore ? page[page.length - 1]!.id : null, isFirst: !(before > 0) };
  return render(c, isPartial(c) ? 'audit/_rows.njk' : 'audit/index.njk', data);
});

auditRoutes.post('/verify', requirePermission('audit.view'), async (c) => {
  const result = await verifyAuditChain(c.get('deps').database.db);
  if (isPartial(c)) return render(c, 'audit/_verify.njk', { result });
  const rows = await listAudit(c.get('deps').database.db, { limit: PAGE_SIZE + 1 });
  return render(c, 'audit/index.njk', {
    rows: rows.slice(0, PAGE_SIZE),
    olderThan: rows.length > PAGE_SIZE ? rows[PAGE_SIZE - 1]!.id : null,
    isFirst: true,
    result,
  });
});
