/**
 * The sorted-set command family (Redis 7.0): ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK
 * ZCOUNT ZLEXCOUNT ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 * ZREVRANGE ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER
 * ZUNION ZUNIONSTORE ZINTER ZINTERSTORE ZINTERCARD ZDIFF ZDIFFSTORE ZSCAN. The blocking pops live
 * with the other blocking commands and use zsetPop from engine/types/zset.ts.
 *
 * Redis's order of checks is part of the contract (which error a bad command gets): each handler
 * parses in the order Redis 7.0 does — options, then numbers, then the key lookup and its type —
 * so that e.g. a bad score beats WRONGTYPE in ZADD but WRONGTYPE beats a bad option in ZUNION.
 *
 * Replies: scores are DoubleReply (RESP2 bulk "%.17g", RESP3 double). WITHSCORES pairs are flat in
 * RESP2 and [member, score] arrays in RESP3, as Redis 7.0 sends them (ZMPOP nests in both).
 * Propagation: verbatim, except ZMPOP which Redis rewrites as ZPOPMIN/ZPOPMAX key count.
 */
import { Errors, ReplyError } from '../errors.js';
import { NO_EXPIRE, type StoredValue } from '../keyspace/api.js';
import {
  DEFAULT_ZSET_LIMITS, ZsetHandle, isSet, isZset, lexGteMin, lexLteMax, lexRangeEmpty, needsSkiplist,
  scoreGteMin, scoreLteMax, scoreRangeEmpty, setMembers, storeZset,
  type LexBound, type LexRange, type ScoreRange, type ZsetLimits,
} from '../types/zset.js';
import { argDouble, argInt64, cString, isOpt, latin1, parseDouble, parseInt64 } from './args.js';
import { configInt, type EngineLike } from './engine-like.js';
import { parseScanCursor } from './generic.js';
import { globMatch, isMatchAll } from './glob.js';
import { DoubleReply, NilArray, type CommandContext, type CommandFlag, type CommandSpec, type Handler, type Reply } from './types.js';
import { formatDouble } from '../types/double.js';
import { MAX_RAND_REPLY } from './hashes.js';

type Ctx = CommandContext<EngineLike>;

const LONG_MAX = 9223372036854775807n;

// ================================================================================================
// Shared helpers
// ================================================================================================

/** zset-max-listpack-* from the engine's config (Redis's defaults without one). */
function limitsOf(engine: EngineLike): ZsetLimits {
  return {
    maxListpackEntries: configInt(engine, 'zset-max-listpack-entries', DEFAULT_ZSET_LIMITS.maxListpackEntries),
    maxListpackValue: configInt(engine, 'zset-max-listpack-value', DEFAULT_ZSET_LIMITS.maxListpackValue),
  };
}

/** The key's value when it is a zset, null when missing; WRONGTYPE otherwise. */
function lookupZset(ctx: Ctx, key: Uint8Array): StoredValue | null {
  const v = ctx.engine.keyspace.lookupValue(ctx.client.db, key);
  if (v !== null && !isZset(v)) throw Errors.wrongType();
  return v;
}

function open(ctx: Ctx, key: Buffer, v: StoredValue | null): ZsetHandle {
  return new ZsetHandle(ctx.engine.keyspace, ctx.client.db, key, v, limitsOf(ctx.engine));
}

/** int64 argument as a JS number (exact within ±2^53; beyond, only its magnitude matters here). */
function argLong(b: Uint8Array): number {
  return Number(argInt64(b));
}

/** Members with optional scores: flat in RESP2, [member, score] pairs in RESP3. */
function pairsReply(ctx: Ctx, pairs: ReadonlyArray<readonly [Buffer, number]>, withscores: boolean, nested = ctx.client.resp === 3): Reply {
  const out: Reply[] = [];
  for (const [m, s] of pairs) {
    if (!withscores) out.push(m);
    else if (nested) out.push([m, new DoubleReply(s)]);
    else out.push(m, new DoubleReply(s));
  }
  return out;
}

/**
 * One bound of a score range as zslParseRange reads it: "(" makes it exclusive, the rest goes to
 * strtod, which must consume everything up to the end (or a NUL byte). So unlike scores in ZADD,
 * leading whitespace and an empty text (= 0) are accepted, and overflow gives ±inf; NaN is refused.
 * Returns null when the bound is invalid.
 */
function parseScoreBound(arg: Uint8Array): { value: number; ex: boolean } | null {
  let s = cString(arg);
  let ex = false;
  if (s.charCodeAt(0) === 0x28) { ex = true; s = s.slice(1); }
  if (s.length === 0) return { value: 0, ex };
  const t = s.replace(/^[ \t\n\v\f\r]+/, '');
  if (t.length === 0) return null; // strtod consumed nothing: the end pointer is at the whitespace
  const v = strtodWhole(t);
  return v === null ? null : { value: v, ex };
}

const DEC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;

