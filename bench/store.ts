/**
 * `npm run bench:store`: the encrypted, compressed message store (src/store/) against plain files.
 *
 *  0. Compression levels: ratio and one-thread speed of raw deflate at levels 1, 3 and 6 on the bodies
 *     below (how the store's level, `COMPRESSION_LEVEL`, was chosen).
 *  1. 10,000 message bodies of ~20 KB (Czech HTML, each different) written with `store.put` into a fresh
 *     store (which creates a fan-out folder for nearly every body) and read back with `store.get`, 16 in
 *     flight; and written into a "warm" store, one whose fan-out folders exist already (a store in use,
 *     after a restart). Beside them, in the same run, the same bytes written three ways, also 16 in flight,
 *     into 256 ready folders:
 *       - `fs.writeFile` (read back with `fs.readFile`): the baseline of the goal (store ≥ 0.5× of it);
 *       - `writeFile` + fsync: what durability costs at the least;
 *       - temp file + fsync + rename + fsync of the folder: the durability protocol the store follows
 *         (a crash never leaves half an object under its name), without compression or encryption.
 *     MB/s are of the plain bytes; the order of the five rotates between runs, each starts after a `sync`;
 *     median of BENCH_RUNS (3).
 *     Compression = bytes of the store's object files / plain bytes.
 *  2. Deduplication: 10,000 draft messages in a fresh PGlite database, each with a short body and the
 *     same 2 MB attachment, stored with `putBlob` every time (as the composer does) plus the
 *     `message_attachments` row. Reports how much the store folder grew for the attachments (phase 2),
 *     after the drafts and their bodies were written (phase 1).
 *
 * The last line is `result: bench=store write_mb_s=… read_mb_s=… baseline_write_mb_s=… ratio=…
 * fsync_baseline_mb_s=… fsync_ratio=… compression=… dedup_growth_mb=…`, where ratio = store write MB/s /
 * writeFile MB/s and fsync_ratio = store write MB/s / (writeFile + fsync) MB/s, both for the fresh store
 * (the worst case; the warm store's figures are printed above it).
 * Env: BENCH_BODIES (10000), BENCH_RUNS (3), BENCH_DRAFTS (10000), BENCH_DIR (os.tmpdir()); the libuv
 * thread pool (UV_THREADPOOL_SIZE, default 4) runs every file operation and fsync, so it is printed too.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { sql } from 'drizzle-orm';
import { openPglite, rowsOf } from '../src/db/client.ts';
import { messageAttachments, messages } from '../src/db/schema/index.ts';
import { generateMasterKey, openKeyRing } from '../src/store/keys.ts';
import { COMPRESSION_LEVEL } from '../src/store/format.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { prng } from '../src/seed/demo.ts';

const N_BODIES = Number(process.env.BENCH_BODIES ?? 10_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const N_DRAFTS = Number(process.env.BENCH_DRAFTS ?? 10_000);
const CONCURRENCY = 16;
const BASE_DIR = process.env.BENCH_DIR ?? os.tmpdir();

const MB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1) => n.toFixed(d);

// --- realistic bodies ------------------------------------------------------------------------------

/** A small deterministic PRNG, so every run writes the same bodies. */
const FIRST = ['Jana', 'Petr', 'Lucie', 'Tomáš', 'Eva', 'Martin', 'Kateřina', 'Jiří', 'Zuzana', 'Ondřej', 'Hana', 'Lukáš'];
const LAST = ['Nováková', 'Dvořák', 'Černá', 'Procházka', 'Kučerová', 'Veselý', 'Horáková', 'Němec', 'Marková', 'Pokorný'];
const COMPANIES = ['Stavby Brno s.r.o.', 'Pekárna U Zlatého klasu', 'Autoservis Kolín', 'Truhlářství Dřevo a syn', 'Účetní kancelář Jistota', 'Zahradnictví Květ'];
const SENTENCES = [
  'děkujeme za Vaši objednávku a potvrzujeme její přijetí.',
  'v příloze Vám zasíláme cenovou nabídku na požadované zboží včetně dopravy.',
  'rádi bychom Vás upozornili, že faktura č. {n} je po splatnosti.',
  'termín dodání jsme po dohodě se skladem posunuli na {d}.',
  'pokud budete mít jakékoli dotazy, neváhejte nás kontaktovat na telefonu +420 {p}.',
  'součástí dodávky je i montáž a odvoz starého zařízení zdarma.',
  'připomínáme, že smlouva o servisu končí {d}; prodloužení můžete potvrdit odpovědí na tento e-mail.',
  'zboží bude připraveno k vyzvednutí na naší provozovně v Pardubicích.',
  'na základě Vašeho požadavku jsme upravili množství u položky {n}.',
  'omlouváme se za zpoždění, které bylo způsobeno výpadkem u našeho dodavatele.',
  'ceny jsou uvedeny bez DPH; k celkové částce bude připočtena daň ve výši 21 %.',
  'žluťoučký kůň úpěl ďábelské ódy, ale objednávku jsme vyřídili včas.',
];
const ITEMS = ['Šroub M8×40', 'Deska dubová 18 mm', 'Lepidlo PUR 0,5 l', 'Barva bílá matná', 'Pant nábytkový', 'Kolečko otočné', 'Hmoždinka 8 mm', 'Lišta hliníková'];

