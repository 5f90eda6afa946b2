/**
 * Lists: Redis 7.0's quicklist (a doubly linked list of listpack nodes) over the Keyspace API.
 * `OBJECT ENCODING` is always "quicklist" in 7.0; what we choose is only how the nodes are stored.
 *
 * DESIGN
 *  - A list that is one node is one record: VT_LIST_LISTPACK, blob = that node's listpack (the RDB
 *    writer emits it as a one-node quicklist). A list of more nodes is a LargeCollection of kind
 *    'list' whose element records are the listpack nodes. A list never goes back to one record
 *    while it lives (cheap to keep, and avoids thrashing at the boundary); it is deleted when empty.
 *  - Node order of a large list lives in `aux` (NodeIndex: parallel arrays of node refs, entry
 *    counts, listpack sizes and labels, head → tail), rebuilt from the labels when a collection
 *    arrives without one (COPY, RDB load). Labels are floats increasing head → tail (the snapshot
 *    sorts nodes by label): a new head node gets first-1, a tail node last+1, a node split into the
 *    middle the midpoint; when a midpoint is no longer strictly between its neighbours every node
 *    is relabelled 0, 1, 2 … (rare: it needs ~50 splits at the same place).
 *  - Node sizes follow Redis 7.0's quicklist rules (list-max-listpack-size `fill`): a node accepts
 *    one more element of `sz` bytes when its listpack size plus `sz` plus the estimated entry
 *    overhead stays within the byte limit of a negative fill (-1..-5 = 4..64 KiB), or, for a
 *    positive fill, when that estimate is within the 8 KiB safety limit and the node holds fewer
 *    than `fill` entries. Pushes fill the end node and start a new one when it refuses; LINSERT
 *    inserts into the node, spills to the neighbour at a node boundary, or splits the node.
 *    (Elements of 1 GiB and more, which Redis stores as "plain" nodes, cannot exist here:
 *    proto-max-bulk-len caps arguments at 512 MiB by default.)
 *  - End operations touch one node: pushes append or prepend encoded entries to the node's bytes
 *    (no decode), pops cut entries off its front or back. Only operations in the middle decode a
 *    node. LPUSH/RPUSH/LPOP/RPOP are O(1) per element (amortized over a node), LINDEX O(nodes).
 *  - A ListHandle is opened per command on one key. It defers deleting an emptied list to
 *    commit(): LMOVE of a one-element list onto itself pops and pushes the same key, and the key
 *    (with its TTL) must survive, as in Redis.
 */
import {
  KEEP_TTL, NO_EXPIRE, VT_LARGE, VT_LIST_LISTPACK, type Keyspace, type LargeCollection, type StoredValue,
} from '../keyspace/api.js';
import { Errors } from '../errors.js';
import { lpDecode, lpEncode } from './listpack.js';

/** Redis's default list-max-listpack-size. */
export const DEFAULT_LIST_FILL = -2;
const SIZE_SAFETY_LIMIT = 8192;
const OPTIMIZATION_LEVEL = [4096, 8192, 16384, 32768, 65536] as const;
const FILL_MAX = 32767;
/** Bytes of an empty listpack (header + terminator). */
const LP_EMPTY = 7;

/** quicklistSetFill's clamp: fills below -5 act as -5, above 2^15-1 as 2^15-1. */
export function clampFill(fill: number): number {
  return fill > FILL_MAX ? FILL_MAX : fill < -5 ? -5 : fill;
}

/**
 * Whether a node of `nodeBytes` (listpack size) holding `count` entries takes one more element of
 * `sz` bytes (Redis 7.0's rule, see DESIGN; the overhead estimate is the ziplist-era one 7.0 kept).
 */
