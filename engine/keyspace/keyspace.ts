/**
 * The keyspace: 16 (configurable) databases of binary-safe keys in shared-memory pages.
 *
 * Pieces (each file explains itself): arena.ts hands out pages; this file packs records into slab
 * pages (one size class and one database per page) or large extents; dict.ts indexes them per db;
 * barrier.ts makes every write copy-on-write while a snapshot runs. The contract to the command
 * layer is api.ts; nothing outside engine/keyspace sees refs or pages.
 *
 * Database numbers: each db owns a *physical* slot id written into its pages' headers. SWAPDB
 * swaps the logical-to-physical mapping instead of rewriting pages; a snapshot records the mapping
 * at its start.
 *
 * Expiry: a record carries its absolute expire time; each db also keeps an array of the refs that
 * have one (the record's expSlot field is its position), which active expiry samples at random.
 */
import { Errors, StoreError } from '../errors.js';
import { Arena } from './arena.js';
import { CowBarrier, type BeginOptions, type SnapshotShared } from './barrier.js';
import { Dict } from './dict.js';
import { Collection, type ElementStore } from './collections.js';
import { hashBytes } from './hash.js';
import {
  EXPIRE_BYTES, LARGE_HEADER_BYTES, META_HAS_EXPIRE, META_TYPE_MASK, PAGE_LARGE_CONT, PAGE_LARGE_HEAD,
  PAGE_SLAB, RECORD_HEADER, REF_OFFSET_MASK, REF_SEGMENT_SHIFT, R_EXPSLOT, R_EXP_HI, R_EXP_LO, R_HASH, R_KLEN,
  R_META, R_NEXT, R_VLEN, SLAB_FIXED_HEADER_WORDS, VT_ELEMENT, VT_HASH_LISTPACK, VT_LARGE, VT_LIST_LISTPACK,
  VT_SET_INTSET, VT_STRING, VT_ZSET_LISTPACK, buildSizeClasses, keyOffset, metaWord, putRdbLen,
  recordBytes, slabHeaderBytes, typeOffset, valueOffset,
  slotsPerPage,
} from './layout.js';
import {
  KEEP_TTL, NO_EXPIRE, type CollectionKind, type Keyspace, type LargeCollection, type MemoryStats, type StoredValue,
  type ValueType,
} from './api.js';

export interface KeyspaceOptions {
  pageSize?: number;
  databases?: number;
}

/** What a snapshot needs besides the barrier's shared memory. */
export interface SnapshotJob {
  shared: SnapshotShared;
  /** logicalDb[phys] = logical db number at snapshot start. */
  logicalDb: number[];
  /** Keys and keys-with-TTL per logical db at snapshot start (RESIZEDB hints). */
  dbSizes: number[];
  expiresSizes: number[];
  keys: number;
  /** Large collections live at snapshot start: their elements are written under their keys. */
  collections: SnapshotCollection[];
  /** The physical db number of the element pages (collections.ts). */
  elementDomain: number;
}

/** A large collection as of snapshot start (the serializer assembles it from element records). */
export interface SnapshotCollection {
  id: number;
  kind: CollectionKind;
  /** Element records to expect (list: nodes). */
  count: number;
}

/** TYPE names of the small forms (VT_LARGE asks its collection). */
const SMALL_TYPE_NAME = new Map<number, ValueType>([
  [VT_STRING, 'string'], [VT_SET_INTSET, 'set'], [VT_HASH_LISTPACK, 'hash'], [VT_ZSET_LISTPACK, 'zset'],
  [VT_LIST_LISTPACK, 'list'],
]);

/** Elements lazy free releases between clock reads. */
const LAZYFREE_BATCH = 1024;
/** Deleted collections up to this many elements are freed at once (see dropLarge). */
const SYNC_FREE_ELEMENTS = 1024;
const EMPTY = new Uint8Array(0);

class DbState {
  readonly dict: Dict;
  /** Refs of records with an expire time (record.expSlot = index here). */
  expires: number[] = [];
  constructor(readonly phys: number, dict: Dict) { this.dict = dict; }
}

export class SharedKeyspace implements Keyspace {
  readonly databases: number;
  readonly arena: Arena;
  readonly barrier: CowBarrier;
  /**
   * The clock for expiry decisions, ms. The engine sets it once per command (Redis caches mstime);
   * 0 means "read Date.now() when a record with a TTL is met" (embedded fast paths).
   */
  now = Date.now();
  onExpired: ((db: number, key: Buffer) => void) | null = null;
  /**
   * Bytes of a collection's main-thread derived index (the type layer's `aux`, e.g. a sorted set's
   * order tree), counted in used_memory. Set by the engine; the keyspace does not know the types.
   */
  auxBytes: ((c: LargeCollection) => number) | null = null;
  expireDeletes = true;

  private readonly dbs: DbState[] = [];
  private readonly classes: number[];
  /** Size class index for each record size / 8 (lookup table). */
  private readonly classOf: Int16Array;
  private readonly slotsOf: number[];
  /** Per (phys db, class) a stack of slab pages that have free slots. */
  private readonly partial: number[][];
  /** inPartial[page] = stack id + 1 when the page is in that partial stack. */
  private inPartial = new Int32Array(1024);
  private liveRecordBytes = 0;
  private slotBytes = 0;
  private largeBytes = 0;
  /** Large collections by id, the element domain's allocation state, and pending lazy frees. */
  private readonly colls = new Map<number, Collection>();
  private nextCollId = 1;
  private readonly elemDomain: DbState;
  private readonly elemStore: ElementStore;
  private readonly zombies: Collection[] = [];
  private zombieHead = 0;
  private readonly idBuf: Buffer = Buffer.alloc(4);

