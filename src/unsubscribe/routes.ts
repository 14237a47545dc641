import { eq } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { clients } from '../db/schema/index.ts';
import { render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { readUnsubscribeToken } from './token.ts';
import { unsubscribeClient } from './service.ts';

/**
 * /unsubscribe/<token>: public, without signing in. GET only shows the page (mail scanners open links, so
 * a GET never changes anything); POST unsubscribes: from the page's button, or the mail program's one-click
 * POST (RFC 8058, body `List-Unsubscribe=One-Click`), which gets a short plain answer. Exempt from the
 * same-origin check: the token is the authority, and one-click POSTs come from the mail provider.
 */
export const unsubscribeRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => c.get('deps').database.db;

/** j***@firma.cz: enough for the recipient to recognise, little for anyone else holding the link. */
function maskEmail(email: string | null): string {
  if (!email) return '';
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

const notFound = (c: Context<AppEnv>) => {
  c.header('X-Robots-Tag', 'noindex');
  return render(c, 'unsubscribe/page.njk', { invalid: true }, 404);
};

unsubscribeRoutes.get('/:token', async (c) => {
  const target = await readUnsubscribeToken(db(c), c.req.param('token'));
  if (!target) return notFound(c);
  const [client] = await db(c).select({ email: clients.email, noMarketing: clients.noMarketing }).from(clients).where(eq(clients.id, target.clientId));
  if (!client) return notFound(c);
  c.header('X-Robots-Tag', 'noindex');
  return render(c, 'unsubscribe/page.njk', { token: c.req.param('token'), email: maskEmail(client.email), already: client.noMarketing });
});

unsubscribeRoutes.post('/:token', async (c) => {
  const target = await readUnsubscribeToken(db(c), c.req.param('token'));
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const oneClick = body['List-Unsubscribe'] === 'One-Click';
  if (!target) return oneClick ? c.text('Unknown or altered unsubscribe link.', 404) : notFound(c);
  const actor = { actorId: null, actorName: null, ip: c.get('ip'), requestId: c.get('requestId') };
  const result = await unsubscribeClient(db(c), actor, target, oneClick ? 'one-click' : 'link');
  if (!result) return oneClick ? c.text('Unknown or altered unsubscribe link.', 404) : notFound(c);
  if (oneClick) return c.text('Unsubscribed.', 200);
  c.header('X-Robots-Tag', 'noindex');
  return render(c, 'unsubscribe/page.njk', { done: true, email: maskEmail(result.email) });
});