export function nodeAllowsInsert(nodeBytes: number, count: number, fill: number, sz: number, cap = Infinity): boolean {
  let overhead = sz < 254 ? 1 : 5;
  overhead += sz < 64 ? 1 : sz < 16384 ? 2 : 5;
  const newSz = nodeBytes + sz + overhead;
  // The store's page fit (Keyspace.listNodeCap): a node one page-rounding past it costs a page.
  if (newSz > cap && count > 0) return false;
  if (fill < 0 && newSz <= OPTIMIZATION_LEVEL[-fill - 1]!) return true;
  if (newSz > SIZE_SAFETY_LIMIT) return false;
  return count < fill;
}

// ---- raw listpack entries ---------------------------------------------------------------------

function backlenSize(l: number): number {
  return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

/** Bytes of the encoding + data of the entry at p. */
function encLen(lp: Uint8Array, p: number): number {
  const b = lp[p]!;
  if (b < 0x80) return 1;
  if ((b & 0xc0) === 0x80) return 1 + (b & 0x3f);
  if ((b & 0xe0) === 0xc0) return 2;
  if ((b & 0xf0) === 0xe0) return 2 + (((b & 0x0f) << 8) | lp[p + 1]!);
  switch (b) {
    case 0xf0: return 5 + ((lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24)) >>> 0);
    case 0xf1: return 3;
    case 0xf2: return 4;
    case 0xf3: return 5;
    case 0xf4: return 9;
    default: throw new RangeError(`listpack: invalid entry encoding 0x${b.toString(16)} at ${p}`);
  }
}

function nextEntry(lp: Uint8Array, p: number): number {
  const l = encLen(lp, p);
  return p + l + backlenSize(l);
}

/** Start of the entry before position p (p = an entry start or the terminator). */
function prevEntry(lp: Uint8Array, p: number): number {
  let q = p - 1;
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = lp[q]!;
    v += (b & 127) * mul;
    if ((b & 128) === 0) break;
    mul *= 128;
    q--;
  }
  return q - v;
}

/** The entry at p as bytes (a fresh Buffer; integers as their decimal text). */
function entryAt(lp: Uint8Array, p: number): Buffer {
  const b = lp[p]!;
  if (b < 0x80) return Buffer.from(String(b), 'latin1');
  if ((b & 0xc0) === 0x80) return Buffer.from(lp.subarray(p + 1, p + 1 + (b & 0x3f)));
  if ((b & 0xe0) === 0xc0) {
    const u = ((b & 0x1f) << 8) | lp[p + 1]!;
    return Buffer.from(String(u >= 4096 ? u - 8192 : u), 'latin1');
  }
  if ((b & 0xf0) === 0xe0) return Buffer.from(lp.subarray(p + 2, p + 2 + (((b & 0x0f) << 8) | lp[p + 1]!)));
  const dv = new DataView(lp.buffer, lp.byteOffset, lp.byteLength);
  switch (b) {
    case 0xf0: return Buffer.from(lp.subarray(p + 5, p + 5 + dv.getUint32(p + 1, true)));
    case 0xf1: return Buffer.from(String(dv.getInt16(p + 1, true)), 'latin1');
    case 0xf2: return Buffer.from(String((lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16)) << 8 >> 8), 'latin1');
    case 0xf3: return Buffer.from(String(dv.getInt32(p + 1, true)), 'latin1');
    case 0xf4: return Buffer.from(dv.getBigInt64(p + 1, true).toString(), 'latin1');
    default: throw new RangeError(`listpack: invalid entry encoding 0x${b.toString(16)} at ${p}`);
  }
}

/** The encoded entries (with backlens) of `elems`, concatenated, without listpack header/terminator. */
function encodeEntries(elems: readonly Uint8Array[]): Buffer {
  const lp = lpEncode(elems);
  return lp.subarray(6, lp.length - 1);
}

/** Bytes one element adds to a listpack. */
function entryBytes(e: Uint8Array): number {
  return lpEncode([e]).length - LP_EMPTY;
}

