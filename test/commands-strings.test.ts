// String commands: replies, error texts and propagation forms, on both keyspaces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MapReply } from '../engine/commands/types.js';
import { KEYSPACES } from './support/keyspaces.js';
import { ModelKeyspace } from './support/model-keyspace.js';
import { makeHarness, replyErrorText as err, type Harness } from './support/command-harness.js';

const NOW = 1_700_000_000_000;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');


function fresh(make: () => import('../engine/keyspace/api.js').Keyspace): Harness {
  const h = makeHarness(make());
  h.clock = NOW;
  return h;
}

for (const [kind, make] of KEYSPACES) {
  const t = (name: string, fn: (h: Harness) => void): void => test(`[${kind}] ${name}`, () => fn(fresh(make)));

  t('GET/SET basics and binary safety', (h) => {
    assert.is(h.run('GET', 'k'), null);
    assert.is(h.run('SET', 'k', 'v'), 'OK');
    assert.equal(h.run('GET', 'k'), b('v'));
    const bin = Buffer.from([0, 255, 13, 10, 0]);
    assert.is(h.run('SET', bin, bin), 'OK');
    assert.equal(h.run('GET', bin), bin);
    assert.is(h.run('SET', 'e', ''), 'OK');
    assert.equal(h.run('GET', 'e'), b(''));
    assert.is(err(h.run('GET')), "ERR wrong number of arguments for 'get' command");
    assert.is(err(h.run('SET', 'k')), "ERR wrong number of arguments for 'set' command");
  });

  t('SET NX / XX / GET', (h) => {
    assert.is(h.run('SET', 'k', '1', 'XX'), null);
    assert.is(h.run('SET', 'k', '1', 'NX'), 'OK');
    assert.is(h.run('SET', 'k', '2', 'NX'), null);
    assert.is(h.run('SET', 'k', '2', 'XX'), 'OK');
    assert.equal(h.run('SET', 'k', '3', 'GET'), b('2'));
    assert.is(h.run('SET', 'n', '3', 'GET'), null);
    assert.equal(h.run('SET', 'k', '4', 'NX', 'GET'), b('3')); // NX fails, GET still replies
    assert.equal(h.run('GET', 'k'), b('3'));
    assert.is(h.run('SET', 'm', '4', 'XX', 'GET'), null);
    assert.is(h.run('EXISTS', 'm'), 0);
    assert.equal(h.run('SET', 'k', '5', 'get', 'GeT'), b('3'));
  });

  t('SET option conflicts are syntax errors', (h) => {
    for (const opts of [
      ['NX', 'XX'], ['XX', 'NX'], ['EX', '10', 'PX', '10'], ['PX', '10', 'EX', '1'], ['EX', '1', 'KEEPTTL'],
      ['KEEPTTL', 'EX', '1'], ['EXAT', '1', 'PXAT', '1'], ['EX'], ['PX'], ['FOO'], ['PERSIST'], ['EX', '1', 'EXAT', '2'],
      ['KEEPTTL', 'PXAT', '5'],
    ]) {
      assert.is(err(h.run('SET', 'k', 'v', ...opts)), 'ERR syntax error', opts.join(' '));
    }
    assert.is(h.run('EXISTS', 'k'), 0);
    assert.is(h.run('SET', 'k', 'v', 'EX', '10', 'EX', '20'), 'OK'); // same option twice: last wins
    assert.is(h.run('PTTL', 'k'), 20000);
    assert.is(h.run('SET', 'k', 'v', 'NX', 'NX', 'KEEPTTL', 'KEEPTTL'), null);
  });

  t('SET expire arguments: errors and absolute propagation', (h) => {
    assert.is(err(h.run('SET', 'k', 'v', 'EX', '0')), "ERR invalid expire time in 'set' command");
    assert.is(err(h.run('SET', 'k', 'v', 'PX', '-5')), "ERR invalid expire time in 'set' command");
    assert.is(err(h.run('SET', 'k', 'v', 'EX', '9223372036854776')), "ERR invalid expire time in 'set' command");
    assert.is(err(h.run('SET', 'k', 'v', 'PX', '9223372036854775807')), "ERR invalid expire time in 'set' command");
    assert.is(err(h.run('SET', 'k', 'v', 'EX', '1.5')), 'ERR value is not an integer or out of range');
    assert.is(err(h.run('SETEX', 'k', '0', 'v')), "ERR invalid expire time in 'setex' command");
    assert.is(err(h.run('PSETEX', 'k', '0', 'v')), "ERR invalid expire time in 'psetex' command");
    assert.is(h.run('EXISTS', 'k'), 0);
    assert.is(h.log.length, 0);

    assert.is(h.run('SET', 'a', 'v', 'EX', '100'), 'OK');
    assert.is(h.run('SET', 'b', 'v', 'px', '1500'), 'OK');
    assert.is(h.run('SET', 'c', 'v', 'EXAT', String(NOW / 1000 + 60)), 'OK');
    assert.is(h.run('SET', 'd', 'v', 'PXAT', String(NOW + 7)), 'OK');
    assert.is(h.run('SETEX', 'e', '5', 'v'), 'OK');
    assert.is(h.run('PSETEX', 'f', '5', 'v'), 'OK');
    assert.is(h.run('SET', 'g', 'v', 'GET', 'EX', '1'), null);
    assert.is(h.run('SET', 'h', 'v', 'NX', 'PX', '1'), 'OK');
    assert.equal(h.log.map((x) => x[1]), [
      `SET a v PXAT ${NOW + 100000}`, `SET b v PXAT ${NOW + 1500}`, `SET c v PXAT ${NOW + 60000}`,
      `SET d v PXAT ${NOW + 7}`, `SET e v PXAT ${NOW + 5000}`, `SET f v PXAT ${NOW + 5}`, `SET g v PXAT ${NOW + 1000}`,
      `SET h v PXAT ${NOW + 1}`,
    ]);
    assert.is(h.run('PEXPIRETIME', 'a'), NOW + 100000);
    assert.is(h.run('TTL', 'e'), 5);
  });

  t('SET propagation: as received, minus GET; nothing when refused', (h) => {
    h.run('set', 'k', 'v');
    h.run('SET', 'k', 'w', 'GET', 'XX', 'get');
    h.run('SET', 'k', 'w', 'NX');
    h.run('SET', 'k', 'z', 'KEEPTTL');
    assert.equal(h.log, [[0, 'set k v'], [0, 'SET k w XX'], [0, 'SET k z KEEPTTL']]);
  });

  t('SET EXAT in the past stores an already expired key', (h) => {
    assert.is(h.run('SET', 'k', 'v', 'EXAT', '1'), 'OK');
    assert.is(h.run('GET', 'k'), null);
    assert.equal(h.log, [[0, 'SET k v PXAT 1000']]);
  });

  t('KEEPTTL keeps, plain SET drops the TTL', (h) => {
    h.run('SET', 'k', 'v', 'EX', '100');
    h.run('SET', 'k', 'w', 'KEEPTTL');
    assert.is(h.run('TTL', 'k'), 100);
    h.run('SET', 'k', 'x');
    assert.is(h.run('TTL', 'k'), -1);
  });

  t('SETNX, GETSET, GETDEL', (h) => {
    assert.is(h.run('SETNX', 'k', 'a'), 1);
    assert.is(h.run('SETNX', 'k', 'b'), 0);
    h.run('EXPIRE', 'k', '100');
    assert.equal(h.run('GETSET', 'k', 'c'), b('a'));
    assert.is(h.run('TTL', 'k'), -1);
    assert.is(h.run('GETSET', 'n', 'x'), null);
    assert.equal(h.run('GETDEL', 'k'), b('c'));
    assert.is(h.run('GETDEL', 'k'), null);
    assert.equal(h.log.map((x) => x[1]), [
      'SETNX k a', `PEXPIREAT k ${NOW + 100000}`, 'SET k c', 'SET n x', 'DEL k',
    ]);
  });

  t('GETEX options, validation order and propagation', (h) => {
    assert.is(h.run('GETEX', 'missing', 'EX', '0'), null); // expire checked only for an existing key
    assert.is(h.run('GETEX', 'missing', 'EX', 'abc'), null);
    assert.is(err(h.run('GETEX', 'missing', 'NX')), 'ERR syntax error');
    assert.is(err(h.run('GETEX', 'missing', 'EX', '1', 'PERSIST')), 'ERR syntax error');
    assert.is(err(h.run('GETEX', 'missing', 'KEEPTTL')), 'ERR syntax error');
    h.run('SET', 'k', 'v');
    h.log.length = 0;
    assert.is(err(h.run('GETEX', 'k', 'EX', '0')), "ERR invalid expire time in 'getex' command");
    assert.is(err(h.run('GETEX', 'k', 'PX', 'x')), 'ERR value is not an integer or out of range');
    assert.equal(h.run('GETEX', 'k'), b('v'));
    assert.equal(h.run('GETEX', 'k', 'EX', '10'), b('v'));
    assert.is(h.run('TTL', 'k'), 10);
    assert.equal(h.run('GETEX', 'k', 'PERSIST'), b('v'));
    assert.equal(h.run('GETEX', 'k', 'PERSIST'), b('v')); // no TTL: not propagated
    assert.equal(h.run('GETEX', 'k', 'PXAT', String(NOW + 5)), b('v'));
    assert.equal(h.run('GETEX', 'k', 'EXAT', '1'), b('v')); // in the past: deleted
    assert.is(h.run('EXISTS', 'k'), 0);
    assert.equal(h.log.map((x) => x[1]), [
      `PEXPIREAT k ${NOW + 10000}`, 'PERSIST k', `PEXPIREAT k ${NOW + 5}`, 'DEL k',
    ]);
  });

  t('MGET / MSET / MSETNX', (h) => {
    assert.is(h.run('MSET', 'a', '1', 'b', '2'), 'OK');
    assert.equal(h.run('MGET', 'a', 'x', 'b', 'a'), [b('1'), null, b('2'), b('1')]);
    assert.is(err(h.run('MSET', 'a', '1', 'b')), "ERR wrong number of arguments for 'mset' command");
    assert.is(err(h.run('MSETNX', 'a', '1', 'b')), "ERR wrong number of arguments for 'msetnx' command");
    assert.is(h.run('MSETNX', 'c', '3', 'a', '9'), 0);
    assert.is(h.run('EXISTS', 'c'), 0);
    assert.is(h.run('MSETNX', 'c', '3', 'd', '4'), 1);
    h.run('EXPIRE', 'a', '100');
    h.run('MSET', 'a', '5', 'a', '6');
    assert.equal(h.run('GET', 'a'), b('6'));
    assert.is(h.run('TTL', 'a'), -1);
    const last = h.exec('MSET', 'x', '1', 'y', '2');
    assert.is(last.dirty, 2);
  });

  t('INCR family: values, errors, overflow, TTL kept', (h) => {
    assert.is(h.run('INCR', 'n'), 1);
    assert.is(h.run('INCRBY', 'n', '41'), 42);
    assert.is(h.run('DECR', 'n'), 41);
    assert.is(h.run('DECRBY', 'n', '-9'), 50);
    assert.is(err(h.run('INCRBY', 'n', '1.0')), 'ERR value is not an integer or out of range');
    assert.is(err(h.run('INCRBY', 'n', ' 1')), 'ERR value is not an integer or out of range');
    h.run('SET', 's', 'abc');
    assert.is(err(h.run('INCR', 's')), 'ERR value is not an integer or out of range');
    h.run('SET', 's', '007');
    assert.is(err(h.run('INCR', 's')), 'ERR value is not an integer or out of range');
    h.run('SET', 'big', '9223372036854775806');
    assert.is(h.run('INCR', 'big'), 9223372036854775807n);
    assert.is(err(h.run('INCR', 'big')), 'ERR increment or decrement would overflow');
    assert.equal(h.run('GET', 'big'), b('9223372036854775807'));
    h.run('SET', 'small', '-9223372036854775807');
    assert.is(h.run('DECR', 'small'), -9223372036854775808n);
    assert.is(err(h.run('DECR', 'small')), 'ERR increment or decrement would overflow');
    assert.is(err(h.run('DECRBY', 'n', '-9223372036854775808')), 'ERR decrement would overflow');
    assert.is(h.run('INCRBY', 'z', '-9223372036854775808'), -9223372036854775808n);
    h.run('SET', 'safe', '9007199254740991');
    assert.is(h.run('INCR', 'safe'), 9007199254740992n);
    assert.is(h.run('DECR', 'safe'), 9007199254740991);
    h.run('SET', 't', '10', 'EX', '100');
    h.run('INCR', 't');
    assert.is(h.run('TTL', 't'), 100);
  });

  t('INCRBYFLOAT: long double results, errors, SET … KEEPTTL propagation', (h) => {
    h.run('SET', 'f', '10.5', 'EX', '100');
    h.log.length = 0;
    assert.equal(h.run('INCRBYFLOAT', 'f', '0.1'), b('10.6'));
    assert.is(h.run('TTL', 'f'), 100);
    assert.equal(h.run('INCRBYFLOAT', 'new', '3.0e0'), b('3'));
    assert.is(err(h.run('INCRBYFLOAT', 'f', 'abc')), 'ERR value is not a valid float');
    assert.is(err(h.run('INCRBYFLOAT', 'f', 'inf')), 'ERR increment would produce NaN or Infinity');
    h.run('SET', 's', 'x');
    h.log.length = 0;
    assert.is(err(h.run('INCRBYFLOAT', 's', '1')), 'ERR value is not a valid float');
    assert.equal(h.run('INCRBYFLOAT', 'f', '-0.6'), b('10'));
    assert.equal(h.log, [[0, 'SET f 10 KEEPTTL']]);
  });

  t('APPEND / STRLEN', (h) => {
    assert.is(h.run('APPEND', 'k', 'ab'), 2);
    assert.is(h.run('APPEND', 'k', 'cd'), 4);
    assert.is(h.run('APPEND', 'k', ''), 4);
    assert.equal(h.run('GET', 'k'), b('abcd'));
    assert.is(h.run('STRLEN', 'k'), 4);
    assert.is(h.run('STRLEN', 'nope'), 0);
    h.run('EXPIRE', 'k', '50');
    h.run('APPEND', 'k', 'e');
    assert.is(h.run('TTL', 'k'), 50);
    assert.is(h.exec('APPEND', 'k', '').dirty, 1); // Redis counts it (and propagates it)
  });

  t('GETRANGE / SUBSTR', (h) => {
    h.run('SET', 'k', 'Hello World');
    const g = (s: string, e: string) => (h.run('GETRANGE', 'k', s, e) as Buffer).toString();
    assert.is(g('0', '4'), 'Hello');
    assert.is(g('-5', '-1'), 'World');
    assert.is(g('-1', '-5'), '');
    assert.is(g('5', '3'), '');
    assert.is(g('0', '-1'), 'Hello World');
    assert.is(g('0', '100'), 'Hello World');
    assert.is(g('-100', '2'), 'Hel');
    assert.is(g('100', '200'), '');
    assert.is(g('-9223372036854775807', '-9223372036854775808'), '');
    assert.is(g('-9223372036854775808', '-9223372036854775807'), 'H');
    assert.is(g('9223372036854775807', '9223372036854775807'), '');
    assert.is(g('0', '9223372036854775807'), 'Hello World');
    assert.equal(h.run('GETRANGE', 'missing', '0', '-1'), b(''));
    assert.equal(h.run('SUBSTR', 'k', '0', '1'), b('He'));
    assert.is(err(h.run('GETRANGE', 'k', 'a', '1')), 'ERR value is not an integer or out of range');
    h.run('SET', 'e', '');
    assert.equal(h.run('GETRANGE', 'e', '0', '-1'), b(''));
  });

  t('SETRANGE', (h) => {
    assert.is(h.run('SETRANGE', 'k', '0', ''), 0);
    assert.is(h.run('EXISTS', 'k'), 0);
    assert.is(h.run('SETRANGE', 'k', '3', 'ab'), 5);
    assert.equal(h.run('GET', 'k'), Buffer.from([0, 0, 0, 0x61, 0x62]));
    assert.is(h.run('SETRANGE', 'k', '1', 'Z'), 5);
    assert.is(h.run('SETRANGE', 'k', '10', ''), 5);
    assert.is(err(h.run('SETRANGE', 'k', '-1', 'x')), 'ERR offset is out of range');
    assert.is(err(h.run('SETRANGE', 'k', 'x', 'x')), 'ERR value is not an integer or out of range');
    assert.is(err(h.run('SETRANGE', 'k', '536870912', 'x')), 'ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    assert.is(err(h.run('SETRANGE', 'n', '536870911', 'xx')), 'ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    assert.is(err(h.run('SETRANGE', 'n', '9223372036854775807', 'x')), 'ERR string exceeds maximum allowed size (proto-max-bulk-len)');
    assert.is(h.run('EXISTS', 'n'), 0);
    h.run('EXPIRE', 'k', '9');
    h.run('SETRANGE', 'k', '0', 'q');
    assert.is(h.run('TTL', 'k'), 9);
  });

  t('LCS', (h) => {
    h.run('MSET', 'key1', 'ohmytext', 'key2', 'mynewtext');
    assert.equal(h.run('LCS', 'key1', 'key2'), b('mytext'));
    assert.is(h.run('LCS', 'key1', 'key2', 'LEN'), 6);
    const idx = h.run('LCS', 'key1', 'key2', 'IDX') as MapReply;
    assert.instance(idx, MapReply);
    assert.equal(idx.entries, [[b('matches'), [[[4, 7], [5, 8]], [[2, 3], [0, 1]]]], [b('len'), 6]]);
    const idx2 = h.run('LCS', 'key1', 'key2', 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN') as MapReply;
    assert.equal(idx2.entries, [[b('matches'), [[[4, 7], [5, 8], 4]]], [b('len'), 6]]);
    assert.is(err(h.run('LCS', 'key1', 'key2', 'LEN', 'IDX')), 'ERR If you want both the length and indexes, please just use IDX.');
    assert.is(err(h.run('LCS', 'key1', 'key2', 'FOO')), 'ERR syntax error');
    assert.equal(h.run('LCS', 'key1', 'nokey'), b(''));
  });

  if (kind === 'model') {
    t('WRONGTYPE paths (model keyspace can hold other types)', (h) => {
      const ks = h.engine.keyspace as ModelKeyspace;
      ks.debugSetValue(0, b('l'), 'list');
      const wt = 'WRONGTYPE Operation against a key holding the wrong kind of value';
      for (const argv of [['GET', 'l'], ['SET', 'l', 'v', 'GET'], ['INCR', 'l'], ['INCRBYFLOAT', 'l', 'x'], ['APPEND', 'l', 'x'],
        ['STRLEN', 'l'], ['GETRANGE', 'l', '0', '1'], ['SETRANGE', 'l', '0', 'x'], ['GETSET', 'l', 'x'], ['GETDEL', 'l'], ['GETEX', 'l']]) {
        assert.is(err(h.run(...argv)), wt, argv.join(' '));
      }
      assert.is(err(h.run('LCS', 'l', 'x')), 'ERR The specified keys must contain string values');
      assert.equal(h.run('MGET', 'l', 'nokey'), [null, null]);
      assert.is(h.run('TYPE', 'l'), 'list');
      assert.is(h.run('SET', 'l', 'v'), 'OK'); // plain SET replaces any type
      assert.is(h.run('TYPE', 'l'), 'string');
    });
  }
}

test.run();
