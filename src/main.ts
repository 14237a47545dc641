/**
 * Composition root: config → database (+ migrations) → app → listen; owns graceful shutdown.
 */
import './threadpool.ts';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { sweepSessions } from './auth/session.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirBusyError } from './db/lock.ts';
import { openDatabase } from './db/open.ts';
import { createApp } from './http/app.ts';
import { generationsSettled, resumeGenerating, stopGenerations } from './campaigns/generation.ts';
import { startCampaignWatcher } from './campaigns/service.ts';
import { importsSettled } from './import/jobs.ts';
import { bulkJobsSettled } from './messages/bulk.ts';
import { settleMessageSearch } from './messages/search.ts';
import { StoreError } from './store/errors.ts';
import { openConfiguredStore } from './store/open.ts';
import { startStoreSweeper } from './store/sweep.ts';
import { startTestMailbox, type TestMailbox } from './mail/test-mailbox.ts';
import { Sender } from './sender/sender.ts';
import { sessionPolicy } from './http/middleware/session.ts';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = pino({ level: config.LOG_LEVEL });

  let opened;
  try {
    opened = await openDatabase(config);
  } catch (error) {
    if (error instanceof DataDirBusyError) {
      console.error(error.message);
      process.exit(1);
    }
    console.error(`Cannot open the database: ${(error as Error).message}`);
    process.exit(1);
  }
  const { database, release } = opened;

  let store;
  try {
    store = await openConfiguredStore(config, database.db);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    console.error(error.message);
    await database.close().catch(() => {});
    release();
    process.exit(1);
  }

  // The test mailbox takes mail while no SMTP account is configured; a busy port only costs that mailbox.
  let mailbox: TestMailbox | null = null;
  try {
    mailbox = await startTestMailbox({ db: database.db, store, logger, port: config.TEST_MAILBOX_PORT });
  } catch (err) {
    logger.warn({ err, port: config.TEST_MAILBOX_PORT }, 'the test mailbox cannot listen; set TEST_MAILBOX_PORT');
  }
  const sender = config.SENDER_ENABLED
    ? new Sender({ db: database.db, store, logger, testMailbox: mailbox ? { host: mailbox.host, port: mailbox.port } : null, timeZone: config.TIMEZONE })
    : null;
  sender?.start();

  const app = createApp({ config, database, store, logger, ...(sender ? { sender } : {}) }, { watchViews: process.env.NODE_ENV === 'development' });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
  server.on('error', async (error: NodeJS.ErrnoException) => {
    console.error(
      error.code === 'EADDRINUSE'
        ? `Port ${config.PORT} on ${config.HOST} is already in use. Stop the other program or set PORT.`
        : `Cannot listen on ${config.HOST}:${config.PORT}: ${error.message}`,
    );
    await database.close().catch(() => {});
    release();
    process.exit(1);
  });
  server.on('listening', () => {
    const host = config.HOST === '0.0.0.0' || config.HOST === '127.0.0.1' ? 'localhost' : config.HOST;
    logger.info(
      { db: database.kind, dataDir: config.DATA_DIR, startupMs: Math.round(performance.now()) },
      `Posel is running at http://${host}:${config.PORT}`,
    );
  });

  const sweeper = setInterval(() => {
    sweepSessions(database.db, sessionPolicy(config)).catch((err) => logger.warn({ err }, 'session sweep failed'));
  }, 15 * 60_000);
  sweeper.unref();
  // The search index's pending list is merged and the planner's statistics refreshed hourly (PGlite has no
  // autovacuum to do it; on a server it is cheap); bulk writes also settle it when they finish.
  const searchSettler = setInterval(() => {
    settleMessageSearch(database.db).catch((err) => logger.warn({ err }, 'settling the search index failed'));
  }, 60 * 60_000);
  searchSettler.unref();
  const stopStoreSweeper = startStoreSweeper(database.db, store, logger);
  // [campaigns] generation left unfinished by a stopped or killed process resumes where it was; the watcher
  // auto-pauses campaigns over their failure limit and closes finished ones.
  resumeGenerating({ db: database.db, store, logger, timeZone: config.TIMEZONE, publicUrl: config.PUBLIC_URL! })
    .then((ids) => ids.length && logger.info({ campaigns: ids }, 'resuming campaign generation'))
    .catch((err) => logger.warn({ err }, 'resuming campaign generation failed'));
  const stopCampaignWatcher = startCampaignWatcher(database.db, logger);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    clearInterval(sweeper);
    clearInterval(searchSettler);
    stopStoreSweeper();
    stopCampaignWatcher();
    stopGenerations();
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // In-flight sends finish (their outcome is recorded); claimed but unstarted ones go back to the queue.
    await sender?.stop().catch((err) => logger.warn({ err }, 'stopping the sender failed'));
    await mailbox?.close().catch(() => {});
    // A CSV import running in the background gets a few seconds to finish its batch and audit row.
    await Promise.race([Promise.all([importsSettled(), generationsSettled(), bulkJobsSettled()]), new Promise((resolve) => setTimeout(resolve, 8000))]);
    await database.close().catch((err) => logger.warn({ err }, 'database close failed'));
    release();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
