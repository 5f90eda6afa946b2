/**
 * Glob matching for KEYS, SCAN MATCH (and later PSUBSCRIBE, CONFIG GET): Redis's stringmatchlen
 * semantics on raw bytes.
 *
 * Why a hand-written matcher instead of a RegExp: patterns are binary, and Redis's rules have
 * corners a translation would get wrong — '[' without ']' runs to the end of the pattern, "a-"
 * ranges compare *signed* chars (bytes ≥ 0x80 sort below 'a' in C on x86), a range may be written
 * backwards ([z-a]), a '\' escapes inside and outside classes, and a trailing '\' is literal.
 *
 *   *        any run of bytes, including none      ?      exactly one byte
 *   [abc]    one of the listed bytes                [^ac]  any byte not listed
 *   [a-z]    a byte in the (signed, unordered) range      \x     the byte x itself
 *
 * Cost: like Redis, a failed '*' expansion sets a flag that stops outer '*'s from retrying longer
 * matches (once the rest of the pattern cannot match anywhere after this point, it cannot match
 * after a later point either), which keeps "a*a*a*…b" patterns from going exponential.
 */

const STAR = 0x2a;
const QMARK = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

/** A C `char` on x86: bytes 0x80..0xff are negative. */
function signed(b: number): number {
  return (b << 24) >> 24;
}

/** tolower() in the C locale for a signed char value. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Does `str` match the glob `pattern`? `nocase` folds ASCII letters (CONFIG GET uses it). */
export function globMatch(pattern: Uint8Array, str: Uint8Array, nocase = false): boolean {
  const state = { skipLonger: false };
  return matchFrom(pattern, 0, str, 0, nocase, state);
}

/** Fast checks callers can use to skip matching entirely. */
export function isMatchAll(pattern: Uint8Array): boolean {
  return pattern.length === 1 && pattern[0] === STAR;
}

/**
 * Matches pattern[p..] against str[s..]. The walk mirrors the reference: consume one pattern token
 * and the bytes it covers per iteration; the loop ends when either side runs out, then only
 * trailing '*'s may remain.
 */
function matchFrom(
  pat: Uint8Array, p: number, str: Uint8Array, s: number, nocase: boolean, state: { skipLonger: boolean },
): boolean {
  const pend = pat.length;
  const send = str.length;
  while (p < pend && s < send) {
    const pc = pat[p]!;
    if (pc === STAR) {
      while (p + 1 < pend && pat[p + 1] === STAR) p++;
      if (p + 1 === pend) return true;
      for (; s < send; s++) {
        if (matchFrom(pat, p + 1, str, s, nocase, state)) return true;
        if (state.skipLonger) return false;
      }
      state.skipLonger = true;
      return false;
    } else if (pc === QMARK) {
      s++;
    } else if (pc === LBRACKET) {
      p++;
      const not = p < pend && pat[p] === CARET;
      if (not) p++;
      let match = false;
      const c = str[s]!;
      for (;;) {
        if (p < pend && pat[p] === BACKSLASH && pend - p >= 2) {
          p++;
          if (pat[p] === c) match = true;
        } else if (p < pend && pat[p] === RBRACKET) {
          break;
        } else if (p >= pend) {
          p--; // unterminated class: leave p on the last byte so the step below ends the pattern
          break;
        } else if (pend - p >= 3 && pat[p + 1] === DASH) {
          let start = signed(pat[p]!);
          let end = signed(pat[p + 2]!);
          let cc = signed(c);
          if (start > end) { const t = start; start = end; end = t; }
          if (nocase) { start = lower(start); end = lower(end); cc = lower(cc); }
          p += 2;
          if (cc >= start && cc <= end) match = true;
        } else if (nocase ? lower(signed(pat[p]!)) === lower(signed(c)) : pat[p] === c) {
          match = true;
        }
        p++;
      }
      if (not) match = !match;
      if (!match) return false;
      s++;
    } else {
      let lit = pc;
      if (pc === BACKSLASH && pend - p >= 2) lit = pat[++p]!;
      const c = str[s]!;
      if (nocase ? lower(signed(lit)) !== lower(signed(c)) : lit !== c) return false;
      s++;
    }
    p++;
    if (s === send) {
      while (p < pend && pat[p] === STAR) p++;
      break;
    }
  }
  return p === pend && s === send;
}
