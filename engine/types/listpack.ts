/**
 * Redis's listpack, the compact encoding of small hashes, sorted sets and list nodes (what
 * `OBJECT ENCODING` calls "listpack" and RDB types 16/17/18 carry). forkless stores small
 * collections in exactly this form inside their keyspace record, so a snapshot copies them into
 * the RDB file unchanged.
 *
 * Format (facts from Redis's listpack.md): u32 LE total bytes, u16 LE element count (65535 =
 * unknown), entries, 0xFF. An entry is an encoding byte (with the length or a small integer),
 * the data, then a 1..5 byte "backlen" holding the size of encoding+data for reverse walks.
 * Integer encodings: 7-bit uint (0xxxxxxx), 13-bit int (110xxxxx +1), 16/24/32/64-bit (F1..F4);
 * strings: 6-bit length (10xxxxxx), 12-bit (1110xxxx +1), 32-bit (F0 + u32).
 *
 * Entries are handled as byte strings: a string that is a canonical int64 (Redis's string2ll:
 * no sign but '-', no leading zeros, no spaces) is stored as an integer, and integers decode back
 * to their decimal text — the same round trip Redis's lpAppend / lpGet perform.
 */

const MAX_I64 = 9223372036854775807n;
const MIN_I64 = -9223372036854775808n;

/** The int64 a canonical decimal string denotes, or null (Redis's string2ll rules). */
export function canonicalInt(s: Uint8Array): bigint | null {
  const n = s.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  if (s[0] === 0x2d) { // '-'
    if (n === 1) return null;
    i = 1;
  }
  if (s[i] === 0x30) return n === 1 ? 0n : null; // "0" only; "-0", "01" are not canonical
  for (let j = i; j < n; j++) if (s[j]! < 0x30 || s[j]! > 0x39) return null;
  let v: bigint;
  if (n - i <= 15) {
    let x = 0;
    for (let j = i; j < n; j++) x = x * 10 + (s[j]! - 0x30);
    v = BigInt(i === 1 ? -x : x);
  } else {
    v = BigInt(Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('latin1'));
    if (v > MAX_I64 || v < MIN_I64) return null;
  }
  return v;
}

function backlenSize(l: number): number {
  return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

/** Bytes of one entry's encoding+data (without backlen). */
function entrySize(e: Uint8Array, iv: bigint | null): number {
  if (iv !== null) {
    if (iv >= 0n && iv <= 127n) return 1;
    if (iv >= -4096n && iv <= 4095n) return 2;
    if (iv >= -32768n && iv <= 32767n) return 3;
    if (iv >= -8388608n && iv <= 8388607n) return 4;
    if (iv >= -2147483648n && iv <= 2147483647n) return 5;
    return 9;
  }
  const l = e.length;
  return l < 64 ? 1 + l : l < 4096 ? 2 + l : 5 + l;
}

function writeBacklen(out: Uint8Array, p: number, l: number): number {
  // Exactly backlenSize(l) 7-bit groups (Redis's sizes: 16383 takes three bytes, 00 FF FF, though
  // two would hold it), highest first; all but the leftmost carry the continuation bit, because a
  // reverse walk reads from the right.
  const n = backlenSize(l);
  let v = l;
  for (let k = n - 1; k >= 0; k--) {
    const g = v & 127;
    v = Math.floor(v / 128);
    out[p + k] = k === 0 ? g : g | 128;
  }
  return p + n;
}

/** Encodes entries (byte strings) into a listpack. */
export function lpEncode(entries: readonly Uint8Array[]): Buffer {
  const ints: Array<bigint | null> = new Array<bigint | null>(entries.length);
  let total = 7;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const iv = canonicalInt(e);
    ints[i] = iv;
    const sz = entrySize(e, iv);
    total += sz + backlenSize(sz);
  }
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32LE(total, 0);
  out.writeUInt16LE(entries.length < 65535 ? entries.length : 65535, 4);
  let p = 6;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const iv = ints[i]!;
    const start = p;
    if (iv !== null) {
      const n = Number(iv);
      if (iv >= 0n && iv <= 127n) out[p++] = n;
      else if (iv >= -4096n && iv <= 4095n) { const u = n & 0x1fff; out[p++] = 0xc0 | (u >> 8); out[p++] = u & 0xff; }
      else if (iv >= -32768n && iv <= 32767n) { out[p++] = 0xf1; out.writeInt16LE(n, p); p += 2; }
      else if (iv >= -8388608n && iv <= 8388607n) { out[p++] = 0xf2; out.writeIntLE(n, p, 3); p += 3; }
      else if (iv >= -2147483648n && iv <= 2147483647n) { out[p++] = 0xf3; out.writeInt32LE(n, p); p += 4; }
      else { out[p++] = 0xf4; out.writeBigInt64LE(iv, p); p += 8; }
    } else {
      const l = e.length;
      if (l < 64) out[p++] = 0x80 | l;
      else if (l < 4096) { out[p++] = 0xe0 | (l >> 8); out[p++] = l & 0xff; }
      else { out[p++] = 0xf0; out.writeUInt32LE(l, p); p += 4; }
      out.set(e, p);
      p += l;
    }
    p = writeBacklen(out, p, p - start);
  }
  out[p] = 0xff;
  return out;
}

