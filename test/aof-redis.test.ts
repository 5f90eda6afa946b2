/**
 * AOF compatibility with real Redis 7.0.15, both ways:
 *  - the incr file we write for a command sequence equals the one redis-server writes (SELECT
 *    placement, MULTI/EXEC around a write that lazily expired a key, rewrites such as PXAT and
 *    KEEPTTL, binary and large values, the client's command-name case);
 *  - redis-check-aof accepts our directory, and a real redis-server started on it has the same
 *    keyspace (RDB-preamble base and RESP base);
 *  - a directory written by redis-server (including after its own BGREWRITEAOF) loads in forkless.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Forkless } from '../engine/index.js';
import { RespClient } from './support/resp-client.js';
import { startRedis } from './support/real-redis.js';
import {
  assertSameCommands, assertSameDump, checkAof, dumpEmbedded, dumpServer, dumpWithRealRedis, incrCommands,
  manifestOf, redisToolsOr, sleep, tempDir,
} from './aof-helpers.js';

type Step = Array<string | Buffer> | { sleep: number };

const BIN = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x24, 0x2a, 0xff, 0xfe, 0x0d]);

/** Commands whose AOF form we compare with Redis's. Lower/upper case kept as a client sends it. */
const SEQUENCE: Step[] = [
  ['set', 'k1', 'v1'],
  ['expire', 'k1', '1000'],
  ['SET', 'k2', 'v2', 'EX', '100'],
  ['setex', 'k3', '100', 'v3'],
  ['psetex', 'k4', '100000', 'v4'],
  ['set', 'k5', 'v5', 'PXAT', String(Date.now() + 500000)],
  ['incrbyfloat', 'f', '1.5'],
  ['incrbyfloat', 'f', '0.1'],
  ['select', '2'],
  ['set', 'dbkey', 'x'],
  ['select', '0'],
  ['set', 'short', 'v', 'PX', '1'],
  ['set', 'short2', 'v', 'PX', '1'],
  ['set', 'short3', 'v', 'PX', '1'],
  { sleep: 30 },
  ['set', 'short', 'new'],          // lazy expiry inside a write: MULTI DEL SET EXEC
  ['get', 'short2'],                // lazy expiry by a read: a lone DEL
  ['incr', 'short3'],               // DEL + INCR wrapped
  ['persist', 'k1'],
  ['incr', 'cnt'],
  ['getset', 'k2', 'z'],
  ['expire', 'k2', '-1'],
  ['mset', 'a', '1', 'b', '2'],
  ['append', 'a', 'x'],
  ['del', 'b', 'nokey'],
  ['getex', 'a', 'EX', '100'],
  ['getex', 'a', 'PERSIST'],
  ['setnx', 'n', '1'],
  ['setnx', 'n', '2'],
  ['select', '7'],
  ['set', 'bin', BIN],
  ['set', BIN, 'binkey'],
  ['set', 'big', Buffer.alloc(300_000, 0x61)],
  ['select', '0'],
  ['rename', 'n', 'n2'],
  ['flushdb'],
  ['set', 'after', 'flush'],
];

function runEmbedded(db: Forkless, steps: Step[]): Promise<void> {
  return (async () => {
    for (const s of steps) {
      if (!Array.isArray(s)) { await sleep(s.sleep); continue; }
      try { db.call(String(s[0]), ...s.slice(1)); } catch { /* error replies are not propagated */ }
    }
  })();
}

async function runReal(c: RespClient, steps: Step[]): Promise<void> {
  for (const s of steps) {
    if (!Array.isArray(s)) { await sleep(s.sleep); continue; }
    await c.call(...s);
  }
}

