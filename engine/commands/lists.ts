/**
 * The list family (Redis 7.0 t_list.c behaviour) and the blocking pops, BZPOPMIN/BZPOPMAX/BZMPOP
 * included (they share the blocking machinery; the zset pop itself is engine/types/zset.ts's).
 *
 * Conventions
 *  - Arguments are validated in Redis's order (some commands look the key up before parsing an
 *    index, others after: LSET and LINDEX look first, LRANGE/LTRIM/LREM parse first), so a command
 *    failing two ways gets Redis's error. A failed command changes nothing.
 *  - Replies copy element bytes out of the keyspace (the list helpers decode into fresh Buffers).
 *  - Propagation: deterministic writes go out as received; LMPOP/BLMPOP as [LR]POP key n, BLPOP/
 *    BRPOP as [LR]POP key, BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH, BZPOPMIN/BZPOPMAX as
 *    ZPOPMIN/ZPOPMAX key, BZMPOP as ZPOPMIN/ZPOPMAX key n — what Redis 7.0 writes to its AOF.
 *
 * Blocking (engine/blocking.ts has the machinery): a blocking command first tries to pop like
 * its non-blocking form. With nothing to pop it blocks when the client can (a RESP connection
 * outside MULTI/EXEC). Inside MULTI/EXEC — and through the embedded API, which has no way to wait
 * — it answers at once as on a timeout: a nil array (RESP2 `*-1`, RESP3 `_`) for BLPOP, BRPOP,
 * BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, and a nil bulk for BLMOVE/BRPOPLPUSH (as Redis 7.0 answers
 * them inside MULTI; a real timeout of BLMOVE is a nil array). When a blocked client is served,
 * its command runs again with `servingKey` naming the ready key, and pops only from that key.
 */
import { Errors, ReplyError } from '../errors.js';
import { parseInt64, parseLongDouble, isOpt, type LongDouble } from './args.js';
import { configInt, type EngineLike } from './engine-like.js';
import { DoubleReply, NilArray, OK } from './types.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';
import {
  DEFAULT_LIST_FILL, deleteRange, isList, elementAt, findElement, insertAt, openList, openOrCreateList, popElements,
  pushElements, rangeElements, removeMatching, scanElements, setElement, type ListHandle,
} from '../types/list.js';
import { BlockingRegistry, type WaitKind } from '../blocking.js';
import { isZset, zsetPop } from '../types/zset.js';

type Ctx = CommandContext<EngineLike>;

const LONG_MIN = -9223372036854775808n;
const TWO63 = 9223372036854775808n;

// ---- engine accessors (structural: EngineLike does not declare them) -----------------------------

/** list-max-listpack-size from the engine's config when it has one, else Redis's default. */
function listFill(engine: EngineLike): number {
  return configInt(engine, 'list-max-listpack-size', DEFAULT_LIST_FILL);
}

/** The engine's blocked-clients registry, or null (test harnesses, embedded-only setups). */
function registryOf(engine: EngineLike): BlockingRegistry | null {
  const r = (engine as { blocking?: unknown }).blocking;
  return r instanceof BlockingRegistry ? r : null;
}

// ---- argument helpers --------------------------------------------------------------------------------

/** getLongFromObjectOrReply: an int64 or "value is not an integer or out of range". */
function argLong(b: Uint8Array): bigint {
  const v = parseInt64(b);
  if (v === null) throw Errors.notInteger();
  return BigInt(v);
}

/** A long clamped to the JS-safe range (list lengths never get near it, so clamping is exact here). */
function toNum(v: bigint): number {
  return v > 9007199254740991n ? 9007199254740991 : v < -9007199254740991n ? -9007199254740991 : Number(v);
}

/** getPositiveLongFromObjectOrReply with a message (LPOP count, LPOS COUNT/MAXLEN). */
function argPositive(b: Uint8Array, msg: string): number {
  const v = parseInt64(b);
  if (v === null || v < 0) throw new ReplyError(msg);
  return toNum(BigInt(v));
}

function whereArg(b: Uint8Array): boolean /* head? */ {
  if (isOpt(b, 'left')) return true;
  if (isOpt(b, 'right')) return false;
  throw Errors.syntax();
}

