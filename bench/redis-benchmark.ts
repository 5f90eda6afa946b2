/**
 * Server throughput next to real Redis, measured the same way for both: redis-benchmark on
 * 127.0.0.1 (`-t set,get -n N -c 50`, -P 1 and -P 16), median of R runs, each server in its own
 * process with persistence off.
 *
 *   node dist/bench/redis-benchmark.js [--engine real|map|both] [-n 200000] [-r 3] [-c 50]
 *
 * --engine real: bin/forkless-server.js (the full engine); map: the RESP front end over a Map
 * engine (isolates the front end's cost); both (default): each in turn. redis-server is measured
 * when installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespServer } from '../engine/server/server.js';
import { MapPort } from '../test/server-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

interface Target { name: string; port: number; child: ChildProcess; dir: string | null }

async function startTarget(kind: 'redis' | 'real' | 'map'): Promise<Target> {
  const port = await freePort();
  let child: ChildProcess;
  let dir: string | null = null;
  if (kind === 'redis') {
    dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  } else if (kind === 'real') {
    dir = mkdtempSync(join(tmpdir(), 'bench-forkless-'));
    child = spawn(process.execPath, [join(root, 'bin', 'forkless-server.js'), '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  } else {
    child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-map', String(port)], { stdio: 'ignore' });
  }
  await waitPort(port);
  const name = kind === 'redis' ? 'redis-server 7.0' : kind === 'real' ? 'forkless (engine)' : 'forkless front end + Map';
  return { name, port, child, dir };
}

async function stopTarget(t: Target): Promise<void> {
  t.child.kill('SIGKILL');
  await new Promise((r) => t.child.once('exit', r));
  if (t.dir !== null) rmSync(t.dir, { recursive: true, force: true });
}

function runBenchmark(port: number, pipeline: number, n: number, clients: number): Map<string, number> {
  const r = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get', '-n', String(n),
    '-c', String(clients), '-P', String(pipeline), '--csv'], { encoding: 'utf8' });
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^"(SET|GET)","([\d.]+)"/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const serve = process.argv.indexOf('--serve-map');
  if (serve >= 0) {
    const server = new RespServer(new MapPort(), { port: Number(process.argv[serve + 1]), bind: '127.0.0.1' });
    await server.listen();
    process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
    return;
  }
  if (which('redis-benchmark') === null) {
    console.log('redis-benchmark not found: nothing to measure');
    return;
  }
  const n = Number(arg('-n', '200000'));
  const runs = Number(arg('-r', '3'));
  const clients = Number(arg('-c', '50'));
  const engine = arg('--engine', 'both');
  const kinds: Array<'redis' | 'real' | 'map'> = [];
  if (which('redis-server') !== null) kinds.push('redis');
  if (engine === 'both' || engine === 'map') kinds.push('map');
  if (engine === 'both' || engine === 'real') kinds.push('real');
  console.log(`redis-benchmark -t set,get -n ${n} -c ${clients}, median of ${runs} rounds (requests/s);`);
  console.log('servers run side by side and are measured in turn within each round, so load changes hit all alike');
  const targets: Target[] = [];
  for (const kind of kinds) {
    try {
      targets.push(await startTarget(kind));
    } catch (e) {
      console.log(`${kind}: failed to start: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const results = new Map<string, number[]>(); // `${name}|${P}|${test}` -> rates
  for (let round = 0; round < runs; round++) {
    for (const p of [1, 16]) {
      for (const t of targets) {
        const r = runBenchmark(t.port, p, n, clients);
        for (const test of ['SET', 'GET']) {
          const key = `${t.name}|${p}|${test}`;
          results.set(key, [...(results.get(key) ?? []), r.get(test) ?? 0]);
        }
      }
    }
  }
  console.log(`| server | P=1 SET | P=1 GET | P=16 SET | P=16 GET |`);
  console.log(`|---|---|---|---|---|`);
  for (const t of targets) {
    const cells: string[] = [];
    for (const p of [1, 16]) {
      for (const test of ['SET', 'GET']) {
        const xs = results.get(`${t.name}|${p}|${test}`) ?? [0];
        cells.push(`${Math.round(median(xs))} (${xs.map((x) => Math.round(x / 1000) + 'k').join(', ')})`);
      }
    }
    console.log(`| ${t.name} | ${cells.join(' | ')} |`);
  }
  for (const t of targets) await stopTarget(t);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
