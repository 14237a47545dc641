import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig } from './config.ts';

describe('config', () => {
  it('starts from defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, HOST: '127.0.0.1', LOG_LEVEL: 'info', DEFAULT_LOCALE: 'cs', TRUST_PROXY: false });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.DATA_DIR).toMatch(/\/data$/);
  });

  it('names the key of a bad value in a one-line message', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^Invalid configuration: PORT="abc": expected a whole number$/);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ TIMEZONE: 'Mars/Olympus' })).toThrow(/TIMEZONE="Mars\/Olympus": unknown time zone/);
    expect(() => loadConfig({ TRUST_PROXY: 'maybe' })).toThrow(/TRUST_PROXY/);
  });

  it('documents every key', () => {
    for (const [key, spec] of Object.entries(CONFIG_KEYS)) expect(spec.describe.length, key).toBeGreaterThan(10);
  });
});