/** strtod over a whole text without leading space: a double (±inf on overflow) or null. */
function strtodWhole(t: string): number | null {
  if (DEC_RE.test(t)) return Number(t);
  const mi = INF_RE.exec(t);
  if (mi !== null) return mi[1] === '-' ? -Infinity : Infinity;
  if (/^[+-]?0[xX]/.test(t)) {
    const v = parseDouble(Buffer.from(t, 'latin1'));
    return v; // hex floats (overflowing ones are refused here; strtod would give ±inf)
  }
  return null;
}

function parseScoreRange(minArg: Uint8Array, maxArg: Uint8Array): ScoreRange {
  const a = parseScoreBound(minArg);
  const b = parseScoreBound(maxArg);
  if (a === null || b === null) throw new ReplyError('ERR min or max is not a float');
  return { min: a.value, minex: a.ex, max: b.value, maxex: b.ex };
}

/** zslParseLexRangeItem: "+", "-", "(member", "[member". */
function parseLexBound(arg: Buffer): LexBound | null {
  const c = arg[0];
  if (c === 0x2b || c === 0x2d) { // '+' '-' alone (a NUL right after counts as the end)
    if (arg.length > 1 && arg[1] !== 0) return null;
    return c === 0x2b ? { kind: 'max' } : { kind: 'min' };
  }
  if (c === 0x28) return { kind: 'val', value: arg.subarray(1), ex: true };
  if (c === 0x5b) return { kind: 'val', value: arg.subarray(1), ex: false };
  return null;
}

function parseLexRange(minArg: Buffer, maxArg: Buffer): LexRange {
  const min = parseLexBound(minArg);
  const max = parseLexBound(maxArg);
  if (min === null || max === null) throw new ReplyError('ERR min or max not valid string range item');
  return { min, max };
}

/** Ranks [a, b) of the elements inside a score range. */
function scoreSpan(h: ZsetHandle, r: ScoreRange): [number, number] {
  if (scoreRangeEmpty(r)) return [0, 0];
  const a = h.firstRankAtLeast(r.min, r.minex);
  const b = h.firstRankAbove(r.max, r.maxex);
  return b > a ? [a, b] : [0, 0];
}

/** Ranks [a, b) of the elements inside a lex range (Redis assumes all scores equal). */
function lexSpan(h: ZsetHandle, r: LexRange): [number, number] {
  if (lexRangeEmpty(r)) return [0, 0];
  const a = h.firstRankLexGteMin(r);
  const b = h.firstRankLexAboveMax(r);
  return b > a ? [a, b] : [0, 0];
}

/** Redis's rank-range sanitizing (ZRANGE, ZREMRANGEBYRANK): [start, end] or null when empty. */
function rankSpan(start: number, end: number, llen: number): [number, number] | null {
  if (start < 0) start = llen + start;
  if (end < 0) end = llen + end;
  if (start < 0) start = 0;
  if (start > end || start >= llen) return null;
  if (end >= llen) end = llen - 1;
  return [start, end];
}

// ================================================================================================
// ZADD / ZINCRBY
// ================================================================================================

/**
 * ZADD and ZINCRBY (which is ZADD with INCR forced). Order of checks, as Redis: options, pair
 * count, option conflicts, every score (so nothing changes on a bad one), then the key's type.
 * Each pair follows zsetAdd: NX skips existing members, XX skips new ones, GT/LT compare the new
 * score (after INCR) with the current one, and an unchanged score is processed but not "updated".
 */
function zaddGeneric(ctx: Ctx, argv: Buffer[], forceIncr: boolean): Reply {
  let nx = false; let xx = false; let gt = false; let lt = false; let ch = false; let incr = forceIncr;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const o = argv[idx]!;
    if (isOpt(o, 'nx')) nx = true;
    else if (isOpt(o, 'xx')) xx = true;
    else if (isOpt(o, 'ch')) ch = true;
    else if (isOpt(o, 'incr')) incr = true;
    else if (isOpt(o, 'gt')) gt = true;
    else if (isOpt(o, 'lt')) lt = true;
    else break;
  }
  const rest = argv.length - idx;
  if (rest % 2 !== 0 || rest === 0) throw Errors.syntax();
  const elements = rest / 2;
  if (nx && xx) throw new ReplyError('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) throw new ReplyError('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && elements > 1) throw new ReplyError('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let j = 0; j < elements; j++) scores.push(argDouble(argv[idx + 2 * j]!));

  const key = argv[1]!;
  const v = lookupZset(ctx, key);
  let added = 0; let updated = 0; let processed = 0;
  let last = 0;
  if (v !== null || !xx) {
    const h = open(ctx, key, v);
    for (let j = 0; j < elements; j++) {
      const member = argv[idx + 2 * j + 1]!;
      let score = scores[j]!;
      const cur = h.score(member);
      if (cur !== null) {
        if (nx) continue;
        if (incr) {
          score += cur;
          if (Number.isNaN(score)) { h.commit(); throw new ReplyError('ERR resulting score is not a number (NaN)'); }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) continue;
        processed++;
        last = score;
        if (score !== cur) { h.update(member, score); updated++; }
      } else if (!xx) {
        h.add(member, score);
        added++; processed++;
        last = score;
      }
    }
    h.commit();
  }
  if (added + updated > 0) ctx.dirty(added + updated);
  if (incr) return processed > 0 ? new DoubleReply(last) : null;
  return ch ? added + updated : added;
}

