/**
 * `npm run bench:search`: the communication list and its fulltext search at size (issue 6).
 *
 * On the PostgreSQL server at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/postgres; a fresh
 * database posel_bench_search_<random> is created and dropped at the end) and on embedded PGlite:
 *
 *  1. Generates BENCH_MESSAGES (1,000,000) messages with Czech text in set-based SQL (generate_series over
 *     arrays of names, companies, products and subject patterns; bodies drawn from a pool of 3,000 generated
 *     letters that are also written to a real store, so the snippets decrypt real bodies). The search vector
 *     is built exactly as src/messages/service.ts builds it (subject A, recipients B, body text C), the
 *     body's part once per pooled body. The GIN index is dropped for the load and built afterwards (the
 *     state after a restore), then `vacuum analyze`.
 *  2. Search, p50/p95 over BENCH_RUNS runs, the page as the list shows it (searchMessages, ranked, + its
 *     snippets): a rare word (in about 1 of 50,000 subjects) and a word matching ≥ 10 % of the messages,
 *     each beside the bare unranked match `select message_id from message_search where search @@ q limit 50`
 *     in the same run.
 *  3. The list page (listMessages) at page 1 and page 500 (the cursor of row 25,000) under 20 concurrent
 *     connections, beside the bare `select id … order by created_at desc, id desc limit 50` under the same load.
 *  4. A bulk insert of BENCH_BULK (100,000) more messages through the index as it is (autovacuum off on the
 *     table, so the figures are what a database sees until a vacuum runs: always on PGlite), search p95
 *     again; then `settleMessageSearch` (what Posel runs after bulk generation) and p95 once more.
 *  5. The same on PGlite (in memory) with BENCH_PGLITE_MESSAGES (100,000) and a bulk of a tenth of that; the
 *     list one caller at a time (PGlite is one connection) and with 20 callers queued; ratios to the server.
 *
 * The last line is `result: bench=search … ratio=<common word ranked p95 / its bare match p95, server>`.
 * Env: BENCH_DATABASE_URL, BENCH_MESSAGES, BENCH_PGLITE_MESSAGES, BENCH_BULK, BENCH_RUNS (100), BENCH_SKIP_PGLITE,
 * BENCH_KEEP (keep the server database, to look at plans).
 */
import '../src/threadpool.ts'; // as src/main.ts: 16 libuv threads for the store's reads
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import { openPglite, openPostgres, rowsOf, type Database, type Db } from '../src/db/client.ts';
import { htmlToPlainText } from '../src/mail/html.ts';
import { listMessages, searchMessages, SEARCH_CANDIDATES } from '../src/messages/queries.ts';
import { searchSnippets, searchTsQuery, settleMessageSearch } from '../src/messages/search.ts';
import { asciiFold, prng } from '../src/seed/demo.ts';
import { COMPANY_PREFIX, COMPANY_SUFFIX, FEMALE_FIRST, MALE_FIRST, PERSON_DOMAINS, PRODUCTS, SURNAMES } from '../src/seed/data.ts';
import { generateMasterKey, openKeyRing } from '../src/store/keys.ts';
import { openStore, type Store } from '../src/store/store.ts';

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
const N_SERVER = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const N_PGLITE = Number(process.env.BENCH_PGLITE_MESSAGES ?? 100_000);
const N_BULK = Number(process.env.BENCH_BULK ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 100);
const CONCURRENCY = 20;
const PAGE = 50;
const DEEP_PAGE = 500;
/** What a user types: the rare word is in ~1 of 50,000 subjects; the common one in well over 10 % of messages. */
const RARE = 'kolovratek';
const COMMON = 'faktura';
const RARE_EVERY = 50_000;
const BODY_POOL = 3000;

const ms = (n: number) => `${n.toFixed(2)} ms`;
const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
interface Figure {
  p50: number;
  p95: number;
  n: number;
}
const fig = (times: number[], n: number): Figure => ({ p50: quantile(times, 0.5), p95: quantile(times, 0.95), n });
const show = (f: Figure) => `p50 ${ms(f.p50).padStart(10)}  p95 ${ms(f.p95).padStart(10)}  (${f.n} rows)`;

