/**
 * The Posel client fields a CSV column can be mapped to, the guess from a column's header text, and the
 * check of one record against the mapping: a valid record becomes an `ImportClient`, a bad one a list of
 * problems (i18n keys with parameters) so the user learns every reason at once.
 */
import { emailField } from '../http/forms.ts';

/** Targets of a column, in the order the mapping form offers them. */
export const IMPORT_FIELDS = [
  'name',
  'company_name',
  'kind',
  'ico',
  'dic',
  'email',
  'emails',
  'phone',
  'street',
  'city',
  'zip',
  'country',
  'locale',
  'tags',
  'note',
  'no_marketing',
] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];
export type ColumnTarget = ImportField | 'ignore';
/** One target per column of the file, by position. */
export type Mapping = ColumnTarget[];

/**
 * Fields several columns may feed: their texts are joined (name: "Jméno" + "Příjmení"; street: "Ulice" +
 * "Číslo popisné"; note: with a new line) or merged (further e-mails, tags). Every other field takes one column.
 */
export const MULTI_COLUMN_FIELDS: ReadonlySet<ImportField> = new Set(['name', 'street', 'emails', 'tags', 'note']);

export function isColumnTarget(value: unknown): value is ColumnTarget {
  return value === 'ignore' || (IMPORT_FIELDS as readonly unknown[]).includes(value);
}

/** Longest accepted value per field (characters); longer is refused, never cut. */
export const MAX_LENGTH: Record<Exclude<ImportField, 'kind' | 'no_marketing' | 'locale' | 'emails' | 'tags'>, number> = {
  name: 200,
  company_name: 200,
  ico: 20,
  dic: 20,
  email: 254,
  phone: 50,
  street: 200,
  city: 100,
  zip: 20,
  country: 60,
  note: 10_000,
};
const MAX_TAG = 50;
const MAX_TAGS = 30;
const MAX_FURTHER_EMAILS = 20;

