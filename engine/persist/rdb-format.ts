/**
 * Redis RDB format: frozen on-disk codes and a streaming encoder.
 *
 * File layout (RDB 10, what Redis 7.0 writes and loads):
 *
 *   "REDIS0010"                             9-byte magic + 4-digit version
 *   (0xFA aux-key aux-value)*               AUX metadata (redis-ver, ctime, ...)
 *   per database:
 *     0xFE len(db)                          SELECTDB
 *     0xFB len(keys) len(keys-with-ttl)     RESIZEDB (a sizing hint only)
 *     per key: [0xFC int64-LE ms] type-byte key value
 *   0xFF                                    EOF
 *   8-byte little-endian CRC-64/Jones       over every byte above (0 when checksums are off)
 *
 * Lengths ("len") are big-endian variable-size integers: 00xxxxxx (6 bits), 01xxxxxx yyyyyyyy
 * (14 bits), 0x80 + u32, 0x81 + u64. A leading 11xxxxxx marks a specially encoded *string*:
 * C0/C1/C2 = int8/int16/int32 little-endian, C3 = LZF (len(compressed) len(original) bytes).
 *
 * The codes below are stored in files: never renumber them (they mirror Redis's rdb.h values, which
 * Redis itself freezes). Checklist when adding a type code: add it to RDB_TYPE, to RDB_TYPE_NAME, and
 * teach rdb-reader.ts to decode it or to reject it by name.
 *
 * RdbEncoder design. The snapshot worker serializes ~10^6 records per second, so the encoder writes
 * straight into one reusable Uint8Array and never allocates per record. When the buffer fills it is
 * handed to a synchronous sink callback and then reused, so a chunk is only valid during the call.
 * The CRC is folded in per chunk (slicing-by-8, ~1 GB/s) rather than per write. Values larger than
 * the buffer bypass it: the pending chunk is flushed and the value's own bytes go to the sink.
 */
