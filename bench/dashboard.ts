/**
 * How fast is the dashboard with a realistic amount of mail? Not a test: run it by hand,
 *   npm run bench:dashboard -- [messages=100000]
 * (against TEST_DATABASE_URL when set, else in-memory PGlite). It fills the database with messages spread
 * over 60 days (mostly sent, some failed / deferred / queued / uncertain, one attempt per message and a
 * retry for a few), then times each dashboard query and the whole page, and prints the plans.
 */
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/client.ts';
import { accountUsage, outboxCounts } from '../src/sender/outbox.ts';
import { createTestApp, setUpAdmin } from '../src/test-support/harness.ts';
import { dashboardPeriods } from '../src/dashboard/periods.ts';
import { dailyCounts, dailyCountsQuery, latestFailures, periodCounts } from '../src/dashboard/queries.ts';

const N = Number(process.argv[2] ?? 100_000);
const TZ = 'Europe/Prague';

const t = await createTestApp();
const admin = t.client();
await setUpAdmin(admin);
const db = t.db;
const blob = await t.store.putBlob('<p>Dobrý den, posíláme fakturu.</p>');

let started = performance.now();
await db.execute(sql`insert into smtp_accounts (name, host, port, from_address, per_minute, per_hour, per_day, is_default)
                     values ('Hlavní', 'smtp.firma.cz', 587, 'info@firma.cz', 60, 1000, 10000, true), ('Záložní', 'smtp2.firma.cz', 587, 'x@firma.cz', null, 500, null, false)`);
// Statuses by share: 86 % sent, 5 % failed, 3 % deferred, 3 % queued, 1 % uncertain, 2 % draft.
await db.execute(sql`
  insert into messages (status, message_id_header, subject, recipients, body_blob, created_at, updated_at, sent_at, queued_at, account_id, last_result)
  select s.status, '<m' || g || '@bench.posel>', 'Faktura ' || g, 'klient' || g || '@firma.cz', ${blob},
         s.at - interval '5 minutes', s.at - interval '5 minutes',
         case when s.status = 'sent' then s.at end,
         case when s.status <> 'draft' then s.at - interval '1 minute' end,
         1 + (g % 2),
         case when s.status in ('failed', 'deferred', 'uncertain') then '550 5.1.1 <klient' || g || '@firma.cz>: Recipient address rejected' end
    from generate_series(1, ${N}) g,
         -- Inserted in time order, as a real table fills: the last 30 days are the newer half of the heap.
         lateral (select now() - (${N} - g) * (interval '60 days' / ${N}) as at, (g * 7919) % 100 as bucket) r,
         lateral (select case when r.bucket < 86 then 'sent' when r.bucket < 91 then 'failed' when r.bucket < 94 then 'deferred'
                              when r.bucket < 97 then 'queued' when r.bucket < 98 then 'uncertain' else 'draft' end as status,
                         r.at) s`);
await db.execute(sql`
  insert into send_attempts (message_id, account_id, started_at, outcome, response, recipients)
  select m.id, m.account_id, coalesce(m.sent_at, m.queued_at + interval '30 seconds'),
         case m.status when 'sent' then 'sent' when 'deferred' then 'deferred' when 'uncertain' then 'uncertain' else 'failed' end,
         m.last_result, m.recipients
    from messages m where m.status in ('sent', 'failed', 'deferred', 'uncertain')`);
// A few retried: an earlier deferred attempt.
await db.execute(sql`
  insert into send_attempts (message_id, account_id, started_at, outcome, response, recipients)
  select m.id, m.account_id, m.queued_at, 'deferred', '451 try later', m.recipients from messages m where m.status = 'failed' and m.id % 3 = 0`);
await db.execute(sql`analyze`);
const count = rowsOf<{ n: number }>(await db.execute(sql`select (select count(*) from messages)::int + (select count(*) from send_attempts)::int as n`))[0]!.n;
console.log(`${t.database.kind}: ${N} messages, ${count - N} attempts, filled in ${((performance.now() - started) / 1000).toFixed(1)} s`);

async function time(name: string, run: () => Promise<unknown>, times = 20) {
  await run(); // warm
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    started = performance.now();
    await run();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  const q = (f: number) => ms[Math.min(ms.length - 1, Math.floor(f * ms.length))]!.toFixed(1);
  console.log(`${name.padEnd(16)} p50 ${q(0.5).padStart(7)} ms   p95 ${q(0.95).padStart(7)} ms`);
}

const now = new Date();
const p = dashboardPeriods(now, TZ);
const days = await dailyCounts(db, p, TZ);
await time('dailyCounts', () => dailyCounts(db, p, TZ));
await time('periodCounts', () => periodCounts(db, p, days));
await time('latestFailures', () => latestFailures(db, 10));
await time('outboxCounts', () => outboxCounts(db, p.todayStart));
await time('accountUsage', () => accountUsage(db, now));
await time('GET / (page)', async () => {
  const res = await admin.get('/');
  if (res.status !== 200) throw new Error(`GET / ${res.status}`);
  await res.text();
});
const html = await (await admin.get('/')).text();
console.log(`page: ${html.length} bytes, ${gzipSync(html).length} gzipped`);

/** With EXPLAIN=1: the chart's plan, from the very SQL dailyCounts sends. */
async function plan(label: string) {
  if (!process.env.EXPLAIN) return;
  const rows = rowsOf<Record<string, string>>(await db.execute(sql`explain analyze ${dailyCountsQuery(p, TZ)}`));
  console.log(`\n${label}\n${rows.map((r) => Object.values(r)[0]).join('\n')}\n`);
}
await plan('dailyCounts');

// The index this module would like (not in the schema yet): the sent range read from an index alone.
await db.execute(sql`create index if not exists messages_sent_at_idx on messages (sent_at) where status = 'sent'`);
await db.execute(sql`vacuum analyze messages`);
console.log('with index messages (sent_at) where status = sent:');
await time('dailyCounts', () => dailyCounts(db, p, TZ));
await time('outboxCounts', () => outboxCounts(db, p.todayStart));
await time('GET / (page)', async () => {
  const res = await admin.get('/');
  await res.text();
});

await plan('dailyCounts, with the index');
await t.close();