// ---------------------------------------------------------------------------------------------------
// Czech text

const GREETINGS = ['Dobrý den,', 'Vážený pane,', 'Vážená paní,', 'Dobrý den, pane inženýre,', 'Zdravím,', 'Vážení obchodní partneři,'];
const SIGN_OFFS = ['S pozdravem', 'S přátelským pozdravem', 'Děkuji a přeji hezký den', 'S úctou', 'Hezký den přeje'];
const SENTENCES = [
  'v příloze Vám zasíláme fakturu za dodané zboží se splatností čtrnáct dní.',
  'děkujeme za Vaši objednávku, zboží expedujeme během zítřejšího dne.',
  'dovolujeme si Vás upozornit, že faktura je již týden po splatnosti.',
  'prosíme o kontrolu dodacího listu a potvrzení převzetí zásilky.',
  'zasíláme cenovou nabídku na požadované zboží včetně dopravy.',
  'rádi bychom Vás pozvali na náš stánek na veletrhu v Brně.',
  'termín montáže jsme po dohodě s technikem posunuli na příští týden.',
  'reklamaci jsme přijali a vadný kus Vám obratem vyměníme.',
  'v návaznosti na včerejší telefonát posílám slíbené podklady.',
  'prosím o zaslání podepsané smlouvy zpět do konce měsíce.',
  'od prvního ledna se mění náš ceník, nové ceny najdete v příloze.',
  'objednané zboží je skladem a můžete si jej vyzvednout na prodejně.',
  'platbu jsme obdrželi, děkujeme za spolupráci.',
  'dodávka bude rozdělena do dvou částí kvůli vyprodanému skladu.',
  'zálohová faktura byla uhrazena, objednávku nyní připravujeme.',
  'servisní technik dorazí ve čtvrtek mezi osmou a desátou hodinou.',
  'posíláme fotografie poškozeného obalu pro potřeby přepravce.',
  'školení obsluhy proběhne v zasedací místnosti ve druhém patře.',
  'v případě dotazů se na mě prosím neváhejte obrátit.',
  'potvrzujeme přijetí Vaší objednávky a předpokládaný termín dodání.',
  'omlouváme se za zpoždění, způsobil je výpadek u našeho dodavatele.',
  'k dokončení zakázky potřebujeme ještě rozměry místnosti.',
  'vyúčtování za uplynulé čtvrtletí najdete v zákaznickém portálu.',
  'dobropis k vrácenému zboží jsme vystavili dnes ráno.',
  'nabídka platí do konce měsíce nebo do vyprodání zásob.',
  'na schůzce jsme se dohodli na pravidelných měsíčních dodávkách.',
  'žádáme o doplnění IČO a fakturační adresy pro vystavení dokladu.',
  'zboží bylo předáno přepravní společnosti, sledovací číslo je v příloze.',
  'revize elektroinstalace je naplánována na pondělí dopoledne.',
  'děkujeme za zpětnou vazbu, Vaše připomínky předáme vedení.',
  'prosíme o úhradu faktury na účet uvedený v záhlaví dokladu.',
  'kvůli svátkům bude naše prodejna ve středu zavřená.',
  'žluťoučký kůň z reklamní kampaně je opět skladem.',
  'smlouvu o dílo jsme upravili podle Vašich požadavků.',
  'přikládáme protokol o předání a převzetí díla.',
  'termín uzávěrky objednávek na tento týden je ve čtvrtek ve dvanáct.',
];
const SUBJECT_PATTERNS = [
  'Faktura č. {n}',
  'Objednávka {n} – potvrzení',
  'Nabídka: {p}',
  'Upomínka – neuhrazená faktura {n}',
  'Dotaz k objednávce {n}',
  'Pozvánka na veletrh {c}',
  'Reklamace: {p}',
  'Smlouva {n} k podpisu',
  'Dodací list {n}',
  'Termín montáže – {c}',
  'Změna ceníku od ledna',
  'Servisní zásah u {c}',
];

