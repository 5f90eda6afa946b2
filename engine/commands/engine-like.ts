/**
 * What command handlers may use of the engine. Families import this interface, never the Engine
 * class, so commands stay testable against any object that provides it (engine.ts implements it).
 */
import type { Keyspace } from '../keyspace/api.js';

export interface EngineLike {
  readonly keyspace: Keyspace;
  /** Number of databases (the `databases` directive). */
  readonly databases: number;
  /** proto-max-bulk-len: the largest string a command may create. */
  readonly protoMaxBulkLen: number;
  /** FLUSHALL's persistence side effect: with save rules configured, Redis saves right after. */
  afterFlushAll(): void;
}
