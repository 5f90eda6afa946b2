/**
 * The hash index of one database: bucket arrays in SharedArrayBuffers whose chains run through the
 * records' `next` field (layout.ts). Records never move while indexed; the index only links them.
 *
 * Growth without stalls (Redis's incremental rehash): when the table fills (load factor 1) a table
 * twice as big is allocated and buckets migrate from t0 to t1 a few at a time, on every lookup and
 * write (one bucket, or up to 10 empty ones) and from the cron (for ~1 ms). Lookups search t0 then
 * t1 while migrating. Shrinking works the same way when the table falls under 10 % fill.
 *
 * Nothing here passes the copy-on-write barrier: buckets are not in pages, and `next` is an
 * index-only field the snapshot never reads.
 */
import {
  META_HAS_EXPIRE, REF_OFFSET_MASK, REF_SEGMENT_SHIFT, R_HASH, R_KLEN, R_META, R_NEXT, keyOffset,
} from './layout.js';

const MIN_SIZE = 4;

/** Record-field access the dict needs, implemented by the keyspace over the arena views. */
export interface RecordAccess {
  readonly u32: Uint32Array[];
  readonly u8: Uint8Array[];
}

function newTable(size: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(size * 4));
}

/** Reverses the 32 bits of v (for the SCAN cursor). */
function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

export class Dict {
  t0: Int32Array = newTable(MIN_SIZE);
  t1: Int32Array | null = null;
  rehashIdx = -1;
  used = 0;
  /** Pause automatic resizing (while a long iteration holds bucket positions). */
  private pauseResize = 0;

  constructor(private readonly rec: RecordAccess) {}

  get indexBytes(): number { return (this.t0.length + (this.t1 ? this.t1.length : 0)) * 4; }
  get isRehashing(): boolean { return this.t1 !== null; }

  private next(ref: number): number { return this.rec.u32[ref >>> REF_SEGMENT_SHIFT][((ref & REF_OFFSET_MASK) << 1) + R_NEXT]; }
  private setNext(ref: number, v: number): void { this.rec.u32[ref >>> REF_SEGMENT_SHIFT][((ref & REF_OFFSET_MASK) << 1) + R_NEXT] = v; }
  hashOf(ref: number): number { return this.rec.u32[ref >>> REF_SEGMENT_SHIFT][((ref & REF_OFFSET_MASK) << 1) + R_HASH]; }

  find(key: Uint8Array, hash: number): number {
    // No rehash step while a forEach walks the tables: a lookup made from inside the walk (e.g.
    // SINTERSTORE probing the set it iterates) would otherwise move the buckets under it.
    if (this.t1 !== null && this.pauseResize === 0) this.rehashStep();
    const ref = this.chainFind(this.t0[hash & (this.t0.length - 1)], key, hash);
    if (ref !== 0 || this.t1 === null) return ref;
    return this.chainFind(this.t1[hash & (this.t1.length - 1)], key, hash);
  }

  /** Walks one chain comparing hash, then length, then bytes (the hot loop of every lookup). */
  private chainFind(ref: number, key: Uint8Array, hash: number): number {
    const klen = key.length;
    while (ref !== 0) {
      const seg = ref >>> REF_SEGMENT_SHIFT;
      const u32 = this.rec.u32[seg];
      const w = (ref & REF_OFFSET_MASK) << 1;
      if (u32[w + R_HASH] === hash && u32[w + R_KLEN] === klen) {
        const u8 = this.rec.u8[seg];
        let off = (w << 2) + keyOffset((u32[w + R_META] & META_HAS_EXPIRE) !== 0, klen);
        let i = 0;
        while (i < klen && u8[off] === key[i]) { off++; i++; }
        if (i === klen) return ref;
      }
      ref = u32[w + R_NEXT];
    }
    return 0;
  }

  /** Links a record whose key is known to be absent. */
  insert(ref: number, hash: number): void {
    if (this.t1 !== null) this.rehashStep();
    else if (this.used >= this.t0.length && this.pauseResize === 0) this.resize(this.t0.length * 2);
    const t = this.t1 ?? this.t0;
    const b = hash & (t.length - 1);
    this.setNext(ref, t[b]);
    t[b] = ref;
    this.used++;
  }

  /** Unlinks a record that is in the index. */
  remove(ref: number): void {
    const hash = this.hashOf(ref);
    if (!this.unlinkFrom(this.t0, ref, hash) && (this.t1 === null || !this.unlinkFrom(this.t1, ref, hash))) {
      throw new Error(`dict: record ${ref} is not indexed`);
    }
    this.used--;
  }

  /** Puts `fresh` in the chain position of `old` (a record replaced by a reallocated copy). */
  replace(old: number, fresh: number): void {
    const hash = this.hashOf(old);
    if (!this.replaceIn(this.t0, old, fresh, hash) && (this.t1 === null || !this.replaceIn(this.t1, old, fresh, hash))) {
      throw new Error(`dict: record ${old} is not indexed`);
    }
  }

  private unlinkFrom(t: Int32Array, ref: number, hash: number): boolean {
    const b = hash & (t.length - 1);
    let cur = t[b];
    let prev = 0;
    while (cur !== 0) {
      if (cur === ref) {
        if (prev === 0) t[b] = this.next(cur); else this.setNext(prev, this.next(cur));
        return true;
      }
      prev = cur;
      cur = this.next(cur);
    }
    return false;
  }

  private replaceIn(t: Int32Array, old: number, fresh: number, hash: number): boolean {
    const b = hash & (t.length - 1);
    let cur = t[b];
    let prev = 0;
    while (cur !== 0) {
      if (cur === old) {
        this.setNext(fresh, this.next(old));
        if (prev === 0) t[b] = fresh; else this.setNext(prev, fresh);
        return true;
      }
      prev = cur;
      cur = this.next(cur);
    }
    return false;
  }

