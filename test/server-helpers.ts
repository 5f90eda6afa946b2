/**
 * Test support for the RESP front end: a tiny ServerEnginePort over a Map (GET/SET/PING/ECHO/INCR
 * and the few commands clients send on connect), servers on free loopback ports, raw socket
 * clients, and locating the Redis tools. Not shipped.
 *
 * GET returns views into one SharedArrayBuffer and SET overwrites same-length values in place, so a
 * front end that sent views instead of copying them would put later bytes on the wire.
 */
import { freePort } from './support/real-redis.js';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { ReplyError } from '../engine/errors.js';
import { MapReply, type ClientState, type Reply } from '../engine/commands/types.js';
import type { LogLevel, ServerEnginePort, ServerFrontEnd, ShutdownOptions } from '../engine/server/engine-port.js';
import { RespServer, type ServerOptions } from '../engine/server/server.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from '../engine/index.js';

const KNOWN = new Set(['get', 'set', 'ping', 'echo', 'incr', 'del', 'dbsize', 'flushall', 'info', 'config', 'select', 'command', 'multi', 'exec', 'discard', 'mget', 'strlen']);

export class MapPort implements ServerEnginePort {
  private readonly sab = new SharedArrayBuffer(64 * 1024 * 1024);
  private used = 0;
  readonly data = new Map<string, Buffer>();
  readonly settings = new Map<string, string>([['save', ''], ['appendonly', 'no']]);
  readonly config = { get: (name: string): string | undefined => this.settings.get(name) };
  readonly logs: Array<[LogLevel, string]> = [];
  readonly closed: number[] = [];
  shutdowns: ShutdownOptions[] = [];
  frontEnd: ServerFrontEnd | null = null;
  executed = 0;
  private nextId = 1;

  newClientState(): ClientState {
    return { id: this.nextId++, db: 0, resp: 2, name: null, multi: null };
  }

  log(level: LogLevel, msg: string): void {
    this.logs.push([level, msg]);
  }

  async shutdown(opts: ShutdownOptions): Promise<void> {
    this.shutdowns.push(opts);
  }

  clientClosed(client: ClientState): void {
    this.closed.push(client.id);
  }

  attachServer(server: ServerFrontEnd): void {
    this.frontEnd = server;
  }

  isWriteCommand(argv: Buffer[]): boolean {
    return ['set', 'incr', 'del', 'flushall'].includes(argv[0]!.toString().toLowerCase());
  }

  checkCommand(argv: Buffer[]): ReplyError | null {
    const name = argv[0]!.toString().toLowerCase();
    if (!KNOWN.has(name)) return unknown(argv);
    return null;
  }

  private store(key: string, value: Buffer): void {
    const old = this.data.get(key);
    if (old !== undefined && old.length === value.length) {
      old.set(value);
      return;
    }
    if (this.used + value.length > this.sab.byteLength) this.used = 0;
    const view = Buffer.from(this.sab, this.used, value.length);
    view.set(value);
    this.used += value.length;
    this.data.set(key, view);
  }

  execute(client: ClientState, argv: Buffer[]): Reply {
    this.executed++;
    const name = argv[0]!.toString().toLowerCase();
    if (client.multi !== null && name !== 'exec' && name !== 'discard' && name !== 'multi') {
      client.multi.push(argv);
      return 'QUEUED';
    }
    switch (name) {
      case 'ping': return argv.length > 1 ? argv[1]! : 'PONG';
      case 'echo': return argv[1] ?? new ReplyError("ERR wrong number of arguments for 'echo' command");
      case 'get': return this.data.get(argv[1]!.toString('latin1')) ?? null;
      case 'strlen': return this.data.get(argv[1]!.toString('latin1'))?.length ?? 0;
      case 'mget': return argv.slice(1).map((k) => this.data.get(k.toString('latin1')) ?? null);
      case 'set':
        if (argv.length < 3) return new ReplyError("ERR wrong number of arguments for 'set' command");
        this.store(argv[1]!.toString('latin1'), argv[2]!);
        return 'OK';
      case 'del': return argv.slice(1).filter((k) => this.data.delete(k.toString('latin1'))).length;
      case 'incr': {
        const k = argv[1]!.toString('latin1');
        const n = Number(this.data.get(k)?.toString() ?? '0') + 1;
        this.store(k, Buffer.from(String(n)));
        return n;
      }
      case 'dbsize': return this.data.size;
      case 'flushall': this.data.clear(); return 'OK';
      case 'select': client.db = Number(argv[1]); return 'OK';
      case 'info': return Buffer.from('# Server\r\nredis_version:7.0.15\r\nloading:0\r\n');
      case 'config': {
        const sub = argv[1]?.toString().toLowerCase();
        if (sub === 'get') {
          const k = argv[2]!.toString();
          const v = this.settings.get(k);
          return v === undefined ? [] : [Buffer.from(k), Buffer.from(v)];
        }
        if (sub === 'set') {
          this.settings.set(argv[2]!.toString(), argv[3]!.toString());
          return 'OK';
        }
        return new ReplyError('ERR unknown subcommand');
      }
      case 'command': return [];
      case 'multi': client.multi = []; return 'OK';
      case 'discard': client.multi = null; return 'OK';
      case 'exec': {
        const q = client.multi ?? [];
        client.multi = null;
        return q.map((a) => {
          const cmd = a[0]!.toString().toLowerCase();
          if (this.frontEnd?.connectionCommandNames.has(cmd)) return this.frontEnd.connectionCommand(client, a);
          return this.execute(client, a);
        });
      }
      case 'hgetall': return new MapReply([]);
      default: return unknown(argv);
    }
  }
}

