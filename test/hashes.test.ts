// Hashes: listpack bytes and order, conversions (seen through lookupValue's vt), replies, error
// texts and propagation, on the shared-memory keyspace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reply } from '../engine/commands/types.js';
import { MapReply } from '../engine/commands/types.js';
import { NO_EXPIRE, VT_HASH_LISTPACK, VT_LARGE } from '../engine/keyspace/api.js';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { hashEncoding, hashEntries, loadHash, lookupHash } from '../engine/types/hash.js';
import { lpDecode, lpEncode } from '../engine/types/listpack.js';
import { showReply } from './support/resp-client.js';
import { replyErrorText as err, sharedHarness as fresh, type Harness } from './support/command-harness.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const WT = 'WRONGTYPE Operation against a key holding the wrong kind of value';



function vt(h: Harness, key: string): number | null {
  const sv = h.engine.keyspace.lookupValue(0, b(key));
  return sv === null ? null : sv.vt;
}

function pairs(r: Reply): string[] {
  assert.instance(r, MapReply, `expected a map, got ${showReply(r)}`);
  return (r as MapReply).entries.flatMap(([k, v]) => [(k as Buffer).toString('latin1'), (v as Buffer).toString('latin1')]);
}

test('HSET stores a listpack f,v,… in insertion order; updates stay in place', () => {
  const h = fresh();
  assert.is(h.run('HSET', 'h', 'b', '1', 'a', 'two', 'b', '3'), 2);
  assert.is(vt(h, 'h'), VT_HASH_LISTPACK);
  const sv = h.engine.keyspace.lookupValue(0, b('h'))!;
  assert.equal(Buffer.from(sv.blob), lpEncode([b('b'), b('3'), b('a'), b('two')]));
  assert.is(h.run('HSET', 'h', 'c', '', 'b', 'x'), 1);
  assert.equal(pairs(h.run('HGETALL', 'h')), ['b', 'x', 'a', 'two', 'c', '']);
  assert.equal(h.run('HKEYS', 'h'), [b('b'), b('a'), b('c')]);
  assert.equal(h.run('HVALS', 'h'), [b('x'), b('two'), b('')]);
  assert.is(h.run('HMSET', 'h', 'd', '4'), 'OK');
  assert.is(h.run('HLEN', 'h'), 4);
  assert.is(h.run('HDEL', 'h', 'a', 'zz', 'a'), 1);
  assert.equal(lpDecode(h.engine.keyspace.lookupValue(0, b('h'))!.blob).map(String), ['b', 'x', 'c', '', 'd', '4']);
  assert.is(h.run('HDEL', 'h', 'b', 'c', 'd'), 3);
  assert.is(h.run('EXISTS', 'h'), 0, 'the last field takes the key with it');
});

