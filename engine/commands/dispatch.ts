/**
 * The command dispatcher: finds the table row for an argv, checks arity the way Redis does, runs
 * the handler with a CommandContext, and reports what the command did (reply, dirty count, what to
 * propagate). It also keeps the per-command and per-error counters INFO commandstats/errorstats
 * show.
 *
 * Design notes
 *  - Lookup never allocates. Names are bucketed by (length, lower-cased first byte) and compared
 *    byte by byte, case-insensitively, against the lower-case name. Redis hashes the whole name,
 *    so a name with an embedded NUL is simply unknown here too.
 *  - One context object and one result object per nesting depth are reused. A nested dispatch
 *    (EXEC, scripts) gets the next level's pair, so the outer command's context stays intact.
 *    Consequence for callers: a DispatchResult is only valid until the next dispatch at the same
 *    depth; read it (or copy it) first.
 *  - Propagation: a handler that calls ctx.propagate() decides exactly what is propagated (Redis's
 *    rewriteClientCommandVector / alsoPropagate / forceCommandPropagation). Otherwise a command
 *    flagged `write` whose dirty count is above zero propagates its argv as received, for the db
 *    the client had selected when the command started.
 *  - The caller owns the clock: pass `now` (ms) and set keyspace.now to the same value before
 *    dispatching, so lazy expiry and handlers agree on the time (Redis caches mstime per command).
 */
import { Errors, ReplyError } from '../errors.js';
import { cString } from './args.js';
import type { ClientState, CommandContext, CommandSpec, Propagation, Reply } from './types.js';

export interface CommandStats {
  calls: number;
  /** Total time spent in the handler, microseconds (fractional). */
  usec: number;
  /** Refused before running: arity (and later ACL, OOM, MISCONF ... checks). */
  rejectedCalls: number;
  /** Ran and replied with an error. */
  failedCalls: number;
}

export interface DispatchResult {
  reply: Reply;
  /** What the command added to Redis's server.dirty. */
  dirty: number;
  /** What to feed the AOF and replicas, in order; empty when nothing. */
  propagated: readonly Propagation[];
  /** Time the handler took, microseconds (0 when refused before running); SLOWLOG reads it. */
  usec: number;
}

interface Entry<E> {
  readonly spec: CommandSpec<E>;
  /** 'get', or 'config|get' for a subcommand: the name errors and stats use. */
  readonly fullname: string;
  /** Lower-case name bytes matched against argv (for a subcommand: the part after '|'). */
  readonly key: Uint8Array;
  readonly isWrite: boolean;
  readonly stats: CommandStats;
  readonly subs: NameTable<E> | null;
}

const NO_PROPAGATION: readonly Propagation[] = Object.freeze([]);
const MAX_NAME = 64;

/** Case-insensitive byte-keyed table of entries; see the design note above. */
class NameTable<E> {
  private readonly buckets = new Map<number, Array<Entry<E>>>();

  add(entry: Entry<E>): void {
    const k = entry.key;
    if (k.length === 0 || k.length > MAX_NAME) throw new Error(`bad command name '${entry.fullname}'`);
    const slot = k.length * 256 + k[0]!;
    let list = this.buckets.get(slot);
    if (list === undefined) this.buckets.set(slot, list = []);
    for (const other of list) {
      if (Buffer.compare(other.key, k) === 0) throw new Error(`duplicate command '${entry.fullname}'`);
    }
    list.push(entry);
  }

  find(name: Uint8Array): Entry<E> | null {
    const n = name.length;
    if (n === 0 || n > MAX_NAME) return null;
    let c0 = name[0]!;
    if (c0 >= 0x41 && c0 <= 0x5a) c0 |= 0x20;
    const list = this.buckets.get(n * 256 + c0);
    if (list === undefined) return null;
    outer: for (let j = 0; j < list.length; j++) {
      const e = list[j]!;
      const k = e.key;
      for (let i = 1; i < n; i++) {
        let c = name[i]!;
        if (c >= 0x41 && c <= 0x5a) c |= 0x20;
        if (c !== k[i]) continue outer;
      }
      return e;
    }
    return null;
  }

  *entries(): IterableIterator<Entry<E>> {
    for (const list of this.buckets.values()) yield* list;
  }
}

/** The reusable CommandContext. Fields are public so the dispatcher can reset them cheaply. */
class Context<E> implements CommandContext<E> {
  client!: ClientState;
  now = 0;
  dirtyCount = 0;
  props: Propagation[] | null = null;
  constructor(readonly engine: E) {}

  dirty(n = 1): void {
    this.dirtyCount += n;
  }

