/**
 * Serializes a point-in-time keyspace into RDB records, page by page. Runs in the snapshot worker
 * (BGSAVE, concurrently with the main thread's writes) and on the main thread (SAVE, quiescent).
 *
 * The worker's half of the copy-on-write protocol (keyspace/barrier.ts has the diagram):
 *  - Before each page it drains `copiedList`: pages the main thread copied into shadow slots.
 *    Serializing those first and handing their slots back (releasedList) is what keeps copy memory
 *    down to a backlog instead of a second dataset.
 *  - For a page still PENDING it wins the page with a CAS, copies it into private memory (one
 *    memcpy: the only window in which a main-thread write to that page waits), marks it DONE and
 *    serializes the private copy at leisure.
 *  - A large record's extent is gathered page by page the same way, then serialized whole.
 * Pages FREE at snapshot start are skipped; pages allocated after it are beyond `pages`.
 *
 * Output goes to a RecordSink (the RDB encoder); databases may appear in any order and more than
 * once (pages of different dbs interleave), so SELECTDB is emitted on every change and RESIZEDB
 * the first time a db is seen. Redis's loader accepts both (reference/persistence.md §1.9).
 */
import {
  C_ABORT, C_COPIED, C_RELEASED, ST_DONE, ST_MAIN_COPYING, ST_PENDING, ST_SHADOWED, ST_WORKER_COPYING,
  type SnapshotShared,
} from '../keyspace/barrier.js';
import {
  LARGE_HEADER_BYTES, META_HAS_EXPIRE, META_TYPE_MASK, PAGE_FREE, PAGE_LARGE_CONT, PAGE_LARGE_HEAD, PAGE_SLAB,
  R_EXP_HI, R_EXP_LO, R_KLEN, R_META, R_VLEN, SEGMENT_BYTES, SLAB_FIXED_HEADER_WORDS, VT_ELEMENT, VT_HASH_LISTPACK,
  VT_LARGE, VT_LIST_LISTPACK, VT_SET_INTSET, VT_STRING, VT_ZSET_LISTPACK, keyOffset, putRdbLen, rdbLenSize, rdbStart,
  slabHeaderBytes, valueOffset,
} from '../keyspace/layout.js';
import type { CollectionKind } from '../keyspace/api.js';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { ForklessError } from '../errors.js';
import { SabRing } from '../sab/ring.js';

/** The encoder calls the walker makes (RdbEncoder implements them). */
export interface RecordSink {
  selectDb(db: number): void;
  resizeDb(dbSize: number, expiresSize: number): void;
  expireMs(ms: number): void;
  stringKeyValue(key: Uint8Array, value: Uint8Array): void;
  /** The same from byte ranges (no subarray allocation per record). */
  stringKeyValueAt(keySrc: Uint8Array, keyOff: number, keyLen: number, valSrc: Uint8Array, valOff: number, valLen: number): void;
  /** Already-encoded record bytes (a main-thread fragment). */
  rawBytes(src: Uint8Array, off?: number, len?: number): void;
  /**
   * A collection key: its RDB type byte and its value in that type's RDB encoding (after any
   * expireMs). The RDB encoder writes it as is; other sinks decode it (decodeRdbValue).
   */
  collection(rdbType: number, key: Uint8Array, value: Uint8Array): void;
}

/** How physical page dbs map to logical ones at snapshot start, and the RESIZEDB hints. */
export interface DbMap {
  logicalDb: number[];
  dbSizes: number[];
  expiresSizes: number[];
  /** Large collections live at snapshot start, and the element pages' physical db (keyspace.ts). */
  collections?: ReadonlyArray<{ id: number; kind: CollectionKind; count: number }>;
  elementDomain?: number;
  /**
   * Gathered collection bytes the serializer may hold in memory before spilling them to
   * `spillPath` (default 64 MiB; no path: never spill).
   */
  assemblyLimitBytes?: number;
  spillPath?: string;
}

export interface WalkJob extends DbMap {
  shared: SnapshotShared;
}

export interface WalkStats {
  keys: number;
  pagesFromShadow: number;
  pagesCopiedByWorker: number;
  extents: number;
  /** Pages the main thread encoded itself (copy budget spent). */
  fragments: number;
  /** Most bytes of large collections held at once while their pieces were gathered (collectionRecord). */
  assemblyPeakBytes: number;
  /** Bytes of gathered collections written to the spill file (past assemblyLimitBytes). */
  assemblySpilledBytes: number;
  aborted: boolean;
}

