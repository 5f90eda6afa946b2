/**
 * Crash tests: a child process runs the embedded engine under a write load and reports every
 * acknowledged write; the parent kills it with SIGKILL at a random moment and reopens the
 * directory. Small counts here (the big counts belong in bench/):
 *  - always, everysec and no with a healthy disk: every acknowledged write is present, every run;
 *  - everysec with a stalled fsync (1.5 s per fsync, injected): whatever is missing was
 *    acknowledged within the last 2 seconds before the kill (Redis's postponement window);
 *  - killed during BGREWRITEAOF and during BGSAVE: the directory loads, nothing acknowledged lost,
 *    and a real redis-server loads it too;
 *  - the same through bin/forkless-server.js (always, everysec, no): four RESP clients pipeline
 *    SETs, every SET answered +OK before the kill is there after it (the server holds replies
 *    until the AOF makes them durable).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../engine/index.js';
import { RespClient } from './support/resp-client.js';
import { freePort } from './support/real-redis.js';
import { dumpWithRealRedis, redisToolsOr, sleep, tempDir } from './aof-helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'aof-crash-child.js');

interface CrashRun {
  dir: string;
  /** Highest acknowledged index (-1 when none). */
  acked: number;
  /** Ack time of each acknowledged batch: [last index, unix ms]. */
  acks: Array<[number, number]>;
  killedAt: number;
  admin: number;
}

/**
 * Starts the child, lets it write for `runMs` (or, with `killOnAdmin`, until it reports starting
 * a rewrite/BGSAVE after the warm-up), then SIGKILLs it.
 */
function crashRun(policy: string, mode: string, runMs: number, env: Record<string, string> = {}): Promise<CrashRun> {
  const dir = tempDir(`crash-${policy}-${mode}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, policy, mode], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: CrashRun = { dir, acked: -1, acks: [], killedAt: 0, admin: 0 };
    let buf = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') {
          timer = setTimeout(() => { run.killedAt = Date.now(); child.kill('SIGKILL'); }, runMs);
        } else if (line.startsWith('ack ')) {
          const [, i, t] = line.split(' ');
          run.acked = Number(i);
          run.acks.push([Number(i), Number(t)]);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own (${code}): ${err}`));
      else resolve(run);
    });
  });
}

/** Reopens the directory; returns the indexes 0..acked that are missing or wrong. */
async function missingAfterRestart(run: CrashRun, policy: string): Promise<number[]> {
  const db = await open({ dir: run.dir, appendonly: 'yes', appendfsync: policy, save: '', loglevel: 'warning' });
  const missing: number[] = [];
  try {
    for (let i = 0; i <= run.acked; i++) {
      const v = db.call('GET', `k:${i}`);
      if (v === null || v.toString() !== String(i)) missing.push(i);
    }
  } finally {
    await db.close();
  }
  return missing;
}

for (const policy of ['always', 'everysec', 'no']) {
  test(`kill -9 under load, appendfsync ${policy}: every acknowledged write survives (3 runs)`, async () => {
    for (let r = 0; r < 3; r++) {
      const run = await crashRun(policy, 'plain', 250 + Math.floor(Math.random() * 500));
      try {
        assert.ok(run.acked > 100, `the child acknowledged ${run.acked + 1} writes`);
        const missing = await missingAfterRestart(run, policy);
        assert.equal(missing.slice(0, 5), [], `run ${r}: ${missing.length} of ${run.acked + 1} acknowledged writes lost`);
      } finally {
        rmSync(run.dir, { recursive: true, force: true });
      }
    }
  });
}

