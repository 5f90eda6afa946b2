/**
 * Sorted sets: the order-statistic index against a sorted-array model (random inserts, deletes,
 * score changes; ranks, selects, bound searches, walks, structural invariants), the listpack score
 * text rules, encoding conversions through the command layer on the shared keyspace, and the
 * listpack bytes against redis-server's DUMP (they go into RDB files unchanged).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { VT_LARGE, VT_ZSET_LISTPACK } from '../engine/keyspace/api.js';
import { ZIndex } from '../engine/types/zset-index.js';
import {
  listpackScoreText, loadZset, loadZsetListpack, zsetEntries, zsetIndex, zsetPop,
} from '../engine/types/zset.js';
import { formatDouble } from '../engine/commands/args.js';
import { DoubleReply } from '../engine/commands/types.js';
import { ReplyError } from '../engine/errors.js';
import { makeHarness } from './support/command-harness.js';
import { haveRedis, startRedis } from './support/real-redis.js';
import { RespClient, showReply, toResp2 } from './support/resp-client.js';
import { rngFrom } from './support/rng.js';


// ================================================================================================
// ZIndex vs a sorted array
// ================================================================================================

interface El { score: number; member: Buffer; ref: number }

function cmpEl(a: El, b: El): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return Buffer.compare(a.member, b.member);
}

function runIndexModel(seed: number, ops: number, scoreSpread: number): void {
  const r = rngFrom(seed);
  const fields = new Map<number, Buffer>();
  const src = { field: (ref: number): Uint8Array => fields.get(ref)! };
  const idx = new ZIndex(src);
  let model: El[] = [];
  const byMember = new Map<string, El>();
  let nextRef = 1;
  const randScore = (): number => {
    const k = r();
    if (k < 0.05) return r() < 0.5 ? Infinity : -Infinity;
    return Math.floor(r() * scoreSpread) - scoreSpread / 2 + (r() < 0.2 ? 0.5 : 0);
  };
  const randMember = (): Buffer => Buffer.from(`m${Math.floor(r() * ops)}${r() < 0.1 ? '\xff' : ''}`, 'latin1');
  for (let i = 0; i < ops; i++) {
    const k = r();
    if (k < 0.5 || model.length < 5) {
      const m = randMember();
      const key = m.toString('latin1');
      if (byMember.has(key)) continue;
      const el: El = { score: randScore(), member: m, ref: nextRef++ };
      fields.set(el.ref, m);
      idx.insert(el.score, el.ref, m);
      byMember.set(key, el);
      const pos = model.findIndex((x) => cmpEl(x, el) > 0);
      if (pos < 0) model.push(el); else model.splice(pos, 0, el);
    } else if (k < 0.75) {
      const el = model[Math.floor(r() * model.length)]!;
      assert.ok(idx.remove(el.score, el.ref, el.member), 'remove existing');
      model = model.filter((x) => x !== el);
      byMember.delete(el.member.toString('latin1'));
      fields.delete(el.ref);
    } else {
      const el = model[Math.floor(r() * model.length)]!;
      assert.ok(idx.remove(el.score, el.ref, el.member));
      el.score = randScore();
      idx.insert(el.score, el.ref, el.member);
      model = model.filter((x) => x !== el);
      const pos = model.findIndex((x) => cmpEl(x, el) > 0);
      if (pos < 0) model.push(el); else model.splice(pos, 0, el);
    }
    assert.is(idx.size, model.length);
    if (i % 97 === 0 || i === ops - 1) {
      idx.verify();
      // ranks of a few members, present and absent
      for (let t = 0; t < 5 && model.length > 0; t++) {
        const p = Math.floor(r() * model.length);
        const el = model[p]!;
        assert.is(idx.rank(el.score, el.member), p, 'rank');
        assert.is(idx.rank(el.score, Buffer.concat([el.member, Buffer.from([0])])), -1, 'absent rank');
        const c = idx.select(p);
        assert.is(ZIndex.refAt(c), el.ref, 'select');
        assert.is(ZIndex.scoreAt(c), el.score);
      }
      // score bounds
      for (let t = 0; t < 5; t++) {
        const b = randScore();
        const ge = model.findIndex((x) => x.score >= b);
        const gt = model.findIndex((x) => x.score > b);
        assert.is(idx.firstRank((s) => s >= b), ge < 0 ? model.length : ge, 'first >=');
        assert.is(idx.firstRank((s) => s > b), gt < 0 ? model.length : gt, 'first >');
      }
      // a lex bound over the whole order (monotone only for equal scores; use (score, member))
      if (model.length > 0) {
        const pivot = model[Math.floor(r() * model.length)]!;
        const want = model.findIndex((x) => cmpEl(x, pivot) >= 0);
        assert.is(idx.firstRank((s, ref) => (s !== pivot.score ? s > pivot.score : Buffer.compare(fields.get(ref)!, pivot.member) >= 0)), want);
      }
      // walks
      if (model.length > 0) {
        const start = Math.floor(r() * model.length);
        const fwd: number[] = [];
        idx.walk(start, false, (ref) => { fwd.push(ref); return fwd.length < 300; });
        assert.equal(fwd, model.slice(start, start + 300).map((x) => x.ref), 'forward walk');
        const back: number[] = [];
        idx.walk(start, true, (ref) => { back.push(ref); return true; });
        assert.equal(back, model.slice(0, start + 1).reverse().map((x) => x.ref), 'backward walk');
      }
    }
  }
}

test('ZIndex: random inserts/deletes/updates match a sorted array (few distinct scores: member ties)', () => {
  runIndexModel(1, 6000, 8);
});

test('ZIndex: random ops match a sorted array (wide scores, deep tree)', () => {
  runIndexModel(2, 20000, 1e6);
});

test('ZIndex: build() from sorted input, then drain from both ends keeps invariants', () => {
  const fields = new Map<number, Buffer>();
  const n = 50000;
  const refs: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    fields.set(i + 1, Buffer.from(`k${String(i).padStart(6, '0')}`));
    refs.push(i + 1);
    scores.push(Math.floor(i / 10));
  }
  const idx = ZIndex.build({ field: (r) => fields.get(r)! }, refs, scores);
  idx.verify();
  assert.is(idx.size, n);
  assert.is(idx.rank(4999, Buffer.from('k049999')), 49999);
  let lo = 0;
  let hi = n - 1;
  while (idx.size > 0) {
    const useLow = (idx.size & 1) === 0;
    const i = useLow ? lo++ : hi--;
    const c = idx.select(useLow ? 0 : idx.size - 1);
    assert.is(ZIndex.refAt(c), i + 1);
    assert.ok(idx.remove(scores[i]!, i + 1, fields.get(i + 1)!));
    if (idx.size % 4999 === 0) idx.verify();
  }
  idx.verify();
});

test('ZIndex: ascending and descending loads fill leaves (edge splits) and keep invariants', () => {
  for (const dir of [1, -1]) {
    const fields = new Map<number, Buffer>();
    const idx = new ZIndex({ field: (r) => fields.get(r)! });
    const n = 40000;
    for (let i = 0; i < n; i++) {
      const m = Buffer.from(`e${i}`);
      fields.set(i + 1, m);
      idx.insert(dir * i, i + 1, m);
    }
    idx.verify();
    assert.is(idx.rank(dir === 1 ? 0 : -(n - 1), Buffer.from(dir === 1 ? 'e0' : `e${n - 1}`)), 0);
    // full leaves: about 12 bytes per element, far from the 24 of half-full ones
    assert.ok(idx.memoryBytes() / n < 16, `bytes/element ${idx.memoryBytes() / n}`);
  }
});

// ================================================================================================
// Score text
// ================================================================================================

test('listpack score text: integers within ±2^62 as integers, else %.17g', () => {
  const t = (d: number): string => listpackScoreText(d).toString('latin1');
  assert.is(t(1), '1');
  assert.is(t(-0), '0');
  assert.is(t(1e17), '100000000000000000');
  assert.is(t(2 ** 62), '4611686018427387904');
  assert.is(t(-(2 ** 62)), '-4611686018427387904');
  assert.is(t(2 ** 62 + 1024), '4.6116860184273889e+18');
  assert.is(t(0.1), '0.10000000000000001');
  assert.is(t(1.5), '1.5');
  assert.is(t(Infinity), 'inf');
  assert.is(t(-Infinity), '-inf');
  assert.is(t(1e300), '1.0000000000000001e+300');
  assert.is(t(2.5e-10), '2.5000000000000002e-10');
});

test('formatDouble: 17 significant digits that read back as the same double, ties rounded to even', () => {
  const r = rngFrom(7);
  const samples = [1000000000000000.25, 0.5, 1e-5, 123456789.125, 5e-324, 1.7976931348623157e308, 2 ** 53 + 2, 0.3];
  for (let i = 0; i < 3000; i++) {
    const k = r();
    if (k < 0.3) samples.push((r() - 0.5) * 10 ** Math.floor(r() * 40 - 20));
    else if (k < 0.6) samples.push(Math.floor(r() * 2 ** 52) / 2 ** Math.floor(r() * 12) * 10 ** Math.floor(r() * 6));
    else samples.push(new Float64Array(new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 31)]).buffer)[0]!);
  }
  for (const d of samples) {
    if (!Number.isFinite(d)) continue;
    const txt = formatDouble(d);
    assert.is(Number(txt), d, `${d} → ${txt}`);
    assert.ok(txt.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').length <= 17, txt);
  }
  assert.is(formatDouble(1000000000000000.25), '1000000000000000.2'); // glibc: half to even
  assert.is(formatDouble(0.1), '0.10000000000000001');
  assert.is(formatDouble(1e-7), '9.9999999999999995e-08'); // just below 10^-7: exponent settled exactly
});

// ================================================================================================
// Through the command layer (shared keyspace)
// ================================================================================================

function encodingOf(h: ReturnType<typeof makeHarness>, key: string): string {
  const v = h.engine.keyspace.lookupValue(0, Buffer.from(key));
  if (v === null) return 'none';
  if (v.vt === VT_ZSET_LISTPACK) return 'listpack';
  if (v.vt === VT_LARGE && v.large?.kind === 'zset') return 'skiplist';
  return `other(${v.vt})`;
}

const str = (r: unknown): string => showReply(toResp2(r as never));

test('conversion: 128 entries stay a listpack, the 129th converts; long members convert; never back', () => {
  const h = makeHarness(createKeyspace(), 'shared');
  for (let i = 0; i < 128; i++) h.run('ZADD', 'z', i, `m${i}`);
  assert.is(encodingOf(h, 'z'), 'listpack');
  h.run('ZADD', 'z', 500, 'extra');
  assert.is(encodingOf(h, 'z'), 'skiplist');
  for (let i = 0; i < 120; i++) h.run('ZREM', 'z', `m${i}`);
  assert.is(encodingOf(h, 'z'), 'skiplist');
  assert.is(h.run('ZCARD', 'z'), 9);
  h.run('ZADD', 'long', 1, 'a'.repeat(64));
  assert.is(encodingOf(h, 'long'), 'listpack');
  h.run('ZADD', 'long', 2, 'b'.repeat(65));
  assert.is(encodingOf(h, 'long'), 'skiplist');
  h.run('ZADD', 'l2', 1, 'c'.repeat(65));
  assert.is(encodingOf(h, 'l2'), 'skiplist');
  // ZUNIONSTORE / ZRANGESTORE pick the encoding of the result
  h.run('ZUNIONSTORE', 'u', 1, 'z');
  assert.is(encodingOf(h, 'u'), 'listpack');
  h.run('ZRANGESTORE', 'rs', 'long', 0, 0);
  assert.is(encodingOf(h, 'rs'), 'listpack');
  h.run('ZRANGESTORE', 'rs', 'long', 0, -1);
  assert.is(encodingOf(h, 'rs'), 'skiplist');
  // ranks and ranges agree across the conversion
  assert.is(str(h.run('ZRANGE', 'z', 0, -1, 'WITHSCORES')), str(h.run('ZRANGE', 'u', 0, -1, 'WITHSCORES')));
});

test('large zset: replies equal to the same data kept as a listpack model', () => {
  const h = makeHarness(createKeyspace(), 'shared');
  const r = rngFrom(99);
  for (let i = 0; i < 3000; i++) {
    const m = `m${Math.floor(r() * 800)}`;
    const s = String(Math.floor(r() * 50));
    h.run('ZADD', 'big', s, m);
    if (r() < 0.2) h.run('ZREM', 'big', `m${Math.floor(r() * 800)}`);
    if (r() < 0.1) h.run('ZINCRBY', 'big', '2.5', m);
  }
  assert.is(encodingOf(h, 'big'), 'skiplist');
  const all = h.run('ZRANGE', 'big', 0, -1, 'WITHSCORES') as Array<Buffer | DoubleReply>;
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < all.length; i += 2) pairs.push([(all[i] as Buffer).toString(), (all[i + 1] as DoubleReply).value]);
  for (let i = 1; i < pairs.length; i++) {
    const [m0, s0] = pairs[i - 1]!;
    const [m1, s1] = pairs[i]!;
    assert.ok(s0 < s1 || (s0 === s1 && Buffer.compare(Buffer.from(m0), Buffer.from(m1)) < 0), 'sorted');
  }
  for (let t = 0; t < 200; t++) {
    const p = Math.floor(r() * pairs.length);
    assert.is(h.run('ZRANK', 'big', pairs[p]![0]), p);
    assert.is(h.run('ZREVRANK', 'big', pairs[p]![0]), pairs.length - 1 - p);
    const lo = Math.floor(r() * 50);
    const want = pairs.filter(([, s]) => s > lo && s <= lo + 5).map(([m]) => m);
    assert.equal((h.run('ZRANGEBYSCORE', 'big', `(${lo}`, lo + 5) as Buffer[]).map(String), want);
    assert.is(h.run('ZCOUNT', 'big', `(${lo}`, lo + 5), want.length);
    assert.equal((h.run('ZREVRANGEBYSCORE', 'big', lo + 5, `(${lo}`) as Buffer[]).map(String), [...want].reverse());
  }
  // the index survives COPY (rebuilt from the elements)
  h.run('COPY', 'big', 'big2');
  assert.is(str(h.run('ZRANGE', 'big2', 0, -1, 'WITHSCORES')), str(h.run('ZRANGE', 'big', 0, -1, 'WITHSCORES')));
  const v = h.engine.keyspace.lookupValue(0, Buffer.from('big2'))!;
  zsetIndex(v.large!).verify();
});

test('errors and edge replies', () => {
  const h = makeHarness(createKeyspace(), 'shared');
  const err = (r: unknown): string => (r instanceof ReplyError ? r.message : `not an error: ${str(r)}`);
  assert.is(err(h.run('ZADD', 'z', 'nan', 'a')), 'ERR value is not a valid float');
  assert.is(err(h.run('ZADD', 'z', 'NX', 'XX', '1', 'a')), 'ERR XX and NX options at the same time are not compatible');
  assert.is(err(h.run('ZADD', 'z', 'GT', 'LT', '1', 'a')), 'ERR GT, LT, and/or NX options at the same time are not compatible');
  assert.is(err(h.run('ZADD', 'z', 'INCR', '1', 'a', '2', 'b')), 'ERR INCR option supports a single increment-element pair');
  assert.is(err(h.run('ZADD', 'z', '1', 'a', '2')), 'ERR syntax error');
  h.run('ZADD', 'z', 'inf', 'a');
  assert.is(err(h.run('ZINCRBY', 'z', '-inf', 'a')), 'ERR resulting score is not a number (NaN)');
  assert.is(str(h.run('ZSCORE', 'z', 'a')), '"inf"');
  assert.is(err(h.run('ZRANGEBYSCORE', 'z', 'x', '1')), 'ERR min or max is not a float');
  assert.is(err(h.run('ZRANGEBYLEX', 'z', 'a', '+')), 'ERR min or max not valid string range item');
  assert.is(err(h.run('ZRANGE', 'z', 0, 1, 'LIMIT', 0, 1)), 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  assert.is(err(h.run('ZRANGE', 'z', '-', '+', 'BYLEX', 'WITHSCORES')), 'ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  assert.is(err(h.run('ZUNIONSTORE', 'd', 0, 'z')), "ERR at least 1 input key is needed for 'zunionstore' command");
  assert.is(err(h.run('ZMPOP', 0, 'z', 'MIN')), 'ERR numkeys should be greater than 0');
  assert.is(err(h.run('ZPOPMIN', 'z', -1)), 'ERR value is out of range, must be positive');
  assert.is(err(h.run('ZINTERCARD', 1, 'z', 'LIMIT', -1)), "ERR LIMIT can't be negative");
  assert.is(err(h.run('ZRANDMEMBER', 'z', '-9223372036854775808')), 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  h.run('SET', 's', 'x');
  assert.is(err(h.run('ZADD', 's', 1, 'a')), 'WRONGTYPE Operation against a key holding the wrong kind of value');
  assert.is(err(h.run('ZADD', 's', 'x', 'a')), 'ERR value is not a valid float', 'a bad score is reported before WRONGTYPE');
  // score bounds read with strtod: "" is 0, spaces before the number are fine
  h.run('ZADD', 'n', 0, 'zero', 1, 'one');
  assert.is(h.run('ZCOUNT', 'n', '', ' 1'), 2);
  assert.is(h.run('ZCOUNT', 'n', '(', '+inf'), 1);
});

test('-0 scores: a listpack holds 0, a skiplist keeps -0, also when a listpack converts in the same ZADD (as redis-server 7.0.15)', () => {
  const h = makeHarness(createKeyspace(), 'shared');
  const long = 'L'.repeat(70);
  h.run('ZADD', 'lp', '-0', 'x');
  assert.is(str(h.run('ZSCORE', 'lp', 'x')), '"0"');
  assert.is(str(h.run('ZADD', 'lp', 'INCR', '-0', 'y')), '"-0"', 'the INCR reply is the computed score');
  assert.is(str(h.run('ZSCORE', 'lp', 'y')), '"0"');
  // existing listpack: -0 goes in as 0, then the long member converts the key
  h.run('ZADD', 'conv', 1, 'a');
  h.run('ZADD', 'conv', '-0', 'b', 1, long);
  assert.is(encodingOf(h, 'conv'), 'skiplist');
  assert.is(str(h.run('ZSCORE', 'conv', 'b')), '"0"');
  // new key whose first member fits a listpack: the same
  h.run('ZADD', 'conv2', '-0', 'y', 1, long);
  assert.is(str(h.run('ZSCORE', 'conv2', 'y')), '"0"');
  // a listpack score updated to -0, then converted by a later pair of the same command
  h.run('ZADD', 'conv3', 5, 'y');
  h.run('ZADD', 'conv3', '-0', 'y', 1, long);
  assert.is(str(h.run('ZSCORE', 'conv3', 'y')), '"0"');
  // a new key whose first member is long starts as a skiplist and keeps -0
  h.run('ZADD', 'sk', 1, long, '-0', 'y');
  assert.is(str(h.run('ZSCORE', 'sk', 'y')), '"-0"');
  assert.is(str(h.run('ZINCRBY', 'sk', '-0', 'y')), '"-0"');
});

test('ZRANGESTORE: elements stored before the destination converts have -0 turned to 0 (as redis-server 7.0.15)', () => {
  const h = makeHarness(createKeyspace(), 'shared');
  const cfg: Record<string, number> = { 'zset-max-listpack-entries': 128, 'zset-max-listpack-value': 64 };
  Object.assign(h.engine, { config: { getInt: (name: string): number => cfg[name] ?? NaN } });
  const long = 'L'.repeat(70);
  const all = (k: string): string => str(h.run('ZRANGE', k, 0, -1, 'WITHSCORES'));
  h.run('ZADD', 'src', 1, long, '-0', 'a', '-0', 'b', 5, 'c');
  assert.is(all('src'), `["a", "-0", "b", "-0", "${long}", "1", "c", "5"]`);
  h.run('ZRANGESTORE', 'd', 'src', 0, -1);
  assert.is(all('d'), `["a", "0", "b", "0", "${long}", "1", "c", "5"]`, 'a and b went into the listpack first');
  h.run('ZRANGESTORE', 'd2', 'src', 0, -1, 'REV');
  assert.is(all('d2'), `["a", "-0", "b", "-0", "${long}", "1", "c", "5"]`, 'the long member came first: converted at once');
  cfg['zset-max-listpack-entries'] = 2;
  h.run('ZADD', 's3', 1, long, '-0', 'a', '-0', 'b', '-0', 'c');
  h.run('ZRANGESTORE', 'd3', 's3', '-inf', 'inf', 'BYSCORE');
  assert.is(all('d3'), `["a", "0", "b", "0", "c", "-0", "${long}", "1"]`, 'a score range starts as a listpack whatever its length');
  h.run('ZRANGESTORE', 'd4', 's3', 0, -1);
  assert.is(all('d4'), `["a", "-0", "b", "-0", "c", "-0", "${long}", "1"]`, 'a rank range longer than the limit starts as a skiplist');
  h.run('ZRANGESTORE', 'd5', 's3', 0, 1);
  assert.is(all('d5'), '["a", "0", "b", "0"]');
  assert.is(encodingOf(h, 'd5'), 'listpack');
});

test('ZMPOP propagates as ZPOPMIN/ZPOPMAX key count; no-op writes propagate nothing', () => {
  const h = makeHarness(createKeyspace(), 'shared');
  h.run('ZADD', 'z', 1, 'a', 2, 'b', 3, 'c');
  h.log.length = 0;
  h.run('ZMPOP', 2, 'nokey', 'z', 'MAX', 'COUNT', 10);
  assert.equal(h.log, [[0, 'ZPOPMAX z 3']]);
  h.log.length = 0;
  h.run('ZADD', 'y', 1, 'a');
  h.run('ZADD', 'y', 'NX', 5, 'a');
  h.run('ZREM', 'y', 'nope');
  h.run('ZADD', 'y', 1, 'a');
  h.run('ZINCRBY', 'y', 2, 'a');
  assert.equal(h.log, [[0, 'ZADD y 1 a'], [0, 'ZINCRBY y 2 a']]);
});

test('pop primitive, builders and iterator', () => {
  const ks = createKeyspace();
  const k = Buffer.from('z');
  loadZset(ks, 0, k, [[Buffer.from('b'), 2], [Buffer.from('a'), 1], [Buffer.from('c'), 3]], -1);
  assert.is(ks.lookupValue(0, k)!.vt, VT_ZSET_LISTPACK);
  assert.equal(zsetEntries(ks.lookupValue(0, k)!).map(([m, s]) => `${m}:${s}`), ['a:1', 'b:2', 'c:3']);
  assert.equal(zsetPop(ks, 0, k, 'max', 2)!.map(([m]) => String(m)), ['c', 'b']);
  assert.equal(zsetPop(ks, 0, k, 'min', 5)!.map(([m]) => String(m)), ['a']);
  assert.is(ks.lookupValue(0, k), null);
  assert.is(zsetPop(ks, 0, k, 'min', 1), null);
  const many: Array<[Buffer, number]> = [];
  for (let i = 0; i < 1000; i++) many.push([Buffer.from(`e${i}`), 1000 - i]);
  loadZset(ks, 0, k, many, -1);
  const v = ks.lookupValue(0, k)!;
  assert.is(v.vt, VT_LARGE);
  const es = zsetEntries(v);
  assert.is(es.length, 1000);
  assert.is(String(es[0]![0]), 'e999');
  assert.throws(() => loadZset(ks, 0, Buffer.from('dup'), [[Buffer.from('a'), 1], [Buffer.from('a'), 2]], -1));
  // a listpack blob is kept byte for byte
  const h = makeHarness(ks, 'shared');
  h.run('ZADD', 'src', '0.1', 'x', '7', 'y');
  const blob = Buffer.from(ks.lookupValue(0, Buffer.from('src'))!.blob);
  loadZsetListpack(ks, 0, Buffer.from('copy'), blob, -1);
  assert.ok(Buffer.from(ks.lookupValue(0, Buffer.from('copy'))!.blob).equals(blob));
});

// ================================================================================================
// Listpack bytes vs redis-server DUMP
// ================================================================================================

const required = process.env['FORKLESS_REQUIRE_REDIS'] !== undefined;
if (!haveRedis()) {
  if (required) test('redis-server is required (FORKLESS_REQUIRE_REDIS is set)', () => { assert.unreachable('redis-server not found'); });
  else {
    console.warn('\n!!! zset DUMP comparison SKIPPED: redis-server not found (set FORKLESS_REQUIRE_REDIS=1 to make this fail) !!!\n');
    test.skip('listpack bytes equal redis-server DUMP payloads', () => {});
  }
} else {
  test('listpack bytes equal the listpack inside redis-server DUMP payloads', async () => {
    const redis = await startRedis({ args: ['--rdbcompression', 'no'] });
    const cli = await RespClient.connect(redis.port);
    try {
      const h = makeHarness(createKeyspace(), 'shared');
      const r = rngFrom(4242);
      const scorePool = ['0', '-0', '1', '-1', '0.1', '1.5', '100000', '1e17', '4611686018427387904', '4611686018427387905', '9e18', '-2.5e-10', 'inf', '-inf', '3.0000000000000004', '123456789012', '1e300', '0x10'];
      for (let round = 0; round < 60; round++) {
        const key = `k${round}`;
        const cmds: string[][] = [];
        const n = 1 + Math.floor(r() * 40);
        for (let i = 0; i < n; i++) {
          const s = r() < 0.5 ? scorePool[Math.floor(r() * scorePool.length)]! : String((r() - 0.5) * 10 ** Math.floor(r() * 10));
          const m = r() < 0.3 ? String(Math.floor(r() * 100000) - 500) : `m${Math.floor(r() * 30)}`;
          cmds.push(r() < 0.15 ? ['ZINCRBY', key, s, m] : ['ZADD', key, s, m]);
          if (r() < 0.1) cmds.push(['ZREM', key, `m${Math.floor(r() * 30)}`]);
        }
        for (const c of cmds) {
          const theirs = await cli.call(...c);
          const ours = h.run(...c);
          assert.is(str(ours), showReply(theirs), JSON.stringify(c));
        }
        const dump = await cli.call('DUMP', key);
        const v = h.engine.keyspace.lookupValue(0, Buffer.from(key));
        if (dump === null) { assert.is(v, null); continue; }
        assert.ok(Buffer.isBuffer(dump) && v !== null);
        assert.is(dump[0], 17, 'redis keeps it a listpack');
        const blob = Buffer.from(v.blob);
        // DUMP = type byte, RDB length, the listpack, RDB version (2) and CRC64 (8)
        const lpStart = dump.length - 10 - blob.length;
        assert.ok(lpStart >= 2 && dump.subarray(lpStart, dump.length - 10).equals(blob),
          `round ${round}: ours ${blob.toString('hex')}\n redis ${(dump as Buffer).toString('hex')}`);
      }
    } finally {
      await cli.close();
      await redis.stop();
    }
  });
}

test.run();
