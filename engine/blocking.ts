/**
 * Blocked clients: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP waiting
 * for a key, with Redis 7.0's semantics (blocked.c).
 *
 * DESIGN
 *  - A blocking command runs normally first. When it finds nothing to pop and the client may
 *    block (a server connection, not inside MULTI/EXEC; the embedded API never blocks, so there
 *    the command answers as on a timeout, like Redis inside MULTI), the handler calls block(),
 *    which registers the client on each of its keys (FIFO per key) and returns a BlockedReply:
 *    an empty ReplySequence, so it writes nothing. The RESP connection recognizes it, stops
 *    processing that client's input and attach()es the function that later delivers the reply.
 *  - Readiness (Redis's signalKeyAsReady / handleClientsBlockedOnKeys): after every top-level
 *    execution unit that changed something (a command, a whole EXEC), the engine calls
 *    noteWrite() with the argv of each command that ran; any argument naming a key some client
 *    waits on in that db (every waited key for MOVE, COPY, SWAPDB, which reach other dbs) becomes
 *    a candidate, in signal order. handleReady() then visits candidates: the clients blocked on
 *    a key are served first come, first served while the key holds a value of their type.
 *    Serving re-dispatches the client's own command with `servingKey` set, so the handler pops
 *    from exactly that key (BLPOP a b served by b pops b even when a also got data in the same
 *    EXEC, as Redis serves by ready key) and propagates the non-blocking form (LPOP, LMOVE,
 *    ZPOPMIN …) as its own unit. When it still finds nothing (another client took it, or the
 *    key has the wrong type now) it answers KEEP and the client stays where it was in the queue.
 *    Writes made while serving (BLMOVE's push) signal further keys, and the loop continues until
 *    nothing is ready: BLMOVE chains resolve within one unit, like Redis.
 *  - Serving runs through the command flow's serveBlocked (engine.ts), so a WATCHed key that only
 *    the served command changes (BLMOVE's destination) fails the watcher's EXEC, as in Redis.
 *  - A served command's commandstats call is counted once (Redis counts a blocked command once),
 *    so the re-dispatch takes its call back.
 *  - Timeouts: one timer per blocked client (re-armed past setTimeout's 2^31-1 ms range). Timeout
 *    and CLIENT UNBLOCK ... TIMEOUT answer the command's timeout reply (a nil array in RESP2, `_`
 *    in RESP3, for every 7.0 list and zset blocking command); CLIENT UNBLOCK ... ERROR answers
 *    "-UNBLOCKED client unblocked via CLIENT UNBLOCK". A closed connection is forgotten.
 */
import { ReplyError } from './errors.js';
import { NilArray, ReplySequence, type ClientState, type Reply } from './commands/types.js';
import type { Keyspace } from './keyspace/api.js';

/** What the registry needs from the engine. */
export interface BlockingHost {
  readonly keyspace: Keyspace;
  readonly databases: number;
  /** Runs one command for a client as one execution unit (engine.dispatchUnit). */
  serveCommand(client: ClientState, argv: Buffer[], now: number): Reply;
  /** Takes back the commandstats call the re-dispatch counted. */
  uncountCall(argv: Buffer[]): void;
  /** True when the client is a server connection that can wait. */
  canWait(client: ClientState): boolean;
}

/** The value kind a blocked client waits for. */
export type WaitKind = 'list' | 'zset';

interface Blocked {
  readonly client: ClientState;
  readonly db: number;
  readonly keys: string[];
  readonly argv: Buffer[];
  readonly kind: WaitKind;
  readonly timeoutAt: number;
  timer: NodeJS.Timeout | null;
  resume: ((reply: Reply) => void) | null;
  /** The reply produced before the front end attached (cannot happen with our server; kept safe). */
  early: Reply | undefined;
  done: boolean;
}

/**
 * The reply of a command that blocked: writes nothing. The front end calls attach() with the
 * function that delivers the real reply later (served, timed out, unblocked).
 */
