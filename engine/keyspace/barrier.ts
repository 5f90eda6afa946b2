/**
 * The copy-on-write barrier: how forkless takes a point-in-time snapshot without fork().
 *
 * DESIGN
 * fork() gives Redis's child a frozen copy of memory because the kernel copies each 4 KiB page the
 * first time the parent writes it. JS cannot mprotect, so every write into keyspace pages calls
 * `touch(page)` first, and the barrier does the kernel's job by hand:
 *
 *   main thread                                snapshot worker
 *   -----------                                ---------------
 *   begin(): N = pages now; state[p] = PENDING   walks p = 0..N-1, but first drains copiedList
 *            (FREE pages start DONE)
 *   touch(p), state PENDING:                    state PENDING: CAS -> WORKER_COPYING, copy the page
 *     CAS -> MAIN_COPYING, copy page into a       into private memory, CAS -> DONE, serialize the
 *     shadow slot, store SHADOWED, append p       copy; if that CAS fails the main thread stole the
 *     to copiedList (or, past the copy budget,    page mid-copy: drop the copy, use its capture
 *     encode it into the fragment ring, DONE)   state SHADOWED: serialize shadowOf[p], release the
 *   touch(p), state WORKER_COPYING: steal it      slot (releasedList), mark DONE
 *     (CAS -> MAIN_COPYING) and capture it as   state DONE (encoded by the main thread): skip
 *     above: the main thread never waits       end: every page is DONE
 *   touch(p), SHADOWED / DONE / p >= N: nothing
 *
 * INVARIANTS
 *  1. A page's bytes as of begin() reach the file exactly once: from the worker's copy of the
 *     original, which counts only if its CAS WORKER_COPYING -> DONE succeeds (no main-thread write
 *     can have happened: writes come after a steal, which makes that CAS fail), or from the capture
 *     the main thread made before its first write. Every transition is a CAS, so one side wins.
 *     The main thread never waits for the worker (a descheduled worker on a 2-core machine would
 *     otherwise stall a write for a scheduler quantum).
 *  2. Pages are self-contained snapshot units (layout.ts): a slab page holds whole records of one
 *     db; a large record's extent is captured page by page. Nothing the serializer reads lives
 *     outside pages, so the hash index can grow, shrink and rehash during a snapshot untouched.
 *  3. Index-only record fields (chain link, expires slot) may be written without touch(): the
 *     serializer never reads them.
 *  4. Pages allocated after begin() (p >= N) were not part of the snapshot; pages FREE at begin()
 *     start DONE, so reusing them never copies.
 *  5. Shadow memory is recycled: the worker serializes copied pages before walking further, and
 *     hands their slots back, so copy memory is the backlog of copied-but-unserialized pages, not
 *     the dataset (fork's copy lives until the child exits).
 *
 * COSTS measured in bench/ (native-notes.md): touch() with no snapshot is one boolean test; during
 * a snapshot an already-captured page costs an Atomics.load; a capture costs one page memcpy.
 */
import { PAGE_FREE, PAGE_SLAB } from './layout.js';
import { SabRing } from '../sab/ring.js';
import type { Arena } from './arena.js';

export const ST_PENDING = 0;
export const ST_MAIN_COPYING = 1;
export const ST_WORKER_COPYING = 2;
export const ST_SHADOWED = 3;
export const ST_DONE = 4;

/** Control words (Int32Array `ctl`) shared with the worker. */
export const C_COPIED = 0;     // entries appended to copiedList (main writes)
export const C_RELEASED = 1;   // entries appended to releasedList (worker writes)
export const C_ABORT = 2;      // main asks the worker to stop (close/shutdown)
export const C_WORDS = 16;

/** Everything the snapshot worker needs, all shared memory (sent once per snapshot). */
export interface SnapshotShared {
  pageSize: number;
  pages: number;
  segments: SharedArrayBuffer[];
  state: SharedArrayBuffer;        // Uint8Array[pages]
  kind: SharedArrayBuffer;         // Uint8Array[pages]: page kinds as of begin()
  aux: SharedArrayBuffer;          // Int32Array[pages]: extent length / head, as of begin()
  shadow: SharedArrayBuffer;       // growable; slot i at i * pageSize
  shadowOf: SharedArrayBuffer;     // Int32Array[pages]
  copiedList: SharedArrayBuffer;   // Int32Array[pages]
  releasedList: SharedArrayBuffer; // Int32Array[pages]
  ctl: SharedArrayBuffer;          // Int32Array[C_WORDS]
  fragments: SharedArrayBuffer | null; // SabRing of pages the main thread encoded itself
}

