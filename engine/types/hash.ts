/**
 * Hashes over the keyspace API, with Redis 7.0's two encodings:
 *   listpack   VT_HASH_LISTPACK, the record holds a listpack field, value, field, value … in
 *              insertion order (new fields are appended, updated values stay in place), exactly
 *              the bytes RDB type 16 carries.
 *   hashtable  a LargeCollection of kind 'hash' (field → payload = value).
 * A listpack hash becomes a hashtable as soon as it holds more than hash-max-listpack-entries
 * fields, or a field or value longer than hash-max-listpack-value bytes is written into it. The
 * conversion is one-way while the key lives (HDEL never converts back); a hash that is created
 * anew (the RDB loader) gets the encoding Redis's loader would give it.
 *
 * Listpack hashes are small (512 fields by default), so operations decode the listpack, work on
 * the arrays and write it back whole: simple, and O(n) in a bounded n.
 *
 * Lifetimes: StoredValue views die at the next keyspace write. Writers copy what they need first;
 * readers return copies unless documented as views.
 */
import { Errors } from '../errors.js';
import {
  KEEP_TTL, NO_EXPIRE, VT_HASH_LISTPACK, VT_LARGE, type Keyspace, type LargeCollection, type StoredValue,
} from '../keyspace/api.js';
import { lpCount, lpDecode, lpEncode } from './listpack.js';

export interface HashLimits {
  /** hash-max-listpack-entries */
  readonly maxListpackEntries: number;
  /** hash-max-listpack-value */
  readonly maxListpackValue: number;
}

/** Redis 7.0's defaults. */
export const DEFAULT_HASH_LIMITS: HashLimits = { maxListpackEntries: 512, maxListpackValue: 64 };

export function isHash(sv: StoredValue): boolean {
  return sv.vt === VT_HASH_LISTPACK || (sv.vt === VT_LARGE && sv.large !== null && sv.large.kind === 'hash');
}

/** The hash at key, null when missing; WRONGTYPE for a key of another type. */
export function lookupHash(ks: Keyspace, db: number, key: Uint8Array): StoredValue | null {
  const sv = ks.lookupValue(db, key);
  if (sv === null) return null;
  if (!isHash(sv)) throw Errors.wrongType();
  return sv;
}

function largeOf(sv: StoredValue): LargeCollection {
  return sv.large as LargeCollection;
}

/** OBJECT ENCODING's name for a stored hash. */
export function hashEncoding(sv: StoredValue): 'listpack' | 'hashtable' {
  return sv.vt === VT_HASH_LISTPACK ? 'listpack' : 'hashtable';
}

