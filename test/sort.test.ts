/**
 * SORT and SORT_RO: unit checks of the rules that are easy to get wrong (strtod-like weights,
 * pattern parsing, LIMIT arithmetic, STORE replacing/deleting the destination, propagation,
 * dirty counts, the zset conversion), then a differential run against a real redis-server 7.0:
 * the same dataset (lists, intset and hashtable sets, listpack and skiplist zsets, weights as
 * strings and hash fields, GET targets) and the same SORT commands — handwritten edge cases plus
 * seeded random option combinations — must give identical replies (type-exact), and STOREd
 * destinations identical contents.
 *
 * Where Redis's order is not defined by the command (a hashtable set's iteration order when not
 * sorting; ALPHA BY ties, left to qsort/pqsort over that order) the replies are compared as
 * multisets, or by length when LIMIT picks among ties.
 *
 * Needs redis-server for the differential part: skipped loudly when missing, unless
 * FORKLESS_REQUIRE_REDIS is set.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reply } from '../engine/commands/types.js';
import { sortGetKeys, sortWeight } from '../engine/commands/sort.js';
import { ReplyError } from '../engine/errors.js';
import { VT_LARGE, VT_ZSET_LISTPACK } from '../engine/keyspace/api.js';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from '../engine/index.js';
import { makeHarness, type Harness } from './support/command-harness.js';
import { haveRedis, startRedis } from './support/real-redis.js';
import { RespClient, sameReply, showReply, toResp2, type Arg } from './support/resp-client.js';
import { rngFrom } from './support/rng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const strs = (r: Reply): string[] => (toResp2(r) as Buffer[]).map((x) => (x === null ? '(nil)' : x.toString('latin1')));

function fresh(): Harness {
  return makeHarness(createKeyspace(), 'shared');
}

function errText(r: Reply): string {
  assert.ok(r instanceof ReplyError, `expected an error, got ${showReply(r)}`);
  return (r as ReplyError).message;
}

// ================================================================================================
// Units
// ================================================================================================

test('weights convert like strtod over a C string', () => {
  const ok: Array<[string, number]> = [
    ['10', 10], ['-2.5', -2.5], ['', 0], [' 7', 7], ['\t\n 7', 7], ['+3', 3], ['.5', 0.5], ['5.', 5], ['1e3', 1000],
    ['0x10', 16], ['inf', Infinity], ['-Infinity', -Infinity], ['12\x00junk', 12], ['\x00', 0], ['0e999', 0],
    ['1.7976931348623157e308', 1.7976931348623157e308],
  ];
  for (const [s, v] of ok) assert.is(sortWeight(b(s)), v, JSON.stringify(s));
  const bad = ['abc', '1 ', '   ', '-', 'nan', 'NaN', '1e400', '-1e400', '1e-400', '4e-320', '1x', '0x', '1,5'];
  for (const s of bad) assert.is(sortWeight(b(s)), null, JSON.stringify(s));
});

test('option errors: syntax, LIMIT integers, STORE refused by SORT_RO, WRONGTYPE after options', () => {
  const h = fresh();
  h.run('SET', 'str', 'x');
  h.run('SADD', 's', '1');
  assert.is(errText(h.run('SORT', 's', 'FOO')), 'ERR syntax error');
  assert.is(errText(h.run('SORT', 's', 'LIMIT', '1')), 'ERR syntax error');
  assert.is(errText(h.run('SORT', 's', 'LIMIT', 'x', '1')), 'ERR value is not an integer or out of range');
  assert.is(errText(h.run('SORT', 's', 'LIMIT', '0', '1.5')), 'ERR value is not an integer or out of range');
  assert.is(errText(h.run('SORT', 's', 'BY')), 'ERR syntax error');
  assert.is(errText(h.run('SORT', 's', 'GET')), 'ERR syntax error');
  assert.is(errText(h.run('SORT_RO', 's', 'STORE', 'd')), 'ERR syntax error');
  assert.is(errText(h.run('SORT', 'str')), 'WRONGTYPE Operation against a key holding the wrong kind of value');
  assert.is(errText(h.run('SORT', 'str', 'FOO')), 'ERR syntax error');
  assert.is(errText(h.run('SORT_RO', 'str')), 'WRONGTYPE Operation against a key holding the wrong kind of value');
  assert.equal(h.run('SORT', 'missing'), []);
  assert.equal(h.log.filter(([, c]) => c.startsWith('SORT')), []);
});

test('numeric sort, ties by bytes, DESC, LIMIT arithmetic, the score error', () => {
  const h = fresh();
  h.run('SADD', 's', '10', '9', '-1', '1.0', '1', '01', '1e0');
  assert.equal(strs(h.run('SORT', 's')), ['-1', '01', '1', '1.0', '1e0', '9', '10']);
  assert.equal(strs(h.run('SORT', 's', 'DESC')), ['10', '9', '1e0', '1.0', '1', '01', '-1']);
  assert.equal(strs(h.run('SORT', 's', 'LIMIT', '2', '3')), ['1', '1.0', '1e0']);
  assert.equal(strs(h.run('SORT', 's', 'LIMIT', '-5', '2')), ['-1', '01']);
  assert.equal(strs(h.run('SORT', 's', 'LIMIT', '5', '-1')), ['9', '10']);
  assert.equal(strs(h.run('SORT', 's', 'LIMIT', '7', '1')), []);
  assert.equal(strs(h.run('SORT', 's', 'LIMIT', '3', '0')), []);
  assert.equal(strs(h.run('SORT', 's', 'LIMIT', '6', '99999999999999999')), ['10']);
  h.run('SADD', 's', 'x');
  assert.is(errText(h.run('SORT', 's')), "ERR One or more scores can't be converted into double");
  assert.is(errText(h.run('SORT', 's', 'STORE', 'd')), "ERR One or more scores can't be converted into double");
  assert.is(h.run('EXISTS', 'd'), 0);
  assert.equal(strs(h.run('SORT', 's', 'ALPHA')), ['-1', '01', '1', '1.0', '10', '1e0', '9', 'x']);
});

test('BY and GET patterns: #, *, ->field, no star, missing keys and wrong types', () => {
  const h = fresh();
  h.run('SADD', 's', 'a', 'b', 'c', 'd');
  h.run('SET', 'w_a', '3'); h.run('SET', 'w_b', '1'); h.run('SET', 'w_c', '2');
  h.run('HSET', 'h_a', 'f', '30', 'name', 'Ann'); h.run('HSET', 'h_b', 'f', '10');
  h.run('HSET', 'h_c', 'f', '20', 'name', 'Cid'); h.run('SADD', 'h_d', 'oops');
  h.run('SET', 'o_a', 'A'); h.run('HSET', 'o_b', 'x', 'y');
  // d has no weight: 0, first.
  assert.equal(strs(h.run('SORT', 's', 'BY', 'w_*')), ['d', 'b', 'c', 'a']);
  assert.equal(strs(h.run('SORT', 's', 'BY', 'h_*->f')), ['d', 'b', 'c', 'a']);
  assert.equal(strs(h.run('SORT', 's', 'BY', 'h_*->f', 'DESC', 'GET', '#', 'GET', 'h_*->name', 'GET', 'o_*', 'GET', 'nostar')),
    ['a', 'Ann', 'A', '(nil)', 'c', 'Cid', '(nil)', '(nil)', 'b', '(nil)', '(nil)', '(nil)', 'd', '(nil)', '(nil)', '(nil)']);
  // ALPHA BY: missing values first.
  assert.equal(strs(h.run('SORT', 's', 'BY', 'h_*->name', 'ALPHA')).slice(2), ['a', 'c']);
  // "->" with nothing after it is part of the key name; "->" before the star does not count.
  h.run('SET', 'k_a->', '5');
  assert.equal(strs(h.run('SORT', 's', 'ALPHA', 'GET', 'k_*->', 'LIMIT', '0', '1')), ['5']);
  h.run('SET', 'x->y_a', 'X');
  assert.equal(strs(h.run('SORT', 's', 'ALPHA', 'GET', 'x->y_*', 'LIMIT', '0', '1')), ['X']);
  // A NUL before the star hides it: the pattern names no key.
  assert.equal(strs(h.run('SORT', 's', 'ALPHA', 'GET', b('o\x00_*'), 'LIMIT', '0', '1')), ['(nil)']);
  assert.equal(strs(h.run('SORT', 's', 'ALPHA', 'GET', b('#\x00x'), 'LIMIT', '0', '1')), ['a']);
});

test('BY without a star keeps native order; a later BY does not undo it; a set with STORE sorts ALPHA', () => {
  const h = fresh();
  h.run('ZADD', 'z', '3', 'c', '1', 'a', '2', 'b', '10', 'x');
  assert.equal(strs(h.run('SORT', 'z', 'BY', 'nosort')), ['a', 'b', 'c', 'x']);
  assert.equal(strs(h.run('SORT', 'z', 'BY', 'nosort', 'DESC')), ['x', 'c', 'b', 'a']);
  assert.equal(strs(h.run('SORT', 'z', 'BY', 'nosort', 'DESC', 'LIMIT', '1', '2')), ['c', 'b']);
  assert.equal(strs(h.run('SORT', 'z', 'BY', 'nosort', 'BY', 'w_*', 'LIMIT', '1', '2')), ['b', 'c']);
  h.run('SADD', 'si', '5', '3', '40');
  assert.equal(strs(h.run('SORT', 'si', 'BY', 'nosort', 'DESC')), ['3', '5', '40']);
});

test('sorting a listpack sorted set converts it to a skiplist, even SORT_RO and a failing SORT', () => {
  const h = fresh();
  const ks = h.engine.keyspace;
  h.run('ZADD', 'z', '1', 'a', '2', 'b');
  h.run('PEXPIRE', 'z', '100000000');
  const ttl = ks.getExpire(0, b('z'));
  assert.is(ks.lookupValue(0, b('z'))!.vt, VT_ZSET_LISTPACK);
  assert.equal(strs(h.run('SORT_RO', 'z', 'ALPHA')), ['a', 'b']);
  assert.is(ks.lookupValue(0, b('z'))!.vt, VT_LARGE);
  assert.is(ks.getExpire(0, b('z')), ttl);
  assert.equal(strs(h.run('ZRANGE', 'z', '0', '-1', 'WITHSCORES')), ['a', '1', 'b', '2']);
  h.run('ZADD', 'y', '1', 'not-a-number');
  assert.is(errText(h.run('SORT', 'y')), "ERR One or more scores can't be converted into double");
  assert.is(ks.lookupValue(0, b('y'))!.vt, VT_LARGE);
  assert.equal(h.log.filter(([, c]) => c.startsWith('SORT')), []);
});

test('STORE: replaces any type without TTL, deletes on an empty result, dirty and propagation as received', () => {
  const h = fresh();
  h.run('SADD', 's', '3', '1', '2');
  h.run('SET', 'dst', 'old', 'EX', '1000');
  const r = h.exec('SORT', 's', 'DESC', 'STORE', 'dst');
  assert.is(r.reply, 3);
  assert.is(r.dirty, 3);
  assert.equal(h.log.at(-1), [0, 'SORT s DESC STORE dst']);
  assert.equal(strs(h.run('LRANGE', 'dst', '0', '-1')), ['3', '2', '1']);
  assert.is(h.run('TTL', 'dst'), -1);
  h.run('SET', 'o_1', 'one');
  assert.is(h.run('SORT', 's', 'GET', 'o_*', 'GET', '#', 'STORE', 'dst'), 6);
  assert.equal(strs(h.run('LRANGE', 'dst', '0', '-1')), ['one', '1', '', '2', '', '3']);
  const before = h.log.length;
  const e = h.exec('SORT', 'missing', 'STORE', 'dst');
  assert.is(e.reply, 0);
  assert.is(e.dirty, 1);
  assert.is(h.run('EXISTS', 'dst'), 0);
  assert.equal(h.log.slice(before), [[0, 'SORT missing STORE dst']]);
  const n = h.exec('SORT', 'missing', 'STORE', 'dst');
  assert.is(n.dirty, 0);
  assert.equal(h.log.length, before + 1, 'nothing changed: not propagated');
  assert.is(h.exec('SORT', 's', 'LIMIT', '0', '0', 'STORE', 's').reply, 0);
  assert.is(h.run('EXISTS', 's'), 0, 'STORE onto the source with an empty result deletes it');
});

test('sortGetKeys: the key and the last STORE destination, options with arguments skipped', () => {
  const k = (...a: string[]): number[] => sortGetKeys(['SORT', ...a].map(b));
  assert.equal(k('s'), [1]);
  assert.equal(k('s', 'STORE', 'd'), [1, 3]);
  assert.equal(k('s', 'STORE', 'd', 'STORE', 'e'), [1, 5]);
  assert.equal(k('s', 'GET', 'store', 'BY', 'store'), [1]);
  assert.equal(k('s', 'LIMIT', 'store', 'x', 'STORE'), [1]);
  assert.equal(k('s', 'store', 'limit', '1', '2'), [1, 3]);
});

// ================================================================================================
// Differential against redis-server
// ================================================================================================

/** The shared dataset, as commands both sides run. Lists are added when RPUSH is available. */
function dataset(withLists: boolean): Arg[][] {
  const cmds: Arg[][] = [];
  const elems = ['3', '1', '2', '10', '-5', '2.5', 'apple', 'Banana', 'cherry', '', '007', 'x y', 'é', '1e2', 'inf'];
  cmds.push(['SADD', 'si', '5', '-3', '100', '0', '42', '7', '-100000', '65536']);
  cmds.push(['SADD', 'snum', '3', '1.5', '-2', '10', '2.25', '1e1', ' 4']);
  cmds.push(['SADD', 'sstr', 'apple', 'Banana', 'cherry', '10', '9', 'é', 'a\x00b', '']);
  cmds.push(['ZADD', 'zs', '1', 'c', '2', 'b', '3', 'a', '3', 'aa', '-1', 'neg', '2.5', '10']);
  const big: Arg[] = ['ZADD', 'zbig'];
  for (let i = 0; i < 150; i++) big.push(String((i * 7919) % 151), `m${i}`);
  cmds.push(big);
  for (let i = 0; i < elems.length; i++) {
    const e = elems[i]!;
    if (i % 4 !== 3) cmds.push(['SET', `w_${e}`, String((i * 37) % 17 - 4 + i / 100)]);
    if (i % 3 !== 2) cmds.push(['HSET', `h_${e}`, 'f', String((i * 13) % 11 + i / 1000), 'name', `N${(i * 5) % 7}${i}`]);
    if (i % 5 === 0) cmds.push(['SET', `o_${e}`, `obj-${e}`]);
    if (i % 7 === 1) cmds.push(['SADD', `o_${e}`, 'wrongtype']);
  }
  for (const m of ['5', '-3', '100', '0', '42', 'c', 'b', 'a', 'aa', 'neg']) {
    cmds.push(['SET', `w_${m}`, String(m.length * 3 + m.charCodeAt(0) / 1000)]);
    cmds.push(['HSET', `h_${m}`, 'f', String(m.charCodeAt(0) % 13), 'name', `n-${m}`]);
  }
  cmds.push(['SET', 'w_7', 'notanumber']);
  cmds.push(['SET', 'str', 'value']);
  cmds.push(['HSET', 'hash', 'f', 'v']);
  if (withLists) {
    cmds.push(['RPUSH', 'l', ...elems, '3', '1', 'a\x00c', 'a\x00b', 'a\x00c']);
    cmds.push(['RPUSH', 'lnum', '5', '3', '5', '-1', '2.5', '0', '1e3', '3']);
    const lb: Arg[] = ['RPUSH', 'lbig'];
    for (let i = 0; i < 400; i++) lb.push(String((i * 104729) % 1009));
    cmds.push(lb);
  }
  return cmds;
}