import { Crc64 } from './crc64.js';
import { LzfCompressor } from './lzf.js';
import { ForklessError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Frozen codes
// ---------------------------------------------------------------------------------------------

/** The RDB version Redis 7.0 writes and the highest one it (and we) load. */
export const RDB_VERSION = 10;

/** Opcodes: bytes that can appear where a value type is expected and are not value types. */
export const RDB_OPCODE = {
  FUNCTION2: 0xf5,
  FUNCTION_PRE_GA: 0xf6,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

/** Value type codes (the byte before a key). */
export const RDB_TYPE = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_PRE_GA: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
} as const;

/** Human-readable names for error messages (redis-check-rdb's spelling where it has one). */
export const RDB_TYPE_NAME: Readonly<Record<number, string>> = {
  0: 'string',
  1: 'list-linked',
  2: 'set-hashtable',
  3: 'zset-v1',
  4: 'hash-hashtable',
  5: 'zset-v2',
  6: 'module-pre-release',
  7: 'module-value',
  9: 'hash-zipmap',
  10: 'list-ziplist',
  11: 'set-intset',
  12: 'zset-ziplist',
  13: 'hash-ziplist',
  14: 'quicklist',
  15: 'stream',
  16: 'hash-listpack',
  17: 'zset-listpack',
  18: 'quicklist-v2',
  19: 'stream-v2',
};

/** First byte of a 32-bit / 64-bit big-endian length. */
export const RDB_LEN_32BIT = 0x80;
export const RDB_LEN_64BIT = 0x81;
/** Special string encodings (low 6 bits after a 11xxxxxx length byte). */
export const RDB_ENC = { INT8: 0, INT16: 1, INT32: 2, LZF: 3 } as const;
/** Quicklist v2 node containers. */
export const QUICKLIST_NODE = { PLAIN: 1, PACKED: 2 } as const;

// ---------------------------------------------------------------------------------------------
// Small shared helpers
// ---------------------------------------------------------------------------------------------

const NOT_INT = 0x100000000; // sentinel outside int32 range

/*
 * If `src[off..off+len)` is an integer Redis would store with the INT8/16/32 string encodings,
 * return it; otherwise return NOT_INT. Redis's rule: at most 11 bytes, canonical decimal (optional
 * '-', no leading zeros, no '+', no spaces, "-0" rejected) and within the signed 32-bit range.
 */
function canonicalInt32(src: Uint8Array, off: number, len: number): number {
  if (len === 0 || len > 11) return NOT_INT;
  let p = off;
  const end = off + len;
  let c = src[p]!;
  if (c === 0x30) return len === 1 ? 0 : NOT_INT;
  let neg = false;
  if (c === 0x2d) {
    if (len === 1) return NOT_INT;
    neg = true;
    c = src[++p]!;
  }
  if (c < 0x31 || c > 0x39) return NOT_INT;
  let v = c - 0x30;
  for (p++; p < end; p++) {
    c = src[p]!;
    if (c < 0x30 || c > 0x39) return NOT_INT;
    v = v * 10 + (c - 0x30);
  }
  if (neg) v = -v;
  return v >= -2147483648 && v <= 2147483647 ? v : NOT_INT;
}

/** Size in bytes of the RDB length encoding of `n`. */
export function rdbLenSize(n: number): number {
  return n < 64 ? 1 : n < 16384 ? 2 : n <= 0xffffffff ? 5 : 9;
}

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

/** Receives encoded bytes in order. The chunk is only valid during the call (copy or write it now). */
export type RdbSink = (chunk: Uint8Array) => void;

export interface RdbEncoderOptions {
  /** LZF-compress strings longer than 20 bytes when that saves >= 4 bytes (Redis `rdbcompression`). Default true. */
  compression?: boolean;
  /** Write the CRC-64 trailer; when false the trailer is 8 zero bytes (Redis `rdbchecksum no`). Default true. */
  checksum?: boolean;
  /** Size of the reusable output buffer, in bytes (min 1 KiB). Default 64 KiB. */
  bufferSize?: number;
}

/** A sorted-set entry as the encoder takes it and the reader produces it. */
export interface ZsetEntry {
  member: Uint8Array;
  score: number;
}

const DEFAULT_BUFFER = 64 * 1024;
const MIN_BUFFER = 1024;
/** Copies shorter than this use an index loop; longer ones `Uint8Array.set` (crossover measured ~20 B). */
const SMALL_COPY = 20;

function encodeError(message: string): ForklessError {
  return new ForklessError('ERDBENCODE', message);
}

/**
 * Streaming RDB writer. Call order for a whole file:
 * `header()`, `aux()`*, then per DB `selectDb()`, `resizeDb()`, records (`expireMs()` before a
 * record that has a TTL), and finally `finish()`. Nothing is validated about ordering; the methods
 * write exactly the bytes they describe.
 */
export class RdbEncoder {
  private readonly sink: RdbSink;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly cap: number;
  private pos = 0;
  /** Start of the bytes in `buf` not yet folded into the CRC. */
  private crcFrom = 0;
  private flushedBytes = 0;
  private readonly crc = new Crc64();
  private readonly checksum: boolean;
  private readonly lzf: LzfCompressor | null;
  private lzfOut: Uint8Array = new Uint8Array(0);
  private done = false;

  constructor(sink: RdbSink, options: RdbEncoderOptions = {}) {
    this.sink = sink;
    this.cap = Math.max(MIN_BUFFER, options.bufferSize ?? DEFAULT_BUFFER);
    this.buf = new Uint8Array(this.cap);
    this.view = new DataView(this.buf.buffer);
    this.checksum = options.checksum ?? true;
    this.lzf = (options.compression ?? true) ? new LzfCompressor() : null;
  }

  /** Bytes produced so far (handed to the sink or still buffered). */
  get bytesWritten(): number {
    return this.flushedBytes + this.pos;
  }

  // -- file structure ----------------------------------------------------------------------

  /** "REDIS" + 4-digit version. Versions 1..10 (Redis 7.0 loads none newer). */
  header(version: number = RDB_VERSION): void {
    if (!Number.isInteger(version) || version < 1 || version > RDB_VERSION) {
      throw encodeError(`cannot write RDB version ${version}`);
    }
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x52; b[p++] = 0x45; b[p++] = 0x44; b[p++] = 0x49; b[p++] = 0x53; // REDIS
    const digits = String(version).padStart(4, '0');
    for (let i = 0; i < 4; i++) b[p++] = digits.charCodeAt(i);
    this.pos = p;
  }

  /** AUX field. Strings are UTF-8 encoded; integer-looking values get Redis's integer encoding. */
  aux(key: string | Uint8Array, value: string | number | Uint8Array): void {
    const k = typeof key === 'string' ? utf8(key) : key;
    const v = typeof value === 'string' ? utf8(value) : typeof value === 'number' ? utf8(String(value)) : value;
    this.opcode(RDB_OPCODE.AUX);
    this.stringObject(k);
    this.stringObject(v);
  }

  selectDb(db: number): void {
    this.opcode(RDB_OPCODE.SELECTDB);
    this.length(db);
  }

  resizeDb(dbSize: number, expiresSize: number): void {
    this.opcode(RDB_OPCODE.RESIZEDB);
    this.length(dbSize);
    this.length(expiresSize);
  }

  /** EXPIRETIME_MS for the next record: absolute unix time in ms, int64 little-endian. */
  expireMs(ms: number): void {
    if (!Number.isSafeInteger(ms)) throw encodeError(`expire time ${ms} is not a safe integer`);
    this.ensure(9);
    const b = this.buf;
    const p = this.pos;
    b[p] = RDB_OPCODE.EXPIRETIME_MS;
    const hi = Math.floor(ms / 4294967296);
    const lo = ms - hi * 4294967296;
    this.view.setUint32(p + 1, lo, true);
    this.view.setInt32(p + 5, hi, true);
    this.pos = p + 9;
  }

  /**
   * EOF opcode + CRC trailer, then flush everything to the sink. Returns the file size in bytes.
   * The encoder cannot be used afterwards.
   */
  finish(): number {
    this.ensure(9);
    this.buf[this.pos++] = RDB_OPCODE.EOF;
    if (this.checksum) {
      this.crc.update(this.buf, this.crcFrom, this.pos - this.crcFrom);
      this.crc.writeLE(this.buf, this.pos);
    } else {
      this.buf.fill(0, this.pos, this.pos + 8);
    }
    this.pos += 8;
    this.crcFrom = this.pos; // the trailer is not part of the checksummed range
    this.flush();
    this.done = true;
    return this.flushedBytes;
  }

  /** The CRC of the finished file as 16 hex digits ("0000000000000000" when checksums are off). */
  checksumHex(): string {
    return this.checksum ? this.crc.hex() : '0000000000000000';
  }

  /** Hand buffered bytes to the sink now (a no-op after `finish()`, which flushes everything). */
  flush(): void {
    const n = this.pos;
    if (n === 0) return;
    if (this.checksum && n > this.crcFrom) this.crc.update(this.buf, this.crcFrom, n - this.crcFrom);
    this.pos = 0;
    this.crcFrom = 0;
    this.flushedBytes += n;
    this.sink(this.buf.subarray(0, n));
  }

  // -- records -----------------------------------------------------------------------------

  /*
   * Type 0 record: 0x00, key, value, both with Redis's string rules.
   *
   * Why the fast path: this is the per-key hot loop of a snapshot. When both strings fit in the
   * free buffer space and cannot be LZF candidates, everything is written with one bounds check.
   */
  stringKeyValue(key: Uint8Array, value: Uint8Array): void {
    this.stringKeyValueAt(key, 0, key.length, value, 0, value.length);
  }

  /** Like `stringKeyValue` but takes byte ranges, so callers reading from a shared arena need no subarrays. */
  stringKeyValueAt(
    keySrc: Uint8Array, keyOff: number, keyLen: number,
    valSrc: Uint8Array, valOff: number, valLen: number,
  ): void {
    const need = 11 + keyLen + valLen;
    if (need <= this.cap - this.pos && (this.lzf === null || (keyLen <= 20 && valLen <= 20))) {
      this.buf[this.pos++] = RDB_TYPE.STRING;
      this.putStringNoLzf(keySrc, keyOff, keyLen);
      this.putStringNoLzf(valSrc, valOff, valLen);
      return;
    }
    this.type(RDB_TYPE.STRING);
    this.stringObject(keySrc, keyOff, keyLen);
    this.stringObject(valSrc, valOff, valLen);
  }

  /** Type 1 (plain linked list): len + items. Redis 7.0 loads it and converts to a quicklist. */
  listKeyValue(key: Uint8Array, items: Iterable<Uint8Array>, count?: number): void {
    const n = sizeOf(items, count);
    this.type(RDB_TYPE.LIST);
    this.stringObject(key);
    this.length(n);
    let seen = 0;
    for (const item of items) {
      this.stringObject(item);
      seen++;
    }
    if (seen !== n) throw encodeError(`list announced ${n} items but ${seen} were supplied`);
  }

  /** Type 2 (hashtable set): len + members. Members must be unique (the loader rejects duplicates). */
  setKeyValue(key: Uint8Array, members: Iterable<Uint8Array>, count?: number): void {
    const n = sizeOf(members, count);
    this.type(RDB_TYPE.SET);
    this.stringObject(key);
    this.length(n);
    let seen = 0;
    for (const m of members) {
      this.stringObject(m);
      seen++;
    }
    if (seen !== n) throw encodeError(`set announced ${n} members but ${seen} were supplied`);
  }

  /**
   * Type 5 (zset v2): len + (member, 8-byte little-endian double) pairs, in the order given
   * (Redis writes highest score first so its loader inserts at the list head; any order loads).
   * NaN scores are rejected by every loader, so they are rejected here.
   */
  zsetKeyValue(key: Uint8Array, entries: Iterable<ZsetEntry>, count?: number): void {
    const n = sizeOf(entries, count);
    this.type(RDB_TYPE.ZSET_2);
    this.stringObject(key);
    this.length(n);
    let seen = 0;
    for (const e of entries) {
      if (Number.isNaN(e.score)) throw encodeError('zset score is NaN');
      this.stringObject(e.member);
      this.binaryDouble(e.score);
      seen++;
    }
    if (seen !== n) throw encodeError(`zset announced ${n} entries but ${seen} were supplied`);
  }

  /** Type 4 (hashtable hash): len + (field, value) pairs. Fields must be unique. */
  hashKeyValue(key: Uint8Array, entries: Iterable<readonly [Uint8Array, Uint8Array]>, count?: number): void {
    const n = sizeOf(entries, count);
    this.type(RDB_TYPE.HASH);
    this.stringObject(key);
    this.length(n);
    let seen = 0;
    for (const [f, v] of entries) {
      this.stringObject(f);
      this.stringObject(v);
      seen++;
    }
    if (seen !== n) throw encodeError(`hash announced ${n} fields but ${seen} were supplied`);
  }

  // -- primitives (for writers of other encodings) -----------------------------------------

  /** A value type byte (RDB_TYPE.*). */
  type(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  /** A collection record from the snapshot serializer: type, key, value already RDB-encoded. */
  collection(rdbType: number, key: Uint8Array, value: Uint8Array): void {
    this.type(rdbType);
    this.stringObject(key);
    this.rawBytes(value);
  }

  /** An opcode byte (RDB_OPCODE.*). */
  opcode(code: number): void {
    this.ensure(1);
    this.buf[this.pos++] = code;
  }

  /** An RDB length in its smallest form. */
  length(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw encodeError(`invalid RDB length ${n}`);
    this.ensure(9);
    this.pos = this.putLen(this.pos, n);
  }

  /*
   * A string with Redis's rdbSaveRawString rules: canonical integers of <= 11 bytes that fit int32
   * use INT8/16/32; otherwise, with compression on and more than 20 bytes, LZF if the result is at
   * least 4 bytes shorter; otherwise length + raw bytes.
   */
  stringObject(src: Uint8Array, off = 0, len: number = src.length - off): void {
    if (len <= 11) {
      const v = canonicalInt32(src, off, len);
      if (v !== NOT_INT) {
        this.ensure(5);
        this.pos = this.putInt(this.pos, v);
        return;
      }
    } else if (this.lzf !== null && len > 20 && this.tryLzf(src, off, len)) {
      return;
    }
    this.lengthPrefixedRaw(src, off, len);
  }

  /** len + bytes, never integer- or LZF-encoded. */
  lengthPrefixedRaw(src: Uint8Array, off = 0, len: number = src.length - off): void {
    this.ensure(9);
    this.pos = this.putLen(this.pos, len);
    this.rawBytes(src, off, len);
  }

  /** Bytes copied verbatim (for payloads that are already encoded, e.g. a listpack blob's body). */
  rawBytes(src: Uint8Array, off = 0, len: number = src.length - off): void {
    const free = this.cap - this.pos;
    if (len <= free) {
      this.copyIn(src, off, len);
      return;
    }
    if (len >= this.cap >>> 1) {
      // Large payload: flush what we have and pass the caller's bytes through without copying.
      this.flush();
      if (this.checksum) this.crc.update(src, off, len);
      this.flushedBytes += len;
      this.sink(off === 0 && len === src.length ? src : src.subarray(off, off + len));
      return;
    }
    this.copyIn(src, off, free);
    this.flush();
    this.copyIn(src, off + free, len - free);
  }

  /** 8-byte little-endian IEEE-754 double (zset v2 scores). */
  binaryDouble(d: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, d, true);
    this.pos += 8;
  }

  // -- internals ---------------------------------------------------------------------------

  private ensure(n: number): void {
    if (this.done) throw encodeError('RdbEncoder used after finish()');
    if (this.pos + n > this.cap) this.flush();
  }

  private copyIn(src: Uint8Array, off: number, len: number): void {
    const b = this.buf;
    let p = this.pos;
    if (len < SMALL_COPY) {
      for (let i = 0; i < len; i++) b[p++] = src[off + i]!;
    } else {
      b.set(off === 0 && len === src.length ? src : src.subarray(off, off + len), p);
      p += len;
    }
    this.pos = p;
  }

  /** Write a length at `p` (space already ensured); returns the new position. */
  private putLen(p: number, n: number): number {
    const b = this.buf;
    if (n < 64) {
      b[p++] = n;
    } else if (n < 16384) {
      b[p++] = 0x40 | (n >>> 8);
      b[p++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      b[p++] = RDB_LEN_32BIT;
      this.view.setUint32(p, n, false);
      p += 4;
    } else {
      b[p++] = RDB_LEN_64BIT;
      this.view.setUint32(p, Math.floor(n / 4294967296), false);
      this.view.setUint32(p + 4, n >>> 0, false);
      p += 8;
    }
    return p;
  }

  /** Integer string encoding at `p` (space already ensured); returns the new position. */
  private putInt(p: number, v: number): number {
    const b = this.buf;
    if (v >= -128 && v <= 127) {
      b[p] = 0xc0 | RDB_ENC.INT8;
      b[p + 1] = v;
      return p + 2;
    }
    if (v >= -32768 && v <= 32767) {
      b[p] = 0xc0 | RDB_ENC.INT16;
      b[p + 1] = v;
      b[p + 2] = v >> 8;
      return p + 3;
    }
    b[p] = 0xc0 | RDB_ENC.INT32;
    b[p + 1] = v;
    b[p + 2] = v >> 8;
    b[p + 3] = v >> 16;
    b[p + 4] = v >> 24;
    return p + 5;
  }

  /** String without the LZF option; caller guarantees `len + 9` bytes of space. */
  private putStringNoLzf(src: Uint8Array, off: number, len: number): void {
    if (len <= 11) {
      const v = canonicalInt32(src, off, len);
      if (v !== NOT_INT) {
        this.pos = this.putInt(this.pos, v);
        return;
      }
    }
    this.pos = this.putLen(this.pos, len);
    this.copyIn(src, off, len);
  }

  /** LZF attempt with Redis's budget (original length - 4). Returns false to store the string raw. */
  private tryLzf(src: Uint8Array, off: number, len: number): boolean {
    const budget = len - 4;
    if (this.lzfOut.length < budget) this.lzfOut = new Uint8Array(Math.max(budget, this.lzfOut.length * 2));
    const clen = this.lzf!.compress(src, off, len, this.lzfOut, 0, budget);
    if (clen === 0) return false;
    this.ensure(19);
    this.buf[this.pos++] = 0xc0 | RDB_ENC.LZF;
    this.pos = this.putLen(this.pos, clen);
    this.pos = this.putLen(this.pos, len);
    this.rawBytes(this.lzfOut, 0, clen);
    return true;
  }
}

function sizeOf(items: Iterable<unknown>, count: number | undefined): number {
  if (count !== undefined) return count;
  if (Array.isArray(items)) return items.length;
  const sized = items as { size?: unknown };
  if (typeof sized.size === 'number') return sized.size;
  throw encodeError('collection size unknown: pass `count` for iterables without length/size');
}

const textEncoder = new TextEncoder();
function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}
