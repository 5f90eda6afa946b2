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
  /**
   * Directives the command families read (encoding thresholds). Optional: test harnesses that do
   * not provide it get Redis's defaults through configInt().
   */
  readonly config?: { getInt(name: string): number };
}

/** A numeric directive from the engine's config when it has one, else Redis's default `dflt`. */
export function configInt(engine: EngineLike, name: string, dflt: number): number {
  const v = engine.config?.getInt(name);
  return v !== undefined && Number.isFinite(v) ? v : dflt;
}
