/**
 * The command flow around the dispatcher: what Redis's processCommand() checks before a command
 * runs and what call() does after it, for everything that depends on per-client state.
 *
 * DESIGN
 *  Engine.execute() keeps a direct path for the common case (no MULTI, nobody watching keys,
 *  subscribed or monitoring): dispatch, account, propagate. As soon as one client has such state
 *  (`busy()`), or the calling client is inside MULTI, commands take the checked path here:
 *
 *    check (unknown command, arity) → protected (DEBUG) → not allowed in MULTI → MISCONF →
 *    RESP2 pub/sub context → MONITOR client touching the keyspace → queue inside MULTI
 *    → WATCH pre-read → dispatch → WATCH touches → propagate → MONITOR feed, SLOWLOG, latency
 *
 *  A refusal flags an open transaction (EXEC then answers EXECABORT), and a refused EXEC aborts
 *  its transaction with "EXECABORT Transaction discarded because of: <reason>", as Redis does.
 *  The order of the checks is Redis 7.0.15's, so a command that fails two of them gets the same
 *  error as from Redis.
 *
 *  EXEC's queued commands come back through runQueued(): each is dispatched one level deeper and
 *  accounted like a top-level command; their propagations go into EXEC's own context, so the
 *  engine hands its listeners one unit for the whole transaction.
 *
 *  Per-client state lives in the registries (transactions.ts, pubsub.ts) keyed by ClientState;
 *  the front end learns about it through clientInfo() and drops it through clientClosed() and
 *  resetClient() (engine-port.ts).
 */
import { ReplyError } from './errors.js';
import { OK, RawReply, ReplySequence, type ClientState, type CommandContext, type CommandSpec, type Reply } from './commands/types.js';
import { TxRegistry, type ClientTx } from './commands/transactions.js';
import { PubSubRegistry } from './commands/pubsub.js';
import { LatencyMonitor, SlowLog, monitorLine } from './commands/monitoring.js';
import { EncodingHints } from './commands/introspection.js';
import { argDbIndex, isOpt } from './commands/args.js';
import { COMMAND_META } from './commands/command-meta.js';
import { keysBySpecs } from './commands/command-info.js';
import { sortGetKeys } from './commands/sort.js';
import type { EngineClientInfo } from './server/engine-port.js';
import type { Engine } from './engine.js';

