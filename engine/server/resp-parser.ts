/**
 * Request parser: RESP multibulk (`*N\r\n$len\r\n...`) and inline commands (`SET a b\r\n`),
 * resumable across TCP chunks, with Redis 7.0's error texts and limits.
 *
 * DESIGN
 * Arguments are not objects. For a multibulk command the parser records (offset, length) pairs in
 * a reusable Int32Array over `buf`, the buffer the command's bytes live in. Most of the time that
 * is the chunk the socket just delivered, so a pipelined chunk of many commands is parsed with no
 * allocation and no copying; the caller turns offsets into Buffer views only when it needs them
 * (`argv()`), or reads the offsets directly.
 *
 * A command cut by a chunk boundary moves to the carry buffer: its bytes are copied there and the
 * offsets already recorded are rebased; bytes of the following chunks are appended until it is
 * complete, then parsing switches back to the chunk. The carry is a bump region: bytes the parser
 * has handed out (argv views of earlier commands) are never written over; when its space runs out
 * a new carry is allocated and the old one lives on only through those views. So a view stays
 * valid for as long as someone keeps it (the MULTI queue does).
 *
 * Limits (Redis): an inline line or a count line longer than 64 KiB without its newline is an
 * error; a bulk length above proto-max-bulk-len is `invalid bulk length`; an unauthenticated
 * client may send at most 10 arguments and 16 KiB per argument before AUTH; a command whose
 * buffered bytes exceed client-query-buffer-limit closes the connection without a reply
 * (`next()` returns OVERFLOW).
 */
import { FastBuffer } from '../sab/buffer-view.js';
import { splitArgs } from './splitargs.js';

/** next() results. */
export const NEED_MORE = 0;
export const COMMAND = 1;
export const PROTOCOL_ERROR = 2;
/** The query buffer limit was exceeded: close the connection, no reply (as Redis). */
export const OVERFLOW = 3;
export type ParseResult = typeof NEED_MORE | typeof COMMAND | typeof PROTOCOL_ERROR | typeof OVERFLOW;

/** PROTO_INLINE_MAX_SIZE: longest inline request / count line without its newline. */
export const INLINE_MAX = 64 * 1024;
/** Largest buffer the offsets can address. */
const MAX_ADDRESSABLE = 0x7fffffff;
const CR = 0x0d, LF = 0x0a;
const UNAUTH_MAX_ARGS = 10;
const UNAUTH_MAX_BULK = 16384;
const INT_MAX = 2147483647;
/** Fresh carry regions start at this size (most straddling commands are small). */
const CARRY_MIN = 16 * 1024;
/** Carries larger than this are dropped once no partial command needs them. */
const CARRY_KEEP_MAX = 256 * 1024;
/** First piece of a new chunk copied behind a carried partial command; doubles while needed. */
const APPEND_MIN = 1024;

export interface ParserLimits {
  /** proto-max-bulk-len (default 512 MiB). */
  maxBulkLen: number;
  /** client-query-buffer-limit (default 1 GiB). */
  maxQueryBuffer: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxBulkLen: 512 * 1024 * 1024, maxQueryBuffer: 1024 * 1024 * 1024 };

/**
 * Parses a Redis integer (string2ll rules): optional '-', no '+', no leading zeros, no blanks,
 * at most 20 characters. Returns null when it is not one. Works on bytes [start, end).
 */
export function parseLongLong(b: Uint8Array, start: number, end: number): number | null {
  const len = end - start;
  if (len <= 0 || len >= 21) return null;
  if (len === 1 && b[start] === 0x30) return 0;
  let p = start;
  let neg = false;
  if (b[p] === 0x2d) { neg = true; p++; if (p === end) return null; }
  const first = b[p]!;
  if (first < 0x31 || first > 0x39) return null;
  let v = first - 0x30;
  p++;
  for (; p < end; p++) {
    const c = b[p]!;
    if (c < 0x30 || c > 0x39) return null;
    v = v * 10 + (c - 0x30);
  }
  // Doubles are exact up to 2^53; every limit we compare against is far below, and anything
  // beyond 2^63 was an overflow in Redis too (rejected as not-a-number there, as too big here).
  if (v > 9223372036854775807) return null;
  return neg ? -v : v;
}

export class RespParser {
  limits: ParserLimits;
  /** Set by the connection while the client must still AUTH (tighter limits apply). */
  authRequired = false;

