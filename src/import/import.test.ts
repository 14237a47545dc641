import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../db/client.ts';
import { clients } from '../db/schema/index.ts';
import { addUser, createAdminApp, createTestApp, signIn, SYSTEM, type TestClient } from '../test-support/harness.ts';
import { guessMapping, icoChecksumOk, normalizeIco } from './fields.ts';
import { IMPORT_MAX_BYTES, importsSettled } from './jobs.ts';
import { runImport } from './service.ts';

// The default configuration (BODY_LIMIT_KB 2048): app.ts leaves /clients/import's limits to the router.
let t: Awaited<ReturnType<typeof createTestApp>>;
let admin: TestClient;

beforeAll(async () => {
  [t, admin] = await createAdminApp();
});
afterAll(async () => {
  await importsSettled();
  await t.close();
});

const BOM = '\uFEFF';
/** Valid IČOs (mod-11 check digit). */
const ICO_A = '25596641';
const ICO_B = '27082440';
const ICO_C = '45317054';

function win1250(text: string): Buffer {
  // The few Czech letters the tests use, Windows-1250 code points.
  const table: Record<string, number> = { Ž: 0x8e, ž: 0x9e, ť: 0x9d, ů: 0xf9, č: 0xe8, ř: 0xf8, í: 0xed, á: 0xe1, é: 0xe9, ě: 0xec, Š: 0x8a, š: 0x9a, ý: 0xfd, Č: 0xc8, ň: 0xf2 };
  return Buffer.from([...text].map((ch) => table[ch] ?? ch.charCodeAt(0)));
}

async function upload(client: TestClient, content: string | Buffer, name = 'klienti.csv') {
  const form = new FormData();
  form.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: 'text/csv' }), name);
  return client.request('/clients/import', { method: 'POST', body: form });
}

/** The mapping the page currently shows (what the user would submit unchanged). */
function shownMapping(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<select id="f-col-(\d+)" name="col_\d+">([\s\S]*?)<\/select>/g)) {
    out[`col_${m[1]}`] = /<option value="([^"]+)" selected>/.exec(m[2]!)?.[1] ?? 'ignore';
  }
  return out;
}

/** Uploads, accepts the guessed mapping (plus `form`), runs, waits; returns the import id and result page. */
async function importFile(content: string | Buffer, form: Record<string, string> = {}, client = admin) {
  const res = await upload(client, content);
  expect(res.status, await res.clone().text()).toBe(303);
  const location = res.headers.get('location')!;
  const id = location.split('/').pop()!;
  const page = await (await client.get(location)).text();
  const run = await client.post(`${location}/run`, { ...shownMapping(page), duplicates: 'skip', ...form });
  expect(run.status, await run.clone().text()).toBe(303);
  await importsSettled();
  const result = await (await client.get(location)).text();
  return { id, location, mappingPage: page, result };
}

const clientByEmail = async (email: string) => (await t.db.select().from(clients).where(eq(clients.email, email)))[0];