function zaddCommand(ctx: Ctx, argv: Buffer[]): Reply { return zaddGeneric(ctx, argv, false); }
function zincrbyCommand(ctx: Ctx, argv: Buffer[]): Reply { return zaddGeneric(ctx, argv, true); }

// ================================================================================================
// ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT
// ================================================================================================

function zremCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const key = argv[1]!;
  const v = lookupZset(ctx, key);
  if (v === null) return 0;
  const h = open(ctx, key, v);
  let deleted = 0;
  for (let j = 2; j < argv.length; j++) {
    if (h.remove(argv[j]!)) deleted++;
    if (h.length === 0) break;
  }
  h.commit();
  if (deleted > 0) ctx.dirty(deleted);
  return deleted;
}

function zcardCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const v = lookupZset(ctx, argv[1]!);
  return v === null ? 0 : open(ctx, argv[1]!, v).length;
}

function zscoreCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const v = lookupZset(ctx, argv[1]!);
  if (v === null) return null;
  const s = open(ctx, argv[1]!, v).score(argv[2]!);
  return s === null ? null : new DoubleReply(s);
}

function zmscoreCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const v = lookupZset(ctx, argv[1]!);
  const h = v === null ? null : open(ctx, argv[1]!, v);
  const out: Reply[] = [];
  for (let j = 2; j < argv.length; j++) {
    const s = h === null ? null : h.score(argv[j]!);
    out.push(s === null ? null : new DoubleReply(s));
  }
  return out;
}

function zrankGeneric(ctx: Ctx, argv: Buffer[], reverse: boolean): Reply {
  const v = lookupZset(ctx, argv[1]!);
  if (v === null) return null;
  const r = open(ctx, argv[1]!, v).rank(argv[2]!, reverse);
  return r < 0 ? null : r;
}

function zcountCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const range = parseScoreRange(argv[2]!, argv[3]!);
  const v = lookupZset(ctx, argv[1]!);
  if (v === null) return 0;
  const [a, b] = scoreSpan(open(ctx, argv[1]!, v), range);
  return b - a;
}

function zlexcountCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const range = parseLexRange(argv[2]!, argv[3]!);
  const v = lookupZset(ctx, argv[1]!);
  if (v === null) return 0;
  const [a, b] = lexSpan(open(ctx, argv[1]!, v), range);
  return b - a;
}

// ================================================================================================
// ZRANGE family
// ================================================================================================

type RangeType = 'auto' | 'rank' | 'score' | 'lex';
type Direction = 'auto' | 'fwd' | 'rev';

/**
 * The elements a rank/score/lex range selects, in reply order. Score and lex ranges follow
 * Redis's walk: find the first element in range (from the top when reversed), skip `offset`
 * elements (a negative offset skips everything), then take up to `limit` (negative = all) while
 * still in range.
 */
function selectRange(
  h: ZsetHandle, type: 'rank' | 'score' | 'lex', reverse: boolean,
  start: number, end: number, score: ScoreRange | null, lex: LexRange | null, offset: number, limit: number,
): Array<[Buffer, number]> {
  const out: Array<[Buffer, number]> = [];
  const llen = h.length;
  if (type === 'rank') {
    const span = rankSpan(start, end, llen);
    if (span === null) return out;
    let n = span[1] - span[0] + 1;
    h.walk(reverse ? llen - 1 - span[0] : span[0], reverse, (m, s) => { out.push([Buffer.from(m), s]); return --n > 0; });
    return out;
  }
  if (type === 'score' && offset > 0 && offset >= llen) return out;
  if (offset < 0 || limit === 0) return out;
  let first: number;
  let inRange: (m: Uint8Array, s: number) => boolean;
  if (type === 'score') {
    const r = score!;
    if (scoreRangeEmpty(r)) return out;
    first = reverse ? h.firstRankAbove(r.max, r.maxex) - 1 : h.firstRankAtLeast(r.min, r.minex);
    inRange = reverse ? (_m, s) => scoreGteMin(s, r) : (_m, s) => scoreLteMax(s, r);
  } else {
    const r = lex!;
    if (lexRangeEmpty(r)) return out;
    first = reverse ? h.firstRankLexAboveMax(r) - 1 : h.firstRankLexGteMin(r);
    inRange = reverse ? (m) => lexGteMin(m, r) : (m) => lexLteMax(m, r);
  }
  if (first < 0 || first >= llen) return out;
  let skip = offset;
  let left = limit;
  let startOk = false;
  h.walk(first, reverse, (m, s) => {
    if (!startOk) {
      // The first element must itself be in range on both sides.
      const ok = type === 'score'
        ? scoreGteMin(s, score!) && scoreLteMax(s, score!)
        : lexGteMin(m, lex!) && lexLteMax(m, lex!);
      if (!ok) return false;
      startOk = true;
    }
    if (skip > 0) { skip--; return true; }
    if (!inRange(m, s)) return false;
    out.push([Buffer.from(m), s]);
    if (left > 0) left--;
    return left !== 0;
  });
  return out;
}

