/**
 * Reply encoder: turns the engine's Reply values into RESP2 or RESP3 bytes inside a
 * per-connection output buffer.
 *
 * DESIGN
 * Every byte of a reply is copied into the output buffer while the command's reply is encoded.
 * Bulk values may be zero-copy views into the SharedArrayBuffer keyspace, and socket.write() does
 * not copy a buffer it cannot send at once (corked or backpressured sockets send what the memory
 * holds when the kernel takes it), so a view handed to the socket could go out carrying bytes of a
 * later write. Copying here, before the next command runs, makes replies immutable.
 *
 * The buffer is a bump region too: take() hands the socket the bytes written since the last take()
 * and never writes them again; only when the socket reports nothing pending (recycle()) does the
 * write position go back to 0. When space runs out a new buffer is allocated and the old one stays
 * alive only as long as the socket still holds it.
 *
 * RESP2 downgrades, as Redis: null → `$-1`, NilArray → `*-1`, doubles → bulk strings in %.17g
 * form (`inf`/`-inf`), maps → flat arrays, sets → arrays, verbatim → bulk string, pushes → arrays.
 * A ReplySequence writes its parts back to back (SUBSCRIBE a b: one push frame per channel).
 */
import { putDecimal } from '../sab/decimal.js';
import { ReplyError } from '../errors.js';
import {
  DoubleReply, MapReply, NilArray, PushReply, RawReply, ReplySequence, SetReply, VerbatimReply,
  type Reply,
} from '../commands/types.js';
import { formatDouble } from '../types/double.js';

export { formatDouble };

export type Proto = 2 | 3;

const INITIAL_SIZE = 16 * 1024;
/** Above this size an idle output buffer is dropped for a fresh small one. */
const SHRINK_ABOVE = 1024 * 1024;

/** Pre-encoded replies. */
export const Shared = {
  ok: Buffer.from('+OK\r\n'),
  pong: Buffer.from('+PONG\r\n'),
  queued: Buffer.from('+QUEUED\r\n'),
  zero: Buffer.from(':0\r\n'),
  one: Buffer.from(':1\r\n'),
  nullBulk: Buffer.from('$-1\r\n'),
  nullArray: Buffer.from('*-1\r\n'),
  null3: Buffer.from('_\r\n'),
  emptyArray: Buffer.from('*0\r\n'),
  emptyBulk: Buffer.from('$0\r\n\r\n'),
  crlf: Buffer.from('\r\n'),
  noauth: Buffer.from('-NOAUTH Authentication required.\r\n'),
  wrongpass: Buffer.from('-WRONGPASS invalid username-password pair or user is disabled.\r\n'),
  syntax: Buffer.from('-ERR syntax error\r\n'),
  maxClients: Buffer.from('-ERR max number of clients reached\r\n'),
} as const;


export class ReplyBuffer {
  buf: Buffer;
  /** Start of bytes not yet taken. */
  private start = 0;
  /** Write position. */
  end = 0;
  /** Total bytes ever taken (INFO total_net_output_bytes). */
  taken = 0;

  constructor(size = INITIAL_SIZE) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes encoded and not yet taken. */
  get length(): number {
    return this.end - this.start;
  }

  /** Capacity of the current buffer (CLIENT LIST omem and the like). */
  get capacity(): number {
    return this.buf.length;
  }

  /** Hands out the pending bytes; they are never written again. Null when there are none. */
  take(): Buffer | null {
    if (this.end === this.start) return null;
    const v = this.buf.subarray(this.start, this.end);
    this.taken += this.end - this.start;
    this.start = this.end;
    return v;
  }

  /** A position to roll back to: the pending length (stable across reserve()). */
  mark(): number {
    return this.end - this.start;
  }

  /** Drops what was encoded since mark() (CLIENT REPLY OFF/SKIP), if nothing was taken since. */
  rollback(mark: number): void {
    if (mark <= this.end - this.start) this.end = this.start + mark;
  }

  /** The socket holds none of our bytes any more: start over at the beginning of the buffer. */
  recycle(): void {
    if (this.end !== this.start) return;
    if (this.buf.length > SHRINK_ABOVE) this.buf = Buffer.allocUnsafe(INITIAL_SIZE);
    this.start = this.end = 0;
  }

  /** Makes room for n more bytes. */
  reserve(n: number): void {
    if (this.end + n <= this.buf.length) return;
    const pending = this.end - this.start;
    const size = Math.max(this.buf.length * 2, pending + n, INITIAL_SIZE);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = pending;
  }

  // ---- Primitive writers ----------------------------------------------------------------------

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Writes `prefix` then a non-negative integer then CRLF (headers: $n, *n, %n, :n). */
  private header(prefix: number, n: number): void {
    this.reserve(24);
    const b = this.buf;
    let p = this.end;
    b[p++] = prefix;
    if (n < 0) { b[p++] = 0x2d; n = -n; }
    if (n > 9007199254740991) {
      p += b.write(String(n), p, 'latin1');
    } else {
      p = putDecimal(b, p, n);
    }
    b[p++] = 0x0d;
    b[p++] = 0x0a;
    this.end = p;
  }