/** Marks a fragment's first word as a RAW one (records verbatim; low byte = physical db). */
export const RAW_FRAGMENT = 0x80000000;

export class SnapshotAbortedError extends ForklessError {
  constructor() {
    super('EABORTED', 'snapshot aborted');
    this.name = 'SnapshotAbortedError';
  }
}

export class SnapshotWalker {
  private readonly pageSize: number;
  private readonly pages: number;
  private readonly segPageShift: number;
  private readonly segs: Uint8Array[];
  private readonly state: Uint8Array;
  private readonly kind: Uint8Array;
  private readonly aux: Int32Array;
  private readonly shadow: Uint8Array;
  private readonly shadowOf: Int32Array;
  private readonly copiedList: Int32Array;
  private readonly releasedList: Int32Array;
  private readonly ctl: Int32Array;
  private readonly processed: Uint8Array;
  private copiedRead = 0;
  private released = 0;
  private readonly pageBuf: Uint8Array;
  private readonly pageU32: Uint32Array;
  private extentBuf: Uint8Array;
  private readonly serializer: PageSerializer;
  private readonly fragments: SabRing | null;
  private readonly fragScratch = { buf: new Uint8Array(0) };
  readonly stats: WalkStats = { keys: 0, pagesFromShadow: 0, pagesCopiedByWorker: 0, extents: 0, fragments: 0, assemblyPeakBytes: 0, assemblySpilledBytes: 0, aborted: false };

  /** `rdbOutput`: the sink writes RDB (records may be copied in their stored RDB form). */
  constructor(job: WalkJob, private readonly sink: RecordSink, rdbOutput: { compression: boolean } | null = null) {
    this.serializer = new PageSerializer(job, sink, { passthrough: rdbOutput !== null, compression: rdbOutput?.compression ?? false });
    this.fragments = job.shared.fragments !== null ? new SabRing(job.shared.fragments) : null;
    const s = job.shared;
    this.pageSize = s.pageSize;
    this.pages = s.pages;
    this.segPageShift = Math.log2(SEGMENT_BYTES) - Math.log2(s.pageSize);
    this.segs = s.segments.map((b) => new Uint8Array(b));
    this.state = new Uint8Array(s.state);
    this.kind = new Uint8Array(s.kind);
    this.aux = new Int32Array(s.aux);
    this.shadow = new Uint8Array(s.shadow);
    this.shadowOf = new Int32Array(s.shadowOf);
    this.copiedList = new Int32Array(s.copiedList);
    this.releasedList = new Int32Array(s.releasedList);
    this.ctl = new Int32Array(s.ctl);
    this.processed = new Uint8Array(s.pages);
    const buf = new ArrayBuffer(s.pageSize);
    this.pageBuf = new Uint8Array(buf);
    this.pageU32 = new Uint32Array(buf);
    this.extentBuf = new Uint8Array(0);
  }

  /** Serializes every page; returns when all were captured. Removes any spill file, also on failure. */
  run(): WalkStats {
    try {
      return this.walk();
    } finally {
      this.serializer.closeSpill();
    }
  }

  private walk(): WalkStats {
    for (let p = 0; p < this.pages; p++) {
      if ((p & 255) === 0 && Atomics.load(this.ctl, C_ABORT) !== 0) { this.stats.aborted = true; throw new SnapshotAbortedError(); }
      while (this.drainFragments() || this.drainCopied()) { /* backlog first: it holds copy memory */ }
      if (this.processed[p] !== 0) continue;
      const k = this.kind[p];
      if (k === PAGE_FREE || k === PAGE_LARGE_CONT) continue;
      if (k === PAGE_SLAB) {
        if (this.capture(p, this.pageBuf, 0)) this.serializeSlab(this.pageBuf, this.pageU32);
      } else if (k === PAGE_LARGE_HEAD) {
        this.processExtent(p);
      }
    }
    // Pages the main thread was copying while we walked past them arrive through copiedList.
    while (!this.allProcessed()) {
      const progressed = this.drainFragments() || this.drainCopied();
      if (!progressed) Atomics.wait(this.ctl, C_COPIED, Atomics.load(this.ctl, C_COPIED), 1);
    }
    // Every page is DONE, so every fragment the main thread encoded is already in the ring.
    this.drainFragments();
    this.serializer.finish();
    this.stats.keys = this.serializer.keys;
    this.stats.assemblyPeakBytes = this.serializer.assemblyPeakBytes;
    this.stats.assemblySpilledBytes = this.serializer.assemblySpilledBytes;
    return this.stats;
  }

