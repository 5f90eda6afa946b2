/**
 * Differential test of the sorted-set family: seeded random sequences of every Z* command (valid
 * and invalid: bad scores, "nan", "(1" and "[a" bounds, wrong arity, option conflicts, wrong
 * types, sets as inputs) run through our Dispatcher over the shared-memory keyspace and through a
 * real redis-server 7.0.15; every reply must be identical (type-exact). Keys cross the listpack →
 * skiplist threshold (bulk ZADDs, long members), and after each sequence the whole dataset — every
 * zset's elements and scores and its encoding (our stored form vs OBJECT ENCODING) — is compared,
 * as is the propagated write stream with the AOF redis-server wrote. A shorter run repeats it over
 * RESP3 (HELLO 3): nested WITHSCORES pairs and doubles.
 *
 * Random replies (ZRANDMEMBER, ZSCAN cursors) are compared by what is deterministic: shape and
 * count, full SCAN iterations as sorted pair lists. Lex commands run only on a key whose scores are
 * all 0 (Redis leaves lex ranges over mixed scores unspecified).
 *
 * Needs redis-server: skipped loudly when it is missing unless FORKLESS_REQUIRE_REDIS is set.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NilArray, type Reply } from '../engine/commands/types.js';
import { ReplyError } from '../engine/errors.js';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { VT_LARGE, VT_ZSET_LISTPACK } from '../engine/keyspace/api.js';
import { makeHarness, type Harness } from './support/command-harness.js';
import { haveRedis, startRedis } from './support/real-redis.js';
import { RespClient, RespParser, sameReply, showReply, toResp2 } from './support/resp-client.js';
import { rngFrom, BaseGen } from './support/rng.js';


class Gen extends BaseGen {
  caseOf(s: string): string {
    const k = this.r();
    if (k < 0.45) return s.toUpperCase();
    if (k < 0.9) return s.toLowerCase();
    return [...s].map((c) => (this.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
  }

  /** A zset key for score commands (never the lex key as a destination of score writes). */
  zkey(): string { return this.pick(['z1', 'z1', 'z2', 'z2', 'z3', 'big', 'nokey', 'str', 'set1', 'iset']); }
  dstKey(): string { return this.pick(['z1', 'z2', 'z3', 'dst', 'dst', 'str', 'big']); }
  member(): string {
    const k = this.r();
    if (k < 0.45) return this.pick(['a', 'b', 'c', 'd', 'e', 'f', 'aa', 'ab', 'ba', '', 'b\x00', '\xff', 'x y']);
    if (k < 0.65) return this.pick(['0', '1', '2', '10', '-1', '100', '007', '1.5', '9223372036854775808']);
    if (k < 0.97) return `m${this.int(0, 60)}`;
    return 'L'.repeat(this.pick([64, 65, 70]));
  }
  score(): string {
    const k = this.r();
    if (k < 0.08) return this.pick(['nan', 'abc', '', ' 1', '1e400', '(1', '1x', '-nan', '+inf', 'inf', '-inf', 'Infinity', '0x10', '1e-400']);
    if (k < 0.5) return String(this.int(-5, 10));
    if (k < 0.7) return (this.int(-1000, 1000) / 8).toString();
    if (k < 0.8) return this.pick(['0.1', '0.2', '0.3', '1e17', '4611686018427387905', '-0', '3.0e0', '1.5e3', '123456789012.5']);
    return String((this.r() - 0.5) * 10 ** this.int(-5, 20));
  }
  bound(): string {
    const k = this.r();
    if (k < 0.08) return this.pick(['nan', '(nan', 'x', '((1', '[1', '', '(', ' 2', '1 ', '+inf', '-inf', '(inf', '(-inf', 'inf', '0x1p2']);
    if (k < 0.11) return this.pick(['-0', '(-0', '(0', '0', '(+inf', '1e-320', '(-1e-320', '+0']);
    const v = this.chance(0.7) ? String(this.int(-5, 10)) : (this.int(-80, 80) / 8).toString();
    return this.chance(0.3) ? `(${v}` : v;
  }
  lexBound(): string {
    const k = this.r();
    if (k < 0.08) return this.pick(['a', '', '++', '--', '+a', 'x', '{a']);
    if (k < 0.25) return this.pick(['-', '+']);
    return (this.chance(0.5) ? '[' : '(') + this.pick(['a', 'b', 'c', 'aa', 'ab', 'm1', 'm3', 'm5', '', '\xff', 'b\x00', 'z']);
  }
  index(): string {
    if (this.chance(0.08)) return this.pick(['x', '1.5', '', '9223372036854775807', '-9223372036854775808', '9223372036854775808']);
    if (this.chance(0.05)) return String(this.int(-200, 200)); // around the big key's length
    return String(this.int(-12, 12));
  }
  count(): string {
    if (this.chance(0.1)) return this.pick(['0', '-1', 'x', '9223372036854775807', '-9223372036854775807', '1.0']);
    return String(this.int(1, 8));
  }
}

