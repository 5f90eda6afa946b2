/**
 * Loading dump.rdb into the keyspace at open(). All or nothing: the keyspace is empty before a
 * load, and any error (corruption, truncation, bad checksum, a duplicated key, a type this version
 * cannot store) empties it again before the error propagates, so a database is never half-loaded.
 *
 * As Redis on a master: keys whose expire time has passed are not loaded (counted as expired),
 * unless the file is an AOF base (`keepExpired`).
 */
import { readFileSync } from 'node:fs';
import { ForklessError, PersistenceIOError } from '../errors.js';
import type { SharedKeyspace } from '../keyspace/keyspace.js';
import { NO_EXPIRE } from '../keyspace/api.js';
import { readRdb, type RdbValue } from './rdb-reader.js';

export interface LoadResult {
  keysLoaded: number;
  keysExpired: number;
  aux: Map<string, string>;
}

export interface LoadOptions {
  /** Drop keys already expired (a master loading a dump). */
  masterDropsExpired: boolean;
}

export class UnsupportedTypeError extends ForklessError {
  constructor(file: string, key: Uint8Array, type: string) {
    super('EUNSUPPORTEDTYPE', `${file}: key '${Buffer.from(key).toString()}' holds a ${type}, which this version of forkless cannot store yet`);
    this.name = 'UnsupportedTypeError';
  }
}

export function loadRdbBytes(bytes: Uint8Array, file: string, ks: SharedKeyspace, opts: LoadOptions): LoadResult {
  const res: LoadResult = { keysLoaded: 0, keysExpired: 0, aux: new Map() };
  const now = Date.now();
  try {
    readRdb(bytes, file, {
      aux: (k, v) => { res.aux.set(Buffer.from(k).toString(), Buffer.from(v).toString()); },
      selectDb: (db) => {
        if (db >= ks.databases) {
          throw new ForklessError('EDB', `${file}: FATAL: Data file was created with a Redis server configured to handle more than ${ks.databases} databases. Exiting`);
        }
      },
      resizeDb: () => {},
      key: (db: number, key: Uint8Array, value: RdbValue, expireMs: number) => {
        if (value.type !== 'string') throw new UnsupportedTypeError(file, key, value.type);
        if (opts.masterDropsExpired && expireMs !== NO_EXPIRE && expireMs < now) {
          res.keysExpired++;
          return;
        }
        const before = ks.dbSize(db);
        ks.setString(db, key, value.value, expireMs);
        if (ks.dbSize(db) === before) {
          throw new ForklessError('EDUPKEY', `${file}: RDB has duplicated key '${Buffer.from(key).toString()}' in DB ${db}`);
        }
        res.keysLoaded++;
      },
    }, { verifyChecksum: true });
  } catch (err) {
    ks.flushAll();
    throw err;
  }
  return res;
}

export function loadRdbFile(file: string, ks: SharedKeyspace, opts: LoadOptions): LoadResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new PersistenceIOError(`Fatal error loading the DB ${file}: ${(err as Error).message}`, { cause: err });
  }
  return loadRdbBytes(bytes, file, ks, opts);
}
