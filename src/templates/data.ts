/**
 * Template data: the null-prototype tree Mustache sees, built from a real record and only from the
 * catalogue's keys (catalogue.ts). Every value is a string already formatted for the template's language
 * (money, dates, quantities, VAT rates), so a template never needs logic to show them.
 */
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { activities, activityPeople, activityResponsibles, clients, contracts, listMembers, marketingLists, orderItems, orders, users } from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';
import { formatters, translator, type Locale } from '../http/i18n/index.ts';
import { lineTotals } from '../orders/money.ts';
import type { TemplatePurpose } from './catalogue.ts';
import { escapeHtml, type TemplateData } from './engine.ts';

/** Which records a message (or a preview) is about. */
export interface RecordLink {
  clientId?: number | null;
  orderId?: number | null;
  contractId?: number | null;
  activityId?: number | null;
  listId?: number | null;
}

export interface DataContext {
  locale: Locale;
  sender: { name: string; email: string };
  timeZone: string;
}

type Tree = { [key: string]: string | Tree | Tree[] };

/** A null-prototype object: `constructor`, `__proto__` and friends are simply not there. */
function tree(entries: Record<string, string | Tree | Tree[]>): Tree {
  return Object.assign(Object.create(null) as Tree, entries);
}

const str = (v: unknown) => (v == null ? '' : String(v));

const extraFormats = new Map<string, { time: Intl.DateTimeFormat; percent: Intl.NumberFormat; quantity: Intl.NumberFormat; region: Intl.DisplayNames }>();
function extra(locale: Locale, timeZone: string) {
  const key = `${locale}|${timeZone}`;
  let f = extraFormats.get(key);
  if (!f) {
    const tag = locale === 'cs' ? 'cs-CZ' : 'en-GB';
    f = {
      time: new Intl.DateTimeFormat(tag, { timeStyle: 'short', timeZone }),
      percent: new Intl.NumberFormat(tag, { style: 'percent', maximumFractionDigits: 2 }),
      quantity: new Intl.NumberFormat(tag, { maximumFractionDigits: 3 }),
      region: new Intl.DisplayNames([tag], { type: 'region' }),
    };
    extraFormats.set(key, f);
  }
  return f;
}

export interface ClientRecord {
  name: string;
  companyName: string | null;
  ico: string | null;
  dic: string | null;
  email: string | null;
  phone: string | null;
  street: string | null;
  city: string | null;
  zip: string | null;
  country: string | null;
}

