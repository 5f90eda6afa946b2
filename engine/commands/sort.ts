/**
 * The sort command family (issue 5). Rows are appended as the family is built.
 */
import type { EngineLike } from './engine-like.js';
import type { CommandSpec } from './types.js';

export const sortCommands: readonly CommandSpec<EngineLike>[] = [];