const DIGITS = new Map<number, Buffer>();
function intBytes(v: number | bigint): Buffer {
  if (typeof v === 'number' && v >= -1000 && v <= 100000) {
    let b = DIGITS.get(v);
    if (b === undefined) { b = Buffer.from(String(v), 'latin1'); if (DIGITS.size < 200000) DIGITS.set(v, b); }
    return b;
  }
  return Buffer.from(String(v), 'latin1');
}

/**
 * Decodes a listpack written by lpEncode (or Redis) into byte strings. Integer entries become
 * their decimal text (shared small buffers: treat results as read-only). Strings are copied out,
 * so the result stays valid after the record it came from changes.
 */
export function lpDecode(lp: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  const last = lp.length - 1;
  let p = 6;
  while (p < last) {
    const b = lp[p]!;
    if (b === 0xff) break;
    let elen: number;
    if (b < 0x80) { out.push(intBytes(b)); elen = 1; }
    else if ((b & 0xc0) === 0x80) { const l = b & 0x3f; out.push(Buffer.from(lp.subarray(p + 1, p + 1 + l))); elen = 1 + l; }
    else if ((b & 0xe0) === 0xc0) { const u = ((b & 0x1f) << 8) | lp[p + 1]!; out.push(intBytes(u >= 4096 ? u - 8192 : u)); elen = 2; }
    else if ((b & 0xf0) === 0xe0) { const l = ((b & 0x0f) << 8) | lp[p + 1]!; out.push(Buffer.from(lp.subarray(p + 2, p + 2 + l))); elen = 2 + l; }
    else if (b === 0xf0) {
      const l = (lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24)) >>> 0;
      out.push(Buffer.from(lp.subarray(p + 5, p + 5 + l))); elen = 5 + l;
    } else {
      const dv = new DataView(lp.buffer, lp.byteOffset, lp.byteLength);
      if (b === 0xf1) { out.push(intBytes(dv.getInt16(p + 1, true))); elen = 3; }
      else if (b === 0xf2) { const v = (lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16)) << 8 >> 8; out.push(intBytes(v)); elen = 4; }
      else if (b === 0xf3) { out.push(intBytes(dv.getInt32(p + 1, true))); elen = 5; }
      else if (b === 0xf4) { out.push(intBytes(dv.getBigInt64(p + 1, true))); elen = 9; }
      else throw new RangeError(`listpack: invalid entry encoding 0x${b.toString(16)} at ${p}`);
    }
    p += elen + backlenSize(elen);
  }
  return out;
}

/** Number of entries (reads the header; walks the entries only when the header says "unknown"). */
export function lpCount(lp: Uint8Array): number {
  const n = lp[4]! | (lp[5]! << 8);
  return n !== 0xffff ? n : lpDecode(lp).length;
}

/** Size in bytes of the listpack lpEncode would produce (for the node-size limits). */
export function lpEncodedSize(entries: readonly Uint8Array[]): number {
  let total = 7;
  for (const e of entries) {
    const sz = entrySize(e, canonicalInt(e));
    total += sz + backlenSize(sz);
  }
  return total;
}
