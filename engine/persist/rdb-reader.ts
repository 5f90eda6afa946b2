/**
 * RDB reader: decodes a whole Redis RDB file (versions 1..10, i.e. anything Redis 7.0 can load)
 * held in one Uint8Array and reports its contents to a visitor.
 *
 * What it understands:
 *   strings      raw, INT8/16/32, LZF
 *   lists        1 plain, 10 ziplist, 14 quicklist (ziplist nodes), 18 quicklist v2 (PLAIN and
 *                PACKED listpack nodes)
 *   sets         2 hashtable, 11 intset
 *   sorted sets  3 (ASCII scores, 253/254/255 = NaN/+inf/-inf), 5 (binary scores), 12 ziplist,
 *                17 listpack
 *   hashes       4 hashtable, 9 zipmap, 13 ziplist, 16 listpack
 *   opcodes      AUX, SELECTDB, RESIZEDB, EXPIRETIME_MS, EXPIRETIME (seconds), IDLE and FREQ
 *                (read and ignored), EOF + CRC-64
 * What it refuses, by name, with a CorruptFileError: streams (15, 19), module values (6, 7),
 * MODULE_AUX, and Redis Functions libraries (FUNCTION / FUNCTION2). Forkless has no equivalent, so
 * silently skipping them would lose data.
 *
 * Error model. Every problem with the bytes becomes a CorruptFileError(file, offset, reason), where
 * `offset` is the byte where the problem was detected (for a truncated file: where the short read
 * started; inside a ziplist/listpack/intset/zipmap: the offending entry; inside an LZF-compressed
 * blob, where inner offsets have no file position: the start of that string, with the inner offset
 * in the reason). Reasons reuse redis-server's wording where it has one. Errors thrown by the
 * visitor propagate unchanged. The visitor may already have received calls when an error is
 * thrown (the checksum, for one, can only be checked at the end): callers must treat a throw as
 * "discard everything".
 *
 * Load semantics copied from Redis 7.0: empty collections are skipped (not reported; counted in
 * the result), duplicate set members / hash fields / zset members are corruption, NaN zset scores
 * are corruption, a stored checksum of 0 means "saved with checksum disabled". Not checked here,
 * because they are keyspace decisions: duplicate top-level keys, DB index limits, and keys whose
 * expire time is already in the past (Redis drops those on a master).
 *
 * Lifetimes. Byte views handed to the visitor (keys, values, items) may point into the input
 * buffer, and the `{type:'string'}` value object is reused between calls: both are valid only
 * during the visitor call. Copy what you keep.
 */
import { Buffer } from 'node:buffer';
import { CorruptFileError } from '../errors.js';
import { Crc64 } from './crc64.js';
import { lzfDecompress } from './lzf.js';
import { RDB_OPCODE, RDB_TYPE, RDB_TYPE_NAME, RDB_VERSION, QUICKLIST_NODE, type ZsetEntry } from './rdb-format.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type { ZsetEntry } from './rdb-format.js';

/**
 * A decoded value. Encodings are not reported, except `packed`: the file held the collection as a
 * listpack, ziplist or intset, which Redis's loader keeps compact whatever the element lengths,
 * converting only past the entry-count limit (a zipmap is checked for lengths too: not packed).
 */
export type RdbValue =
  | { readonly type: 'string'; readonly value: Uint8Array }
  | { readonly type: 'list'; readonly items: Uint8Array[] }
  | { readonly type: 'set'; readonly members: Uint8Array[]; readonly packed?: boolean }
  | { readonly type: 'zset'; readonly entries: ZsetEntry[]; readonly packed?: boolean }
  | { readonly type: 'hash'; readonly entries: Array<[Uint8Array, Uint8Array]>; readonly packed?: boolean };

export interface RdbVisitor {
  /** AUX field; key and value decoded as latin1 (one char per byte, so nothing is lost). */
  aux?(key: string, value: string): void;
  /** SELECTDB: following keys belong to `db`. May repeat and need not be increasing. */
  selectDb?(db: number): void;
  /** RESIZEDB sizing hint for the current DB. */
  resizeDb?(dbSize: number, expiresSize: number): void;
  /**
   * One key. `expireMs` is the absolute unix time in ms, or -1 for no TTL. `key` and the byte views
   * inside `value` may alias the input buffer and `value` itself may be reused: valid only during
   * this call.
   */
  key(db: number, key: Uint8Array, value: RdbValue, expireMs: number): void;
}

export interface RdbReadOptions {
  /** Verify the CRC-64 trailer (when the file has one and it is not 0). Default true. */
  verifyChecksum?: boolean;
}

export interface RdbReadResult {
  /** RDB format version from the header. */
  version: number;
  /** Keys reported to the visitor. */
  keys: number;
  /** Empty collections that Redis would also have skipped. */
  emptyKeysSkipped: number;
  /**
   * 'verified': trailer matched; 'skipped': verification was turned off; 'disabled-in-file': the
   * file was written with checksums off (trailer 0); 'absent': version < 5 has no trailer.
   */
  checksum: 'verified' | 'skipped' | 'disabled-in-file' | 'absent';
  /** Offset just past the last byte the loader consumes (bytes after it are ignored, as Redis does). */
  endOffset: number;
}

