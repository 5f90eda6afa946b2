/**
 * SORT and SORT_RO (Redis 7.0's sort.c behaviour, written from its documented and observed rules).
 *
 *   SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC|DESC] [ALPHA]
 *        [STORE destination]
 *
 * Rules reproduced, because clients and tests see them:
 *  - Options are parsed left to right; anything unknown (STORE included, for SORT_RO) is
 *    "syntax error"; a bad LIMIT number is "value is not an integer or out of range". Option errors
 *    come before the key's type check; a missing key sorts as an empty list.
 *  - BY with a pattern that has no '*' means "don't sort" (and stays so even if a later BY has
 *    one). Not sorting keeps a list's or sorted set's own order (DESC reverses it, LIMIT slices
 *    it) and a set's iteration order (DESC ignored); a set with STORE is sorted ALPHA anyway so
 *    the stored result is deterministic.
 *  - Numeric sorting reads each weight as C's strtod would over the whole C string: a missing
 *    weight key is 0, an empty string is 0, leading whitespace is fine, trailing bytes, NaN and
 *    out-of-range values make the whole command fail with "One or more scores can't be converted
 *    into double" (after the options and type checks, and without storing anything). Equal scores
 *    are ordered by the elements' bytes.
 *  - ALPHA compares bytes: the elements (up to their first NUL, like strcoll in the C locale, or
 *    the whole bytes with STORE), or the BY values, where a missing one sorts first.
 *  - Patterns: "#" is the element; otherwise the first '*' is replaced by the element and the key
 *    looked up must hold a string, or, with "->field" after the '*', a hash with that field;
 *    anything else (no '*', missing key, other type, missing field) is nil (an empty string when
 *    stored).
 *  - STORE writes a list (no TTL) replacing the destination, or deletes the destination when the
 *    result is empty; it replies with the number of stored elements and propagates as received.
 *  - Sorting a listpack-encoded sorted set converts it to a skiplist first (Redis does this
 *    destructively, even for SORT_RO; OBJECT ENCODING shows it).
 *
 * Ties that Redis leaves to its sort implementation (ALPHA BY with equal values, set iteration
 * order of hashtable sets) are resolved here by a stable sort over our own iteration order.
 */
import { Errors, ReplyError } from '../errors.js';
import {
  KEEP_TTL, NO_EXPIRE, VT_HASH_LISTPACK, VT_LARGE, VT_LIST_LISTPACK, VT_SET_INTSET, VT_STRING, VT_ZSET_LISTPACK,
  type Keyspace, type StoredValue,
} from '../keyspace/api.js';
import { hashGet } from '../types/hash.js';
import { forEachSetMember } from '../types/set.js';
import { storeZset, zsetEntries } from '../types/zset.js';
import { DEFAULT_LIST_FILL, listElements, loadList } from '../types/list.js';
import { configInt } from './hashes.js';
import { argInt64, isOpt, parseDouble } from './args.js';
import type { EngineLike } from './engine-like.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';

type Ctx = CommandContext<EngineLike>;

const SCORE_ERROR = 'ERR One or more scores can\'t be converted into double';
const EMPTY = Buffer.alloc(0);
/** DBL_MIN: strtod reports ERANGE for results below it (underflow), which SORT counts as an error. */
const DBL_MIN = 2.2250738585072014e-308;

type Kind = 'string' | 'hash' | 'set' | 'zset' | 'list';

function kindOf(sv: StoredValue): Kind {
  switch (sv.vt) {
    case VT_STRING: return 'string';
    case VT_HASH_LISTPACK: return 'hash';
    case VT_SET_INTSET: return 'set';
    case VT_ZSET_LISTPACK: return 'zset';
    case VT_LIST_LISTPACK: return 'list';
    case VT_LARGE: return sv.large!.kind;
    default: return 'string';
  }
}

/** The bytes before the first NUL: how C string functions see an argument. */
function cBytes(b: Buffer): Buffer {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

// ================================================================================================
// Patterns
// ================================================================================================

/** A BY/GET pattern split once: "#", or prefix * postfix [-> field], or one that never matches. */
type Pattern =
  | { readonly kind: 'self' }
  | { readonly kind: 'none' }
  | { readonly kind: 'key'; readonly prefix: Buffer; readonly postfix: Buffer; readonly field: Buffer | null };

/**
 * Why this shape: Redis finds '*' and "->" with C string functions (so a NUL ends the search) but
 * cuts the key and field out of the whole pattern by length. "->" counts only after the '*' and
 * with at least one byte (not NUL) after it; the field is then everything after "->".
 */
function parsePattern(p: Buffer): Pattern {
  const c = cBytes(p);
  if (c.length === 1 && c[0] === 0x23) return { kind: 'self' };
  const star = c.indexOf(0x2a);
  if (star < 0) return { kind: 'none' };
  const arrow = c.indexOf('->', star + 1, 'latin1');
  if (arrow >= 0 && arrow + 2 < c.length) {
    return { kind: 'key', prefix: p.subarray(0, star), postfix: p.subarray(star + 1, arrow), field: p.subarray(arrow + 2) };
  }
  return { kind: 'key', prefix: p.subarray(0, star), postfix: p.subarray(star + 1), field: null };
}

/** lookupKeyByPattern: the value the pattern names for `elem`, copied, or null. */
function lookupByPattern(ks: Keyspace, db: number, pat: Pattern, elem: Buffer): Buffer | null {
  if (pat.kind === 'self') return elem;
  if (pat.kind === 'none') return null;
  const key = Buffer.concat([pat.prefix, elem, pat.postfix]);
  const sv = ks.lookupValue(db, key);
  if (sv === null) return null;
  const kind = kindOf(sv);
  if (pat.field !== null) return kind === 'hash' ? hashGet(sv, pat.field) : null;
  return kind === 'string' ? Buffer.from(sv.blob) : null;
}

// ================================================================================================
// Scores and comparisons
// ================================================================================================

const isCSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * strtod over a C string with SORT's acceptance test (the whole string consumed, no ERANGE, not
 * NaN). Returns null when that test fails. An empty string converts nothing and ends at its NUL,
 * so it is accepted as 0; whitespace alone is not (strtod then reports no conversion at all).
 */