  private allProcessed(): boolean {
    for (let p = 0; p < this.pages; p++) {
      if (this.processed[p] === 0 && this.kind[p] !== PAGE_FREE) return false;
    }
    return true;
  }

  /**
   * Serializes up to `max` pages the main thread shadow-copied (then returns, so fragments, which
   * hold the main thread's budget, are never starved by a long shadow backlog). Returns true if
   * any were waiting.
   */
  private drainCopied(max = 8): boolean {
    const n = Math.min(Atomics.load(this.ctl, C_COPIED), this.copiedRead + max);
    if (this.copiedRead === n) return false;
    while (this.copiedRead < n) {
      const p = this.copiedList[this.copiedRead++];
      if (this.processed[p] !== 0) continue;
      const k = this.kind[p];
      if (k === PAGE_SLAB) {
        if (this.capture(p, this.pageBuf, 0)) this.serializeSlab(this.pageBuf, this.pageU32);
      } else if (k === PAGE_LARGE_HEAD) {
        this.processExtent(p);
      } else if (k === PAGE_LARGE_CONT) {
        this.processExtent(this.aux[p]);
      } else {
        this.processed[p] = 1;
      }
    }
    return true;
  }

  /**
   * Copies page p as of snapshot start into dst at dstOff: from its shadow (then releases the
   * slot) or from the live page after winning it with a CAS. Returns false if the page holds
   * nothing for the snapshot. Marks the page processed.
   */
  private capture(p: number, dst: Uint8Array, dstOff: number): boolean {
    const size = this.pageSize;
    this.processed[p] = 1;
    let s = Atomics.compareExchange(this.state, p, ST_PENDING, ST_WORKER_COPYING);
    if (s === ST_PENDING) {
      const seg = this.segs[p >>> this.segPageShift];
      const off = (p & ((1 << this.segPageShift) - 1)) * size;
      dst.set(seg.subarray(off, off + size), dstOff);
      if (Atomics.compareExchange(this.state, p, ST_WORKER_COPYING, ST_DONE) === ST_WORKER_COPYING) {
        this.stats.pagesCopiedByWorker++;
        return true;
      }
      // The main thread stole the page while we copied (it had a write to make): our copy may be
      // torn, so take its capture (a shadow, or a fragment it already encoded) instead.
      s = Atomics.load(this.state, p);
    }
    while (s === ST_MAIN_COPYING) s = Atomics.load(this.state, p);
    if (s === ST_SHADOWED) {
      const slot = this.shadowOf[p];
      dst.set(this.shadow.subarray(slot * size, slot * size + size), dstOff);
      Atomics.store(this.state, p, ST_DONE);
      this.releasedList[this.released++] = slot;
      Atomics.store(this.ctl, C_RELEASED, this.released);
      this.stats.pagesFromShadow++;
      return true;
    }
    return false; // DONE: free at snapshot start, or encoded into a fragment by the main thread
  }

  private processExtent(head: number): void {
    const n = this.aux[head];
    const size = this.pageSize;
    if (this.extentBuf.length < n * size) {
      this.extentBuf = new Uint8Array(new ArrayBuffer(Math.max(n * size, this.extentBuf.length * 2)));
    }
    const buf = this.extentBuf;
    for (let q = head; q < head + n; q++) this.capture(q, buf, (q - head) * size);
    this.stats.extents++;
    const u32 = new Uint32Array(buf.buffer, 0, (n * size) >> 2);
    const phys = (u32[0] >>> 8) & 0xff;
    this.serializer.record(phys, buf, u32, LARGE_HEADER_BYTES);
  }

  private rawBuf = new Uint8Array(new ArrayBuffer(0));

