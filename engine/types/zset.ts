/**
 * Sorted sets over the Keyspace API: Redis 7.0's two encodings and the operations the command
 * layer, the blocking pops, the RDB loader and the AOF rewrite need.
 *
 * Encodings (what OBJECT ENCODING calls them)
 *  - listpack (VT_ZSET_LISTPACK): one record holding Redis's listpack of member, score, member,
 *    score … ordered by (score, member bytes). The bytes are the RDB value (type 17) unchanged, so
 *    the score entries must be what Redis 7.0 writes (checked against redis-server 7.0.15's DUMP):
 *    a score that is an integer within [-2^62, 2^62] is a listpack integer (so -0 is stored as 0),
 *    any other score is the text of printf("%.17g") ("0.10000000000000001", "1e+300", "inf").
 *    Members that look like canonical int64s become listpack integers, as lpAppend does.
 *  - skiplist (VT_LARGE, kind 'zset'): one element record per member with an 8-byte LE double
 *    payload, plus the main-thread order index (ZIndex, zset-index.ts) in the collection's `aux`.
 *    The index is rebuilt on first use when `aux` is empty (COPY clones, RDB loads done elsewhere).
 *
 * Conversion rules (Redis 7.0): a listpack becomes a skiplist when adding a new member would make
 * it longer than zset-max-listpack-entries or the member is longer than zset-max-listpack-value.
 * It never converts back while it lives, except where Redis rebuilds the value (ZUNIONSTORE and
 * friends choose the encoding of their result; loading an RDB; ZRANGESTORE's destination).
 *
 * ZsetHandle is the one object commands use: it reads either form through the same methods (rank
 * based walks, score and lex bounds), applies writes, and `commit()` writes a changed listpack
 * back (or deletes the key when it became empty). Member views handed to callbacks are valid
 * only until the next keyspace write: copy what you keep.
 */
import { KEEP_TTL, NO_EXPIRE, VT_LARGE, VT_SET_INTSET, VT_ZSET_LISTPACK } from '../keyspace/api.js';
import type { Keyspace, LargeCollection, StoredValue } from '../keyspace/api.js';
import { ForklessError } from '../errors.js';
import { lpDecode, lpEncode } from './listpack.js';
import { ZIndex } from './zset-index.js';
import { formatDouble } from './double.js';

export interface ZsetLimits {
  /** zset-max-listpack-entries */
  readonly maxListpackEntries: number;
  /** zset-max-listpack-value */
  readonly maxListpackValue: number;
}

export const DEFAULT_ZSET_LIMITS: ZsetLimits = { maxListpackEntries: 128, maxListpackValue: 64 };

/** A stored sorted set could not be decoded (corrupt listpack, duplicate members on load). */
export class ZsetFormatError extends ForklessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EZSETFORMAT', message, options);
    this.name = 'ZsetFormatError';
  }
}

// ================================================================================================
// Score text (listpack score entries)
// ================================================================================================

const TWO_62 = 4611686018427387904;

/**
 * The bytes Redis 7.0 writes into a listpack for a score: the integer's decimal text when the
 * score is integral within [-2^62, 2^62] (lpEncode then stores it as a listpack integer), else
 * "%.17g". Checked against redis-server 7.0.15: 1e17 → integer, 2^62+1024 → "4.6116860184273889e+18".
 */
export function listpackScoreText(d: number): Buffer {
  if (Number.isInteger(d) && d >= -TWO_62 && d <= TWO_62) {
    return Buffer.from(Number.isSafeInteger(d) ? String(d === 0 ? 0 : d) : BigInt(d).toString(), 'latin1');
  }
  return Buffer.from(formatDouble(d), 'latin1');
}

/** A listpack score entry's text back to a double (Redis's zzlStrtod / integer entries). */
export function parseListpackScore(b: Uint8Array): number {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const v = Number(s);
  if (!Number.isNaN(v) && s.length > 0) return v;
  const t = s.trim().toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  const f = parseFloat(t);
  if (!Number.isNaN(f)) return f;
  throw new ZsetFormatError(`invalid listpack score ${JSON.stringify(s)}`);
}

// ================================================================================================
// Small helpers
// ================================================================================================

