/**
 * `npm run bench:generate`: the bulk generation engine (src/campaigns/generation.ts) against a bare SQL
 * insert of the same rows.
 *
 *  1. Throughput, on the Postgres server (a database of its own, dropped afterwards) and on PGlite (in a
 *     temporary folder): BENCH_ORDERS (10,000) orders of as many demo clients (src/seed/demo.ts), each with
 *     its items; one bulk action of kind `orders` with a template that loops over the order's items
 *     (`{{#order.items}}…{{/order.items}}`) and one shared 200 KB attachment. Timed: `generateForCampaign`
 *     from start to `generated` — rendering, bodies into the encrypted store, message rows with their search
 *     vector, attachment rows, recipient states, one audit row per batch.
 *     Baseline: the same rows (subjects, recipients, bodies' text read back from the store beforehand, not
 *     timed) inserted with plain SQL into copies of the messages and message_search tables (same indexes,
 *     GIN included), with the same search vector computed by the database, in transactions of the engine's
 *     batch size.
 *     Messages/s of each and ratio = posel / baseline. Also: how much the store grew (the attachment once,
 *     plus the bodies).
 *  2. Memory: peak RSS (getrusage maxrss) of a child process that generates BENCH_RSS_SMALL (10,000) and
 *     then BENCH_RSS_LARGE (100,000) recipients on the Postgres server, printing its progress as it goes.
 *
 * Last line: `result: bench=generate posel_msgs_s=… baseline_msgs_s=… ratio=… pglite_msgs_s=… pglite_slowdown=… store_growth_mb=… rss_10k_mb=… rss_100k_mb=… rss_ratio=…`.
 * Env: BENCH_DATABASE_URL (postgres://root@127.0.0.1:5432/postgres), BENCH_ORDERS, BENCH_RSS_SMALL,
 * BENCH_RSS_LARGE, BENCH_SKIP (comma list of postgres,pglite,rss). Child mode: BENCH_GENERATE_CHILD=1.
 */
// As in `npm start`: libuv with 16 threads, so the store's fsyncs do not queue behind 4.
import '../src/threadpool.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { eq, sql } from 'drizzle-orm';
import type { AuditActor } from '../src/audit/queries.ts';
import { createCampaign } from '../src/campaigns/service.ts';
import { freezeRecipients, generateForCampaign, GENERATION_BATCH } from '../src/campaigns/generation.ts';
import { openPglite, openPostgres, rowsOf, type Database, type Db } from '../src/db/client.ts';
import { campaignAttachments, campaigns } from '../src/db/schema/index.ts';
import { htmlToPlainText } from '../src/mail/html.ts';
import { seedDemo } from '../src/seed/demo.ts';
import { openKeyRing } from '../src/store/keys.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { scratchServerDatabase, scratchStore } from './lib.ts';

const N_ORDERS = Number(process.env.BENCH_ORDERS ?? 10_000);
const RSS_SMALL = Number(process.env.BENCH_RSS_SMALL ?? 10_000);
const RSS_LARGE = Number(process.env.BENCH_RSS_LARGE ?? 100_000);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const TIME_ZONE = 'Europe/Prague';
const BENCH_ACTOR: AuditActor = { actorId: null, actorName: 'bench:generate', ip: null, requestId: null };

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const log = (s: string) => process.stdout.write(`${s}\n`);

