/**
 * Snapshot worker (piscina task): serializes a copy-on-write keyspace view into an RDB temp file
 * while the main thread keeps serving. Everything it reads arrives as SharedArrayBuffers in the
 * task; the logic lives in engine/persist (this entry point stays thin).
 */
import { writeRdbFile, type RdbWriteOptions, type RdbWriteResult } from '../engine/persist/rdb-file.js';
import type { WalkJob } from '../engine/persist/snapshot-walker.js';

export interface SnapshotTask {
  job: WalkJob;
  opts: RdbWriteOptions;
}

/** A `null` task only warms the thread up (module loaded, JIT primed) so BGSAVE starts at once. */
export default function snapshotTask(task: SnapshotTask | null): RdbWriteResult | null {
  if (task === null) return null;
  return writeRdbFile(task.job, task.opts);
}