/**
 * Decode the RDB file in `bytes`, calling `visitor` for each record. `fileName` only labels errors.
 * @throws CorruptFileError for any malformed, truncated or unsupported content.
 */
export function readRdb(
  bytes: Uint8Array,
  fileName: string,
  visitor: RdbVisitor,
  options: RdbReadOptions = {},
): RdbReadResult {
  return new RdbParser(bytes, fileName, visitor, options.verifyChecksum ?? true).run();
}

/**
 * Decodes one value in its RDB encoding (the bytes after a record's type byte and key), e.g. a
 * collection the snapshot serializer assembled, for consumers that need elements rather than RDB
 * (the AOF rewrite without a preamble). Returns null for an empty collection.
 * @throws CorruptFileError naming `label` and the offset inside `bytes`.
 */
export function decodeRdbValue(type: number, bytes: Uint8Array, label: string): RdbValue | null {
  const p = new RdbParser(bytes, label, { key() { /* unused */ } }, false);
  return p.valueOnly(type);
}

// ---------------------------------------------------------------------------------------------
// Internal representation of ziplist / listpack entries
// ---------------------------------------------------------------------------------------------

/** An entry of a packed encoding: bytes for strings, number (or bigint beyond 2^53) for integers. */
type PackedEntry = Uint8Array | number | bigint;

const MAX_LZF_RATIO = 100; // LZF expands at most ~88x (3 input bytes -> 264 output bytes)