/** A listpack of `lp` with bytes [from, to) replaced by `insert` and `count` entries in all. */
function lpSplice(lp: Uint8Array, from: number, to: number, insert: Uint8Array | null, count: number): Buffer {
  const ins = insert === null ? 0 : insert.length;
  const total = lp.length - (to - from) + ins;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32LE(total, 0);
  out.writeUInt16LE(count < 65535 ? count : 65535, 4);
  out.set(lp.subarray(6, from), 6);
  if (insert !== null) out.set(insert, from);
  out.set(lp.subarray(to), from + ins);
  return out;
}

// ---- node index ---------------------------------------------------------------------------------

/** A large list's node order (the collection's `aux`); see DESIGN. */
/** One node as the index keeps it: its record, element count, listpack bytes and order label. */
export interface NodeEntry { ref: number; count: number; bytes: number; label: number }

/**
 * The node order of a large list (main-thread only; `aux` of the collection).
 * Why a deque: pushes and pops at either end add or drop end nodes constantly, and an array
 * spliced at its front costs O(nodes) per head operation (a 1M-node queue would spend its time
 * moving the array). Entries live in `items` from `head` on; the front has slack that is refilled
 * by doubling, so both ends are amortized O(1). Middle inserts/removes (LINSERT, LREM, LTRIM
 * ranges) splice, O(nodes) like Redis's walk to the node.
 */
export class NodeIndex {
  private items: Array<NodeEntry | undefined> = [];
  private head = 0;

  get length(): number { return this.items.length - this.head; }
  at(i: number): NodeEntry { return this.items[this.head + i]!; }

  insert(i: number, e: NodeEntry): void {
    const n = this.length;
    if (i === n) { this.items.push(e); return; }
    if (i === 0) {
      if (this.head === 0) {
        const slack = Math.max(8, n);
        const grown = new Array<NodeEntry | undefined>(slack + n);
        for (let k = 0; k < n; k++) grown[slack + k] = this.items[k];
        this.items = grown;
        this.head = slack;
      }
      this.items[--this.head] = e;
      return;
    }
    this.items.splice(this.head + i, 0, e);
  }

  /** Removes entries [i, i + k). */
  remove(i: number, k = 1): void {
    const n = this.length;
    if (i === 0) {
      for (let j = 0; j < k; j++) this.items[this.head + j] = undefined;
      this.head += k;
      if (this.head === this.items.length) { this.items = []; this.head = 0; }
      else if (this.head > 1024 && this.head > n) { this.items = this.items.slice(this.head); this.head = 0; }
      return;
    }
    if (i + k === n) { this.items.length -= k; return; }
    this.items.splice(this.head + i, k);
  }

  /** Entries head to tail. */
  entries(): NodeEntry[] { return this.items.slice(this.head) as NodeEntry[]; }

  /** Rebuilds the order from the node labels (a collection that arrived without an index). */
  static build(coll: LargeCollection): NodeIndex {
    const nodes: Array<[number, number]> = [];
    coll.forEach((ref) => nodes.push([coll.nodeLabel(ref), ref]));
    nodes.sort((a, b) => a[0] - b[0]);
    const ix = new NodeIndex();
    for (const [label, ref] of nodes) {
      const lp = coll.nodeListpack(ref);
      ix.insert(ix.length, { ref, count: lpCountOf(lp), bytes: lp.length, label });
    }
    return ix;
  }
}

function lpCountOf(lp: Uint8Array): number {
  const n = lp[4]! | (lp[5]! << 8);
  if (n !== 0xffff) return n;
  let c = 0;
  for (let p = 6; lp[p] !== 0xff; p = nextEntry(lp, p)) c++;
  return c;
}

function indexOf(coll: LargeCollection): NodeIndex {
  let ix = coll.aux;
  if (!(ix instanceof NodeIndex)) {
    ix = NodeIndex.build(coll);
    coll.aux = ix;
  }
  return ix as NodeIndex;
}

// ---- the handle -----------------------------------------------------------------------------------

/**
 * One list key opened for one command: node-level access over either stored form, upgrading a
 * one-record list to a large collection when a second node appears. See DESIGN.
 */
