/**
 * The append-only file: Redis 7.0's multi-part AOF (manifest + base + incr files), fed from the
 * engine's propagation stream and written by a dedicated fsync worker thread.
 *
 * DESIGN
 *
 *   commands ──propagate──▶ feed(): RESP into the shared ring ──publish/doorbell (once a turn)──▶
 *   fsync worker: one write + (policy) one fdatasync per batch ──progress word──▶ main thread:
 *   written / synced offsets → `ack` offset → held replies released (group commit)
 *
 *  - Offsets. Every byte ever appended has a logical offset in one stream that spans all incr
 *    files (`appended`). The worker publishes `written` (handed to the kernel) and `synced`
 *    (fdatasync'ed). `ack` is what replies may rely on: `synced` under always, `written` under
 *    everysec and no — Redis writes the AOF before any reply leaves, so a process crash loses
 *    nothing acknowledged under any policy. The server holds a connection's output until
 *    `isDurable(barrier)`; the embedded API awaits `durable()`. The event loop never waits for
 *    the disk: it only stops sending replies until the worker reports.
 *  - everysec keeps Redis's postponement rule (flushAppendOnlyFile): when a turn has data and the
 *    worker is stuck inside an fsync, the write is "postponed" — here: the turn's replies are
 *    released without waiting for the write — for up to 2 seconds (whole-second clock); after
 *    that `aof_delayed_fsync` is incremented, Redis's line is logged and replies wait for the
 *    write again (as Redis's main thread would block in write(2)) until it has happened.
 *    One deliberate difference: Redis postpones as soon as an fsync is pending, because its
 *    main thread would otherwise block in write(2); ours never blocks, so a reply may simply wait
 *    for the write that follows the fsync. We postpone only once the running fsync has taken
 *    `forkless-aof-postpone-after-ms` (50 ms): a healthy disk (fsync ≈ 0.2 ms here) then never
 *    puts an acknowledged write at risk of a process crash, and a stalled one gets Redis's
 *    2-second window with replies held no longer than that grace.
 *  - Files. The worker owns the incr file descriptor. A rewrite opens the next incr file here,
 *    persists the manifest listing it, and tells the worker (control port) to switch files at the
 *    current stream offset: everything before goes to the old file (which is fsynced and closed),
 *    everything after to the new one. No rewrite buffer exists.
 *  - Rewrite. The snapshot machinery (keyspace.beginSnapshot: copy-on-write, point-in-time) is
 *    begun in the same synchronous step as the file switch, so the new base holds exactly the
 *    commands before the switch offset. A piscina worker writes the base; completion renames it,
 *    turns the old base and incr files into history, persists the manifest and deletes history.
 *    At every point the manifest on disk names a loadable, complete set of files.
 */
import {
  closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, unlink, unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { constants } from 'node:os';
import { Piscina } from 'piscina';
import { ForklessError, ReplyError } from '../errors.js';
import type { Config } from '../config.js';
import type { SharedKeyspace } from '../keyspace/keyspace.js';
import type { ClientState, Propagation, Reply } from '../commands/types.js';
import {
  B_FSYNCS, B_FSYNC_MAX_NS, B_FSYNC_NS, B_FSYNC_STARTED, B_SWITCH_AT, B_SYNCED, B_WRITES, B_WRITE_NS, B_WRITTEN,
  FSYNC_HIST_BUCKETS, I_EXITED, I_FSYNC_DONE, I_FSYNC_ERRNO, I_FSYNC_HIST, I_FSYNC_REQ, I_NO_FSYNC, I_POLICY,
  I_PROGRESS, I_SHORT_EXPECTED, I_SHORT_WRITTEN, I_STOP, I_TRUNCATE_FAILS, I_WRITE_ERRNO,
  RingProducer, RingViews, encodeRespCommand, policyCode, type FsyncPolicy,
} from './aof-ring.js';
import { AofManifest, loadManifestFile, manifestName, persistManifest, fsyncDir, AofManifestError } from './aof-manifest.js';
import { loadAppendOnlyFiles, migrateOldStyleIfNeeded, type CommandOutcome } from './aof-loader.js';
import { collectionLimits } from './rdb-load.js';
import { writeAofBase, type BaseWriteResult, type RewriteTask } from './aof-rewrite.js';
import type { FsyncControlMessage, FsyncWorkerInit } from './aof-fsync-loop.js';
import type { LogFn } from './rdb-persistence.js';
import type { RdbWriteOptions, RdbWriteResult } from './rdb-file.js';

/** What the AOF needs from the engine. */
export interface AofHost {
  readonly keyspace: SharedKeyspace;
  readonly config: Config;
  readonly log: LogFn;
  /** Command execution for the loader (the AOF client). */
  readonly dispatcher: {
    dispatch(client: ClientState, argv: Buffer[], now: number): { reply: Reply };
    lookup(argv: readonly Uint8Array[]): unknown;
    resetStats(): void;
  };
  newClientState(): ClientState;
  /** A BGSAVE is running (the snapshot barrier is taken: no rewrite may start). */
  rdbChildActive(): boolean;
  /** Subscribes to the propagation stream (done once, when the AOF first starts). */
  subscribe(fn: (items: readonly Propagation[]) => void): void;
}

/** strerror() texts for the errnos a disk write can report. */
const STRERROR: Record<string, string> = {
  ENOSPC: 'No space left on device', EIO: 'Input/output error', EDQUOT: 'Disk quota exceeded',
  EROFS: 'Read-only file system', EBADF: 'Bad file descriptor', EACCES: 'Permission denied',
  EPERM: 'Operation not permitted', EFBIG: 'File too large', EINVAL: 'Invalid argument',
  ENOENT: 'No such file or directory', EMFILE: 'Too many open files', ENOMEM: 'Cannot allocate memory',
  EAGAIN: 'Resource temporarily unavailable', EINTR: 'Interrupted system call',
};

export function strerror(errno: number): string {
  for (const [name, n] of Object.entries(constants.errno)) {
    if (n === errno) return STRERROR[name] ?? name;
  }
  return `Unknown error ${errno}`;
}

/** A failure Redis answers with exit(1) (always-policy write/fsync errors). */
export class AofFatalError extends ForklessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EAOFFATAL', message, options);
    this.name = 'AofFatalError';
  }
}

const MULTI = encodeRespCommand([Buffer.from('MULTI')]);
const EXEC = encodeRespCommand([Buffer.from('EXEC')]);
const AOF_WRITE_LOG_ERROR_RATE = 30;
const REWRITE_LIMIT_THRESHOLD = 3;
const REWRITE_LIMIT_MAX_MINUTES = 60;
/** Default ring size; FORKLESS_AOF_RING_BYTES overrides (tests use a tiny ring to exercise overflow). */
const DEFAULT_RING_BYTES = 8 * 1024 * 1024;

function unixtime(): number { return Math.floor(Date.now() / 1000); }

interface Waiter { off: number; cb: () => void; fail?: ((err: Error) => void) | undefined }

