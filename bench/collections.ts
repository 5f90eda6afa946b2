/**
 * Collections (issue 5): memory per element of 1M-element hash / set / sorted set / list vs a real
 * redis-server 7.0's used_memory for the same elements (target ≤ 1.0× each), and the per-operation
 * cost of the O(1) / O(log N) commands on those big collections (embedded call() vs redis-server
 * over a pipelined socket, reported side by side for orientation, not as a like-for-like ratio).
 *
 * Elements: hash fields `field:<i>` → 10-byte values, set members `member:<i>`, zset members
 * `member:<i>` with score i * 1.5, list items `item:<i>`. BENCH_ELEMENTS overrides 1M.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from '../engine/index.js';
import { fmt, median, ratio, writeResult } from './common.js';
import { haveRedis, startRedis } from '../test/support/real-redis.js';
import { RespClient } from '../test/support/resp-client.js';

type Kind = 'hash' | 'set' | 'zset' | 'list';
const KINDS: Kind[] = ['hash', 'set', 'zset', 'list'];
const BATCH = 500;

function fillCommands(kind: Kind, from: number, to: number): Array<Array<string | number>> {
  const cmds: Array<Array<string | number>> = [];
  for (let i = from; i < to; i += BATCH) {
    const end = Math.min(to, i + BATCH);
    const args: Array<string | number> = [];
    for (let j = i; j < end; j++) {
      if (kind === 'hash') args.push(`field:${j}`, `val-${String(j).padStart(6, '0')}`);
      else if (kind === 'set') args.push(`member:${j}`);
      else if (kind === 'zset') args.push(j * 1.5, `member:${j}`);
      else args.push(`item:${j}`);
    }
    const cmd = kind === 'hash' ? 'HSET' : kind === 'set' ? 'SADD' : kind === 'zset' ? 'ZADD' : 'RPUSH';
    cmds.push([cmd, `big-${kind}`, ...args]);
  }
  return cmds;
}

/** One random-access operation per kind, at element index i (the O(1)/O(log N) commands). */
function probe(kind: Kind, i: number): Array<string | number> {
  if (kind === 'hash') return ['HGET', 'big-hash', `field:${i}`];
  if (kind === 'set') return ['SISMEMBER', 'big-set', `member:${i}`];
  if (kind === 'zset') return ['ZRANK', 'big-zset', `member:${i}`];
  return ['LINDEX', 'big-list', 0];
}

function usedMemory(info: string): number {
  const m = /used_memory:(\d+)/.exec(info);
  if (m === null) throw new Error('no used_memory in INFO');
  return Number(m[1]);
}