/**
 * zrangeGenericCommand: ZRANGE, ZRANGESTORE and the legacy forms. `argStart` is the source key's
 * position; type/direction are fixed by legacy commands and chosen by options in ZRANGE.
 */
function zrangeGeneric(ctx: Ctx, argv: Buffer[], argStart: number, store: boolean, type: RangeType, dir: Direction): Reply {
  const key = argv[argStart]!;
  let minIdx = argStart + 1;
  let maxIdx = argStart + 2;
  let withscores = false;
  let offset = 0;
  let limit = -1;
  for (let j = argStart + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const o = argv[j]!;
    if (!store && isOpt(o, 'withscores')) withscores = true;
    else if (isOpt(o, 'limit') && left >= 2) {
      offset = argLong(argv[j + 1]!);
      limit = argLong(argv[j + 2]!);
      j += 2;
    } else if (dir === 'auto' && isOpt(o, 'rev')) dir = 'rev';
    else if (type === 'auto' && isOpt(o, 'bylex')) type = 'lex';
    else if (type === 'auto' && isOpt(o, 'byscore')) type = 'score';
    else throw Errors.syntax();
  }
  const reverse = dir === 'rev';
  const rtype: 'rank' | 'score' | 'lex' = type === 'auto' ? 'rank' : type;
  if (limit !== -1 && rtype === 'rank') throw new ReplyError('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withscores && rtype === 'lex') throw new ReplyError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  if (reverse && rtype !== 'rank') { const t = minIdx; minIdx = maxIdx; maxIdx = t; }
  let start = 0; let end = 0;
  let score: ScoreRange | null = null;
  let lex: LexRange | null = null;
  if (rtype === 'rank') { start = argLong(argv[minIdx]!); end = argLong(argv[maxIdx]!); }
  else if (rtype === 'score') score = parseScoreRange(argv[minIdx]!, argv[maxIdx]!);
  else lex = parseLexRange(argv[minIdx]!, argv[maxIdx]!);

  const v = ctx.engine.keyspace.lookupValue(ctx.client.db, key);
  if (v === null) {
    if (store) return storeResult(ctx, argv[1]!, [], true);
    return [];
  }
  if (!isZset(v)) throw Errors.wrongType();
  const res = selectRange(open(ctx, key, v), rtype, reverse, start, end, score, lex, offset, limit);
  if (store) return storeResult(ctx, argv[1]!, res, rtype === 'rank');
  return pairsReply(ctx, res, withscores);
}

/**
 * ZRANGESTORE's destination: the result replaces it (no TTL), or an empty result deletes it.
 *
 * Why the -0 walk: Redis builds the destination by adding the elements one by one, in the order
 * the range emits them, to a new zset that starts as a listpack — except a rank range longer than
 * zset-max-listpack-entries, which starts as a skiplist. A listpack stores a -0 score as the
 * integer 0, and converting keeps that 0, so every element added before the conversion (the
 * entry count passing the limit or a member longer than zset-max-listpack-value) ends with 0
 * where later ones keep -0. `rankRange` says whether Redis knew the length up front.
 */
function storeResult(ctx: Ctx, dst: Buffer, res: Array<[Buffer, number]>, rankRange: boolean): Reply {
  const ks = ctx.engine.keyspace;
  if (res.length === 0) {
    if (ks.del(ctx.client.db, dst)) ctx.dirty(1);
    return 0;
  }
  const limits = limitsOf(ctx.engine);
  let maxLen = 0;
  for (const [m] of res) if (m.length > maxLen) maxLen = m.length;
  let listpack = !(rankRange && res.length > limits.maxListpackEntries);
  for (let i = 0; listpack && i < res.length; i++) {
    const e = res[i]!;
    if (i + 1 > limits.maxListpackEntries || e[0].length > limits.maxListpackValue) listpack = false;
    else if (e[1] === 0) e[1] = 0; // -0 → 0
  }
  storeZset(ks, ctx.client.db, dst, res, needsSkiplist(res.length, maxLen, limits), NO_EXPIRE);
  ctx.dirty(1);
  return res.length;
}

const zrangeCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 1, false, 'auto', 'auto');
const zrangestoreCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 2, true, 'auto', 'auto');
const zrevrangeCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 1, false, 'rank', 'rev');
const zrangebyscoreCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 1, false, 'score', 'fwd');
const zrevrangebyscoreCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 1, false, 'score', 'rev');
const zrangebylexCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 1, false, 'lex', 'fwd');
const zrevrangebylexCommand = (ctx: Ctx, argv: Buffer[]): Reply => zrangeGeneric(ctx, argv, 1, false, 'lex', 'rev');

// ================================================================================================
// ZREMRANGEBY*
// ================================================================================================

