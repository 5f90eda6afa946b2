/**
 * The command table: every family's rows in one list, ready for `new Dispatcher(engine, rows)`.
 * Families that need more of the engine than EngineLike (the server family: INFO, CONFIG, SAVE …)
 * are passed in by the caller, so this file depends on no concrete Engine.
 */
import { connectionCommands } from './connection.js';
import type { EngineLike } from './engine-like.js';
import { genericCommands } from './generic.js';
import { stringCommands } from './strings.js';
import { hashesCommands } from './hashes.js';
import { setsCommands } from './sets.js';
import { zsetsCommands } from './zsets.js';
import { listsCommands } from './lists.js';
import { sortCommands } from './sort.js';
import type { CommandSpec } from './types.js';

/** The families that only need EngineLike. */
export const coreFamilies: ReadonlyArray<readonly CommandSpec<EngineLike>[]> = [
  stringCommands,
  genericCommands,
  hashesCommands,
  setsCommands,
  zsetsCommands,
  listsCommands,
  sortCommands,
  connectionCommands,
];

/**
 * All rows: the core families followed by `extra` ones. A name defined twice is a wiring bug, so
 * it throws rather than letting one row silently shadow another.
 */
export function buildCommandTable<E extends EngineLike>(...extra: ReadonlyArray<readonly CommandSpec<E>[]>): CommandSpec<E>[] {
  const rows: CommandSpec<E>[] = [];
  const seen = new Set<string>();
  const add = (spec: CommandSpec<E>): void => {
    const name = spec.name.toLowerCase();
    if (seen.has(name)) throw new Error(`command '${name}' is defined by two families`);
    seen.add(name);
    rows.push(spec);
  };
  for (const family of coreFamilies) for (const spec of family) add(spec);
  for (const family of extra) for (const spec of family) add(spec);
  return rows;
}
