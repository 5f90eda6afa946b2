/**
 * AOF benchmarks, side by side with real redis-server 7.0.15 configured the same way.
 *
 *   node dist/bench/aof.js [--parts rb,load,rewrite] [-n 1000000] [-r 3] [--keys 1000000] [-c 50]
 *
 *  rb       redis-benchmark -t set -n N -c 50 -d 100 at -P 1 and -P 16 for appendfsync always,
 *           everysec and no; rounds interleave the servers (A/B) so load changes hit all alike.
 *           Servers: redis-server (--appendonly yes --appendfsync X --auto-aof-rewrite-percentage 0);
 *           "forkless (held replies)": the engine behind a minimal RESP front end defined here that
 *           holds every reply until engine.isDurable(barrier) — the reference for the real
 *           server's reply holding; "forkless-server": bin/forkless-server.js itself, which holds
 *           replies the same way (engine/server/connection.ts, "Durable replies"); flagged if a
 *           build does not (then its `always` is not durable before the reply and the number is
 *           only an upper bound).
 *  load     AOF load of N SET commands (16-byte keys, 100-byte values, one incr file): Redis's
 *           "DB loaded from append only file" line vs ours, median of rounds.
 *  rewrite  BGREWRITEAOF of N keys (RDB preamble): wall time until aof_rewrite_in_progress:0.
 *
 * Results go to bench/results/aof.json and aof.md.
 */
import { freePort } from '../test/support/real-redis.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../engine/index.js';
import { ReplyError } from '../engine/errors.js';
import { COMMAND, RespParser } from '../engine/server/resp-parser.js';
import { ReplyBuffer } from '../engine/server/resp-writer.js';
import { fmt, median, writeResult } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}