  /** A RAW fragment (fragment-encoder.ts): a slab page image, serialized like a captured page. */
  private rawFragment(payload: Uint8Array): void {
    const len = payload.length - 8;
    if (this.rawBuf.length < len) this.rawBuf = new Uint8Array(new ArrayBuffer(Math.max(len, this.rawBuf.length * 2)));
    this.rawBuf.set(payload.subarray(8));
    this.serializer.slab(this.rawBuf, new Uint32Array(this.rawBuf.buffer, 0, this.rawBuf.length >> 2));
  }

  private serializeSlab(buf: Uint8Array, u32: Uint32Array): void {
    this.serializer.slab(buf, u32);
  }

  /**
   * Copies fragments the main thread encoded (pages it captured by encoding instead of copying,
   * when the copy budget was spent) into the output, each after a SELECTDB for its database.
   */
  private drainFragments(): boolean {
    if (this.fragments === null) return false;
    let any = false;
    while (this.fragments.read((payload) => {
      const dv = new DataView(payload.buffer, payload.byteOffset, 8);
      const db = dv.getUint32(0, true);
      const keys = dv.getUint32(4, true);
      if ((db & RAW_FRAGMENT) !== 0) {
        this.rawFragment(payload);
        this.stats.fragments++;
        return;
      }
      this.serializer.switchDb(db);
      this.sink.rawBytes(payload, 8, payload.length - 8);
      this.serializer.keys += keys;
      this.stats.fragments++;
    }, this.fragScratch)) any = true;
    return any;
  }
}

/**
 * Turns page images into RDB records: the part of serialization that does not care whether the
 * page came from a shadow slot, a worker copy or the main thread's encoder.
 */
/**
 * Could Redis store this string as an RDB integer (≤ 11 bytes starting with a digit or '-')? Such
 * strings go through the encoder, so files match Redis's choice of encoding; everything else is
 * copied in its stored raw form.
 */
function mayBeInt(buf: Uint8Array, off: number, len: number): boolean {
  if (len === 0 || len > 11) return false;
  const c = buf[off];
  return c === 45 || (c >= 48 && c <= 57);
}

export class PageSerializer {
  keys = 0;
  private currentDb = -1;
  private readonly seenDb: boolean[] = [];
  private readonly switchDbs: boolean;
  private readonly passthrough: boolean;
  private readonly compression: boolean;

  /**
   * switchDbs false: emit records only (a fragment for one db; the consumer selects it).
   * passthrough: the sink writes RDB, so a record's stored RDB form is copied as it is, unless
   * compression is on and a string is long enough for Redis to try LZF on it.
   */
  constructor(private readonly job: DbMap, private readonly sink: RecordSink,
    opts: { switchDbs?: boolean; passthrough?: boolean; compression?: boolean } = {}) {
    this.switchDbs = opts.switchDbs ?? true;
    this.passthrough = opts.passthrough ?? false;
    this.compression = opts.compression ?? false;
  }

  switchDb(db: number): void {
    if (db === this.currentDb) return;
    this.sink.selectDb(db);
    if (this.seenDb[db] !== true) {
      this.seenDb[db] = true;
      this.sink.resizeDb(this.job.dbSizes[db] ?? 0, this.job.expiresSizes[db] ?? 0);
    }
    this.currentDb = db;
  }

  /** Logical db of the slab page at byte `base`. */
  dbOf(u32: Uint32Array, base = 0): number { return this.job.logicalDb[(u32[base >> 2] >>> 8) & 0xff]; }