export function sortWeight(b: Buffer): number | null {
  const c = cBytes(b);
  if (c.length === 0) return 0;
  let i = 0;
  while (i < c.length && isCSpace(c[i]!)) i++;
  if (i === c.length) return null;
  const v = parseDouble(c.subarray(i));
  if (v === null) return null;
  if (v !== 0 && Math.abs(v) < DBL_MIN) return null; // underflow: ERANGE
  return v;
}

/** strcmp over C strings (unsigned bytes, stopping at NUL): strcoll in the C locale. */
function compareC(a: Buffer, b: Buffer): number {
  return Buffer.compare(cBytes(a), cBytes(b));
}

interface Item {
  readonly elem: Buffer;
  score: number;
  /** ALPHA BY: the BY value, null when missing. */
  by: Buffer | null;
}

// ================================================================================================
// The command
// ================================================================================================

interface SortOptions {
  desc: boolean;
  alpha: boolean;
  limitStart: number;
  limitCount: number;
  dontsort: boolean;
  by: Buffer | null;
  gets: Buffer[];
  store: Buffer | null;
}

function parseOptions(argv: Buffer[], readonly: boolean): SortOptions {
  const o: SortOptions = { desc: false, alpha: false, limitStart: 0, limitCount: -1, dontsort: false, by: null, gets: [], store: null };
  for (let j = 2; j < argv.length; j++) {
    const a = argv[j]!;
    const left = argv.length - j - 1;
    if (isOpt(a, 'asc')) {
      o.desc = false;
    } else if (isOpt(a, 'desc')) {
      o.desc = true;
    } else if (isOpt(a, 'alpha')) {
      o.alpha = true;
    } else if (isOpt(a, 'limit') && left >= 2) {
      o.limitStart = clampLong(argInt64(argv[j + 1]!));
      o.limitCount = clampLong(argInt64(argv[j + 2]!));
      j += 2;
    } else if (!readonly && isOpt(a, 'store') && left >= 1) {
      o.store = argv[++j]!;
    } else if (isOpt(a, 'by') && left >= 1) {
      o.by = argv[++j]!;
      if (cBytes(o.by).indexOf(0x2a) < 0) o.dontsort = true;
    } else if (isOpt(a, 'get') && left >= 1) {
      o.gets.push(argv[++j]!);
    } else {
      throw Errors.syntax();
    }
  }
  return o;
}

/** LIMIT values only matter up to the collection size; keep them as JS numbers. */
function clampLong(v: number | bigint): number {
  if (typeof v === 'number') return v;
  return v < 0n ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
}

/** The elements of a list (in order) or a set (iteration order), copied. */
function elementsOf(sv: StoredValue, kind: Kind): Buffer[] {
  const out: Buffer[] = [];
  if (kind === 'list') return listElements(sv);
  forEachSetMember(sv, (m) => { out.push(Buffer.from(m)); });
  return out;
}

/**
 * sortCommandGeneric. Why in this order: every check that can fail (options, type, weights)
 * happens before the only write that changes contents (STORE), so a failed SORT changes nothing
 * but the encoding of a listpack sorted set, exactly as in Redis.
 */