  /** Buffer the current command's offsets refer to. */
  buf: Buffer = EMPTY;
  /** (offset, length) pairs of the current command's arguments: args[2i], args[2i+1]. */
  args: Int32Array<ArrayBuffer> = new Int32Array(64);
  argc = 0;
  /** Set instead of args/argc when the command came in inline form (arguments are copies). */
  inlineArgv: Buffer[] | null = null;
  /** Protocol error text after PROTOCOL_ERROR (no leading '-'). May contain any byte as latin1. */
  error = '';

  // Input: the chunk being parsed, or the carry region holding a partial command.
  private chunk: Buffer = EMPTY;
  /** Parse position in `buf`. */
  private pos = 0;
  /** End of valid data in `buf`. */
  private end = 0;

  // Multibulk state, kept across chunks.
  /** Start of the command being parsed, in `buf`. */
  private frameStart = 0;
  /** Arguments still to read; 0 = between commands. */
  private pending = 0;
  /** Length of the bulk whose header was read, -1 = header not read yet. */
  private bulkLen = -1;
  private inMultibulk = false;

  // Carry (bump region; see DESIGN).
  private carry: Buffer | null = null;
  /** End of the bytes used in `carry` (handed out or retained). */
  private carryUsed = 0;
  /** While parsing from the carry: how much of `chunk` has been appended to it. */
  private chunkCopied = 0;
  /** While parsing from the carry: offset in carry where chunk[0] would sit. */
  private chunkBase = 0;
  private inCarry = false;
  private appendStep = APPEND_MIN;
  private starved = true;

  constructor(limits: ParserLimits = DEFAULT_LIMITS) {
    this.limits = limits;
  }

  /**
   * Gives the parser the next chunk. The previous one must have been consumed (next() returned
   * NEED_MORE); whatever it left unfinished is already in the carry.
   */
  feed(chunk: Buffer): void {
    if (this.hasInput) throw new Error('RespParser.feed() called before the previous input was consumed');
    this.chunk = chunk;
    this.starved = false;
    if (this.inCarry) {
      this.chunkBase = this.end;
      this.chunkCopied = 0;
      this.appendStep = APPEND_MIN;
    } else {
      this.buf = chunk;
      this.pos = 0;
      this.end = chunk.length;
      this.frameStart = 0;
    }
  }

  /** Bytes received and not yet consumed (CLIENT LIST qbuf). */
  get bufferedBytes(): number {
    const chunkLeft = this.inCarry ? this.chunk.length - this.chunkCopied : 0;
    return this.end - this.frameStart + chunkLeft;
  }

  /** False once next() returned NEED_MORE, until the next feed(): more next() calls may yield commands. */
  get hasInput(): boolean {
    return !this.starved;
  }

  /** The current command's arguments as Buffer views (multibulk) or copies (inline). */
  argv(): Buffer[] {
    if (this.inlineArgv !== null) return this.inlineArgv;
    const n = this.argc, a = this.args, b = this.buf;
    const out = new Array<Buffer>(n);
    if (FastBuffer !== null) {
      const ab = b.buffer, base = b.byteOffset;
      for (let i = 0; i < n; i++) out[i] = new FastBuffer(ab, base + a[2 * i]!, a[2 * i + 1]!);
    } else {
      for (let i = 0; i < n; i++) {
        const off = a[2 * i]!;
        out[i] = b.subarray(off, off + a[2 * i + 1]!);
      }
    }
    return out;
  }

  /**
   * Parses the next command. COMMAND: argc/args/buf (or inlineArgv) describe it; argc may be 0
   * (`*0`, `*-1`, blank inline line), which callers skip. NEED_MORE: feed another chunk.
   * PROTOCOL_ERROR: `error` holds the text; the connection replies and closes.
   */
  next(): ParseResult {
    const r = this.step();
    if (r === NEED_MORE) this.starved = true;
    return r;
  }

