/**
 * AOF end to end with the collection types (hashes, sets, sorted sets, lists), against real
 * Redis 7.0.15 both ways:
 *  1. bin/forkless-server.js with appendonly yes runs a seeded mixed workload (HSET/HDEL/
 *     HINCRBYFLOAT, SADD/SPOP/SMOVE/SINTERSTORE, ZADD INCR/ZPOPMIN/ZMPOP/ZUNIONSTORE, LPUSH/RPOP/
 *     LMOVE/LMPOP/LINSERT, SORT … STORE, EXPIRE on collections, served blocking pops, a
 *     BGREWRITEAOF in the middle); the directory passes redis-check-aof, redis-server started on
 *     it has the live dataset (types, contents, TTLs), forkless reloads it to the same dataset and
 *     to the same encodings as redis-server;
 *  2. the reverse: redis-server writes the directory (aof-use-rdb-preamble yes and no, with its
 *     own BGREWRITEAOF mid-way); forkless loads it to redis-server's dataset and encodings;
 *  3. BGREWRITEAOF (preamble no and yes) while collections — compact and large — are modified,
 *     converted, deleted and created: the rewritten directory loads in forkless and in
 *     redis-server to the live dataset at the end (also with small encoding thresholds, #TS
 *     annotations and a 64 KB forkless-snapshot-assembly-limit, so the worker spills); a RESP
 *     rewrite of 100k-element collections is batched 64 elements per command as Redis's;
 *  4. kill -9 of forkless-server under appendfsync always while clients pipeline HSET/ZADD/RPUSH:
 *     every acknowledged element is there after the restart.
 *
 * Needs redis-server and redis-check-aof: skipped loudly when missing unless FORKLESS_REQUIRE_REDIS
 * is set (then it fails). COLL_DEBUG=1 prints the encodings each compared dataset holds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, type Forkless } from '../engine/index.js';
import type { Reply } from '../engine/commands/types.js';
import { ReplyError } from '../engine/errors.js';
import { RespClient, toResp2, type Arg } from './support/resp-client.js';
import { freePort, startRedis } from './support/real-redis.js';
import { BaseGen, rngFrom } from './support/rng.js';
import { checkAof, manifestOf, parseAofBytes, redisToolsOr, sleep, tempDir } from './aof-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'forkless-server.js');

// ---------------------------------------------------------------------------------------------
// Dataset dumps: every key of every db with its type, contents and absolute expire time
// ---------------------------------------------------------------------------------------------

type Piper = (cmds: ReadonlyArray<readonly Arg[]>) => Promise<Reply[]>;

/** "db:key" → "type ttl contents" (and the encoding when asked). */
type DataDump = Map<string, string>;

const str = (r: Reply): string => {
  if (Buffer.isBuffer(r)) return r.toString('latin1');
  if (r instanceof ReplyError) return `-${r.message}`;
  return String(r);
};

function contentOf(type: string, items: string[]): string {
  if (type === 'set') items.sort();
  if (type === 'hash') {
    const pairs: string[] = [];
    for (let i = 0; i < items.length; i += 2) pairs.push(JSON.stringify([items[i], items[i + 1]]));
    return `${pairs.length}:${pairs.sort().join(',')}`;
  }
  return `${items.length}:${JSON.stringify(items)}`;
}

const flat = (r: Reply): string[] => (Array.isArray(r) ? (toResp2(r) as Reply[]).map(str) : [str(toResp2(r))]);

const SIZE: Record<string, string> = { string: 'STRLEN', list: 'LLEN', set: 'SCARD', zset: 'ZCARD', hash: 'HLEN' };
const READ: Record<string, (k: Buffer) => Arg[]> = {
  string: (k) => ['GET', k],
  list: (k) => ['LRANGE', k, 0, -1],
  set: (k) => ['SMEMBERS', k],
  zset: (k) => ['ZRANGE', k, 0, -1, 'WITHSCORES'],
  hash: (k) => ['HGETALL', k],
};
/** Collections larger than this are read in slices (the test RESP client re-parses a partial reply per chunk). */
const SLICE = 2000;

/** The elements of a large collection, read in slices: LRANGE/ZRANGE by index, SSCAN/HSCAN deduplicated. */
async function readSliced(pipe: Piper, type: string, key: Buffer, size: number): Promise<string[]> {
  if (type === 'list' || type === 'zset') {
    const cmds: Arg[][] = [];
    for (let i = 0; i < size; i += SLICE) cmds.push(type === 'list' ? ['LRANGE', key, i, i + SLICE - 1] : ['ZRANGE', key, i, i + SLICE - 1, 'WITHSCORES']);
    return (await pipe(cmds)).flatMap(flat);
  }
  const seen = new Map<string, string>();
  let cursor = '0';
  do {
    const [r] = await pipe([[type === 'set' ? 'SSCAN' : 'HSCAN', key, cursor, 'COUNT', SLICE]]);
    const [next, items] = toResp2(r!) as [Buffer, Reply[]];
    cursor = next.toString();
    const xs = items.map(str);
    if (type === 'set') for (const x of xs) seen.set(x, '');
    else for (let i = 0; i < xs.length; i += 2) seen.set(xs[i]!, xs[i + 1]!);
  } while (cursor !== '0');
  return type === 'set' ? [...seen.keys()] : [...seen].flat();
}

