/**
 * The AOF hand-off between the main thread and the fsync worker: one SharedArrayBuffer holding a
 * single-producer single-consumer byte ring plus a control block.
 *
 * DESIGN
 *  - The main thread (producer) encodes propagated commands straight into the ring while commands
 *    run, and publishes them by storing HEAD once per event-loop turn (or sooner when a long
 *    synchronous burst has filled a good part of the ring). Publishing rings a doorbell word that
 *    the worker sleeps on with Atomics.wait.
 *  - The worker (consumer) writes every published byte with one write(2) (writev when the bytes
 *    wrap around the end of the ring), and only then advances TAIL: "consumed" therefore means
 *    "handed to the kernel". It publishes the logical byte offsets it has written and fsynced as
 *    64-bit counters and bumps a progress word the main thread waits on with Atomics.waitAsync.
 *  - Positions are unsigned 32-bit counters that wrap; the capacity is a power of two, so
 *    `pos & mask` is the index and `(head - tail) >>> 0` the fill. Logical offsets (the position in
 *    the whole AOF stream since the engine started) are 64-bit and never wrap.
 *  - Each hot word sits on its own 64-byte line so the two threads do not bounce one cache line.
 *
 * What does not fit in the ring goes to an overflow list in JS memory (a record larger than the
 * ring, or a disk that stopped taking writes): the event loop never blocks waiting for space.
 */
import { digits, putDecimal } from '../sab/decimal.js';

/** Int32 indexes into the control block (each hot one on its own 64-byte line). */
export const I_HEAD = 0;
export const I_TAIL = 16;
export const I_DOORBELL = 32;
export const I_PROGRESS = 48;
/** 1 while the worker is inside fdatasync. */
export const I_FSYNCING = 64;
/** everysec: fsync requests posted by the main thread / completed by the worker (counters). */
export const I_FSYNC_REQ = 65;
export const I_FSYNC_DONE = 66;
/** 0 = ok, else the errno number of the last failed write (cleared by the next good write). */
export const I_WRITE_ERRNO = 67;
/** 0 = ok, else the errno number of the last failed fsync (cleared by the next good fsync). */
export const I_FSYNC_ERRNO = 68;
/** Set by the main thread: drain, fsync, close and exit. */
export const I_STOP = 69;
/** appendfsync: 0 no, 1 everysec, 2 always. */
export const I_POLICY = 70;
/** 1 while no-appendfsync-on-rewrite suppresses fsyncs (a snapshot or rewrite is running). */
export const I_NO_FSYNC = 71;
/** 1 while the worker is between reading HEAD and publishing the result of a write. */
export const I_BUSY = 72;
/** Bytes the last failed write managed to put in the file before failing (short write), -1 none. */
export const I_SHORT_WRITTEN = 73;
/** The worker has exited its loop (after I_STOP). */
export const I_EXITED = 74;
/** Times a short write could not be truncated away (the partial bytes stayed in the file). */
export const I_TRUNCATE_FAILS = 75;
/** Bytes the failed write tried to write (Redis's "expected" in the short-write log line). */
export const I_SHORT_EXPECTED = 76;
/** 1 while the producer holds bytes in its overflow list (the ring was full): more is coming. */
export const I_OVERFLOW = 77;
/** Log2 histogram of fsync latency in microseconds: bucket b counts fsyncs in [2^b, 2^(b+1)) µs. */
export const I_FSYNC_HIST = 80;
export const FSYNC_HIST_BUCKETS = 32;

/** BigInt64 indexes (the 64-bit counters live after the Int32 control words). */
export const B_WRITTEN = 0;
export const B_SYNCED = 1;
export const B_FSYNCS = 2;
export const B_FSYNC_NS = 3;
export const B_FSYNC_MAX_NS = 4;
export const B_WRITES = 5;
export const B_WRITE_NS = 6;
/** Unix ms when the running fsync started (0 when none). */
export const B_FSYNC_STARTED = 7;
/**
 * Stream offset at which the worker must switch to the next incr file, -1 when none. Stored by
 * the producer before any byte past it is published, so a worker that sees those bytes (HEAD)
 * also sees the switch: file boundaries are ordered with the data through shared memory, not
 * through the message port (which only carries the new file's path).
 */
export const B_SWITCH_AT = 8;

const CTL_BYTES = 512;
const BIG_OFFSET = CTL_BYTES;
const BIG_COUNT = 16;
export const DATA_OFFSET = BIG_OFFSET + BIG_COUNT * 8 + 384; // 1 KiB header