export class ListHandle {
  private coll: LargeCollection | null = null;
  private ix: NodeIndex | null = null;
  /** One-record form: the node (a view until we write it), or null when the list has no node. */
  private small: Uint8Array | null = null;
  private smallCount = 0;
  /** The record exists in the keyspace (so an emptied list must be deleted at commit). */
  private stored: boolean;
  length: number;
  /** Largest node the store packs without wasting a page (see nodeAllowsInsert). */
  readonly cap: number;

  constructor(private readonly ks: Keyspace, private readonly db: number, private readonly key: Uint8Array,
    sv: StoredValue | null, readonly fill: number) {
    const limit = fill < 0 ? OPTIMIZATION_LEVEL[-fill - 1]! : SIZE_SAFETY_LIMIT;
    this.cap = ks.listNodeCap !== undefined ? ks.listNodeCap(limit) : Infinity;
    this.stored = sv !== null;
    if (sv === null) {
      this.length = 0;
    } else if (sv.vt === VT_LIST_LISTPACK) {
      this.small = sv.blob;
      this.smallCount = lpCountOf(sv.blob);
      this.length = this.smallCount;
    } else {
      this.coll = sv.large!;
      this.ix = indexOf(this.coll);
      this.length = this.coll.elements;
    }
  }

  get nodes(): number {
    return this.ix !== null ? this.ix.length : this.small !== null ? 1 : 0;
  }

  count(i: number): number {
    return this.ix !== null ? this.ix.at(i).count : this.smallCount;
  }

  size(i: number): number {
    return this.ix !== null ? this.ix.at(i).bytes : this.small!.length;
  }

  /** Node i's listpack: a view, valid until the next write. */
  lp(i: number): Uint8Array {
    return this.ix !== null ? this.coll!.nodeListpack(this.ix.at(i).ref) : this.small!;
  }

  /** Rewrites node i (count > 0). */
  setNode(i: number, lp: Buffer, count: number): void {
    this.length += count - this.count(i);
    if (this.ix === null) {
      this.ks.putBlob(this.db, this.key, VT_LIST_LISTPACK, lp, KEEP_TTL);
      this.stored = true;
      this.small = lp;
      this.smallCount = count;
      return;
    }
    const e = this.ix.at(i);
    e.ref = this.coll!.replaceNode(e.ref, e.label, lp);
    e.count = count;
    e.bytes = lp.length;
    this.coll!.elements = this.length;
  }

  /** Inserts a new node before position i (i = nodes appends). */
  addNode(i: number, lp: Buffer, count: number): void {
    if (this.ix === null) {
      if (this.small === null) {
        this.ks.putBlob(this.db, this.key, VT_LIST_LISTPACK, lp, KEEP_TTL);
        this.stored = true;
        this.small = lp;
        this.smallCount = count;
        this.length = count;
        return;
      }
      this.upgrade();
    }
    const ix = this.ix!;
    const n = ix.length;
    let label: number;
    if (n === 0) label = 0;
    else if (i === 0) label = ix.at(0).label - 1;
    else if (i === n) label = ix.at(n - 1).label + 1;
    else {
      const a = ix.at(i - 1).label, b = ix.at(i).label;
      label = a + (b - a) / 2;
      if (!(label > a && label < b)) {
        this.relabel();
        label = i - 0.5;
      }
    }
    const ref = this.coll!.insertNode(label, lp);
    ix.insert(i, { ref, count, bytes: lp.length, label });
    this.length += count;
    this.coll!.elements = this.length;
  }

  /** Removes node i. An emptied list is deleted at commit(). */
  dropNode(i: number): void {
    this.length -= this.count(i);
    if (this.ix === null) {
      this.small = null;
      this.smallCount = 0;
      return;
    }
    this.coll!.removeNode(this.ix.at(i).ref);
    this.ix.remove(i);
    this.coll!.elements = this.length;
  }

  /** Deletes the key when the command left the list empty. */
  commit(): void {
    if (this.length === 0 && this.stored) {
      this.ks.del(this.db, this.key);
      this.stored = false;
      this.small = null;
      this.coll = null;
      this.ix = null;
    }
  }

