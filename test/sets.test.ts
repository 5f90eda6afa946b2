// Sets: intset bytes (Redis's format), encodings and conversions (seen through lookupValue's vt),
// replies, error texts and propagation, on the shared-memory keyspace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reply } from '../engine/commands/types.js';
import { SetReply } from '../engine/commands/types.js';
import { NO_EXPIRE, VT_LARGE, VT_SET_INTSET } from '../engine/keyspace/api.js';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import {
  intsetAddAll, intsetContains, intsetEncoding, intsetFrom, intsetLength, intsetNew, intsetRemoveAll, intsetSearch,
  intsetValid, intsetValues,
} from '../engine/types/intset.js';
import { loadSet, lookupSet, setEncoding, setMembers } from '../engine/types/set.js';
import { showReply } from './support/resp-client.js';
import { replyErrorText as err, sharedHarness as fresh, type Harness } from './support/command-harness.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');



function items(r: Reply): string[] {
  assert.instance(r, SetReply, `expected a set reply, got ${showReply(r)}`);
  return (r as SetReply).items.map((x) => (x as Buffer).toString('latin1'));
}

function strs(r: Reply): string[] {
  assert.ok(Array.isArray(r), `expected an array, got ${showReply(r)}`);
  return (r as Buffer[]).map((x) => x.toString('latin1'));
}

function vt(h: Harness, key: string): number | null {
  const sv = h.engine.keyspace.lookupValue(0, b(key));
  return sv === null ? null : sv.vt;
}

function blob(h: Harness, key: string): Buffer {
  const sv = h.engine.keyspace.lookupValue(0, b(key));
  assert.ok(sv !== null && sv.vt === VT_SET_INTSET, `${key} is not an intset`);
  return Buffer.from(sv!.blob);
}

// ------------------------------------------------------------------------------------------------
// intset bytes
// ------------------------------------------------------------------------------------------------

test('intset: header, widths and little-endian sorted elements, byte for byte', () => {
  assert.equal(intsetNew(), hex('02000000 00000000'));
  assert.equal(intsetFrom([3n, 1n, 2n]), hex('02000000 03000000 0100 0200 0300'));
  assert.equal(intsetFrom([-1n, 32767n, -32768n]), hex('02000000 03000000 0080 ffff ff7f'));
  assert.equal(intsetFrom([32768n]), hex('04000000 01000000 00800000'));
  assert.equal(intsetFrom([-2147483648n, 5n]), hex('04000000 02000000 00000080 05000000'));
  assert.equal(intsetFrom([2147483648n, -9223372036854775808n]),
    hex('08000000 02000000 0000000000000080 0000008000000000'));
  assert.equal(intsetFrom([9223372036854775807n]), hex('08000000 01000000 ffffffffffffff7f'));
  assert.equal(intsetFrom([5n, 5n, 5n]), hex('02000000 01000000 0500'), 'duplicates collapse');
});

test('intset: upgrade on add, width kept on remove, search', () => {
  let is: Buffer = intsetFrom([1n, 2n]);
  let r = intsetAddAll(is, [100000n]);
  assert.is(r.added, 1);
  is = r.blob;
  assert.is(intsetEncoding(is), 4);
  assert.equal(intsetValues(is), [1n, 2n, 100000n]);
  r = intsetAddAll(is, [2n, 1n]);
  assert.is(r.added, 0);
  const rm = intsetRemoveAll(is, [100000n, 7n]);
  assert.is(rm.removed, 1);
  assert.is(intsetEncoding(rm.blob), 4, 'Redis never narrows an intset');
  assert.equal(rm.blob, hex('04000000 02000000 01000000 02000000'));
  assert.ok(intsetValid(rm.blob));
  assert.is(intsetSearch(is, 2n), 1);
  assert.is(intsetSearch(is, 3n), -3);
  assert.is(intsetSearch(is, -5n), -1);
  assert.is(intsetSearch(is, 1n << 40n), -4, 'wider than the width: after the end');
  assert.is(intsetSearch(is, -(1n << 40n)), -1, 'wider, negative: before the start');
  assert.ok(intsetContains(is, 100000n));
  assert.not.ok(intsetContains(is, 99999n));
  assert.is(intsetLength(is), 3);
  assert.not.ok(intsetValid(hex('03000000 00000000')));
  assert.not.ok(intsetValid(hex('02000000 02000000 0200 0100')));
});

