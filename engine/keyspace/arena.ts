/**
 * The arena: shared memory as a list of growable SharedArrayBuffer segments cut into pages.
 *
 * Why segments: one growable SAB tops out at 4 GiB of maxByteLength on Node 20
 * (reference/ecosystem.md §1.1), and a reservation costs only virtual memory, so each segment
 * reserves SEGMENT_BYTES (1 GiB) and grows in steps as pages are needed; the typed-array views are
 * rebuilt at each growth (see refreshViews). A segment never shrinks; freed pages go to free lists
 * and are reused.
 *
 * The arena hands out single pages and runs of contiguous pages (for large records); it knows page
 * kinds but not what is inside pages. Writes into pages are the caller's business and must pass the
 * copy-on-write barrier (barrier.ts).
 */
import { StoreError } from '../errors.js';
import { PAGE_FREE, SEGMENT_BYTES, isValidPageSize } from './layout.js';

export interface ArenaShared {
  pageSize: number;
  segments: SharedArrayBuffer[];
}

const GROW_STEP_BYTES = 4 * 1024 * 1024;
const MAX_SEGMENTS = 16;

export class Arena {
  readonly pageSize: number;
  readonly pageShift: number;
  /** Pages per segment = SEGMENT_BYTES / pageSize. */
  readonly segPageShift: number;
  readonly segments: SharedArrayBuffer[] = [];
  /** Per-segment views, replaced (in place in these arrays) whenever a segment grows. */
  readonly u8: Uint8Array<SharedArrayBuffer>[] = [];
  readonly u32: Uint32Array<SharedArrayBuffer>[] = [];
  readonly f64: Float64Array<SharedArrayBuffer>[] = [];
  /** Page kind per page (main-thread bookkeeping; the page header holds the same fact). */
  kind: Uint8Array = new Uint8Array(1024);
  /** LARGE pages: extent length on the head, head page id on continuation pages. */
  aux: Int32Array = new Int32Array(1024);
  /** Pages handed out so far (high-water mark); pages [0, pageCount) exist. */
  pageCount = 0;
  private freeSingles: number[] = [];
  private freeCount = 0;
  /** Freed extents by length (allocRun reuses them first; entries are re-checked when taken). */
  private readonly freeRuns = new Map<number, number[]>();
  /** The shortest run a full scan failed to find, and pages freed since (see allocRun). */
  private failedScanLen = 0;
  private freedSinceScan = 0;

  constructor(pageSize: number) {
    if (!isValidPageSize(pageSize)) {
      throw new StoreError('EPAGESIZE', `page size must be a power of two between 256 and 2097152 bytes, got ${pageSize}`);
    }
    this.pageSize = pageSize;
    this.pageShift = Math.log2(pageSize);
    this.segPageShift = Math.log2(SEGMENT_BYTES) - this.pageShift;
  }

