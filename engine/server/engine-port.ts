/**
 * The contract between the RESP front end (engine/server/*) and the engine. The server owns
 * sockets, the protocol, authentication and the connection-level commands (HELLO, AUTH, QUIT,
 * RESET, CLIENT ...); everything else is handed to `execute()`.
 *
 * Ownership rules the engine must respect
 *  - `argv` Buffers passed to `execute()` are views into the connection's receive buffers. The
 *    server never writes over bytes it has handed out, so a view stays valid if kept, but keeping
 *    one pins its whole receive chunk (up to 64 KiB): copy what you keep for long (the MULTI queue
 *    may keep the views as they are; that is what they are designed for).
 *  - A returned Reply may contain Buffers that are zero-copy views into the SharedArrayBuffer
 *    keyspace: the server copies their bytes into the connection's output buffer before it calls
 *    `execute()` again, so no later write can change a reply already produced.
 *  - `execute()` may throw a ReplyError instead of returning one; the server sends it as an error
 *    reply. Any other exception is logged at warning level and answered with `-ERR <message>`.
 *
 * Asynchronous output (pub/sub, MONITOR)
 *  Most replies answer a command, but a subscriber receives messages published by other clients
 *  and a MONITOR client receives every command. The engine owns subscriptions and monitors; the
 *  front end owns sockets. So the engine calls `ServerFrontEnd.push(clientId, reply)` (reached
 *  through `attachServer`) whenever it has something for a client, at any time, including in the
 *  middle of that same client's command (PUBLISH to a channel the publisher is subscribed to in
 *  RESP3): the front end encodes the push at once, ahead of the command's own reply, and sends it
 *  with the next write. Pushes are delivered even under CLIENT REPLY OFF, as Redis does. (Output
 *  that must follow a command's reply, like a MONITOR client's line for its own command, is part
 *  of the reply instead: a ReplySequence.)
 *  What the front end needs back (the pub/sub context rule for its own commands, CLIENT LIST's
 *  flags and sub/psub counts) comes from `clientInfo()`.
 *
 * Durable replies (appendfsync)
 *  Redis writes the AOF (and under `appendfsync always` fsyncs it) before it writes any client's
 *  output, so no client sees a reply, a push or a read of data the AOF does not hold yet. An
 *  engine with an AOF offers three hooks for that: after each batch of output for a connection
 *  (one input chunk's replies, or pushes) the front end takes `durabilityBarrier()`; if it is 0 or
 *  `isDurable()` and the connection holds nothing, the bytes go out at once; otherwise they wait,
 *  in order with everything else that connection writes, for `whenDurable()`. If the AOF fails for
 *  good (`fail`), the connection is closed unanswered: the engine is exiting, as Redis does.
 *  An engine offers all three or none.
 *
 * The front end's own commands in the engine
 *  The engine's command table has rows for HELLO, AUTH, CLIENT, QUIT, RESET and SHUTDOWN, so that
 *  COMMAND lists them, MULTI can check and queue them (the front end hands AUTH/HELLO/CLIENT/
 *  SHUTDOWN to `execute()` while `client.multi` is set) and EXEC can run them back through
 *  `ServerFrontEnd.connectionCommand()`. When the front end runs one itself it reports it with
 *  `connectionCommandRan()` (commandstats, SLOWLOG, MONITOR).
 */
import type { ReplyError } from '../errors.js';
import type { ClientState, Reply } from '../commands/types.js';

export type LogLevel = 'debug' | 'verbose' | 'notice' | 'warning';

export interface ShutdownOptions {
  save?: boolean;
  nosave?: boolean;
  /** SHUTDOWN FORCE: exit even if the final save fails (Redis logs "Exit anyway"). */
  force?: boolean;
  /** SHUTDOWN NOW: do not wait for lagging replicas (there are none yet: accepted, no effect). */
  now?: boolean;
}

/** What the engine knows about a client that the front end shows or acts on. */
export interface EngineClientInfo {
  /** Channel, pattern and shard-channel subscriptions (CLIENT LIST sub/psub/ssub). */
  sub: number;
  psub: number;
  ssub: number;
  /** MONITOR mode (CLIENT LIST flag O). */
  monitor: boolean;
  /** A WATCHed key was touched: EXEC will fail (CLIENT LIST flag d). */
  dirtyCas: boolean;
  /** Bytes held by the MULTI queue (CLIENT LIST multi-mem). */
  multiMem: number;
}

export interface ServerEnginePort {
  /** Runs one command for a client and returns its reply. */
  execute(client: ClientState, argv: Buffer[]): Reply;
  /** A fresh per-connection state; ids increase strictly (CLIENT ID, HELLO's `id`). */
  newClientState(): ClientState;
  /**
   * Current configuration, by Redis directive name (lower case). Values are strings as CONFIG GET
   * prints them; byte sizes may be plain numbers ("536870912") or carry units ("512mb").
   * Read at use, so CONFIG SET of requirepass, maxclients, timeout ... takes effect.
   */
  readonly config: { get(name: string): string | undefined };
  /** SHUTDOWN / SIGTERM: persist as configured (or as forced by save/nosave) and stop. */
  shutdown(opts: ShutdownOptions): Promise<void>;
  log(level: LogLevel, msg: string): void;

