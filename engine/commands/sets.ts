/**
 * The sets command family (issue 5). Rows are appended as the family is built.
 */
import type { EngineLike } from './engine-like.js';
import type { CommandSpec } from './types.js';

export const setsCommands: readonly CommandSpec<EngineLike>[] = [];