test('conversions: more than hash-max-listpack-entries, or a long field/value, → hashtable; one-way', () => {
  const h = fresh({ 'hash-max-listpack-entries': 4, 'hash-max-listpack-value': 5 });
  h.run('HSET', 'h', 'a', '1', 'b', '2', 'c', '3', 'd', '4');
  assert.is(vt(h, 'h'), VT_HASH_LISTPACK);
  h.run('HSET', 'h', 'a', '1', 'a', '2', 'a', '3', 'a', '4', 'a', '5');
  assert.is(vt(h, 'h'), VT_HASH_LISTPACK, 'repeating a field adds no entries');
  h.run('HSET', 'h', 'e', '5');
  assert.is(vt(h, 'h'), VT_LARGE);
  h.run('HDEL', 'h', 'a', 'b', 'c', 'd');
  assert.is(vt(h, 'h'), VT_LARGE);
  assert.equal(pairs(h.run('HGETALL', 'h')), ['e', '5']);
  h.run('HSET', 'v', 'f', '123456');
  assert.is(vt(h, 'v'), VT_LARGE, 'value of 6 bytes > 5');
  h.run('HSET', 'w', 'longer', '1');
  assert.is(vt(h, 'w'), VT_LARGE, 'field of 6 bytes > 5');
  h.run('HSET', 'x', 'f', '12345');
  assert.is(vt(h, 'x'), VT_HASH_LISTPACK, 'exactly the limit still fits');
  h.run('HSETNX', 'y', 'abcdefgh', '1');
  assert.is(vt(h, 'y'), VT_LARGE);
  h.run('HSET', 'z', 'f', '1');
  h.run('HINCRBYFLOAT', 'z', 'f', '0.123456');
  assert.is(vt(h, 'z'), VT_LARGE, 'HINCRBYFLOAT writing a long value converts');
  h.run('HSET', 'q', 'f', '1');
  h.run('HINCRBY', 'q', 'longfield', '1');
  assert.is(vt(h, 'q'), VT_LARGE, 'HINCRBY creating a long field converts');
  h.run('HSET', 'k', 'f', '1');
  h.run('PEXPIRE', 'k', '100000000');
  h.run('HSET', 'k', 'g', 'toolongvalue');
  assert.is(vt(h, 'k'), VT_LARGE);
  assert.ok((h.run('PTTL', 'k') as number) > 99_000_000, 'TTL kept across the conversion');
  assert.equal(h.run('HGET', 'k', 'f'), b('1'));
});

test('default limits: 513 fields convert; big hashes answer every read', () => {
  const h = fresh();
  const args: string[] = [];
  for (let i = 0; i < 512; i++) args.push(`f${i}`, String(i));
  h.run('HSET', 'h', ...args);
  assert.is(vt(h, 'h'), VT_HASH_LISTPACK);
  h.run('HSET', 'h', 'f512', '512');
  assert.is(vt(h, 'h'), VT_LARGE);
  assert.is(h.run('HLEN', 'h'), 513);
  assert.equal(h.run('HGET', 'h', 'f77'), b('77'));
  assert.equal(h.run('HMGET', 'h', 'f1', 'nope', 'f512'), [b('1'), null, b('512')]);
  assert.is(h.run('HSTRLEN', 'h', 'f100'), 3);
  assert.is(h.run('HEXISTS', 'h', 'f0'), 1);
  const all = pairs(h.run('HGETALL', 'h'));
  assert.is(all.length, 1026);
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  do {
    const r = h.run('HSCAN', 'h', cursor, 'MATCH', 'f1*') as [Buffer, Buffer[]];
    cursor = r[0].toString();
    for (let i = 0; i < r[1].length; i += 2) {
      assert.is(r[1][i + 1]!.toString(), r[1][i]!.toString().slice(1), 'value follows its field');
      seen.add(r[1][i]!.toString());
    }
    calls++;
  } while (cursor !== '0' && calls < 10_000);
  assert.is(seen.size, 1 + 10 + 100, 'f1, f10..f19, f100..f199');
});

