/**
 * Large collections: hashes, sets and sorted sets past their compact-encoding thresholds, and
 * lists longer than one node, stored as one record per element (per listpack node for lists) in
 * the shared-memory pages, so the copy-on-write barrier protects them exactly like string keys.
 *
 * DESIGN
 *  - The key's own record (type VT_LARGE) holds only the collection id; the elements live in the
 *    "element domain": slab pages whose header names a pseudo-database (ELEMENT_DOMAIN = the
 *    number of databases). An element record is laid out like any record (layout.ts): key =
 *    field/member, value = u32 collection id + payload. The id inside every element lets the
 *    snapshot serializer, which sees pages and nothing else, put each element back under its key.
 *  - Keyed kinds index their elements with a per-collection Dict (dict.ts: incremental rehash, the
 *    reverse-binary SCAN cursor, random sampling) whose chains run through the element records'
 *    `next` field: O(1) HGET/SISMEMBER/ZSCORE with one 4-byte bucket per element.
 *  - Lists store listpack nodes; their order is the type layer's business (aux), but every node
 *    carries a float label increasing from head to tail so a snapshot can restore the order.
 *  - Deleting a collection (DEL, overwrite, expiry, FLUSHDB) unlinks the key at once; up to 1024
 *    elements are freed right away, bigger collections in 0.5 ms slices on timers (Redis's
 *    lazyfree role; keyspace.ts dropLarge, engine.ts lazyFreeSoon), so a 1M-element DEL does not
 *    stall the thread. A snapshot that began before the delete still sees every element: freeing
 *    waits while a snapshot runs, and pages are freed through the barrier like any write.
 */
import { Dict } from './dict.js';
import { hashBytes } from './hash.js';
import {
  META_HAS_EXPIRE, REF_OFFSET_MASK, REF_SEGMENT_SHIFT, R_KLEN, R_META, R_NEXT, R_VLEN, keyOffset, valueOffset,
} from './layout.js';
import type { CollectionKind, LargeCollection } from './api.js';

/** What a collection needs from the keyspace's allocator (implemented in keyspace.ts). */
export interface ElementStore {
  readonly u32: Uint32Array[];
  readonly u8: Uint8Array[];
  /** Allocates and writes an element record (through the barrier); returns its ref. */
  writeElement(hash: number, field: Uint8Array, id: number, payload: Uint8Array, prefix: Float64Array | null): number;
  /** Rewrites the payload in place when it fits the slot; returns false when it does not. */
  rewritePayload(ref: number, payload: Uint8Array, prefix: Float64Array | null): boolean;
  freeElement(ref: number): void;
  /** Overwrites the 8-byte prefix (a list node's label) in place, through the barrier. */
  setPrefix(ref: number, prefix: Float64Array): void;
}

const EMPTY = new Uint8Array(0);
const LABEL = new Float64Array(1);

export class Collection implements LargeCollection {
  elements = 0;
  aux: unknown = null;
  /** Keyed kinds: the element index. Lists: null. */
  readonly dict: Dict | null;
  /** Lists: node records (unordered bookkeeping for count/free; order is the type layer's). */
  private readonly nodes: Set<number> | null;

  constructor(readonly id: number, readonly kind: CollectionKind, private readonly store: ElementStore) {
    if (kind === 'list') {
      this.dict = null;
      this.nodes = new Set();
    } else {
      this.dict = new Dict(store);
      this.nodes = null;
    }
  }

  get count(): number { return this.dict !== null ? this.dict.used : this.nodes!.size; }

  private w(ref: number): number { return (ref & REF_OFFSET_MASK) << 1; }

  /** Byte offset (in its segment) and length of the value (id + payload). */
  private valueAt(ref: number): [Uint8Array, number, number] {
    const seg = ref >>> REF_SEGMENT_SHIFT;
    const u32 = this.store.u32[seg];
    const w = this.w(ref);
    const klen = u32[w + R_KLEN];
    const vlen = u32[w + R_VLEN];
    const off = ((ref & REF_OFFSET_MASK) << 3) + valueOffset((u32[w + R_META] & META_HAS_EXPIRE) !== 0, klen, vlen);
    return [this.store.u8[seg], off, vlen];
  }

  find(field: Uint8Array): number {
    return this.dict!.find(field, hashBytes(field, 0, field.length));
  }

  field(ref: number): Uint8Array {
    const seg = ref >>> REF_SEGMENT_SHIFT;
    const u32 = this.store.u32[seg];
    const w = this.w(ref);
    const klen = u32[w + R_KLEN];
    const off = ((ref & REF_OFFSET_MASK) << 3) + keyOffset(false, klen);
    return this.store.u8[seg].subarray(off, off + klen);
  }