describe('CSV import: reading files', () => {
  it('imports a UTF-8 file with BOM, semicolons and CRLF', async () => {
    const csv = `${BOM}Jméno;E-mail;Město\r\nŽofie Dvořáková;zofie@bom.cz;Plzeň\r\nČeněk Šťastný;cenek@bom.cz;Ústí nad Labem\r\n`;
    const { mappingPage, result } = await importFile(csv);
    expect(mappingPage).toContain('UTF-8');
    expect(mappingPage).toMatch(/<option value="semicolon" selected>/);
    expect(result).toContain('Import dokončen');
    const row = await clientByEmail('zofie@bom.cz');
    expect(row).toMatchObject({ name: 'Žofie Dvořáková', city: 'Plzeň', kind: 'person' });
    expect((await clientByEmail('cenek@bom.cz'))?.name).toBe('Čeněk Šťastný');
  });

  it('imports a Windows-1250 file with commas and LF', async () => {
    const csv = win1250('Jméno,E-mail,Poznámka\nŽluťoučký kůň s.r.o.,kun@cp1250.cz,Příliš žluťoučký\nIvo Černý,ivo@cp1250.cz,\n');
    const { mappingPage } = await importFile(csv);
    expect(mappingPage).toMatch(/<option value="windows-1250" selected>/);
    expect(mappingPage).toMatch(/<option value="comma" selected>/);
    expect(await clientByEmail('kun@cp1250.cz')).toMatchObject({ name: 'Žluťoučký kůň s.r.o.', kind: 'company', note: 'Příliš žluťoučký' });
    expect((await clientByEmail('ivo@cp1250.cz'))?.name).toBe('Ivo Černý');
  });

  it('reads mixed line endings and reports the right line numbers', async () => {
    const csv = 'Jméno;E-mail\r\nAda Malá;ada@mixed.cz\nBedřich Malý;bed@mixed.cz\rCyril Tichý;cyril@mixed.cz\r\n;bez-jmena@mixed.cz\nDana Tichá;dana@mixed.cz';
    const { result } = await importFile(csv);
    for (const e of ['ada', 'bed', 'cyril', 'dana']) expect(await clientByEmail(`${e}@mixed.cz`), e).toBeDefined();
    expect(result).toMatch(/<td>5<\/td><td>chybí jméno \/ název<\/td>/);
  });

  it('keeps separators, quotes and line breaks inside quoted fields', async () => {
    const csv = [
      'Jméno;E-mail;Poznámka;Ulice',
      '"Novák; Novák a syn s.r.o.";quoted@q.cz;"Řekl: ""Volejte ráno"";\r\ndruhý řádek";"Husova 5, 2. patro"',
      '"Eva ""Evička"" Malá";eva@q.cz;;',
      'Bez mailu;spatny-mail;;',
    ].join('\n');
    const { result } = await importFile(csv);
    expect(await clientByEmail('quoted@q.cz')).toMatchObject({
      name: 'Novák; Novák a syn s.r.o.',
      note: 'Řekl: "Volejte ráno";\ndruhý řádek',
      street: 'Husova 5, 2. patro',
    });
    expect((await clientByEmail('eva@q.cz'))?.name).toBe('Eva "Evička" Malá');
    // The quoted note spans lines 2–3, so the bad row is on line 5.
    expect(result).toMatch(/<td>5<\/td><td>neplatný e-mail „spatny-mail“<\/td>/);
  });

  it('refuses a binary file with a clear message, not a 500', async () => {
    const res = await upload(admin, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]), 'foto.csv');
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('Soubor není textový');
  });

  it('tells an Excel workbook apart and says how to save it as CSV', async () => {
    const res = await upload(admin, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(200, 1)]), 'klienti.xlsx');
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('sešit Excelu (XLSX)');
  });

  it('refuses a file over 50 MB, counting the bytes actually sent', async () => {
    const line = `Jméno;E-mail;Poznámka;${'x'.repeat(200)}\n`;
    const big = Buffer.from(line.repeat(Math.ceil((IMPORT_MAX_BYTES + 1024) / line.length)));
    const res = await upload(admin, big);
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('Soubor je větší než 50 MB');
  });

  it('keeps the usual form limit on the mapping forms', async () => {
    const res = await upload(admin, 'Jméno\nLimit\n');
    const location = res.headers.get('location')!;
    const big = await admin.post(`${location}/preview`, { col_0: 'name', note: 'x'.repeat(3 * 1024 * 1024) });
    expect(big.status).toBe(413);
  });

  it('refuses an empty file', async () => {
    const res = await upload(admin, '');
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('Soubor je prázdný');
  });
});