test('HINCRBY / HINCRBYFLOAT: Redis\'s checks, texts and propagation', () => {
  const h = fresh();
  h.run('HSET', 'h', 'n', '10', 's', 'abc', 'm', '9223372036854775807', 'e', '1e400');
  assert.is(h.run('HINCRBY', 'h', 'n', '-15'), -5);
  assert.is(h.run('HINCRBY', 'h', 'new', '7'), 7);
  assert.is(err(h.run('HINCRBY', 'h', 's', '1')), 'ERR hash value is not an integer');
  assert.is(err(h.run('HINCRBY', 'h', 'm', '1')), 'ERR increment or decrement would overflow');
  assert.is(err(h.run('HINCRBY', 'h', 'n', 'x')), 'ERR value is not an integer or out of range');
  assert.is(h.run('HINCRBY', 'h', 'm', '-1'), 9223372036854775806n);
  assert.equal(h.run('HINCRBYFLOAT', 'h', 'n', '0.1'), b('-4.9'));
  assert.equal(h.log.at(-1), [0, 'HSET h n -4.9']);
  assert.equal(h.run('HINCRBYFLOAT', 'h', 'f', '10.5'), b('10.5'));
  assert.equal(h.run('HINCRBYFLOAT', 'h', 'f', '0.1'), b('10.6'), 'long double arithmetic');
  assert.is(err(h.run('HINCRBYFLOAT', 'h', 's', '1')), 'ERR hash value is not a float');
  assert.is(err(h.run('HINCRBYFLOAT', 'h', 'n', 'inf')), 'ERR value is NaN or Infinity');
  assert.is(err(h.run('HINCRBYFLOAT', 'h', 'n', 'x')), 'ERR value is not a valid float');
  assert.is(err(h.run('HINCRBYFLOAT', 'nokey', 'n', 'inf')), 'ERR value is NaN or Infinity');
  assert.is(h.run('EXISTS', 'nokey'), 0);
  h.run('SET', 'str', 'v');
  assert.is(err(h.run('HINCRBY', 'str', 'f', 'x')), 'ERR value is not an integer or out of range', 'increment first');
  assert.is(err(h.run('HINCRBY', 'str', 'f', '1')), WT);
  assert.is(err(h.run('HINCRBYFLOAT', 'str', 'f', '1')), WT);
  assert.is((h.run('HINCRBYFLOAT', 'h', 'e', '1') as Buffer).length, 401);
});