  get freePages(): number { return this.freeCount; }
  get committedBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.byteLength;
    return n;
  }

  /** Segment index and byte offset of page p. */
  segOf(p: number): number { return p >>> this.segPageShift; }
  offOf(p: number): number { return (p & ((1 << this.segPageShift) - 1)) << this.pageShift; }

  /** A new page (FREE kind set to `kind` by the caller). Reuses freed pages first. */
  allocPage(): number {
    while (this.freeSingles.length > 0) {
      const p = this.freeSingles.pop()!;
      if (this.kind[p] === PAGE_FREE) { this.freeCount--; return p; }
    }
    return this.extend(1);
  }

  /**
   * `n` contiguous pages within one segment.
   * Why three steps: list nodes and large values are freed and reallocated at the same sizes over
   * and over (a queue of 8 KiB list nodes frees and takes two-page extents on every pop/push), so
   * freed extents are kept by length and reused first (O(1)). Otherwise a first-fit scan over the
   * page kinds, which is O(pages) and so is skipped when an earlier scan for a run this long
   * failed and no page was freed since (a fragmented arena would otherwise pay a full scan on
   * every allocation). Last, the tail.
   */
  allocRun(n: number): number {
    if (n === 1) return this.allocPage();
    const runs = this.freeRuns.get(n);
    while (runs !== undefined && runs.length > 0) {
      const start = runs.pop()!;
      if (this.isFreeRun(start, n)) { this.freeCount -= n; return start; }
    }
    if (this.freeCount >= n && !(this.failedScanLen !== 0 && n >= this.failedScanLen && this.freedSinceScan === 0)) {
      let run = 0;
      for (let p = 0; p < this.pageCount; p++) {
        if (this.kind[p] === PAGE_FREE && (run === 0 || this.segOf(p) === this.segOf(p - run))) {
          run++;
          if (run === n) {
            const start = p - n + 1;
            this.freeCount -= n;
            return start;
          }
        } else run = this.kind[p] === PAGE_FREE ? 1 : 0;
      }
      this.failedScanLen = this.failedScanLen === 0 ? n : Math.min(this.failedScanLen, n);
      this.freedSinceScan = 0;
    }
    return this.extend(n);
  }

  /** Frees the extent of `n` pages at `start` and remembers it for a run of the same length. */
  freeRun(start: number, n: number): void {
    for (let p = start; p < start + n; p++) this.freePage(p);
    if (n > 1) {
      let runs = this.freeRuns.get(n);
      if (runs === undefined) { runs = []; this.freeRuns.set(n, runs); }
      runs.push(start);
    }
  }

  private isFreeRun(start: number, n: number): boolean {
    if (this.segOf(start) !== this.segOf(start + n - 1)) return false;
    for (let p = start; p < start + n; p++) if (this.kind[p] !== PAGE_FREE) return false;
    return true;
  }

  freePage(p: number): void {
    this.kind[p] = PAGE_FREE;
    this.aux[p] = 0;
    this.freeSingles.push(p);
    this.freeCount++;
    this.freedSinceScan++;
  }

  private extend(n: number): number {
    const pagesPerSeg = 1 << this.segPageShift;
    let start = this.pageCount;
    if (this.segOf(start) !== this.segOf(start + n - 1)) {
      // Skip to the next segment so a run never straddles two SABs; the skipped tail pages are free.
      const next = (this.segOf(start) + 1) * pagesPerSeg;
      for (let p = start; p < next; p++) this.registerPage(p, true);
      start = next;
    }
    if (n > pagesPerSeg) throw new StoreError('ETOOBIG', `a record needs ${n} pages, more than one segment holds`);
    for (let p = start; p < start + n; p++) this.registerPage(p, false);
    return start;
  }

  /** Makes page p exist: grows or adds the segment, and the kind/aux arrays. */
  private registerPage(p: number, free: boolean): void {
    const seg = this.segOf(p);
    if (seg >= MAX_SEGMENTS) throw new StoreError('EOOM', `shared memory exhausted (${MAX_SEGMENTS} segments of 1 GiB)`);
    while (this.segments.length <= seg) {
      const sab = new SharedArrayBuffer(0, { maxByteLength: SEGMENT_BYTES });
      this.segments.push(sab);
      this.u8.push(new Uint8Array(sab, 0, 0));
      this.u32.push(new Uint32Array(sab, 0, 0));
      this.f64.push(new Float64Array(sab, 0, 0));
    }
    const sab = this.segments[seg];
    const end = this.offOf(p) + this.pageSize;
    if (sab.byteLength < end) {
      const want = Math.min(SEGMENT_BYTES, Math.max(end, sab.byteLength + Math.max(GROW_STEP_BYTES, this.pageSize)));
      sab.grow(want);
      this.refreshViews(seg);
    }
    if (p >= this.kind.length) {
      const k = new Uint8Array(this.kind.length * 2);
      k.set(this.kind);
      this.kind = k;
      const a = new Int32Array(this.aux.length * 2);
      a.set(this.aux);
      this.aux = a;
    }
    this.pageCount = p + 1;
    if (free) {
      this.kind[p] = PAGE_FREE;
      this.freeSingles.push(p);
      this.freeCount++;
      this.freedSinceScan++;
    }
  }

  /**
   * Views are fixed-length and rebuilt after every grow. A length-tracking view (no explicit
   * length) would follow growth by itself, but V8 then re-checks the buffer's current length on
   * every element access: 12 ns instead of 5 ns per read here, on every key byte compared.
   */
  private refreshViews(seg: number): void {
    const sab = this.segments[seg];
    const n = sab.byteLength;
    this.u8[seg] = new Uint8Array(sab, 0, n);
    this.u32[seg] = new Uint32Array(sab, 0, n >> 2);
    this.f64[seg] = new Float64Array(sab, 0, n >> 3);
  }

  shared(): ArenaShared { return { pageSize: this.pageSize, segments: this.segments.slice() }; }
}
