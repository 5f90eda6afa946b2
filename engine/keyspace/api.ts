/**
 * The keyspace contract the command layer programs against. The implementation (keyspace.ts) keeps
 * every key and value in SharedArrayBuffer pages behind the copy-on-write barrier; callers never
 * see pages, refs or the barrier.
 *
 * Conventions
 *  - Keys and values are byte arrays (binary safe). Returned Uint8Array values are zero-copy views
 *    into shared memory: valid only until the next mutating call on the keyspace. Copy them
 *    (Buffer.from(view)) before keeping them or before the next write.
 *  - Every lookup applies lazy expiry against `now` (set by the engine once per command, like
 *    Redis's cached mstime): an expired key is deleted, `onExpired` is called (so the engine can
 *    propagate DEL), and the key is reported missing.
 *  - Expire times are absolute unix milliseconds. NO_EXPIRE (-1) means persistent.
 */
export const NO_EXPIRE = -1;
/** setString(): keep the key's current TTL (SET KEEPTTL, INCR, APPEND, SETRANGE...). */
export const KEEP_TTL = -3;

export type ValueType = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream';

/** The four collection types (streams are not stored yet). */
export type CollectionKind = 'hash' | 'set' | 'zset' | 'list';

export {
  VT_STRING, VT_SET_INTSET, VT_HASH_LISTPACK, VT_ZSET_LISTPACK, VT_LIST_LISTPACK, VT_LARGE,
} from './layout.js';

/**
 * A large collection in shared memory (engine/keyspace/collections.ts). Keyed kinds (hash, set,
 * zset) keep one element record per field/member, indexed by a per-collection hash table (O(1)
 * lookup, incremental rehash, SCAN cursor with Redis's guarantee). Lists keep one record per
 * listpack node; the node order is the type layer's (`aux`), with a float label per node that the
 * snapshot sorts by.
 *
 * Refs are opaque numbers naming element records; views returned are zero-copy and valid until
 * the next mutation of the keyspace. Every write passes the copy-on-write barrier.
 */
export interface LargeCollection {
  readonly id: number;
  readonly kind: CollectionKind;
  /** Keyed kinds: number of fields/members. Lists: number of nodes. */
  readonly count: number;
  /** Lists: total elements, maintained by the type layer (LLEN). Unused by keyed kinds. */
  elements: number;
  /**
   * Free slot for the type layer's derived, main-thread-only index (zset order, list node order).
   * The keyspace sets it to null when it creates the collection itself (COPY clones elements and
   * nodes, the RDB loader may too): the type layer must then rebuild it from the elements (lists:
   * forEach + sort nodes by nodeLabel; zsets: forEach + payload scores).
   */
  aux: unknown;

  // -- keyed kinds (hash, set, zset) --
  /** The element's ref, or 0. */
  find(field: Uint8Array): number;
  field(ref: number): Uint8Array;
  /** Hash: the value; set: empty; zset: 8-byte little-endian double. */
  payload(ref: number): Uint8Array;
  /** Adds an element that is not present (caller checked). Returns its ref. */
  insert(field: Uint8Array, payload: Uint8Array): number;
  /** Replaces the payload; in place when it fits (always for equal sizes), else the ref changes. */
  setPayload(ref: number, payload: Uint8Array): number;
  remove(ref: number): void;
  /** Visits every element; do not mutate inside. */
  forEach(visit: (ref: number) => void): void;
  /** One SCAN step (reverse-binary cursor over buckets): appends refs, returns the next cursor (0 = done). */
  scanStep(cursor: number, out: number[]): number;
  /** A uniformly-ish random element (Redis's dictGetFairRandomKey role), 0 when empty. */
  randomRef(): number;

  // -- lists --
  /** Adds a node record (label orders nodes in snapshots: keep it increasing head → tail). */
  insertNode(label: number, listpack: Uint8Array): number;
  nodeLabel(ref: number): number;
  nodeListpack(ref: number): Uint8Array;
  /** Rewrites a node's listpack (and label); returns its (possibly new) ref. */
  replaceNode(ref: number, label: number, listpack: Uint8Array): number;
  removeNode(ref: number): void;
  /** Changes a node's label in place (renumbering), without rewriting its listpack. */
  setNodeLabel(ref: number, label: number): void;
}

/** A key's stored value as the type layer sees it. */
export interface StoredValue {
  /** The VT_* type byte. */
  readonly vt: number;
  /** The record's value bytes (a view; small forms and strings). Empty for VT_LARGE. */
  readonly blob: Uint8Array;
  /** The large collection for VT_LARGE, else null. */
  readonly large: LargeCollection | null;
}

