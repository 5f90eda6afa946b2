/**
 * The fsync worker's loop: a long-lived worker thread (workers/fsync-worker.ts runs this) that owns
 * the AOF file descriptor and is the only thread that writes to it.
 *
 * One iteration = one batch: take every byte the main thread has published in the ring, write it
 * with a single write(2)/writev(2), then (policy `always`, or an everysec request pending) one
 * fdatasync. Then publish the new written/synced offsets and wake the main thread. When there is
 * nothing to do it sleeps on the doorbell word with Atomics.wait — no polling, no timers.
 *
 * A rewrite switches incr files at a stream offset: the offset arrives through shared memory
 * (B_SWITCH_AT, ordered with HEAD), the new file's path on a MessagePort the loop reads
 * synchronously with receiveMessageOnPort (the worker never runs an event loop).
 *
 * Disk errors follow Redis's flushAppendOnlyFile: a short write is truncated away (ftruncate to
 * the size before the batch) so the file only ever holds whole records; the bytes stay in the ring
 * and the write is retried once a second; the errno is published for the main thread to log,
 * report in INFO and turn into MISCONF.
 */
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync, writevSync } from 'node:fs';
import { constants } from 'node:os';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  B_FSYNCS, B_FSYNC_MAX_NS, B_FSYNC_NS, B_FSYNC_STARTED, B_SWITCH_AT, B_SYNCED, B_WRITES, B_WRITE_NS, B_WRITTEN,
  FSYNC_HIST_BUCKETS, I_BUSY, I_DOORBELL, I_EXITED, I_FSYNCING, I_FSYNC_DONE, I_FSYNC_ERRNO, I_FSYNC_HIST,
  I_FSYNC_REQ, I_HEAD, I_NO_FSYNC, I_OVERFLOW, I_POLICY, I_PROGRESS, I_SHORT_EXPECTED, I_SHORT_WRITTEN, I_STOP, I_TAIL, I_TRUNCATE_FAILS,
  I_WRITE_ERRNO, POLICY_ALWAYS, RingViews,
} from './aof-ring.js';

export interface FsyncWorkerInit {
  sab: SharedArrayBuffer;
  /** The incr file the first bytes go to (opened here for appending: fds stay owned by this thread). */
  path: string;
  port: MessagePort;
  /** Test hook: sleep this long inside every fdatasync (simulates a stalled disk). */
  fsyncDelayMs: number;
}

/** The file (already created) to continue in once the stream reaches B_SWITCH_AT; the old one is fsynced and closed. */
export interface SwitchMessage {
  type: 'switch';
  path: string;
}

export type FsyncControlMessage = SwitchMessage;

const RETRY_MS = 1000;

function errnoOf(err: unknown): number {
  const code = (err as NodeJS.ErrnoException).code;
  const n = code !== undefined ? (constants.errno as Record<string, number | undefined>)[code] : undefined;
  return n ?? constants.errno.EIO;
}

