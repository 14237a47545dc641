import { Hono } from 'hono';
import { render } from '../http/render.ts';
import type { AppEnv } from '../http/types.ts';
import { accountUsage, outboxCounts } from '../sender/outbox.ts';
import { buildChart } from './chart.ts';
import { dashboardPeriods } from './periods.ts';
import { dailyCounts, latestFailures, periodCounts } from './queries.ts';

/**
 * The home page: the welcome and the user's sections for everyone signed in; with messages.view also
 * today's and this week's counts, 30 days of sent / failed, the accounts' usage and the latest failures.
 * A signed-out visitor never gets here: requireSignIn sends them to /login (or /setup before set-up).
 */
export const dashboardRoutes = new Hono<AppEnv>();

dashboardRoutes.get('/', async (c) => {
  const { config, database } = c.get('deps');
  const base = { database: { kind: database.kind, dir: config.DATA_DIR } };
  if (!c.get('user')?.permissions.has('messages.view')) return render(c, 'home.njk', base);
  const db = database.db;
  const now = new Date();
  const periods = dashboardPeriods(now, config.TIMEZONE);
  // Side by side on a server's pool (the page waits for the slowest, not the sum); PGlite queues them.
  const [{ days, counts }, waiting, accounts, failures] = await Promise.all([
    dailyCounts(db, periods, config.TIMEZONE).then(async (days) => ({ days, counts: await periodCounts(db, periods, days) })),
    outboxCounts(db, periods.todayStart),
    accountUsage(db, now),
    latestFailures(db, 10),
  ]);
  return render(c, 'home.njk', {
    ...base,
    mail: { periods, counts, waiting, chart: buildChart(days), accounts, failures },
  });
});