function sortGeneric(ctx: Ctx, argv: Buffer[], readonly: boolean): Reply {
  const o = parseOptions(argv, readonly);
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const sv = ks.lookupValue(db, argv[1]!);
  let kind: Kind = 'list';
  if (sv !== null) {
    kind = kindOf(sv);
    if (kind !== 'set' && kind !== 'list' && kind !== 'zset') throw Errors.wrongType();
  }
  let { dontsort, alpha } = o;
  let by = o.by;
  if (dontsort && kind === 'set' && o.store !== null) {
    dontsort = false;
    alpha = true;
    by = null;
  }
  let elems: Buffer[] = [];
  if (sv !== null && kind === 'zset') {
    const entries = zsetEntries(sv);
    elems = entries.map((e) => e[0]);
    // Redis converts the sorted set to a skiplist before reading it, whatever happens next
    // (not a change of contents: only OBJECT ENCODING and MEMORY USAGE see it).
    if (sv.vt === VT_ZSET_LISTPACK) storeZset(ks, db, argv[1]!, entries, true, KEEP_TTL);
  } else if (sv !== null) {
    elems = elementsOf(sv, kind);
  }
  const n = elems.length;

  // LIMIT sanity as Redis computes it: [start, end] inclusive, possibly empty.
  let start = Math.min(Math.max(o.limitStart, 0), n);
  const count = Math.min(Math.max(o.limitCount, -1), n);
  let end = count < 0 ? n - 1 : start + count - 1;
  if (start >= n) {
    start = n - 1;
    end = n - 2;
  }
  if (end >= n) end = n - 1;

  let vector: Item[];
  if (dontsort && kind !== 'set') {
    // Native order (DESC = from the tail), sliced by LIMIT.
    const ordered = o.desc ? elems.reverse() : elems;
    vector = end >= start ? ordered.slice(start, end + 1).map((elem) => ({ elem, score: 0, by: null })) : [];
    end -= start;
    start = 0;
  } else {
    vector = elems.map((elem) => ({ elem, score: 0, by: null }));
  }

  if (!dontsort) {
    const byPat = by === null ? null : parsePattern(by);
    let bad = false;
    for (const it of vector) {
      const w = byPat === null ? it.elem : lookupByPattern(ks, db, byPat, it.elem);
      if (w === null) continue;
      if (alpha) {
        if (byPat !== null) it.by = w;
      } else {
        const s = sortWeight(w);
        if (s === null) bad = true;
        else it.score = s;
      }
    }
    if (bad) throw new ReplyError(SCORE_ERROR);
    const sign = o.desc ? -1 : 1;
    const storing = o.store !== null;
    let cmp: (a: Item, b: Item) => number;
    if (!alpha) {
      cmp = (a, b) => sign * (a.score > b.score ? 1 : a.score < b.score ? -1 : Buffer.compare(a.elem, b.elem));
    } else if (byPat !== null) {
      cmp = (a, b) => {
        if (a.by === null || b.by === null) return sign * (a.by === b.by ? 0 : a.by === null ? -1 : 1);
        return sign * (storing ? Buffer.compare(a.by, b.by) : compareC(a.by, b.by));
      };
    } else {
      cmp = (a, b) => sign * (storing ? Buffer.compare(a.elem, b.elem) : compareC(a.elem, b.elem));
    }
    vector.sort(cmp);
  }

  const getPats = o.gets.map(parsePattern);
  if (o.store === null) {
    const out: Reply[] = [];
    for (let j = start; j <= end; j++) {
      const it = vector[j]!;
      if (getPats.length === 0) out.push(it.elem);
      for (const p of getPats) out.push(lookupByPattern(ks, db, p, it.elem));
    }
    return out;
  }
  const result: Buffer[] = [];
  for (let j = start; j <= end; j++) {
    const it = vector[j]!;
    if (getPats.length === 0) result.push(it.elem);
    for (const p of getPats) result.push(lookupByPattern(ks, db, p, it.elem) ?? EMPTY);
  }
  if (result.length > 0) {
    loadList(ks, db, o.store, result, NO_EXPIRE, configInt(ctx.engine, 'list-max-listpack-size', DEFAULT_LIST_FILL));
    ctx.dirty(result.length);
  } else if (ks.del(db, o.store)) {
    ctx.dirty(1);
  }
  return result.length;
}

/**
 * sortGetKeys: the key positions of a SORT command line, as Redis's getkeys procedure finds them
 * (the sorted key, then the last STORE destination), skipping LIMIT's two arguments and BY's and
 * GET's one so a pattern that reads "store" is not taken for the option. For WATCH bookkeeping
 * and COMMAND GETKEYS of SORT, whose generic key-spec walk cannot find STORE's key (SORT_RO's
 * only key is argv[1]).
 */
export function sortGetKeys(argv: readonly Uint8Array[]): number[] {
  const keys = [1];
  let store = -1;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (isOpt(a, 'limit')) i += 2;
    else if (isOpt(a, 'get') || isOpt(a, 'by')) i += 1;
    else if (isOpt(a, 'store') && i + 1 < argv.length) store = i + 1; // the key is scanned as an option next, as Redis does
  }
  if (store > 0) keys.push(store);
  return keys;
}

const sortCommand: Handler<EngineLike> = (ctx, argv) => sortGeneric(ctx, argv, false);
const sortRoCommand: Handler<EngineLike> = (ctx, argv) => sortGeneric(ctx, argv, true);

function row(
  name: string, arity: number, flags: CommandFlag[], since: string, summary: string, handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey: 1, lastKey: 1, step: 1, group: 'generic', since, summary, handler };
}

export const sortCommands: readonly CommandSpec<EngineLike>[] = [
  row('sort', -2, ['write', 'denyoom'], '1.0.0', 'Sort the elements in a list, set or sorted set, optionally storing the result.', sortCommand),
  row('sort_ro', -2, ['readonly'], '7.0.0', 'Sort the elements in a list, set or sorted set (read-only variant).', sortRoCommand),
];
