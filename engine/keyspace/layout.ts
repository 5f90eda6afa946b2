/**
 * Byte layout of keyspace pages and records. Shared by the main thread (keyspace.ts) and the
 * snapshot worker (persist/page-serializer.ts), which reads pages without any other knowledge of
 * the keyspace: a page is a self-contained snapshot unit.
 *
 * Address space. Memory is a list of segments (growable SharedArrayBuffers of at most SEGMENT_BYTES)
 * cut into pages of `pageSize` bytes (a power of two, 256 B .. 2 MiB). Page p lives in segment
 * p >> segPageShift. A record is addressed by a 32-bit `ref` = global byte address / 8 (records are
 * 8-byte aligned), so segment = ref >>> 27 and offset-in-segment = (ref & REF_OFFSET_MASK) * 8;
 * refs address 16 GiB. ref 0 is never a record (offset 0 of page 0 is a page header) and means null.
 *
 * Page kinds (kept beside the pages in a Uint8Array, and written into the page header):
 *  FREE       unused; may be handed out again.
 *  SLAB       fixed-size slots of one size class, all records of ONE database. Header:
 *               u32[0] kind | db << 8 | class << 16     u32[1] slot size     u32[2] slot count
 *               u32[3] slots in use                      u32[4..] occupancy bitmap (1 = live)
 *             slots start at slabHeaderBytes(slotCount) (8-aligned).
 *  LARGE_HEAD first page of an extent of whole pages holding one record too big for any slab
 *             class. Header: u32[0] kind | db << 8, u32[1] pages in the extent; record at +16.
 *  LARGE_CONT the following pages of that extent: raw record bytes, no header.
 *
 * Record (8-aligned). A 24-byte header the index uses, then the record's own RDB encoding, so
 * that copying a record out of a page and serializing it are the same memcpy (the snapshot and
 * the barrier's page encoder do exactly that):
 *  +0  u32 next      hash-chain link               (index-only: never read by the serializer)
 *  +4  u32 hash      murmur3 of the key
 *  +8  u32 expSlot   position in the db's expires array (index-only)
 *  +12 u32 klen
 *  +16 u32 vlen
 *  +20 u16 meta      bits 0-7 value type (= its RDB type byte), bit 8 HAS_EXPIRE
 *  +22 u8  0
 *  +23 u8  0xFC      RDB EXPIRETIME_MS opcode, iff HAS_EXPIRE      <- RDB form starts here ...
 *  +24 i64 expireAt  little-endian unix ms, iff HAS_EXPIRE
 *  then (at +24, or +32 with an expire)                           <- ... or here without expire
 *      type byte, RDB length of key, key, RDB length of value, value
 * Lengths use RDB's smallest form (1, 2 or 5 bytes); strings are stored raw (Redis's loader reads
 * raw strings whatever encoding Redis itself would have picked). Fields marked index-only may be
 * written without passing the copy-on-write barrier: the snapshot never reads them, so a torn or
 * newer value in a captured page is harmless.
 */
export const SEGMENT_BYTES = 1 << 30;
export const REF_SEGMENT_SHIFT = 27;
export const REF_OFFSET_MASK = (1 << REF_SEGMENT_SHIFT) - 1;

export const PAGE_FREE = 0;
export const PAGE_SLAB = 1;
export const PAGE_LARGE_HEAD = 2;
export const PAGE_LARGE_CONT = 3;

export const LARGE_HEADER_BYTES = 16;
export const SLAB_FIXED_HEADER_WORDS = 4;

export const RECORD_HEADER = 24;
export const R_NEXT = 0;      // u32 word offsets inside a record
export const R_HASH = 1;
export const R_EXPSLOT = 2;
export const R_KLEN = 3;
export const R_VLEN = 4;
export const R_META = 5;      // low 16 bits; the top byte is the 0xFC opcode when HAS_EXPIRE
export const R_EXP_LO = 6;
export const R_EXP_HI = 7;
export const EXPIRE_BYTES = 8;
export const RDB_OPCODE_EXPIRETIME_MS = 0xfc;

export const META_TYPE_MASK = 0xff;
export const META_HAS_EXPIRE = 0x100;
/** The meta word as stored: meta bits plus the EXPIRETIME_MS opcode byte when there is an expire. */
export function metaWord(type: number, hasExpire: boolean): number {
  return hasExpire ? (type | META_HAS_EXPIRE | (RDB_OPCODE_EXPIRETIME_MS << 24)) >>> 0 : type;
}

/** Bytes of an RDB length: 1 below 64, 2 below 16384, 5 up to 2^32-1 (the only forms used here). */
export function rdbLenSize(n: number): number {
  return n < 64 ? 1 : n < 16384 ? 2 : 5;
}

