/**
 * The order-statistic index of a large sorted set: a counted B+tree over element refs ordered by
 * (score, member bytes), the order Redis's skiplist keeps. It lives on the main thread only, in the
 * collection's `aux` slot; the elements themselves (member + 8-byte score) live in shared memory,
 * so the tree holds nothing but refs and scores and asks a MemberSource for member bytes when two
 * scores tie.
 *
 * Why a B+tree and not a skiplist: memory. A skiplist needs a JS object (or several array slots)
 * per element; here a leaf is two typed arrays of LEAF_CAP refs (u32) and scores (f64), so an
 * element costs ~12 bytes at full leaves and ~17 at the 70% fill random inserts settle at.
 *
 * Shape
 *  - ZLeaf: n elements sorted, linked to its neighbours (prev/next) for range walks.
 *  - ZInner: n children, per child its element count (rank arithmetic) and its "low key", the exact
 *    (score, ref) of the child's first element. Low keys are kept exact on every insert and delete
 *    (only the path's entries can change), so descending compares the target with real elements:
 *    no separator copies, and refs stay valid because members never move (zset payload rewrites are
 *    8 bytes, in place).
 *  - Deletion merges an underfull node into a neighbour when both fit in one node; empty nodes are
 *    removed and a root with one child is collapsed, so the height stays logarithmic.
 *
 * Costs: insert/delete/rank/select O(log N) (member comparisons only among equal scores); a range
 * walk is O(log N + k).
 */

/** Where member bytes come from (the LargeCollection). Views may be transient: they are only compared. */
export interface MemberSource {
  field(ref: number): Uint8Array;
}

const LEAF_CAP = 128;
const INNER_CAP = 64;
const LEAF_MIN = LEAF_CAP >> 2;
const INNER_MIN = INNER_CAP >> 2;

export class ZLeaf {
  n = 0;
  readonly refs = new Uint32Array(LEAF_CAP);
  readonly scores = new Float64Array(LEAF_CAP);
  next: ZLeaf | null = null;
  prev: ZLeaf | null = null;
}

export class ZInner {
  n = 0;
  total = 0;
  // One spare slot: a child split may overflow the node by one before the node itself splits.
  readonly kids: Array<ZLeaf | ZInner> = [];
  readonly counts = new Float64Array(INNER_CAP + 1);
  readonly lowScore = new Float64Array(INNER_CAP + 1);
  readonly lowRef = new Uint32Array(INNER_CAP + 1);
}

type Node = ZLeaf | ZInner;

function sizeOf(node: Node): number {
  return node instanceof ZLeaf ? node.n : node.total;
}

/** Compares two member byte strings the way sdscmp does (memcmp, then length). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** A position in the tree: a leaf and an index inside it. */
export interface ZCursor {
  leaf: ZLeaf | null;
  i: number;
}

export class ZIndex {
  private root: Node = new ZLeaf();
  /** Set by a leaf split: 1 = it was an append at the end, -1 = a prepend at the start, 0 = inside. */
  private edge = 0;

  constructor(private readonly src: MemberSource) {}

  get size(): number { return sizeOf(this.root); }

  /**
   * Builds an index from elements already sorted by (score, member): leaves are filled completely
   * and inner levels stacked on top, O(N).
   */
  static build(src: MemberSource, refs: ArrayLike<number>, scores: ArrayLike<number>): ZIndex {
    const idx = new ZIndex(src);
    const n = refs.length;
    if (n === 0) return idx;
    let level: Node[] = [];
    let prev: ZLeaf | null = null;
    for (let off = 0; off < n; off += LEAF_CAP) {
      const leaf = new ZLeaf();
      const m = Math.min(LEAF_CAP, n - off);
      for (let j = 0; j < m; j++) { leaf.refs[j] = refs[off + j]!; leaf.scores[j] = scores[off + j]!; }
      leaf.n = m;
      leaf.prev = prev;
      if (prev !== null) prev.next = leaf;
      prev = leaf;
      level.push(leaf);
    }
    while (level.length > 1) {
      const up: Node[] = [];
      for (let off = 0; off < level.length; off += INNER_CAP) {
        const node = new ZInner();
        const m = Math.min(INNER_CAP, level.length - off);
        for (let j = 0; j < m; j++) {
          const kid = level[off + j]!;
          node.kids.push(kid);
          node.counts[j] = sizeOf(kid);
          node.total += node.counts[j]!;
          ZIndex.copyLow(node, j, kid);
        }
        node.n = m;
        up.push(node);
      }
      level = up;
    }
    idx.root = level[0]!;
    return idx;
  }

