/**
 * A deliberately simple, obviously-correct Keyspace: one Map per database, values copied in and
 * out. Command tests run against it, and later property tests compare the real SharedArrayBuffer
 * keyspace with it operation by operation.
 *
 * Only strings exist in the command layer today; `debugSetValue` can plant a value of another type
 * so that WRONGTYPE paths can be tested. SCAN is modelled as a walk over 32-bit key hashes in
 * increasing order (cursor = next hash to visit), which is stateless and gives Redis's guarantee
 * trivially: a key present for the whole scan is returned exactly once.
 */
import { KEEP_TTL, NO_EXPIRE } from '../../engine/keyspace/api.js';
import type { CollectionKind, Keyspace, LargeCollection, MemoryStats, StoredValue, ValueType } from '../../engine/keyspace/api.js';
import { Errors } from '../../engine/errors.js';

interface Entry {
  type: ValueType;
  value: Buffer;
  expireAt: number;
  hash: number;
}

function keyStr(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class ModelKeyspace implements Keyspace {
  readonly databases: number;
  now = Date.now();
  onExpired: ((db: number, key: Buffer) => void) | null = null;
  expireDeletes = true;
  private readonly dbs: Array<Map<string, Entry>>;

  constructor(opts: { databases?: number } = {}) {
    this.databases = opts.databases ?? 16;
    this.dbs = Array.from({ length: this.databases }, () => new Map<string, Entry>());
  }

  /** The live entry for key, applying lazy expiry. */
  private live(db: number, k: string): Entry | undefined {
    const map = this.dbs[db]!;
    const e = map.get(k);
    if (e === undefined) return undefined;
    if (e.expireAt !== NO_EXPIRE && e.expireAt <= this.now) {
      if (this.expireDeletes) {
        map.delete(k);
        this.onExpired?.(db, Buffer.from(k, 'latin1'));
      }
      return undefined;
    }
    return e;
  }

  private isExpired(e: Entry): boolean {
    return e.expireAt !== NO_EXPIRE && e.expireAt <= this.now;
  }

  typeOf(db: number, key: Uint8Array): ValueType | null {
    return this.live(db, keyStr(key))?.type ?? null;
  }

  exists(db: number, key: Uint8Array): boolean {
    return this.live(db, keyStr(key)) !== undefined;
  }

  getString(db: number, key: Uint8Array): Uint8Array | null {
    const e = this.live(db, keyStr(key));
    if (e === undefined) return null;
    if (e.type !== 'string') throw Errors.wrongType();
    return e.value;
  }

  setString(db: number, key: Uint8Array, value: Uint8Array, expireAt: number): void {
    this.put(db, key, 'string', value, expireAt);
  }

  /** Test hook: store a value of any type (the model does not interpret non-string values). */
  debugSetValue(db: number, key: Uint8Array, type: ValueType, value: Uint8Array = new Uint8Array(0), expireAt = NO_EXPIRE): void {
    this.put(db, key, type, value, expireAt);
  }

  private put(db: number, key: Uint8Array, type: ValueType, value: Uint8Array, expireAt: number): void {
    const k = keyStr(key);
    let at = expireAt;
    if (at === KEEP_TTL) at = this.live(db, k)?.expireAt ?? NO_EXPIRE;
    this.dbs[db]!.set(k, { type, value: Buffer.from(value), expireAt: at, hash: fnv1a(k) });
  }

  getExpire(db: number, key: Uint8Array): number {
    const e = this.live(db, keyStr(key));
    if (e === undefined) return -2;
    return e.expireAt;
  }

  setExpire(db: number, key: Uint8Array, at: number): boolean {
    const e = this.live(db, keyStr(key));
    if (e === undefined) return false;
    e.expireAt = at;
    return true;
  }

  persist(db: number, key: Uint8Array): boolean {
    const e = this.live(db, keyStr(key));
    if (e === undefined || e.expireAt === NO_EXPIRE) return false;
    e.expireAt = NO_EXPIRE;
    return true;
  }

  del(db: number, key: Uint8Array): boolean {
    const k = keyStr(key);
    if (this.live(db, k) === undefined) return false;
    return this.dbs[db]!.delete(k);
  }

  dbSize(db: number): number {
    return this.dbs[db]!.size;
  }

  expiresSize(db: number): number {
    let n = 0;
    for (const e of this.dbs[db]!.values()) if (e.expireAt !== NO_EXPIRE) n++;
    return n;
  }

  flushDb(db: number): void {
    this.dbs[db]!.clear();
  }

  flushAll(): void {
    for (const m of this.dbs) m.clear();
  }

  swapDb(a: number, b: number): void {
    const t = this.dbs[a]!;
    this.dbs[a] = this.dbs[b]!;
    this.dbs[b] = t;
  }

  rename(db: number, src: Uint8Array, dst: Uint8Array): boolean {
    const s = keyStr(src);
    const e = this.live(db, s);
    if (e === undefined) return false;
    const d = keyStr(dst);
    if (s === d) return true;
    const map = this.dbs[db]!;
    map.delete(s);
    map.set(d, { ...e, hash: fnv1a(d) });
    return true;
  }

  move(srcDb: number, key: Uint8Array, dstDb: number): boolean {
    const k = keyStr(key);
    const e = this.live(srcDb, k);
    if (e === undefined || this.live(dstDb, k) !== undefined) return false;
    this.dbs[srcDb]!.delete(k);
    this.dbs[dstDb]!.set(k, e);
    return true;
  }

  copy(srcDb: number, src: Uint8Array, dstDb: number, dst: Uint8Array, replace: boolean): boolean {
    const e = this.live(srcDb, keyStr(src));
    if (e === undefined) return false;
    const d = keyStr(dst);
    if (this.live(dstDb, d) !== undefined && !replace) return false;
    this.dbs[dstDb]!.set(d, { type: e.type, value: Buffer.from(e.value), expireAt: e.expireAt, hash: fnv1a(d) });
    return true;
  }

  scan(db: number, cursor: number, count: number, visit: (key: Uint8Array, type: ValueType) => void): number {
    const from = cursor >>> 0;
    const entries: Array<[string, Entry]> = [];
    for (const kv of this.dbs[db]!) if (kv[1].hash >= from) entries.push(kv);
    entries.sort((x, y) => x[1].hash - y[1].hash);
    let i = 0;
    let last = -1;
    let visited = 0;
    while (i < entries.length) {
      const h = entries[i]![1].hash;
      if (visited >= count && h !== last) break;
      const [k, e] = entries[i]!;
      if (!this.isExpired(e)) visit(Buffer.from(k, 'latin1'), e.type);
      visited++;
      last = h;
      i++;
    }
    if (i >= entries.length) return 0;
    return last + 1 > 0xffffffff ? 0 : last + 1;
  }

  forEachKey(db: number, visit: (key: Uint8Array, type: ValueType) => void): void {
    for (const [k, e] of this.dbs[db]!) if (!this.isExpired(e)) visit(Buffer.from(k, 'latin1'), e.type);
  }

  randomKey(db: number): Buffer | null {
    const map = this.dbs[db]!;
    for (let tries = 0; tries < 100 && map.size > 0; tries++) {
      const keys = [...map.keys()];
      const k = keys[Math.floor(Math.random() * keys.length)]!;
      if (this.live(db, k) !== undefined) return Buffer.from(k, 'latin1');
    }
    return null;
  }

  activeExpireCycle(_budgetMs: number): number {
    let n = 0;
    for (let db = 0; db < this.databases; db++) {
      for (const k of [...this.dbs[db]!.keys()]) {
        const e = this.dbs[db]!.get(k)!;
        if (this.isExpired(e) && this.expireDeletes) {
          this.dbs[db]!.delete(k);
          this.onExpired?.(db, Buffer.from(k, 'latin1'));
          n++;
        }
      }
    }
    return n;
  }

  memoryStats(): MemoryStats {
    let bytes = 0;
    for (const m of this.dbs) for (const [k, e] of m) bytes += k.length + e.value.length + 16;
    return {
      usedMemory: bytes, datasetBytes: bytes, arenaBytes: bytes, indexBytes: 0, cowBytes: 0,
      pageSize: 0, pages: 0, freePages: 0, fragmentationRatio: 1,
    };
  }

  // The model holds strings only: collection tests run on the shared keyspace (a string key still
  // answers lookupValue, so type checks against it work).
  lookupValue(db: number, key: Uint8Array): StoredValue | null {
    const v = this.getString(db, key);
    return v === null ? null : { vt: 0, blob: v, large: null };
  }
  putBlob(_db: number, _key: Uint8Array, _vt: number, _blob: Uint8Array, _expireAt: number): void {
    throw new Error('the model keyspace does not hold collections');
  }
  createLarge(_db: number, _key: Uint8Array, _kind: CollectionKind, _expireAt: number): LargeCollection {
    throw new Error('the model keyspace does not hold collections');
  }
}

export function createModelKeyspace(opts: { databases?: number } = {}): ModelKeyspace {
  return new ModelKeyspace(opts);
}
