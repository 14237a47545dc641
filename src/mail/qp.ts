/**
 * Quoted-printable (RFC 2045 6.7) for text parts, in one pass over the bytes into one buffer: the same
 * escapes nodemailer's encoder writes (so the decoded text is the same, byte for byte), with soft line
 * breaks (`=\r\n`) keeping every line at 76 characters or fewer. Nodemailer escapes first and then wraps
 * the escaped string, looking back for a space to break at, with several regular expressions per line:
 * the larger part of encoding a message body. Where a line breaks does not change what a reader decodes.
 * `qp.test.ts` compares the escapes with nodemailer's and decodes the result back.
 */

/** Characters of a line, the soft break's `=` included. */
const LINE = 76;
const CR = 0x0d;
const LF = 0x0a;
const EQ = 0x3d;
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** 1 for each byte written as it is (RFC 2045 6.7 rule 2, and line ends): tab, CR, LF, space to `~` but `=`. */
const LITERAL = new Uint8Array(256).map((_, b) => (b === 0x09 || b === CR || b === LF || (b >= 0x20 && b <= 0x7e && b !== EQ) ? 1 : 0));

/** Whether a line ends at byte `i` (the end, LF, or CRLF): what stands before it needs no soft break after. */
function lineEndsAt(content: Buffer, i: number): boolean {
  const b = content[i];
  return b === undefined || b === LF || (b === CR && content[i + 1] === LF);
}

/** 1 for the printable characters that are never escaped wherever they stand (not space, tab or `=`). */
const PLAIN = new Uint8Array(256).map((_, b) => (b > 0x20 && b <= 0x7e && b !== EQ ? 1 : 0));

/**
 * The quoted-printable form of `content`: printable ASCII as it is, everything else (and `=`) as `=XX`,
 * a space or tab before a line end or at the very end escaped too (rule 3), CR and LF kept; a soft line
 * break before any character that would make the line longer than 76, never inside an escape nor between
 * the escapes of one UTF-8 character.
 */
export function quotedPrintable(content: Buffer): Buffer {
  const len = content.length;
  // Worst case: every byte escaped (3), plus a soft break (3) for every 72 characters written.
  const out = Buffer.allocUnsafe(len * 3 + Math.ceil((len * 3) / 72) * 3 + 3);
  let o = 0;
  /** Characters on the current output line. */
  let col = 0;
  let i = 0;
  while (i < len) {
    const b = content[i]!;
    // Most bytes: a printable character (not a space) well inside the line.
    if (PLAIN[b] && col < LINE - 2) {
      out[o++] = b;
      col++;
      i++;
      continue;
    }
    if (b === LF || (b === CR && content[i + 1] === LF)) {
      // A line end (CRLF, or LF alone as nodemailer keeps it); a CR alone is a character on the line.
      out[o++] = b;
      i++;
      if (b === LF) col = 0;
      continue;
    }
    // What goes out together: one literal byte, one escape, or the escapes of a whole UTF-8 character.
    let bytes = 1;
    if (b >= 0xc0) {
      bytes = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      for (let k = 1; k < bytes; k++) {
        const c = content[i + k];
        if (c === undefined || (c & 0xc0) !== 0x80) {
          bytes = k; // a broken sequence: what there is of it
          break;
        }
      }
    }
    let literal = false;
    if (bytes === 1 && LITERAL[b]) {
      if (b === 0x20 || b === 0x09) {
        const next = content[i + 1];
        literal = next !== undefined && next !== LF && next !== CR;
      } else {
        literal = true;
      }
    }
    const width = literal ? 1 : bytes * 3;
    // Room is left for the soft break's `=` unless this is the last thing on the line anyway.
    if (col + width > LINE - 1 && col > 0 && (col + width > LINE || !lineEndsAt(content, i + bytes))) {
      out[o++] = EQ;
      out[o++] = CR;
      out[o++] = LF;
      col = 0;
    }
    if (literal) {
      out[o++] = b;
    } else {
      for (let k = 0; k < bytes; k++) {
        const c = content[i + k]!;
        out[o++] = EQ;
        out[o++] = HEX[c >> 4]!;
        out[o++] = HEX[c & 15]!;
      }
    }
    col += width;
    i += bytes;
  }
  return out.subarray(0, o);
}
