/**
 * End-to-end RDB tests against real Redis tools: BGSAVE in the snapshot worker while the main
 * thread overwrites, deletes, inserts and swaps databases; the file must equal the keyspace at the
 * instant BGSAVE began, pass redis-check-rdb and load into a real redis-server 7.0 key for key.
 * Also: a dump written by real Redis loads into forkless; corrupt files are refused whole.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { open, type Forkless } from '../engine/index.js';
import { CorruptFileError } from '../engine/errors.js';
import { readRdb } from '../engine/persist/rdb-reader.js';
import { startRedis, haveRedis } from './support/real-redis.js';
import { RespClient } from './support/resp-client.js';

type State = Map<string, { value: Buffer; exp: number }>; // key "db\u0000key"

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000; };
}

function needRedis(): boolean {
  if (haveRedis()) return true;
  if (process.env.FORKLESS_REQUIRE_REDIS) throw new Error('redis-server / redis-check-rdb are required (FORKLESS_REQUIRE_REDIS is set) but not installed');
  console.warn('\n!!! SKIPPING real-Redis checks: redis-server is not installed (apt-get install redis-server redis-tools) !!!\n');
  return false;
}

/** Everything in the embedded db, read through commands (as a client would). */
function stateOf(db: Forkless, dbs: number): State {
  const out: State = new Map();
  for (let i = 0; i < dbs; i++) {
    db.call('SELECT', i);
    const keys = db.call('KEYS', '*') as Buffer[];
    for (const k of keys) {
      const v = db.call('GET', k) as Buffer;
      const exp = db.call('PEXPIRETIME', k) as number;
      out.set(`${i}\u0000${k.toString('latin1')}`, { value: v, exp });
    }
  }
  db.call('SELECT', 0);
  return out;
}

function stateOfFile(file: string): State {
  const out: State = new Map();
  readRdb(readFileSync(file), file, {
    aux: () => {}, selectDb: () => {}, resizeDb: () => {},
    key: (dbi, key, value, exp) => {
      assert.is(value.type, 'string');
      if (value.type !== 'string') return;
      const k = `${dbi}\u0000${Buffer.from(key).toString('latin1')}`;
      assert.not.ok(out.has(k), `duplicate key in file: ${k}`);
      out.set(k, { value: Buffer.from(value.value), exp });
    },
  }, { verifyChecksum: true });
  return out;
}

function assertSameState(expected: State, actual: State, what: string): void {
  assert.is(actual.size, expected.size, `${what}: key count`);
  for (const [k, e] of expected) {
    const a = actual.get(k);
    assert.ok(a, `${what}: missing ${JSON.stringify(k)}`);
    assert.ok(a!.value.equals(e.value), `${what}: value of ${JSON.stringify(k)} (${a!.value.length} vs ${e.value.length} bytes)`);
    assert.is(a!.exp, e.exp, `${what}: expire of ${JSON.stringify(k)}`);
  }
}