async function dumpData(pipe: Piper, encodings: boolean, dbs = 16): Promise<DataDump> {
  const out: DataDump = new Map();
  for (let db = 0; db < dbs; db++) {
    await pipe([['SELECT', db]]);
    const [keys] = await pipe([['KEYS', '*']]);
    const ks = (toResp2(keys!) as Buffer[]);
    for (let i = 0; i < ks.length; i += 100) {
      const chunk = ks.slice(i, i + 100);
      const meta = await pipe(chunk.flatMap((k) => [['TYPE', k], ['PEXPIRETIME', k], ['OBJECT', 'ENCODING', k]]));
      const types = chunk.map((_, j) => str(meta[3 * j]!));
      const sizes = await pipe(chunk.map((k, j) => [SIZE[types[j]!] ?? 'TYPE', k]));
      const small = chunk.map((k, j) => (typeof sizes[j] === 'number' && sizes[j] <= SLICE ? READ[types[j]!] ?? ((x: Buffer) => ['TYPE', x]) : (x: Buffer) => ['TYPE', x])(k));
      const reads = await pipe(small);
      for (let j = 0; j < chunk.length; j++) {
        const k = chunk[j]!;
        const type = types[j]!;
        const size = sizes[j];
        const items = typeof size === 'number' && size > SLICE && type !== 'string' ? await readSliced(pipe, type, k, size) : flat(reads[j]!);
        const enc = encodings ? ` [${str(meta[3 * j + 2]!)}]` : '';
        out.set(`${db}:${k.toString('latin1')}`, `${type} ${str(meta[3 * j + 1]!)}${enc} ${contentOf(type, items)}`);
      }
    }
  }
  await pipe([['SELECT', 0]]);
  return out;
}

function embeddedPiper(db: Forkless): Piper {
  return async (cmds) => cmds.map((c) => {
    try {
      return db.call(String(c[0]), ...c.slice(1)) as Reply;
    } catch (e) {
      if (e instanceof ReplyError) return e;
      throw e;
    }
  });
}

const clientPiper = (c: RespClient): Piper => (cmds) => c.pipeline(cmds);

const clip = (s: string | undefined): string => (s === undefined ? '(missing)' : s.length > 400 ? `${s.slice(0, 400)}… (${s.length} chars)` : s);

/** "type [encoding]" of every key, and how many keys each has (for coverage checks). */
function encodingsOf(d: DataDump): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of d.values()) {
    const m = /^(\S+) \S+ \[([a-z]+)\]/.exec(v);
    if (m !== null) out.set(`${m[1]} ${m[2]}`, (out.get(`${m[1]} ${m[2]}`) ?? 0) + 1);
  }
  return out;
}

function withoutEncodings(d: DataDump): DataDump {
  return new Map([...d].map(([k, v]) => [k, v.replace(/ \[[a-z]+\]/, '')]));
}

/** Every compact and every large encoding of the four collection types occurs in `d`. */
function assertAllEncodings(d: DataDump): void {
  const e = encodingsOf(d);
  for (const want of ['hash listpack', 'hash hashtable', 'set intset', 'set hashtable', 'zset listpack', 'zset skiplist', 'list quicklist']) {
    assert.ok(e.has(want), `the dataset has a ${want}: ${JSON.stringify([...e])}`);
  }
}

function assertSameData(actual: DataDump, expected: DataDump, what: string): void {
  if (process.env['COLL_DEBUG'] !== undefined) console.log(what, actual.size, JSON.stringify([...encodingsOf(actual)]));
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  assert.ok(missing.length === 0 && extra.length === 0,
    `${what}: keys missing ${JSON.stringify(missing.slice(0, 10))}, unexpected ${JSON.stringify(extra.slice(0, 10))}`);
  for (const [k, v] of expected) {
    const a = actual.get(k);
    if (a !== v) assert.unreachable(`${what}: key ${k}\n  actual:   ${clip(a)}\n  expected: ${clip(v)}`);
  }
}

/** Dumps a copy of `dir` as a real redis-server (appendonly yes) loads it. */
async function redisDumpOf(dir: string, encodings: boolean, config: Record<string, string> = {}): Promise<DataDump> {
  const copy = tempDir('coll-real');
  cpSync(dir, copy, { recursive: true });
  const srv = await startRedis({ dir: copy, args: ['--appendonly', 'yes', ...Object.entries(config).filter(([k]) => !k.startsWith('forkless-')).flatMap(([k, v]) => [`--${k}`, v])] });
  try {
    const c = await RespClient.connect(srv.port);
    try {
      return await dumpData(clientPiper(c), encodings);
    } finally {
      await c.close();
    }
  } catch (err) {
    throw new Error(`redis-server on ${dir}: ${(err as Error).message}\n${srv.output()}`, { cause: err });
  } finally {
    await srv.stop();
    rmSync(copy, { recursive: true, force: true });
  }
}

async function forklessDumpOf(dir: string, encodings: boolean, extra: Record<string, string> = {}): Promise<DataDump> {
  const db = await open({ dir, appendonly: 'yes', save: '', loglevel: 'warning', logfile: join(dir, 'reload.log'), ...extra });
  try {
    return await dumpData(embeddedPiper(db), encodings);
  } finally {
    await db.close();
  }
}

function assertCheckAof(dir: string): void {
  const chk = checkAof(join(dir, 'appendonlydir', 'appendonly.aof.manifest'));
  assert.is(chk.status, 0, chk.out);
  assert.match(chk.out, /All AOF files and manifest are valid/);
}

// ---------------------------------------------------------------------------------------------
// The workload: seeded commands over a few keys of each type, so they interact, convert
// encodings (long values, > 128 entries, > 512 integers) and expire
// ---------------------------------------------------------------------------------------------