  constructor(opts: KeyspaceOptions = {}) {
    const pageSize = opts.pageSize ?? 4096;
    this.databases = opts.databases ?? 16;
    if (!Number.isInteger(this.databases) || this.databases < 1 || this.databases > 255) {
      throw new StoreError('EDATABASES', `databases must be between 1 and 255, got ${this.databases}`);
    }
    this.arena = new Arena(pageSize);
    this.barrier = new CowBarrier(this.arena);
    this.classes = buildSizeClasses(pageSize);
    const maxClass = this.classes[this.classes.length - 1];
    this.classOf = new Int16Array((maxClass >> 3) + 1);
    let c = 0;
    for (let s = 0; s <= maxClass; s += 8) {
      while (this.classes[c] < s) c++;
      this.classOf[s >> 3] = c;
    }
    this.slotsOf = this.classes.map((s) => slotsPerPage(pageSize, s));
    this.partial = [];
    for (let i = 0; i < (this.databases + 1) * this.classes.length; i++) this.partial.push([]);
    const access = { u32: this.arena.u32, u8: this.arena.u8 };
    for (let i = 0; i < this.databases; i++) this.dbs.push(new DbState(i, new Dict(access)));
    this.elemDomain = new DbState(this.databases, new Dict(access));
    this.elemStore = {
      u32: this.arena.u32,
      u8: this.arena.u8,
      writeElement: (hash, field, id, payload, prefix) => this.writeElement(hash, field, id, payload, prefix),
      rewritePayload: (ref, payload, prefix) => this.rewritePayload(ref, payload, prefix),
      freeElement: (ref) => this.freeElement(ref),
      setPrefix: (ref, prefix) => this.setElementPrefix(ref, prefix),
    };
  }

  get pageSize(): number { return this.arena.pageSize; }

  private readonly nodeCaps = new Map<number, number>();

  /**
   * Why: a list node of Redis's size (8 KiB for the default fill) is bigger than any slab class when
   * pages are small, so its record takes an extent of whole pages: 8192 + ~60 bytes of headers needs
   * a third 4 KiB page, a third of it empty. Capping nodes at what the whole pages hold (8136 bytes
   * of listpack for an 8 KiB limit at 4 KiB pages) keeps lists as dense as Redis's quicklist, with
   * nodes under 1 % smaller than Redis's (DEBUG OBJECT's ql_nodes may then differ).
   */
  listNodeCap(limit: number): number {
    let cap = this.nodeCaps.get(limit);
    if (cap !== undefined) return cap;
    const maxClass = this.classes[this.classes.length - 1];
    const overhead = (lp: number): number => recordBytes(0, 4 + 8 + lp, false) - lp;
    const rec = limit + overhead(limit);
    cap = Infinity;
    if (rec > maxClass) {
      const pageSize = this.arena.pageSize;
      const fitPages = Math.floor((rec + LARGE_HEADER_BYTES) / pageSize);
      const c = fitPages * pageSize - LARGE_HEADER_BYTES - overhead(limit);
      if (fitPages >= 1 && c >= 0.9 * limit) cap = c;
    }
    this.nodeCaps.set(limit, cap);
    return cap;
  }

  // ---------------------------------------------------------------------------------------------
  // Record access
  // ---------------------------------------------------------------------------------------------

  private w(ref: number): number { return (ref & REF_OFFSET_MASK) << 1; }
  private u32(ref: number): Uint32Array { return this.arena.u32[ref >>> REF_SEGMENT_SHIFT]; }
  private u8(ref: number): Uint8Array { return this.arena.u8[ref >>> REF_SEGMENT_SHIFT]; }
  /** Byte offset (in its segment) of a record's key. */
  private keyOff(ref: number, meta: number, klen: number): number {
    return ((ref & REF_OFFSET_MASK) << 3) + keyOffset((meta & META_HAS_EXPIRE) !== 0, klen);
  }

  /** `now`, reading the real clock if a fast path left it unset (0). */
  private clock(): number {
    if (this.now === 0) this.now = Date.now();
    return this.now;
  }

  private metaOf(ref: number): number { return this.u32(ref)[this.w(ref) + R_META]; }

  private expireOf(ref: number): number {
    const meta = this.metaOf(ref);
    if ((meta & META_HAS_EXPIRE) === 0) return NO_EXPIRE;
    const u32 = this.u32(ref);
    const w = this.w(ref);
    return u32[w + R_EXP_HI] * 0x100000000 + u32[w + R_EXP_LO];
  }

  /** Stores an expire time as the RDB's little-endian int64 (exact up to 2^53 ms). */
  private putExpire(ref: number, at: number): void {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    const hi = Math.floor(at / 0x100000000);
    u32[w + R_EXP_LO] = at - hi * 0x100000000;
    u32[w + R_EXP_HI] = hi;
  }

  private keyView(ref: number): Uint8Array {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    const klen = u32[w + R_KLEN];
    const off = this.keyOff(ref, u32[w + R_META], klen);
    return this.u8(ref).subarray(off, off + klen);
  }

  private valueView(ref: number): Uint8Array {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    const klen = u32[w + R_KLEN];
    const vlen = u32[w + R_VLEN];
    const off = ((ref & REF_OFFSET_MASK) << 3) + valueOffset((u32[w + R_META] & META_HAS_EXPIRE) !== 0, klen, vlen);
    return this.u8(ref).subarray(off, off + vlen);
  }

  /** Page id of a ref. */
  private pageOf(ref: number): number {
    const seg = ref >>> REF_SEGMENT_SHIFT;
    const off = (ref & REF_OFFSET_MASK) << 3;
    return (seg << this.arena.segPageShift) + Math.floor(off / this.arena.pageSize);
  }