/** A pg array literal for one parameter (both drivers take it). */
function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function people(count: number, seed: number) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const names: string[] = [];
  const emails: string[] = [];
  for (let i = 0; i < count; i++) {
    const female = rnd() < 0.5;
    const first = female ? pick(FEMALE_FIRST) : pick(MALE_FIRST);
    const last = pick(SURNAMES)[female ? 1 : 0];
    names.push(`${first} ${last}`);
    emails.push(`${asciiFold(first)}.${asciiFold(last)}${i % 7 === 0 ? i : ''}@${pick(PERSON_DOMAINS)}`);
  }
  return { names, emails };
}

function companies(): string[] {
  const out: string[] = [];
  for (const p of COMPANY_PREFIX) for (const s of COMPANY_SUFFIX) out.push(`${p}${s} s.r.o.`);
  return out;
}

/** Writes the body pool to the store and to a scratch table with its (weight C) part of the search vector. */
async function writeBodyPool(db: Db, store: Store): Promise<void> {
  const rnd = prng(20261122);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const { names } = people(200, 77);
  await db.execute(sql`drop table if exists bench_bodies`);
  await db.execute(sql`create table bench_bodies (k int primary key, blob text not null, body_text text not null, vec tsvector)`);
  for (let start = 0; start < BODY_POOL; start += 500) {
    const ks: string[] = [];
    const blobs: string[] = [];
    const texts: string[] = [];
    for (let k = start; k < Math.min(BODY_POOL, start + 500); k++) {
      const count = 2 + Math.floor(rnd() * 5);
      const paragraphs: string[] = [];
      for (let i = 0; i < count; i++) {
        const s = pick(SENTENCES);
        paragraphs.push(`<p>${s[0]!.toUpperCase()}${s.slice(1)}</p>`);
      }
      const html = `<p>${pick(GREETINGS)}</p>${paragraphs.join('')}<p>${pick(SIGN_OFFS)}<br>${pick(names)}</p>`;
      ks.push(String(k));
      blobs.push(await store.putBlob(html));
      texts.push(htmlToPlainText(html));
    }
    await db.execute(sql`
      insert into bench_bodies (k, blob, body_text)
      select * from unnest(${`{${ks.join(',')}}`}::int[], ${pgArray(blobs)}::text[], ${pgArray(texts)}::text[])`);
  }
  await db.execute(sql`update bench_bodies set vec = setweight(to_tsvector('posel_unaccent'::regconfig, body_text), 'C')`);
}

/**
 * The search vectors of the messages after id `afterId`, built as src/messages/service.ts builds them: subject
 * A, recipient's name and address B, the pooled body's text C (one blob is one body, so one vector).
 */
function insertSearch(afterId: number): SQL {
  return sql`
    insert into message_search (message_id, search)
    select m.id,
           setweight(to_tsvector('posel_unaccent'::regconfig, m.subject), 'A')
             || setweight(to_tsvector('posel_unaccent'::regconfig, p.who || ' ' || translate(p.who, '@.-_+', '     ')), 'B')
             || b.vec
      from messages m
      cross join lateral (select (m.to_addrs -> 0 ->> 'name') || ' ' || m.recipients as who) p
      join (select distinct on (blob) blob, vec from bench_bodies) b on b.blob = m.body_blob
     where m.id > ${afterId}`;
}

/** Messages first..last and their search vectors. */
async function insertBatch(db: Db, first: number, last: number, total: number, startAt: string): Promise<void> {
  const [{ max }] = rowsOf<{ max: number | null }>(await db.execute(sql`select max(id) as max from messages`)) as [{ max: number | null }];
  await db.execute(insertMessages(first, last, total, startAt));
  await db.execute(insertSearch(Number(max ?? 0)));
}

/**
 * Inserts messages first..last (created_at spread over two years up to now, in id order), in one
 * set-based statement. Subject, recipients and body come from the arrays by a hash of the row number.
 */