function body(i: number, targetBytes = 20 * 1024): string {
  const r = prng(i + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const n = () => String(Math.floor(r() * 900000) + 100000);
  const d = () => `${1 + Math.floor(r() * 28)}. ${1 + Math.floor(r() * 12)}. 2026`;
  const p = () => `${600 + Math.floor(r() * 99)} ${100 + Math.floor(r() * 899)} ${100 + Math.floor(r() * 899)}`;
  const name = `${pick(FIRST)} ${pick(LAST)}`;
  const parts = [`<div><p>Dobrý den, ${name},</p>`];
  let size = 0;
  while (size < targetBytes - 1500) {
    if (r() < 0.15) {
      const rows = 3 + Math.floor(r() * 8);
      let table = '<table><thead><tr><th>Položka</th><th>Množství</th><th>Cena za kus</th><th>Celkem</th></tr></thead><tbody>';
      for (let k = 0; k < rows; k++) {
        const q = 1 + Math.floor(r() * 40);
        const price = Math.floor(r() * 500000) / 100;
        table += `<tr><td>${pick(ITEMS)}</td><td>${q} ks</td><td>${price.toFixed(2).replace('.', ',')} Kč</td><td>${(q * price).toFixed(2).replace('.', ',')} Kč</td></tr>`;
      }
      parts.push(`${table}</tbody></table>`);
    } else {
      const count = 2 + Math.floor(r() * 4);
      const text = Array.from({ length: count }, () => pick(SENTENCES).replace('{n}', n()).replace('{d}', d()).replace('{p}', p()));
      const s = text.map((x) => x[0]!.toUpperCase() + x.slice(1)).join(' ');
      parts.push(r() < 0.2 ? `<blockquote><p>${s}</p></blockquote>` : `<p>${s}</p>`);
    }
    size = Buffer.byteLength(parts.join(''));
  }
  parts.push(`<p>S pozdravem<br><strong>${pick(FIRST)} ${pick(LAST)}</strong><br>${pick(COMPANIES)}<br>tel. +420 ${p()}</p></div>`);
  return parts.join('\n');
}

// --- helpers ------------------------------------------------------------------------------------------

/** Runs `work(i)` for i in [0, n) with `CONCURRENCY` in flight. */
async function pool(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        await work(i);
      }
    }),
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** Disk usage of a folder in bytes (`du -sk`: blocks actually used, which is what fills a disk). */
function du(dir: string): number {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]) * 1024;
}

/** Sum of file sizes under a folder (apparent bytes, independent of the file system's block size). */
async function apparentBytes(dir: string, include: (name: string) => boolean = () => true): Promise<number> {
  let sum = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && include(entry.name)) sum += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return sum;
}

async function writeSynced(file: string, data: Buffer): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function newStore(dir: string): Promise<Store> {
  return openStore({ dir, keyRing: await openKeyRing({ masterKey: generateMasterKey() }) });
}