test('HRANDFIELD: counts, WITHVALUES shapes (RESP2 flat, RESP3 pairs), errors', () => {
  const h = fresh();
  h.run('HSET', 'h', 'a', '1', 'b', '2', 'c', '3');
  assert.equal(h.run('HRANDFIELD', 'h', '5'), [b('a'), b('b'), b('c')], 'whole listpack in order');
  assert.equal(h.run('HRANDFIELD', 'h', '3', 'WITHVALUES'), [b('a'), b('1'), b('b'), b('2'), b('c'), b('3')]);
  h.client.resp = 3;
  assert.equal(h.run('HRANDFIELD', 'h', '3', 'withvalues'), [[b('a'), b('1')], [b('b'), b('2')], [b('c'), b('3')]]);
  const neg = h.run('HRANDFIELD', 'h', '-5', 'withvalues') as Buffer[][];
  assert.is(neg.length, 5);
  for (const [f, v] of neg) assert.is(v!.toString(), String(f!.toString().charCodeAt(0) - 96), 'each pair is a real field/value');
  h.client.resp = 2;
  const two = (h.run('HRANDFIELD', 'h', '2') as Buffer[]).map(String);
  assert.is(new Set(two).size, 2);
  assert.equal(h.run('HRANDFIELD', 'h', '0'), []);
  assert.equal(h.run('HRANDFIELD', 'nokey', '2'), []);
  assert.is(h.run('HRANDFIELD', 'nokey'), null);
  assert.ok(['a', 'b', 'c'].includes(String(h.run('HRANDFIELD', 'h'))));
  assert.is(err(h.run('HRANDFIELD', 'h', '1', 'foo')), 'ERR syntax error');
  assert.is(err(h.run('HRANDFIELD', 'nokey', '1', 'foo')), 'ERR syntax error');
  assert.is(err(h.run('HRANDFIELD', 'h', 'x', 'withvalues')), 'ERR value is not an integer or out of range');
  assert.is(err(h.run('HRANDFIELD', 'h', '-9223372036854775808')),
    'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  assert.is(err(h.run('HRANDFIELD', 'h', '4611686018427387904', 'withvalues')), 'ERR value is out of range');
  const big: string[] = [];
  for (let i = 0; i < 600; i++) big.push(`f${i}`, `v${i}`);
  h.run('HSET', 'big', ...big);
  const ten = h.run('HRANDFIELD', 'big', '10', 'WITHVALUES') as Buffer[];
  assert.is(ten.length, 20);
  for (let i = 0; i < 20; i += 2) assert.is(ten[i + 1]!.toString(), 'v' + ten[i]!.toString().slice(1));
  assert.is(new Set((h.run('HRANDFIELD', 'big', '500') as Buffer[]).map(String)).size, 500);
});

test('wrong types, arity, missing keys', () => {
  const h = fresh();
  h.run('SET', 'str', 'v');
  for (const argv of [['HSET', 'str', 'f', 'v'], ['HGET', 'str', 'f'], ['HMGET', 'str', 'f'], ['HLEN', 'str'], ['HGETALL', 'str'],
    ['HDEL', 'str', 'f'], ['HSCAN', 'str', '0'], ['HRANDFIELD', 'str'], ['HRANDFIELD', 'str', '0'], ['HSETNX', 'str', 'f', 'v']]) {
    assert.is(err(h.run(...argv)), WT, argv.join(' '));
  }
  assert.is(err(h.run('HSET', 'h', 'a')), "ERR wrong number of arguments for 'hset' command");
  assert.is(err(h.run('HSET', 'h', 'a', '1', 'b')), "ERR wrong number of arguments for 'hset' command");
  assert.is(err(h.run('HMSET', 'h', 'a', '1', 'b')), "ERR wrong number of arguments for 'hmset' command");
  assert.is(h.run('EXISTS', 'h'), 0);
  assert.equal(h.run('HMGET', 'nokey', 'a', 'b'), [null, null]);
  assert.equal(pairs(h.run('HGETALL', 'nokey')), []);
  assert.equal(h.run('HSCAN', 'nokey', '0', 'junk'), [b('0'), []]);
  assert.is(err(h.run('HSCAN', 'nokey', 'x')), 'ERR invalid cursor');
  h.run('HSET', 'h', 'f', 'v');
  assert.is(err(h.run('HSCAN', 'h', '0', 'COUNT', '0')), 'ERR syntax error');
  assert.is(err(h.run('HSCAN', 'h', '0', 'MATCH')), 'ERR syntax error');
  assert.equal(h.run('HSCAN', 'h', '99', 'COUNT', '1'), [b('0'), [b('f'), b('v')]]);
  assert.is(h.run('HSETNX', 'h', 'f', 'other'), 0);
  const n = h.log.length;
  assert.is(h.run('HDEL', 'h', 'nope'), 0);
  assert.is(h.log.length, n, 'HDEL of nothing is not propagated');
});

test('loadHash chooses the encoding as Redis 7.0\'s loader; entries iterate in order', () => {
  const ks = createKeyspace();
  loadHash(ks, 0, b('a'), [[b('x'), b('1')], [b('y'), b('two')]], NO_EXPIRE);
  loadHash(ks, 0, b('b'), [[b('x'), b('v'.repeat(65))]], NO_EXPIRE);
  loadHash(ks, 0, b('c'), Array.from({ length: 513 }, (_, i) => [b(`f${i}`), b('v')] as [Buffer, Buffer]), NO_EXPIRE);
  loadHash(ks, 0, b('d'), [[b('x'), b('1')], [b('y'), b('2')]], NO_EXPIRE, { maxListpackEntries: 1, maxListpackValue: 64 });
  loadHash(ks, 0, b('e'), [], NO_EXPIRE);
  const a = lookupHash(ks, 0, b('a'))!;
  assert.is(hashEncoding(a), 'listpack');
  assert.equal(hashEntries(a).flat().map(String), ['x', '1', 'y', 'two']);
  assert.is(hashEncoding(lookupHash(ks, 0, b('b'))!), 'hashtable');
  assert.is(hashEncoding(lookupHash(ks, 0, b('c'))!), 'hashtable');
  assert.is(hashEntries(lookupHash(ks, 0, b('c'))!).length, 513);
  assert.is(hashEncoding(lookupHash(ks, 0, b('d'))!), 'hashtable');
  assert.is(ks.exists(0, b('e')), false);
});

test.run();