async function waitPing(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('PING\r\n'));
      c.on('data', (d) => { c.destroy(); resolve(d.toString().startsWith('+PONG')); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answers PING on ${port}`);
}

// ---------------------------------------------------------------------------------------------
// The reply-holding front end (what the server must do with the engine's durability hooks)
// ---------------------------------------------------------------------------------------------

/**
 * Every connection's output produced while processing one input chunk is held until
 * engine.isDurable(engine.durabilityBarrier()) — checked right after the chunk — and released in
 * order by engine.whenDurable(). Replies of later chunks queue behind held ones.
 */
async function serveHolding(port: number, dir: string, policy: string): Promise<void> {
  const db = await open({ dir, appendonly: 'yes', appendfsync: policy, save: '', 'auto-aof-rewrite-percentage': '0', loglevel: 'warning' });
  const engine = db.engine;
  // Comparison only: FORKLESS_BENCH_NO_HOLD=1 sends replies at once (what a server without the hooks does).
  const noHold = process.env['FORKLESS_BENCH_NO_HOLD'] === '1';
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    const parser = new RespParser();
    const out = new ReplyBuffer();
    const client = engine.newClientState();
    const held: Array<{ off: number; data: Buffer }> = [];
    // Registering again waits for a microtask: release runs inside the AOF's acknowledgement
    // loop, which whenDurable() may re-enter (see ServerEnginePort.whenDurable).
    const again = (): void => { if (held.length > 0) engine.whenDurable(held[0]!.off, release); };
    const release = (): void => {
      while (held.length > 0 && engine.isDurable(held[0]!.off)) sock.write(held.shift()!.data);
      if (held.length > 0) queueMicrotask(again);
    };
    sock.on('data', (chunk: Buffer) => {
      parser.feed(chunk);
      while (parser.next() === COMMAND) {
        if (parser.argc === 0) continue;
        const argv = parser.argv();
        try {
          out.reply(engine.execute(client, argv), 2);
        } catch (err) {
          out.reply(err instanceof ReplyError ? err : new ReplyError(`ERR ${(err as Error).message}`), 2);
        }
      }
      const data = out.take();
      if (data === null) return;
      const off = engine.durabilityBarrier();
      if (held.length === 0 && (noHold || engine.isDurable(off))) {
        sock.write(data);
        if (sock.writableLength === 0) out.recycle();
        return;
      }
      held.push({ off, data: Buffer.from(data) });
      out.recycle();
      if (held.length === 1) engine.whenDurable(off, release);
    });
    sock.on('error', () => sock.destroy());
  });
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => { void db.close().then(() => process.exit(0)); });
}

// ---------------------------------------------------------------------------------------------
// redis-benchmark part
// ---------------------------------------------------------------------------------------------

interface Target { name: string; port: number; child: ChildProcess; dir: string }

/** Does the RESP server hold replies until they are durable (uses the engine's hooks)? */
function serverHoldsReplies(): boolean {
  const d = join(root, 'dist', 'engine', 'server');
  if (!existsSync(d)) return false;
  return spawnSync('grep', ['-rl', 'whenDurable', d]).status === 0;
}

async function startTarget(kind: 'redis' | 'holding' | 'server', policy: string): Promise<Target> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `bench-aof-${kind}-`));
  let child: ChildProcess;
  if (kind === 'redis') {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
      '--appendfsync', policy, '--auto-aof-rewrite-percentage', '0', '--dir', dir], { stdio: 'ignore' });
  } else if (kind === 'server') {
    child = spawn(process.execPath, [join(root, 'bin', 'forkless-server.js'), '--port', String(port), '--save', '', '--appendonly', 'yes',
      '--appendfsync', policy, '--auto-aof-rewrite-percentage', '0', '--dir', dir, '--loglevel', 'warning'], { stdio: 'ignore' });
  } else {
    child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-holding', String(port), dir, policy], { stdio: 'ignore' });
  }
  await waitPing(port);
  const name = kind === 'redis' ? 'redis-server 7.0' : kind === 'holding' ? 'forkless (held replies)' : `forkless-server${serverHoldsReplies() ? '' : ' (replies NOT held)'}`;
  return { name, port, child, dir };
}

async function stopTarget(t: Target): Promise<void> {
  t.child.kill('SIGKILL');
  await new Promise((r) => t.child.once('exit', r));
  rmSync(t.dir, { recursive: true, force: true });
}

function redisBenchmark(port: number, p: number, n: number, clients: number): { rps: number; p50: number; p99: number } {
  const r = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-n', String(n), '-c', String(clients),
    '-d', '100', '-P', String(p), '--csv'], { encoding: 'utf8', timeout: 600_000 });
  for (const line of r.stdout.split('\n')) {
    const m = /^"SET","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)","([\d.]+)"/.exec(line);
    if (m) return { rps: Number(m[1]), p50: Number(m[4]), p99: Number(m[6]) };
  }
  return { rps: 0, p50: 0, p99: 0 };
}

interface RbResult { policy: string; p: number; server: string; rps: number[]; p50: number[]; p99: number[] }

async function partRedisBenchmark(n: number, rounds: number, clients: number): Promise<{ md: string; data: RbResult[] }> {
  const kinds: Array<'redis' | 'holding' | 'server'> = ['redis', 'holding', 'server'];
  const results = new Map<string, RbResult>();
  for (const policy of ['always', 'everysec', 'no']) {
    for (let round = 0; round < rounds; round++) {
      for (const p of [1, 16]) {
        for (const kind of kinds) {
          // A fresh server per measurement: every run starts from an empty AOF.
          const t = await startTarget(kind, policy);
          try {
            const r = redisBenchmark(t.port, p, n, clients);
            const key = `${policy}|${p}|${t.name}`;
            const e = results.get(key) ?? { policy, p, server: t.name, rps: [], p50: [], p99: [] };
            e.rps.push(r.rps); e.p50.push(r.p50); e.p99.push(r.p99);
            results.set(key, e);
            console.log(`  ${policy} P${p} ${t.name}: ${fmt(r.rps)} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms)`);
          } finally {
            await stopTarget(t);
          }
        }
      }
    }
  }
  const data = [...results.values()];
  const lines = [`### redis-benchmark -t set -n ${n} -c ${clients} -d 100, median of ${rounds} rounds (SET/s; p50/p99 ms)`, '',
    '| appendfsync | P | redis-server 7.0 | forkless (held replies) | ratio | forkless-server | ratio |', '|---|---|---|---|---|---|---|'];
  for (const policy of ['always', 'everysec', 'no']) {
    for (const p of [1, 16]) {
      const get = (prefix: string): RbResult | undefined => data.find((d) => d.policy === policy && d.p === p && d.server.startsWith(prefix));
      const r = get('redis-server')!;
      const h = get('forkless (held');
      const s = get('forkless-server');
      const cell = (x: RbResult | undefined): string => x === undefined ? 'n/a' : `${fmt(median(x.rps))} (${median(x.p50)}/${median(x.p99)})`;
      const ratio = (x: RbResult | undefined): string => x === undefined ? 'n/a' : `**${(median(x.rps) / median(r.rps)).toFixed(2)}×**`;
      lines.push(`| ${policy} | ${p} | ${cell(r)} | ${cell(h)} | ${ratio(h)} | ${cell(s)} | ${ratio(s)} |`);
    }
  }
  lines.push('', `forkless-server column: ${serverHoldsReplies() ? 'the server holds replies through the engine hooks.' : 'the server does not call the durability hooks yet, so its replies are NOT held (upper bound, and `always` is not durable before the reply there).'}`);
  lines.push('Targets (issue 4): always P1 ≥ 1.3× Redis always; everysec P16 ≥ 1.0× Redis everysec.');
  return { md: lines.join('\n'), data };
}

