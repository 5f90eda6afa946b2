/**
 * Differential tests: seeded random sequences of string and keyspace commands — valid and invalid
 * (wrong arity, bad integers and floats, conflicting or unknown options, out-of-range databases,
 * binary keys and values) — run through our Dispatcher over the shared-memory keyspace and through a
 * real redis-server 7.0.15. Every reply must be identical (type-exact: simple vs bulk strings,
 * integers, nils, error texts). Where Redis's answer depends on time or hash order we compare what
 * is stable: TTLs within a tolerance, KEYS and full SCAN iterations as sorted sets, RANDOMKEY by
 * nil-ness. After each sequence the whole dataset is compared, and the propagated write stream is
 * compared with the AOF redis-server wrote for the same commands.
 *
 * Time discipline: relative expirations are at least 1000 s away and absolute ones are either far
 * in the future or long past, so no key expires during a run and every GT/LT comparison has the
 * same outcome on both sides. (SET … EXAT in the past is left to the unit tests: it leaves an
 * expired key that Redis's background expiry may or may not have removed when DBSIZE runs.)
 *
 * Needs redis-server: skipped with a loud message when it is missing, unless
 * FORKLESS_REQUIRE_REDIS is set, in which case that is a failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Reply } from '../engine/commands/types.js';
import { ReplyError } from '../engine/errors.js';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { makeHarness, type Harness } from './support/command-harness.js';
import { ModelKeyspace } from './support/model-keyspace.js';
import { haveRedis, startRedis } from './support/real-redis.js';
import { RespClient, sameReply, showReply, toResp2, type Arg } from './support/resp-client.js';
import { rngFrom, BaseGen } from './support/rng.js';
import { incrCommands, sameCommand } from './aof-helpers.js';

// ================================================================================================
// Random generation
// ================================================================================================


class Gen extends BaseGen {

  key(): string {
    return this.pick(['a', 'b', 'c', 'n', 'f', 's', 'user:1', 'user:2', 'user:10', 'h?llo', 'hello', 'bin\x00\r\nk', '\xff\xfe', '']);
  }

  intText(): string {
    if (this.chance(0.15)) return this.pick(['01', '+1', ' 1', '1 ', '1.5', 'abc', '', '-', '9223372036854775808', '-9223372036854775809', '0x10', '1e3']);
    if (this.chance(0.2)) return this.pick(['0', '1', '-1', '9223372036854775807', '-9223372036854775808', '9223372036854775806', '-9223372036854775807', '9007199254740993']);
    return String(this.int(-1000, 1000) * (this.chance(0.3) ? 1000003 : 1));
  }

  floatText(): string {
    if (this.chance(0.15)) return this.pick(['inf', '-inf', 'nan', 'abc', '', ' 1', '1e', '1e4933', '1e-5000', '0x1p3', '.5', '5.', '+1.5', '-0', '3.0e0', 'Infinity']);
    const mant = `${this.int(0, 99999)}.${this.int(0, 999999)}`;
    const sign = this.chance(0.3) ? '-' : '';
    if (this.chance(0.25)) return `${sign}${mant}e${this.pick(['', '-', '+'])}${this.int(0, 30)}`;
    if (this.chance(0.1)) return `${sign}0.${'0'.repeat(this.int(10, 20))}${this.int(1, 99)}`;
    return sign + mant;
  }

  bytes(): string {
    const n = this.int(0, 12);
    let s = '';
    for (let i = 0; i < n; i++) s += this.chance(0.8) ? String.fromCharCode(this.int(0x61, 0x66)) : String.fromCharCode(this.int(0, 255));
    return s;
  }

  value(): string {
    const k = this.r();
    if (k < 0.3) return this.intText();
    if (k < 0.5) return this.floatText();
    return this.bytes();
  }

  db(): string {
    return this.chance(0.85) ? String(this.int(0, 3)) : this.pick(['16', '-1', 'x', '99999999999', '1.0']);
  }

  /** EX-style relative seconds: ≥ 1000 s away, or an invalid / boundary value. */
  relSeconds(): string {
    if (this.chance(0.2)) return this.pick(['0', '-1', '-100', 'abc', '9223372036854775807', '9223372036854776', '1.5', '']);
    return String(this.int(1000, 10_000_000));
  }

  relMs(): string {
    if (this.chance(0.2)) return this.pick(['0', '-1', 'abc', '9223372036854775807', '9223372036854775000', '1.5']);
    return String(this.int(1_000_000, 10_000_000_000));
  }

  /** Absolute seconds: far future, or (when allowed) long past, or invalid. */
  absSeconds(allowPast: boolean): string {
    if (this.chance(0.15)) return this.pick(['0', 'abc', '9223372036854775807', '-9223372036854775808', '1.5']);
    if (allowPast && this.chance(0.3)) return this.pick(['1', '1000000000', '-5']);
    return String(this.int(4_000_000_000, 5_000_000_000));
  }

  absMs(allowPast: boolean): string {
    // (a valid PEXPIREAT beyond 2^53 ms is left out: the keyspace keeps expire times as doubles)
    if (this.chance(0.15)) return this.pick(['0', 'abc', '9007199254740991', '-9223372036854775808']);
    if (allowPast && this.chance(0.3)) return this.pick(['1', '1000000000000', '-5']);
    return String(this.int(4_000_000_000, 5_000_000_000) * 1000 + this.int(0, 999));
  }

  pattern(): string {
    const n = this.int(0, 6);
    let s = '';
    for (let i = 0; i < n; i++) s += this.pick(['a', 'b', 'e', 'h', 'l', 'o', 'u', 's', 'r', ':', '1', '*', '*', '?', '[', ']', '^', '-', '\\', '\xff', '\x00']);
    return s;
  }

  caseOf(name: string): string {
    const k = this.r();
    if (k < 0.4) return name.toUpperCase();
    if (k < 0.8) return name.toLowerCase();
    return [...name].map((c) => (this.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
  }
}

type Compare = 'exact' | 'ttl' | 'sorted' | 'randomkey' | 'scan';
interface Step { argv: string[]; compare: Compare }

function setOptions(g: Gen): string[] {
  const out: string[] = [];
  const n = g.int(0, 3);
  for (let i = 0; i < n; i++) {
    const k = g.r();
    if (k < 0.15) out.push(g.caseOf('nx'));
    else if (k < 0.3) out.push(g.caseOf('xx'));
    else if (k < 0.45) out.push(g.caseOf('get'));
    else if (k < 0.55) out.push(g.caseOf('keepttl'));
    else if (k < 0.65) out.push(g.caseOf('ex'), g.relSeconds());
    else if (k < 0.75) out.push(g.caseOf('px'), g.relMs());
    else if (k < 0.82) out.push(g.caseOf('exat'), g.absSeconds(false));
    else if (k < 0.89) out.push(g.caseOf('pxat'), g.absMs(false));
    else if (k < 0.93) out.push(g.caseOf('ex'));
    else out.push(g.pick(['persist', 'foo', 'EXX', '']));
  }
  return out;
}

function getexOptions(g: Gen): string[] {
  const k = g.r();
  if (k < 0.25) return [];
  if (k < 0.4) return [g.caseOf('ex'), g.relSeconds()];
  if (k < 0.5) return [g.caseOf('px'), g.relMs()];
  if (k < 0.6) return [g.caseOf('exat'), g.absSeconds(true)];
  if (k < 0.7) return [g.caseOf('pxat'), g.absMs(true)];
  if (k < 0.85) return [g.caseOf('persist')];
  return g.pick([['nx'], ['keepttl'], ['ex'], ['ex', '10', 'persist'], ['persist', 'px', '5'], ['get']]);
}

function expireFlags(g: Gen, ordering: boolean): string[] {
  const out: string[] = [];
  const n = g.chance(0.6) ? 0 : g.int(1, 2);
  for (let i = 0; i < n; i++) {
    if (g.chance(0.08)) out.push(g.pick(['foo', 'a\r\nb', '']));
    else out.push(g.caseOf(ordering ? g.pick(['nx', 'xx', 'gt', 'lt']) : g.pick(['nx', 'xx'])));
  }
  return out;
}

function scanArgs(g: Gen): string[] {
  const out: string[] = [];
  const n = g.int(0, 3);
  for (let i = 0; i < n; i++) {
    const k = g.r();
    if (k < 0.35) out.push(g.caseOf('match'), g.pattern());
    else if (k < 0.65) out.push(g.caseOf('count'), g.chance(0.85) ? String(g.int(1, 20)) : g.pick(['0', '-1', 'x']));
    else if (k < 0.9) out.push(g.caseOf('type'), g.pick(['string', 'STRING', 'list', 'none', 'zset']));
    else out.push(g.pick(['foo', 'count', 'match']));
  }
  return out;
}

/** One random command. */
function genStep(g: Gen): Step {
  const k = g.key;
  const c = (name: string): string => g.caseOf(name);
  const table: Array<[number, () => Step]> = [
    [8, () => ({ argv: [c('set'), k.call(g), g.value(), ...setOptions(g)], compare: 'exact' })],
    [6, () => ({ argv: [c('get'), k.call(g)], compare: 'exact' })],
    [2, () => ({ argv: [c('setnx'), k.call(g), g.value()], compare: 'exact' })],
    [2, () => ({ argv: [c('setex'), k.call(g), g.relSeconds(), g.value()], compare: 'exact' })],
    [2, () => ({ argv: [c('psetex'), k.call(g), g.relMs(), g.value()], compare: 'exact' })],
    [2, () => ({ argv: [c('getset'), k.call(g), g.value()], compare: 'exact' })],
    [3, () => ({ argv: [c('getex'), k.call(g), ...getexOptions(g)], compare: 'exact' })],
    [2, () => ({ argv: [c('getdel'), k.call(g)], compare: 'exact' })],
    [3, () => ({ argv: [c('mget'), ...Array.from({ length: g.int(1, 4) }, () => k.call(g))], compare: 'exact' })],
    [3, () => ({ argv: [c(g.pick(['mset', 'msetnx'])), ...Array.from({ length: g.int(1, 5) }, (_, i) => (i % 2 === 0 ? k.call(g) : g.value()))], compare: 'exact' })],
    [4, () => ({ argv: [c(g.pick(['incr', 'decr'])), k.call(g)], compare: 'exact' })],
    [4, () => ({ argv: [c(g.pick(['incrby', 'decrby'])), k.call(g), g.intText()], compare: 'exact' })],
    [5, () => ({ argv: [c('incrbyfloat'), k.call(g), g.floatText()], compare: 'exact' })],
    [3, () => ({ argv: [c('append'), k.call(g), g.value()], compare: 'exact' })],
    [2, () => ({ argv: [c('strlen'), k.call(g)], compare: 'exact' })],
    [3, () => ({ argv: [c(g.pick(['getrange', 'substr'])), k.call(g), g.intText(), g.intText()], compare: 'exact' })],
    [3, () => ({
      argv: [c('setrange'), k.call(g), g.chance(0.8) ? String(g.int(0, 40)) : g.pick(['-1', 'x', '536870912', '9223372036854775807']), g.value()],
      compare: 'exact',
    })],
    [2, () => ({
      argv: [c('lcs'), k.call(g), k.call(g), ...g.pick([[], ['LEN'], ['IDX'], ['IDX', 'WITHMATCHLEN'], ['IDX', 'MINMATCHLEN', String(g.int(-1, 3))], ['LEN', 'IDX'], ['FOO'], ['MINMATCHLEN', 'x']])],
      compare: 'exact',
    })],
    [3, () => ({ argv: [c(g.pick(['del', 'unlink', 'exists', 'touch'])), ...Array.from({ length: g.int(1, 3) }, () => k.call(g))], compare: 'exact' })],
    [2, () => ({ argv: [c('type'), k.call(g)], compare: 'exact' })],
    [2, () => ({ argv: [c(g.pick(['rename', 'renamenx'])), k.call(g), k.call(g)], compare: 'exact' })],
    [2, () => ({ argv: [c('move'), k.call(g), g.db()], compare: 'exact' })],
    [2, () => ({
      argv: [c('copy'), k.call(g), k.call(g), ...g.pick([[], ['REPLACE'], ['DB', g.db()], ['db', g.db(), 'replace'], ['DB'], ['foo']])],
      compare: 'exact',
    })],
    [3, () => ({ argv: [c(g.pick(['expire'])), k.call(g), g.chance(0.2) ? `-${g.int(1, 100)}` : g.relSeconds(), ...expireFlags(g, false)], compare: 'exact' })],
    [2, () => ({ argv: [c('pexpire'), k.call(g), g.relMs(), ...expireFlags(g, false)], compare: 'exact' })],
    [3, () => ({ argv: [c('expireat'), k.call(g), g.absSeconds(true), ...expireFlags(g, true)], compare: 'exact' })],
    [3, () => ({ argv: [c('pexpireat'), k.call(g), g.absMs(true), ...expireFlags(g, true)], compare: 'exact' })],
    [4, () => ({ argv: [c(g.pick(['ttl', 'pttl', 'expiretime', 'pexpiretime'])), k.call(g)], compare: 'ttl' })],
    [2, () => ({ argv: [c('persist'), k.call(g)], compare: 'exact' })],
    [2, () => ({ argv: [c('keys'), g.chance(0.2) ? '*' : g.pattern()], compare: 'sorted' })],
    [2, () => ({ argv: [c('scan'), g.chance(0.9) ? '0' : g.pick(['x', '-', ' 0', '18446744073709551616']), ...scanArgs(g)], compare: 'scan' })],
    [1, () => ({ argv: [c('randomkey')], compare: 'randomkey' })],
    [2, () => ({ argv: [c('dbsize')], compare: 'exact' })],
    [2, () => ({ argv: [c('select'), g.db()], compare: 'exact' })],
    [1, () => ({ argv: [c('swapdb'), g.db(), g.db()], compare: 'exact' })],
    [1, () => ({ argv: [c(g.pick(['flushdb', 'flushall'])), ...g.pick([[], [], ['ASYNC'], ['sync'], ['now'], ['async', 'x']])], compare: 'exact' })],
    [1, () => ({ argv: [c('ping'), ...g.pick([[], ['hi'], ['a', 'b']])], compare: 'exact' })],
    [1, () => ({ argv: [c('echo'), g.value()], compare: 'exact' })],
    [1, () => ({ argv: [g.pick(['foo', 'gett', 'sett', 'x'.repeat(140)]), ...Array.from({ length: g.int(0, 3) }, () => g.value())], compare: 'exact' })],
  ];
  const total = table.reduce((s, [w]) => s + w, 0);
  let x = g.r() * total;
  let step: Step | null = null;
  for (const [w, make] of table) {
    x -= w;
    if (x < 0) { step = make(); break; }
  }
  step ??= table[0]![1]();
  // Wrong arity now and then: drop the last argument or add one.
  if (step.argv.length > 1 && step.compare === 'exact' && g.chance(0.04)) step.argv.pop();
  else if (step.compare === 'exact' && g.chance(0.02)) step.argv.push('extra');
  return step;
}

// ================================================================================================
// Comparison
// ================================================================================================

const TOLERANCE: Record<string, number> = { ttl: 10, pttl: 10_000, expiretime: 10, pexpiretime: 10_000 };

function ttlClose(name: string, ours: Reply, theirs: Reply): boolean {
  if (typeof ours !== 'number' || typeof theirs !== 'number') return sameReply(ours, theirs);
  if (ours < 0 || theirs < 0) return ours === theirs;
  return Math.abs(ours - theirs) <= (TOLERANCE[name.toLowerCase()] ?? 0);
}

function sortedKeys(r: Reply): string[] | null {
  if (!Array.isArray(r)) return null;
  return (r as Buffer[]).map((b) => b.toString('latin1')).sort();
}

const A = (argv: readonly string[]): Buffer[] => argv.map((s) => Buffer.from(s, 'latin1'));
const show = (argv: readonly Arg[]): string => JSON.stringify(argv.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a))));