/**
 * Encodes the slab page at byte `base` of a segment (u8 and u32 view the same memory; the page is
 * read in place: only the main thread writes pages, and it is busy here) into a fragment payload:
 * u32 logical db, u32 key count, then RDB record bytes. Supplied by the persistence layer (the
 * keyspace knows nothing of RDB). Returning null means "copy it to a shadow slot instead".
 */
export type PageEncoder = (u8: Uint8Array, u32: Uint32Array, base: number) => Uint8Array | null;

export interface BeginOptions {
  /** Shadow memory the barrier may hold before it encodes pages on the main thread instead. */
  copyBudgetBytes: number;
  /** Capacity of the fragment ring (encoded pages waiting for the worker). */
  fragmentRingBytes: number;
  encoder: PageEncoder | null;
}

export interface BarrierStats {
  /** Pages copied by the barrier in the last (or current) snapshot. */
  pagesCopied: number;
  bytesCopied: number;
  /** Most shadow memory held at once, bytes. */
  peakCopyBytes: number;
  /** Longest single touch() that had to copy or wait, microseconds. */
  longestStallUs: number;
  /** Time begin() took (Redis's latest_fork_usec), microseconds. */
  setupUs: number;
  /** Times the main thread waited for fragment-ring space. */
  waits: number;
  /** Pages the main thread took over while the worker was copying them. */
  steals: number;
  /** Pages the main thread encoded into fragments (copy budget spent). */
  pagesEncoded: number;
  /** Total main-thread time spent capturing pages (copies, encodes, waits), microseconds. */
  captureUs: number;
  /** Captures that took longer than 1 ms (on a busy 2-core machine: mostly the OS preempting us). */
  stallsOver1ms: number;
}

/** How long a write may wait for fragment-ring space before the page is copied instead. */
const RING_WAIT_MS = 0.25;
const SHADOW_MAX_BYTES = 4 * 1024 * 1024 * 1024; // reservation only; committed as slots are used

export class CowBarrier {
  /** True between begin() and end(). Hot paths test this before calling touch(). */
  active = false;
  private limit = 0;
  private state: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private shadowOf: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private copiedList: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private releasedList: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private ctl = new Int32Array(new SharedArrayBuffer(C_WORDS * 4));
  private copied = 0;
  private releasedSeen = 0;
  private shadowSab: SharedArrayBuffer | null = null;
  private shadowU8: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private shadowSlots = 0;       // slots ever created (the shadow SAB is kept between snapshots)
  private shadowFaulted = 0;     // bytes of the shadow SAB made resident ahead of use
  private freeSlots: number[] = [];
  private slotsInUse = 0;
  private current: SnapshotShared | null = null;
  private kindAtBegin: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private budgetSlots = Infinity;
  private ring: SabRing | null = null;
  private ringCache: SabRing | null = null;
  private encoder: PageEncoder | null = null;
  stats: BarrierStats = { pagesCopied: 0, bytesCopied: 0, peakCopyBytes: 0, longestStallUs: 0, setupUs: 0, waits: 0, steals: 0, pagesEncoded: 0, captureUs: 0, stallsOver1ms: 0 };

  constructor(private readonly arena: Arena) {}

  get copyBytesInUse(): number { return this.slotsInUse * this.arena.pageSize; }

  /**
   * Starts a snapshot epoch: from now on the first write to each existing page copies it. Returns
   * the shared structures for the worker. The cost is O(pages) byte writes (latest_fork_usec).
   */
  begin(opts: BeginOptions = { copyBudgetBytes: Infinity, fragmentRingBytes: 0, encoder: null }): SnapshotShared {
    const t0 = performance.now();
    const a = this.arena;
    const n = a.pageCount;
    const { kindSab, auxSab, stateSab } = this.pageTables();
    const state = new Uint8Array(stateSab);
    const kind = new Uint8Array(kindSab);
    for (let p = 0; p < n; p++) if (kind[p] === PAGE_FREE) state[p] = ST_DONE;
    const shadowOfSab = new SharedArrayBuffer(Math.max(4, n * 4));
    const copiedSab = new SharedArrayBuffer(Math.max(4, n * 4));
    const releasedSab = new SharedArrayBuffer(Math.max(4, n * 4));
    if (this.shadowSab === null) {
      this.shadowSab = new SharedArrayBuffer(0, { maxByteLength: Math.min(SHADOW_MAX_BYTES, Math.max(a.pageSize * 1024, 1 << 30) * 4) });
      this.shadowU8 = new Uint8Array(this.shadowSab, 0, 0);
    }
    this.ctl = new Int32Array(new SharedArrayBuffer(C_WORDS * 4));
    this.kindAtBegin = kind;
    this.encoder = opts.encoder;
    this.budgetSlots = opts.encoder === null ? Infinity : Math.max(1, Math.floor(opts.copyBudgetBytes / a.pageSize));
    this.ring = opts.encoder === null ? null : this.fragmentRing(Math.max(64 * 1024, 4 * a.pageSize, opts.fragmentRingBytes));
    this.prefaultShadow(Number.isFinite(this.budgetSlots) ? this.budgetSlots : 0);
    this.state = state;
    this.shadowOf = new Int32Array(shadowOfSab);
    this.copiedList = new Int32Array(copiedSab);
    this.releasedList = new Int32Array(releasedSab);
    this.copied = 0;
    this.releasedSeen = 0;
    this.limit = n;
    this.freeSlots = [];
    for (let i = this.shadowSlots - 1; i >= 0; i--) this.freeSlots.push(i);
    this.slotsInUse = 0;
    this.stats = { pagesCopied: 0, bytesCopied: 0, peakCopyBytes: 0, longestStallUs: 0, setupUs: 0, waits: 0, steals: 0, pagesEncoded: 0, captureUs: 0, stallsOver1ms: 0 };
    this.current = {
      pageSize: a.pageSize, pages: n, segments: a.segments.slice(), state: stateSab, kind: kindSab, aux: auxSab,
      shadow: this.shadowSab, shadowOf: shadowOfSab, copiedList: copiedSab, releasedList: releasedSab,
      ctl: this.ctl.buffer as SharedArrayBuffer,
      fragments: this.ring === null ? null : this.ring.sab,
    };
    this.active = true;
    this.stats.setupUs = Math.round((performance.now() - t0) * 1000);
    return this.current;
  }