type Compare = 'exact' | 'random' | 'scan';
interface Step { argv: string[]; compare: Compare }

function rangeOpts(g: Gen, allowWithscores: boolean): string[] {
  const out: string[] = [];
  const n = g.int(0, 3);
  for (let i = 0; i < n; i++) {
    const k = g.r();
    if (k < 0.3 && allowWithscores) out.push(g.caseOf('withscores'));
    else if (k < 0.55) {
      // offsets past the end of any set now and then, and the int64 extremes
      const off = g.chance(0.9) ? String(g.int(-1, 4)) : g.pick(['x', '150', '9223372036854775807', '-9223372036854775808']);
      out.push(g.caseOf('limit'), off, g.chance(0.9) ? String(g.int(-2, 5)) : g.pick(['1.5', '200', '9223372036854775807']));
    }
    else if (k < 0.7) out.push(g.caseOf('rev'));
    else if (k < 0.8) out.push(g.caseOf('byscore'));
    else if (k < 0.9) out.push(g.caseOf('bylex'));
    else out.push(g.pick(['foo', 'limit', 'withscore']));
  }
  return out;
}

function setOpOpts(g: Gen, nkeys: number): string[] {
  const out: string[] = [];
  const n = g.int(0, 3);
  for (let i = 0; i < n; i++) {
    const k = g.r();
    if (k < 0.35) {
      out.push(g.caseOf('weights'));
      const m = g.chance(0.85) ? nkeys : g.int(0, nkeys + 1);
      for (let j = 0; j < m; j++) out.push(g.chance(0.9) ? g.pick(['1', '2', '0', '-1', '0.5', '3', 'inf', '-inf']) : g.pick(['x', 'nan', '']));
    } else if (k < 0.65) out.push(g.caseOf('aggregate'), g.chance(0.9) ? g.pick(['sum', 'min', 'max', 'MIN', 'Max']) : 'avg');
    else if (k < 0.85) out.push(g.caseOf('withscores'));
    else out.push(g.pick(['limit', '1', 'foo']));
  }
  return out;
}