/** Runs a full SCAN iteration (same options) and returns the sorted keys, or the first reply if it is an error. */
async function fullScanRedis(cli: RespClient, argv: string[]): Promise<Reply> {
  const seen = new Set<string>();
  let cursor = argv[1]!;
  for (let i = 0; i < 10_000; i++) {
    const r = await cli.call(...A([argv[0]!, cursor, ...argv.slice(2)]));
    if (!Array.isArray(r)) return r;
    for (const k of r[1] as Buffer[]) seen.add(k.toString('latin1'));
    cursor = (r[0] as Buffer).toString('latin1');
    if (cursor === '0') break;
  }
  return [...seen].sort().map((s) => Buffer.from(s, 'latin1'));
}

function fullScanOurs(h: Harness, argv: string[]): Reply {
  const seen = new Set<string>();
  let cursor = argv[1]!;
  for (let i = 0; i < 10_000; i++) {
    const r = toResp2(h.run(...A([argv[0]!, cursor, ...argv.slice(2)])));
    if (!Array.isArray(r)) return r;
    for (const k of r[1] as Buffer[]) seen.add(k.toString('latin1'));
    cursor = (r[0] as Buffer).toString('latin1');
    if (cursor === '0') break;
  }
  return [...seen].sort().map((s) => Buffer.from(s, 'latin1'));
}