/**
 * getTimeoutFromObjectOrReply (seconds): a long double, times 1000, rounded up; negative, or too
 * large for a long long (which the C conversion turns negative), is "timeout is negative". Returns
 * the absolute deadline in ms, 0 for "forever".
 */
export function parseBlockTimeout(b: Uint8Array, now: number): number {
  const v: LongDouble | null = parseLongDouble(b);
  if (v === null) throw new ReplyError('ERR timeout is not a float or out of range');
  if (v.kind !== 'finite') throw new ReplyError('ERR timeout is negative');
  let ms: bigint;
  if (v.m === 0n) ms = 0n;
  else if (v.e >= 0) ms = v.e > 80 ? TWO63 : (v.m * 1000n) << BigInt(v.e);
  else {
    const num = v.m * 1000n;
    const den = 1n << BigInt(-v.e);
    const q = num / den;
    // ceil of a positive value rounds a remainder up; of a negative one it truncates.
    ms = v.neg ? q : q + (num % den !== 0n ? 1n : 0n);
  }
  if (v.neg) ms = -ms;
  if (ms >= TWO63 || ms < 0n) throw new ReplyError('ERR timeout is negative');
  return ms === 0n ? 0 : now + Number(ms);
}

// ---- small helpers ---------------------------------------------------------------------------------

function open(ctx: Ctx, key: Uint8Array): ListHandle | null {
  return openList(ctx.engine.keyspace, ctx.client.db, key, listFill(ctx.engine));
}

function openW(ctx: Ctx, key: Uint8Array): ListHandle {
  return openOrCreateList(ctx.engine.keyspace, ctx.client.db, key, listFill(ctx.engine));
}

/** Redis's start/end normalization for LRANGE: null when the range is empty. */
function normRange(start: bigint, end: bigint, len: number): [number, number] | null {
  const L = BigInt(len);
  if (start < 0n) start += L;
  if (end < 0n) end += L;
  if (start < 0n) start = 0n;
  if (start > end || start >= L) return null;
  if (end >= L) end = L - 1n;
  return [Number(start), Number(end)];
}

// ---- push / pop --------------------------------------------------------------------------------------

function push(ctx: Ctx, argv: Buffer[], head: boolean, onlyExisting: boolean): Reply {
  const key = argv[1]!;
  let h: ListHandle | null;
  if (onlyExisting) {
    h = open(ctx, key);
    if (h === null) return 0;
  } else {
    h = openW(ctx, key);
  }
  pushElements(h, argv.slice(2), head);
  const len = h.length;
  h.commit();
  ctx.dirty(argv.length - 2);
  return len;
}

function popCommand(ctx: Ctx, argv: Buffer[], head: boolean): Reply {
  if (argv.length > 3) throw Errors.arity(head ? 'lpop' : 'rpop');
  const hasCount = argv.length === 3;
  const count = hasCount ? argPositive(argv[2]!, 'ERR value is out of range, must be positive') : 1;
  const h = open(ctx, argv[1]!);
  if (h === null) return hasCount ? NilArray.instance : null;
  if (hasCount && count === 0) return [];
  const out = popElements(h, count, head);
  h.commit();
  ctx.dirty(out.length);
  return hasCount ? out : out[0]!;
}

// ---- reads -------------------------------------------------------------------------------------------

function llenCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return open(ctx, argv[1]!)?.length ?? 0;
}

function lindexCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const h = open(ctx, argv[1]!);
  if (h === null) return null;
  let i = argLong(argv[2]!);
  if (i < 0n) i += BigInt(h.length);
  if (i < 0n || i >= BigInt(h.length)) return null;
  return elementAt(h, Number(i));
}

function lrangeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const start = argLong(argv[2]!);
  const end = argLong(argv[3]!);
  const h = open(ctx, argv[1]!);
  if (h === null) return [];
  const r = normRange(start, end, h.length);
  return r === null ? [] : rangeElements(h, r[0], r[1]);
}