// --- 1. throughput ---------------------------------------------------------------------------------------

type Side = 'store' | 'warm' | 'plain' | 'synced' | 'atomic';
const SIDES: Side[] = ['store', 'warm', 'plain', 'synced', 'atomic'];

/** Lets the disk catch up with what earlier phases left in the page cache, so no phase pays for another. */
function settle(): void {
  if (process.platform !== 'win32') execFileSync('sync');
}

/** The fan-out folder the store uses for `id` (`ab/cd`, from a SHA-256 of the id; see src/store/store.ts). */
function fanoutOf(id: string): string {
  const hash = createHash('sha256').update(id).digest('hex');
  return path.join(hash.slice(0, 2), hash.slice(2, 4));
}

/** Temp file, fsync, rename, fsync of the folder: the durability protocol the store follows, without its work. */
async function writeAtomic(file: string, data: Buffer): Promise<void> {
  const temp = `${file}.tmp`;
  await writeSynced(temp, data);
  await rename(temp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function throughput(root: string, bodies: Buffer[]) {
  const plainBytes = bodies.reduce((s, b) => s + b.length, 0);
  const mbs = (s: number) => plainBytes / MB / s;
  const results = { storeWrite: [] as number[], storeRead: [] as number[], warmWrite: [] as number[], plainWrite: [] as number[], plainRead: [] as number[], syncedWrite: [] as number[], atomicWrite: [] as number[], compression: [] as number[] };
  for (let run = 1; run <= RUNS; run++) {
    const dirOf = (side: Side) => path.join(root, `${side}-${run}`);
    // A fresh store creates a fan-out folder for nearly every body (10,000 ids over 65,536 folders): that
    // cost is part of its figure. The "warm" store is one in use, after a restart: the folders its ids go
    // to exist already (made before the clock starts). The baselines get 256 ready folders.
    const store = await newStore(dirOf('store'));
    const warm = await newStore(dirOf('warm'));
    for (let i = 0; i < N_BODIES; i++) await mkdir(path.join(dirOf('warm'), fanoutOf(`msg_${i}`)), { recursive: true });
    const plainPath = (side: Side, i: number) => path.join(dirOf(side), String(i % 256).padStart(3, '0'), `m${i}.html`);
    for (const side of ['plain', 'synced', 'atomic'] as const) {
      for (let k = 0; k < 256; k++) await mkdir(path.join(dirOf(side), String(k).padStart(3, '0')), { recursive: true });
    }

    // Rotate the order between runs so no side always gets the warmer page cache or the quieter disk.
    const order = SIDES.map((_, k) => SIDES[(k + run - 1) % SIDES.length]!);
    const seconds: Partial<Record<Side, number>> = {};
    let storeRead = 0;
    let plainRead = 0;
    for (const side of order) {
      settle();
      if (side === 'warm') {
        seconds.warm = await timed(() => pool(N_BODIES, (i) => warm.put(`msg_${i}`, bodies[i]!)));
      } else if (side === 'store') {
        seconds.store = await timed(() => pool(N_BODIES, (i) => store.put(`msg_${i}`, bodies[i]!)));
        storeRead = await timed(() =>
          pool(N_BODIES, async (i) => {
            const back = await store.get(`msg_${i}`);
            if (back.length !== bodies[i]!.length) throw new Error(`body ${i} came back with ${back.length} bytes`);
          }),
        );
        results.compression.push((await apparentBytes(dirOf('store'), (name) => /^msg_\d+$/.test(name))) / plainBytes);
      } else if (side === 'plain') {
        seconds.plain = await timed(() => pool(N_BODIES, (i) => writeFile(plainPath('plain', i), bodies[i]!)));
        plainRead = await timed(() =>
          pool(N_BODIES, async (i) => {
            const back = await readFile(plainPath('plain', i));
            if (back.length !== bodies[i]!.length) throw new Error(`file ${i} came back short`);
          }),
        );
      } else if (side === 'synced') {
        seconds.synced = await timed(() => pool(N_BODIES, (i) => writeSynced(plainPath('synced', i), bodies[i]!)));
      } else {
        seconds.atomic = await timed(() => pool(N_BODIES, (i) => writeAtomic(plainPath('atomic', i), bodies[i]!)));
      }
      settle();
      await rm(dirOf(side), { recursive: true, force: true });
    }
    results.storeWrite.push(mbs(seconds.store!));
    results.storeRead.push(mbs(storeRead));
    results.warmWrite.push(mbs(seconds.warm!));
    results.plainWrite.push(mbs(seconds.plain!));
    results.plainRead.push(mbs(plainRead));
    results.syncedWrite.push(mbs(seconds.synced!));
    results.atomicWrite.push(mbs(seconds.atomic!));
    console.log(
      `run ${run} (${order.join(', ')}): store write ${fmt(mbs(seconds.store!))} MB/s, read ${fmt(mbs(storeRead))} MB/s, warm store write ${fmt(mbs(seconds.warm!))} MB/s | ` +
        `writeFile ${fmt(mbs(seconds.plain!))} MB/s, readFile ${fmt(mbs(plainRead))} MB/s | writeFile+fsync ${fmt(mbs(seconds.synced!))} MB/s | ` +
        `temp+fsync+rename+fsync dir ${fmt(mbs(seconds.atomic!))} MB/s`,
    );
  }
  return {
    storeWrite: median(results.storeWrite),
    storeRead: median(results.storeRead),
    warmWrite: median(results.warmWrite),
    plainWrite: median(results.plainWrite),
    plainRead: median(results.plainRead),
    syncedWrite: median(results.syncedWrite),
    atomicWrite: median(results.atomicWrite),
    compression: median(results.compression),
  };
}

// --- compression levels ----------------------------------------------------------------------------------

/** Ratio and speed of raw deflate at a few levels on the same bodies, on this thread (median of 3 passes). */
function compressionLevels(bodies: Buffer[]) {
  const sample = bodies.slice(0, Math.min(bodies.length, 2000));
  const bytes = sample.reduce((s, b) => s + b.length, 0);
  return [1, 3, 6].map((level) => {
    let out = 0;
    const speeds: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      out = 0;
      const start = performance.now();
      for (const b of sample) out += zlib.deflateRawSync(b, { level }).length;
      speeds.push(bytes / MB / ((performance.now() - start) / 1000));
    }
    return { level, ratio: out / bytes, mbs: median(speeds) };
  });
}

// --- 2. deduplication --------------------------------------------------------------------------------------

async function dedup(root: string) {
  const storeDir = path.join(root, 'dedup-store');
  const store = await newStore(storeDir);
  const database = await openPglite(null);
  try {
    await database.migrate();
    const db = database.db;
    const attachment = randomBytes(2 * MB); // incompressible, like a PDF or a photo
    const start = du(storeDir);

    // Phase 1: the drafts and their (short, different) bodies.
    const t1 = await timed(async () => {
      for (let from = 0; from < N_DRAFTS; from += 500) {
        const rows = [];
        for (let i = from; i < Math.min(N_DRAFTS, from + 500); i++) {
          const html = `<p>Dobrý den, posíláme ceník na rok 2026 (zákazník č. ${i}).</p><p>S pozdravem, obchod</p>`;
          rows.push({
            messageIdHeader: `<bench.${i}.${randomBytes(4).toString('hex')}@posel.test>`,
            subject: `Ceník 2026 – zákazník ${i}`,
            bodyBlob: await store.putBlob(html),
          });
        }
        await db.insert(messages).values(rows as never);
      }
    });
    const afterBodies = du(storeDir);

    // Phase 2: the same 2 MB file attached to each draft, stored each time as the composer would.
    const ids = (await db.select({ id: messages.id }).from(messages)).map((r) => r.id);
    const t2 = await timed(async () => {
      for (let from = 0; from < ids.length; from += 500) {
        const rows = [];
        for (const id of ids.slice(from, from + 500)) {
          const blobId = await store.putBlob(attachment);
          rows.push({ messageId: id, blobId, filename: 'Ceník 2026.pdf', contentType: 'application/pdf', sizeBytes: attachment.length, position: 0 });
        }
        await db.insert(messageAttachments).values(rows);
      }
    });
    const afterAttachments = du(storeDir);
    const [{ rows, blobs }] = rowsOf<{ rows: number; blobs: number }>(
      await db.execute(sql`select count(*)::int as rows, count(distinct blob_id)::int as blobs from message_attachments`),
    ) as [{ rows: number; blobs: number }];
    console.log(
      `dedup: ${N_DRAFTS} drafts + bodies grew the store by ${fmt((afterBodies - start) / MB)} MB (${fmt(t1)} s); ` +
        `attaching the same 2 MB file to each (${rows} rows, ${blobs} distinct blob) grew it by ${fmt((afterAttachments - afterBodies) / MB)} MB (${fmt(t2)} s); ` +
        `without deduplication that would be ${fmt((N_DRAFTS * attachment.length) / MB / 1024)} GB`,
    );
    return { bodiesGrowth: afterBodies - start, attachmentGrowth: afterAttachments - afterBodies, totalGrowth: afterAttachments - start };
  } finally {
    await database.close();
  }
}

const root = await mkdtemp(path.join(BASE_DIR, 'posel-bench-store-'));
try {
  const threads = process.env.UV_THREADPOOL_SIZE ?? '4 (default)';
  console.log(`bench:store in ${root} (Node ${process.version}, ${os.cpus().length} CPUs, libuv thread pool ${threads}), ${CONCURRENCY} operations in flight`);
  process.stdout.write(`Generating ${N_BODIES} bodies… `);
  const bodies = Array.from({ length: N_BODIES }, (_, i) => Buffer.from(body(i), 'utf8'));
  const plainBytes = bodies.reduce((s, b) => s + b.length, 0);
  console.log(`${fmt(plainBytes / MB)} MB, ${fmt(plainBytes / N_BODIES / 1024)} KB each on average`);
  for (const { level, ratio, mbs } of compressionLevels(bodies)) {
    console.log(`deflate level ${level}${level === COMPRESSION_LEVEL ? ' (the store\'s)' : ''}: ratio ${fmt(ratio, 3)}, ${fmt(mbs)} MB/s on one thread`);
  }
  const t = await throughput(root, bodies);
  const ratio = t.storeWrite / t.plainWrite;
  const fsyncRatio = t.storeWrite / t.syncedWrite;
  console.log(
    `median of ${RUNS}: store write ${fmt(t.storeWrite)} MB/s, read ${fmt(t.storeRead)} MB/s (read ratio ${fmt(t.storeRead / t.plainRead, 2)}× of readFile ${fmt(t.plainRead)} MB/s)\n` +
      `  write against writeFile                         ${fmt(t.plainWrite)} MB/s: ${fmt(ratio, 2)}× (goal ≥ 0.5×)\n` +
      `  write against writeFile+fsync                   ${fmt(t.syncedWrite)} MB/s: ${fmt(fsyncRatio, 2)}×\n` +
      `  write against temp+fsync+rename+fsync of folder ${fmt(t.atomicWrite)} MB/s: ${fmt(t.storeWrite / t.atomicWrite, 2)}× (the durability the store owes, without its work)\n` +
      `  warm store (fan-out folders exist, as after a restart) ${fmt(t.warmWrite)} MB/s: ${fmt(t.warmWrite / t.plainWrite, 2)}× of writeFile, ` +
      `${fmt(t.warmWrite / t.syncedWrite, 2)}× of writeFile+fsync, ${fmt(t.warmWrite / t.atomicWrite, 2)}× of temp+fsync+rename+fsync\n` +
      `  compression ${fmt(t.compression, 3)} (bytes of the store's object files / plain bytes)`,
  );
  const d = await dedup(root);
  console.log(
    `result: bench=store write_mb_s=${fmt(t.storeWrite)} read_mb_s=${fmt(t.storeRead)} baseline_write_mb_s=${fmt(t.plainWrite)} ratio=${fmt(ratio, 2)} ` +
      `fsync_baseline_mb_s=${fmt(t.syncedWrite)} fsync_ratio=${fmt(fsyncRatio, 2)} compression=${fmt(t.compression, 3)} dedup_growth_mb=${fmt(d.attachmentGrowth / MB)}`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