  /** One record → large collection holding that record's node (TTL kept). */
  private upgrade(): void {
    const node = Buffer.from(this.small!);
    const count = this.smallCount;
    this.coll = this.ks.createLarge(this.db, this.key, 'list', KEEP_TTL);
    this.stored = true;
    this.ix = new NodeIndex();
    this.coll.aux = this.ix;
    this.small = null;
    this.smallCount = 0;
    const ref = this.coll.insertNode(0, node);
    this.ix.insert(0, { ref, count, bytes: node.length, label: 0 });
    this.coll.elements = this.length;
  }

  /**
   * Renumbers every node 0, 1, 2 … when repeated middle splits have used up the float gap between
   * two neighbours (~50 halvings). Labels only order nodes for snapshots, so each is rewritten in
   * place (8 bytes through the barrier), not the node's listpack.
   */
  private relabel(): void {
    const ix = this.ix!;
    for (let k = 0; k < ix.length; k++) {
      const e = ix.at(k);
      this.coll!.setNodeLabel(e.ref, k);
      e.label = k;
    }
  }
}

/** Opens a list key: null when missing, WRONGTYPE for another type. */
export function openList(ks: Keyspace, db: number, key: Uint8Array, fill: number): ListHandle | null {
  const sv = ks.lookupValue(db, key);
  if (sv === null) return null;
  checkList(sv);
  return new ListHandle(ks, db, key, sv, clampFill(fill));
}

/** Opens a list key for writing, creating an empty handle when the key is missing. */
export function openOrCreateList(ks: Keyspace, db: number, key: Uint8Array, fill: number): ListHandle {
  const sv = ks.lookupValue(db, key);
  if (sv !== null) checkList(sv);
  return new ListHandle(ks, db, key, sv, clampFill(fill));
}

export function checkList(sv: StoredValue): void {
  if (sv.vt !== VT_LIST_LISTPACK && !(sv.vt === VT_LARGE && sv.large!.kind === 'list')) throw Errors.wrongType();
}

export function isList(sv: StoredValue): boolean {
  return sv.vt === VT_LIST_LISTPACK || (sv.vt === VT_LARGE && sv.large!.kind === 'list');
}

// ---- operations ---------------------------------------------------------------------------------

/**
 * Pushes elements one by one at the head (LPUSH a b c leaves c b a) or tail. Why the grouping:
 * each element is offered to the end node under the quicklist rule; the ones it takes are
 * spliced into its bytes in one write, and each refusal starts a new end node.
 */
export function pushElements(h: ListHandle, elems: readonly Uint8Array[], head: boolean): void {
  let i = 0;
  if (h.nodes > 0) {
    const at = head ? 0 : h.nodes - 1;
    let bytes = h.size(at);
    let count = h.count(at);
    const taken: Uint8Array[] = [];
    while (i < elems.length && nodeAllowsInsert(bytes, count, h.fill, elems[i]!.length, h.cap)) {
      bytes += entryBytes(elems[i]!);
      count++;
      taken.push(elems[i]!);
      i++;
    }
    if (taken.length > 0) {
      const lp = h.lp(at);
      if (head) taken.reverse();
      const ins = encodeEntries(taken);
      const pos = head ? 6 : lp.length - 1;
      h.setNode(at, lpSplice(lp, pos, pos, ins, count), count);
    }
  }
  while (i < elems.length) {
    // A new end node: it always takes its first element, then what the rule allows.
    const group: Uint8Array[] = [elems[i]!];
    let bytes = LP_EMPTY + entryBytes(elems[i]!);
    i++;
    while (i < elems.length && nodeAllowsInsert(bytes, group.length, h.fill, elems[i]!.length, h.cap)) {
      bytes += entryBytes(elems[i]!);
      group.push(elems[i]!);
      i++;
    }
    if (head) group.reverse();
    h.addNode(head ? 0 : h.nodes, lpEncode(group), group.length);
  }
}