export const POLICY_NO = 0;
export const POLICY_EVERYSEC = 1;
export const POLICY_ALWAYS = 2;

export type FsyncPolicy = 'always' | 'everysec' | 'no';

export function policyCode(p: FsyncPolicy): number {
  return p === 'always' ? POLICY_ALWAYS : p === 'everysec' ? POLICY_EVERYSEC : POLICY_NO;
}

/** Views over one ring SharedArrayBuffer, shared by both sides. */
export class RingViews {
  readonly ctl: Int32Array;
  readonly big: BigInt64Array;
  readonly data: Buffer;
  readonly capacity: number;
  readonly mask: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    this.big = new BigInt64Array(sab, BIG_OFFSET, BIG_COUNT);
    this.capacity = sab.byteLength - DATA_OFFSET;
    this.mask = this.capacity - 1;
    this.data = Buffer.from(sab, DATA_OFFSET, this.capacity);
  }

  static create(capacity: number): RingViews {
    if (capacity < 4096 || (capacity & (capacity - 1)) !== 0 || capacity > 1 << 30) {
      throw new RangeError(`AOF ring capacity must be a power of two between 4 KiB and 1 GiB, got ${capacity}`);
    }
    return new RingViews(new SharedArrayBuffer(DATA_OFFSET + capacity));
  }

  load64(i: number): number { return Number(Atomics.load(this.big, i)); }
  store64(i: number, v: number): void { Atomics.store(this.big, i, BigInt(v)); }
  add64(i: number, v: number): void { Atomics.add(this.big, i, BigInt(v)); }
}

// ---------------------------------------------------------------------------------------------
// RESP encoding of propagated commands
// ---------------------------------------------------------------------------------------------

export { digits, putDecimal } from '../sab/decimal.js';

/** Bytes `*argc\r\n` + per argument `$len\r\n<bytes>\r\n` take (catAppendOnlyGenericCommand). */
export function respCommandSize(argv: readonly Uint8Array[]): number {
  let n = 3 + digits(argv.length);
  for (let i = 0; i < argv.length; i++) {
    const len = argv[i]!.length;
    n += 5 + digits(len) + len;
  }
  return n;
}

/** Encodes argv as a RESP array of bulk strings at p (the caller made room); returns the end. */
export function putRespCommand(b: Uint8Array, p: number, argv: readonly Uint8Array[]): number {
  b[p++] = 0x2a; // '*'
  p = putDecimal(b, p, argv.length);
  b[p++] = 0x0d; b[p++] = 0x0a;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    b[p++] = 0x24; // '$'
    p = putDecimal(b, p, a.length);
    b[p++] = 0x0d; b[p++] = 0x0a;
    if (a.length <= 16) {
      for (let j = 0; j < a.length; j++) b[p + j] = a[j]!;
    } else {
      b.set(a, p);
    }
    p += a.length;
    b[p++] = 0x0d; b[p++] = 0x0a;
  }
  return p;
}

