/**
 * The plain-text alternative of a message's HTML, laid out as html-to-text lays it out with Posel's options
 * (paragraphs apart, lines wrapped at 78 columns, links as `text [url]`, lists with ` * ` and ` 1. `,
 * quotes with `> `, tables as aligned columns, images left out), for the markup the sanitiser lets through.
 *
 * Written on htmlparser2's streaming parser rather than with html-to-text because the sender derives this
 * text for every message it sends: html-to-text builds a document tree and runs regular expressions over
 * every text node (about 0.7 ms for a 20 KB body, the largest part of encoding a message); this walks the
 * tags once as they are parsed (about 0.35 ms, half of it htmlparser2's tokenizer). `plain-text.test.ts`
 * checks the layout, and compares it with html-to-text's line for line (up to the number of blank lines
 * between nested blocks, where the two may differ) on generated bodies.
 */
import { Parser } from 'htmlparser2';

const WIDTH = 78;
/** Widest column of a table before its cells wrap (html-to-text's `maxColumnWidth`). */
const MAX_COLUMN = 60;
const COLUMN_GAP = '   ';
/** Padding after a row's last cell (a no-break space there is content, and stays). */
const TRAILING_SPACES = / +$/;
/** What separates words (html-to-text's `whitespaceCharacters`; a no-break space is part of a word). */
const WHITESPACE_RUN = /[ \t\r\n\f\u200b]+/g;
/** Text that holds whitespace other than single spaces, which `text` collapses first. */
const UNCOLLAPSED = /[\t\r\n\f\u200b]| {2}/;

/** Line breaks before and after a block: 1 starts a new line, 2 leaves a blank line. */
const BLOCKS: Record<string, [before: number, after: number]> = {
  p: [2, 2],
  div: [1, 1],
  h1: [3, 2],
  h2: [3, 2],
  h3: [3, 2],
  h4: [2, 2],
  h5: [2, 2],
  h6: [2, 2],
  blockquote: [2, 2],
  pre: [2, 2],
  figure: [1, 1],
  figcaption: [1, 1],
  article: [1, 1],
  section: [1, 1],
  header: [1, 1],
  footer: [1, 1],
  main: [1, 1],
  nav: [1, 1],
  aside: [1, 1],
};
/** Elements whose text is never shown (the sanitiser drops them; a body from elsewhere may hold them). */
const HIDDEN = new Set(['script', 'style', 'head', 'title', 'template', 'noscript', 'textarea', 'option', 'select', 'iframe', 'object']);

/** Text written into lines of at most `width` columns, with prefixes (quotes, list items) on every line. */
class Lines {
  #out = '';
  /** Characters on the current line, its prefix included. */
  #col = 0;
  /** Newlines at the end of the output (0: the current line holds something; the start counts as one). */
  #newlines = 1;
  /** Line breaks wanted before the next word (block boundaries). */
  #want = 0;
  /** A space is due before the next word on the same line. */
  #space = false;
  /** Prefixes of the enclosing quotes and list items; a list item's marker is on its first line only. */
  readonly #prefixes: string[] = [];
  #prefix = '';
  /** In a quote that has no text yet: the blank lines due are written before it, without its marks. */
  #quoteStart = false;

  constructor(readonly width: number) {}

  get empty(): boolean {
    return this.#out.length === 0;
  }

