import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/**
 * Every configuration key: its parser, its default and a one-line description.
 * `.env.example` and the README's table are written from this list.
 */
export const CONFIG_KEYS = {
  PORT: { schema: int(1, 65535), default: '3000', describe: 'HTTP port to listen on.' },
  HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    describe: 'Interface to listen on; 0.0.0.0 serves the office network.',
  },
  DATA_DIR: {
    schema: z.string().min(1),
    default: './data',
    describe: 'Folder for the embedded database (DATA_DIR/db) and other local data.',
  },
  DATABASE_URL: {
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'expected postgres://user@host:port/database' })
      .optional(),
    default: undefined,
    describe: 'A PostgreSQL server to use instead of the embedded database (postgres://…).',
  },
  STORAGE_DIR: {
    schema: z.string().min(1).optional(),
    default: undefined,
    describe: 'Storage folder for message bodies and attachments (encrypted); default DATA_DIR/store.',
  },
  MASTER_KEY: {
    schema: z
      .string()
      .regex(/^(\d+:)?[A-Za-z0-9+/]{43}=(,\d+:[A-Za-z0-9+/]{43}=)*$/, { message: 'expected a base64 32-byte key, or id:key,id:key' })
      .optional(),
    default: undefined,
    describe: 'Store encryption key(s) from the environment instead of the key file DATA_DIR/keys.json.',
  },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    describe: 'Log level: fatal, error, warn, info, debug, trace or silent.',
  },
  DEFAULT_LOCALE: {
    schema: z.enum(['cs', 'en']),
    default: 'cs',
    describe: 'Language before sign-in when the browser states no preference (cs or en).',
  },
  TIMEZONE: {
    schema: z.string().refine(isTimeZone, { message: 'unknown time zone' }),
    default: 'Europe/Prague',
    describe: 'Time zone in which dates are shown.',
  },
  SESSION_IDLE_MINUTES: {
    schema: int(5, 60 * 24 * 30),
    default: '480',
    describe: 'A session ends after this many minutes without a request.',
  },
  SESSION_MAX_DAYS: {
    schema: int(1, 365),
    default: '30',
    describe: 'A session ends this many days after sign-in, however active.',
  },
  TRUST_PROXY: {
    schema: bool,
    default: 'false',
    describe: 'Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy in front of Posel.',
  },
  SENDER_ENABLED: {
    schema: bool,
    default: 'true',
    describe: 'Run the sending loop in this process (false: web only, another instance sends).',
  },
  TEST_MAILBOX_PORT: {
    schema: int(0, 65535),
    default: '2525',
    describe: 'Loopback port of the built-in test mailbox, where mail goes while no SMTP account is set (0: any free port).',
  },
  ATTACHMENTS_MAX_MB: {
    schema: int(1, 1024),
    default: '25',
    describe: 'Largest total size of one message\'s attachments, in MB (the composer shows it live).',
  },
  PUBLIC_URL: {
    schema: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'expected http(s)://host[:port][/path]' })
      .optional(),
    default: undefined,
    describe: 'Address at which recipients reach Posel (unsubscribe links in marketing mail); default http://HOST:PORT.',
  },
  BODY_LIMIT_KB: {
    schema: int(16, 1024 * 1024),
    default: '2048',
    describe: 'Largest accepted request body for forms, in KiB (uploads have their own limit).',
  },
} as const;

type Keys = typeof CONFIG_KEYS;
export type Config = { -readonly [K in keyof Keys]: z.output<Keys[K]['schema']> };

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Thrown when a configuration value is invalid; its message is one line naming the key. */
export class ConfigError extends Error {}

/**
 * Reads and validates the configuration from `env` (by default the process environment,
 * after loading `.env` from the working directory when it exists).
 */
export function loadConfig(env: Record<string, string | undefined> = readProcessEnv()): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
    const raw = env[key];
    const value = raw === undefined || raw === '' ? spec.default : raw;
    if (value === undefined) {
      out[key] = undefined;
      continue;
    }
    const parsed = (spec.schema as z.ZodType).safeParse(value);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'invalid value';
      throw new ConfigError(`Invalid configuration: ${key}=${JSON.stringify(value)}: ${why}`);
    }
    out[key] = parsed.data;
  }
  const config = out as Config;
  config.DATA_DIR = path.resolve(config.DATA_DIR);
  config.STORAGE_DIR = path.resolve(config.STORAGE_DIR ?? path.join(config.DATA_DIR, 'store'));
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  config.PUBLIC_URL = (config.PUBLIC_URL ?? `http://${host}:${config.PORT}`).replace(/\/+$/, '');
  return config;
}

function readProcessEnv(): Record<string, string | undefined> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}