  // ---- Optional hooks. The server works without them; each one closes a gap with Redis. ----

  /** The connection is gone: drop engine-side state (WATCHed keys, subscriptions, blocking). */
  clientClosed?(client: ClientState): void;
  /** RESET: bring engine-side client state back to a fresh connection's (MULTI, WATCH, pubsub). */
  resetClient?(client: ClientState): void;
  /**
   * The error Redis would give before its auth check (unknown command, wrong arity), or null.
   * Lets an unauthenticated `FOO` get `ERR unknown command` rather than NOAUTH, as in Redis.
   */
  checkCommand?(argv: Buffer[]): ReplyError | null;
  /**
   * Whether a command may modify the dataset or be propagated (Redis's write / may-replicate
   * flags; EXEC counts when the client's queue holds such commands). CLIENT PAUSE WRITE holds
   * exactly these; without the hook every command is held.
   */
  isWriteCommand?(argv: Buffer[], client?: ClientState): boolean;
  /** Called once by the server when it starts, so the engine can reach the front end. */
  attachServer?(server: ServerFrontEnd): void;
  /**
   * Engine-side state of a client. The front end refuses its own commands (HELLO, AUTH, CLIENT,
   * SHUTDOWN) to a RESP2 client in pub/sub context (sub + psub + ssub > 0) with Redis's text, and
   * shows flags and counts in CLIENT LIST. Without the hook a client has no such state.
   */
  clientInfo?(client: ClientState): EngineClientInfo;
  /**
   * The front end ran one of its own commands for a client (reply already produced, `usec` spent).
   * Lets the engine account for it as Redis's call() does: commandstats, errorstats, SLOWLOG,
   * MONITOR (with AUTH/HELLO passwords redacted).
   */
  connectionCommandRan?(client: ClientState, argv: Buffer[], reply: Reply, usec: number): void;
  /**
   * The AOF offset that everything executed so far depends on (all clients' writes: a read may
   * show another client's write), or 0 when there is nothing to wait for (AOF off). Called after
   * every batch of output, so it must be cheap. See "Durable replies" above.
   */
  durabilityBarrier?(): number;
  /**
   * True when everything up to `offset` is as durable as `appendfsync` requires before a reply:
   * written to the kernel (everysec, no) or fsynced (always). False for good once the AOF failed.
   */
  isDurable?(offset: number): boolean;
  /**
   * Calls `cb` once `offset` is durable. Each registration is answered exactly once: `cb`, or
   * `fail` if the AOF failed for good first (then held output is never to be sent). `cb` may run
   * before whenDurable() returns when the engine finds the offset durable while registering it,
   * so callers set their "waiting" state before calling. `cb` runs inside the engine's
   * acknowledgement loop: it may write to sockets, but must not call into the engine (register
   * again, execute commands) before a microtask has passed.
   */
  whenDurable?(offset: number, cb: () => void, fail?: (err: Error) => void): void;
}

/** What the front end offers back to the engine (through `attachServer`). */
export interface ServerFrontEnd {
  /**
   * Lower-case names of the commands the server implements itself (hello, auth, client, quit,
   * reset). Inside MULTI the server forwards them to `execute()` so the engine can queue them;
   * at EXEC the engine runs them through `connectionCommand()`.
   */
  readonly connectionCommandNames: ReadonlySet<string>;
  /** Runs a connection-level command for a client the server knows (EXEC of queued CLIENT ...). */
  connectionCommand(client: ClientState, argv: Buffer[]): Reply;
  /** Figures for INFO clients / stats. */
  stats(): ServerStats;
  /**
   * Sends an out-of-band reply (pub/sub message, MONITOR line) to a client, encoded for its
   * protocol; see "Asynchronous output" above. Returns false when no such client is connected.
   * A client whose pending output passes its client-output-buffer-limit class (pubsub when
   * subscribed, else normal) is closed, as Redis does.
   */
  push(clientId: number, reply: Reply): boolean;
  /**
   * Who a client is, for MONITOR lines and SLOWLOG entries: `addr` as CLIENT LIST shows it
   * ("ip:port", "<socket path>:0"), `unixSocket` the server's socket path for unix clients (MONITOR
   * prints "unix:<path>"), `local` for loopback or unix clients (enable-debug-command local).
   * Null for ids the server does not know (the embedded API's clients).
   */
  clientPeer(clientId: number): ClientPeer | null;
  /** Absolute path of the config file the server was started with (CONFIG REWRITE), or null. */
  readonly configFile: string | null;
}

export interface ClientPeer {
  addr: string;
  unixSocket: string | null;
  local: boolean;
}

export interface ServerStats {
  connectedClients: number;
  maxClients: number;
  totalConnectionsReceived: number;
  rejectedConnections: number;
  totalNetInputBytes: number;
  totalNetOutputBytes: number;
  /** Largest unparsed input held by any client (INFO client_recent_max_input_buffer). */
  maxInputBuffer: number;
  /** Largest pending output of any client (INFO client_recent_max_output_buffer). */
  maxOutputBuffer: number;
  /** Clients whose reading is paused because their output is not being drained. */
  pausedForOutput: number;
  tcpPort: number;
  /** Read / write events served (INFO total_reads_processed / total_writes_processed). */
  totalReadsProcessed: number;
  totalWritesProcessed: number;
}