// ---------------------------------------------------------------------------------------------
// AOF load and rewrite parts
// ---------------------------------------------------------------------------------------------

/** An AOF directory with one incr file of n `SET key:%012d <100 bytes>` commands (and a manifest). */
function makeSetAof(dir: string, n: number): number {
  mkdirSync(join(dir, 'appendonlydir'), { recursive: true });
  const alphabet = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  let x = 1;
  const fd = openSync(join(dir, 'appendonlydir', 'appendonly.aof.1.incr.aof'), 'w');
  let chunks: Buffer[] = [Buffer.from('*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n')];
  let size = chunks[0]!.length;
  for (let i = 0; i < n; i++) {
    const rec = Buffer.allocUnsafe(144);
    let p = rec.write(`*3\r\n$3\r\nSET\r\n$16\r\nkey:${String(i).padStart(12, '0')}\r\n$100\r\n`, 0, 'latin1');
    for (let j = 0; j < 100; j++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; rec[p++] = alphabet[x & 63]!; }
    rec[p++] = 0x0d; rec[p++] = 0x0a;
    chunks.push(rec);
    size += rec.length;
    if (chunks.length >= 4096) { writeSync(fd, Buffer.concat(chunks)); chunks = []; }
  }
  writeSync(fd, Buffer.concat(chunks));
  closeSync(fd);
  writeFileSync(join(dir, 'appendonlydir', 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
  return size;
}

async function redisLoadSeconds(src: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-aof-rload-'));
  cpSync(src, dir, { recursive: true });
  const port = await freePort();
  const log = join(dir, 'log.txt');
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
    '--auto-aof-rewrite-percentage', '0', '--dir', dir, '--logfile', log], { stdio: 'ignore' });
  try {
    await waitPing(port);
    const m = /DB loaded from append only file: ([\d.]+) seconds/.exec(readFileSync(log, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function forklessLoadSeconds(src: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-aof-fload-'));
  cpSync(src, dir, { recursive: true });
  try {
    const log = join(dir, 'log.txt');
    const db = await open({ dir, appendonly: 'yes', save: '', 'auto-aof-rewrite-percentage': '0', logfile: log });
    await db.close();
    const m = /DB loaded from append only file: ([\d.]+) seconds/.exec(readFileSync(log, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function partLoad(keys: number, rounds: number): Promise<{ md: string; data: unknown }> {
  const src = mkdtempSync(join(tmpdir(), 'bench-aof-src-'));
  try {
    const bytes = makeSetAof(src, keys);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      theirs.push(await redisLoadSeconds(src));
      ours.push(await forklessLoadSeconds(src));
      console.log(`  load round ${r}: redis ${theirs[r]} s, forkless ${ours[r]} s`);
    }
    const md = [`### AOF load: ${fmt(keys)} SET commands (${fmt(bytes)} B incr file), median of ${rounds} interleaved rounds`, '',
      '| loader | seconds (runs) |', '|---|---|',
      `| redis-server 7.0 ("DB loaded from append only file") | ${median(theirs).toFixed(3)} (${theirs.join(', ')}) |`,
      `| forkless open() (same log line) | ${median(ours).toFixed(3)} (${ours.join(', ')}) |`, '',
      `forkless / Redis: **${(median(ours) / median(theirs)).toFixed(2)}×** (target ≤ 1.0×).`].join('\n');
    return { md, data: { keys, bytes, redis: theirs, forkless: ours } };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

async function partRewrite(keys: number, rounds: number): Promise<{ md: string; data: unknown }> {
  const src = mkdtempSync(join(tmpdir(), 'bench-aof-rwsrc-'));
  makeSetAof(src, keys);
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      // Redis
      {
        const dir = mkdtempSync(join(tmpdir(), 'bench-aof-rrw-'));
        cpSync(src, dir, { recursive: true });
        const port = await freePort();
        const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
          '--auto-aof-rewrite-percentage', '0', '--dir', dir], { stdio: 'ignore' });
        try {
          await waitPing(port);
          const t0 = performance.now();
          spawnSync('redis-cli', ['-p', String(port), 'BGREWRITEAOF']);
          for (;;) {
            const info = spawnSync('redis-cli', ['-p', String(port), 'INFO', 'persistence'], { encoding: 'utf8' }).stdout;
            if (info.includes('aof_rewrite_in_progress:0') && info.includes('aof_rewrite_scheduled:0')) break;
            await new Promise((res) => setTimeout(res, 20));
          }
          theirs.push(Math.round(performance.now() - t0));
        } finally {
          child.kill('SIGKILL');
          await new Promise((res) => child.once('exit', res));
          rmSync(dir, { recursive: true, force: true });
        }
      }
      // forkless
      {
        const dir = mkdtempSync(join(tmpdir(), 'bench-aof-frw-'));
        cpSync(src, dir, { recursive: true });
        try {
          const db = await open({ dir, appendonly: 'yes', save: '', 'auto-aof-rewrite-percentage': '0', loglevel: 'warning' });
          const t0 = performance.now();
          db.call('BGREWRITEAOF');
          while (db.engine.aof.rewriteInProgress) await new Promise((res) => setTimeout(res, 5));
          ours.push(Math.round(performance.now() - t0));
          await db.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      console.log(`  rewrite round ${r}: redis ${theirs[r]} ms, forkless ${ours[r]} ms`);
    }
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  const md = [`### BGREWRITEAOF of ${fmt(keys)} keys (RDB preamble), wall ms until done, median of ${rounds} rounds`, '',
    '| server | ms (runs) |', '|---|---|',
    `| redis-server 7.0 (INFO polled every 20 ms) | ${median(theirs)} (${theirs.join(', ')}) |`,
    `| forkless (polled every 5 ms) | ${median(ours)} (${ours.join(', ')}) |`, '',
    `forkless / Redis: **${(median(ours) / median(theirs)).toFixed(2)}×**.`].join('\n');
  return { md, data: { keys, redis: theirs, forkless: ours } };
}

export async function runAof(parts: string[], n: number, keys: number, rounds: number, clients: number): Promise<string> {
  const sections: string[] = [`## AOF — ${new Date().toISOString()}`, '', `Machine: ${process.platform} ${process.arch}, Node ${process.version}, 2 vCPU (shared, noisy).`, ''];
  const data: Record<string, unknown> = {};
  if (!have('redis-server') || !have('redis-benchmark')) return 'redis-server / redis-benchmark not installed: nothing to compare with';
  if (parts.includes('load')) { const r = await partLoad(keys, rounds); sections.push(r.md, ''); data['load'] = r.data; }
  if (parts.includes('rewrite')) { const r = await partRewrite(keys, rounds); sections.push(r.md, ''); data['rewrite'] = r.data; }
  if (parts.includes('rb')) { const r = await partRedisBenchmark(n, rounds, clients); sections.push(r.md, ''); data['redis-benchmark'] = r.data; }
  const md = sections.join('\n');
  writeResult('aof', data, md);
  return md;
}

const serve = process.argv.indexOf('--serve-holding');
if (serve >= 0) {
  await serveHolding(Number(process.argv[serve + 1]), process.argv[serve + 2]!, process.argv[serve + 3]!);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const parts = arg('--parts', 'load,rewrite,rb').split(',');
  const md = await runAof(parts, Number(arg('-n', '1000000')), Number(arg('--keys', '1000000')), Number(arg('-r', '3')), Number(arg('-c', '50')));
  console.log(md);
}
