/**
 * `npm run bench:startup`: start-up time of `npm start`'s command on an empty DATA_DIR (cold: creates and
 * migrates the embedded database) and on an existing one (warm), against the floor of starting tsx with an
 * empty script; then the page weight (gzip bytes over the wire, page + its assets) of the sign-in page and
 * of an admin page.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const RUNS = Number(process.env.RUNS ?? 5);
const TSX = path.resolve('node_modules/.bin/tsx');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freePort() {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Spawns `tsx script`, returns ms until /healthz answers 200 (or until exit for the baseline). */
async function timeStart(script: string, env: Record<string, string>, port: number | null) {
  const t0 = performance.now();
  const child = spawn(TSX, [script], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  if (port === null) {
    await exited;
    return { ms: performance.now() - t0, stop: async () => {} };
  }
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => { res.resume(); resolve(res.statusCode === 200); }).on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t0;
  return { ms, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

function get(port: number, pathname: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; bytes: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: pathname, headers: { 'Accept-Encoding': 'gzip', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, bytes: raw.length, body: res.headers['content-encoding'] ? '' : raw.toString(), headers: res.headers });
      });
    }).on('error', reject);
  });
}

/** Page plus the CSS/JS/icons it references, as a browser with an empty cache would fetch them. */
async function pageWeight(port: number, pathname: string, cookie = '') {
  const headers: Record<string, string> = cookie ? { Cookie: cookie } : {};
  const page = await get(port, pathname, headers);
  const plain = await get(port, pathname, { ...headers, 'Accept-Encoding': 'identity' });
  const assets = [...plain.body.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  let total = page.bytes;
  for (const a of new Set(assets)) total += (await get(port, a)).bytes;
  return { html: page.bytes, total, assets: new Set(assets).size };
}

const baselineScript = path.join(mkdtempSync(path.join(os.tmpdir(), 'posel-bench-')), 'empty.ts');
writeFileSync(baselineScript, 'export {};\n');

const base: number[] = [];
const cold: number[] = [];
const warm: number[] = [];
let weights: { login: Awaited<ReturnType<typeof pageWeight>>; admin: Awaited<ReturnType<typeof pageWeight>> } | null = null;

for (let i = 0; i < RUNS; i++) {
  base.push((await timeStart(baselineScript, {}, null)).ms);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'posel-bench-'));
  const port = await freePort();
  const c = await timeStart('src/main.ts', { DATA_DIR: dataDir, PORT: String(port) }, port);
  cold.push(c.ms);
  if (i === 0) {
    // Set up an administrator, then weigh the sign-in page and the role × permission matrix.
    const form = new URLSearchParams({ name: 'Bench Admin', email: 'bench@firma.cz', password: 'Silné heslo pro měření 7', password2: 'Silné heslo pro měření 7' });
    const setup = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/setup', method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: `http://127.0.0.1:${port}` } }, resolve);
      req.on('error', reject);
      req.end(form.toString());
    });
    setup.resume();
    if (setup.statusCode !== 303) throw new Error(`setup answered ${setup.statusCode}`);
    const cookie = (setup.headers['set-cookie'] ?? []).map((s) => s.split(';')[0]).join('; ');
    weights = { login: await pageWeight(port, '/login'), admin: await pageWeight(port, '/roles', cookie) };
  }
  await c.stop();
  const w = await timeStart('src/main.ts', { DATA_DIR: dataDir, PORT: String(port) }, port);
  warm.push(w.ms);
  await w.stop();
}

const fmt = (n: number) => `${Math.round(n)} ms`;
console.log(`runs: ${RUNS}`);
console.log(`baseline (tsx, empty script, to exit): median ${fmt(median(base))}   all: ${base.map(Math.round).join(', ')}`);
console.log(`cold start (empty DATA_DIR → /healthz 200): median ${fmt(median(cold))}   all: ${cold.map(Math.round).join(', ')}`);
console.log(`warm start (existing DATA_DIR → /healthz 200): median ${fmt(median(warm))}   all: ${warm.map(Math.round).join(', ')}`);
console.log(`sign-in page: ${weights!.login.html} B html + assets = ${weights!.login.total} B gzip over the wire (${weights!.login.assets} assets)`);
console.log(`admin page /roles: ${weights!.admin.html} B html + assets = ${weights!.admin.total} B gzip over the wire (${weights!.admin.assets} assets)`);
console.log(
  `result: bench=startup cold_ms=${Math.round(median(cold))} warm_ms=${Math.round(median(warm))} baseline_ms=${Math.round(median(base))} login_bytes=${weights!.login.total} admin_bytes=${weights!.admin.total} ratio=${(median(warm) / median(base)).toFixed(2)}`,
);
