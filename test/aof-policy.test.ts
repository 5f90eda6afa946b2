/**
 * appendfsync policies through the embedded API and INFO: what `await db.durable()` guarantees
 * under always / everysec / no, group commit, Redis's everysec rules (an fsync also when no new
 * bytes came, the 2-second postponement with aof_delayed_fsync and its log line), policy changes
 * by CONFIG SET, MULTI/EXEC wrapping of transactions, INFO fields, and an embedded process that
 * ends without close() still writing everything out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, type Forkless } from '../engine/index.js';
import { incrCommands, sleep, tempDir } from './aof-helpers.js';

function infoOf(db: Forkless): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of String(db.call('INFO', 'persistence')).split('\r\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

const num = (db: Forkless, f: string): number => Number(infoOf(db)[f]);

async function withDb(policy: string, fn: (db: Forkless, dir: string) => Promise<void>, extra: Record<string, string> = {}): Promise<void> {
  const dir = tempDir(`pol-${policy}`);
  const db = await open({ dir, appendonly: 'yes', appendfsync: policy, save: '', loglevel: 'warning', logfile: join(dir, 'log.txt'), ...extra });
  try {
    await fn(db, dir);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('always: durable() resolves once the bytes are fdatasync\'ed; one fsync covers a whole batch (group commit)', async () => {
  await withDb('always', async (db) => {
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) db.call('SET', `k:${round}:${i}`, 'v');
      const barrier = db.engine.durabilityBarrier();
      await db.durable();
      assert.ok(num(db, 'forkless_aof_synced_offset') >= barrier, `round ${round}: synced covers the batch`);
    }
    const fsyncs = num(db, 'forkless_aof_fsyncs');
    assert.ok(fsyncs >= 20 && fsyncs < 20 * 50, `${fsyncs} fsyncs for 10,000 writes in 20 batches`);
    assert.is(num(db, 'aof_buffer_length'), 0);
  });
});

test('everysec: durable() means written to the kernel; an fsync follows within ~2 s even with no further writes', async () => {
  await withDb('everysec', async (db) => {
    db.call('SET', 'a', '1');
    const barrier = db.engine.durabilityBarrier();
    await db.durable();
    assert.ok(num(db, 'forkless_aof_written_offset') >= barrier);
    const t0 = Date.now();
    while (num(db, 'forkless_aof_synced_offset') < barrier && Date.now() - t0 < 3000) await sleep(50);
    assert.ok(num(db, 'forkless_aof_synced_offset') >= barrier, 'fsynced without new writes');
    assert.ok(Date.now() - t0 <= 2200, `took ${Date.now() - t0} ms`);
  });
});

test('no: written, never fsynced while running', async () => {
  await withDb('no', async (db) => {
    for (let i = 0; i < 2000; i++) db.call('SET', `k${i}`, 'v');
    await db.durable();
    assert.is(num(db, 'forkless_aof_written_offset'), db.engine.durabilityBarrier());
    await sleep(1200);
    assert.is(num(db, 'forkless_aof_fsyncs'), 0);
  });
});

test('CONFIG SET appendfsync changes the policy at runtime', async () => {
  await withDb('no', async (db) => {
    db.call('SET', 'a', '1');
    await db.durable();
    assert.is(num(db, 'forkless_aof_fsyncs'), 0);
    db.call('CONFIG', 'SET', 'appendfsync', 'always');
    db.call('SET', 'b', '2');
    const barrier = db.engine.durabilityBarrier();
    await db.durable();
    assert.ok(num(db, 'forkless_aof_synced_offset') >= barrier);
  });
});

test('everysec with a stalled fsync: writes postponed up to 2 s, then aof_delayed_fsync and Redis\'s log line', async () => {
  process.env['FORKLESS_AOF_TEST_FSYNC_DELAY_MS'] = '2600';
  try {
    await withDb('everysec', async (db, dir) => {
      let sawPending = false;
      const t0 = Date.now();
      let i = 0;
      while (Date.now() - t0 < 4200) {
        db.call('SET', `k${i++}`, 'v');
        await Promise.race([db.durable(), sleep(50)]);
        if (num(db, 'aof_pending_bio_fsync') === 1) sawPending = true;
      }
      assert.ok(sawPending, 'aof_pending_bio_fsync:1 seen during the stall');
      assert.ok(num(db, 'aof_delayed_fsync') >= 1, `aof_delayed_fsync ${num(db, 'aof_delayed_fsync')}`);
      assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), 'Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.');
    }, { loglevel: 'notice' });
  } finally {
    delete process.env['FORKLESS_AOF_TEST_FSYNC_DELAY_MS'];
  }
});

test('a transaction is written wrapped in MULTI/EXEC; a one-write EXEC bare; SELECT before MULTI', async () => {
  const dir = tempDir('pol-multi');
  try {
    const db = await open({ dir, appendonly: 'yes', save: '', loglevel: 'warning' });
    db.call('SELECT', '3');
    db.call('MULTI');
    db.call('SET', 'a', '1');
    db.call('INCR', 'b');
    db.call('GET', 'a');
    db.call('EXEC');
    db.call('MULTI');
    db.call('SET', 'c', '1');
    db.call('GET', 'c');
    db.call('EXEC');
    await db.durable();
    await db.close();
    const cmds = incrCommands(join(dir, 'appendonlydir')).map((c) => c.join(' '));
    assert.equal(cmds, ['SELECT 3', 'MULTI', 'SET a 1', 'INCR b', 'EXEC', 'SET c 1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('INFO persistence: Redis\'s aof_* fields in Redis\'s order, then forkless_aof_*', async () => {
  await withDb('everysec', async (db) => {
    const keys = Object.keys(infoOf(db));
    const expected = ['aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'aof_last_rewrite_time_sec',
      'aof_current_rewrite_time_sec', 'aof_last_bgrewrite_status', 'aof_rewrites', 'aof_rewrites_consecutive_failures',
      'aof_last_write_status', 'aof_last_cow_size', 'module_fork_in_progress', 'module_fork_last_cow_size',
      'aof_current_size', 'aof_base_size', 'aof_pending_rewrite', 'aof_buffer_length', 'aof_pending_bio_fsync', 'aof_delayed_fsync'];
    const at = keys.indexOf('aof_enabled');
    assert.equal(keys.slice(at, at + expected.length), expected);
    assert.is(infoOf(db)['aof_enabled'], '1');
    db.call('SET', 'x', 'y');
    await db.durable();
    assert.ok(num(db, 'aof_current_size') > num(db, 'aof_base_size'));
    assert.ok(keys.includes('forkless_aof_fsync_p99_usec'));
  });
  const dir = tempDir('pol-off');
  const off = await open({ dir, save: '', loglevel: 'warning' });
  assert.is(infoOf(off)['aof_enabled'], '0');
  assert.not.ok('aof_current_size' in infoOf(off));
  await off.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an embedded process that ends without close() still writes every byte', () => {
  const dir = tempDir('pol-exit');
  try {
    const index = join(dirname(fileURLToPath(import.meta.url)), '..', 'engine', 'index.js');
    const script = join(dir, 'child.mjs');
    writeFileSync(script, `import { open } from ${JSON.stringify(index)};
const db = await open({ dir: ${JSON.stringify(dir)}, appendonly: 'yes', appendfsync: 'no', save: '', loglevel: 'warning' });
for (let i = 0; i < 50000; i++) db.set('k' + i, 'v' + i);
// no close(), no durable(): the event loop simply runs out of work
`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const f = join(dir, 'appendonlydir', 'appendonly.aof.1.incr.aof');
    assert.ok(statSync(f).size > 50000 * 20);
    const cmds = incrCommands(join(dir, 'appendonlydir'));
    assert.is(cmds.length, 50001);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('appendonly no then yes while the old worker drains: the new stream is not durable before it is written, old waiters are released', async () => {
  await withDb('always', async (db) => {
    db.call('SET', 'before', '1');
    let oldReleased = false;
    const oldBarrier = db.engine.durabilityBarrier();
    db.engine.whenDurable(oldBarrier, () => { oldReleased = true; });
    db.call('CONFIG', 'SET', 'appendonly', 'no');
    db.call('CONFIG', 'SET', 'appendonly', 'yes'); // a rewrite starts a new stream at once
    await new Promise((r) => setTimeout(r, 300));   // the old worker has exited by now
    assert.ok(oldReleased, 'a reply held on the old stream was released when its worker finished');
    for (let i = 0; i < 5; i++) {
      db.call('SET', `after${i}`, 'x');
      const b = db.engine.durabilityBarrier();
      assert.ok(b > 0);
      // Synchronously after the write no worker can have fsynced it: it must not read as durable.
      assert.is(db.engine.isDurable(b), false, `write ${i} of the new stream`);
      await db.durable();
      assert.ok(db.engine.isDurable(b));
    }
  });
});

test.run();
