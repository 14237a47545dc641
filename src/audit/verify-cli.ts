/**
 * `npm run audit:verify`: checks the action log's hash chain and names the first broken row.
 * Exit code 0 when intact, 1 when broken, 2 when it could not run.
 */
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { verifyAuditChain } from './queries.ts';

try {
  const config = loadConfig();
  const { database, release } = await openDatabase(config);
  try {
    const result = await verifyAuditChain(database.db);
    if (result.ok) {
      console.log(`Audit chain intact: ${result.count} rows checked.`);
    } else {
      console.log(
        `Audit chain BROKEN at row ${result.brokenId}: ${
          result.reason === 'hash_mismatch' ? 'its content does not match its hash (changed)' : 'it does not point at the row before it (a row was removed or inserted)'
        }. ${result.count} rows before it are intact.`,
      );
      process.exitCode = 1;
    }
  } finally {
    await database.close();
    release();
  }
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
