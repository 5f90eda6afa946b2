/**
 * Argument parsing and number formatting shared by every command family.
 *
 * Redis is strict and peculiar about numbers, and clients notice every difference, so this file
 * reproduces its rules rather than JavaScript's:
 *
 *  - Integers follow string2ll: optional '-', then digits with no leading zero (except "0" itself),
 *    no '+', no spaces, at most 20 bytes, inside int64. Parsers return a JS number when the value
 *    is a safe integer and a bigint otherwise, so hot paths never touch bigint.
 *  - Floats for INCRBYFLOAT are x87 80-bit long doubles in Redis (64-bit significand). JavaScript
 *    has no such type, and the difference is visible ("10.5 + 0.1" prints 10.6 with long doubles,
 *    10.59999999999999964 with doubles). So we emulate the format exactly with bigint arithmetic:
 *    correctly rounded parsing (strtold), correctly rounded addition, and %.17Lf printing.
 *  - Doubles (scores, later) parse like strtod and print like printf("%.17g").
 *
 * Sections: integers · option helpers · error text helpers · binary floating point core ·
 * long double · double.
 */
import { Errors, ReplyError } from '../errors.js';
import { formatDouble } from '../types/double.js';

export { formatDouble };

// ================================================================================================
// Integers
// ================================================================================================

export const INT64_MAX = 0x7fffffffffffffffn;
export const INT64_MIN = -0x8000000000000000n;
export const INT32_MAX = 2147483647;
export const INT32_MIN = -2147483648;

/**
 * string2ll. Returns the int64 value of `b`, as a number when it is a safe integer and as a bigint
 * otherwise, or null when `b` is not the canonical decimal form of an int64.
 */
