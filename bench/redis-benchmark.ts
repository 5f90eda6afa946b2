/**
 * Server throughput and tail latency next to real Redis, measured the same way for both:
 * redis-benchmark on 127.0.0.1 with the issue's flags (`-t set,get,incr,mset -n N`), in three
 * scenarios: 50 clients without pipelining, 50 clients with -P 16, 1000 clients without
 * pipelining. Persistence is off on both servers (--save '' --appendonly no).
 *
 * A/B interleaving: both servers run side by side for the whole benchmark, and within each round
 * every scenario is measured on one server and then on the other (the order alternating from
 * round to round), so a noisy neighbour or thermal drift hits both alike. Medians over the rounds
 * are reported, with the ratio forkless / Redis for requests per second and for p99 latency.
 *
 *   npm run bench -- server                      (bench/run-all.ts; writes bench/results/server.{json,md})
 *   BENCH_SERVER_N=100000 BENCH_ROUNDS=1 npm run bench -- server    (a quick check)
 *   node dist/bench/redis-benchmark.js [-n 1000000] [-r 3] [--engine real|map|both]
 *
 * --engine map adds the RESP front end over the in-test Map engine (isolates the front end's
 * cost). To see where time goes, run forkless under `node --cpu-prof bin/forkless-server.js ...`
 * and point redis-benchmark at it.
 */
import { freePort } from '../test/support/real-redis.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespServer } from '../engine/server/server.js';
import { MapPort } from '../test/server-helpers.js';
import { fmt, median, writeResult } from './common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

type Kind = 'redis' | 'real' | 'map';

interface Scenario { name: string; clients: number; pipeline: number }

const SCENARIOS: Scenario[] = [
  { name: '-c 50 -P 1', clients: 50, pipeline: 1 },
  { name: '-c 50 -P 16', clients: 50, pipeline: 16 },
  { name: '-c 1000 -P 1', clients: 1000, pipeline: 1 },
];
const TESTS = ['SET', 'GET', 'INCR', 'MSET (10 keys)'];

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
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

interface Target { kind: Kind; name: string; port: number; child: ChildProcess; dir: string | null }

const NAMES: Record<Kind, string> = { redis: 'redis-server 7.0', real: 'forkless', map: 'forkless front end + Map' };

async function startTarget(kind: Kind): Promise<Target> {
  const port = await freePort();
  let child: ChildProcess;
  let dir: string | null = null;
  const common = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (kind === 'redis') {
    dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
    child = spawn('redis-server', [...common, '--dir', dir], { stdio: 'ignore' });
  } else if (kind === 'real') {
    dir = mkdtempSync(join(tmpdir(), 'bench-forkless-'));
    child = spawn(process.execPath, [join(root, 'bin', 'forkless-server.js'), ...common, '--dir', dir], { stdio: 'ignore' });
  } else {
    child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve-map', String(port)], { stdio: 'ignore' });
  }
  await waitPort(port);
  return { kind, name: NAMES[kind], port, child, dir };
}

async function stopTarget(t: Target): Promise<void> {
  if (t.child.exitCode === null && t.child.pid !== undefined) {
    t.child.kill('SIGKILL');
    await new Promise((r) => t.child.once('exit', r));
  }
  if (t.dir !== null) rmSync(t.dir, { recursive: true, force: true });
}

interface Sample { rps: number; p99: number }

