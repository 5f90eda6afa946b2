/**
 * RDB load of 1M keys: forkless open() vs real redis-server loading the same file (its own
 * "DB loaded from disk: X seconds" log line), rounds interleaved, medians compared.
 */
import { mkdtempSync, rmSync, copyFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from '../engine/index.js';
import { keyAt, makeValues, median, writeResult, fmt, ratio } from './common.js';
import { startRedis, haveRedis } from '../test/support/real-redis.js';

const N = Number(process.env.BENCH_KEYS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function runRdbLoad(): Promise<string> {
  const src = mkdtempSync(join(tmpdir(), 'fl-bench-load-'));
  const values = makeValues(N);
  {
    const db = await open({ dir: src, save: '' });
    for (let i = 0; i < N; i++) db.set(keyAt(i), values[i]);
    db.call('SAVE');
    await db.close();
  }
  const file = join(src, 'dump.rdb');
  const size = statSync(file).size;
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const db = await open({ dir: src, save: '' });
    ours.push(performance.now() - t0);
    if (db.call('DBSIZE') !== N) throw new Error('forkless loaded the wrong number of keys');
    await db.close();
    if (haveRedis()) {
      const dir = mkdtempSync(join(tmpdir(), 'fl-bench-rload-'));
      copyFileSync(file, join(dir, 'dump.rdb'));
      const srv = await startRedis({ dir, args: ['--save', '', '--dbfilename', 'dump.rdb'] });
      const out = srv.output();
      await srv.stop();
      const m = /DB loaded from disk: ([\d.]+) seconds/.exec(out);
      if (m) theirs.push(Number(m[1]) * 1000);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(src, { recursive: true, force: true });
  const o = median(ours);
  const t = theirs.length ? median(theirs) : NaN;
  const md = [
    `## RDB load, ${fmt(N)} keys (${fmt(size)} B file written by forkless), median of ${ROUNDS} interleaved rounds`,
    '',
    '| loader | load ms |',
    '|---|---|',
    `| forkless open() | ${fmt(o)} |`,
    `| redis-server 7.0.15 ("DB loaded from disk") | ${fmt(t)} |`,
    '',
    `forkless / Redis: **${ratio(o, t)}** (target ≤ 1.0×). forkless's time includes reading the file and building the index; Redis's log line covers its load only.`,
  ].join('\n');
  writeResult('rdb-load', { keys: N, fileBytes: size, forklessMs: ours, redisMs: theirs }, md);
  return md;
}
