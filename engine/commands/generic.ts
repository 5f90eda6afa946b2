/**
 * The keyspace family: commands about keys rather than values — existence, deletion, types,
 * renaming, moving between databases, expiry, iteration — plus the database-level commands
 * (SELECT, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB) that Redis files under db.c and expire.c.
 *
 * As in strings.ts: validate first, write second; expirations propagate as absolute PEXPIREAT,
 * and an expiration already in the past deletes the key and propagates DEL.
 */
import { Errors, ReplyError } from '../errors.js';
import type { ValueType } from '../keyspace/api.js';
import {
  INT64_MAX, argDbIndex, argInt32, argInt64, bytesEqual, cString, errorText, isOpt,
} from './args.js';
import type { EngineLike } from './engine-like.js';
import { globMatch, isMatchAll } from './glob.js';
import { OK } from './types.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';

type Ctx = CommandContext<EngineLike>;

const W_PEXPIREAT = Buffer.from('PEXPIREAT');
const W_DEL = Buffer.from('DEL');

const sameObject = (): ReplyError => new ReplyError('ERR source and destination objects are the same');

// ================================================================================================
// Existence and deletion
// ================================================================================================

/** delGenericCommand: DEL and UNLINK (we free synchronously either way). */
function delCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  let n = 0;
  for (let j = 1; j < argv.length; j++) if (ks.del(db, argv[j]!)) n++;
  if (n > 0) ctx.dirty(n);
  return n;
}

/** EXISTS and TOUCH: how many of the arguments name live keys (repeats count again). */
function existsCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  let n = 0;
  for (let j = 1; j < argv.length; j++) if (ks.exists(db, argv[j]!)) n++;
  return n;
}

function typeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ctx.engine.keyspace.typeOf(ctx.client.db, argv[1]!) ?? 'none';
}

// ================================================================================================
// Renaming and copying
// ================================================================================================

/** renameGenericCommand: RENAME / RENAMENX. Same names: no-op, but the key must still exist. */
function renameGeneric(ctx: Ctx, argv: Buffer[], nx: boolean): Reply {
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const src = argv[1]!;
  const dst = argv[2]!;
  if (!ks.exists(db, src)) throw Errors.noSuchKey();
  if (bytesEqual(src, dst)) return nx ? 0 : OK;
  if (nx && ks.exists(db, dst)) return 0;
  ks.rename(db, src, dst);
  ctx.dirty();
  return nx ? 1 : OK;
}

function renameCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return renameGeneric(ctx, argv, false);
}

function renamenxCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return renameGeneric(ctx, argv, true);
}

/** MOVE key db: 0 when the key is missing or the target db already has it. */
function moveCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const dst = argDbIndex(argv[2]!, ctx.engine.databases);
  const src = ctx.client.db;
  if (dst === src) throw sameObject();
  if (!ctx.engine.keyspace.move(src, argv[1]!, dst)) return 0;
  ctx.dirty();
  return 1;
}

/** COPY source destination [DB n] [REPLACE] */
function copyCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const srcDb = ctx.client.db;
  let dstDb = srcDb;
  let replace = false;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!;
    if (isOpt(opt, 'replace')) {
      replace = true;
    } else if (isOpt(opt, 'db') && j + 1 < argv.length) {
      dstDb = argDbIndex(argv[++j]!, ctx.engine.databases);
    } else {
      throw Errors.syntax();
    }
  }
  if (srcDb === dstDb && bytesEqual(argv[1]!, argv[2]!)) throw sameObject();
  if (!ctx.engine.keyspace.copy(srcDb, argv[1]!, dstDb, argv[2]!, replace)) return 0;
  ctx.dirty();
  return 1;
}

// ================================================================================================
// Expiry
// ================================================================================================

const X_NX = 1;
const X_XX = 2;
const X_GT = 4;
const X_LT = 8;

