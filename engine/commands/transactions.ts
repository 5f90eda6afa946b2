/**
 * Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7.0's semantics (multi.c).
 *
 * DESIGN
 *  - Queueing is part of the engine's command flow (command-flow.ts), because it happens before
 *    a command runs: while `client.multi` is set, every command except EXEC, DISCARD, MULTI,
 *    WATCH, QUIT and RESET is checked the way Redis's processCommand checks it (unknown command,
 *    arity, not allowed in a transaction, MISCONF, pub/sub context) and queued with +QUEUED. A
 *    refused command flags the transaction (`dirtyExec`): EXEC then answers EXECABORT and runs
 *    nothing. Once flagged (or once a watched key was touched), nothing more is queued, as Redis.
 *  - The queue keeps the argv Buffers as the front end handed them (views into its receive
 *    chunks, which it never overwrites; engine-port.ts).
 *  - WATCH: `byKey[db]` maps a key (its bytes as a latin1 string, one char per byte) to the
 *    transactions watching it; each transaction lists its keys. Touching a key marks every watcher
 *    `dirtyCas` and drops all of that watcher's keys (a dirty transaction can only fail, so there
 *    is nothing left to watch). `entries` counts (client, key) pairs so the engine skips all
 *    WATCH work with one comparison when nobody watches anything.
 *  - What touches a key: every write command that changed something (its key-spec keys, plus the
 *    second db of MOVE/COPY ... DB), FLUSHDB/FLUSHALL/SWAPDB/DEBUG RELOAD for the keys that
 *    existed, and expiry (the keyspace's onExpired hook). Redis calls this signalModifiedKey.
 *  - A key that is already expired when WATCHed: Redis flags it and ignores its later deletion. We
 *    look the key up at WATCH time, which deletes it (lazy expiry) before this client is
 *    registered: the same outcome (a deleted key is no change), with Redis's lazy DEL propagated a
 *    little earlier. EXEC looks every watched key up again, so one that expired since WATCH
 *    touches its watchers and the EXEC fails, as isWatchedKeyExpired makes it.
 *  - EXEC runs the queue through the engine's nested dispatch; each command is accounted like a
 *    top-level one (stats, SLOWLOG, MONITOR, WATCH touches), and their propagations are collected
 *    so the engine hands the listeners one unit, wrapped in MULTI ... EXEC when it holds more than
 *    one command (Redis 7.0 propagates a single write bare).
 */
import { ReplyError } from '../errors.js';
import { NilArray, OK, type ClientState, type CommandContext, type CommandSpec, type Reply } from './types.js';
import type { Engine } from '../engine.js';
import type { Keyspace } from '../keyspace/api.js';

type Ctx = CommandContext<Engine>;

/** Engine-side transaction state of one client (absent until it uses MULTI or WATCH). */
export interface ClientTx {
  readonly client: ClientState;
  /** A watched key was touched: EXEC fails with a nil array (CLIENT_DIRTY_CAS). */
  dirtyCas: boolean;
  /** A command was refused while queueing: EXEC fails with EXECABORT (CLIENT_DIRTY_EXEC). */
  dirtyExec: boolean;
  /** EXEC is running the queue (Redis keeps CLIENT_MULTI set meanwhile). */
  executing: boolean;
  /** Watched keys, in WATCH order. */
  watched: Array<{ db: number; key: string }>;
  /** Bytes of the queued argv (CLIENT LIST multi-mem). */
  multiMem: number;
}