  private step(): ParseResult {
    for (;;) {
      const r = this.inMultibulk ? this.parseMultibulk() : this.parseStart();
      if (r !== NEED_MORE) return r;
      // Out of bytes. From the chunk: keep the partial command in the carry. From the carry:
      // append more of the chunk, if any is left.
      if (!this.inCarry) {
        if (this.pos < this.end || this.inMultibulk) {
          if (!this.moveToCarry()) return OVERFLOW;
          if (this.overLimit()) return OVERFLOW;
        }
        return NEED_MORE;
      }
      if (this.chunkCopied >= this.chunk.length) {
        if (this.overLimit()) return OVERFLOW;
        return NEED_MORE;
      }
      if (!this.appendChunk()) return OVERFLOW;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Command start: decide multibulk or inline.

  private parseStart(): ParseResult {
    this.inlineArgv = null;
    this.argc = 0;
    // A carried command always completes inside bytes copied from the chunk (it needed at least
    // one of them), so between commands the rest of the input is in the chunk: go back to it.
    if (this.inCarry && this.pos >= this.chunkBase) this.leaveCarry();
    if (this.pos >= this.end) return NEED_MORE;
    this.frameStart = this.pos;
    if (this.buf[this.pos] === 0x2a /* * */) {
      this.inMultibulk = true;
      this.pending = 0;
      this.bulkLen = -1;
      return this.parseMultibulk();
    }
    return this.parseInline();
  }

  private parseInline(): ParseResult {
    const b = this.buf, start = this.pos;
    const nl = b.indexOf(LF, start);
    if (nl === -1 || nl >= this.end) {
      if (this.end - start > INLINE_MAX) return this.fail('Protocol error: too big inline request');
      return NEED_MORE;
    }
    let lineEnd = nl;
    if (lineEnd > start && b[lineEnd - 1] === CR) lineEnd--;
    if (this.splitPlain(b, start, lineEnd)) {
      this.pos = nl + 1;
      this.frameStart = this.pos;
      return COMMAND;
    }
    const argv = splitArgs(b, start, lineEnd);
    if (argv === null) return this.fail('Protocol error: unbalanced quotes in request');
    this.pos = nl + 1;
    this.frameStart = this.pos;
    this.inlineArgv = argv;
    this.argc = argv.length;
    return COMMAND;
  }

  /**
   * Inline fast path: a line without quotes, NUL, \v or \f splits at space/\t/\r exactly as
   * sdssplitargs would, so its arguments can be offsets into the buffer like multibulk ones.
   * Returns false (nothing recorded) when the line needs the full splitter.
   */
  private splitPlain(b: Buffer, start: number, end: number): boolean {
    let argc = 0;
    let args = this.args;
    let p = start;
    while (p < end) {
      let c = b[p]!;
      if (c === 0x20 || c === 0x09 || c === CR) { p++; continue; }
      const tokenStart = p;
      while (p < end) {
        c = b[p]!;
        if (c === 0x20 || c === 0x09 || c === CR) break;
        if (c === 0x22 || c === 0x27 || c === 0 || c === 0x0b || c === 0x0c) return false;
        p++;
      }
      if (2 * argc + 2 > args.length) {
        this.argc = argc;
        args = this.growArgs(argc, argc + 8);
      }
      args[2 * argc] = tokenStart;
      args[2 * argc + 1] = p - tokenStart;
      argc++;
    }
    this.argc = argc;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Multibulk: resumable at any byte. State: pending (args left), bulkLen (-1 = in a header).

  /**
   * Fast path for a count line: digits (no sign, no leading zero) then CR, with the byte after the
   * CR present. Returns the number and leaves the CR position in `scanCr`; -1 when the line is
   * anything else (incomplete, signed, malformed, too long), so the exact Redis path decides.
   */
  private scanCount(b: Buffer, p: number, end: number): number {
    let c = b[p]!;
    if (c < 0x30 || c > 0x39) return -1;
    let n = c - 0x30;
    const start = p;
    p++;
    if (n === 0) {
      if (p + 1 < end && b[p] === CR) { this.scanCr = p; return 0; }
      return -1;
    }
    while (p < end) {
      c = b[p]!;
      if (c === CR) {
        if (p + 1 >= end || p - start > 18) return -1;
        this.scanCr = p;
        return n;
      }
      if (c < 0x30 || c > 0x39) return -1;
      n = n * 10 + (c - 0x30);
      p++;
    }
    return -1;
  }

  private scanCr = 0;

  private parseMultibulk(): ParseResult {
    const b = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (this.pending === 0) {
      // Count line "*<n>\r\n". Redis looks for '\r' and then only needs one more byte.
      let n = this.scanCount(b, pos + 1, end);
      let cr: number;
      if (n >= 0) {
        cr = this.scanCr;
      } else {
        cr = b.indexOf(CR, pos);
        if (cr === -1 || cr >= end) {
          if (end - pos > INLINE_MAX) return this.fail('Protocol error: too big mbulk count string');
          return NEED_MORE;
        }
        if (cr + 2 > end) return NEED_MORE;
        const v = parseLongLong(b, pos + 1, cr);
        if (v === null) return this.fail('Protocol error: invalid multibulk length');
        n = v;
      }
      if (n > INT_MAX) return this.fail('Protocol error: invalid multibulk length');
      if (n > UNAUTH_MAX_ARGS && this.authRequired) return this.fail('Protocol error: unauthenticated multibulk length');
      pos = this.pos = cr + 2;
      if (n <= 0) {
        this.inMultibulk = false;
        this.frameStart = pos;
        return COMMAND; // argc 0: nothing to run
      }
      this.pending = n;
      this.argc = 0;
      this.bulkLen = -1;
    }
    let args = this.args;
    let pending = this.pending;
    let argc = this.argc;
    let len = this.bulkLen;
    while (pending > 0) {
      if (len === -1) {
        // Bulk header "$<len>\r\n".
        let v = b[pos] === 0x24 && pos + 1 < end ? this.scanCount(b, pos + 1, end) : -1;
        let cr: number;
        if (v >= 0) {
          cr = this.scanCr;
        } else {
          cr = b.indexOf(CR, pos);
          if (cr === -1 || cr >= end) {
            this.pos = pos; this.pending = pending; this.argc = argc; this.bulkLen = -1;
            if (end - pos > INLINE_MAX) return this.fail('Protocol error: too big bulk count string');
            return NEED_MORE;
          }
          if (cr + 2 > end) {
            this.pos = pos; this.pending = pending; this.argc = argc; this.bulkLen = -1;
            return NEED_MORE;
          }
          if (b[pos] !== 0x24 /* $ */) {
            return this.fail(`Protocol error: expected '$', got '${String.fromCharCode(b[pos]!)}'`);
          }
          const parsed = parseLongLong(b, pos + 1, cr);
          if (parsed === null || parsed < 0) return this.fail('Protocol error: invalid bulk length');
          v = parsed;
        }
        if (v > this.limits.maxBulkLen) return this.fail('Protocol error: invalid bulk length');
        if (v > UNAUTH_MAX_BULK && this.authRequired) return this.fail('Protocol error: unauthenticated bulk length');
        pos = cr + 2;
        len = v;
      }
      if (end - pos < len + 2) {
        this.pos = pos; this.pending = pending; this.argc = argc; this.bulkLen = len;
        return NEED_MORE;
      }
      if (2 * argc + 2 > args.length) args = this.growArgs(argc, argc + pending);
      args[2 * argc] = pos;
      args[2 * argc + 1] = len;
      argc++;
      pos += len + 2; // the two bytes after the payload are skipped unchecked, as Redis does
      len = -1;
      pending--;
    }
    this.pos = pos;
    this.pending = 0;
    this.argc = argc;
    this.bulkLen = -1;
    this.inMultibulk = false;
    this.frameStart = pos;
    return COMMAND;
  }

  /**
   * Makes room for `count` arguments (a few at a time for huge counts, as Redis caps at 1024),
   * keeping the `filled` ones already recorded. `filled` comes from the caller's running count:
   * this.argc is only stored when parsing pauses, so it is stale here.
   */
  private growArgs(filled: number, count: number): Int32Array<ArrayBuffer> {
    const want = Math.min(2 * count, Math.max(this.args.length * 2, 2 * filled + 2048));
    const next = new Int32Array(Math.max(want, 2 * filled + 2));
    next.set(this.args.subarray(0, 2 * filled));
    this.args = next;
    return next;
  }

  private fail(message: string): ParseResult {
    this.error = message;
    this.inMultibulk = false;
    this.pending = 0;
    this.bulkLen = -1;
    return PROTOCOL_ERROR;
  }

  // ---------------------------------------------------------------------------------------------
  // Carry management.

  /** Bytes the unfinished command needs in total, when known (inside a bulk), else 0. */
  private frameNeed(): number {
    if (!this.inMultibulk || this.bulkLen < 0) return 0;
    return this.pos - this.frameStart + this.bulkLen + 2;
  }

  private overLimit(): boolean {
    return this.end - this.frameStart > this.limits.maxQueryBuffer;
  }

  /**
   * Why: the chunk ended inside a command. Its bytes so far are copied to the carry (at the end of
   * the bump region, or into a fresh carry sized for the whole command when a bulk length is
   * known), and the offsets recorded so far are shifted to their new place.
   */
  private moveToCarry(): boolean {
    const from = this.frameStart, len = this.end - from;
    const want = Math.max(len, this.frameNeed());
    const dst = this.reserveCarry(want, len);
    if (dst < 0) return false;
    const carry = this.carry!;
    this.buf.copy(carry, dst, from, this.end);
    this.rebase(dst - from);
    this.buf = carry;
    this.pos += dst - from;
    this.frameStart = dst;
    this.end = dst + len;
    this.carryUsed = this.end;
    this.inCarry = true;
    // The chunk is fully consumed; the next feed() appends behind the carried bytes.
    this.chunk = EMPTY;
    this.chunkCopied = 0;
    this.chunkBase = this.end;
    return true;
  }

  /**
   * Why: parsing from the carry ran dry. Copy the next piece of the chunk behind it (a small piece
   * first, doubling, or exactly what the pending bulk needs) rather than the whole chunk, so a
   * short straddling command does not cost a 64 KiB copy.
   */
  private appendChunk(): boolean {
    const left = this.chunk.length - this.chunkCopied;
    const need = this.frameNeed();
    let n = need > 0 ? Math.max(need - (this.end - this.frameStart), this.appendStep) : this.appendStep;
    if (n > left) n = left;
    this.appendStep *= 2;
    const len = this.end - this.frameStart;
    if (this.end + n > this.carry!.length) {
      // Relocate the partial command to a bigger carry; old region stays for its views.
      const from = this.frameStart;
      const dst = this.reserveCarry(Math.max(len + n, need), len + n);
      if (dst < 0) return false;
      const oldCarry = this.buf;
      if (oldCarry !== this.carry) oldCarry.copy(this.carry!, dst, from, this.end);
      else this.carry!.copyWithin(dst, from, this.end);
      this.rebase(dst - from);
      this.buf = this.carry!;
      this.pos += dst - from;
      this.chunkBase += dst - from;
      this.frameStart = dst;
      this.end = dst + len;
    }
    this.chunk.copy(this.buf, this.end, this.chunkCopied, this.chunkCopied + n);
    this.chunkCopied += n;
    this.end += n;
    this.carryUsed = this.end;
    return true;
  }

  /**
   * Returns where in `this.carry` `len` bytes (growing to `want`) can be placed without
   * overwriting handed-out bytes, allocating a new carry when needed. -1 when over the limit.
   */
  private reserveCarry(want: number, len: number): number {
    if (len > this.limits.maxQueryBuffer || len > MAX_ADDRESSABLE) return -1;
    const c = this.carry;
    if (c !== null && this.buf !== c && c.length - this.carryUsed >= want) return this.carryUsed;
    let size = Math.max(CARRY_MIN, want, len * 2);
    if (size > MAX_ADDRESSABLE) size = MAX_ADDRESSABLE;
    if (size < len) return -1;
    // A fresh carry: the old one (and the views into it) are left to the garbage collector.
    this.carry = Buffer.allocUnsafe(size);
    this.carryUsed = 0;
    return 0;
  }

  private rebase(delta: number): void {
    if (delta === 0) return;
    const a = this.args;
    for (let i = 0; i < this.argc; i++) a[2 * i] = a[2 * i]! + delta;
  }

  /** Between commands, with the rest of the input in the chunk: parse the chunk directly again. */
  private leaveCarry(): void {
    const offsetInChunk = this.pos - this.chunkBase;
    // Bytes of the carry from here on were only copies of chunk bytes nobody was given.
    this.carryUsed = Math.max(this.pos, this.chunkBase);
    // A carry grown for a big value is let go (views into it keep what they need alive).
    if (this.carry !== null && this.carry.length > CARRY_KEEP_MAX) {
      this.carry = null;
      this.carryUsed = 0;
    }
    this.inCarry = false;
    this.buf = this.chunk;
    this.pos = offsetInChunk;
    this.end = this.chunk.length;
    this.frameStart = this.pos;
    if (this.chunk.length === 0) this.pos = this.end = 0;
  }
}

const EMPTY = Buffer.alloc(0);