  /** Bytes the slot/extent of this record can hold. */
  private capacityOf(ref: number): number {
    const p = this.pageOf(ref);
    const a = this.arena;
    if (a.kind[p] === PAGE_SLAB) return a.u32[a.segOf(p)][(a.offOf(p) >> 2) + 1];
    return a.aux[p] * a.pageSize - LARGE_HEADER_BYTES;
  }

  // ---------------------------------------------------------------------------------------------
  // Allocation (every byte written into a page goes through touch())
  // ---------------------------------------------------------------------------------------------

  private touchRange(ref: number, bytes: number): void {
    if (!this.barrier.active) return;
    const first = this.pageOf(ref);
    const last = first + Math.floor((((ref & REF_OFFSET_MASK) << 3) % this.arena.pageSize + bytes - 1) / this.arena.pageSize);
    for (let p = first; p <= last; p++) this.barrier.touch(p);
  }

  private allocRecord(db: DbState, size: number): number {
    const a = this.arena;
    const maxClass = this.classes[this.classes.length - 1];
    if (size > maxClass) {
      const n = Math.ceil((size + LARGE_HEADER_BYTES) / a.pageSize);
      const head = a.allocRun(n);
      for (let p = head; p < head + n; p++) {
        if (this.barrier.active) this.barrier.touch(p);
        a.kind[p] = p === head ? PAGE_LARGE_HEAD : PAGE_LARGE_CONT;
        a.aux[p] = p === head ? n : head;
      }
      const u32 = a.u32[a.segOf(head)];
      const w = a.offOf(head) >> 2;
      u32[w] = PAGE_LARGE_HEAD | (db.phys << 8);
      u32[w + 1] = n;
      u32[w + 2] = 0;
      u32[w + 3] = 0;
      this.largeBytes += n * a.pageSize;
      return ((a.segOf(head) << REF_SEGMENT_SHIFT) | ((a.offOf(head) + LARGE_HEADER_BYTES) >> 3));
    }
    const c = this.classOf[(size + 7) >> 3];
    const sid = db.phys * this.classes.length + c;
    const stack = this.partial[sid];
    let p = -1;
    while (stack.length > 0) {
      const q = stack[stack.length - 1];
      if (this.inPartial[q] === sid + 1 && a.kind[q] === PAGE_SLAB &&
          a.u32[a.segOf(q)][(a.offOf(q) >> 2) + 3] < this.slotsOf[c]) { p = q; break; }
      stack.pop();
      if (this.inPartial[q] === sid + 1) this.inPartial[q] = 0;
    }
    if (p < 0) p = this.newSlabPage(db, c, sid);
    if (this.barrier.active) this.barrier.touch(p);
    const u32 = a.u32[a.segOf(p)];
    const base = a.offOf(p);
    const hw = base >> 2;
    const nslots = this.slotsOf[c];
    const words = Math.ceil(nslots / 32);
    let slot = -1;
    for (let i = 0; i < words; i++) {
      const bits = u32[hw + SLAB_FIXED_HEADER_WORDS + i];
      if (bits !== 0xffffffff) {
        const bit = 31 - Math.clz32(~bits & (bits + 1));
        slot = i * 32 + bit;
        if (slot >= nslots) { slot = -1; break; }
        u32[hw + SLAB_FIXED_HEADER_WORDS + i] = bits | (1 << bit);
        break;
      }
    }
    if (slot < 0) throw new StoreError('EINTERNAL', `slab page ${p} has no free slot but was listed as partial`);
    const used = ++u32[hw + 3];
    if (used === nslots) { stack.pop(); this.inPartial[p] = 0; }
    this.slotBytes += this.classes[c];
    const off = base + slabHeaderBytes(nslots) + slot * this.classes[c];
    return (a.segOf(p) << REF_SEGMENT_SHIFT) | (off >> 3);
  }

  private newSlabPage(db: DbState, c: number, sid: number): number {
    const a = this.arena;
    const p = a.allocPage();
    if (this.barrier.active) this.barrier.touch(p);
    a.kind[p] = PAGE_SLAB;
    a.aux[p] = c;
    const u32 = a.u32[a.segOf(p)];
    const hw = a.offOf(p) >> 2;
    const nslots = this.slotsOf[c];
    u32[hw] = PAGE_SLAB | (db.phys << 8) | (c << 16);
    u32[hw + 1] = this.classes[c];
    u32[hw + 2] = nslots;
    u32[hw + 3] = 0;
    u32.fill(0, hw + SLAB_FIXED_HEADER_WORDS, hw + SLAB_FIXED_HEADER_WORDS + Math.ceil(nslots / 32));
    if (p >= this.inPartial.length) {
      const n = new Int32Array(Math.max(p + 1, this.inPartial.length * 2));
      n.set(this.inPartial);
      this.inPartial = n;
    }
    this.partial[sid].push(p);
    this.inPartial[p] = sid + 1;
    return p;
  }

  private freeRecord(ref: number): void {
    const a = this.arena;
    const p = this.pageOf(ref);
    if (a.kind[p] !== PAGE_SLAB) {
      const n = a.aux[p];
      a.freeRun(p, n);
      this.largeBytes -= n * a.pageSize;
      return;
    }
    if (this.barrier.active) this.barrier.touch(p);
    const u32 = a.u32[a.segOf(p)];
    const base = a.offOf(p);
    const hw = base >> 2;
    const c = u32[hw] >>> 16;
    const phys = (u32[hw] >>> 8) & 0xff;
    const size = this.classes[c];
    const nslots = this.slotsOf[c];
    const slot = (((ref & REF_OFFSET_MASK) << 3) - base - slabHeaderBytes(nslots)) / size;
    u32[hw + SLAB_FIXED_HEADER_WORDS + (slot >> 5)] &= ~(1 << (slot & 31));
    const used = --u32[hw + 3];
    this.slotBytes -= size;
    if (used === 0) {
      if (this.inPartial[p] !== 0) this.inPartial[p] = 0;
      a.freePage(p);
    } else if (this.inPartial[p] === 0) {
      const sid = phys * this.classes.length + c;
      this.partial[sid].push(p);
      this.inPartial[p] = sid + 1;
    }
  }

