/**
 * Sets over the keyspace API, with Redis 7.0's two encodings:
 *   intset     VT_SET_INTSET, the record holds Redis intset bytes (engine/types/intset.ts). Used while
 *              every member is an integer in canonical form (Redis's string2ll) and the set has at
 *              most set-max-intset-entries members.
 *   hashtable  a LargeCollection of kind 'set' (member = field, empty payload).
 * 7.0 has no listpack sets: a small set with one non-integer member is a hashtable. Conversion is
 * one-way while a key lives (removing members never brings the intset back); a set that is created
 * anew (SINTERSTORE & co., SPOP's rebuilt remainder, SMOVE's new destination, the RDB loader) is
 * built the way Redis builds it: an intset first, converted as soon as a member does not fit.
 *
 * Lifetimes: StoredValue views die at the next keyspace write. Functions that write take the key
 * and copy what they need first; readers hand out copies unless documented as views.
 */
import { Errors } from '../errors.js';
import {
  KEEP_TTL, NO_EXPIRE, VT_LARGE, VT_SET_INTSET, type Keyspace, type LargeCollection, type StoredValue,
} from '../keyspace/api.js';
import {
  intsetAddAll, intsetContains, intsetFrom, intsetGet, intsetLength, intsetRemoveAll, intsetValues,
} from './intset.js';
import { canonicalInt } from './listpack.js';

export interface SetLimits {
  /** set-max-intset-entries */
  readonly maxIntsetEntries: number;
}

/** Redis 7.0's defaults. */
export const DEFAULT_SET_LIMITS: SetLimits = { maxIntsetEntries: 512 };

const EMPTY = new Uint8Array(0);

/** The integer a member denotes when it may live in an intset (canonical int64 text), else null. */
export function memberInt(m: Uint8Array): bigint | null {
  return canonicalInt(m);
}

function intBytes(v: bigint): Buffer {
  return Buffer.from(v.toString(), 'latin1');
}

/** True when the stored value is a set (either encoding). */
export function isSet(sv: StoredValue): boolean {
  return sv.vt === VT_SET_INTSET || (sv.vt === VT_LARGE && sv.large !== null && sv.large.kind === 'set');
}

/** The set at key, null when missing; WRONGTYPE for a key of another type. */
export function lookupSet(ks: Keyspace, db: number, key: Uint8Array): StoredValue | null {
  const sv = ks.lookupValue(db, key);
  if (sv === null) return null;
  if (!isSet(sv)) throw Errors.wrongType();
  return sv;
}

function largeOf(sv: StoredValue): LargeCollection {
  // isSet() guarantees large is set for VT_LARGE.
  return sv.large as LargeCollection;
}

/** OBJECT ENCODING's name for a stored set. */
export function setEncoding(sv: StoredValue): 'intset' | 'hashtable' {
  return sv.vt === VT_SET_INTSET ? 'intset' : 'hashtable';
}

export function setCard(sv: StoredValue): number {
  return sv.vt === VT_SET_INTSET ? intsetLength(sv.blob) : largeOf(sv).count;
}

export function setIsMember(sv: StoredValue, m: Uint8Array): boolean {
  if (sv.vt === VT_SET_INTSET) {
    const v = memberInt(m);
    return v !== null && intsetContains(sv.blob, v);
  }
  return largeOf(sv).find(m) !== 0;
}

/**
 * Visits every member: intsets in ascending numeric order (as Redis iterates them), hashtables in
 * table order. Members handed to `visit` are views (hashtable) or fresh buffers (intset); do not
 * write to the keyspace inside, and do not probe the same set (setIsMember): a lookup may step the
 * table's incremental rehash under the iteration. Copy the members first (setMembers) for that.
 */
export function forEachSetMember(sv: StoredValue, visit: (m: Uint8Array) => void): void {
  if (sv.vt === VT_SET_INTSET) {
    const n = intsetLength(sv.blob);
    for (let i = 0; i < n; i++) visit(intBytes(intsetGet(sv.blob, i)));
    return;
  }
  const c = largeOf(sv);
  c.forEach((ref) => visit(c.field(ref)));
}

/** Every member, copied, in iteration order (the element iterator for AOF rewrite, SORT, COPY). */
export function setMembers(sv: StoredValue): Buffer[] {
  const out: Buffer[] = [];
  forEachSetMember(sv, (m) => out.push(Buffer.isBuffer(m) ? m : Buffer.from(m)));
  return out;
}

/** One uniformly-ish random member, copied (the set must not be empty). */
export function setRandomMember(sv: StoredValue): Buffer {
  if (sv.vt === VT_SET_INTSET) {
    const n = intsetLength(sv.blob);
    return intBytes(intsetGet(sv.blob, Math.floor(Math.random() * n)));
  }
  const c = largeOf(sv);
  return Buffer.from(c.field(c.randomRef()));
}