export async function runCollections(): Promise<string> {
  const n = Number(process.env['BENCH_ELEMENTS'] ?? 1_000_000);
  const rows: string[] = [];
  const data: Record<string, unknown> = { elements: n };
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-coll-'));
  const db = await open({ dir, save: '', appendonly: 'no' });
  let redis: Awaited<ReturnType<typeof startRedis>> | null = null;
  let rc: RespClient | null = null;
  if (haveRedis()) {
    redis = await startRedis({ args: ['--save', '', '--appendonly', 'no', '--dbfilename', 'bench-collections.rdb'] });
    rc = await RespClient.connect(redis.port);
  }
  try {
    for (const kind of KINDS) {
      const before = usedMemory(String(db.call('INFO', 'memory')));
      const t0 = performance.now();
      for (const cmd of fillCommands(kind, 0, n)) { const [name, ...args] = cmd.map(String); db.call(name!, ...args); }
      const fillMs = performance.now() - t0;
      const after = usedMemory(String(db.call('INFO', 'memory')));
      const flPer = (after - before) / n;
      let rdPer = NaN;
      let rdFillMs = NaN;
      if (rc !== null) {
        const rb = usedMemory(String(await rc.call('INFO', 'memory')));
        const r0 = performance.now();
        const cmds = fillCommands(kind, 0, n);
        for (let i = 0; i < cmds.length; i += 20) await rc.pipeline(cmds.slice(i, i + 20));
        rdFillMs = performance.now() - r0;
        rdPer = (usedMemory(String(await rc.call('INFO', 'memory'))) - rb) / n;
      }
      // Probe latency: 3 interleaved rounds of 20k random probes each.
      const flUs: number[] = [];
      const rdUs: number[] = [];
      const probes = 20_000;
      for (let round = 0; round < 3; round++) {
        const idx = Array.from({ length: probes }, () => Math.floor(Math.random() * n));
        let s = performance.now();
        for (const i of idx) { const [name, ...args] = probe(kind, i).map(String); db.call(name!, ...args); }
        flUs.push(((performance.now() - s) * 1000) / probes);
        if (rc !== null) {
          s = performance.now();
          for (let i = 0; i < probes; i += 100) await rc.pipeline(idx.slice(i, i + 100).map((j) => probe(kind, j)));
          rdUs.push(((performance.now() - s) * 1000) / probes);
        }
      }
      // BGSAVE of the collection (plus nothing else), idle: forkless's worker assembles it from
      // element records; redis-server forks. Wall time until the save is done.
      let t1 = performance.now();
      db.call('BGSAVE');
      await db.engine.rdb.waitIdle();
      const flSaveMs = performance.now() - t1;
      const flInfo = String(db.call('INFO', 'persistence'));
      const assembly = Number(/forkless_snapshot_assembly_peak_bytes:(\d+)/.exec(flInfo)?.[1] ?? 0);
      let rdSaveMs = NaN;
      if (rc !== null) {
        t1 = performance.now();
        await rc.call('BGSAVE');
        while (/rdb_bgsave_in_progress:1/.test(String(await rc.call('INFO', 'persistence')))) await new Promise((r) => setTimeout(r, 2));
        rdSaveMs = performance.now() - t1;
      }
      const enc = String(db.call('OBJECT', 'ENCODING', `big-${kind}`));
      data[kind] = {
        forklessBytesPerElement: flPer, redisBytesPerElement: rdPer, fillMs, redisFillMs: rdFillMs, probeUs: median(flUs),
        redisProbeUs: rc ? median(rdUs) : null, encoding: enc, bgsaveMs: flSaveMs, redisBgsaveMs: rdSaveMs, assemblyPeakBytes: assembly,
      };
      rows.push(`| ${kind} (${enc}) | ${flPer.toFixed(1)} | ${Number.isNaN(rdPer) ? 'n/a' : rdPer.toFixed(1)} | **${Number.isNaN(rdPer) ? 'n/a' : ratio(flPer, rdPer)}** | ${fmt(fillMs)} / ${Number.isNaN(rdFillMs) ? 'n/a' : fmt(rdFillMs)} | ${probe(kind, 0)[0]} ${median(flUs).toFixed(2)} / ${rc ? median(rdUs).toFixed(2) : 'n/a'} | ${fmt(flSaveMs)} / ${Number.isNaN(rdSaveMs) ? 'n/a' : fmt(rdSaveMs)} (${(assembly / 1048576).toFixed(1)} MB) |`);
      db.call('DEL', `big-${kind}`);
      if (rc !== null) await rc.call('DEL', `big-${kind}`);
    }
  } finally {
    await db.close();
    if (rc !== null) await rc.close();
    if (redis !== null) await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const md = [
    `## Collections: ${fmt(n)} elements per collection`,
    '',
    'Memory = used_memory growth per element (forkless embedded vs redis-server 7.0, same commands, batches of 500). Target ≤ 1.0×.',
    'Fill = time to build the collection (forkless embedded call() / redis-server pipelined over a socket, not comparable one to one).',
    'Probe = µs per random HGET / SISMEMBER / ZRANK / LINDEX 0 (embedded call / redis pipelined by 100), median of 3 interleaved rounds.',
    '',
    'BGSAVE = ms until a background save of that one collection is done (forkless worker / redis-server fork), idle; in brackets the worker\'s assembly peak.',
    '',
    '| collection | forkless B/elem | redis B/elem | ratio | fill ms (forkless / redis) | probe µs (forkless / redis) | BGSAVE ms (forkless / redis) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  writeResult('collections', data, md);
  return md;
}

if (process.argv[1] !== undefined && process.argv[1].endsWith('collections.js')) {
  console.log(await runCollections());
}