  payload(ref: number): Uint8Array {
    const [u8, off, vlen] = this.valueAt(ref);
    return u8.subarray(off + 4, off + vlen);
  }

  insert(field: Uint8Array, payload: Uint8Array): number {
    const hash = hashBytes(field, 0, field.length);
    const ref = this.store.writeElement(hash, field, this.id, payload, null);
    this.dict!.insert(ref, hash);
    return ref;
  }

  /**
   * New payload for an element. In place when it fits; otherwise a new record takes the old one's
   * chain position. Why the field is copied first: it is a view into the old record, which the
   * allocation for the new one may move past (segment growth rebuilds the views).
   */
  setPayload(ref: number, payload: Uint8Array): number {
    if (this.store.rewritePayload(ref, payload, null)) return ref;
    const field = Buffer.from(this.field(ref));
    const hash = this.dict!.hashOf(ref);
    const fresh = this.store.writeElement(hash, field, this.id, payload, null);
    this.dict!.replace(ref, fresh);
    this.store.freeElement(ref);
    return fresh;
  }

  remove(ref: number): void {
    const d = this.dict!;
    d.remove(ref);
    this.store.freeElement(ref);
    // Shrink here rather than from the cron (Redis shrinks collection tables on delete too): the
    // cron would have to visit every collection.
    if ((d.used & 63) === 0) d.maybeShrink();
  }

  /** Visits every element (keyed kinds: in bucket order; lists: node records, copied first so a visitor may drop nodes). */
  forEach(visit: (ref: number) => void): void {
    if (this.dict !== null) this.dict.forEach(visit);
    else for (const ref of [...this.nodes!]) visit(ref);
  }

  scanStep(cursor: number, out: number[]): number { return this.dict!.scanStep(cursor, out); }

  randomRef(): number { return this.dict!.randomRef(); }

  get indexBytes(): number { return this.dict !== null ? this.dict.indexBytes : this.nodes!.size * 8; }

  // -- lists --------------------------------------------------------------------------------------

  insertNode(label: number, listpack: Uint8Array): number {
    LABEL[0] = label;
    const ref = this.store.writeElement(0, EMPTY, this.id, listpack, LABEL);
    this.nodes!.add(ref);
    return ref;
  }

  nodeLabel(ref: number): number {
    const [u8, off] = this.valueAt(ref);
    return new DataView(u8.buffer, u8.byteOffset + off + 4, 8).getFloat64(0, true);
  }

  nodeListpack(ref: number): Uint8Array {
    const [u8, off, vlen] = this.valueAt(ref);
    return u8.subarray(off + 12, off + vlen);
  }

  replaceNode(ref: number, label: number, listpack: Uint8Array): number {
    LABEL[0] = label;
    if (this.store.rewritePayload(ref, listpack, LABEL)) return ref;
    const fresh = this.store.writeElement(0, EMPTY, this.id, listpack, LABEL);
    this.nodes!.delete(ref);
    this.nodes!.add(fresh);
    this.store.freeElement(ref);
    return fresh;
  }

  /** Changes a node's label in place (8 bytes; the listpack is not rewritten). */
  setNodeLabel(ref: number, label: number): void {
    LABEL[0] = label;
    this.store.setPrefix(ref, LABEL);
  }

  removeNode(ref: number): void {
    this.nodes!.delete(ref);
    this.store.freeElement(ref);
  }

  /**
   * Lazy free: frees up to `budget` element records of a collection already unlinked from the
   * keyspace; returns how many it freed. Walks the index bucket by bucket (a cursor kept here), so
   * a huge collection is released over many cron passes and no pass scans it whole. Records are
   * freed straight out of their chains: the index dies with the collection.
   */
  freeSome(budget: number): number {
    let freed = 0;
    if (this.nodes !== null) {
      for (const ref of this.nodes) {
        if (freed >= budget) break;
        this.nodes.delete(ref);
        this.store.freeElement(ref);
        freed++;
      }
      return freed;
    }
    const d = this.dict!;
    const tables = d.t1 !== null ? [d.t0, d.t1] : [d.t0];
    while (freed < budget && this.freeTable < tables.length) {
      const t = tables[this.freeTable];
      if (this.freeBucket >= t.length) { this.freeTable++; this.freeBucket = 0; continue; }
      let ref = t[this.freeBucket];
      t[this.freeBucket] = 0;
      this.freeBucket++;
      while (ref !== 0) {
        const next = this.store.u32[ref >>> REF_SEGMENT_SHIFT][this.w(ref) + R_NEXT];
        this.store.freeElement(ref);
        d.used--;
        freed++;
        ref = next;
      }
    }
    return freed;
  }

  private freeTable = 0;
  private freeBucket = 0;
}