const SCORES = ['0', '1', '-1', '1.5', '0.1', '-2.25', '1e-7', '3.14159', '1e300', '-inf', '+inf', '100', '42', '0.30000000000000004'];
const INCRS = ['0.1', '1.5', '-3', '1e-3', '2.5e5', '-0.2', '7'];
const LONG = 'L'.repeat(70);
const BINV = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x2a, 0x24, 0x80]);

class Workload extends BaseGen {
  constructor(seed: number) { super(rngFrom(seed)); }
  k(prefix: string): string { return `${prefix}:${this.int(0, 5)}`; }
  dst(): string { return `dst:${this.int(0, 3)}`; }
  /** Keys for deletes, renames and expires: never the :0 keys, so large collections stay. */
  any(): string { return this.pick(['h', 's', 'z', 'l', 'dst']) === 'dst' ? this.dst() : `${this.pick(['h', 's', 'z', 'l'])}:${this.int(1, 5)}`; }
  value(): Arg {
    const x = this.r();
    if (x < 0.05) return LONG + String(this.int(0, 9));
    if (x < 0.08) return BINV;
    if (x < 0.3) return String(this.int(-50, 700));
    return `v${this.int(0, 60)}`;
  }
  field(): string { return this.chance(0.1) ? `n${this.int(0, 3)}` : `f${this.int(0, 199)}`; }
  member(): Arg { return this.chance(0.4) ? String(this.int(0, 999)) : this.chance(0.05) ? LONG + String(this.int(0, 5)) : `m${this.int(0, 199)}`; }
  elem(): Arg { return this.chance(0.05) ? LONG : this.chance(0.3) ? String(this.int(0, 30)) : `e${this.int(0, 40)}`; }
  times<T>(lo: number, hi: number, f: () => T): T[] { return Array.from({ length: this.int(lo, hi) }, f); }

  /** Commands that make the first collections large from the start. */
  seed(): Arg[][] {
    const out: Arg[][] = [];
    for (let i = 0; i < 600; i += 50) out.push(['HSET', 'h:0', ...Array.from({ length: 50 }, (_, j) => [`f${i + j}`, `v${i + j}`]).flat()]);
    for (let i = 0; i < 600; i += 100) out.push(['SADD', 's:0', ...Array.from({ length: 100 }, (_, j) => String(i + j))]);
    for (let i = 0; i < 300; i += 100) out.push(['ZADD', 'z:0', ...Array.from({ length: 100 }, (_, j) => [String((i + j) / 7), `m${i + j}`]).flat()]);
    for (let i = 0; i < 3000; i += 500) out.push(['RPUSH', 'l:0', ...Array.from({ length: 500 }, (_, j) => `e${(i + j) % 41}`)]);
    out.push(['SADD', 'iset', '1', '2', '3', '-40'], ['HSET', 'hsmall', 'a', '1'], ['ZADD', 'zsmall', '1', 'a']); // stay compact
    out.push(['RPUSH', 'nl', ...Array.from({ length: 40 }, (_, j) => String((j * 7919) % 13))]);
    for (let j = 0; j < 13; j++) out.push(['SET', `wt:${j}`, String((j * 31) % 5)]);
    for (let j = 0; j < 6; j++) out.push(['HSET', `h:${j}`, 'n0', '10', 'n1', '1.5', 'n2', '-7', 'n3', '0']);
    return out;
  }