function insertMessages(first: number, last: number, total: number, startAt: string): SQL {
  const { names, emails } = people(5000, 42);
  const products = PRODUCTS.map((p) => p[0]);
  return sql`
    insert into messages (status, message_id_header, subject, to_addrs, recipients, body_blob, size_bytes, created_at, updated_at, sent_at)
    select s.status, '<bench' || g || '.' || ${randomBytes(4).toString('hex')} || '@posel.invalid>', s.subject,
           jsonb_build_array(jsonb_build_object('address', s.email, 'name', s.name)), s.email, b.blob, 900,
           s.at, s.at, case when s.status = 'sent' then s.at + interval '2 minutes' end
      from generate_series(${first}::int, ${last}::int) g
      cross join lateral (select abs(hashint4(g)) as h1, abs(hashint4(g + 1000000007)) as h2, abs(hashint4(-g)) as h3) r
      cross join lateral (
        select (${startAt}::timestamptz + (g - ${first}::int) * (interval '730 days' / ${total}::int)) as at,
               case when r.h3 % 100 < 85 then 'sent' when r.h3 % 100 < 90 then 'draft' when r.h3 % 100 < 95 then 'failed' else 'queued' end as status,
               (${pgArray(names)}::text[])[1 + r.h2 % 5000] as name,
               (${pgArray(emails)}::text[])[1 + r.h2 % 5000] as email,
               replace(replace(replace((${pgArray(SUBJECT_PATTERNS)}::text[])[1 + r.h1 % ${SUBJECT_PATTERNS.length}],
                 '{n}', '2026-' || lpad((r.h3 % 100000)::text, 5, '0')),
                 '{p}', (${pgArray(products)}::text[])[1 + r.h2 % ${products.length}]),
                 '{c}', (${pgArray(companies())}::text[])[1 + r.h3 % ${companies().length}])
                 || case when r.h1 % ${RARE_EVERY} = 7 then ' – kolovrátek' else '' end as subject) s
      join bench_bodies b on b.k = r.h2 % ${BODY_POOL}`;
}

async function generate(db: Db, store: Store, n: number, label: string): Promise<void> {
  const started = performance.now();
  await writeBodyPool(db, store);
  // The initial load without the GIN index, which is then built in one pass (the state after a restore).
  await db.execute(sql`drop index message_search_idx`);
  const batch = 100_000;
  const [{ at }] = rowsOf<{ at: string }>(await db.execute(sql`select (now() - interval '730 days')::text as at`)) as [{ at: string }];
  for (let first = 1; first <= n; first += batch) {
    await insertBatch(db, first, Math.min(n, first + batch - 1), n + N_BULK, at);
    process.stdout.write(`\r${label}: ${Math.min(n, first + batch - 1)} messages`);
  }
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local maintenance_work_mem = '256MB'`);
    await tx.execute(sql`create index message_search_idx on message_search using gin (search)`);
  });
  await db.execute(sql`vacuum analyze messages`);
  await db.execute(sql`vacuum analyze message_search`);
  console.log(`\r${label}: ${n} messages generated, GIN built, vacuum analyze: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------------
// Measurements

/** The search page as the list renders it: one ranked page of 50 and its snippets. */
async function searchPage(db: Db, store: Store, q: string): Promise<number> {
  const query = searchTsQuery(q)!;
  const found = await searchMessages(db, { query, page: 1, limit: PAGE });
  const snippets = await searchSnippets(db, store, found.rows, query);
  if (found.rows.length && !snippets.size) throw new Error('no snippets');
  return found.rows.length;
}

/** The bare unranked match: what any search costs at least. */
async function bareMatch(db: Db, q: string): Promise<number> {
  return rowsOf(await db.execute(sql`select message_id from message_search where search @@ ${searchTsQuery(q)!} limit 50`)).length;
}

async function sequential(fn: () => Promise<number>, runs = RUNS): Promise<Figure> {
  for (let i = 0; i < 5; i++) await fn();
  const times: number[] = [];
  let n = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    n = await fn();
    times.push(performance.now() - t0);
  }
  return fig(times, n);
}

/** `CONCURRENCY` callers at once, each running `fn` `runs` times; every call's latency counts. */
async function concurrent(fn: () => Promise<number>, runs = RUNS): Promise<Figure> {
  await Promise.all(Array.from({ length: CONCURRENCY }, () => fn()));
  const times: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        n = await fn();
        times.push(performance.now() - t0);
      }
    }),
  );
  return fig(times, n);
}