/** One redis-benchmark run; per test its requests/s and p99 latency (ms), from --csv output. */
function runBenchmark(port: number, s: Scenario, n: number): Map<string, Sample> {
  const r = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get,incr,mset', '-n', String(n),
    '-c', String(s.clients), '-P', String(s.pipeline), '--csv'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const out = new Map<string, Sample>();
  for (const line of r.stdout.split('\n')) {
    const cells = line.split('","').map((c) => c.replace(/"/g, ''));
    if (cells.length < 7 || !TESTS.includes(cells[0]!)) continue;
    out.set(cells[0]!, { rps: Number(cells[1]), p99: Number(cells[6]) });
  }
  if (out.size === 0) throw new Error(`redis-benchmark produced no results on port ${port}: ${r.stderr || r.stdout}`);
  return out;
}

export interface ServerBenchResult {
  requests: number;
  rounds: number;
  /** [scenario][test][server] → medians and all samples. */
  results: Record<string, Record<string, Record<string, { rps: number; p99: number; samples: Sample[] }>>>;
}

/**
 * Why interleaved and not back to back: on a 2-core box, background load changes within
 * seconds; measuring Redis for a minute and then forkless for a minute would compare two
 * different machines. Each round measures every scenario on both servers, alternating which goes
 * first, and the medians discard the odd disturbed run.
 */
export async function runServer(opts: { requests?: number; rounds?: number; kinds?: Kind[] } = {}): Promise<string> {
  if (which('redis-benchmark') === null) return '## Server (redis-benchmark)\n\nredis-benchmark not found: nothing measured.';
  const n = opts.requests ?? Number(process.env['BENCH_SERVER_N'] ?? 1_000_000);
  const rounds = opts.rounds ?? Number(process.env['BENCH_ROUNDS'] ?? 3);
  const kinds = opts.kinds ?? (which('redis-server') !== null ? ['redis', 'real'] as Kind[] : ['real'] as Kind[]);
  const targets: Target[] = [];
  for (const k of kinds) targets.push(await startTarget(k));
  const samples = new Map<string, Sample[]>(); // `${scenario}|${test}|${server}`
  try {
    for (let round = 0; round < rounds; round++) {
      for (const s of SCENARIOS) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const r = runBenchmark(t.port, s, n);
          for (const [test, v] of r) {
            const key = `${s.name}|${test}|${t.name}`;
            samples.set(key, [...(samples.get(key) ?? []), v]);
          }
          console.log(`  round ${round + 1}/${rounds} ${s.name} ${t.name}: ${[...r].map(([k, v]) => `${k} ${Math.round(v.rps)}/s p99 ${v.p99}ms`).join(', ')}`);
        }
      }
    }
  } finally {
    for (const t of targets) await stopTarget(t);
  }
  const result: ServerBenchResult = { requests: n, rounds, results: {} };
  for (const s of SCENARIOS) {
    const bySc: Record<string, Record<string, { rps: number; p99: number; samples: Sample[] }>> = {};
    for (const test of TESTS) {
      const byTest: Record<string, { rps: number; p99: number; samples: Sample[] }> = {};
      for (const t of targets) {
        const xs = samples.get(`${s.name}|${test}|${t.name}`) ?? [];
        byTest[t.name] = { rps: median(xs.map((x) => x.rps)), p99: median(xs.map((x) => x.p99)), samples: xs };
      }
      bySc[test] = byTest;
    }
    result.results[s.name] = bySc;
  }
  const md = renderMarkdown(result, targets.map((t) => t.name));
  writeResult('server', result, md);
  return md;
}

function renderMarkdown(r: ServerBenchResult, servers: string[]): string {
  const base = servers.includes(NAMES.redis) ? NAMES.redis : null;
  const lines = [
    '## Server: redis-benchmark, forkless vs redis-server 7.0',
    '',
    `redis-benchmark -t set,get,incr,mset -n ${r.requests}, persistence off on both, servers side by side and measured in turn ` +
      `(A/B interleaved), median of ${r.rounds} round(s). Ratios are forkless / Redis: above 1 is better for requests/s, below 1 is better for p99.`,
    '',
  ];
  for (const [scenario, tests] of Object.entries(r.results)) {
    lines.push(`### ${scenario}`, '');
    const head = ['test', ...servers.flatMap((s) => [`${s} req/s`, `${s} p99 ms`])];
    if (base !== null) head.push('req/s ratio', 'p99 ratio');
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const [test, by] of Object.entries(tests)) {
      const cells = [test, ...servers.flatMap((s) => [fmt(by[s]!.rps), by[s]!.p99.toFixed(3)])];
      if (base !== null) {
        const ours = by[NAMES.real] ?? by[servers.find((s) => s !== base)!]!;
        cells.push((ours.rps / by[base]!.rps).toFixed(2) + '×', by[base]!.p99 > 0 ? (ours.p99 / by[base]!.p99).toFixed(2) + '×' : 'n/a');
      }
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const serve = process.argv.indexOf('--serve-map');
  if (serve >= 0) {
    const server = new RespServer(new MapPort(), { port: Number(process.argv[serve + 1]), bind: '127.0.0.1' });
    await server.listen();
    process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
    return;
  }
  const engine = arg('--engine', 'real');
  const kinds: Kind[] = [];
  if (which('redis-server') !== null) kinds.push('redis');
  if (engine === 'both' || engine === 'real') kinds.push('real');
  if (engine === 'both' || engine === 'map') kinds.push('map');
  console.log(await runServer({ requests: Number(arg('-n', '1000000')), rounds: Number(arg('-r', '3')), kinds }));
}

// Run as a script (not when imported by run-all.ts).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
