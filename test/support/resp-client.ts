/**
 * A minimal RESP client for tests: sends argv as a RESP array of bulk strings and parses replies
 * into the engine's Reply shape (types.ts), so replies from a real redis-server and from our
 * Dispatcher can be compared with one deep-equality function.
 *
 *   +OK → 'OK' (string)      $n → Buffer, $-1 → null       :n → number (bigint beyond 2^53)
 *   -ERR x → ReplyError       *n → Reply[], *-1 → NilArray
 *   RESP3: _ → null, , → DoubleReply, % → MapReply, ~ → SetReply, = → VerbatimReply,
 *          ( → bigint, # → 1/0 (booleans become integers, as in RESP2), > → array
 *
 * Error and simple-string payloads are decoded as latin1 so every byte survives.
 */
import { connect, type Socket } from 'node:net';
import { ReplyError } from '../../engine/errors.js';
import {
  DoubleReply, MapReply, NilArray, RawReply, SetReply, VerbatimReply, type Reply,
} from '../../engine/commands/types.js';
import { formatDouble } from '../../engine/commands/args.js';

export type Arg = string | Buffer | number;

/** Encodes argv as a RESP array of bulk strings. */
export function encodeCommand(argv: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'latin1');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

class Incomplete extends Error {}

/** Incremental RESP parser over a growing buffer. */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  push(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
  }

  /** The next complete reply, or undefined when more bytes are needed. */
  next(): Reply | undefined {
    const start = this.pos;
    try {
      return this.parse();
    } catch (err) {
      if (err instanceof Incomplete) {
        this.pos = start;
        return undefined;
      }
      throw err;
    }
  }

  private line(): string {
    const end = this.buf.indexOf('\r\n', this.pos, 'latin1');
    if (end < 0) throw new Incomplete();
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 2;
    return s;
  }

  private bulk(len: number): Buffer {
    if (this.pos + len + 2 > this.buf.length) throw new Incomplete();
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len + 2;
    return b;
  }

  private parse(): Reply {
    if (this.pos >= this.buf.length) throw new Incomplete();
    const type = String.fromCharCode(this.buf[this.pos]!);
    this.pos++;
    const l = this.line();
    switch (type) {
      case '+': return l;
      case '-': return new ReplyError(l);
      case ':': return intReply(l);
      case '(': return BigInt(l);
      case '#': return l === 't' ? 1 : 0;
      case '_': return null;
      case ',': return new DoubleReply(l === 'inf' ? Infinity : l === '-inf' ? -Infinity : Number(l));
      case '$': {
        const n = Number(l);
        return n < 0 ? null : this.bulk(n);
      }
      case '=': {
        const n = Number(l);
        const b = this.bulk(n).toString('latin1');
        return new VerbatimReply(b.slice(4), b.slice(0, 3));
      }
      case '*': case '~': case '>': {
        const n = Number(l);
        if (n < 0) return NilArray.instance;
        const items: Reply[] = [];
        for (let i = 0; i < n; i++) items.push(this.parse());
        return type === '~' ? new SetReply(items) : items;
      }
      case '%': {
        const n = Number(l);
        const entries: Array<[Reply, Reply]> = [];
        for (let i = 0; i < n; i++) {
          const k = this.parse();
          entries.push([k, this.parse()]);
        }
        return new MapReply(entries);
      }
      default:
        throw new Error(`RESP parse error: type byte '${type}'`);
    }
  }
}

function intReply(l: string): number | bigint {
  const n = Number(l);
  return Number.isSafeInteger(n) ? n : BigInt(l);
}

export class RespClient {
  private readonly parser = new RespParser();
  private readonly waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private closedError: Error | null = null;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.parser.push(d);
      for (;;) {
        const r = this.parser.next();
        if (r === undefined) break;
        const w = this.waiting.shift();
        if (w !== undefined) w.resolve(r);
      }
    });
    const fail = (err: Error): void => {
      this.closedError = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const sock = connect({ port, host }, () => {
        sock.setNoDelay(true);
        sock.off('error', reject);
        resolve(new RespClient(sock));
      });
      sock.once('error', reject);
    });
  }

  /** Sends one command; resolves with its reply (error replies resolve as ReplyError values). */
  call(...argv: Arg[]): Promise<Reply> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(encodeCommand(argv));
    });
  }

  /** Sends many commands in one write; resolves with the replies in order. */
  pipeline(cmds: readonly (readonly Arg[])[]): Promise<Reply[]> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const ps = cmds.map(() => new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject })));
    this.sock.write(Buffer.concat(cmds.map(encodeCommand)));
    return Promise.all(ps);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }
}

/**
 * A reply as a RESP2 client would see it: maps flattened, sets as arrays, doubles as bulk strings
 * formatted like Redis, verbatim text as a bulk string. Lets RESP3-shaped engine replies be
 * compared with what a RESP2 redis-server connection returns.
 */
export function toResp2(r: Reply): Reply {
  if (Array.isArray(r)) return r.map(toResp2);
  if (r instanceof MapReply) return r.entries.flatMap(([k, v]) => [toResp2(k), toResp2(v)]);
  if (r instanceof SetReply) return r.items.map(toResp2);
  if (r instanceof DoubleReply) return Buffer.from(formatDouble(r.value), 'latin1');
  if (r instanceof VerbatimReply) return Buffer.from(r.text, 'latin1');
  if (typeof r === 'bigint' && r >= -9007199254740991n && r <= 9007199254740991n) return Number(r);
  return r;
}

/** A readable one-line rendering of a reply, for assertion messages. */
export function showReply(r: Reply): string {
  if (r === null) return '(nil)';
  if (typeof r === 'string') return `+${r}`;
  if (typeof r === 'number' || typeof r === 'bigint') return `:${r}`;
  if (Buffer.isBuffer(r)) return JSON.stringify(r.toString('latin1'));
  if (r instanceof ReplyError) return `-${r.message}`;
  if (Array.isArray(r)) return `[${r.map(showReply).join(', ')}]`;
  if (r instanceof NilArray) return '(nil array)';
  if (r instanceof DoubleReply) return `,${r.value}`;
  if (r instanceof MapReply) return `{${r.entries.map(([k, v]) => `${showReply(k)}: ${showReply(v)}`).join(', ')}}`;
  if (r instanceof SetReply) return `~[${r.items.map(showReply).join(', ')}]`;
  if (r instanceof VerbatimReply) return `=${r.format}:${JSON.stringify(r.text)}`;
  if (r instanceof RawReply) return `raw(${r.bytes.length})`;
  return String(r);
}

/** Deep equality of two replies, type-exact (simple vs bulk strings, error texts). */
export function sameReply(a: Reply, b: Reply): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    return BigInt(a) === BigInt(b) && typeof a === typeof b;
  }
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (a instanceof ReplyError && b instanceof ReplyError) return a.message === b.message;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameReply(x, b[i]!));
  if (a instanceof NilArray && b instanceof NilArray) return true;
  if (a instanceof DoubleReply && b instanceof DoubleReply) return Object.is(a.value, b.value);
  if (a instanceof MapReply && b instanceof MapReply) {
    return a.entries.length === b.entries.length &&
      a.entries.every(([k, v], i) => sameReply(k, b.entries[i]![0]) && sameReply(v, b.entries[i]![1]));
  }
  if (a instanceof SetReply && b instanceof SetReply) return sameReply(a.items, b.items);
  if (a instanceof VerbatimReply && b instanceof VerbatimReply) return a.text === b.text && a.format === b.format;
  return false;
}