async function count(db: Db, q: string): Promise<number> {
  return Number(rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from message_search where search @@ ${searchTsQuery(q)!}`))[0]!.n);
}

async function deepCursor(db: Db): Promise<{ at: string; id: number }> {
  const [row] = rowsOf<{ at: string; id: number }>(
    await db.execute(sql`
      select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || 'Z' as at, id from messages
       order by created_at desc, id desc offset ${(DEEP_PAGE - 1) * PAGE - 1} limit 1`),
  );
  if (!row) throw new Error(`fewer than ${(DEEP_PAGE - 1) * PAGE} messages: no page ${DEEP_PAGE}`);
  return row;
}

const bareList = (db: Db) => async () => rowsOf(await db.execute(sql`select id from messages order by created_at desc, id desc limit 50`)).length;

interface SearchFigures {
  rare: Figure;
  rareBare: Figure;
  common: Figure;
  commonBare: Figure;
}

async function measureSearch(db: Db, store: Store, label: string): Promise<SearchFigures> {
  const rare = await sequential(() => searchPage(db, store, RARE));
  const rareBare = await sequential(() => bareMatch(db, RARE));
  const common = await sequential(() => searchPage(db, store, COMMON));
  const commonBare = await sequential(() => bareMatch(db, COMMON));
  // Where the common word's time goes: the ranked query alone, and the snippets of its 50 rows alone.
  const query = searchTsQuery(COMMON)!;
  const page = await searchMessages(db, { query, page: 1, limit: PAGE });
  const commonQuery = await sequential(async () => (await searchMessages(db, { query, page: 1, limit: PAGE })).rows.length, Math.ceil(RUNS / 2));
  const commonSnippets = await sequential(async () => (await searchSnippets(db, store, page.rows, query)).size, Math.ceil(RUNS / 2));
  console.log(`  ${label}`);
  console.log(`    rare "${RARE}", ranked page + snippets:   ${show(rare)}   ratio ${(rare.p95 / rareBare.p95).toFixed(2)}`);
  console.log(`      bare unranked match, limit 50:        ${show(rareBare)}`);
  console.log(`    common "${COMMON}", ranked page + snippets: ${show(common)}   ratio ${(common.p95 / commonBare.p95).toFixed(2)}`);
  console.log(`      bare unranked match, limit 50:        ${show(commonBare)}`);
  console.log(`      of which searchMessages alone:        ${show(commonQuery)}; searchSnippets alone: ${show(commonSnippets)}`);
  return { rare, rareBare, common, commonBare };
}

interface ListFigures {
  first: Figure;
  deep: Figure;
  bare: Figure;
}

async function measureList(db: Db, how: (fn: () => Promise<number>) => Promise<Figure>, label: string): Promise<ListFigures> {
  const before = await deepCursor(db);
  const first = await how(async () => (await listMessages(db, { limit: PAGE })).rows.length);
  const deep = await how(async () => (await listMessages(db, { before, limit: PAGE })).rows.length);
  const bare = await how(bareList(db));
  const alone = await sequential(async () => (await listMessages(db, { before, limit: PAGE })).rows.length);
  console.log(`  ${label}`);
  console.log(`    listMessages page 1:                    ${show(first)}`);
  console.log(`    listMessages page ${DEEP_PAGE} (cursor ${before.at}): ${show(deep)}`);
  console.log(`    bare select id … order by created_at desc, id desc limit 50: ${show(bare)}`);
  console.log(`    (page ${DEEP_PAGE} one call at a time: ${show(alone)})`);
  return { first, deep, bare };
}

/** Bulk insert through the index as it stands, search again, settle, search once more. */
async function bulkThenSearch(db: Db, store: Store, n: number, bulk: number, label: string) {
  const [{ at }] = rowsOf<{ at: string }>(await db.execute(sql`select (max(created_at) + interval '1 second')::text as at from messages`)) as [{ at: string }];
  const t0 = performance.now();
  for (let first = n + 1; first <= n + bulk; first += 10_000) {
    await insertBatch(db, first, Math.min(n + bulk, first + 9_999), n + N_BULK, at);
  }
  const insertMs = performance.now() - t0;
  console.log(`  ${label}: bulk insert of ${bulk} more messages (GIN fastupdate on, autovacuum off for the table) in ${(insertMs / 1000).toFixed(1)} s; pending list ${await pendingPages(db)}`);
  const after = await measureSearch(db, store, `search right after the bulk insert (${n + bulk} messages):`);
  const t1 = performance.now();
  await settleMessageSearch(db);
  const settleMs = performance.now() - t1;
  console.log(`  settleMessageSearch (gin_clean_pending_list + analyze): ${(settleMs / 1000).toFixed(2)} s; pending list ${await pendingPages(db)}`);
  const settled = await measureSearch(db, store, 'search after settleMessageSearch:');
  return { after, settled, insertMs, settleMs };
}

/** The GIN pending list's size, when pageinspect is available (informational). */
async function pendingPages(db: Db): Promise<string> {
  try {
    const [row] = rowsOf<{ n_pending_pages: number; n_pending_tuples: number }>(
      await db.execute(sql`select n_pending_pages, n_pending_tuples from gin_metapage_info(get_raw_page('message_search_idx', 0))`),
    );
    return `${row!.n_pending_pages} pages / ${row!.n_pending_tuples} tuples`;
  } catch {
    return '(pageinspect not available)';
  }
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const adminSql = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  const dbName = `posel_bench_search_${randomBytes(4).toString('hex')}`;
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'posel-bench-search-'));
  let server: Database | null = null;
  let pglite: Database | null = null;
  await adminSql.unsafe(`create database "${dbName}"`);
  try {
    const store = await openStore({ dir: path.join(tmp, 'store'), keyRing: await openKeyRing({ masterKey: generateMasterKey() }) });
    console.log(`server database: ${dbName} (dropped at the end); candidate set for ranking: the newest ${SEARCH_CANDIDATES} matches`);
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) at the start`);
    server = openPostgres(url.toString(), { max: CONCURRENCY });
    await server.migrate();
    await server.db.execute(sql`create extension if not exists pageinspect`).catch(() => {});
    await generate(server.db, store, N_SERVER, 'server');
    await server.db.execute(sql`alter table messages set (autovacuum_enabled = off)`);
    await server.db.execute(sql`alter table message_search set (autovacuum_enabled = off)`);
    const rareCount = await count(server.db, RARE);
    const commonCount = await count(server.db, COMMON);
    console.log(`  "${RARE}" matches ${rareCount}, "${COMMON}" matches ${commonCount} of ${N_SERVER}`);
    if (commonCount < N_SERVER / 10) throw new Error(`"${COMMON}" should match ≥ 10 % of the messages`);

    const search = await measureSearch(server.db, store, `server, ${N_SERVER} messages, ${RUNS} runs each, one at a time:`);
    const list = await measureList(server.db, concurrent, `server list, ${CONCURRENCY} concurrent connections × ${RUNS} calls:`);
    const bulk = await bulkThenSearch(server.db, store, N_SERVER, N_BULK, 'server');
    await server.close();
    server = null;

    let pg: { search: SearchFigures; list: ListFigures; listQueued: ListFigures; bulk: Awaited<ReturnType<typeof bulkThenSearch>> } | null = null;
    if (!process.env.BENCH_SKIP_PGLITE) {
      pglite = await openPglite(null);
      await pglite.migrate();
      const pgStore = await openStore({ dir: path.join(tmp, 'store-pglite'), keyRing: await openKeyRing({ masterKey: generateMasterKey() }) });
      await generate(pglite.db, pgStore, N_PGLITE, 'PGlite (in memory)');
      console.log(`  "${RARE}" matches ${await count(pglite.db, RARE)}, "${COMMON}" matches ${await count(pglite.db, COMMON)} of ${N_PGLITE}`);
      const pgSearch = await measureSearch(pglite.db, pgStore, `PGlite, ${N_PGLITE} messages, ${RUNS} runs each:`);
      const pgList = await measureList(pglite.db, sequential, 'PGlite list, one caller:');
      const pgListQueued = await measureList(pglite.db, (fn) => concurrent(fn, Math.ceil(RUNS / 4)), `PGlite list, ${CONCURRENCY} callers queued on its one connection:`);
      const pgBulk = await bulkThenSearch(pglite.db, pgStore, N_PGLITE, Math.round(N_PGLITE / 10), 'PGlite');
      pg = { search: pgSearch, list: pgList, listQueued: pgListQueued, bulk: pgBulk };
      console.log('  PGlite / server (p95):');
      console.log(
        `    rare ${(pgSearch.rare.p95 / search.rare.p95).toFixed(2)}  common ${(pgSearch.common.p95 / search.common.p95).toFixed(2)}` +
          `  list page 1 ${(pgList.first.p95 / list.first.p95).toFixed(2)}  list page ${DEEP_PAGE} ${(pgList.deep.p95 / list.deep.p95).toFixed(2)} (PGlite one caller vs server under ${CONCURRENCY})`,
      );
    }

    console.log(`machine load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
    const verdict = (value: number, goal: number) => (value <= goal ? 'meets' : 'MISSES');
    console.log('targets (server):');
    console.log(`  rare p95 ${ms(search.rare.p95)} ≤ 50 ms: ${verdict(search.rare.p95, 50)}; common p95 ${ms(search.common.p95)} ≤ 150 ms: ${verdict(search.common.p95, 150)}`);
    console.log(`  list p95 page 1 ${ms(list.first.p95)}, page ${DEEP_PAGE} ${ms(list.deep.p95)} ≤ 30 ms: ${verdict(Math.max(list.first.p95, list.deep.p95), 30)}`);
    console.log(
      `  after bulk insert, before settling: rare ×${(bulk.after.rare.p95 / search.rare.p95).toFixed(2)}, common ×${(bulk.after.common.p95 / search.common.p95).toFixed(2)};` +
        ` settled: rare ×${(bulk.settled.rare.p95 / search.rare.p95).toFixed(2)}, common ×${(bulk.settled.common.p95 / search.common.p95).toFixed(2)} (goal ≤ 1.5)`,
    );
    const r2 = (x: number) => x.toFixed(2);
    console.log(
      `result: bench=search messages=${N_SERVER} candidates=${SEARCH_CANDIDATES} rare_p50_ms=${r2(search.rare.p50)} rare_p95_ms=${r2(search.rare.p95)} rare_bare_p95_ms=${r2(search.rareBare.p95)} rare_ratio=${r2(search.rare.p95 / search.rareBare.p95)}` +
        ` common_matches=${commonCount} common_p50_ms=${r2(search.common.p50)} common_p95_ms=${r2(search.common.p95)} common_bare_p95_ms=${r2(search.commonBare.p95)}` +
        ` list1_p95_ms=${r2(list.first.p95)} list${DEEP_PAGE}_p95_ms=${r2(list.deep.p95)} list_bare_p95_ms=${r2(list.bare.p95)}` +
        ` bulk=${N_BULK} after_bulk_rare_p95_ms=${r2(bulk.after.rare.p95)} after_bulk_common_p95_ms=${r2(bulk.after.common.p95)} settled_rare_p95_ms=${r2(bulk.settled.rare.p95)} settled_common_p95_ms=${r2(bulk.settled.common.p95)}` +
        (pg
          ? ` pglite_messages=${N_PGLITE} pglite_rare_p95_ms=${r2(pg.search.rare.p95)} pglite_common_p95_ms=${r2(pg.search.common.p95)} pglite_list1_p95_ms=${r2(pg.list.first.p95)} pglite_list${DEEP_PAGE}_p95_ms=${r2(pg.list.deep.p95)}` +
            ` pglite_after_bulk_rare_p95_ms=${r2(pg.bulk.after.rare.p95)} pglite_settled_rare_p95_ms=${r2(pg.bulk.settled.rare.p95)}` +
            ` pglite_server_ratio_common=${r2(pg.search.common.p95 / search.common.p95)}`
          : '') +
        ` ratio=${r2(search.common.p95 / search.commonBare.p95)}`,
    );
  } finally {
    await pglite?.close().catch(() => {});
    await server?.close().catch(() => {});
    if (process.env.BENCH_KEEP) console.log(`kept database ${dbName} (BENCH_KEEP)`);
    else await adminSql.unsafe(`drop database if exists "${dbName}" with (force)`);
    await adminSql.end();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