/** What the sequences exercised, printed once so a reader can judge the coverage. */
const coverage = { steps: 0, errors: new Map<string, number>(), commands: new Map<string, number>() };

function note(argv: readonly string[], reply: Reply): void {
  coverage.steps++;
  const name = argv[0]!.toLowerCase();
  coverage.commands.set(name, (coverage.commands.get(name) ?? 0) + 1);
  if (reply instanceof ReplyError) {
    const text = reply.message.startsWith('ERR unknown command') ? 'ERR unknown command …' : reply.message.startsWith('ERR Unsupported option') ? 'ERR Unsupported option …' : reply.message;
    coverage.errors.set(text, (coverage.errors.get(text) ?? 0) + 1);
  }
}

async function compareStep(hs: readonly Harness[], cli: RespClient, step: Step, where: string): Promise<void> {
  const { argv, compare } = step;
  if (compare === 'scan') {
    const theirs = await fullScanRedis(cli, argv);
    for (const h of hs) {
      const ours = fullScanOurs(h, argv);
      assert.ok(sameReply(ours, theirs), `${where} [${h.name}] ${show(argv)}\n  ours:   ${showReply(ours)}\n  redis:  ${showReply(theirs)}`);
    }
    return;
  }
  const theirs = await cli.call(...A(argv));
  note(argv, theirs);
  for (const h of hs) {
    const ours = toResp2(h.run(...A(argv)));
    let ok: boolean;
    if (compare === 'ttl') ok = ttlClose(argv[0]!, ours, theirs);
    else if (compare === 'sorted') {
      const a = sortedKeys(ours);
      const b = sortedKeys(theirs);
      ok = a !== null && b !== null ? JSON.stringify(a) === JSON.stringify(b) : sameReply(ours, theirs);
    } else if (compare === 'randomkey') ok = (ours === null) === (theirs === null);
    else ok = sameReply(ours, theirs);
    assert.ok(ok, `${where} [${h.name}] ${show(argv)}\n  ours:   ${showReply(ours)}\n  redis:  ${showReply(theirs)}`);
  }
}

