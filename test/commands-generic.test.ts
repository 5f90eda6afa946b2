// Keyspace / database / connection commands, on both keyspaces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Reply } from '../engine/commands/types.js';
import type { Keyspace } from '../engine/keyspace/api.js';
import { KEYSPACES } from './support/keyspaces.js';
import { makeHarness, replyErrorText as err, type Harness } from './support/command-harness.js';

const NOW = 1_700_000_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const strs = (r: Reply): string[] => (r as Buffer[]).map((x) => x.toString('latin1')).sort();


for (const [kind, make] of KEYSPACES) {
  const t = (name: string, fn: (h: Harness) => void): void => test(`[${kind}] ${name}`, () => {
    const h = makeHarness(make() as Keyspace);
    h.clock = NOW;
    fn(h);
  });

  t('DEL / UNLINK / EXISTS / TOUCH / TYPE', (h) => {
    h.run('MSET', 'a', '1', 'b', '2', 'c', '3');
    assert.is(h.run('EXISTS', 'a', 'a', 'x'), 2);
    assert.is(h.run('TOUCH', 'a', 'x', 'b'), 2);
    assert.is(h.run('TYPE', 'a'), 'string');
    assert.is(h.run('TYPE', 'x'), 'none');
    const r = h.exec('DEL', 'a', 'x', 'a', 'b');
    assert.is(r.reply, 2);
    assert.is(r.dirty, 2);
    assert.is(h.run('UNLINK', 'c', 'c'), 1);
    assert.is(h.exec('DEL', 'zz').propagated.length, 0);
    assert.equal(h.log.map((x) => x[1]), ['MSET a 1 b 2 c 3', 'DEL a x a b', 'UNLINK c c']);
  });

  t('RENAME / RENAMENX', (h) => {
    assert.is(err(h.run('RENAME', 'x', 'y')), 'ERR no such key');
    assert.is(err(h.run('RENAME', 'x', 'x')), 'ERR no such key');
    assert.is(err(h.run('RENAMENX', 'x', 'y')), 'ERR no such key');
    h.run('SET', 'a', '1', 'EX', '100');
    assert.is(h.run('RENAME', 'a', 'a'), 'OK');
    assert.is(h.run('RENAMENX', 'a', 'a'), 0);
    assert.is(h.run('RENAME', 'a', 'b'), 'OK');
    assert.is(h.run('TTL', 'b'), 100);
    assert.is(h.run('EXISTS', 'a'), 0);
    h.run('SET', 'c', '3');
    assert.is(h.run('RENAMENX', 'b', 'c'), 0);
    assert.is(h.run('RENAMENX', 'b', 'd'), 1);
    assert.is(h.run('RENAME', 'd', 'c'), 'OK');
    assert.equal(h.run('GET', 'c'), b('1'));
    assert.is(h.run('TTL', 'c'), 100);
  });

  t('MOVE / COPY / SELECT / SWAPDB', (h) => {
    h.run('SET', 'k', 'v', 'EX', '100');
    assert.is(err(h.run('MOVE', 'k', '0')), 'ERR source and destination objects are the same');
    assert.is(err(h.run('MOVE', 'k', '16')), 'ERR DB index is out of range');
    assert.is(err(h.run('MOVE', 'k', 'x')), 'ERR value is not an integer or out of range');
    assert.is(h.run('MOVE', 'nokey', '1'), 0);
    assert.is(h.run('MOVE', 'k', '1'), 1);
    assert.is(h.run('EXISTS', 'k'), 0);
    assert.is(h.run('SELECT', '1'), 'OK');
    assert.is(h.client.db, 1);
    assert.is(h.run('TTL', 'k'), 100);
    h.run('SELECT', '0');
    h.run('SET', 'k', 'other');
    assert.is(h.run('MOVE', 'k', '1'), 0); // target has it
    assert.is(err(h.run('SELECT', '16')), 'ERR DB index is out of range');
    assert.is(err(h.run('SELECT', '-1')), 'ERR DB index is out of range');
    assert.is(err(h.run('SELECT', '99999999999')), 'ERR value is out of range, value must between -2147483648 and 2147483647');
    assert.is(err(h.run('SELECT', '1.0')), 'ERR value is not an integer or out of range');

    assert.is(err(h.run('COPY', 'k', 'k')), 'ERR source and destination objects are the same');
    assert.is(h.run('COPY', 'k', 'k', 'DB', '1'), 0);
    assert.is(h.run('COPY', 'k', 'k', 'DB', '1', 'REPLACE'), 1);
    assert.is(h.run('COPY', 'k', 'k2'), 1);
    assert.is(h.run('COPY', 'nokey', 'k3'), 0);
    assert.is(err(h.run('COPY', 'k', 'k2', 'DB')), 'ERR syntax error');
    assert.is(err(h.run('COPY', 'k', 'k2', 'FOO')), 'ERR syntax error');
    assert.is(err(h.run('COPY', 'k', 'k2', 'DB', '99')), 'ERR DB index is out of range');
    assert.is(err(h.run('COPY', 'k', 'k2', 'DB', 'x')), 'ERR value is not an integer or out of range');

    assert.is(err(h.run('SWAPDB', 'x', '1')), 'ERR invalid first DB index');
    assert.is(err(h.run('SWAPDB', '0', '99999999999')), 'ERR invalid second DB index');
    assert.is(err(h.run('SWAPDB', '0', '16')), 'ERR DB index is out of range');
    assert.is(h.run('SWAPDB', '0', '1'), 'OK');
    assert.equal(h.run('GET', 'k'), b('other')); // db 1 got 'other' from COPY … REPLACE
    assert.is(h.run('SWAPDB', '2', '2'), 'OK');
  });

  t('EXPIRE family: options, errors, propagation as PEXPIREAT or DEL', (h) => {
    h.run('SET', 'k', 'v');
    h.log.length = 0;
    assert.is(err(h.run('EXPIRE', 'k', '10', 'foo')), 'ERR Unsupported option foo');
    assert.is(err(h.run('EXPIRE', 'k', '10', 'a\r\nb\n')), 'ERR Unsupported option a  b');
    assert.is(err(h.run('EXPIRE', 'k', '10', 'nx', 'xx')), 'ERR NX and XX, GT or LT options at the same time are not compatible');
    assert.is(err(h.run('EXPIRE', 'k', '10', 'gt', 'lt')), 'ERR GT and LT options at the same time are not compatible');
    assert.is(err(h.run('EXPIRE', 'k', 'abc', 'nx')), 'ERR value is not an integer or out of range');
    assert.is(err(h.run('EXPIRE', 'k', 'abc', 'bad')), 'ERR Unsupported option bad');
    assert.is(err(h.run('EXPIRE', 'k', '9223372036854776')), "ERR invalid expire time in 'expire' command");
    assert.is(err(h.run('PEXPIRE', 'k', '9223372036854775807')), "ERR invalid expire time in 'pexpire' command");
    assert.is(err(h.run('EXPIREAT', 'k', '-9223372036854776')), "ERR invalid expire time in 'expireat' command");
    assert.is(h.run('EXPIRE', 'nokey', '10'), 0);
    assert.is(h.log.length, 0);

    assert.is(h.run('EXPIRE', 'k', '100', 'XX'), 0);
    assert.is(h.run('EXPIRE', 'k', '100', 'GT'), 0);
    assert.is(h.run('EXPIRE', 'k', '100', 'LT'), 1);
    assert.is(h.run('EXPIRE', 'k', '50', 'NX'), 0);
    assert.is(h.run('EXPIRE', 'k', '200', 'gt'), 1);
    assert.is(h.run('PEXPIRE', 'k', '5000', 'GT'), 0);
    assert.is(h.run('PEXPIRE', 'k', '5000', 'LT', 'xx'), 1);
    assert.is(h.run('EXPIREAT', 'k', String(NOW / 1000 + 30)), 1);
    assert.is(h.run('pexpireat', 'k', String(NOW + 40000), 'gt'), 1);
    assert.is(h.run('PTTL', 'k'), 40000);
    assert.is(h.run('TTL', 'k'), 40);
    assert.is(h.run('EXPIRETIME', 'k'), NOW / 1000 + 40);
    assert.is(h.run('PEXPIRETIME', 'k'), NOW + 40000);
    assert.equal(h.log.map((x) => x[1]), [
      `PEXPIREAT k ${NOW + 100000} LT`, `PEXPIREAT k ${NOW + 200000} gt`, `PEXPIREAT k ${NOW + 5000} LT xx`,
      `PEXPIREAT k ${NOW + 30000}`, `pexpireat k ${NOW + 40000} gt`,
    ]);
    h.log.length = 0;
    assert.is(h.run('EXPIRE', 'k', '-1'), 1);
    assert.is(h.run('EXISTS', 'k'), 0);
    h.run('SET', 'k2', 'v');
    assert.is(h.run('PEXPIREAT', 'k2', String(NOW)), 1); // == now counts as past
    assert.equal(h.log.map((x) => x[1]), ['DEL k', 'SET k2 v', 'DEL k2']);
  });

  t('TTL / PTTL rounding, PERSIST', (h) => {
    assert.is(h.run('TTL', 'x'), -2);
    assert.is(h.run('PTTL', 'x'), -2);
    assert.is(h.run('EXPIRETIME', 'x'), -2);
    h.run('SET', 'k', 'v');
    assert.is(h.run('TTL', 'k'), -1);
    assert.is(h.run('PEXPIRETIME', 'k'), -1);
    assert.is(h.run('PERSIST', 'k'), 0);
    h.run('PEXPIRE', 'k', '1499');
    assert.is(h.run('TTL', 'k'), 1);
    h.run('PEXPIRE', 'k', '1500');
    assert.is(h.run('TTL', 'k'), 2);
    h.run('PEXPIRE', 'k', '499');
    assert.is(h.run('TTL', 'k'), 0);
    assert.is(h.run('PERSIST', 'k'), 1);
    assert.is(h.run('TTL', 'k'), -1);
    assert.is(h.run('PERSIST', 'nokey'), 0);
  });

  t('lazy expiry follows the clock', (h) => {
    h.run('SET', 'k', 'v', 'PX', '100');
    h.clock = NOW + 99;
    assert.equal(h.run('GET', 'k'), b('v'));
    h.clock = NOW + 100;
    assert.is(h.run('GET', 'k'), null);
    assert.is(h.run('TTL', 'k'), -2);
  });

  t('KEYS / SCAN / RANDOMKEY / DBSIZE', (h) => {
    const names = ['user:1', 'user:2', 'user:10', 'item:1', 'h?llo', 'hallo', 'hello', 'x'];
    for (const n of names) h.run('SET', n, 'v');
    assert.equal(strs(h.run('KEYS', '*')), [...names].sort());
    assert.equal(strs(h.run('KEYS', 'user:?')), ['user:1', 'user:2']);
    assert.equal(strs(h.run('KEYS', 'h[ae]llo')), ['hallo', 'hello']);
    assert.equal(strs(h.run('KEYS', 'h\\?llo')), ['h?llo']);
    assert.is(h.run('DBSIZE'), names.length);
    const seen = new Set<string>();
    let cursor = '0';
    let calls = 0;
    do {
      const r = h.run('SCAN', cursor, 'COUNT', '3') as [Buffer, Buffer[]];
      cursor = r[0].toString();
      for (const k of r[1]) seen.add(k.toString());
      calls++;
    } while (cursor !== '0' && calls < 1000);
    assert.equal([...seen].sort(), [...names].sort());
    const all = h.run('SCAN', '0', 'COUNT', '1000', 'MATCH', 'user:*') as [Buffer, Buffer[]];
    assert.is(all[0].toString(), '0');
    assert.equal(strs(all[1]), ['user:1', 'user:10', 'user:2']);
    const typed = h.run('SCAN', '0', 'COUNT', '1000', 'TYPE', 'STRING') as [Buffer, Buffer[]];
    assert.is(typed[1].length, names.length);
    const none = h.run('SCAN', '0', 'COUNT', '1000', 'TYPE', 'list') as [Buffer, Buffer[]];
    assert.is(none[1].length, 0);
    assert.is(err(h.run('SCAN', 'x')), 'ERR invalid cursor');
    assert.is(err(h.run('SCAN', '0', 'COUNT', '0')), 'ERR syntax error');
    assert.is(err(h.run('SCAN', '0', 'COUNT', 'x')), 'ERR value is not an integer or out of range');
    assert.is(err(h.run('SCAN', '0', 'MATCH')), 'ERR syntax error');
    assert.is(err(h.run('SCAN', '0', 'FOO', 'bar')), 'ERR syntax error');
    const rk = h.run('RANDOMKEY') as Buffer;
    assert.ok(names.includes(rk.toString()));
    h.run('SELECT', '3');
    assert.is(h.run('RANDOMKEY'), null);
    assert.equal(h.run('KEYS', '*'), []);
    assert.equal(h.run('SCAN', '0'), [b('0'), []]);
  });

  t('FLUSHDB / FLUSHALL: options, dirty, forced propagation, save hook', (h) => {
    h.run('SET', 'a', '1');
    h.run('SELECT', '1');
    h.run('SET', 'b', '1');
    h.log.length = 0;
    assert.is(err(h.run('FLUSHDB', 'now')), 'ERR syntax error');
    assert.is(err(h.run('FLUSHALL', 'ASYNC', 'SYNC')), 'ERR syntax error');
    let r = h.exec('FLUSHDB', 'sync');
    assert.equal([r.reply, r.dirty], ['OK', 1]);
    assert.is(h.run('DBSIZE'), 0);
    r = h.exec('FLUSHDB');
    assert.is(r.propagated.length, 1); // even when already empty
    h.run('SELECT', '0');
    assert.is(h.run('DBSIZE'), 1);
    r = h.exec('FLUSHALL', 'ASYNC');
    assert.equal([r.reply, r.dirty], ['OK', 1]);
    assert.is(h.engine.flushAllCalls, 1);
    assert.is(h.run('DBSIZE'), 0);
    assert.equal(h.log, [[1, 'FLUSHDB sync'], [1, 'FLUSHDB'], [0, 'FLUSHALL ASYNC']]);
  });

  t('PING / ECHO / TIME', (h) => {
    assert.is(h.run('PING'), 'PONG');
    assert.equal(h.run('PING', 'hi'), b('hi'));
    assert.is(err(h.run('PING', 'a', 'b')), "ERR wrong number of arguments for 'ping' command");
    assert.equal(h.run('ECHO', ''), b(''));
    const [sec, usec] = h.run('TIME') as Buffer[];
    assert.ok(Math.abs(Number(sec) - Date.now() / 1000) < 5);
    assert.ok(Number(usec) >= 0 && Number(usec) < 1e6);
  });
}

test.run();