export function parseInt64(b: Uint8Array): number | bigint | null {
  const len = b.length;
  if (len === 0 || len >= 21) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    if (len === 1) return null;
    neg = true;
    i = 1;
  }
  const first = b[i]!;
  if (first === 0x30) return len === 1 ? 0 : null; // "0" only; "-0" and "01" are rejected
  if (first < 0x31 || first > 0x39) return null;
  const digits = len - i;
  if (digits <= 15) {
    let v = 0;
    for (; i < len; i++) {
      const c = b[i]! - 0x30;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  // 16..20 digits: validate, then let bigint do the exact work.
  for (let j = i; j < len; j++) {
    const c = b[j]!;
    if (c < 0x30 || c > 0x39) return null;
  }
  let v = BigInt(latin1(b, i, len));
  if (neg) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return null;
  if (v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
  return v;
}

/** string2ll, always as a bigint. */
export function parseInt64Big(b: Uint8Array): bigint | null {
  const v = parseInt64(b);
  return v === null ? null : typeof v === 'bigint' ? v : BigInt(v);
}

/** getLongLongFromObjectOrReply: the int64 value or `ERR value is not an integer or out of range`. */
export function argInt64(b: Uint8Array): number | bigint {
  const v = parseInt64(b);
  if (v === null) throw Errors.notInteger();
  return v;
}

/** argInt64 as a bigint. */
export function argInt64Big(b: Uint8Array): bigint {
  const v = parseInt64(b);
  if (v === null) throw Errors.notInteger();
  return typeof v === 'bigint' ? v : BigInt(v);
}

/**
 * getRangeLongFromObjectOrReply: an integer inside [min, max]. `msg` (without the "ERR " prefix)
 * replaces both error texts when given, as in Redis.
 */
export function argIntRange(b: Uint8Array, min: number, max: number, msg?: string): number {
  const v = parseInt64(b);
  if (v === null) throw new ReplyError(msg !== undefined ? `ERR ${msg}` : 'ERR value is not an integer or out of range');
  if (typeof v === 'bigint' || v < min || v > max) {
    throw new ReplyError(msg !== undefined ? `ERR ${msg}` : `ERR value is out of range, value must between ${min} and ${max}`);
  }
  return v;
}

/** getIntFromObjectOrReply: a C int. */
export function argInt32(b: Uint8Array, msg?: string): number {
  return argIntRange(b, INT32_MIN, INT32_MAX, msg);
}

/**
 * A database index as SELECT, MOVE and COPY DB take it: an int first (its own errors), then the
 * range check `ERR DB index is out of range`.
 */
export function argDbIndex(b: Uint8Array, databases: number, msg?: string): number {
  const id = argInt32(b, msg);
  if (id < 0 || id >= databases) throw Errors.dbIndexOutOfRange();
  return id;
}

/** Decimal text of an int64 (number or bigint) as bytes. */
export function int64Bytes(v: number | bigint): Buffer {
  return Buffer.from(String(v), 'latin1');
}

// ================================================================================================
// Option helpers
// ================================================================================================

/**
 * strcasecmp(arg, word) == 0 for an ASCII `word` written in lower case. Compares bytes, so a NUL
 * inside `arg` never matches (Redis's strcasecmp would stop there; no option word contains NUL
 * and argv strings of that shape are not options anyway).
 */
export function isOpt(arg: Uint8Array, word: string): boolean {
  const n = word.length;
  if (arg.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = arg[i]!;
    const lc = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (lc !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Byte-for-byte equality (sdscmp == 0). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The bytes as a JS string, one char per byte (binary safe, reversible). */
export function latin1(b: Uint8Array, start = 0, end = b.length): string {
  if (Buffer.isBuffer(b)) return b.toString('latin1', start, end);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', start, end);
}

// ================================================================================================
// Error text helpers
// ================================================================================================

/**
 * How a C "%s" / "%.Ns" sees an argument: cut at the first NUL byte, then at `max` bytes.
 * Returned as latin1 text so the reply writer can put the original bytes back.
 */
export function cString(b: Uint8Array, max = Infinity): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  if (end > max) end = max;
  return latin1(b, 0, end);
}

/**
 * addReplyErrorFormat's cleaning: CR/LF at both ends are trimmed, any left inside become spaces,
 * so a user-supplied argument can never break the protocol line.
 */
export function errorText(s: string): string {
  return s.replace(/^[\r\n]+|[\r\n]+$/g, '').replace(/[\r\n]/g, ' ');
}

// ================================================================================================
// Binary floating point core
// ================================================================================================

/**
 * A binary floating-point value: (-1)^neg × m × 2^e for kind 'finite' (m = 0 is a signed zero).
 * The same shape carries both formats we emulate; `FloatFormat` says how a result is rounded.
 */
export interface BinaryFloat {
  readonly kind: 'finite' | 'inf' | 'nan';
  readonly neg: boolean;
  readonly m: bigint;
  readonly e: number;
}

interface FloatFormat {
  /** Significand bits. */
  readonly precision: number;
  /** Exponent of the smallest subnormal (the finest quantum). */
  readonly minQuantumExp: number;
  /** Values must stay below 2^maxExp. */
  readonly maxExp: number;
}

/** x87 80-bit extended: 64-bit significand, min subnormal 2^-16445, max just below 2^16384. */
const LONG_DOUBLE: FloatFormat = { precision: 64, minQuantumExp: -16445, maxExp: 16384 };
/** IEEE binary64. */
const DOUBLE: FloatFormat = { precision: 53, minQuantumExp: -1074, maxExp: 1024 };

const POS_ZERO: BinaryFloat = { kind: 'finite', neg: false, m: 0n, e: 0 };
const NEG_ZERO: BinaryFloat = { kind: 'finite', neg: true, m: 0n, e: 0 };
const POS_INF: BinaryFloat = { kind: 'inf', neg: false, m: 0n, e: 0 };
const NEG_INF: BinaryFloat = { kind: 'inf', neg: true, m: 0n, e: 0 };
const NAN: BinaryFloat = { kind: 'nan', neg: false, m: 0n, e: 0 };

function bitLength(n: bigint): number {
  // n > 0. toString(16) is the cheapest exact way to measure a bigint.
  const hex = n.toString(16);
  const top = parseInt(hex[0]!, 16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(top));
}

/**
 * Rounds the exact value (-1)^neg × (n + δ) × 2^e to `fmt`, to nearest with ties to even, where
 * 0 ≤ δ < 1 and `sticky` says δ > 0. Handles subnormals and overflow to infinity.
 * Why this shape: parsing (a quotient with remainder) and addition (an exact integer sum) both
 * reduce to "an integer plus maybe a little more, times a power of two"; one rounding routine then
 * serves every operation and the IEEE rules live in one place.
 * Callers must pass n with at least precision+2 bits whenever sticky is true, so the sticky part
 * can only ever decide between "just below half" and "just above half".
 */
function roundBinary(neg: boolean, n: bigint, e: number, sticky: boolean, fmt: FloatFormat): BinaryFloat {
  if (n === 0n) return neg ? NEG_ZERO : POS_ZERO;
  const len = bitLength(n);
  let q = e + len - fmt.precision;
  if (q < fmt.minQuantumExp) q = fmt.minQuantumExp;
  const shift = q - e;
  let m: bigint;
  if (shift <= 0) {
    m = n;
    q = e;
  } else {
    const s = BigInt(shift);
    m = n >> s;
    const rem = n - (m << s);
    const half = 1n << (s - 1n);
    if (rem > half || (rem === half && (sticky || (m & 1n) === 1n))) m += 1n;
    if (m === 0n) return neg ? NEG_ZERO : POS_ZERO;
    if (m >> BigInt(fmt.precision) !== 0n) { m >>= 1n; q += 1; }
  }
  if (q + bitLength(m) > fmt.maxExp) return neg ? NEG_INF : POS_INF;
  return { kind: 'finite', neg, m, e: q };
}

/** Exact (-1)^neg × num / den × 2^e2 (den > 0), correctly rounded to `fmt`. */
function roundQuotient(neg: boolean, num: bigint, den: bigint, e2: number, fmt: FloatFormat): BinaryFloat {
  if (num === 0n) return neg ? NEG_ZERO : POS_ZERO;
  // Scale so the integer quotient has at least precision+2 bits: then roundBinary always drops
  // two or more bits, and the remainder (sticky) can only break what would otherwise be a tie.
  const k = fmt.precision + 2 + bitLength(den) - bitLength(num);
  let qt: bigint;
  let r: bigint;
  if (k >= 0) {
    const scaled = num << BigInt(k);
    qt = scaled / den;
    r = scaled - qt * den;
  } else {
    const d = den << BigInt(-k);
    qt = num / d;
    r = num - qt * d;
  }
  return roundBinary(neg, qt, e2 - k, r !== 0n, fmt);
}

/** Adds two values of `fmt` exactly, then rounds once (IEEE addition, round to nearest even). */
function addBinary(a: BinaryFloat, b: BinaryFloat, fmt: FloatFormat): BinaryFloat {
  if (a.kind === 'nan' || b.kind === 'nan') return NAN;
  if (a.kind === 'inf' || b.kind === 'inf') {
    if (a.kind === 'inf' && b.kind === 'inf') return a.neg === b.neg ? a : NAN;
    return a.kind === 'inf' ? a : b;
  }
  if (a.m === 0n && b.m === 0n) return a.neg && b.neg ? NEG_ZERO : POS_ZERO;
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const na = a.m << BigInt(a.e - e);
  const nb = b.m << BigInt(b.e - e);
  const s = (a.neg ? -na : na) + (b.neg ? -nb : nb);
  if (s === 0n) return POS_ZERO;
  return s < 0n ? roundBinary(true, -s, e, false, fmt) : roundBinary(false, s, e, false, fmt);
}

const DEC_RE = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const HEX_RE = /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;

/** Parses a (possibly huge) exponent text, saturating far beyond any meaningful range. */
function clampedExponent(s: string | undefined): number {
  if (s === undefined) return 0;
  const v = parseInt(s, 10);
  return v > 1e9 ? 1e9 : v < -1e9 ? -1e9 : v;
}

interface ParsedFloat { value: BinaryFloat; nonzeroInput: boolean }

/**
 * The strtod/strtold grammar of glibc in the C locale, whole-string: [sign] then "inf",
 * "infinity", a decimal with optional exponent, or a hexadecimal float "0x…[p…]". NaN spellings
 * are reported as NaN. Returns null when the text is not entirely one number.
 * Why exact arithmetic: strtold rounds correctly, and a single ulp of difference changes the
 * digits INCRBYFLOAT prints, so we compute the rounding from the exact decimal value.
 */
function parseBinaryFloat(s: string, fmt: FloatFormat): ParsedFloat | null {
  let mt = DEC_RE.exec(s);
  if (mt !== null) {
    const neg = mt[1] === '-';
    const intPart = mt[2] ?? '';
    const fracPart = mt[3] ?? mt[4] ?? '';
    let digits = (intPart + fracPart).replace(/^0+/, '');
    let exp10 = clampedExponent(mt[5]) - fracPart.length;
    if (digits.length === 0) return { value: neg ? NEG_ZERO : POS_ZERO, nonzeroInput: false };
    const trimmed = digits.replace(/0+$/, '');
    exp10 += digits.length - trimmed.length;
    digits = trimmed;
    // Decimal magnitude is within [10^(len-1+exp10), 10^(len+exp10)).
    const mag = digits.length + exp10;
    const maxDec = Math.ceil(fmt.maxExp * Math.LOG10E * Math.LN2) + 1; // beyond → overflow
    const minDec = Math.floor(fmt.minQuantumExp * Math.LOG10E * Math.LN2) - 1; // below → zero
    if (mag - 1 > maxDec) return { value: neg ? NEG_INF : POS_INF, nonzeroInput: true };
    if (mag < minDec) return { value: neg ? NEG_ZERO : POS_ZERO, nonzeroInput: true };
    const n = BigInt(digits);
    const value = exp10 >= 0
      ? roundBinary(neg, n * 10n ** BigInt(exp10), 0, false, fmt)
      : roundQuotient(neg, n, 10n ** BigInt(-exp10), 0, fmt);
    return { value, nonzeroInput: true };
  }
  mt = HEX_RE.exec(s);
  if (mt !== null) {
    const neg = mt[1] === '-';
    const intPart = mt[2] ?? '';
    const fracPart = mt[3] ?? mt[4] ?? '';
    const hex = (intPart + fracPart).replace(/^0+/, '');
    if (hex.length === 0) return { value: neg ? NEG_ZERO : POS_ZERO, nonzeroInput: false };
    const e2 = clampedExponent(mt[5]) - 4 * fracPart.length;
    const bits = hex.length * 4 + e2;
    if (bits - 4 > fmt.maxExp) return { value: neg ? NEG_INF : POS_INF, nonzeroInput: true };
    if (bits < fmt.minQuantumExp - 2) return { value: neg ? NEG_ZERO : POS_ZERO, nonzeroInput: true };
    return { value: roundBinary(neg, BigInt('0x' + hex), e2, false, fmt), nonzeroInput: true };
  }
  mt = INF_RE.exec(s);
  if (mt !== null) return { value: mt[1] === '-' ? NEG_INF : POS_INF, nonzeroInput: false };
  if (/^[+-]?nan(\([0-9A-Za-z_]*\))?$/i.test(s)) return { value: NAN, nonzeroInput: false };
  return null;
}

/**
 * The value rounded to an integer multiple of 10^-digits, to nearest with ties to even (glibc
 * printf rounds the exact binary value that way), returned as that integer (sign excluded).
 */
function scaledDecimal(x: BinaryFloat, digits: number): bigint {
  const p10 = 10n ** BigInt(digits);
  if (x.e >= 0) return (x.m << BigInt(x.e)) * p10;
  const s = BigInt(-x.e);
  const num = x.m * p10;
  let q = num >> s;
  const rem = num - (q << s);
  const half = 1n << (s - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  return q;
}

// ================================================================================================
// Long double (INCRBYFLOAT, HINCRBYFLOAT)
// ================================================================================================

export type LongDouble = BinaryFloat;

/** Redis's MAX_LONG_DOUBLE_CHARS buffer: longer inputs are not numbers. */
const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

/**
 * string2ld: strtold over the whole argument. Rejects leading whitespace, trailing bytes, NaN,
 * overflow to ±inf and underflow to zero; accepts "inf"/"infinity", hex floats and subnormals.
 */
export function parseLongDouble(b: Uint8Array): LongDouble | null {
  if (b.length === 0 || b.length >= MAX_LONG_DOUBLE_CHARS) return null;
  const p = parseBinaryFloat(latin1(b), LONG_DOUBLE);
  return acceptParsed(p);
}

function acceptParsed(p: ParsedFloat | null): BinaryFloat | null {
  if (p === null) return null;
  const v = p.value;
  if (v.kind === 'nan') return null;
  if (p.nonzeroInput && (v.kind === 'inf' || v.m === 0n)) return null; // ERANGE
  return v;
}

/** getLongDoubleFromObjectOrReply with the default message. */
export function argLongDouble(b: Uint8Array): LongDouble {
  const v = parseLongDouble(b);
  if (v === null) throw Errors.notFloat();
  return v;
}

/** long double addition as the x87 does it (round to nearest even, 64-bit significand). */
export function longDoubleAdd(a: LongDouble, b: LongDouble): LongDouble {
  return addBinary(a, b, LONG_DOUBLE);
}

export function isFiniteLongDouble(x: LongDouble): boolean {
  return x.kind === 'finite';
}

/** The exact long double of a JS number (every double is a long double). */
export function longDoubleFromNumber(d: number): LongDouble {
  return doubleToBinary(d);
}

/**
 * ld2string in LD_STR_HUMAN mode, i.e. how INCRBYFLOAT prints its result: printf("%.17Lf") of the
 * exact long double, then trailing zeros (and a bare '.') removed, and "-0" turned into "0".
 * Why not toFixed(17): the value is a long double, and printf rounds its exact binary expansion
 * with ties to even; both differ from what a JS double would print.
 */
export function formatLongDoubleHuman(x: LongDouble): string {
  if (x.kind === 'inf') return x.neg ? '-inf' : 'inf';
  if (x.kind === 'nan') return x.neg ? '-nan' : 'nan';
  let digits = scaledDecimal(x, 17).toString();
  if (digits.length < 18) digits = '0'.repeat(18 - digits.length) + digits;
  const intPart = digits.slice(0, digits.length - 17);
  const frac = digits.slice(digits.length - 17).replace(/0+$/, '');
  const body = frac.length > 0 ? `${intPart}.${frac}` : intPart;
  const out = x.neg ? '-' + body : body;
  return out === '-0' ? '0' : out;
}

// ================================================================================================
// Double (sorted-set scores, DoubleReply)
// ================================================================================================

function doubleToBinary(d: number): BinaryFloat {
  if (Number.isNaN(d)) return NAN;
  if (d === Infinity) return POS_INF;
  if (d === -Infinity) return NEG_INF;
  if (d === 0) return Object.is(d, -0) ? NEG_ZERO : POS_ZERO;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const neg = (hi >>> 31) === 1;
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) {
    e = -1074;
  } else {
    m |= 1n << 52n;
    e = bexp - 1075;
  }
  return { kind: 'finite', neg, m, e };
}

function binaryToDouble(x: BinaryFloat): number {
  if (x.kind === 'nan') return NaN;
  if (x.kind === 'inf') return x.neg ? -Infinity : Infinity;
  if (x.m === 0n) return x.neg ? -0 : 0;
  // m < 2^53 and e within [-1074, 971] after DOUBLE rounding, so both factors are exact.
  const v = Number(x.m) * 2 ** x.e;
  return x.neg ? -v : v;
}

/**
 * string2d: strtod over the whole argument (same grammar and range rules as parseLongDouble, but
 * rounded to a double and with no length cap).
 */
export function parseDouble(b: Uint8Array): number | null {
  if (b.length === 0) return null;
  const s = latin1(b);
  // Fast path: plain decimals are correctly rounded by JS itself.
  if (DEC_RE.test(s)) {
    const v = Number(s);
    if (v === Infinity || v === -Infinity) return null;
    if (v === 0 && /[1-9]/.test(s.replace(/[eE].*$/, ''))) return null;
    return v;
  }
  const v = acceptParsed(parseBinaryFloat(s, DOUBLE));
  return v === null ? null : binaryToDouble(v);
}

/** getDoubleFromObjectOrReply with the default message. */
export function argDouble(b: Uint8Array): number {
  const v = parseDouble(b);
  if (v === null) throw Errors.notFloat();
  return v;
}

/**
 * d2string: the compact form Redis uses when it stores a double as text (listpack scores):
 * integers without exponent or point when they fit, else %.17g.
 */
export function formatDoubleShort(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  if (Number.isInteger(d) && d >= -4611686018427387903 && d <= 4611686018427387903) {
    return BigInt(d).toString();
  }
  return formatDouble(d);
}