function countryName(code: string | null, ctx: DataContext): string {
  if (!code) return '';
  try {
    return extra(ctx.locale, ctx.timeZone).region.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** `client.*` of a client (all empty when there is none, e.g. an activity without a client). */
export function clientData(c: ClientRecord | null | undefined, ctx: DataContext): Tree {
  const country = countryName(c?.country ?? null, ctx);
  const place = [str(c?.zip), str(c?.city)].filter(Boolean).join(' ');
  // The country is part of the one-line address only when it is not the home country.
  const address = [str(c?.street), place, c?.country && c.country.toUpperCase() !== 'CZ' ? country : ''].filter(Boolean).join(', ');
  return tree({
    name: str(c?.name),
    company_name: str(c?.companyName),
    ico: str(c?.ico),
    dic: str(c?.dic),
    email: str(c?.email),
    phone: str(c?.phone),
    street: str(c?.street),
    city: str(c?.city),
    zip: str(c?.zip),
    country,
    address,
  });
}

/** The root every purpose shares: client, sender, today. */
function root(client: ClientRecord | null | undefined, ctx: DataContext, now: Date, extraEntries: Record<string, Tree> = {}): Tree {
  return tree({
    client: clientData(client, ctx),
    sender: tree({ name: str(ctx.sender.name), email: str(ctx.sender.email) }),
    today: formatters(ctx.locale, ctx.timeZone).date(now),
    ...extraEntries,
  });
}

export interface OrderRecord {
  number: string;
  orderedOn: string;
  dueOn: string | null;
  status: string;
  currency: string;
  note: string | null;
  totalNet: bigint;
  totalVat: bigint;
  totalGross: bigint;
}

export interface OrderItemRecord {
  position: number;
  name: string;
  quantityMilli: bigint;
  unit: string;
  unitPrice: bigint;
  vatRateBp: number;
}

/**
 * `order.*` of an order with its items, and the ready `order.items_table`: an HTML table built here with
 * every cell escaped (the only kind of value `{{{…}}}` may insert).
 */
export function orderData(order: OrderRecord, items: readonly OrderItemRecord[], ctx: DataContext): Tree {
  const fmt = formatters(ctx.locale, ctx.timeZone);
  const x = extra(ctx.locale, ctx.timeZone);
  const t = translator(ctx.locale);
  const money = (minor: bigint) => fmt.money(minor, order.currency);
  const rows = items.map((item) => {
    const amounts = lineTotals(item);
    return tree({
      position: String(item.position),
      name: item.name,
      quantity: x.quantity.format(Number(item.quantityMilli) / 1000),
      unit: item.unit,
      unit_price: money(item.unitPrice),
      vat_rate: x.percent.format(item.vatRateBp / 10_000),
      total_net: money(amounts.net),
      total_vat: money(amounts.vat),
      total: money(amounts.gross),
    });
  });
  const totals = { net: money(order.totalNet), vat: money(order.totalVat), gross: money(order.totalGross) };
  return tree({
    number: order.number,
    date: fmt.date(order.orderedOn),
    due_date: fmt.date(order.dueOn),
    status: t(`orders.status.${order.status}`),
    currency: order.currency,
    total_net: totals.net,
    total_vat: totals.vat,
    total: totals.gross,
    note: str(order.note),
    item_count: String(items.length),
    items: rows,
    items_table: itemsTable(rows, totals, t),
  });
}

function itemsTable(rows: Tree[], totals: { net: string; vat: string; gross: string }, t: ReturnType<typeof translator>): string {
  const e = escapeHtml;
  const head = ['templates.table.item', 'templates.table.quantity', 'templates.table.unit_price', 'templates.table.vat_rate', 'templates.table.total'].map(
    (k, i) => `<th${i ? ' align="right"' : ' align="left"'}>${e(t(k))}</th>`,
  );
  const body = rows.map(
    (r) =>
      `<tr><td>${e(r.name)}</td><td align="right">${e(r.quantity)} ${e(r.unit)}</td><td align="right">${e(r.unit_price)}</td>` +
      `<td align="right">${e(r.vat_rate)}</td><td align="right">${e(r.total)}</td></tr>`,
  );
  const foot = (key: string, value: string) => `<tr><td colspan="4" align="right">${e(t(key))}</td><td align="right">${e(value)}</td></tr>`;
  return (
    `<table border="1" cellpadding="4" cellspacing="0"><thead><tr>${head.join('')}</tr></thead><tbody>${body.join('')}</tbody>` +
    `<tfoot>${foot('templates.table.total_net', totals.net)}${foot('templates.table.total_vat', totals.vat)}` +
    `${foot('templates.table.total_gross', totals.gross)}</tfoot></table>`
  );
}

/** The whole tree for an order template (used by the benchmark with records built in memory). */
export function orderTemplateData(order: OrderRecord, items: readonly OrderItemRecord[], client: ClientRecord | null, ctx: DataContext, now = new Date()): TemplateData {
  return root(client, ctx, now, { order: orderData(order, items, ctx) }) as TemplateData;
}

/** The client columns a template's data is made from (also read by bulk generation). */
export const clientColumns = {
  name: clients.name,
  companyName: clients.companyName,
  ico: clients.ico,
  dic: clients.dic,
  email: clients.email,
  phone: clients.phone,
  street: clients.street,
  city: clients.city,
  zip: clients.zip,
  country: clients.country,
};

async function loadClient(db: Db, id: number | null | undefined): Promise<ClientRecord | null> {
  if (id == null) return null;
  const [row] = await db.select(clientColumns).from(clients).where(eq(clients.id, id));
  return row ?? null;
}

const need = (id: number | null | undefined): number => {
  if (id == null || !Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) throw new NotFoundError();
  return id;
};

/**
 * Builds the data of a real record for a template of `purpose`: client (the record's own client, or
 * `link.clientId`), the record itself, sender and today. A missing record throws NotFoundError. For a list
 * the client is `link.clientId`, or the list's first member by name when none is given (the preview).
 */
export async function loadTemplateData(db: Db, purpose: TemplatePurpose, link: RecordLink, ctx: DataContext): Promise<TemplateData> {
  const now = new Date();
  const fmt = formatters(ctx.locale, ctx.timeZone);
  const t = translator(ctx.locale);
  switch (purpose) {
    case 'client': {
      const client = await loadClient(db, need(link.clientId));
      if (!client) throw new NotFoundError();
      return root(client, ctx, now) as TemplateData;
    }
    case 'order': {
      const [order] = await db.select().from(orders).where(eq(orders.id, need(link.orderId)));
      if (!order) throw new NotFoundError();
      const items = await db.select().from(orderItems).where(eq(orderItems.orderId, order.id)).orderBy(asc(orderItems.position), asc(orderItems.id));
      return orderTemplateData(order, items, await loadClient(db, order.clientId), ctx, now);
    }
    case 'contract': {
      const [c] = await db.select().from(contracts).where(eq(contracts.id, need(link.contractId)));
      if (!c) throw new NotFoundError();
      const contract = tree({
        number: c.number,
        title: c.title,
        valid_from: fmt.date(c.validFrom),
        valid_to: fmt.date(c.validTo),
        value: fmt.money(c.value, c.currency),
        currency: c.currency,
        status: t(`contracts.status.${c.status}`),
        note: str(c.note),
      });
      return root(await loadClient(db, c.clientId), ctx, now, { contract }) as TemplateData;
    }
    case 'activity': {
      const [a] = await db.select().from(activities).where(eq(activities.id, need(link.activityId)));
      if (!a) throw new NotFoundError();
      const [responsible, people] = await Promise.all([
        db.select({ name: users.name }).from(activityResponsibles).innerJoin(users, eq(users.id, activityResponsibles.userId)).where(eq(activityResponsibles.activityId, a.id)).orderBy(asc(users.name)),
        db
          .select({ name: activityPeople.name, email: activityPeople.email, clientName: clients.name })
          .from(activityPeople)
          .leftJoin(clients, eq(clients.id, activityPeople.clientId))
          .where(eq(activityPeople.activityId, a.id))
          .orderBy(asc(activityPeople.id)),
      ]);
      const activity = tree({
        type: t(`activities.type.${a.type}`),
        subject: a.subject,
        when: fmt.dateTime(a.at),
        date: fmt.date(a.at),
        time: extra(ctx.locale, ctx.timeZone).time.format(a.at),
        note: str(a.note),
        responsible: responsible.map((r) => r.name).join(', '),
        participants: people.map((p) => p.clientName ?? p.name ?? p.email ?? '').filter(Boolean).join(', '),
      });
      return root(await loadClient(db, a.clientId), ctx, now, { activity }) as TemplateData;
    }
    case 'list': {
      const [list] = await db.select({ id: marketingLists.id, name: marketingLists.name }).from(marketingLists).where(eq(marketingLists.id, need(link.listId)));
      if (!list) throw new NotFoundError();
      let clientId = link.clientId ?? undefined;
      if (clientId == null) {
        const [first] = await db
          .select({ id: clients.id })
          .from(listMembers)
          .innerJoin(clients, eq(clients.id, listMembers.clientId))
          .where(eq(listMembers.listId, list.id))
          .orderBy(asc(clients.name), asc(clients.id))
          .limit(1);
        clientId = first?.id;
      }
      const client = await loadClient(db, clientId);
      if (link.clientId != null && !client) throw new NotFoundError();
      return root(client, ctx, now, { list: tree({ name: list.name }) }) as TemplateData;
    }
  }
}
