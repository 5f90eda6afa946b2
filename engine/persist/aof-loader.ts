/**
 * Loading the AOF at open(): manifest → base (RDB or RESP) → incr files, replaying every command
 * through the dispatcher as Redis's fake AOF client does.
 *
 * Rules (Redis 7.0.15 loadAppendOnlyFiles / loadSingleAppendOnlyFile):
 *  - A file whose first five bytes are "REDIS" is an RDB (a base, or an old-style RDB-preamble
 *    AOF whose RESP tail is replayed after it). Expired keys are kept, as in any AOF load.
 *  - RESP is read leniently, exactly as Redis reads it: `*<argc>` and `$<len>` lines parsed like
 *    atoi/strtol, the two bytes after each argument skipped unchecked, `#` annotation lines
 *    skipped. A line that does not start with the expected prefix is a format error (fatal, with
 *    file and offset). An unknown command is fatal.
 *  - Nothing expires while loading: keys with a past expire time are loaded and expire later, so
 *    a PERSIST or an overwrite later in the file applies to them as it did when it was written.
 *  - EOF in the middle of a command, or inside MULTI without EXEC (the transaction is dropped), is
 *    a truncated tail. With aof-load-truncated yes the file is truncated to the last complete
 *    command and loading goes on; only the last file may be truncated. With `no` it is fatal.
 *
 * Files are read in chunks through a window buffer, so a multi-gigabyte AOF never has to fit in
 * memory at once; argv entries are zero-copy views into the window, valid during one dispatch.
 */
import { bufferView } from '../sab/buffer-view.js';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, ForklessError } from '../errors.js';
import type { SharedKeyspace } from '../keyspace/keyspace.js';
import { readRdb } from './rdb-reader.js';
import { storeRdbValue, type CollectionLimits } from './rdb-load.js';
import { AofManifest, persistManifest } from './aof-manifest.js';
import type { LogFn } from './rdb-persistence.js';

/** Loading failed (the server must not start). `lines` were already logged. */
export class AofLoadError extends ForklessError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EAOFLOAD', message, options);
    this.name = 'AofLoadError';
  }
}

export type CommandOutcome = 'ok' | 'unknown';

export interface AofLoadHost {
  readonly keyspace: SharedKeyspace;
  readonly log: LogFn;
  /** Runs one command as the AOF client (no reply, no propagation). 'unknown' when no such command. */
  run(argv: Buffer[], now: number): CommandOutcome;
  /** Whether a command exists (checked before queueing inside MULTI). */
  exists(argv: Buffer[]): boolean;
  /** Loading progress, for INFO's loading_* fields. */
  progress?(loadedBytes: number, totalBytes: number): void;
  /** Encoding thresholds for collections in an RDB preamble (Redis's defaults when absent). */
  limits?: CollectionLimits;
}

export interface AofLoadOptions {
  dir: string;
  aofDir: string;
  prefix: string;
  manifest: AofManifest;
  loadTruncated: boolean;
}

export interface AofLoadResult {
  status: 'ok' | 'truncated' | 'empty' | 'not-exist';
  /** Bytes of base + incr files (aof_current_size). */
  totalSize: number;
  /** Bytes of the base file (aof_rewrite_base_size after a load). */
  baseSize: number;
  commands: number;
  keysLoaded: number;
}

type SingleStatus = 'ok' | 'truncated' | 'empty';

// ---------------------------------------------------------------------------------------------
// Zero-copy Buffer views
// ---------------------------------------------------------------------------------------------



// ---------------------------------------------------------------------------------------------
// Chunked reader
// ---------------------------------------------------------------------------------------------

const CHUNK = 8 * 1024 * 1024;
/** fgets buffer of Redis's loader (AOF_ANNOTATION_LINE_MAX_LEN): lines are read 1023 bytes at most. */
const LINE_MAX = 1023;

/** A sliding window over a file (or over bytes already in memory, fd = -1). */
class Window {
  buf: Buffer;
  /** Window bytes [0, end) hold file bytes [base, base + end). */
  base: number;
  end: number;
  eof: boolean;

