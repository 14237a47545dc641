import type nunjucks from 'nunjucks';
import type { Logger } from 'pino';
import type { SessionUser } from '../auth/session.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Store } from '../store/store.ts';
import type { Locale, Translate } from './i18n/index.ts';

/** What the app is built from (src/main.ts wires the real ones; tests wire their own). */
export interface AppDeps {
  config: Config;
  database: Database;
  /** The encrypted blob store for message bodies and attachments. */
  store: Store;
  logger: Logger;
  /** Wakes the sending loop when a message is queued (absent when this instance does not send). */
  sender?: { wake(): void };
}

export interface Flash {
  type: 'success' | 'error' | 'info';
  key: string;
  params?: Record<string, string | number>;
}

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    views: nunjucks.Environment;
    requestId: string;
    log: Logger;
    ip: string | null;
    user: SessionUser | null;
    sessionId: string | null;
    locale: Locale;
    t: Translate;
    flash: Flash | null;
    /** No SMTP account exists: pages say that mail goes to the test mailbox. */
    noSmtpAccount: boolean;
  };
};