const SUBJECT = 'Potvrzení objednávky {{order.number}}';
const BODY = `<p>Dobrý den, {{client.name}},</p>
<p>děkujeme za Vaši objednávku <strong>{{order.number}}</strong> ze dne {{order.date}}. Potvrzujeme její přijetí a posíláme přehled položek:</p>
<ul>{{#order.items}}<li>{{name}}: {{quantity}} {{unit}} × {{unit_price}} = {{total}}</li>{{/order.items}}</ul>
<p>Celkem k úhradě: <strong>{{order.total}}</strong>. Zboží expedujeme do dvou pracovních dnů; o odeslání Vás budeme informovat.</p>
<p>V příloze najdete obchodní podmínky. Pokud máte jakýkoli dotaz, odpovězte prosím na tento e-mail.</p>
<p>S pozdravem<br>obchodní oddělení</p>`;

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** A bulk action of kind `orders` over every order (first `count`), with the shared 200 KB attachment, ready to generate. */
async function prepareCampaign(db: Db, store: Store, count: number): Promise<number> {
  const orderIds = rowsOf<{ id: number }>(await db.execute(sql`select id from orders order by id limit ${count}`)).map((r) => r.id);
  const id = await createCampaign(db, BENCH_ACTOR, { kind: 'orders', name: 'Benchmark', marketing: false, purpose: 'order', orderIds, subject: SUBJECT, bodyHtml: BODY });
  const attachment = randomBytes(200 * 1024);
  const blobId = await store.putBlob(attachment);
  await db.insert(campaignAttachments).values({ campaignId: id, shared: true, blobId, filename: 'obchodni-podminky.pdf', contentType: 'application/pdf', sizeBytes: attachment.length });
  await db.transaction(async (tx) => {
    await freezeRecipients(tx as unknown as Db, { id, kind: 'orders', listId: null });
    await tx.update(campaigns).set({ status: 'generating' }).where(eq(campaigns.id, id));
  });
  return id;
}

/** Demo data: `count` clients (all with an e-mail) and `count` orders with their items. */
async function seed(db: Db, count: number): Promise<void> {
  await seedDemo(db, { clients: count, orders: count, contracts: 0, activities: 0, seed: 20261123, today: new Date('2026-11-23T10:00:00Z'), force: true });
  // Every order's client gets an address, so each order yields a message (the engine's skip path is not what is timed).
  await db.execute(sql`update clients set email = 'klient' || id || '@example.cz' where email is null or email = ''`);
}

/** Generation timed end to end; returns messages/s and how many were generated. */
async function timeGeneration(db: Db, store: Store, campaignId: number): Promise<{ msgsPerS: number; generated: number; ms: number }> {
  const started = performance.now();
  const result = await generateForCampaign({ db, store, timeZone: TIME_ZONE, publicUrl: 'https://posel.example' }, campaignId);
  const ms = performance.now() - started;
  if (!result.finished) throw new Error('generation did not finish');
  if (result.skipped || result.errors) {
    const reasons = rowsOf<{ state: string; reason: string | null; n: number }>(
      await db.execute(sql`select state, reason, count(*)::int as n from campaign_recipients where campaign_id = ${campaignId} and state <> 'generated' group by 1, 2 order by 3 desc limit 5`),
    );
    log(`  (not generated: ${reasons.map((r) => `${r.state} ${r.reason ?? ''} ×${r.n}`).join('; ')})`);
  }
  return { msgsPerS: result.generated / (ms / 1000), generated: result.generated, ms };
}

/**
 * The baseline: the generated rows again, inserted with plain SQL into copies of `messages` and
 * `message_search` (same columns, defaults and indexes), the search vector computed by the database as Posel
 * computes it, in transactions of
 * the engine's batch size. Bodies are read back from the store and turned into text before the clock starts.
 */
