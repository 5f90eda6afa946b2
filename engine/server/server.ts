/**
 * The RESP server: listeners, the client registry, admission (maxclients, protected mode), idle
 * timeouts, CLIENT PAUSE and SHUTDOWN. Per-connection work lives in connection.ts.
 *
 * Configuration is read from the engine's config at use (`requirepass` at connect and AUTH,
 * `maxclients` at accept, `timeout` and the parser limits once a second), so CONFIG SET of those
 * directives takes effect the way it does in Redis: new values for new events, existing
 * connections keep their authentication.
 */
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ReplyError } from '../errors.js';
import type { ClientState, Reply } from '../commands/types.js';
import type { ClientPeer, LogLevel, ServerEnginePort, ServerFrontEnd, ServerStats, ShutdownOptions } from './engine-port.js';
import { Connection, normalizeIp } from './connection.js';
import { classifyCommand, CMD_NONE, CONNECTION_COMMAND_NAMES, connectionCommand, NO_REPLY } from './connection-commands.js';
import { DEFAULT_LIMITS, type ParserLimits } from './resp-parser.js';
import { Shared } from './resp-writer.js';

export interface ServerOptions {
  /** Overrides the `port` directive; 0 picks a free port (tests). */
  port?: number;
  /** Overrides the `bind` directive (addresses separated by spaces). */
  bind?: string;
  /** Overrides `unixsocket`. */
  unixSocket?: string;
  /** Overrides `unixsocketperm` (octal string, e.g. "700"). */
  unixSocketPerm?: string;
  /** Pause reading a client while this many reply bytes wait in its socket. Default 4 MiB. */
  outputPauseBytes?: number;
  /** Called after a SHUTDOWN command completed (main.ts exits the process here). */
  onShutdown?: () => void;
  /** The config file given on the command line (CONFIG REWRITE rewrites it; made absolute). */
  configFile?: string | null;
}

/** One class of client-output-buffer-limit: bytes (0 = none) and how long soft may be exceeded. */
export interface OutputLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

/**
 * The `client-output-buffer-limit` value ("normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60"),
 * per class. Malformed groups are skipped (the config layer validated the value already).
 */
export function parseOutputLimits(value: string): Map<string, OutputLimit> {
  const out = new Map<string, OutputLimit>([
    ['normal', { hard: 0, soft: 0, softSeconds: 0 }],
    ['pubsub', { hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 }],
  ]);
  const w = value.trim().split(/\s+/);
  for (let i = 0; i + 3 < w.length; i += 4) {
    const cls = w[i]!.toLowerCase();
    const hard = parseMemory(w[i + 1]!), soft = parseMemory(w[i + 2]!), secs = Number(w[i + 3]);
    if (hard === null || soft === null || !Number.isInteger(secs)) continue;
    out.set(cls === 'slave' ? 'replica' : cls, { hard, soft, softSeconds: secs });
  }
  return out;
}

const PROTECTED_MODE_ERROR =
  '-DENIED Redis is running in protected mode because protected mode is enabled and no password is set ' +
  'for the default user. In this mode connections are only accepted from the loopback interface. If you ' +
  'want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just ' +
  "disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by " +
  'connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly ' +
  'accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively ' +
  'you can just disable the protected mode by editing the Redis configuration file, and setting the protected ' +
  'mode option to \'no\', and then restarting the server. 3) If you started the server manually just for ' +
  "testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the " +
  'default user. NOTE: You only need to do one of the above things in order for the server to start accepting ' +
  'connections from the outside.\r\n';

/**
 * Redis's memtoll: a number with an optional unit, k=1000 kb=1024 m=1e6 mb=2^20 g=1e9 gb=2^30
 * (case-insensitive). Null when malformed.
 */
