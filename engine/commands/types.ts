/**
 * The command layer's contracts: how a reply is represented, what a command-table row holds, and
 * what a handler can see (its context). Both front ends share them: the embedded API turns a Reply
 * into JS values, the RESP server encodes it as RESP2 or RESP3.
 *
 * Reply model (one JS shape per RESP type, so handlers stay protocol-free):
 *   string            simple string (+OK)
 *   Buffer            bulk string
 *   null              nil (RESP2 $-1, RESP3 _)
 *   number | bigint   integer (bigint only outside the safe-integer range)
 *   Reply[]           array
 *   ReplyError        error reply (handlers usually throw it instead)
 *   the classes below RESP3-aware shapes that degrade to RESP2 the way Redis does
 */
import type { ReplyError } from '../errors.js';

export class NilArray { static readonly instance = new NilArray(); private constructor() {} }
/** A double (RESP3 `,`); RESP2 sends it as a bulk string formatted like Redis (%.17g rules). */
export class DoubleReply { constructor(readonly value: number) {} }
/** A map (RESP3 `%`); RESP2 flattens it to an array k1 v1 k2 v2. */
export class MapReply { constructor(readonly entries: Array<[Reply, Reply]>) {} }
/** A set (RESP3 `~`); RESP2 sends a plain array. */
export class SetReply { constructor(readonly items: Reply[]) {} }
/** Verbatim text (RESP3 `=txt:`); RESP2 sends a bulk string. INFO and CLIENT LIST use it. */
export class VerbatimReply { constructor(readonly text: string, readonly format = 'txt') {} }
/** A reply that was already encoded as raw RESP bytes (rare; used for passthrough). */
export class RawReply { constructor(readonly bytes: Buffer) {} }
/**
 * An out-of-band message (RESP3 `>`); RESP2 sends a plain array. Pub/sub messages and the
 * (un)subscribe confirmations use it, as Redis does.
 */
export class PushReply { constructor(readonly items: Reply[]) {} }
/**
 * Several top-level replies sent back to back with no header of their own: SUBSCRIBE a b answers
 * with one push per channel. Inside an EXEC array each part counts as one element, as in Redis
 * (the array header then undercounts, exactly like Redis's own reply).
 */
export class ReplySequence { constructor(readonly replies: Reply[]) {} }

export type Reply =
  | string | Buffer | null | number | bigint | Reply[] | ReplyError
  | NilArray | DoubleReply | MapReply | SetReply | VerbatimReply | RawReply | PushReply | ReplySequence;

export const OK = 'OK';

/**
 * Flags, as in Redis's command table. Only the ones the engine acts on are listed:
 *  write     may modify the keyspace: propagated to AOF/replicas when it dirtied something;
 *            refused while persistence is failing (MISCONF) or on a read-only replica.
 *  readonly  never modifies the keyspace.
 *  denyoom   refused when over maxmemory.
 *  admin     server administration (CONFIG, SAVE, ...).
 *  fast      O(1) or O(log N); informational (COMMAND INFO, SLOWLOG).
 *  noscript, loading, stale, pubsub, noprop, sortForScript, mayReplicate: as Redis, informational
 *  blocking  may block the client (server front end only)
 *  noMulti   cannot be queued inside MULTI
 *  skipMonitor, skipSlowlog  not shown to MONITOR / not logged by SLOWLOG (EXEC, AUTH ...)
 *  protected refused unless enabled by its enable-*-command directive (DEBUG)
 */
export type CommandFlag =
  | 'write' | 'readonly' | 'denyoom' | 'admin' | 'fast' | 'noscript' | 'loading' | 'stale'
  | 'pubsub' | 'noprop' | 'blocking' | 'noMulti' | 'mayReplicate' | 'allowBusy' | 'noAuth'
  | 'skipMonitor' | 'skipSlowlog' | 'protected';

/** Per-connection (or per embedded handle) state that commands read and change. */
export interface ClientState {
  readonly id: number;
  db: number;
  resp: 2 | 3;
  name: string | null;
  /**
   * The MULTI queue: null outside a transaction. Set by the engine's MULTI, cleared by EXEC,
   * DISCARD and RESET; the front end reads it (CLIENT LIST flags=x, multi=<queued>) and forwards
   * its own queueable commands to the engine while it is set.
   */
  multi: Array<Buffer[]> | null;
}

/**
 * What a handler sees. `engine` is typed loosely here (EngineLike) so that command files depend on
 * an interface, not on the concrete Engine class; index.ts wires the real one in.
 */
export interface CommandContext<E = unknown> {
  readonly engine: E;
  readonly client: ClientState;
  /** Current time in ms, read once per command (Redis caches mstime for a command's duration). */
  readonly now: number;
  /**
   * Record that the command changed `n` keys (Redis's server.dirty). A write command whose dirty
   * count stays 0 is not propagated (e.g. SET NX on an existing key).
   */
  dirty(n?: number): void;
  /**
   * Replace the default propagation (the argv as received) with explicit commands, in order,
   * each for `db` (defaults to the client's db). Several calls → the AOF/replica consumer wraps
   * them in MULTI/EXEC. Calling it marks the command as having something to propagate.
   */
  propagate(argv: Array<Buffer | string>, db?: number): void;
}

export type Handler<E = unknown> = (ctx: CommandContext<E>, argv: Buffer[]) => Reply;

/** One row of the command table. `argv[0]` is the command name; key positions index into argv. */
export interface CommandSpec<E = unknown> {
  readonly name: string;          // lower case, as Redis's COMMAND reply shows it
  readonly arity: number;         // Redis convention: N exact, -N at least N (name included)
  readonly flags: readonly CommandFlag[];
  readonly firstKey: number;      // 0 = no keys
  readonly lastKey: number;       // -1 = last argument
  readonly step: number;
  readonly group: string;         // 'string', 'generic', 'server', 'connection', ...
  readonly since: string;         // Redis version that introduced it, for COMMAND DOCS
  readonly summary: string;
  readonly handler: Handler<E>;
  /** Container commands (CONFIG, CLIENT, OBJECT, ...) route to subcommands by argv[1]. */
  readonly subcommands?: readonly CommandSpec<E>[];
}

/**
 * A propagated write: the argv to feed the AOF and replicas, with the db it applies to. Listeners
 * receive one execution unit per call (a command, or a whole EXEC); a unit of more than one item
 * is wrapped in MULTI/EXEC by the consumer (Redis's propagatePendingCommands).
 */
export interface Propagation {
  readonly db: number;
  readonly argv: Buffer[];
}
