/**
 * Test support for differential server tests: a real redis-server 7.0 and a forkless server (the
 * real engine behind the RESP front end, in this process) started side by side, and a client that
 * keeps every frame it receives, so replies and out-of-band pushes (pub/sub messages, MONITOR
 * lines) can be compared in order.
 *
 *   const pair = await startPair({ redisArgs: ['--enable-debug-command', 'yes'], settings: { 'enable-debug-command': 'yes' } });
 *   const [r, f] = await pair.clients();      // one FrameClient per server
 *   await r.call('SET', 'k', 'v');            // next frame
 *   await pair.stop();
 */
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RespParser, encodeCommand, showReply, type Arg } from './resp-client.js';
import { startRedis, type RealRedis } from './real-redis.js';
import type { Reply } from '../../engine/commands/types.js';
import { open, type Forkless } from '../../engine/index.js';
import { RespServer, type ServerOptions } from '../../engine/server/server.js';
import { redisTool } from '../server-helpers.js';

/** A connection that parses every frame the server sends into a queue. */
export class FrameClient {
  private readonly parser = new RespParser();
  private readonly frames: Reply[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.parser.push(d);
      for (;;) {
        const r = this.parser.next();
        if (r === undefined) break;
        this.frames.push(r);
      }
      this.wake();
    });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => { /* surfaces as close */ });
  }

  static connect(port: number): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.setNoDelay(true);
        resolve(new FrameClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitFor(pred: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    return new Promise((resolve) => {
      const check = (): void => {
        if (pred() || this.closed || Date.now() >= deadline) return resolve();
        const t = setTimeout(check, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); check(); });
      };
      check();
    });
  }

  send(...argv: Arg[]): void {
    this.socket.write(encodeCommand(argv));
  }

  /** The next `n` frames (fewer if they do not come within `ms`). */
  async next(n = 1, ms = 3000): Promise<Reply[]> {
    await this.waitFor(() => this.frames.length >= n, ms);
    return this.frames.splice(0, n);
  }

  /** Sends a command and returns its (single) reply frame; undefined when none came. */
  async call(...argv: Arg[]): Promise<Reply | undefined> {
    this.send(...argv);
    return (await this.next(1))[0];
  }

  /** Everything received until nothing more arrives for `quietMs`. */
  async drain(quietMs = 80): Promise<Reply[]> {
    for (;;) {
      const before = this.frames.length;
      await new Promise((r) => setTimeout(r, quietMs));
      if (this.frames.length === before) break;
    }
    return this.frames.splice(0);
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface Pair {
  redis: RealRedis;
  redisPort: number;
  ours: { port: number; server: RespServer; db: Forkless; dir: string };
  /** One FrameClient per server: [redis, forkless]. */
  clients(): Promise<[FrameClient, FrameClient]>;
  stop(): Promise<void>;
}

export interface PairOptions {
  /** Extra redis-server arguments. */
  redisArgs?: string[];
  /** Config directives for the forkless engine (open()). */
  settings?: Record<string, string>;
  /** RespServer options for forkless. */
  server?: ServerOptions;
}

/** Whether the real-Redis side can run; skips loudly, or throws under FORKLESS_REQUIRE_REDIS. */
export function haveRedisServer(): boolean {
  return redisTool('redis-server') !== null;
}

export async function startPair(opts: PairOptions = {}): Promise<Pair> {
  const redis = await startRedis({ args: opts.redisArgs ?? [] });
  const dir = mkdtempSync(join(tmpdir(), 'forkless-dual-'));
  const db = await open({ dir, save: '', appendonly: 'no', loglevel: 'warning', logfile: join(dir, 'log'), ...opts.settings });
  const server = new RespServer(db.engine, { port: 0, bind: '127.0.0.1', ...opts.server });
  const addrs = await server.listen();
  const port = addrs[0]!.port;
  const open_: FrameClient[] = [];
  return {
    redis,
    redisPort: redis.port,
    ours: { port, server, db, dir },
    async clients(): Promise<[FrameClient, FrameClient]> {
      const a = await FrameClient.connect(redis.port);
      const b = await FrameClient.connect(port);
      open_.push(a, b);
      return [a, b];
    },
    async stop(): Promise<void> {
      for (const c of open_) c.close();
      await server.close();
      await db.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One line per frame, for readable assertion messages. */
export function show(frames: readonly (Reply | undefined)[]): string {
  return frames.map((f) => (f === undefined ? '(no reply)' : showReply(f))).join('\n');
}

/**
 * A scripted session step: an argv for client 0 (one reply frame), a command for client `c`
 * expecting `frames` frames, reading `recv` frames client `c` got unprompted, or a pause.
 */
export type Step =
  | Arg[]
  | { c: number; argv: Arg[]; frames?: number }
  | { c: number; recv: number }
  | { sleep: number };

export interface Session { name: string; clients?: number; steps: Step[] }

/** Values that legitimately differ between two servers (ids, ports, ages, buffer sizes, times). */
export function normalize(s: string): string {
  return s.replace(/id=\d+/g, 'id=N').replace(/addr=[^ ]+/g, 'addr=A').replace(/laddr=[^ ]+/g, 'laddr=A')
    .replace(/fd=\d+/g, 'fd=N').replace(/(age|idle|qbuf|qbuf-free|argv-mem|multi-mem|rbs|rbp|obl|oll|omem|tot-mem)=\d+/g, '$1=N')
    .replace(/"id", :\d+/g, '"id", :N').replace(/"id": :\d+/g, '"id": :N')
    .replace(/\+\d{10}\.\d{6} \[(\d+) [^\]]+\]/g, '+T [$1 PEER]');
}

/**
 * Runs a session on the server at `port` with fresh connections (FLUSHALL first) and returns one
 * normalized line per step, so two servers' transcripts compare line by line.
 */
export async function runSession(c: Session, port: number): Promise<string[]> {
  const clients: FrameClient[] = [];
  for (let i = 0; i < (c.clients ?? 1); i++) clients.push(await FrameClient.connect(port));
  const out: string[] = [];
  try {
    await clients[0]!.call('FLUSHALL');
    for (const s of c.steps) {
      if ('sleep' in s) {
        await new Promise((r) => setTimeout(r, s.sleep));
        continue;
      }
      if ('recv' in s) {
        const got = await clients[s.c]!.next(s.recv);
        out.push(`c${s.c} <- ${normalize(show(got))}`);
        continue;
      }
      const [idx, argv, n] = Array.isArray(s) ? [0, s, 1] : [s.c, s.argv, s.frames ?? 1];
      const cl = clients[idx]!;
      cl.send(...argv);
      const got = n === 0 ? [] : await cl.next(n);
      out.push(`c${idx} ${argv.map(String).join(' ')} -> ${normalize(show(got))}`);
    }
    for (let i = 0; i < clients.length; i++) {
      const extra = await clients[i]!.drain(30);
      if (extra.length > 0) out.push(`c${i} extra frames: ${normalize(show(extra))}`);
    }
  } finally {
    for (const cl of clients) cl.close();
  }
  return out;
}