/** Every key of dbs 0..3 with value and TTL must match. */
async function compareDataset(hs: readonly Harness[], cli: RespClient, where: string): Promise<void> {
  const savedDb = hs[0]!.client.db;
  for (let db = 0; db < 4; db++) {
    await cli.call('SELECT', db);
    const theirs = sortedKeys(await cli.call('KEYS', '*'))!;
    const values: Reply[] = [];
    const ttls: Reply[] = [];
    for (const k of theirs) {
      const kb = Buffer.from(k, 'latin1');
      values.push(await cli.call('GET', kb));
      ttls.push(await cli.call('PTTL', kb));
    }
    for (const h of hs) {
      h.run('SELECT', db);
      const ours = sortedKeys(h.run('KEYS', '*'))!;
      assert.equal(ours, theirs, `${where} [${h.name}]: keys of db ${db}`);
      theirs.forEach((k, i) => {
        const kb = Buffer.from(k, 'latin1');
        const ov = h.run('GET', kb);
        assert.ok(sameReply(ov, values[i]!), `${where} [${h.name}]: value of ${JSON.stringify(k)} in db ${db}: ${showReply(ov)} vs ${showReply(values[i]!)}`);
        const ot = h.run('PTTL', kb);
        assert.ok(ttlClose('pttl', ot, ttls[i]!), `${where} [${h.name}]: PTTL of ${JSON.stringify(k)} in db ${db}: ${showReply(ot)} vs ${showReply(ttls[i]!)}`);
      });
    }
  }
  await cli.call('SELECT', savedDb);
  for (const h of hs) h.run('SELECT', savedDb);
}