function zremrangeGeneric(ctx: Ctx, argv: Buffer[], type: 'rank' | 'score' | 'lex'): Reply {
  let start = 0; let end = 0;
  let score: ScoreRange | null = null;
  let lex: LexRange | null = null;
  if (type === 'rank') { start = argLong(argv[2]!); end = argLong(argv[3]!); }
  else if (type === 'score') score = parseScoreRange(argv[2]!, argv[3]!);
  else lex = parseLexRange(argv[2]!, argv[3]!);
  const key = argv[1]!;
  const v = lookupZset(ctx, key);
  if (v === null) return 0;
  const h = open(ctx, key, v);
  let a: number; let b: number; // inclusive
  if (type === 'rank') {
    const span = rankSpan(start, end, h.length);
    if (span === null) return 0;
    [a, b] = span;
  } else {
    const [x, y] = type === 'score' ? scoreSpan(h, score!) : lexSpan(h, lex!);
    a = x; b = y - 1;
  }
  const deleted = h.removeRanks(a, b);
  h.commit();
  if (deleted > 0) ctx.dirty(deleted);
  return deleted;
}

// ================================================================================================
// ZPOPMIN, ZPOPMAX, ZMPOP
// ================================================================================================

function zpopGeneric(ctx: Ctx, argv: Buffer[], where: 'min' | 'max'): Reply {
  if (argv.length > 3) throw Errors.syntax();
  let count = -1;
  if (argv.length === 3) {
    const c = parseInt64(argv[2]!);
    if (c === null || c < 0) throw new ReplyError('ERR value is out of range, must be positive');
    count = Number(c);
  }
  const key = argv[1]!;
  const v = lookupZset(ctx, key);
  if (v === null) return [];
  if (count === 0) return [];
  const nested = ctx.client.resp === 3 && count !== -1;
  const h = open(ctx, key, v);
  const popped = h.pop(where, count === -1 ? 1 : count);
  h.commit();
  ctx.dirty(popped.length);
  return pairsReply(ctx, popped, true, nested);
}

function zmpopCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const nk = parseInt64(argv[1]!);
  if (nk === null || nk < 1) throw new ReplyError('ERR numkeys should be greater than 0');
  const numkeys = Number(nk);
  const whereIdx = 1 + numkeys + 1;
  if (whereIdx >= argv.length) throw Errors.syntax();
  let where: 'min' | 'max';
  if (isOpt(argv[whereIdx]!, 'min')) where = 'min';
  else if (isOpt(argv[whereIdx]!, 'max')) where = 'max';
  else throw Errors.syntax();
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (count === -1 && isOpt(argv[j]!, 'count') && more > 0) {
      j++;
      const c = parseInt64(argv[j]!);
      if (c === null || c < 1) throw new ReplyError('ERR count should be greater than 0');
      count = Number(c);
    } else {
      throw Errors.syntax();
    }
  }
  if (count === -1) count = 1;
  for (let k = 0; k < numkeys; k++) {
    const key = argv[2 + k]!;
    const v = lookupZset(ctx, key);
    if (v === null) continue;
    const h = open(ctx, key, v);
    const popped = h.pop(where, count);
    h.commit();
    ctx.dirty(popped.length);
    ctx.propagate([where === 'min' ? 'ZPOPMIN' : 'ZPOPMAX', key, String(popped.length)]);
    return [key, pairsReply(ctx, popped, true, true)];
  }
  return NilArray.instance;
}

// ================================================================================================
// ZRANDMEMBER
// ================================================================================================

/**
 * ZRANDMEMBER key [count [WITHSCORES]]: a positive count returns distinct members (all of them,
 * highest score first, when count >= size), a negative one allows repeats. Which members come back is
 * random, as in Redis; the shapes and the count rules are exact.
 */
function zrandmemberCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const key = argv[1]!;
  if (argv.length >= 3) {
    const raw = parseInt64(argv[2]!);
    if (raw === null) throw Errors.notInteger();
    if (typeof raw === 'bigint' && raw < -LONG_MAX) {
      throw new ReplyError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
    }
    let withscores = false;
    if (argv.length > 4 || (argv.length === 4 && !isOpt(argv[3]!, 'withscores'))) throw Errors.syntax();
    if (argv.length === 4) {
      withscores = true;
      const half = LONG_MAX / 2n;
      const big = typeof raw === 'bigint' ? raw : BigInt(raw);
      if (big < -half || big > half) throw new ReplyError('ERR value is out of range');
    }
    const l = Number(raw);
    if (l < -MAX_RAND_REPLY) throw new ReplyError('ERR value is out of range');
    const v = lookupZset(ctx, key);
    if (v === null) return [];
    const h = open(ctx, key, v);
    const size = h.length;
    if (l === 0) return [];
    const out: Array<[Buffer, number]> = [];
    if (l < 0 || l === 1) {
      const count = l < 0 ? -l : 1;
      for (let i = 0; i < count; i++) out.push(h.random()!);
    } else if (l >= size) {
      // the whole set, as Redis's zset iterator walks it: from the highest score down
      out.push(...h.slice(0, size - 1).reverse());
    } else {
      // Distinct random ranks (partial Fisher-Yates over rank numbers), in a random order.
      const picked = new Map<number, number>();
      for (let i = 0; i < l; i++) {
        const j = i + Math.floor(Math.random() * (size - i));
        const vi = picked.get(i) ?? i;
        const vj = picked.get(j) ?? j;
        picked.set(i, vj);
        picked.set(j, vi);
        out.push(h.slice(vj, vj)[0]!);
      }
    }
    return pairsReply(ctx, out, withscores);
  }
  const v = lookupZset(ctx, key);
  if (v === null) return null;
  const r = open(ctx, key, v).random();
  return r === null ? null : r[0];
}

