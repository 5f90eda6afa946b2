/**
 * The hashes command family: HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS
 * HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN. Storage and encodings live in engine/types/hash.ts.
 *
 * Conventions (as in strings.ts)
 *  - Everything that can fail is checked before the first write: a failed command changes nothing.
 *    Redis's order of checks is kept, because it decides which error a bad call gets (e.g. HINCRBY
 *    parses its increment before it looks at the key).
 *  - A write that changed nothing does not call dirty(), so it is not propagated.
 *  - HINCRBYFLOAT propagates as HSET with the final text (Redis 7.0 does, so replicas and AOF
 *    replays never redo floating point).
 *  - Replies follow Redis 7.0's RESP3 shapes: HGETALL is a map; HRANDFIELD … WITHVALUES is an
 *    array of [field, value] pairs in RESP3 and a flat array in RESP2.
 */
import { Errors, ReplyError } from '../errors.js';
import { VT_HASH_LISTPACK, type Keyspace, type StoredValue } from '../keyspace/api.js';
import {
  DEFAULT_HASH_LIMITS, forEachHashEntry, hashDel, hashEntries, hashExists, hashGet, hashLen, hashRandomEntry,
  hashSet, lookupHash, type HashLimits,
} from '../types/hash.js';
import {
  INT64_MAX, INT64_MIN, argInt64Big, formatLongDoubleHuman, isOpt, longDoubleAdd, parseInt64, parseInt64Big,
  parseLongDouble,
} from './args.js';
import { configInt, type EngineLike } from './engine-like.js';
import { parseScanCursor } from './generic.js';
import { globMatch, isMatchAll } from './glob.js';
import { MapReply, OK } from './types.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';

type Ctx = CommandContext<EngineLike>;

const W_HSET = Buffer.from('HSET');

// ================================================================================================
// Shared helpers (also used by sets.ts)
// ================================================================================================

export { configInt };

function hashLimits(engine: EngineLike): HashLimits {
  return {
    maxListpackEntries: configInt(engine, 'hash-max-listpack-entries', DEFAULT_HASH_LIMITS.maxListpackEntries),
    maxListpackValue: configInt(engine, 'hash-max-listpack-value', DEFAULT_HASH_LIMITS.maxListpackValue),
  };
}

/** Options of HSCAN/SSCAN/ZSCAN: COUNT (default 10) and MATCH (null = everything). */
export interface CollectionScanOptions { count: number; pattern: Buffer | null }

/**
 * scanGenericCommand's option loop for a key scan: COUNT n (an integer >= 1, else syntax error),
 * MATCH p; TYPE is only SCAN's, so here it is a syntax error like anything else.
 */
export function parseCollectionScanOptions(argv: Buffer[], from: number): CollectionScanOptions {
  let count = 10;
  let pattern: Buffer | null = null;
  for (let i = from; i < argv.length;) {
    const more = argv.length - i >= 2;
    const opt = argv[i]!;
    if (more && isOpt(opt, 'count')) {
      const c = parseInt64(argv[i + 1]!);
      if (c === null) throw Errors.notInteger();
      if (c < 1) throw Errors.syntax();
      count = typeof c === 'bigint' ? Number.MAX_SAFE_INTEGER : c;
      i += 2;
    } else if (more && isOpt(opt, 'match')) {
      const p = argv[i + 1]!;
      pattern = isMatchAll(p) ? null : p;
      i += 2;
    } else {
      throw Errors.syntax();
    }
  }
  return { count, pattern };
}

const SAFE_CURSOR_MASK = (1n << 53n) - 1n;

/** The cursor as the collection scan takes it (low 53 bits; real cursors are bucket indexes). */
export function scanCursorNumber(arg: Uint8Array): number {
  return Number(parseScanCursor(arg) & SAFE_CURSOR_MASK);
}

/**
 * Parses a *RANDMEMBER/HRANDFIELD count: every int64 but LONG_MIN, with Redis's two messages.
 * Returned as a bigint: callers compare it with sizes before making a number of it.
 */