/** Lower case, diacritics and everything but letters and digits removed: "Název firmy" → "nazevfirmy". */
export function foldHeader(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

// Header texts seen in Czech and English exports (Excel, Pohoda, Money S3, Google Contacts, Mailchimp…),
// folded. Exact matches first; then the prefix rules below.
const HEADER_WORDS: Record<ImportField, string[]> = {
  name: [
    'jmeno', 'name', 'nazev', 'jmenoaprijmeni', 'prijmeniajmeno', 'celejmeno', 'fullname', 'displayname', 'kontakt',
    'kontaktniosoba', 'klient', 'zakaznik', 'odberatel', 'nazevklienta', 'nazevzakaznika', 'contact', 'contactname',
    'customer', 'customername', 'client', 'clientname', 'prijmeni', 'krestnijmeno', 'firstname', 'lastname', 'surname',
    'givenname', 'familyname', 'jmenoklienta',
  ],
  company_name: [
    'nazevfirmy', 'firma', 'spolecnost', 'company', 'companyname', 'organizace', 'organization', 'organisation',
    'zamestnavatel', 'employer', 'obchodnijmeno', 'obchodninazev', 'nazevspolecnosti', 'nazevorganizace',
  ],
  kind: ['typ', 'druh', 'kind', 'type', 'typklienta', 'druhklienta', 'osobafirma', 'fopo', 'typosoby'],
  ico: ['ico', 'ic', 'identifikacnicislo', 'identifikacnicisloosoby', 'companyid', 'registrationnumber', 'regno', 'crn', 'icofirmy'],
  dic: ['dic', 'vatid', 'vat', 'vatnumber', 'vatno', 'danoveidentifikacnicislo', 'taxid', 'dicfirmy'],
  email: ['email', 'mail', 'emailovaadresa', 'emailaddress', 'primaryemail', 'hlavniemail', 'email1', 'emailadresa', 'epost'],
  emails: [
    'emaily', 'emails', 'dalsiemail', 'dalsiemaily', 'otheremail', 'otheremails', 'additionalemails', 'secondaryemail',
    'email2', 'email3', 'email4', 'emaily2', 'ostatniemaily', 'dalsiadresy',
  ],
  phone: ['telefon', 'tel', 'phone', 'mobil', 'mobile', 'telefonnicislo', 'phonenumber', 'mobilnitelefon', 'telmobil', 'cislotelefonu', 'gsm'],
  street: ['ulice', 'street', 'adresa', 'address', 'uliceacp', 'uliceacislo', 'ulicecp', 'addressline1', 'streetaddress', 'cislopopisne', 'cp', 'cislodomu', 'housenumber'],
  city: ['mesto', 'obec', 'city', 'town', 'misto', 'locality', 'sidlo'],
  zip: ['psc', 'zip', 'zipcode', 'postcode', 'postalcode', 'postovnismerovacicislo'],
  country: ['stat', 'zeme', 'country', 'countrycode', 'kodstatu'],
  locale: ['jazyk', 'language', 'locale', 'lang', 'jazykkorespondence'],
  tags: ['stitky', 'stitek', 'tagy', 'tags', 'tag', 'kategorie', 'skupina', 'skupiny', 'labels', 'label', 'categories', 'category', 'groups'],
  note: ['poznamka', 'poznamky', 'note', 'notes', 'komentar', 'comment', 'comments', 'popis', 'description', 'info'],
  no_marketing: [
    'nezasilatmarketing', 'bezmarketingu', 'nomarketing', 'marketingnesouhlas', 'nesouhlasmarketing', 'optout', 'optedout',
    'unsubscribed', 'odhlasen', 'odhlaseno', 'odhlasenzodberu', 'nesouhlasismarketingem', 'donotemail', 'donotcontact',
    'nekontaktovat', 'nezasilat',
  ],
};
const EXACT = new Map<string, ImportField>();
for (const field of IMPORT_FIELDS) for (const word of HEADER_WORDS[field]) EXACT.set(word, field);

/** The most likely Posel field for one header text, or 'ignore'. */
export function guessField(header: string): ColumnTarget {
  const folded = foldHeader(header);
  if (!folded) return 'ignore';
  const exact = EXACT.get(folded);
  if (exact) return exact;
  // Prefix rules for longer headers: "E-mail (práce)", "Telefon mobil", "PSČ sídla", "IČO firmy"…
  if (/^(dalsi|other|additional|secondary)e?mail/.test(folded) || /^e?mail[2-9]/.test(folded)) return 'emails';
  if (/^e?mail/.test(folded)) return 'email';
  if (/^(telefon|tel|phone|mobil)/.test(folded)) return 'phone';
  if (/^(ico|ic)(?![a-z])/.test(folded)) return 'ico';
  if (/^dic/.test(folded)) return 'dic';
  if (/^psc|^zip|^post(al)?code/.test(folded)) return 'zip';
  if (/^(ulice|street)/.test(folded)) return 'street';
  if (/^(mesto|obec|city)/.test(folded)) return 'city';
  if (/^(stat|zeme|country)/.test(folded)) return 'country';
  if (/^(nazevfirmy|firma|company|spolecnost)/.test(folded)) return 'company_name';
  if (/^(poznamk|note|komentar|comment)/.test(folded)) return 'note';
  if (/^(stitk|tag|kategori)/.test(folded)) return 'tags';
  if (/^(jmeno|name|nazev)/.test(folded)) return 'name';
  return 'ignore';
}

/**
 * The guessed mapping of a whole header. A single-column field claimed twice keeps its first column;
 * a second "E-mail" column becomes further e-mails.
 */
export function guessMapping(header: string[]): Mapping {
  const used = new Set<ImportField>();
  return header.map((text) => {
    let field = guessField(text);
    if (field === 'ignore') return field;
    if (used.has(field) && !MULTI_COLUMN_FIELDS.has(field)) field = field === 'email' ? 'emails' : 'ignore';
    if (field !== 'ignore') used.add(field);
    return field;
  });
}

/** Problems with a mapping itself (before any row is read): name must be mapped; single fields once. */
export function mappingProblems(mapping: Mapping): { key: string; params: Record<string, string> }[] {
  const problems: { key: string; params: Record<string, string> }[] = [];
  if (!mapping.includes('name')) problems.push({ key: 'import.mapping.name_required', params: {} });
  const seen = new Set<ImportField>();
  const twice = new Set<ImportField>();
  for (const target of mapping) {
    if (target === 'ignore' || MULTI_COLUMN_FIELDS.has(target)) continue;
    if (seen.has(target)) twice.add(target);
    seen.add(target);
  }
  for (const field of twice) problems.push({ key: 'import.mapping.twice', params: { field } });
  return problems;
}

/** What one valid record becomes; null means "not in the file" (an update keeps the stored value). */
export interface ImportClient {
  kind: 'person' | 'company';
  name: string;
  company_name: string | null;
  ico: string | null;
  dic: string | null;
  email: string | null;
  emails: string[];
  phone: string | null;
  street: string | null;
  city: string | null;
  zip: string | null;
  country: string | null;
  locale: 'cs' | 'en' | null;
  tags: string[];
  note: string | null;
  /** Only ever sets the flag: an import never re-enables marketing for someone who refused it. */
  no_marketing: boolean;
}

/** A reason a record is refused: an i18n key (`import.reason.*`) with parameters. */
export interface Problem {
  key: string;
  params: Record<string, string | number>;
}

export type CheckedRecord = { ok: true; client: ImportClient } | { ok: false; problems: Problem[] } | { ok: 'empty' };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LEGAL_FORM = /(?:^|[\s,])(s\.\s?r\.\s?o\.|spol\.\s?s\s?r\.\s?o\.|a\.\s?s\.|v\.\s?o\.\s?s\.|k\.\s?s\.|z\.\s?s\.|o\.\s?p\.\s?s\.|s\.\s?p\.|z\.\s?ú\.|družstvo|SE|GmbH|Ltd\.?|Inc\.?|s\.\s?r\.\s?l\.)$/i;
const emailSchema = emailField();

/** True when `ico` is 8 digits whose last is the Czech mod-11 check digit of the first seven. */
export function icoChecksumOk(ico: string): boolean {
  if (!/^\d{8}$/.test(ico)) return false;
  let sum = 0;
  for (let i = 0; i < 7; i++) sum += Number(ico[i]) * (8 - i);
  return (11 - (sum % 11)) % 10 === Number(ico[7]);
}

/** An IČO as typed ("123 45 678", or Excel's "1234567" that lost a leading zero) → 8 digits, or null. */
export function normalizeIco(raw: string): string | null {
  const digits = raw.replace(/\s/g, '');
  if (!/^\d{1,8}$/.test(digits)) return null;
  const ico = digits.padStart(8, '0');
  return icoChecksumOk(ico) ? ico : null;
}

/** A DIČ: "CZ12345678"; bare digits get the CZ prefix. */
export function normalizeDic(raw: string): string | null {
  const compact = raw.replace(/\s/g, '').toUpperCase();
  if (/^\d{8,10}$/.test(compact)) return `CZ${compact}`;
  return /^[A-Z]{2}[0-9A-Z+*]{2,13}$/.test(compact) ? compact : null;
}

const YES = new Set(['ano', 'a', 'yes', 'y', 'true', '1', 'x', 'pravda', 'nezasilat', 'odhlasen', 'odhlaseno', 'optout']);
const NO = new Set(['ne', 'n', 'no', 'false', '0', 'nepravda', '']);
const PERSON = new Set(['osoba', 'fyzickaosoba', 'fo', 'person', 'individual', 'soukromaosoba', 'clovek', 'kontakt', 'contact', 'people']);
const COMPANY = new Set(['firma', 'spolecnost', 'pravnickaosoba', 'po', 'company', 'organizace', 'organization', 'business', 'instituce']);
const COUNTRY_NAMES: Record<string, string> = {
  cesko: 'CZ', ceskarepublika: 'CZ', cr: 'CZ', czechia: 'CZ', czechrepublic: 'CZ', slovensko: 'SK', slovakia: 'SK',
  sr: 'SK', nemecko: 'DE', germany: 'DE', deutschland: 'DE', rakousko: 'AT', austria: 'AT', polsko: 'PL', poland: 'PL',
  madarsko: 'HU', hungary: 'HU', velkabritanie: 'GB', unitedkingdom: 'GB', uk: 'GB', spojenestaty: 'US', usa: 'US',
  unitedstates: 'US', francie: 'FR', france: 'FR', italie: 'IT', italy: 'IT', spanelsko: 'ES', spain: 'ES',
  nizozemsko: 'NL', netherlands: 'NL', belgie: 'BE', belgium: 'BE', svycarsko: 'CH', switzerland: 'CH', ukrajina: 'UA', ukraine: 'UA',
};
const LOCALE_NAMES: Record<string, 'cs' | 'en'> = {
  cs: 'cs', cz: 'cs', cze: 'cs', cestina: 'cs', cesky: 'cs', czech: 'cs', sk: 'cs', slovencina: 'cs', slovensky: 'cs',
  en: 'en', eng: 'en', anglictina: 'en', anglicky: 'en', english: 'en',
};

/**
 * Checks one record (its cells, by column) against `mapping`. Every problem is collected, so the user
 * can fix a refused row in one go. Single-line fields have inner whitespace (also new lines) collapsed.
 */
export function checkRecord(cells: string[], mapping: Mapping): CheckedRecord {
  const texts: Partial<Record<ImportField, string[]>> = {};
  let any = false;
  for (let i = 0; i < mapping.length; i++) {
    const target = mapping[i]!;
    if (target === 'ignore') continue;
    // Posel's own exports (and refused-rows files) guard formula-like cells with an apostrophe: take it off.
    const raw = (cells[i] ?? '').replace(/^'(?=[=+\-@\t\r])/, '');
    const value = target === 'note' ? raw.replace(/\r\n?/g, '\n').trim() : raw.replace(/\s+/g, ' ').trim();
    if (!value) continue;
    any = true;
    (texts[target] ??= []).push(value);
  }
  if (!any) return { ok: 'empty' };

  const problems: Problem[] = [];
  const one = (field: ImportField) => texts[field]?.[0] ?? null;
  const text = (field: keyof typeof MAX_LENGTH, joined: string | null): string | null => {
    if (joined === null) return null;
    if (CONTROL.test(joined)) {
      problems.push({ key: 'import.reason.control_chars', params: { field } });
      return null;
    }
    if (joined.length > MAX_LENGTH[field]) {
      problems.push({ key: 'import.reason.too_long', params: { field, max: MAX_LENGTH[field], length: joined.length } });
      return null;
    }
    return joined;
  };

  const name = text('name', texts.name ? texts.name.join(' ') : null);
  if (!texts.name) problems.push({ key: 'import.reason.name_missing', params: {} });

  let email: string | null = null;
  const rawEmail = one('email');
  if (rawEmail !== null) {
    const parsed = emailSchema.safeParse(rawEmail);
    if (parsed.success) email = parsed.data;
    else problems.push({ key: 'import.reason.email_invalid', params: { value: clip(rawEmail) } });
  }

  const emails: string[] = [];
  for (const part of (texts.emails ?? []).flatMap((v) => v.split(/[,;\s]+/))) {
    if (!part) continue;
    const parsed = emailSchema.safeParse(part);
    if (!parsed.success) {
      problems.push({ key: 'import.reason.email_invalid', params: { value: clip(part) } });
      continue;
    }
    if (parsed.data !== email && !emails.includes(parsed.data)) emails.push(parsed.data);
  }
  if (emails.length > MAX_FURTHER_EMAILS) problems.push({ key: 'import.reason.too_many_emails', params: { max: MAX_FURTHER_EMAILS } });

  let ico: string | null = null;
  const rawIco = one('ico');
  if (rawIco !== null) {
    ico = normalizeIco(rawIco);
    if (!ico) problems.push({ key: 'import.reason.ico_invalid', params: { value: clip(rawIco) } });
  }
  let dic: string | null = null;
  const rawDic = one('dic');
  if (rawDic !== null) {
    dic = normalizeDic(rawDic);
    if (!dic) problems.push({ key: 'import.reason.dic_invalid', params: { value: clip(rawDic) } });
  }

  let country: string | null = null;
  const rawCountry = one('country');
  if (rawCountry !== null) {
    const folded = foldHeader(rawCountry);
    country = COUNTRY_NAMES[folded] ?? (/^[a-z]{2}$/.test(folded) ? folded.toUpperCase() : null);
    if (!country) problems.push({ key: 'import.reason.country_invalid', params: { value: clip(rawCountry) } });
  }

  let locale: 'cs' | 'en' | null = null;
  const rawLocale = one('locale');
  if (rawLocale !== null) {
    locale = LOCALE_NAMES[foldHeader(rawLocale)] ?? null;
    if (!locale) problems.push({ key: 'import.reason.locale_invalid', params: { value: clip(rawLocale) } });
  }

  let noMarketing = false;
  const rawNoMarketing = one('no_marketing');
  if (rawNoMarketing !== null) {
    const folded = foldHeader(rawNoMarketing);
    if (YES.has(folded)) noMarketing = true;
    else if (!NO.has(folded)) problems.push({ key: 'import.reason.no_marketing_invalid', params: { value: clip(rawNoMarketing) } });
  }

  const tags: string[] = [];
  for (const tag of (texts.tags ?? []).flatMap((v) => v.split(/[,;|]/))) {
    const t = tag.trim();
    if (!t || tags.includes(t)) continue;
    if (t.length > MAX_TAG || CONTROL.test(t)) {
      problems.push({ key: 'import.reason.tag_invalid', params: { value: clip(t), max: MAX_TAG } });
      continue;
    }
    tags.push(t);
  }
  if (tags.length > MAX_TAGS) problems.push({ key: 'import.reason.too_many_tags', params: { max: MAX_TAGS } });

  let zip = text('zip', one('zip'));
  if (zip && /^\d{3}\s?\d{2}$/.test(zip)) zip = `${zip.slice(0, 3)} ${zip.slice(-2)}`;

  const companyName = text('company_name', one('company_name'));
  let kind: 'person' | 'company';
  const rawKind = one('kind');
  const foldedKind = rawKind === null ? '' : foldHeader(rawKind);
  if (PERSON.has(foldedKind)) kind = 'person';
  else if (COMPANY.has(foldedKind)) kind = 'company';
  else {
    if (rawKind !== null) problems.push({ key: 'import.reason.kind_invalid', params: { value: clip(rawKind) } });
    // Not stated: a legal form in the name, or an IČO without an employer's name, makes a company.
    kind = name && LEGAL_FORM.test(name) ? 'company' : ico && !companyName ? 'company' : 'person';
  }

  const client: ImportClient = {
    kind,
    name: name ?? '',
    company_name: companyName,
    ico,
    dic,
    email,
    emails,
    phone: text('phone', one('phone')),
    street: text('street', texts.street ? texts.street.join(' ') : null),
    city: text('city', one('city')),
    zip,
    country,
    locale,
    tags,
    note: text('note', texts.note ? texts.note.join('\n') : null),
    no_marketing: noMarketing,
  };
  return problems.length ? { ok: false, problems } : { ok: true, client };
}

/** A value quoted back in a reason, short enough for one line. */
function clip(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}…` : value;
}