  /** Copies of the page kinds and aux words as of now, and a zeroed (all PENDING) state array. */
  private pageTables(): { kindSab: SharedArrayBuffer; auxSab: SharedArrayBuffer; stateSab: SharedArrayBuffer } {
    const a = this.arena;
    const n = a.pageCount;
    const kindSab = new SharedArrayBuffer(Math.max(1, n));
    new Uint8Array(kindSab).set(a.kind.subarray(0, n));
    const auxSab = new SharedArrayBuffer(Math.max(4, n * 4));
    new Int32Array(auxSab).set(a.aux.subarray(0, n));
    return { kindSab, auxSab, stateSab: new SharedArrayBuffer(Math.max(1, n)) };
  }

  /** A view of the pages for a serializer on this thread while nothing writes (SAVE): no epoch. */
  quiescentView(): SnapshotShared {
    const a = this.arena;
    const { kindSab, auxSab, stateSab } = this.pageTables();
    const empty = new SharedArrayBuffer(4);
    return {
      pageSize: a.pageSize, pages: a.pageCount, segments: a.segments.slice(), state: stateSab, kind: kindSab, aux: auxSab,
      shadow: new SharedArrayBuffer(0), shadowOf: empty, copiedList: empty, releasedList: empty,
      ctl: new SharedArrayBuffer(C_WORDS * 4), fragments: null,
    };
  }

  /** Ends the epoch (worker finished or failed). Shadow slots all return to the pool. */
  end(): void {
    this.active = false;
    this.limit = 0;
    this.current = null;
    this.slotsInUse = 0;
    this.ring = null;
    this.encoder = null;
  }

  /** Asks a running worker to stop early (it checks between pages). */
  abort(): void { Atomics.store(this.ctl, C_ABORT, 1); }

  /**
   * Must be called before any write to page p that the serializer could read. Cheap when the page
   * is outside the snapshot or already captured; otherwise copies it (or waits for the worker's
   * copy of it to finish) so the snapshot keeps the bytes as of begin().
   */
  touch(p: number): void {
    if (p >= this.limit) return;
    const s = Atomics.load(this.state, p);
    if (s === ST_DONE || s === ST_SHADOWED) return;
    this.capture(p);
  }