export function hashLen(sv: StoredValue): number {
  return sv.vt === VT_HASH_LISTPACK ? lpCount(sv.blob) / 2 : largeOf(sv).count;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Index (in the flat f,v,… array) of field, or -1. */
function flatIndex(flat: readonly Uint8Array[], field: Uint8Array): number {
  for (let i = 0; i < flat.length; i += 2) if (same(flat[i]!, field)) return i;
  return -1;
}

/** The value of field, copied, or null. */
export function hashGet(sv: StoredValue, field: Uint8Array): Buffer | null {
  if (sv.vt === VT_HASH_LISTPACK) {
    const flat = lpDecode(sv.blob);
    const i = flatIndex(flat, field);
    return i < 0 ? null : Buffer.from(flat[i + 1]!);
  }
  const c = largeOf(sv);
  const ref = c.find(field);
  return ref === 0 ? null : Buffer.from(c.payload(ref));
}

export function hashExists(sv: StoredValue, field: Uint8Array): boolean {
  if (sv.vt === VT_HASH_LISTPACK) return flatIndex(lpDecode(sv.blob), field) >= 0;
  return largeOf(sv).find(field) !== 0;
}

/**
 * Visits every field/value pair: listpacks in stored (insertion) order, hashtables in table order.
 * Arguments may be views: copy what you keep, do not write to the keyspace inside, and do not look
 * up fields of the same hash inside (a lookup may step the table's rehash under the iteration).
 */
export function forEachHashEntry(sv: StoredValue, visit: (field: Uint8Array, value: Uint8Array) => void): void {
  if (sv.vt === VT_HASH_LISTPACK) {
    const flat = lpDecode(sv.blob);
    for (let i = 0; i < flat.length; i += 2) visit(flat[i]!, flat[i + 1]!);
    return;
  }
  const c = largeOf(sv);
  c.forEach((ref) => visit(c.field(ref), c.payload(ref)));
}

/** Every pair, copied, in iteration order (the element iterator for AOF rewrite, SORT, COPY). */
export function hashEntries(sv: StoredValue): Array<[Buffer, Buffer]> {
  const out: Array<[Buffer, Buffer]> = [];
  forEachHashEntry(sv, (f, v) => out.push([Buffer.from(f), Buffer.from(v)]));
  return out;
}

/**
 * One random pair, copied (the hash must not be empty). Listpacks: a uniform index; hashtables:
 * the collection's random element.
 */
export function hashRandomEntry(sv: StoredValue): [Buffer, Buffer] {
  if (sv.vt === VT_HASH_LISTPACK) {
    const flat = lpDecode(sv.blob);
    const i = 2 * Math.floor(Math.random() * (flat.length / 2));
    return [Buffer.from(flat[i]!), Buffer.from(flat[i + 1]!)];
  }
  const c = largeOf(sv);
  const ref = c.randomRef();
  return [Buffer.from(c.field(ref)), Buffer.from(c.payload(ref))];
}

// ================================================================================================
// Writes
// ================================================================================================

function fitsListpack(entries: number, pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, limits: HashLimits): boolean {
  if (entries > limits.maxListpackEntries) return false;
  for (const [f, v] of pairs) if (f.length > limits.maxListpackValue || v.length > limits.maxListpackValue) return false;
  return true;
}

function fillLarge(c: LargeCollection, pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): number {
  let created = 0;
  for (const [f, v] of pairs) {
    const ref = c.find(f);
    if (ref === 0) { c.insert(f, v); created++; } else c.setPayload(ref, v);
  }
  return created;
}

/**
 * HSET's core: sets each field to its value, in order (a field given twice ends with its last
 * value). sv is the key's current hash or null to create it. Returns how many fields are new.
 * Why the decide-then-write shape: Redis converts a listpack at the first oversized field/value
 * or when the count passes the limit; all of that only ever grows during one call, so the final
 * state tells whether a conversion happened, and the key is written once.
 */
export function hashSet(
  ks: Keyspace, db: number, key: Uint8Array, sv: StoredValue | null,
  pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, limits: HashLimits,
): number {
  if (sv !== null && sv.vt === VT_LARGE) return fillLarge(largeOf(sv), pairs);
  const flat: Uint8Array[] = sv === null ? [] : lpDecode(sv.blob);
  let created = 0;
  for (const [f, v] of pairs) {
    const i = flatIndex(flat, f);
    if (i < 0) { flat.push(f, v); created++; } else flat[i + 1] = v;
  }
  const expire = sv === null ? NO_EXPIRE : KEEP_TTL;
  const asPairs: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < flat.length; i += 2) asPairs.push([flat[i]!, flat[i + 1]!]);
  if (fitsListpack(asPairs.length, pairs, limits)) {
    ks.putBlob(db, key, VT_HASH_LISTPACK, lpEncode(flat), expire);
  } else {
    // lpDecode copied the old entries, and pairs come from the caller: safe across createLarge.
    fillLarge(ks.createLarge(db, key, 'hash', expire), asPairs);
  }
  return created;
}

/** HDEL's core: removes fields; deletes the key when the hash becomes empty. Returns how many went. */
export function hashDel(ks: Keyspace, db: number, key: Uint8Array, sv: StoredValue, fields: readonly Uint8Array[]): number {
  if (sv.vt === VT_HASH_LISTPACK) {
    const flat = lpDecode(sv.blob);
    let removed = 0;
    for (const f of fields) {
      const i = flatIndex(flat, f);
      if (i >= 0) { flat.splice(i, 2); removed++; }
    }
    if (removed === 0) return 0;
    if (flat.length === 0) ks.del(db, key);
    else ks.putBlob(db, key, VT_HASH_LISTPACK, lpEncode(flat), KEEP_TTL);
    return removed;
  }
  const c = largeOf(sv);
  let removed = 0;
  for (const f of fields) {
    const ref = c.find(f);
    if (ref !== 0) { c.remove(ref); removed++; }
  }
  if (removed > 0 && c.count === 0) ks.del(db, key);
  return removed;
}

/**
 * Creates (or replaces) key with the given pairs (distinct fields), choosing the encoding Redis's
 * RDB loader gives a hash: listpack iff at most hash-max-listpack-entries pairs and no field or
 * value longer than hash-max-listpack-value; the listpack keeps the given order. Used by the RDB
 * loader for every RDB hash encoding (zipmap, ziplist, listpack, hashtable). Nothing is stored
 * for an empty list. expireAt: NO_EXPIRE or an absolute time.
 */
export function loadHash(
  ks: Keyspace, db: number, key: Uint8Array, entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>,
  expireAt: number, limits: HashLimits = DEFAULT_HASH_LIMITS,
): void {
  if (entries.length === 0) return;
  if (fitsListpack(entries.length, entries, limits)) {
    const flat: Uint8Array[] = [];
    for (const [f, v] of entries) flat.push(f, v);
    ks.putBlob(db, key, VT_HASH_LISTPACK, lpEncode(flat), expireAt);
    return;
  }
  fillLarge(ks.createLarge(db, key, 'hash', expireAt), entries);
}