describe('CSV import: mapping', () => {
  it('guesses the mapping from Czech headers, diacritics or not', async () => {
    const header = 'Jméno;Název firmy;IČO;DIČ;E-mail;Telefon;Ulice;Město;PSČ;Stát;Štítky;Poznámka;Nezasílat marketing;Interní kód';
    const res = await upload(admin, `${header}\nJan Novák;Novák s.r.o.;${ICO_A};CZ${ICO_A};jan@map.cz;+420 601 123 456;Husova 1;Brno;60200;CZ;vip;;ne;A1\n`);
    const page = await (await admin.get(res.headers.get('location')!)).text();
    expect(Object.values(shownMapping(page))).toEqual([
      'name', 'company_name', 'ico', 'dic', 'email', 'phone', 'street', 'city', 'zip', 'country', 'tags', 'note', 'no_marketing', 'ignore',
    ]);
    expect(guessMapping(['jmeno', 'NAZEV FIRMY', 'ic', 'e-mail 2', 'Mobil', 'Příjmení'])).toEqual(['name', 'company_name', 'ico', 'emails', 'phone', 'name']);
  });

  it('previews the first ten rows as they would be imported', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `Klient ${i};k${i}@preview.cz;60200`);
    rows[1] = ';bez@preview.cz;60200';
    const res = await upload(admin, `Jméno;E-mail;PSČ\n${rows.join('\n')}\n`);
    const page = await (await admin.get(res.headers.get('location')!)).text();
    expect(page).toContain('Náhled: prvních 10 řádků');
    expect(page).toContain('602 00'); // the PSČ as it will be stored
    expect(page).toContain('chybí jméno / název');
    expect(page).not.toContain('Klient 10');
  });

  it('refuses to run without a column mapped to the name', async () => {
    const res = await upload(admin, 'Kontakt;Mail\nJan;jan@nomap.cz\n');
    const location = res.headers.get('location')!;
    const run = await admin.post(`${location}/run`, { col_0: 'ignore', col_1: 'email', duplicates: 'skip' });
    expect(run.status).toBe(422);
    expect(await run.text()).toContain('Přiřaďte prosím některý sloupec k údaji „Jméno / název“');
  });

  it('re-reads the columns when the user changes the separator', async () => {
    const res = await upload(admin, 'Jméno;E-mail,Poznámka\nJan;jan@sep.cz,x\n');
    const location = res.headers.get('location')!;
    const res2 = await admin.post(`${location}/preview`, { delimiter: 'comma', encoding: 'utf-8', duplicates: 'skip' });
    expect(res2.status).toBe(303);
    const page = await (await admin.get(res2.headers.get('location')!)).text();
    expect(page).toContain('Se změnou oddělovače se změnily sloupce');
    expect(page).toContain('<label for="f-col-1">Poznámka</label>');
    // With htmx, only the mapping fragment comes back.
    const fragment = await (await admin.post(`${location}/preview`, { delimiter: 'comma', encoding: 'utf-8', col_0: 'ignore', col_1: 'name' }, { 'HX-Request': 'true' })).text();
    expect(fragment.trim().startsWith('<div id="import-mapping"')).toBe(true);
    expect(fragment).toMatch(/<select id="f-col-1" name="col_1">[\s\S]*?<option value="name" selected>/);
  });
});

