/**
 * Doubles printed the way Redis prints them: C's printf("%.17g") (RESP2 scores, INCRBYFLOAT-free
 * double replies, listpack score text, ZADD in a rewritten AOF). One implementation for the
 * command layer, the types and persistence.
 */

/**
 * printf("%.17g", d). Why not just toPrecision(17): JS rounds an exact tie at the 17th digit away
 * from zero where glibc rounds half to even, so when the 18th digit is a 5 we redo the rounding on
 * the double's exact binary value with bigint arithmetic.
 */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const neg = d < 0;
  const a = neg ? -d : d;
  let [digits, exp] = splitDigits(a.toPrecision(17));
  const [d18] = splitDigits(a.toPrecision(18));
  if (d18.charCodeAt(17) === 0x35) [digits, exp] = exactDigits17(a);
  return (neg ? '-' : '') + renderG(digits, exp);
}

function splitDigits(s: string): [string, number] {
  const ei = s.indexOf('e');
  let mant = ei >= 0 ? s.slice(0, ei) : s;
  let exp = ei >= 0 ? parseInt(s.slice(ei + 1), 10) : 0;
  const dot = mant.indexOf('.');
  if (dot >= 0) {
    if (ei < 0) exp = dot - 1;
    mant = mant.slice(0, dot) + mant.slice(dot + 1);
  } else if (ei < 0) {
    exp = mant.length - 1;
  }
  let lead = 0;
  while (lead < mant.length - 1 && mant.charCodeAt(lead) === 0x30) lead++;
  return [mant.slice(lead), exp - lead];
}

/**
 * 17 significant digits of a positive double, rounded half-to-even on its exact value m·2^e. The
 * decimal exponent is settled exactly first (Math.log10 can be off by one next to a power of ten:
 * 1e-7 as a double is just below 10^-7).
 */
function exactDigits17(a: number): [string, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const hi = view.getUint32(0);
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let e = -1074;
  if (bexp !== 0) { m |= 1n << 52n; e = bexp - 1075; }
  /** num/den = m·2^e · 10^-s, as integers. */
  const scaled = (s: number): [bigint, bigint] => {
    let num = m;
    let den = 1n;
    if (e >= 0) num <<= BigInt(e); else den <<= BigInt(-e);
    if (s >= 0) den *= 10n ** BigInt(s); else num *= 10n ** BigInt(-s);
    return [num, den];
  };
  const atLeastPow10 = (k: number): boolean => { const [num, den] = scaled(k); return num >= den; };
  let exp = Math.floor(Math.log10(a));
  while (!atLeastPow10(exp)) exp--;
  while (atLeastPow10(exp + 1)) exp++;
  const [num, den] = scaled(exp - 16);
  let q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q += 1n;
  let txt = q.toString();
  if (txt.length > 17) { txt = txt.slice(0, 17); exp++; } // rounded up to the next power of ten
  return [txt, exp];
}

function renderG(digits: string, exp: number): string {
  if (exp < -4 || exp >= 17) {
    const frac = digits.slice(1).replace(/0+$/, '');
    const ae = Math.abs(exp);
    return digits[0]! + (frac.length > 0 ? '.' + frac : '') + (exp < 0 ? 'e-' : 'e+') + (ae < 10 ? '0' + ae : String(ae));
  }
  if (exp >= 0) {
    const ip = digits.slice(0, exp + 1);
    const frac = digits.slice(exp + 1).replace(/0+$/, '');
    return frac.length > 0 ? `${ip}.${frac}` : ip;
  }
  return '0.' + ('0'.repeat(-exp - 1) + digits).replace(/0+$/, '');
}

