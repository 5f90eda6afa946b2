/**
 * The string family: GET/SET and their variants, counters, ranges, LCS.
 *
 * Conventions for every handler here
 *  - Validate everything that can fail before the first write: a failed command changes nothing.
 *  - Values returned by the keyspace are views into shared memory, valid until the next write.
 *    A reply (or anything kept across a write) gets a copy.
 *  - Commands that overwrite a string keep its TTL (INCR, APPEND, SETRANGE, INCRBYFLOAT), commands
 *    that replace the key drop it (SET without KEEPTTL, GETSET, MSET), as in Redis.
 *  - Propagation follows Redis's rewrites (see persistence.md §2.2): relative and second-based
 *    expirations become absolute milliseconds, so replaying the stream later gives the same state.
 */
import { Errors, ReplyError } from '../errors.js';
import { KEEP_TTL, NO_EXPIRE } from '../keyspace/api.js';
import {
  INT64_MAX, INT64_MIN, argInt64, formatLongDoubleHuman, isOpt, longDoubleAdd, parseInt64, parseLongDouble,
  LongDouble,
} from './args.js';
import type { EngineLike } from './engine-like.js';
import { MapReply, OK } from './types.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';

type Ctx = CommandContext<EngineLike>;

// Shared propagation words (never mutated).
const W_SET = Buffer.from('SET');
const W_PXAT = Buffer.from('PXAT');
const W_PEXPIREAT = Buffer.from('PEXPIREAT');
const W_DEL = Buffer.from('DEL');
const W_PERSIST = Buffer.from('PERSIST');
const W_KEEPTTL = Buffer.from('KEEPTTL');
const EMPTY = Buffer.alloc(0);

/** proto-max-bulk-len default (512 MB). */
export const DEFAULT_PROTO_MAX_BULK_LEN = 512 * 1024 * 1024;

function protoMaxBulkLen(engine: EngineLike): number {
  return engine.protoMaxBulkLen;
}

/** checkStringLength: would a string of size+append bytes exceed the limit? */
function checkStringLength(ctx: Ctx, size: number | bigint, append: number): void {
  if (typeof size === 'bigint' || size + append > protoMaxBulkLen(ctx.engine)) {
    throw new ReplyError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  }
}

function copy(v: Uint8Array): Buffer {
  return Buffer.from(v);
}

/**
 * A zero-copy Buffer over a value in shared memory, for replies of read-only commands: the reply
 * contract (types.ts, server/engine-port.ts) has front ends copy reply bytes before the next
 * command runs, so one copy is made instead of two.
 */
function view(v: Uint8Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// ================================================================================================
// SET and friends
// ================================================================================================

const F_NX = 1 << 0;
const F_XX = 1 << 1;
const F_EX = 1 << 2;
const F_PX = 1 << 3;
const F_KEEPTTL = 1 << 4;
const F_GET = 1 << 5;
const F_EXAT = 1 << 6;
const F_PXAT = 1 << 7;
const F_PERSIST = 1 << 8;
const F_ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

interface ExtendedArgs {
  flags: number;
  /** The EX/PX/EXAT/PXAT argument, if any (the last one given wins). */
  expire: Buffer | null;
}

/**
 * The option grammar SET and GETEX share. Each option is refused (syntax error) when it conflicts
 * with one already seen, and NX/XX/GET/KEEPTTL belong to SET only, PERSIST to GETEX only.
 * Repeating the same option is allowed; for EX-style options the later value wins.
 */
function parseExtendedArgs(argv: Buffer[], forSet: boolean): ExtendedArgs {
  let flags = 0;
  let expire: Buffer | null = null;
  for (let j = forSet ? 3 : 2; j < argv.length; j++) {
    const opt = argv[j]!;
    const hasNext = j + 1 < argv.length;
    if (forSet && isOpt(opt, 'nx') && !(flags & F_XX)) {
      flags |= F_NX;
    } else if (forSet && isOpt(opt, 'xx') && !(flags & F_NX)) {
      flags |= F_XX;
    } else if (forSet && isOpt(opt, 'get')) {
      flags |= F_GET;
    } else if (forSet && isOpt(opt, 'keepttl') && !(flags & (F_PERSIST | F_ANY_EXPIRE))) {
      flags |= F_KEEPTTL;
    } else if (!forSet && isOpt(opt, 'persist') && !(flags & (F_ANY_EXPIRE | F_KEEPTTL))) {
      flags |= F_PERSIST;
    } else if (hasNext && isOpt(opt, 'ex') && !(flags & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT))) {
      flags |= F_EX;
      expire = argv[++j]!;
    } else if (hasNext && isOpt(opt, 'px') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT))) {
      flags |= F_PX;
      expire = argv[++j]!;
    } else if (hasNext && isOpt(opt, 'exat') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT))) {
      flags |= F_EXAT;
      expire = argv[++j]!;
    } else if (hasNext && isOpt(opt, 'pxat') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX))) {
      flags |= F_PXAT;
      expire = argv[++j]!;
    } else {
      throw Errors.syntax();
    }
  }
  return { flags, expire };
}