function genStep(g: Gen): Step {
  const c = (s: string): string => g.caseOf(s);
  const keys = (n: number): string[] => Array.from({ length: n }, () => g.zkey());
  const table: Array<[number, () => Step]> = [
    [14, () => {
      const opts: string[] = [];
      const n = g.chance(0.6) ? 0 : g.int(1, 3);
      for (let i = 0; i < n; i++) opts.push(c(g.pick(['nx', 'xx', 'gt', 'lt', 'ch', 'incr', 'ch', 'gt'])));
      const pairs = g.chance(0.8) ? g.int(1, 3) : g.int(4, 8);
      const args: string[] = [];
      for (let i = 0; i < pairs; i++) args.push(g.score(), g.member());
      return { argv: [c('zadd'), g.zkey(), ...opts, ...args], compare: 'exact' };
    }],
    [2, () => {
      // bulk: push a key across zset-max-listpack-entries
      const args: string[] = [];
      const base = g.int(0, 100);
      for (let i = 0; i < g.int(60, 140); i++) args.push(String(g.int(-20, 20) / 2), `m${base + i}`);
      return { argv: ['ZADD', g.pick(['z1', 'z2', 'big', 'big']), ...args], compare: 'exact' };
    }],
    [2, () => {
      const args: string[] = [];
      for (let i = 0; i < g.int(1, 6); i++) args.push('0', g.pick(['a', 'b', 'c', 'aa', 'ab', 'ba', 'm1', 'm2', 'm3', 'm4', 'm5', '', '\xff', 'b\x00', 'z', 'L'.repeat(65)]));
      return { argv: ['ZADD', 'lex', ...args], compare: 'exact' };
    }],
    [5, () => ({ argv: [c('zincrby'), g.zkey(), g.score(), g.member()], compare: 'exact' })],
    [5, () => ({ argv: [c('zrem'), g.zkey(), ...Array.from({ length: g.int(1, 3) }, () => g.member())], compare: 'exact' })],
    [3, () => ({ argv: [c('zcard'), g.zkey()], compare: 'exact' })],
    [4, () => ({ argv: [c('zscore'), g.zkey(), g.member()], compare: 'exact' })],
    [3, () => ({ argv: [c('zmscore'), g.zkey(), ...Array.from({ length: g.int(1, 4) }, () => g.member())], compare: 'exact' })],
    [4, () => ({ argv: [c(g.pick(['zrank', 'zrevrank'])), g.zkey(), g.member()], compare: 'exact' })],
    [4, () => ({ argv: [c('zcount'), g.zkey(), g.bound(), g.bound()], compare: 'exact' })],
    [3, () => ({ argv: [c('zlexcount'), 'lex', g.lexBound(), g.lexBound()], compare: 'exact' })],
    [8, () => {
      const k = g.r();
      const key = g.zkey();
      if (k < 0.4) return { argv: [c('zrange'), key, g.index(), g.index(), ...rangeOpts(g, true)], compare: 'exact' };
      if (k < 0.7) return { argv: [c('zrange'), key, g.bound(), g.bound(), c('byscore'), ...rangeOpts(g, true)], compare: 'exact' };
      return { argv: [c('zrange'), 'lex', g.lexBound(), g.lexBound(), c('bylex'), ...rangeOpts(g, g.chance(0.1))], compare: 'exact' };
    }],
    [4, () => {
      const k = g.r();
      const dst = g.dstKey();
      if (k < 0.4) return { argv: [c('zrangestore'), dst, g.zkey(), g.index(), g.index(), ...rangeOpts(g, false)], compare: 'exact' };
      if (k < 0.75) return { argv: [c('zrangestore'), dst, g.zkey(), g.bound(), g.bound(), c('byscore'), ...rangeOpts(g, false)], compare: 'exact' };
      return { argv: [c('zrangestore'), g.pick(['dst', 'lex2']), 'lex', g.lexBound(), g.lexBound(), c('bylex'), ...rangeOpts(g, false)], compare: 'exact' };
    }],
    [4, () => ({ argv: [c(g.pick(['zrangebyscore', 'zrevrangebyscore'])), g.zkey(), g.bound(), g.bound(), ...rangeOpts(g, true)], compare: 'exact' })],
    [3, () => ({ argv: [c(g.pick(['zrangebylex', 'zrevrangebylex'])), 'lex', g.lexBound(), g.lexBound(), ...rangeOpts(g, g.chance(0.1))], compare: 'exact' })],
    [3, () => ({ argv: [c('zrevrange'), g.zkey(), g.index(), g.index(), ...(g.chance(0.5) ? [c('withscores')] : g.chance(0.2) ? [g.pick(['limit', 'byscore', 'rev'])] : [])], compare: 'exact' })],
    [2, () => ({ argv: [c('zremrangebyscore'), g.zkey(), g.bound(), g.bound()], compare: 'exact' })],
    [2, () => ({ argv: [c('zremrangebyrank'), g.zkey(), g.index(), g.index()], compare: 'exact' })],
    [2, () => ({ argv: [c('zremrangebylex'), 'lex', g.lexBound(), g.lexBound()], compare: 'exact' })],
    [4, () => ({ argv: [c(g.pick(['zpopmin', 'zpopmax'])), g.pick(['z1', 'z2', 'z3', 'big', 'lex', 'nokey', 'str']), ...(g.chance(0.6) ? [g.count()] : g.chance(0.1) ? ['1', '2'] : [])], compare: 'exact' })],
    [3, () => {
      const n = g.chance(0.9) ? g.int(1, 3) : g.pick([0, -1, 5]);
      const ks = keys(Math.max(0, Math.min(n, 3)));
      const where = g.chance(0.9) ? c(g.pick(['min', 'max'])) : 'mid';
      const tail = g.chance(0.5) ? [c('count'), g.count()] : g.chance(0.1) ? ['count', '1', 'count', '2'] : [];
      return { argv: [c('zmpop'), String(n), ...ks, where, ...tail], compare: 'exact' };
    }],
    [3, () => {
      const key = g.pick(['z1', 'z2', 'big', 'lex', 'nokey', 'str']);
      const k = g.r();
      if (k < 0.3) return { argv: [c('zrandmember'), key], compare: 'random' };
      const n = g.pick(['0', '1', '2', '-3', '5', '200', '-1', 'x', '-9223372036854775808', '4611686018427387904']);
      return { argv: [c('zrandmember'), key, n, ...(g.chance(0.5) ? [c('withscores')] : g.chance(0.1) ? ['foo'] : [])], compare: 'random' };
    }],
    [6, () => {
      const op = g.pick(['zunion', 'zinter', 'zdiff', 'zintercard']);
      const n = g.chance(0.92) ? g.int(1, 3) : g.pick([0, -1, 4, 9]);
      const ks = keys(Math.max(0, Math.min(n, 3)));
      const opts = op === 'zintercard' ? (g.chance(0.5) ? [c('limit'), g.pick(['0', '1', '2', '-1', 'x'])] : []) : setOpOpts(g, n);
      return { argv: [c(op), g.chance(0.05) ? 'x' : String(n), ...ks, ...opts], compare: 'exact' };
    }],
    [5, () => {
      const op = g.pick(['zunionstore', 'zinterstore', 'zdiffstore']);
      const n = g.chance(0.92) ? g.int(1, 3) : g.pick([0, 4]);
      const ks = keys(Math.max(0, Math.min(n, 3)));
      return { argv: [c(op), g.dstKey(), String(n), ...ks, ...setOpOpts(g, n).filter((x) => x.toLowerCase() !== 'withscores' || g.chance(0.2))], compare: 'exact' };
    }],
    [2, () => {
      const opts: string[] = [];
      if (g.chance(0.4)) opts.push(c('match'), g.pick(['*', 'm*', 'a?', '*1*', '[ab]*']));
      if (g.chance(0.3)) opts.push(c('count'), g.pick(['1', '5', '100', '0', 'x']));
      if (g.chance(0.05)) opts.push('foo');
      return { argv: [c('zscan'), g.pick(['z1', 'z2', 'big', 'lex', 'nokey', 'str']), g.chance(0.95) ? '0' : g.pick(['x', ' 0', '0x']), ...opts], compare: 'scan' };
    }],
    [1, () => ({ argv: [c('sadd'), g.pick(['set1', 'iset']), ...(g.pick([['1', '2', '3'], ['a', 'm1', 'b'], ['10', 'c']]))], compare: 'exact' })],
    [1, () => ({ argv: [c('set'), 'str', 'v'], compare: 'exact' })],
    [1, () => ({ argv: [c('del'), g.pick(['z1', 'z2', 'z3', 'dst', 'lex'])], compare: 'exact' })],
    [1, () => ({ argv: [c('expire'), g.pick(['z1', 'z2', 'dst']), '100000'], compare: 'exact' })],
  ];
  const total = table.reduce((s, [w]) => s + w, 0);
  let x = g.r() * total;
  let step: Step | null = null;
  for (const [w, make] of table) {
    x -= w;
    if (x < 0) { step = make(); break; }
  }
  step ??= table[0]![1]();
  if (step.argv.length > 1 && step.compare === 'exact' && g.chance(0.03)) step.argv.pop();
  return step;
}