  op(): Arg[] {
    const w = this.int(0, 99);
    switch (w % 50) {
      case 0: case 1: case 2: return ['HSET', this.k('h'), ...this.times(1, 4, () => [this.field(), this.value()]).flat()];
      case 3: return ['HDEL', this.k('h'), ...this.times(1, 3, () => this.field())];
      case 4: return ['HINCRBYFLOAT', this.k('h'), `n${this.int(0, 3)}`, this.pick(INCRS)];
      case 5: return ['HINCRBY', this.k('h'), `n${this.int(0, 3)}`, String(this.int(-5, 5))];
      case 6: case 7: return ['SADD', this.k('s'), ...this.times(1, 5, () => this.member())];
      case 8: return ['SREM', this.k('s'), ...this.times(1, 3, () => this.member())];
      case 9: return this.chance(0.5) ? ['SPOP', this.k('s')] : ['SPOP', this.k('s'), String(this.int(1, 4))];
      case 10: return ['SMOVE', this.k('s'), this.k('s'), this.member()];
      case 11: return [this.pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), this.dst(), this.k('s'), this.k('s')];
      case 12: case 13: return ['ZADD', this.k('z'), ...this.times(1, 4, () => [this.pick(SCORES), this.member()]).flat()];
      case 14: return ['ZADD', this.k('z'), ...(this.chance(0.3) ? [this.pick(['NX', 'XX', 'GT', 'LT'])] : []), 'INCR', this.pick(INCRS), this.member()];
      case 15: return ['ZINCRBY', this.k('z'), this.pick(INCRS), this.member()];
      case 16: return [this.pick(['ZPOPMIN', 'ZPOPMAX']), this.k('z'), ...(this.chance(0.5) ? [String(this.int(1, 3))] : [])];
      case 17: return ['ZMPOP', '2', this.k('z'), this.k('z'), this.pick(['MIN', 'MAX']), 'COUNT', String(this.int(1, 4))];
      case 18: return this.chance(0.2) ? ['ZDIFFSTORE', this.dst(), '2', this.k('z'), this.k('z')]
        : [this.pick(['ZUNIONSTORE', 'ZINTERSTORE']), this.dst(), '2', this.k('z'), this.k('z'),
          ...(this.chance(0.5) ? ['WEIGHTS', '2', '0.5'] : []), ...(this.chance(0.5) ? ['AGGREGATE', this.pick(['MIN', 'MAX', 'SUM'])] : [])];
      case 19: return ['ZREMRANGEBYSCORE', this.k('z'), this.pick(['-inf', '0', '(1']), this.pick(['1', '50', '+inf'])];
      case 20: return ['ZRANGESTORE', this.dst(), this.k('z'), '0', String(this.int(0, 20))];
      case 21: case 22: return [this.pick(['LPUSH', 'RPUSH']), this.k('l'), ...this.times(1, 6, () => this.elem())];
      case 23: return [this.pick(['RPOP', 'LPOP']), this.k('l'), ...(this.chance(0.5) ? [String(this.int(1, 3))] : [])];
      case 24: return ['LMOVE', this.k('l'), this.k('l'), this.pick(['LEFT', 'RIGHT']), this.pick(['LEFT', 'RIGHT'])];
      case 25: return ['LMPOP', '2', this.k('l'), this.k('l'), this.pick(['LEFT', 'RIGHT']), 'COUNT', String(this.int(1, 3))];
      case 26: return ['LINSERT', this.k('l'), this.pick(['BEFORE', 'AFTER']), `e${this.int(0, 40)}`, this.elem()];
      case 27: return ['LSET', this.k('l'), String(this.int(-4, 4)), this.elem()];
      case 28: return ['LTRIM', this.k('l'), '0', String(this.int(50, 2000))];
      case 29: return ['LREM', this.k('l'), String(this.int(-2, 2)), `e${this.int(0, 40)}`];
      case 30: return ['RPOPLPUSH', this.k('l'), this.k('l')];
      case 31: return ['SORT', this.pick(['l', 's']) === 'l' ? this.k('l') : this.k('s'), 'ALPHA', ...(this.chance(0.5) ? ['DESC'] : []),
        ...(this.chance(0.5) ? ['LIMIT', String(this.int(0, 5)), String(this.int(1, 30))] : []), 'STORE', this.dst()];
      case 32: return this.pick([
        ['SORT', 'nl', 'STORE', this.dst()],
        ['SORT', 'nl', 'BY', 'wt:*', 'GET', '#', 'GET', 'wt:*', 'STORE', this.dst()],
        ['SORT', 'nl', 'BY', 'nosort', 'GET', 'h:*->n0', 'STORE', this.dst()],
        ['SORT', this.k('z'), 'BY', 'nosort', 'LIMIT', '0', '10', 'STORE', this.dst()],
        ['SORT', this.k('s'), 'BY', 'nosort', 'ALPHA', 'STORE', this.dst()],
      ]);
      case 33: case 34: return ['EXPIRE', this.any(), String(this.int(1000, 5000)), ...(this.chance(0.3) ? [this.pick(['NX', 'XX', 'GT', 'LT'])] : [])];
      case 35: return ['PEXPIRE', this.any(), String(this.int(20, 150))];
      case 36: return ['PERSIST', this.any()];
      case 37: return this.chance(0.3) ? ['DEL', this.any()] : ['PEXPIREAT', this.any(), String(Date.now() + this.int(2_000_000, 9_000_000))];
      case 38: return ['COPY', this.k(this.pick(['h', 's', 'z', 'l'])), this.dst(), ...(this.chance(0.5) ? ['REPLACE'] : [])];
      case 39: return ['RENAME', this.any(), this.dst()];
      case 40: return ['HSETNX', this.k('h'), this.field(), this.value()];
      case 41: return ['ZREM', this.k('z'), ...this.times(1, 3, () => this.member())];
      case 42: return ['LPUSHX', this.k('l'), this.elem()];
      case 43: return ['ZREMRANGEBYRANK', this.k('z'), '0', String(this.int(0, 3))];
      case 44: return ['HMSET', this.k('h'), ...this.times(1, 3, () => [this.field(), this.value()]).flat()];
      case 45: return ['SADD', this.k('s'), ...this.times(20, 80, () => String(this.int(0, 999)))];
      case 46: return ['ZADD', this.k('z'), ...this.times(10, 40, () => [this.pick(SCORES), this.member()]).flat()];
      case 47: return ['RPUSH', this.k('l'), ...this.times(20, 80, () => this.elem())];
      case 48: return ['HSET', this.k('h'), ...this.times(10, 40, () => [this.field(), this.value()]).flat()];
      default: return ['EXPIRE', this.any(), '-1'];
    }
  }

  /** `n` ops, with a SELECT 3 … SELECT 0 stretch now and then. */
  ops(n: number): Arg[][] {
    const out: Arg[][] = [];
    for (let i = 0; i < n; i++) {
      if (i % 400 === 399) {
        out.push(['SELECT', '3']);
        for (let j = 0; j < 20; j++) out.push(this.op());
        out.push(['SELECT', '0']);
      }
      out.push(this.op());
    }
    return out;
  }
}

/**
 * Blocking pops, each served by a push from another connection (they propagate as their
 * non-blocking forms), and one that times out (propagates nothing).
 */