  private static copyLow(parent: ZInner, i: number, kid: Node): void {
    if (kid instanceof ZLeaf) {
      parent.lowScore[i] = kid.scores[0]!;
      parent.lowRef[i] = kid.refs[0]!;
    } else {
      parent.lowScore[i] = kid.lowScore[0]!;
      parent.lowRef[i] = kid.lowRef[0]!;
    }
  }

  /** (s1, ref1) vs (s2, member2). */
  private cmp(s1: number, r1: number, s2: number, m2: Uint8Array): number {
    if (s1 < s2) return -1;
    if (s1 > s2) return 1;
    return Buffer.compare(this.src.field(r1), m2);
  }

  /** In an inner node: the last child whose low key is <= the target (0 when none). */
  private childFor(node: ZInner, score: number, member: Uint8Array): number {
    let lo = 1;
    let hi = node.n; // answer in [0, n-1]: find first child with low > target, minus one
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(node.lowScore[mid]!, node.lowRef[mid]!, score, member) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** In a leaf: the first index whose key is >= the target. */
  private leafLowerBound(leaf: ZLeaf, score: number, member: Uint8Array): number {
    const sc = leaf.scores;
    let lo = 0;
    let hi = leaf.n;
    while (lo < hi) { // first score >= target score
      const mid = (lo + hi) >>> 1;
      if (sc[mid]! < score) lo = mid + 1; else hi = mid;
    }
    let end = lo;
    let e = leaf.n;
    while (end < e) { // first score > target score
      const mid = (end + e) >>> 1;
      if (sc[mid]! <= score) end = mid + 1; else e = mid;
    }
    while (lo < end) { // among equal scores: first member >= target member
      const mid = (lo + end) >>> 1;
      if (Buffer.compare(this.src.field(leaf.refs[mid]!), member) < 0) lo = mid + 1; else end = mid;
    }
    return lo;
  }

  /** Adds an element that is not present. */
  insert(score: number, ref: number, member: Uint8Array): void {
    const split = this.ins(this.root, score, ref, member);
    if (split !== null) {
      const old = this.root;
      const r = new ZInner();
      r.kids.push(old, split);
      r.n = 2;
      r.counts[0] = sizeOf(old);
      r.counts[1] = sizeOf(split);
      r.total = r.counts[0]! + r.counts[1]!;
      ZIndex.copyLow(r, 0, old);
      ZIndex.copyLow(r, 1, split);
      this.root = r;
    }
  }

  /** Recursive insert; returns the new right sibling when `node` split. */
  private ins(node: Node, score: number, ref: number, member: Uint8Array): Node | null {
    if (node instanceof ZLeaf) {
      const pos = this.leafLowerBound(node, score, member);
      if (node.n < LEAF_CAP) {
        ZIndex.leafInsertAt(node, pos, ref, score);
        return null;
      }
      const right = new ZLeaf();
      // Appending at the very end (or prepending at the very start) splits unevenly, so ascending
      // or descending loads leave full leaves instead of half-empty ones.
      const append = pos === LEAF_CAP && node.next === null;
      const prepend = pos === 0 && node.prev === null;
      this.edge = append ? 1 : prepend ? -1 : 0;
      const half = append ? LEAF_CAP : prepend ? 0 : LEAF_CAP >> 1;
      right.refs.set(node.refs.subarray(half, LEAF_CAP));
      right.scores.set(node.scores.subarray(half, LEAF_CAP));
      right.n = LEAF_CAP - half;
      node.n = half;
      right.next = node.next;
      if (right.next !== null) right.next.prev = right;
      right.prev = node;
      node.next = right;
      if (pos < half || (pos === half && !append)) ZIndex.leafInsertAt(node, pos, ref, score);
      else ZIndex.leafInsertAt(right, pos - half, ref, score);
      return right;
    }
    const i = this.childFor(node, score, member);
    const kid = node.kids[i]!;
    const split = this.ins(kid, score, ref, member);
    node.counts[i] = sizeOf(kid);
    ZIndex.copyLow(node, i, kid);
    node.total++;
    if (split === null) return null;
    ZIndex.innerInsertAt(node, i + 1, split);
    if (node.n <= INNER_CAP) return null;
    // Split the overflowing inner node in two halves.
    const right = new ZInner();
    const half = this.edge === 1 && i + 2 === node.n ? node.n - 1 : this.edge === -1 && i === 0 ? 1 : node.n >> 1;
    const moved = node.n - half;
    right.kids.push(...node.kids.splice(half, moved));
    right.counts.set(node.counts.subarray(half, node.n));
    right.lowScore.set(node.lowScore.subarray(half, node.n));
    right.lowRef.set(node.lowRef.subarray(half, node.n));
    right.n = moved;
    let t = 0;
    for (let j = 0; j < moved; j++) t += right.counts[j]!;
    right.total = t;
    node.n = half;
    node.total -= t;
    return right;
  }

  private static leafInsertAt(leaf: ZLeaf, pos: number, ref: number, score: number): void {
    if (pos < leaf.n) {
      leaf.refs.copyWithin(pos + 1, pos, leaf.n);
      leaf.scores.copyWithin(pos + 1, pos, leaf.n);
    }
    leaf.refs[pos] = ref;
    leaf.scores[pos] = score;
    leaf.n++;
  }

  private static innerInsertAt(node: ZInner, pos: number, kid: Node): void {
    if (pos < node.n) {
      node.counts.copyWithin(pos + 1, pos, node.n);
      node.lowScore.copyWithin(pos + 1, pos, node.n);
      node.lowRef.copyWithin(pos + 1, pos, node.n);
    }
    node.kids.splice(pos, 0, kid);
    node.counts[pos] = sizeOf(kid);
    ZIndex.copyLow(node, pos, kid);
    node.n++;
  }

  private static innerRemoveAt(node: ZInner, pos: number): void {
    node.kids.splice(pos, 1);
    node.counts.copyWithin(pos, pos + 1, node.n);
    node.lowScore.copyWithin(pos, pos + 1, node.n);
    node.lowRef.copyWithin(pos, pos + 1, node.n);
    node.n--;
  }

  /** Removes the element (score, member) whose ref is `ref`; false when it is not there. */
  remove(score: number, ref: number, member: Uint8Array): boolean {
    const ok = this.del(this.root, score, ref, member);
    if (!ok) return false;
    let r = this.root;
    while (r instanceof ZInner && r.n === 1) r = r.kids[0]!;
    if (r instanceof ZInner && r.n === 0) r = new ZLeaf();
    this.root = r;
    return true;
  }

  private del(node: Node, score: number, ref: number, member: Uint8Array): boolean {
    if (node instanceof ZLeaf) {
      const pos = this.leafLowerBound(node, score, member);
      if (pos >= node.n || node.refs[pos] !== ref) return false;
      node.refs.copyWithin(pos, pos + 1, node.n);
      node.scores.copyWithin(pos, pos + 1, node.n);
      node.n--;
      return true;
    }
    const i = this.childFor(node, score, member);
    const kid = node.kids[i]!;
    if (!this.del(kid, score, ref, member)) return false;
    node.total--;
    const left = sizeOf(kid);
    if (left === 0) {
      if (kid instanceof ZLeaf) {
        if (kid.prev !== null) kid.prev.next = kid.next;
        if (kid.next !== null) kid.next.prev = kid.prev;
      }
      ZIndex.innerRemoveAt(node, i);
      return true;
    }
    node.counts[i] = left;
    ZIndex.copyLow(node, i, kid);
    // Merge an underfull child with a neighbour when the two fit in one node.
    const small = kid instanceof ZLeaf ? kid.n < LEAF_MIN : kid.n < INNER_MIN;
    if (small && node.n > 1) {
      const j = i + 1 < node.n ? i + 1 : i - 1;
      const a = Math.min(i, j);
      this.tryMerge(node, a);
    }
    return true;
  }

  /** Merges child a+1 into child a when their entries fit in one node. */
  private tryMerge(node: ZInner, a: number): void {
    const l = node.kids[a]!;
    const r = node.kids[a + 1]!;
    if (l instanceof ZLeaf && r instanceof ZLeaf) {
      if (l.n + r.n > LEAF_CAP) return;
      l.refs.set(r.refs.subarray(0, r.n), l.n);
      l.scores.set(r.scores.subarray(0, r.n), l.n);
      l.n += r.n;
      l.next = r.next;
      if (r.next !== null) r.next.prev = l;
    } else if (l instanceof ZInner && r instanceof ZInner) {
      if (l.n + r.n > INNER_CAP) return;
      l.kids.push(...r.kids);
      l.counts.set(r.counts.subarray(0, r.n), l.n);
      l.lowScore.set(r.lowScore.subarray(0, r.n), l.n);
      l.lowRef.set(r.lowRef.subarray(0, r.n), l.n);
      l.n += r.n;
      l.total += r.total;
    } else {
      return;
    }
    node.counts[a] = sizeOf(l);
    ZIndex.innerRemoveAt(node, a + 1);
  }

  /** 0-based rank of (score, member), or -1 when absent. */
  rank(score: number, member: Uint8Array): number {
    let node = this.root;
    let acc = 0;
    while (node instanceof ZInner) {
      const i = this.childFor(node, score, member);
      for (let j = 0; j < i; j++) acc += node.counts[j]!;
      node = node.kids[i]!;
    }
    const pos = this.leafLowerBound(node, score, member);
    if (pos >= node.n || this.cmp(node.scores[pos]!, node.refs[pos]!, score, member) !== 0) return -1;
    return acc + pos;
  }

  /**
   * The rank of the first element for which `pred` holds, where pred is monotone over the order
   * (false … false true … true); size when it holds for none. Used for score and lex bounds.
   */
  firstRank(pred: (score: number, ref: number) => boolean): number {
    let node = this.root;
    let acc = 0;
    while (node instanceof ZInner) {
      // Last child whose low key fails the predicate: the first match is inside it or starts the next.
      let lo = 0;
      let hi = node.n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (!pred(node.lowScore[mid]!, node.lowRef[mid]!)) lo = mid + 1; else hi = mid;
      }
      const i = lo === 0 ? 0 : lo - 1;
      for (let j = 0; j < i; j++) acc += node.counts[j]!;
      node = node.kids[i]!;
    }
    let lo = 0;
    let hi = node.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (!pred(node.scores[mid]!, node.refs[mid]!)) lo = mid + 1; else hi = mid;
    }
    return acc + lo;
  }

  /** The position of the element at `rank` (0-based); leaf null when out of range. */
  select(rank: number): ZCursor {
    if (rank < 0 || rank >= this.size) return { leaf: null, i: 0 };
    let node = this.root;
    let r = rank;
    while (node instanceof ZInner) {
      let i = 0;
      while (r >= node.counts[i]!) { r -= node.counts[i]!; i++; }
      node = node.kids[i]!;
    }
    return { leaf: node, i: r };
  }

  /** Ref at a cursor. */
  static refAt(c: ZCursor): number { return c.leaf!.refs[c.i]!; }
  static scoreAt(c: ZCursor): number { return c.leaf!.scores[c.i]!; }

  /** Moves a cursor one element forward (reverse=false) or backward; leaf becomes null at the end. */
  static step(c: ZCursor, reverse: boolean): void {
    const leaf = c.leaf!;
    if (!reverse) {
      if (c.i + 1 < leaf.n) { c.i++; return; }
      c.leaf = leaf.next;
      c.i = 0;
    } else {
      if (c.i > 0) { c.i--; return; }
      c.leaf = leaf.prev;
      c.i = c.leaf !== null ? c.leaf.n - 1 : 0;
    }
  }

  /**
   * Visits elements from `rank` on, forward or backward, while `visit` returns true. The tree
   * must not change during the walk (collect refs first when deleting).
   */
  walk(rank: number, reverse: boolean, visit: (ref: number, score: number) => boolean): void {
    const c = this.select(rank);
    while (c.leaf !== null) {
      if (!visit(c.leaf.refs[c.i]!, c.leaf.scores[c.i]!)) return;
      ZIndex.step(c, reverse);
    }
  }

  /**
   * Approximate bytes this index holds on the JS heap (typed-array stores plus per-node object
   * overhead), for memory accounting: ~12 bytes per element at full leaves. Walks the inner nodes
   * only (O(N / LEAF_CAP)).
   */
  memoryBytes(): number {
    const LEAF_BYTES = LEAF_CAP * 12 + 3 * 96;
    const INNER_BYTES = (INNER_CAP + 1) * 20 + INNER_CAP * 8 + 5 * 96;
    let total = 0;
    const visit = (node: Node): void => {
      if (node instanceof ZLeaf) { total += LEAF_BYTES; return; }
      total += INNER_BYTES;
      for (let j = 0; j < node.n; j++) visit(node.kids[j]!);
    };
    visit(this.root);
    return total;
  }

  /** Checks every invariant (tests): order, counts, low keys, leaf chain. Throws on a violation. */
  verify(): void {
    const leaves: ZLeaf[] = [];
    const check = (node: Node, depth: number, depths: Set<number>): number => {
      if (node instanceof ZLeaf) {
        depths.add(depth);
        leaves.push(node);
        return node.n;
      }
      if (node.n !== node.kids.length) throw new Error('inner n mismatch');
      let t = 0;
      for (let j = 0; j < node.n; j++) {
        const kid = node.kids[j]!;
        const s = check(kid, depth + 1, depths);
        if (s !== node.counts[j]) throw new Error(`count mismatch ${s} vs ${node.counts[j]}`);
        if (s === 0 && node !== this.root) throw new Error('empty child');
        const lowS = kid instanceof ZLeaf ? kid.scores[0] : kid.lowScore[0];
        const lowR = kid instanceof ZLeaf ? kid.refs[0] : kid.lowRef[0];
        if (lowS !== node.lowScore[j] || lowR !== node.lowRef[j]) throw new Error('low key mismatch');
        t += s;
      }
      if (t !== node.total) throw new Error('total mismatch');
      return t;
    };
    const depths = new Set<number>();
    check(this.root, 0, depths);
    if (depths.size > 1) throw new Error('unbalanced');
    let prevS = -Infinity;
    let prevM: Uint8Array | null = null;
    for (let k = 0; k < leaves.length; k++) {
      const leaf = leaves[k]!;
      if (leaf.prev !== (k > 0 ? leaves[k - 1] : null)) throw new Error('bad prev link');
      if (leaf.next !== (k + 1 < leaves.length ? leaves[k + 1] : null)) throw new Error('bad next link');
      for (let j = 0; j < leaf.n; j++) {
        const s = leaf.scores[j]!;
        const m = this.src.field(leaf.refs[j]!);
        if (prevM !== null && (s < prevS || (s === prevS && Buffer.compare(prevM, m) >= 0))) throw new Error('order violated');
        prevS = s;
        prevM = Buffer.from(m);
      }
    }
  }
}