test('SADD builds Redis intset bytes; members are canonical integers only', () => {
  const h = fresh();
  assert.is(h.run('SADD', 's', '3', '-1', '3', '200'), 3);
  assert.equal(blob(h, 's'), hex('02000000 03000000 ffff 0300 c800'));
  assert.is(h.run('SADD', 's', '70000'), 1);
  assert.equal(blob(h, 's'), hex('04000000 04000000 ffffffff 03000000 c8000000 70110100'));
  assert.equal(items(h.run('SMEMBERS', 's')), ['-1', '3', '200', '70000'], 'intsets iterate in numeric order');
  // Not canonical: leading zero, plus sign, spaces, out of int64 range → hashtable.
  for (const m of ['01', '+1', ' 1', '9223372036854775808', '-0', '1.0']) {
    const k = `t${m}`;
    h.run('SADD', k, m);
    assert.is(vt(h, k), VT_LARGE, `member ${JSON.stringify(m)} is not an intset member`);
  }
  h.run('SADD', 'x', '-9223372036854775808', '9223372036854775807');
  assert.is(vt(h, 'x'), VT_SET_INTSET);
  assert.is(intsetEncoding(blob(h, 'x')), 8);
});

// ------------------------------------------------------------------------------------------------
// Conversions
// ------------------------------------------------------------------------------------------------

test('conversions: a non-integer member or more than set-max-intset-entries → hashtable, never back on SREM', () => {
  const h = fresh({ 'set-max-intset-entries': 4 });
  h.run('SADD', 's', '1', '2', '3', '4');
  assert.is(vt(h, 's'), VT_SET_INTSET);
  h.run('SADD', 's', '5');
  assert.is(vt(h, 's'), VT_LARGE);
  h.run('SREM', 's', '1', '2', '3', '4');
  assert.is(vt(h, 's'), VT_LARGE, 'one-way while the key lives');
  assert.equal(items(h.run('SMEMBERS', 's')), ['5']);
  h.run('SADD', 'm', '1', 'a');
  assert.is(vt(h, 'm'), VT_LARGE);
  h.run('SADD', 'z', '1', '2', '3', '4', '5');
  assert.is(vt(h, 'z'), VT_LARGE, 'created over the limit');
  const h0 = fresh({ 'set-max-intset-entries': 0 });
  h0.run('SADD', 'q', '1');
  assert.is(vt(h0, 'q'), VT_LARGE, 'limit 0: every set is a hashtable');
});

test('conversions: 513 integer members with the default limit; the TTL survives the conversion', () => {
  const h = fresh();
  h.run('SADD', 's', ...Array.from({ length: 512 }, (_, i) => String(i)));
  h.run('PEXPIRE', 's', '100000000');
  assert.is(vt(h, 's'), VT_SET_INTSET);
  assert.is(h.run('SADD', 's', '512'), 1);
  assert.is(vt(h, 's'), VT_LARGE);
  assert.is(h.run('SCARD', 's'), 513);
  const ttl = h.run('PTTL', 's') as number;
  assert.ok(ttl > 99_000_000, `TTL kept, got ${ttl}`);
  assert.is(h.run('SISMEMBER', 's', '511'), 1);
  assert.is(h.run('SISMEMBER', 's', '513'), 0);
});