/** Writes an RDB length at `off`; returns the offset after it. */
export function putRdbLen(u8: Uint8Array, off: number, n: number): number {
  if (n < 64) { u8[off] = n; return off + 1; }
  if (n < 16384) { u8[off] = 0x40 | (n >>> 8); u8[off + 1] = n & 0xff; return off + 2; }
  u8[off] = 0x80;
  u8[off + 1] = n >>> 24; u8[off + 2] = (n >>> 16) & 0xff; u8[off + 3] = (n >>> 8) & 0xff; u8[off + 4] = n & 0xff;
  return off + 5;
}

/** Offset (from the record start) of the type byte, where the RDB form continues after any expire. */
export function typeOffset(hasExpire: boolean): number { return hasExpire ? RECORD_HEADER + EXPIRE_BYTES : RECORD_HEADER; }
/** Offset of the RDB form's first byte (the 0xFC opcode, or the type byte). */
export function rdbStart(hasExpire: boolean): number { return hasExpire ? RECORD_HEADER - 1 : RECORD_HEADER; }
/** Offset of the key bytes. */
export function keyOffset(hasExpire: boolean, klen: number): number { return typeOffset(hasExpire) + 1 + rdbLenSize(klen); }
/** Offset of the value bytes. */
export function valueOffset(hasExpire: boolean, klen: number, vlen: number): number {
  return keyOffset(hasExpire, klen) + klen + rdbLenSize(vlen);
}

/**
 * Stored forms of a value: the record's type byte. Small collections are one record holding
 * Redis's compact encoding (the RDB value bytes, so snapshots copy them unchanged); large ones are
 * a header record plus one element record per field/member (per listpack node for lists).
 */
export const VT_STRING = 0;
/** Small set of integers: value = Redis intset bytes (RDB type 11). */
export const VT_SET_INTSET = 11;
/** Small hash: value = listpack of field, value, field, value … (RDB type 16). */
export const VT_HASH_LISTPACK = 16;
/** Small sorted set: value = listpack of member, score, … in score order (RDB type 17). */
export const VT_ZSET_LISTPACK = 17;
/** Small list: value = one listpack node (written to RDB as a one-node quicklist, type 18). */
export const VT_LIST_LISTPACK = 0x40;
/** A large collection's key record; its elements live in LargeCollection element records. */
export const VT_LARGE = 0x41;
/**
 * An element record of a large collection (lives in the element pages, see ELEMENT_DOMAIN): key =
 * field/member (empty for list nodes), value = u32 LE collection id, then the payload (hash: value;
 * set: nothing; zset: f64 LE score; list node: f64 LE label, then the node's listpack).
 */
export const VT_ELEMENT = 0x42;


export const MIN_PAGE_SIZE = 256;
export const MAX_PAGE_SIZE = 2 * 1024 * 1024;

export function isValidPageSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_PAGE_SIZE && n <= MAX_PAGE_SIZE && (n & (n - 1)) === 0;
}

/** Header bytes of a slab page with `slots` slots: fixed words + bitmap, rounded up to 8. */
export function slabHeaderBytes(slots: number): number {
  const words = SLAB_FIXED_HEADER_WORDS + Math.ceil(slots / 32);
  return (words * 4 + 7) & ~7;
}

/** How many slots of `slotSize` fit in a page together with their bitmap header. */
export function slotsPerPage(pageSize: number, slotSize: number): number {
  let n = Math.floor((pageSize - slabHeaderBytes(1)) / slotSize);
  while (n > 0 && slabHeaderBytes(n) + n * slotSize > pageSize) n--;
  return n;
}

/** Total record bytes for a key/value of these lengths. */
export function recordBytes(klen: number, vlen: number, hasExpire: boolean): number {
  return valueOffset(hasExpire, klen, vlen) + vlen;
}

/**
 * Size classes: multiples of 8 up to 512 B, then steps of 1/8 of the power of two below (about
 * 12 % granularity, like jemalloc's), capped so that at least two slots fit in a page. Records
 * larger than the last class go to LARGE extents.
 */
export function buildSizeClasses(pageSize: number): number[] {
  const classes: number[] = [];
  const limit = Math.floor((pageSize - slabHeaderBytes(2)) / 2) & ~7;
  for (let s = 32; s <= 512 && s <= limit; s += 8) classes.push(s);
  let base = 512;
  while (true) {
    const step = base / 8;
    let added = false;
    for (let k = 1; k <= 8; k++) {
      const s = base + k * step;
      if (s > limit) break;
      classes.push(s);
      added = true;
    }
    if (!added) break;
    base *= 2;
  }
  if (classes.length === 0) classes.push(limit);
  return classes;
}
