/**
 * Snapshot worker (piscina task): serializes a copy-on-write keyspace view into an RDB temp file
 * while the main thread keeps serving. Everything it reads arrives as SharedArrayBuffers in the
 * task; the logic lives in engine/persist (this entry point stays thin).
 */
import { writeRdbFile, type RdbWriteOptions, type RdbWriteResult } from '../engine/persist/rdb-file.js';
import type { WalkJob } from '../engine/persist/snapshot-walker.js';
import { Crc64 } from '../engine/persist/crc64.js';

export interface SnapshotTask {
  kind?: 'rdb';
  job: WalkJob;
  opts: RdbWriteOptions;
}

/** CRC-64 of a shared buffer's first `len` bytes, for loading in parallel with parsing. */
export interface CrcTask {
  kind: 'crc';
  sab: SharedArrayBuffer;
  len: number;
}

/** A `null` task only warms the thread up (module loaded, JIT primed) so BGSAVE starts at once. */
export default function snapshotTask(task: SnapshotTask | CrcTask | null): RdbWriteResult | string | null {
  if (task === null) return null;
  if (task.kind === 'crc') {
    const c = new Crc64();
    c.update(new Uint8Array(task.sab), 0, task.len);
    return c.hex();
  }
  return writeRdbFile(task.job, task.opts);
}