// ================================================================================================
// Propagation vs AOF
// ================================================================================================

/** The commands of every *.incr.aof file in appendonlydir, in order. */
/** The incr files of an AOF directory as commands (test/aof-helpers.ts). */
function readAof(dir: string): string[][] {
  return incrCommands(join(dir, 'appendonlydir'));
}

/** Our propagation log rendered like an AOF: SELECT whenever the db changes. */
function ourAof(log: ReadonlyArray<readonly [number, string[]]>): string[][] {
  const out: string[][] = [];
  let selected = -1;
  for (const [db, argv] of log) {
    if (db !== selected) {
      out.push(['SELECT', String(db)]);
      selected = db;
    }
    out.push([...argv]);
  }
  return out;
}

// ================================================================================================
// The tests
// ================================================================================================

const required = process.env['FORKLESS_REQUIRE_REDIS'] !== undefined;
const SEQUENCES = Number(process.env['FORKLESS_DIFF_SEQUENCES'] ?? 24);
const STEPS = Number(process.env['FORKLESS_DIFF_STEPS'] ?? 250);
const BASE_SEED = Number(process.env['FORKLESS_DIFF_SEED'] ?? 20240601);

if (!haveRedis()) {
  if (required) {
    test('redis-server is required (FORKLESS_REQUIRE_REDIS is set)', () => {
      assert.unreachable('redis-server binary not found');
    });
  } else {
    console.warn('\n!!! differential tests SKIPPED: redis-server not found (set FORKLESS_REQUIRE_REDIS=1 to make this fail) !!!\n');
    test.skip('differential tests against redis-server', () => {});
  }
} else {
  test(`random command sequences match redis-server (${SEQUENCES} × ${STEPS}, seed ${BASE_SEED})`, async () => {
    const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'no', '--save', ''] });
    const cli = await RespClient.connect(redis.port);
    try {
      const hs = [makeHarness(createKeyspace(), 'shared'), makeHarness(new ModelKeyspace(), 'model')];
      for (let s = 0; s < SEQUENCES; s++) {
        const seed = BASE_SEED + s;
        const g = new Gen(rngFrom(seed));
        await cli.call('FLUSHALL');
        await cli.call('SELECT', 0);
        for (const h of hs) {
          h.run('FLUSHALL');
          h.run('SELECT', 0);
        }
        for (let i = 0; i < STEPS; i++) {
          const step = genStep(g);
          await compareStep(hs, cli, step, `seed ${seed} step ${i}:`);
        }
        await compareDataset(hs, cli, `seed ${seed} end`);
      }
      const errs = [...coverage.errors].sort((a, b) => b[1] - a[1]);
      console.log(`  ${coverage.steps} compared replies over ${coverage.commands.size} command names; ${errs.reduce((n, e) => n + e[1], 0)} error replies of ${errs.length} kinds:`);
      for (const [text, n] of errs) console.log(`    ${String(n).padStart(6)}  ${text}`);
      const theirs = readAof(redis.dir);
      console.log(`  ${theirs.length} AOF entries compared with our propagation`);
      for (const h of hs) {
        const ours = ourAof(h.propagations.map((p) => [p.db, p.argv.map((b) => b.toString('latin1'))] as const));
        const n = Math.max(theirs.length, ours.length);
        for (let i = 0; i < n; i++) {
          const a = ours[i];
          const b = theirs[i];
          assert.ok(a !== undefined && b !== undefined && sameCommand(a, b),
            `[${h.name}] propagation entry ${i}:\n  ours:  ${JSON.stringify(a)}\n  redis: ${JSON.stringify(b)}\n  context: ${JSON.stringify(ours.slice(Math.max(0, i - 3), i))}`);
        }
      }
    } finally {
      await cli.close();
      await redis.stop();
    }
  });

  test('KEYS with random glob patterns matches redis-server', async () => {
    const redis = await startRedis();
    const cli = await RespClient.connect(redis.port);
    try {
      const h = makeHarness(createKeyspace());
      const g = new Gen(rngFrom(BASE_SEED ^ 0x5eed));
      const alphabet = ['a', 'b', '-', ']', '[', '^', '\\', '*', '?', '\xff', '\x80', 'A', '\x00', 'z'];
      const keys = new Set<string>();
      for (let i = 0; i < 300; i++) {
        let k = '';
        const n = g.int(0, 5);
        for (let j = 0; j < n; j++) k += g.pick(alphabet);
        keys.add(k);
      }
      const cmds = [...keys].map((k) => ['SET', k, '1']);
      await cli.pipeline(cmds.map(A));
      for (const c of cmds) h.run(...A(c));
      for (let i = 0; i < 3000; i++) {
        let p = '';
        const n = g.int(0, 7);
        for (let j = 0; j < n; j++) p += g.pick(alphabet);
        const theirs = sortedKeys(await cli.call('KEYS', Buffer.from(p, 'latin1')));
        const ours = sortedKeys(h.run('KEYS', Buffer.from(p, 'latin1')));
        assert.equal(ours, theirs, `KEYS ${JSON.stringify(p)}`);
      }
    } finally {
      await cli.close();
      await redis.stop();
    }
  });

  test('INCRBYFLOAT on random long doubles matches redis-server digit for digit', async () => {
    const redis = await startRedis();
    const cli = await RespClient.connect(redis.port);
    try {
      const h = makeHarness(createKeyspace());
      const g = new Gen(rngFrom(BASE_SEED ^ 0xf10a7));
      const num = (): string => {
        const k = g.r();
        const digits = (n: number): string => Array.from({ length: n }, () => String(g.int(0, 9))).join('');
        if (k < 0.3) return `${g.chance(0.5) ? '-' : ''}${digits(g.int(1, 20))}.${digits(g.int(0, 25))}`;
        if (k < 0.5) return `${digits(g.int(1, 25))}e${g.chance(0.5) ? '-' : ''}${g.int(0, 4950)}`;
        if (k < 0.6) return `0x${digits(g.int(1, 18))}p${g.int(-16400, 16300)}`;
        if (k < 0.8) return String(g.r() * 10 ** g.int(-30, 30));
        return g.floatText();
      };
      const batch: string[][] = [];
      for (let i = 0; i < 2000; i++) batch.push(['SET', 'f', num()], ['INCRBYFLOAT', 'f', num()]);
      const theirs = await cli.pipeline(batch.map(A));
      for (let i = 0; i < batch.length; i++) {
        const ours = h.run(...A(batch[i]!));
        assert.ok(sameReply(ours, theirs[i]!), `${show(batch[i - 1] ?? [])} ${show(batch[i]!)}\n  ours:  ${showReply(ours)}\n  redis: ${showReply(theirs[i]!)}`);
      }
    } finally {
      await cli.close();
      await redis.stop();
    }
  });
}

test.run();
