/**
 * forkless, embedded: the engine in your process, commands as synchronous calls.
 *
 *   import { open } from 'forkless';
 *   const db = await open({ dir: './data', save: '', appendonly: 'no' });
 *   db.call('SET', 'k', 'v');               // 'OK'
 *   db.call('GET', 'k');                    // <Buffer 76>
 *   db.get('k'); db.set('k', 'v');          // typed fast paths, same semantics
 *   await db.close();                       // SHUTDOWN: saves when save rules exist
 *
 * Config keys are redis.conf directive names with Redis's value syntax (strings or numbers).
 * Replies: simple string -> string, bulk -> Buffer (a copy: safe to keep), nil -> null,
 * integer -> number (bigint beyond 2^53), array -> array; an error reply is thrown as ReplyError
 * whose message is Redis's exact error text.
 */
import { Engine } from './engine.js';
import { ReplyError } from './errors.js';
import type { ConfigValue } from './config.js';
import { DoubleReply, MapReply, NilArray, PushReply, RawReply, SetReply, VerbatimReply, type ClientState, type Reply } from './commands/types.js';
import { NO_EXPIRE } from './keyspace/api.js';
import { formatDouble } from './commands/args.js';

export { ReplyError, ForklessError, CorruptFileError, PersistenceIOError, ConfigError, StoreError } from './errors.js';
export { Engine } from './engine.js';

export type OpenOptions = Record<string, ConfigValue | undefined>;
export type Arg = string | Buffer | Uint8Array | number | bigint;
export type CallResult = string | Buffer | null | number | bigint | CallResult[];

const SCRATCH_BYTES = 64 * 1024;

/** Converts a command reply into the embedded API's JS values (throws error replies). */
function toResult(r: Reply): CallResult {
  if (r === null) return null;
  if (typeof r === 'string' || typeof r === 'number' || typeof r === 'bigint') return r;
  if (Buffer.isBuffer(r)) return Buffer.from(r);
  if (Array.isArray(r)) return r.map(toResult);
  if (r instanceof ReplyError) throw r;
  if (r instanceof NilArray) return null;
  if (r instanceof DoubleReply) return Buffer.from(formatDouble(r.value));
  if (r instanceof MapReply) return r.entries.flatMap(([k, v]) => [toResult(k), toResult(v)]);
  if (r instanceof SetReply) return r.items.map(toResult);
  if (r instanceof VerbatimReply) return Buffer.from(r.text);
  if (r instanceof RawReply) return Buffer.from(r.bytes);
  if (r instanceof PushReply) return r.items.map(toResult);
  return r.replies.map(toResult); // ReplySequence: several replies, one per element
}

function toArg(a: Arg): Buffer {
  if (typeof a === 'string') return Buffer.from(a);
  if (typeof a === 'number' || typeof a === 'bigint') return Buffer.from(String(a));
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export class Forkless {
  readonly engine: Engine;
  private readonly client: ClientState;
  /** A plain Uint8Array: its subarray() is cheaper than Buffer#subarray on the hot path. */
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly scratchBuf = Buffer.from(this.scratch.buffer, 0, SCRATCH_BYTES);

  constructor(engine: Engine) {
    this.engine = engine;
    this.client = engine.newClientState();
  }

  /** Runs any command on the caller's thread. */
  call(command: string, ...args: Arg[]): CallResult {
    const argv = new Array<Buffer>(args.length + 1);
    argv[0] = Buffer.from(command);
    for (let i = 0; i < args.length; i++) argv[i + 1] = toArg(args[i]);
    return toResult(this.engine.execute(this.client, argv));
  }

  /**
   * Encodes a string into the scratch buffer at `off` without allocating: a plain loop for ASCII
   * (the common case, several times faster than Buffer#write for short keys), Buffer#write (UTF-8)
   * otherwise. Returns the end offset, or -1 if it does not fit.
   */
  private encode(s: string, off: number): number {
    const n = s.length;
    const buf = this.scratch;
    if (off + n * 3 > SCRATCH_BYTES) return -1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return off + this.scratchBuf.write(s, off, 'utf8');
      buf[off + i] = c;
    }
    return off + n;
  }

  private bytes(x: string | Uint8Array, off: number): Uint8Array {
    if (typeof x !== 'string') return x;
    const end = this.encode(x, off);
    return end < 0 ? Buffer.from(x) : this.scratch.subarray(off, end);
  }

  /** GET fast path: same reply and errors as call('GET', key). */
  get(key: string | Uint8Array): Buffer | null {
    const e = this.engine;
    if (e.isClosed) throw new ReplyError('ERR the engine is closed');
    const ks = e.keyspace;
    ks.now = 0; // read the clock only if the key has a TTL
    const v = ks.getString(this.client.db, this.bytes(key, 0));
    e.stats.totalCommands++;
    if (v === null) return null;
    const out = Buffer.allocUnsafe(v.length);
    out.set(v);
    return out;
  }

  /** SET fast path without options: same effect and propagation as call('SET', key, value). */
  set(key: string | Uint8Array, value: string | Uint8Array): 'OK' {
    const e = this.engine;
    if (!e.fastWritesAllowed()) return this.call('SET', key, value) as 'OK';
    e.keyspace.now = 0;
    const k = this.bytes(key, 0);
    const v = this.bytes(value, k.buffer === this.scratch.buffer ? k.byteOffset - this.scratch.byteOffset + k.length : 0);
    e.keyspace.setString(this.client.db, k, v, NO_EXPIRE);
    e.rdb.dirty++;
    e.stats.totalCommands++;
    return 'OK';
  }

  /** Resolves when every write acknowledged so far is as durable as appendfsync promises. */
  durable(): Promise<void> {
    const e = this.engine;
    const off = e.durabilityBarrier();
    if (e.isDurable(off)) return Promise.resolve();
    return new Promise((resolve, reject) => e.whenDurable(off, resolve, reject));
  }

  /** SHUTDOWN semantics: save when save rules exist, stop workers, release memory. */
  async close(): Promise<void> { await this.engine.shutdown({}); }
}

/**
 * Opens (or creates) a database in `dir`, loading dump.rdb if present. Embedded defaults differ
 * from the server's: none (the server passes its command-line directives through here).
 */
export async function open(config: OpenOptions = {}): Promise<Forkless> {
  const cfg: OpenOptions = { ...config };
  const engine = new Engine(cfg);
  await engine.start();
  return new Forkless(engine);
}
