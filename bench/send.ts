/**
 * `npm run bench:send`: Posel's sending loop against a bare nodemailer pool, into the same SMTP sink.
 *
 *  1. Throughput, on the Postgres server (a database of its own, dropped afterwards) and on PGlite (in
 *     memory): BENCH_MESSAGES (10,000) queued messages, each with its own ~20 KB Czech HTML body in the
 *     store (and its search vector, which every change of state re-indexes) and one shared 100 KB
 *     attachment, sent into a local `smtp-server` sink (a child process that accepts and discards) with
 *     BENCH_CONNECTIONS (4) connections on both sides:
 *       baseline: a nodemailer pool (maxConnections N) sending the same messages prebuilt with `buildMime`
 *                 beforehand (the build is not timed);
 *       posel:    a `Sender` draining the queue through an SMTP account with pool size N and no limits,
 *                 with all its bookkeeping (claim, store reads, MIME, attempt row, state, audit row).
 *     Messages/s of each, and ratio = posel / baseline.
 *     Both sides run under the same page load: the communication list (GET /messages, first page of the
 *     unfiltered list, from the app of src/http/app.ts in this process, signed in as an administrator)
 *     requested one after another with a 100 ms pause, as people clicking would; its p95 is measured idle,
 *     while the bare pool sends and while Posel's loop drains the queue.
 *     Also CPU time per message on each side: of this process (with its threads), of the sink, of the
 *     Postgres server's processes and of the whole machine (from /proc).
 *  2. Memory: peak RSS (VmHWM from /proc; getrusage would report the parent's) of a sender child process
 *     (src/sender/testing/child.ts) that
 *     drains BENCH_RSS_SMALL (10,000) and then BENCH_RSS_LARGE (100,000) queued messages on the Postgres
 *     server. These use 500 distinct bodies (cycled) to keep the set-up short; each message still reads
 *     and decrypts its body and attachment.
 *
 * Last line: `result: bench=send posel_msgs_s=… baseline_msgs_s=… ratio=… pglite_ratio=… page_p95_ratio=… pglite_page_p95_ratio=…
 * rss_10k_mb=… rss_100k_mb=… rss_ratio=…` (page_p95_ratio: p95 while draining / p95 idle).
 * Env: BENCH_DATABASE_URL (postgres://root@127.0.0.1:5432/postgres), BENCH_MESSAGES, BENCH_CONNECTIONS,
 * BENCH_RSS_SMALL, BENCH_RSS_LARGE, BENCH_SKIP (comma list of postgres,pglite,rss).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { asc, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { openPglite, rowsOf, type Database } from '../src/db/client.ts';
import { messages, smtpAccounts } from '../src/db/schema/index.ts';
import { searchText } from '../src/campaigns/generation.ts';
import { settleMessageSearch } from '../src/messages/search.ts';
import { buildMime } from '../src/mail/mime.ts';
import { Sender } from '../src/sender/sender.ts';
import { seedQueue } from '../src/sender/testing/seed.ts';
import { createTestApp, setUpAdmin, type TestClient } from '../src/test-support/harness.ts';
import type { Store } from '../src/store/store.ts';
import { prng } from '../src/seed/demo.ts';
import { scratchServerDatabase, scratchStore } from './lib.ts';

const N_MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const N_CONN = Number(process.env.BENCH_CONNECTIONS ?? 4);
const RSS_SMALL = Number(process.env.BENCH_RSS_SMALL ?? 10_000);
const RSS_LARGE = Number(process.env.BENCH_RSS_LARGE ?? 100_000);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const FROM = { address: 'obchod@firma.cz', name: 'Firma s.r.o.' };

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const log = (s: string) => process.stdout.write(`${s}\n`);

// --- realistic content -----------------------------------------------------------------------------

const FIRST = ['Jana', 'Petr', 'Lucie', 'Tomáš', 'Eva', 'Martin', 'Kateřina', 'Jiří', 'Zuzana', 'Ondřej', 'Hana', 'Lukáš'];
const LAST = ['Nováková', 'Dvořák', 'Černá', 'Procházka', 'Kučerová', 'Veselý', 'Horáková', 'Němec', 'Marková', 'Pokorný'];
const SENTENCES = [
  'děkujeme za Vaši objednávku a potvrzujeme její přijetí.',
  'v příloze Vám zasíláme cenovou nabídku na požadované zboží včetně dopravy.',
  'rádi bychom Vás upozornili, že faktura č. {n} je po splatnosti.',
  'termín dodání jsme po dohodě se skladem posunuli na {d}.',
  'součástí dodávky je i montáž a odvoz starého zařízení zdarma.',
  'připomínáme, že smlouva o servisu končí {d}; prodloužení můžete potvrdit odpovědí na tento e-mail.',
  'zboží bude připraveno k vyzvednutí na naší provozovně v Pardubicích.',
  'na základě Vašeho požadavku jsme upravili množství u položky {n}.',
  'omlouváme se za zpoždění, které bylo způsobeno výpadkem u našeho dodavatele.',
  'ceny jsou uvedeny bez DPH; k celkové částce bude připočtena daň ve výši 21 %.',
  'žluťoučký kůň úpěl ďábelské ódy, ale objednávku jsme vyřídili včas.',
];
const ITEMS = ['Šroub M8×40', 'Deska dubová 18 mm', 'Lepidlo PUR 0,5 l', 'Barva bílá matná', 'Pant nábytkový', 'Hmoždinka 8 mm'];

/** A ~20 KB HTML body in Czech, different for every `i`. */
function body(i: number, targetBytes = 20 * 1024): string {
  const r = prng(i + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const n = () => String(Math.floor(r() * 900000) + 100000);
  const d = () => `${1 + Math.floor(r() * 28)}. ${1 + Math.floor(r() * 12)}. 2026`;
  const parts = [`<div><p>Dobrý den, ${pick(FIRST)} ${pick(LAST)},</p>`];
  let size = 0;
  while (size < targetBytes - 300) {
    if (r() < 0.15) {
      let table = '<table><thead><tr><th>Položka</th><th>Množství</th><th>Cena</th></tr></thead><tbody>';
      for (let k = 0; k < 3 + Math.floor(r() * 6); k++) {
        table += `<tr><td>${pick(ITEMS)}</td><td>${1 + Math.floor(r() * 40)} ks</td><td>${(Math.floor(r() * 500000) / 100).toFixed(2).replace('.', ',')} Kč</td></tr>`;
      }
      parts.push(`${table}</tbody></table>`);
    } else {
      const text = Array.from({ length: 2 + Math.floor(r() * 4) }, () => pick(SENTENCES).replace('{n}', n()).replace('{d}', d()));
      parts.push(`<p>${text.map((x) => x[0]!.toUpperCase() + x.slice(1)).join(' ')}</p>`);
    }
    size += Buffer.byteLength(parts.at(-1)!);
  }
  parts.push(`<p>S pozdravem<br><strong>${pick(FIRST)} ${pick(LAST)}</strong></p></div>`);
  return parts.join('\n');
}

/** A 100 KB "PDF": a header and compressed-looking bytes, the same for every message. */
const ATTACHMENT = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(100 * 1024 - 9)]);

