/**
 * Introspection and debugging: COMMAND, SLOWLOG, LATENCY, MONITOR, OBJECT, MEMORY USAGE, DEBUG,
 * FUNCTION FLUSH. Replies and error texts are Redis 7.0.15's.
 *
 * Strings have no stored encoding here (the keyspace keeps bytes), so OBJECT ENCODING, REFCOUNT,
 * MEMORY USAGE and DEBUG OBJECT derive Redis's answer from the value the way Redis's
 * tryObjectEncoding would classify it: an integer that fits a long is "int" (shared, refcount
 * INT_MAX, for 0..9999 unless an LRU/LFU maxmemory policy is set), up to 44 bytes "embstr",
 * longer "raw". Values Redis leaves un-reencoded are remembered by EncodingHints: APPEND to an
 * existing key and SETRANGE make "raw", INCRBYFLOAT "embstr" (or "raw" past 44 bytes), as long as
 * the value is the one those commands left (RENAME/COPY/MOVE carry no hint, unlike Redis, which
 * moves the object). MEMORY USAGE of an APPENDed value misses the spare room Redis's sds growth
 * leaves (it depends on the append history). Memory sizes follow jemalloc's size
 * classes (16-byte quantum, as the Redis builds we test against), so MEMORY USAGE matches Redis for
 * strings. There is no per-key access clock: IDLETIME is 0 and FREQ reports the initial LFU
 * counter.
 *
 * Collections do have a stored encoding (the keyspace's small forms are Redis's compact encodings),
 * so OBJECT ENCODING reads it from the value; MEMORY USAGE applies Redis's estimate to the same
 * logical structure (see collectionMemory) and DEBUG OBJECT reports the RDB-encoded length and,
 * for lists, the quicklist figures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Errors, ReplyError } from '../errors.js';
import { argInt64, isOpt, latin1, parseInt64 } from './args.js';
import { globMatch } from './glob.js';
import { commandDocs, commandInfo, hasKeys, keysBySpecs, metaFor } from './command-info.js';
import { helpReply, subcommandSyntaxError } from './pubsub.js';
import { MapReply, OK, SetReply, type CommandContext, type CommandFlag, type CommandSpec, type Reply } from './types.js';
import { RdbEncoder } from '../persist/rdb-format.js';
import { readRdb } from '../persist/rdb-reader.js';
import { collectionLimits, storeRdbValue } from '../persist/rdb-load.js';
import { listLength, listNodes } from '../types/list.js';
import { sortGetKeys } from './sort.js';
import {
  NO_EXPIRE, VT_HASH_LISTPACK, VT_LIST_LISTPACK, VT_SET_INTSET, VT_STRING, VT_ZSET_LISTPACK, type LargeCollection, type StoredValue,
} from '../keyspace/api.js';
import type { Engine } from '../engine.js';

type Ctx = CommandContext<Engine>;

const bulk = (s: string): Buffer => Buffer.from(s, 'utf8');

// ================================================================================================
// COMMAND
// ================================================================================================

/** Top-level rows plus their subcommands, in table order: [fullname, row]. */
function allCommands(e: Engine): Array<[string, CommandSpec<Engine>]> {
  const out: Array<[string, CommandSpec<Engine>]> = [];
  const visit = (s: CommandSpec<Engine>, parent: string | null): void => {
    const full = parent === null ? s.name : `${parent}|${s.name}`;
    out.push([full, s]);
    for (const sub of s.subcommands ?? []) visit(sub, full);
  };
  for (const s of e.dispatcher.specs()) visit(s, null);
  return out;
}

/** lookupCommandBySds: "get", or "config|get" for a subcommand; null when unknown. */
function byFullName(e: Engine, name: Buffer): [string, CommandSpec<Engine>] | null {
  const parts = latin1(name).toLowerCase().split('|');
  if (parts.length > 2) return null;
  const top = e.dispatcher.lookup([Buffer.from(parts[0]!, 'latin1')]);
  if (top === null || top.name !== parts[0]) return null;
  if (parts.length === 1) return [top.name, top];
  const sub = top.subcommands?.find((s) => s.name === parts[1]);
  return sub === undefined ? null : [`${top.name}|${sub.name}`, sub];
}

function commandAll(ctx: Ctx): Reply {
  return [...ctx.engine.dispatcher.specs()].map((s) => commandInfo(s, s.name));
}

function commandCount(ctx: Ctx): Reply {
  let n = 0;
  for (const _ of ctx.engine.dispatcher.specs()) n++;
  return n;
}

function commandInfoCommand(ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length === 2) return commandAll(ctx);
  return argv.slice(2).map((a) => {
    const found = byFullName(ctx.engine, a);
    return found === null ? null : commandInfo(found[1], found[0]);
  });
}

function commandDocsCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const entries: Array<[Reply, Reply]> = [];
  if (argv.length === 2) {
    for (const s of ctx.engine.dispatcher.specs()) entries.push([bulk(s.name), commandDocs(s, s.name)]);
  } else {
    for (const a of argv.slice(2)) {
      const found = byFullName(ctx.engine, a);
      if (found !== null) entries.push([bulk(found[0]), commandDocs(found[1], found[0])]);
    }
  }
  return new MapReply(entries);
}

/** COMMAND GETKEYS / GETKEYSANDFLAGS: the keys of a full command line, by its key specs. */
function getKeys(ctx: Ctx, argv: Buffer[], withFlags: boolean): Reply {
  const cmd = argv.slice(2);
  const d = ctx.engine.dispatcher;
  const spec = d.lookup(cmd);
  const full = d.fullName(cmd);
  if (spec === null || full === null) throw new ReplyError('ERR Invalid command specified');
  const m = metaFor(spec, full);
  if (!hasKeys(m)) throw new ReplyError('ERR The command has no key arguments');
  if ((spec.arity > 0 && spec.arity !== cmd.length) || cmd.length < -spec.arity) {
    throw new ReplyError('ERR Invalid number of arguments specified for command');
  }
  let keys = keysBySpecs(m, cmd, spec.arity);
  if (full === 'set') keys = [{ pos: 1, flags: setKeyFlags(cmd) }]; // VARIABLE_FLAGS: Redis's setGetKeys
  // SORT's STORE key has no key spec Redis can walk: its getkeys procedure finds it (SORT_RO has none).
  if (full === 'sort' || full === 'sort_ro') {
    keys = (full === 'sort' ? sortGetKeys(cmd) : [1]).map((pos, i) => ({ pos, flags: i === 0 ? ['RO', 'access'] : ['OW', 'update'] }));
  }
  if (keys === null) {
    if (m.flags.includes('no_mandatory_keys')) return [];
    throw new ReplyError('ERR Invalid arguments specified for command');
  }
  return keys.map((k) => (withFlags ? [cmd[k.pos]!, new SetReply(k.flags.slice())] : cmd[k.pos]!));
}

/** SET's key flags depend on GET (setGetKeys). */
function setKeyFlags(cmd: Buffer[]): string[] {
  for (let i = 3; i < cmd.length; i++) if (isOpt(cmd[i]!, 'get')) return ['RW', 'access', 'update'];
  return ['OW', 'update'];
}

const ACL_CATEGORIES = new Set(['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog',
  'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting']);

/** COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]. */
function commandList(ctx: Ctx, argv: Buffer[]): Reply {
  let filter: ((full: string, spec: CommandSpec<Engine>) => boolean) | null = null;
  for (let i = 2; i < argv.length; i++) {
    const more = argv.length - 1 - i;
    if (isOpt(argv[i]!, 'filterby') && more === 2) {
      const arg = argv[i + 2]!;
      if (isOpt(argv[i + 1]!, 'module')) {
        filter = () => false; // no modules
      } else if (isOpt(argv[i + 1]!, 'aclcat')) {
        const cat = latin1(arg).toLowerCase();
        filter = ACL_CATEGORIES.has(cat) ? (full, spec) => metaFor(spec, full).acl.includes(cat) : () => false;
      } else if (isOpt(argv[i + 1]!, 'pattern')) {
        filter = (full) => globMatch(arg, Buffer.from(full, 'latin1'), true);
      } else {
        throw Errors.syntax();
      }
      i += 2;
    } else {
      throw Errors.syntax();
    }
  }
  const out: Reply[] = [];
  for (const [full, spec] of allCommands(ctx.engine)) if (filter === null || filter(full, spec)) out.push(bulk(full));
  return out;
}

const COMMAND_HELP = [
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
];

// ================================================================================================
// SLOWLOG, LATENCY, MONITOR
// ================================================================================================

function slowlogGet(ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length > 3) throw subcommandSyntaxError(argv);
  let count = 10;
  if (argv.length === 3) {
    const n = parseInt64(argv[2]!);
    if (n === null || typeof n === 'bigint' || n < -1) throw new ReplyError('ERR count should be greater than or equal to -1');
    count = n;
  }
  return ctx.engine.flow.slowlog.get(count);
}

const SLOWLOG_HELP = [
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
];

const LATENCY_HELP = [
  'DOCTOR',
  '    Return a human readable latency analysis report.',
  'GRAPH <event>',
  '    Return an ASCII latency graph for the <event> class.',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HISTOGRAM [COMMAND ...]',
  '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
  '    If no commands are specified then all histograms are replied.',
];

function latencyReset(ctx: Ctx, argv: Buffer[]): Reply {
  const lat = ctx.engine.flow.latency;
  if (argv.length === 2) return lat.reset(null);
  let n = 0;
  for (const a of argv.slice(2)) n += lat.reset(a.toString('utf8'));
  return n;
}

// ================================================================================================
// OBJECT, MEMORY USAGE, DEBUG OBJECT: Redis's view of a string value
// ================================================================================================

/** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT and OBJ_SHARED_INTEGERS. */
const EMBSTR_LIMIT = 44;
const SHARED_INTEGERS = 10000;
const SHARED_REFCOUNT = 2147483647;

/** string2l: an integer in canonical form (no '+', no leading zeros, no "-0") that fits a long. */
function asLong(v: Uint8Array): bigint | null {
  if (v.length === 0 || v.length > 20) return null;
  const s = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const n = BigInt(s);
  return n >= -0x8000000000000000n && n <= 0x7fffffffffffffffn ? n : null;
}

type Encoding = 'int' | 'embstr' | 'raw';

/** The encoding Redis's tryObjectEncoding gives a freshly stored value. */
function freshEncoding(v: Uint8Array): Encoding {
  if (asLong(v) !== null) return 'int';
  return v.length <= EMBSTR_LIMIT ? 'embstr' : 'raw';
}

/** Hints kept at most (oldest dropped first); a stale one costs nothing but a wrong guess avoided. */
const MAX_HINTS = 65536;

interface Hint { enc: Encoding; len: number; head: number; tail: number }

/**
 * Why: Redis re-encodes a value only where it stores one through tryObjectEncoding; APPEND and
 * SETRANGE leave a "raw" string and INCRBYFLOAT an "embstr" even when the bytes look like an
 * integer. The keyspace keeps bytes only, so the commands that do this leave a hint, and a hint
 * counts only while the value still has the length and the first and last bytes it had then (any
 * later write almost always changes one of them; checking is O(1), unlike a hash of the value).
 */
export class EncodingHints {
  private readonly hints = new Map<string, Hint>();