test('stores rebuild: SINTERSTORE/SUNIONSTORE results start as intsets; SDIFFSTORE copy-then-delete plan stays hashtable', () => {
  const h = fresh({ 'set-max-intset-entries': 4 });
  h.run('SADD', 'a', '1', '2', '3', '4', '5', '6');
  h.run('SADD', 'b', '2', '3', 'x');
  assert.is(h.run('SINTERSTORE', 'd', 'a', 'b'), 2);
  assert.is(vt(h, 'd'), VT_SET_INTSET);
  assert.equal(blob(h, 'd'), hex('02000000 02000000 0200 0300'));
  assert.is(h.run('SUNIONSTORE', 'u', 'b', 'b'), 3);
  assert.is(vt(h, 'u'), VT_LARGE);
  // a (6) − c (1): plan 1 work = 6*2/2 = 6, plan 2 = 7 → plan 1 → result built by adds → intset? 5 > 4 no.
  h.run('SADD', 'c', '1');
  assert.is(h.run('SDIFFSTORE', 'e', 'a', 'c'), 5);
  assert.is(vt(h, 'e'), VT_LARGE);
  // small first set with a string: {1, x} − {x}: plan 1 (2 ≤ 3) → {1} as an intset
  h.run('SADD', 'f', '1', 'x');
  h.run('SADD', 'g', 'x');
  assert.is(h.run('SDIFFSTORE', 'r', 'f', 'g'), 1);
  assert.is(vt(h, 'r'), VT_SET_INTSET);
  // {1,2,3,4,x,y} − {x} − {y}: plan 1 work 6*3/2 = 9 > plan 2 work 8 → Redis copies the first set
  // (not an intset) and deletes: the result {1,2,3,4} stays a hashtable (checked on redis-server 7.0.15)
  h.run('SADD', 'big', '1', '2', '3', '4', 'x', 'y');
  h.run('SADD', 'sx', 'x');
  h.run('SADD', 'sy', 'y');
  assert.is(h.run('SDIFFSTORE', 'r2', 'big', 'sx', 'sy'), 4);
  assert.is(vt(h, 'r2'), VT_LARGE);
  // {1,x,y,z,w,v,u} − {x..u} − {y}: plan 1 (10 <= 14) → {1} built by adds → intset
  h.run('SADD', 'big2', '1', 'x', 'y', 'z', 'w', 'v', 'u');
  h.run('SADD', 'sm', 'x', 'y', 'z', 'w', 'v', 'u');
  assert.is(h.run('SDIFFSTORE', 'r3', 'big2', 'sm', 'sy'), 1);
  assert.is(vt(h, 'r3'), VT_SET_INTSET);
  // empty result deletes an existing destination (dirty), is a no-op otherwise
  h.run('SET', 'dst', 'v');
  const before = h.log.length;
  assert.is(h.run('SINTERSTORE', 'dst', 'a', 'nokey'), 0);
  assert.is(h.run('EXISTS', 'dst'), 0);
  assert.is(h.log.length, before + 1);
  assert.is(h.run('SINTERSTORE', 'dst', 'a', 'nokey'), 0);
  assert.is(h.log.length, before + 1, 'nothing changed, nothing propagated');
  // the destination loses its TTL and may be a source
  h.run('PEXPIRE', 'a', '100000000');
  assert.is(h.run('SUNIONSTORE', 'a', 'a', 'c'), 6);
  assert.is(h.run('PTTL', 'a'), -1);
});

test('SPOP: count >= size deletes and propagates DEL; smaller counts propagate one SREM per member; rebuild may return to intset', () => {
  const h = fresh({ 'set-max-intset-entries': 8 });
  h.run('SADD', 's', 'b', 'a', '3', '1');
  const all = items(h.run('SPOP', 's', '10'));
  assert.equal(all.slice().sort(), ['1', '3', 'a', 'b']);
  assert.is(h.run('EXISTS', 's'), 0);
  assert.equal(h.log.at(-1), [0, 'DEL s']);
  h.run('SADD', 'n', '5', '3', '9');
  assert.equal(items(h.run('SPOP', 'n', '3')), ['3', '5', '9'], 'whole intset: numeric order');
  // case 2: few popped from many
  h.run('SADD', 'm', ...Array.from({ length: 20 }, (_, i) => `m${i}`));
  const r = h.exec('SPOP', 'm', '3');
  const popped = items(r.reply);
  assert.is(popped.length, 3);
  assert.equal(r.propagated.map((p) => p.argv.map((x) => x.toString()).join(' ')), popped.map((m) => `SREM m ${m}`));
  assert.is(h.run('SCARD', 'm'), 17);
  for (const p of popped) assert.is(h.run('SISMEMBER', 'm', p), 0);
  // case 3: most popped; the 2 that stay are integers → rebuilt as an intset, TTL kept
  h.run('SADD', 'h', '1', '2', 'x', 'y', 'z', 'w', 'v', 'u', 't', 'q');
  assert.is(vt(h, 'h'), VT_LARGE);
  h.run('SREM', 'h', 'x', 'y', 'z', 'w', 'v', 'u', 't', 'q');
  h.run('SADD', 'h', '3', '4', '5', '6', '7', '8', '9', '10');
  h.run('PEXPIRE', 'h', '100000000');
  assert.is(vt(h, 'h'), VT_LARGE);
  const r3 = h.exec('SPOP', 'h', '9');
  assert.is(items(r3.reply).length, 9);
  assert.is(r3.propagated.length, 9);
  assert.is(h.run('SCARD', 'h'), 1);
  assert.is(vt(h, 'h'), VT_SET_INTSET, 'the remainder is a new set, an intset again');
  assert.ok((h.run('PTTL', 'h') as number) > 0);
  // single form
  h.run('SADD', 'one', 'x');
  assert.equal(h.run('SPOP', 'one'), b('x'));
  assert.equal(h.log.at(-1), [0, 'SREM one x']);
  assert.is(h.run('EXISTS', 'one'), 0);
  assert.is(h.run('SPOP', 'one'), null);
  assert.equal(items(h.run('SPOP', 'one', '5')), []);
  assert.is(err(h.run('SPOP', 'n', '-1')), 'ERR value is out of range, must be positive');
  assert.is(err(h.run('SPOP', 'n', 'x')), 'ERR value is out of range, must be positive');
  assert.is(err(h.run('SPOP', 'n', '1', '2')), 'ERR syntax error');
});

