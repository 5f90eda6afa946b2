/**
 * The engine: one keyspace, the command table, persistence and the cron, behind one `execute()`.
 * The embedded API (index.ts) and the RESP server (server/) are two front ends over it.
 *
 * Per command (Redis's call()): set the keyspace clock, refuse writes while persistence is failing
 * (MISCONF), dispatch, count dirty changes for the save rules, hand propagated writes to the
 * listeners (AOF and replicas subscribe there).
 *
 * The cron runs `hz` times a second on an unref'd timer: active expiry within a time budget,
 * incremental rehashing, save rules. It never keeps an embedded process alive.
 */
import { zsetAuxBytes } from './types/zset.js';
import { Config, type ConfigValue } from './config.js';
import { ReplyError } from './errors.js';
import { createKeyspace, type SharedKeyspace } from './keyspace/keyspace.js';
import { Dispatcher, type DispatchResult } from './commands/dispatch.js';
import { buildCommandTable } from './commands/table.js';
import { serverCommands } from './commands/server.js';
import { transactionCommands } from './commands/transactions.js';
import { pubsubCommands } from './commands/pubsub.js';
import { introspectionCommands, recordEncodings } from './commands/introspection.js';
import { frontEndCommands } from './commands/front-end.js';
import { CommandFlow } from './command-flow.js';
import { BlockingRegistry } from './blocking.js';
import type { ClientState, CommandSpec, Propagation, Reply } from './commands/types.js';
import type { EngineLike } from './commands/engine-like.js';
import { RdbPersistence } from './persist/rdb-persistence.js';
import { AofPersistence } from './persist/aof.js';
import { collectionLimits, loadRdbFile } from './persist/rdb-load.js';
import type { EngineClientInfo, LogLevel, ServerEnginePort, ServerFrontEnd, ShutdownOptions } from './server/engine-port.js';
import { Logger } from './log.js';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const MISCONF = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
  'Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). ' +
  'Please check the Redis logs for details about the RDB error.';

export type PropagationListener = (items: readonly Propagation[]) => void;

export interface EngineStats {
  totalCommands: number;
  expiredKeys: number;
  startTime: number;
}

export class Engine implements EngineLike, ServerEnginePort {
  readonly config: Config;
  readonly keyspace: SharedKeyspace;
  readonly databases: number;
  readonly dispatcher: Dispatcher<Engine>;
  readonly rdb: RdbPersistence;
  /** The append-only file (persist/aof.ts); open only with `appendonly yes`. */
  readonly aof: AofPersistence;
  readonly logger: Logger;
  readonly stats: EngineStats = { totalCommands: 0, expiredKeys: 0, startTime: Date.now() };
  /** MULTI/WATCH, pub/sub, MONITOR, SLOWLOG: the checked command path (command-flow.ts). */
  readonly flow: CommandFlow;
  /** Clients blocked in BLPOP, BLMOVE, BZPOPMIN … (blocking.ts); served after each unit. */
  readonly blocking: BlockingRegistry;
  /** DEBUG SET-ACTIVE-EXPIRE: when false the cron leaves expired keys to lazy expiry. */
  activeExpireEnabled = true;
  server: ServerFrontEnd | null = null;
  private readonly listeners: PropagationListener[] = [];
  /**
   * Lazy-expiry DELs raised while a command runs. Redis propagates them together with the
   * command's own writes (one also_propagate array), so the AOF wraps both in MULTI/EXEC.
   */
  private inCommand = false;
  private expiredInCommand: Propagation[] = [];
  private nextClientId = 1;
  private cronTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private shuttingDown: Promise<void> | null = null;

  constructor(config: Record<string, ConfigValue | undefined>) {
    this.config = new Config(config);
    this.logger = new Logger(this.config);
    this.databases = this.config.getInt('databases');
    this.keyspace = createKeyspace({ pageSize: this.config.getInt('forkless-page-size'), databases: this.databases });
    this.keyspace.auxBytes = zsetAuxBytes;
    this.keyspace.onExpired = (db, key) => this.propagateExpired(db, key);
    this.rdb = new RdbPersistence(this.keyspace, this.config, (lvl, msg) => this.log(lvl, msg));
    const table: CommandSpec<Engine>[] = recordEncodings(buildCommandTable<Engine>(
      serverCommands, transactionCommands, pubsubCommands, introspectionCommands, frontEndCommands));
    this.dispatcher = new Dispatcher<Engine>(this, table);
    this.flow = new CommandFlow(this); // chains keyspace.onExpired, so it comes after that is set
    this.blocking = new BlockingRegistry({
      keyspace: this.keyspace,
      databases: this.databases,
      serveCommand: (client, argv, now) => this.flow.serveBlocked(client, argv, now),
      uncountCall: (argv) => {
        const name = this.dispatcher.fullName(argv);
        const st = name === null ? undefined : this.dispatcher.commandStats.get(name);
        if (st !== undefined) st.calls--;
        this.stats.totalCommands--;
      },
      canWait: (client) => this.server?.clientPeer(client.id) != null,
    });
    this.aof = new AofPersistence({
      keyspace: this.keyspace, config: this.config, log: (lvl, msg) => this.log(lvl, msg),
      dispatcher: this.dispatcher, newClientState: () => this.newClientState(),
      rdbChildActive: () => this.rdb.inProgress, subscribe: (fn) => this.onPropagate(fn),
    });
  }