// ================================================================================================
// Comparison
// ================================================================================================

const A = (argv: readonly string[]): Buffer[] => argv.map((s) => Buffer.from(s, 'latin1'));
const show = (argv: readonly string[]): string => JSON.stringify(argv);

/** How a reply looks after the RESP3 wire: a nil array is the RESP3 null. */
function wire3(r: Reply): Reply {
  if (r instanceof NilArray) return null;
  if (Array.isArray(r)) return r.map(wire3);
  if (typeof r === 'bigint' && r >= -9007199254740991n && r <= 9007199254740991n) return Number(r);
  return r;
}

function shape(r: Reply): string {
  if (r instanceof ReplyError) return `error ${r.message}`;
  if (Array.isArray(r)) return `array ${r.length} [${r.map((x) => (Array.isArray(x) ? `pair${x.length}` : typeof x === 'object' && x !== null ? x.constructor.name : typeof x)).join(',')}]`;
  if (r === null) return 'nil';
  return typeof r === 'object' ? r.constructor.name : typeof r;
}

async function fullScan(call: (argv: Buffer[]) => Promise<Reply> | Reply, argv: string[]): Promise<Reply> {
  const seen: string[] = [];
  let cursor = argv[2]!;
  for (let i = 0; i < 10_000; i++) {
    const r = await call(A([argv[0]!, argv[1]!, cursor, ...argv.slice(3)]));
    if (!Array.isArray(r)) return r;
    const items = r[1] as Buffer[];
    for (let j = 0; j + 1 < items.length; j += 2) seen.push(`${items[j]!.toString('latin1')}=${items[j + 1]!.toString('latin1')}`);
    cursor = (r[0] as Buffer).toString('latin1');
    if (cursor === '0') break;
  }
  return seen.sort().map((s) => Buffer.from(s, 'latin1'));
}