function lposCommand(ctx: Ctx, argv: Buffer[]): Reply {
  let rank = 1n;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const more = j + 1 < argv.length;
    if (isOpt(argv[j]!, 'rank') && more) {
      rank = argLong(argv[++j]!);
      if (rank === 0n) {
        throw new ReplyError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
      }
    } else if (isOpt(argv[j]!, 'count') && more) {
      count = argPositive(argv[++j]!, "ERR COUNT can't be negative");
    } else if (isOpt(argv[j]!, 'maxlen') && more) {
      maxlen = argPositive(argv[++j]!, "ERR MAXLEN can't be negative");
    } else {
      throw Errors.syntax();
    }
  }
  const h = open(ctx, argv[1]!);
  if (h === null) return count !== -1 ? [] : null;
  const fromTail = rank < 0n;
  // |LONG_MIN| does not exist: Redis's negation leaves it negative, so its first match counts.
  const target = rank === LONG_MIN ? 1 : toNum(fromTail ? -rank : rank);
  const want = count === -1 ? 1 : count; // 0 = every match
  const value = argv[2]!;
  const found: number[] = [];
  let matches = 0;
  let compared = 0;
  scanElements(h, fromTail, (v, index) => {
    if (maxlen !== 0 && compared >= maxlen) return false;
    compared++;
    if (v.equals(value)) {
      matches++;
      if (matches >= target) {
        found.push(index);
        if (want !== 0 && found.length >= want) return false;
      }
    }
    return true;
  });
  if (count !== -1) return found;
  return found.length > 0 ? found[0]! : null;
}

// ---- in-place writes ---------------------------------------------------------------------------------

function lsetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const h = open(ctx, argv[1]!);
  if (h === null) throw Errors.noSuchKey();
  let i = argLong(argv[2]!);
  if (i < 0n) i += BigInt(h.length);
  if (i < 0n || i >= BigInt(h.length)) throw new ReplyError('ERR index out of range');
  setElement(h, Number(i), argv[3]!);
  ctx.dirty();
  return OK;
}

function ltrimCommand(ctx: Ctx, argv: Buffer[]): Reply {
  let start = argLong(argv[2]!);
  let end = argLong(argv[3]!);
  const h = open(ctx, argv[1]!);
  if (h === null) return OK;
  const len = BigInt(h.length);
  if (start < 0n) start += len;
  if (end < 0n) end += len;
  if (start < 0n) start = 0n;
  let ltrim: number, rtrim: number;
  if (start > end || start >= len) {
    ltrim = h.length;
    rtrim = 0;
  } else {
    if (end >= len) end = len - 1n;
    ltrim = Number(start);
    rtrim = Number(len - end - 1n);
  }
  if (rtrim > 0) deleteRange(h, h.length - rtrim, rtrim);
  if (ltrim > 0) deleteRange(h, 0, ltrim);
  h.commit();
  if (ltrim + rtrim > 0) ctx.dirty(ltrim + rtrim);
  return OK;
}

function lremCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const count = argLong(argv[2]!);
  const h = open(ctx, argv[1]!);
  if (h === null) return 0;
  const limit = count < 0n ? toNum(-count) : toNum(count);
  const removed = removeMatching(h, argv[3]!, count === LONG_MIN ? 9007199254740991 : limit, count < 0n);
  h.commit();
  if (removed > 0) ctx.dirty(removed);
  return removed;
}

function linsertCommand(ctx: Ctx, argv: Buffer[]): Reply {
  let after: boolean;
  if (isOpt(argv[2]!, 'after')) after = true;
  else if (isOpt(argv[2]!, 'before')) after = false;
  else throw Errors.syntax();
  const h = open(ctx, argv[1]!);
  if (h === null) return 0;
  const at = findElement(h, argv[3]!);
  if (at < 0) return -1;
  insertAt(h, at, argv[4]!, after);
  ctx.dirty();
  return h.length;
}

// ---- moves -------------------------------------------------------------------------------------------

/**
 * LMOVE's core: pops from `src` and pushes onto `dst` (checked before anything changes), or
 * returns null when `src` is missing.
 */
function moveOne(ctx: Ctx, src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean): Buffer | null {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const sh = open(ctx, src);
  if (sh === null) return null;
  const same = src.equals(dst);
  if (!same) {
    const dv = ks.lookupValue(db, dst);
    if (dv !== null && !isList(dv)) throw Errors.wrongType();
  }
  const [value] = popElements(sh, 1, fromHead);
  if (same) {
    pushElements(sh, [value!], toHead);
    sh.commit();
  } else {
    sh.commit();
    const dh = openW(ctx, dst);
    pushElements(dh, [value!], toHead);
    dh.commit();
  }
  ctx.dirty();
  return value!;
}

function lmoveCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const from = whereArg(argv[3]!);
  const to = whereArg(argv[4]!);
  return moveOne(ctx, argv[1]!, argv[2]!, from, to);
}

function rpoplpushCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return moveOne(ctx, argv[1]!, argv[2]!, false, true);
}

// ---- LMPOP -------------------------------------------------------------------------------------------

interface MpopArgs { keys: Buffer[]; head: boolean; count: number }

/** numkeys key... LEFT|RIGHT [COUNT n] (also ZMPOP's MIN|MAX via `words`), starting at argv[at]. */
function parseMpop(argv: Buffer[], at: number, words: [string, string]): MpopArgs {
  const nk = parseInt64(argv[at]!);
  if (nk === null || nk < 1) throw new ReplyError('ERR numkeys should be greater than 0');
  const whereIdx = BigInt(at) + 1n + BigInt(nk);
  if (whereIdx >= BigInt(argv.length)) throw Errors.syntax();
  const wi = Number(whereIdx);
  let head: boolean;
  if (isOpt(argv[wi]!, words[0])) head = true;
  else if (isOpt(argv[wi]!, words[1])) head = false;
  else throw Errors.syntax();
  let count = -1;
  for (let j = wi + 1; j < argv.length; j++) {
    if (count === -1 && isOpt(argv[j]!, 'count') && j + 1 < argv.length) {
      const c = parseInt64(argv[++j]!);
      if (c === null || c < 1) throw new ReplyError('ERR count should be greater than 0');
      count = toNum(BigInt(c));
    } else {
      throw Errors.syntax();
    }
  }
  return { keys: argv.slice(at + 1, wi), head, count: count === -1 ? 1 : count };
}

/** Pops up to `count` from the first non-empty list among keys; null when all are missing. */
function mpopLists(ctx: Ctx, keys: readonly Buffer[], head: boolean, count: number): Reply | null {
  for (const key of keys) {
    const h = open(ctx, key);
    if (h === null) continue;
    const out = popElements(h, count, head);
    h.commit();
    ctx.dirty(out.length);
    ctx.propagate([head ? 'LPOP' : 'RPOP', key, String(out.length)]);
    return [key, out];
  }
  return null;
}

function lmpopCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const a = parseMpop(argv, 1, ['left', 'right']);
  return mpopLists(ctx, a.keys, a.head, a.count) ?? NilArray.instance;
}

// ---- blocking ----------------------------------------------------------------------------------------

/**
 * The keys a blocking command may pop from now: all of them normally, only the ready key while
 * its client is being served (and none when that key is not one of them).
 */
function candidates(ctx: Ctx, keys: readonly Buffer[]): { keys: readonly Buffer[]; serving: boolean } {
  const only = registryOf(ctx.engine)?.servingKey(ctx.client) ?? null;
  if (only === null) return { keys, serving: false };
  return { keys: keys.some((k) => k.equals(only)) ? [only] : [], serving: true };
}

/**
 * Nothing to pop: block when the client can, else answer like a timeout (`nowait`).
 * While serving, the registry keeps the client blocked.
 */
function blockOrAnswer(ctx: Ctx, argv: Buffer[], keys: readonly Buffer[], kind: WaitKind, deadline: number, nowait: Reply): Reply {
  const reg = registryOf(ctx.engine);
  if (reg === null || !reg.canBlock(ctx.client)) return nowait;
  return reg.block(ctx.client, ctx.client.db, keys, kind, deadline, argv);
}

function bpopCommand(ctx: Ctx, argv: Buffer[], head: boolean): Reply {
  const deadline = parseBlockTimeout(argv[argv.length - 1]!, ctx.now);
  const keys = argv.slice(1, -1);
  for (const key of candidates(ctx, keys).keys) {
    const h = open(ctx, key);
    if (h === null) continue;
    const [value] = popElements(h, 1, head);
    h.commit();
    ctx.dirty();
    ctx.propagate([head ? 'LPOP' : 'RPOP', key]);
    return [key, value!];
  }
  return blockOrAnswer(ctx, argv, keys, 'list', deadline, NilArray.instance);
}

