/**
 * BGREWRITEAOF through the snapshot machinery: a point-in-time base while writes continue into a
 * new incr file, the manifest switched (old base and incr files become history and are deleted),
 * Redis's replies and log lines, the BGSAVE interplay (scheduled either way), automatic rewrites
 * on growth, a failing rewrite leaving a loadable directory, and RESP bases.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Forkless } from '../engine/index.js';
import { assertSameDump, checkAof, dumpEmbedded, filesOf, manifestOf, redisToolsOr, sleep, tempDir } from './aof-helpers.js';

const real = redisToolsOr('aof-rewrite');

function conf(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { dir, appendonly: 'yes', save: '', logfile: join(dir, 'log.txt'), ...extra };
}

function info(db: Forkless, field: string): string {
  const m = new RegExp(`^${field}:(.*)\r$`, 'm').exec(String(db.call('INFO', 'persistence')));
  return m === null ? '' : m[1]!;
}

async function untilIdle(db: Forkless): Promise<void> {
  const t0 = Date.now();
  while ((db.engine.aof.rewriteInProgress || db.engine.aof.rewriteScheduled || db.engine.rdb.inProgress || db.engine.rdb.scheduled) && Date.now() - t0 < 20_000) await sleep(5);
}

for (const preamble of ['yes', 'no']) {
  test(`BGREWRITEAOF under concurrent writes: new base + new incr, history deleted, same data after restart (preamble ${preamble})`, async () => {
    const dir = tempDir('rw');
    try {
      const db = await open(conf(dir, { 'aof-use-rdb-preamble': preamble }));
      const far = Date.now() + 3_600_000;
      for (let i = 0; i < 50_000; i++) {
        db.call('SELECT', i % 4);
        db.call('SET', `key:${i}`, `value:${i}:${'x'.repeat(i % 50)}`, ...(i % 7 === 0 ? ['PXAT', String(far + i)] : []));
      }
      db.call('SELECT', 0);
      assert.is(db.call('BGREWRITEAOF'), 'Background append only file rewriting started');
      assert.is(info(db, 'aof_rewrite_in_progress'), '1');
      assert.throws(() => db.call('BGREWRITEAOF'), /ERR Background append only file rewriting already in progress/);
      // Overwrite, delete and add while the worker writes the base.
      let n = 0;
      while (db.engine.aof.rewriteInProgress) {
        for (let j = 0; j < 200; j++, n++) {
          db.call('SELECT', n % 4);
          if (n % 3 === 0) db.call('DEL', `key:${(n * 7) % 50_000}`);
          else db.call('SET', `key:${(n * 13) % 60_000}`, `new:${n}`);
        }
        await sleep(0);
      }
      db.call('SELECT', 0);
      assert.is(info(db, 'aof_last_bgrewrite_status'), 'ok');
      assert.is(info(db, 'aof_rewrites'), '1');
      const expected = dumpEmbedded(db);
      await db.durable();
      await db.close();
      const aofDir = join(dir, 'appendonlydir');
      const m = manifestOf(aofDir);
      assert.equal(m.map((x) => `${x.name} ${x.type}`), [`appendonly.aof.2.base.${preamble === 'yes' ? 'rdb' : 'aof'} b`, 'appendonly.aof.2.incr.aof i']);
      assert.equal(filesOf(aofDir), [`appendonly.aof.2.base.${preamble === 'yes' ? 'rdb' : 'aof'}`, 'appendonly.aof.2.incr.aof', 'appendonly.aof.manifest']);
      const log = readFileSync(join(dir, 'log.txt'), 'utf8');
      for (const line of [
        'Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite',
        `Background append only file rewriting started by pid ${process.pid}`,
        'Background AOF rewrite terminated with success',
        `Successfully renamed the temporary AOF base file temp-rewriteaof-bg-${process.pid}.aof into appendonly.aof.2.base.${preamble === 'yes' ? 'rdb' : 'aof'}`,
        'Removing the history file appendonly.aof.1.incr.aof in the background',
        `Removing the history file appendonly.aof.1.base.${preamble === 'yes' ? 'rdb' : 'aof'} in the background`,
        'Background AOF rewrite finished successfully',
      ]) assert.match(log, line);
      const again = await open(conf(dir));
      assertSameDump(dumpEmbedded(again), expected, 'after restart');
      await again.close();
      if (real) {
        const chk = checkAof(join(aofDir, 'appendonly.aof.manifest'));
        assert.is(chk.status, 0, chk.out);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('BGREWRITEAOF during BGSAVE is scheduled; BGSAVE during a rewrite is refused unless SCHEDULE', async () => {
  const dir = tempDir('rw-bgsave');
  try {
    const db = await open(conf(dir));
    for (let i = 0; i < 200_000; i++) db.set(`k${i}`, `v${i}`);
    assert.is(db.call('BGSAVE'), 'Background saving started');
    assert.is(db.call('BGREWRITEAOF'), 'Background append only file rewriting scheduled');
    assert.is(info(db, 'aof_rewrite_scheduled'), '1');
    await untilIdle(db);
    assert.is(info(db, 'aof_rewrites'), '1', 'the scheduled rewrite ran after the BGSAVE');
    assert.is(db.call('BGREWRITEAOF'), 'Background append only file rewriting started');
    assert.throws(() => db.call('BGSAVE'), /ERR Another child process is active \(AOF\?\): can't BGSAVE right now/);
    assert.is(db.call('BGSAVE', 'SCHEDULE'), 'Background saving scheduled');
    await untilIdle(db);
    assert.is(info(db, 'rdb_bgsave_in_progress'), '0');
    assert.ok(Number(info(db, 'rdb_saves')) >= 2, 'the scheduled BGSAVE ran');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('automatic rewrite on growth (auto-aof-rewrite-percentage / -min-size)', async () => {
  const dir = tempDir('rw-auto');
  try {
    const db = await open(conf(dir, { 'auto-aof-rewrite-percentage': '100', 'auto-aof-rewrite-min-size': '200kb' }));
    for (let i = 0; i < 10_000 && info(db, 'aof_rewrites') === '0'; i++) {
      db.call('SET', 'same-key', `value-${i}`);
      if (i % 100 === 99) await sleep(20);
    }
    await untilIdle(db);
    assert.ok(Number(info(db, 'aof_rewrites')) >= 1, 'a rewrite started by itself');
    assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), /Starting automatic rewriting of AOF on \d+% growth/);
    assert.ok(Number(info(db, 'aof_current_size')) < 200 * 1024, `aof_current_size ${info(db, 'aof_current_size')} after the rewrite`);
    assert.is(info(db, 'aof_base_size'), info(db, 'aof_current_size'));
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing rewrite: status err, failures counted, the directory still loads everything', async () => {
  const dir = tempDir('rw-fail');
  try {
    const db = await open(conf(dir));
    for (let i = 0; i < 1000; i++) db.call('SET', `k${i}`, `v${i}`);
    // The temp file cannot be created: a directory is in the way.
    mkdirSync(join(dir, `temp-rewriteaof-bg-${process.pid}.aof`));
    assert.is(db.call('BGREWRITEAOF'), 'Background append only file rewriting started');
    await untilIdle(db);
    assert.is(info(db, 'aof_last_bgrewrite_status'), 'err');
    assert.is(info(db, 'aof_rewrites_consecutive_failures'), '1');
    for (let i = 1000; i < 1100; i++) db.call('SET', `k${i}`, `v${i}`);
    const expected = dumpEmbedded(db);
    await db.durable();
    await db.close();
    assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), 'Background AOF rewrite terminated with error');
    // Two incr files now: the one before and the one opened for the failed rewrite.
    assert.equal(manifestOf(join(dir, 'appendonlydir')).map((x) => x.type), ['b', 'i', 'i']);
    rmSync(join(dir, `temp-rewriteaof-bg-${process.pid}.aof`), { recursive: true });
    const again = await open(conf(dir));
    assertSameDump(dumpEmbedded(again), expected, 'after a failed rewrite');
    // The next rewrite succeeds and folds both incr files into the base.
    assert.is(again.call('BGREWRITEAOF'), 'Background append only file rewriting started');
    await untilIdle(again);
    assert.is(info(again, 'aof_last_bgrewrite_status'), 'ok');
    assert.is(info(again, 'aof_rewrites_consecutive_failures'), '0');
    await again.close();
    assert.equal(manifestOf(join(dir, 'appendonlydir')).map((x) => `${x.name} ${x.type}`), ['appendonly.aof.2.base.rdb b', 'appendonly.aof.3.incr.aof i']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shutdown during a rewrite: the rewrite is abandoned, the directory loads', async () => {
  const dir = tempDir('rw-shutdown');
  try {
    const db = await open(conf(dir));
    for (let i = 0; i < 200_000; i++) db.set(`k${i}`, `v${i}`);
    db.call('BGREWRITEAOF');
    const expected = dumpEmbedded(db);
    await db.close();
    assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), 'There is a child rewriting the AOF. Killing it!');
    const again = await open(conf(dir));
    assertSameDump(dumpEmbedded(again), expected, 'after shutdown during a rewrite');
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CONFIG SET appendonly yes at runtime: temp incr file, first rewrite installs base + incr; no stops it', async () => {
  const dir = tempDir('rw-runtime');
  try {
    const db = await open({ dir, save: '', appendonly: 'no', logfile: join(dir, 'log.txt') });
    for (let i = 0; i < 20_000; i++) db.set(`before:${i}`, `v${i}`);
    assert.is(info(db, 'aof_enabled'), '0');
    assert.is(db.call('CONFIG', 'SET', 'appendonly', 'yes'), 'OK');
    assert.is(info(db, 'aof_enabled'), '1');
    assert.is(info(db, 'aof_rewrite_in_progress'), '1');
    for (let i = 0; i < 500; i++) db.call('SET', `during:${i}`, `v${i}`);
    await untilIdle(db);
    for (let i = 0; i < 500; i++) db.call('SET', `after:${i}`, `v${i}`);
    await db.durable();
    const expected = dumpEmbedded(db);
    const aofDir = join(dir, 'appendonlydir');
    assert.equal(manifestOf(aofDir).map((x) => `${x.name} ${x.type}`), ['appendonly.aof.1.base.rdb b', 'appendonly.aof.1.incr.aof i']);
    const log = readFileSync(join(dir, 'log.txt'), 'utf8');
    assert.match(log, 'Creating AOF incr file temp-appendonly.aof.incr on background rewrite');
    assert.match(log, 'Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.1.incr.aof');
    // Stop: later writes are not appended.
    assert.is(db.call('CONFIG', 'SET', 'appendonly', 'no'), 'OK');
    assert.is(info(db, 'aof_enabled'), '0');
    db.call('SET', 'not-in-aof', '1');
    await db.close();
    const again = await open(conf(dir));
    assertSameDump(dumpEmbedded(again), expected, 'reopened from the AOF enabled at runtime');
    await again.close();
    if (real) {
      const chk = checkAof(join(aofDir, 'appendonly.aof.manifest'));
      assert.is(chk.status, 0, chk.out);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