test('SRANDMEMBER: counts, repetitions, whole set, distinctness', () => {
  const h = fresh();
  h.run('SADD', 's', ...Array.from({ length: 50 }, (_, i) => `e${i}`));
  const five = strs(h.run('SRANDMEMBER', 's', '5'));
  assert.is(new Set(five).size, 5);
  const forty = strs(h.run('SRANDMEMBER', 's', '40'));
  assert.is(new Set(forty).size, 40);
  assert.is(strs(h.run('SRANDMEMBER', 's', '100')).length, 50);
  const rep = strs(h.run('SRANDMEMBER', 's', '-200'));
  assert.is(rep.length, 200);
  for (const m of rep) assert.ok(/^e\d+$/.test(m));
  assert.equal(h.run('SRANDMEMBER', 's', '0'), []);
  assert.equal(h.run('SRANDMEMBER', 'nokey', '3'), []);
  assert.is(h.run('SRANDMEMBER', 'nokey'), null);
  h.run('SADD', 'i', '3', '1', '2');
  assert.equal(strs(h.run('SRANDMEMBER', 'i', '3')), ['1', '2', '3']);
  assert.is(err(h.run('SRANDMEMBER', 's', '-9223372036854775808')),
    'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  assert.is(err(h.run('SRANDMEMBER', 's', '1', '2')), 'ERR syntax error');
  h.run('SET', 'str', 'v');
  assert.is(err(h.run('SRANDMEMBER', 'str', '0')), 'WRONGTYPE Operation against a key holding the wrong kind of value');
});

test('SMOVE, SINTERCARD and the wrong-type rules', () => {
  const h = fresh();
  const WT = 'WRONGTYPE Operation against a key holding the wrong kind of value';
  h.run('SET', 'str', 'v');
  h.run('SADD', 'a', '1', '2');
  assert.is(h.run('SMOVE', 'nokey', 'str', '1'), 0, 'missing source answers 0 before type checks');
  assert.is(err(h.run('SMOVE', 'a', 'str', '1')), WT);
  assert.is(err(h.run('SMOVE', 'str', 'a', '1')), WT);
  assert.is(h.run('SMOVE', 'a', 'a', '1'), 1);
  assert.is(h.run('SMOVE', 'a', 'a', '9'), 0);
  assert.is(h.run('SMOVE', 'a', 'b', '9'), 0);
  assert.is(h.run('SMOVE', 'a', 'b', '1'), 1);
  assert.is(vt(h, 'b'), VT_SET_INTSET);
  assert.is(h.run('SMOVE', 'a', 'b', '2'), 1);
  assert.is(h.run('EXISTS', 'a'), 0, 'emptied source deleted');
  assert.equal(items(h.run('SMEMBERS', 'b')), ['1', '2']);
  assert.is(err(h.run('SINTER', 'nokey', 'str')), WT, 'all keys are type-checked before the empty shortcut');
  assert.is(err(h.run('SUNION', 'b', 'str')), WT);
  assert.is(h.run('SINTERCARD', '2', 'b', 'b'), 2);
  assert.is(h.run('SINTERCARD', '1', 'b', 'LIMIT', '1'), 1);
  assert.is(h.run('SINTERCARD', '1', 'b', 'limit', '0'), 2);
  assert.is(err(h.run('SINTERCARD', '0', 'b')), 'ERR numkeys should be greater than 0');
  assert.is(err(h.run('SINTERCARD', '9223372036854775808', 'b')), 'ERR numkeys should be greater than 0');
  assert.is(err(h.run('SINTERCARD', '9223372036854775807', 'b')), "ERR Number of keys can't be greater than number of args");
  assert.is(err(h.run('SINTERCARD', '1', 'b', 'LIMIT', '-1')), "ERR LIMIT can't be negative");
  assert.is(err(h.run('SINTERCARD', '1', 'b', 'LIMIT')), 'ERR syntax error');
  assert.equal(items(h.run('SINTER', 'b', 'nokey')), []);
  assert.equal(h.run('SMISMEMBER', 'b', '1', '3', '2'), [1, 0, 1]);
  assert.equal(h.run('SMISMEMBER', 'nokey', '1'), [0]);
});

test('SSCAN: intsets whole with cursor 0; hashtables iterate with the cursor; options and errors', () => {
  const h = fresh();
  h.run('SADD', 'i', '10', '2', '33');
  assert.equal(h.run('SSCAN', 'i', '0', 'MATCH', '*3*'), [b('0'), [b('33')]]);
  assert.equal(h.run('SSCAN', 'i', '12345'), [b('0'), [b('2'), b('10'), b('33')]]);
  assert.equal(h.run('SSCAN', 'nokey', '0', 'bogus'), [b('0'), []]);
  assert.is(err(h.run('SSCAN', 'i', 'x')), 'ERR invalid cursor');
  assert.is(err(h.run('SSCAN', 'i', '0', 'COUNT', '0')), 'ERR syntax error');
  assert.is(err(h.run('SSCAN', 'i', '0', 'COUNT', 'x')), 'ERR value is not an integer or out of range');
  assert.is(err(h.run('SSCAN', 'i', '0', 'TYPE', 'set')), 'ERR syntax error');
  const members = Array.from({ length: 1000 }, (_, i) => `m${i}`);
  h.run('SADD', 'big', ...members);
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  do {
    const r = h.run('SSCAN', 'big', cursor, 'COUNT', '50') as [Buffer, Buffer[]];
    cursor = r[0].toString();
    for (const m of r[1]) seen.add(m.toString());
    calls++;
  } while (cursor !== '0' && calls < 10_000);
  assert.is(seen.size, 1000);
  assert.ok(calls > 5, `a large set is iterated in several calls (${calls})`);
});

test('a failed command changes nothing; no-op writes are not propagated', () => {
  const h = fresh();
  h.run('SADD', 's', '1');
  const n = h.log.length;
  assert.is(h.run('SADD', 's', '1'), 0);
  assert.is(h.run('SREM', 's', '7'), 0);
  assert.is(h.run('SREM', 'nokey', '7'), 0);
  assert.is(h.run('SMOVE', 's', 'd', '7'), 0);
  assert.is(err(h.run('SADD', 's')), "ERR wrong number of arguments for 'sadd' command");
  assert.is(h.log.length, n);
  assert.is(h.run('SMOVE', 's', 'd', '1'), 1);
  assert.equal(h.log.at(-1), [0, 'SMOVE s d 1']);
});

test('loadSet chooses the encoding as Redis 7.0\'s loader; setMembers iterates', () => {
  const ks = createKeyspace();
  loadSet(ks, 0, b('a'), [b('5'), b('-3')], NO_EXPIRE);
  loadSet(ks, 0, b('b'), [b('5'), b('x')], NO_EXPIRE);
  loadSet(ks, 0, b('c'), Array.from({ length: 600 }, (_, i) => b(String(i))), NO_EXPIRE);
  loadSet(ks, 0, b('d'), [b('1'), b('2')], NO_EXPIRE, { maxIntsetEntries: 1 });
  loadSet(ks, 0, b('e'), [], NO_EXPIRE);
  const a = lookupSet(ks, 0, b('a'))!;
  assert.is(setEncoding(a), 'intset');
  assert.equal(Buffer.from(a.blob), hex('02000000 02000000 fdff 0500'));
  assert.equal(setMembers(a).map(String), ['-3', '5']);
  assert.is(setEncoding(lookupSet(ks, 0, b('b'))!), 'hashtable');
  assert.is(setEncoding(lookupSet(ks, 0, b('c'))!), 'hashtable');
  assert.is(setMembers(lookupSet(ks, 0, b('c'))!).length, 600);
  assert.is(setEncoding(lookupSet(ks, 0, b('d'))!), 'hashtable');
  assert.is(ks.exists(0, b('e')), false);
});

test.run();
