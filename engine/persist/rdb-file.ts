/**
 * Writing a whole RDB file from a snapshot view: header, AUX fields, the keyspace (via the
 * SnapshotWalker), EOF and checksum, into a temp file that is fsynced. Used by the snapshot worker
 * (BGSAVE) and by the main thread (SAVE); renaming into place is the caller's job, so a crash or a
 * failed save never leaves a half-written dump.rdb.
 *
 * `rdb-save-incremental-fsync yes` starts an fdatasync every 32 MiB written (in the background:
 * Redis fsyncs every 4 MiB inline in its child, but here the serializing thread also drains the
 * main thread's fragments and must not block), so the final fsync does not push everything at once.
 */
import { closeSync, fdatasync, fsyncSync, openSync, writeSync } from 'node:fs';
import { RdbEncoder } from './rdb-format.js';
import { SnapshotWalker, type WalkJob, type WalkStats } from './snapshot-walker.js';
import { PersistenceIOError } from '../errors.js';

export const RDB_VERSION = 10;
const AUTOSYNC_BYTES = 32 * 1024 * 1024;

export interface RdbWriteOptions {
  path: string;
  compression: boolean;
  checksum: boolean;
  incrementalFsync: boolean;
  aux: Array<[string, string]>;
}

export interface RdbWriteResult extends WalkStats {
  bytes: number;
  durationMs: number;
}

export function writeRdbFile(job: WalkJob, opts: RdbWriteOptions): RdbWriteResult {
  const t0 = performance.now();
  let fd: number;
  try {
    fd = openSync(opts.path, 'w', 0o644);
  } catch (err) {
    throw new PersistenceIOError(`Failed opening the temp RDB file ${opts.path} for saving: ${(err as Error).message}`, { cause: err });
  }
  let bytes = 0;
  let sinceSync = 0;
  try {
    const enc = new RdbEncoder((chunk) => {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      bytes += chunk.length;
      sinceSync += chunk.length;
      if (opts.incrementalFsync && sinceSync >= AUTOSYNC_BYTES) {
        // Handed to libuv's thread pool: the serializing thread must not block on the disk, or
        // the main thread's fragments back up (the final fsyncSync below reports any error).
        fdatasync(fd, () => { /* completion is checked by the final fsync */ });
        sinceSync = 0;
      }
    }, { compression: opts.compression, checksum: opts.checksum });
    enc.header(RDB_VERSION);
    for (const [k, v] of opts.aux) enc.aux(k, v);
    const stats = new SnapshotWalker({ ...job, spillPath: job.spillPath ?? `${opts.path}.spill` }, enc, { compression: opts.compression }).run();
    enc.finish();
    fsyncSync(fd);
    return { ...stats, bytes, durationMs: performance.now() - t0 };
  } catch (err) {
    if (err instanceof Error && err.name === 'SnapshotAbortedError') throw err;
    if (err instanceof PersistenceIOError) throw err;
    throw new PersistenceIOError(`Write error saving DB on disk: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}