  constructor(private readonly fd: number, initial: Buffer | null, startOffset: number) {
    if (initial !== null) {
      this.buf = initial;
      this.base = 0;
      this.end = initial.length;
      this.eof = true;
    } else {
      this.buf = Buffer.allocUnsafe(CHUNK);
      this.base = startOffset;
      this.end = 0;
      this.eof = false;
    }
  }

  /** Makes bytes [pos, pos+n) available (pos is a window index). Returns the new index of pos, or -1 at EOF. */
  ensure(pos: number, n: number): number {
    if (pos + n <= this.end) return pos;
    if (this.eof) return -1;
    // Compact: move [pos, end) to the front; grow when one item is larger than the buffer.
    const keep = this.end - pos;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, pos, this.end);
      this.buf = bigger;
    } else if (pos > 0) {
      this.buf.copyWithin(0, pos, this.end);
    }
    this.base += pos;
    this.end = keep;
    while (this.end < n) {
      const r = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.base + this.end);
      if (r === 0) { this.eof = true; break; }
      this.end += r;
    }
    return this.end >= n ? 0 : -1;
  }
}

/** atoi/strtol over a line: optional blanks and sign, digits until a non-digit. */
function parseLeadingInt(b: Buffer, p: number, end: number): number {
  while (p < end && (b[p] === 0x20 || b[p] === 0x09)) p++;
  let neg = false;
  if (p < end && (b[p] === 0x2d || b[p] === 0x2b)) { neg = b[p] === 0x2d; p++; }
  let v = 0;
  while (p < end) {
    const c = b[p]! - 0x30;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    p++;
  }
  return neg ? -v : v;
}

// ---------------------------------------------------------------------------------------------
// Single file
// ---------------------------------------------------------------------------------------------

interface Counters { commands: number; keys: number; loaded: number; total: number; lastReport: number; lastLog: number; t0: number }