  /** Loads the dataset from disk (dump.rdb) and starts the cron. */
  async start(): Promise<void> {
    const dir = this.config.getString('dir');
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const file = join(dir, this.config.getString('dbfilename'));
    // appendonly yes: the AOF is the only source and dump.rdb is not read (Redis's loadDataFromDisk).
    const aofOn = this.config.getBool('appendonly');
    this.aof.startup(); // loads and opens the AOF when aofOn; CONFIG SET appendonly starts/stops it later
    if (!aofOn && existsSync(file)) {
      const t0 = performance.now();
      const res = await loadRdbFile(file, this.keyspace, { masterDropsExpired: true, limits: collectionLimits(this.config) }, (sab, len) => this.rdb.crcInWorker(sab, len));
      this.rdb.lastLoadKeysLoaded = res.keysLoaded;
      this.rdb.lastLoadKeysExpired = res.keysExpired;
      this.log('notice', `Done loading RDB, keys loaded: ${res.keysLoaded}, keys expired: ${res.keysExpired}.`);
      this.log('notice', `DB loaded from disk: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
    }
    const hz = this.config.getInt('hz');
    this.cronTimer = setInterval(() => this.cron(), Math.max(1, Math.floor(1000 / hz)));
    this.cronTimer.unref();
    await this.rdb.warmUp(); // the snapshot worker is ready before the first BGSAVE
  }

  log(level: LogLevel, msg: string): void { this.logger.log(level, msg); }

  onPropagate(fn: PropagationListener): void { this.listeners.push(fn); }

  newClientState(): ClientState {
    return { id: this.nextClientId++, db: 0, resp: 2, name: null, multi: null };
  }

  attachServer(server: ServerFrontEnd): void { this.server = server; }

  get protoMaxBulkLen(): number { return this.config.getInt('proto-max-bulk-len'); }

  /** Unknown command / arity errors, which Redis gives even before authentication. */
  checkCommand(argv: Buffer[]): ReplyError | null { return this.dispatcher.check(argv); }

  /** Write (or may-replicate) commands: what CLIENT PAUSE WRITE holds (EXEC: what it queued). */
  isWriteCommand(argv: Buffer[], client?: ClientState): boolean {
    const spec = this.dispatcher.lookup(argv);
    if (spec === null) return false;
    const flags = spec.name === 'exec' && client !== undefined ? this.flow.queuedFlags(client) : spec.flags;
    return flags.includes('write') || flags.includes('mayReplicate');
  }

  // Per-client state hooks of the server port; the state lives in the command flow.
  clientClosed(client: ClientState): void { this.blocking.clientClosed(client); this.flow.clientClosed(client); }
  resetClient(client: ClientState): void { this.blocking.clientClosed(client); this.flow.resetClient(client); }
  clientInfo(client: ClientState): EngineClientInfo { return this.flow.clientInfo(client); }
  connectionCommandRan(client: ClientState, argv: Buffer[], reply: Reply, usec: number): void {
    this.flow.connectionCommandRan(client, argv, reply, usec);
  }

  /**
   * Why writes are refused right now, or null: MISCONF after a failed BGSAVE (with
   * stop-writes-on-bgsave-error), else the AOF's write/fsync error. Writes and PING get it.
   */
  writeRefusal(): string | null {
    if (!this.rdb.lastBgsaveOk && this.rdb.writesRefused()) return MISCONF;
    if (!this.aof.writeOk || !this.aof.fsyncOk) return this.aof.writeError();
    return null;
  }

  /** Runs one command; returns the reply (errors as ReplyError values, never thrown). */
  execute(client: ClientState, argv: Buffer[]): Reply {
    if (this.closed) return new ReplyError('ERR the engine is closed');
    // MULTI queueing, WATCH, pub/sub context and MONITOR need Redis's full processCommand
    // checks: they take the command flow's path. Everything else stays on this direct path.
    if (client.multi !== null || this.flow.busy()) return this.flow.execute(client, argv);
    const now = Date.now();
    this.keyspace.now = now;
    if (!this.rdb.lastBgsaveOk && this.rdb.writesRefused()) {
      const spec = this.dispatcher.lookup(argv);
      if (spec !== null && (spec.flags.includes('write') || spec.name === 'ping')) return new ReplyError(MISCONF);
    } else if (!this.aof.writeOk || !this.aof.fsyncOk) {
      // AOF write/fsync failing: writes and PING refused, reads served (writeCommandsDeniedByDiskError).
      const spec = this.dispatcher.lookup(argv);
      const err = this.aof.writeError();
      if (err !== null && spec !== null && (spec.flags.includes('write') || spec.name === 'ping')) return new ReplyError(err);
    }
    const r = this.dispatchUnit(client, argv, now);
    if (r.usec >= this.flow.trackUsec) this.flow.track(client, argv, r.usec); // SLOWLOG, LATENCY
    if (r.reply instanceof ReplyError) return this.flow.execArity(argv, r.reply);
    return r.reply;
  }

  /**
   * One command through the dispatcher as one execution unit: counted, its dirty changes added
   * to the save rules' count, its writes (with any keys it lazily expired) handed to the
   * listeners. The command flow runs its checked commands, EXEC included, through here too.
   */
  dispatchUnit(client: ClientState, argv: Buffer[], now: number): DispatchResult {
    this.inCommand = true;
    let r: DispatchResult;
    try {
      r = this.dispatcher.dispatch(client, argv, now);
    } finally {
      this.inCommand = false;
    }
    this.stats.totalCommands++;
    if (r.dirty > 0) this.rdb.dirty += r.dirty;
    if (this.expiredInCommand.length > 0) {
      this.propagateWithExpired(argv, r.propagated);
    } else if (r.propagated.length > 0 && this.listeners.length > 0) {
      const items = r.propagated.slice();
      for (const l of this.listeners) l(items);
    }
    // Blocked clients (blocking.ts): keys this write touched may serve them now, after the
    // command and its propagation, as Redis's handleClientsBlockedOnKeys. Serving dispatches at
    // this same depth, which reuses the dispatcher's result object: the caller gets a copy.
    // (EXEC's queued commands are noted by the command flow.)
    if (this.blocking.blockedClients > 0) {
      if (r.dirty > 0) this.blocking.noteWrite(client.db, argv);
      if (this.blocking.hasReady) {
        const own: DispatchResult = { reply: r.reply, dirty: r.dirty, propagated: r.propagated.slice(), usec: r.usec };
        this.blocking.handleReady();
        return own;
      }
    }
    return r;
  }

  /**
   * A command that lazily expired keys: the DELs and the command's writes form one unit, as in
   * Redis 7.0 (wrapped in MULTI/EXEC when more than one op), except for SCAN and RANDOMKEY
   * (CMD_TOUCHES_ARBITRARY_KEYS), whose DELs go out one by one.
   */
  private propagateWithExpired(argv: Buffer[], propagated: readonly Propagation[]): void {
    const expired = this.expiredInCommand;
    this.expiredInCommand = [];
    if (this.listeners.length === 0) return;
    const name = this.dispatcher.lookup(argv)?.name;
    if (name === 'scan' || name === 'randomkey') {
      for (const e of expired) for (const l of this.listeners) l([e]);
      if (propagated.length > 0) for (const l of this.listeners) l(propagated.slice());
      return;
    }
    const items = propagated.length > 0 ? expired.concat(propagated) : expired;
    for (const l of this.listeners) l(items);
  }

  private propagateExpired(db: number, key: Buffer): void {
    this.stats.expiredKeys++;
    if (this.listeners.length === 0) return;
    const cmd = this.config.getBool('lazyfree-lazy-expire') ? 'UNLINK' : 'DEL';
    const item: Propagation = { db, argv: [Buffer.from(cmd), key] };
    if (this.inCommand) { this.expiredInCommand.push(item); return; }
    const items: Propagation[] = [item];
    for (const l of this.listeners) l(items);
  }

  /** FLUSHALL with save rules: Redis discards a running BGSAVE and saves the empty dataset. */
  afterFlushAll(): void {
    if (this.config.saveRules().length === 0) return;
    if (this.rdb.inProgress) this.rdb.discardRunning();
    try { this.rdb.saveSync(); } catch { /* logged by saveSync; FLUSHALL itself succeeded */ }
    this.rdb.dirty++;
  }

  private lazyFreeTimer: NodeJS.Timeout | null = null;

  /**
   * Why: Redis frees a big DEL/UNLINK/FLUSHALL on its lazyfree thread. Element records live in
   * pages the main thread owns, so here the main thread frees them in 0.5 ms slices on unref'd
   * timers (≈0.3 µs per element: a 1M-element hash is released in well under a second when idle),
   * yielding to I/O between slices so a request waits at most one slice.
   */
  private lazyFreeSoon(): void {
    if (this.lazyFreeTimer !== null || this.keyspace.lazyfreePendingObjects === 0) return;
    const step = (): void => {
      this.keyspace.lazyFreeFor(0.5);
      this.lazyFreeTimer = this.keyspace.lazyfreePendingObjects > 0 ? setTimeout(step, 0) : null;
      this.lazyFreeTimer?.unref();
    };
    this.lazyFreeTimer = setTimeout(step, 0);
    this.lazyFreeTimer.unref();
  }

  private cron(): void {
    const ks = this.keyspace;
    ks.now = Date.now();
    if (this.activeExpireEnabled) ks.activeExpireCycle(this.config.getInt('forkless-expire-budget-ms'));
    this.flow.cron(ks.now); // INFO instantaneous_* samples
    if (this.config.getBool('activerehashing')) ks.cron(1);
    this.lazyFreeSoon();
    this.rdb.cron(this.aof.rewriteInProgress);
    this.aof.cron();
  }

  /**
   * SHUTDOWN semantics: stop the cron, stop a running BGSAVE, save when save rules exist (or when
   * asked), stop workers. A failed save keeps the engine open and rethrows, as Redis refuses to
   * exit when the final save fails.
   */
  async shutdown(opts: ShutdownOptions = {}): Promise<void> {
    if (this.closed) return;
    if (this.shuttingDown) return this.shuttingDown;
    this.shuttingDown = (async () => {
      this.log('warning', 'User requested shutdown...');
      if (this.rdb.inProgress) {
        this.log('warning', 'There is a child saving an .rdb. Killing it!');
        this.rdb.discardRunning();
        await this.rdb.waitIdle();
      }
      await this.aof.flushAndSync(); // kills a running rewrite, writes and fsyncs the AOF
      const save = opts.nosave ? false : opts.save ? true : this.config.saveRules().length > 0;
      if (save) {
        this.log('notice', 'Saving the final RDB snapshot before exiting.');
        try {
          this.rdb.saveSync();
        } catch (e) {
          // SHUTDOWN FORCE exits anyway; otherwise the server keeps running (Redis's finishShutdown).
          if (!opts.force) {
            this.log('warning', "Error trying to save the DB, can't exit.");
            this.log('warning', 'Errors trying to shut down the server. Check the logs for more information.');
            throw e;
          }
          this.log('warning', 'Error trying to save the DB. Exit anyway.');
        }
      }
      if (this.cronTimer) clearInterval(this.cronTimer);
      if (this.lazyFreeTimer !== null) { clearTimeout(this.lazyFreeTimer); this.lazyFreeTimer = null; }
      this.cronTimer = null;
      await this.rdb.close();
      await this.aof.close();
      this.closed = true;
      this.log('warning', 'Redis is now ready to exit, bye bye...');
    })();
    try {
      await this.shuttingDown;
    } finally {
      this.shuttingDown = null;
    }
  }

  get isClosed(): boolean { return this.closed; }

  // ---- Durability hooks (appendfsync). The server holds replies with them; see persist/aof.ts. ----

  /** The AOF stream offset that replies produced so far depend on (0: nothing to wait for). */
  durabilityBarrier(): number { return this.aof.barrier(); }
  /** True when everything up to `offset` is as durable as appendfsync requires before replying. */
  isDurable(offset: number): boolean { return this.aof.isDurable(offset); }
  /** Calls `cb` (never synchronously) once `offset` is durable; `fail` instead if the AOF failed for good. */
  whenDurable(offset: number, cb: () => void, fail?: (err: Error) => void): void { this.aof.whenDurable(offset, cb, fail); }

  /**
   * True when a plain SET may skip the dispatcher (embedded fast path): nothing subscribes to
   * propagation and no MISCONF condition can refuse writes.
   */
  fastWritesAllowed(): boolean {
    return !this.closed && this.listeners.length === 0 && this.rdb.lastBgsaveOk;
  }
}
