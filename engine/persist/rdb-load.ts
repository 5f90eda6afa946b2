/**
 * Loading dump.rdb into the keyspace at open(). All or nothing: the keyspace is empty before a
 * load, and any error (corruption, truncation, bad checksum, a duplicated key, content forkless
 * has no equivalent for, such as streams) empties it again before the error propagates, so a
 * database is never half-loaded.
 *
 * As Redis on a master: keys whose expire time has passed are not loaded (counted as expired),
 * unless the file is an AOF base (`keepExpired`).
 *
 * Collections. The reader decodes every RDB encoding (plain, zipmap, ziplist, intset, listpack,
 * quicklist v1/v2) into element arrays; storeRdbValue hands them to the type layer's builders
 * (loadHash, loadSet, loadZset, loadList), which choose the encoding as Redis 7.0's loader does
 * from the configured thresholds. A hash or zset the file held as a listpack/ziplist (the
 * reader's `packed`) stays compact up to the entry count whatever its element lengths, as Redis's
 * loader does. Lists are rebuilt by tail pushes under list-max-listpack-size, where Redis keeps a
 * quicklist-2 file's node boundaries: same elements, possibly other node sizes (MEMORY USAGE).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CorruptFileError, ForklessError, PersistenceIOError } from '../errors.js';
import { Crc64 } from './crc64.js';
import type { SharedKeyspace } from '../keyspace/keyspace.js';
import { NO_EXPIRE, type Keyspace } from '../keyspace/api.js';
import { readRdb, type RdbValue } from './rdb-reader.js';
import { DEFAULT_HASH_LIMITS, loadHash, type HashLimits } from '../types/hash.js';
import { DEFAULT_SET_LIMITS, loadSet, type SetLimits } from '../types/set.js';
import { DEFAULT_ZSET_LIMITS, loadZset, type ZsetLimits } from '../types/zset.js';
import { loadList } from '../types/list.js';

export interface LoadResult {
  keysLoaded: number;
  keysExpired: number;
  aux: Map<string, string>;
}

/** The encoding thresholds the builders apply (the hash-/set-/zset-max-* directives). */
export interface CollectionLimits {
  hash: HashLimits;
  set: SetLimits;
  zset: ZsetLimits;
  /** list-max-listpack-size (negative: a node byte size class, positive: entries per node). */
  listMaxListpackSize: number;
}

export const DEFAULT_COLLECTION_LIMITS: CollectionLimits = {
  hash: DEFAULT_HASH_LIMITS, set: DEFAULT_SET_LIMITS, zset: DEFAULT_ZSET_LIMITS, listMaxListpackSize: -2,
};

/** The thresholds from a config that has Redis's directive names (the engine's Config). */
export function collectionLimits(cfg: { getInt(name: string): number }): CollectionLimits {
  return {
    hash: { maxListpackEntries: cfg.getInt('hash-max-listpack-entries'), maxListpackValue: cfg.getInt('hash-max-listpack-value') },
    set: { maxIntsetEntries: cfg.getInt('set-max-intset-entries') },
    zset: { maxListpackEntries: cfg.getInt('zset-max-listpack-entries'), maxListpackValue: cfg.getInt('zset-max-listpack-value') },
    listMaxListpackSize: cfg.getInt('list-max-listpack-size'),
  };
}

export interface LoadOptions {
  /** Drop keys already expired (a master loading a dump). */
  masterDropsExpired: boolean;
  /** Encoding thresholds for loaded collections; Redis's defaults when absent. */
  limits?: CollectionLimits;
}

/**
 * Stores one decoded RDB value under `key` (replacing what is there), strings as they are and
 * collections through the type layer's builders. The value's byte views may alias the file
 * buffer: every builder copies what it stores. Shared by the RDB loader, the AOF loader's RDB
 * preamble and DEBUG RELOAD, so the three agree on encodings.
 */
export function storeRdbValue(ks: Keyspace, db: number, key: Uint8Array, value: RdbValue, expireMs: number, limits: CollectionLimits = DEFAULT_COLLECTION_LIMITS): void {
  switch (value.type) {
    case 'string':
      ks.setString(db, key, value.value, expireMs);
      return;
    case 'hash':
      // A compact form in the file stays compact up to the entry count, whatever the lengths (Redis's loader).
      loadHash(ks, db, key, value.entries, expireMs,
        value.packed === true ? { ...limits.hash, maxListpackValue: Number.MAX_SAFE_INTEGER } : limits.hash);
      return;
    case 'set':
      loadSet(ks, db, key, value.members, expireMs, limits.set);
      return;
    case 'zset':
      loadZset(ks, db, key, value.entries.map((e) => [e.member, e.score] as const), expireMs, limits.zset, value.packed === true);
      return;
    case 'list':
      loadList(ks, db, key, value.items, expireMs, limits.listMaxListpackSize);
      return;
  }
}