/** parseExtendedExpireArgumentsOrReply: NX | XX | GT | LT after the time argument. */
function parseExpireFlags(argv: Buffer[]): number {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!;
    if (isOpt(opt, 'nx')) flags |= X_NX;
    else if (isOpt(opt, 'xx')) flags |= X_XX;
    else if (isOpt(opt, 'gt')) flags |= X_GT;
    else if (isOpt(opt, 'lt')) flags |= X_LT;
    else throw new ReplyError(errorText(`ERR Unsupported option ${cString(opt)}`));
  }
  if ((flags & X_NX) && (flags & (X_XX | X_GT | X_LT))) {
    throw new ReplyError('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if ((flags & X_GT) && (flags & X_LT)) {
    throw new ReplyError('ERR GT and LT options at the same time are not compatible');
  }
  return flags;
}

const MAX_SECONDS = 9223372036854775n; // LLONG_MAX / 1000 (C division truncates)

/**
 * The absolute ms time for EXPIRE-family arguments. Negative values are allowed (they mean "in the
 * past"); only int64 overflow of the unit conversion or of the base-time addition is an error.
 */
function expireWhen(raw: number | bigint, seconds: boolean, base: number, cmd: string): number | bigint {
  if (typeof raw === 'number') {
    const w = (seconds ? raw * 1000 : raw) + base;
    if (Number.isSafeInteger(w)) return w;
  }
  let w = BigInt(raw);
  if (seconds) {
    if (w > MAX_SECONDS || w < -MAX_SECONDS) throw Errors.invalidExpire(cmd);
    w *= 1000n;
  }
  const b = BigInt(base);
  if (w > INT64_MAX - b) throw Errors.invalidExpire(cmd);
  w += b;
  return w >= -9007199254740991n && w <= 9007199254740991n ? Number(w) : w;
}

/**
 * expireGenericCommand: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT. Options are checked before the
 * number, the number before the key. A time already past deletes the key (reply 1, propagate DEL);
 * otherwise the TTL is set and the command propagates as PEXPIREAT with the absolute time (the
 * NX/XX/GT/LT words ride along unchanged, as Redis only rewrites the name and the time).
 */
function expireGeneric(ctx: Ctx, argv: Buffer[], relative: boolean, seconds: boolean, cmd: string): Reply {
  const flags = parseExpireFlags(argv);
  const when = expireWhen(argInt64(argv[2]!), seconds, relative ? ctx.now : 0, cmd);
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const key = argv[1]!;
  if (!ks.exists(db, key)) return 0;
  if (flags !== 0) {
    const current = ks.getExpire(db, key); // -1: no TTL
    if ((flags & X_NX) && current !== -1) return 0;
    if ((flags & X_XX) && current === -1) return 0;
    if ((flags & X_GT) && (current === -1 || when <= current)) return 0;
    if ((flags & X_LT) && current !== -1 && when >= current) return 0;
  }
  if (when <= ctx.now && ks.expireDeletes) {
    ks.del(db, key);
    ctx.dirty();
    ctx.propagate([W_DEL, key]);
    return 1;
  }
  ks.setExpire(db, key, Number(when));
  ctx.dirty();
  if (relative || seconds) {
    const out: Array<Buffer | string> = [W_PEXPIREAT, key, String(when)];
    for (let j = 3; j < argv.length; j++) out.push(argv[j]!);
    ctx.propagate(out);
  }
  // PEXPIREAT itself propagates as received (the default for a dirty write).
  return 1;
}

function expireCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return expireGeneric(ctx, argv, true, true, 'expire');
}

function pexpireCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return expireGeneric(ctx, argv, true, false, 'pexpire');
}

function expireatCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return expireGeneric(ctx, argv, false, true, 'expireat');
}

function pexpireatCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return expireGeneric(ctx, argv, false, false, 'pexpireat');
}