  /** Serializes the slab page at byte `base` of buf (u32 views the same memory). */
  slab(buf: Uint8Array, u32: Uint32Array, base = 0): void {
    const hw = base >> 2;
    const slotSize = u32[hw + 1];
    const nslots = u32[hw + 2];
    if (u32[hw + 3] === 0) return;
    const phys = (u32[hw] >>> 8) & 0xff;
    const first = base + slabHeaderBytes(nslots);
    for (let wi = 0; wi * 32 < nslots; wi++) {
      let bits = u32[hw + SLAB_FIXED_HEADER_WORDS + wi];
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        this.record(phys, buf, u32, first + (wi * 32 + bit) * slotSize);
      }
    }
  }

  record(phys: number, buf: Uint8Array, u32: Uint32Array, off: number): void {
    const w = off >> 2;
    const meta = u32[w + R_META];
    const klen = u32[w + R_KLEN];
    const vlen = u32[w + R_VLEN];
    const hasExp = (meta & META_HAS_EXPIRE) !== 0;
    const type = meta & META_TYPE_MASK;
    const k = off + keyOffset(hasExp, klen);
    const v = off + valueOffset(hasExp, klen, vlen);
    if (type !== VT_STRING) {
      this.collectionRecord(phys, type, buf, u32, w, k, klen, v, vlen, hasExp);
      return;
    }
    if (this.switchDbs) this.switchDb(this.job.logicalDb[phys]);
    if (this.passthrough && (!this.compression || (klen <= 20 && vlen <= 20)) &&
        !mayBeInt(buf, k, klen) && !mayBeInt(buf, v, vlen)) {
      const start = off + rdbStart(hasExp);
      this.sink.rawBytes(buf, start, v + vlen - start);
    } else {
      if (hasExp) this.sink.expireMs(u32[w + R_EXP_HI] * 0x100000000 + u32[w + R_EXP_LO]);
      this.sink.stringKeyValueAt(buf, k, klen, buf, v, vlen);
    }
    this.keys++;
  }

  // -- collections -------------------------------------------------------------------------------

  private groups: Map<number, CollectionGroup> | null = null;
  /** Bytes held by collections being gathered, and the most at once. */
  private assemblyBytes = 0;
  assemblyPeakBytes = 0;

  private group(id: number): CollectionGroup | undefined {
    if (this.groups === null) {
      this.groups = new Map();
      for (const c of this.job.collections ?? []) this.groups.set(c.id, new CollectionGroup(c.kind, c.count));
    }
    return this.groups.get(id);
  }

  /**
   * Small forms are written at once (their stored bytes are already the RDB value). A large
   * collection arrives in pieces — its key record in a db page, its elements in element pages, in
   * any order — so pieces gather per collection id until the key and every element counted at
   * snapshot start are in, then it is written whole. Elements of collections that were already
   * deleted at snapshot start (awaiting lazy free) have no group and are skipped.
   */
  private collectionRecord(phys: number, type: number, buf: Uint8Array, u32: Uint32Array, w: number,
    k: number, klen: number, v: number, vlen: number, hasExp: boolean): void {
    const expire = hasExp ? u32[w + R_EXP_HI] * 0x100000000 + u32[w + R_EXP_LO] : -1;
    if (type === VT_ELEMENT) {
      const id = (buf[v] | (buf[v + 1] << 8) | (buf[v + 2] << 16) | (buf[v + 3] << 24)) >>> 0;
      const g = this.group(id);
      if (g === undefined) return;
      this.assemblyBytes += g.add(buf, k, klen, v + 4, vlen - 4);
      if (this.assemblyBytes > this.assemblyPeakBytes) this.assemblyPeakBytes = this.assemblyBytes;
      if (g.complete()) this.emitGroup(id, g);
      else if (this.assemblyBytes > this.assemblyLimit && this.job.spillPath !== undefined) this.spill();
      return;
    }
    const db = this.job.logicalDb[phys];
    const key = buf.subarray(k, k + klen);
    if (type === VT_LARGE) {
      const id = (buf[v] | (buf[v + 1] << 8) | (buf[v + 2] << 16) | (buf[v + 3] << 24)) >>> 0;
      const g = this.group(id);
      if (g === undefined) throw new ForklessError('ESNAPSHOT', `snapshot: key of collection ${id} without a registered collection`);
      g.header = { db, key: Uint8Array.from(key), expire };
      if (g.complete()) this.emitGroup(id, g);
      return;
    }
    if (this.switchDbs) this.switchDb(db);
    if (expire >= 0) this.sink.expireMs(expire);
    const lenStart = v - rdbLenSize(vlen);
    if (type === VT_SET_INTSET || type === VT_HASH_LISTPACK || type === VT_ZSET_LISTPACK) {
      this.sink.collection(type, key, buf.subarray(lenStart, v + vlen));
    } else if (type === VT_LIST_LISTPACK) {
      // A one-node quicklist: node count 1, container PACKED (2), the listpack as a string.
      const val = new Uint8Array(2 + (v + vlen - lenStart));
      val[0] = 1;
      val[1] = 2;
      val.set(buf.subarray(lenStart, v + vlen), 2);
      this.sink.collection(RDB_LIST_QUICKLIST_2, key, val);
    } else {
      throw new ForklessError('ETYPE', `snapshot: unknown value type ${type}`);
    }
    this.keys++;
  }

  private emitGroup(id: number, g: CollectionGroup): void {
    const h = g.header!;
    if (this.switchDbs) this.switchDb(h.db);
    if (h.expire >= 0) this.sink.expireMs(h.expire);
    this.assemblyBytes -= g.memBytes;
    this.sink.collection(g.rdbType, h.key, g.value(this.spillFile));
    this.groups!.delete(id);
    this.keys++;
  }

  private get assemblyLimit(): number { return this.job.assemblyLimitBytes ?? 64 * 1024 * 1024; }
  private spillFile: SpillFile | null = null;
  assemblySpilledBytes = 0;

  /**
   * Why: all large collections share the element pages, so when many grew at once their elements
   * interleave and none completes until late in the walk — the gathered bytes could approach the
   * whole collection dataset. Past the limit, the biggest in-memory parts go to a spill file (a
   * sequential append) until half the limit is left; a collection is read back in one piece when
   * it is written, so memory is then bounded by the limit plus the largest single collection.
   */
  private spill(): void {
    if (this.spillFile === null) this.spillFile = new SpillFile(this.job.spillPath!);
    const byMem = [...this.groups!.values()].sort((a, b) => b.memBytes - a.memBytes);
    for (const g of byMem) {
      if (this.assemblyBytes <= this.assemblyLimit / 2 || g.memBytes < 4096) break;
      const n = g.spillTo(this.spillFile);
      this.assemblyBytes -= n;
      this.assemblySpilledBytes += n;
    }
  }

  closeSpill(): void {
    if (this.spillFile !== null) { this.spillFile.close(); this.spillFile = null; }
  }

  /** End of the walk: every collection live at snapshot start must have been written. */
  finish(): void {
    if (this.groups === null) this.group(0);
    for (const [id, g] of this.groups!) {
      throw new ForklessError('ESNAPSHOT', `snapshot: collection ${id} incomplete (${g.got} of ${g.count} elements, key ${g.header !== null ? 'seen' : 'missing'})`);
    }
  }

  /** True when every live record of the slab page at `base` is a string (fragment encoding handles only those). */
  stringsOnly(u32: Uint32Array, base: number): boolean {
    const hw = base >> 2;
    if (((u32[hw] >>> 8) & 0xff) === this.job.elementDomain) return false;
    const slotSize = u32[hw + 1];
    const nslots = u32[hw + 2];
    const first = base + slabHeaderBytes(nslots);
    for (let wi = 0; wi * 32 < nslots; wi++) {
      let bits = u32[hw + SLAB_FIXED_HEADER_WORDS + wi];
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        if ((u32[((first + (wi * 32 + bit) * slotSize) >> 2) + R_META] & META_TYPE_MASK) !== VT_STRING) return false;
      }
    }
    return true;
  }
}