const coverage = { steps: 0, commands: new Map<string, number>(), errors: new Map<string, number>() };

async function compareStep(h: Harness, cli: RespClient, step: Step, where: string, resp3: boolean): Promise<void> {
  const { argv, compare } = step;
  if (process.env['ZS_TRACE'] !== undefined) console.log(where, show(argv).slice(0, 300));
  const ours0 = (a: Buffer[]): Reply => (resp3 ? wire3(h.run(...a)) : toResp2(h.run(...a)));
  if (compare === 'scan') {
    const theirs = await fullScan((a) => cli.call(...a), argv);
    const ours = await fullScan(ours0, argv);
    assert.ok(sameReply(ours, theirs), `${where} ${show(argv)}\n  ours:   ${showReply(ours)}\n  redis:  ${showReply(theirs)}`);
    return;
  }
  const theirs = await cli.call(...A(argv));
  const ours = ours0(A(argv));
  coverage.steps++;
  const name = argv[0]!.toLowerCase();
  coverage.commands.set(name, (coverage.commands.get(name) ?? 0) + 1);
  if (theirs instanceof ReplyError) coverage.errors.set(theirs.message, (coverage.errors.get(theirs.message) ?? 0) + 1);
  let ok: boolean;
  if (compare === 'random') {
    ok = shape(ours) === shape(theirs);
    // count >= size (or a single member of a one-element set) is deterministic: compare exactly
    const n = Number(argv[2]);
    if (ok && Array.isArray(theirs) && argv.length >= 3 && n > 0) {
      const card = await cli.call('ZCARD', argv[1]!);
      if (typeof card === 'number' && n >= card) ok = sameReply(ours, theirs);
    }
  } else {
    ok = sameReply(ours, theirs);
  }
  assert.ok(ok, `${where} ${show(argv)}\n  ours:   ${showReply(ours)}\n  redis:  ${showReply(theirs)}`);
}