const SCORE_BUF = new Uint8Array(8);
const SCORE_VIEW = new DataView(SCORE_BUF.buffer);

function scoreBytes(d: number): Uint8Array {
  SCORE_VIEW.setFloat64(0, d, true);
  return SCORE_BUF;
}

function readScore(p: Uint8Array): number {
  SCORE_BUF.set(p.subarray(0, 8));
  return SCORE_VIEW.getFloat64(0, true);
}

/** (s1, m1) vs (s2, m2) in zset order. */
function cmpElem(s1: number, m1: Uint8Array, s2: number, m2: Uint8Array): number {
  if (s1 < s2) return -1;
  if (s1 > s2) return 1;
  return Buffer.compare(m1, m2);
}

/** True when the stored value is a sorted set (either encoding). */
export function isZset(v: StoredValue): boolean {
  return v.vt === VT_ZSET_LISTPACK || (v.vt === VT_LARGE && v.large !== null && v.large.kind === 'zset');
}

/** True when the stored value is a set (intset or hashtable). */
export function isSet(v: StoredValue): boolean {
  return v.vt === VT_SET_INTSET || (v.vt === VT_LARGE && v.large !== null && v.large.kind === 'set');
}

/** The order index of a large zset, rebuilt from the elements when the slot is empty. */
export function zsetIndex(coll: LargeCollection): ZIndex {
  const aux = coll.aux;
  if (aux instanceof ZIndex) return aux;
  // Rebuild: collect refs and scores, sort by score, then break score ties by member bytes.
  const refs: number[] = [];
  coll.forEach((ref) => refs.push(ref));
  const scores = new Float64Array(refs.length);
  const order: number[] = new Array<number>(refs.length);
  for (let i = 0; i < refs.length; i++) { scores[i] = readScore(coll.payload(refs[i]!)); order[i] = i; }
  order.sort((a, b) => {
    const d = scores[a]! - scores[b]!;
    if (d < 0) return -1;
    if (d > 0) return 1;
    if (scores[a] !== scores[b]) return scores[a]! < scores[b]! ? -1 : 1; // inf - inf
    return Buffer.compare(coll.field(refs[a]!), coll.field(refs[b]!));
  });
  const sRefs = new Uint32Array(refs.length);
  const sScores = new Float64Array(refs.length);
  for (let i = 0; i < order.length; i++) { sRefs[i] = refs[order[i]!]!; sScores[i] = scores[order[i]!]!; }
  const idx = ZIndex.build(coll, sRefs, sScores);
  coll.aux = idx;
  return idx;
}

/** JS-heap bytes of a large zset's order index (0 when not built): for used_memory accounting. */
export function zsetAuxBytes(coll: LargeCollection): number {
  return coll.aux instanceof ZIndex ? coll.aux.memoryBytes() : 0;
}

// ================================================================================================
// Ranges
// ================================================================================================

/** A score interval as ZRANGEBYSCORE takes it ("(" makes a bound exclusive). */
export interface ScoreRange { min: number; max: number; minex: boolean; maxex: boolean }

/** A lex bound: '-' (below everything), '+' (above everything), or a member, inclusive or not. */
export type LexBound = { kind: 'min' } | { kind: 'max' } | { kind: 'val'; value: Buffer; ex: boolean };
export interface LexRange { min: LexBound; max: LexBound }

/** Redis's zslIsInRange emptiness test. */
export function scoreRangeEmpty(r: ScoreRange): boolean {
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}

export function scoreGteMin(s: number, r: ScoreRange): boolean { return r.minex ? s > r.min : s >= r.min; }
export function scoreLteMax(s: number, r: ScoreRange): boolean { return r.maxex ? s < r.max : s <= r.max; }

/** member vs bound, with '-' below and '+' above every member. */
function cmpLex(m: Uint8Array, b: LexBound): number {
  if (b.kind === 'min') return 1;
  if (b.kind === 'max') return -1;
  return Buffer.compare(m, b.value);
}

function cmpBounds(a: LexBound, b: LexBound): number {
  if (a.kind === b.kind && a.kind !== 'val') return 0;
  if (a.kind === 'min' || b.kind === 'max') return -1;
  if (a.kind === 'max' || b.kind === 'min') return 1;
  return Buffer.compare(a.value, (b as { value: Buffer }).value);
}

