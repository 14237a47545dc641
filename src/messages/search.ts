/**
 * Fulltext search over messages: what the user typed becomes a tsquery in the diacritics-folding
 * configuration — websearch syntax ("a phrase", -word, or) plus a prefix match on the word being typed —
 * and the matches get a short snippet with the matching words marked: the subject from the database, the
 * body decrypted from the store for the rows on the page only.
 */
import { sql, type SQL } from 'drizzle-orm';
import { pgArray, rowsOf, type Db } from '../db/client.ts';
import type { Store } from '../store/store.ts';
import { escapeHtml } from '../templates/engine.ts';

/** Longest search text used; the rest is ignored (a 10 KB paste must not cost more than a short query). */
export const MAX_QUERY_CHARS = 200;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** The text as it will be searched: control characters (NUL among them) dropped, length capped. */
export function cleanQuery(q: string | undefined): string {
  return (q ?? '').replace(CONTROL, ' ').trim().slice(0, MAX_QUERY_CHARS);
}

/**
 * The tsquery for `q` as SQL, or null when it holds nothing searchable. The last word, when it is being
 * typed (plain letters or digits at the end, outside quotes and not negated), matches as a prefix.
 */
export function searchTsQuery(q: string): SQL | null {
  const text = cleanQuery(q);
  if (!/[\p{L}\p{N}]/u.test(text)) return null;
  const quotesOpen = (text.match(/"/g)?.length ?? 0) % 2 === 1;
  const last = /(?:^|\s)([\p{L}\p{N}]{1,60})$/u.exec(text);
  if (!last || quotesOpen || /^or$/i.test(last[1]!)) return sql`websearch_to_tsquery('posel_unaccent', ${text})`;
  const prefix = sql`to_tsquery('posel_unaccent', ${`${last[1]!}:*`})`;
  let rest = text.slice(0, text.length - last[1]!.length).trim();
  // "veletrh or fakt…": the word being typed is an alternative, not an addition.
  const alternative = /(^|\s)or$/i.test(rest);
  if (alternative) rest = rest.replace(/(^|\s)or$/i, '').trim();
  if (!/[\p{L}\p{N}]/u.test(rest)) return prefix;
  return alternative ? sql`(websearch_to_tsquery('posel_unaccent', ${rest}) || ${prefix})` : sql`(websearch_to_tsquery('posel_unaccent', ${rest}) && ${prefix})`;
}

const START = '\u0002';
const STOP = '\u0003';
const HEADLINE = `StartSel=${START},StopSel=${STOP},MaxWords=22,MinWords=8,MaxFragments=2,FragmentDelimiter=" … "`;

/** Escapes a ts_headline result and turns its markers into <mark>: safe to insert as HTML. */
function marked(headline: string): string {
  return escapeHtml(headline.replace(/[\u0000-\u0001\u0004-\u001f]/g, ' '))
    .replaceAll(START, '<mark>')
    .replaceAll(STOP, '</mark>');
}

export interface Snippet {
  subjectHtml: string;
  bodyHtml: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Longest body text a snippet is looked for in (ts_headline parses all of it, for each of the 50 rows). */
const SNIPPET_SOURCE_CHARS = 20_000;

/**
 * The words of a stored (sanitised) body for its snippet: tags dropped, entities decoded, white space
 * squeezed. Not htmlToPlainText, which lays out tables and wraps lines at ~0.35 ms a 20 KB body (18 ms
 * for a page of 50); a snippet needs only the words.
 */
export function snippetText(html: string): string {
  return html
    .slice(0, SNIPPET_SOURCE_CHARS * 4)
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(?:#(\d{1,7})|#x([0-9a-f]{1,6})|([a-z]{2,6}));/gi, (entity, dec?: string, hex?: string, name?: string) => {
      const code = dec ? Number(dec) : hex ? parseInt(hex, 16) : -1;
      if (code >= 0) return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : ' ';
      return ENTITIES[name!.toLowerCase()] ?? entity;
    })
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, SNIPPET_SOURCE_CHARS);
}

/**
 * Snippets for the rows of one page: the subject and a fragment of the body text with the matching words
 * marked. Bodies are read from the store (50 small reads); one unreadable body only loses its snippet.
 */
export async function searchSnippets(db: Db, store: Store, rows: { id: number; subject: string; bodyBlob: string }[], query: SQL): Promise<Map<number, Snippet>> {
  const out = new Map<number, Snippet>();
  if (!rows.length) return out;
  const bodies = await Promise.all(
    rows.map(async (r) => {
      try {
        return snippetText((await store.get(r.bodyBlob)).toString('utf8'));
      } catch {
        return '';
      }
    }),
  );
  const result = rowsOf<{ id: number; subject: string; body: string }>(
    await db.execute(sql`
      with q as (select ${query} as query)
      select t.id,
             ts_headline('posel_unaccent', t.subject, q.query, ${`StartSel=${START},StopSel=${STOP},HighlightAll=true`}) as subject,
             ts_headline('posel_unaccent', t.body, q.query, ${HEADLINE}) as body
        from unnest(${pgArray(rows.map((r) => r.id))}::int[], ${pgArray(rows.map((r) => r.subject))}::text[], ${pgArray(bodies)}::text[]) as t(id, subject, body),
             q`),
  );
  for (const r of result) {
    const bodyHasMatch = r.body.includes(START);
    out.set(r.id, { subjectHtml: marked(r.subject), bodyHtml: bodyHasMatch ? marked(r.body) : '' });
  }
  return out;
}

/**
 * After writing many messages at once (a bulk action, generation for a campaign, an import): moves the GIN
 * index's pending list into the index proper and refreshes the planner's statistics. New rows' words go
 * to that unsorted list first (fastupdate), and every search reads all of it; a server's autovacuum
 * empties it some time later, the embedded database never does (it has no autovacuum) until the list
 * outgrows gin_pending_list_limit during an insert. Safe to run any time and concurrently with searches.
 */
export async function settleMessageSearch(db: Db): Promise<void> {
  await db.execute(sql`select gin_clean_pending_list('message_search_idx'::regclass)`);
  await db.execute(sql`analyze messages`);
  await db.execute(sql`analyze message_search`);
}