export function runFsyncLoop(init: FsyncWorkerInit): void {
  const v = new RingViews(init.sab);
  const ctl = v.ctl;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let fd = openSync(init.path, 'a', 0o644);
  let fileSize = fstatSync(fd).size;
  let tail = Atomics.load(ctl, I_TAIL) >>> 0;
  let written = v.load64(B_WRITTEN);
  let synced = v.load64(B_SYNCED);
  const paths: string[] = [];
  let failedAt = 0;
  let fsyncFailedAt = 0;
  let fsyncWantedSince = 0;
  let justSynced = false;
  const commitDelayMs = Number(process.env['FORKLESS_AOF_COMMIT_DELAY_US'] ?? 0) / 1000;

  const progress = (): void => {
    Atomics.add(ctl, I_PROGRESS, 1);
    Atomics.notify(ctl, I_PROGRESS);
  };

  const pollMessages = (): void => {
    for (;;) {
      const m = receiveMessageOnPort(init.port);
      if (m === undefined) return;
      const msg = m.message as FsyncControlMessage;
      if (msg.type === 'switch') paths.push(msg.path);
    }
  };

  /** fdatasync with latency accounting; returns false when it failed. */
  const doFsync = (): boolean => {
    const upTo = written;
    Atomics.store(ctl, I_FSYNCING, 1);
    v.store64(B_FSYNC_STARTED, Date.now());
    const t0 = process.hrtime.bigint();
    let ok = true;
    try {
      if (init.fsyncDelayMs > 0) Atomics.wait(sleeper, 0, 0, init.fsyncDelayMs);
      fdatasyncSync(fd);
    } catch (err) {
      ok = false;
      Atomics.store(ctl, I_FSYNC_ERRNO, errnoOf(err));
      fsyncFailedAt = Date.now();
    }
    const ns = Number(process.hrtime.bigint() - t0);
    v.store64(B_FSYNC_STARTED, 0);
    Atomics.store(ctl, I_FSYNCING, 0);
    v.add64(B_FSYNCS, 1);
    v.add64(B_FSYNC_NS, ns);
    if (ns > v.load64(B_FSYNC_MAX_NS)) v.store64(B_FSYNC_MAX_NS, ns);
    const us = Math.max(1, Math.floor(ns / 1000));
    Atomics.add(ctl, I_FSYNC_HIST + Math.min(FSYNC_HIST_BUCKETS - 1, 31 - Math.clz32(us)), 1);
    if (ok) {
      Atomics.store(ctl, I_FSYNC_ERRNO, 0);
      fsyncFailedAt = 0;
      if (upTo > synced) {
        synced = upTo;
        v.store64(B_SYNCED, synced);
      }
    }
    return ok;
  };

  /**
   * Writes n published bytes starting at ring position `tail` (one syscall when they do not wrap,
   * writev otherwise), looping over partial writes like Redis's aofWrite. Returns bytes written
   * and the errno that stopped it (0 when complete).
   */
  const writeBatch = (n: number): { done: number; errno: number } => {
    let done = 0;
    const t0 = process.hrtime.bigint();
    while (done < n) {
      const idx = ((tail + done) >>> 0) & v.mask;
      const left = n - done;
      const first = Math.min(left, v.capacity - idx);
      try {
        const w = first === left
          ? writeSync(fd, v.data, idx, first)
          : writevSync(fd, [v.data.subarray(idx, idx + first), v.data.subarray(0, left - first)]);
        done += w;
        if (w === 0) return { done, errno: constants.errno.ENOSPC };
      } catch (err) {
        const e = errnoOf(err);
        if (e === constants.errno.EINTR || e === constants.errno.EAGAIN) continue;
        v.add64(B_WRITE_NS, Number(process.hrtime.bigint() - t0));
        return { done, errno: e };
      }
    }
    v.add64(B_WRITES, 1);
    v.add64(B_WRITE_NS, Number(process.hrtime.bigint() - t0));
    return { done, errno: 0 };
  };

  const advance = (n: number): void => {
    tail = (tail + n) >>> 0;
    written += n;
    fileSize += n;
    v.store64(B_WRITTEN, written);
    Atomics.store(ctl, I_TAIL, tail | 0);
  };

  const doSwitch = (path: string): void => {
    // The old incr file is complete: make it durable before anything reaches the new one, so a
    // machine crash can never leave a short non-last file behind a longer last one.
    try { fsyncSync(fd); } catch { /* reported through the next fsync of the new file */ }
    try { closeSync(fd); } catch { /* already closed */ }
    fd = openSync(path, 'a', 0o644);
    fileSize = fstatSync(fd).size;
    if (written > synced) {
      synced = written;
      v.store64(B_SYNCED, synced);
    }
  };

  for (;;) {
    const bell = Atomics.load(ctl, I_DOORBELL);
    const stopping = Atomics.load(ctl, I_STOP) !== 0;
    pollMessages();
    let didWork = false;
    const now = Date.now();
    let head = Atomics.load(ctl, I_HEAD) >>> 0;
    if (commitDelayMs > 0 && justSynced && head !== tail && Atomics.load(ctl, I_POLICY) === POLICY_ALWAYS) {
      // Group-commit gather window (experimental): let replies just released come back as
      // requests and join this batch instead of waiting a whole extra fsync.
      Atomics.wait(sleeper, 0, 0, commitDelayMs);
      head = Atomics.load(ctl, I_HEAD) >>> 0;
    }
    justSynced = false;
    let avail = (head - tail) >>> 0;
    // Read after HEAD: a switch stored before those bytes were published is visible now.
    const switchAt = v.load64(B_SWITCH_AT);
    if (switchAt >= 0 && written >= switchAt) {
      for (let spins = 0; paths.length === 0; spins++) {
        pollMessages(); // posted before B_SWITCH_AT was stored: already queued
        if (paths.length === 0) Atomics.wait(sleeper, 0, 0, spins < 10 ? 0 : 1);
      }
      doSwitch(paths.shift()!);
      v.store64(B_SWITCH_AT, -1);
      continue;
    }
    if (switchAt >= 0) avail = Math.min(avail, switchAt - written);
    const failing = Atomics.load(ctl, I_WRITE_ERRNO) !== 0;
    if (avail > 0 && (!failing || stopping || now - failedAt >= RETRY_MS)) {
      Atomics.store(ctl, I_BUSY, 1);
      const r = writeBatch(avail);
      if (r.errno === 0) {
        advance(r.done);
        Atomics.store(ctl, I_WRITE_ERRNO, 0);
        Atomics.store(ctl, I_SHORT_WRITTEN, -1);
      } else {
        failedAt = now;
        Atomics.store(ctl, I_SHORT_WRITTEN, r.done);
        Atomics.store(ctl, I_SHORT_EXPECTED, avail);
        if (r.done > 0) {
          // Drop the partial record so the file ends on a command boundary.
          try {
            ftruncateSync(fd, fileSize);
          } catch {
            Atomics.add(ctl, I_TRUNCATE_FAILS, 1);
            advance(r.done);
          }
        }
        Atomics.store(ctl, I_WRITE_ERRNO, r.done > 0 ? constants.errno.ENOSPC : r.errno);
      }
      Atomics.store(ctl, I_BUSY, 0);
      didWork = true;
    }
    const noFsync = Atomics.load(ctl, I_NO_FSYNC) !== 0;
    const fsyncFailing = Atomics.load(ctl, I_FSYNC_ERRNO) !== 0;
    if (!noFsync && (!fsyncFailing || Date.now() - fsyncFailedAt >= RETRY_MS)) {
      if (Atomics.load(ctl, I_POLICY) === POLICY_ALWAYS) {
        if (synced < written || fsyncFailing) { doFsync(); didWork = true; justSynced = true; }
      } else {
        const req = Atomics.load(ctl, I_FSYNC_REQ);
        if (req !== Atomics.load(ctl, I_FSYNC_DONE) || fsyncFailing) {
          // A backlog (more published bytes than one batch took) is written before the fsync,
          // as Redis writes its whole buffer before it queues the next one: replies postponed
          // during the previous fsync must not wait for another. Bounded, so fsyncs still happen.
          const backlog = ((Atomics.load(ctl, I_HEAD) >>> 0) - tail) >>> 0;
          if (fsyncWantedSince === 0) fsyncWantedSince = Date.now();
          if ((backlog === 0 && Atomics.load(ctl, I_OVERFLOW) === 0) || Date.now() - fsyncWantedSince >= RETRY_MS) {
            fsyncWantedSince = 0;
            doFsync();
            Atomics.store(ctl, I_FSYNC_DONE, req);
          }
          didWork = true;
          if (fsyncWantedSince !== 0 && backlog === 0) Atomics.wait(sleeper, 0, 0, 1); // let the producer refill
        }
      }
    } else if (noFsync) {
      // no-appendfsync-on-rewrite: requests are dropped, as Redis skips them while a child runs.
      Atomics.store(ctl, I_FSYNC_DONE, Atomics.load(ctl, I_FSYNC_REQ));
    }
    if (didWork) progress();
    if (stopping) {
      const h = Atomics.load(ctl, I_HEAD) >>> 0;
      const left = (h - tail) >>> 0;
      const stuck = Atomics.load(ctl, I_WRITE_ERRNO) !== 0;
      if ((left === 0 && v.load64(B_SWITCH_AT) < 0) || stuck) {
        try { fdatasyncSync(fd); synced = written; v.store64(B_SYNCED, synced); } catch { /* reported by the caller's final check */ }
        try { closeSync(fd); } catch { /* already closed */ }
        Atomics.store(ctl, I_EXITED, 1);
        progress();
        return;
      }
      continue;
    }
    if (!didWork) {
      const waitMs = Atomics.load(ctl, I_WRITE_ERRNO) !== 0 || Atomics.load(ctl, I_FSYNC_ERRNO) !== 0 ? RETRY_MS : 60_000;
      Atomics.wait(ctl, I_DOORBELL, bell, waitMs);
    }
  }
}