const RDB_LIST_QUICKLIST_2 = 18;
/** RDB types large collections are written as: plain hash, plain set, zset with binary scores, quicklist 2. */
const LARGE_RDB_TYPE: Record<CollectionKind, number> = { hash: 4, set: 2, zset: 5, list: RDB_LIST_QUICKLIST_2 };

/** One large collection being assembled from its records (see collectionRecord). */
class CollectionGroup {
  header: { db: number; key: Uint8Array; expire: number } | null = null;
  got = 0;
  readonly rdbType: number;
  private buf = new Uint8Array(256);
  private pos = 0;
  /** Lists: nodes with their labels, sorted when written (bytes null: spilled at off/len). */
  private readonly nodes: Array<{ label: number; bytes: Uint8Array | null; off: number; len: number }> = [];
  /** Hash/set/zset: chunks of the element bytes already spilled, in order. */
  private readonly chunks: Array<[number, number]> = [];
  private spilledLen = 0;

  constructor(readonly kind: CollectionKind, readonly count: number) {
    this.rdbType = LARGE_RDB_TYPE[kind];
    this.reserve(5);
    this.pos = 5; // room for the element count, written at the end
  }

  complete(): boolean { return this.header !== null && this.got === this.count; }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  private str(src: Uint8Array, off: number, len: number): void {
    this.reserve(5 + len);
    this.pos = putRdbLen(this.buf, this.pos, len);
    this.buf.set(src.subarray(off, off + len), this.pos);
    this.pos += len;
  }

