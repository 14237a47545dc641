/**
 * Wall-clock time in the configured zone (TIMEZONE, e.g. Europe/Prague) ↔ UTC instants, with Intl only.
 * Users type local time (`<input type="datetime-local">` sends `2026-07-15T14:30`); the database holds
 * timestamptz. Two edge cases of daylight saving are settled here, once:
 * - a time that does not exist (the spring-forward hour, 02:30 on the last Sunday of March) moves forward
 *   by the gap, to 03:30 summer time;
 * - a time that exists twice (the fall-back hour, 02:30 on the last Sunday of October) is read as the
 *   later one (winter time).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(instant: number, timeZone: string): WallClock {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour!, minute: out.minute!, second: out.second! };
}

/** The zone's offset from UTC at `instant`, in ms (Prague: +3 600 000 in winter, +7 200 000 in summer). */
function offsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const w = wallClock(whole, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - whole;
}

/** The UTC instant at which the zone's clocks show the given wall-clock time (see the DST rules above). */
export function zonedToUtc(w: WallClock, timeZone: string): Date {
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const first = offsetAt(asUtc, timeZone);
  const guess = asUtc - first;
  const second = offsetAt(guess, timeZone);
  if (second === first) return new Date(guess);
  // The offset changes between the two guesses: either the gap (spring) or the overlap (autumn).
  const retry = asUtc - second;
  return new Date(offsetAt(retry, timeZone) === second ? retry : Math.max(guess, retry));
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const CZECH_DATE_TIME = /^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})\s+(\d{1,2}):(\d{2})$/;

/**
 * Reads local date and time as typed: `2026-07-15T14:30` (datetime-local), `2026-07-15 14:30`, or
 * `15. 7. 2026 14:30` (typed by hand in a browser without a date picker). Null when it is not a real time.
 */
export function parseLocalDateTime(value: string, timeZone: string): Date | null {
  const text = value.trim();
  let y: number, mo: number, d: number, h: number, mi: number, s = 0;
  const iso = DATE_TIME.exec(text);
  const cz = iso ? null : CZECH_DATE_TIME.exec(text);
  if (iso) [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(iso[i] ?? 0)) as [number, number, number, number, number, number];
  else if (cz) [d, mo, y, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(cz[i])) as [number, number, number, number, number];
  else return null;
  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return null;
  if (d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  return zonedToUtc({ year: y, month: mo, day: d, hour: h, minute: mi, second: s }, timeZone);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The value for `<input type="datetime-local">`: the instant's wall-clock time in the zone, `YYYY-MM-DDTHH:mm`. */
export function toLocalInput(instant: Date, timeZone: string): string {
  const w = wallClock(instant.getTime(), timeZone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** Midnight at the start of a local day (`YYYY-MM-DD`, already validated) as a UTC instant. */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return zonedToUtc({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0 }, timeZone);
}

/** Midnight at the start of the local day after `date`: the exclusive end of a range that includes `date`. */
export function startOfNextLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return zonedToUtc({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0 }, timeZone);
}