interface Case { argv: Arg[]; order: 'exact' | 'multiset' | 'length' }

const HANDWRITTEN: Arg[][] = [
  ['SORT', 'si'], ['SORT', 'si', 'DESC'], ['SORT', 'si', 'ALPHA'], ['SORT', 'si', 'LIMIT', '2', '3'],
  ['SORT', 'si', 'BY', 'nosort'], ['SORT', 'si', 'BY', 'nosort', 'DESC', 'LIMIT', '1', '3'],
  ['SORT', 'si', 'BY', 'w_*'], ['SORT', 'si', 'BY', 'h_*->f', 'GET', '#', 'GET', 'h_*->name'],
  ['SORT', 'snum'], ['SORT', 'snum', 'DESC', 'LIMIT', '1', '-1'], ['SORT', 'sstr'], ['SORT', 'sstr', 'ALPHA'],
  ['SORT', 'sstr', 'ALPHA', 'DESC'], ['SORT', 'sstr', 'ALPHA', 'STORE', 'dst'],
  ['SORT', 'zs'], ['SORT', 'zs', 'ALPHA'], ['SORT', 'zs', 'BY', 'nosort'], ['SORT', 'zs', 'BY', 'nosort', 'DESC'],
  ['SORT', 'zs', 'BY', 'nosort', 'LIMIT', '2', '2'], ['SORT', 'zs', 'BY', 'nosort', 'DESC', 'LIMIT', '2', '10'],
  ['SORT', 'zs', 'BY', 'w_*', 'GET', '#', 'GET', 'w_*'], ['SORT', 'zs', 'BY', 'h_*->f', 'DESC'],
  ['SORT', 'zbig', 'BY', 'nosort', 'LIMIT', '10', '5'], ['SORT', 'zbig', 'BY', 'nosort', 'DESC', 'LIMIT', '0', '7'],
  ['SORT', 'zbig', 'ALPHA', 'LIMIT', '140', '20'],
  ['SORT', 'str'], ['SORT', 'hash'], ['SORT', 'nokey'], ['SORT', 'nokey', 'STORE', 'dst'], ['SORT', 'si', 'STORE', 'str'],
  ['SORT', 'si', 'BY', 'w_*', 'STORE', 'dst2'], ['SORT', 'si', 'BY', 'nosort', 'STORE', 'dst3'],
  ['SORT', 'si', 'GET', 'o_*', 'GET', 'missing_*', 'STORE', 'dst4'], ['SORT', 'si', 'LIMIT', '100', '1', 'STORE', 'dst4'],
  ['SORT_RO', 'si', 'BY', 'w_*', 'GET', '#'], ['SORT_RO', 'zs', 'STORE', 'x'], ['SORT', 'si', 'LIMIT', 'a', 'b'],
  ['SORT', 'si', 'LIMIT', '0'], ['SORT', 'si', 'BY', 'w_*', 'GET', '#', 'ASC', 'ALPHA', 'DESC'],
  ['SORT', 'si', 'BY', 'w_*->'], ['SORT', 'si', 'BY', 'h_*->missing'], ['SORT', 'snum', 'BY', 'w_*', 'ALPHA'],
  ['SORT', 'l'], ['SORT', 'l', 'ALPHA'], ['SORT', 'l', 'ALPHA', 'DESC', 'LIMIT', '3', '4'], ['SORT', 'l', 'BY', 'nosort'],
  ['SORT', 'l', 'BY', 'nosort', 'DESC', 'LIMIT', '1', '4'], ['SORT', 'l', 'BY', 'w_*', 'GET', '#', 'GET', 'o_*'],
  ['SORT', 'l', 'BY', 'h_*->name', 'ALPHA'], ['SORT', 'l', 'BY', 'missing_*', 'ALPHA'], ['SORT', 'lnum'],
  ['SORT', 'lnum', 'DESC', 'STORE', 'lnum'], ['SORT', 'lbig', 'LIMIT', '100', '10'], ['SORT', 'lbig', 'DESC', 'STORE', 'lbs'],
];