/** Commands that run at once inside MULTI instead of being queued. */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
/** What a RESP2 client in pub/sub context may still run. */
const PUBSUB_ALLOWED = new Set(['ping', 'subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'quit', 'reset']);
/** Commands whose keyspace changes are not described by their key specs (handled wholesale). */
const WHOLESALE = new Set(['flushdb', 'flushall', 'swapdb']);

const PROTECTED_DEBUG = 'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.';
const NOT_IN_MULTI = 'ERR Command not allowed inside a transaction';
const MONITOR_KEYSPACE = "ERR Replica can't interact with the keyspace";

/** Lower-case ASCII name of argv[0] (only used off the hot path). */
function commandName(argv: readonly Uint8Array[]): string {
  return argv.length === 0 ? '' : Buffer.from(argv[0]!.buffer, argv[0]!.byteOffset, argv[0]!.byteLength).toString('latin1').toLowerCase();
}

/** Reply Buffers that view the shared keyspace, copied: a later queued write could change them. */
function detachReply(r: Reply): Reply {
  if (Buffer.isBuffer(r)) return r.buffer instanceof SharedArrayBuffer ? Buffer.from(r) : r;
  if (Array.isArray(r)) {
    let out: Reply[] | null = null;
    for (let i = 0; i < r.length; i++) {
      const d = detachReply(r[i]!);
      if (d !== r[i]) (out ??= r.slice())[i] = d;
    }
    return out ?? r;
  }
  return r;
}

/** Keys a write is about to change, as WATCH needs them: read before, compared after. */
interface PendingTouch {
  /** Watched keys among the command's keys, with whether each existed before the command. */
  keys: Array<{ db: number; key: Buffer; existed: boolean }>;
  /** FLUSHDB/FLUSHALL/SWAPDB: the watchers to mark dirty if the command succeeds. */
  wholesale: Set<ClientTx> | null;
}

/**
 * INFO's instantaneous_* figures: Redis samples counters every 100 ms into rings of 16 and reports
 * the average rate. Sampled from the engine's cron (hz ticks), which runs at least that often.
 */
export class InstantMetrics {
  private readonly samples = { ops: [] as number[], input: [] as number[], output: [] as number[] };
  private last: { t: number; ops: number; input: number; output: number } | null = null;
  opsPerSec = 0;
  inputKbps = 0;
  outputKbps = 0;

  sample(now: number, ops: number, input: number, output: number): void {
    const prev = this.last;
    if (prev !== null && now - prev.t < 100) return;
    this.last = { t: now, ops, input, output };
    if (prev === null || now <= prev.t) return;
    const secs = (now - prev.t) / 1000;
    const push = (ring: number[], v: number): number => {
      ring.push(v);
      if (ring.length > 16) ring.shift();
      return ring.reduce((a, b) => a + b, 0) / ring.length;
    };
    this.opsPerSec = Math.round(push(this.samples.ops, (ops - prev.ops) / secs));
    this.inputKbps = push(this.samples.input, (input - prev.input) / secs / 1024);
    this.outputKbps = push(this.samples.output, (output - prev.output) / secs / 1024);
  }
}

export class CommandFlow {
  readonly tx: TxRegistry;
  readonly metrics = new InstantMetrics();
  readonly pubsub = new PubSubRegistry();
  readonly slowlog = new SlowLog();
  /** OBJECT ENCODING of values APPEND/SETRANGE/INCRBYFLOAT left (introspection.ts). */
  readonly encodings = new EncodingHints();
  readonly latency = new LatencyMonitor();
  private readonly monitors = new Set<ClientState>();
  /** Smallest duration (µs) that SLOWLOG or the latency monitor records; Infinity when both off. */
  trackUsec = Infinity;
  private slowerThan = 10000;
  private slowMaxLen = 128;
  private latencyMs = 0;

  constructor(private readonly engine: Engine) {
    this.tx = new TxRegistry(engine.databases);
    this.pubsub.deliver = (client, reply) => { engine.server?.push(client.id, reply); };
    // Chain, not replace, the engine's expiry handler: an expired key is a modified key for WATCH.
    const previous = engine.keyspace.onExpired;
    engine.keyspace.onExpired = (db, key) => {
      previous?.(db, key);
      this.tx.touch(db, key);
    };
    this.readConfig();
    engine.config.onChange(() => this.readConfig());
  }

  private readConfig(): void {
    const cfg = this.engine.config;
    this.slowerThan = cfg.getInt('slowlog-log-slower-than');
    this.slowMaxLen = cfg.getInt('slowlog-max-len');
    this.latencyMs = cfg.getInt('latency-monitor-threshold');
    const slow = this.slowerThan >= 0 ? this.slowerThan : Infinity;
    const lat = this.latencyMs > 0 ? this.latencyMs * 1000 : Infinity;
    this.trackUsec = Math.min(slow, lat);
  }

  /** The engine's cron tick: INFO's instantaneous rates. */
  cron(now: number): void {
    const s = this.engine.server?.stats();
    this.metrics.sample(now, this.engine.stats.totalCommands, s?.totalNetInputBytes ?? 0, s?.totalNetOutputBytes ?? 0);
  }

  /** Some client watches keys, is subscribed or monitors: every command takes the checked path. */
  busy(): boolean {
    return this.tx.entries + this.pubsub.subscribedClients + this.monitors.size !== 0;
  }

  // ---- Client state hooks (engine-port.ts) --------------------------------------------------------

  clientInfo(client: ClientState): EngineClientInfo {
    const t = this.tx.get(client);
    const c = this.pubsub.counts(client);
    return { sub: c.sub, psub: c.psub, ssub: c.ssub, monitor: this.monitors.has(client), dirtyCas: t?.dirtyCas ?? false, multiMem: t?.multiMem ?? 0 };
  }

  clientClosed(client: ClientState): void {
    this.tx.drop(client);
    this.pubsub.forget(client);
    this.monitors.delete(client);
  }

  /** RESET: no transaction, no watched keys, no subscriptions, no MONITOR. */
  resetClient(client: ClientState): void {
    this.tx.discard(client);
    this.pubsub.forget(client);
    this.monitors.delete(client);
  }

  /** MONITOR: from now on the client receives a line for every command. */
  addMonitor(client: ClientState): Reply {
    if (client.multi !== null) throw new ReplyError("ERR MONITOR isn't allowed for DENY BLOCKING client");
    if (this.monitors.has(client)) return NO_REPLY; // Redis answers a second MONITOR with nothing
    this.monitors.add(client);
    return OK;
  }

  isMonitor(client: ClientState): boolean {
    return this.monitors.has(client);
  }

  // ---- The checked path ---------------------------------------------------------------------------

  /** Runs one command with Redis's processCommand checks (see DESIGN). */
  execute(client: ClientState, argv: Buffer[]): Reply {
    const e = this.engine;
    const d = e.dispatcher;
    const now = Date.now();
    e.keyspace.now = now;
    const top = commandName(argv);
    const checkErr = d.check(argv);
    if (checkErr !== null) return this.refuse(client, argv, top, checkErr);
    const spec = d.lookup(argv)!;
    const inMulti = client.multi !== null;
    if (spec.flags.includes('protected') && !this.protectedAllowed(client)) return this.refuse(client, argv, top, new ReplyError(PROTECTED_DEBUG));
    if (inMulti && spec.flags.includes('noMulti')) return this.refuse(client, argv, top, new ReplyError(NOT_IN_MULTI));
    const flags = top === 'exec' ? this.queuedFlags(client) : spec.flags;
    const writes = flags.includes('write');
    if (writes || top === 'ping') {
      const refusal = e.writeRefusal();
      if (refusal !== null) return this.refuse(client, argv, top, new ReplyError(refusal));
    }
    const subscribed = this.pubsub.subscribedClients > 0 && this.pubsub.isSubscribed(client);
    if (subscribed && client.resp === 2 && !PUBSUB_ALLOWED.has(top)) {
      return this.refuse(client, argv, top, new ReplyError(`ERR Can't execute '${d.fullName(argv)}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`));
    }
    if (this.monitors.size > 0 && this.monitors.has(client) &&
        (writes || flags.includes('readonly') || flags.includes('mayReplicate'))) {
      return this.refuse(client, argv, top, new ReplyError(MONITOR_KEYSPACE));
    }
    if (inMulti && !NOT_QUEUED.has(top)) {
      this.tx.queue(client, argv);
      return 'QUEUED';
    }
    return this.run(client, argv, spec, top, now, null);
  }

  /**
   * Why: Redis's rejectCommand. The refusal is counted (rejected_calls, errorstats), an open
   * transaction is flagged so its EXEC fails, and a refused EXEC aborts the transaction with the
   * reason (the error text without its ERR code).
   */
  private refuse(client: ClientState, argv: Buffer[], top: string, err: ReplyError): Reply {
    let reply = err;
    if (top === 'exec') {
      this.tx.discard(client);
      reply = new ReplyError(`EXECABORT Transaction discarded because of: ${err.message.startsWith('ERR ') ? err.message.slice(4) : err.message}`);
    } else {
      this.tx.flagExec(client);
    }
    this.engine.dispatcher.countRejected(argv, reply);
    return reply;
  }

  /** The direct path's arity error for EXEC becomes Redis's EXECABORT (EXEC is aborted even outside MULTI). */
  execArity(argv: Buffer[], err: ReplyError): ReplyError {
    if (argv.length < 2 || commandName(argv) !== 'exec' || !err.message.startsWith('ERR wrong number of arguments')) return err;
    return new ReplyError(`EXECABORT Transaction discarded because of: ${err.message.slice(4)}`);
  }

  /** enable-debug-command: yes, or local for loopback/unix clients (embedded callers are local). */
  private protectedAllowed(client: ClientState): boolean {
    const mode = this.engine.config.get('enable-debug-command') ?? 'no';
    if (mode === 'yes') return true;
    if (mode !== 'local') return false;
    return this.engine.server?.clientPeer(client.id)?.local ?? true;
  }

  /** Flags of everything queued (EXEC counts as a write when its queue holds one). */
  queuedFlags(client: ClientState): CommandSpec<Engine>['flags'] {
    const out = new Set<CommandSpec<Engine>['flags'][number]>();
    for (const argv of client.multi ?? []) for (const f of this.engine.dispatcher.lookup(argv)?.flags ?? []) out.add(f);
    return [...out];
  }

  /**
   * Dispatches a checked command and does call()'s bookkeeping. At top level the engine's
   * dispatchUnit counts it and hands its writes to the listeners. `execCtx` is EXEC's context when
   * the command comes from a transaction queue: it runs one dispatch level deeper, and its
   * propagations and dirty count go to EXEC, which is then propagated as one unit.
   */
  private run(client: ClientState, argv: Buffer[], spec: CommandSpec<Engine>, top: string, now: number,
    execCtx: CommandContext<Engine> | null): Reply {
    const e = this.engine;
    const pending = this.tx.entries > 0 ? this.pendingTouch(client, argv, spec, top) : null;
    let reply: Reply;
    let dirty: number;
    let usec: number;
    if (execCtx === null) {
      const r = e.dispatchUnit(client, argv, now);
      reply = r.reply;
      dirty = r.dirty;
      usec = r.usec;
    } else {
      const r = e.dispatcher.dispatch(client, argv, now);
      reply = detachReply(r.reply);
      dirty = r.dirty;
      usec = r.usec;
      for (const p of r.propagated) execCtx.propagate(p.argv, p.db);
      if (dirty > 0) execCtx.dirty(dirty);
      // A queued write may make keys ready for blocked clients; EXEC's unit serves them after it.
      if (dirty > 0) e.blocking.noteWrite(client.db, argv);
      e.stats.totalCommands++;
    }
    if (pending !== null && dirty > 0 && !(reply instanceof ReplyError)) this.applyTouch(pending);
    // PING of a RESP2 subscriber answers in the pub/sub shape, ["pong", message] (pingCommand).
    if (top === 'ping' && client.resp === 2 && !(reply instanceof ReplyError) && this.pubsub.isSubscribed(client)) {
      reply = [Buffer.from('pong'), argv.length > 1 ? argv[1]! : Buffer.alloc(0)];
    }
    const ownLine = this.afterCall(client, argv, spec, usec);
    // A MONITOR client sees its own command after the command's reply, as in Redis's buffer.
    return ownLine === null ? reply : new ReplySequence([reply, ownLine]);
  }

  /** EXEC's loop body (transactions.ts): one queued command, accounted as a top-level one. */
  runQueued(ctx: CommandContext<Engine>, argv: Buffer[]): Reply {
    const spec = this.engine.dispatcher.lookup(argv);
    if (spec === null) return this.engine.dispatcher.dispatch(ctx.client, argv, ctx.now).reply; // cannot happen: checked when queued
    return this.run(ctx.client, argv, spec, commandName(argv), ctx.now, ctx);
  }

  /**
   * MONITOR feed, SLOWLOG and latency samples after a command ran (call()'s tail). Returns the
   * MONITOR line for the client itself when it is a monitor (the caller appends it to the reply).
   */
  private afterCall(client: ClientState, argv: readonly Uint8Array[], spec: CommandSpec<Engine>, usec: number): RawReply | null {
    let own: RawReply | null = null;
    if (this.monitors.size > 0 && !spec.flags.includes('admin') && !spec.flags.includes('skipMonitor')) own = this.feedMonitors(client, argv);
    if (usec >= this.trackUsec) this.track(client, argv, usec, spec);
    return own;
  }

  /** SLOWLOG entry and/or latency sample for a command that took `usec` (past trackUsec). */
  track(client: ClientState, argv: readonly Uint8Array[], usec: number, spec: CommandSpec<Engine> | null = this.engine.dispatcher.lookup(argv)): void {
    const ms = Math.floor(usec / 1000);
    if (this.latencyMs > 0 && ms >= this.latencyMs) this.latency.add(spec?.flags.includes('fast') ? 'fast-command' : 'command', ms);
    if (this.slowerThan >= 0 && usec >= this.slowerThan && !(spec?.flags.includes('skipSlowlog') ?? false)) {
      const peer = this.engine.server?.clientPeer(client.id);
      this.slowlog.push(argv, usec, peer?.addr ?? '', client.name ?? '', this.slowMaxLen);
    }
  }

  /** Pushes a command's MONITOR line to every monitor except `client`, whose line is returned. */
  private feedMonitors(client: ClientState, argv: readonly Uint8Array[]): RawReply | null {
    const server = this.engine.server;
    if (server === null) return null;
    const peer = server.clientPeer(client.id);
    const who = peer === null ? 'embedded' : peer.unixSocket !== null ? `unix:${peer.unixSocket}` : peer.addr;
    const line = new RawReply(monitorLine(client.db, who, argv));
    let own: RawReply | null = null;
    for (const m of [...this.monitors]) {
      if (m === client) own = line;
      else server.push(m.id, line);
    }
    return own;
  }

  /**
   * The front end ran HELLO, AUTH, CLIENT ... itself: count it, log it, show it to monitors, as
   * call() would. Passwords never reach SLOWLOG or MONITOR (Redis redacts them).
   */
  connectionCommandRan(client: ClientState, argv: Buffer[], reply: Reply, usec: number): void {
    const d = this.engine.dispatcher;
    const spec = d.lookup(argv);
    const err = reply instanceof ReplyError ? reply : null;
    if (spec === null || (err !== null && d.check(argv) !== null)) {
      if (err !== null) d.countRejected(argv, err);
      return;
    }
    d.countCall(argv, usec, err);
    this.engine.stats.totalCommands++;
    const own = this.afterCall(client, redact(argv), spec, usec);
    if (own !== null) this.engine.server?.push(client.id, own); // after the reply, already written
  }

  /**
   * A blocked client's command, served by blocking.ts once a key is ready: one execution unit, and
   * the WATCH bookkeeping any write gets (a served BLMOVE's push must fail a watcher's EXEC).
   */
  serveBlocked(client: ClientState, argv: Buffer[], now: number): Reply {
    const spec = this.engine.dispatcher.lookup(argv);
    const pending = spec !== null && this.tx.entries > 0 ? this.pendingTouch(client, argv, spec, commandName(argv)) : null;
    const r = this.engine.dispatchUnit(client, argv, now);
    if (pending !== null && r.dirty > 0 && !(r.reply instanceof ReplyError)) this.applyTouch(pending);
    return r.reply;
  }

  // ---- WATCH bookkeeping --------------------------------------------------------------------------

  /**
   * Why: Redis marks a watched key modified exactly when a command changed it. We see commands,
   * not individual key changes, so for a write we read, before it runs, which of its keys are
   * watched and whether they exist; afterwards (if it succeeded and changed something) a watched
   * key is touched unless it was missing both before and after (DEL of a missing key changes
   * nothing). FLUSHDB/FLUSHALL/SWAPDB touch the watched keys that exist in the dbs they replace.
   */
  private pendingTouch(client: ClientState, argv: Buffer[], spec: CommandSpec<Engine>, top: string): PendingTouch | null {
    const ks = this.engine.keyspace;
    if (WHOLESALE.has(top)) {
      const db = client.db;
      let pairs: Array<[number, number]>;
      if (top === 'flushdb') pairs = [[db, -1]];
      else if (top === 'flushall') pairs = Array.from({ length: this.engine.databases }, (_v, i): [number, number] => [i, -1]);
      else {
        const a = Number(argv[1]?.toString('latin1')), b = Number(argv[2]?.toString('latin1'));
        if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= this.engine.databases || b >= this.engine.databases) return null;
        pairs = [[a, b], [b, a]];
      }
      return { keys: [], wholesale: this.tx.watchersOfExisting(ks, pairs) };
    }
    if (!spec.flags.includes('write')) return null;
    const keys: PendingTouch['keys'] = [];
    for (const [db, key] of this.writeTargets(client, argv, spec, top)) {
      if (this.tx.watchesDb(db) && this.tx.isWatched(db, key)) keys.push({ db, key, existed: ks.exists(db, key) });
    }
    return keys.length === 0 ? null : { keys, wholesale: null };
  }

  private applyTouch(p: PendingTouch): void {
    if (p.wholesale !== null) {
      this.tx.dirtyAll(p.wholesale);
      return;
    }
    const ks = this.engine.keyspace;
    for (const k of p.keys) if (k.existed || ks.exists(k.db, k.key)) this.tx.touch(k.db, k.key);
  }

  /** The (db, key) pairs a write may change: its key-spec keys, MOVE's and COPY's other db. */
  private writeTargets(client: ClientState, argv: Buffer[], spec: CommandSpec<Engine>, top: string): Array<[number, Buffer]> {
    const db = client.db;
    if (top === 'move') {
      const out: Array<[number, Buffer]> = [[db, argv[1]!]];
      try { out.push([argDbIndex(argv[2]!, this.engine.databases), argv[1]!]); } catch { /* the command will fail */ }
      return out;
    }
    if (top === 'copy') {
      let dst = db;
      for (let j = 3; j + 1 < argv.length; j++) {
        if (isOpt(argv[j]!, 'db')) {
          try { dst = argDbIndex(argv[j + 1]!, this.engine.databases); } catch { return []; }
        }
      }
      return [[dst, argv[2]!]];
    }
    const out: Array<[number, Buffer]> = [];
    // SORT … STORE dst: the destination is found by parsing the options (its key spec is
    // "unknown" to key-spec walkers, as in Redis).
    if (top === 'sort') {
      for (const pos of sortGetKeys(argv).slice(1)) out.push([db, argv[pos]!]);
      return out;
    }
    // Commands whose keys move (ZMPOP numkeys, ZUNIONSTORE dst numkeys, SORT … STORE) or whose
    // legacy range includes read-only sources (ZRANGESTORE): the key specs say which arguments
    // are keys the command may write (RW/OW/RM/INSERT/UPDATE/DELETE) — Redis touches only those.
    const meta = COMMAND_META[top];
    if (meta !== undefined && (meta.flags.includes('movablekeys') || meta.keySpecs.some((k) => k.flags.includes('RO')))) {
      const found = keysBySpecs(meta, argv, spec.arity) ?? [];
      for (const k of found) if (!k.flags.includes('RO')) out.push([db, argv[k.pos]!]);
      return out;
    }
    if (spec.firstKey <= 0) return out;
    const last = spec.lastKey >= 0 ? spec.lastKey : argv.length + spec.lastKey;
    const step = spec.step > 0 ? spec.step : 1;
    for (let i = spec.firstKey; i <= last && i < argv.length; i += step) out.push([db, argv[i]!]);
    return out;
  }
}

/** AUTH and HELLO ... AUTH arguments shown as "(redacted)" to SLOWLOG and MONITOR. */
function redact(argv: Buffer[]): Buffer[] {
  const name = commandName(argv);
  if (name === 'auth') return argv.map((a, i) => (i === 0 ? a : REDACTED));
  if (name === 'hello') {
    const out = argv.slice();
    for (let i = 2; i < out.length; i++) {
      if (isOpt(out[i]!, 'auth') && i + 2 < out.length) {
        out[i + 1] = REDACTED;
        out[i + 2] = REDACTED;
        i += 2;
      }
    }
    return out;
  }
  return argv;
}

const REDACTED = Buffer.from('(redacted)');
const NO_REPLY = new ReplySequence([]);