export class AofPersistence {
  /** Files open and every propagated write fed (Redis's AOF_ON, or AOF_WAIT_REWRITE while its rewrite runs). */
  on = false;
  /**
   * Redis's aof_state. 'wait-rewrite': enabled by CONFIG SET appendonly yes; writes go to a temp
   * incr file until the first rewrite installs a base, then the state becomes 'on'.
   */
  state: 'off' | 'wait-rewrite' | 'on' = 'off';
  private started = false;
  private subscribed = false;
  policy: FsyncPolicy = 'everysec';
  manifest = new AofManifest();
  /** Redis's aof_last_write_status / aof_bio_fsync_status, with the errno that set them. */
  writeOk = true;
  fsyncOk = true;
  lastWriteErrno = 0;
  delayedFsync = 0;
  // Rewrite state and statistics (INFO names in comments).
  rewriteInProgress = false;        // aof_rewrite_in_progress
  rewriteScheduled = false;         // aof_rewrite_scheduled
  lastRewriteTimeSec = -1;          // aof_last_rewrite_time_sec
  rewriteStartMs = 0;               // aof_current_rewrite_time_sec
  lastBgrewriteOk = true;           // aof_last_bgrewrite_status
  rewrites = 0;                     // aof_rewrites
  consecutiveFailures = 0;          // aof_rewrites_consecutive_failures
  lastCowSize = 0;                  // aof_last_cow_size
  /** The last rewrite's snapshot worker: collection bytes gathered at peak and spilled. */
  private lastAssembly = { peak: 0, spilled: 0 };
  /** aof_rewrite_base_size (INFO aof_base_size). */
  baseSize = 0;
  /** Set once the AOF failed for good (always-policy write/fsync error, worker crash). */
  failed: AofFatalError | null = null;
  /** Set while open() replays the files (INFO loading:1 and loading_*). */
  loading: { startTime: number; totalBytes: number; loadedBytes: number; startMs: number } | null = null;
  /** Called for Redis's exit(1) cases; the default exits the process as Redis does. */
  onFatal: (err: AofFatalError) => void = (err) => {
    this.host.log('warning', err.message);
    process.exit(1);
  };

  private readonly host: AofHost;
  private ring: RingViews | null = null;
  private producer: RingProducer | null = null;
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  /** Whether the worker handle is ref'd (keeps Node's event loop alive), and who needs it. */
  private workerRefd = false;
  private keepAlive = 0;
  private workerGone: Promise<void> | null = null;
  private selectedDb = -1;
  private curTimestamp = 0;
  private selectCache: Buffer[] = [];
  /** Offsets (see the design note). */
  private written = 0;
  private synced = 0;
  private ack = 0;
  private flushedUpTo = 0;
  private postponedStart = 0;
  private postponedUpTo = 0;
  private forcedWriteTarget = 0;
  /** forkless-aof-postpone-after-ms (see the design note) and its one-shot re-check timer. */
  private postponeAfterMs = 50;
  private stallTimer: NodeJS.Timeout | null = null;
  private lastFsync = unixtime();
  private fsyncReqOffset = 0;
  private lastWriteErrorLog = 0;
  private readonly waiters: Waiter[] = [];
  /** advanceAck() is running (it is re-entered through callbacks; see there). */
  private acking = false;
  private waiterHead = 0;
  /** Waiters of a stream that was replaced while its worker drained (resetStream / stopWorker). */
  private readonly retiredWaiters: Array<{ ring: RingViews | null; w: Waiter }> = [];
  private flushScheduled = false;
  private watching = false;
  private publishThreshold = 0;
  // Sizes (aof_current_size = otherFilesSize + incrInitialSize + written - incrStart).
  private otherFilesSize = 0;
  private incrInitialSize = 0;
  private incrStart = 0;
  // Rewrite plumbing.
  private pool: Piscina | null = null;
  private rewriteRun: Promise<void> | null = null;
  private discardRewrite = false;
  private nextRewriteTime = 0;
  private nextDelayMinutes = 0;
  /** Cached directives read on hot paths. */
  private timestamps = false;
  private noFsyncOnRewrite = false;
  private readonly flushCb = (): void => this.flush(false);
  private readonly onProgressCb = (): void => this.onProgress();

  constructor(host: AofHost) {
    this.host = host;
    this.policy = host.config.getString('appendfsync') as FsyncPolicy;
    this.timestamps = host.config.getBool('aof-timestamp-enabled');
    this.noFsyncOnRewrite = host.config.getBool('no-appendfsync-on-rewrite');
    this.postponeAfterMs = host.config.getInt('forkless-aof-postpone-after-ms');
    host.config.onChange((name, value) => {
      if (name === 'forkless-aof-postpone-after-ms') this.postponeAfterMs = Number(value);
      if (name === 'appendfsync') this.setPolicy(value as FsyncPolicy);
      else if (name === 'aof-timestamp-enabled') this.timestamps = value === 'yes';
      else if (name === 'no-appendfsync-on-rewrite') this.noFsyncOnRewrite = value === 'yes';
      else if (name === 'appendonly' && this.started) {
        if (value === 'yes' && this.state === 'off') this.startAppendOnly();
        else if (value === 'no' && this.state !== 'off') this.stopAppendOnly();
      }
    });
  }

  private get dir(): string { return this.host.config.getString('dir'); }
  private get aofDir(): string { return join(this.dir, this.host.config.getString('appenddirname')); }
  private get prefix(): string { return this.host.config.getString('appendfilename'); }

  // =============================================================================================
  // Startup: load, create missing files, start the worker
  // =============================================================================================

  /**
   * loadDataFromDisk + aofOpenIfNeededOnServerStart for `appendonly yes`: the AOF is the only
   * source (dump.rdb is not read), files are created when absent, then writing starts.
   * Throws (after logging Redis's lines) when the AOF cannot be loaded.
   */
  /**
   * Called once by engine.start(): opens and loads the AOF with `appendonly yes`; afterwards
   * CONFIG SET appendonly starts and stops it.
   */
  startup(): void {
    this.started = true;
    if (this.host.config.getBool('appendonly')) {
      this.open();
      return;
    }
    // Redis reads the manifest even with the AOF off, so a BGREWRITEAOF continues its sequence.
    const manifestPath = join(this.aofDir, manifestName(this.prefix));
    try {
      if (existsSync(manifestPath)) this.manifest = loadManifestFile(manifestPath);
    } catch (err) {
      this.host.log('warning', `Ignoring the AOF manifest ${manifestPath}: ${(err as Error).message}`);
    }
  }

  private subscribeOnce(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    this.host.subscribe((items) => this.feed(items));
  }