function randomCase(r: () => number, withLists: boolean): Arg[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ro = r() < 0.2;
  const sources = ['si', 'snum', 'sstr', 'zs', 'zbig', 'nokey', 'str', ...(withLists ? ['l', 'lnum', 'lbig'] : [])];
  const argv: Arg[] = [ro ? 'SORT_RO' : 'SORT', pick(sources)];
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < 0.15) argv.push(pick(['ASC', 'DESC', 'desc']));
    else if (x < 0.3) argv.push('ALPHA');
    else if (x < 0.45) argv.push('LIMIT', pick(['0', '1', '3', '-2', '20', '200', 'x']), pick(['0', '1', '4', '-1', '-7', '100', '1.5']));
    else if (x < 0.62) argv.push('BY', pick(['w_*', 'h_*->f', 'h_*->name', 'nosort', 'missing_*', 'w_*->', '#', '*']));
    else if (x < 0.82) argv.push('GET', pick(['#', 'o_*', 'w_*', 'h_*->name', 'h_*->f', 'nostar', 'o_*->x']));
    else if (x < 0.92 && withLists) argv.push('STORE', pick(['dst', 'str', 'si-copy', 'l2']));
    else if (x < 0.94) argv.push(pick(['FOO', 'LIMIT', 'BY', 'GET']));
  }
  return argv;
}