async function blockingRounds(port: number, tag: string): Promise<void> {
  const blocker = await RespClient.connect(port);
  const pusher = await RespClient.connect(port);
  try {
    const rounds: Array<[Arg[], Arg[]]> = [
      [['BLPOP', `bl${tag}:0`, `bl${tag}:1`, '5'], ['RPUSH', `bl${tag}:1`, 'a', 'b', 'c']],
      [['BRPOP', `bl${tag}:2`, '5'], ['LPUSH', `bl${tag}:2`, 'x', 'y']],
      [['BLMOVE', `bl${tag}:3`, `bl${tag}:dst`, 'LEFT', 'RIGHT', '5'], ['RPUSH', `bl${tag}:3`, 'p', 'q']],
      [['BRPOPLPUSH', `bl${tag}:4`, `bl${tag}:dst`, '5'], ['RPUSH', `bl${tag}:4`, 'r']],
      [['BLMPOP', '5', '2', `bl${tag}:5`, `bl${tag}:6`, 'RIGHT', 'COUNT', '2'], ['RPUSH', `bl${tag}:6`, 's', 't', 'u']],
      [['BZPOPMIN', `bz${tag}:0`, `bz${tag}:1`, '5'], ['ZADD', `bz${tag}:1`, '3', 'c', '1', 'a', '2', 'b']],
      [['BZPOPMAX', `bz${tag}:2`, '5'], ['ZADD', `bz${tag}:2`, '1', 'a', '1.5', 'b']],
      [['BZMPOP', '5', '1', `bz${tag}:3`, 'MAX', 'COUNT', '2'], ['ZADD', `bz${tag}:3`, '1', 'a', '2', 'b', '3', 'c']],
      [['BLPOP', `bl${tag}:7`, '5'], ['RPUSH', `bl${tag}:7`, 'only']], // the key empties: propagated pop deletes it
    ];
    for (const [block, push] of rounds) {
      const reply = blocker.call(...block);
      await sleep(30);
      await pusher.call(...push);
      const r = toResp2(await reply);
      assert.ok(Array.isArray(r) || Buffer.isBuffer(r), `${String(block[0])} served: ${str(r)}`);
    }
    assert.not.ok(Array.isArray(await blocker.call('BLPOP', `bl${tag}:never`, '0.05')), 'BLPOP times out');
    // A blocked client served inside MULTI/EXEC by a pushing transaction.
    const reply = blocker.call('BLMOVE', `bl${tag}:8`, `bl${tag}:dst2`, 'RIGHT', 'LEFT', '5');
    await sleep(30);
    await pusher.pipeline([['MULTI'], ['RPUSH', `bl${tag}:8`, 'm1', 'm2'], ['EXPIRE', `bl${tag}:8`, '3000'], ['EXEC']]);
    assert.ok(Buffer.isBuffer(await reply));
  } finally {
    await blocker.close();
    await pusher.close();
  }
}

/** Runs ops through a connection in pipelined batches. */
async function runOps(c: RespClient, ops: Arg[][], batch = 100): Promise<void> {
  for (let i = 0; i < ops.length; i += batch) await c.pipeline(ops.slice(i, i + batch));
}

/** db.call, an error reply (WRONGTYPE…) ignored as a client would. */
function tryCall(db: Forkless, ...argv: Arg[]): void {
  try { db.call(String(argv[0]), ...argv.slice(1)); } catch (e) { if (!(e instanceof ReplyError)) throw e; }
}

function runOpsEmbedded(db: Forkless, ops: Arg[][]): void {
  for (const o of ops) tryCall(db, ...o);
}

async function untilRewriteDone(c: RespClient): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const info = str(await c.call('INFO', 'persistence'));
    if (info.includes('aof_rewrite_in_progress:0') && info.includes('aof_rewrite_scheduled:0')) {
      assert.match(info, 'aof_last_bgrewrite_status:ok');
      return;
    }
    await sleep(20);
  }
  assert.unreachable('rewrite did not finish');
}

// ---------------------------------------------------------------------------------------------
// forkless-server
// ---------------------------------------------------------------------------------------------

interface ServerProc { port: number; dir: string; log(): string; kill(): Promise<void>; exited: Promise<number | null> }