export class BlockedReply extends ReplySequence {
  constructor(private readonly registry: BlockingRegistry, private readonly entry: Blocked) { super([]); }

  attach(resume: (reply: Reply) => void): void {
    if (this.entry.early !== undefined) {
      const r = this.entry.early;
      this.entry.early = undefined;
      resume(r);
      return;
    }
    this.entry.resume = resume;
  }

  /** CLIENT UNBLOCK: true when the client was blocked (and is now answered). */
  unblock(how: 'timeout' | 'error'): boolean {
    return this.registry.unblock(this.entry.client, how);
  }
}

/** What a handler returns while serving when it still cannot pop: the client stays blocked. */
export const KEEP_BLOCKED: Reply = new ReplySequence([]);

const MAX_TIMER = 2 ** 31 - 1;
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class BlockingRegistry {
  /** Per db: key (latin1) → clients waiting on it, oldest first. */
  private readonly byKey: Array<Map<string, Blocked[]>>;
  private readonly byClient = new Map<ClientState, Blocked>();
  private ready: Array<[number, string]> = [];
  private readonly readySet = new Set<string>();
  private handling = false;
  /** While serving: the client being served and the key it is served from. */
  private servingClient: ClientState | null = null;
  private servingKeyBuf: Buffer | null = null;

  constructor(private readonly host: BlockingHost) {
    this.byKey = Array.from({ length: host.databases }, () => new Map<string, Blocked[]>());
  }

  /** Number of blocked clients (INFO blocked_clients). */
  get blockedClients(): number { return this.byClient.size; }

  /** Number of keys clients wait on (INFO total_blocking_keys). */
  get blockingKeys(): number {
    let n = 0;
    for (const m of this.byKey) n += m.size;
    return n;
  }

  isBlocked(client: ClientState): boolean { return this.byClient.has(client); }

  /** Keys were signalled and wait for handleReady() (never true while it runs). */
  get hasReady(): boolean { return this.ready.length > 0 && !this.handling; }

  /**
   * While a blocked client is being served: the only key its command may pop from. Null when the
   * command runs normally.
   */
  servingKey(client: ClientState): Buffer | null {
    return this.servingClient === client ? this.servingKeyBuf : null;
  }

  /** Whether a command of this client may block now (server connection, not in MULTI/EXEC). */
  canBlock(client: ClientState): boolean {
    return client.multi === null && this.host.canWait(client);
  }

  /**
   * Registers the client as waiting on `keys` of `db` until `timeoutAt` (absolute ms, 0 = never).
   * Returns the reply the handler must return. While serving, the client simply stays blocked.
   */
  block(client: ClientState, db: number, keys: readonly Uint8Array[], kind: WaitKind, timeoutAt: number, argv: readonly Buffer[]): Reply {
    if (this.servingClient === client) return KEEP_BLOCKED;
    const entry: Blocked = {
      client, db, kind, timeoutAt,
      keys: [],
      argv: argv.map((a) => Buffer.from(a)),
      timer: null, resume: null, early: undefined, done: false,
    };
    const m = this.byKey[db]!;
    for (const k of keys) {
      const s = latin1(k);
      if (entry.keys.includes(s)) continue; // BLPOP a a: one place in the queue
      entry.keys.push(s);
      let q = m.get(s);
      if (q === undefined) m.set(s, q = []);
      q.push(entry);
    }
    this.byClient.set(client, entry);
    if (timeoutAt > 0) this.arm(entry);
    return new BlockedReply(this, entry);
  }

  private arm(entry: Blocked): void {
    const delay = Math.max(0, entry.timeoutAt - Date.now());
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (entry.done) return;
      if (Date.now() < entry.timeoutAt) this.arm(entry);
      else this.finish(entry, NilArray.instance);
    }, Math.min(delay, MAX_TIMER));
    entry.timer.unref();
  }

  /** Removes the client from every queue and delivers its reply. */
  private finish(entry: Blocked, reply: Reply): void {
    this.forget(entry);
    if (entry.resume !== null) entry.resume(reply);
    else entry.early = reply;
  }

  private forget(entry: Blocked): void {
    if (entry.done) return;
    entry.done = true;
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    this.byClient.delete(entry.client);
    const m = this.byKey[entry.db]!;
    for (const s of entry.keys) {
      const q = m.get(s);
      if (q === undefined) continue;
      const i = q.indexOf(entry);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) m.delete(s);
    }
  }

  /** CLIENT UNBLOCK id [TIMEOUT|ERROR]. */
  unblock(client: ClientState, how: 'timeout' | 'error'): boolean {
    const entry = this.byClient.get(client);
    if (entry === undefined) return false;
    this.finish(entry, how === 'timeout' ? NilArray.instance : new ReplyError('UNBLOCKED client unblocked via CLIENT UNBLOCK'));
    return true;
  }

  /** The connection closed (or was reset): forget it without a reply. */
  clientClosed(client: ClientState): void {
    const entry = this.byClient.get(client);
    if (entry !== undefined) this.forget(entry);
  }

  /**
   * A command that changed something ran with `argv` for a client in `db`: keys it names that
   * clients wait on become ready candidates (see DESIGN).
   */
  noteWrite(db: number, argv: readonly Buffer[]): void {
    if (this.byClient.size === 0) return;
    const name = argv[0] !== undefined ? latin1(argv[0]).toLowerCase() : '';
    if (name === 'move' || name === 'copy' || name === 'swapdb' || name === 'debug') {
      for (let d = 0; d < this.byKey.length; d++) for (const s of this.byKey[d]!.keys()) this.signal(d, s);
      return;
    }
    const m = this.byKey[db];
    if (m === undefined || m.size === 0) return;
    for (let i = 1; i < argv.length; i++) {
      const s = latin1(argv[i]!);
      if (m.has(s)) this.signal(db, s);
    }
  }

  private signal(db: number, s: string): void {
    const id = `${db}:${s}`;
    if (this.readySet.has(id)) return;
    this.readySet.add(id);
    this.ready.push([db, s]);
  }

  /** True when a key holds a value of the kind a client waits for. */
  private holds(db: number, key: Buffer, kind: WaitKind): boolean {
    const t = this.host.keyspace.typeOf(db, key);
    return t === kind;
  }

  /**
   * Serves the clients blocked on ready keys (Redis's handleClientsBlockedOnKeys): after the
   * command (or EXEC) that made them ready, in signal order, each key's clients first come first
   * served. Re-entrant calls (from the units it runs itself) return at once; the loop picks up
   * what they signal.
   */
  handleReady(): void {
    if (this.handling || this.ready.length === 0) return;
    this.handling = true;
    try {
      while (this.ready.length > 0) {
        const batch = this.ready;
        this.ready = [];
        this.readySet.clear();
        for (const [db, s] of batch) {
          const q = this.byKey[db]!.get(s);
          if (q === undefined) continue;
          const key = Buffer.from(s, 'latin1');
          for (const entry of q.slice()) {
            if (entry.done) continue;
            if (!this.holds(db, key, entry.kind)) continue;
            this.serve(entry, key);
          }
        }
      }
    } finally {
      this.handling = false;
    }
  }

  private serve(entry: Blocked, key: Buffer): void {
    const now = Date.now();
    this.host.keyspace.now = now;
    this.servingClient = entry.client;
    this.servingKeyBuf = key;
    let reply: Reply;
    try {
      reply = this.host.serveCommand(entry.client, entry.argv, now);
    } finally {
      this.servingClient = null;
      this.servingKeyBuf = null;
    }
    this.host.uncountCall(entry.argv);
    if (reply === KEEP_BLOCKED) return;
    this.finish(entry, reply);
  }
}