/**
 * How strictly a case's reply can be compared. Unsorted sets (BY without a star, no STORE) come
 * out in table order; ALPHA BY leaves ties to the C library's sort, stable for a list's order
 * without LIMIT, unspecified otherwise.
 */
function orderOf(argv: Arg[]): Case['order'] {
  const src = String(argv[1]);
  const words = argv.map((a) => String(a).toLowerCase());
  let dontsort = false, alphaBy = false, limit = false, store = false, alpha = false, by = false;
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'by' && i + 1 < words.length) { by = true; if (!words[i + 1]!.includes('*')) dontsort = true; i++; }
    else if (w === 'limit' && i + 2 < words.length) { limit = true; i += 2; }
    else if ((w === 'get' || w === 'store') && i + 1 < words.length) { if (w === 'store') store = true; i++; }
    else if (w === 'alpha') alpha = true;
  }
  alphaBy = alpha && by && !dontsort;
  const hashtableSet = src === 'sstr' || src === 'snum';
  if (hashtableSet && dontsort && !store) return limit ? 'length' : 'multiset';
  if (alphaBy && (limit || !src.startsWith('l'))) return limit ? 'length' : 'multiset';
  return 'exact';
}

function sameUnder(order: Case['order'], ours: Reply, theirs: Reply): boolean {
  if (sameReply(ours, theirs)) return true;
  if (!Array.isArray(ours) || !Array.isArray(theirs)) return false;
  if (order === 'length') return ours.length === theirs.length;
  if (order === 'multiset') {
    const key = (x: Reply): string => showReply(x);
    return sameReply(ours.map(key).sort().map((s) => b(s)), theirs.map(key).sort().map((s) => b(s)));
  }
  return false;
}