export function parseRandCount(arg: Uint8Array): bigint {
  const v = parseInt64Big(arg);
  if (v === null) throw Errors.notInteger();
  if (v === INT64_MIN) {
    throw new ReplyError('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  }
  return v;
}

/**
 * forkless's limit for replies with repetitions (negative counts of HRANDFIELD, SRANDMEMBER,
 * ZRANDMEMBER): Redis streams such a reply into its output buffer until memory runs out; here the
 * reply is a JS array of Buffers (~100 heap bytes per element), and a count in the tens of millions
 * kills the process with a heap OOM. Counts past 2^22 (≈400 MB of reply) get Redis's generic range
 * message instead — a deliberate difference.
 */
export const MAX_RAND_REPLY = 2 ** 22;

/** Uniform random integer in [0, n). */
export function randIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Picks k distinct indexes of [0, n) (partial Fisher-Yates), returned ascending. */
export function pickDistinct(n: number, k: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + randIndex(n - i);
    const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t;
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

function keyOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

// ================================================================================================
// Handlers
// ================================================================================================

function ks(ctx: Ctx): Keyspace {
  return ctx.engine.keyspace;
}

function pairsOf(argv: Buffer[], from: number): Array<[Buffer, Buffer]> {
  const pairs: Array<[Buffer, Buffer]> = [];
  for (let i = from; i + 1 < argv.length; i += 2) pairs.push([argv[i]!, argv[i + 1]!]);
  return pairs;
}

/** HSET key field value [field value ...] → fields created. HMSET: same, replies OK. */
function hsetGeneric(ctx: Ctx, argv: Buffer[], name: 'hset' | 'hmset'): Reply {
  if (argv.length % 2 === 1) throw Errors.arity(name);
  const db = ctx.client.db;
  const key = argv[1]!;
  const sv = lookupHash(ks(ctx), db, key);
  const pairs = pairsOf(argv, 2);
  const created = hashSet(ks(ctx), db, key, sv, pairs, hashLimits(ctx.engine));
  ctx.dirty(pairs.length);
  return name === 'hset' ? created : OK;
}

function hsetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return hsetGeneric(ctx, argv, 'hset');
}

function hmsetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return hsetGeneric(ctx, argv, 'hmset');
}

function hsetnxCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const db = ctx.client.db;
  const key = argv[1]!;
  const sv = lookupHash(ks(ctx), db, key);
  if (sv !== null && hashExists(sv, argv[2]!)) return 0;
  hashSet(ks(ctx), db, key, sv, [[argv[2]!, argv[3]!]], hashLimits(ctx.engine));
  ctx.dirty();
  return 1;
}

function hgetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  return sv === null ? null : hashGet(sv, argv[2]!);
}

function hmgetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(sv === null ? null : hashGet(sv, argv[i]!));
  return out;
}

function hdelCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const db = ctx.client.db;
  const key = argv[1]!;
  const sv = lookupHash(ks(ctx), db, key);
  if (sv === null) return 0;
  const removed = hashDel(ks(ctx), db, key, sv, argv.slice(2));
  if (removed > 0) ctx.dirty(removed);
  return removed;
}

function hlenCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  return sv === null ? 0 : hashLen(sv);
}

function hstrlenCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  if (sv === null) return 0;
  const v = hashGet(sv, argv[2]!);
  return v === null ? 0 : v.length;
}

function hexistsCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  return sv !== null && hashExists(sv, argv[2]!) ? 1 : 0;
}

function hkeysCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  const out: Buffer[] = [];
  if (sv !== null) forEachHashEntry(sv, (f) => out.push(Buffer.from(f)));
  return out;
}

function hvalsCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  const out: Buffer[] = [];
  if (sv !== null) forEachHashEntry(sv, (_f, v) => out.push(Buffer.from(v)));
  return out;
}

function hgetallCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  return new MapReply(sv === null ? [] : hashEntries(sv));
}

/**
 * HINCRBY key field increment. Order of checks as Redis: the increment, the key's type, the
 * current value ("hash value is not an integer"), then overflow.
 */
function hincrbyCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const incr = argInt64Big(argv[3]!);
  const db = ctx.client.db;
  const key = argv[1]!;
  const sv = lookupHash(ks(ctx), db, key);
  let cur = 0n;
  const old = sv === null ? null : hashGet(sv, argv[2]!);
  if (old !== null) {
    const v = parseInt64Big(old);
    if (v === null) throw new ReplyError('ERR hash value is not an integer');
    cur = v;
  }
  const next = cur + incr;
  if (next > INT64_MAX || next < INT64_MIN) throw Errors.overflow();
  const text = Buffer.from(next.toString(), 'latin1');
  hashSet(ks(ctx), db, key, sv, [[argv[2]!, text]], hashLimits(ctx.engine));
  ctx.dirty();
  return next >= -9007199254740991n && next <= 9007199254740991n ? Number(next) : next;
}

