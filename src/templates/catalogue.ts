/**
 * The variables a template may use, per purpose: a typed allow-list (DESIGN.md). A template naming anything
 * else is refused when saved; the data handed to Mustache is built from these keys only (data.ts).
 */
import { TEMPLATE_PURPOSES, type TemplatePurpose } from '../db/schema/templates.ts';

export { TEMPLATE_PURPOSES, type TemplatePurpose };

/**
 * text: a plain value, escaped where it is inserted (may also open a section, as "if not empty").
 * html: a block Posel renders itself with every value escaped; the only thing `{{{…}}}` may insert.
 * section: a list, repeated with `{{#key}}…{{/key}}`; its item fields are named without a prefix inside.
 */
export type VariableKind = 'text' | 'html' | 'section';

export interface Variable {
  key: string;
  kind: VariableKind;
  label: { cs: string; en: string };
  /** A section's item fields (keys relative to the item). */
  fields?: readonly Variable[];
}

const text = (key: string, cs: string, en: string): Variable => ({ key, kind: 'text', label: { cs, en } });

/** The recipient (every purpose has it). */
const CLIENT: readonly Variable[] = [
  text('client.name', 'Jméno / název klienta', 'Client name'),
  text('client.company_name', 'Firma', 'Company'),
  text('client.ico', 'IČO', 'Company ID (IČO)'),
  text('client.dic', 'DIČ', 'VAT ID (DIČ)'),
  text('client.email', 'E-mail', 'E-mail'),
  text('client.phone', 'Telefon', 'Phone'),
  text('client.street', 'Ulice', 'Street'),
  text('client.city', 'Město', 'City'),
  text('client.zip', 'PSČ', 'Postcode'),
  text('client.country', 'Země', 'Country'),
  text('client.address', 'Adresa na jednom řádku', 'Address on one line'),
];

const COMMON: readonly Variable[] = [
  text('sender.name', 'Vaše jméno (odesílatel)', 'Your name (sender)'),
  text('sender.email', 'Váš e-mail (odesílatel)', 'Your e-mail (sender)'),
  text('today', 'Dnešní datum', 'Today’s date'),
];

const ORDER_ITEM: readonly Variable[] = [
  text('position', 'Pořadí položky', 'Item position'),
  text('name', 'Název položky', 'Item name'),
  text('quantity', 'Množství', 'Quantity'),
  text('unit', 'Jednotka', 'Unit'),
  text('unit_price', 'Cena za jednotku bez DPH', 'Unit price excl. VAT'),
  text('vat_rate', 'Sazba DPH', 'VAT rate'),
  text('total_net', 'Celkem bez DPH', 'Total excl. VAT'),
  text('total_vat', 'DPH', 'VAT'),
  text('total', 'Celkem s DPH', 'Total incl. VAT'),
];

const ORDER: readonly Variable[] = [
  text('order.number', 'Číslo objednávky', 'Order number'),
  text('order.date', 'Datum objednávky', 'Order date'),
  text('order.due_date', 'Termín', 'Due date'),
  text('order.status', 'Stav', 'Status'),
  text('order.currency', 'Měna', 'Currency'),
  text('order.total_net', 'Celkem bez DPH', 'Total excl. VAT'),
  text('order.total_vat', 'DPH celkem', 'VAT total'),
  text('order.total', 'Celkem s DPH', 'Total incl. VAT'),
  text('order.note', 'Poznámka', 'Note'),
  text('order.item_count', 'Počet položek', 'Number of items'),
  { key: 'order.items', kind: 'section', label: { cs: 'Položky (opakovaný blok)', en: 'Items (repeated block)' }, fields: ORDER_ITEM },
  { key: 'order.items_table', kind: 'html', label: { cs: 'Tabulka položek (hotový blok)', en: 'Items table (ready block)' } },
];

const CONTRACT: readonly Variable[] = [
  text('contract.number', 'Číslo smlouvy', 'Contract number'),
  text('contract.title', 'Předmět smlouvy', 'Contract subject'),
  text('contract.valid_from', 'Platná od', 'Valid from'),
  text('contract.valid_to', 'Platná do', 'Valid to'),
  text('contract.value', 'Hodnota', 'Value'),
  text('contract.currency', 'Měna', 'Currency'),
  text('contract.status', 'Stav', 'Status'),
  text('contract.note', 'Poznámka', 'Note'),
];

const ACTIVITY: readonly Variable[] = [
  text('activity.type', 'Druh (telefonát, schůzka…)', 'Type (call, meeting…)'),
  text('activity.subject', 'Předmět', 'Subject'),
  text('activity.when', 'Datum a čas', 'Date and time'),
  text('activity.date', 'Datum', 'Date'),
  text('activity.time', 'Čas', 'Time'),
  text('activity.note', 'Poznámka', 'Note'),
  text('activity.responsible', 'Odpovědní uživatelé', 'Responsible users'),
  text('activity.participants', 'Účastníci', 'Participants'),
];

const LIST: readonly Variable[] = [text('list.name', 'Název seznamu', 'List name')];

const BY_PURPOSE: Record<TemplatePurpose, readonly Variable[]> = {
  client: [...CLIENT, ...COMMON],
  order: [...ORDER, ...CLIENT, ...COMMON],
  contract: [...CONTRACT, ...CLIENT, ...COMMON],
  activity: [...ACTIVITY, ...CLIENT, ...COMMON],
  list: [...LIST, ...CLIENT, ...COMMON],
};

export interface Catalogue {
  purpose: TemplatePurpose;
  variables: readonly Variable[];
  /** Lookup by full key; a Map, so `constructor` or `__proto__` are never found by accident. */
  byKey: ReadonlyMap<string, Variable>;
}

const catalogues = new Map<TemplatePurpose, Catalogue>(
  TEMPLATE_PURPOSES.map((purpose) => [purpose, { purpose, variables: BY_PURPOSE[purpose], byKey: new Map(BY_PURPOSE[purpose].map((v) => [v.key, v])) }]),
);

export function isTemplatePurpose(value: unknown): value is TemplatePurpose {
  return typeof value === 'string' && (TEMPLATE_PURPOSES as readonly string[]).includes(value);
}

/** The variable catalogue of a purpose. */
export function catalogueFor(purpose: TemplatePurpose): Catalogue {
  const c = catalogues.get(purpose);
  if (!c) throw new Error(`unknown template purpose ${purpose}`);
  return c;
}

/** The tag to insert for a variable: `{{x}}`, `{{{x}}}` for ready HTML blocks, a section skeleton for lists. */
export function tagFor(v: Variable): string {
  if (v.kind === 'html') return `{{{${v.key}}}}`;
  if (v.kind === 'section') {
    const f = (v.fields ?? []).map((x) => x.key);
    const inner = ['name', 'quantity', 'unit', 'unit_price'].every((k) => f.includes(k)) ? '{{name}} – {{quantity}} {{unit}} × {{unit_price}}; ' : f.map((k) => `{{${k}}} `).join('');
    return `{{#${v.key}}}${inner}{{/${v.key}}}`;
  }
  return `{{${v.key}}}`;
}
