/**
 * Writing an AOF base file from a point-in-time keyspace view: the RDB form
 * (aof-use-rdb-preamble yes, writeRdbFile with `aof-base 1`) or the RESP form (SELECT per
 * database, `SET key value` per string, `PEXPIREAT key ms` after it when the key has a TTL — the
 * commands Redis's rewriteAppendOnlyFileRio emits for strings).
 *
 * This module is also the piscina task file for BGREWRITEAOF: the default export runs in the
 * snapshot pool's worker thread against the copy-on-write view that keyspace.beginSnapshot()
 * published, exactly as BGSAVE does, so the main thread never stalls for a rewrite. The same
 * functions run on the main thread for the base created at startup (the dataset is quiescent).
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { PersistenceIOError } from '../errors.js';
import { SnapshotWalker, type RecordSink, type WalkJob, type WalkStats } from './snapshot-walker.js';
import { writeRdbFile, type RdbWriteOptions, type RdbWriteResult } from './rdb-file.js';
import { encodeRespCommand, putRespCommand, respCommandSize } from './aof-ring.js';
import { lzfDecompress } from './lzf.js';
import { decodeRdbValue } from './rdb-reader.js';
import { formatDouble } from '../types/double.js';

const AUTOSYNC_BYTES = 4 * 1024 * 1024;
const OUT_BYTES = 1024 * 1024;
const SET = Buffer.from('SET');
const SELECT = Buffer.from('SELECT');
const PEXPIREAT = Buffer.from('PEXPIREAT');
const RPUSH = Buffer.from('RPUSH');
const SADD = Buffer.from('SADD');
const ZADD = Buffer.from('ZADD');
const HMSET = Buffer.from('HMSET');
/** Redis's AOF_REWRITE_ITEMS_PER_CMD: elements per RPUSH/SADD/ZADD/HMSET in a rewritten AOF. */
const ITEMS_PER_CMD = 64;

export interface RespBaseOptions {
  path: string;
  /** aof-rewrite-incremental-fsync: fsync every 4 MiB written. */
  incrementalFsync: boolean;
  /** aof-timestamp-enabled: start with a `#TS:<unix>` annotation. */
  timestamp: boolean;
}

export interface BaseWriteResult extends WalkStats {
  bytes: number;
  durationMs: number;
}

/** RESP records into a file, through a 1 MiB buffer. */
class RespFileSink implements RecordSink {
  private readonly out = Buffer.allocUnsafe(OUT_BYTES);
  private len = 0;
  bytes = 0;
  private sinceSync = 0;
  private pendingExpire = -1;
  private readonly argv: Uint8Array[] = [SET, SET, SET];

  constructor(private readonly fd: number, private readonly incrementalFsync: boolean) {}

  raw(b: Uint8Array): void {
    if (this.len + b.length > OUT_BYTES) this.flush();
    if (b.length > OUT_BYTES) { this.writeAll(b); return; }
    this.out.set(b, this.len);
    this.len += b.length;
  }

  private command(argv: readonly Uint8Array[]): void {
    const n = respCommandSize(argv);
    if (this.len + n > OUT_BYTES) this.flush();
    if (n > OUT_BYTES) {
      const big = Buffer.allocUnsafe(n);
      putRespCommand(big, 0, argv);
      this.writeAll(big);
      return;
    }
    this.len = putRespCommand(this.out, this.len, argv);
  }

  selectDb(db: number): void {
    this.raw(encodeRespCommand([SELECT, Buffer.from(String(db), 'latin1')]));
  }

  resizeDb(): void { /* RESP has no sizing hint */ }

  expireMs(ms: number): void { this.pendingExpire = ms; }

  stringKeyValueAt(keySrc: Uint8Array, keyOff: number, keyLen: number, valSrc: Uint8Array, valOff: number, valLen: number): void {
    this.stringKeyValue(keySrc.subarray(keyOff, keyOff + keyLen), valSrc.subarray(valOff, valOff + valLen));
  }