  open(): void {
    const log = this.host.log;
    const manifestPath = join(this.aofDir, manifestName(this.prefix));
    try {
      if (existsSync(this.aofDir) && existsSync(manifestPath)) this.manifest = loadManifestFile(manifestPath);
    } catch (err) {
      if (err instanceof AofManifestError) for (const l of err.lines) log('warning', l);
      throw err;
    }
    const opts = { dir: this.dir, aofDir: this.aofDir, prefix: this.prefix, manifest: this.manifest, loadTruncated: this.host.config.getBool('aof-load-truncated') };
    migrateOldStyleIfNeeded(log, opts);
    const t0 = performance.now();
    const client = this.host.newClientState();
    const d = this.host.dispatcher;
    this.loading = { startTime: unixtime(), totalBytes: 0, loadedBytes: 0, startMs: Date.now() };
    let res;
    try {
      res = loadAppendOnlyFiles({
        keyspace: this.host.keyspace,
        log,
        run: (argv, now): CommandOutcome => {
          const r = d.dispatch(client, argv, now);
          if (r.reply instanceof ReplyError && r.reply.message.startsWith('ERR unknown ') && d.lookup(argv) === null) return 'unknown';
          return 'ok';
        },
        exists: (argv) => d.lookup(argv) !== null,
        limits: collectionLimits(this.host.config),
        progress: (loaded, total) => {
          if (this.loading !== null) { this.loading.loadedBytes = loaded; this.loading.totalBytes = total; }
        },
      }, opts);
    } finally {
      this.loading = null;
    }
    d.resetStats(); // the AOF client's commands are not user traffic
    if (res.status !== 'not-exist') log('notice', `DB loaded from append only file: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
    this.baseSize = res.baseSize;
    this.openOnStart();
  }

  /** aofOpenIfNeededOnServerStart: base when there is none, then the last (or a new) incr file. */
  private openOnStart(): void {
    const log = this.host.log;
    const aofDir = this.aofDir;
    try {
      mkdirSync(aofDir, { recursive: true });
    } catch (err) {
      throw this.startError(`Can't open or create append-only dir ${aofDir}: ${(err as Error).message}`, err);
    }
    const m = this.manifest;
    if (m.base === null && m.incr.length === 0) {
      const preamble = this.host.config.getBool('aof-use-rdb-preamble');
      const base = m.newBase(this.prefix, preamble);
      const temp = join(this.dir, `temp-rewriteaof-${process.pid}.aof`);
      try {
        writeAofBase(this.rewriteTask(preamble, this.host.keyspace.quiescentView(), temp));
        renameSync(temp, join(aofDir, base.name));
      } catch (err) {
        try { unlinkSync(temp); } catch { /* nothing to clean */ }
        throw this.startError(`Write error writing append only file on disk: ${(err as Error).message}`, err);
      }
      log('notice', `Creating AOF base file ${base.name} on server start`);
    }
    const hadIncr = m.incr.length > 0;
    const incr = m.lastIncr(this.prefix);
    const incrPath = join(aofDir, incr.name);
    try {
      closeSync(openSync(incrPath, 'a', 0o644));
    } catch (err) {
      throw this.startError(`Can't open the append-only file ${incr.name}: ${(err as Error).message}`, err);
    }
    try {
      persistManifest(aofDir, this.prefix, m);
    } catch (err) {
      throw this.startError((err as Error).message, err);
    }
    this.incrInitialSize = statSync(incrPath).size;
    this.otherFilesSize = 0;
    for (const f of m.loadOrder()) if (f !== incr) this.otherFilesSize += statSync(join(aofDir, f.name)).size;
    if (m.base !== null && this.baseSize === 0) this.baseSize = statSync(join(aofDir, m.base.name)).size;
    log('notice', `${hadIncr ? 'Opening' : 'Creating'} AOF incr file ${incr.name} on server start`);
    this.startWorker(incrPath);
    this.on = true;
    this.state = 'on';
    this.lastFsync = unixtime();
    this.subscribeOnce();
  }

  // =============================================================================================
  // CONFIG SET appendonly yes / no (startAppendOnly / stopAppendOnly)
  // =============================================================================================