function intBytes(v: number | bigint): Uint8Array {
  if (typeof v === 'number' && v >= 0 && v < 10) {
    const one = new Uint8Array(1);
    one[0] = 0x30 + v;
    return one;
  }
  const s = String(v);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function entryBytes(e: PackedEntry): Uint8Array {
  return e instanceof Uint8Array ? e : intBytes(e);
}

/** Signed int64 from little-endian halves; bigint only when it is outside the safe range. */
function int64FromHalves(lo: number, hi: number): number | bigint {
  if (hi >= -0x200000 && hi < 0x200000) return hi * 4294967296 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/*
 * Parse a score stored as text, the way strtod/sscanf("%lg") would: leading whitespace, optional
 * sign, decimal or "inf"/"infinity"/"nan" in any case; trailing garbage is ignored. Returns
 * undefined when no number can be read at all.
 */
function parseScoreText(b: Uint8Array): number | undefined {
  const s = latin1(b).trim();
  if (s.length === 0) return undefined;
  // Number() also reads JS-only forms (0b101, 0o7) that strtod does not; leave those to parseFloat.
  const n = /^[+-]?0[bo]/i.test(s) ? NaN : Number(s);
  if (!Number.isNaN(n)) return n;
  const lower = s.toLowerCase();
  const sign = lower[0] === '-' ? -1 : 1;
  const body = lower[0] === '-' || lower[0] === '+' ? lower.slice(1) : lower;
  if (body.startsWith('inf')) return sign * Infinity;
  if (body.startsWith('nan')) return NaN;
  const f = parseFloat(s);
  return Number.isNaN(f) ? undefined : f;
}

/** Tracks set members / hash fields / zset members to reject duplicates, as Redis's loader does. */
class DupCheck {
  private readonly seen = new Set<string>();
  /** False if `b` was already added. */
  add(b: Uint8Array): boolean {
    const k = latin1(b);
    if (this.seen.has(k)) return false;
    this.seen.add(k);
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

class RdbParser {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly end: number;
  private pos = 0;
  private version = 0;
  /** Reused for every string value handed to the visitor (see lifetimes in the file comment). */
  private readonly stringValue: { type: 'string'; value: Uint8Array } = { type: 'string', value: new Uint8Array(0) };

  // Where the last string read by readString() came from, so blob errors can name file offsets.
  /** File offset of the string's first byte (its length/encoding byte). */
  private strStart = 0;
  /** File offset of the string's data when stored raw, -1 when it was LZF- or int-encoded. */
  private strDataOff = -1;

  constructor(
    bytes: Uint8Array,
    private readonly file: string,
    private readonly visitor: RdbVisitor,
    private readonly verify: boolean,
  ) {
    this.buf = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
  }

  // -- errors and bounds -------------------------------------------------------------------

  private fail(offset: number, reason: string, cause?: unknown): never {
    throw new CorruptFileError(this.file, offset, reason, cause === undefined ? undefined : { cause });
  }

  /** Require `n` more bytes at the cursor. */
  private need(n: number): void {
    if (n > this.end - this.pos) {
      this.fail(this.pos, `Unexpected EOF reading RDB file (need ${n} bytes, ${this.end - this.pos} left)`);
    }
  }

  // -- primitives --------------------------------------------------------------------------

  /*
   * An RDB length. Like Redis's rdbLoadLen without an "is encoded" out-parameter, an 11xxxxxx byte
   * yields its low 6 bits; string readers check for that form before calling this.
   */
  private readLen(): number {
    this.need(1);
    const start = this.pos;
    const b = this.buf[this.pos++]!;
    const kind = b >>> 6;
    if (kind === 0 || kind === 3) return b & 0x3f;
    if (kind === 1) {
      this.need(1);
      return ((b & 0x3f) << 8) | this.buf[this.pos++]!;
    }
    if (b === 0x80) {
      this.need(4);
      const v = this.u32be(this.pos);
      this.pos += 4;
      return v;
    }
    if (b === 0x81) {
      this.need(8);
      const hi = this.u32be(this.pos);
      const lo = this.u32be(this.pos + 4);
      this.pos += 8;
      if (hi > 0x1fffff) this.fail(start, `Length ${(BigInt(hi) << 32n) | BigInt(lo)} is too large`);
      return hi * 4294967296 + lo;
    }
    return this.fail(start, `Unknown length encoding ${kind} in rdbLoadLen() (byte 0x${b.toString(16)})`);
  }

  /** A count of things that each take at least `minBytes` bytes: rejects counts the file cannot hold. */
  private readCount(minBytes: number, what: string): number {
    const start = this.pos;
    const n = this.readLen();
    if (n > (this.end - this.pos) / minBytes) {
      this.fail(start, `${what} count ${n} is larger than the rest of the file can hold`);
    }
    return n;
  }

  private u32be(p: number): number {
    const b = this.buf;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  private u32le(p: number): number {
    const b = this.buf;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /*
   * A string object (raw, integer-encoded or LZF). Raw strings are returned as views into the
   * input; the other forms allocate. Records strStart/strDataOff for blob error offsets.
   */
  private readString(): Uint8Array {
    const start = this.pos;
    this.strStart = start;
    this.need(1);
    const b = this.buf[start]!;
    let len: number;
    if (b < 0x40) {
      this.pos = start + 1;
      len = b;
    } else if (b >= 0xc0) {
      this.pos = start + 1;
      this.strDataOff = -1;
      return this.readEncodedString(b & 0x3f, start);
    } else {
      len = this.readLen();
    }
    if (len > this.end - this.pos) {
      this.fail(start, `Unexpected EOF reading RDB file (string of ${len} bytes, ${this.end - this.pos} left)`);
    }
    const p = this.pos;
    this.strDataOff = p;
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  private readEncodedString(enc: number, start: number): Uint8Array {
    const b = this.buf;
    switch (enc) {
      case 0: {
        this.need(1);
        const v = (b[this.pos]! << 24) >> 24;
        this.pos += 1;
        return intBytes(v);
      }
      case 1: {
        this.need(2);
        const v = ((b[this.pos]! | (b[this.pos + 1]! << 8)) << 16) >> 16;
        this.pos += 2;
        return intBytes(v);
      }
      case 2: {
        this.need(4);
        const v = this.u32le(this.pos) | 0;
        this.pos += 4;
        return intBytes(v);
      }
      case 3: {
        const clen = this.readLen();
        const ulen = this.readLen();
        if (clen > this.end - this.pos) {
          this.fail(start, `Unexpected EOF reading RDB file (LZF payload of ${clen} bytes, ${this.end - this.pos} left)`);
        }
        if (ulen === 0 || clen === 0 || ulen > clen * MAX_LZF_RATIO) {
          this.fail(start, `Invalid LZF compressed string (compressed ${clen} bytes, original ${ulen} bytes)`);
        }
        const out = new Uint8Array(ulen);
        let produced: number;
        try {
          produced = lzfDecompress(b, this.pos, clen, out, 0, ulen);
        } catch (err) {
          return this.fail(start, `Invalid LZF compressed string (${(err as Error).message})`, err);
        }
        if (produced !== ulen) {
          this.fail(start, `Invalid LZF compressed string (decompressed to ${produced} bytes, expected ${ulen})`);
        }
        this.pos += clen;
        return out;
      }
      default:
        return this.fail(start, `Unknown RDB string encoding type ${enc}`);
    }
  }

  /** Fail inside a blob (ziplist/listpack/...) read by the last readString(). */
  private failBlob(inner: number, reason: string): never {
    if (this.strDataOff >= 0) this.fail(this.strDataOff + inner, reason);
    return this.fail(this.strStart, `${reason} (at byte ${inner} of the LZF-compressed payload)`);
  }

  // -- main loop ---------------------------------------------------------------------------

  run(): RdbReadResult {
    const buf = this.buf;
    this.need(9);
    if (buf[0] !== 0x52 || buf[1] !== 0x45 || buf[2] !== 0x44 || buf[3] !== 0x49 || buf[4] !== 0x53) {
      this.fail(0, 'Wrong signature trying to load DB from file');
    }
    // atoi() semantics on the 4 version characters: leading digits only.
    let version = 0;
    for (let i = 5; i < 9; i++) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) break;
      version = version * 10 + (c - 0x30);
    }
    if (version < 1 || version > RDB_VERSION) this.fail(5, `Can't handle RDB format version ${version}`);
    this.version = version;
    this.pos = 9;

    const visitor = this.visitor;
    let db = 0;
    let expire = -1;
    let keys = 0;
    let emptyKeysSkipped = 0;
    const sv = this.stringValue;

    for (;;) {
      if (this.pos >= this.end) this.fail(this.pos, 'Unexpected EOF reading RDB file (expected a type or opcode)');
      const typeOff = this.pos;
      const t = buf[this.pos++]!;

      if (t === RDB_TYPE.STRING) {
        // Hot path: most keys are strings.
        const key = this.readString();
        sv.value = this.readString();
        visitor.key(db, key, sv, expire);
        keys++;
        expire = -1;
        continue;
      }
      if (t >= 0xf5) {
        switch (t) {
          case RDB_OPCODE.EOF:
            return this.finishAt(typeOff, keys, emptyKeysSkipped);
          case RDB_OPCODE.SELECTDB:
            db = this.readLen();
            visitor.selectDb?.(db);
            continue;
          case RDB_OPCODE.RESIZEDB: {
            const dbSize = this.readLen();
            const expiresSize = this.readLen();
            visitor.resizeDb?.(dbSize, expiresSize);
            continue;
          }
          case RDB_OPCODE.EXPIRETIME_MS: {
            this.need(8);
            const lo = this.u32le(this.pos);
            const hi = this.u32le(this.pos + 4) | 0;
            this.pos += 8;
            expire = hi * 4294967296 + lo;
            continue;
          }
          case RDB_OPCODE.EXPIRETIME: {
            this.need(4);
            expire = (this.u32le(this.pos) | 0) * 1000;
            this.pos += 4;
            continue;
          }
          case RDB_OPCODE.AUX: {
            const k = latin1(this.readString());
            const v = latin1(this.readString());
            visitor.aux?.(k, v);
            continue;
          }
          case RDB_OPCODE.IDLE:
            this.readLen();
            continue;
          case RDB_OPCODE.FREQ:
            this.need(1);
            this.pos++;
            continue;
          case RDB_OPCODE.MODULE_AUX:
            return this.fail(typeOff, 'Unsupported RDB content: module AUX data (opcode 0xf7); forkless does not load Redis modules');
          case RDB_OPCODE.FUNCTION2:
          case RDB_OPCODE.FUNCTION_PRE_GA:
            return this.fail(
              typeOff,
              `Unsupported RDB content: Redis Functions library (opcode 0x${t.toString(16)}); forkless does not support FUNCTION LOAD`,
            );
          default:
            break; // 0xf5..0xff are all handled above
        }
      }

      this.checkType(t, typeOff);
      const key = this.readString();
      const value = this.readObject(t);
      if (value === null) {
        emptyKeysSkipped++;
      } else {
        visitor.key(db, key, value, expire);
        keys++;
      }
      expire = -1;
    }
  }

  /** EOF opcode at `eofOff`: read and check the CRC trailer (RDB >= 5). */
  private finishAt(eofOff: number, keys: number, emptyKeysSkipped: number): RdbReadResult {
    const base = { version: this.version, keys, emptyKeysSkipped };
    if (this.version < 5) return { ...base, checksum: 'absent', endOffset: this.pos };
    this.need(8);
    const crcOff = this.pos;
    this.pos += 8;
    const stored = new Crc64();
    stored.lo = this.u32le(crcOff);
    stored.hi = this.u32le(crcOff + 4);
    if (stored.lo === 0 && stored.hi === 0) return { ...base, checksum: 'disabled-in-file', endOffset: this.pos };
    if (!this.verify) return { ...base, checksum: 'skipped', endOffset: this.pos };
    const actual = new Crc64();
    actual.update(this.buf, 0, eofOff + 1);
    if (actual.lo !== stored.lo || actual.hi !== stored.hi) {
      this.fail(
        crcOff,
        `Wrong RDB checksum expected: (${actual.value().toString(16)}) but got (${stored.value().toString(16)})`,
      );
    }
    return { ...base, checksum: 'verified', endOffset: this.pos };
  }

  // -- values ------------------------------------------------------------------------------

  /** Reject value types we cannot load before reading the key, so the error names the type byte. */
  private checkType(t: number, typeOff: number): void {
    if (t === RDB_TYPE.STREAM_LISTPACKS || t === RDB_TYPE.STREAM_LISTPACKS_2) {
      this.fail(typeOff, `Unsupported RDB content: stream value (type ${t}, ${RDB_TYPE_NAME[t]}); forkless does not support streams`);
    }
    if (t === RDB_TYPE.MODULE_PRE_GA || t === RDB_TYPE.MODULE_2) {
      this.fail(typeOff, `Unsupported RDB content: module value (type ${t}); forkless does not load Redis modules`);
    }
    if (t > RDB_TYPE.STREAM_LISTPACKS_2 || t === 8) this.fail(typeOff, `Invalid object type: ${t}`);
  }

  /** Decode the value of type `t` (already checked by checkType). Returns null for an empty collection. */
  /** decodeRdbValue's entry point: the whole buffer is one value of type t. */
  valueOnly(t: number): RdbValue | null {
    this.version = RDB_VERSION;
    const v = this.readObject(t);
    if (this.pos !== this.end) this.fail(this.pos, `${this.end - this.pos} bytes after the value`);
    return v;
  }

  private readObject(t: number): RdbValue | null {
    switch (t) {
      case RDB_TYPE.LIST:
        return this.readPlainList();
      case RDB_TYPE.SET:
        return this.readPlainSet();
      case RDB_TYPE.ZSET:
      case RDB_TYPE.ZSET_2:
        return this.readPlainZset(t === RDB_TYPE.ZSET_2);
      case RDB_TYPE.HASH:
        return this.readPlainHash();
      case RDB_TYPE.HASH_ZIPMAP:
        return this.readZipmapHash();
      case RDB_TYPE.LIST_ZIPLIST: {
        const blob = this.readString();
        const items = this.decodeZiplist(blob, 'List ziplist').map(entryBytes);
        return items.length === 0 ? null : { type: 'list', items };
      }
      case RDB_TYPE.SET_INTSET:
        return this.readIntset();
      case RDB_TYPE.ZSET_ZIPLIST:
      case RDB_TYPE.ZSET_LISTPACK: {
        const isZl = t === RDB_TYPE.ZSET_ZIPLIST;
        const label = isZl ? 'Zset ziplist' : 'Zset listpack';
        const blob = this.readString();
        const blobStart = this.strDataOff;
        const ents = isZl ? this.decodeZiplist(blob, label) : this.decodeListpack(blob, label);
        return this.pairsToZset(ents, label, blobStart);
      }
      case RDB_TYPE.HASH_ZIPLIST:
      case RDB_TYPE.HASH_LISTPACK: {
        const isZl = t === RDB_TYPE.HASH_ZIPLIST;
        const label = isZl ? 'Hash ziplist' : 'Hash listpack';
        const blob = this.readString();
        const blobStart = this.strDataOff;
        const ents = isZl ? this.decodeZiplist(blob, label) : this.decodeListpack(blob, label);
        return this.pairsToHash(ents, label, blobStart);
      }
      case RDB_TYPE.LIST_QUICKLIST:
      case RDB_TYPE.LIST_QUICKLIST_2:
        return this.readQuicklist(t === RDB_TYPE.LIST_QUICKLIST_2);
      default:
        return this.fail(this.pos, `Invalid object type: ${t}`);
    }
  }

  private readPlainList(): RdbValue | null {
    const n = this.readCount(1, 'List');
    if (n === 0) return null;
    const items: Uint8Array[] = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) items[i] = this.readString();
    return { type: 'list', items };
  }

  private readPlainSet(): RdbValue | null {
    const n = this.readCount(1, 'Set');
    if (n === 0) return null;
    const members: Uint8Array[] = new Array<Uint8Array>(n);
    const dups = new DupCheck();
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const m = this.readString();
      if (!dups.add(m)) this.fail(at, 'Duplicate set members detected');
      members[i] = m;
    }
    return { type: 'set', members };
  }

  private readPlainZset(binary: boolean): RdbValue | null {
    const n = this.readCount(binary ? 9 : 2, 'Zset');
    if (n === 0) return null;
    const entries: ZsetEntry[] = new Array<ZsetEntry>(n);
    const dups = new DupCheck();
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const member = this.readString();
      const scoreAt = this.pos;
      let score: number;
      if (binary) {
        this.need(8);
        score = this.view.getFloat64(this.pos, true);
        this.pos += 8;
      } else {
        score = this.readAsciiDouble();
      }
      if (Number.isNaN(score)) this.fail(scoreAt, 'Zset with NAN score detected');
      if (!dups.add(member)) this.fail(at, 'Duplicate zset fields detected');
      entries[i] = { member, score };
    }
    return { type: 'zset', entries };
  }

  /** Zset v1 score: length byte (253 NaN, 254 +inf, 255 -inf) then that many ASCII characters. */
  private readAsciiDouble(): number {
    this.need(1);
    const start = this.pos;
    const len = this.buf[this.pos++]!;
    if (len === 255) return -Infinity;
    if (len === 254) return Infinity;
    if (len === 253) return NaN;
    this.need(len);
    const v = parseScoreText(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    if (v === undefined) this.fail(start, 'Invalid zset score (not a number)');
    return v;
  }

  private readPlainHash(): RdbValue | null {
    const n = this.readCount(2, 'Hash');
    if (n === 0) return null;
    const entries: Array<[Uint8Array, Uint8Array]> = new Array<[Uint8Array, Uint8Array]>(n);
    const dups = new DupCheck();
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const field = this.readString();
      const value = this.readString();
      if (!dups.add(field)) this.fail(at, 'Duplicate hash fields detected');
      entries[i] = [field, value];
    }
    return { type: 'hash', entries };
  }

  /*
   * Quicklist: len(nodes), then per node [v2: len(container)] + string. v1 nodes are ziplists; v2
   * nodes are listpacks (PACKED) or a single element (PLAIN). Empty packed nodes are skipped, as
   * Redis does; a list that ends up empty is reported as an empty key.
   */
  private readQuicklist(v2: boolean): RdbValue | null {
    const nodes = this.readCount(v2 ? 2 : 1, 'Quicklist node');
    if (nodes === 0) return null;
    const items: Uint8Array[] = [];
    for (let i = 0; i < nodes; i++) {
      let container: number = QUICKLIST_NODE.PACKED;
      if (v2) {
        const at = this.pos;
        container = this.readLen();
        if (container !== QUICKLIST_NODE.PACKED && container !== QUICKLIST_NODE.PLAIN) {
          this.fail(at, `Quicklist integrity check failed. (node container ${container})`);
        }
      }
      const at = this.pos;
      const data = this.readString();
      if (data.length === 0) this.fail(at, 'Quicklist integrity check failed. (empty node)');
      if (container === QUICKLIST_NODE.PLAIN) {
        items.push(data);
        continue;
      }
      const ents = v2 ? this.decodeListpack(data, 'Listpack') : this.decodeZiplist(data, 'Ziplist');
      for (let j = 0; j < ents.length; j++) items.push(entryBytes(ents[j]!));
    }
    return items.length === 0 ? null : { type: 'list', items };
  }

  private pairsToHash(ents: PackedEntry[], label: string, blobStart: number): RdbValue | null {
    if ((ents.length & 1) !== 0) this.failBlob(0, `${label} integrity check failed. (odd number of entries: ${ents.length})`);
    if (ents.length === 0) return null;
    const n = ents.length >>> 1;
    const entries: Array<[Uint8Array, Uint8Array]> = new Array<[Uint8Array, Uint8Array]>(n);
    const dups = new DupCheck();
    for (let i = 0; i < n; i++) {
      const field = entryBytes(ents[2 * i]!);
      if (!dups.add(field)) this.failAtBlobStart(blobStart, `${label} integrity check failed. (duplicate field)`);
      entries[i] = [field, entryBytes(ents[2 * i + 1]!)];
    }
    return { type: 'hash', entries, packed: true };
  }

  private pairsToZset(ents: PackedEntry[], label: string, blobStart: number): RdbValue | null {
    if ((ents.length & 1) !== 0) this.failBlob(0, `${label} integrity check failed. (odd number of entries: ${ents.length})`);
    if (ents.length === 0) return null;
    const n = ents.length >>> 1;
    const entries: ZsetEntry[] = new Array<ZsetEntry>(n);
    const dups = new DupCheck();
    for (let i = 0; i < n; i++) {
      const member = entryBytes(ents[2 * i]!);
      const s = ents[2 * i + 1]!;
      let score: number;
      if (typeof s === 'number') score = s;
      else if (typeof s === 'bigint') score = Number(s);
      else {
        const v = parseScoreText(s);
        if (v === undefined) return this.failAtBlobStart(blobStart, `${label} integrity check failed. (score is not a number)`);
        score = v;
      }
      if (Number.isNaN(score)) this.failAtBlobStart(blobStart, 'Zset with NAN score detected');
      if (!dups.add(member)) this.failAtBlobStart(blobStart, `${label} integrity check failed. (duplicate member)`);
      entries[i] = { member, score };
    }
    return { type: 'zset', entries, packed: true };
  }

  /** Semantic errors found after a blob was decoded: name the blob's data offset when it has one. */
  private failAtBlobStart(blobStart: number, reason: string): never {
    return this.fail(blobStart >= 0 ? blobStart : this.strStart, reason);
  }

  // -- packed encodings --------------------------------------------------------------------

  /*
   * Listpack: u32 total bytes, u16 count (65535 = unknown), entries, 0xFF. Each entry is an
   * encoding byte (+ length/int bytes + data) followed by a 1..5 byte "backlen" that repeats the
   * entry size for reverse traversal. We validate everything Redis's deep check validates (sizes,
   * bounds, backlen, count), because a reader that trusts a damaged blob returns garbage silently.
   */
  private decodeListpack(lp: Uint8Array, label: string): PackedEntry[] {
    const size = lp.length;
    const bad = (at: number, why: string): never => this.failBlob(at, `${label} integrity check failed. (${why})`);
    if (size < 7) bad(0, `listpack of ${size} bytes is too short`);
    const total = (lp[0]! | (lp[1]! << 8) | (lp[2]! << 16) | (lp[3]! << 24)) >>> 0;
    if (total !== size) bad(0, `header says ${total} bytes, blob has ${size}`);
    if (lp[size - 1] !== 0xff) bad(size - 1, 'missing terminator');
    const numele = lp[4]! | (lp[5]! << 8);
    const out: PackedEntry[] = [];
    const last = size - 1; // offset of the terminator
    let p = 6;
    for (;;) {
      if (p > last) bad(p, 'entry runs past the end');
      const b = lp[p]!;
      if (b === 0xff) break;
      let elen: number;
      let v: PackedEntry;
      if (b < 0x80) {
        elen = 1;
        v = b;
      } else if ((b & 0xc0) === 0x80) {
        const slen = b & 0x3f;
        elen = 1 + slen;
        if (p + elen > last) bad(p, 'string runs past the end');
        v = lp.subarray(p + 1, p + elen);
      } else if ((b & 0xe0) === 0xc0) {
        if (p + 1 >= last) bad(p, 'integer runs past the end');
        const u = ((b & 0x1f) << 8) | lp[p + 1]!;
        v = u >= 4096 ? u - 8192 : u;
        elen = 2;
      } else if ((b & 0xf0) === 0xe0) {
        if (p + 1 >= last) bad(p, 'length runs past the end');
        const slen = ((b & 0x0f) << 8) | lp[p + 1]!;
        elen = 2 + slen;
        if (p + elen > last) bad(p, 'string runs past the end');
        v = lp.subarray(p + 2, p + elen);
      } else if (b === 0xf0) {
        if (p + 4 >= last) bad(p, 'length runs past the end');
        const slen = (lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24)) >>> 0;
        elen = 5 + slen;
        if (p + elen > last) bad(p, 'string runs past the end');
        v = lp.subarray(p + 5, p + elen);
      } else if (b === 0xf1) {
        elen = 3;
        if (p + elen > last) bad(p, 'integer runs past the end');
        v = ((lp[p + 1]! | (lp[p + 2]! << 8)) << 16) >> 16;
      } else if (b === 0xf2) {
        elen = 4;
        if (p + elen > last) bad(p, 'integer runs past the end');
        v = ((lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16)) << 8) >> 8;
      } else if (b === 0xf3) {
        elen = 5;
        if (p + elen > last) bad(p, 'integer runs past the end');
        v = lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24);
      } else if (b === 0xf4) {
        elen = 9;
        if (p + elen > last) bad(p, 'integer runs past the end');
        const lo = (lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24)) >>> 0;
        const hi = lp[p + 5]! | (lp[p + 6]! << 8) | (lp[p + 7]! << 16) | (lp[p + 8]! << 24);
        v = int64FromHalves(lo, hi);
      } else {
        return bad(p, `invalid entry encoding 0x${b.toString(16)}`);
      }
      const blSize = elen <= 127 ? 1 : elen < 16383 ? 2 : elen < 2097151 ? 3 : elen < 268435455 ? 4 : 5;
      const next = p + elen + blSize;
      if (next > last) bad(p, 'entry runs past the end');
      // backlen: read right to left, 7 bits per byte, continuation bit on all but the first byte.
      let q = next - 1;
      let back = 0;
      let shift = 0;
      for (;;) {
        const c = lp[q]!;
        back += (c & 127) * 2 ** shift;
        if ((c & 128) === 0) break;
        shift += 7;
        q--;
        if (shift > 28 || q < p + elen) bad(p, 'bad backlen');
      }
      if (back !== elen || q !== p + elen) bad(p + elen, 'backlen does not match the entry size');
      out.push(v);
      p = next;
    }
    if (p !== last) bad(p, 'terminator before the end');
    if (numele !== 0xffff && numele !== out.length) bad(4, `header count ${numele}, found ${out.length} entries`);
    return out;
  }

  /*
   * Ziplist (RDB 2.6 - 6.2 small lists/hashes/zsets and quicklist v1 nodes): u32 total bytes,
   * u32 offset of the last entry, u16 count, entries, 0xFF. Entry = prevlen (1 byte, or 0xFE +
   * u32 LE) + encoding (strings: 6-bit / 14-bit BE / 32-bit BE length; ints: C0 int16, D0 int32,
   * E0 int64, F0 int24, FE int8, F1..FD immediate 0..12) + data. Validated like Redis's deep check.
   */
  private decodeZiplist(zl: Uint8Array, label: string): PackedEntry[] {
    const size = zl.length;
    const bad = (at: number, why: string): never => this.failBlob(at, `${label} integrity check failed. (${why})`);
    if (size < 11) bad(0, `ziplist of ${size} bytes is too short`);
    const u32 = (p: number): number => (zl[p]! | (zl[p + 1]! << 8) | (zl[p + 2]! << 16) | (zl[p + 3]! << 24)) >>> 0;
    const total = u32(0);
    if (total !== size) bad(0, `header says ${total} bytes, blob has ${size}`);
    const last = size - 1;
    if (zl[last] !== 0xff) bad(last, 'missing terminator');
    const tail = u32(4);
    if (tail > last) bad(4, 'tail offset outside the ziplist');
    const headerCount = zl[8]! | (zl[9]! << 8);
    const out: PackedEntry[] = [];
    let p = 10;
    let prevRaw = 0;
    let prevEntry = -1;
    while (zl[p] !== 0xff) {
      // prevlen
      let prevSize: number;
      let prevLen: number;
      if (zl[p]! < 254) {
        prevSize = 1;
        prevLen = zl[p]!;
      } else {
        prevSize = 5;
        if (p + 5 > last) bad(p, 'prevlen runs past the end');
        prevLen = u32(p + 1);
      }
      if (prevLen !== prevRaw) bad(p, `prevlen ${prevLen} does not match previous entry size ${prevRaw}`);
      const q = p + prevSize;
      if (q > last) bad(p, 'entry header runs past the end');
      const e = zl[q]!;
      let lenSize: number;
      let dataLen: number;
      let isStr = true;
      if (e < 0xc0) {
        const kind = e >>> 6;
        if (kind === 0) {
          lenSize = 1;
          dataLen = e & 0x3f;
        } else if (kind === 1) {
          lenSize = 2;
          if (q + 1 > last) bad(p, 'entry header runs past the end');
          dataLen = ((e & 0x3f) << 8) | zl[q + 1]!;
        } else {
          lenSize = 5;
          if (q + 4 > last) bad(p, 'entry header runs past the end');
          dataLen = ((zl[q + 1]! << 24) | (zl[q + 2]! << 16) | (zl[q + 3]! << 8) | zl[q + 4]!) >>> 0;
        }
      } else {
        isStr = false;
        lenSize = 1;
        if (e === 0xc0) dataLen = 2;
        else if (e === 0xd0) dataLen = 4;
        else if (e === 0xe0) dataLen = 8;
        else if (e === 0xf0) dataLen = 3;
        else if (e === 0xfe) dataLen = 1;
        else if (e >= 0xf1 && e <= 0xfd) dataLen = 0;
        else return bad(p, `invalid entry encoding 0x${e.toString(16)}`);
      }
      const d = q + lenSize;
      const next = d + dataLen;
      if (next > last) bad(p, 'entry runs past the end');
      let v: PackedEntry;
      if (isStr) {
        v = zl.subarray(d, next);
      } else if (e === 0xc0) {
        v = ((zl[d]! | (zl[d + 1]! << 8)) << 16) >> 16;
      } else if (e === 0xd0) {
        v = zl[d]! | (zl[d + 1]! << 8) | (zl[d + 2]! << 16) | (zl[d + 3]! << 24);
      } else if (e === 0xe0) {
        v = int64FromHalves(u32(d), u32(d + 4) | 0);
      } else if (e === 0xf0) {
        v = ((zl[d]! | (zl[d + 1]! << 8) | (zl[d + 2]! << 16)) << 8) >> 8;
      } else if (e === 0xfe) {
        v = (zl[d]! << 24) >> 24;
      } else {
        v = (e & 0x0f) - 1;
      }
      out.push(v);
      prevRaw = next - p;
      prevEntry = p;
      p = next;
    }
    if (p !== last) bad(p, 'terminator before the end');
    if (prevEntry !== -1 && prevEntry !== tail) bad(4, `tail offset ${tail} does not point at the last entry (${prevEntry})`);
    if (headerCount !== 0xffff && headerCount !== out.length) bad(8, `header count ${headerCount}, found ${out.length} entries`);
    return out;
  }

  /** Intset: u32 LE element width (2/4/8), u32 LE count, sorted unique little-endian integers. */
  private readIntset(): RdbValue {
    const is = this.readString();
    const bad = (at: number, why: string): never => this.failBlob(at, `Intset integrity check failed. (${why})`);
    const size = is.length;
    if (size < 8) bad(0, `intset of ${size} bytes is too short`);
    const width = (is[0]! | (is[1]! << 8) | (is[2]! << 16) | (is[3]! << 24)) >>> 0;
    if (width !== 2 && width !== 4 && width !== 8) bad(0, `invalid element width ${width}`);
    const count = (is[4]! | (is[5]! << 8) | (is[6]! << 16) | (is[7]! << 24)) >>> 0;
    if (8 + count * width !== size) bad(4, `count ${count} x ${width} bytes does not match blob size ${size}`);
    if (count === 0) bad(4, 'empty intset');
    const members: Uint8Array[] = new Array<Uint8Array>(count);
    let prev: number | bigint = -Infinity;
    for (let i = 0, p = 8; i < count; i++, p += width) {
      let v: number | bigint;
      if (width === 2) v = ((is[p]! | (is[p + 1]! << 8)) << 16) >> 16;
      else if (width === 4) v = is[p]! | (is[p + 1]! << 8) | (is[p + 2]! << 16) | (is[p + 3]! << 24);
      else {
        const lo = (is[p]! | (is[p + 1]! << 8) | (is[p + 2]! << 16) | (is[p + 3]! << 24)) >>> 0;
        const hi = is[p + 4]! | (is[p + 5]! << 8) | (is[p + 6]! << 16) | (is[p + 7]! << 24);
        v = int64FromHalves(lo, hi);
      }
      if (!(v > prev)) bad(p, 'elements not sorted or duplicated');
      prev = v;
      members[i] = intBytes(v);
    }
    return { type: 'set', members, packed: true };
  }

  /*
   * Zipmap (Redis <= 2.4 small hashes): count byte (254 = unknown), then entries
   * len(field) field len(value) free-byte value <free bytes>, then 0xFF. A length is one byte below
   * 254, else 254 + u32 LE.
   */
  private readZipmapHash(): RdbValue {
    const zm = this.readString();
    const blobStart = this.strDataOff;
    const bad = (at: number, why: string): never => this.failBlob(at, `Zipmap integrity check failed. (${why})`);
    const size = zm.length;
    if (size < 2) bad(0, `zipmap of ${size} bytes is too short`);
    const last = size - 1;
    if (zm[last] !== 0xff) bad(last, 'missing terminator');
    const readLen = (p: number): [number, number] => {
      const b = zm[p]!;
      if (b < 254) return [b, 1];
      if (p + 5 > last) bad(p, 'length runs past the end');
      return [(zm[p + 1]! | (zm[p + 2]! << 8) | (zm[p + 3]! << 16) | (zm[p + 4]! << 24)) >>> 0, 5];
    };
    const entries: Array<[Uint8Array, Uint8Array]> = [];
    const dups = new DupCheck();
    let p = 1;
    while (zm[p] !== 0xff) {
      const [flen, fs] = readLen(p);
      const f0 = p + fs;
      p = f0 + flen;
      if (p > last) bad(f0, 'field runs past the end');
      const [vlen, vs] = readLen(p);
      if (p + vs > last) bad(p, 'value header runs past the end');
      const free = zm[p + vs]!;
      const v0 = p + vs + 1;
      p = v0 + vlen + free;
      if (p > last) bad(v0, 'value runs past the end');
      const field = zm.subarray(f0, f0 + flen);
      if (!dups.add(field)) this.failAtBlobStart(blobStart, `Hash zipmap with dup elements, or big length (${flen})`);
      entries.push([field, zm.subarray(v0, v0 + vlen)]);
    }
    if (entries.length === 0) bad(0, 'empty zipmap');
    if (zm[0] !== 254 && zm[0] !== entries.length) bad(0, `header count ${zm[0]}, found ${entries.length} entries`);
    return { type: 'hash', entries };
  }
}
