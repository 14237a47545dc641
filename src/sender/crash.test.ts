/**
 * The sender killed with SIGKILL at random moments while it drains 2,000 messages, restarted each time,
 * then left to finish: nothing is lost, nothing stays `sending`, and the only duplicates are messages that
 * were in flight at a kill, received again with the same Message-ID. Needs a Postgres server (the child
 * process and the test share the database); skipped without TEST_DATABASE_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPeerAccount, serverSetup, smallBodies, startSenderProcess, statusCounts, type ServerSetup } from './testing/processes.ts';
import { startRecordingPeer, type RecordingPeer } from './testing/peer.ts';
import { seedQueue } from './testing/seed.ts';

const MESSAGES = 2000;
const KILLS = 5;
const LEASE_MS = 3000;
const POOL = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!process.env.TEST_DATABASE_URL)('the sender process killed with SIGKILL mid-run', () => {
  let setup: ServerSetup;
  let peer: RecordingPeer;
  let queued: string[];

  beforeAll(async () => {
    setup = await serverSetup();
    peer = await startRecordingPeer();
    const accountId = await addPeerAccount(setup.database, peer.port, POOL);
    queued = await seedQueue(setup.database.db, { count: MESSAGES, bodyBlobs: await smallBodies(setup.store), accountId });
  });
  afterAll(async () => {
    await peer?.close();
    await setup?.close();
  });

  it(`loses nothing over ${KILLS} kills and restarts: all sent, none left sending, duplicates only for in-flight messages`, async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      const proc = startSenderProcess(setup, { POSEL_LEASE_MS: String(LEASE_MS), POSEL_IDLE_MS: '100' });
      await proc.ready;
      // A random moment once sending is under way: after 20–200 more deliveries, plus up to 50 ms.
      const until = peer.received.length + 20 + Math.floor(Math.random() * 180);
      const deadline = Date.now() + 30_000;
      while (peer.received.length < until && Date.now() < deadline) await sleep(5);
      await sleep(Math.random() * 50);
      proc.child.kill('SIGKILL');
      expect((await proc.exited).code).toBeNull();
      // The next process requeues what the dead one held once its leases have run out.
      await sleep(LEASE_MS + 200);
    }
    expect(peer.received.length).toBeLessThan(MESSAGES); // the kills did land mid-run

    const last = startSenderProcess(setup, { POSEL_LEASE_MS: String(LEASE_MS), POSEL_IDLE_MS: '100', POSEL_EXIT_WHEN_DRAINED: '1' });
    expect((await last.exited).code).toBe(0);

    const counts = await statusCounts(setup.database);
    expect(counts.sending ?? 0).toBe(0);
    expect((counts.sent ?? 0) + (counts.uncertain ?? 0)).toBe(MESSAGES);

    const times = new Map<string, number>();
    for (const id of peer.received) times.set(id, (times.get(id) ?? 0) + 1);
    expect(new Set(queued).size).toBe(MESSAGES);
    expect(queued.filter((id) => !times.has(id))).toEqual([]); // every message arrived at least once
    expect([...times.keys()].filter((id) => !queued.includes(id))).toEqual([]); // nothing else arrived
    // Only what was in flight at a kill can arrive twice: at most the claimed window (pool × 8) per kill.
    const duplicates = peer.received.length - times.size;
    expect(duplicates).toBeLessThanOrEqual(KILLS * POOL * 8);
    // A recipient who got a message twice got the same Message-ID twice (receivers can drop the copy).
    expect(peer.byRecipient.size).toBe(MESSAGES);
    expect([...peer.byRecipient.values()].filter((ids) => new Set(ids).size !== 1)).toEqual([]);
  }, 300_000);
});
