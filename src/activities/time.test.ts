import { describe, expect, it } from 'vitest';
import { parseLocalDateTime, startOfLocalDay, startOfNextLocalDay, toLocalInput } from './time.ts';

const PRAGUE = 'Europe/Prague';
const utc = (value: string) => parseLocalDateTime(value, PRAGUE)?.toISOString();

describe('local time in Europe/Prague', () => {
  it('reads winter time as UTC+1 and summer time as UTC+2', () => {
    expect(utc('2026-01-15T09:05')).toBe('2026-01-15T08:05:00.000Z');
    expect(utc('2026-07-15T14:30')).toBe('2026-07-15T12:30:00.000Z');
  });

  it('round-trips through the datetime-local value', () => {
    for (const v of ['2026-01-01T00:00', '2026-03-29T01:59', '2026-03-29T03:00', '2026-10-25T01:30', '2026-12-31T23:59']) {
      expect(toLocalInput(parseLocalDateTime(v, PRAGUE)!, PRAGUE)).toBe(v);
    }
  });

  it('moves a time inside the spring-forward gap forward, and reads the doubled autumn hour as winter time', () => {
    expect(utc('2026-03-29T02:30')).toBe('2026-03-29T01:30:00.000Z'); // shown as 03:30 summer time
    expect(utc('2026-10-25T02:30')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('accepts a space or the Czech way of writing, and refuses what is not a real time', () => {
    expect(utc('2026-07-15 14:30')).toBe('2026-07-15T12:30:00.000Z');
    expect(utc('15. 7. 2026 14:30')).toBe('2026-07-15T12:30:00.000Z');
    for (const bad of ['', '2026-02-29T10:00', '2026-13-01T10:00', '2026-01-01T24:00', 'zítra', '2026-01-01']) expect(utc(bad)).toBeUndefined();
  });

  it('turns a local day into the UTC instants that bound it', () => {
    expect(startOfLocalDay('2026-06-01', PRAGUE).toISOString()).toBe('2026-05-31T22:00:00.000Z');
    expect(startOfNextLocalDay('2026-03-28', PRAGUE).toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(startOfNextLocalDay('2026-03-29', PRAGUE).toISOString()).toBe('2026-03-29T22:00:00.000Z');
  });
});