function boundEx(b: LexBound): boolean { return b.kind === 'val' ? b.ex : true; }

export function lexRangeEmpty(r: LexRange): boolean {
  const c = cmpBounds(r.min, r.max);
  return c > 0 || (c === 0 && (boundEx(r.min) || boundEx(r.max)));
}

export function lexGteMin(m: Uint8Array, r: LexRange): boolean {
  const c = cmpLex(m, r.min);
  return boundEx(r.min) ? c > 0 : c >= 0;
}

export function lexLteMax(m: Uint8Array, r: LexRange): boolean {
  const c = cmpLex(m, r.max);
  return boundEx(r.max) ? c < 0 : c <= 0;
}

// ================================================================================================
// The handle
// ================================================================================================

export type ZVisit = (member: Uint8Array, score: number) => boolean;

/**
 * One sorted set, open for reading and writing. For a missing key (value null) it starts as an
 * empty listpack that `commit()` creates, or directly as a skiplist when the limits say the first
 * added member already needs one (zset-max-listpack-entries 0, a long member).
 */
export class ZsetHandle {
  // Listpack form, decoded: parallel arrays sorted by (score, member); raw = stored score text
  // (kept so unchanged entries are written back byte for byte), null when changed.
  private members: Buffer[] | null = null;
  private scores: number[] | null = null;
  private raw: Array<Buffer | null> | null = null;
  private changed = false;
  private existed: boolean;
  // Skiplist form.
  private coll: LargeCollection | null = null;
  private idx: ZIndex | null = null;

  constructor(
    private readonly ks: Keyspace, private readonly db: number, private readonly key: Uint8Array,
    value: StoredValue | null, private readonly limits: ZsetLimits = DEFAULT_ZSET_LIMITS,
  ) {
    this.existed = value !== null;
    if (value === null) {
      this.members = []; this.scores = []; this.raw = [];
    } else if (value.vt === VT_ZSET_LISTPACK) {
      const entries = lpDecode(value.blob);
      if (entries.length % 2 !== 0) throw new ZsetFormatError('zset listpack with an odd number of entries');
      const n = entries.length / 2;
      const members = new Array<Buffer>(n);
      const scores = new Array<number>(n);
      const raw = new Array<Buffer | null>(n);
      for (let i = 0; i < n; i++) {
        members[i] = entries[2 * i]!;
        raw[i] = entries[2 * i + 1]!;
        scores[i] = parseListpackScore(entries[2 * i + 1]!);
      }
      this.members = members; this.scores = scores; this.raw = raw;
    } else if (value.large !== null && value.large.kind === 'zset') {
      this.coll = value.large;
      this.idx = zsetIndex(value.large);
    } else {
      throw new ZsetFormatError('not a sorted set');
    }
  }

  get isLarge(): boolean { return this.coll !== null; }
  /** The large collection (skiplist form), for SCAN and random sampling; null for a listpack. */
  get collection(): LargeCollection | null { return this.coll; }

  get length(): number { return this.coll !== null ? this.coll.count : this.members!.length; }

  /** The member's score, or null. */
  score(member: Uint8Array): number | null {
    if (this.coll !== null) {
      const ref = this.coll.find(member);
      return ref === 0 ? null : readScore(this.coll.payload(ref));
    }
    const i = this.smallFind(member);
    return i < 0 ? null : this.scores![i]!;
  }

  private smallFind(member: Uint8Array): number {
    const ms = this.members!;
    for (let i = 0; i < ms.length; i++) if (Buffer.compare(ms[i]!, member) === 0) return i;
    return -1;
  }