  /** Writes a whole record (header, then its RDB form) into freshly allocated space. */
  private writeRecord(ref: number, hash: number, type: number, key: Uint8Array, value: Uint8Array, expireAt: number): void {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    const hasExp = expireAt !== NO_EXPIRE;
    u32[w + R_NEXT] = 0;
    u32[w + R_HASH] = hash;
    u32[w + R_EXPSLOT] = 0;
    u32[w + R_KLEN] = key.length;
    u32[w + R_VLEN] = value.length;
    u32[w + R_META] = metaWord(type, hasExp);
    if (hasExp) this.putExpire(ref, expireAt);
    const u8 = this.u8(ref);
    const base = (ref & REF_OFFSET_MASK) << 3;
    let off = base + typeOffset(hasExp);
    u8[off++] = type;
    off = putRdbLen(u8, off, key.length);
    u8.set(key, off);
    off = putRdbLen(u8, off + key.length, value.length);
    u8.set(value, off);
    this.liveRecordBytes += recordBytes(key.length, value.length, hasExp);
  }

  /**
   * Element records (collections.ts): key = field, value = u32 collection id + [f64 prefix] +
   * payload, in the element domain's pages. Written in the record's RDB-like form so the page
   * serializer can read them like any record.
   */
  private writeElement(hash: number, field: Uint8Array, id: number, payload: Uint8Array, prefix: Float64Array | null): number {
    const vlen = 4 + (prefix !== null ? 8 : 0) + payload.length;
    const size = recordBytes(field.length, vlen, false);
    const ref = this.allocRecord(this.elemDomain, size);
    this.touchRange(ref, size);
    const u32 = this.u32(ref);
    const w = this.w(ref);
    u32[w + R_NEXT] = 0;
    u32[w + R_HASH] = hash;
    u32[w + R_EXPSLOT] = 0;
    u32[w + R_KLEN] = field.length;
    u32[w + R_VLEN] = vlen;
    u32[w + R_META] = VT_ELEMENT;
    const u8 = this.u8(ref);
    let off = ((ref & REF_OFFSET_MASK) << 3) + RECORD_HEADER;
    u8[off++] = VT_ELEMENT;
    off = putRdbLen(u8, off, field.length);
    u8.set(field, off);
    off += field.length;
    this.putElementValue(u8, off, vlen, id, payload, prefix);
    this.liveRecordBytes += size;
    return ref;
  }

  private putElementValue(u8: Uint8Array, off: number, vlen: number, id: number, payload: Uint8Array, prefix: Float64Array | null): void {
    off = putRdbLen(u8, off, vlen);
    u8[off] = id & 0xff; u8[off + 1] = (id >>> 8) & 0xff; u8[off + 2] = (id >>> 16) & 0xff; u8[off + 3] = id >>> 24;
    off += 4;
    if (prefix !== null) {
      u8.set(new Uint8Array(prefix.buffer, prefix.byteOffset, 8), off);
      off += 8;
    }
    u8.set(payload, off);
  }

  /**
   * Rewrites an element's value in its slot when the new record still fits (HSET of a same-size
   * value, a zset score, a list node that shrank): no reallocation, no index change. Why the
   * collection id is read back: the value starts with it and is rewritten whole. The RDB length
   * prefix may change size, so everything from the key's end is rewritten, and the barrier is
   * passed for that whole range first.
   */
  private rewritePayload(ref: number, payload: Uint8Array, prefix: Float64Array | null): boolean {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    const klen = u32[w + R_KLEN];
    const oldVlen = u32[w + R_VLEN];
    const vlen = 4 + (prefix !== null ? 8 : 0) + payload.length;
    const size = recordBytes(klen, vlen, false);
    if (size > this.capacityOf(ref)) return false;
    this.touchRange(ref, size);
    const u8 = this.u8(ref);
    const base = (ref & REF_OFFSET_MASK) << 3;
    const valOff = base + valueOffset(false, klen, oldVlen);
    const id = u8[valOff] | (u8[valOff + 1] << 8) | (u8[valOff + 2] << 16) | (u8[valOff + 3] << 24);
    this.liveRecordBytes += size - recordBytes(klen, oldVlen, false);
    u32[w + R_VLEN] = vlen;
    this.putElementValue(u8, base + keyOffset(false, klen) + klen, vlen, id >>> 0, payload, prefix);
    return true;
  }

  private setElementPrefix(ref: number, prefix: Float64Array): void {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    const off = valueOffset(false, u32[w + R_KLEN], u32[w + R_VLEN]) + 4;
    this.touchRange(ref, off + 8);
    this.u8(ref).set(new Uint8Array(prefix.buffer, prefix.byteOffset, 8), ((ref & REF_OFFSET_MASK) << 3) + off);
  }

  private freeElement(ref: number): void {
    const u32 = this.u32(ref);
    const w = this.w(ref);
    this.liveRecordBytes -= recordBytes(u32[w + R_KLEN], u32[w + R_VLEN], false);
    this.freeRecord(ref);
  }

  /** The collection a VT_LARGE record names. */
  private collOf(ref: number): Collection {
    const v = this.valueView(ref);
    const id = (v[0] | (v[1] << 8) | (v[2] << 16) | (v[3] << 24)) >>> 0;
    const c = this.colls.get(id);
    if (c === undefined) throw new StoreError('EINTERNAL', `large collection ${id} is not registered`);
    return c;
  }

