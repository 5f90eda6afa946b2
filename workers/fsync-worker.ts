/**
 * The AOF fsync worker: a plain long-lived worker thread (not a pool task) that owns the AOF file
 * descriptor, drains the shared-memory ring with one write + one fdatasync per batch and reports
 * the durable offset back. The loop lives in engine/persist/aof-fsync-loop.ts.
 */
import { workerData } from 'node:worker_threads';
import { runFsyncLoop, type FsyncWorkerInit } from '../engine/persist/aof-fsync-loop.js';

runFsyncLoop(workerData as FsyncWorkerInit);
