/**
 * Message HTML: the allow-list sanitiser for what users write (Trix, HTML source, templates) and the
 * plain-text part derived from it. Mustache tags in text pass through untouched, so the same sanitiser
 * serves template bodies before rendering and message bodies after.
 */
import sanitizeHtml from 'sanitize-html';

/** A whole attribute value that is one Mustache variable (`{{client.web}}`), escaped when rendered. */
const MUSTACHE_VALUE = /^\{\{\s*[A-Za-z_][\w.]*\s*\}\}$/;
/** Link schemes a recipient can safely follow. */
const LINK_SCHEME = /^(?:https?:\/\/|mailto:|tel:)/i;
/** Image sources: remote (blocked in our preview until asked), inline parts, and raster data URIs. */
const IMAGE_SOURCE = /^(?:https?:\/\/|cid:|data:image\/(?:png|jpe?g|gif|webp|bmp);base64,)/i;

const TABLE_CELL = ['colspan', 'rowspan', 'align', 'valign', 'width'];

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'div', 'p', 'br', 'strong', 'b', 'em', 'i', 'u', 's', 'del', 'a', 'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4',
    'blockquote', 'pre', 'code', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'img', 'span', 'figure',
    'figcaption', 'hr',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'width', 'height'],
    table: ['border', 'cellpadding', 'cellspacing', 'width', 'align'],
    td: TABLE_CELL,
    th: TABLE_CELL,
    tr: ['align', 'valign'],
  },
  // Scheme checks are done by us in transformTags (with the Mustache exception); these are a second net.
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  allowedSchemesByTag: { img: ['http', 'https', 'cid', 'data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // The text of these never reaches the output (script, style and friends, and whole documents' heads).
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'template', 'xmp', 'iframe', 'object', 'noembed', 'noframes'],
  allowVulnerableTags: false,
  parseStyleAttributes: false,
  transformTags: {
    a: (tagName, attribs) => {
      const href = cleanUrl(attribs.href);
      const out: Record<string, string> = {};
      if (href !== null && (LINK_SCHEME.test(href) || MUSTACHE_VALUE.test(href))) out.href = href;
      if (attribs.title) out.title = attribs.title;
      out.rel = 'noopener noreferrer';
      return { tagName, attribs: out };
    },
    img: (tagName, attribs) => {
      const src = cleanUrl(attribs.src);
      const out: Record<string, string> = {};
      if (src !== null && (IMAGE_SOURCE.test(src) || MUSTACHE_VALUE.test(src))) out.src = src;
      for (const name of ['alt', 'width', 'height'] as const) if (attribs[name] !== undefined) out[name] = attribs[name];
      return { tagName, attribs: out };
    },
  },
  // An image left without a source shows nothing but a broken icon.
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
};

/** A URL with surrounding space trimmed; null when it holds control characters or whitespace tricks. */
function cleanUrl(value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  // Browsers ignore tabs and newlines inside a scheme (`java\tscript:`): refuse any such URL outright.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return null;
  return trimmed;
}

/**
 * Sanitises user-written HTML with an allow-list: the markup Trix produces plus tables and images; no
 * scripts, styles, event handlers, `style`/`class`/`data-*`/`hx-*` attributes, forms or embeds. Links
 * keep only http(s), mailto and tel targets (or a whole `{{variable}}`, which must be sanitised again
 * after rendering) and get `rel="noopener noreferrer"`.
 */
export function sanitizeBodyHtml(html: string): string {
  return sanitizeHtml(html, OPTIONS);
}

/** The plain-text alternative of an HTML body (links as `text [url]`, tables as aligned columns). */
export { htmlToPlainText } from './plain-text.ts';
