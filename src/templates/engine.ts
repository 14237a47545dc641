/**
 * The template engine: logic-less Mustache, checked against the purpose's catalogue before it may render.
 * Nothing a template author writes can reach code: names are allow-listed, partials and delimiter changes
 * are refused, the data is a null-prototype tree of strings built from the catalogue (data.ts), and the body
 * is sanitised again after rendering unless its static markup is provably clean (see `needsSanitize`).
 */
import Mustache from 'mustache';
import { sanitizeBodyHtml } from '../mail/html.ts';
import { catalogueFor, type TemplatePurpose, type Variable } from './catalogue.ts';

/** Largest template body (characters) and subject; deepest nesting of sections. */
export const MAX_BODY_CHARS = 256 * 1024;
export const MAX_SUBJECT_CHARS = 1000;
export const MAX_SECTION_DEPTH = 5;
/** At most this many issues are reported for one field (the first ones are the useful ones). */
const MAX_ISSUES = 20;

export type TemplateField = 'subject' | 'bodyHtml';

export type IssueCode =
  | 'too_large'
  | 'subject_newline'
  | 'unclosed_tag'
  | 'unclosed_section'
  | 'unopened_section'
  | 'bad_tags'
  | 'unknown_variable'
  | 'unescaped_not_allowed'
  | 'html_needs_triple'
  | 'html_in_subject'
  | 'list_needs_section'
  | 'partial_not_allowed'
  | 'delimiters_not_allowed'
  | 'too_deep';

/** One problem of a template: shown next to its field as `templates.issue.<code>` with line:column and the tag. */
export interface TemplateIssue {
  field: TemplateField;
  code: IssueCode;
  /** 1-based position in the field's text (absent for whole-field problems such as the size). */
  line?: number;
  column?: number;
  /** The offending tag as written, e.g. `{{client.secret}}` (cut to 80 characters). */
  tag?: string;
  params?: Record<string, string | number>;
}

/** A template that must not be rendered; `issues` says why. */
export class TemplateInvalidError extends Error {
  constructor(readonly issues: TemplateIssue[]) {
    super(`invalid template: ${issues.map((i) => i.code).join(', ')}`);
  }
}

/** Template data: a null-prototype tree of strings and arrays of such trees, built from the catalogue only. */
export type TemplateData = { readonly [key: string]: string | TemplateData | readonly TemplateData[] };

// Mustache token: [type, value, start, end, children?, sectionEnd?].
type Token = [string, string, number, number, Token[]?, number?];

interface Compiled {
  tokens: Token[];
  issues: TemplateIssue[];
  /** Body only: computed on first render. */
  needsSanitize?: boolean;
}

// Our own writer without Mustache's global cache (which never forgets: every preview keystroke would stay).
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;

/** Link targets and image sources a rendered value may become (the sanitiser's own rules, src/mail/html.ts). */
const SAFE_URL = { href: /^(?:https?:\/\/|mailto:|tel:)/i, src: /^(?:https?:\/\/|cid:|data:image\/(?:png|jpe?g|gif|webp|bmp);base64,)/i };
/** Body tokens that are a whole `href="…"` / `src="…"` value: rendered only when the value is a safe URL. */
const urlTokens = new WeakMap<Token, 'href' | 'src'>();
type EscapedValue = (token: Token, context: Mustache.Context, config: unknown) => string | undefined;
const writerMethods = writer as unknown as { escapedValue: EscapedValue };
const plainEscapedValue = writerMethods.escapedValue;
writerMethods.escapedValue = function (this: unknown, token, context, config) {
  const attribute = urlTokens.get(token);
  if (!attribute) return plainEscapedValue.call(this, token, context, config);
  const value = context.lookup(token[1]);
  if (value == null) return undefined;
  const url = String(value).trim();
  // eslint-disable-next-line no-control-regex
  return SAFE_URL[attribute].test(url) && !/[\u0000-\u001f\u007f]/.test(url) ? escapeHtml(url) : '';
};

/** Parsed and checked templates by text: an LRU of bounded size (Map keeps insertion order). */
const cache = new Map<string, Compiled>();
const CACHE_MAX = 500;