  /**
   * Captures page p before its first write. Within the copy budget: copy it into a shadow slot
   * (one memcpy) for the worker. Past the budget, a slab page is encoded right here into RDB
   * records and handed to the worker through the fragment ring, so copy memory stays bounded
   * however fast the writes spread over pages (random overwrites touch nearly every page within a
   * second). If the worker is copying the page (WORKER_COPYING) we steal it rather than wait.
   */
  private capture(p: number): void {
    const t0 = performance.now();
    const state = this.state;
    let prev = Atomics.compareExchange(state, p, ST_PENDING, ST_MAIN_COPYING);
    if (prev === ST_WORKER_COPYING && Atomics.compareExchange(state, p, ST_WORKER_COPYING, ST_MAIN_COPYING) === ST_WORKER_COPYING) {
      this.stats.steals++;
      prev = ST_PENDING; // won it: the worker will notice and use our capture
    }
    if (prev === ST_PENDING) {
      const a = this.arena;
      const size = a.pageSize;
      const src = a.u8[a.segOf(p)];
      const off = a.offOf(p);
      this.reclaimSlots();
      if (this.slotsInUse >= this.budgetSlots && this.kindAtBegin[p] === PAGE_SLAB && this.encodeToRing(p)) {
        Atomics.store(state, p, ST_DONE);
      } else {
        const slot = this.takeSlot();
        this.shadowU8.set(src.subarray(off, off + size), slot * size);
        this.shadowOf[p] = slot;
        Atomics.store(state, p, ST_SHADOWED);
        this.copiedList[this.copied++] = p;
        Atomics.store(this.ctl, C_COPIED, this.copied);
        Atomics.notify(this.ctl, C_COPIED);
        this.stats.pagesCopied++;
        this.stats.bytesCopied += size;
      }
    }
    const us = (performance.now() - t0) * 1000;
    this.stats.captureUs += us;
    if (us > 1000) this.stats.stallsOver1ms++;
    if (us > this.stats.longestStallUs) this.stats.longestStallUs = Math.round(us);
  }

  /** Encodes a page into the fragment ring; false if it cannot (then the caller copies it). */
  private encodeToRing(p: number): boolean {
    const ring = this.ring;
    if (ring === null || this.encoder === null) return false;
    const a = this.arena;
    const seg = a.segOf(p);
    const frag = this.encoder(a.u8[seg], a.u32[seg], a.offOf(p));
    if (frag === null || frag.length + 4 > ring.capacity) return false;
    // A full ring means the worker is behind. It drains fragments before anything else (a few
    // microseconds each), so wait briefly; if it is stuck (I/O), copy the page instead so a write
    // never stalls long (copy memory then exceeds the budget for a while).
    if (!ring.tryWrite(frag)) {
      this.stats.waits++;
      const deadline = performance.now() + RING_WAIT_MS;
      while (!ring.tryWrite(frag)) if (performance.now() > deadline) return false;
    }
    this.stats.pagesEncoded++;
    this.stats.bytesCopied += frag.length;
    const bytes = this.slotsInUse * this.arena.pageSize + ring.used;
    if (bytes > this.stats.peakCopyBytes) this.stats.peakCopyBytes = bytes;
    return true;
  }

  /**
   * Makes the first `slots` shadow slots resident now (one byte written per 4 KiB), so the first
   * copies of a snapshot do not pay a page fault per 4 KiB inside a write (3.8 µs each here: 2 ms
   * for one 2 MiB page). Memory stays resident between snapshots, so only growth costs anything;
   * the time is part of begin() (latest_fork_usec).
   */
  private prefaultShadow(slots: number): void {
    const sab = this.shadowSab!;
    const want = Math.min(sab.maxByteLength, slots * this.arena.pageSize);
    if (want <= this.shadowFaulted) return;
    if (sab.byteLength < want) {
      sab.grow(want);
      this.shadowU8 = new Uint8Array(sab, 0, sab.byteLength);
    }
    const u8 = this.shadowU8;
    for (let off = this.shadowFaulted; off < want; off += 4096) u8[off] = 0;
    this.shadowFaulted = want;
  }

  /**
   * The fragment ring for this snapshot: kept between snapshots and made resident once, like the
   * shadow memory (a fresh ring costs a page fault on nearly every fragment written, ~2 µs).
   */
  private fragmentRing(bytes: number): SabRing {
    if (this.ringCache === null || this.ringCache.capacity < bytes) {
      this.ringCache = new SabRing(bytes);
      this.ringCache.prefault();
    } else {
      this.ringCache.reset();
    }
    return this.ringCache;
  }

  /** Takes back the shadow slots the worker has finished with. */
  private reclaimSlots(): void {
    const released = Atomics.load(this.ctl, C_RELEASED);
    while (this.releasedSeen < released) {
      this.freeSlots.push(this.releasedList[this.releasedSeen++]);
      this.slotsInUse--;
    }
  }

  /** A free shadow slot: recycled from the worker if possible, else a new one (the SAB grows). */
  private takeSlot(): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.shadowSlots++;
      const need = this.shadowSlots * this.arena.pageSize;
      const sab = this.shadowSab!;
      if (sab.byteLength < need) {
        const grown = Math.min(sab.maxByteLength, Math.max(need, sab.byteLength * 2, this.arena.pageSize * 16));
        sab.grow(grown);
        this.shadowU8 = new Uint8Array(sab, 0, sab.byteLength);
      }
    }
    this.slotsInUse++;
    const bytes = this.slotsInUse * this.arena.pageSize + (this.ring === null ? 0 : this.ring.used);
    if (bytes > this.stats.peakCopyBytes) this.stats.peakCopyBytes = bytes;
    return slot;
  }
}