if (redisToolsOr('aof-redis')) {
  test('our incr file equals redis-server\'s for the same commands', async () => {
    const dir = tempDir('fmt');
    const srv = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--enable-debug-command', 'yes'] });
    let db: Forkless | null = null;
    try {
      const c = await RespClient.connect(srv.port);
      db = await open({ dir, appendonly: 'yes', appendfsync: 'always', save: '' });
      // Only lazy expiry may remove the short-lived keys, on both sides (active expiry would
      // propagate a lone DEL instead of the MULTI/EXEC this test wants to see).
      await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      db.engine.keyspace.activeExpireCycle = () => 0;
      // Interleave so both see the same clock for the expiring keys.
      await Promise.all([runReal(c, SEQUENCE), runEmbedded(db, SEQUENCE)]);
      await db.durable();
      await c.close();
      const theirs = incrCommands(join(srv.dir, 'appendonlydir'));
      await db.close();
      db = null;
      const ours = incrCommands(join(dir, 'appendonlydir'));
      assert.ok(theirs.length > 30, `redis wrote ${theirs.length} commands`);
      assert.ok(theirs.some((x) => x[0] === 'MULTI'), 'the sequence exercises MULTI/EXEC');
      assertSameCommands(ours, theirs, 'incr file');
    } finally {
      if (db !== null) await db.close();
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const preamble of ['yes', 'no']) {
    test(`redis-check-aof accepts our directory and redis-server loads the same keyspace (aof-use-rdb-preamble ${preamble})`, async () => {
      const dir = tempDir('compat');
      try {
        const conf = { dir, appendonly: 'yes', appendfsync: 'everysec', save: '', 'aof-use-rdb-preamble': preamble };
        let db = await open(conf);
        await runEmbedded(db, SEQUENCE);
        const far = Date.now() + 3_600_000;
        for (let i = 0; i < 2000; i++) {
          db.call('SELECT', i % 5);
          if (i % 3 === 0) db.call('SET', `key:${i}`, `value:${i}`, 'PXAT', far + i);
          else db.call('SET', `key:${i}`, Buffer.alloc(i % 700, 97 + (i % 26)));
        }
        db.call('SELECT', 0);
        // A rewrite moves most of it into a base of the configured format.
        assert.is(db.call('BGREWRITEAOF'), 'Background append only file rewriting started');
        while (db.engine.aof.rewriteInProgress) await sleep(5);
        for (let i = 0; i < 500; i++) db.call('SET', `late:${i}`, `v${i}`);
        db.call('DEL', 'key:3');
        await db.durable();
        await db.close();
        const m = manifestOf(join(dir, 'appendonlydir'));
        assert.is(m[0]!.type, 'b');
        assert.ok(m[0]!.name.endsWith(preamble === 'yes' ? '.base.rdb' : '.base.aof'), m[0]!.name);
        const chk = checkAof(join(dir, 'appendonlydir', 'appendonly.aof.manifest'));
        assert.is(chk.status, 0, chk.out);
        assert.match(chk.out, /All AOF files and manifest are valid/);
        db = await open(conf);
        const ours = dumpEmbedded(db);
        await db.close();
        assert.ok(ours.size > 2000);
        const real = await dumpWithRealRedis(dir);
        assertSameDump(real.dump, ours, 'redis-server on our directory');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`a directory written by redis-server loads in forkless (aof-use-rdb-preamble ${preamble})`, async () => {
      const srv = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--aof-use-rdb-preamble', preamble] });
      const dir = tempDir('theirs');
      let expected = new Map<string, [string, number]>();
      try {
        const c = await RespClient.connect(srv.port);
        await runReal(c, SEQUENCE);
        const far = Date.now() + 3_600_000;
        for (let i = 0; i < 1500; i++) {
          await c.call('SELECT', i % 4);
          await c.call('SET', `key:${i}`, `value:${i}`, ...(i % 4 === 0 ? ['PXAT', String(far + i)] : []));
        }
        await c.call('SELECT', 0);
        await c.call('BGREWRITEAOF');
        for (;;) {
          const info = String(await c.call('INFO', 'persistence'));
          if (info.includes('aof_rewrite_in_progress:0') && info.includes('aof_rewrite_scheduled:0')) break;
          await sleep(20);
        }
        for (let i = 0; i < 300; i++) await c.call('SET', `late:${i}`, `v${i}`);
        await c.call('EXPIRE', 'late:1', '5000');
        expected = await dumpServer(c);
        await c.close();
        // appendfsync always: every acknowledged write is in the files already.
        cpSync(srv.dir, dir, { recursive: true });
      } finally {
        await srv.stop();
      }
      try {
        const db = await open({ dir, appendonly: 'yes', save: '' });
        const ours = dumpEmbedded(db);
        await db.close();
        assert.ok(ours.size > 1500);
        assertSameDump(ours, expected, 'forkless on redis-server\'s directory');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

test.run();