function compiled(purpose: TemplatePurpose, field: TemplateField, source: string): Compiled {
  const key = `${purpose}\u0000${field}\u0000${source}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const result = compile(purpose, field, source);
  cache.set(key, result);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  return result;
}

/** 1-based line and column of `offset` in `text`. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const cut = (s: string) => (s.length > 80 ? `${s.slice(0, 79)}…` : s);

function compile(purpose: TemplatePurpose, field: TemplateField, source: string): Compiled {
  const issues: TemplateIssue[] = [];
  const limit = field === 'subject' ? MAX_SUBJECT_CHARS : MAX_BODY_CHARS;
  if (source.length > limit) {
    return { tokens: [], issues: [{ field, code: 'too_large', params: { max: field === 'subject' ? limit : `${limit / 1024} KB` } }] };
  }
  if (field === 'subject' && /[\r\n]/.test(source)) {
    const at = source.search(/[\r\n]/);
    issues.push({ field, code: 'subject_newline', ...position(source, at) });
  }
  let tokens: Token[];
  try {
    tokens = writer.parse(source) as Token[];
  } catch (error) {
    issues.push(syntaxIssue(field, source, error));
    return { tokens: [], issues };
  }
  checkTokens(purpose, field, source, tokens, issues);
  return { tokens, issues: issues.slice(0, MAX_ISSUES) };
}

/** Mustache's parse errors end in "at <offset>": turned into a positioned issue. */
function syntaxIssue(field: TemplateField, source: string, error: unknown): TemplateIssue {
  const message = error instanceof Error ? error.message : String(error);
  const at = /at (\d+)$/.exec(message);
  const name = /"([^"]*)"/.exec(message)?.[1];
  let offset = at ? Math.min(Number(at[1]), source.length) : -1;
  // Mustache reports a tag or section left open at the end of the text: point at where it was opened.
  if (offset === source.length && message.startsWith('Unclosed tag')) offset = Math.max(0, source.lastIndexOf('{{'));
  if (offset === source.length && name !== undefined) {
    const open = new RegExp(`\\{\\{\\s*[#^]\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\}\\}`, 'g');
    let m: RegExpExecArray | null;
    let last = -1;
    while ((m = open.exec(source))) last = m.index;
    if (last >= 0) offset = last;
  }
  const pos = offset >= 0 ? position(source, offset) : {};
  const code: IssueCode = message.startsWith('Unclosed tag')
    ? 'unclosed_tag'
    : message.startsWith('Unopened section')
      ? 'unopened_section'
      : message.startsWith('Unclosed section')
        ? 'unclosed_section'
        : 'bad_tags';
  let tag = offset >= 0 ? (source.slice(offset, offset + 80).split(/\r?\n/)[0] ?? '') : undefined;
  const close = tag?.indexOf('}}') ?? -1;
  if (tag && close >= 0) tag = tag.slice(0, close + (tag[close + 2] === '}' ? 3 : 2));
  if (tag) tag = cut(tag);
  return { field, code, ...pos, tag: tag || (name !== undefined ? cut(name) : undefined) };
}

/**
 * Walks the tokens: every name must be a catalogue key of the purpose, or a field of an enclosing list
 * section. Resolution follows Mustache's own: the innermost section's item first, then outwards to the root.
 */
function checkTokens(purpose: TemplatePurpose, field: TemplateField, source: string, tokens: Token[], issues: TemplateIssue[]) {
  const catalogue = catalogueFor(purpose);
  const add = (code: IssueCode, token: Token, params?: TemplateIssue['params']) => {
    if (issues.length >= MAX_ISSUES) return;
    issues.push({ field, code, ...position(source, token[2]), tag: cut(source.slice(token[2], token[3])), ...(params ? { params } : {}) });
  };
  const resolve = (name: string, scopes: readonly (readonly Variable[])[]): Variable | undefined => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const hit = scopes[i]!.find((v) => v.key === name);
      if (hit) return hit;
    }
    return catalogue.byKey.get(name);
  };
  const walk = (list: Token[], scopes: readonly (readonly Variable[])[], depth: number) => {
    for (const token of list) {
      if (!token) continue; // parseTemplate leaves holes where it stripped standalone whitespace
      const [type, name] = token;
      if (type === 'text' || type === '!') continue;
      if (type === '>') {
        add('partial_not_allowed', token);
        continue;
      }
      if (type === '=') {
        add('delimiters_not_allowed', token);
        continue;
      }
      const variable = resolve(name, scopes);
      if (!variable) {
        add('unknown_variable', token, { name: cut(name) });
        continue;
      }
      if (type === '#' || type === '^') {
        if (depth + 1 > MAX_SECTION_DEPTH) {
          add('too_deep', token, { max: MAX_SECTION_DEPTH });
          continue;
        }
        // A list opens a scope with its item fields; any other value is a plain "if (not) empty".
        const inner = type === '#' && variable.kind === 'section' ? [...scopes, variable.fields ?? []] : scopes;
        walk(token[4] ?? [], inner, depth + 1);
        continue;
      }
      if (variable.kind === 'section') add('list_needs_section', token);
      else if (field === 'subject' && variable.kind === 'html') add('html_in_subject', token);
      else if (type === '&' && variable.kind !== 'html') add('unescaped_not_allowed', token);
      else if (type === 'name' && variable.kind === 'html') add('html_needs_triple', token);
    }
  };
  walk(tokens, [], 0);
}