export function parseMemory(value: string): number | null {
  const m = /^(-?\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(value.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mul = unit === 'k' ? 1000 : unit === 'kb' ? 1024 : unit === 'm' ? 1e6 : unit === 'mb' ? 1024 * 1024
    : unit === 'g' ? 1e9 : unit === 'gb' ? 1024 * 1024 * 1024 : 1;
  return n * mul;
}

export class RespServer implements ServerFrontEnd {
  readonly engine: ServerEnginePort;
  readonly outputPauseBytes: number;
  readonly counters: ServerStats = {
    connectedClients: 0, maxClients: 10000, totalConnectionsReceived: 0, rejectedConnections: 0,
    totalNetInputBytes: 0, totalNetOutputBytes: 0, maxInputBuffer: 0, maxOutputBuffer: 0,
    pausedForOutput: 0, tcpPort: 0, totalReadsProcessed: 0, totalWritesProcessed: 0,
  };
  /** client-output-buffer-limit by class (see outputLimit()). */
  private outputLimits = parseOutputLimits('');
  private outputLimitsText = '';
  readonly configFile: string | null;
  readonly connectionCommandNames = CONNECTION_COMMAND_NAMES;
  /** Shared by every parser; refreshed from the config once a second. */
  readonly limits: ParserLimits = { ...DEFAULT_LIMITS };
  private readonly opts: ServerOptions;
  private readonly listeners: Server[] = [];
  private readonly clients = new Map<number, Connection>();
  private cron: NodeJS.Timeout | null = null;
  private pauseTimer: NodeJS.Timeout | null = null;
  /** CLIENT PAUSE: 0 none, 1 WRITE, 2 ALL (Redis keeps the stronger type and later end). */
  private pauseType = 0;
  private pauseEnd = 0;
  private shuttingDown = false;
  private lastSecurityWarning = 0;
  private unixPath: string | null = null;
  /** Connections that received pushes while idle: flushed together on the next turn. */
  private readonly toFlush = new Set<Connection>();
  private flushScheduled = false;

  constructor(engine: ServerEnginePort, opts: ServerOptions = {}) {
    this.engine = engine;
    this.opts = opts;
    this.configFile = opts.configFile ? resolvePath(opts.configFile) : null;
    this.outputPauseBytes = opts.outputPauseBytes ?? 4 * 1024 * 1024;
    this.refreshConfig();
    engine.attachServer?.(this);
  }

  // ---- Configuration ------------------------------------------------------------------------

  private cfg(name: string): string | undefined {
    return this.engine.config.get(name);
  }

  private cfgInt(name: string, dflt: number): number {
    const v = this.cfg(name);
    if (v === undefined) return dflt;
    const n = parseMemory(v);
    return n === null ? dflt : n;
  }

  requirepass(): string {
    return this.cfg('requirepass') ?? '';
  }

  role(): 'master' | 'replica' {
    const r = this.cfg('replicaof') ?? this.cfg('slaveof') ?? '';
    return r.trim() === '' ? 'master' : 'replica';
  }

  private refreshConfig(): void {
    this.limits.maxBulkLen = this.cfgInt('proto-max-bulk-len', DEFAULT_LIMITS.maxBulkLen);
    this.limits.maxQueryBuffer = this.cfgInt('client-query-buffer-limit', DEFAULT_LIMITS.maxQueryBuffer);
    this.counters.maxClients = this.cfgInt('maxclients', 10000);
  }

  /** The output limit of a client class, re-read whenever the directive's text changed. */
  outputLimit(cls: 'normal' | 'pubsub'): OutputLimit | undefined {
    this.refreshOutputLimits();
    return this.outputLimits.get(cls);
  }

  /** Pending output below this many bytes is under every limit (skips the per-push class lookup). */
  outputLimitFloor(): number {
    this.refreshOutputLimits();
    return this.outputFloor;
  }

  private outputFloor = 0;

  private refreshOutputLimits(): void {
    const text = this.cfg('client-output-buffer-limit') ?? '';
    if (text === this.outputLimitsText && this.outputFloor !== 0) return;
    this.outputLimitsText = text;
    this.outputLimits = parseOutputLimits(text);
    let floor = Infinity;
    for (const cls of ['normal', 'pubsub']) {
      const l = this.outputLimits.get(cls);
      if (l === undefined) continue;
      if (l.hard > 0) floor = Math.min(floor, l.hard);
      if (l.soft > 0) floor = Math.min(floor, l.soft);
    }
    this.outputFloor = floor;
  }

  log(level: LogLevel, msg: string): void {
    this.engine.log(level, msg);
  }

  // ---- Listening ----------------------------------------------------------------------------

  /** Opens the listeners (bind × port, unixsocket). Resolves with the TCP addresses bound. */
  async listen(): Promise<AddressInfo[]> {
    const port = this.opts.port ?? this.cfgInt('port', 6379);
    const bindSpec = this.opts.bind ?? this.cfg('bind') ?? '127.0.0.1';
    const backlog = this.cfgInt('tcp-backlog', 511);
    const bound: AddressInfo[] = [];
    const tcp = this.opts.port === 0 || port !== 0;
    if (tcp) {
      let chosenPort = port;
      for (const raw of bindSpec.split(/\s+/).filter((s) => s !== '')) {
        const optional = raw.startsWith('-');
        const spec = optional ? raw.slice(1) : raw;
        const host = spec === '*' ? '0.0.0.0' : spec === '::*' ? '::' : spec;
        try {
          const srv = await this.listenOn({ host, port: chosenPort, backlog, ipv6Only: host.includes(':') });
          const a = srv.address() as AddressInfo;
          bound.push(a);
          chosenPort = a.port; // port 0: later addresses reuse the port the first one got
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
          await this.close();
          throw e;
        }
      }
      this.counters.tcpPort = bound[0]?.port ?? 0;
    }
    const unix = this.opts.unixSocket ?? this.cfg('unixsocket') ?? '';
    if (unix !== '') {
      if (existsSync(unix)) unlinkSync(unix);
      await this.listenOn({ path: unix, backlog });
      this.unixPath = unix;
      const perm = this.opts.unixSocketPerm ?? this.cfg('unixsocketperm');
      if (perm !== undefined && perm !== '' && perm !== '0') chmodSync(unix, parseInt(perm, 8));
    }
    this.cron = setInterval(() => this.serverCron(), 1000);
    this.cron.unref();
    return bound;
  }

  private listenOn(options: net.ListenOptions): Promise<Server> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ noDelay: true }, (s) => this.accept(s));
      srv.maxConnections = 1 << 30; // admission is ours (maxclients), with Redis's error reply
      srv.once('error', reject);
      srv.listen(options, () => {
        srv.off('error', reject);
        srv.on('error', (e) => this.log('warning', `Listener error: ${e.message}`));
        this.listeners.push(srv);
        resolve(srv);
      });
    });
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.cron !== null) clearInterval(this.cron);
    if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
    this.cron = this.pauseTimer = null;
    for (const c of [...this.clients.values()]) c.close();
    const closing = this.listeners.splice(0).map((s) => new Promise<void>((r) => s.close(() => r())));
    await Promise.all(closing);
    if (this.unixPath !== null && existsSync(this.unixPath)) unlinkSync(this.unixPath);
    this.unixPath = null;
  }

  // ---- Clients ------------------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.shuttingDown) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= this.counters.maxClients) {
      this.counters.rejectedConnections++;
      socket.end(Shared.maxClients);
      socket.on('error', () => socket.destroy());
      return;
    }
    const requirepass = this.requirepass();
    const ip = normalizeIp(socket.remoteAddress);
    const local = ip === undefined || ip === '127.0.0.1' || ip === '::1';
    if (!local && requirepass === '' && (this.cfg('protected-mode') ?? 'yes').toLowerCase() === 'yes') {
      this.counters.rejectedConnections++;
      socket.end(PROTECTED_MODE_ERROR);
      socket.on('error', () => socket.destroy());
      return;
    }
    const keepalive = this.cfgInt('tcp-keepalive', 300);
    if (keepalive > 0 && ip !== undefined) socket.setKeepAlive(true, keepalive * 1000);
    this.counters.totalConnectionsReceived++;
    const client = this.engine.newClientState();
    const conn = new Connection(this, socket, client, this.limits, requirepass === '');
    this.clients.set(client.id, conn);
    this.counters.connectedClients = this.clients.size;
    this.log('verbose', `Accepted ${conn.addr}`);
  }

  /** Called by a Connection when it closes. */
  removeConnection(conn: Connection): void {
    if (this.clients.get(conn.client.id) === conn) {
      this.clients.delete(conn.client.id);
      this.counters.connectedClients = this.clients.size;
      this.engine.clientClosed?.(conn.client);
    }
  }

  connections(): Connection[] {
    return [...this.clients.values()];
  }

  connectionById(id: number): Connection | undefined {
    return this.clients.get(id);
  }

  /** Once a second: idle timeouts, config refresh, buffer statistics. */
  private serverCron(): void {
    this.refreshConfig();
    const timeout = this.cfgInt('timeout', 0);
    const now = Date.now();
    let maxIn = 0, maxOut = 0;
    for (const c of this.clients.values()) {
      if (timeout > 0 && now - c.lastInteraction > timeout * 1000 && !c.held) {
        this.log('verbose', 'Closing idle client');
        c.close();
        continue;
      }
      const qb = c.parser.bufferedBytes;
      const ob = c.pendingOutput + c.out.length;
      if (qb > maxIn) maxIn = qb;
      if (ob > maxOut) maxOut = ob;
    }
    this.counters.maxInputBuffer = maxIn;
    this.counters.maxOutputBuffer = maxOut;
  }

  // ---- Commands needing the whole server ------------------------------------------------------

  /** A POST / Host: line: log (at most once a minute) and drop the connection. */
  securityWarning(): void {
    const now = Date.now();
    if (now - this.lastSecurityWarning > 60_000) {
      this.lastSecurityWarning = now;
      this.log('warning', 'Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: ' +
        'commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to ' +
        'compromise your Redis instance. Connection aborted.');
    }
  }

  /** execute() threw: a ReplyError is the reply; anything else is a bug, logged and reported. */
  unexpected(err: unknown, argv: Buffer[]): Reply {
    if (err instanceof ReplyError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    this.log('warning', `Command '${argv[0]!.toString('latin1')}' failed: ${err instanceof Error ? err.stack ?? msg : msg}`);
    return new ReplyError(`ERR ${msg}`);
  }

  /**
   * CLIENT PAUSE: until `ms` pass or CLIENT UNPAUSE, commands wait (ALL), or only commands that
   * may write (WRITE; the engine's isWriteCommand decides, every command counts as a write when
   * the engine cannot tell). A new pause keeps the stronger type and the later end.
   */
  pauseClients(ms: number, writeOnly: boolean): void {
    const type = writeOnly ? 1 : 2;
    if (type > this.pauseType) this.pauseType = type;
    const end = Date.now() + ms;
    if (end > this.pauseEnd || this.pauseTimer === null) {
      this.pauseEnd = Math.max(end, this.pauseEnd);
      if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
      this.pauseTimer = setTimeout(() => this.unpauseClients(), this.pauseEnd - Date.now());
      this.pauseTimer.unref();
    }
  }

  /** Whether `argv` must wait for the current CLIENT PAUSE. */
  pausedFor(argv: Buffer[], client: ClientState): boolean {
    if (this.pauseType === 0) return false;
    if (this.pauseType === 2) return true;
    if (classifyCommand(argv[0]!) !== CMD_NONE) return false;
    return this.engine.isWriteCommand?.(argv, client) ?? true;
  }

  unpauseClients(): void {
    if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    this.pauseType = 0;
    this.pauseEnd = 0;
    for (const c of [...this.clients.values()]) c.release('pause');
  }

  /** SHUTDOWN from a client: the engine persists and stops; then we close and exit. */
  shutdownFromClient(conn: Connection, opts: ShutdownOptions): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    conn.hold('shutdown');
    this.engine.shutdown(opts).then(
      async () => {
        await this.close();
        this.opts.onShutdown?.();
      },
      (e: unknown) => {
        this.shuttingDown = false;
        // The engine logged Redis's lines ("Error trying to save the DB, can't exit." ...); this is the cause.
        this.log('verbose', `Shutdown refused: ${e instanceof Error ? e.message : String(e)}`);
        if (!conn.closed) {
          conn.out.error('ERR Errors trying to SHUTDOWN. Check logs.');
          conn.release('shutdown');
          conn.flush();
        }
      },
    );
  }

  // ---- ServerFrontEnd (for the engine) --------------------------------------------------------

  stats(): ServerStats {
    return { ...this.counters };
  }

  connectionCommand(client: ClientState, argv: Buffer[]): Reply {
    const conn = this.clients.get(client.id);
    const kind = argv.length > 0 ? classifyCommand(argv[0]!) : CMD_NONE;
    if (conn === undefined || kind === CMD_NONE) return new ReplyError('ERR not a connection command');
    const r = connectionCommand(conn, kind, argv);
    return r === NO_REPLY ? null : r;
  }

  push(clientId: number, reply: Reply): boolean {
    const conn = this.clients.get(clientId);
    if (conn === undefined) return false;
    if (conn.pushReply(reply)) this.scheduleFlush(conn);
    return true;
  }

  clientPeer(clientId: number): ClientPeer | null {
    const conn = this.clients.get(clientId);
    if (conn === undefined) return null;
    return { addr: conn.addr, unixSocket: conn.isUnix ? this.unixPath ?? '' : null, local: conn.isLocal };
  }

  /**
   * Why: a PUBLISH reaches N subscribers; writing to each socket at once would cost N syscalls
   * per message. Idle connections with pushed output are flushed together once the current turn
   * of the event loop ends, so a burst of messages leaves in one write per subscriber.
   */
  private scheduleFlush(conn: Connection): void {
    this.toFlush.add(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const conns = [...this.toFlush];
      this.toFlush.clear();
      for (const c of conns) c.flushPushed();
    });
  }
}
