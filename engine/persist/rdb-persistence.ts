/**
 * RDB persistence: SAVE, BGSAVE (snapshot worker), `save <seconds> <changes>` rules, LASTSAVE and
 * the INFO persistence figures, with Redis's replies, errors and log lines.
 *
 * BGSAVE maps Redis's fork onto the copy-on-write barrier:
 *   fork()                       -> keyspace.beginSnapshot()   (latest_fork_usec = its duration)
 *   child writes temp-<pid>.rdb  -> piscina worker writes temp-bg-<pid>-<n>.rdb from the view
 *   parent's COW page faults     -> barrier page copies (rdb_last_cow_size = bytes copied)
 *   child exit + rename          -> worker resolves, main thread renames into dbfilename
 * The main thread never waits for the worker; completion arrives as a promise.
 */
import { renameSync, unlinkSync, openSync, fsyncSync, closeSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { ReplyError } from '../errors.js';
import type { Config } from '../config.js';
import type { SharedKeyspace } from '../keyspace/keyspace.js';
import type { BarrierStats } from '../keyspace/barrier.js';
import { writeRdbFile, type RdbWriteOptions, type RdbWriteResult } from './rdb-file.js';
import { makeFragmentEncoder } from './fragment-encoder.js';
import type { DbMap } from './snapshot-walker.js';
import type { SnapshotTask } from '../../workers/snapshot-worker.js';

export type LogFn = (level: 'debug' | 'verbose' | 'notice' | 'warning', msg: string) => void;

/** Redis retries a failed automatic BGSAVE only after this many seconds (CONFIG_BGSAVE_RETRY_DELAY). */
const BGSAVE_RETRY_DELAY_S = 5;

/** The last BGSAVE: the barrier's counters plus what the worker reports. */
export type SnapshotFigures = BarrierStats &
  Pick<RdbWriteResult, 'pagesFromShadow' | 'pagesCopiedByWorker' | 'keys' | 'bytes' | 'durationMs' | 'assemblyPeakBytes' | 'assemblySpilledBytes'>;

export class RdbPersistence {
  /** Changes since the last successful save (rdb_changes_since_last_save). */
  dirty = 0;
  lastSave = Math.floor(Date.now() / 1000);
  lastBgsaveOk = true;
  lastBgsaveTry = 0;
  lastBgsaveTimeSec = -1;
  bgsaveStart = 0;
  saves = 0;
  totalForks = 0;
  latestForkUsec = 0;
  scheduled = false;
  lastCowSize = 0;
  lastLoadKeysLoaded = 0;
  lastLoadKeysExpired = 0;
  lastSnapshot: SnapshotFigures | null = null;
  private running: Promise<void> | null = null;
  /** Set when the running BGSAVE's result must not be installed (FLUSHALL, shutdown). */
  private discard = false;
  private dirtyAtStart = 0;
  private pool: Piscina | null = null;
  private seq = 0;

  constructor(
    private readonly keyspace: SharedKeyspace,
    private readonly config: Config,
    private readonly log: LogFn,
  ) {}

  get inProgress(): boolean { return this.running !== null; }

  private paths(): { dir: string; file: string } {
    const dir = this.config.getString('dir');
    return { dir, file: join(dir, this.config.getString('dbfilename')) };
  }

  private writeOptions(tempPath: string): RdbWriteOptions {
    const mem = this.keyspace.memoryStats();
    return {
      path: tempPath,
      compression: this.config.getBool('rdbcompression'),
      checksum: this.config.getBool('rdbchecksum'),
      incrementalFsync: this.config.getBool('rdb-save-incremental-fsync'),
      aux: [
        ['redis-ver', '7.0.15'],
        ['redis-bits', '64'],
        ['ctime', String(Math.floor(Date.now() / 1000))],
        ['used-mem', String(mem.usedMemory)],
        ['aof-base', '0'],
      ],
    };
  }

  /** Renames the finished temp file over dbfilename and fsyncs the directory. */
  private install(temp: string, file: string, dir: string): void {
    renameSync(temp, file);
    try {
      const dfd = openSync(dir, 'r');
      try { fsyncSync(dfd); } finally { closeSync(dfd); }
    } catch { /* some filesystems refuse directory fsync; the rename is still atomic */ }
  }

  /** SAVE: serialize on the main thread (the keyspace cannot change meanwhile). */
  save(): void {
    if (this.running !== null) throw new ReplyError('ERR Background save already in progress');
    this.saveSync();
  }

  /** Saves synchronously; throws on failure (used by SAVE, FLUSHALL and shutdown). */
  saveSync(): RdbWriteResult {
    const { dir, file } = this.paths();
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const temp = join(dir, `temp-${process.pid}.rdb`);
    const dirtyBefore = this.dirty;
    try {
      const res = writeRdbFile({ ...this.keyspace.quiescentView(), assemblyLimitBytes: this.config.getInt('forkless-snapshot-assembly-limit') }, this.writeOptions(temp));
      this.install(temp, file, dir);
      this.log('notice', 'DB saved on disk');
      this.dirty -= dirtyBefore;
      this.lastSave = Math.floor(Date.now() / 1000);
      this.lastBgsaveOk = true;
      this.saves++;
      return res;
    } catch (err) {
      try { unlinkSync(temp); } catch { /* nothing to clean */ }
      this.log('warning', `Failed saving the DB: ${(err as Error).message}`);
      throw err;
    }
  }

  /** BGSAVE [SCHEDULE] reply, following Redis 7.0's bgsaveCommand. */
  bgsaveCommand(schedule: boolean, otherChildActive: boolean): string {
    if (this.running !== null) throw new ReplyError('ERR Background save already in progress');
    if (otherChildActive) {
      if (schedule) { this.scheduled = true; return 'Background saving scheduled'; }
      throw new ReplyError("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    this.startBackground();
    return 'Background saving started';
  }

  private getPool(): Piscina {
    if (this.pool === null) {
      this.pool = new Piscina({
        filename: new URL('../../workers/snapshot-worker.js', import.meta.url).href,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
      });
    }
    return this.pool;
  }

  /** CRC-64 of a shared buffer computed on the snapshot worker (parallel RDB load). */
  crcInWorker(sab: SharedArrayBuffer, len: number): Promise<string> {
    return this.getPool().run({ kind: 'crc', sab, len }) as Promise<string>;
  }

  /**
   * Starts the snapshot worker ahead of the first BGSAVE. A cold worker needs tens of
   * milliseconds to start and load its modules, and at hundreds of thousands of writes per second
   * the main thread would capture nearly every page itself in that time.
   */
  warmUp(): Promise<void> {
    return (this.getPool().run(null) as Promise<unknown>).then(() => undefined, () => undefined);
  }

  /** Starts a background save; returns the promise of its completion (never rejects). */
  startBackground(): Promise<void> {
    if (this.running !== null) return this.running;
    const { dir, file } = this.paths();
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const temp = join(dir, `temp-bg-${process.pid}-${++this.seq}.rdb`);
    this.lastBgsaveTry = Math.floor(Date.now() / 1000);
    this.dirtyAtStart = this.dirty;
    let dbMap: DbMap | null = null;
    const used = this.keyspace.memoryStats().usedMemory;
    const budget = (this.config.getInt('forkless-cow-budget-percent') / 100) * used;
    const job = this.keyspace.beginSnapshot({
      copyBudgetBytes: budget,
      fragmentRingBytes: Math.max(1024 * 1024, budget / 2),
      encoder: makeFragmentEncoder(() => dbMap!),
    });
    dbMap = job;
    const setupUs = this.keyspace.barrier.stats.setupUs;
    this.latestForkUsec = setupUs;
    this.totalForks++;
    this.bgsaveStart = Date.now();
    this.scheduled = false;
    this.log('notice', `Background saving started by pid ${process.pid}`);
    const task: SnapshotTask = { job: { shared: job.shared, logicalDb: job.logicalDb, dbSizes: job.dbSizes, expiresSizes: job.expiresSizes, collections: job.collections, elementDomain: job.elementDomain, assemblyLimitBytes: this.config.getInt('forkless-snapshot-assembly-limit') }, opts: this.writeOptions(temp) };
    const run = (this.getPool().run(task) as Promise<RdbWriteResult>).then(
      (res) => {
        const b = this.keyspace.barrier.stats;
        this.keyspace.endSnapshot();
        if (this.discard) {
          try { unlinkSync(temp); } catch { /* nothing to clean */ }
          this.log('notice', 'Background saving result discarded');
          return;
        }
        this.install(temp, file, dir);
        this.lastSnapshot = {
          ...b, pagesFromShadow: res.pagesFromShadow, pagesCopiedByWorker: res.pagesCopiedByWorker,
          keys: res.keys, bytes: res.bytes, durationMs: res.durationMs, assemblyPeakBytes: res.assemblyPeakBytes, assemblySpilledBytes: res.assemblySpilledBytes,
        };
        this.lastCowSize = b.bytesCopied;
        this.dirty -= this.dirtyAtStart;
        this.lastSave = Math.floor(Date.now() / 1000);
        this.lastBgsaveOk = true;
        this.saves++;
        this.log('notice', `Background saving: COW barrier copied ${(b.bytesCopied / 1048576).toFixed(0)} MB, peak ${(b.peakCopyBytes / 1048576).toFixed(0)} MB`);
        this.log('notice', 'Background saving terminated with success');
      },
      (err: unknown) => {
        this.keyspace.endSnapshot();
        try { unlinkSync(temp); } catch { /* nothing to clean */ }
        if (this.discard) return;
        this.lastBgsaveOk = false;
        this.log('warning', `Background saving error: ${(err as Error).message ?? String(err)}`);
      },
    ).finally(() => {
      this.discard = false;
      this.lastBgsaveTimeSec = Math.round((Date.now() - this.bgsaveStart) / 1000);
      this.running = null;
    });
    this.running = run;
    return run;
  }

  /** Stops the running BGSAVE (Redis kills the child): its file is never installed. */
  discardRunning(): void {
    if (this.running === null) return;
    this.discard = true;
    this.keyspace.barrier.abort();
  }

  /** Waits for a running background save, if any. */
  async waitIdle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /**
   * serverCron's save-point check: start a BGSAVE when some rule (seconds, changes) is met, and
   * after a failure only once BGSAVE_RETRY_DELAY_S have passed.
   */
  cron(otherChildActive: boolean): void {
    if (this.running !== null || otherChildActive) return;
    const now = Math.floor(Date.now() / 1000);
    if (this.scheduled) { void this.startBackground(); return; }
    for (const rule of this.config.saveRules()) {
      if (this.dirty >= rule.changes && now - this.lastSave > rule.seconds &&
          (this.lastBgsaveOk || now - this.lastBgsaveTry > BGSAVE_RETRY_DELAY_S)) {
        this.log('notice', `${rule.changes} changes in ${rule.seconds} seconds. Saving...`);
        void this.startBackground();
        return;
      }
    }
  }

  /** stop-writes-on-bgsave-error: the MISCONF condition for write commands. */
  writesRefused(): boolean {
    return this.config.getBool('stop-writes-on-bgsave-error') && this.config.saveRules().length > 0 && !this.lastBgsaveOk;
  }

  async close(): Promise<void> {
    this.discardRunning();
    await this.waitIdle();
    if (this.pool !== null) {
      await this.pool.destroy();
      this.pool = null;
    }
  }
}