// --- helpers ------------------------------------------------------------------------------------------

async function pool(n: number, width: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < n) await work(next++); }));
}

interface Sink { port: number; child: ChildProcess; stop(): Promise<number> }

async function startSink(): Promise<Sink> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sender/testing/sink.ts'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<Record<string, number>>((resolve) => lines.once('line', (l) => resolve(JSON.parse(l))));
  const { port } = await next();
  return {
    port: port!,
    child,
    stop: async () => {
      const done = next();
      child.kill('SIGTERM');
      return (await done).accepted ?? 0;
    },
  };
}

async function addAccount(database: Database, port: number): Promise<number> {
  const [a] = await database.db
    .insert(smtpAccounts)
    .values({ name: 'Sink', host: '127.0.0.1', port, security: 'none', fromAddress: FROM.address, fromName: FROM.name, isDefault: true, poolSize: N_CONN })
    .returning({ id: smtpAccounts.id });
  return a!.id;
}

async function fill(database: Database, store: Store, accountId: number, count: number, distinctBodies: number, withSearch = true): Promise<void> {
  const bodyBlobs: string[] = new Array(distinctBodies);
  const texts: string[] = new Array(distinctBodies);
  await pool(distinctBodies, 8, async (i) => {
    const html = body(i);
    texts[i] = searchText(html);
    bodyBlobs[i] = await store.putBlob(html);
  });
  const blobId = await store.putBlob(ATTACHMENT);
  await seedQueue(database.db, {
    count,
    bodyBlobs,
    // Each with its search vector, as composed and generated messages have (each state change re-indexes it).
    ...(withSearch ? { searchText: (i: number) => texts[i % distinctBodies]! } : {}),
    accountId,
    attachment: { blobId, filename: 'Faktura 2026-0042.pdf', contentType: 'application/pdf', sizeBytes: ATTACHMENT.length },
  });
  // What generating and queueing this many leaves behind: the search index settled, fresh statistics.
  await settleMessageSearch(database.db);
}