export const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class TxRegistry {
  /** Per db: key → transactions watching it (insertion-ordered). */
  private readonly byKey: Array<Map<string, Set<ClientTx>>>;
  private readonly clients = new Map<ClientState, ClientTx>();
  /** (client, key) pairs watched in total; 0 lets the engine skip every WATCH check. */
  entries = 0;

  constructor(databases: number) {
    this.byKey = Array.from({ length: databases }, () => new Map<string, Set<ClientTx>>());
  }

  get(client: ClientState): ClientTx | undefined {
    return this.clients.get(client);
  }

  ensure(client: ClientState): ClientTx {
    let tx = this.clients.get(client);
    if (tx === undefined) {
      tx = { client, dirtyCas: false, dirtyExec: false, executing: false, watched: [], multiMem: 0 };
      this.clients.set(client, tx);
    }
    return tx;
  }

  /** Forgets a client entirely (connection closed). */
  drop(client: ClientState): void {
    const tx = this.clients.get(client);
    if (tx === undefined) return;
    this.unwatchAll(tx);
    this.clients.delete(client);
  }

  /** MULTI: the client starts queueing. */
  begin(client: ClientState): void {
    client.multi = [];
    const tx = this.ensure(client);
    tx.dirtyExec = false;
    tx.multiMem = 0;
  }

  /** Queues a checked command unless the transaction is already doomed (Redis saves the memory). */
  queue(client: ClientState, argv: Buffer[]): void {
    const tx = this.ensure(client);
    if (tx.dirtyCas || tx.dirtyExec || client.multi === null) return;
    client.multi.push(argv);
    let bytes = 8 * argv.length;
    for (const a of argv) bytes += a.length;
    tx.multiMem += bytes;
  }

  /** A command was refused while queueing: EXEC will answer EXECABORT. */
  flagExec(client: ClientState): void {
    if (client.multi !== null) this.ensure(client).dirtyExec = true;
  }

  /** Redis's discardTransaction: forget the queue and the flags, unwatch everything. */
  discard(client: ClientState): void {
    client.multi = null;
    const tx = this.clients.get(client);
    if (tx === undefined) return;
    tx.dirtyCas = false;
    tx.dirtyExec = false;
    tx.executing = false;
    tx.multiMem = 0;
    this.unwatchAll(tx);
    this.clients.delete(client);
  }

  /** WATCH one key for a client (a second WATCH of the same key is a no-op). */
  watch(client: ClientState, db: number, key: Uint8Array): void {
    const tx = this.ensure(client);
    const k = latin1(key);
    for (const w of tx.watched) if (w.db === db && w.key === k) return;
    const map = this.byKey[db]!;
    let set = map.get(k);
    if (set === undefined) map.set(k, set = new Set());
    set.add(tx);
    tx.watched.push({ db, key: k });
    this.entries++;
  }

  unwatchAll(tx: ClientTx): void {
    for (const w of tx.watched) {
      const map = this.byKey[w.db]!;
      const set = map.get(w.key);
      if (set === undefined) continue;
      set.delete(tx);
      if (set.size === 0) map.delete(w.key);
      this.entries--;
    }
    tx.watched = [];
  }

  /** Whether anyone watches a key of `db` (cheap pre-check before collecting keys). */
  watchesDb(db: number): boolean {
    return this.entries > 0 && (this.byKey[db]?.size ?? 0) > 0;
  }

  isWatched(db: number, key: Uint8Array): boolean {
    return this.byKey[db]?.has(latin1(key)) ?? false;
  }

  /** Redis's touchWatchedKey: every watcher of the key fails its EXEC. */
  touch(db: number, key: Uint8Array): void {
    if (this.entries === 0) return;
    const set = this.byKey[db]?.get(latin1(key));
    if (set === undefined) return;
    for (const tx of [...set]) this.makeDirty(tx);
  }

  /** Marks transactions dirty (the result of watchersOfExisting, once the command succeeded). */
  dirtyAll(txs: Iterable<ClientTx>): void {
    for (const tx of txs) this.makeDirty(tx);
  }

  private makeDirty(tx: ClientTx): void {
    tx.dirtyCas = true;
    this.unwatchAll(tx);
  }

  /**
   * Why: FLUSHDB/FLUSHALL/SWAPDB change keys wholesale, and Redis touches a watched key only if it
   * existed in the emptied db (or, for SWAPDB, in the db swapped in). That must be read before the
   * command runs, so the engine asks here first and applies the result only if the command
   * succeeded. `pairs` lists [watched db, other db whose content replaces it (or -1)].
   */
  watchersOfExisting(ks: Keyspace, pairs: ReadonlyArray<readonly [number, number]>): Set<ClientTx> {
    const out = new Set<ClientTx>();
    for (const [db, other] of pairs) {
      const map = this.byKey[db];
      if (map === undefined || map.size === 0) continue;
      for (const [k, set] of [...map]) {
        const key = Buffer.from(k, 'latin1');
        if (ks.exists(db, key) || (other >= 0 && ks.exists(other, key))) for (const tx of set) out.add(tx);
      }
    }
    return out;
  }

  /** EXEC's expiry check: looking watched keys up expires (and so touches) any that timed out. */
  checkExpired(client: ClientState, ks: Keyspace): void {
    const tx = this.clients.get(client);
    if (tx === undefined) return;
    for (const w of [...tx.watched]) ks.exists(w.db, Buffer.from(w.key, 'latin1'));
  }
}

