/**
 * Redis's argument splitter and quoter, byte for byte: inline commands (telnet, `redis-cli` in
 * inline mode), redis.conf lines and the `--directive value` command line all go through the same
 * rules, so they live here once.
 *
 * Splitting rules (as Redis's sdssplitargs):
 *  - blanks between arguments are any C isspace() byte (space, \t, \n, \v, \f, \r);
 *  - an unquoted argument ends at space, \t, \n, \r or NUL (not at \v or \f);
 *  - "double quotes" understand \xHH, \n \r \t \b \a and backslash-anything (the char itself);
 *  - 'single quotes' understand only \' ;
 *  - a closing quote must be followed by a blank or the end of the line, else the line is
 *    rejected, as is an unterminated quote (the caller turns null into its own error text);
 *  - a quote opening inside an unquoted argument switches to quoted mode for the rest of it;
 *  - NUL ends the line (Redis works on C strings here).
 */

const CH_SPACE = 0x20, CH_TAB = 0x09, CH_LF = 0x0a, CH_CR = 0x0d, CH_VT = 0x0b, CH_FF = 0x0c;
const CH_DQUOTE = 0x22, CH_SQUOTE = 0x27, CH_BACKSLASH = 0x5c, CH_NUL = 0;

function isSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR || c === CH_VT || c === CH_FF;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Splits `line[start, end)` into arguments. Returns null on unbalanced quotes (or a closing quote
 * glued to the next character). An empty or blank line gives an empty array.
 */
export function splitArgs(line: Uint8Array, start = 0, end = line.length): Buffer[] | null {
  const out: Buffer[] = [];
  // One scratch buffer per call: an argument is never longer than the line.
  const scratch = Buffer.allocUnsafe(end - start);
  // Reading past `end` behaves like reading a C string's terminating NUL.
  const at = (i: number): number => (i < end ? line[i]! : CH_NUL);
  let p = start;
  for (;;) {
    while (p < end && line[p] !== CH_NUL && isSpace(line[p]!)) p++;
    if (p >= end || line[p] === CH_NUL) return out;
    let n = 0;
    let inDouble = false, inSingle = false, done = false;
    while (!done) {
      const c = at(p);
      if (inDouble) {
        if (c === CH_BACKSLASH && at(p + 1) === 0x78 /* x */ && hexValue(at(p + 2)) >= 0 && hexValue(at(p + 3)) >= 0) {
          scratch[n++] = hexValue(at(p + 2)) * 16 + hexValue(at(p + 3));
          p += 3;
        } else if (c === CH_BACKSLASH && at(p + 1) !== CH_NUL) {
          p++;
          const e = at(p);
          scratch[n++] = e === 0x6e ? CH_LF : e === 0x72 ? CH_CR : e === 0x74 ? CH_TAB
            : e === 0x62 ? 0x08 : e === 0x61 ? 0x07 : e;
        } else if (c === CH_DQUOTE) {
          const next = at(p + 1);
          if (next !== CH_NUL && !isSpace(next)) return null;
          done = true;
        } else if (c === CH_NUL) {
          return null;
        } else {
          scratch[n++] = c;
        }
      } else if (inSingle) {
        if (c === CH_BACKSLASH && at(p + 1) === CH_SQUOTE) {
          p++;
          scratch[n++] = CH_SQUOTE;
        } else if (c === CH_SQUOTE) {
          const next = at(p + 1);
          if (next !== CH_NUL && !isSpace(next)) return null;
          done = true;
        } else if (c === CH_NUL) {
          return null;
        } else {
          scratch[n++] = c;
        }
      } else {
        switch (c) {
          case CH_SPACE: case CH_LF: case CH_CR: case CH_TAB: case CH_NUL:
            done = true;
            break;
          case CH_DQUOTE: inDouble = true; break;
          case CH_SQUOTE: inSingle = true; break;
          default: scratch[n++] = c;
        }
      }
      if (at(p) !== CH_NUL) p++;
    }
    out.push(Buffer.from(scratch.subarray(0, n)));
  }
}

/** splitArgs over a JS string (config files, command lines); arguments come back as UTF-8 text. */
export function splitArgsString(line: string): string[] | null {
  const parts = splitArgs(Buffer.from(line, 'utf8'));
  return parts === null ? null : parts.map((b) => b.toString('utf8'));
}

/**
 * Quotes bytes the way Redis's sdscatrepr does: "..." with \\ \" \n \r \t \a \b escaped,
 * other non-printable bytes (including every byte >= 0x80) as \xHH.
 */
export function reprBytes(bytes: Uint8Array): string {
  let s = '"';
  for (const c of bytes) {
    switch (c) {
      case CH_BACKSLASH: s += '\\\\'; break;
      case CH_DQUOTE: s += '\\"'; break;
      case CH_LF: s += '\\n'; break;
      case CH_CR: s += '\\r'; break;
      case CH_TAB: s += '\\t'; break;
      case 0x07: s += '\\a'; break;
      case 0x08: s += '\\b'; break;
      default:
        s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
    }
  }
  return s + '"';
}

export function repr(text: string): string {
  return reprBytes(Buffer.from(text, 'utf8'));
}