function isName(a: Buffer, lower: string): boolean {
  if (a.length !== lower.length) return false;
  for (let i = 0; i < a.length; i++) if ((a[i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function loadRdbPart(host: AofLoadHost, bytes: Buffer, name: string, c: Counters): number {
  const ks = host.keyspace;
  let keys = 0;
  const res = readRdb(bytes, name, {
    key: (db, key, value, expireMs) => {
      if (db >= ks.databases) {
        throw new ForklessError('EDB', `${name}: FATAL: Data file was created with a Redis server configured to handle more than ${ks.databases} databases. Exiting`);
      }
      const before = ks.dbSize(db);
      storeRdbValue(ks, db, key, value, expireMs, host.limits);
      if (ks.dbSize(db) === before) {
        throw new ForklessError('EDUPKEY', `${name}: RDB has duplicated key '${Buffer.from(key).toString()}' in DB ${db}`);
      }
      keys++;
    },
  }, { verifyChecksum: true });
  c.keys += keys;
  host.log('notice', `Done loading RDB, keys loaded: ${keys}, keys expired: 0.`);
  return res.endOffset;
}

function loadSingle(host: AofLoadHost, opts: AofLoadOptions, name: string, c: Counters): SingleStatus {
  const path = join(opts.aofDir, name);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const msg = `Fatal error: can't open the append log file ${name} for reading: ${(err as Error).message}`;
    host.log('warning', msg);
    throw new AofLoadError(msg, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 'empty';
    const sig = Buffer.alloc(5);
    const got = readSync(fd, sig, 0, 5, 0);
    let w: Window;
    let pos = 0;
    if (got === 5 && sig.toString('latin1') === 'REDIS') {
      const oldStyle = name === opts.prefix;
      host.log('notice', oldStyle ? 'Reading RDB preamble from AOF file...' : 'Reading RDB base file on AOF loading...');
      const bytes = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        const r = readSync(fd, bytes, off, size - off, off);
        if (r === 0) break;
        off += r;
      }
      let end: number;
      try {
        end = loadRdbPart(host, bytes.subarray(0, off), name, c);
      } catch (err) {
        host.log('warning', oldStyle
          ? `Error reading the RDB preamble of the AOF file ${name}, AOF loading aborted`
          : `Error reading the RDB base file ${name}, AOF loading aborted`);
        host.log('warning', `Unrecoverable error reading the append only file ${name}: ${(err as Error).message}`);
        throw err instanceof ForklessError ? err : new AofLoadError((err as Error).message, { cause: err });
      }
      c.loaded += end;
      if (oldStyle) host.log('notice', 'Reading the remaining AOF tail...');
      w = new Window(-1, bytes.subarray(0, off), 0);
      pos = end;
    } else {
      w = new Window(fd, null, 0);
      presize(host.keyspace, w, size);
    }
    return replayResp(host, opts, name, path, w, pos, c);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sizes db 0's index for the file before replaying into an empty keyspace, so a large load does
 * not rehash its way up (the dict shrinks back by itself if many commands were overwrites).
 * The command count is extrapolated from the first window's bytes.
 */
function presize(ks: SharedKeyspace, w: Window, size: number): void {
  for (let db = 0; db < ks.databases; db++) if (ks.dbSize(db) !== 0) return;
  if (w.ensure(0, Math.min(size, CHUNK)) < 0 && w.end === 0) return;
  const b = w.buf;
  let cmds = 0;
  for (let i = b.indexOf(0x2a, 0); i >= 0 && i < w.end; i = b.indexOf(0x2a, i + 1)) {
    if (i === 0 || b[i - 1] === 0x0a) cmds++;
  }
  if (cmds < 1024 || w.end === 0) return;
  const estimate = Math.min(64 * 1024 * 1024, Math.floor((cmds * size) / w.end));
  ks.reserve(0, estimate);
}

/**
 * Finds the end of the line starting at record-relative offset `rel` (fgets semantics: at most
 * LINE_MAX bytes). Returns the record-relative offset of its '\n' (or of the last byte fgets would
 * take), or -1 at EOF before the line ends. The window may move: read `cur.rs` again afterwards.
 */
function lineEnd(w: Window, cur: { rs: number }, rel: number): number {
  let scanned = 0;
  for (;;) {
    const b = w.buf;
    const from = cur.rs + rel;
    const stop = Math.min(w.end, from + LINE_MAX);
    for (let i = from + scanned; i < stop; i++) if (b[i] === 0x0a) return i - cur.rs;
    scanned = stop - from;
    if (scanned >= LINE_MAX) return rel + LINE_MAX - 1;
    const nr = w.ensure(cur.rs, rel + scanned + 1);
    if (nr < 0) return -1;
    cur.rs = nr;
  }
}

function replayResp(host: AofLoadHost, opts: AofLoadOptions, name: string, path: string, w: Window, start: number, c: Counters): SingleStatus {
  const cur = { rs: start }; // window index of the current record's first byte
  let validUpTo = w.base + start; // file offset after the last complete command
  let validBeforeMulti = -1;
  let multi: Buffer[][] | null = null;
  let now = Date.now();
  let loops = 0;
  const fileStartLoaded = c.loaded - (w.base + start);
  let spans: number[] = new Array<number>(16);

  const fmtErr = (offset: number, what: string): never => {
    host.log('warning', `Bad file format reading the append only file ${name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>`);
    throw new CorruptFileError(name, offset, what);
  };

  let truncated = false;
  outer: for (;;) {
    if ((loops++ & 1023) === 0) {
      now = Date.now();
      c.loaded = fileStartLoaded + w.base + cur.rs;
      if (now - c.lastReport >= 100) {
        c.lastReport = now;
        host.progress?.(c.loaded, c.total);
        if (now - c.lastLog >= 1000 && now - c.t0 >= 1000) {
          c.lastLog = now;
          host.log('notice', `AOF loading progress: ${(c.loaded / 1048576).toFixed(1)} MB of ${(c.total / 1048576).toFixed(1)} MB (${c.total > 0 ? Math.floor((c.loaded * 100) / c.total) : 100}%), ${c.commands} commands`);
        }
      }
    }
    const np = w.ensure(cur.rs, 1);
    if (np < 0) break; // clean EOF
    cur.rs = np;
    const recStart = w.base + cur.rs;
    let le = lineEnd(w, cur, 0);
    if (le < 0) { truncated = true; break; }
    let b = w.buf;
    if (b[cur.rs] === 0x23) { cur.rs += le + 1; continue; } // '#' annotation
    if (b[cur.rs] !== 0x2a) fmtErr(recStart, "expected '*'");
    const argc = parseLeadingInt(b, cur.rs + 1, cur.rs + le);
    if (argc < 1) fmtErr(recStart, 'invalid argument count');
    if (spans.length < argc * 2) spans = new Array<number>(argc * 2);
    let rel = le + 1;
    // Arguments: `$len` line, len bytes, two bytes skipped.
    for (let j = 0; j < argc; j++) {
      le = lineEnd(w, cur, rel);
      if (le < 0) { truncated = true; break outer; }
      b = w.buf;
      if (b[cur.rs + rel] !== 0x24) fmtErr(w.base + cur.rs + rel, "expected '$'");
      const len = parseLeadingInt(b, cur.rs + rel + 1, cur.rs + le);
      if (len < 0) fmtErr(w.base + cur.rs + rel, 'invalid bulk length');
      rel = le + 1;
      const nr = w.ensure(cur.rs, rel + len + 2);
      if (nr < 0) { truncated = true; break outer; }
      cur.rs = nr;
      spans[2 * j] = rel;
      spans[2 * j + 1] = len;
      rel += len + 2;
    }
    b = w.buf;
    const argv = new Array<Buffer>(argc);
    for (let j = 0; j < argc; j++) argv[j] = bufferView(b, cur.rs + spans[2 * j]!, spans[2 * j + 1]!);
    cur.rs += rel;
    const a0 = argv[0]!;
    if (multi === null && isName(a0, 'multi')) {
      validBeforeMulti = validUpTo;
      multi = [];
    } else if (multi !== null && isName(a0, 'exec')) {
      const queued = multi;
      multi = null;
      for (const q of queued) {
        host.run(q, now);
        c.commands++;
      }
    } else if (multi !== null) {
      if (!host.exists(argv)) unknownCommand(host, a0, name);
      multi.push(argv.map((x) => Buffer.from(x)));
    } else if (host.run(argv, now) === 'unknown') {
      unknownCommand(host, a0, name);
    } else {
      c.commands++;
    }
    validUpTo = w.base + cur.rs;
  }
  c.loaded = fileStartLoaded + w.base + cur.rs;

  if (!truncated && multi !== null) {
    host.log('warning', `Revert incomplete MULTI/EXEC transaction in AOF file ${name}`);
    validUpTo = validBeforeMulti;
    truncated = true;
  }
  if (!truncated) return 'ok';

  if (opts.loadTruncated) {
    host.log('warning', `!!! Warning: short read while loading the AOF file ${name}!!!`);
    host.log('warning', `!!! Truncating the AOF ${name} at offset ${validUpTo} !!!`);
    try {
      truncateSync(path, validUpTo);
      host.log('warning', `AOF ${name} loaded anyway because aof-load-truncated is enabled`);
      return 'truncated';
    } catch (err) {
      host.log('warning', `Error truncating the AOF file ${name}: ${(err as Error).message}`);
    }
  }
  host.log('warning', `Unexpected end of file reading the append only file ${name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`);
  throw new CorruptFileError(name, validUpTo, 'unexpected end of file (truncated AOF)');
}

function unknownCommand(host: AofLoadHost, a0: Buffer, name: string): never {
  const msg = `Unknown command '${a0.toString('latin1')}' reading the append only file ${name}`;
  host.log('warning', msg);
  throw new AofLoadError(msg);
}

// ---------------------------------------------------------------------------------------------
// Old-style AOF migration and the whole load
// ---------------------------------------------------------------------------------------------

/**
 * A single `appendonly.aof` in `dir` (Redis < 7) becomes the base of a new multi-part directory,
 * under the conditions Redis uses (no directory, an empty manifest, or a half-done migration).
 */
export function migrateOldStyleIfNeeded(log: LogFn, opts: AofLoadOptions): void {
  const old = join(opts.dir, opts.prefix);
  if (!existsSync(old)) return;
  const m = opts.manifest;
  const dirExists = existsSync(opts.aofDir);
  const halfDone = m.base !== null && m.incr.length === 0 && m.base.name === opts.prefix && !existsSync(join(opts.aofDir, opts.prefix));
  if (dirExists && !m.isEmpty && !halfDone) return;
  try {
    mkdirSync(opts.aofDir, { recursive: true });
  } catch (err) {
    const msg = `Can't open or create append-only dir ${opts.aofDir}: ${(err as Error).message}`;
    log('warning', msg);
    throw new AofLoadError(msg, { cause: err });
  }
  m.base = { name: opts.prefix, seq: 1, type: 'b' };
  m.currBaseSeq = 1;
  persistManifest(opts.aofDir, opts.prefix, m);
  try {
    renameSync(old, join(opts.aofDir, opts.prefix));
  } catch (err) {
    const msg = `Error trying to move the old AOF file ${opts.prefix} into dir ${opts.aofDir}: ${(err as Error).message}`;
    log('warning', msg);
    throw new AofLoadError(msg, { cause: err });
  }
  log('notice', `Successfully migrated an old-style AOF file (${opts.prefix}) into the AOF directory (${opts.aofDir}).`);
}

export function loadAppendOnlyFiles(host: AofLoadHost, opts: AofLoadOptions): AofLoadResult {
  const m = opts.manifest;
  const result: AofLoadResult = { status: 'not-exist', totalSize: 0, baseSize: 0, commands: 0, keysLoaded: 0 };
  if (m.isEmpty) return result;
  const files = m.loadOrder();
  let total = 0;
  for (const f of files) {
    try {
      total += statSync(join(opts.aofDir, f.name)).size;
    } catch (err) {
      const msg = `Unable to obtain the AOF file ${f.name} length. stat: ${(err as Error).message}`;
      host.log('warning', msg);
      throw new AofLoadError(msg, { cause: err });
    }
  }
  result.totalSize = total;
  if (total === 0) { result.status = 'empty'; return result; }
  const c: Counters = { commands: 0, keys: 0, loaded: 0, total, lastReport: 0, lastLog: Date.now(), t0: Date.now() };
  const ks = host.keyspace;
  const savedNow = ks.now;
  const savedDeletes = ks.expireDeletes;
  // Loading semantics: nothing is expired (keyIsExpired is false while loading).
  ks.now = 1;
  ks.expireDeletes = false;
  let status: SingleStatus | 'ok' = 'ok';
  try {
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const last = i === files.length - 1;
      const t0 = performance.now();
      const before = c.loaded;
      const r = loadSingle(host, opts, f.name, c);
      c.loaded = before + (r === 'empty' ? 0 : statSync(join(opts.aofDir, f.name)).size);
      if (f.type === 'b') result.baseSize = statSync(join(opts.aofDir, f.name)).size;
      if (r === 'ok' || (r === 'truncated' && last)) {
        host.log('notice', `DB loaded from ${f.type === 'b' ? 'base' : 'incr'} file ${f.name}: ${((performance.now() - t0) / 1000).toFixed(3)} seconds`);
      }
      if (r === 'truncated' && !last) {
        host.log('warning', 'Fatal error: the truncated file is not the last file');
        throw new AofLoadError(`${f.name}: the truncated file is not the last file`);
      }
      if (r === 'truncated') status = 'truncated';
    }
  } catch (err) {
    ks.flushAll();
    throw err;
  } finally {
    ks.now = savedNow;
    ks.expireDeletes = savedDeletes;
  }
  host.progress?.(total, total);
  result.status = status;
  // A truncated last file changed size.
  result.totalSize = files.reduce((n, f) => n + statSync(join(opts.aofDir, f.name)).size, 0);
  result.commands = c.commands;
  result.keysLoaded = c.keys;
  return result;
}
