/**
 * Test support: run a real redis-server (the compatibility oracle) on a free loopback port.
 *
 *   if (!haveRedis()) { ...skip... }
 *   const r = await startRedis({ args: ['--dbfilename', 'dump.rdb'] });
 *   ... talk to 127.0.0.1:r.port, read files in r.dir ...
 *   await r.stop();
 *
 * Defaults: `--bind 127.0.0.1 --save '' --appendonly no --daemonize no --dbfilename x.rdb`, logging
 * to stdout (captured, see `output()`). `args` are appended after the defaults, so they override
 * them. `dir` defaults to a fresh temp directory that `stop()` deletes; a caller-supplied `dir` is
 * left alone. `stop()` SIGKILLs the process by pid and waits for it to exit (no save on the way out).
 * `startRedis` resolves once the server answers PING with PONG (i.e. it finished loading any RDB
 * in `dir`) and rejects with the server's own log when it exits before that.
 */
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RealRedis {
  port: number;
  dir: string;
  pid: number;
  /** Everything the server logged so far. */
  output(): string;
  stop(): Promise<void>;
}

export class RedisStartError extends Error {
  readonly code = 'EREDISSTART';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisStartError';
  }
}

let available: boolean | undefined;

/** True when a `redis-server` binary is on PATH. */
export function haveRedis(): boolean {
  if (available === undefined) {
    const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
    available = r.status === 0;
  }
  return available;
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves true when `port` answers PING with +PONG. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

export async function startRedis(opts: { args?: string[]; dir?: string } = {}): Promise<RealRedis> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'forkless-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'x.rdb',
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '',
    ...(opts.args ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => { log += d.toString('utf8'); });
  child.stderr.on('data', (d: Buffer) => { log += d.toString('utf8'); });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failure: Error | undefined;
  void spawnError.then((e) => { failure = e; });

  const cleanup = async (): Promise<void> => {
    if (!exited && child.pid !== undefined) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
      await exitedPromise;
    }
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (failure !== undefined) {
      await cleanup();
      throw new RedisStartError(`could not spawn redis-server: ${failure.message}`, { cause: failure });
    }
    if (exited) {
      await cleanup();
      throw new RedisStartError(`redis-server exited during startup:\n${log}`);
    }
    if (await pingOnce(port)) break;
    if (Date.now() > deadline) {
      await cleanup();
      throw new RedisStartError(`redis-server did not answer PING within 20 s:\n${log}`);
    }
    await sleep(20);
  }

  return {
    port,
    dir,
    pid: child.pid!,
    output: () => log,
    stop: cleanup,
  };
}