const MAX_SECONDS = 9223372036854775n; // LLONG_MAX / 1000

/**
 * getExpireMillisecondsOrReply: the absolute expire time in ms for an EX/PX/EXAT/PXAT argument.
 * The value must be positive and the result must stay a positive int64; otherwise
 * `ERR invalid expire time in '<cmd>' command`. Returned as a number when it is a safe integer.
 */
function expireArgToMs(ctx: Ctx, arg: Buffer, seconds: boolean, relative: boolean, cmd: string): number | bigint {
  const raw = argInt64(arg);
  if (typeof raw === 'number') {
    if (raw <= 0) throw Errors.invalidExpire(cmd);
    let ms = seconds ? raw * 1000 : raw;
    if (relative) ms += ctx.now;
    if (Number.isSafeInteger(ms)) return ms;
  } else if (raw <= 0n) {
    throw Errors.invalidExpire(cmd);
  }
  let ms = BigInt(raw);
  if (seconds) {
    if (ms > MAX_SECONDS) throw Errors.invalidExpire(cmd);
    ms *= 1000n;
  }
  if (relative) ms += BigInt(ctx.now);
  if (ms > INT64_MAX) throw Errors.invalidExpire(cmd); // C would wrap to a negative time
  return ms;
}

/** Would this absolute time delete the key right away? Never on a replica / while loading. */
function alreadyExpired(ctx: Ctx, when: number | bigint): boolean {
  return when <= ctx.now && ctx.engine.keyspace.expireDeletes;
}

/**
 * setGenericCommand: SET, SETNX, SETEX, PSETEX. `okReply`/`abortReply` are what the caller answers
 * when the write happens / is refused by NX or XX; with GET the old value is the reply either way.
 */
function setGeneric(
  ctx: Ctx, argv: Buffer[], key: Buffer, value: Buffer, flags: number, expire: Buffer | null,
  cmd: string, okReply: Reply, abortReply: Reply,
): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  let when: number | bigint = 0;
  if (expire !== null) {
    when = expireArgToMs(ctx, expire, (flags & (F_EX | F_EXAT)) !== 0, (flags & (F_EX | F_PX)) !== 0, cmd);
  }
  let old: Reply = null;
  if (flags & F_GET) {
    const v = ks.getString(db, key);
    if (v !== null) old = copy(v);
  }
  const found = flags & F_GET ? old !== null : (flags & (F_NX | F_XX)) !== 0 && ks.exists(db, key);
  if (((flags & F_NX) && found) || ((flags & F_XX) && !found)) {
    return flags & F_GET ? old : abortReply;
  }
  const at = expire !== null ? Number(when) : flags & F_KEEPTTL ? KEEP_TTL : NO_EXPIRE;
  ks.setString(db, key, value, at);
  ctx.dirty();
  if (expire !== null) {
    ctx.propagate([W_SET, key, value, W_PXAT, String(when)]);
  } else if (flags & F_GET) {
    const out: Buffer[] = [];
    for (let j = 0; j < argv.length; j++) if (j < 3 || !isOpt(argv[j]!, 'get')) out.push(argv[j]!);
    ctx.propagate(out);
  }
  return flags & F_GET ? old : okReply;
}

function setCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const { flags, expire } = parseExtendedArgs(argv, true);
  return setGeneric(ctx, argv, argv[1]!, argv[2]!, flags, expire, 'set', OK, null);
}

function setnxCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return setGeneric(ctx, argv, argv[1]!, argv[2]!, F_NX, null, 'setnx', 1, 0);
}

function setexCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return setGeneric(ctx, argv, argv[1]!, argv[3]!, F_EX, argv[2]!, 'setex', OK, null);
}

function psetexCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return setGeneric(ctx, argv, argv[1]!, argv[3]!, F_PX, argv[2]!, 'psetex', OK, null);
}

function getCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const v = ctx.engine.keyspace.getString(ctx.client.db, argv[1]!);
  return v === null ? null : view(v);
}

function getsetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const v = ks.getString(db, argv[1]!);
  const old = v === null ? null : copy(v);
  ks.setString(db, argv[1]!, argv[2]!, NO_EXPIRE);
  ctx.dirty();
  ctx.propagate([W_SET, argv[1]!, argv[2]!]);
  return old;
}

/** GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST] */
function getexCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const { flags, expire } = parseExtendedArgs(argv, false);
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const key = argv[1]!;
  const v = ks.getString(db, key);
  if (v === null) return null;
  // The expire argument is validated only once the key is known to exist, as in Redis.
  let when: number | bigint = 0;
  if (expire !== null) {
    when = expireArgToMs(ctx, expire, (flags & (F_EX | F_EXAT)) !== 0, (flags & (F_EX | F_PX)) !== 0, 'getex');
  }
  const value = copy(v);
  if ((flags & (F_EXAT | F_PXAT)) && alreadyExpired(ctx, when)) {
    ks.del(db, key);
    ctx.dirty();
    ctx.propagate([W_DEL, key]);
  } else if (expire !== null) {
    ks.setExpire(db, key, Number(when));
    ctx.dirty();
    ctx.propagate([W_PEXPIREAT, key, String(when)]);
  } else if (flags & F_PERSIST) {
    if (ks.persist(db, key)) {
      ctx.dirty();
      ctx.propagate([W_PERSIST, key]);
    }
  }
  return value;
}

function getdelCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const v = ks.getString(db, argv[1]!);
  if (v === null) return null;
  const value = copy(v);
  if (ks.del(db, argv[1]!)) {
    ctx.dirty();
    ctx.propagate([W_DEL, argv[1]!]);
  }
  return value;
}

// ================================================================================================
// Multi-key
// ================================================================================================

/** MGET: nil for missing keys and for keys of another type (never WRONGTYPE). */
function mgetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const out: Reply[] = new Array<Reply>(argv.length - 1);
  for (let j = 1; j < argv.length; j++) {
    let v: Uint8Array | null = null;
    try {
      v = ks.getString(db, argv[j]!);
    } catch (err) {
      if (!(err instanceof ReplyError)) throw err;
    }
    out[j - 1] = v === null ? null : view(v); // lazy expiry frees slots but never moves a record
  }
  return out;
}

/** msetGenericCommand: MSET and MSETNX (all or nothing when any key exists). */
function msetGeneric(ctx: Ctx, argv: Buffer[], nx: boolean, cmd: string): Reply {
  if (argv.length % 2 === 0) throw Errors.arity(cmd);
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  if (nx) {
    for (let j = 1; j < argv.length; j += 2) if (ks.exists(db, argv[j]!)) return 0;
  }
  for (let j = 1; j < argv.length; j += 2) ks.setString(db, argv[j]!, argv[j + 1]!, NO_EXPIRE);
  ctx.dirty((argv.length - 1) / 2);
  return nx ? 1 : OK;
}

function msetCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return msetGeneric(ctx, argv, false, 'mset');
}

function msetnxCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return msetGeneric(ctx, argv, true, 'msetnx');
}

// ================================================================================================
// Counters
// ================================================================================================