function blmoveGeneric(ctx: Ctx, argv: Buffer[], src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean,
  timeoutArg: Buffer, rewrite: Array<Buffer | string>): Reply {
  const deadline = parseBlockTimeout(timeoutArg, ctx.now);
  const c = candidates(ctx, [src]);
  if (c.keys.length > 0) {
    const v = moveOne(ctx, src, dst, fromHead, toHead);
    if (v !== null) {
      // Served after blocking, Redis 7.0 writes its own lower-case LMOVE words; served at once,
      // the client's words as given.
      if (c.serving && rewrite.length === 5) rewrite = [rewrite[0]!, src, dst, fromHead ? 'left' : 'right', toHead ? 'left' : 'right'];
      ctx.propagate(rewrite);
      return v;
    }
  }
  return blockOrAnswer(ctx, argv, [src], 'list', deadline, null);
}

function blmoveCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const from = whereArg(argv[3]!);
  const to = whereArg(argv[4]!);
  return blmoveGeneric(ctx, argv, argv[1]!, argv[2]!, from, to, argv[5]!, ['LMOVE', argv[1]!, argv[2]!, argv[3]!, argv[4]!]);
}

function brpoplpushCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return blmoveGeneric(ctx, argv, argv[1]!, argv[2]!, false, true, argv[3]!, ['RPOPLPUSH', argv[1]!, argv[2]!]);
}

function blmpopCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const deadline = parseBlockTimeout(argv[1]!, ctx.now);
  const a = parseMpop(argv, 2, ['left', 'right']);
  const r = mpopLists(ctx, candidates(ctx, a.keys).keys, a.head, a.count);
  if (r !== null) return r;
  return blockOrAnswer(ctx, argv, a.keys, 'list', deadline, NilArray.instance);
}

// ---- blocking sorted-set pops ---------------------------------------------------------------------------

/** The zset at key for a pop: null when missing, WRONGTYPE for another type. */
function zsetExists(ctx: Ctx, key: Buffer): boolean {
  const v = ctx.engine.keyspace.lookupValue(ctx.client.db, key);
  if (v === null) return false;
  if (!isZset(v)) throw Errors.wrongType();
  return true;
}

function bzpopCommand(ctx: Ctx, argv: Buffer[], where: 'min' | 'max'): Reply {
  const deadline = parseBlockTimeout(argv[argv.length - 1]!, ctx.now);
  const keys = argv.slice(1, -1);
  for (const key of candidates(ctx, keys).keys) {
    if (!zsetExists(ctx, key)) continue;
    const popped = zsetPop(ctx.engine.keyspace, ctx.client.db, key, where, 1);
    if (popped === null || popped.length === 0) continue;
    const [member, score] = popped[0]!;
    ctx.dirty();
    ctx.propagate([where === 'min' ? 'ZPOPMIN' : 'ZPOPMAX', key]);
    return [key, member, new DoubleReply(score)];
  }
  return blockOrAnswer(ctx, argv, keys, 'zset', deadline, NilArray.instance);
}

function bzmpopCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const deadline = parseBlockTimeout(argv[1]!, ctx.now);
  const a = parseMpop(argv, 2, ['min', 'max']);
  const where = a.head ? 'min' : 'max';
  for (const key of candidates(ctx, a.keys).keys) {
    if (!zsetExists(ctx, key)) continue;
    const popped = zsetPop(ctx.engine.keyspace, ctx.client.db, key, where, a.count);
    if (popped === null || popped.length === 0) continue;
    ctx.dirty(popped.length);
    ctx.propagate([where === 'min' ? 'ZPOPMIN' : 'ZPOPMAX', key, String(popped.length)]);
    return [key, popped.map(([m, s]): Reply => [m, new DoubleReply(s)])];
  }
  return blockOrAnswer(ctx, argv, a.keys, 'zset', deadline, NilArray.instance);
}

// ---- table -------------------------------------------------------------------------------------------

function row(
  name: string, arity: number, flags: CommandFlag[], firstKey: number, lastKey: number, step: number,
  since: string, summary: string, handler: Handler<EngineLike>, group = 'list',
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey, lastKey, step, group, since, summary, handler };
}