function ourEncoding(h: Harness, key: Buffer): string {
  const v = h.engine.keyspace.lookupValue(h.client.db, key);
  if (v === null) return 'none';
  if (v.vt === VT_ZSET_LISTPACK) return 'listpack';
  if (v.vt === VT_LARGE && v.large?.kind === 'zset') return 'skiplist';
  return 'other';
}

async function compareDataset(h: Harness, cli: RespClient, where: string, resp3: boolean): Promise<void> {
  const theirKeys = ((await cli.call('KEYS', '*')) as Buffer[]).map((b) => b.toString('latin1')).sort();
  const ourKeys = (toResp2(h.run('KEYS', '*')) as Buffer[]).map((b) => b.toString('latin1')).sort();
  assert.equal(ourKeys, theirKeys, `${where}: keys`);
  for (const k of theirKeys) {
    const kb = Buffer.from(k, 'latin1');
    const type = await cli.call('TYPE', kb);
    assert.ok(sameReply(h.run('TYPE', kb), type), `${where}: TYPE ${k}`);
    if (type !== 'zset') continue;
    const theirs = await cli.call('ZRANGE', kb, 0, -1, 'WITHSCORES');
    const ours = resp3 ? wire3(h.run('ZRANGE', kb, 0, -1, 'WITHSCORES')) : toResp2(h.run('ZRANGE', kb, 0, -1, 'WITHSCORES'));
    assert.ok(sameReply(ours, theirs), `${where}: contents of ${k}\n  ours:  ${showReply(ours)}\n  redis: ${showReply(theirs)}`);
    const enc = await cli.call('OBJECT', 'ENCODING', kb);
    assert.is(ourEncoding(h, kb), (enc as Buffer).toString(), `${where}: encoding of ${k}`);
  }
}

function readAof(dir: string): string[][] {
  const aofDir = join(dir, 'appendonlydir');
  const out: string[][] = [];
  for (const f of readdirSync(aofDir).filter((x) => x.endsWith('.incr.aof')).sort()) {
    const p = new RespParser();
    p.push(readFileSync(join(aofDir, f)));
    for (;;) {
      const r = p.next();
      if (r === undefined) break;
      out.push((r as Buffer[]).map((b) => b.toString('latin1')));
    }
  }
  return out;
}

/** Equal, except that absolute times (EXPIRE → PEXPIREAT) may differ by up to 10 s. */
function sameAofEntry(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i] || (/^\d{12,}$/.test(x) && /^\d{12,}$/.test(b[i]!) && Math.abs(Number(x) - Number(b[i])) <= 10_000));
}

function ourAof(h: Harness): string[][] {
  const out: string[][] = [];
  let selected = -1;
  for (const p of h.propagations) {
    if (p.db !== selected) { out.push(['SELECT', String(p.db)]); selected = p.db; }
    out.push(p.argv.map((b) => b.toString('latin1')));
  }
  return out;
}

// ================================================================================================
// The tests
// ================================================================================================

const required = process.env['FORKLESS_REQUIRE_REDIS'] !== undefined;
const SEQUENCES = Number(process.env['FORKLESS_ZDIFF_SEQUENCES'] ?? 16);
const STEPS = Number(process.env['FORKLESS_ZDIFF_STEPS'] ?? 300);
const BASE_SEED = Number(process.env['FORKLESS_ZDIFF_SEED'] ?? 7070);