/** Pops up to n elements from the head or tail; returns them in pop order. */
export function popElements(h: ListHandle, n: number, head: boolean): Buffer[] {
  const out: Buffer[] = [];
  while (out.length < n && h.nodes > 0) {
    const at = head ? 0 : h.nodes - 1;
    const cnt = h.count(at);
    const want = n - out.length;
    const lp = h.lp(at);
    if (want >= cnt) {
      if (head) for (let p = 6; lp[p] !== 0xff; p = nextEntry(lp, p)) out.push(entryAt(lp, p));
      else for (let p = prevEntry(lp, lp.length - 1); p >= 6; p = p === 6 ? 5 : prevEntry(lp, p)) out.push(entryAt(lp, p));
      h.dropNode(at);
      continue;
    }
    if (head) {
      let p = 6;
      for (let k = 0; k < want; k++) { out.push(entryAt(lp, p)); p = nextEntry(lp, p); }
      h.setNode(at, lpSplice(lp, 6, p, null, cnt - want), cnt - want);
    } else {
      let p = lp.length - 1;
      for (let k = 0; k < want; k++) { p = prevEntry(lp, p); out.push(entryAt(lp, p)); }
      h.setNode(at, lpSplice(lp, p, lp.length - 1, null, cnt - want), cnt - want);
    }
  }
  return out;
}

/** Node and offset of element `index` (0 ≤ index < length), walking from the nearer end. */
export function locate(h: ListHandle, index: number): [number, number] {
  if (index < h.length / 2) {
    let i = 0;
    let rest = index;
    while (rest >= h.count(i)) { rest -= h.count(i); i++; }
    return [i, rest];
  }
  let i = h.nodes - 1;
  let rest = h.length - 1 - index; // from the tail
  while (rest >= h.count(i)) { rest -= h.count(i); i--; }
  return [i, h.count(i) - 1 - rest];
}

/** Start of the `off`-th entry of a listpack. */
function entryPos(lp: Uint8Array, off: number, count: number): number {
  if (off <= count / 2) {
    let p = 6;
    for (let k = 0; k < off; k++) p = nextEntry(lp, p);
    return p;
  }
  let p = lp.length - 1;
  for (let k = count; k > off; k--) p = prevEntry(lp, p);
  return p;
}

/** The element at a normalized index (0 ≤ index < length). */
export function elementAt(h: ListHandle, index: number): Buffer {
  const [i, off] = locate(h, index);
  const lp = h.lp(i);
  return entryAt(lp, entryPos(lp, off, h.count(i)));
}

/** Replaces the element at a normalized index. */
export function setElement(h: ListHandle, index: number, value: Uint8Array): void {
  const [i, off] = locate(h, index);
  const lp = h.lp(i);
  const cnt = h.count(i);
  const p = entryPos(lp, off, cnt);
  h.setNode(i, lpSplice(lp, p, nextEntry(lp, p), encodeEntries([value]), cnt), cnt);
}

/** Elements [start, end] (normalized, start ≤ end < length), head → tail or reversed. */
export function rangeElements(h: ListHandle, start: number, end: number, reverse = false): Buffer[] {
  const out: Buffer[] = [];
  let [i, off] = locate(h, start);
  let left = end - start + 1;
  while (left > 0) {
    const lp = h.lp(i);
    const cnt = h.count(i);
    let p = entryPos(lp, off, cnt);
    for (let k = off; k < cnt && left > 0; k++, left--) {
      out.push(entryAt(lp, p));
      p = nextEntry(lp, p);
    }
    i++;
    off = 0;
  }
  if (reverse) out.reverse();
  return out;
}

/**
 * Visits elements from the head (or the tail) with their index until `visit` returns false.
 * Decodes one node at a time.
 */