  /**
   * A large collection leaves the keyspace. Why not always lazily: Redis frees small objects at
   * once (lazyfree's threshold is 64 elements) and an embedded program running a tight synchronous
   * loop never yields to the timers that do the lazy work. So a collection of up to
   * SYNC_FREE_ELEMENTS elements (≈0.3 ms) is freed here, bigger ones queue for lazy free — except
   * while a snapshot runs, when freeing would only make the barrier copy pages of dead elements.
   */
  private dropLarge(ref: number): void {
    const c = this.collOf(ref);
    this.colls.delete(c.id);
    if (c.count <= SYNC_FREE_ELEMENTS && !this.barrier.active) {
      while (c.count > 0 && c.freeSome(SYNC_FREE_ELEMENTS) > 0) { /* chains may overshoot the budget */ }
      if (c.count === 0) return;
    }
    this.zombies.push(c);
  }

  private typeName(ref: number): ValueType {
    const vt = this.metaOf(ref) & META_TYPE_MASK;
    if (vt === VT_LARGE) return this.collOf(ref).kind;
    return SMALL_TYPE_NAME.get(vt) ?? 'string';
  }

  // ---------------------------------------------------------------------------------------------
  // Lookup with lazy expiry
  // ---------------------------------------------------------------------------------------------

  private db(i: number): DbState {
    const d = this.dbs[i];
    if (d === undefined) throw Errors.dbIndexOutOfRange();
    return d;
  }

  /** The live record for key, or 0. Deletes it first if it has expired (on a master). */
  private lookup(d: DbState, dbIndex: number, key: Uint8Array): number {
    const hash = hashBytes(key, 0, key.length);
    const ref = d.dict.find(key, hash);
    if (ref === 0) return 0;
    if ((this.metaOf(ref) & META_HAS_EXPIRE) !== 0 && this.expireOf(ref) <= this.clock()) {
      if (this.expireDeletes) this.expireRecord(d, dbIndex, ref);
      return 0;
    }
    return ref;
  }

  private expireRecord(d: DbState, dbIndex: number, ref: number): void {
    const key = Buffer.from(this.keyView(ref));
    this.deleteRecord(d, ref);
    if (this.onExpired !== null) this.onExpired(dbIndex, key);
  }

  private deleteRecord(d: DbState, ref: number, keepCollection = false): void {
    if (!keepCollection && (this.metaOf(ref) & META_TYPE_MASK) === VT_LARGE) this.dropLarge(ref);
    d.dict.remove(ref);
    if ((this.metaOf(ref) & META_HAS_EXPIRE) !== 0) this.dropExpireSlot(d, ref);
    const u32 = this.u32(ref);
    const w = this.w(ref);
    this.liveRecordBytes -= recordBytes(u32[w + R_KLEN], u32[w + R_VLEN], (u32[w + R_META] & META_HAS_EXPIRE) !== 0);
    this.freeRecord(ref);
  }

  private addExpireSlot(d: DbState, ref: number): void {
    this.u32(ref)[this.w(ref) + R_EXPSLOT] = d.expires.length;
    d.expires.push(ref);
  }