/** ttlGenericCommand: TTL, PTTL (remaining) and EXPIRETIME, PEXPIRETIME (absolute). */
function ttlGeneric(ctx: Ctx, argv: Buffer[], ms: boolean, absolute: boolean): Reply {
  const at = ctx.engine.keyspace.getExpire(ctx.client.db, argv[1]!);
  if (at < 0) return at; // -2 missing, -1 persistent
  let ttl = absolute ? at : at - ctx.now;
  if (ttl < 0) ttl = 0;
  const out = ms ? ttl : Math.floor((ttl + 500) / 1000);
  // Expire times are doubles in the keyspace: beyond 2^53 ms they are approximate anyway, but the
  // reply must still be an integer.
  return Number.isSafeInteger(out) ? out : BigInt(out);
}

function ttlCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ttlGeneric(ctx, argv, false, false);
}

function pttlCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ttlGeneric(ctx, argv, true, false);
}

function expiretimeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ttlGeneric(ctx, argv, false, true);
}

function pexpiretimeCommand(ctx: Ctx, argv: Buffer[]): Reply {
  return ttlGeneric(ctx, argv, true, true);
}

function persistCommand(ctx: Ctx, argv: Buffer[]): Reply {
  if (!ctx.engine.keyspace.persist(ctx.client.db, argv[1]!)) return 0;
  ctx.dirty();
  return 1;
}

// ================================================================================================
// Iteration
// ================================================================================================

function keysCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const pattern = argv[1]!;
  const all = isMatchAll(pattern);
  const out: Buffer[] = [];
  ctx.engine.keyspace.forEachKey(ctx.client.db, (key) => {
    if (all || globMatch(pattern, key)) out.push(Buffer.from(key));
  });
  return out;
}

const ULONG_MAX = 0xffffffffffffffffn;

/**
 * parseScanCursorOrReply: Redis reads the cursor with strtoul, so it inherits strtoul's tolerance:
 * an empty string is cursor 0, a '+' or '-' sign is accepted ("-1" wraps to 2^64-1), parsing stops
 * at a NUL byte; but leading whitespace, trailing junk and values above 2^64-1 are
 * `ERR invalid cursor`.
 */
export function parseScanCursor(arg: Uint8Array): bigint {
  const s = cString(arg);
  if (s.length === 0) return 0n;
  const m = /^([+-]?)(\d+)$/.exec(s);
  if (m === null) throw new ReplyError('ERR invalid cursor');
  const v = BigInt(m[2]!);
  if (v > ULONG_MAX) throw new ReplyError('ERR invalid cursor');
  return m[1] === '-' ? (ULONG_MAX + 1n - v) & ULONG_MAX : v;
}

const SAFE_CURSOR_MASK = (1n << 53n) - 1n;

/**
 * SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]
 * One keyspace scan call does Redis's loop (visit buckets until COUNT keys were gathered, the scan
 * wrapped to 0, or 10×COUNT buckets were looked at, so a sparse table cannot make one call slow).
 * MATCH and TYPE filter afterwards, which is why a reply may hold fewer keys than COUNT, or none,
 * while the cursor is not yet 0. Cursors are unsigned 64-bit in Redis; the keyspace takes a JS
 * number, so a cursor above 2^53 is reduced to its low 53 bits (it can only have come from a client
 * inventing cursors; real ones are bucket indexes).
 */
function scanCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const start = parseScanCursor(argv[1]!);
  let count = 10;
  let pattern: Buffer | null = null;
  let typeName: string | null = null;
  for (let i = 2; i < argv.length;) {
    const more = argv.length - i >= 2;
    const opt = argv[i]!;
    if (more && isOpt(opt, 'count')) {
      const c = argInt64(argv[i + 1]!);
      if (c < 1) throw Errors.syntax();
      count = typeof c === 'bigint' ? Number.MAX_SAFE_INTEGER : c;
      i += 2;
    } else if (more && isOpt(opt, 'match')) {
      const p = argv[i + 1]!;
      pattern = isMatchAll(p) ? null : p;
      i += 2;
    } else if (more && isOpt(opt, 'type')) {
      typeName = cString(argv[i + 1]!).toLowerCase();
      i += 2;
    } else {
      throw Errors.syntax();
    }
  }
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const keys: Buffer[] = [];
  const types: ValueType[] = [];
  const visit = (key: Uint8Array, type: ValueType): void => {
    keys.push(Buffer.from(key));
    types.push(type);
  };
  const cursor = ks.scan(db, Number(start & SAFE_CURSOR_MASK), count, visit);

  const out: Buffer[] = [];
  for (let k = 0; k < keys.length; k++) {
    if (pattern !== null && !globMatch(pattern, keys[k]!)) continue;
    if (typeName !== null && types[k] !== typeName) continue;
    out.push(keys[k]!);
  }
  return [Buffer.from(String(cursor), 'latin1'), out];
}

function randomkeyCommand(ctx: Ctx, _argv: Buffer[]): Reply {
  return ctx.engine.keyspace.randomKey(ctx.client.db);
}

// ================================================================================================
// Databases
// ================================================================================================

function dbsizeCommand(ctx: Ctx, _argv: Buffer[]): Reply {
  return ctx.engine.keyspace.dbSize(ctx.client.db);
}

function selectCommand(ctx: Ctx, argv: Buffer[]): Reply {
  ctx.client.db = argDbIndex(argv[1]!, ctx.engine.databases);
  return OK;
}

function swapdbCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const a = argInt32(argv[1]!, 'invalid first DB index');
  const b = argInt32(argv[2]!, 'invalid second DB index');
  const n = ctx.engine.databases;
  if (a < 0 || a >= n || b < 0 || b >= n) throw Errors.dbIndexOutOfRange();
  if (a !== b) ctx.engine.keyspace.swapDb(a, b);
  ctx.dirty();
  return OK;
}

/** getFlushCommandFlags: nothing, SYNC or ASYNC (both run synchronously here). */
function checkFlushArgs(argv: Buffer[]): void {
  if (argv.length === 1) return;
  if (argv.length === 2 && (isOpt(argv[1]!, 'sync') || isOpt(argv[1]!, 'async'))) return;
  throw Errors.syntax();
}

/** FLUSHDB: always propagated, even when the db was already empty (forceCommandPropagation). */
function flushdbCommand(ctx: Ctx, argv: Buffer[]): Reply {
  checkFlushArgs(argv);
  const ks = ctx.engine.keyspace;
  const db = ctx.client.db;
  const removed = ks.dbSize(db);
  ks.flushDb(db);
  ctx.dirty(removed);
  ctx.propagate(argv);
  return OK;
}

/** FLUSHALL: empties every db, then lets the engine do what Redis does next (save if configured). */
function flushallCommand(ctx: Ctx, argv: Buffer[]): Reply {
  checkFlushArgs(argv);
  const ks = ctx.engine.keyspace;
  let removed = 0;
  for (let db = 0; db < ks.databases; db++) removed += ks.dbSize(db);
  ks.flushAll();
  ctx.dirty(removed);
  ctx.engine.afterFlushAll();
  ctx.propagate(argv);
  return OK;
}

// ================================================================================================
// Command table
// ================================================================================================

function row(
  name: string, arity: number, flags: CommandFlag[], firstKey: number, lastKey: number, step: number,
  group: string, since: string, summary: string, handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey, lastKey, step, group, since, summary, handler };
}