  /** A block boundary: at least `n` line breaks before whatever comes next. */
  breaks(n: number): void {
    if (n > this.#want) this.#want = n;
    this.#space = false;
  }

  /** `<br>`: ends the line (two in a row leave a blank one). */
  lineBreak(): void {
    this.settle();
    this.#newline();
    this.#space = false;
  }

  /**
   * Words of a text node: runs of whitespace become one space, or a line break where a line is full. The
   * words that fit on a line are written as one slice of the text.
   */
  text(raw: string): void {
    const text = UNCOLLAPSED.test(raw) ? raw.replace(WHITESPACE_RUN, ' ') : raw;
    const len = text.length;
    let pos = 0;
    if (text.charCodeAt(0) === 0x20) {
      this.#space = true;
      pos = 1;
    }
    if (pos >= len) return;
    if (this.#want || this.#quoteStart) this.settle();
    /** Start of the words taken but not yet written (-1: none), and the end of the last of them. */
    let run = -1;
    let runEnd = 0;
    while (pos < len) {
      let end = text.indexOf(' ', pos);
      if (end === -1) end = len;
      const length = end - pos;
      if (this.#newlines > 0) {
        this.#startLine();
        run = pos;
      } else if (this.#space && this.#col + 1 + length > this.width) {
        if (run !== -1) this.#out += text.slice(run, runEnd);
        this.#newline();
        this.#startLine();
        run = pos;
      } else if (run === -1) {
        // The first word here: a space before it when one is due (the run then starts at the word).
        if (this.#space) {
          this.#out += ' ';
          this.#col++;
        }
        run = pos;
      } else {
        this.#col++; // the space between this word and the last, inside the run
      }
      this.#col += length;
      this.#newlines = 0;
      runEnd = end;
      this.#space = end < len;
      pos = end + 1;
    }
    if (run !== -1) this.#out += text.slice(run, runEnd);
  }

  /** Whitespace kept as written (`<pre>`): its line breaks start new lines, with the prefixes. */
  preformatted(text: string): void {
    this.settle();
    const lines = text.split(/\r?\n/);
    lines.forEach((line, i) => {
      if (i > 0) this.#newline();
      if (!line) return;
      if (this.#newlines > 0) this.#startLine();
      this.#out += line;
      this.#col += line.length;
      this.#newlines = 0;
    });
    this.#space = false;
  }

  /** Finished lines laid out elsewhere (a table), as a block. */
  block(lines: string[]): void {
    for (const line of lines) {
      this.settle();
      if (this.#newlines > 0) this.#startLine();
      this.#out += line;
      this.#col += line.length;
      this.#newlines = 0;
      this.#newline();
    }
  }

  /** A quote begins (after its prefix is pushed): the blank lines before its first text are not part of it. */
  startQuote(): void {
    this.#quoteStart = true;
  }

  pushPrefix(prefix: string): void {
    this.#prefixes.push(prefix);
    this.#prefix = this.#prefixes.join('');
  }

  popPrefix(): void {
    this.#prefixes.pop();
    this.#prefix = this.#prefixes.join('');
  }

  toString(): string {
    return this.#out;
  }

  /** The text as lines, without trailing blank ones. */
  lines(): string[] {
    return this.#out.replace(/\n+$/, '').split('\n');
  }

  /** Writes the line breaks a block boundary wants (none at the very start). */
  settle(): void {
    const quoteStart = this.#quoteStart;
    this.#quoteStart = false;
    if (!this.#want) return;
    if (this.#out.length) {
      if (this.#newlines === 0) this.#newline();
      while (this.#newlines < this.#want) {
        const quote = quoteStart ? '' : this.#quotePrefix();
        if (quote) this.#out += quote;
        this.#newline();
      }
    }
    this.#want = 0;
  }

  #newline(): void {
    this.#out += '\n';
    this.#col = 0;
    this.#newlines++;
  }

  /** Puts the prefixes at the start of a new line; a list marker once, then spaces as wide. */
  #startLine(): void {
    if (!this.#prefix) return;
    this.#out += this.#prefix;
    this.#col = this.#prefix.length;
    let changed = false;
    for (let i = 0; i < this.#prefixes.length; i++) {
      const p = this.#prefixes[i]!;
      if (p[0] !== '>' && p.trim()) {
        this.#prefixes[i] = ' '.repeat(p.length);
        changed = true;
      }
    }
    if (changed) this.#prefix = this.#prefixes.join('');
  }

  /** What a blank line inside a quote holds: the quote marks (`> `), not the list indents. */
  #quotePrefix(): string {
    let marks = '';
    for (const p of this.#prefixes) if (p[0] === '>') marks += p;
    return marks;
  }
}

interface List {
  ordered: boolean;
  next: number;
  nested: boolean;
}

interface Table {
  rows: string[][][];
  row: string[][] | null;
  /** The cell being written: its own lines, narrower than a page. */
  cell: Lines | null;
}

interface Link {
  href: string;
  text: string;
}

/** The plain-text alternative of an HTML body (links as `text [url]`, tables as aligned columns). */
export function htmlToPlainText(html: string): string {
  const page = new Lines(WIDTH);
  const tables: Table[] = [];
  const lists: List[] = [];
  const links: Link[] = [];
  const openTags: string[] = [];
  let hidden = 0;
  let pre = 0;
  const target = (): Lines => tables.at(-1)?.cell ?? page;

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        openTags.push(name);
        if (HIDDEN.has(name)) return void hidden++;
        if (hidden) return;
        const out = target();
        const block = BLOCKS[name];
        if (block) {
          out.breaks(block[0]);
          if (name === 'blockquote') {
            out.pushPrefix('> ');
            out.startQuote();
          }
          if (name === 'pre') pre++;
          return;
        }
        switch (name) {
          case 'br':
            return out.lineBreak();
          case 'hr':
            out.breaks(2);
            out.text('-'.repeat(out.width));
            return out.breaks(2);
          case 'ul':
          case 'ol': {
            const nested = openTags.includes('li');
            out.breaks(nested ? 1 : 2);
            const start = name === 'ol' ? Number.parseInt(attribs.start ?? '1', 10) || 1 : 1;
            lists.push({ ordered: name === 'ol', next: start, nested });
            return;
          }
          case 'li': {
            const list = lists.at(-1);
            let marker = list?.ordered ? ` ${list.next++}. ` : ' * ';
            if (list?.nested) marker = marker.trimStart();
            out.breaks(1);
            out.pushPrefix(marker);
            return;
          }
          case 'a': {
            const href = (attribs.href ?? '').replace(/^mailto:/, '');
            links.push({ href: href.startsWith('#') ? '' : href, text: '' });
            return;
          }
          case 'table':
            out.breaks(2);
            tables.push({ rows: [], row: null, cell: null });
            return;
          case 'tr': {
            const table = tables.at(-1);
            if (table) table.row = [];
            return;
          }
          case 'td':
          case 'th': {
            const table = tables.at(-1);
            if (table && !table.cell) table.cell = new Lines(MAX_COLUMN);
            return;
          }
        }
      },
      ontext(text) {
        if (hidden) return;
        for (const link of links) link.text += text;
        if (pre) target().preformatted(text);
        else target().text(text);
      },
      onclosetag(name) {
        openTags.pop();
        if (HIDDEN.has(name)) return void hidden--;
        if (hidden) return;
        const block = BLOCKS[name];
        if (block) {
          const out = target();
          if (name === 'blockquote') out.popPrefix();
          if (name === 'pre') pre--;
          out.breaks(block[1]);
          return;
        }
        switch (name) {
          case 'ul':
          case 'ol': {
            const list = lists.pop();
            target().breaks(list?.nested ? 1 : 2);
            return;
          }
          case 'li':
            target().popPrefix();
            target().breaks(1);
            return;
          case 'a': {
            const link = links.pop();
            if (!link?.href) return;
            // Compared as html-to-text compares: the words run together (a no-break space is a word).
            const text = link.text.replace(WHITESPACE_RUN, '');
            if (!text) target().text(link.href);
            else if (link.href !== text) target().text(` [${link.href}]`);
            return;
          }
          case 'td':
          case 'th': {
            const table = tables.at(-1);
            if (!table?.cell) return;
            (table.row ??= []).push(table.cell.empty ? [''] : table.cell.lines());
            table.cell = null;
            return;
          }
          case 'tr': {
            const table = tables.at(-1);
            if (table?.row) table.rows.push(table.row);
            if (table) table.row = null;
            return;
          }
          case 'table': {
            const table = tables.pop();
            if (!table) return;
            if (table.row?.length) table.rows.push(table.row);
            const out = target();
            out.block(layOutTable(table.rows));
            out.breaks(2);
            return;
          }
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.end(html);
  return page.toString().trim();
}

/** Rows of cells (each its lines) as aligned columns three spaces apart, a cell's lines under each other. */
function layOutTable(rows: string[][][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      for (const line of cell) if (line.length > (widths[i] ?? 0)) widths[i] = line.length;
      widths[i] ??= 0;
    });
  }
  const out: string[] = [];
  for (const row of rows) {
    const height = Math.max(1, ...row.map((cell) => cell.length));
    for (let k = 0; k < height; k++) {
      const line = row.map((cell, i) => (cell[k] ?? '').padEnd(widths[i]!)).join(COLUMN_GAP).replace(TRAILING_SPACES, '');
      out.push(line);
    }
  }
  return out;
}