async function timeBareInsert(db: Db, store: Store, campaignId: number): Promise<number> {
  const rows = rowsOf<{ subject: string; recipients: string; toAddrs: unknown; bodyBlob: string; sizeBytes: number; clientId: number; orderId: number }>(
    await db.execute(sql`
      select subject, recipients, to_addrs as "toAddrs", body_blob as "bodyBlob", size_bytes as "sizeBytes", client_id as "clientId", order_id as "orderId"
        from messages where campaign_id = ${campaignId} order by id`),
  );
  const prepared = await Promise.all(
    rows.map(async (r, i) => ({ ...r, header: `<bare-${i}-${randomBytes(6).toString('hex')}@bench.invalid>`, text: htmlToPlainText((await store.get(r.bodyBlob)).toString('utf8')) })),
  );
  await db.execute(sql`drop table if exists bare_search`);
  await db.execute(sql`drop table if exists bare_messages`);
  await db.execute(sql`create table bare_messages (like messages including defaults including indexes)`);
  await db.execute(sql`create table bare_search (like message_search including defaults including indexes)`);
  const started = performance.now();
  for (let i = 0; i < prepared.length; i += GENERATION_BATCH) {
    const batch = prepared.slice(i, i + GENERATION_BATCH);
    await db.transaction(async (tx) => {
      const ids = rowsOf<{ id: number }>(
        await tx.execute(sql`
          insert into bare_messages (status, message_id_header, subject, to_addrs, recipients, body_blob, size_bytes, attachment_count, client_id, order_id, campaign_id, generated)
          values ${sql.join(
            batch.map(
              (r) => sql`('draft', ${r.header}, ${r.subject}, ${JSON.stringify(r.toAddrs)}::jsonb, ${r.recipients}, ${r.bodyBlob}, ${r.sizeBytes}, 1, ${r.clientId}, ${r.orderId}, ${campaignId}, true)`,
            ),
            sql`, `,
          )}
          returning id`),
      );
      await tx.execute(sql`
        insert into bare_search (message_id, search)
        values ${sql.join(
          batch.map(
            (r, k) => sql`(${ids[k]!.id}::int,
              setweight(to_tsvector('posel_unaccent'::regconfig, ${r.subject}), 'A')
              || setweight(to_tsvector('posel_unaccent'::regconfig, ${r.recipients} || ' ' || translate(${r.recipients}, '@.-_+', '     ')), 'B')
              || setweight(to_tsvector('posel_unaccent'::regconfig, ${r.text}), 'C'))`,
          ),
          sql`, `,
        )}`);
    });
  }
  const ms = performance.now() - started;
  await db.execute(sql`drop table bare_search`);
  await db.execute(sql`drop table bare_messages`);
  return prepared.length / (ms / 1000);
}

async function throughput(kind: 'postgres' | 'pglite'): Promise<{ posel: number; baseline: number; storeGrowthMb: number; bodiesMb: number }> {
  log(`== ${kind}: ${N_ORDERS} orders → one message each (items loop, shared 200 KB attachment)`);
  const server = kind === 'postgres' ? await scratchServerDatabase('posel_bench_generate_tp') : null;
  const liteDir = kind === 'pglite' ? await mkdtemp(path.join(os.tmpdir(), 'posel-bench-generate-pglite-')) : null;
  const database = server ? server.database : await openPglite(liteDir!);
  if (!server) await database.migrate();
  const { store, dir } = await scratchStore('posel-bench-generate-');
  try {
    const seedStart = performance.now();
    await seed(database.db, N_ORDERS);
    log(`  seeded ${N_ORDERS} clients and orders in ${fmt((performance.now() - seedStart) / 1000)} s`);
    const campaignId = await prepareCampaign(database.db, store, N_ORDERS);
    const before = await folderBytes(dir);
    const posel = await timeGeneration(database.db, store, campaignId);
    const growth = (await folderBytes(dir)) - before;
    const [{ bodies } = { bodies: 0 }] = rowsOf<{ bodies: number }>(
      await database.db.execute(sql`select coalesce(sum(size_bytes - 200 * 1024), 0)::float8 as bodies from messages where campaign_id = ${campaignId}`),
    );
    log(`  posel:    ${posel.generated} messages in ${fmt(posel.ms / 1000, 2)} s = ${fmt(posel.msgsPerS)} msgs/s`);
    log(`  store grew ${fmt(growth / 1e6, 2)} MB (attachment stored once before the run; bodies' HTML ${fmt(bodies / 1e6, 2)} MB before compression)`);
    const baseline = await timeBareInsert(database.db, store, campaignId);
    log(`  baseline: bare SQL insert of the same rows = ${fmt(baseline)} msgs/s`);
    log(`  ratio ${fmt(posel.msgsPerS / baseline, 2)}`);
    return { posel: posel.msgsPerS, baseline, storeGrowthMb: growth / 1e6, bodiesMb: bodies / 1e6 };
  } finally {
    if (server) await server.drop();
    else await database.close();
    await rm(dir, { recursive: true, force: true });
    if (liteDir) await rm(liteDir, { recursive: true, force: true });
  }
}