  /**
   * RDB records the main thread pre-encoded (snapshot fragments, see fragment-encoder.ts): string
   * records with an optional EXPIRETIME_MS, decoded back and written as SET/PEXPIREAT.
   */
  rawBytes(src: Uint8Array, off = 0, len: number = src.length - off): void {
    const end = off + len;
    let p = off;
    const readLen = (): number => {
      const b = src[p]!;
      const kind = b >> 6;
      if (kind === 0) { p += 1; return b & 0x3f; }
      if (kind === 1) { const v = ((b & 0x3f) << 8) | src[p + 1]!; p += 2; return v; }
      if (b === 0x80) { const v = ((src[p + 1]! << 24) >>> 0) + (src[p + 2]! << 16) + (src[p + 3]! << 8) + src[p + 4]!; p += 5; return v; }
      if (b === 0x81) {
        let v = 0;
        for (let i = 1; i <= 8; i++) v = v * 256 + src[p + i]!;
        p += 9;
        return v;
      }
      return -1 - (b & 0x3f); // special encoding marker: -1 - encoding
    };
    const readString = (): Uint8Array => {
      const n = readLen();
      if (n >= 0) { const s = src.subarray(p, p + n); p += n; return s; }
      const enc = -1 - n;
      if (enc === 0) { const v = (src[p]! << 24) >> 24; p += 1; return Buffer.from(String(v)); }
      if (enc === 1) { const v = ((src[p]! | (src[p + 1]! << 8)) << 16) >> 16; p += 2; return Buffer.from(String(v)); }
      if (enc === 2) { const v = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24); p += 4; return Buffer.from(String(v)); }
      if (enc === 3) {
        const clen = readLen();
        const ulen = readLen();
        const out = new Uint8Array(ulen);
        lzfDecompress(src, p, clen, out, 0, ulen);
        p += clen;
        return out;
      }
      throw new PersistenceIOError(`unexpected string encoding ${enc} in a snapshot fragment`);
    };
    while (p < end) {
      const op = src[p++]!;
      if (op === 0xfc) {
        let lo = 0;
        for (let i = 3; i >= 0; i--) lo = lo * 256 + src[p + i]!;
        let hi = 0;
        for (let i = 7; i >= 4; i--) hi = hi * 256 + src[p + i]!;
        this.pendingExpire = hi * 4294967296 + lo;
        p += 8;
        continue;
      }
      if (op !== 0) throw new PersistenceIOError(`unexpected record type ${op} in a snapshot fragment`);
      const key = readString();
      const value = readString();
      this.stringKeyValue(key, value);
    }
  }

  /**
   * A collection, written the way Redis's rewrite writes one: RPUSH / SADD / ZADD (score member) /
   * HMSET with up to 64 elements per command, then PEXPIREAT when it has a TTL.
   */
  collection(rdbType: number, key: Uint8Array, value: Uint8Array): void {
    const v = decodeRdbValue(rdbType, value, 'snapshot collection');
    const expire = this.pendingExpire;
    this.pendingExpire = -1;
    if (v === null) return;
    const batch = (cmd: Buffer, items: Uint8Array[], per: number): void => {
      for (let i = 0; i < items.length; i += ITEMS_PER_CMD * per) {
        this.command([cmd, key, ...items.slice(i, i + ITEMS_PER_CMD * per)]);
      }
    };
    switch (v.type) {
      case 'list': batch(RPUSH, v.items, 1); break;
      case 'set': batch(SADD, v.members, 1); break;
      case 'zset': batch(ZADD, v.entries.flatMap((e) => [Buffer.from(formatDouble(e.score), 'latin1'), e.member]), 2); break;
      case 'hash': batch(HMSET, v.entries.flatMap(([f, val]) => [f, val]), 2); break;
      case 'string': this.stringKeyValue(key, v.value); return;
    }
    if (expire >= 0) this.command([PEXPIREAT, key, Buffer.from(String(expire), 'latin1')]);
  }

  stringKeyValue(key: Uint8Array, value: Uint8Array): void {
    const a = this.argv;
    a[0] = SET; a[1] = key; a[2] = value;
    this.command(a);
    if (this.pendingExpire >= 0) {
      a[0] = PEXPIREAT; a[2] = Buffer.from(String(this.pendingExpire), 'latin1');
      this.command(a);
      this.pendingExpire = -1;
    }
  }

  private writeAll(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.bytes += b.length;
    this.sinceSync += b.length;
    if (this.incrementalFsync && this.sinceSync >= AUTOSYNC_BYTES) {
      fsyncSync(this.fd);
      this.sinceSync = 0;
    }
  }

  flush(): void {
    if (this.len === 0) return;
    const n = this.len;
    this.len = 0;
    this.writeAll(this.out.subarray(0, n));
  }
}

/** Writes a RESP base file (not renamed: the caller installs it). */
export function writeRespBase(job: WalkJob, opts: RespBaseOptions): BaseWriteResult {
  const t0 = performance.now();
  let fd: number;
  try {
    fd = openSync(opts.path, 'w', 0o644);
  } catch (err) {
    throw new PersistenceIOError(`Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): ${(err as Error).message}`, { cause: err });
  }
  try {
    const sink = new RespFileSink(fd, opts.incrementalFsync);
    if (opts.timestamp) sink.raw(Buffer.from(`#TS:${Math.floor(Date.now() / 1000)}\r\n`, 'latin1'));
    // Gathered collections past the assembly limit spill next to the temp file, as an RDB base's do.
    const stats = new SnapshotWalker({ ...job, spillPath: job.spillPath ?? `${opts.path}.spill` }, sink).run();
    sink.flush();
    fsyncSync(fd);
    return { ...stats, bytes: sink.bytes, durationMs: performance.now() - t0 };
  } catch (err) {
    if (err instanceof Error && err.name === 'SnapshotAbortedError') throw err;
    throw new PersistenceIOError(`Write error writing append only file on disk: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}

export type RewriteTask =
  | { format: 'rdb'; job: WalkJob; rdb: RdbWriteOptions }
  | { format: 'resp'; job: WalkJob; resp: RespBaseOptions };

/** Writes a base in either form. */
export function writeAofBase(task: RewriteTask): BaseWriteResult | RdbWriteResult {
  return task.format === 'rdb' ? writeRdbFile(task.job, task.rdb) : writeRespBase(task.job, task.resp);
}

/** The piscina entry point (BGREWRITEAOF in the snapshot worker thread). */
export default function rewriteTask(task: RewriteTask): BaseWriteResult | RdbWriteResult {
  return writeAofBase(task);
}