  /** Serialized bytes gathered and still in memory. */
  memBytes = 0;

  /** One element record: field at k, payload (after the collection id) at p. Returns the bytes it added. */
  add(src: Uint8Array, k: number, klen: number, p: number, plen: number): number {
    this.got++;
    const before = this.pos + this.nodeBytes;
    switch (this.kind) {
      case 'hash': this.str(src, k, klen); this.str(src, p, plen); break;
      case 'set': this.str(src, k, klen); break;
      case 'zset':
        this.str(src, k, klen);
        this.reserve(8);
        this.buf.set(src.subarray(p, p + 8), this.pos);
        this.pos += 8;
        break;
      case 'list': {
        const label = new DataView(src.buffer, src.byteOffset + p, 8).getFloat64(0, true);
        const lplen = plen - 8;
        const bytes = new Uint8Array(1 + rdbLenSize(lplen) + lplen);
        bytes[0] = 2; // container PACKED
        const o = putRdbLen(bytes, 1, lplen);
        bytes.set(src.subarray(p + 8, p + plen), o);
        this.nodes.push({ label, bytes, off: 0, len: bytes.length });
        this.nodeBytes += bytes.length;
        break;
      }
    }
    const added = this.pos + this.nodeBytes - before;
    this.memBytes += added;
    return added;
  }

  /** Moves the in-memory bytes to the spill file; returns how many. */
  spillTo(f: SpillFile): number {
    let n = 0;
    if (this.kind === 'list') {
      for (const node of this.nodes) {
        if (node.bytes === null) continue;
        node.off = f.append(node.bytes, 0, node.len);
        node.bytes = null;
        n += node.len;
      }
      this.nodeBytes = 0;
    } else if (this.pos > 5) {
      const len = this.pos - 5;
      this.chunks.push([f.append(this.buf, 5, len), len]);
      this.spilledLen += len;
      n = len;
      this.pos = 5;
      this.buf = new Uint8Array(256);
    }
    this.memBytes -= n;
    return n;
  }

  private nodeBytes = 0;

  /** The RDB value: element count, then the elements (spilled parts read back in order). */
  value(f: SpillFile | null): Uint8Array {
    if (this.kind === 'list') {
      this.nodes.sort((a, b) => a.label - b.label);
      for (const n of this.nodes) {
        this.reserve(n.len);
        if (n.bytes !== null) this.buf.set(n.bytes, this.pos);
        else f!.read(n.off, n.len, this.buf, this.pos);
        this.pos += n.len;
      }
    } else if (this.chunks.length > 0) {
      const all = new Uint8Array(5 + this.spilledLen + (this.pos - 5));
      let p = 5;
      for (const [off, len] of this.chunks) { f!.read(off, len, all, p); p += len; }
      all.set(this.buf.subarray(5, this.pos), p);
      this.buf = all;
      this.pos = all.length;
    }
    const lenBytes = rdbLenSize(this.count);
    const start = 5 - lenBytes;
    putRdbLen(this.buf, start, this.count);
    return this.buf.subarray(start, this.pos);
  }
}

/** Append-only scratch file for gathered collection bytes (see PageSerializer.spill). */
class SpillFile {
  private readonly fd: number;
  private size = 0;
  constructor(private readonly path: string) {
    this.fd = openSync(path, 'w+', 0o600);
  }
  append(src: Uint8Array, off: number, len: number): number {
    const at = this.size;
    let done = 0;
    while (done < len) done += writeSync(this.fd, src, off + done, len - done, at + done);
    this.size += len;
    return at;
  }
  read(off: number, len: number, dst: Uint8Array, dstOff: number): void {
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, dst, dstOff + done, len - done, off + done);
      if (n === 0) throw new ForklessError('ESPILL', `${this.path}: short read at offset ${off + done}`);
      done += n;
    }
  }
  close(): void {
    try { closeSync(this.fd); } finally { rmSync(this.path, { force: true }); }
  }
}