// ================================================================================================
// ZUNION, ZINTER, ZDIFF (+STORE), ZINTERCARD
// ================================================================================================

/** One input of a set operation: a zset, a set (every member scores 1) or a missing key. */
interface OpSource {
  readonly key: Buffer;
  readonly zset: ZsetHandle | null;
  readonly set: Set<string> | null;
  readonly setList: Buffer[] | null;
  weight: number;
  readonly length: number;
}

function sourceFind(src: OpSource, member: Buffer, memberKey: string): number | null {
  if (src.zset !== null) return src.zset.score(member);
  if (src.set !== null) return src.set.has(memberKey) ? 1 : null;
  return null;
}

function sourceElements(src: OpSource): Array<[Buffer, number]> {
  if (src.zset !== null) return src.zset.slice(0, src.length - 1);
  if (src.setList !== null) return src.setList.map((m) => [m, 1] as [Buffer, number]);
  return [];
}

type Aggregate = 'sum' | 'min' | 'max';

/** zunionInterAggregate: SUM turns NaN (inf + -inf) into 0; MIN/MAX keep the target on NaN. */
function aggregate(target: number, val: number, how: Aggregate): number {
  if (how === 'sum') { const t = target + val; return Number.isNaN(t) ? 0 : t; }
  if (how === 'min') return val < target ? val : target;
  return val > target ? val : target;
}

/**
 * zunionInterDiffGenericCommand. Checks in Redis's order: numkeys, key count, each key's type,
 * then options. Inputs (except for DIFF) are processed smallest first (a stable sort, like
 * glibc's qsort here) — it decides the order SUM adds floats in.
 */
function zsetOpGeneric(ctx: Ctx, argv: Buffer[], dst: Buffer | null, numkeysIdx: number, op: 'union' | 'inter' | 'diff', cardOnly: boolean): Reply {
  const setnum = argLong(argv[numkeysIdx]!);
  if (setnum < 1) throw new ReplyError(`ERR at least 1 input key is needed for '${latin1(argv[0]!).toLowerCase()}' command`);
  if (setnum > argv.length - (numkeysIdx + 1)) throw Errors.syntax();
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const srcs: OpSource[] = [];
  let j = numkeysIdx + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const key = argv[j]!;
    const v = ks.lookupValue(db, key);
    if (v === null) { srcs.push({ key, zset: null, set: null, setList: null, weight: 1, length: 0 }); continue; }
    if (isZset(v)) {
      const h = open(ctx, key, v);
      srcs.push({ key, zset: h, set: null, setList: null, weight: 1, length: h.length });
    } else if (isSet(v)) {
      const list = setMembers(v);
      srcs.push({ key, zset: null, set: new Set(list.map((m) => latin1(m))), setList: list, weight: 1, length: list.length });
    } else {
      throw Errors.wrongType();
    }
  }
  let how: Aggregate = 'sum';
  let withscores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining > 0) {
    const o = argv[j]!;
    if (op !== 'diff' && !cardOnly && remaining >= setnum + 1 && isOpt(o, 'weights')) {
      j++; remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const w = parseDouble(argv[j]!);
        if (w === null) throw new ReplyError('ERR weight value is not a float');
        srcs[i]!.weight = w;
      }
    } else if (op !== 'diff' && !cardOnly && remaining >= 2 && isOpt(o, 'aggregate')) {
      j++; remaining--;
      const a = argv[j]!;
      if (isOpt(a, 'sum')) how = 'sum';
      else if (isOpt(a, 'min')) how = 'min';
      else if (isOpt(a, 'max')) how = 'max';
      else throw Errors.syntax();
      j++; remaining--;
    } else if (remaining >= 1 && dst === null && !cardOnly && isOpt(o, 'withscores')) {
      j++; remaining--;
      withscores = true;
    } else if (cardOnly && remaining >= 2 && isOpt(o, 'limit')) {
      j++; remaining--;
      const l = parseInt64(argv[j]!);
      if (l === null || l < 0) throw new ReplyError("ERR LIMIT can't be negative");
      limit = Number(l);
      j++; remaining--;
    } else {
      throw Errors.syntax();
    }
  }
  const order = op === 'diff' ? srcs : [...srcs].sort((a, b) => a.length - b.length);
  const result = new Map<string, [Buffer, number]>();
  let cardinality = 0;
  if (op === 'inter') {
    const first = order[0]!;
    if (first.length > 0) {
      for (const [m, s0] of sourceElements(first)) {
        const mk = latin1(m);
        let score = first.weight * s0;
        if (Number.isNaN(score)) score = 0;
        let k = 1;
        for (; k < order.length; k++) {
          const val = sourceFind(order[k]!, m, mk);
          if (val === null) break;
          score = aggregate(score, val * order[k]!.weight, how);
        }
        if (k < order.length) continue;
        if (cardOnly) {
          cardinality++;
          if (limit > 0 && cardinality >= limit) break;
        } else {
          result.set(mk, [m, score]);
        }
      }
    }
  } else if (op === 'union') {
    for (const src of order) {
      if (src.length === 0) continue;
      for (const [m, s0] of sourceElements(src)) {
        let score = src.weight * s0;
        if (Number.isNaN(score)) score = 0;
        const mk = latin1(m);
        const e = result.get(mk);
        if (e === undefined) result.set(mk, [m, score]);
        else e[1] = aggregate(e[1], score, how);
      }
    }
  } else {
    const first = order[0]!;
    for (const [m, s0] of sourceElements(first)) {
      const mk = latin1(m);
      let found = false;
      for (let k = 1; k < order.length && !found; k++) found = sourceFind(order[k]!, m, mk) !== null;
      if (!found) result.set(mk, [m, s0]);
    }
  }
  if (cardOnly) return cardinality;
  const elems = [...result.values()];
  if (dst !== null) {
    if (elems.length === 0) {
      if (ks.del(db, dst)) ctx.dirty(1);
      return 0;
    }
    let maxLen = 0;
    for (const [m] of elems) if (m.length > maxLen) maxLen = m.length;
    storeZset(ks, db, dst, elems, needsSkiplist(elems.length, maxLen, limitsOf(ctx.engine)), NO_EXPIRE);
    ctx.dirty(1);
    return elems.length;
  }
  elems.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : Buffer.compare(a[0], b[0])));
  return pairsReply(ctx, elems, withscores);
}