  /** Starts migrating to a table of `size` buckets (a power of two). */
  resize(size: number): void {
    if (this.t1 !== null) return;
    let s = MIN_SIZE;
    while (s < size) s *= 2;
    if (s === this.t0.length) return;
    if (this.used === 0) { this.t0 = newTable(s); return; }
    this.t1 = newTable(s);
    this.rehashIdx = 0;
  }

  /**
   * Migrates one non-empty bucket from t0 to t1, looking at no more than 10 empty buckets (so one
   * step is O(1) however sparse the table), and finishes the migration when t0 is drained.
   */
  rehashStep(): void {
    const t0 = this.t0;
    const t1 = this.t1!;
    const m1 = t1.length - 1;
    let empty = 10;
    while (this.rehashIdx < t0.length && t0[this.rehashIdx] === 0) {
      this.rehashIdx++;
      if (--empty === 0) break;
    }
    if (this.rehashIdx < t0.length && t0[this.rehashIdx] !== 0) {
      let ref = t0[this.rehashIdx];
      while (ref !== 0) {
        const nxt = this.next(ref);
        const b = this.hashOf(ref) & m1;
        this.setNext(ref, t1[b]);
        t1[b] = ref;
        ref = nxt;
      }
      t0[this.rehashIdx] = 0;
      this.rehashIdx++;
    }
    if (this.rehashIdx >= t0.length) {
      this.t0 = t1;
      this.t1 = null;
      this.rehashIdx = -1;
    }
  }

  /** Rehashes for about `ms` milliseconds (cron). Returns true if still rehashing. */
  rehashFor(ms: number): boolean {
    if (this.t1 === null) return false;
    const end = performance.now() + ms;
    while (this.t1 !== null) {
      for (let i = 0; i < 100 && this.t1 !== null; i++) this.rehashStep();
      if (performance.now() > end) break;
    }
    return this.t1 !== null;
  }

  /** Shrinks when under 10 % fill (Redis's HASHTABLE_MIN_FILL), from the cron. */
  maybeShrink(): void {
    if (this.t1 !== null || this.pauseResize !== 0) return;
    if (this.t0.length > MIN_SIZE && this.used * 10 < this.t0.length) this.resize(Math.max(MIN_SIZE, this.used));
  }

  clear(): void {
    this.t0 = newTable(MIN_SIZE);
    this.t1 = null;
    this.rehashIdx = -1;
    this.used = 0;
  }

  /** Visits every indexed record (no rehash steps happen during the walk). */
  forEach(visit: (ref: number) => void): void {
    this.pauseResize++;
    try {
      for (const t of this.t1 ? [this.t0, this.t1] : [this.t0]) {
        for (let b = 0; b < t.length; b++) {
          let ref = t[b];
          while (ref !== 0) {
            const nxt = this.next(ref);
            visit(ref);
            ref = nxt;
          }
        }
      }
    } finally {
      this.pauseResize--;
    }
  }

  private visitBucket(t: Int32Array, b: number, out: number[]): void {
    let ref = t[b];
    while (ref !== 0) { out.push(ref); ref = this.next(ref); }
  }

  /**
   * Redis's reverse-binary SCAN step. The cursor is incremented on its *reversed* bits, so it walks
   * bucket indexes high bit first. When the table doubles, every bucket i splits into i and
   * i + oldSize, which share the low bits already walked; when it halves, buckets merge the same
   * way. Either way the buckets already visited stay "behind" the cursor, so no key present for the
   * whole scan is missed (some may be returned twice after a shrink). While migrating, the small
   * table's bucket is visited, then every bucket of the big table it expands into.
   * Appends the refs visited to `out` and returns the next cursor.
   */
  scanStep(cursor: number, out: number[]): number {
    let v = cursor >>> 0;
    if (this.t1 === null) {
      const m0 = this.t0.length - 1;
      this.visitBucket(this.t0, v & m0, out);
      v = (v | ~m0) >>> 0;
      v = rev32((rev32(v) + 1) >>> 0);
      return v;
    }
    let small = this.t0;
    let big = this.t1;
    if (small.length > big.length) { const t = small; small = big; big = t; }
    const m0 = small.length - 1;
    const m1 = big.length - 1;
    this.visitBucket(small, v & m0, out);
    do {
      this.visitBucket(big, v & m1, out);
      v = (v | ~m1) >>> 0;
      v = rev32((rev32(v) + 1) >>> 0);
    } while ((v & (m0 ^ m1)) !== 0);
    return v;
  }

  /** A uniformly random bucket's chain member, or 0 when empty (Redis's dictGetRandomKey). */
  randomRef(): number {
    if (this.used === 0) return 0;
    if (this.t1 !== null) this.rehashStep();
    let head = 0;
    if (this.t1 !== null) {
      const total = this.t0.length + this.t1.length;
      do {
        const i = this.rehashIdx + Math.floor(Math.random() * (total - this.rehashIdx));
        head = i >= this.t0.length ? this.t1[i - this.t0.length] : this.t0[i];
      } while (head === 0);
    } else {
      const m = this.t0.length - 1;
      do head = this.t0[Math.floor(Math.random() * (m + 1))]; while (head === 0);
    }
    let len = 0;
    for (let r = head; r !== 0; r = this.next(r)) len++;
    let k = Math.floor(Math.random() * len);
    let ref = head;
    while (k-- > 0) ref = this.next(ref);
    return ref;
  }
}