/** Child mode: generate the prepared campaign and print progress lines, then one JSON line with the peak RSS. */
async function child(): Promise<void> {
  const database = openPostgres(process.env.BENCH_CHILD_DB!, { max: 10 });
  const store = await openStore({ dir: process.env.BENCH_CHILD_STORE!, keyRing: await openKeyRing({ masterKey: process.env.BENCH_CHILD_KEY! }) });
  const campaignId = Number(process.env.BENCH_CHILD_CAMPAIGN);
  const started = performance.now();
  const progress = setInterval(async () => {
    const [c] = await database.db.select({ done: campaigns.processedCount, total: campaigns.recipientCount }).from(campaigns).where(eq(campaigns.id, campaignId));
    process.stdout.write(`progress ${c?.done ?? 0}/${c?.total ?? 0} rss=${fmt(process.memoryUsage().rss / 1e6)}MB\n`);
  }, 5000);
  const result = await generateForCampaign({ db: database.db, store, timeZone: TIME_ZONE, publicUrl: 'https://posel.example' }, campaignId);
  clearInterval(progress);
  await database.close();
  process.stdout.write(`${JSON.stringify({ generated: result.generated, ms: performance.now() - started, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
  process.exit(0);
}

async function childRss(count: number): Promise<number> {
  const server = await scratchServerDatabase(`posel_bench_generate_rss${count}`);
  const { store, dir, masterKey } = await scratchStore('posel-bench-generate-');
  try {
    await seed(server.database.db, count);
    const campaignId = await prepareCampaign(server.database.db, store, count);
    const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/generate.ts'], {
      env: { ...process.env, BENCH_GENERATE_CHILD: '1', BENCH_CHILD_DB: server.url, BENCH_CHILD_STORE: dir, BENCH_CHILD_KEY: masterKey, BENCH_CHILD_CAMPAIGN: String(campaignId) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let report: { generated: number; ms: number; maxRssMb: number } | null = null;
    let lastProgress = '';
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      if (l.startsWith('{')) report = JSON.parse(l);
      else if (l.startsWith('progress')) {
        lastProgress = l;
        log(`    ${l}`);
      }
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    const r = report as { generated: number; ms: number; maxRssMb: number } | null;
    if (code !== 0 || !r) throw new Error(`generation child exited with ${code} (${lastProgress})`);
    log(`  child generated ${r.generated} of ${count} in ${fmt(r.ms / 1000)} s = ${fmt(r.generated / (r.ms / 1000))} msgs/s, peak RSS ${fmt(r.maxRssMb)} MB`);
    return r.maxRssMb;
  } finally {
    await server.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_GENERATE_CHILD === '1') {
  await child();
} else {
  const pg = SKIP.has('postgres') ? null : await throughput('postgres');
  const lite = SKIP.has('pglite') ? null : await throughput('pglite');
  let rssSmall = NaN;
  let rssLarge = NaN;
  if (!SKIP.has('rss')) {
    log(`== peak RSS of a generating process: ${RSS_SMALL} vs ${RSS_LARGE} recipients (Postgres server)`);
    rssSmall = await childRss(RSS_SMALL);
    rssLarge = await childRss(RSS_LARGE);
  }
  log(
    `result: bench=generate posel_msgs_s=${fmt(pg?.posel ?? NaN)} baseline_msgs_s=${fmt(pg?.baseline ?? NaN)} ratio=${fmt(pg ? pg.posel / pg.baseline : NaN, 2)} ` +
      `pglite_msgs_s=${fmt(lite?.posel ?? NaN)} pglite_ratio=${fmt(lite ? lite.posel / lite.baseline : NaN, 2)} pglite_slowdown=${fmt(pg && lite ? pg.posel / lite.posel : NaN, 2)} ` +
      `store_growth_mb=${fmt(pg?.storeGrowthMb ?? lite?.storeGrowthMb ?? NaN, 2)} rss_10k_mb=${fmt(rssSmall)} rss_100k_mb=${fmt(rssLarge)} rss_ratio=${fmt(rssLarge / rssSmall, 2)}`,
  );
  process.exit(0);
}