function unknown(argv: Buffer[]): ReplyError {
  const args = argv.slice(1).map((a) => `'${a.toString()}' `).join('');
  return new ReplyError(`ERR unknown command '${argv[0]!.toString()}', with args beginning with: ${args}`);
}

export async function startServer(port: MapPort | ServerEnginePort = new MapPort(), opts: ServerOptions = {}): Promise<{ server: RespServer; port: number; engine: ServerEnginePort }> {
  const server = new RespServer(port, { port: 0, bind: '127.0.0.1', ...opts });
  const addrs = await server.listen();
  return { server, port: addrs[0]!.port, engine: port };
}

export function encodeCommand(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export type EngineKind = 'map' | 'real';

/**
 * An engine for the server: the in-test Map port, or the real engine (open() in a temporary dir,
 * persistence off). `settings` are config directives (requirepass, maxclients ...).
 */
export async function makeEngine(kind: EngineKind, settings: Record<string, string> = {}): Promise<{ port: ServerEnginePort; close(): Promise<void> }> {
  if (kind === 'map') {
    const m = new MapPort();
    for (const [k, v] of Object.entries(settings)) m.settings.set(k, v);
    return { port: m, close: async () => { /* nothing held */ } };
  }
  const dir = mkdtempSync(join(tmpdir(), 'forkless-server-test-'));
  const db = await open({ dir, save: '', appendonly: 'no', loglevel: 'nothing', ...settings });
  return {
    port: db.engine,
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw socket client that collects everything the server sends until it closes. */
export class RawClient {
  readonly socket: net.Socket;
  closed = false;
  private chunks: Buffer[] = [];
  private total = 0;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.total += d.length;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => { /* surfaces as close */ });
  }

  /** Everything received so far (assign an empty Buffer to forget it). */
  get data(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  set data(b: Buffer) {
    this.chunks = b.length > 0 ? [b] : [];
    this.total = b.length;
  }

  get length(): number {
    return this.total;
  }

  /** Connects to 127.0.0.1:port, or to a unix socket path. */
  static connect(port: number | string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const opts = typeof port === 'string' ? { path: port } : { port, host: '127.0.0.1' };
      const s = net.connect(opts, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Waits until `pred` holds on the received bytes (or the connection closed, or timeout). */
  async until(pred: (data: Buffer, closed: boolean) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pred(this.data, this.closed)) {
      if (this.closed || Date.now() > deadline) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    return this.data.toString('latin1');
  }

  /** Waits for at least `n` bytes. */
  async bytes(n: number, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (this.total < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
    return this.data.toString('latin1');
  }

  /** Waits for the text to contain `s`. */
  contains(s: string, ms = 5000): Promise<string> {
    return this.until((d) => d.toString('latin1').includes(s), ms);
  }

  /** Waits for `n` complete replies. */
  replies(n = 1, ms = 5000): Promise<string> {
    return this.until((d) => countReplies(d) >= n, ms);
  }

  /** Sends a command and returns its reply (forgetting earlier bytes). */
  async ask(...args: Array<string | Buffer>): Promise<string> {
    this.data = Buffer.alloc(0);
    this.write(encodeCommand(...args));
    return this.replies(1);
  }

  waitClosed(ms = 5000): Promise<string> {
    return this.until((_d, closed) => closed, ms);
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Path of a Redis tool, or null. With FORKLESS_REQUIRE_REDIS set a missing tool is an error;
 * otherwise the caller skips, saying so loudly.
 */
export function redisTool(name: 'redis-cli' | 'redis-benchmark' | 'redis-server'): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  if (path !== '') return path;
  if (process.env['FORKLESS_REQUIRE_REDIS']) throw new Error(`${name} is required (FORKLESS_REQUIRE_REDIS is set) but was not found on PATH`);
  console.warn(`\n!!! SKIPPING: ${name} not found on PATH; tests needing it do not run (set FORKLESS_REQUIRE_REDIS=1 to fail instead)\n`);
  return null;
}


/**
 * End offset of the RESP2/RESP3 reply starting at `pos`, or -1 if it is incomplete. Used by tests
 * to wait for whole replies.
 */
export function replyEnd(b: Buffer, pos = 0): number {
  if (pos >= b.length) return -1;
  const cr = b.indexOf('\r\n', pos);
  if (cr === -1) return -1;
  const type = String.fromCharCode(b[pos]!);
  const line = b.toString('latin1', pos + 1, cr);
  const next = cr + 2;
  switch (type) {
    case '+': case '-': case ':': case ',': case '_': case '#': case '(':
      return next;
    case '$': case '=': case '!': {
      const n = Number(line);
      if (n < 0) return next;
      return b.length >= next + n + 2 ? next + n + 2 : -1;
    }
    case '*': case '~': case '>': case '%': case '|': {
      let n = Number(line);
      if (n < 0) return next;
      if (type === '%' || type === '|') n *= 2;
      let p = next;
      for (let i = 0; i < n; i++) {
        p = replyEnd(b, p);
        if (p === -1) return -1;
      }
      return p;
    }
    default:
      return -1;
  }
}

/** Number of complete replies at the start of `b`. */
export function countReplies(b: Buffer): number {
  let n = 0;
  for (let p = 0; p < b.length;) {
    const e = replyEnd(b, p);
    if (e === -1) break;
    n++;
    p = e;
  }
  return n;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (one implementation, in support/real-redis.ts). */
export { freePort };