const required = process.env['FORKLESS_REQUIRE_REDIS'] !== undefined;
const RANDOM_CASES = Number(process.env['FORKLESS_SORT_CASES'] ?? 600);

if (!haveRedis()) {
  if (required) {
    test('redis-server is required (FORKLESS_REQUIRE_REDIS is set)', () => { assert.unreachable('redis-server binary not found'); });
  } else {
    console.warn('\n!!! SORT differential tests SKIPPED: redis-server not found (set FORKLESS_REQUIRE_REDIS=1 to make this fail) !!!\n');
    test.skip('SORT differential tests against redis-server', () => {});
  }
} else {
  test(`SORT/SORT_RO match redis-server (${HANDWRITTEN.length} handwritten + ${RANDOM_CASES} random cases)`, async () => {
    const redis = await startRedis();
    const cli = await RespClient.connect(redis.port);
    try {
      const h = fresh();
      const withLists = !(h.run('RPUSH', 'probe', 'x') instanceof ReplyError);
      h.run('DEL', 'probe');
      if (!withLists) console.warn('  (lists not available yet: list sources and STORE left out)');
      for (const c of dataset(withLists)) {
        const want = await cli.call(...c);
        const got = h.run(...c);
        assert.ok(sameReply(toResp2(got), want), `setup ${c.join(' ')}: ours ${showReply(got)}, redis ${showReply(want)}`);
      }
      const cases: Arg[][] = HANDWRITTEN.filter((c) => withLists || !(c.includes('STORE') || String(c[1]).startsWith('l')));
      const r = rngFrom(20240611);
      for (let i = 0; i < RANDOM_CASES; i++) cases.push(randomCase(r, withLists));
      let compared = 0, errors = 0;
      for (const argv of cases) {
        const order = orderOf(argv);
        const want = await cli.call(...argv);
        const got = toResp2(h.run(...argv));
        assert.ok(sameUnder(order, got, want), `${argv.map(String).join(' ')} (${order}):\n  ours:  ${showReply(got)}\n  redis: ${showReply(want)}`);
        compared++;
        if (want instanceof ReplyError) errors++;
        let dst: string | null = null; // the last STORE wins
        for (let i = 2; i + 1 < argv.length; i++) if (String(argv[i]).toLowerCase() === 'store') dst = String(argv[i + 1]);
        if (dst !== null && order !== 'exact' && !(want instanceof ReplyError) && String(await cli.call('TYPE', dst)) === 'list') {
          // An order Redis leaves unspecified: compare as such, then take Redis's order, since the
          // destination may be sorted BY nosort or compared exactly later.
          const l1 = await cli.call('LRANGE', dst, 0, -1) as Buffer[];
          const l2 = toResp2(h.run('LRANGE', dst, 0, -1));
          assert.ok(sameUnder(order, l2, l1), `${argv.join(' ')}: stored ${dst}:\n  ours:  ${showReply(l2)}\n  redis: ${showReply(l1)}`);
          h.run('DEL', dst);
          h.run('RPUSH', dst, ...l1);
        }
        // Destinations and the source's encoding after every write-capable case.
        for (const k of ['dst', 'dst2', 'dst3', 'dst4', 'str', 'l2', 'lnum', 'lbs', 'si-copy']) {
          const t1 = await cli.call('TYPE', k);
          const t2 = h.run('TYPE', k);
          assert.ok(sameReply(toResp2(t2), t1), `after ${argv.join(' ')}: TYPE ${k}: ours ${showReply(t2)}, redis ${showReply(t1)}`);
          if (String(t1) === 'list') {
            const l1 = await cli.call('LRANGE', k, 0, -1);
            const l2 = toResp2(h.run('LRANGE', k, 0, -1));
            assert.ok(sameReply(l2, l1), `after ${argv.join(' ')}: LRANGE ${k}:\n  ours:  ${showReply(l2)}\n  redis: ${showReply(l1)}`);
          }
        }
      }
      for (const k of ['zs', 'zbig']) {
        const e1 = await cli.call('OBJECT', 'ENCODING', k);
        assert.is(String(e1), 'skiplist', `redis converted ${k}`);
        assert.is(h.engine.keyspace.lookupValue(0, b(k))!.vt, VT_LARGE, `forkless converted ${k}`);
      }
      console.log(`  ${compared} SORT replies compared (${errors} errors)`);
    } finally {
      await cli.close();
      await redis.stop();
    }
  });

  test('COMMAND GETKEYS / GETKEYSANDFLAGS for SORT and SORT_RO match redis-server', async () => {
    const redis = await startRedis();
    const cli = await RespClient.connect(redis.port);
    const dir = mkdtempSync(join(tmpdir(), 'fl-sortkeys-'));
    const db = await open({ dir, save: '', appendonly: 'no', loglevel: 'warning', logfile: join(dir, 'log') });
    try {
      const lines: Arg[][] = [['SORT', 's'], ['SORT', 's', 'STORE', 'd'], ['SORT', 's', 'STORE', 'd', 'STORE', 'e'],
        ['SORT', 's', 'GET', 'store', 'BY', 'store'], ['SORT', 's', 'LIMIT', '0', 'store', 'STORE', 'x'], ['SORT', 's', 'store', 'limit', '1', '2'],
        ['SORT', 's', 'STORE'], ['SORT_RO', 's', 'BY', 'w_*'], ['SORT_RO', 's', 'STORE', 'd']];
      for (const line of lines) {
        for (const sub of ['GETKEYS', 'GETKEYSANDFLAGS']) {
          const want = await cli.call('COMMAND', sub, ...line);
          let got: Reply;
          try { got = db.call('COMMAND', sub, ...line.map(String)) as Reply; } catch (e) { got = e as ReplyError; }
          assert.ok(sameReply(toResp2(got), want), `COMMAND ${sub} ${line.join(' ')}: ours ${showReply(toResp2(got))}, redis ${showReply(want)}`);
        }
      }
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
      await cli.close();
      await redis.stop();
    }
  });
}

test.run();