export function encodeRespCommand(argv: readonly Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(respCommandSize(argv));
  putRespCommand(out, 0, argv);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Producer (main thread)
// ---------------------------------------------------------------------------------------------

const SCRATCH_MAX = 1 << 20;
const OVERFLOW_CHUNK = 1 << 20;

/**
 * The main thread's side. `appended` counts every byte ever given to `push*`, `published` the
 * bytes the worker may see. Bytes between the two live either in the ring (not yet published) or
 * in `overflow`.
 *
 * Ordering invariant: once anything is in `overflow`, every later record goes there too, until
 * `drainOverflow()` has moved all of it into the ring; the stream order is always the call order.
 */
export class RingProducer {
  readonly v: RingViews;
  /** Logical offset of the next byte to append. */
  appended = 0;
  /** Logical offset up to which bytes are visible to the worker. */
  published = 0;
  /** Ring position (u32) of the next byte to write; equals HEAD once published. */
  private head = 0;
  /**
   * Bytes that did not fit, in 1 MiB (or larger) chunks: [start, end) of each chunk is pending.
   * A chunk list with a head index, so draining is O(bytes), never O(records²).
   */
  private readonly chunks: Array<{ buf: Buffer; start: number; end: number }> = [];
  private chunkHead = 0;
  overflowBytes = 0;
  private scratch: Buffer = Buffer.allocUnsafe(4096);

  constructor(v: RingViews) {
    this.v = v;
    this.head = Atomics.load(v.ctl, I_HEAD) >>> 0;
  }

  /** Free bytes in the ring (counting unpublished bytes as used). */
  free(): number {
    const tail = Atomics.load(this.v.ctl, I_TAIL) >>> 0;
    return this.v.capacity - ((this.head - tail) >>> 0);
  }

  /** Unpublished bytes sitting in the ring. */
  get unpublishedInRing(): number {
    return this.appended - this.published - this.overflowBytes;
  }

  /** Appends one command in RESP form. */
  pushCommand(argv: readonly Uint8Array[]): void {
    const n = respCommandSize(argv);
    if (this.overflowBytes === 0 && n <= this.free()) {
      const idx = this.head & this.v.mask;
      if (idx + n <= this.v.capacity) {
        putRespCommand(this.v.data, idx, argv);
      } else {
        const tmp = n <= SCRATCH_MAX ? this.scratchOf(n) : Buffer.allocUnsafe(n);
        putRespCommand(tmp, 0, argv);
        this.copyIn(tmp, n);
      }
      this.head = (this.head + n) >>> 0;
      this.appended += n;
      return;
    }
    const c = this.overflowChunk(n);
    c.end = putRespCommand(c.buf, c.end, argv);
    this.overflowed(n);
  }

  /** Appends raw bytes (SELECT, annotations, precomputed records). */
  pushBytes(b: Uint8Array): void {
    const n = b.length;
    if (this.overflowBytes === 0 && n <= this.free()) {
      this.copyIn(b, n);
      this.head = (this.head + n) >>> 0;
      this.appended += n;
      return;
    }
    const c = this.overflowChunk(n);
    c.buf.set(b, c.end);
    c.end += n;
    this.overflowed(n);
  }

  private scratchOf(n: number): Buffer {
    if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
    return this.scratch;
  }

  /** Copies n bytes of src to the ring at head, wrapping (does not move head). */
  private copyIn(src: Uint8Array, n: number): void {
    const cap = this.v.capacity;
    const idx = this.head & this.v.mask;
    const first = Math.min(n, cap - idx);
    this.v.data.set(first === src.length ? src : src.subarray(0, first), idx);
    if (first < n) this.v.data.set(src.subarray(first, n), 0);
  }

  /** The overflow chunk the next n bytes go to (the last one, or a new one). */
  private overflowChunk(n: number): { buf: Buffer; start: number; end: number } {
    const last = this.chunks.length > this.chunkHead ? this.chunks[this.chunks.length - 1]! : null;
    if (last !== null && last.buf.length - last.end >= n) return last;
    const c = { buf: Buffer.allocUnsafe(Math.max(OVERFLOW_CHUNK, n)), start: 0, end: 0 };
    this.chunks.push(c);
    return c;
  }

  private overflowed(n: number): void {
    if (this.overflowBytes === 0) Atomics.store(this.v.ctl, I_OVERFLOW, 1);
    this.overflowBytes += n;
    this.appended += n;
  }

  /**
   * Moves as much overflow as fits into the ring (records may be split: the ring is a byte
   * stream). Returns true when the overflow is empty afterwards.
   */
  drainOverflow(): boolean {
    while (this.chunkHead < this.chunks.length) {
      const free = this.free();
      if (free === 0) return false;
      const c = this.chunks[this.chunkHead]!;
      const n = Math.min(c.end - c.start, free);
      this.copyIn(c.buf.subarray(c.start, c.start + n), n);
      this.head = (this.head + n) >>> 0;
      this.overflowBytes -= n;
      c.start += n;
      if (c.start < c.end) return false;
      this.chunkHead++;
    }
    this.chunks.length = 0;
    this.chunkHead = 0;
    Atomics.store(this.v.ctl, I_OVERFLOW, 0);
    return true;
  }

  /** Makes everything in the ring visible to the worker. Returns true if anything new was. */
  publish(): boolean {
    const upTo = this.appended - this.overflowBytes;
    if (upTo === this.published) return false;
    Atomics.store(this.v.ctl, I_HEAD, this.head | 0);
    this.published = upTo;
    return true;
  }

  /** Wakes the worker. */
  ring(): void {
    Atomics.add(this.v.ctl, I_DOORBELL, 1);
    Atomics.notify(this.v.ctl, I_DOORBELL);
  }
}
