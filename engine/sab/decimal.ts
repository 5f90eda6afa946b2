/**
 * Decimal integers written straight into byte buffers: the RESP framing (`*3\r\n$5\r\n`, `:42\r\n`)
 * of replies and of AOF records is mostly small integers, and String(n) + encode would allocate
 * on every one.
 */

/** Decimal digits of a non-negative integer below 2^53. */
export function digits(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  if (n < 1000000000) return 9;
  return String(n).length;
}

/** Writes the decimal form of n (a non-negative safe integer) at p; returns the end. */
export function putDecimal(b: Uint8Array, p: number, n: number): number {
  const end = p + digits(n);
  let q = end;
  do {
    const r = n % 10;
    b[--q] = 0x30 + r;
    n = (n - r) / 10;
  } while (n > 0);
  return end;
}