/**
 * HINCRBYFLOAT key field increment: long double arithmetic and printing exactly as INCRBYFLOAT
 * (args.ts). Checks in Redis's order: the increment parses, is finite ("value is NaN or
 * Infinity"), the key's type, the current value parses ("hash value is not a float"), the sum is
 * finite. Propagated as HSET key field <result>.
 */
function hincrbyfloatCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const incr = parseLongDouble(argv[3]!);
  if (incr === null) throw Errors.notFloat();
  if (incr.kind !== 'finite') throw new ReplyError('ERR value is NaN or Infinity');
  const db = ctx.client.db;
  const key = argv[1]!;
  const field = argv[2]!;
  const sv = lookupHash(ks(ctx), db, key);
  const old = sv === null ? null : hashGet(sv, field);
  let sum = incr;
  if (old !== null) {
    const cur = parseLongDouble(old);
    if (cur === null) throw new ReplyError('ERR hash value is not a float');
    sum = longDoubleAdd(cur, incr);
  }
  if (sum.kind !== 'finite') throw new ReplyError('ERR increment would produce NaN or Infinity');
  const text = Buffer.from(formatLongDoubleHuman(sum), 'latin1');
  hashSet(ks(ctx), db, key, sv, [[field, text]], hashLimits(ctx.engine));
  ctx.dirty();
  ctx.propagate([W_HSET, key, field, text]);
  return text;
}

/**
 * HRANDFIELD key [count [WITHVALUES]].
 * Without count: one random field (nil for a missing key). With count (Redis 7.0's cases):
 *   0 or missing key   empty array
 *   negative           |count| random fields, repetitions allowed
 *   >= size            the whole hash, in its iteration order
 *   otherwise          count distinct random fields (listpacks: in stored order, as Redis's
 *                      unique listpack sampling; hashtables: picked one by one)
 * Parse errors come before the key is looked at. WITHVALUES with |count| > LONG_MAX/2 is
 * "ERR value is out of range" (the reply would have 2×count elements).
 */
function hrandfieldCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const db = ctx.client.db;
  const key = argv[1]!;
  if (argv.length === 2) {
    const sv = lookupHash(ks(ctx), db, key);
    if (sv === null) return null;
    return hashRandomEntry(sv)[0];
  }
  const count = parseRandCount(argv[2]!);
  let withValues = false;
  if (argv.length > 4 || (argv.length === 4 && !isOpt(argv[3]!, 'withvalues'))) throw Errors.syntax();
  if (argv.length === 4) {
    withValues = true;
    const half = INT64_MAX / 2n;
    if (count < -half || count > half) throw new ReplyError('ERR value is out of range');
  }
  const sv = lookupHash(ks(ctx), db, key);
  if (sv === null || count === 0n) return [];
  const size = hashLen(sv);
  const resp3 = ctx.client.resp === 3;
  const emit = (out: Reply[], f: Buffer, v: Buffer): void => {
    if (!withValues) out.push(f);
    else if (resp3) out.push([f, v]);
    else out.push(f, v);
  };
  const out: Reply[] = [];
  if (count < 0n) {
    const n = -count;
    if (n > BigInt(MAX_RAND_REPLY)) throw new ReplyError('ERR value is out of range');
    const all = sv.vt === VT_HASH_LISTPACK ? hashEntries(sv) : null;
    for (let i = 0; i < Number(n); i++) {
      const [f, v] = all !== null ? all[randIndex(all.length)]! : hashRandomEntry(sv);
      emit(out, f, v);
    }
    return out;
  }
  if (count >= BigInt(size)) {
    for (const [f, v] of hashEntries(sv)) emit(out, f, v);
    return out;
  }
  const k = Number(count);
  if (sv.vt === VT_HASH_LISTPACK || k * 3 > size) {
    const all = hashEntries(sv);
    for (const i of pickDistinct(all.length, k)) emit(out, all[i]![0], all[i]![1]);
    return out;
  }
  const seen = new Set<string>();
  while (seen.size < k) {
    const [f, v] = hashRandomEntry(sv);
    const id = keyOf(f);
    if (seen.has(id)) continue;
    seen.add(id);
    emit(out, f, v);
  }
  return out;
}