export const genericCommands: readonly CommandSpec<EngineLike>[] = [
  row('del', -2, ['write'], 1, -1, 1, 'generic', '1.0.0', 'Remove keys.', delCommand),
  row('unlink', -2, ['write', 'fast'], 1, -1, 1, 'generic', '4.0.0', 'Remove keys, releasing memory in the background in Redis.', delCommand),
  row('exists', -2, ['readonly', 'fast'], 1, -1, 1, 'generic', '1.0.0', 'Count how many of the given keys exist.', existsCommand),
  row('touch', -2, ['readonly', 'fast'], 1, -1, 1, 'generic', '3.2.1', 'Mark keys as accessed and count the existing ones.', existsCommand),
  row('type', 2, ['readonly', 'fast'], 1, 1, 1, 'generic', '1.0.0', 'Name the type of the value at a key.', typeCommand),
  row('rename', 3, ['write'], 1, 2, 1, 'generic', '1.0.0', 'Give a key a new name, replacing any key of that name.', renameCommand),
  row('renamenx', 3, ['write', 'fast'], 1, 2, 1, 'generic', '1.0.0', 'Give a key a new name only when that name is free.', renamenxCommand),
  row('move', 3, ['write', 'fast'], 1, 1, 1, 'generic', '1.0.0', 'Move a key to another database.', moveCommand),
  row('copy', -3, ['write', 'denyoom'], 1, 2, 1, 'generic', '6.2.0', 'Duplicate a key, possibly into another database.', copyCommand),
  row('expire', -3, ['write', 'fast'], 1, 1, 1, 'generic', '1.0.0', 'Set a TTL in seconds.', expireCommand),
  row('pexpire', -3, ['write', 'fast'], 1, 1, 1, 'generic', '2.6.0', 'Set a TTL in milliseconds.', pexpireCommand),
  row('expireat', -3, ['write', 'fast'], 1, 1, 1, 'generic', '1.2.0', 'Set an expiry as a unix time in seconds.', expireatCommand),
  row('pexpireat', -3, ['write', 'fast'], 1, 1, 1, 'generic', '2.6.0', 'Set an expiry as a unix time in milliseconds.', pexpireatCommand),
  row('ttl', 2, ['readonly', 'fast'], 1, 1, 1, 'generic', '1.0.0', 'Remaining time to live in seconds.', ttlCommand),
  row('pttl', 2, ['readonly', 'fast'], 1, 1, 1, 'generic', '2.6.0', 'Remaining time to live in milliseconds.', pttlCommand),
  row('expiretime', 2, ['readonly', 'fast'], 1, 1, 1, 'generic', '7.0.0', 'Expiry as a unix time in seconds.', expiretimeCommand),
  row('pexpiretime', 2, ['readonly', 'fast'], 1, 1, 1, 'generic', '7.0.0', 'Expiry as a unix time in milliseconds.', pexpiretimeCommand),
  row('persist', 2, ['write', 'fast'], 1, 1, 1, 'generic', '2.2.0', 'Remove the expiry of a key.', persistCommand),
  row('keys', 2, ['readonly'], 0, 0, 0, 'generic', '1.0.0', 'List the keys matching a glob pattern.', keysCommand),
  row('scan', -2, ['readonly'], 0, 0, 0, 'generic', '2.8.0', 'Iterate over the keys of the database, a few at a time.', scanCommand),
  row('randomkey', 1, ['readonly'], 0, 0, 0, 'generic', '1.0.0', 'Return a key chosen at random.', randomkeyCommand),
  row('dbsize', 1, ['readonly', 'fast'], 0, 0, 0, 'server', '1.0.0', 'Count the keys of the selected database.', dbsizeCommand),
  row('select', 2, ['loading', 'stale', 'fast'], 0, 0, 0, 'connection', '1.0.0', 'Switch the connection to another database.', selectCommand),
  row('swapdb', 3, ['write', 'fast'], 0, 0, 0, 'server', '4.0.0', 'Exchange the contents of two databases.', swapdbCommand),
  row('flushdb', -1, ['write'], 0, 0, 0, 'server', '1.0.0', 'Remove every key of the selected database.', flushdbCommand),
  row('flushall', -1, ['write'], 0, 0, 0, 'server', '1.0.0', 'Remove every key of every database.', flushallCommand),
];