  /** First index whose element is >= (score, member) in the listpack arrays. */
  private smallLowerBound(score: number, member: Uint8Array): number {
    const sc = this.scores!;
    const ms = this.members!;
    let lo = 0;
    let hi = sc.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmpElem(sc[mid]!, ms[mid]!, score, member) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** 0-based rank (from the top when reverse), or -1 when absent. */
  rank(member: Uint8Array, reverse: boolean): number {
    let r: number;
    if (this.coll !== null) {
      const ref = this.coll.find(member);
      if (ref === 0) return -1;
      r = this.idx!.rank(readScore(this.coll.payload(ref)), member);
    } else {
      r = this.smallFind(member);
    }
    if (r < 0) return -1;
    return reverse ? this.length - 1 - r : r;
  }

  /** Rank of the first element satisfying a monotone predicate (length when none). */
  private firstRank(pred: (score: number, member: Uint8Array) => boolean): number {
    if (this.coll !== null) {
      const coll = this.coll;
      return this.idx!.firstRank((s, ref) => pred(s, coll.field(ref)));
    }
    const sc = this.scores!;
    const ms = this.members!;
    let lo = 0;
    let hi = sc.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (!pred(sc[mid]!, ms[mid]!)) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** First rank with score >= min (> min when ex). */
  firstRankAtLeast(min: number, ex: boolean): number {
    return ex ? this.firstRank((s) => s > min) : this.firstRank((s) => s >= min);
  }

  /** First rank with score > max (>= max when ex): the end of a range whose max is `max`. */
  firstRankAbove(max: number, ex: boolean): number {
    return ex ? this.firstRank((s) => s >= max) : this.firstRank((s) => s > max);
  }

  /** First rank whose member is >= the lex range's min bound (Redis assumes equal scores). */
  firstRankLexGteMin(r: LexRange): number {
    return this.firstRank((_s, m) => lexGteMin(m, r));
  }

  /** First rank whose member is beyond the lex range's max bound. */
  firstRankLexAboveMax(r: LexRange): number {
    return this.firstRank((_s, m) => !lexLteMax(m, r));
  }

  /**
   * Visits elements in zset order from `rank` (forward) or down from it (reverse) while `visit`
   * returns true. Do not write during the walk.
   */
  walk(rank: number, reverse: boolean, visit: ZVisit): void {
    if (rank < 0 || rank >= this.length) return;
    if (this.coll !== null) {
      const coll = this.coll;
      this.idx!.walk(rank, reverse, (ref, s) => visit(coll.field(ref), s));
      return;
    }
    const sc = this.scores!;
    const ms = this.members!;
    if (!reverse) { for (let i = rank; i < ms.length; i++) if (!visit(ms[i]!, sc[i]!)) return; }
    else { for (let i = rank; i >= 0; i--) if (!visit(ms[i]!, sc[i]!)) return; }
  }

  /** Copies of the elements with ranks [start, end] (inclusive, forward order). */
  slice(start: number, end: number): Array<[Buffer, number]> {
    const out: Array<[Buffer, number]> = [];
    if (end < start) return out;
    let left = end - start + 1;
    this.walk(start, false, (m, s) => { out.push([Buffer.from(m), s]); return --left > 0; });
    return out;
  }

  /** Member and stored score text of every element, as ZSCAN shows a listpack (listpack form only). */
  listpackPairs(): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    const ms = this.members!;
    for (let i = 0; i < ms.length; i++) out.push([ms[i]!, this.raw![i] ?? listpackScoreText(this.scores![i]!)]);
    return out;
  }

  /** A random element (ZRANDMEMBER); null when empty. */
  random(): [Buffer, number] | null {
    if (this.length === 0) return null;
    if (this.coll !== null) {
      const ref = this.coll.randomRef();
      return [Buffer.from(this.coll.field(ref)), readScore(this.coll.payload(ref))];
    }
    const i = Math.floor(Math.random() * this.members!.length);
    return [this.members![i]!, this.scores![i]!];
  }

  // -- writes -------------------------------------------------------------------------------------

  /** Adds a member that is not present (caller checked), converting to a skiplist when Redis would. */
  add(member: Uint8Array, score: number): void {
    if (this.coll === null) {
      if (this.members!.length + 1 > this.limits.maxListpackEntries || member.length > this.limits.maxListpackValue) {
        this.toLarge();
      } else {
        // A listpack stores -0 as the integer 0: keep the decoded arrays equal to the bytes, or a
        // conversion later in the same command would carry -0 into the skiplist (Redis has 0).
        if (score === 0) score = 0;
        const i = this.smallLowerBound(score, member);
        this.members!.splice(i, 0, Buffer.from(member));
        this.scores!.splice(i, 0, score);
        this.raw!.splice(i, 0, null);
        this.changed = true;
        return;
      }
    }
    const coll = this.coll!;
    const m = Buffer.from(member);
    const ref = coll.insert(m, scoreBytes(score));
    this.idx!.insert(score, ref, m);
  }

  /** Changes the score of a present member (no-op when equal). */
  update(member: Uint8Array, newScore: number): void {
    if (this.coll !== null) {
      const coll = this.coll;
      const ref = coll.find(member);
      if (ref === 0) return;
      const old = readScore(coll.payload(ref));
      if (old === newScore) return;
      const m = Buffer.from(member);
      this.idx!.remove(old, ref, m);
      const r2 = coll.setPayload(ref, scoreBytes(newScore));
      this.idx!.insert(newScore, r2, m);
      return;
    }
    const i = this.smallFind(member);
    if (i < 0 || this.scores![i] === newScore) return;
    if (newScore === 0) newScore = 0; // -0 → 0, as the listpack stores it (see add)
    const m = this.members![i]!;
    this.members!.splice(i, 1);
    this.scores!.splice(i, 1);
    this.raw!.splice(i, 1);
    const j = this.smallLowerBound(newScore, m);
    this.members!.splice(j, 0, m);
    this.scores!.splice(j, 0, newScore);
    this.raw!.splice(j, 0, null);
    this.changed = true;
  }

  /** Removes a member; false when it was not there. */
  remove(member: Uint8Array): boolean {
    if (this.coll !== null) {
      const coll = this.coll;
      const ref = coll.find(member);
      if (ref === 0) return false;
      const m = Buffer.from(member);
      this.idx!.remove(readScore(coll.payload(ref)), ref, m);
      coll.remove(ref);
      return true;
    }
    const i = this.smallFind(member);
    if (i < 0) return false;
    this.members!.splice(i, 1);
    this.scores!.splice(i, 1);
    this.raw!.splice(i, 1);
    this.changed = true;
    return true;
  }

  /** Removes the elements with ranks [start, end] (inclusive); returns how many. */
  removeRanks(start: number, end: number): number {
    if (end < start) return 0;
    if (this.coll === null) {
      const n = end - start + 1;
      this.members!.splice(start, n);
      this.scores!.splice(start, n);
      this.raw!.splice(start, n);
      this.changed = true;
      return n;
    }
    const victims = this.slice(start, end);
    for (const [m] of victims) this.remove(m);
    return victims.length;
  }

  /** Pops up to `count` elements from the low (min) or high end, in pop order. */
  pop(where: 'min' | 'max', count: number): Array<[Buffer, number]> {
    const n = Math.min(count, this.length);
    if (n <= 0) return [];
    const out = where === 'min' ? this.slice(0, n - 1) : this.slice(this.length - n, this.length - 1).reverse();
    if (where === 'min') this.removeRanks(0, n - 1); else this.removeRanks(this.length - n, this.length - 1);
    return out;
  }

  private toLarge(): void {
    const coll = this.ks.createLarge(this.db, this.key, 'zset', KEEP_TTL);
    const ms = this.members!;
    const sc = this.scores!;
    const refs = new Uint32Array(ms.length);
    for (let i = 0; i < ms.length; i++) refs[i] = coll.insert(ms[i]!, scoreBytes(sc[i]!));
    this.idx = ZIndex.build(coll, refs, sc);
    coll.aux = this.idx;
    this.coll = coll;
    this.members = null; this.scores = null; this.raw = null;
    this.existed = true;
  }

  /**
   * Makes the stored value match: writes a changed listpack back (keeping the TTL), deletes the
   * key when the set became empty. Returns true when the key was deleted.
   */
  commit(): boolean {
    if (this.length === 0) {
      if (this.existed || this.coll !== null) { this.ks.del(this.db, this.key); return true; }
      return false;
    }
    if (this.coll === null && this.changed) {
      this.ks.putBlob(this.db, this.key, VT_ZSET_LISTPACK, this.encodeSmall(), KEEP_TTL);
      this.changed = false;
      this.existed = true;
    }
    return false;
  }

  private encodeSmall(): Buffer {
    const ms = this.members!;
    const entries: Uint8Array[] = new Array<Uint8Array>(ms.length * 2);
    for (let i = 0; i < ms.length; i++) {
      entries[2 * i] = ms[i]!;
      let r = this.raw![i];
      if (r === null || r === undefined) { r = listpackScoreText(this.scores![i]!); this.raw![i] = r; }
      entries[2 * i + 1] = r;
    }
    return lpEncode(entries);
  }
}

// ================================================================================================
// Building, loading, iterating
// ================================================================================================

/**
 * Stores `elements` (sorted or not, members distinct) under `key`, replacing whatever is there,
 * as a listpack when `large` is false, else as a skiplist. expireAt: NO_EXPIRE, KEEP_TTL or abs ms.
 * An empty element list deletes the key.
 */
export function storeZset(
  ks: Keyspace, db: number, key: Uint8Array, elements: Array<[Uint8Array, number]>, large: boolean, expireAt: number,
): void {
  if (elements.length === 0) { ks.del(db, key); return; }
  elements.sort((a, b) => cmpElem(a[1], a[0], b[1], b[0]));
  if (!large) {
    const entries: Uint8Array[] = [];
    for (const [m, s] of elements) entries.push(m, listpackScoreText(s));
    ks.putBlob(db, key, VT_ZSET_LISTPACK, lpEncode(entries), expireAt);
    return;
  }
  const stable = elements.map(([m, s]) => [Buffer.from(m), s] as [Buffer, number]);
  const coll = ks.createLarge(db, key, 'zset', expireAt);
  const refs = new Uint32Array(stable.length);
  const scores = new Float64Array(stable.length);
  for (let i = 0; i < stable.length; i++) {
    refs[i] = coll.insert(stable[i]![0], scoreBytes(stable[i]![1]));
    scores[i] = stable[i]![1];
  }
  coll.aux = ZIndex.build(coll, refs, scores);
}

/** The encoding Redis gives a rebuilt zset (ZUNIONSTORE …, RDB load of a skiplist): large or not. */
export function needsSkiplist(count: number, maxMemberLen: number, limits: ZsetLimits): boolean {
  return count > limits.maxListpackEntries || maxMemberLen > limits.maxListpackValue;
}

/**
 * The RDB loader's builder: stores a decoded sorted set choosing the encoding as Redis's loader
 * does (a skiplist-encoded one becomes a listpack when small enough; `fromListpack` = the RDB had
 * a listpack/ziplist, which Redis keeps unless it has more than zset-max-listpack-entries).
 * Throws ZsetFormatError on duplicate members or NaN scores (Redis refuses such files).
 */
export function loadZset(
  ks: Keyspace, db: number, key: Uint8Array, elements: ReadonlyArray<readonly [Uint8Array, number]>,
  expireAt: number, limits: ZsetLimits = DEFAULT_ZSET_LIMITS, fromListpack = false,
): void {
  const seen = new Set<string>();
  let maxLen = 0;
  const list: Array<[Uint8Array, number]> = [];
  for (const [m, s] of elements) {
    if (Number.isNaN(s)) throw new ZsetFormatError('zset score is NaN');
    const k = Buffer.from(m.buffer, m.byteOffset, m.byteLength).toString('latin1');
    if (seen.has(k)) throw new ZsetFormatError('duplicate zset member');
    seen.add(k);
    if (m.length > maxLen) maxLen = m.length;
    list.push([m, s]);
  }
  if (list.length === 0) throw new ZsetFormatError('empty sorted set');
  const large = fromListpack ? list.length > limits.maxListpackEntries : needsSkiplist(list.length, maxLen, limits);
  storeZset(ks, db, key, list, large, expireAt === KEEP_TTL ? NO_EXPIRE : expireAt);
}

/**
 * The RDB loader's path for a listpack-encoded zset (RDB type 17): the blob is kept byte for byte
 * when it has at most zset-max-listpack-entries members (as Redis keeps it), else converted.
 * The blob is checked: even entry count, scores parse, order and uniqueness hold.
 */
export function loadZsetListpack(
  ks: Keyspace, db: number, key: Uint8Array, blob: Uint8Array, expireAt: number, limits: ZsetLimits = DEFAULT_ZSET_LIMITS,
): void {
  let entries: Buffer[];
  try { entries = lpDecode(blob); } catch (e) { throw new ZsetFormatError('corrupt zset listpack', { cause: e }); }
  if (entries.length === 0 || entries.length % 2 !== 0) throw new ZsetFormatError('zset listpack with a bad entry count');
  const elements: Array<[Uint8Array, number]> = [];
  for (let i = 0; i < entries.length; i += 2) elements.push([entries[i]!, parseListpackScore(entries[i + 1]!)]);
  if (elements.length <= limits.maxListpackEntries) {
    const seen = new Set<string>();
    for (let i = 0; i < elements.length; i++) {
      const [m, s] = elements[i]!;
      if (Number.isNaN(s)) throw new ZsetFormatError('zset score is NaN');
      const k = Buffer.from(m).toString('latin1');
      if (seen.has(k)) throw new ZsetFormatError('duplicate zset member');
      seen.add(k);
      if (i > 0 && cmpElem(elements[i - 1]![1], elements[i - 1]![0], s, m) >= 0) throw new ZsetFormatError('zset listpack out of order');
    }
    ks.putBlob(db, key, VT_ZSET_LISTPACK, blob, expireAt === KEEP_TTL ? NO_EXPIRE : expireAt);
    return;
  }
  loadZset(ks, db, key, elements, expireAt, limits, true);
}

/**
 * Visits a stored sorted set's elements in order (AOF rewrite, SORT, COPY). Member views of a
 * large set are valid only inside the callback; return false to stop.
 */
export function forEachZsetEntry(v: StoredValue, visit: ZVisit): void {
  if (v.vt === VT_ZSET_LISTPACK) {
    const entries = lpDecode(v.blob);
    for (let i = 0; i + 1 < entries.length; i += 2) if (!visit(entries[i]!, parseListpackScore(entries[i + 1]!))) return;
    return;
  }
  if (v.large === null || v.large.kind !== 'zset') throw new ZsetFormatError('not a sorted set');
  const coll = v.large;
  zsetIndex(coll).walk(0, false, (ref, s) => visit(coll.field(ref), s));
}

/** The elements of a stored sorted set in order, copied. */
export function zsetEntries(v: StoredValue): Array<[Buffer, number]> {
  const out: Array<[Buffer, number]> = [];
  forEachZsetEntry(v, (m, s) => { out.push([Buffer.from(m), s]); return true; });
  return out;
}

/** Number of members of a stored sorted set. */
export function zsetLength(v: StoredValue): number {
  if (v.vt === VT_ZSET_LISTPACK) return (v.blob[4]! | (v.blob[5]! << 8)) === 0xffff ? lpDecode(v.blob).length / 2 : (v.blob[4]! | (v.blob[5]! << 8)) / 2;
  return v.large!.count;
}

/**
 * The pop primitive (ZPOPMIN/ZPOPMAX/ZMPOP and the blocking pops): removes up to `count` elements
 * from the low or high end of the zset at `key` and returns them in pop order, deleting the key
 * when it empties. Returns null when the key is missing; the caller checks the type first (throws
 * ZsetFormatError for a non-zset value).
 */
export function zsetPop(
  ks: Keyspace, db: number, key: Uint8Array, where: 'min' | 'max', count: number, limits: ZsetLimits = DEFAULT_ZSET_LIMITS,
): Array<[Buffer, number]> | null {
  const v = ks.lookupValue(db, key);
  if (v === null) return null;
  const h = new ZsetHandle(ks, db, key, v, limits);
  const out = h.pop(where, count);
  h.commit();
  return out;
}

// ================================================================================================
// Sets as inputs of ZUNION/ZINTER/ZDIFF
// ================================================================================================

/** The members of a stored set (intset or hashtable), copied. */
export function setMembers(v: StoredValue): Buffer[] {
  if (v.vt === VT_SET_INTSET) {
    const b = v.blob;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const enc = dv.getUint32(0, true);
    const n = dv.getUint32(4, true);
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const off = 8 + i * enc;
      const x = enc === 2 ? dv.getInt16(off, true) : enc === 4 ? dv.getInt32(off, true) : dv.getBigInt64(off, true);
      out.push(Buffer.from(String(x), 'latin1'));
    }
    return out;
  }
  const coll = v.large!;
  const out: Buffer[] = [];
  coll.forEach((ref) => out.push(Buffer.from(coll.field(ref))));
  return out;
}