test('kill -9 with a stalled fsync (everysec): only writes acknowledged in the last 2 s may be missing', async () => {
  const run = await crashRun('everysec', 'plain', 3200, { FORKLESS_AOF_TEST_FSYNC_DELAY_MS: '1500' });
  try {
    assert.ok(run.acked > 100);
    const missing = new Set(await missingAfterRestart(run, 'everysec'));
    let oldest = Infinity;
    let prev = -1;
    for (const [last, t] of run.acks) {
      for (let i = prev + 1; i <= last; i++) if (missing.has(i)) oldest = Math.min(oldest, t);
      prev = last;
    }
    const age = oldest === Infinity ? 0 : run.killedAt - oldest;
    console.log(`  stalled fsync: ${missing.size} of ${run.acked + 1} acknowledged writes missing after the kill; oldest acknowledged ${age} ms before it`);
    assert.ok(age <= 2000 + 150, `a write acknowledged ${age} ms before the kill was lost`);
  } finally {
    rmSync(run.dir, { recursive: true, force: true });
  }
});

const real = redisToolsOr('aof-crash');
for (const mode of ['rewrite', 'bgsave']) {
  test(`kill -9 during ${mode === 'rewrite' ? 'BGREWRITEAOF' : 'BGSAVE'}: the directory loads and keeps every acknowledged write (4 runs)`, async () => {
    for (let r = 0; r < 4; r++) {
      const run = await crashRun('everysec', mode, 300 + Math.floor(Math.random() * 700));
      try {
        const missing = await missingAfterRestart(run, 'everysec');
        assert.equal(missing.slice(0, 5), [], `run ${r}: ${missing.length} of ${run.acked + 1} acknowledged writes lost`);
        if (real && r === 0) {
          const { dump } = await dumpWithRealRedis(run.dir);
          let present = 0;
          for (let i = 0; i <= run.acked; i++) if (dump.get(`0:k:${i}`)?.[0] === String(i)) present++;
          assert.is(present, run.acked + 1, 'redis-server sees every acknowledged write too');
        }
      } finally {
        rmSync(run.dir, { recursive: true, force: true });
      }
      await sleep(10);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The same through the RESP server (bin/forkless-server.js)
// ---------------------------------------------------------------------------------------------

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function serverCrashRun(policy: string, runMs: number): Promise<{ dir: string; acked: string[] }> {
  const dir = tempDir(`srv-crash-${policy}`);
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'forkless-server.js'), '--port', String(port), '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', policy, '--loglevel', 'warning'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const acked: string[] = [];
  let stop = false;
  try {
    let c: RespClient | null = null;
    for (let i = 0; i < 200 && c === null; i++) {
      try { c = await RespClient.connect(port); } catch { await sleep(25); }
    }
    const clients = [c!, ...(await Promise.all([1, 2, 3].map(() => RespClient.connect(port))))];
    const loops = clients.map(async (cl, id) => {
      for (let seq = 0; !stop; seq += 10) {
        const cmds = Array.from({ length: 10 }, (_, j) => ['SET', `c${id}:${seq + j}`, String(seq + j)]);
        let replies;
        try { replies = await cl.pipeline(cmds); } catch { return; }
        replies.forEach((r, j) => { if (r === 'OK') acked.push(`c${id}:${seq + j}`); });
      }
    });
    await sleep(runMs);
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(loops);
  } finally {
    if (!stop) child.kill('SIGKILL');
    await exited;
  }
  return { dir, acked };
}

// The server holds every reply until the AOF makes it as durable as the policy promises
// (connection.ts, "Durable replies"), so an acknowledged SET survives kill -9 under each policy.
for (const policy of ['always', 'everysec', 'no']) {
  test(`kill -9 forkless-server under load, appendfsync ${policy}: every acknowledged write survives (2 runs)`, async () => {
    for (let r = 0; r < 2; r++) {
      const run = await serverCrashRun(policy, 300 + Math.floor(Math.random() * 500));
      try {
        assert.ok(run.acked.length > 100, `${run.acked.length} acknowledged writes`);
        const db = await open({ dir: run.dir, appendonly: 'yes', save: '', loglevel: 'warning' });
        const missing = run.acked.filter((k) => db.call('GET', k) === null);
        await db.close();
        assert.equal(missing.slice(0, 5), [], `run ${r}: ${missing.length} of ${run.acked.length} acknowledged writes lost`);
      } finally {
        rmSync(run.dir, { recursive: true, force: true });
      }
    }
  });
}

test.run();