  propagate(argv: Array<Buffer | string>, db?: number): void {
    const out: Buffer[] = new Array<Buffer>(argv.length);
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      out[i] = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    }
    (this.props ??= []).push({ db: db ?? this.client.db, argv: out });
  }
}

interface Frame<E> {
  readonly ctx: Context<E>;
  readonly result: DispatchResult;
}

function newStats(): CommandStats {
  return { calls: 0, usec: 0, rejectedCalls: 0, failedCalls: 0 };
}

/** The error prefix Redis counts in errorstats: the first word, looked for in the first 32 bytes. */
function errorCode(message: string): string {
  const sp = message.indexOf(' ');
  return sp > 0 && sp < 32 ? message.slice(0, sp) : 'ERR';
}

export class Dispatcher<E> {
  /** Stats per command full name ('get', 'config|get'); every command has an entry from the start. */
  readonly commandStats = new Map<string, CommandStats>();
  /** Error replies per error code ('ERR', 'WRONGTYPE', ...), as INFO errorstats shows them. */
  readonly errorStats = new Map<string, number>();
  totalErrorReplies = 0;

  private readonly table = new NameTable<E>();
  private readonly frames: Array<Frame<E>> = [];
  private depth = 0;

  constructor(readonly engine: E, specs: readonly CommandSpec<E>[]) {
    for (const spec of specs) this.table.add(this.makeEntry(spec, null));
  }

  private makeEntry(spec: CommandSpec<E>, parent: string | null): Entry<E> {
    const bar = spec.name.indexOf('|');
    const local = (bar >= 0 ? spec.name.slice(bar + 1) : spec.name).toLowerCase();
    const fullname = parent === null ? local : `${parent}|${local}`;
    let subs: NameTable<E> | null = null;
    if (spec.subcommands !== undefined && spec.subcommands.length > 0) {
      subs = new NameTable<E>();
      for (const sub of spec.subcommands) subs.add(this.makeEntry(sub, fullname));
    }
    const stats = newStats();
    this.commandStats.set(fullname, stats);
    return {
      spec, fullname, key: Buffer.from(local, 'latin1'), isWrite: spec.flags.includes('write'), stats, subs,
    };
  }

  /**
   * The row that would run for this argv (subcommand rows for containers), or null. Used by
   * COMMAND INFO/GETKEYS and by MULTI to check a command before queueing it.
   */
  lookup(argv: readonly Uint8Array[]): CommandSpec<E> | null {
    if (argv.length === 0) return null;
    const e = this.table.find(argv[0]!);
    if (e === null) return null;
    if (e.subs !== null && argv.length > 1) return e.subs.find(argv[1]!)?.spec ?? null;
    return e.spec;
  }

  /**
   * The error a command would get before running (unknown command or subcommand, wrong arity),
   * or null. Redis checks these before authentication and before queueing inside MULTI.
   */
  check(argv: readonly Uint8Array[]): ReplyError | null {
    const argc = argv.length;
    if (argc === 0) return unknownCommand(argv);
    let entry = this.table.find(argv[0]!);
    if (entry === null) return unknownCommand(argv);
    if (entry.subs !== null && argc > 1) {
      const sub = entry.subs.find(argv[1]!);
      if (sub === null) return unknownSubcommand(argv);
      entry = sub;
    }
    const arity = entry.spec.arity;
    if (arity > 0 ? argc !== arity : argc < -arity) return Errors.arity(entry.fullname);
    return null;
  }

  /** All top-level rows, in no particular order. */
  *specs(): IterableIterator<CommandSpec<E>> {
    for (const e of this.table.entries()) yield e.spec;
  }

  /** CONFIG RESETSTAT. */
  resetStats(): void {
    for (const s of this.commandStats.values()) {
      s.calls = 0; s.usec = 0; s.rejectedCalls = 0; s.failedCalls = 0;
    }
    this.errorStats.clear();
    this.totalErrorReplies = 0;
  }

  /** The row an argv resolves to (subcommand row for containers), or null. */
  private resolve(argv: readonly Uint8Array[]): Entry<E> | null {
    if (argv.length === 0) return null;
    const e = this.table.find(argv[0]!);
    if (e === null || e.subs === null || argv.length < 2) return e;
    return e.subs.find(argv[1]!);
  }

  /**
   * Counts a command the engine refused before dispatching it (MULTI queueing checks, MISCONF,
   * pub/sub context ...), as Redis's rejectCommand does: rejected_calls and errorstats.
   */
  countRejected(argv: readonly Uint8Array[], err: ReplyError): void {
    const e = this.resolve(argv);
    if (e !== null) e.stats.rejectedCalls++;
    this.countError(err);
  }

