/**
 * A generating process for the crash test: opens the database and store named in the environment and runs
 * `generateForCampaign` on one campaign, printing `ready` first. The test kills it with SIGKILL mid-run.
 * Env: POSEL_DB_URL, POSEL_STORE_DIR, POSEL_MASTER_KEY, POSEL_CAMPAIGN, POSEL_BATCH.
 */
import { openPostgres } from '../../db/client.ts';
import { openKeyRing } from '../../store/keys.ts';
import { openStore } from '../../store/store.ts';
import { generateForCampaign } from '../generation.ts';

const database = openPostgres(process.env.POSEL_DB_URL!, { max: 4 });
const store = await openStore({ dir: process.env.POSEL_STORE_DIR!, keyRing: await openKeyRing({ masterKey: process.env.POSEL_MASTER_KEY! }) });
process.stdout.write('ready\n');
const result = await generateForCampaign({ db: database.db, store, timeZone: 'Europe/Prague', publicUrl: 'https://posel.firma.cz' }, Number(process.env.POSEL_CAMPAIGN), { batchSize: Number(process.env.POSEL_BATCH ?? 50) });
process.stdout.write(`${JSON.stringify(result)}\n`);
await database.close();
process.exit(0);
