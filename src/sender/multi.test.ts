/**
 * Two sender processes on one Postgres server database drain one queue: every message is received exactly
 * once, and both processes took part. Skipped without TEST_DATABASE_URL (PGlite is single-process).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/client.ts';
import { addPeerAccount, serverSetup, smallBodies, startSenderProcess, statusCounts, type ServerSetup } from './testing/processes.ts';
import { startRecordingPeer, type RecordingPeer } from './testing/peer.ts';
import { seedQueue } from './testing/seed.ts';

const MESSAGES = Number(process.env.POSEL_MULTI_MESSAGES ?? 5000);

describe.skipIf(!process.env.TEST_DATABASE_URL)('two sender processes on one database', () => {
  let setup: ServerSetup;
  let peer: RecordingPeer;
  let queued: string[];

  beforeAll(async () => {
    setup = await serverSetup();
    peer = await startRecordingPeer();
    const accountId = await addPeerAccount(setup.database, peer.port, 4);
    queued = await seedQueue(setup.database.db, { count: MESSAGES, bodyBlobs: await smallBodies(setup.store), accountId });
  });
  afterAll(async () => {
    await peer?.close();
    await setup?.close();
  });

  it(`deliver each of ${MESSAGES} queued messages exactly once`, async () => {
    const env = { POSEL_IDLE_MS: '100', POSEL_EXIT_WHEN_DRAINED: '1' };
    const [a, b] = [startSenderProcess(setup, env), startSenderProcess(setup, env)];
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect([ea.code, eb.code]).toEqual([0, 0]);

    const times = new Map<string, number>();
    for (const id of peer.received) times.set(id, (times.get(id) ?? 0) + 1);
    expect(peer.received).toHaveLength(MESSAGES);
    expect(queued.filter((id) => times.get(id) !== 1)).toEqual([]);
    expect(await statusCounts(setup.database)).toEqual({ sent: MESSAGES });
    const [attempts] = rowsOf<{ n: number }>(await setup.database.db.execute(sql`select count(*)::int as n from send_attempts`));
    expect(attempts!.n).toBe(MESSAGES); // one attempt each: no message was claimed twice
    // Both did a share of the work (a claim is at most pool × 8 = 32 messages, so neither can take all).
    expect(Number(ea.report?.processed)).toBeGreaterThan(0);
    expect(Number(eb.report?.processed)).toBeGreaterThan(0);
    expect(Number(ea.report?.processed) + Number(eb.report?.processed)).toBe(MESSAGES);
  }, 300_000);
});