export const listsCommands: readonly CommandSpec<EngineLike>[] = [
  row('lpush', -3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Prepend one or more elements to a list.', (c, a) => push(c, a, true, false)),
  row('rpush', -3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Append one or more elements to a list.', (c, a) => push(c, a, false, false)),
  row('lpushx', -3, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.2.0', 'Prepend elements to a list only when the list exists.', (c, a) => push(c, a, true, true)),
  row('rpushx', -3, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.2.0', 'Append elements to a list only when the list exists.', (c, a) => push(c, a, false, true)),
  row('lpop', -2, ['write', 'fast'], 1, 1, 1, '1.0.0', 'Remove and return the first elements of a list.', (c, a) => popCommand(c, a, true)),
  row('rpop', -2, ['write', 'fast'], 1, 1, 1, '1.0.0', 'Remove and return the last elements of a list.', (c, a) => popCommand(c, a, false)),
  row('llen', 2, ['readonly', 'fast'], 1, 1, 1, '1.0.0', 'Return the length of a list.', llenCommand),
  row('lindex', 3, ['readonly'], 1, 1, 1, '1.0.0', 'Return an element of a list by its index.', lindexCommand),
  row('lrange', 4, ['readonly'], 1, 1, 1, '1.0.0', 'Return a range of elements of a list.', lrangeCommand),
  row('lpos', -3, ['readonly'], 1, 1, 1, '6.0.6', 'Return the indexes of matching elements of a list.', lposCommand),
  row('lset', 4, ['write', 'denyoom'], 1, 1, 1, '1.0.0', 'Set the element at an index of a list.', lsetCommand),
  row('ltrim', 4, ['write'], 1, 1, 1, '1.0.0', 'Keep only a range of elements of a list.', ltrimCommand),
  row('lrem', 4, ['write'], 1, 1, 1, '1.0.0', 'Remove elements equal to a value from a list.', lremCommand),
  row('linsert', 5, ['write', 'denyoom'], 1, 1, 1, '2.2.0', 'Insert an element before or after another element of a list.', linsertCommand),
  row('lmove', 5, ['write', 'denyoom'], 1, 2, 1, '6.2.0', 'Pop an element from one list and push it onto another.', lmoveCommand),
  row('rpoplpush', 3, ['write', 'denyoom'], 1, 2, 1, '1.2.0', 'Pop the last element of a list and push it onto the head of another.', rpoplpushCommand),
  row('lmpop', -4, ['write'], 0, 0, 0, '7.0.0', 'Pop elements from the first non-empty list among several.', lmpopCommand),
  row('blpop', -3, ['write', 'noscript', 'blocking'], 1, -2, 1, '2.0.0', 'Pop the first element of the first non-empty list, or wait for one.', (c, a) => bpopCommand(c, a, true)),
  row('brpop', -3, ['write', 'noscript', 'blocking'], 1, -2, 1, '2.0.0', 'Pop the last element of the first non-empty list, or wait for one.', (c, a) => bpopCommand(c, a, false)),
  row('blmove', 6, ['write', 'denyoom', 'noscript', 'blocking'], 1, 2, 1, '6.2.0', 'Pop an element from a list and push it onto another, or wait for one.', blmoveCommand),
  row('brpoplpush', 4, ['write', 'denyoom', 'noscript', 'blocking'], 1, 2, 1, '2.2.0', 'Pop the last element of a list and push it onto another, or wait for one.', brpoplpushCommand),
  row('blmpop', -5, ['write', 'blocking'], 0, 0, 0, '7.0.0', 'Pop elements from the first non-empty list among several, or wait for one.', blmpopCommand),
  row('bzpopmin', -3, ['write', 'noscript', 'blocking', 'fast'], 1, -2, 1, '5.0.0', 'Pop the lowest-scored member of the first non-empty sorted set, or wait for one.', (c, a) => bzpopCommand(c, a, 'min'), 'sorted-set'),
  row('bzpopmax', -3, ['write', 'noscript', 'blocking', 'fast'], 1, -2, 1, '5.0.0', 'Pop the highest-scored member of the first non-empty sorted set, or wait for one.', (c, a) => bzpopCommand(c, a, 'max'), 'sorted-set'),
  row('bzmpop', -5, ['write', 'blocking'], 0, 0, 0, '7.0.0', 'Pop members from the first non-empty sorted set among several, or wait for one.', bzmpopCommand, 'sorted-set'),
];
