import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { messages, sendAttempts, smtpAccounts } from '../db/schema/index.ts';
import { createRole } from '../users/roles.ts';
import { createUser } from '../users/service.ts';
import { createAdminApp, createTestApp, SYSTEM, signIn, type TestClient } from '../test-support/harness.ts';
import { buildChart } from './chart.ts';
import { dashboardPeriods } from './periods.ts';
import { dailyCounts, latestFailures, periodCounts } from './queries.ts';

const TZ = 'Europe/Prague';
const at = (iso: string) => new Date(iso);
const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('the dashboard', () => {
  let t: Awaited<ReturnType<typeof createAdminApp>>[0];
  let admin: TestClient;
  let seq = 0;
  let blob: string;
  beforeAll(async () => {
    [t, admin] = await createAdminApp();
    blob = await t.store.putBlob('<p>Dobrý den</p>');
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await t.db.delete(messages);
    await t.db.delete(smtpAccounts);
  });

  /** A message in `status`; `attempts` are its delivery attempts (the last one is when it failed). */
  async function message(
    status: string,
    fields: { sentAt?: Date; queuedAt?: Date; subject?: string; lastResult?: string; accountId?: number } = {},
    attempts: { at: Date; outcome: string; response?: string }[] = [],
  ) {
    const [m] = await t.db
      .insert(messages)
      .values({
        status,
        messageIdHeader: `<d${++seq}@posel.test>`,
        subject: fields.subject ?? `Zpráva ${seq}`,
        toAddrs: [{ address: `klient${seq}@firma.cz` }],
        recipients: `klient${seq}@firma.cz`,
        bodyBlob: blob,
        sentAt: fields.sentAt ?? null,
        queuedAt: fields.queuedAt ?? null,
        lastResult: fields.lastResult ?? null,
        accountId: fields.accountId ?? null,
        // Created long ago: a failure's time must come from its attempt, not from here.
        createdAt: at('2025-01-01T00:00:00Z'),
        updatedAt: at('2025-01-01T00:00:00Z'),
      })
      .returning({ id: messages.id });
    for (const a of attempts) {
      await t.db.insert(sendAttempts).values({ messageId: m!.id, startedAt: a.at, outcome: a.outcome, response: a.response ?? null, recipients: `klient${seq}@firma.cz` });
    }
    return m!.id;
  }

  const page = async (client = admin) => {
    const res = await client.get('/');
    expect(res.status).toBe(200);
    return res.text();
  };
  /** The today / this week figures of one state's tile, as the user reads them. */
  const tile = (html: string, state: string) => {
    const part = new RegExp(`<li class="stat stat-${state}">([\\s\\S]*?)</li>`).exec(html)?.[1] ?? '';
    const num = (cls: string) => Number(new RegExp(`<dd class="${cls}">(?:<a [^>]*>)?([^<]*)(?:</a>)?</dd>`).exec(part)?.[1]?.replace(/\D/g, ''));
    return { today: num('today'), week: num('week') };
  };

  describe('counts for today and this week (Prague time, weeks start on Monday)', () => {
    // Tuesday 31 March 2026, 12:00 in Prague (summer time since Sunday): today began at 30 Mar 22:00 UTC,
    // the week on Monday 30 March 00:00 Prague = 29 Mar 22:00 UTC.
    const now = at('2026-03-31T10:00:00Z');
    const p = dashboardPeriods(now, TZ);

    it('places the boundaries at Prague midnights', () => {
      expect(p.today).toBe('2026-03-31');
      expect(p.weekStartDate).toBe('2026-03-30');
      expect(p.todayStart.toISOString()).toBe('2026-03-30T22:00:00.000Z');
      expect(p.weekStart.toISOString()).toBe('2026-03-29T22:00:00.000Z');
      expect(p.end.toISOString()).toBe('2026-03-31T22:00:00.000Z');
    });

    it('counts a sent message on its Prague day, not its UTC day', async () => {
      await message('sent', { sentAt: at('2026-03-30T22:30:00Z') }); // 00:30 on the 31st in Prague: today
      await message('sent', { sentAt: at('2026-03-30T21:59:59Z') }); // 23:59:59 on Monday: this week only
      await message('sent', { sentAt: at('2026-03-29T21:59:59Z') }); // Sunday night: last week
      await message('sent', { sentAt: at('2026-03-29T22:00:00Z') }); // Monday 00:00: this week
      const counts = await periodCounts(t.db, p, await dailyCounts(t.db, p, TZ));
      expect(counts.sent).toEqual({ today: 1, week: 3 });
    });

    it('counts a failed message on the day of its last attempt', async () => {
      await message('failed', {}, [
        { at: at('2026-03-25T08:00:00Z'), outcome: 'deferred' },
        { at: at('2026-03-30T22:05:00Z'), outcome: 'failed' },
      ]);
      await message('failed', {}, [{ at: at('2026-03-30T08:00:00Z'), outcome: 'failed' }]);
      await message('failed', {}, [{ at: at('2026-03-27T08:00:00Z'), outcome: 'failed' }]);
      const counts = await periodCounts(t.db, p, await dailyCounts(t.db, p, TZ));
      expect(counts.failed).toEqual({ today: 1, week: 2 });
    });

    it('counts deferred messages by their last attempt and queued ones by when they were queued', async () => {
      await message('deferred', {}, [{ at: at('2026-03-31T09:00:00Z'), outcome: 'deferred' }]);
      await message('deferred', {}, [{ at: at('2026-03-28T09:00:00Z'), outcome: 'deferred' }]);
      await message('queued', { queuedAt: at('2026-03-31T07:00:00Z') });
      await message('queued', { queuedAt: at('2026-03-30T07:00:00Z') });
      await message('queued', { queuedAt: at('2026-03-20T07:00:00Z') });
      await message('draft');
      const counts = await periodCounts(t.db, p, await dailyCounts(t.db, p, TZ));
      expect(counts.deferred).toEqual({ today: 1, week: 1 });
      expect(counts.queued).toEqual({ today: 1, week: 2 });
    });

    it('shows the same figures on the page, around the real today', async () => {
      const real = dashboardPeriods(new Date(), TZ);
      await message('sent', { sentAt: plus(real.todayStart, 1000) });
      await message('sent', { sentAt: plus(real.todayStart, 2000) });
      await message('sent', { sentAt: plus(real.weekStart, -1000) });
      // Yesterday evening is this week unless today is Monday.
      await message('sent', { sentAt: plus(real.todayStart, -1000) });
      await message('failed', {}, [{ at: plus(real.todayStart, MIN), outcome: 'failed' }]);
      await message('queued', { queuedAt: plus(real.todayStart, HOUR) });
      const html = await page();
      const monday = real.todayStart.getTime() === real.weekStart.getTime();
      expect(tile(html, 'sent')).toEqual({ today: 2, week: monday ? 2 : 3 });
      expect(tile(html, 'failed')).toEqual({ today: 1, week: 1 });
      expect(tile(html, 'deferred')).toEqual({ today: 0, week: 0 });
      expect(tile(html, 'queued')).toEqual({ today: 1, week: 1 });
      expect(html).toContain('href="/messages?status=sent"');
      expect(html).toContain('href="/outbox?status=failed"');
      // The sent figures open exactly those messages: sent today, sent this week.
      expect(html).toContain(`href="/messages?status=sent&amp;date=sent&amp;from=${real.today}&amp;to=${real.today}"`);
      expect(html).toContain(`href="/messages?status=sent&amp;date=sent&amp;from=${real.weekStartDate}&amp;to=${real.today}"`);
      const listed = await (await admin.get(`/messages?status=sent&date=sent&from=${real.today}&to=${real.today}`)).text();
      expect((listed.match(/class="badge msg-status status-sent"/g) ?? []).length).toBe(2);
    });
  });

  describe('the 30-day chart', () => {
    it('has one bucket per Prague day, zeros included, across the change to summer time', async () => {
      const now = at('2026-04-10T10:00:00Z');
      const p = dashboardPeriods(now, TZ);
      await message('sent', { sentAt: at('2026-03-28T22:30:00Z') }); // Saturday 28 March 23:30 (winter time)
      await message('sent', { sentAt: at('2026-03-29T22:30:00Z') }); // 30 March 00:30 summer time
      await message('sent', { sentAt: at('2026-03-11T23:30:00Z') }); // 12 March: the chart's first day
      await message('sent', { sentAt: at('2026-03-11T22:59:59Z') }); // 11 March: before the chart
      await message('failed', {}, [{ at: at('2026-04-10T05:00:00Z'), outcome: 'failed' }]);
      const days = await dailyCounts(t.db, p, TZ);
      expect(days).toHaveLength(30);
      expect(days[0]!.day).toBe('2026-03-12');
      expect(days.at(-1)!.day).toBe('2026-04-10');
      const on = (day: string) => days.find((d) => d.day === day);
      expect(on('2026-03-12')).toEqual({ day: '2026-03-12', sent: 1, failed: 0 });
      expect(on('2026-03-28')!.sent).toBe(1);
      expect(on('2026-03-29')!.sent).toBe(0);
      expect(on('2026-03-30')!.sent).toBe(1);
      expect(on('2026-04-10')).toEqual({ day: '2026-04-10', sent: 0, failed: 1 });
      expect(days.reduce((n, d) => n + d.sent, 0)).toBe(3);
    });

    it('draws 30 day groups as SVG with a title, and lists the numbers in a table', async () => {
      const real = dashboardPeriods(new Date(), TZ);
      for (let i = 0; i < 7; i++) await message('sent', { sentAt: plus(real.todayStart, i * MIN) });
      await message('sent', { sentAt: plus(real.todayStart, -DAY + HOUR) });
      await message('failed', {}, [{ at: plus(real.todayStart, 2 * MIN), outcome: 'failed' }]);
      const html = await page();
      const svg = /<svg class="chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
      expect(svg).toMatch(/role="img"/);
      expect(svg).toMatch(/<title id="chart-t">Odeslané a neodeslané zprávy za posledních 30 dní<\/title>/);
      expect(svg.match(/<g class="day/g)).toHaveLength(30);
      expect(svg.match(/<rect class="sent"/g)).toHaveLength(2);
      expect(svg.match(/<rect class="failed"/g)).toHaveLength(1);
      const table = /<details class="dash-numbers">[\s\S]*?<\/details>/.exec(html)?.[0] ?? '';
      const rows = [...table.matchAll(/<tr><th scope="row">[^<]*<\/th><td class="num">(\d+)<\/td><td class="num">(\d+)<\/td><\/tr>/g)];
      expect(rows).toHaveLength(30);
      // Newest first: today, then yesterday.
      expect(rows[0]!.slice(1)).toEqual(['7', '1']);
      expect(rows[1]!.slice(1)).toEqual(['1', '0']);
    });

    it('scales bars to a round top value and keeps a single message visible', () => {
      const chart = buildChart([
        { day: '2026-03-30', sent: 37, failed: 1 },
        { day: '2026-03-31', sent: 0, failed: 0 },
      ]);
      expect(chart.ticks.map((tk) => tk.value)).toEqual([0, 10, 20, 30, 40]);
      expect(chart.days[0]!.failedBar!.height).toBeGreaterThanOrEqual(1.5);
      expect(chart.days[1]!.sentBar).toBeNull();
      expect(chart.days[0]!.labelled).toBe(true); // a Monday
    });
  });

  describe('failures and accounts', () => {
    it('lists the latest failure with the server\'s reply and a link to the message', async () => {
      const real = dashboardPeriods(new Date(), TZ);
      const older = await message('failed', { subject: 'Starší chyba', lastResult: '550 5.1.1 stará' }, [{ at: plus(real.todayStart, -3 * DAY), outcome: 'failed' }]);
      const id = await message('failed', { subject: 'Faktura 2026-0042', lastResult: '550 5.1.1 <novak@firma.cz>: Recipient address rejected' }, [
        { at: plus(real.todayStart, MIN), outcome: 'failed' },
      ]);
      await message('uncertain', { subject: 'Spojení spadlo', lastResult: 'connection closed after DATA' }, [{ at: plus(real.todayStart, 2 * MIN), outcome: 'uncertain' }]);
      const html = await page();
      const list = /<section class="dash-card dash-failures"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
      expect(list).toContain(`<a href="/messages/${id}">Faktura 2026-0042</a>`);
      expect(list).toContain('550 5.1.1 &lt;novak@firma.cz&gt;: Recipient address rejected');
      // Newest failure first, uncertain ones included.
      expect(list.indexOf('Spojení spadlo')).toBeLessThan(list.indexOf('Faktura 2026-0042'));
      expect(list.indexOf('Faktura 2026-0042')).toBeLessThan(list.indexOf(`/messages/${older}`));
    });

    it('shows at most the newest 10 failures', async () => {
      for (let i = 0; i < 12; i++) await message('failed', { subject: `Chyba ${i}` }, [{ at: at(`2026-03-${10 + i}T10:00:00Z`), outcome: 'failed' }]);
      const rows = await latestFailures(t.db, 10);
      expect(rows.map((r) => r.subject)).toEqual(Array.from({ length: 10 }, (_, i) => `Chyba ${11 - i}`));
    });

    it('shows each account\'s use of its limits and its paused state', async () => {
      const [a] = await t.db
        .insert(smtpAccounts)
        .values({ name: 'Firemní Seznam', host: 'smtp.seznam.cz', port: 465, fromAddress: 'info@firma.cz', perHour: 100, perDay: 500, isDefault: true })
        .returning({ id: smtpAccounts.id });
      await t.db.insert(smtpAccounts).values({ name: 'Záložní', host: 'smtp.example.cz', port: 587, fromAddress: 'x@firma.cz', pausedAt: new Date(), pausedReason: '535 5.7.8 Authentication failed' });
      const m = await message('sent', { sentAt: new Date(), accountId: a!.id });
      for (let i = 0; i < 3; i++) await t.db.insert(sendAttempts).values({ messageId: m, accountId: a!.id, startedAt: new Date(Date.now() - i * MIN), outcome: 'sent' });
      const html = await page();
      const section = /<section class="dash-card dash-accounts"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
      expect(section).toContain(`<a href="/outbox?account=${a!.id}">Firemní Seznam</a>`);
      expect(section).toContain('3 / 100');
      expect(section).toContain('3 / 500');
      expect(section).toContain('pozastaven');
      expect(section).toContain('535 5.7.8 Authentication failed');
    });
  });

  describe('the page itself', () => {
    it('has no inline style attribute, inline script or event handler (CSP)', async () => {
      await message('failed', { lastResult: '554 "style=x" <b onclick=alert(1)>' }, [{ at: new Date(), outcome: 'failed' }]);
      await message('sent', { sentAt: new Date() });
      const html = await page();
      expect(html).not.toMatch(/\sstyle\s*=/i);
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
      expect(html).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
      expect(html).toContain('/static/css/dashboard.css');
    });

    it('stays small: under 30 KB gzipped with ten failures and accounts', async () => {
      for (let i = 0; i < 12; i++) {
        await message('failed', { subject: `Nabídka služeb ${i} pro společnost s dlouhým názvem`, lastResult: `550 5.1.1 <adresa${i}@firma.cz>: Recipient address rejected: User unknown in virtual mailbox table` }, [
          { at: new Date(Date.now() - i * HOUR), outcome: 'failed' },
        ]);
      }
      for (let i = 0; i < 30; i++) await message('sent', { sentAt: new Date(Date.now() - i * DAY) });
      const html = await page();
      expect(gzipSync(html).length).toBeLessThan(30 * 1024);
    });
  });
});

describe('the dashboard for a user without messages.view', () => {
  let t: Awaited<ReturnType<typeof createAdminApp>>[0];
  beforeAll(async () => {
    [t] = await createAdminApp();
  });
  afterAll(() => t.close());

  it('shows the welcome and the sections, but no mail figures', async () => {
    const roleId = await createRole(t.db, { name: 'Jen adresář', description: null }, SYSTEM);
    await t.db.execute(sql`insert into role_permissions (role_id, permission) values (${roleId}, 'clients.view')`);
    await createUser(t.db, { name: 'Petr Dvořák', email: 'petr@firma.cz', roleId, locale: 'cs', password: 'Heslo pro test 123' }, SYSTEM);
    const client = t.client();
    await signIn(client, 'petr@firma.cz', 'Heslo pro test 123');
    const res = await client.get('/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Dobrý den, Petr Dvořák.');
    expect(html).toContain('<a href="/clients">');
    expect(html).not.toContain('<svg class="chart"');
    expect(html).not.toContain('dash-counts');
    expect(html).not.toContain('dash-failures');
    expect(html).not.toContain('/outbox');
  });
});

describe('the home page for a visitor', () => {
  it('leads to set-up before the first user exists, then to sign-in', async () => {
    const t = await createTestApp();
    try {
      const before = await t.client().get('/');
      expect(before.status).toBe(303);
      expect(before.headers.get('Location')).toBe('/setup');
      const admin = t.client();
      await admin.post('/setup', { name: 'Jana', email: 'jana@firma.cz', password: 'Žluťoučký kůň 2026', password2: 'Žluťoučký kůň 2026' });
      const after = await t.client().get('/');
      expect(after.status).toBe(303);
      expect(after.headers.get('Location')).toBe('/login');
    } finally {
      await t.close();
    }
  });
});