async function runSequences(resp3: boolean, sequences: number, steps: number, seed0: number): Promise<void> {
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'no', '--save', ''] });
  const cli = await RespClient.connect(redis.port);
  try {
    if (resp3) await cli.call('HELLO', '3');
    const h = makeHarness(createKeyspace(), 'shared');
    h.client.resp = resp3 ? 3 : 2;
    // FORKLESS_ZDIFF_LIMITS="entries,value" runs other zset-max-listpack-* values (CI: 128,64).
    const [entries, value] = (process.env['FORKLESS_ZDIFF_LIMITS'] ?? '128,64').split(',').map(Number) as [number, number];
    const config: Record<string, number> = { 'zset-max-listpack-entries': entries, 'zset-max-listpack-value': value };
    Object.assign(h.engine, { config: { getInt: (name: string): number => config[name] ?? NaN } });
    for (const [k, v] of Object.entries(config)) await cli.call('CONFIG', 'SET', k, String(v));
    for (let s = 0; s < sequences; s++) {
      const seed = seed0 + s;
      const g = new Gen(rngFrom(seed));
      await cli.call('FLUSHALL');
      h.run('FLUSHALL');
      for (let i = 0; i < steps; i++) {
        await compareStep(h, cli, genStep(g), `seed ${seed} step ${i}:`, resp3);
        if (process.env['ZS_CHECK'] !== undefined) await compareDataset(h, cli, `seed ${seed} after step ${i}`, resp3);
      }
      await compareDataset(h, cli, `seed ${seed} end`, resp3);
    }
    if (!resp3) {
      const errs = [...coverage.errors].sort((a, b) => b[1] - a[1]);
      console.log(`  ${coverage.steps} compared replies over ${coverage.commands.size} commands; ${errs.length} distinct error texts:`);
      for (const [text, n] of errs) console.log(`    ${String(n).padStart(5)}  ${text}`);
      const theirs = readAof(redis.dir);
      const ours = ourAof(h);
      console.log(`  ${theirs.length} AOF entries compared with our propagation`);
      const n = Math.max(theirs.length, ours.length);
      for (let i = 0; i < n; i++) {
        const a = ours[i];
        const b = theirs[i];
        assert.ok(a !== undefined && b !== undefined && sameAofEntry(a, b),
          `propagation entry ${i}:\n  ours:  ${JSON.stringify(a)}\n  redis: ${JSON.stringify(b)}\n  before: ${JSON.stringify(ours.slice(Math.max(0, i - 3), i))}`);
      }
    }
  } finally {
    await cli.close();
    await redis.stop();
  }
}

if (!haveRedis()) {
  if (required) {
    test('redis-server is required (FORKLESS_REQUIRE_REDIS is set)', () => { assert.unreachable('redis-server binary not found'); });
  } else {
    console.warn('\n!!! zset differential tests SKIPPED: redis-server not found (set FORKLESS_REQUIRE_REDIS=1 to make this fail) !!!\n');
    test.skip('zset differential tests against redis-server', () => {});
  }
} else {
  test(`random Z* sequences match redis-server over RESP2 (${SEQUENCES} × ${STEPS}, seed ${BASE_SEED}), AOF included`, async () => {
    await runSequences(false, SEQUENCES, STEPS, BASE_SEED);
  });
  const RESP3_SEQUENCES = Number(process.env['FORKLESS_ZDIFF_RESP3_SEQUENCES'] ?? 4);
  test(`random Z* sequences match redis-server over RESP3 (${RESP3_SEQUENCES} × ${STEPS})`, async () => {
    await runSequences(true, RESP3_SEQUENCES, STEPS, BASE_SEED + 1000);
  });
}

test.run();
