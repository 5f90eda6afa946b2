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
 */
import type { ReplyError } from '../errors.js';
import type { ClientState, Reply } from '../commands/types.js';

export type LogLevel = 'debug' | 'verbose' | 'notice' | 'warning';

export interface ShutdownOptions {
  save?: boolean;
  nosave?: boolean;
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
   * flags; EXEC counts when its queue holds such commands). CLIENT PAUSE WRITE holds exactly
   * these; without the hook every command is held.
   */
  isWriteCommand?(argv: Buffer[]): boolean;
  /** Called once by the server when it starts, so the engine can reach the front end. */
  attachServer?(server: ServerFrontEnd): void;
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
}
