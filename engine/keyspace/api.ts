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
}