export function scanElements(h: ListHandle, fromTail: boolean, visit: (v: Buffer, index: number) => boolean): void {
  if (!fromTail) {
    let index = 0;
    for (let i = 0; i < h.nodes; i++) {
      const lp = h.lp(i);
      for (let p = 6; lp[p] !== 0xff; p = nextEntry(lp, p)) if (!visit(entryAt(lp, p), index++)) return;
    }
    return;
  }
  let index = h.length - 1;
  for (let i = h.nodes - 1; i >= 0; i--) {
    const lp = h.lp(i);
    for (let p = lp.length - 1; p > 6;) {
      p = prevEntry(lp, p);
      if (!visit(entryAt(lp, p), index--)) return;
    }
  }
}

/** Removes `n` elements starting at normalized index `start`. */
export function deleteRange(h: ListHandle, start: number, n: number): void {
  if (n <= 0) return;
  let [i, off] = locate(h, start);
  let left = n;
  while (left > 0) {
    const cnt = h.count(i);
    if (off === 0 && left >= cnt) {
      h.dropNode(i);
      left -= cnt;
      continue;
    }
    const take = Math.min(left, cnt - off);
    const lp = h.lp(i);
    const from = entryPos(lp, off, cnt);
    let to = from;
    for (let k = 0; k < take; k++) to = nextEntry(lp, to);
    h.setNode(i, lpSplice(lp, from, to, null, cnt - take), cnt - take);
    left -= take;
    i++;
    off = 0;
  }
}

/**
 * LREM: removes up to `limit` elements equal to `value` (0 = all), scanning from the head or the
 * tail; returns how many. Each node is decoded once and rewritten only when it changed.
 */
export function removeMatching(h: ListHandle, value: Uint8Array, limit: number, fromTail: boolean): number {
  let removed = 0;
  let i = fromTail ? h.nodes - 1 : 0;
  while (i >= 0 && i < h.nodes && (limit === 0 || removed < limit)) {
    const entries = lpDecode(h.lp(i));
    const keep: Buffer[] = [];
    let changed = false;
    const n = entries.length;
    for (let k = 0; k < n; k++) {
      const idx = fromTail ? n - 1 - k : k;
      const e = entries[idx]!;
      if ((limit === 0 || removed < limit) && e.equals(value)) {
        removed++;
        changed = true;
      } else {
        keep.push(e);
      }
    }
    if (fromTail) keep.reverse();
    if (!changed) {
      i += fromTail ? -1 : 1;
      continue;
    }
    if (keep.length === 0) {
      h.dropNode(i);
      if (fromTail) i--;
    } else {
      h.setNode(i, lpEncode(keep), keep.length);
      i += fromTail ? -1 : 1;
    }
  }
  return removed;
}

/** Index of the first element equal to `value`, or -1. */
export function findElement(h: ListHandle, value: Uint8Array): number {
  let found = -1;
  scanElements(h, false, (v, index) => {
    if (v.equals(value)) { found = index; return false; }
    return true;
  });
  return found;
}

/**
 * LINSERT: inserts `value` before or after the element at normalized index `index`, with the
 * quicklist's placement (see DESIGN): into the node when it has room; at a node boundary into
 * the neighbour when that one has room, else into a new node; otherwise the node is split.
 */
