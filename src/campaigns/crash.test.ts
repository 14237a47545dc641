/**
 * Generation killed with SIGKILL at random moments (a child process on the Postgres server), restarted each
 * time, then finished: every recipient ends with exactly one generated message, none is skipped, and no
 * message exists without the recipient row that points to it. Skipped without TEST_DATABASE_URL (PGlite is
 * single-process).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/client.ts';
import { clients } from '../db/schema/index.ts';
import { serverSetup, type ServerSetup } from '../sender/testing/processes.ts';
import { SYSTEM } from '../test-support/harness.ts';
import { generateForCampaign } from './generation.ts';
import { createCampaign, saveCampaignMessage, startGeneration } from './service.ts';

const RECIPIENTS = 1500;
const KILLS = 3;
const CHILD = path.resolve(import.meta.dirname, 'testing/generate-child.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!process.env.TEST_DATABASE_URL)('generation killed with SIGKILL mid-run', () => {
  let setup: ServerSetup;
  let campaignId: number;
  const processed = async () =>
    rowsOf<{ n: number }>(await setup.database.db.execute(sql`select count(*)::int as n from campaign_recipients where campaign_id = ${campaignId} and state <> 'pending'`))[0]!.n;

  beforeAll(async () => {
    setup = await serverSetup();
    const rows = await setup.database.db
      .insert(clients)
      .values(Array.from({ length: RECIPIENTS }, (_, i) => ({ name: `Klient ${i}`, email: `klient${i}@firma.cz` })))
      .returning({ id: clients.id });
    campaignId = await createCampaign(setup.database.db, SYSTEM, { kind: 'clients', name: 'Crash', marketing: false, purpose: 'client', clientIds: rows.map((r) => r.id) });
    await saveCampaignMessage(setup.database.db, SYSTEM, campaignId, { name: 'Crash', templateId: null, subject: 'Pro {{client.name}}', bodyHtml: '<p>Dobrý den, {{client.name}}</p>', attachmentPattern: null });
    await startGeneration({ db: setup.database.db, store: setup.store, timeZone: 'Europe/Prague', publicUrl: 'https://posel.firma.cz' }, SYSTEM, campaignId, { background: false });
  });
  afterAll(() => setup?.close());

  it(`resumes after ${KILLS} kills: each recipient exactly one message, none skipped, no orphan message`, async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const { TEST_DATABASE_URL: _a, DATABASE_URL: _b, ...base } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        env: { ...base, POSEL_DB_URL: setup.url, POSEL_STORE_DIR: setup.storeDir, POSEL_MASTER_KEY: setup.masterKey, POSEL_CAMPAIGN: String(campaignId), POSEL_BATCH: '50' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).on('line', (l) => l === 'ready' && resolve()));
      // A random moment once generation is under way: 100–400 more recipients, plus up to 30 ms.
      const until = (await processed()) + 100 + Math.floor(Math.random() * 300);
      const deadline = Date.now() + 60_000;
      while ((await processed()) < until && Date.now() < deadline) await sleep(5);
      await sleep(Math.random() * 30);
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
    }
    expect(await processed()).toBeLessThan(RECIPIENTS); // the kills did land mid-run

    const rest = await generateForCampaign({ db: setup.database.db, store: setup.store, timeZone: 'Europe/Prague', publicUrl: 'https://posel.firma.cz' }, campaignId);
    expect(rest.finished).toBe(true);
    const [check] = rowsOf<{ recipients: number; generated: number; messages: number; clients: number; orphans: number; status: string }>(
      await setup.database.db.execute(sql`
        select (select count(*)::int from campaign_recipients where campaign_id = ${campaignId}) as recipients,
               (select count(*)::int from campaign_recipients where campaign_id = ${campaignId} and state = 'generated' and message_id is not null) as generated,
               (select count(*)::int from messages where campaign_id = ${campaignId}) as messages,
               (select count(distinct client_id)::int from messages where campaign_id = ${campaignId}) as clients,
               (select count(*)::int from messages m where m.campaign_id = ${campaignId}
                   and not exists (select 1 from campaign_recipients r where r.campaign_id = ${campaignId} and r.message_id = m.id)) as orphans,
               (select status from campaigns where id = ${campaignId}) as status`),
    );
    expect(check).toEqual({ recipients: RECIPIENTS, generated: RECIPIENTS, messages: RECIPIENTS, clients: RECIPIENTS, orphans: 0, status: 'generated' });
  }, 300_000);
});