/**
 * Computes the CRC-64 of bytes [0, len) of a shared buffer elsewhere (the snapshot worker), as
 * lower-case hex. Lets the main thread parse while the checksum is computed in parallel.
 */
export type ParallelCrc = (sab: SharedArrayBuffer, len: number) => Promise<string>;

export function loadRdbBytes(bytes: Uint8Array, file: string, ks: SharedKeyspace, opts: LoadOptions, verifyChecksum = true): LoadResult & { endOffset: number; checksum: string } {
  const res: LoadResult = { keysLoaded: 0, keysExpired: 0, aux: new Map() };
  const now = Date.now();
  const limits = opts.limits ?? DEFAULT_COLLECTION_LIMITS;
  let currentDb = 0;
  try {
    const r = readRdb(bytes, file, {
      aux: (k, v) => { res.aux.set(Buffer.from(k).toString(), Buffer.from(v).toString()); },
      selectDb: (db) => {
        if (db >= ks.databases) {
          throw new ForklessError('EDB', `${file}: FATAL: Data file was created with a Redis server configured to handle more than ${ks.databases} databases. Exiting`);
        }
        currentDb = db;
      },
      resizeDb: (dbSize) => { ks.reserve(currentDb, dbSize); },
      key: (db: number, key: Uint8Array, value: RdbValue, expireMs: number) => {
        if (opts.masterDropsExpired && expireMs !== NO_EXPIRE && expireMs < now) {
          res.keysExpired++;
          return;
        }
        const before = ks.dbSize(db);
        storeRdbValue(ks, db, key, value, expireMs, limits);
        if (ks.dbSize(db) === before) {
          throw new ForklessError('EDUPKEY', `${file}: RDB has duplicated key '${Buffer.from(key).toString()}' in DB ${db}`);
        }
        res.keysLoaded++;
      },
    }, { verifyChecksum });
    return { ...res, endOffset: r.endOffset, checksum: r.checksum };
  } catch (err) {
    ks.flushAll();
    throw err;
  }
}

/** Reads a whole file into a SharedArrayBuffer (so a worker can checksum it in parallel). */
function readShared(file: string): Uint8Array<SharedArrayBuffer> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new PersistenceIOError(`Fatal error loading the DB ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    const u8 = new Uint8Array(new SharedArrayBuffer(size));
    let off = 0;
    while (off < size) {
      const n = readSync(fd, u8, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return u8.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads dump.rdb. With `crc` the checksum is computed by a worker while this thread parses
 * (CRC-64 over 120 MB costs ~130 ms here, a fifth of the load); the load is undone if the
 * checksum then disagrees, so the result is the same as checking first.
 */
export async function loadRdbFile(file: string, ks: SharedKeyspace, opts: LoadOptions, crc?: ParallelCrc): Promise<LoadResult> {
  const bytes = readShared(file);
  const size = bytes.length;
  const pending = crc !== undefined && size > 8 ? crc(bytes.buffer, size - 8).then((hex) => hex, () => null) : null;
  const res = loadRdbBytes(bytes, file, ks, opts, pending === null);
  if (pending !== null && res.checksum === 'skipped') {
    const stored = new Crc64();
    stored.lo = bytes[res.endOffset - 8] | (bytes[res.endOffset - 7] << 8) | (bytes[res.endOffset - 6] << 16) | (bytes[res.endOffset - 5] << 24);
    stored.hi = bytes[res.endOffset - 4] | (bytes[res.endOffset - 3] << 8) | (bytes[res.endOffset - 2] << 16) | (bytes[res.endOffset - 1] << 24);
    stored.lo >>>= 0;
    stored.hi >>>= 0;
    let actual = res.endOffset === size ? await pending : null;
    if (actual === null) {
      const c = new Crc64();
      c.update(bytes, 0, res.endOffset - 8);
      actual = c.hex();
    }
    if (actual !== stored.hex()) {
      ks.flushAll();
      throw new CorruptFileError(file, res.endOffset - 8, `Wrong RDB checksum expected: (${actual.replace(/^0+(?=.)/, '')}) but got (${stored.value().toString(16)})`);
    }
  }
  return res;
}