export interface MemoryStats {
  /** Bytes the dataset occupies: live records (slot-rounded) + large extents + index tables. */
  usedMemory: number;
  /** Bytes of live records only (key + value + headers, not rounded). */
  datasetBytes: number;
  /** Bytes of shared memory committed to pages (arena size). */
  arenaBytes: number;
  /** Bytes of the hash-table index arrays. */
  indexBytes: number;
  /** Shadow (copy-on-write) memory currently held for a running snapshot. */
  cowBytes: number;
  pageSize: number;
  pages: number;
  freePages: number;
  /** arenaBytes / usedMemory: how much committed memory is not holding data. */
  fragmentationRatio: number;
}

export interface Keyspace {
  readonly databases: number;
  /** Current time in ms used for expiry decisions. The engine sets it before each command. */
  now: number;
  /** Called for every key removed by lazy or active expiry (the engine propagates DEL). */
  onExpired: ((db: number, key: Buffer) => void) | null;
  /** When false (replica), expired keys read as missing but are not deleted. */
  expireDeletes: boolean;

  typeOf(db: number, key: Uint8Array): ValueType | null;
  exists(db: number, key: Uint8Array): boolean;
  /** The string value, or null if missing. Throws the WRONGTYPE ReplyError for other types. */
  getString(db: number, key: Uint8Array): Uint8Array | null;
  /** Creates or replaces (whatever type was there). expireAt: abs ms, NO_EXPIRE or KEEP_TTL. */
  setString(db: number, key: Uint8Array, value: Uint8Array, expireAt: number): void;
  /** -2 key missing, -1 no TTL, else the absolute expire time in ms. */
  getExpire(db: number, key: Uint8Array): number;
  /** Sets the absolute expire time; false when the key does not exist. */
  setExpire(db: number, key: Uint8Array, at: number): boolean;
  /** Removes the TTL; false when the key is missing or had none. */
  persist(db: number, key: Uint8Array): boolean;
  del(db: number, key: Uint8Array): boolean;

  dbSize(db: number): number;
  expiresSize(db: number): number;
  flushDb(db: number): void;
  flushAll(): void;
  swapDb(a: number, b: number): void;
  /** Moves src to dst in one db (dst replaced, TTL follows src). False when src is missing. */
  rename(db: number, src: Uint8Array, dst: Uint8Array): boolean;
  /** MOVE: false when src is missing or dst db already has the key. */
  move(srcDb: number, key: Uint8Array, dstDb: number): boolean;
  /** COPY: false when src is missing, or dst exists and !replace. TTL is copied. */
  copy(srcDb: number, src: Uint8Array, dstDb: number, dst: Uint8Array, replace: boolean): boolean;

  /**
   * One SCAN call, Redis's loop: visits buckets from `cursor` until at least `count` keys were
   * visited, the cursor wraps to 0, or count*10 buckets were looked at; returns the next cursor
   * (0 = done). Redis's guarantee holds across table growth and shrink: a key present for the whole
   * scan is returned at least once. Expired keys are skipped (not deleted) during the visit.
   */
  scan(db: number, cursor: number, count: number, visit: (key: Uint8Array, type: ValueType) => void): number;
  /** Visits every live key of a db (KEYS). Keys are views: copy what you keep. */
  forEachKey(db: number, visit: (key: Uint8Array, type: ValueType) => void): void;
  randomKey(db: number): Buffer | null;
  /**
   * Active expiry, Redis-style: sample keys with a TTL in each db, delete the expired ones, repeat
   * while >25 % of a sample was expired and the time budget (ms) is not used up. Returns keys expired.
   */
  activeExpireCycle(budgetMs: number): number;

  memoryStats(): MemoryStats;
  /**
   * The largest list-node listpack (bytes) for a node byte limit (`limit`: 4096 … 65536 for negative
   * fills, 8192 for the safety limit) whose record still fits the whole pages such a node occupies
   * when records that big are stored in page extents (small page sizes): nodes stop growing there
   * instead of spilling ~50 bytes into one more page. Infinity when the store has no such cliff.
   */
  listNodeCap?(limit: number): number;

  // -- collections (the type layer, engine/types/, programs against these) --
  /** The stored value of a key (lazy expiry applies), or null when missing. */
  lookupValue(db: number, key: Uint8Array): StoredValue | null;
  /** Creates or replaces a key with a small-form record (vt = VT_SET_INTSET …). expireAt as setString (KEEP_TTL keeps). */
  putBlob(db: number, key: Uint8Array, vt: number, blob: Uint8Array, expireAt: number): void;
  /**
   * Creates or replaces a key with an empty large collection of `kind` (the old value, if any, is
   * freed; a large one lazily). The caller fills it before the command returns: an empty
   * collection must never stay in the keyspace (delete the key instead).
   */
  createLarge(db: number, key: Uint8Array, kind: CollectionKind, expireAt: number): LargeCollection;
}