/**
 * incrDecrCommand: adds `incr` to the int64 stored at key (missing = 0). Numbers when everything
 * is a safe integer, bigint otherwise, with Redis's overflow error at the int64 edges.
 */
function incrDecr(ctx: Ctx, key: Buffer, incr: number | bigint): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const v = ks.getString(db, key);
  let cur: number | bigint = 0;
  if (v !== null) {
    const p = parseInt64(v);
    if (p === null) throw Errors.notInteger();
    cur = p;
  }
  let result: number | bigint;
  if (typeof cur === 'number' && typeof incr === 'number' && Number.isSafeInteger(cur + incr)) {
    result = cur + incr;
  } else {
    const r = BigInt(cur) + BigInt(incr);
    if (r > INT64_MAX || r < INT64_MIN) throw Errors.overflow();
    result = r >= -9007199254740991n && r <= 9007199254740991n ? Number(r) : r;
  }
  ks.setString(db, key, Buffer.from(String(result), 'latin1'), v === null ? NO_EXPIRE : KEEP_TTL);
  ctx.dirty();
  return result;
}

function incrCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return incrDecr(ctx, argv[1]!, 1);
}

function decrCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return incrDecr(ctx, argv[1]!, -1);
}

function incrbyCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return incrDecr(ctx, argv[1]!, argInt64(argv[2]!));
}

function decrbyCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const incr = argInt64(argv[2]!);
  if (incr === INT64_MIN) throw new ReplyError('ERR decrement would overflow');
  return incrDecr(ctx, argv[1]!, typeof incr === 'number' ? 0 - incr : 0n - incr);
}

const LD_ZERO: LongDouble = { kind: 'finite', neg: false, m: 0n, e: 0 };

/**
 * INCRBYFLOAT: long double arithmetic (see args.ts), result stored and replied in ld2string human
 * form, and propagated as SET key <result> KEEPTTL so replicas never redo the float math.
 */
function incrbyfloatCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const key = argv[1]!;
  const v = ks.getString(db, key);
  const cur = v === null ? LD_ZERO : parseLongDouble(v);
  if (cur === null) throw Errors.notFloat();
  const incr = parseLongDouble(argv[2]!);
  if (incr === null) throw Errors.notFloat();
  const sum = longDoubleAdd(cur, incr);
  if (sum.kind !== 'finite') throw new ReplyError('ERR increment would produce NaN or Infinity');
  const text = Buffer.from(formatLongDoubleHuman(sum), 'latin1');
  ks.setString(db, key, text, v === null ? NO_EXPIRE : KEEP_TTL);
  ctx.dirty();
  ctx.propagate([W_SET, key, text, W_KEEPTTL]);
  return text;
}

// ================================================================================================
// Byte ranges
// ================================================================================================

function appendCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const key = argv[1]!;
  const add = argv[2]!;
  const v = ks.getString(db, key);
  let total: number;
  if (v === null) {
    ks.setString(db, key, add, NO_EXPIRE);
    total = add.length;
  } else {
    checkStringLength(ctx, v.length, add.length);
    total = v.length + add.length;
    const next = Buffer.allocUnsafe(total);
    next.set(v, 0);
    next.set(add, v.length);
    ks.setString(db, key, next, KEEP_TTL);
  }
  ctx.dirty();
  return total;
}

function strlenCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const v = ctx.engine.keyspace.getString(ctx.client.db, argv[1]!);
  return v === null ? 0 : v.length;
}

/**
 * GETRANGE/SUBSTR: inclusive byte range with negative indexes counted from the end. Both indexes
 * are int64; when one of them is outside the safe range the same logic runs in bigint, because
 * clamping early would change which of two huge negative indexes is the larger.
 */
function getrangeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const s0 = argInt64(argv[2]!);
  const e0 = argInt64(argv[3]!);
  const v = ctx.engine.keyspace.getString(ctx.client.db, argv[1]!);
  if (v === null) return EMPTY;
  const len = v.length;
  let start: number;
  let end: number;
  if (typeof s0 === 'number' && typeof e0 === 'number') {
    if (s0 < 0 && e0 < 0 && s0 > e0) return EMPTY;
    start = s0 < 0 ? len + s0 : s0;
    end = e0 < 0 ? len + e0 : e0;
  } else {
    const bs = BigInt(s0);
    const be = BigInt(e0);
    if (bs < 0n && be < 0n && bs > be) return EMPTY;
    const bl = BigInt(len);
    const cs = bs < 0n ? bl + bs : bs;
    const ce = be < 0n ? bl + be : be;
    // Anything beyond ±2^53 behaves like a very large or very small index from here on.
    start = cs > bl ? len + 1 : cs < 0n ? -1 : Number(cs);
    end = ce > bl ? len + 1 : ce < 0n ? -1 : Number(ce);
  }
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return EMPTY;
  return copy(v.subarray(start, end + 1));
}

function setrangeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const offset = argInt64(argv[2]!);
  if (offset < 0) throw new ReplyError('ERR offset is out of range');
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const key = argv[1]!;
  const value = argv[3]!;
  const v = ks.getString(db, key);
  if (v === null) {
    if (value.length === 0) return 0;
    checkStringLength(ctx, offset, value.length);
    const off = Number(offset);
    const next = Buffer.alloc(off + value.length);
    next.set(value, off);
    ks.setString(db, key, next, NO_EXPIRE);
    ctx.dirty();
    return next.length;
  }
  if (value.length === 0) return v.length;
  checkStringLength(ctx, offset, value.length);
  const off = Number(offset);
  const total = Math.max(v.length, off + value.length);
  const next = Buffer.alloc(total);
  next.set(v, 0);
  next.set(value, off);
  ks.setString(db, key, next, KEEP_TTL);
  ctx.dirty();
  return total;
}

// ================================================================================================
// LCS
// ================================================================================================

const MATCHES = Buffer.from('matches');
const LEN = Buffer.from('len');

/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]
 * Classic O(n·m) dynamic programming, then a walk back from the end that rebuilds the sequence and
 * groups consecutive matched bytes into ranges. The walk prefers moving in the first string when
 * the two neighbours tie, so the chosen sequence (and the ranges) are the ones Redis reports.
 */
function lcsCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const ta = ks.typeOf(db, argv[1]!);
  const tb = ks.typeOf(db, argv[2]!);
  if ((ta !== null && ta !== 'string') || (tb !== null && tb !== 'string')) {
    throw new ReplyError('ERR The specified keys must contain string values');
  }
  let getlen = false;
  let getidx = false;
  let withmatchlen = false;
  let minmatchlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!;
    if (isOpt(opt, 'idx')) getidx = true;
    else if (isOpt(opt, 'len')) getlen = true;
    else if (isOpt(opt, 'withmatchlen')) withmatchlen = true;
    else if (isOpt(opt, 'minmatchlen') && j + 1 < argv.length) {
      const m = argInt64(argv[++j]!);
      minmatchlen = m < 0 ? 0 : typeof m === 'bigint' ? Number.MAX_SAFE_INTEGER : m;
    } else throw Errors.syntax();
  }
  if (getlen && getidx) throw new ReplyError('ERR If you want both the length and indexes, please just use IDX.');
  const va = ks.getString(db, argv[1]!);
  const a = va === null ? EMPTY : copy(va);
  const vb = ks.getString(db, argv[2]!);
  const b = vb === null ? EMPTY : copy(vb);
  const alen = a.length;
  const blen = b.length;
  const cells = (alen + 1) * (blen + 1);
  if (cells * 4 > protoMaxBulkLen(ctx.engine)) {
    throw new ReplyError('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  const w = blen + 1;
  const t = new Uint32Array(cells);
  for (let i = 1; i <= alen; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= blen; j++) {
      t[i * w + j] = ai === b[j - 1] ? t[(i - 1) * w + j - 1]! + 1 : Math.max(t[(i - 1) * w + j]!, t[i * w + j - 1]!);
    }
  }
  const total = t[alen * w + blen]!;
  if (getlen && !getidx) return total;

  const seq = Buffer.allocUnsafe(total);
  let idx = total;
  const matches: Reply[] = [];
  let aStart = -1; // -1: no range open
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      seq[--idx] = a[i - 1]!;
      if (aStart < 0) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      i--;
      j--;
    } else {
      if (t[(i - 1) * w + j]! > t[i * w + j - 1]!) i--; else j--;
      if (aStart >= 0) emit = true;
    }
    if (emit) {
      const mlen = aEnd - aStart + 1;
      if (getidx && (minmatchlen === 0 || mlen >= minmatchlen)) {
        const m: Reply[] = [[aStart, aEnd], [bStart, bEnd]];
        if (withmatchlen) m.push(mlen);
        matches.push(m);
      }
      aStart = -1;
    }
  }
  if (getidx) return new MapReply([[MATCHES, matches], [LEN, total]]);
  return seq;
}