function checkRdb(file: string): void {
  const r = spawnSync('redis-check-rdb', [file], { encoding: 'utf8' });
  assert.is(r.status, 0, `redis-check-rdb failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /RDB looks OK/);
}

/** Loads `file` into a real redis-server and reads back every key of every db. */
async function stateInRealRedis(file: string, dbs: number): Promise<State> {
  const dir = mkdtempSync(join(tmpdir(), 'fl-real-'));
  copyFileSync(file, join(dir, 'dump.rdb'));
  const srv = await startRedis({ dir, args: ['--dbfilename', 'dump.rdb', '--save', ''] });
  const c = await RespClient.connect(srv.port);
  const out: State = new Map();
  try {
    for (let i = 0; i < dbs; i++) {
      await c.call('SELECT', i);
      const keys = (await c.call('KEYS', '*')) as Buffer[];
      for (const k of keys) {
        const [v, exp] = await c.pipeline([['GET', k], ['PEXPIRETIME', k]]);
        out.set(`${i}\u0000${k.toString('latin1')}`, { value: v as Buffer, exp: exp as number });
      }
    }
  } finally {
    await c.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function fill(db: Forkless, r: () => number, n: number, pageSize: number, dbs: number): void {
  const farFuture = Date.now() + 86_400_000;
  for (let i = 0; i < n; i++) {
    db.call('SELECT', Math.floor(r() * dbs));
    const roll = r();
    const len = roll < 0.8 ? 4 + Math.floor(r() * 150) : roll < 0.98 ? 200 + Math.floor(r() * 3000) : pageSize + Math.floor(r() * pageSize);
    const v = Buffer.alloc(len, 97 + (i % 26));
    v.writeUInt32LE(i >>> 0, 0);
    if (r() < 0.3) db.call('SET', `key:${i}`, v, 'PXAT', farFuture + i);
    else if (r() < 0.05) db.call('SET', `key:${i}`, String(i)); // integer-encodable
    else db.call('SET', `key:${i}`, v);
  }
  db.call('SELECT', 0);
}

for (const pageSize of [4096, 2 * 1024 * 1024]) {
  test(`BGSAVE under concurrent writes equals the keyspace at its start (page ${pageSize})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fl-bgsave-'));
    const db = await open({ dir, save: '', 'forkless-page-size': pageSize });
    try {
      const dbs = 4;
      const r = rng(pageSize);
      fill(db, r, 30000, pageSize === 4096 ? 4096 : 64 * 1024, dbs);
      // A value of several megabytes: a large extent even with 2 MiB pages.
      db.call('SET', 'huge', Buffer.alloc(5 * 1024 * 1024 + 17, 120));
      const expected = stateOf(db, dbs);
      assert.is(db.call('BGSAVE'), 'Background saving started');
      assert.throws(() => db.call('BGSAVE'), /ERR Background save already in progress/);
      // Mutate flat out while the worker serializes.
      let ops = 0;
      const t0 = Date.now();
      while (db.engine.rdb.inProgress && Date.now() - t0 < 3000) {
        for (let j = 0; j < 200; j++) {
          const k = `key:${Math.floor(r() * 40000)}`;
          db.call('SELECT', Math.floor(r() * dbs));
          const op = r();
          if (op < 0.5) db.call('SET', k, Buffer.alloc(1 + Math.floor(r() * 300), 122));
          else if (op < 0.7) db.call('DEL', k);
          else if (op < 0.8) db.call('PEXPIRE', k, 1 + Math.floor(r() * 20));
          else if (op < 0.85) db.call('APPEND', 'huge', 'x');
          else db.call('PERSIST', k);
          ops++;
        }
        if (ops % 4000 === 0) db.call('SWAPDB', 1, 2);
        await new Promise((res) => setImmediate(res));
      }
      await db.engine.rdb.waitIdle();
      assert.ok(ops > 0, 'writes happened during the snapshot');
      const info = (db.call('INFO', 'persistence') as Buffer).toString();
      assert.match(info, /rdb_last_bgsave_status:ok/);
      const file = join(dir, 'dump.rdb');
      assertSameState(expected, stateOfFile(file), `file vs keyspace at BGSAVE start (page ${pageSize})`);
      if (needRedis()) {
        checkRdb(file);
        assertSameState(expected, await stateInRealRedis(file, dbs), `real redis-server load (page ${pageSize})`);
      }
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('SAVE, LASTSAVE, reopen: the dataset survives close() with save rules', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-save-'));
  try {
    let db = await open({ dir, save: '3600 1' });
    db.call('SET', 'a', '1');
    db.call('SET', 'n', '12345');
    db.call('SELECT', 5);
    db.call('SET', 'b', Buffer.alloc(1000, 66), 'PX', 1_000_000);
    assert.is(db.call('SAVE'), 'OK');
    assert.type(db.call('LASTSAVE'), 'number');
    db.call('SET', 'c', 'after-save');
    await db.close(); // save rules exist: saves again
    if (needRedis()) checkRdb(join(dir, 'dump.rdb'));
    db = await open({ dir, save: '' });
    assert.equal(db.call('GET', 'a'), Buffer.from('1'));
    db.call('SELECT', 5);
    assert.equal((db.call('GET', 'b') as Buffer).length, 1000);
    assert.ok((db.call('PTTL', 'b') as number) > 900_000);
    assert.equal(db.call('GET', 'c'), Buffer.from('after-save'));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dump written by real redis-server 7.0 loads', async () => {
  if (!needRedis()) return;
  const dir = mkdtempSync(join(tmpdir(), 'fl-theirs-'));
  const srv = await startRedis({ dir, args: ['--dbfilename', 'dump.rdb', '--save', ''] });
  const c = await RespClient.connect(srv.port);
  try {
    await c.call('SET', 'plain', 'hello');
    await c.call('SET', 'int', '123456');
    await c.call('SET', 'neg', '-42');
    await c.call('SET', 'lzf', 'a'.repeat(5000));
    await c.call('SET', 'ttl', 'v', 'PX', 100_000_000);
    await c.call('SET', 'gone', 'v', 'PX', 1);
    await c.call('SELECT', 9);
    await c.call('SET', 'db9', Buffer.alloc(70000, 7));
    await new Promise((res) => setTimeout(res, 10));
    assert.is(await c.call('SAVE'), 'OK');
  } finally {
    await c.close();
    await srv.stop();
  }
  const db = await open({ dir, save: '' });
  try {
    assert.equal(db.call('GET', 'plain'), Buffer.from('hello'));
    assert.equal(db.call('GET', 'int'), Buffer.from('123456'));
    assert.equal(db.call('GET', 'neg'), Buffer.from('-42'));
    assert.equal(db.call('GET', 'lzf'), Buffer.from('a'.repeat(5000)));
    assert.ok((db.call('PTTL', 'ttl') as number) > 99_000_000);
    assert.is(db.call('EXISTS', 'gone'), 0);
    db.call('SELECT', 9);
    assert.equal(db.call('GET', 'db9'), Buffer.alloc(70000, 7));
    const info = (db.call('INFO', 'persistence') as Buffer).toString();
    assert.match(info, /rdb_last_load_keys_loaded:6/);
    assert.match(info, /rdb_last_load_keys_expired:1/);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated or corrupt dump is refused with file and offset, nothing loaded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-corrupt-'));
  try {
    const db = await open({ dir, save: '' });
    for (let i = 0; i < 500; i++) db.call('SET', `k${i}`, `value-${i}`.repeat(5));
    db.call('SAVE');
    await db.close();
    const file = join(dir, 'dump.rdb');
    const good = readFileSync(file);
    for (const cut of [5, 9, 30, Math.floor(good.length / 2), good.length - 9, good.length - 1]) {
      writeFileSync(file, good.subarray(0, cut));
      let err: unknown = null;
      try { await open({ dir, save: '' }); } catch (e) { err = e; }
      assert.instance(err, CorruptFileError, `cut at ${cut}`);
      assert.match((err as CorruptFileError).message, /dump\.rdb/);
      assert.type((err as CorruptFileError).offset, 'number');
    }
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length / 2)] ^= 0xff;
    writeFileSync(file, flipped);
    let err: unknown = null;
    try { await open({ dir, save: '' }); } catch (e) { err = e; }
    assert.ok(err instanceof Error, 'flipped byte refused');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed BGSAVE reports err and refuses writes with MISCONF until a save succeeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-misconf-'));
  const db = await open({ dir, save: '3600 1', dbfilename: 'dump.rdb' });
  try {
    db.call('SET', 'k', 'v');
    // Make the temp file impossible to create: the directory becomes a plain file.
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, 'not a directory');
    assert.is(db.call('BGSAVE'), 'Background saving started');
    await db.engine.rdb.waitIdle();
    assert.match((db.call('INFO', 'persistence') as Buffer).toString(), /rdb_last_bgsave_status:err/);
    assert.throws(() => db.call('SET', 'k2', 'v'), /^MISCONF Redis is configured to save RDB snapshots/);
    assert.throws(() => db.call('PING'), /^MISCONF/);
    assert.equal(db.call('GET', 'k'), Buffer.from('v'), 'reads still work');
    rmSync(dir, { force: true });
    mkdirSync(dir);
    assert.is(db.call('BGSAVE'), 'Background saving started');
    await db.engine.rdb.waitIdle();
    assert.is(db.call('SET', 'k2', 'v'), 'OK');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
