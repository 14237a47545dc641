/**
 * The communication list: fulltext search that ignores diacritics, with phrases, -word, or and prefix
 * match as you type; the matching words marked in a snippet; filters that combine with it; bad input that
 * never breaks the page.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { escapeHtml } from '../templates/engine.ts';
import { SEARCH_CANDIDATES } from './queries.ts';
import { snippetText } from './search.ts';
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

  it('answers odd input with results or "nothing found", never an error', async () => {
    const nothing = (q: string) => `Pro „${q}“ nic nenalezeno.`; // as the page escapes it
    // Quotes left open: the words still count.
    expect(await subjectsFor(`q=${encodeURIComponent('"žluťoučký')}`)).toEqual(['Žluťoučký kůň na výstavě', 'Faktura 2026-0042']);
    // Emoji and NUL are dropped; the word beside them is searched.
    expect(await subjectsFor(`q=${encodeURIComponent('🐴 kůň')}`)).toEqual(['Žluťoučký kůň na výstavě']);
    expect(await subjectsFor(`q=${encodeURIComponent('kůň\u0000')}`)).toEqual(['Žluťoučký kůň na výstavě']);
    // Nothing searchable, or words that are nowhere: a clear "nothing found".
    for (const q of ['-', '&|!:*()', '""', "'; drop table messages; --", '<script>']) {
      const res = await admin.get(`/messages?q=${encodeURIComponent(q)}`);
      expect(res.status, q).toBe(200);
      const html = await res.text();
      expect(html, q).toContain(escapeHtml(nothing(q)));
    }
    // 10 KB: only the first 200 characters are searched.
    const long = await admin.get(`/messages?q=${encodeURIComponent('kůň ' + 'x'.repeat(10_000))}`);
    expect(long.status).toBe(200);
    expect(await long.text()).toContain('nic nenalezeno');
    // The SQL above did nothing: the messages are all still there.
    expect(await subjectsFor('q=zlutoucky')).toHaveLength(2);
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

describe('a word found in more messages than are ranked', () => {
  let t2: Awaited<ReturnType<typeof createAdminApp>>[0];
  let admin2: TestClient;
  const total = SEARCH_CANDIDATES + 5;
  const subjects = async (query: string) => {
    const res = await admin2.get(`/messages?${query}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    return { html, subjects: [...html.matchAll(/<a href="\/messages\/\d+">(.*?)<\/a>/g)].map((m) => m[1]!.replace(/<\/?mark>/g, '')) };
  };

  beforeAll(async () => {
    [t2, admin2] = await createAdminApp();
    const blob = await t2.store.putBlob('<p>Upomínka k úhradě faktury.</p>');
    // Many messages with the word in the body, one minute apart; the oldest and one recent have it in the subject.
    await t2.db.execute(sql`
      insert into messages (message_id_header, subject, recipients, body_blob, created_at, updated_at)
      select '<u' || g || '@test.invalid>', s.subject, 'klient@firma.cz', ${blob}, now() - (${total} - g) * interval '1 minute', now()
        from generate_series(1, ${total}) g,
             lateral (select case g when 1 then 'Upomínka nejstarší' when ${total - 10} then 'Upomínka novější' else 'Zpráva ' || g end as subject) s`);
    await t2.db.execute(sql`
      insert into message_search (message_id, search)
      select id, setweight(to_tsvector('posel_unaccent'::regconfig, subject), 'A') || setweight(to_tsvector('posel_unaccent'::regconfig, 'Upomínka k úhradě faktury.'), 'C')
        from messages`);
  });
  afterAll(() => t2.close());

  it('ranks only the newest matches and says there were more', async () => {
    const { html, subjects: found } = await subjects('q=upominka');
    expect(html).toMatch(/Nalezeno více než 1\s?000 zpráv/);
    expect(found).toHaveLength(50);
    expect(found[0]).toBe('Upomínka novější');
    const last = await subjects(`q=upominka&page=${SEARCH_CANDIDATES / 50}`);
    expect(last.subjects).toHaveLength(50);
    expect(last.html).not.toContain('rel="next"');
    expect(last.subjects).not.toContain('Upomínka nejstarší');
  });

  it('a narrower search finds the older message, without the hint', async () => {
    const { html, subjects: found } = await subjects('q=upominka+nejstarsi');
    expect(found).toEqual(['Upomínka nejstarší']);
    expect(html).not.toContain('Nalezeno více než');
  });
});

describe('snippetText', () => {
  it('keeps the words of a body: tags become spaces, entities are decoded', () => {
    expect(snippetText('<p>Dobrý&nbsp;den,</p><p>A&amp;B &lt;tag&gt; &#269;&#x161; &bogus;</p><br>konec')).toBe('Dobrý den, A&B <tag> čš &bogus; konec');
  });
});