// ================================================================================================
// ZSCAN
// ================================================================================================

/**
 * ZSCAN key cursor [MATCH p] [COUNT n]: cursor first, then the key (missing → "0" and nothing),
 * then the options. A listpack is returned whole with cursor 0 and its scores as stored; a
 * skiplist is walked over its member index with Redis's loop (COUNT pairs, at most 10×COUNT
 * buckets per call) and scores printed with %.17g.
 */
function zscanCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const cursor = parseScanCursor(argv[2]!);
  const key = argv[1]!;
  const v = lookupZset(ctx, key);
  if (v === null) return [Buffer.from('0'), []];
  let count = 10;
  let pattern: Buffer | null = null;
  for (let i = 3; i < argv.length;) {
    const more = argv.length - i >= 2;
    const o = argv[i]!;
    if (more && isOpt(o, 'count')) {
      const c = argInt64(argv[i + 1]!);
      if (c < 1) throw Errors.syntax();
      count = typeof c === 'bigint' ? Number.MAX_SAFE_INTEGER : c;
      i += 2;
    } else if (more && isOpt(o, 'match')) {
      const p = argv[i + 1]!;
      pattern = isMatchAll(p) ? null : p;
      i += 2;
    } else {
      throw Errors.syntax();
    }
  }
  const h = open(ctx, key, v);
  const out: Buffer[] = [];
  const coll = h.collection;
  if (coll === null) {
    for (const [m, s] of h.listpackPairs()) {
      if (pattern !== null && !globMatch(pattern, m)) continue;
      out.push(m, s);
    }
    return [Buffer.from('0'), out];
  }
  const refs: number[] = [];
  let cur = Number(cursor & ((1n << 53n) - 1n));
  let maxIter = Math.min(count * 2 * 10, Number.MAX_SAFE_INTEGER);
  do {
    cur = coll.scanStep(cur, refs);
  } while (cur !== 0 && maxIter-- > 0 && refs.length * 2 < count * 2);
  for (const ref of refs) {
    const m = coll.field(ref);
    if (pattern !== null && !globMatch(pattern, m)) continue;
    const s = h.score(m)!;
    out.push(Buffer.from(m), Buffer.from(formatDouble(s), 'latin1'));
  }
  return [Buffer.from(String(cur), 'latin1'), out];
}


// ================================================================================================
// Command table
// ================================================================================================

function row(
  name: string, arity: number, flags: CommandFlag[], firstKey: number, lastKey: number, step: number,
  since: string, summary: string, handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey, lastKey, step, group: 'sorted_set', since, summary, handler };
}