// ================================================================================================
// Commands
// ================================================================================================

function multiCommand(ctx: Ctx): Reply {
  if (ctx.client.multi !== null) throw new ReplyError('ERR MULTI calls can not be nested');
  ctx.engine.flow.tx.begin(ctx.client);
  return OK;
}

function discardCommand(ctx: Ctx): Reply {
  if (ctx.client.multi === null) throw new ReplyError('ERR DISCARD without MULTI');
  ctx.engine.flow.tx.discard(ctx.client);
  return OK;
}

/**
 * EXEC: fail as a whole (EXECABORT after a refused command, a nil array after a touched WATCH),
 * or run every queued command in order and answer with their replies. Nothing from another client
 * runs in between (the engine is single-threaded), which is all Redis promises: a command that
 * fails inside EXEC does not undo the others.
 */
function execCommand(ctx: Ctx): Reply {
  const client = ctx.client;
  const flow = ctx.engine.flow;
  const tx = flow.tx;
  if (client.multi === null) throw new ReplyError('ERR EXEC without MULTI');
  tx.checkExpired(client, ctx.engine.keyspace);
  const state = tx.ensure(client);
  if (state.dirtyExec) {
    tx.discard(client);
    throw new ReplyError(EXECABORT);
  }
  if (state.dirtyCas) {
    tx.discard(client);
    return NilArray.instance;
  }
  tx.unwatchAll(state);
  const queue = client.multi;
  state.executing = true;
  const replies: Reply[] = new Array<Reply>(queue.length);
  try {
    for (let i = 0; i < queue.length; i++) replies[i] = flow.runQueued(ctx, queue[i]!);
  } finally {
    tx.discard(client);
  }
  return replies;
}

function watchCommand(ctx: Ctx, argv: Buffer[]): Reply {
  const client = ctx.client;
  if (client.multi !== null) throw new ReplyError('ERR WATCH inside MULTI is not allowed');
  const tx = ctx.engine.flow.tx;
  if (tx.get(client)?.dirtyCas === true) return OK;
  const ks = ctx.engine.keyspace;
  for (let j = 1; j < argv.length; j++) {
    ks.exists(client.db, argv[j]!); // expires it now if it already timed out (see DESIGN)
    tx.watch(client, client.db, argv[j]!);
  }
  return OK;
}

function unwatchCommand(ctx: Ctx): Reply {
  const tx = ctx.engine.flow.tx;
  const state = tx.get(ctx.client);
  if (state !== undefined) {
    tx.unwatchAll(state);
    state.dirtyCas = false;
  }
  return OK;
}

const row = (name: string, arity: number, flags: CommandSpec<Engine>['flags'], handler: CommandSpec<Engine>['handler'],
  summary: string, since: string, keys: [number, number, number] = [0, 0, 0]): CommandSpec<Engine> => ({
  name, arity, flags, firstKey: keys[0], lastKey: keys[1], step: keys[2], group: 'transactions', since, summary, handler,
});

export const transactionCommands: CommandSpec<Engine>[] = [
  row('multi', 1, ['noscript', 'loading', 'stale', 'fast', 'allowBusy'], multiCommand, 'Start queueing commands for atomic execution.', '1.2.0'),
  row('exec', 1, ['noscript', 'loading', 'stale', 'skipSlowlog'], execCommand, 'Run every queued command atomically.', '1.2.0'),
  row('discard', 1, ['noscript', 'loading', 'stale', 'fast', 'allowBusy'], discardCommand, 'Forget the queued commands and leave MULTI.', '2.0.0'),
  row('watch', -2, ['noscript', 'loading', 'stale', 'fast', 'allowBusy'], watchCommand, 'Make the next EXEC depend on keys staying unchanged.', '2.2.0', [1, -1, 1]),
  row('unwatch', 1, ['noscript', 'loading', 'stale', 'fast', 'allowBusy'], unwatchCommand, 'Forget every WATCHed key.', '2.2.0'),
];
