/**
 * Unsubscribe tokens for marketing mail: `<payload>.<mac>`, both base64url; the payload names the client
 * (and the campaign the mail came from, for the log). Signed with a key from the settings table, they never
 * expire: an unsubscribe link must keep working as long as the mail exists. Nothing else is in them.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { settingHmacKey } from '../settings/hmac-keys.ts';

const KEY_SETTING = 'unsubscribe.token_key';
const MAC_BYTES = 16;

export interface UnsubscribeTarget {
  clientId: number;
  campaignId: number | null;
}

const macWith = (key: KeyObject, payload: string) => createHmac('sha256', key).update(`posel unsubscribe v1.${payload}`).digest().subarray(0, MAC_BYTES);
const mac = async (db: Db, payload: string) => macWith(await settingHmacKey(db, KEY_SETTING), payload);

function tokenWith(key: KeyObject, target: UnsubscribeTarget): string {
  const payload = Buffer.from(target.campaignId ? `${target.clientId}.${target.campaignId}` : `${target.clientId}`).toString('base64url');
  return `${payload}.${macWith(key, payload).toString('base64url')}`;
}

export async function unsubscribeToken(db: Db, target: UnsubscribeTarget): Promise<string> {
  return tokenWith(await settingHmacKey(db, KEY_SETTING), target);
}

/** The target of a genuine token; null for anything altered, truncated or made up. */
export async function readUnsubscribeToken(db: Db, token: string): Promise<UnsubscribeTarget | null> {
  const m = /^([A-Za-z0-9_-]{1,40})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!m) return null;
  const [, payload, sig] = m as unknown as [string, string, string];
  // Compared as text: decoding would ignore the spare bits of the last character, so two spellings would pass.
  const given = Buffer.from(sig);
  const expected = Buffer.from((await mac(db, payload)).toString('base64url'));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const ids = /^(\d{1,9})(?:\.(\d{1,9}))?$/.exec(Buffer.from(payload, 'base64url').toString('utf8'));
  if (!ids) return null;
  return { clientId: Number(ids[1]), campaignId: ids[2] ? Number(ids[2]) : null };
}

/** The public address of the unsubscribe page for a client (and the campaign it was mailed from). */
export async function unsubscribeUrl(db: Db, publicUrl: string, target: UnsubscribeTarget): Promise<string> {
  return (await unsubscribeLinks(db, publicUrl))(target);
}

/** `unsubscribeUrl` for many recipients: the key is read once, each address is then made without waiting. */
export async function unsubscribeLinks(db: Db, publicUrl: string): Promise<(target: UnsubscribeTarget) => string> {
  const key = await settingHmacKey(db, KEY_SETTING);
  return (target) => `${publicUrl}/unsubscribe/${tokenWith(key, target)}`;
}

/**
 * The headers of a marketing mail (RFC 2369 + RFC 8058 one-click): mail programs show an "Unsubscribe"
 * button that POSTs `List-Unsubscribe=One-Click` to the URL without opening a page.
 */
export function listUnsubscribeHeaders(url: string): Record<string, string> {
  return { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}

const FOOTER_TEXT = {
  cs: { why: 'Tento e-mail jste dostali jako náš zákazník.', link: 'Odhlásit se z obchodních sdělení' },
  en: { why: 'You receive this e-mail as our customer.', link: 'Unsubscribe from marketing mail' },
} as const;

/** The footer of a marketing mail's body: why it came, and the unsubscribe link (the same address as the header). */
export function unsubscribeFooterHtml(url: string, locale: 'cs' | 'en'): string {
  const text = FOOTER_TEXT[locale];
  const href = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<p style="margin-top:2em;font-size:12px;color:#666">${text.why} <a href="${href}">${text.link}</a></p>`;
}