  private dropExpireSlot(d: DbState, ref: number): void {
    const i = this.u32(ref)[this.w(ref) + R_EXPSLOT];
    const last = d.expires.pop()!;
    if (last !== ref) {
      d.expires[i] = last;
      this.u32(last)[this.w(last) + R_EXPSLOT] = i;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Keyspace API
  // ---------------------------------------------------------------------------------------------

  typeOf(db: number, key: Uint8Array): ValueType | null {
    const ref = this.lookup(this.db(db), db, key);
    return ref === 0 ? null : this.typeName(ref);
  }

  exists(db: number, key: Uint8Array): boolean {
    return this.lookup(this.db(db), db, key) !== 0;
  }

  getString(db: number, key: Uint8Array): Uint8Array | null {
    const ref = this.lookup(this.db(db), db, key);
    if (ref === 0) return null;
    if ((this.metaOf(ref) & META_TYPE_MASK) !== VT_STRING) throw Errors.wrongType();
    return this.valueView(ref);
  }

  setString(db: number, key: Uint8Array, value: Uint8Array, expireAt: number): void {
    this.store(db, key, VT_STRING, value, expireAt);
  }

  lookupValue(db: number, key: Uint8Array): StoredValue | null {
    const ref = this.lookup(this.db(db), db, key);
    if (ref === 0) return null;
    const vt = this.metaOf(ref) & META_TYPE_MASK;
    if (vt === VT_LARGE) return { vt, blob: EMPTY, large: this.collOf(ref) };
    return { vt, blob: this.valueView(ref), large: null };
  }

  putBlob(db: number, key: Uint8Array, vt: number, blob: Uint8Array, expireAt: number): void {
    if (vt === VT_LARGE || vt === VT_ELEMENT) throw new StoreError('EINTERNAL', `putBlob: type ${vt} is not a small form`);
    this.store(db, key, vt, blob, expireAt);
  }

  createLarge(db: number, key: Uint8Array, kind: CollectionKind, expireAt: number): LargeCollection {
    // Creating collections pays down pending frees, so a synchronous create/delete loop cannot
    // pile up deleted collections faster than it frees them.
    if (this.zombies.length > 0 && !this.barrier.active) this.lazyFree(2 * LAZYFREE_BATCH);
    const c = this.newCollection(kind);
    this.store(db, key, VT_LARGE, this.idBytes(c.id), expireAt);
    return c;
  }

  /**
   * A fresh collection id. Why ids are never reused while in use anywhere: element records carry
   * the id, and a deleted collection's records can still sit in pages (lazy free, or a snapshot's
   * view of them); a reused id would merge two collections in the snapshot's assembly. The counter
   * is monotonic (an id comes back only after 2^32 creations) and also skips ids still live.
   */
  private newCollection(kind: CollectionKind): Collection {
    let id = this.nextCollId;
    while (id === 0 || this.colls.has(id)) id = (id + 1) >>> 0;
    this.nextCollId = (id + 1) >>> 0;
    const c = new Collection(id, kind, this.elemStore);
    this.colls.set(id, c);
    return c;
  }

  private idBytes(id: number): Buffer {
    this.idBuf.writeUInt32LE(id, 0);
    return this.idBuf;
  }

  /** COPY of a large collection: every element record duplicated (O(N), as Redis's COPY). */
  private cloneCollection(src: Collection): Collection {
    const c = this.newCollection(src.kind);
    if (src.kind === 'list') {
      const nodes: Array<[number, Buffer]> = [];
      src.forEach((ref) => nodes.push([src.nodeLabel(ref), Buffer.from(src.nodeListpack(ref))]));
      nodes.sort((a, b) => a[0] - b[0]);
      for (const [label, lp] of nodes) c.insertNode(label, lp);
      c.elements = src.elements;
      c.aux = null; // the type layer rebuilds its node order from the labels
    } else {
      const refs: number[] = [];
      src.forEach((ref) => refs.push(ref));
      for (const ref of refs) c.insert(Buffer.from(src.field(ref)), Buffer.from(src.payload(ref)));
      c.aux = null; // zset: the order index is rebuilt by the type layer on first use
    }
    return c;
  }

  /**
   * Creates or replaces a record. An existing record is rewritten in place when the new one fits
   * its slot (one barrier touch, no index change); otherwise a new record takes its chain position.
   */
  private store(db: number, key: Uint8Array, type: number, value: Uint8Array, expireAt: number): void {
    const d = this.db(db);
    const hash = hashBytes(key, 0, key.length);
    let old = d.dict.find(key, hash);
    if (old !== 0 && (this.metaOf(old) & META_HAS_EXPIRE) !== 0 && this.expireOf(old) <= this.clock() && this.expireDeletes) {
      this.expireRecord(d, db, old);
      old = 0;
    }
    if (expireAt === KEEP_TTL) expireAt = old !== 0 ? this.expireOf(old) : NO_EXPIRE;
    if (old !== 0 && (this.metaOf(old) & META_TYPE_MASK) === VT_LARGE) this.dropLarge(old);
    const hasExp = expireAt !== NO_EXPIRE;
    const size = recordBytes(key.length, value.length, hasExp);
    if (old === 0) {
      const ref = this.allocRecord(d, size);
      this.touchRange(ref, size);
      this.writeRecord(ref, hash, type, key, value, expireAt);
      d.dict.insert(ref, hash);
      if (hasExp) this.addExpireSlot(d, ref);
      return;
    }
    const oldMeta = this.metaOf(old);
    const oldHasExp = (oldMeta & META_HAS_EXPIRE) !== 0;
    if (hasExp === oldHasExp && size <= this.capacityOf(old)) {
      const u32 = this.u32(old);
      const w = this.w(old);
      this.touchRange(old, size);
      this.liveRecordBytes += size - recordBytes(u32[w + R_KLEN], u32[w + R_VLEN], oldHasExp);
      u32[w + R_META] = metaWord(type, hasExp);
      u32[w + R_VLEN] = value.length;
      if (hasExp) this.putExpire(old, expireAt);
      const u8 = this.u8(old);
      const base = (old & REF_OFFSET_MASK) << 3;
      u8[base + typeOffset(hasExp)] = type;
      const off = putRdbLen(u8, this.keyOff(old, oldMeta, key.length) + key.length, value.length);
      u8.set(value, off);
      return;
    }
    const ref = this.allocRecord(d, size);
    this.touchRange(ref, size);
    this.writeRecord(ref, hash, type, key, value, expireAt);
    d.dict.replace(old, ref);
    if (oldHasExp) this.dropExpireSlot(d, old);
    if (hasExp) this.addExpireSlot(d, ref);
    const u32 = this.u32(old);
    const w = this.w(old);
    this.liveRecordBytes -= recordBytes(u32[w + R_KLEN], u32[w + R_VLEN], oldHasExp);
    this.freeRecord(old);
  }

  getExpire(db: number, key: Uint8Array): number {
    const ref = this.lookup(this.db(db), db, key);
    if (ref === 0) return -2;
    return this.expireOf(ref);
  }

  setExpire(db: number, key: Uint8Array, at: number): boolean {
    const d = this.db(db);
    const ref = this.lookup(d, db, key);
    if (ref === 0) return false;
    if ((this.metaOf(ref) & META_HAS_EXPIRE) !== 0) {
      this.touchRange(ref, RECORD_HEADER + EXPIRE_BYTES);
      this.putExpire(ref, at);
      return true;
    }
    this.restore(d, ref, at);
    return true;
  }

  persist(db: number, key: Uint8Array): boolean {
    const d = this.db(db);
    const ref = this.lookup(d, db, key);
    if (ref === 0 || (this.metaOf(ref) & META_HAS_EXPIRE) === 0) return false;
    this.restore(d, ref, NO_EXPIRE);
    return true;
  }

  /** Rewrites a record with a different expire layout (adding or removing the expire field). */
  private restore(d: DbState, ref: number, expireAt: number): void {
    const key = Buffer.from(this.keyView(ref));
    const value = Buffer.from(this.valueView(ref));
    const type = this.metaOf(ref) & META_TYPE_MASK;
    const hash = this.u32(ref)[this.w(ref) + R_HASH];
    const size = recordBytes(key.length, value.length, expireAt !== NO_EXPIRE);
    const fresh = this.allocRecord(d, size);
    this.touchRange(fresh, size);
    this.writeRecord(fresh, hash, type, key, value, expireAt);
    d.dict.replace(ref, fresh);
    if ((this.metaOf(ref) & META_HAS_EXPIRE) !== 0) this.dropExpireSlot(d, ref);
    if (expireAt !== NO_EXPIRE) this.addExpireSlot(d, fresh);
    const u32 = this.u32(ref);
    const w = this.w(ref);
    this.liveRecordBytes -= recordBytes(u32[w + R_KLEN], u32[w + R_VLEN], (u32[w + R_META] & META_HAS_EXPIRE) !== 0);
    this.freeRecord(ref);
  }

  del(db: number, key: Uint8Array): boolean {
    const d = this.db(db);
    const ref = this.lookup(d, db, key);
    if (ref === 0) return false;
    this.deleteRecord(d, ref);
    return true;
  }

  dbSize(db: number): number { return this.db(db).dict.used; }

  /** Sizes an empty db's index for `keys` keys up front (RDB RESIZEDB), so loading never rehashes. */
  reserve(db: number, keys: number): void {
    const d = this.db(db);
    if (d.dict.used === 0 && keys > 0) d.dict.resize(keys);
  }
  expiresSize(db: number): number { return this.db(db).expires.length; }

  flushDb(db: number): void {
    const d = this.db(db);
    const refs: number[] = [];
    d.dict.forEach((ref) => refs.push(ref));
    for (const ref of refs) {
      if ((this.metaOf(ref) & META_TYPE_MASK) === VT_LARGE) this.dropLarge(ref);
      const u32 = this.u32(ref);
      const w = this.w(ref);
      this.liveRecordBytes -= recordBytes(u32[w + R_KLEN], u32[w + R_VLEN], (u32[w + R_META] & META_HAS_EXPIRE) !== 0);
      this.freeRecord(ref);
    }
    d.dict.clear();
    d.expires = [];
  }

  flushAll(): void { for (let i = 0; i < this.databases; i++) this.flushDb(i); }

  swapDb(a: number, b: number): void {
    const da = this.db(a);
    const db = this.db(b);
    this.dbs[a] = db;
    this.dbs[b] = da;
  }

  rename(db: number, src: Uint8Array, dst: Uint8Array): boolean {
    return this.copyOrMove(db, src, db, dst, true, true);
  }

  move(srcDb: number, key: Uint8Array, dstDb: number): boolean {
    return this.copyOrMove(srcDb, key, dstDb, key, false, true);
  }

  copy(srcDb: number, src: Uint8Array, dstDb: number, dst: Uint8Array, replace: boolean): boolean {
    return this.copyOrMove(srcDb, src, dstDb, dst, replace, false);
  }

  private copyOrMove(srcDb: number, src: Uint8Array, dstDb: number, dst: Uint8Array, replace: boolean, removeSrc: boolean): boolean {
    const ds = this.db(srcDb);
    const dd = this.db(dstDb);
    const ref = this.lookup(ds, srcDb, src);
    if (ref === 0) return false;
    const existing = this.lookup(dd, dstDb, dst);
    if (existing === ref) return true;
    if (existing !== 0 && !replace) return false;
    let value: Uint8Array = Buffer.from(this.valueView(ref));
    const type = this.metaOf(ref) & META_TYPE_MASK;
    const exp = this.expireOf(ref);
    const dstKey = Buffer.from(dst);
    // RENAME/MOVE hand the same collection to the new key; COPY clones it (O(N), as Redis).
    if (type === VT_LARGE && !removeSrc) value = Buffer.from(this.idBytes(this.cloneCollection(this.collOf(ref)).id));
    if (removeSrc) this.deleteRecord(ds, ref, true);
    if (existing !== 0) this.deleteRecord(dd, existing);
    this.store(dstDb, dstKey, type, value, exp);
    return true;
  }

  scan(db: number, cursor: number, count: number, visit: (key: Uint8Array, type: ValueType) => void): number {
    const d = this.db(db);
    const refs: number[] = [];
    let maxBuckets = count * 10;
    let c = cursor >>> 0;
    do {
      c = d.dict.scanStep(c, refs);
    } while (c !== 0 && --maxBuckets > 0 && refs.length < count);
    for (const ref of refs) {
      const meta = this.metaOf(ref);
      if ((meta & META_HAS_EXPIRE) !== 0 && this.expireOf(ref) <= this.clock()) continue;
      visit(this.keyView(ref), this.typeName(ref));
    }
    return c;
  }

  forEachKey(db: number, visit: (key: Uint8Array, type: ValueType) => void): void {
    const now = this.clock();
    this.db(db).dict.forEach((ref) => {
      const meta = this.metaOf(ref);
      if ((meta & META_HAS_EXPIRE) !== 0 && this.expireOf(ref) <= now) return;
      visit(this.keyView(ref), this.typeName(ref));
    });
  }

  randomKey(db: number): Buffer | null {
    const d = this.db(db);
    for (let tries = 0; tries < 100 || this.expireDeletes; tries++) {
      const ref = d.dict.randomRef();
      if (ref === 0) return null;
      if ((this.metaOf(ref) & META_HAS_EXPIRE) !== 0 && this.expireOf(ref) <= this.clock()) {
        if (this.expireDeletes) { this.expireRecord(d, db, ref); continue; }
        if (d.expires.length < d.dict.used) continue;
      }
      return Buffer.from(this.keyView(ref));
    }
    return null;
  }

  /**
   * Redis's active expiry, slow cycle: per db, sample 20 keys that have a TTL, delete the expired
   * ones, and sample again while more than 10 % of a sample had expired. Stops when the time
   * budget is used (checked every 16 samples), so it never takes more than a slice of the thread.
   */
  activeExpireCycle(budgetMs: number): number {
    if (!this.expireDeletes) return 0;
    const deadline = performance.now() + budgetMs;
    let expired = 0;
    let iterations = 0;
    for (let i = 0; i < this.databases; i++) {
      const d = this.dbs[i];
      while (d.expires.length > 0) {
        const sample = Math.min(20, d.expires.length);
        let hit = 0;
        for (let k = 0; k < sample && d.expires.length > 0; k++) {
          const ref = d.expires[Math.floor(Math.random() * d.expires.length)];
          if (this.expireOf(ref) <= this.clock()) { this.expireRecord(d, i, ref); hit++; expired++; }
        }
        if ((++iterations & 15) === 0 && performance.now() > deadline) return expired;
        if (hit * 10 <= sample) break;
      }
    }
    return expired;
  }

  /** Cron work (activerehashing): incremental rehash (~1 ms per db that needs it), shrinking sparse tables. */
  cron(rehashMs: number): void {
    for (const d of this.dbs) {
      d.dict.maybeShrink();
      if (d.dict.isRehashing) d.dict.rehashFor(rehashMs);
    }
  }

  /**
   * Lazy free from the cron: frees elements of deleted collections for about `ms` milliseconds
   * (batches of 1024, the clock read between them). Redis hands the object to a background
   * thread; here the main thread pays ~1 ms per tick (≈20k elements), so a 1M-element DEL
   * returns at once and its memory comes back over a few seconds.
   */
  lazyFreeFor(ms: number): void {
    if (this.zombies.length === 0 || this.barrier.active) return;
    const end = performance.now() + ms;
    do this.lazyFree(LAZYFREE_BATCH); while (this.zombies.length > 0 && performance.now() < end);
  }

  /** Frees up to `budget` elements of deleted collections (whole hash chains: may overshoot a little); returns how many. */
  lazyFree(budget: number): number {
    let freed = 0;
    while (freed < budget && this.zombieHead < this.zombies.length) {
      const c = this.zombies[this.zombieHead];
      const n = c.freeSome(budget - freed);
      freed += n;
      // n === 0 with elements left would mean an index that lost track of records: never spin on it.
      if (c.count === 0 || n === 0) {
        this.zombieHead++;
        this.lazyfreedObjects++;
      }
    }
    if (this.zombieHead === this.zombies.length) { this.zombies.length = 0; this.zombieHead = 0; }
    return freed;
  }

  /** Deleted collections not yet freed, and those freed so far (INFO lazyfree_pending_objects / lazyfreed_objects). */
  get lazyfreePendingObjects(): number { return this.zombies.length - this.zombieHead; }
  lazyfreedObjects = 0;

  /** Elements of deleted collections not yet freed. */
  get lazyfreePending(): number {
    let left = 0;
    for (let i = this.zombieHead; i < this.zombies.length; i++) left += this.zombies[i].count;
    return left;
  }

  memoryStats(): MemoryStats {
    let indexBytes = 0;
    for (const d of this.dbs) indexBytes += d.dict.indexBytes + d.expires.length * 8;
    for (const c of this.colls.values()) indexBytes += c.indexBytes + (c.aux !== null && this.auxBytes !== null ? this.auxBytes(c) : 0);
    const a = this.arena;
    const arenaBytes = a.pageCount * a.pageSize;
    const usedMemory = this.slotBytes + this.largeBytes + indexBytes;
    return {
      usedMemory,
      datasetBytes: this.liveRecordBytes,
      arenaBytes,
      indexBytes,
      cowBytes: this.barrier.copyBytesInUse,
      pageSize: a.pageSize,
      pages: a.pageCount,
      freePages: a.freePages,
      fragmentationRatio: usedMemory > 0 ? (arenaBytes + indexBytes) / usedMemory : 1,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots
  // ---------------------------------------------------------------------------------------------

  /** Logical db numbering and RESIZEDB hints as of now (what a snapshot records at its start). */
  private dbMap(): Omit<SnapshotJob, 'shared'> {
    const logicalDb: number[] = new Array<number>(this.databases);
    const dbSizes: number[] = [];
    const expiresSizes: number[] = [];
    let keys = 0;
    for (let i = 0; i < this.databases; i++) {
      logicalDb[this.dbs[i].phys] = i;
      dbSizes.push(this.dbs[i].dict.used);
      expiresSizes.push(this.dbs[i].expires.length);
      keys += this.dbs[i].dict.used;
    }
    const collections: SnapshotCollection[] = [];
    for (const c of this.colls.values()) collections.push({ id: c.id, kind: c.kind, count: c.count });
    return { logicalDb, dbSizes, expiresSizes, keys, collections, elementDomain: this.databases };
  }

  /** Starts a copy-on-write epoch and describes it for the snapshot worker. */
  beginSnapshot(opts?: BeginOptions): SnapshotJob {
    if (this.barrier.active) throw new StoreError('ESNAPSHOT', 'a snapshot is already running');
    const map = this.dbMap();
    return { shared: this.barrier.begin(opts), ...map };
  }

  endSnapshot(): void { this.barrier.end(); }

  /**
   * The same view a snapshot worker gets, but without an epoch: for SAVE on the main thread, where
   * nothing writes while the serializer runs (every page starts PENDING and is read once).
   */
  quiescentView(): SnapshotJob {
    return { shared: this.barrier.quiescentView(), ...this.dbMap() };
  }
}

export function createKeyspace(opts?: KeyspaceOptions): SharedKeyspace {
  return new SharedKeyspace(opts);
}