  private static id(db: number, key: Uint8Array): string {
    return `${db}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
  }

  private static print(enc: Encoding, v: Uint8Array): Hint {
    return { enc, len: v.length, head: v.length > 0 ? v[0]! : -1, tail: v.length > 0 ? v[v.length - 1]! : -1 };
  }

  note(db: number, key: Uint8Array, enc: Encoding, v: Uint8Array): void {
    const id = EncodingHints.id(db, key);
    this.hints.delete(id);
    if (this.hints.size >= MAX_HINTS) this.hints.delete(this.hints.keys().next().value!);
    this.hints.set(id, EncodingHints.print(enc, v));
  }

  /** The encoding of the value at a key: its hint when still valid, else a fresh value's. */
  encodingOf(db: number, key: Uint8Array, v: Uint8Array): Encoding {
    if (this.hints.size > 0) {
      const id = EncodingHints.id(db, key);
      const h = this.hints.get(id);
      if (h !== undefined) {
        const now = EncodingHints.print(h.enc, v);
        if (now.len === h.len && now.head === h.head && now.tail === h.tail) return h.enc;
        this.hints.delete(id);
      }
    }
    return freshEncoding(v);
  }

  clear(): void { this.hints.clear(); }
}

/**
 * Wraps the rows of APPEND, SETRANGE and INCRBYFLOAT to leave encoding hints (see EncodingHints);
 * every other row is returned as it is. Applied by the engine to its assembled command table.
 */
export function recordEncodings(rows: CommandSpec<Engine>[]): CommandSpec<Engine>[] {
  return rows.map((row) => {
    if (row.name !== 'append' && row.name !== 'setrange' && row.name !== 'incrbyfloat') return row;
    const inner = row.handler;
    const handler: CommandSpec<Engine>['handler'] = (ctx, argv) => {
      const ks = ctx.engine.keyspace;
      const db = ctx.client.db;
      const existed = row.name !== 'append' || ks.exists(db, argv[1]!);
      const reply = inner(ctx, argv);
      if (reply instanceof ReplyError || !existed) return reply;
      const v = ks.getString(db, argv[1]!);
      if (v === null) return reply;
      const enc: Encoding = row.name === 'incrbyfloat' && v.length <= EMBSTR_LIMIT ? 'embstr' : 'raw';
      ctx.engine.flow.encodings.note(db, argv[1]!, enc, v);
      return reply;
    };
    return { ...row, handler };
  });
}

/** maxmemory-policy names Redis flags MAXMEMORY_FLAG_NO_SHARED_INTEGERS (the LRU and LFU ones). */
function lruOrLfu(e: Engine): boolean {
  const p = e.config.getString('maxmemory-policy');
  return p.includes('lru') || p.includes('lfu');
}

function refcountOf(e: Engine, v: Uint8Array, enc: Encoding = freshEncoding(v)): number {
  if (enc !== 'int') return 1;
  const n = asLong(v);
  if (n === null || n < 0n || n >= BigInt(SHARED_INTEGERS)) return 1;
  return e.config.getInt('maxmemory') === 0 || !lruOrLfu(e) ? SHARED_REFCOUNT : 1;
}

/** jemalloc's size class for an allocation of n bytes (16-byte quantum, 4 classes per doubling). */
export function jemallocSize(n: number): number {
  if (n <= 8) return 8;
  if (n <= 16) return 16;
  if (n <= 128) return (n + 15) & ~15;
  const group = 2 ** Math.floor(Math.log2(n - 1));
  const step = group / 4;
  return Math.ceil(n / step) * step;
}

/** Bytes an sds string of `len` bytes allocates (header by length class, NUL terminator). */
function sdsAlloc(len: number, allowType5: boolean): number {
  const hdr = len < 32 && allowType5 ? 1 : len < 256 ? 3 : len < 65536 ? 5 : len < 2 ** 32 ? 9 : 17;
  return jemallocSize(hdr + len + 1);
}

/** MEMORY USAGE of a string key: value object, key sds, dict entry (objectComputeSize et al.). */
function memoryUsage(key: Uint8Array, v: Uint8Array, enc: Encoding): number {
  const obj = enc === 'int' ? 16 : enc === 'embstr' ? jemallocSize(16 + 3 + v.length + 1) : 16 + sdsAlloc(v.length, false);
  return obj + sdsAlloc(key.length, true) + 24;
}

function encodingAt(ctx: Ctx, key: Uint8Array, v: Uint8Array): Encoding {
  return ctx.engine.flow.encodings.encodingOf(ctx.client.db, key, v);
}

/** A key's value for OBJECT/MEMORY/DEBUG: the string bytes (copied), or the stored collection. */
type KeyValue = { readonly str: Buffer; readonly sv: null } | { readonly str: null; readonly sv: StoredValue };

function valueAt(ctx: Ctx, key: Buffer): KeyValue | null {
  const sv = ctx.engine.keyspace.lookupValue(ctx.client.db, key);
  if (sv === null) return null;
  return sv.vt === VT_STRING ? { str: Buffer.from(sv.blob), sv: null } : { str: null, sv };
}

function objectEncoding(ctx: Ctx, argv: Buffer[]): Reply {
  const v = valueAt(ctx, argv[2]!);
  if (v === null) return null;
  return bulk(v.str !== null ? encodingAt(ctx, argv[2]!, v.str) : collectionEncoding(v.sv));
}

/** Collections are never shared objects: refcount 1, as Redis answers for any non-shared value. */
function objectRefcount(ctx: Ctx, argv: Buffer[]): Reply {
  const v = valueAt(ctx, argv[2]!);
  if (v === null) return null;
  return v.str !== null ? refcountOf(ctx.engine, v.str, encodingAt(ctx, argv[2]!, v.str)) : 1;
}

const LFU_SELECTED = 'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';
const LFU_NOT_SELECTED = 'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';
/** Redis's LFU_INIT_VAL: the counter a new key starts with. */
const LFU_INIT_VAL = 5;

function objectIdletime(ctx: Ctx, argv: Buffer[]): Reply {
  if (valueAt(ctx, argv[2]!) === null) return null;
  if (ctx.engine.config.getString('maxmemory-policy').includes('lfu')) throw new ReplyError(LFU_SELECTED);
  return 0;
}

/** A shared integer object's counter is 0; any other value starts at LFU_INIT_VAL (no access tracking). */
function objectFreq(ctx: Ctx, argv: Buffer[]): Reply {
  const v = valueAt(ctx, argv[2]!);
  if (v === null) return null;
  if (!ctx.engine.config.getString('maxmemory-policy').includes('lfu')) throw new ReplyError(LFU_NOT_SELECTED);
  if (v.str === null) return LFU_INIT_VAL;
  return refcountOf(ctx.engine, v.str, encodingAt(ctx, argv[2]!, v.str)) === SHARED_REFCOUNT ? 0 : LFU_INIT_VAL;
}

const OBJECT_HELP = [
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
];

/** MEMORY USAGE key [SAMPLES count]. */
function memoryUsageCommand(ctx: Ctx, argv: Buffer[]): Reply {
  let samples = DEFAULT_SAMPLES;
  for (let j = 3; j < argv.length; j++) {
    if (isOpt(argv[j]!, 'samples') && j + 1 < argv.length) {
      const n = argInt64(argv[j + 1]!);
      if (n < 0) throw Errors.syntax();
      samples = n === 0 ? Infinity : Number(n);
      j++;
    } else {
      throw Errors.syntax();
    }
  }
  const v = valueAt(ctx, argv[2]!);
  if (v === null) return null;
  if (v.str !== null) return memoryUsage(argv[2]!, v.str, encodingAt(ctx, argv[2]!, v.str));
  return collectionMemory(v.sv, samples) + sdsAlloc(argv[2]!.length, true) + DICT_ENTRY;
}

// ================================================================================================
// OBJECT ENCODING and MEMORY USAGE of collections
// ================================================================================================

/**
 * Redis 7.0's encoding names, from the stored form: the small forms are exactly Redis's compact
 * encodings (listpack hash/zset, intset set) and a large collection is Redis's big one (hashtable,
 * skiplist). Lists are "quicklist" whatever their size: 7.0 has no listpack-encoded list object.
 */
export function collectionEncoding(sv: StoredValue): string {
  switch (sv.vt) {
    case VT_HASH_LISTPACK:
    case VT_ZSET_LISTPACK:
      return 'listpack';
    case VT_SET_INTSET:
      return 'intset';
    case VT_LIST_LISTPACK:
      return 'quicklist';
    default:
      break;
  }
  const kind = sv.large?.kind;
  if (kind === 'zset') return 'skiplist';
  if (kind === 'list') return 'quicklist';
  return 'hashtable';
}

/** OBJ_COMPUTE_SIZE_DEF_SAMPLES. */
const DEFAULT_SAMPLES = 5;
/** Sizes of Redis 7.0's structures on 64-bit builds (robj, quicklist, quicklistNode, dict, dictEntry, zset, zskiplist). */
const ROBJ = 16, QUICKLIST = 40, QUICKLIST_NODE = 40, DICT = 56, DICT_ENTRY = 24, ZSET = 16, ZSKIPLIST = 32;
/** The skiplist header node: 24 bytes + 32 levels of 16 bytes, in its jemalloc class. */
const ZSL_HEADER = jemallocSize(24 + 32 * 16);
/**
 * The expected allocation of a skiplist node: 24 bytes + 16 per level, the level drawn as Redis
 * does (each further level with probability 1/4, at most 32). Redis measures its actual nodes, so
 * its answer varies around this from key to key.
 */
const ZSL_NODE = ((): number => {
  let sum = 0, p = 0.75;
  for (let level = 1; level <= 32; level++, p *= 0.25) sum += (level === 32 ? p / 0.75 : p) * jemallocSize(24 + 16 * level);
  return sum;
})();

/** dictSlots of a Redis dict holding n entries after growing one insertion at a time (or sized by a load). */
function dictSlots(n: number): number {
  let size = 4;
  while (size < n) size *= 2;
  return size;
}

/** Up to `samples` element refs of a keyed collection: the first buckets, as Redis's dict iterator. */
function sampleRefs(c: LargeCollection, samples: number): number[] {
  if (samples >= c.count) {
    const all: number[] = [];
    c.forEach((ref) => all.push(ref));
    return all;
  }
  const out: number[] = [];
  let cursor = 0;
  do {
    cursor = c.scanStep(cursor, out);
  } while (out.length < samples && cursor !== 0);
  return out.slice(0, samples);
}

/**
 * Why an estimate, and which: Redis's objectComputeSize sums the fixed structures and, for big
 * encodings, the allocation sizes of `samples` elements (5 by default, all for SAMPLES 0), scaled
 * by the element count. This applies the same formula to the same logical structure Redis would
 * hold (jemalloc size classes, sds headers, dict tables sized to the next power of two, skiplist
 * nodes of the expected size), not to forkless's own shared-memory layout, so the numbers compare
 * with Redis's: exact for the compact encodings (listpack, intset, single-node lists) and for
 * hashtables of equally sized elements, close for the rest (Redis's own answer depends on which
 * elements it samples, its nodes' random levels and whether a table is in mid-rehash, when both
 * tables count).
 * Lists sample the first nodes in order.
 */
function collectionMemory(sv: StoredValue, samples: number): number {
  switch (sv.vt) {
    case VT_HASH_LISTPACK:
    case VT_ZSET_LISTPACK:
    case VT_SET_INTSET:
      return ROBJ + jemallocSize(sv.blob.length);
    case VT_LIST_LISTPACK:
      return ROBJ + QUICKLIST + QUICKLIST_NODE + jemallocSize(sv.blob.length);
    default:
      break;
  }
  const c = sv.large!;
  if (c.kind === 'list') {
    const nodes: Array<[number, number]> = [];
    c.forEach((ref) => nodes.push([c.nodeLabel(ref), ref]));
    nodes.sort((a, b) => a[0] - b[0]);
    const n = Math.max(1, Math.min(samples, nodes.length));
    let ele = 0;
    for (let i = 0; i < n && i < nodes.length; i++) ele += QUICKLIST_NODE + jemallocSize(c.nodeListpack(nodes[i]![1]).length);
    return Math.floor(ROBJ + QUICKLIST + (ele / n) * nodes.length);
  }
  const refs = sampleRefs(c, samples);
  let ele = 0;
  for (const ref of refs) {
    const f = sdsAlloc(c.field(ref).length, true);
    if (c.kind === 'hash') ele += f + sdsAlloc(c.payload(ref).length, true) + DICT_ENTRY;
    else if (c.kind === 'set') ele += f + DICT_ENTRY;
    else ele += f + DICT_ENTRY + ZSL_NODE;
  }
  let size = ROBJ + DICT + 8 * dictSlots(c.count);
  if (c.kind === 'zset') size += ZSET + ZSKIPLIST + ZSL_HEADER;
  if (refs.length > 0) size += (ele / refs.length) * c.count;
  return Math.floor(size);
}

const MEMORY_HELP = [
  'DOCTOR',
  '    Return memory problems reports.',
  'MALLOC-STATS',
  '    Return internal statistics report from the memory allocator.',
  'PURGE',
  '    Attempt to purge dirty pages for reclamation by the allocator.',
  'STATS',
  '    Return information about the memory usage of the server.',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
];

// ================================================================================================
// DEBUG
// ================================================================================================

/** Bytes the RDB encoding of a string value takes (rdbSavedObjectLen), with the configured compression. */
function serializedLength(e: Engine, v: Uint8Array): number {
  let n = 0;
  const enc = new RdbEncoder((chunk) => { n += chunk.length; }, { compression: e.config.getBool('rdbcompression'), bufferSize: 1024 });
  enc.stringObject(v);
  enc.flush();
  return n;
}

function debugObject(ctx: Ctx, key: Buffer): Reply {
  const kv = valueAt(ctx, key);
  if (kv === null) throw Errors.noSuchKey();
  const e = ctx.engine;
  const lru = Math.floor(Date.now() / 1000) & 0xffffff;
  if (kv.sv !== null) return debugObjectCollection(e, key, kv.sv, lru);
  const v = kv.str;
  const enc = encodingAt(ctx, key, v);
  return `Value at:0x${(0x7f0000000000 + (key.length * 4099 + v.length) * 16).toString(16)} refcount:${refcountOf(e, v, enc)} ` +
    `encoding:${enc} serializedlength:${serializedLength(e, v)} lru:${lru} lru_seconds_idle:0`;
}

/** QUICKLIST_NODE_CONTAINER_PACKED: the per-node tag of a quicklist-2 RDB value. */
const QL_PACKED = 2;

/**
 * DEBUG OBJECT of a collection: Redis's line with the RDB-encoded length of the value (what SAVE
 * would write after the type and key: the compact blob as one string, or the element-by-element
 * form of a big encoding), and for lists the quicklist figures (nodes, average node, fill,
 * compression off, listpack bytes).
 */
function debugObjectCollection(e: Engine, key: Buffer, sv: StoredValue, lru: number): string {
  let n = 0;
  const enc = new RdbEncoder((chunk) => { n += chunk.length; }, { compression: e.config.getBool('rdbcompression'), bufferSize: 1024 });
  const encoding = collectionEncoding(sv);
  let extra = '';
  if (sv.vt === VT_SET_INTSET || sv.vt === VT_HASH_LISTPACK || sv.vt === VT_ZSET_LISTPACK) {
    enc.stringObject(sv.blob);
  } else if (encoding === 'quicklist') {
    const nodes = listNodes(sv);
    let bytes = 0;
    enc.length(nodes.length);
    for (const lp of nodes) {
      enc.length(QL_PACKED);
      enc.stringObject(lp);
      bytes += lp.length;
    }
    const avg = (listLength(sv) / nodes.length).toFixed(2);
    extra = ` ql_nodes:${nodes.length} ql_avg_node:${avg} ql_listpack_max:${e.config.getInt('list-max-listpack-size')} ql_compressed:0 ql_uncompressed_size:${bytes}`;
  } else {
    const c = sv.large!;
    enc.length(c.count);
    c.forEach((ref) => {
      enc.stringObject(c.field(ref));
      if (c.kind === 'hash') enc.stringObject(c.payload(ref));
      else if (c.kind === 'zset') enc.rawBytes(c.payload(ref)); // the 8-byte little-endian double, as ZSET_2 writes it
    });
  }
  enc.flush();
  return `Value at:0x${(0x7f0000000000 + (key.length * 4099 + n) * 16).toString(16)} refcount:1 ` +
    `encoding:${encoding} serializedlength:${n} lru:${lru} lru_seconds_idle:0${extra}`;
}

/** DEBUG SLEEP: blocks the server, as Redis's nanosleep does (clients see the stall). */
function debugSleep(seconds: Buffer): Reply {
  const t = Number.parseFloat(seconds.toString('latin1'));
  const ms = Number.isFinite(t) && t > 0 ? t * 1000 : 0;
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return OK;
}

/**
 * Why: DEBUG RELOAD is Redis's save → empty → load round trip, used by tests to prove a dataset
 * survives persistence. Options: NOSAVE (load the file as it is), NOFLUSH (keep the dataset;
 * with MERGE loaded keys replace existing ones, without it a duplicate fails the load). Watchers
 * of existing keys see them modified (the flush touches them), as in Redis.
 */
function debugReload(ctx: Ctx, argv: Buffer[]): Reply {
  let flush = true, save = true, merge = false;
  for (let j = 2; j < argv.length; j++) {
    if (isOpt(argv[j]!, 'merge')) merge = true;
    else if (isOpt(argv[j]!, 'noflush')) flush = false;
    else if (isOpt(argv[j]!, 'nosave')) save = false;
    else throw new ReplyError('ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.');
  }
  const e = ctx.engine;
  const ks = e.keyspace;
  if (save) {
    try {
      e.rdb.saveSync();
    } catch {
      throw new ReplyError('ERR');
    }
  }
  const file = join(e.config.getString('dir'), e.config.getString('dbfilename'));
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new ReplyError('ERR Error trying to load the RDB dump');
  }
  if (flush) {
    const pairs = Array.from({ length: e.databases }, (_v, i): [number, number] => [i, -1]);
    e.flow.tx.dirtyAll(e.flow.tx.watchersOfExisting(ks, pairs));
    ks.flushAll();
  }
  const now = Date.now();
  const limits = collectionLimits(e.config);
  try {
    readRdb(bytes, file, {
      key: (db, key, value, expireMs) => {
        if (expireMs !== NO_EXPIRE && expireMs < now) return;
        if (!merge && ks.exists(db, key)) throw new ReplyError('ERR Error trying to load the RDB dump');
        storeRdbValue(ks, db, key, value, expireMs, limits);
      },
    }, { verifyChecksum: true });
  } catch {
    throw new ReplyError('ERR Error trying to load the RDB dump');
  }
  e.flow.encodings.clear(); // loaded values are stored through tryObjectEncoding
  e.log('warning', 'DB reloaded by DEBUG RELOAD');
  return OK;
}

const DEBUG_HELP = [
  'LOG <message>',
  '    Write <message> to the server log.',
  'OBJECT <key>',
  '    Show low level info about the <key> and associated value.',
  'RELOAD [option ...]',
  '    Save the RDB on disk and reload it back to memory. Valid <option> values:',
  '    * MERGE: conflicting keys will be loaded from RDB.',
  '    * NOFLUSH: the existing database will not be removed before load, but',
  '      conflicting keys will generate an exception and kill the server.',
  '    * NOSAVE: the database will be loaded from an existing RDB file.',
  '    Examples:',
  '    * DEBUG RELOAD: verify that the server is able to persist, flush and reload',
  '      the database.',
  '    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an',
  '      existing RDB file.',
  '    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB',
  '      file to the database.',
  'SET-ACTIVE-EXPIRE <0|1>',
  '    Setting it to 0 disables expiring keys in background when they are not',
  '    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
  '    default.',
  'SLEEP <seconds>',
  '    Stop the server for <seconds>. Decimals allowed.',
];

/**
 * DEBUG, the subset forkless implements: HELP, SLEEP, RELOAD, SET-ACTIVE-EXPIRE, OBJECT, LOG.
 * Anything else gets Redis's unknown-subcommand text. Refused unless enable-debug-command allows
 * it (the command flow refuses it before queueing; this covers the direct path).
 */
function debugCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const mode = ctx.engine.config.get('enable-debug-command') ?? 'no';
  const local = ctx.engine.server?.clientPeer(ctx.client.id)?.local ?? true;
  if (mode !== 'yes' && !(mode === 'local' && local)) {
    throw new ReplyError('ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.');
  }
  const sub = latin1(argv[1]!).toLowerCase();
  const argc = argv.length;
  if (sub === 'help' && argc === 2) return helpReply(argv, DEBUG_HELP);
  if (sub === 'sleep' && argc === 3) return debugSleep(argv[2]!);
  if (sub === 'reload') return debugReload(ctx, argv);
  if (sub === 'object' && argc === 3) return debugObject(ctx, argv[2]!);
  if (sub === 'log' && argc === 3) {
    ctx.engine.log('warning', `DEBUG LOG: ${argv[2]!.toString('utf8')}`);
    return OK;
  }
  if (sub === 'set-active-expire' && argc === 3) {
    ctx.engine.activeExpireEnabled = (parseInt64(argv[2]!) ?? Number.parseInt(latin1(argv[2]!), 10) ?? 0) !== 0;
    return OK;
  }
  throw subcommandSyntaxError(argv);
}

// ================================================================================================
// FUNCTION FLUSH
// ================================================================================================

/** FUNCTION FLUSH [ASYNC|SYNC]: there are no functions; accepted, counted as a change (as Redis). */
function functionFlush(ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length > 3) throw subcommandSyntaxError(argv);
  if (argv.length === 3 && !isOpt(argv[2]!, 'sync') && !isOpt(argv[2]!, 'async')) {
    throw new ReplyError('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  }
  ctx.dirty();
  return OK;
}

// ================================================================================================
// Rows
// ================================================================================================

const row = (name: string, arity: number, flags: CommandFlag[], group: string, since: string, summary: string,
  handler: CommandSpec<Engine>['handler'], extra: Partial<CommandSpec<Engine>> = {}): CommandSpec<Engine> => ({
  name, arity, flags, firstKey: 0, lastKey: 0, step: 0, group, since, summary, handler, ...extra,
});
const LS: CommandFlag[] = ['loading', 'stale'];
const ADMIN: CommandFlag[] = ['admin', 'loading', 'stale'];
const ADMIN_NS: CommandFlag[] = ['admin', 'noscript', 'loading', 'stale'];
const KEY = { firstKey: 2, lastKey: 2, step: 1 };

export const introspectionCommands: CommandSpec<Engine>[] = [
  row('command', -1, LS, 'server', '2.8.13', 'Describe the commands of this server.', commandAll, {
    subcommands: [
      row('count', 2, LS, 'server', '2.8.13', 'Count the commands of this server.', commandCount),
      row('info', -2, LS, 'server', '2.8.13', 'Describe some or all commands.', commandInfoCommand),
      row('docs', -2, LS, 'server', '7.0.0', 'Document some or all commands.', commandDocsCommand),
      row('getkeys', -4, LS, 'server', '2.8.13', 'Extract the key names of a full command.', (c, a) => getKeys(c, a, false)),
      row('getkeysandflags', -4, LS, 'server', '7.0.0', 'Extract the key names of a full command, with their access flags.', (c, a) => getKeys(c, a, true)),
      row('list', -2, LS, 'server', '7.0.0', 'List command names, optionally filtered.', commandList),
      row('help', 2, LS, 'server', '5.0.0', 'Show helpful text about the different subcommands.', (_c, a) => helpReply(a, COMMAND_HELP)),
    ],
  }),
  row('slowlog', -2, [], 'server', '2.2.12', 'A container for slow log commands.', () => null, {
    subcommands: [
      row('get', -2, ADMIN, 'server', '2.2.12', 'Return the newest slow log entries.', slowlogGet),
      row('len', 2, ADMIN, 'server', '2.2.12', 'Count the slow log entries.', (c) => c.engine.flow.slowlog.length),
      row('reset', 2, ADMIN, 'server', '2.2.12', 'Empty the slow log.', (c) => { c.engine.flow.slowlog.reset(); return OK; }),
      row('help', 2, LS, 'server', '6.2.0', 'Show helpful text about the different subcommands.', (_c, a) => helpReply(a, SLOWLOG_HELP)),
    ],
  }),
  row('latency', -2, [], 'server', '2.8.13', 'A container for latency monitor commands.', () => null, {
    subcommands: [
      row('latest', 2, ADMIN_NS, 'server', '2.8.13', 'The latest sample of every latency event.', (c) => c.engine.flow.latency.latest()),
      row('history', 3, ADMIN_NS, 'server', '2.8.13', 'The samples of one latency event.', (c, a) => c.engine.flow.latency.history(a[2]!.toString('utf8'))),
      row('reset', -2, ADMIN_NS, 'server', '2.8.13', 'Forget the samples of some or all events.', latencyReset),
      row('help', 2, LS, 'server', '2.8.13', 'Show helpful text about the different subcommands.', (_c, a) => helpReply(a, LATENCY_HELP)),
    ],
  }),
  row('monitor', 1, ADMIN_NS, 'server', '1.0.0', 'Stream every command the server runs to this connection.', (c) => c.engine.flow.addMonitor(c.client)),
  row('object', -2, [], 'generic', '2.2.3', 'A container for object introspection commands.', () => null, {
    subcommands: [
      row('encoding', 3, ['readonly'], 'generic', '2.2.3', "Name the internal encoding of a key's value.", objectEncoding, KEY),
      row('refcount', 3, ['readonly'], 'generic', '2.2.3', "Count the references to a key's value.", objectRefcount, KEY),
      row('idletime', 3, ['readonly'], 'generic', '2.2.3', 'Seconds since a key was last accessed.', objectIdletime, KEY),
      row('freq', 3, ['readonly'], 'generic', '4.0.0', 'The logarithmic access frequency counter of a key.', objectFreq, KEY),
      row('help', 2, LS, 'generic', '6.2.0', 'Show helpful text about the different subcommands.', (_c, a) => helpReply(a, OBJECT_HELP)),
    ],
  }),
  row('memory', -2, [], 'server', '4.0.0', 'A container for memory introspection commands.', () => null, {
    subcommands: [
      row('usage', -3, ['readonly'], 'server', '4.0.0', 'Bytes a key and its value take.', memoryUsageCommand, KEY),
      row('help', 2, LS, 'server', '4.0.0', 'Show helpful text about the different subcommands.', (_c, a) => helpReply(a, MEMORY_HELP)),
    ],
  }),
  row('debug', -2, ['admin', 'noscript', 'loading', 'stale', 'protected'], 'server', '1.0.0', 'Debugging commands (a subset of Redis\'s).', debugCommand),
  row('function', -2, [], 'scripting', '7.0.0', 'A container for function commands.', () => null, {
    subcommands: [
      row('flush', -2, ['noscript', 'write'], 'scripting', '7.0.0', 'Delete all functions (there are none).', functionFlush),
    ],
  }),
];