  /**
   * Counts a command that ran outside dispatch() (the server front end's HELLO, AUTH, CLIENT ...):
   * a call, its time, and its error reply if it failed.
   */
  countCall(argv: readonly Uint8Array[], usec: number, err: ReplyError | null): void {
    const e = this.resolve(argv);
    if (e !== null) {
      e.stats.calls++;
      e.stats.usec += usec;
      if (err !== null) e.stats.failedCalls++;
    }
    if (err !== null) this.countError(err);
  }

  /** The full name ('get', 'config|get') the argv resolves to, or null when unknown. */
  fullName(argv: readonly Uint8Array[]): string | null {
    return this.resolve(argv)?.fullname ?? null;
  }

  private countError(err: ReplyError): void {
    this.totalErrorReplies++;
    const code = errorCode(err.message);
    this.errorStats.set(code, (this.errorStats.get(code) ?? 0) + 1);
  }

  private frame(): Frame<E> {
    let f = this.frames[this.depth];
    if (f === undefined) {
      f = { ctx: new Context<E>(this.engine), result: { reply: null, dirty: 0, propagated: NO_PROPAGATION, usec: 0 } };
      this.frames[this.depth] = f;
    }
    return f;
  }

  /** A reply for a command that never ran (unknown, wrong arity). */
  private reject(err: ReplyError, entry: Entry<E> | null): DispatchResult {
    if (entry !== null) entry.stats.rejectedCalls++;
    this.countError(err);
    const r = this.frame().result;
    r.reply = err;
    r.dirty = 0;
    r.propagated = NO_PROPAGATION;
    r.usec = 0;
    return r;
  }

  /**
   * Runs one command. Never throws for command errors (they become the reply); rethrows anything
   * that is not a ReplyError (a bug or an engine failure) after counting the call as failed.
   */
  dispatch(client: ClientState, argv: Buffer[], now: number = Date.now()): DispatchResult {
    const argc = argv.length;
    if (argc === 0) return this.reject(unknownCommand(argv), null);
    let entry = this.table.find(argv[0]!);
    if (entry === null) return this.reject(unknownCommand(argv), null);
    if (entry.subs !== null && argc > 1) {
      const sub = entry.subs.find(argv[1]!);
      if (sub === null) return this.reject(unknownSubcommand(argv), null);
      entry = sub;
    }
    const arity = entry.spec.arity;
    if (arity > 0 ? argc !== arity : argc < -arity) return this.reject(Errors.arity(entry.fullname), entry);

    const f = this.frame();
    const ctx = f.ctx;
    ctx.client = client;
    ctx.now = now;
    ctx.dirtyCount = 0;
    ctx.props = null;
    const db = client.db;
    const stats = entry.stats;
    let reply: Reply;
    this.depth++;
    const t0 = performance.now();
    try {
      reply = entry.spec.handler(ctx, argv);
    } catch (err) {
      if (!(err instanceof ReplyError)) {
        this.depth--;
        stats.calls++;
        stats.failedCalls++;
        throw err;
      }
      reply = err;
    }
    const usec = (performance.now() - t0) * 1000;
    stats.usec += usec;
    this.depth--;
    stats.calls++;
    if (reply instanceof ReplyError) {
      stats.failedCalls++;
      this.countError(reply);
    }
    const r = f.result;
    r.reply = reply;
    r.dirty = ctx.dirtyCount;
    r.usec = usec;
    if (ctx.props !== null) r.propagated = ctx.props;
    else if (entry.isWrite && ctx.dirtyCount > 0) r.propagated = [{ db, argv }];
    else r.propagated = NO_PROPAGATION;
    return r;
  }
}

/** sdsmapchars(err, "\r\n", "  "): user bytes must not break the error line. */
function noNewlines(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

/** processCommand's text: the name and the first arguments, 128 bytes of each at most. */
function unknownCommand(argv: readonly Uint8Array[]): ReplyError {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    args += `'${cString(argv[i]!, 128 - args.length)}' `;
  }
  const name = argv.length > 0 ? cString(argv[0]!, 128) : '';
  return new ReplyError(noNewlines(`ERR unknown command '${name}', with args beginning with: ${args}`));
}

function unknownSubcommand(argv: readonly Uint8Array[]): ReplyError {
  const container = cString(argv[0]!).replace(/[a-z]+/g, (m) => m.toUpperCase());
  return new ReplyError(noNewlines(`ERR unknown subcommand '${cString(argv[1]!, 128)}'. Try ${container} HELP.`));
}