async function startForkless(dir: string, args: string[]): Promise<ServerProc> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--logfile', '', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  for (let i = 0; i < 500 && !out.includes('Ready to accept connections') && child.exitCode === null; i++) await sleep(20);
  if (!out.includes('Ready to accept connections')) {
    try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
    throw new Error(`forkless-server did not start:\n${out}`);
  }
  return {
    port, dir, exited, log: () => out,
    async kill() {
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------

if (redisToolsOr('aof-collections')) {
  test('forkless-server collection workload: redis-check-aof passes, redis-server and forkless reload the live dataset', async () => {
    const dir = tempDir('coll-ours');
    let srv: ServerProc | null = null;
    try {
      srv = await startForkless(dir, ['--appendfsync', 'everysec']);
      const c = await RespClient.connect(srv.port);
      const w = new Workload(0xc011);
      await runOps(c, w.seed());
      await runOps(c, w.ops(1500));
      await blockingRounds(srv.port, 'A');
      assert.is(await c.call('BGREWRITEAOF'), 'Background append only file rewriting started');
      await runOps(c, w.ops(300), 10); // while the rewrite runs
      await untilRewriteDone(c);
      await runOps(c, w.ops(1500));
      await blockingRounds(srv.port, 'B');
      await sleep(200); // short TTLs (<= 150 ms) run out before the snapshot of the live data
      const live = await dumpData(clientPiper(c), false);
      assert.ok(live.size > 30, `${live.size} keys`);
      // SHUTDOWN NOSAVE: with appendfsync everysec the AOF is flushed and fsynced on the way out.
      await c.call('SHUTDOWN', 'NOSAVE').catch(() => null);
      assert.is(await srv.exited, 0, srv.log());
      srv = null;
      const incr = manifestOf(join(dir, 'appendonlydir')).filter((m) => m.type === 'i');
      const cmds = incr.flatMap((m) => parseAofBytes(readFileSync(join(dir, 'appendonlydir', m.name))));
      for (const name of ['LMOVE', 'BLMOVE', 'LPOP', 'ZPOPMIN', 'ZPOPMAX']) {
        assert.ok(cmds.some((x) => x[0]!.toUpperCase() === name) === (name !== 'BLMOVE'), `served blocking pops propagate non-blocking forms (${name})`);
      }
      assertCheckAof(dir);
      assertSameData(await redisDumpOf(dir, false), live, 'redis-server on our directory');
      const ours = await forklessDumpOf(dir, true);
      assertAllEncodings(ours);
      assertSameData(withoutEncodings(ours), live, 'forkless reload');
      assertSameData(ours, await redisDumpOf(dir, true), 'forkless reload vs redis-server, with encodings');
    } finally {
      if (srv !== null) await srv.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const preamble of ['no', 'yes']) {
    test(`redis-server's collection AOF loads in forkless (aof-use-rdb-preamble ${preamble})`, async () => {
      // list-compress-depth 1: the preamble's quicklist nodes are LZF-compressed (Redis stores them
      // so); lazyfree-lazy-server-del: whole-set SPOPs propagate as UNLINK; #TS annotations with no preamble.
      const srv = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--aof-use-rdb-preamble', preamble,
        '--list-compress-depth', '1', '--lazyfree-lazy-server-del', 'yes', '--aof-timestamp-enabled', preamble] });
      const dir = tempDir('coll-theirs');
      let live: DataDump;
      try {
        const c = await RespClient.connect(srv.port);
        const w = new Workload(preamble === 'yes' ? 7 : 8);
        await runOps(c, w.seed());
        await runOps(c, w.ops(1500));
        await blockingRounds(srv.port, 'A');
        await c.call('BGREWRITEAOF');
        await runOps(c, w.ops(300), 10);
        await untilRewriteDone(c);
        await runOps(c, w.ops(1500));
        await blockingRounds(srv.port, 'B');
        await sleep(200);
        live = await dumpData(clientPiper(c), false);
        await c.close();
        cpSync(srv.dir, dir, { recursive: true }); // appendfsync always: every write is in the files
      } finally {
        await srv.stop();
      }
      try {
        const base = manifestOf(join(dir, 'appendonlydir'))[0]!;
        assert.ok(base.name.endsWith(preamble === 'yes' ? '.base.rdb' : '.base.aof'), base.name);
        const ours = await forklessDumpOf(dir, true);
        assertAllEncodings(ours);
        assertSameData(withoutEncodings(ours), live, 'forkless on redis-server\'s directory');
        assertSameData(ours, await redisDumpOf(dir, true), 'forkless vs redis-server on the same directory, with encodings');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  /**
   * The last two variants: small encoding thresholds (conversions happen often), timestamp
   * annotations, and a 64 KB assembly limit (the worker spills gathered collections to
   * `<temp base>.spill`; seen while the rewrite runs).
   */
  const SMALL: Record<string, string> = {
    'hash-max-listpack-entries': '16', 'hash-max-listpack-value': '20', 'set-max-intset-entries': '16',
    'zset-max-listpack-entries': '8', 'zset-max-listpack-value': '16', 'list-max-listpack-size': '4', 'aof-timestamp-enabled': 'yes',
    'forkless-snapshot-assembly-limit': '64kb',
  };
  for (const [preamble, extra] of [['no', {}], ['yes', {}], ['yes', SMALL], ['no', SMALL]] as Array<[string, Record<string, string>]>) {
    const variant = `aof-use-rdb-preamble ${preamble}${extra === SMALL ? ', small encoding thresholds, timestamps, assembly spilled' : ''}`;
    test(`BGREWRITEAOF while collections change (${variant}): forkless and redis-server load the live dataset`, async () => {
      const dir = tempDir('coll-rw');
      let db: Forkless | null = null;
      try {
        const conf = { dir, appendonly: 'yes', appendfsync: 'no', save: '', loglevel: 'warning', logfile: join(dir, 'log.txt'), 'aof-use-rdb-preamble': preamble, ...extra };
        db = await open(conf);
        const w = new Workload(preamble === 'yes' ? 21 : 22);
        runOpsEmbedded(db, w.seed());
        // Large collections of each kind, plus many small ones.
        for (let i = 0; i < 20_000; i += 500) {
          db.call('HSET', 'big:h', ...Array.from({ length: 500 }, (_, j) => [`field:${i + j}`, `value:${(i + j) * 3}`]).flat());
          db.call('SADD', 'big:s', ...Array.from({ length: 500 }, (_, j) => `member:${i + j}`));
          db.call('ZADD', 'big:z', ...Array.from({ length: 500 }, (_, j) => [String((i + j) * 0.25), `member:${i + j}`]).flat());
          db.call('RPUSH', 'big:l', ...Array.from({ length: 500 }, (_, j) => `item:${i + j}`));
        }
        for (let i = 0; i < 3000; i++) {
          db.call('SELECT', i % 3);
          db.call(['HSET', 'SADD', 'RPUSH', 'ZADD'][i % 4]!, `small:${i}`, ...(i % 4 === 3 ? [String(i), `m${i}`] : i % 4 === 0 ? ['f', `v${i}`] : [`e${i}`, `x${i}`]));
          if (i % 5 === 0) db.call('PEXPIREAT', `small:${i}`, Date.now() + 3_600_000 + i);
        }
        db.call('SELECT', 0);
        runOpsEmbedded(db, w.ops(1000));
        // Large collections awaiting lazy free when the rewrite starts, one under a key that
        // exists again (large) by then.
        for (const k of ['gone:h', 'gone:z']) {
          for (let i = 0; i < 20_000; i += 1000) {
            db.call(k === 'gone:h' ? 'HSET' : 'ZADD', k, ...Array.from({ length: 1000 }, (_, j) => [String(i + j), `x${i + j}`]).flat());
          }
          db.call('UNLINK', k);
        }
        db.call('HSET', 'gone:h', ...Array.from({ length: 600 }, (_, j) => [`again${j}`, String(j)]).flat());
        assert.is(db.call('BGREWRITEAOF'), 'Background append only file rewriting started');
        const spill = join(dir, `temp-rewriteaof-bg-${process.pid}.aof.spill`);
        let spilled = false;
        let n = 0;
        while (db.engine.aof.rewriteInProgress) {
          spilled ||= existsSync(spill);
          for (let j = 0; j < 50; j++, n++) {
            db.call('HSET', 'big:h', `field:${(n * 7) % 25_000}`, `new:${n}`);
            db.call('ZADD', 'big:z', 'INCR', '1.5', `member:${(n * 11) % 25_000}`);
            db.call('SREM', 'big:s', `member:${(n * 13) % 20_000}`);
            if (n % 2 === 0) db.call('RPOP', 'big:l');
            else db.call('LPUSH', 'big:l', `pushed:${n}`);
            db.call('SELECT', n % 3);
            if (n % 7 === 0) db.call('DEL', `small:${(n * 17) % 3000}`);
            else tryCall(db, 'SADD', `small:${(n * 17) % 3000}`, ...Array.from({ length: 200 }, (_, k) => String(k + n))); // converts to a large set (or WRONGTYPE)
            db.call('SELECT', 0);
            if (n === 100) db.call('DEL', 'big:h'); // a large collection deleted mid-rewrite
            if (n === 150) db.call('HSET', 'big:h', 'reborn', '1');
            if (n === 200) { db.call('SELECT', 2); db.call('FLUSHDB'); db.call('SELECT', 0); }
            if (n === 250) db.call('SWAPDB', 1, 2);
            if (n === 300) db.call('PEXPIREAT', 'big:z', Date.now() + 7_200_000);
          }
          runOpsEmbedded(db, w.ops(50));
          await sleep(0);
        }
        assert.ok(n > 100, `writes happened during the rewrite (${n} rounds)`);
        assert.is(spilled, extra === SMALL, 'the worker spilled gathered collections');
        assert.not.ok(existsSync(spill), 'the spill file is removed');
        const spilledBytes = Number(/forkless_aof_rewrite_assembly_spilled_bytes:(\d+)/.exec(String(db.call('INFO', 'persistence')))?.[1] ?? -1);
        assert.is(spilledBytes > 0, extra === SMALL, `INFO forkless_aof_rewrite_assembly_spilled_bytes ${spilledBytes}`);
        if (process.env['COLL_DEBUG'] !== undefined) console.log('rounds during the rewrite', n);
        runOpsEmbedded(db, w.ops(500));
        // A write in a later second carries a #TS annotation (one per second with writes, as Redis).
        await sleep(extra === SMALL ? 1100 : 200);
        db.call('HSET', 'after', 'the', 'pause');
        const live = await dumpData(embeddedPiper(db), false);
        await db.durable();
        await db.close();
        db = null;
        const m = manifestOf(join(dir, 'appendonlydir'));
        assert.equal(m.map((x) => x.type), ['b', 'i']);
        assert.ok(m[0]!.name.endsWith(preamble === 'yes' ? '.base.rdb' : '.base.aof'), m[0]!.name);
        if (extra === SMALL) {
          const files = m.filter((x) => x.name.endsWith('.aof')).map((x) => readFileSync(join(dir, 'appendonlydir', x.name), 'latin1'));
          for (const f of files) assert.match(f, /^#TS:\d+\r\n/m, 'timestamp annotations');
        }
        assertCheckAof(dir);
        const ours = await forklessDumpOf(dir, true, extra);
        assertAllEncodings(ours);
        assertSameData(withoutEncodings(ours), live, 'forkless reload after the rewrite');
        assertSameData(ours, await redisDumpOf(dir, true, extra), 'forkless vs redis-server on the rewritten directory, with encodings');
      } finally {
        if (db !== null) await db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('RESP rewrite of 100k-element collections: 64 elements per command, loads in forkless and redis-server', async () => {
    const dir = tempDir('coll-100k');
    let db: Forkless | null = null;
    try {
      const conf = { dir, appendonly: 'yes', appendfsync: 'no', save: '', loglevel: 'warning', logfile: join(dir, 'log.txt'), 'aof-use-rdb-preamble': 'no' };
      db = await open(conf);
      const N = 100_000;
      for (let i = 0; i < N; i += 1000) {
        db.call('HSET', 'h100k', ...Array.from({ length: 1000 }, (_, j) => [`f${i + j}`, String(i + j)]).flat());
        db.call('SADD', 's100k', ...Array.from({ length: 1000 }, (_, j) => `m${i + j}`));
        db.call('ZADD', 'z100k', ...Array.from({ length: 1000 }, (_, j) => [String((i + j) / 3), `m${i + j}`]).flat());
        db.call('RPUSH', 'l100k', ...Array.from({ length: 1000 }, (_, j) => String(i + j)));
      }
      db.call('SADD', 'i100k', ...Array.from({ length: N }, (_, j) => String(j * 3))); // integers: a hashtable set of ints
      db.call('PEXPIREAT', 'z100k', Date.now() + 3_600_000);
      // Commands larger than the writer's 1 MiB buffer: 64 elements of 40 KB.
      for (let i = 0; i < 100; i++) {
        db.call('RPUSH', 'lhuge', Buffer.alloc(40_000, 97 + (i % 26)));
        db.call('HSET', 'hhuge', `f${i}`, Buffer.alloc(40_000, 65 + (i % 26)));
      }
      db.call('BGREWRITEAOF');
      while (db.engine.aof.rewriteInProgress) await sleep(5);
      assert.match(String(db.call('INFO', 'persistence')), 'aof_last_bgrewrite_status:ok');
      const live = await dumpData(embeddedPiper(db), false);
      await db.close();
      db = null;
      const m = manifestOf(join(dir, 'appendonlydir'));
      const base = parseAofBytes(readFileSync(join(dir, 'appendonlydir', m[0]!.name)));
      const per = new Map<string, { cmds: number; items: number; max: number }>();
      for (const c of base) {
        if (c[0] === 'SELECT') continue;
        const tag = `${c[0]} ${c[1]}`;
        const n = c[0] === 'PEXPIREAT' ? 0 : (c.length - 2) / (c[0] === 'ZADD' || c[0] === 'HMSET' ? 2 : 1);
        const e = per.get(tag) ?? { cmds: 0, items: 0, max: 0 };
        e.cmds++; e.items += n; e.max = Math.max(e.max, n);
        per.set(tag, e);
      }
      for (const tag of ['HMSET h100k', 'SADD s100k', 'ZADD z100k', 'RPUSH l100k', 'SADD i100k']) {
        assert.equal(per.get(tag), { cmds: Math.ceil(N / 64), items: N, max: 64 }, tag);
      }
      for (const tag of ['RPUSH lhuge', 'HMSET hhuge']) assert.equal(per.get(tag), { cmds: 2, items: 100, max: 64 }, tag);
      assert.ok(base.some((c) => c[0] === 'PEXPIREAT' && c[1] === 'z100k'));
      assertCheckAof(dir);
      assertSameData(await forklessDumpOf(dir, false), live, 'forkless reload');
      assertSameData(await redisDumpOf(dir, false), live, 'redis-server load');
    } finally {
      if (db !== null) await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kill -9 of forkless-server, appendfsync always: acknowledged HSET/ZADD/RPUSH all present after restart', async () => {
    const dir = tempDir('coll-crash');
    let srv: ServerProc | null = null;
    try {
      srv = await startForkless(dir, ['--appendfsync', 'always']);
      const clients = await Promise.all([0, 1, 2].map(() => RespClient.connect(srv!.port)));
      const acked: Array<[string, string, string]> = []; // [type, key, element]
      let stop = false;
      const loops = clients.map(async (cl, id) => {
        for (let seq = 0; !stop; seq += 10) {
          const cmds: Arg[][] = [];
          const what: Array<[string, string, string]> = [];
          for (let j = seq; j < seq + 10; j++) {
            const kind = (j + id) % 3;
            const key = `${['ch', 'cz', 'cl'][kind]}:${id}:${j % 5}`; // some grow past the compact thresholds
            cmds.push(kind === 0 ? ['HSET', key, `f${j}`, `v${j}`] : kind === 1 ? ['ZADD', key, String(j), `m${j}`] : ['RPUSH', key, `e${j}`]);
            what.push([['hash', 'zset', 'list'][kind]!, key, String(j)]);
          }
          let replies: Reply[];
          try { replies = await cl.pipeline(cmds); } catch { return; }
          replies.forEach((r, j) => { if (typeof r === 'number') acked.push(what[j]!); });
        }
      });
      await sleep(700 + Math.floor(Math.random() * 300));
      await srv.kill();
      stop = true;
      await Promise.all(loops);
      srv = null;
      assert.ok(acked.length > 200, `${acked.length} acknowledged writes`);
      const db = await open({ dir, appendonly: 'yes', save: '', loglevel: 'warning', logfile: join(dir, 'reload.log') });
      const lost: string[] = [];
      try {
        const lists = new Map<string, Set<string>>();
        for (const [type, key, j] of acked) {
          if (type === 'hash' && db.call('HGET', key, `f${j}`)?.toString() !== `v${j}`) lost.push(`HSET ${key} f${j}`);
          if (type === 'zset' && db.call('ZSCORE', key, `m${j}`)?.toString() !== j) lost.push(`ZADD ${key} m${j}`);
          if (type === 'list') {
            let s = lists.get(key);
            if (s === undefined) {
              s = new Set((db.call('LRANGE', key, 0, -1) as Buffer[]).map((b) => b.toString()));
              lists.set(key, s);
            }
            if (!s.has(`e${j}`)) lost.push(`RPUSH ${key} e${j}`);
          }
        }
      } finally {
        await db.close();
      }
      assert.equal(lost.slice(0, 5), [], `${lost.length} of ${acked.length} acknowledged writes lost`);
      assertCheckAof(dir);
    } finally {
      if (srv !== null) await srv.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
