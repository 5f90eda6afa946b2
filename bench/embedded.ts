/**
 * Embedded SET/GET: forkless vs a plain JS Map<string, Buffer> vs lmdb, 1M keys of 16 bytes with
 * 100-byte values, on this machine, in one run. Then memory per key vs real redis-server's
 * used_memory for the same keys.
 *
 * Method: each contender first inserts the 1M keys (fill throughput), then tinybench runs batches
 * of 100 random overwrites / reads, rounds interleaved (A, B, C, A, B, C, ...) and medians kept.
 * Per-op p99 is the p99 of a batch's latency divided by 100 (single ops are too short to time).
 */
import { Bench } from 'tinybench';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { open } from '../engine/index.js';
import { keyAt, makeValues, median, randomIndexes, writeResult, fmt, ratio } from './common.js';
import { startRedis, haveRedis } from '../test/support/real-redis.js';
import { RespClient } from '../test/support/resp-client.js';

const N = Number(process.env.BENCH_KEYS ?? 1_000_000);
const BATCH = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Contender {
  name: string;
  set(k: string, v: Buffer): void;
  get(k: string): unknown;
}

export async function runEmbedded(): Promise<string> {
  const keys = Array.from({ length: N }, (_, i) => keyAt(i));
  const values = makeValues(N);
  const idx = randomIndexes(1 << 20, N);
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-emb-'));

  const db = await open({ dir, save: '', 'forkless-page-size': 4096 });
  const map = new Map<string, Buffer>();
  const lmdb = openLmdb<Buffer, string>({ path: join(dir, 'lmdb'), encoding: 'binary', noSync: true });
  const contenders: Contender[] = [
    { name: 'forkless', set: (k, v) => db.set(k, v), get: (k) => db.get(k) },
    { name: 'Map', set: (k, v) => map.set(k, Buffer.from(v)), get: (k) => map.get(k) },
    { name: 'lmdb', set: (k, v) => lmdb.putSync(k, v), get: (k) => lmdb.getBinary(k) },
  ];

  // Fill: 1M inserts each (lmdb in transactions of 10k puts, its fast path).
  const fill: Record<string, number> = {};
  for (const c of contenders) {
    const t0 = performance.now();
    if (c.name === 'lmdb') {
      for (let s = 0; s < N; s += 10_000) lmdb.transactionSync(() => { for (let i = s; i < Math.min(N, s + 10_000); i++) lmdb.put(keys[i], values[i]); });
    } else {
      for (let i = 0; i < N; i++) c.set(keys[i], values[i]);
    }
    fill[c.name] = N / ((performance.now() - t0) / 1000);
  }

  const results: Record<string, { set: number[]; get: number[]; setP99: number[]; getP99: number[] }> = {};
  for (const c of contenders) results[c.name] = { set: [], get: [], setP99: [], getP99: [] };
  let cursor = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contenders) {
      const bench = new Bench({ time: 700, warmupTime: 100 });
      bench.add('set', () => {
        for (let j = 0; j < BATCH; j++) {
          const i = idx[cursor++ & (idx.length - 1)];
          if (c.name === 'lmdb') lmdb.putSync(keys[i], values[i]); else c.set(keys[i], values[i]);
        }
      });
      bench.add('get', () => {
        for (let j = 0; j < BATCH; j++) c.get(keys[idx[cursor++ & (idx.length - 1)]]);
      });
      await bench.run();
      for (const t of bench.tasks) {
        const r = t.result;
        if (!r || !('throughput' in r)) continue;
        const rr = results[c.name];
        const opsPerSec = r.throughput.p50 * BATCH;
        const p99us = (r.latency.p99 * 1000) / BATCH;
        if (t.name === 'set') { rr.set.push(opsPerSec); rr.setP99.push(p99us); } else { rr.get.push(opsPerSec); rr.getP99.push(p99us); }
      }
    }
  }

  const mem = db.engine.keyspace.memoryStats();
  const forklessBytesPerKey = mem.usedMemory / N;
  let redisBytesPerKey = NaN;
  if (haveRedis()) redisBytesPerKey = await redisMemoryPerKey(keys, values);

  await db.close();
  lmdb.close();
  rmSync(dir, { recursive: true, force: true });

  const m = (name: string, f: 'set' | 'get' | 'setP99' | 'getP99') => median(results[name][f]);
  const data = {
    keys: N, batch: BATCH, rounds: ROUNDS, fill,
    medians: Object.fromEntries(contenders.map((c) => [c.name, { set: m(c.name, 'set'), get: m(c.name, 'get'), setP99us: m(c.name, 'setP99'), getP99us: m(c.name, 'getP99') }])),
    raw: results,
    memory: { forklessBytesPerKey, redisBytesPerKey, forkless: mem },
    ratios: {
      setVsMap: m('forkless', 'set') / m('Map', 'set'),
      getVsMap: m('forkless', 'get') / m('Map', 'get'),
      setVsLmdb: m('forkless', 'set') / m('lmdb', 'set'),
      getVsLmdb: m('forkless', 'get') / m('lmdb', 'get'),
      memoryVsRedis: forklessBytesPerKey / redisBytesPerKey,
    },
  };
  const rows = contenders.map((c) => `| ${c.name} | ${fmt(fill[c.name])} | ${fmt(m(c.name, 'set'))} | ${m(c.name, 'setP99').toFixed(3)} | ${fmt(m(c.name, 'get'))} | ${m(c.name, 'getP99').toFixed(3)} |`);
  const md = [
    `## Embedded SET/GET, ${fmt(N)} keys (16 B keys, 100 B values), median of ${ROUNDS} interleaved rounds`,
    '',
    '| store | fill inserts/s | SET ops/s | SET p99 µs | GET ops/s | GET p99 µs |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `- forkless SET vs Map.set: **${ratio(m('forkless', 'set'), m('Map', 'set'))}** (target ≥ 1.0×); vs lmdb put: ${ratio(m('forkless', 'set'), m('lmdb', 'set'))}`,
    `- forkless GET vs Map.get: **${ratio(m('forkless', 'get'), m('Map', 'get'))}** (target ≥ 0.5×); vs lmdb getBinary: ${ratio(m('forkless', 'get'), m('lmdb', 'get'))}`,
    `- memory per key: forkless used_memory ${forklessBytesPerKey.toFixed(1)} B, redis-server 7.0 used_memory ${redisBytesPerKey.toFixed(1)} B → **${ratio(forklessBytesPerKey, redisBytesPerKey)}** (target ≤ 0.8×)`,
    `- forkless arena: ${fmt(mem.arenaBytes)} B in ${fmt(mem.pages)} pages, index ${fmt(mem.indexBytes)} B, fragmentation ratio ${mem.fragmentationRatio.toFixed(2)}`,
    '',
    'Map stores a copy of each value (Buffer.from), as forkless copies values into shared memory. lmdb: `putSync` per key with `noSync: true` for SET, `getBinary` (a copy) for GET; fill in `transactionSync` batches of 10k.',
  ].join('\n');
  writeResult('embedded', data, md);
  return md;
}

/** used_memory growth of a real redis-server after SETting the same keys, per key. */
async function redisMemoryPerKey(keys: string[], values: Buffer[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-redis-'));
  const srv = await startRedis({ dir, args: ['--save', ''] });
  const c = await RespClient.connect(srv.port);
  try {
    const before = usedMemory((await c.call('INFO', 'memory')) as Buffer);
    for (let s = 0; s < keys.length; s += 1000) {
      const cmds: Array<Array<string | Buffer>> = [];
      for (let i = s; i < Math.min(keys.length, s + 1000); i++) cmds.push(['SET', keys[i], values[i]]);
      await c.pipeline(cmds);
    }
    const after = usedMemory((await c.call('INFO', 'memory')) as Buffer);
    return (after - before) / keys.length;
  } finally {
    await c.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function usedMemory(info: Buffer): number {
  const m = /used_memory:(\d+)/.exec(info.toString());
  return m ? Number(m[1]) : NaN;
}