/**
 * The bare pool: nodemailer sending prebuilt raw messages, as many in flight as it queues, while the list
 * page is requested as during Posel's drain (the same load on both sides).
 */
async function baseline(database: Database, store: Store, port: number, client: TestClient, sinkPid?: number): Promise<number> {
  const rows = await database.db.select().from(messages).orderBy(asc(messages.id));
  const attachment = await store.get(await store.putBlob(ATTACHMENT));
  const raws: { to: string; raw: Buffer }[] = [];
  for (const m of rows) {
    const html = (await store.get(m.bodyBlob)).toString('utf8');
    raws.push({
      to: m.toAddrs[0]!.address,
      raw: await buildMime({ messageId: m.messageIdHeader, from: FROM, to: m.toAddrs, subject: m.subject, html, attachments: [{ filename: 'Faktura 2026-0042.pdf', contentType: 'application/pdf', content: attachment }] }),
    });
  }
  const avgKb = raws.reduce((s, r) => s + r.raw.length, 0) / raws.length / 1024;
  const transport = nodemailer.createTransport({ pool: true, maxConnections: N_CONN, maxMessages: 100, host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const cpu = process.cpuUsage();
  const split = cpuSplit(sinkPid);
  const start = performance.now();
  const sent = Promise.all(raws.map((r) => transport.sendMail({ envelope: { from: FROM.address, to: [r.to] }, raw: r.raw })));
  const pages = await pageTimes(client, { until: sent });
  await sent;
  const seconds = (performance.now() - start) / 1000;
  transport.close();
  log(`  baseline: ${raws.length} prebuilt messages (avg ${fmt(avgKb)} KB) in ${fmt(seconds, 2)} s = ${fmt(raws.length / seconds)} msgs/s, CPU ${cpuMsPer(cpu, raws.length)} ms/msg (incl. the page requests)`);
  log(`            ${split(raws.length)} (incl. the page requests)`);
  log(`  GET /messages while the bare pool sends: ${pages.length} requests, median ${fmt(percentile(pages, 50))} ms, p95 ${fmt(percentile(pages, 95))} ms`);
  return raws.length / seconds;
}

/** CPU milliseconds (user + system) of a process, of every Postgres server process, of the machine (from /proc). */
function procMs(pid: number | 'self'): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}
/** CPU milliseconds of each Postgres server process, by pid. */
function postgresMs(): Map<string, number> {
  const byPid = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/stat`, 'utf8').includes('(postgres)')) byPid.set(pid, procMs(Number(pid)));
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}
/** CPU the Postgres server's processes used since `before` (a process that ended meanwhile is not counted). */
function postgresSince(before: Map<string, number>): number {
  let sum = 0;
  for (const [pid, ms] of postgresMs()) sum += ms - (before.get(pid) ?? 0);
  return sum;
}
function machineMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) * 10; // user nice system irq softirq steal
}
/** Where the CPU went: call before, then call the result with the message count after. */
function cpuSplit(sinkPid: number | undefined) {
  const before = { self: procMs('self'), sink: sinkPid ? procMs(sinkPid) : 0, pg: postgresMs(), machine: machineMs() };
  return (n: number) => {
    const per = (a: number, b: number) => fmt((a - b) / n, 2);
    return `CPU ms/msg: this process ${per(procMs('self'), before.self)}, sink ${per(sinkPid ? procMs(sinkPid) : 0, before.sink)}, postgres ${per(postgresSince(before.pg), 0)}, machine ${per(machineMs(), before.machine)}`;
  };
}

/** CPU time of this process since `since`, per message, in ms. */
const cpuMsPer = (since: NodeJS.CpuUsage, n: number) => {
  const used = process.cpuUsage(since);
  return fmt((used.user + used.system) / 1000 / n, 2);
};

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
};

/** Times GET /messages (first page, unfiltered) one request after another until `until` resolves or `count` are done. */
async function pageTimes(client: TestClient, options: { count?: number; until?: Promise<unknown> }): Promise<number[]> {
  let done = false;
  void options.until?.finally(() => (done = true));
  const times: number[] = [];
  while (!done && (options.count === undefined || times.length < options.count)) {
    const t0 = performance.now();
    const res = await client.get('/messages');
    await res.text();
    if (res.status !== 200) throw new Error(`GET /messages answered ${res.status}`);
    times.push(performance.now() - t0);
    // People clicking, not a load test: a pause between requests (the page shares the sender's event loop).
    await new Promise((r) => setTimeout(r, 100));
  }
  return times;
}

/** Posel's loop: drains the queue (tick() returns 0 when nothing is left), while the list page is timed. */
async function posel(database: Database, store: Store, count: number, client: TestClient, sinkPid?: number): Promise<{ rate: number; pageP95: number }> {
  const sender = new Sender({ db: database.db, store, logger: pino({ level: 'silent' }), testMailbox: null, idleMs: 50 });
  const cpu = process.cpuUsage();
  const split = cpuSplit(sinkPid);
  const start = performance.now();
  const drained = (async () => {
    while ((await sender.tick()) > 0);
  })();
  const pages = await pageTimes(client, { until: drained });
  await drained;
  const seconds = (performance.now() - start) / 1000;
  const cpuPer = cpuMsPer(cpu, count);
  const where = split(count);
  await sender.stop();
  const states = rowsOf<{ status: string; n: number }>(await database.db.execute(sql`select status, count(*)::int as n from messages group by status order by status`));
  const sent = states.find((s) => s.status === 'sent')?.n ?? 0;
  log(`  posel:    ${sent} of ${count} sent in ${fmt(seconds, 2)} s = ${fmt(sent / seconds)} msgs/s, CPU ${cpuPer} ms/msg (incl. the page requests)  (states: ${states.map((s) => `${s.status} ${s.n}`).join(', ')})`);
  log(`            ${where} (incl. the page requests)`);
  if (sent !== count) log('  WARNING: not every message was sent');
  const pageP95 = percentile(pages, 95);
  log(`  GET /messages while draining: ${pages.length} requests, median ${fmt(percentile(pages, 50))} ms, p95 ${fmt(pageP95)} ms`);
  return { rate: sent / seconds, pageP95 };
}

async function throughput(kind: 'postgres' | 'pglite'): Promise<{ posel: number; baseline: number; pageRatio: number }> {
  log(`== throughput on ${kind}: ${N_MESSAGES} messages, ${N_CONN} connections`);
  const server = kind === 'postgres' ? await scratchServerDatabase('posel_bench_send') : null;
  const database = server?.database ?? (await openPglite(null));
  if (!server) await database.migrate();
  const { store, dir } = await scratchStore('posel-bench-send-');
  const sink = await startSink();
  try {
    const accountId = await addAccount(database, sink.port);
    const t0 = performance.now();
    await fill(database, store, accountId, N_MESSAGES, N_MESSAGES);
    log(`  queued in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    // The app in this process, as `npm start` runs it next to the sender; an administrator signed in.
    const app = await createTestApp({}, database);
    const client = app.client();
    await setUpAdmin(client);
    await pageTimes(client, { count: 20 }); // warm-up: views compiled, statements prepared
    const idle = await pageTimes(client, { count: 200 });
    const idleP95 = percentile(idle, 95);
    log(`  GET /messages idle (${N_MESSAGES} messages queued): ${idle.length} requests, median ${fmt(percentile(idle, 50))} ms, p95 ${fmt(idleP95)} ms`);
    const base = await baseline(database, store, sink.port, client, sink.child.pid);
    const mine = await posel(database, store, N_MESSAGES, client, sink.child.pid);
    await rm(app.config.DATA_DIR, { recursive: true, force: true });
    log(`  ratio ${fmt(mine.rate / base, 2)}, page p95 draining/idle ${fmt(mine.pageP95 / idleP95, 2)}  (sink accepted ${await sink.stop()})`);
    return { posel: mine.rate, baseline: base, pageRatio: mine.pageP95 / idleP95 };
  } finally {
    if (sink.child.exitCode === null) sink.child.kill('SIGTERM');
    if (server) await server.drop();
    else await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Peak RSS of a child sender process draining `count` messages. */
async function childRss(count: number): Promise<number> {
  const server = await scratchServerDatabase('posel_bench_send');
  const { store, dir, masterKey } = await scratchStore('posel-bench-send-');
  const sink = await startSink();
  try {
    const accountId = await addAccount(server.database, sink.port);
    await fill(server.database, store, accountId, count, 500, false); // no search vectors: they do not touch the sender's memory
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/sender/testing/child.ts'], {
      env: { ...process.env, POSEL_DB_URL: server.url, POSEL_STORE_DIR: dir, POSEL_MASTER_KEY: masterKey, POSEL_EXIT_WHEN_DRAINED: '1', POSEL_EXIT_WITH_PARENT: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let report: { ms: number; maxRssMb: number } | null = null;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('{')) report = JSON.parse(l);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const r = report as { ms: number; maxRssMb: number } | null;
    if (code !== 0 || !r) throw new Error(`sender child exited with ${code}`);
    const [{ n } = { n: 0 }] = rowsOf<{ n: number }>(await server.database.db.execute(sql`select count(*)::int as n from messages where status = 'sent'`));
    log(`  child drained ${count} (${n} sent) in ${fmt(r.ms / 1000, 1)} s = ${fmt(count / (r.ms / 1000))} msgs/s, peak RSS ${fmt(r.maxRssMb)} MB`);
    return r.maxRssMb;
  } finally {
    if (sink.child.exitCode === null) await sink.stop();
    await server.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

const pg = SKIP.has('postgres') ? null : await throughput('postgres');
const lite = SKIP.has('pglite') ? null : await throughput('pglite');
let rssSmall = NaN;
let rssLarge = NaN;
if (!SKIP.has('rss')) {
  log(`== peak RSS of a sender process: ${RSS_SMALL} vs ${RSS_LARGE} messages (Postgres server)`);
  rssSmall = await childRss(RSS_SMALL);
  rssLarge = await childRss(RSS_LARGE);
}
const ratio = pg ? pg.posel / pg.baseline : NaN;
const liteRatio = lite ? lite.posel / lite.baseline : NaN;
log(
  `result: bench=send posel_msgs_s=${fmt(pg?.posel ?? NaN)} baseline_msgs_s=${fmt(pg?.baseline ?? NaN)} ratio=${fmt(ratio, 2)} pglite_ratio=${fmt(liteRatio, 2)} ` +
    `page_p95_ratio=${fmt(pg?.pageRatio ?? NaN, 2)} pglite_page_p95_ratio=${fmt(lite?.pageRatio ?? NaN, 2)} rss_10k_mb=${fmt(rssSmall)} rss_100k_mb=${fmt(rssLarge)} rss_ratio=${fmt(rssLarge / rssSmall, 2)}`,
);
process.exit(0);