// ================================================================================================
// Writes
// ================================================================================================

/**
 * Creates (or replaces) key with a set of the given distinct members, choosing the encoding Redis
 * ends up with when it adds them one by one to a fresh intset: intset when all are integers and
 * there are at most maxIntsetEntries of them, else hashtable. `members` must be non-empty.
 * expireAt: NO_EXPIRE, KEEP_TTL or an absolute time.
 */
export function storeSet(
  ks: Keyspace, db: number, key: Uint8Array, members: readonly Uint8Array[], expireAt: number, limits: SetLimits,
): void {
  if (members.length <= limits.maxIntsetEntries) {
    const ints: bigint[] = [];
    for (const m of members) {
      const v = memberInt(m);
      if (v === null) break;
      ints.push(v);
    }
    if (ints.length === members.length) {
      ks.putBlob(db, key, VT_SET_INTSET, intsetFrom(ints), expireAt);
      return;
    }
  }
  const c = ks.createLarge(db, key, 'set', expireAt);
  for (const m of members) if (c.find(m) === 0) c.insert(m, EMPTY);
}

/**
 * The RDB loader's builder: stores a decoded set (any RDB set encoding) choosing the encoding as
 * Redis 7.0's loader does (intset iff all members are integers and they are at most
 * set-max-intset-entries). Members are expected distinct (the reader rejects duplicates);
 * duplicates are tolerated and collapse. An empty member list stores nothing.
 */
export function loadSet(
  ks: Keyspace, db: number, key: Uint8Array, members: readonly Uint8Array[], expireAt: number,
  limits: SetLimits = DEFAULT_SET_LIMITS,
): void {
  if (members.length === 0) return;
  storeSet(ks, db, key, members, expireAt, limits);
}

/**
 * SADD's core: adds members to the set at key (sv = its current value, or null to create it).
 * Returns how many were new. Why the shape: an intset is rewritten once with all new integers; the
 * first member that cannot live in an intset (not an integer, or the count passing the limit)
 * turns the whole set into a hashtable, as Redis's per-member conversion would by the end.
 */
export function setAdd(
  ks: Keyspace, db: number, key: Uint8Array, sv: StoredValue | null, members: readonly Uint8Array[], limits: SetLimits,
): number {
  if (sv === null) {
    const uniq = distinct(members);
    storeSet(ks, db, key, uniq, NO_EXPIRE, limits);
    return uniq.length;
  }
  if (sv.vt === VT_SET_INTSET) {
    const ints: bigint[] = [];
    let allInts = true;
    for (const m of members) {
      const v = memberInt(m);
      if (v === null) { allInts = false; break; }
      ints.push(v);
    }
    if (allInts) {
      const { blob, added } = intsetAddAll(sv.blob, ints);
      if (added === 0) return 0;
      if (intsetLength(blob) <= limits.maxIntsetEntries) {
        ks.putBlob(db, key, VT_SET_INTSET, blob, KEEP_TTL);
        return added;
      }
    }
    // Convert: copy the current members out before the key is replaced.
    const old = intsetValues(sv.blob);
    const c = ks.createLarge(db, key, 'set', KEEP_TTL);
    for (const v of old) c.insert(intBytes(v), EMPTY);
    let added = 0;
    for (const m of members) {
      if (c.find(m) === 0) { c.insert(m, EMPTY); added++; }
    }
    return added;
  }
  const c = largeOf(sv);
  let added = 0;
  for (const m of members) {
    if (c.find(m) === 0) { c.insert(m, EMPTY); added++; }
  }
  return added;
}

/** SREM's core: removes members; deletes the key when the set becomes empty. Returns how many went. */
export function setRemove(ks: Keyspace, db: number, key: Uint8Array, sv: StoredValue, members: readonly Uint8Array[]): number {
  if (sv.vt === VT_SET_INTSET) {
    const ints: bigint[] = [];
    for (const m of members) {
      const v = memberInt(m);
      if (v !== null) ints.push(v);
    }
    const { blob, removed } = intsetRemoveAll(sv.blob, ints);
    if (removed === 0) return 0;
    if (intsetLength(blob) === 0) ks.del(db, key);
    else ks.putBlob(db, key, VT_SET_INTSET, blob, KEEP_TTL);
    return removed;
  }
  const c = largeOf(sv);
  let removed = 0;
  for (const m of members) {
    const ref = c.find(m);
    if (ref !== 0) { c.remove(ref); removed++; }
  }
  if (removed > 0 && c.count === 0) ks.del(db, key);
  return removed;
}

/** Members without repeats, first occurrence order. */
export function distinct(members: readonly Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const m of members) {
    const k = Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('latin1');
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(m);
  }
  return out;
}
