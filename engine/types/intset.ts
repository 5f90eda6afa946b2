/**
 * Redis's intset: the compact encoding of a small set whose members are all integers (what
 * `OBJECT ENCODING` calls "intset" and RDB type 11 carries). forkless keeps such a set as exactly
 * these bytes in its keyspace record, so a snapshot copies them into the RDB file unchanged.
 *
 * Format (facts from Redis's intset.h/.c documentation): u32 LE element width in bytes (2, 4 or 8),
 * u32 LE element count, then the elements as little-endian signed integers of that width, sorted
 * ascending, no duplicates. A new intset starts at width 2; adding a value that needs a wider type
 * re-encodes every element at the new width ("upgrade"); removing never narrows it again. So the
 * width of a stored intset is the widest any value ever added needed, not the widest it holds now.
 *
 * Values are handled as bigint: an intset is at most set-max-intset-entries long (512 by default),
 * so simplicity wins over speed here. Every mutation returns a fresh Buffer (the stored blob is a
 * view into shared memory that must not be written outside the keyspace).
 */

export const INTSET_ENC_INT16 = 2;
export const INTSET_ENC_INT32 = 4;
export const INTSET_ENC_INT64 = 8;
export type IntsetEncoding = 2 | 4 | 8;

const HEADER = 8;

/** The narrowest width that holds v. */
export function intsetWidthFor(v: bigint): IntsetEncoding {
  if (v >= -32768n && v <= 32767n) return INTSET_ENC_INT16;
  if (v >= -2147483648n && v <= 2147483647n) return INTSET_ENC_INT32;
  return INTSET_ENC_INT64;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Element width in bytes (2, 4 or 8). */
export function intsetEncoding(is: Uint8Array): number {
  return u32(is, 0);
}

export function intsetLength(is: Uint8Array): number {
  return u32(is, 4);
}

/** The i-th smallest value. */
export function intsetGet(is: Uint8Array, i: number): bigint {
  const w = intsetEncoding(is);
  const dv = new DataView(is.buffer, is.byteOffset, is.byteLength);
  const at = HEADER + i * w;
  if (w === INTSET_ENC_INT16) return BigInt(dv.getInt16(at, true));
  if (w === INTSET_ENC_INT32) return BigInt(dv.getInt32(at, true));
  return dv.getBigInt64(at, true);
}

/**
 * Binary search. Returns the index of v when present, else -(insertion point) - 1 (so a result
 * >= 0 means found). A value wider than the set's width cannot be in it: answered without search.
 */
export function intsetSearch(is: Uint8Array, v: bigint): number {
  const n = intsetLength(is);
  if (intsetWidthFor(v) > intsetEncoding(is)) {
    // Outside the range of the current width: it belongs at one end.
    return v < 0n ? -1 : -(n + 1);
  }
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = intsetGet(is, mid);
    if (x < v) lo = mid + 1;
    else if (x > v) hi = mid - 1;
    else return mid;
  }
  return -(lo + 1);
}

export function intsetContains(is: Uint8Array, v: bigint): boolean {
  return intsetSearch(is, v) >= 0;
}

/** Every value, ascending. */
export function intsetValues(is: Uint8Array): bigint[] {
  const n = intsetLength(is);
  const out = new Array<bigint>(n);
  for (let i = 0; i < n; i++) out[i] = intsetGet(is, i);
  return out;
}

/** Writes sorted, distinct values at `width` into a new intset. */
function encode(values: readonly bigint[], width: IntsetEncoding): Buffer {
  const out = Buffer.alloc(HEADER + values.length * width);
  out.writeUInt32LE(width, 0);
  out.writeUInt32LE(values.length, 4);
  let p = HEADER;
  for (const v of values) {
    if (width === INTSET_ENC_INT16) out.writeInt16LE(Number(v), p);
    else if (width === INTSET_ENC_INT32) out.writeInt32LE(Number(v), p);
    else out.writeBigInt64LE(v, p);
    p += width;
  }
  return out;
}

/** An empty intset (width 2, as Redis's intsetNew). */
export function intsetNew(): Buffer {
  return encode([], INTSET_ENC_INT16);
}

/**
 * The intset Redis would hold after adding `values` one by one to an empty intset: sorted,
 * deduplicated, at the widest width any of them needs (at least 2).
 */
export function intsetFrom(values: readonly bigint[]): Buffer {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const uniq: bigint[] = [];
  let width: IntsetEncoding = INTSET_ENC_INT16;
  for (const v of sorted) {
    if (uniq.length > 0 && uniq[uniq.length - 1] === v) continue;
    uniq.push(v);
    const w = intsetWidthFor(v);
    if (w > width) width = w;
  }
  return encode(uniq, width);
}

/**
 * Adds the values that are not present. Returns the new intset and how many were added; the width
 * only grows (Redis's upgrade rule), so the result matches adding them one at a time.
 */
export function intsetAddAll(is: Uint8Array, add: readonly bigint[]): { blob: Buffer; added: number } {
  const cur = intsetValues(is);
  let width = intsetEncoding(is) as IntsetEncoding;
  const have = new Set<bigint>(cur);
  const next = cur.slice();
  let added = 0;
  for (const v of add) {
    if (have.has(v)) continue;
    have.add(v);
    next.push(v);
    added++;
    const w = intsetWidthFor(v);
    if (w > width) width = w;
  }
  if (added === 0) return { blob: Buffer.from(is), added: 0 };
  next.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { blob: encode(next, width), added };
}

/** Removes the values that are present; the width is kept (Redis never narrows an intset). */
export function intsetRemoveAll(is: Uint8Array, remove: readonly bigint[]): { blob: Buffer; removed: number } {
  const drop = new Set<bigint>();
  for (const v of remove) if (intsetContains(is, v)) drop.add(v);
  if (drop.size === 0) return { blob: Buffer.from(is), removed: 0 };
  const next = intsetValues(is).filter((v) => !drop.has(v));
  return { blob: encode(next, intsetEncoding(is) as IntsetEncoding), removed: drop.size };
}

/**
 * Structural check (for tests and the loader's paranoia): a known width, a length matching the
 * byte size, strictly ascending values.
 */
export function intsetValid(is: Uint8Array): boolean {
  if (is.length < HEADER) return false;
  const w = intsetEncoding(is);
  if (w !== INTSET_ENC_INT16 && w !== INTSET_ENC_INT32 && w !== INTSET_ENC_INT64) return false;
  const n = intsetLength(is);
  if (HEADER + n * w !== is.length) return false;
  for (let i = 1; i < n; i++) if (intsetGet(is, i - 1) >= intsetGet(is, i)) return false;
  return true;
}
