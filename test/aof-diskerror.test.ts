/**
 * Disk errors on a small tmpfs (mount -t tmpfs -o size=2m, root only; skipped loudly otherwise):
 * Redis's behaviour when the AOF cannot be written — the short write is truncated away so the
 * file stays loadable, writes and PING are refused with `MISCONF Errors writing to the AOF file:
 * No space left on device` while reads keep working, INFO shows aof_last_write_status:err, and
 * once space is freed the buffered writes go out and writes are accepted again. Under
 * `appendfsync always` the engine gives up as Redis exits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Forkless } from '../engine/index.js';
import { ReplyError } from '../engine/errors.js';
import type { AofFatalError } from '../engine/persist/aof.js';
import { checkAof, redisToolsOr, sleep } from './aof-helpers.js';

function mountTmpfs(sizeKb: number): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'fl-aof-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return dir;
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}

function info(db: Forkless, field: string): string {
  const m = new RegExp(`^${field}:(.*)\r$`, 'm').exec(String(db.call('INFO', 'persistence')));
  return m === null ? '' : m[1]!;
}

const probe = mountTmpfs(64);
if (probe === null) {
  console.warn('\n!!! aof-diskerror: SKIPPED: cannot mount a tmpfs (needs root) !!!\n');
  test.skip('disk errors on a small tmpfs', () => {});
} else {
  unmount(probe);
  const real = redisToolsOr('aof-diskerror');

  test('ENOSPC under everysec: MISCONF for writes and PING, reads served, recovery once space is freed, nothing acknowledged lost', async () => {
    const mnt = mountTmpfs(2048)!;
    const logfile = join(tmpdir(), `fl-aof-diskerr-${process.pid}.log`);
    try {
      // Ballast to free later.
      writeFileSync(join(mnt, 'ballast'), Buffer.alloc(400 * 1024));
      const db = await open({ dir: mnt, appendonly: 'yes', appendfsync: 'everysec', save: '', logfile });
      const value = Buffer.alloc(1000, 0x61);
      const acked: number[] = [];
      let refused: ReplyError | null = null;
      for (let i = 0; i < 100_000 && refused === null; i++) {
        try {
          db.call('SET', `k:${i}`, value);
          acked.push(i);
        } catch (err) {
          refused = err as ReplyError;
        }
        if (i % 50 === 49) await sleep(1);
      }
      assert.ok(refused !== null, 'writes were refused once the disk filled up');
      assert.is(refused!.message, 'MISCONF Errors writing to the AOF file: No space left on device');
      assert.throws(() => db.call('PING'), /MISCONF Errors writing to the AOF file/);
      assert.is(db.call('GET', `k:${acked[0]}`)!.toString(), value.toString(), 'reads keep working');
      assert.is(info(db, 'aof_last_write_status'), 'err');
      assert.ok(Number(info(db, 'aof_buffer_length')) > 0);
      const log = readFileSync(logfile, 'utf8');
      assert.ok(/Short write while writing to the AOF file: \(nwritten=\d+, expected=\d+\)|Error writing to the AOF file: No space left on device/.test(log), log);
      // Free space: the worker retries once a second.
      unlinkSync(join(mnt, 'ballast'));
      const t0 = Date.now();
      while (info(db, 'aof_last_write_status') !== 'ok' && Date.now() - t0 < 5000) await sleep(50);
      assert.is(info(db, 'aof_last_write_status'), 'ok');
      assert.match(readFileSync(logfile, 'utf8'), 'AOF write error looks solved, Redis can write again.');
      assert.is(db.call('SET', 'after', 'recovery'), 'OK');
      assert.is(db.call('PING'), 'PONG');
      await db.durable();
      await db.close();
      if (real) {
        const chk = checkAof(join(mnt, 'appendonlydir', 'appendonly.aof.manifest'));
        assert.is(chk.status, 0, chk.out);
      }
      const again = await open({ dir: mnt, appendonly: 'yes', save: '', logfile });
      for (const i of acked) assert.ok(again.call('GET', `k:${i}`) !== null, `acknowledged k:${i} present`);
      assert.is(String(again.call('GET', 'after')), 'recovery');
      await again.close();
    } finally {
      unmount(mnt);
      rmSync(logfile, { force: true });
    }
  });

  test('ENOSPC under always: Redis exits ("Can\'t recover from AOF write error ..."); the engine reports it as fatal', async () => {
    const mnt = mountTmpfs(1024)!;
    const logfile = join(tmpdir(), `fl-aof-diskerr2-${process.pid}.log`);
    try {
      const db = await open({ dir: mnt, appendonly: 'yes', appendfsync: 'always', save: '', logfile });
      let fatal: AofFatalError | null = null;
      db.engine.aof.onFatal = (err) => { fatal = err; };
      const value = Buffer.alloc(1000, 0x62);
      for (let i = 0; i < 5000 && fatal === null; i++) {
        db.call('SET', `k:${i}`, value);
        if (i % 20 === 19) {
          const r = await Promise.race([db.durable().then(() => 'ok', (e: unknown) => e), sleep(200).then(() => 'timeout')]);
          if (r instanceof Error) assert.is(r.name, 'AofFatalError', 'pending durable() promises are rejected');
        }
      }
      assert.ok(fatal !== null, 'the always policy gave up');
      assert.is((fatal as AofFatalError | null)?.message, "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
      assert.throws(() => db.call('SET', 'x', 'y'), /MISCONF Errors writing to the AOF file: No space left on device/);
      await db.durable().then(() => assert.unreachable('durable() after a fatal AOF error'), (e: Error) => assert.is(e.name, 'AofFatalError'));
      await db.close();
    } finally {
      unmount(mnt);
      rmSync(logfile, { force: true });
    }
  });
}

test.run();
