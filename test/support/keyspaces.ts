/** The keyspace implementations command tests run against: the model and the real one. */
import type { Keyspace } from '../../engine/keyspace/api.js';
import { createKeyspace } from '../../engine/keyspace/keyspace.js';
import { ModelKeyspace } from './model-keyspace.js';

export const KEYSPACES: ReadonlyArray<readonly [string, (databases?: number) => Keyspace]> = [
  ['model', (databases = 16) => new ModelKeyspace({ databases })],
  ['shared', (databases = 16) => createKeyspace({ databases })],
];