/**
 * HSCAN key cursor [MATCH pattern] [COUNT count]. Order of checks as Redis: the cursor, then the
 * key (missing → an empty scan, options unchecked), its type, then the options. A listpack hash
 * is returned whole with cursor 0; a hashtable is walked bucket by bucket (Redis's reverse-binary
 * cursor) until COUNT elements or 10×COUNT steps. MATCH filters on fields afterwards.
 */
function hscanCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const cursor = scanCursorNumber(argv[2]!);
  const sv = lookupHash(ks(ctx), ctx.client.db, argv[1]!);
  if (sv === null) return [Buffer.from('0'), []];
  const { count, pattern } = parseCollectionScanOptions(argv, 3);
  const out: Buffer[] = [];
  const push = (f: Uint8Array, v: Uint8Array): void => {
    if (pattern !== null && !globMatch(pattern, f)) return;
    out.push(Buffer.from(f), Buffer.from(v));
  };
  if (sv.vt === VT_HASH_LISTPACK) {
    forEachHashEntry(sv, push);
    return [Buffer.from('0'), out];
  }
  const next = scanLarge(sv, cursor, count, (ref) => {
    const c = sv.large!;
    push(c.field(ref), c.payload(ref));
  });
  return [Buffer.from(String(next), 'latin1'), out];
}

/**
 * One collection scan call over a large collection: scanStep until `count` refs were gathered,
 * the cursor wrapped to 0, or 10×count steps (so a sparse table cannot make one call slow).
 * Refs are visited after the walk. Returns the next cursor.
 */
export function scanLarge(sv: StoredValue, cursor: number, count: number, visit: (ref: number) => void): number {
  const c = sv.large!;
  const refs: number[] = [];
  let maxSteps = count * 10;
  let cur = cursor;
  do {
    cur = c.scanStep(cur, refs);
  } while (cur !== 0 && maxSteps-- > 0 && refs.length < count);
  for (const r of refs) visit(r);
  return cur;
}

// ================================================================================================
// Command table
// ================================================================================================

function row(
  name: string, arity: number, flags: CommandFlag[], firstKey: number, lastKey: number, step: number,
  since: string, summary: string, handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey, lastKey, step, group: 'hash', since, summary, handler };
}

export const hashesCommands: readonly CommandSpec<EngineLike>[] = [
  row('hset', -4, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.0.0', 'Set the values of one or more fields of a hash.', hsetCommand),
  row('hsetnx', 4, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.0.0', 'Set the value of a hash field only when the field does not exist.', hsetnxCommand),
  row('hget', 3, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Return the value of a hash field.', hgetCommand),
  row('hmget', -3, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Return the values of several hash fields.', hmgetCommand),
  row('hmset', -4, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.0.0', 'Set the values of several hash fields (deprecated form of HSET).', hmsetCommand),
  row('hdel', -3, ['write', 'fast'], 1, 1, 1, '2.0.0', 'Delete one or more hash fields.', hdelCommand),
  row('hlen', 2, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Return the number of fields in a hash.', hlenCommand),
  row('hstrlen', 3, ['readonly', 'fast'], 1, 1, 1, '3.2.0', 'Return the length of the value of a hash field.', hstrlenCommand),
  row('hexists', 3, ['readonly', 'fast'], 1, 1, 1, '2.0.0', 'Determine whether a hash field exists.', hexistsCommand),
  row('hkeys', 2, ['readonly'], 1, 1, 1, '2.0.0', 'Return all the fields of a hash.', hkeysCommand),
  row('hvals', 2, ['readonly'], 1, 1, 1, '2.0.0', 'Return all the values of a hash.', hvalsCommand),
  row('hgetall', 2, ['readonly'], 1, 1, 1, '2.0.0', 'Return all the fields and values of a hash.', hgetallCommand),
  row('hincrby', 4, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.0.0', 'Add an integer to the integer value of a hash field.', hincrbyCommand),
  row('hincrbyfloat', 4, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.6.0', 'Add a floating point number to the value of a hash field.', hincrbyfloatCommand),
  row('hrandfield', -2, ['readonly'], 1, 1, 1, '6.2.0', 'Return one or more random fields of a hash.', hrandfieldCommand),
  row('hscan', -3, ['readonly'], 1, 1, 1, '2.8.0', 'Iterate over the fields and values of a hash.', hscanCommand),
];