/**
 * Checks a template against the purpose's catalogue: syntax (with line and column), unknown names,
 * `{{{…}}}` of anything but a ready HTML block, partials, delimiter changes, nesting depth, size, and
 * CR/LF in the subject. An empty list means it may be saved and rendered.
 */
export function validateTemplate(purpose: TemplatePurpose, template: { subject: string; bodyHtml: string }): TemplateIssue[] {
  return [...compiled(purpose, 'subject', template.subject).issues, ...compiled(purpose, 'bodyHtml', template.bodyHtml).issues];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** HTML-escapes a value for text or a quoted attribute. */
export function escapeHtml(value: unknown): string {
  const s = String(value);
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c]!) : s;
}

const BODY_CONFIG = { escape: escapeHtml };
// The subject is plain text: no HTML escaping; CR/LF and other control characters are flattened after rendering.
const SUBJECT_CONFIG = { escape: (v: unknown) => String(v) };

/**
 * True when the rendered body must be sanitised again: the template's markup is not already what the
 * sanitiser would keep, or a Mustache tag sits inside markup (an attribute, a comment), where an escaped
 * value could still form a `javascript:` link. Otherwise every value lands escaped in text, which cannot
 * create markup, and the only raw inserts are our own escaped blocks: the output is clean by construction.
 * One exception keeps the fast path: a variable that is a whole `href`/`src` value (the only kind the
 * sanitiser keeps in an attribute) is marked, and renders only when its value is a safe URL.
 */
function needsSanitize(source: string, tokens: Token[]): boolean {
  if (sanitizeBodyHtml(source) !== source) return true;
  const starts: { at: number; token: Token | null }[] = [];
  const collect = (list: Token[]) => {
    for (const t of list) {
      if (!t || t[0] === 'text') continue;
      starts.push({ at: t[2], token: t });
      if (t[4]) collect(t[4]);
      if (typeof t[5] === 'number') starts.push({ at: t[5], token: null });
    }
  };
  collect(tokens);
  starts.sort((a, b) => a.at - b.at);
  const marked: [Token, 'href' | 'src'][] = [];
  let next = 0;
  let state: 'text' | 'tag' | 'comment' = 'text';
  let quote = '';
  for (let i = 0; i < source.length && next < starts.length; i++) {
    while (starts[next]?.at === i) {
      const { token } = starts[next]!;
      if (state !== 'text') {
        const attribute = /\s(href|src)="$/.exec(source.slice(Math.max(0, i - 8), i))?.[1] as 'href' | 'src' | undefined;
        if (state !== 'tag' || !token || token[0] !== 'name' || !attribute || source[token[3]] !== '"') return true;
        marked.push([token, attribute]);
      }
      next++;
    }
    const ch = source[i]!;
    if (state === 'text') {
      if (ch === '<') {
        if (source.startsWith('<!--', i)) state = 'comment';
        else if (/[A-Za-z/!?]/.test(source[i + 1] ?? '')) state = 'tag';
      }
    } else if (state === 'comment') {
      if (source.startsWith('-->', i)) {
        state = 'text';
        i += 2;
      }
    } else if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '>') state = 'text';
  }
  for (const [token, attribute] of marked) urlTokens.set(token, attribute);
  return false;
}

/** Collapses what must never reach a mail header: CR, LF, tabs and other control characters. */
function flattenSubject(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/**
 * Renders a checked template with data from `loadTemplateData` (or the same shape). The subject is plain
 * text (no HTML escaping, CR/LF collapsed); the body is HTML with every value escaped and is sanitised
 * again when its markup needs it. Throws TemplateInvalidError for a template that does not pass
 * `validateTemplate` (so a template saved under an older catalogue fails loudly instead of rendering blanks).
 */
export function renderTemplate(purpose: TemplatePurpose, template: { subject: string; bodyHtml: string }, data: TemplateData): { subject: string; bodyHtml: string } {
  const subject = compiled(purpose, 'subject', template.subject);
  const body = compiled(purpose, 'bodyHtml', template.bodyHtml);
  if (subject.issues.length || body.issues.length) throw new TemplateInvalidError([...subject.issues, ...body.issues]);
  const context = new Mustache.Context(data);
  const renderedSubject = flattenSubject(writer.renderTokens(subject.tokens as unknown as string[][], context, undefined, template.subject, SUBJECT_CONFIG));
  // Decided before the first render: it also marks the URL-valued tokens that render checked.
  body.needsSanitize ??= needsSanitize(template.bodyHtml, body.tokens);
  let bodyHtml = writer.renderTokens(body.tokens as unknown as string[][], context, undefined, template.bodyHtml, BODY_CONFIG);
  if (body.needsSanitize) bodyHtml = sanitizeBodyHtml(bodyHtml);
  return { subject: renderedSubject, bodyHtml };
}
