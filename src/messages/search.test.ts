/**
 * The communication list: fulltext search that ignores diacritics, with phrases, -word, or and prefix
 * match as you type; the matching words marked in a snippet; filters that combine with it; bad input that
 * never breaks the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { createDraft } from './service.ts';

let t: Awaited<ReturnType<typeof createAdminApp>>[0];
let admin: TestClient;

const draft = (subject: string, body: string, to = 'jan@novak.cz') =>
  createDraft(t.db, t.store, SYSTEM, { subject, to: [{ address: to }], cc: [], bcc: [], bodyHtml: body, attachments: [] });
const subjectsFor = async (query: string) => {
  const res = await admin.get(`/messages?${query}`);
  expect(res.status).toBe(200);
  const html = await res.text();
  return [...html.matchAll(/<a href="\/messages\/\d+">(.*?)<\/a>/g)].map((m) => m[1]!.replace(/<\/?mark>/g, ''));
};

beforeAll(async () => {
  [t, admin] = await createAdminApp();
  await draft('Žluťoučký kůň na výstavě', '<p>Přijďte se podívat na našeho koně.</p>');
  await draft('Faktura 2026-0042', '<p>V příloze je faktura za listopad. Žluťoučký obal zdarma.</p>', 'ucetni@pekarna.cz');
  await draft('Pozvánka na veletrh', '<p>Zveme vás na veletrh v Brně.</p>', 'marie@dvorakova.cz');
});
afterAll(() => t.close());

describe('search', () => {
  it('"zlutoucky kun" finds "Žluťoučký kůň", with the words marked', async () => {
    const html = await (await admin.get('/messages?q=zlutoucky+kun')).text();
    expect(html).toContain('<mark>Žluťoučký</mark> <mark>kůň</mark> na výstavě');
    expect(await subjectsFor('q=zlutoucky+kun')).toEqual(['Žluťoučký kůň na výstavě']);
  });

  it('ranks a subject match above a body match, and marks the body snippet', async () => {
    expect(await subjectsFor('q=zlutoucky')).toEqual(['Žluťoučký kůň na výstavě', 'Faktura 2026-0042']);
    expect(await (await admin.get('/messages?q=zlutoucky')).text()).toContain('<mark>Žluťoučký</mark> obal zdarma');
  });

  it('matches the word being typed as a prefix, finds recipients, and takes phrases, -word and or', async () => {
    expect(await subjectsFor('q=velet')).toEqual(['Pozvánka na veletrh']);
    expect(await subjectsFor('q=dvorakova')).toEqual(['Pozvánka na veletrh']);
    expect(await subjectsFor('q=%22faktura+za+listopad%22')).toEqual(['Faktura 2026-0042']);
    expect(await subjectsFor('q=zlutoucky+-faktura')).toEqual(['Žluťoučký kůň na výstavě']);
    expect((await subjectsFor('q=veletrh+or+faktura')).sort()).toEqual(['Faktura 2026-0042', 'Pozvánka na veletrh']);
  });

  it('never fails on odd input: open quotes, lone -, operators, SQL, 10 KB, emoji, NUL', async () => {
    for (const q of ['"žluťoučký', '-', '&|!:*()', "'; drop table messages; --", 'x'.repeat(10_000), '🐴 kůň', 'kůň\u0000', '""', 'or', '<script>']) {
      const res = await admin.get(`/messages?q=${encodeURIComponent(q)}`);
      expect(res.status, q.slice(0, 20)).toBe(200);
    }
    expect(await (await admin.get('/messages?q=nesmysl')).text()).toContain('Pro „nesmysl“ nic nenalezeno.');
    expect(await (await admin.get(`/messages?q=${encodeURIComponent('<script>')}`)).text()).not.toContain('<script>alert');
  });
});

describe('filters', () => {
  it('combine with search, and the URL reproduces the view', async () => {
    expect(await subjectsFor('q=zlutoucky&status=draft')).toHaveLength(2);
    expect(await subjectsFor('q=zlutoucky&status=sent')).toEqual([]);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Prague' }).format(new Date());
    expect(await subjectsFor(`from=${today}&to=${today}`)).toHaveLength(3);
    expect(await subjectsFor('from=2020-01-01&to=2020-01-02')).toEqual([]);
  });

  it('ignores a value of the wrong type or an unknown state, and says so', async () => {
    const html = await (await admin.get('/messages?status=nonsense&user=abc&from=31.2.2026')).text();
    expect(html).toContain('Tyto filtry měly neplatnou hodnotu a nepoužily se: status, from, user.');
    expect([...html.matchAll(/<a href="\/messages\/\d+">/g)]).toHaveLength(3);
  });
});