// ================================================================================================
// Command table
// ================================================================================================

function row(
  name: string, arity: number, flags: CommandFlag[], firstKey: number, lastKey: number, step: number,
  since: string, summary: string, handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey, lastKey, step, group: 'string', since, summary, handler };
}

export const stringCommands: readonly CommandSpec<EngineLike>[] = [
  row('get', 2, ['readonly', 'fast'], 1, 1, 1, '1.0.0', 'Return the string value of a key.', getCommand),
  row('set', -3, ['write', 'denyoom'], 1, 1, 1, '1.0.0', 'Store a string value, with optional expiry and conditions.', setCommand),
  row('setnx', 3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Store a string value only when the key is absent.', setnxCommand),
  row('setex', 4, ['write', 'denyoom'], 1, 1, 1, '2.0.0', 'Store a string value with a TTL in seconds.', setexCommand),
  row('psetex', 4, ['write', 'denyoom'], 1, 1, 1, '2.6.0', 'Store a string value with a TTL in milliseconds.', psetexCommand),
  row('getset', 3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Store a string value and return the previous one.', getsetCommand),
  row('getex', -2, ['write', 'fast'], 1, 1, 1, '6.2.0', 'Return a string value and change its expiry.', getexCommand),
  row('getdel', 2, ['write', 'fast'], 1, 1, 1, '6.2.0', 'Return a string value and remove the key.', getdelCommand),
  row('mget', -2, ['readonly', 'fast'], 1, -1, 1, '1.0.0', 'Return the string values of several keys.', mgetCommand),
  row('mset', -3, ['write', 'denyoom'], 1, -1, 2, '1.0.1', 'Store several string values at once.', msetCommand),
  row('msetnx', -3, ['write', 'denyoom'], 1, -1, 2, '1.0.1', 'Store several string values only when none of the keys exist.', msetnxCommand),
  row('incr', 2, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Add one to an integer value.', incrCommand),
  row('incrby', 3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Add an integer to an integer value.', incrbyCommand),
  row('decr', 2, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Subtract one from an integer value.', decrCommand),
  row('decrby', 3, ['write', 'denyoom', 'fast'], 1, 1, 1, '1.0.0', 'Subtract an integer from an integer value.', decrbyCommand),
  row('incrbyfloat', 3, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.6.0', 'Add a floating point number to a numeric value.', incrbyfloatCommand),
  row('append', 3, ['write', 'denyoom', 'fast'], 1, 1, 1, '2.0.0', 'Add bytes to the end of a string value.', appendCommand),
  row('strlen', 2, ['readonly', 'fast'], 1, 1, 1, '2.2.0', 'Return the byte length of a string value.', strlenCommand),
  row('getrange', 4, ['readonly'], 1, 1, 1, '2.4.0', 'Return a byte range of a string value.', getrangeCommand),
  row('substr', 4, ['readonly'], 1, 1, 1, '1.0.0', 'Return a byte range of a string value (old name of GETRANGE).', getrangeCommand),
  row('setrange', 4, ['write', 'denyoom'], 1, 1, 1, '2.2.0', 'Overwrite bytes of a string value from an offset.', setrangeCommand),
  row('lcs', -3, ['readonly'], 1, 2, 1, '7.0.0', 'Compute the longest common subsequence of two string values.', lcsCommand),
];