  /**
   * startAppendOnly. Why a temp incr file: until the first rewrite has written a base there is
   * nothing the new writes could be appended to in the manifest, so they go to
   * `temp-<prefix>.incr`, which the rewrite's completion renames to the next incr file. The temp
   * file starts in the same synchronous step as the snapshot, so base + temp incr = everything.
   */
  private startAppendOnly(): void {
    const log = this.host.log;
    this.state = 'wait-rewrite';
    const manifestPath = join(this.aofDir, manifestName(this.prefix));
    try {
      this.manifest = existsSync(manifestPath) ? loadManifestFile(manifestPath) : new AofManifest();
    } catch (err) {
      log('warning', (err as Error).message);
      this.manifest = new AofManifest();
    }
    if (this.rewriteInProgress || this.host.rdbChildActive()) {
      this.rewriteScheduled = true;
      log('warning', 'AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.');
      return;
    }
    if (!this.startRewrite()) {
      this.state = 'off';
      log('warning', "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
    }
  }

  /** The temp incr file a runtime enable writes to before its first rewrite completes. */
  private get tempIncrName(): string { return `temp-${this.prefix}.incr`; }

  /** Opens the temp incr file and starts feeding into it (wait-rewrite, right before the snapshot). */
  private beginWaitRewrite(): boolean {
    const path = join(this.aofDir, this.tempIncrName);
    try {
      mkdirSync(this.aofDir, { recursive: true });
      closeSync(openSync(path, 'w', 0o644));
    } catch (err) {
      this.host.log('warning', `Can't open the append-only file ${this.tempIncrName}: ${(err as Error).message}`);
      return false;
    }
    this.host.log('notice', `Creating AOF incr file ${this.tempIncrName} on background rewrite`);
    this.resetStream();
    this.startWorker(path);
    this.on = true;
    this.selectedDb = -1;
    this.otherFilesSize = 0;
    this.incrInitialSize = 0;
    this.incrStart = 0;
    this.lastFsync = unixtime();
    this.subscribeOnce();
    return true;
  }

  /**
   * Fresh stream offsets for a new worker (after a stop). Waiters still pending belong to the old
   * stream (whose worker is draining): their offsets mean nothing in the new one, so they move to
   * `retiredWaiters`, released when that worker has exited (stopWorker).
   */
  private resetStream(): void {
    if (this.waiterHead < this.waiters.length) {
      // Tagged with their stream: two stopped workers may drain at once (no→yes→no→yes).
      for (let i = this.waiterHead; i < this.waiters.length; i++) this.retiredWaiters.push({ ring: this.ring, w: this.waiters[i]! });
      this.waiters.length = 0;
      this.waiterHead = 0;
    }
    this.written = 0; this.synced = 0; this.ack = 0; this.flushedUpTo = 0;
    this.postponedStart = 0; this.postponedUpTo = 0; this.forcedWriteTarget = 0; this.fsyncReqOffset = 0;
    if (this.stallTimer !== null) { clearTimeout(this.stallTimer); this.stallTimer = null; }
    this.writeOk = true; this.fsyncOk = true;
  }

  /**
   * stopAppendOnly: kill a rewrite, write and fsync what is buffered, close the file. The worker
   * drains in the background; replies waiting for it are released as it reports.
   */
  private stopAppendOnly(): void {
    if (this.rewriteInProgress) {
      this.host.log('notice', 'Killing running AOF rewrite child: ' + process.pid);
      this.discardRewrite = true;
      this.host.keyspace.barrier.abort();
    }
    const wasWaiting = this.state === 'wait-rewrite';
    this.state = 'off';
    this.rewriteScheduled = false;
    if (this.on) void this.stopWorker();
    if (wasWaiting) unlink(join(this.aofDir, this.tempIncrName), () => {});
  }

  /**
   * Drain, fsync, close the worker; resolves when it has exited.
   * Why the stream is captured: `appendonly no` then `yes` can start a new worker (new ring,
   * producer, offsets) while this one is still draining. What follows the await must then touch
   * only the old stream: releasing "everything" by advancing the ack would otherwise mark the new
   * stream durable before a byte of it is written.
   */
  private async stopWorker(): Promise<void> {
    if (this.ring === null || this.worker === null) { this.on = false; return; }
    const ring = this.ring;
    const producer = this.producer!;
    const port = this.port;
    if (this.on) this.flush(true);
    this.on = false;
    this.selectedDb = -1;
    Atomics.store(ring.ctl, I_STOP, 1);
    producer.ring();
    this.worker.ref();
    await this.workerGone;
    const current = this.ring === ring;
    if (current) this.pollWorker();
    const lost = producer.appended - ring.load64(B_WRITTEN);
    if (lost > 0) this.host.log('warning', `${lost} bytes of the AOF buffer could not be written: ${strerror(this.lastWriteErrno)}`);
    if (current) this.advanceAck(Number.MAX_SAFE_INTEGER);
    const mine = this.retiredWaiters.filter((r) => r.ring === ring);
    if (mine.length > 0) {
      const others = this.retiredWaiters.filter((r) => r.ring !== ring);
      this.retiredWaiters.length = 0;
      this.retiredWaiters.push(...others);
      for (const r of mine) r.w.cb();
    }
    port?.close();
  }

  private startError(msg: string, cause: unknown): ForklessError {
    this.host.log('warning', msg);
    return new ForklessError('EAOFOPEN', msg, { cause });
  }

  /** Starts the fsync worker appending to `path`. */
  private startWorker(path: string): void {
    const envBytes = Number(process.env['FORKLESS_AOF_RING_BYTES'] ?? 0);
    const ring = RingViews.create(envBytes > 0 ? envBytes : DEFAULT_RING_BYTES);
    this.ring = ring;
    this.producer = new RingProducer(ring);
    this.publishThreshold = ring.capacity >> 3;
    Atomics.store(ring.ctl, I_POLICY, policyCode(this.policy));
    Atomics.store(ring.ctl, I_SHORT_WRITTEN, -1);
    ring.store64(B_SWITCH_AT, -1);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: FsyncWorkerInit = {
      sab: ring.sab, path, port: port2,
      fsyncDelayMs: Number(process.env['FORKLESS_AOF_TEST_FSYNC_DELAY_MS'] ?? 0),
    };
    const w = new Worker(new URL('../../workers/fsync-worker.js', import.meta.url), { workerData: init, transferList: [port2] });
    w.unref();
    port1.unref();
    this.worker = w;
    this.workerGone = new Promise((resolve) => {
      w.once('exit', (code) => {
        if (this.worker === w) this.worker = null;
        if (this.on && this.ring === ring && Atomics.load(ring.ctl, I_EXITED) === 0) {
          this.fatal(`The AOF fsync worker exited unexpectedly (code ${code})`);
        }
        resolve();
      });
    });
    w.on('error', (err) => {
      this.host.log('warning', `AOF fsync worker failed: ${err.stack ?? err.message}`);
    });
  }

  private setPolicy(p: FsyncPolicy): void {
    this.policy = p;
    if (this.ring !== null) {
      Atomics.store(this.ring.ctl, I_POLICY, policyCode(p));
      this.producer!.ring();
    }
    this.pollWorker();
  }

  // =============================================================================================
  // Feeding (feedAppendOnlyFile + propagatePendingCommands' MULTI/EXEC wrapping)
  // =============================================================================================

  /**
   * One execution unit's propagated writes. More than one op is wrapped in MULTI/EXEC; MULTI is
   * issued for the first op's db (so a SELECT precedes it) and EXEC for the last op's (so none
   * does). Argv buffers may be views into receive buffers: they are encoded right here.
   */
  feed(items: readonly Propagation[]): void {
    if (!this.on) return;
    const p = this.producer!;
    if (p.overflowBytes > 0 && p.drainOverflow()) this.publishNow();
    if (this.timestamps) {
      const now = unixtime();
      if (this.curTimestamp < now) {
        this.curTimestamp = now;
        p.pushBytes(Buffer.from(`#TS:${now}\r\n`, 'latin1'));
      }
    }
    if (items.length > 1) {
      this.select(items[0]!.db);
      p.pushBytes(MULTI);
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        this.select(it.db);
        p.pushCommand(it.argv);
      }
      p.pushBytes(EXEC);
    } else {
      const it = items[0]!;
      this.select(it.db);
      p.pushCommand(it.argv);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushCb);
    }
    // Keep an embedded process alive until these bytes reach the kernel.
    if (!this.workerRefd) this.setRef(true);
    // A long synchronous burst (embedded loop, huge pipeline): let the worker start early.
    if (p.unpublishedInRing >= this.publishThreshold) this.publishNow();
  }

  private select(db: number): void {
    if (db === this.selectedDb) return;
    let b = this.selectCache[db];
    if (b === undefined) {
      b = encodeRespCommand([Buffer.from('SELECT'), Buffer.from(String(db))]);
      this.selectCache[db] = b;
    }
    this.producer!.pushBytes(b);
    this.selectedDb = db;
  }

  private publishNow(): void {
    const p = this.producer!;
    if (p.publish()) p.ring();
    this.watch();
  }

  // =============================================================================================
  // flushAppendOnlyFile
  // =============================================================================================

  /** bioPendingJobsOfType(BIO_AOF_FSYNC) != 0: an everysec fsync was asked for and not done. */
  private fsyncInProgress(): boolean {
    const ctl = this.ring!.ctl;
    return Atomics.load(ctl, I_FSYNC_REQ) !== Atomics.load(ctl, I_FSYNC_DONE);
  }

  /**
   * Milliseconds the worker has been inside the current fdatasync beyond the postponement grace
   * (>= 0: stalled, postpone; < 0: how long until it would be), or null when none is running.
   */
  private fsyncStall(): number | null {
    const started = this.ring!.load64(B_FSYNC_STARTED);
    if (started === 0) return null;
    return Date.now() - started - this.postponeAfterMs;
  }

  /** Re-runs flush when a running fsync passes the grace, so held replies are then released. */
  private armStallTimer(inMs: number): void {
    if (this.stallTimer !== null) return;
    this.stallTimer = setTimeout(() => { this.stallTimer = null; this.flush(false); }, Math.max(1, Math.ceil(inMs)));
    this.stallTimer.unref();
  }

  /**
   * Redis's flushAppendOnlyFile, run once per event-loop turn that appended something (like
   * beforeSleep), from the cron, and with force=1 before a rewrite and at shutdown.
   *
   * Why the steps are as they are:
   *  - Publishing hands the turn's bytes to the worker in one go, so one write and one fsync
   *    cover every command of the turn (group commit), as Redis's single write per beforeSleep.
   *  - "Postponing the write" (everysec, fsync in progress) here means releasing the turn's
   *    replies without waiting for the write: that is the only observable effect Redis's rule has
   *    on clients, and it bounds what a crash may lose to the 2-second window Redis allows.
   *  - try_fsync follows Redis: everysec asks for one fsync per second (never two at once),
   *    also when no new bytes came but written data is not synced yet; always fsyncs every batch
   *    (the worker does it itself); no-appendfsync-on-rewrite suppresses fsyncs while a
   *    snapshot or rewrite is running.
   */
  flush(force: boolean): void {
    this.flushScheduled = false;
    if (!this.on) return;
    const p = this.producer!;
    if (p.overflowBytes > 0) p.drainOverflow();
    const published = p.publish();
    this.pollWorker();
    const now = unixtime();
    const everysec = this.policy === 'everysec';
    const syncInProgress = everysec && this.fsyncInProgress();
    const stall = everysec ? this.fsyncStall() : null;
    const stalled = stall !== null && stall >= 0;
    const hasNew = p.appended > this.flushedUpTo;
    const postponedPending = this.postponedStart !== 0 && this.written < this.postponedUpTo;
    if (this.postponedStart !== 0 && !postponedPending) this.postponedStart = 0; // the postponed write happened
    this.updateNoFsync();
    // Replies waiting for a write that sits behind an fsync: release them once it stalls.
    const heldBehindFsync = stall !== null && this.written < this.flushedUpTo && this.ack < this.flushedUpTo &&
      this.postponedStart === 0 && this.forcedWriteTarget === 0;
    if (heldBehindFsync && !stalled) this.armStallTimer(-stall);

    if (!hasNew && !postponedPending && !(heldBehindFsync && stalled)) {
      let asked = false;
      if (everysec && this.fsyncReqOffset !== p.appended && now > this.lastFsync && !syncInProgress) {
        asked = this.tryFsync(now, syncInProgress);
      }
      if (published || asked) p.ring();
      this.watch();
      return;
    }
    if (!this.writeOk) {
      // Writes are failing: Redis keeps the bytes and still replies (writes are refused with
      // MISCONF meanwhile); the worker retries once a second.
      this.flushedUpTo = p.appended;
      this.advanceAck(p.appended);
      if (published) p.ring();
      this.watch();
      return;
    }
    if (everysec && !force && stalled && this.forcedWriteTarget === 0) {
      if (this.postponedStart === 0 || now - this.postponedStart < 2) {
        if (this.postponedStart === 0) this.postponedStart = now;
        this.flushedUpTo = p.appended;
        this.postponedUpTo = p.appended;
        this.advanceAck(p.appended);
        if (published) p.ring();
        this.watch();
        return;
      }
      this.delayedFsync++;
      this.host.log('notice', 'Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.');
      this.forcedWriteTarget = p.appended;
    }
    this.postponedStart = 0;
    this.flushedUpTo = p.appended;
    const asked = this.tryFsync(now, syncInProgress);
    if (published || asked) p.ring();
    this.watch();
  }

  /** try_fsync. Returns true when an fsync was requested from the worker. */
  private tryFsync(now: number, syncInProgress: boolean): boolean {
    if (this.noFsyncNow()) return false;
    if (this.policy === 'always') {
      this.lastFsync = now;
      return false;
    }
    if (this.policy === 'everysec' && now > this.lastFsync) {
      let asked = false;
      if (!syncInProgress) {
        Atomics.add(this.ring!.ctl, I_FSYNC_REQ, 1);
        this.fsyncReqOffset = this.producer!.appended;
        asked = true;
      }
      this.lastFsync = now;
      return asked;
    }
    return false;
  }

  private noFsyncNow(): boolean {
    return this.noFsyncOnRewrite && (this.rewriteInProgress || this.host.rdbChildActive());
  }

  private updateNoFsync(): void {
    Atomics.store(this.ring!.ctl, I_NO_FSYNC, this.noFsyncNow() ? 1 : 0);
  }

  // =============================================================================================
  // Worker progress → offsets, errors, waiters
  // =============================================================================================

  /** Waits (without blocking) for the worker's next progress report. */
  private watch(): void {
    if (this.watching || this.ring === null) return;
    const ctl = this.ring.ctl;
    const seen = Atomics.load(ctl, I_PROGRESS);
    this.pollWorker();
    if (!this.needsWatching()) return;
    this.watching = true;
    const r = Atomics.waitAsync(ctl, I_PROGRESS, seen);
    if (r.async) void r.value.then(this.onProgressCb);
    else queueMicrotask(this.onProgressCb);
  }

  /**
   * Only what needs a prompt reaction is watched: held replies / durable() callers, overflow to
   * move into the ring, a postponed everysec write. Everything else (unref'ing the worker once the
   * bytes are written, error recovery) is polled by the cron, so a server without waiters pays
   * nothing per batch for the progress channel.
   */
  private needsWatching(): boolean {
    return this.waiterHead < this.waiters.length || this.producer!.overflowBytes > 0 || this.postponedStart !== 0 ||
      this.keepAlive > 0;
  }

  private onProgress(): void {
    this.watching = false;
    if (this.ring === null) return;
    this.pollWorker();
    const p = this.producer!;
    if (p.overflowBytes > 0 && p.drainOverflow()) {
      if (p.publish()) p.ring();
    } else if (p.overflowBytes > 0 && p.publish()) {
      p.ring();
    }
    if (this.postponedStart !== 0 && this.written >= this.postponedUpTo) this.flush(false);
    this.watch();
  }

  /** Reads the worker's offsets and statuses and acts on them. */
  private pollWorker(): void {
    const v = this.ring;
    if (v === null) return;
    const ctl = v.ctl;
    this.written = v.load64(B_WRITTEN);
    this.synced = v.load64(B_SYNCED);
    const werr = Atomics.load(ctl, I_WRITE_ERRNO);
    if (werr !== 0) this.onWriteError(werr);
    else if (!this.writeOk) {
      this.writeOk = true;
      this.host.log('warning', 'AOF write error looks solved, Redis can write again.');
    }
    const ferr = Atomics.load(ctl, I_FSYNC_ERRNO);
    if (ferr !== 0) {
      if (this.fsyncOk) {
        this.fsyncOk = false;
        this.lastWriteErrno = ferr;
        if (this.policy === 'always') {
          this.fatal(`Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${strerror(ferr)}. Exiting...`);
          return;
        }
        this.host.log('warning', `Fail to fsync the AOF file: ${strerror(ferr)}`);
      }
    } else if (!this.fsyncOk) {
      this.fsyncOk = true;
    }
    if (this.forcedWriteTarget !== 0 && this.written >= this.forcedWriteTarget) this.forcedWriteTarget = 0;
    this.advanceAck(this.policyAck());
    const p = this.producer!;
    if (this.workerRefd && this.written >= p.appended && this.waiterHead >= this.waiters.length && this.keepAlive === 0) {
      this.setRef(false);
    }
  }

  /**
   * The worker handle is ref'd exactly while something must keep the process alive: bytes not yet
   * written, waiting durable() callers, or an internal wait (shutdown). An embedded program that
   * simply runs out of work still gets everything written, and then exits.
   */
  private setRef(on: boolean): void {
    this.workerRefd = on;
    if (on) this.worker?.ref();
    else this.worker?.unref();
  }

  private onWriteError(errno: number): void {
    const ctl = this.ring!.ctl;
    const now = unixtime();
    const first = this.writeOk;
    this.writeOk = false;
    this.lastWriteErrno = errno;
    if (first || now - this.lastWriteErrorLog > AOF_WRITE_LOG_ERROR_RATE) {
      this.lastWriteErrorLog = now;
      const short = Atomics.load(ctl, I_SHORT_WRITTEN);
      if (short > 0) {
        this.host.log('warning', `Short write while writing to the AOF file: (nwritten=${short}, expected=${Atomics.load(ctl, I_SHORT_EXPECTED)})`);
        if (Atomics.load(ctl, I_TRUNCATE_FAILS) > 0) {
          this.host.log('warning', 'Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: failed');
        }
      } else {
        this.host.log('warning', `Error writing to the AOF file: ${strerror(errno)}`);
      }
    }
    if (this.policy === 'always') {
      this.fatal("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
      return;
    }
    if (first) this.advanceAck(this.producer!.appended);
  }

  /** The offset replies may be released up to, by policy (see the design note). */
  private policyAck(): number {
    if (!this.writeOk) return this.producer!.appended;
    if (this.policy === 'always' && Atomics.load(this.ring!.ctl, I_NO_FSYNC) === 0) return this.synced;
    return this.written;
  }

  /**
   * Releases the waiters whose offset is now durable, in order. Callbacks run commands and call
   * whenDurable() again, which can flush, poll the worker and come back here: a nested call only
   * raises `ack`, and this loop (which re-reads the queue on every step) releases what it allows.
   */
  private advanceAck(to: number): void {
    if (to > this.ack) this.ack = to;
    if (this.acking) return;
    this.acking = true;
    try {
      const ws = this.waiters;
      while (this.waiterHead < ws.length && ws[this.waiterHead]!.off <= this.ack) {
        const w = ws[this.waiterHead]!;
        ws[this.waiterHead] = undefined as unknown as Waiter;
        this.waiterHead++;
        w.cb();
      }
      if (this.waiterHead >= ws.length) { ws.length = 0; this.waiterHead = 0; } else if (this.waiterHead > 1024) { ws.splice(0, this.waiterHead); this.waiterHead = 0; }
    } finally {
      this.acking = false;
    }
  }

  private fatal(msg: string): void {
    const err = new AofFatalError(msg);
    this.failed = err;
    this.on = false;
    this.writeOk = false;
    // Held replies are never released (Redis exits before sending them); embedded waiters learn why.
    const ws = this.waiters.splice(this.waiterHead);
    this.waiters.length = 0;
    this.waiterHead = 0;
    for (const w of ws) w.fail?.(err);
    this.onFatal(err);
  }

  // =============================================================================================
  // Durability API (server reply holding, embedded durable())
  // =============================================================================================

  /** The stream offset replies produced so far depend on (0 when the AOF is off). */
  barrier(): number { return this.on || this.failed !== null ? this.producer!.appended : 0; }

  /** True when everything up to `off` is as durable as appendfsync requires before a reply. */
  isDurable(off: number): boolean { return this.failed === null && (!this.on || off <= this.ack); }

  /**
   * Calls cb once `off` is durable — possibly before this returns, when the flush it triggers
   * finds the data already durable. If the AOF fails for good first (Redis's exit(1) cases),
   * `fail` is called instead and cb never is.
   */
  whenDurable(off: number, cb: () => void, fail?: (err: Error) => void): void {
    if (this.failed !== null) { const f = this.failed; queueMicrotask(() => fail?.(f)); return; }
    if (this.isDurable(off)) { queueMicrotask(cb); return; }
    this.waiters.push({ off, cb, fail });
    if (!this.workerRefd) this.setRef(true);
    if (!this.flushScheduled) this.flush(false);
    this.watch();
  }

  // =============================================================================================
  // Cron, MISCONF, INFO
  // =============================================================================================

  /** serverCron's AOF duties: postponed flushes, everysec fsyncs, retries, rewrites. */
  cron(): void {
    if (this.on) {
      this.flush(false);
      this.pollWorker();
    }
    if (this.rewriteInProgress || this.host.rdbChildActive()) return;
    if (this.rewriteScheduled && !this.rewriteLimited()) {
      this.startRewrite();
      return;
    }
    const perc = this.host.config.getInt('auto-aof-rewrite-percentage');
    if (this.on && perc > 0) {
      const size = this.currentSize();
      if (size > this.host.config.getInt('auto-aof-rewrite-min-size')) {
        const base = this.baseSize > 0 ? this.baseSize : 1;
        const growth = Math.floor((size * 100) / base) - 100;
        if (growth >= perc && !this.rewriteLimited()) {
          this.host.log('notice', `Starting automatic rewriting of AOF on ${growth}% growth`);
          this.startRewrite();
        }
      }
    }
  }

  /** aofRewriteLimited: after 3 consecutive failures, automatic rewrites wait 1, 2, 4 … 60 minutes. */
  private rewriteLimited(): boolean {
    if (this.consecutiveFailures < REWRITE_LIMIT_THRESHOLD) {
      this.nextDelayMinutes = 0;
      this.nextRewriteTime = 0;
      return false;
    }
    const now = unixtime();
    if (this.nextRewriteTime !== 0) {
      if (now < this.nextRewriteTime) return true;
      this.nextRewriteTime = 0;
      return false;
    }
    this.nextDelayMinutes = this.nextDelayMinutes === 0 ? 1 : Math.min(REWRITE_LIMIT_MAX_MINUTES, this.nextDelayMinutes * 2);
    this.nextRewriteTime = now + this.nextDelayMinutes * 60;
    this.host.log('warning', `Background AOF rewrite has repeatedly failed and triggered the limit, will retry in ${this.nextDelayMinutes} minutes`);
    return true;
  }

  /** The MISCONF error for write commands while the AOF cannot be written, or null. */
  writeError(): string | null {
    if (this.writeOk && this.fsyncOk) return null;
    return `MISCONF Errors writing to the AOF file: ${strerror(this.lastWriteErrno)}`;
  }

  currentSize(): number {
    if (!this.on) return 0;
    return this.otherFilesSize + this.incrInitialSize + Math.max(0, this.written - this.incrStart);
  }

  /** INFO persistence rows from aof_enabled on (Redis's order), then loading and forkless_aof_*. */
  info(): Array<[string, string | number]> {
    const rows: Array<[string, string | number]> = [
      ['aof_enabled', this.state !== 'off' ? 1 : 0],
      ['aof_rewrite_in_progress', this.rewriteInProgress ? 1 : 0],
      ['aof_rewrite_scheduled', this.rewriteScheduled ? 1 : 0],
      ['aof_last_rewrite_time_sec', this.lastRewriteTimeSec],
      ['aof_current_rewrite_time_sec', this.rewriteInProgress ? Math.floor((Date.now() - this.rewriteStartMs) / 1000) : -1],
      ['aof_last_bgrewrite_status', this.lastBgrewriteOk ? 'ok' : 'err'],
      ['aof_rewrites', this.rewrites],
      ['aof_rewrites_consecutive_failures', this.consecutiveFailures],
      ['aof_last_write_status', this.writeOk && this.fsyncOk ? 'ok' : 'err'],
      ['aof_last_cow_size', this.lastCowSize],
      ['module_fork_in_progress', 0],
      ['module_fork_last_cow_size', 0],
    ];
    if (this.state !== 'off' && this.producer !== null) {
      this.pollWorker();
      rows.push(
        ['aof_current_size', this.currentSize()],
        ['aof_base_size', this.baseSize],
        ['aof_pending_rewrite', this.rewriteScheduled ? 1 : 0],
        ['aof_buffer_length', this.producer!.appended - this.written],
        ['aof_pending_bio_fsync', this.fsyncInProgress() ? 1 : 0],
        ['aof_delayed_fsync', this.delayedFsync],
      );
    }
    return rows;
  }

  /** Our own AOF figures (offsets, fsync latency), printed after Redis's fields. */
  forklessInfo(): Array<[string, string | number]> {
    if (this.state === 'off' || this.ring === null) return [];
    const v = this.ring!;
    const fsyncs = v.load64(B_FSYNCS);
    const hist: number[] = [];
    for (let i = 0; i < FSYNC_HIST_BUCKETS; i++) hist.push(Atomics.load(v.ctl, I_FSYNC_HIST + i));
    /** Upper edge (µs) of the log2 bucket holding the q-quantile. */
    const pct = (q: number): number => {
      let need = Math.ceil(fsyncs * q);
      for (let i = 0; i < hist.length; i++) {
        need -= hist[i]!;
        if (need <= 0) return 2 ** (i + 1);
      }
      return 0;
    };
    const started = v.load64(B_FSYNC_STARTED);
    return [
      ['forkless_aof_appended_offset', this.producer!.appended],
      ['forkless_aof_written_offset', this.written],
      ['forkless_aof_synced_offset', this.synced],
      ['forkless_aof_ack_offset', this.ack],
      ['forkless_aof_ring_bytes', v.capacity],
      ['forkless_aof_overflow_bytes', this.producer!.overflowBytes],
      ['forkless_aof_writes', v.load64(B_WRITES)],
      ['forkless_aof_write_usec_total', Math.round(v.load64(B_WRITE_NS) / 1000)],
      ['forkless_aof_fsyncs', fsyncs],
      ['forkless_aof_fsync_avg_usec', fsyncs > 0 ? Math.round(v.load64(B_FSYNC_NS) / fsyncs / 1000) : 0],
      ['forkless_aof_fsync_p50_usec', fsyncs > 0 ? pct(0.5) : 0],
      ['forkless_aof_fsync_p99_usec', fsyncs > 0 ? pct(0.99) : 0],
      ['forkless_aof_fsync_max_usec', Math.round(v.load64(B_FSYNC_MAX_NS) / 1000)],
      ['forkless_aof_fsync_in_progress_usec', started > 0 ? (Date.now() - started) * 1000 : 0],
      ['forkless_aof_held_replies', this.waiters.length - this.waiterHead],
      ['forkless_aof_rewrite_assembly_peak_bytes', this.lastAssembly.peak],
      ['forkless_aof_rewrite_assembly_spilled_bytes', this.lastAssembly.spilled],
    ];
  }

  /** INFO loading fields (loading:1 and loading_* while open() replays the files). */
  loadingRows(): Array<[string, string | number]> {
    const l = this.loading;
    if (l === null) return [];
    const elapsed = (Date.now() - l.startMs) / 1000;
    const perc = l.totalBytes > 0 ? (l.loadedBytes / l.totalBytes) * 100 : 0;
    const eta = l.loadedBytes > 0 ? Math.round((elapsed * (l.totalBytes - l.loadedBytes)) / l.loadedBytes) : 1;
    return [
      ['loading_start_time', l.startTime], ['loading_total_bytes', l.totalBytes],
      ['loading_rdb_used_mem', 0], ['loading_loaded_bytes', l.loadedBytes],
      ['loading_loaded_perc', perc.toFixed(2)], ['loading_eta_seconds', eta],
    ];
  }

  // =============================================================================================
  // BGREWRITEAOF
  // =============================================================================================

  /** bgrewriteaofCommand's reply. */
  bgrewriteaofCommand(): string {
    if (this.rewriteInProgress) throw new ReplyError('ERR Background append only file rewriting already in progress');
    if (this.host.rdbChildActive()) {
      this.rewriteScheduled = true;
      this.consecutiveFailures = 0;
      return 'Background append only file rewriting scheduled';
    }
    if (this.startRewrite()) return 'Background append only file rewriting started';
    if (this.rewriteScheduled) return 'Background append only file rewriting scheduled';
    throw new ReplyError("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
  }

  private rewriteTask(preamble: boolean, job: RewriteTask['job'], path: string): RewriteTask {
    const cfg = this.host.config;
    const walk: RewriteTask['job'] = {
      shared: job.shared, logicalDb: job.logicalDb, dbSizes: job.dbSizes, expiresSizes: job.expiresSizes, collections: job.collections,
      elementDomain: job.elementDomain, assemblyLimitBytes: cfg.getInt('forkless-snapshot-assembly-limit'),
    };
    if (preamble) {
      const rdb: RdbWriteOptions = {
        path,
        compression: cfg.getBool('rdbcompression'),
        checksum: cfg.getBool('rdbchecksum'),
        incrementalFsync: cfg.getBool('aof-rewrite-incremental-fsync'),
        aux: [
          ['redis-ver', '7.0.15'], ['redis-bits', '64'], ['ctime', String(unixtime())],
          ['used-mem', String(this.host.keyspace.memoryStats().usedMemory)], ['aof-base', '1'],
        ],
      };
      return { format: 'rdb', job: walk, rdb };
    }
    return {
      format: 'resp',
      job: walk,
      resp: { path, incrementalFsync: cfg.getBool('aof-rewrite-incremental-fsync'), timestamp: cfg.getBool('aof-timestamp-enabled') },
    };
  }

  private getPool(): Piscina {
    if (this.pool === null) {
      this.pool = new Piscina({
        filename: new URL('./aof-rewrite.js', import.meta.url).href,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 30_000,
      });
    }
    return this.pool;
  }

  /**
   * rewriteAppendOnlyFileBackground. The hand-off that makes the rewrite correct without a
   * rewrite buffer: in one synchronous step (no command can run in between) the next incr file
   * is created and recorded in the manifest, the worker is told to switch to it at the current
   * stream offset, and the copy-on-write snapshot is begun. The new base therefore equals the
   * dataset at exactly the offset where the new incr file starts.
   */
  startRewrite(): boolean {
    if (this.rewriteInProgress || this.host.rdbChildActive()) return false;
    if (this.state === 'on' && this.ring!.load64(B_SWITCH_AT) >= 0) {
      // The worker has not reached the previous rewrite's file switch yet (a very slow disk):
      // try again from the cron.
      this.rewriteScheduled = true;
      return false;
    }
    const log = this.host.log;
    const aofDir = this.aofDir;
    try {
      mkdirSync(aofDir, { recursive: true });
    } catch (err) {
      log('warning', `Can't open or create append-only dir ${aofDir}: ${(err as Error).message}`);
      this.lastBgrewriteOk = false;
      return false;
    }
    let switchAt = 0;
    if (this.state === 'wait-rewrite') {
      // The temp incr file starts now, together with the snapshot (no manifest change yet).
      if (this.on) void this.stopWorker();
      if (!this.beginWaitRewrite()) { this.lastBgrewriteOk = false; return false; }
    } else if (this.on) {
      this.selectedDb = -1;
      this.flush(true);
      // openNewIncrAofForAppend
      const tmp = this.manifest.clone();
      const incr = tmp.newIncr(this.prefix);
      const incrPath = join(aofDir, incr.name);
      try {
        closeSync(openSync(incrPath, 'w', 0o644));
      } catch (err) {
        log('warning', `Can't open the append-only file ${incr.name}: ${(err as Error).message}`);
        this.lastBgrewriteOk = false;
        return false;
      }
      try {
        persistManifest(aofDir, this.prefix, tmp);
      } catch (err) {
        log('warning', (err as Error).message);
        try { unlinkSync(incrPath); } catch { /* nothing to clean */ }
        this.lastBgrewriteOk = false;
        return false;
      }
      log('notice', `Creating AOF incr file ${incr.name} on background rewrite`);
      const p = this.producer!;
      switchAt = p.appended;
      const msg: FsyncControlMessage = { type: 'switch', path: incrPath };
      this.port!.postMessage(msg);
      // Before any byte past switchAt can be published (see B_SWITCH_AT).
      this.ring!.store64(B_SWITCH_AT, switchAt);
      p.ring();
      this.otherFilesSize += this.incrInitialSize + (switchAt - this.incrStart);
      this.incrInitialSize = 0;
      this.incrStart = switchAt;
      this.manifest = tmp;
      this.lastFsync = unixtime();
    }
    this.rewrites++;
    const preamble = this.host.config.getBool('aof-use-rdb-preamble');
    const temp = join(this.dir, `temp-rewriteaof-bg-${process.pid}.aof`);
    const ks = this.host.keyspace;
    const job = ks.beginSnapshot();
    this.rewriteInProgress = true;
    this.rewriteScheduled = false;
    this.rewriteStartMs = Date.now();
    this.discardRewrite = false;
    this.updateNoFsync();
    log('notice', `Background append only file rewriting started by pid ${process.pid}`);
    const task = this.rewriteTask(preamble, job, temp);
    this.rewriteRun = (this.getPool().run(task) as Promise<BaseWriteResult | RdbWriteResult>).then(
      (res) => {
        this.lastCowSize = ks.barrier.stats.bytesCopied;
        this.lastAssembly = { peak: res.assemblyPeakBytes, spilled: res.assemblySpilledBytes };
        ks.endSnapshot();
        if (this.discardRewrite) {
          try { unlinkSync(temp); } catch { /* nothing to clean */ }
          log('warning', 'Background AOF rewrite terminated by signal 10');
          return;
        }
        log('notice', `Successfully created the temporary AOF base file temp-rewriteaof-bg-${process.pid}.aof`);
        log('notice', 'Background AOF rewrite terminated with success');
        this.rewriteDone(temp, preamble);
      },
      (err: unknown) => {
        ks.endSnapshot();
        try { unlinkSync(temp); } catch { /* nothing to clean */ }
        if (this.discardRewrite) {
          log('warning', 'Background AOF rewrite terminated by signal 10');
          return;
        }
        log('warning', `Write error writing append only file on disk: ${(err as Error).message ?? String(err)}`);
        log('warning', 'Background AOF rewrite terminated with error');
        this.lastBgrewriteOk = false;
        this.consecutiveFailures++;
      },
    ).finally(() => {
      if (this.state === 'wait-rewrite') {
        // The AOF is still not on: drop the temp incr file and try again (Redis reschedules).
        void this.stopWorker();
        unlink(join(this.aofDir, this.tempIncrName), () => {});
        this.rewriteScheduled = true;
      }
      this.lastRewriteTimeSec = Math.floor((Date.now() - this.rewriteStartMs) / 1000);
      this.rewriteInProgress = false;
      this.rewriteRun = null;
      this.discardRewrite = false;
      if (this.ring !== null) this.updateNoFsync();
    });
    return true;
  }

  /** backgroundRewriteDoneHandler's success path: install the base, switch the manifest, GC. */
  private rewriteDone(temp: string, preamble: boolean): void {
    const log = this.host.log;
    const aofDir = this.aofDir;
    const tmp = this.manifest.clone();
    const base = tmp.newBase(this.prefix, preamble);
    const basePath = join(aofDir, base.name);
    try {
      renameSync(temp, basePath);
    } catch (err) {
      log('warning', `Error trying to rename the temporary AOF base file ${temp} into ${basePath}: ${(err as Error).message}`);
      try { unlinkSync(temp); } catch { /* nothing to clean */ }
      this.lastBgrewriteOk = false;
      this.consecutiveFailures++;
      return;
    }
    log('notice', `Successfully renamed the temporary AOF base file temp-rewriteaof-bg-${process.pid}.aof into ${base.name}`);
    let newIncrPath: string | null = null;
    if (this.state === 'wait-rewrite') {
      // The writes since the snapshot become the first incr file of the new manifest.
      const incr = tmp.newIncr(this.prefix);
      newIncrPath = join(aofDir, incr.name);
      try {
        renameSync(join(aofDir, this.tempIncrName), newIncrPath);
      } catch (err) {
        log('warning', `Error trying to rename the temporary AOF incr file ${this.tempIncrName} into ${incr.name}: ${(err as Error).message}`);
        unlink(basePath, () => {});
        this.lastBgrewriteOk = false;
        this.consecutiveFailures++;
        return;
      }
      log('notice', `Successfully renamed the temporary AOF incr file ${this.tempIncrName} into ${incr.name}`);
    }
    fsyncDir(aofDir);
    tmp.markRewrittenIncrAsHistory(this.on);
    try {
      persistManifest(aofDir, this.prefix, tmp);
    } catch (err) {
      log('warning', (err as Error).message);
      unlink(basePath, () => {});
      if (newIncrPath !== null) unlink(newIncrPath, () => {});
      this.lastBgrewriteOk = false;
      this.consecutiveFailures++;
      return;
    }
    this.manifest = tmp;
    if (this.state === 'wait-rewrite') this.state = 'on';
    const baseBytes = statSync(basePath).size;
    if (this.on) {
      const incrBytes = this.currentSize() - this.otherFilesSize;
      this.otherFilesSize = baseBytes;
      this.baseSize = baseBytes + incrBytes;
    }
    this.deleteHistory();
    this.lastBgrewriteOk = true;
    this.consecutiveFailures = 0;
    log('notice', 'Background AOF rewrite finished successfully');
  }

  /** aofDelHistoryFiles: unlink history files in the background, then drop them from the manifest. */
  private deleteHistory(): void {
    const m = this.manifest;
    if (m.history.length === 0) return;
    for (const h of m.history) {
      this.host.log('notice', `Removing the history file ${h.name} in the background`);
      unlink(join(this.aofDir, h.name), () => {});
    }
    m.history = [];
    try { persistManifest(this.aofDir, this.prefix, m); } catch (err) { this.host.log('warning', (err as Error).message); }
  }

  // =============================================================================================
  // Shutdown
  // =============================================================================================

  /**
   * prepareForShutdown's AOF part: stop a running rewrite, write everything and fsync. The worker
   * keeps running (a failed final RDB save leaves the server up, still appending).
   */
  async flushAndSync(): Promise<void> {
    if (this.rewriteInProgress) {
      this.host.log('warning', 'There is a child rewriting the AOF. Killing it!');
      this.discardRewrite = true;
      this.host.keyspace.barrier.abort();
      await this.rewriteRun;
    }
    if (!this.on) return;
    this.host.log('notice', 'Calling fsync() on the AOF file.');
    this.flush(true);
    const ctl = this.ring!.ctl;
    const req = Atomics.add(ctl, I_FSYNC_REQ, 1) + 1;
    this.producer!.ring();
    const target = this.producer!.appended;
    await this.waitFor(() => (this.written >= target || !this.writeOk) &&
      (this.policy === 'always' || Atomics.load(ctl, I_FSYNC_DONE) - req >= 0 || !this.fsyncOk));
  }

  /**
   * Polls the worker on each progress report until `cond` holds. The worker is ref'd meanwhile:
   * a pending Atomics.waitAsync alone does not keep Node's event loop alive.
   */
  private async waitFor(cond: () => boolean): Promise<void> {
    const ctl = this.ring!.ctl;
    this.keepAlive++;
    if (!this.workerRefd) this.setRef(true);
    try {
      for (;;) {
        const seen = Atomics.load(ctl, I_PROGRESS);
        this.pollWorker();
        if (cond() || this.worker === null) return;
        const r = Atomics.waitAsync(ctl, I_PROGRESS, seen, 200);
        if (r.async) await r.value;
      }
    } finally {
      this.keepAlive--;
      this.pollWorker();
    }
  }

  /** Stops the worker (drain, fsync, close) and the rewrite pool. */
  async close(): Promise<void> {
    if (this.rewriteInProgress) await this.flushAndSync();
    if (this.ring !== null && this.worker !== null) await this.stopWorker();
    else await this.workerGone;
    if (this.pool !== null) {
      await this.pool.destroy();
      this.pool = null;
    }
  }
}