describe('CSV import: duplicates and refused rows', () => {
  it('skips a client whose e-mail is already in the address book', async () => {
    await importFile('Jméno;E-mail;Město\nPavla Skoková;pavla@dup.cz;Brno\n');
    const { result } = await importFile('Jméno;E-mail;Město\nPavla Nová;PAVLA@dup.cz;Praha\nNěkdo Jiný;jiny@dup.cz;Praha\n');
    expect(await clientByEmail('pavla@dup.cz')).toMatchObject({ name: 'Pavla Skoková', city: 'Brno' });
    expect(result).toMatch(/Přeskočeno jako duplicita<\/dt><dd>1</);
    expect(result).toMatch(/Vytvořeno nových klientů<\/dt><dd>1</);
  });

  it('updates a client matched by e-mail, adding tags and keeping what the file leaves empty', async () => {
    await importFile('Jméno;E-mail;Město;Telefon;Štítky\nRadek Upd;radek@upd.cz;Brno;+420 777 000 111;vip\n');
    const { result } = await importFile('Jméno;E-mail;Město;Telefon;Štítky\nRadek Update;radek@upd.cz;Olomouc;;partner\n', { duplicates: 'update' });
    expect(await clientByEmail('radek@upd.cz')).toMatchObject({ name: 'Radek Update', city: 'Olomouc', phone: '+420 777 000 111', tags: ['vip', 'partner'] });
    expect(result).toMatch(/Aktualizováno<\/dt><dd>1</);
    const [{ n }] = rowsOf<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from clients where email = 'radek@upd.cz'`)) as [{ n: number }];
    expect(n).toBe(1);
  });

  it('skips a company matched by IČO', async () => {
    await importFile(`Název;IČO\nAlfa Stavby s.r.o.;${ICO_A}\n`);
    const { result } = await importFile(`Název;IČO;Město\nALFA STAVBY spol. s r.o.;${ICO_A};Tábor\n`);
    const rows = await t.db.select().from(clients).where(eq(clients.ico, ICO_A));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'Alfa Stavby s.r.o.', city: null, kind: 'company' });
    expect(result).toMatch(/Přeskočeno jako duplicita<\/dt><dd>1</);
  });

  it('updates a company matched by IČO (also when Excel dropped its leading zero)', async () => {
    await importFile(`Název;IČO\nBeta Trade a.s.;${ICO_B}\n`);
    await importFile(`Název;IČO;E-mail;Město\nBeta Trade a.s.;${ICO_B};info@beta.cz;Jihlava\n`, { duplicates: 'update' });
    const rows = await t.db.select().from(clients).where(eq(clients.ico, ICO_B));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email: 'info@beta.cz', city: 'Jihlava' });
    expect(normalizeIco('123456')).toBeNull();
    expect(normalizeIco('000 694 51')).toBe('00069451');
    expect(normalizeIco('69451')).toBe('00069451');
  });

  it('treats a repeat within the file as a duplicate, also across batches', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'posel-import-'));
    const file = path.join(dir, 'repeat.csv');
    await writeFile(file, 'Jméno;E-mail;Město;Štítky\nOpak Jedna;opak@rep.cz;Brno;a\nJiný;jiny@rep.cz;;\nOpak Dva;opak@rep.cz;;b\nOpak Tři;OPAK@rep.cz;Zlín;\n');
    const spec = { filePath: file, read: { encoding: 'utf-8' as const, delimiter: ';' as const, bom: false }, mapping: guessMapping(['Jméno', 'E-mail', 'Město', 'Štítky']) };
    const counts = await runImport(t.db, { ...spec, duplicates: 'update' }, SYSTEM, { batchSize: 2 });
    expect(counts).toMatchObject({ rows: 4, created: 2, updated: 2, skipped: 0 });
    expect(await clientByEmail('opak@rep.cz')).toMatchObject({ name: 'Opak Tři', city: 'Zlín', tags: ['a', 'b'] });
  });

  it('treats two people of one company (same IČO, different e-mails) as two clients', async () => {
    await importFile(`Jméno;Firma;IČO;E-mail\nOta Gama;Gama s.r.o.;${ICO_C};ota@gama.cz\nIva Gama;Gama s.r.o.;${ICO_C};iva@gama.cz\n`);
    expect(await t.db.select().from(clients).where(eq(clients.ico, ICO_C))).toHaveLength(2);
  });

  it('imports every valid row and reports each refused one with its line and reason', async () => {
    const csv = [
      'Jméno;E-mail;IČO;Telefon;Poznámka',
      'Dobrý První;prvni@refuse.cz;;;',
      ';bez-jmena@refuse.cz;;;',
      'Špatný Mail;to neni mail;;;',
      `Špatné IČO;ico@refuse.cz;12345678;;`,
      `Dlouhé Jméno ${'x'.repeat(200)};dlouhy@refuse.cz;;;`,
      'Dobrý Druhý;druhy@refuse.cz;;;',
      `Dobrá Firma s.r.o.;firma@refuse.cz;${ICO_A.slice(0, 7)}0;;`,
      'Dobrý Třetí;treti@refuse.cz;;;',
    ].join('\n');
    const { id, location, result } = await importFile(csv);
    for (const e of ['prvni', 'druhy', 'treti']) expect(await clientByEmail(`${e}@refuse.cz`), e).toBeDefined();
    for (const e of ['bez-jmena', 'ico', 'dlouhy', 'firma']) expect(await clientByEmail(`${e}@refuse.cz`), e).toBeUndefined();
    expect(result).toMatch(/Vytvořeno nových klientů<\/dt><dd>3</);
    expect(result).toMatch(/Odmítnuto<\/dt><dd>5</);
    expect(result).toContain('<td>3</td><td>chybí jméno / název</td>');
    expect(result).toContain('<td>4</td><td>neplatný e-mail „to neni mail“</td>');
    expect(result).toContain('<td>5</td><td>neplatné IČO „12345678“ (má 8 číslic a kontrolní číslici)</td>');
    expect(result).toContain('<td>6</td><td>údaj „Jméno / název“ je příliš dlouhý (213 znaků, nejvýše 200)</td>');
    expect(result).toContain('<td>8</td><td>neplatné IČO');

    const download = await admin.get(`${location}/refused.csv`);
    expect(download.headers.get('content-type')).toContain('text/csv');
    const text = Buffer.from(await download.arrayBuffer()).toString('utf8');
    expect(text.startsWith('\uFEFFŘádek;Důvod;Jméno;E-mail;IČO;Telefon;Poznámka\r\n')).toBe(true);
    expect(text).toContain('4;neplatný e-mail „to neni mail“;Špatný Mail;to neni mail;;;\r\n');
    expect(text.trim().split('\r\n')).toHaveLength(6);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('writes one audit row per import with the counts', async () => {
    const { id } = await importFile('Jméno;E-mail\nAudit Jedna;a1@audit.cz\n;a2@audit.cz\n');
    const rows = rowsOf<{ action: string; after: Record<string, unknown>; actor_name: string }>(
      await t.db.execute(sql`select action, after, actor_name from audit_log where object_type = 'import' and object_id = ${id}`),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'clients.imported', actor_name: 'Jana Nováková' });
    expect(rows[0]!.after).toMatchObject({ rows: 2, created: 1, refused: 1, skipped: 0, updated: 0 });
  });
});

describe('CSV import: running and access', () => {
  it('shows a self-polling progress fragment while running, and the result without polling when done', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `Hromadný ${i};h${i}@bulk.cz;Brno`);
    const res = await upload(admin, `Jméno;E-mail;Město\n${rows.join('\n')}\n`);
    const location = res.headers.get('location')!;
    const page = await (await admin.get(location)).text();
    await admin.post(`${location}/run`, { ...shownMapping(page), duplicates: 'skip' });
    const running = await (await admin.get(`${location}/progress`, { 'HX-Request': 'true' })).text();
    expect(running).not.toContain('<html');
    expect(running).toContain('hx-trigger="every 1s"');
    await importsSettled();
    const done = await (await admin.get(`${location}/progress`, { 'HX-Request': 'true' })).text();
    expect(done).not.toContain('hx-trigger');
    expect(done).toMatch(/Vytvořeno nových klientů<\/dt><dd>5\s000</);
    const [{ n }] = rowsOf<{ n: number }>(await t.db.execute(sql`select count(*)::int as n from clients where email like '%@bulk.cz'`)) as [{ n: number }];
    expect(n).toBe(5000);
  });

  it('answers 403 to a user without import.run', async () => {
    await addUser(t.database, 'staff', 'referent@firma.cz');
    const staff = t.client();
    await signIn(staff, 'referent@firma.cz', 'Heslo pro test 123');
    expect((await staff.get('/clients/import')).status).toBe(403);
    expect((await upload(staff, 'Jméno\nX\n')).status).toBe(403);
  });

  it("answers 404 for another user's import", async () => {
    const res = await upload(admin, 'Jméno\nCizí\n');
    const location = res.headers.get('location')!;
    await addUser(t.database, 'manager', 'vedouci@firma.cz');
    const manager = t.client();
    await signIn(manager, 'vedouci@firma.cz', 'Heslo pro test 123');
    expect((await manager.get(location)).status).toBe(404);
    expect((await manager.post(`${location}/run`, { col_0: 'name' })).status).toBe(404);
  });

  it('stores the upload under DATA_DIR/imports by a random id and removes it after the run', async () => {
    const { id } = await importFile('Jméno\nSoubor Pryč\n');
    await expect(readFile(`${t.config.DATA_DIR}/imports/${id}`)).rejects.toThrow();
    const rows = await t.db.select({ name: clients.name }).from(clients).where(eq(clients.name, 'Soubor Pryč')).orderBy(asc(clients.id));
    expect(rows).toHaveLength(1);
  });
});

describe('IČO checksum', () => {
  it('accepts 8 digits with the mod-11 check digit and nothing else', () => {
    expect(icoChecksumOk(ICO_A)).toBe(true);
    expect(icoChecksumOk('25596640')).toBe(false);
    expect(icoChecksumOk('2559664')).toBe(false);
  });
});