export const zsetsCommands: readonly CommandSpec<EngineLike>[] = [
  row('zadd', -4, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.2.0', 'Add one or more members to a sorted set, or update its score if it already exists', zaddCommand),
  row('zincrby', 4, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.2.0', 'Increment the score of a member in a sorted set', zincrbyCommand),
  row('zrem', -3, ['write', 'fast'], 1, 1, 1, '1.2.0', 'Remove one or more members from a sorted set', zremCommand),
  row('zcard', 2, ['readonly', 'fast'], 1, 1, 1, '1.2.0', 'Get the number of members in a sorted set', zcardCommand),
  row('zscore', 3, ['readonly', 'fast'], 1, 1, 1, '1.2.0', 'Get the score associated with the given member in a sorted set', zscoreCommand),
  row('zmscore', -3, ['readonly', 'fast'], 1, 1, 1, '6.2.0', 'Get the score associated with the given members in a sorted set', zmscoreCommand),
  row('zrank', 3, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Determine the index of a member in a sorted set', (c, a) => zrankGeneric(c, a, false)),
  row('zrevrank', 3, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Determine the index of a member in a sorted set, with scores ordered from high to low', (c, a) => zrankGeneric(c, a, true)),
  row('zcount', 4, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Count the members in a sorted set with scores within the given values', zcountCommand),
  row('zlexcount', 4, ['readonly', 'fast'], 1, 1, 1, '2.8.9', 'Count the number of members in a sorted set between a given lexicographical range', zlexcountCommand),
  row('zrange', -4, ['readonly'], 1, 1, 1, '1.2.0', 'Return a range of members in a sorted set', zrangeCommand),
  row('zrangestore', -5, ['write', 'denyoom'], 1, 2, 1, '6.2.0', 'Store a range of members from sorted set into another key', zrangestoreCommand),
  row('zrangebyscore', -4, ['readonly'], 1, 1, 1, '1.0.5', 'Return a range of members in a sorted set, by score', zrangebyscoreCommand),
  row('zrevrangebyscore', -4, ['readonly'], 1, 1, 1, '2.2.0', 'Return a range of members in a sorted set, by score, with scores ordered from high to low', zrevrangebyscoreCommand),
  row('zrangebylex', -4, ['readonly'], 1, 1, 1, '2.8.9', 'Return a range of members in a sorted set, by lexicographical range', zrangebylexCommand),
  row('zrevrangebylex', -4, ['readonly'], 1, 1, 1, '2.8.9', 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.', zrevrangebylexCommand),
  row('zrevrange', -4, ['readonly'], 1, 1, 1, '1.2.0', 'Return a range of members in a sorted set, by index, with scores ordered from high to low', zrevrangeCommand),
  row('zremrangebyscore', 4, ['write'], 1, 1, 1, '1.2.0', 'Remove all members in a sorted set within the given scores', (c, a) => zremrangeGeneric(c, a, 'score')),
  row('zremrangebyrank', 4, ['write'], 1, 1, 1, '2.0.0', 'Remove all members in a sorted set within the given indexes', (c, a) => zremrangeGeneric(c, a, 'rank')),
  row('zremrangebylex', 4, ['write'], 1, 1, 1, '2.8.9', 'Remove all members in a sorted set between the given lexicographical range', (c, a) => zremrangeGeneric(c, a, 'lex')),
  row('zpopmin', -2, ['write', 'fast'], 1, 1, 1, '5.0.0', 'Remove and return members with the lowest scores in a sorted set', (c, a) => zpopGeneric(c, a, 'min')),
  row('zpopmax', -2, ['write', 'fast'], 1, 1, 1, '5.0.0', 'Remove and return members with the highest scores in a sorted set', (c, a) => zpopGeneric(c, a, 'max')),
  row('zmpop', -4, ['write'], 0, 0, 0, '7.0.0', 'Remove and return members with scores in a sorted set', zmpopCommand),
  row('zrandmember', -2, ['readonly'], 1, 1, 1, '6.2.0', 'Get one or multiple random elements from a sorted set', zrandmemberCommand),
  row('zunion', -3, ['readonly'], 0, 0, 0, '6.2.0', 'Add multiple sorted sets', (c, a) => zsetOpGeneric(c, a, null, 1, 'union', false)),
  row('zunionstore', -4, ['write', 'denyoom'], 1, 1, 1, '2.0.0', 'Add multiple sorted sets and store the resulting sorted set in a new key', (c, a) => zsetOpGeneric(c, a, a[1]!, 2, 'union', false)),
  row('zinter', -3, ['readonly'], 0, 0, 0, '6.2.0', 'Intersect multiple sorted sets', (c, a) => zsetOpGeneric(c, a, null, 1, 'inter', false)),
  row('zinterstore', -4, ['write', 'denyoom'], 1, 1, 1, '2.0.0', 'Intersect multiple sorted sets and store the resulting sorted set in a new key', (c, a) => zsetOpGeneric(c, a, a[1]!, 2, 'inter', false)),
  row('zintercard', -3, ['readonly'], 0, 0, 0, '7.0.0', 'Intersect multiple sorted sets and return the cardinality of the result', (c, a) => zsetOpGeneric(c, a, null, 1, 'inter', true)),
  row('zdiff', -3, ['readonly'], 0, 0, 0, '6.2.0', 'Subtract multiple sorted sets', (c, a) => zsetOpGeneric(c, a, null, 1, 'diff', false)),
  row('zdiffstore', -4, ['write', 'denyoom'], 1, 1, 1, '6.2.0', 'Subtract multiple sorted sets and store the resulting sorted set in a new key', (c, a) => zsetOpGeneric(c, a, a[1]!, 2, 'diff', false)),
  row('zscan', -3, ['readonly'], 1, 1, 1, '2.8.0', 'Incrementally iterate sorted sets elements and associated scores', zscanCommand),
];