  integer(n: number): void {
    if (n === 0) return this.raw(Shared.zero);
    if (n === 1) return this.raw(Shared.one);
    this.header(0x3a /* : */, n);
  }

  bigint(n: bigint): void {
    this.text(':' + n.toString() + '\r\n');
  }

  arrayHeader(n: number): void {
    this.header(0x2a /* * */, n);
  }

  /** Bulk string; the bytes are copied (see DESIGN). */
  bulk(v: Uint8Array): void {
    const len = v.length;
    this.reserve(len + 24);
    this.header(0x24 /* $ */, len);
    const b = this.buf;
    b.set(v, this.end);
    let p = this.end + len;
    b[p++] = 0x0d;
    b[p++] = 0x0a;
    this.end = p;
  }

  bulkString(s: string): void {
    this.bulk(Buffer.from(s, 'utf8'));
  }

  /** Writes a JS string as UTF-8 (it must not contain CR/LF where RESP forbids them). */
  private text(s: string): void {
    this.reserve(s.length * 3);
    this.end += this.buf.write(s, this.end, 'utf8');
  }

  simple(s: string): void {
    if (s === 'OK') return this.raw(Shared.ok);
    this.reserve(s.length * 3 + 3);
    const b = this.buf;
    b[this.end++] = 0x2b; /* + */
    this.end += b.write(s, this.end, 'utf8');
    b[this.end++] = 0x0d;
    b[this.end++] = 0x0a;
  }

  /** Error reply; `message` starts with the code (ERR, WRONGTYPE ...). CR/LF become spaces. */
  error(message: string): void {
    const clean = message.indexOf('\r') === -1 && message.indexOf('\n') === -1
      ? message : message.replace(/[\r\n]/g, ' ');
    this.text('-' + clean + '\r\n');
  }

  /** Error text holding raw bytes as latin1 characters (protocol errors echo a client byte). */
  errorLatin1(message: string): void {
    const clean = message.replace(/[\r\n]/g, ' ');
    this.raw(Buffer.from('-' + clean + '\r\n', 'latin1'));
  }

  nil(proto: Proto): void {
    this.raw(proto === 3 ? Shared.null3 : Shared.nullBulk);
  }

  double(d: number, proto: Proto): void {
    const s = formatDouble(d);
    if (proto === 3) this.text(',' + s + '\r\n');
    else this.text('$' + s.length + '\r\n' + s + '\r\n');
  }

  verbatim(text: string, format: string, proto: Proto): void {
    const body = Buffer.from(text, 'utf8');
    if (proto === 2) return this.bulk(body);
    const fmt = (format + '   ').slice(0, 3);
    this.header(0x3d /* = */, body.length + 4);
    this.text(fmt + ':');
    this.raw(body);
    this.raw(Shared.crlf);
  }

  // ---- Reply model ----------------------------------------------------------------------------

  /** Encodes any Reply for a client speaking `proto`. */
  reply(r: Reply, proto: Proto): void {
    if (r instanceof Uint8Array) return this.bulk(r);
    switch (typeof r) {
      case 'string': return this.simple(r);
      case 'number':
        if (Number.isSafeInteger(r)) return this.integer(r);
        if (Number.isInteger(r)) return this.bigint(BigInt(r));
        return this.double(r, proto); // a handler bug; better a double than a crash
      case 'bigint': return this.bigint(r);
    }
    if (r === null) return this.nil(proto);
    if (Array.isArray(r)) {
      this.arrayHeader(r.length);
      for (let i = 0; i < r.length; i++) this.reply(r[i]!, proto);
      return;
    }
    if (r instanceof ReplyError) return this.error(r.message);
    if (r instanceof NilArray) return this.raw(proto === 3 ? Shared.null3 : Shared.nullArray);
    if (r instanceof DoubleReply) return this.double(r.value, proto);
    if (r instanceof MapReply) {
      const e = r.entries;
      if (proto === 3) this.header(0x25 /* % */, e.length);
      else this.arrayHeader(e.length * 2);
      for (let i = 0; i < e.length; i++) {
        this.reply(e[i]![0], proto);
        this.reply(e[i]![1], proto);
      }
      return;
    }
    if (r instanceof SetReply) {
      if (proto === 3) this.header(0x7e /* ~ */, r.items.length);
      else this.arrayHeader(r.items.length);
      for (let i = 0; i < r.items.length; i++) this.reply(r.items[i]!, proto);
      return;
    }
    if (r instanceof VerbatimReply) return this.verbatim(r.text, r.format, proto);
    if (r instanceof RawReply) return this.raw(r.bytes);
    if (r instanceof PushReply) {
      if (proto === 3) this.header(0x3e /* > */, r.items.length);
      else this.arrayHeader(r.items.length);
      for (let i = 0; i < r.items.length; i++) this.reply(r.items[i]!, proto);
      return;
    }
    if (r instanceof ReplySequence) {
      for (let i = 0; i < r.replies.length; i++) this.reply(r.replies[i]!, proto);
      return;
    }
    throw new TypeError(`not a Reply: ${Object.prototype.toString.call(r)}`);
  }
}