export function insertAt(h: ListHandle, index: number, value: Uint8Array, after: boolean): void {
  const [i, off] = locate(h, index);
  const cnt = h.count(i);
  const sz = value.length;
  const full = !nodeAllowsInsert(h.size(i), cnt, h.fill, sz, h.cap);
  const atTail = off === cnt - 1;
  const atHead = off === 0;
  if (!full) {
    const lp = h.lp(i);
    const p = entryPos(lp, off, cnt);
    const at = after ? nextEntry(lp, p) : p;
    h.setNode(i, lpSplice(lp, at, at, encodeEntries([value]), cnt + 1), cnt + 1);
    return;
  }
  if (after && atTail) {
    const j = i + 1;
    if (j < h.nodes && nodeAllowsInsert(h.size(j), h.count(j), h.fill, sz, h.cap)) {
      h.setNode(j, lpSplice(h.lp(j), 6, 6, encodeEntries([value]), h.count(j) + 1), h.count(j) + 1);
    } else {
      h.addNode(j, lpEncode([value]), 1);
    }
    return;
  }
  if (!after && atHead) {
    const j = i - 1;
    if (j >= 0 && nodeAllowsInsert(h.size(j), h.count(j), h.fill, sz, h.cap)) {
      const lp = h.lp(j);
      h.setNode(j, lpSplice(lp, lp.length - 1, lp.length - 1, encodeEntries([value]), h.count(j) + 1), h.count(j) + 1);
    } else {
      h.addNode(i, lpEncode([value]), 1);
    }
    return;
  }
  // Split: the node keeps one side, a new node holds the value and the other side.
  const entries = lpDecode(h.lp(i));
  const cut = after ? off + 1 : off;
  const left = entries.slice(0, cut);
  const right = entries.slice(cut);
  if (after) {
    h.setNode(i, lpEncode(left), left.length);
    h.addNode(i + 1, lpEncode([value, ...right]), right.length + 1);
  } else {
    h.setNode(i, lpEncode(right), right.length);
    h.addNode(i, lpEncode([...left, value]), left.length + 1);
  }
}

// ---- persistence and whole-value helpers ------------------------------------------------------------

/** Every element of a stored list, head → tail (AOF rewrite, SORT, DUMP …). */
export function listElements(sv: StoredValue): Buffer[] {
  checkList(sv);
  if (sv.vt === VT_LIST_LISTPACK) return lpDecode(sv.blob);
  const coll = sv.large!;
  const ix = indexOf(coll);
  const out: Buffer[] = [];
  for (const n of ix.entries()) for (const e of lpDecode(coll.nodeListpack(n.ref))) out.push(e);
  return out;
}

/** The node listpacks of a stored list, head → tail (views: copy before any write). */
export function listNodes(sv: StoredValue): Uint8Array[] {
  checkList(sv);
  if (sv.vt === VT_LIST_LISTPACK) return [sv.blob];
  const coll = sv.large!;
  return indexOf(coll).entries().map((n) => coll.nodeListpack(n.ref));
}

/** Number of elements of a stored list. */
export function listLength(sv: StoredValue): number {
  checkList(sv);
  return sv.vt === VT_LIST_LISTPACK ? lpCountOf(sv.blob) : sv.large!.elements;
}

/**
 * Stores a decoded list (RDB loader for the linked-list and ziplist encodings, RESTORE, SORT
 * STORE …): nodes built by tail pushes under `fill`, as Redis's loader builds them. Replaces the
 * key; an empty list stores nothing (and deletes the key).
 */
export function loadList(ks: Keyspace, db: number, key: Uint8Array, elements: readonly Uint8Array[],
  expireAt: number = NO_EXPIRE, fill: number = DEFAULT_LIST_FILL): void {
  ks.del(db, key);
  if (elements.length === 0) return;
  const h = new ListHandle(ks, db, key, null, clampFill(fill));
  pushElements(h, elements, false);
  if (expireAt !== NO_EXPIRE) ks.setExpire(db, key, expireAt);
}

/**
 * Stores a list from listpack nodes as they are (RDB quicklist-2 / DUMP payloads: Redis keeps the
 * file's node boundaries). Empty nodes are skipped; no nodes deletes the key.
 */
export function loadListNodes(ks: Keyspace, db: number, key: Uint8Array, nodes: readonly Uint8Array[],
  expireAt: number = NO_EXPIRE): void {
  ks.del(db, key);
  const real = nodes.filter((lp) => lpCountOf(lp) > 0);
  if (real.length === 0) return;
  const h = new ListHandle(ks, db, key, null, DEFAULT_LIST_FILL);
  for (const lp of real) h.addNode(h.nodes, Buffer.from(lp), lpCountOf(lp));
  if (expireAt !== NO_EXPIRE) ks.setExpire(db, key, expireAt);
}
