/**
 * The multi-part AOF manifest (Redis 7.0): which files make up the AOF, in load order.
 *
 *   file appendonly.aof.2.base.rdb seq 2 type b
 *   file appendonly.aof.1.incr.aof seq 1 type h
 *   file appendonly.aof.3.incr.aof seq 3 type i
 *
 * One base (b), history files (h) waiting to be deleted, incremental files (i) in strictly
 * increasing sequence. Base and incr sequences are independent counters. Lines are written base,
 * history, incr; names that need quoting are written the way Redis's sdscatrepr quotes.
 *
 * Parsing follows Redis's rules exactly, including its strictness: every line (even the last)
 * must end with a newline, `#` lines are comments, blank lines are errors, unknown key/value pairs
 * are ignored (forward compatibility), any error is fatal at startup.
 *
 * Writing is atomic: temp file, write, fsync, rename over the manifest, fsync the directory.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ForklessError } from '../errors.js';
import { reprBytes, splitArgs } from '../server/splitargs.js';

export type AofFileType = 'b' | 'h' | 'i';

export interface AofInfo {
  name: string;
  seq: number;
  type: AofFileType;
}

/** The manifest could not be read or is malformed. `lines` are the messages Redis logs (each may hold newlines). */
export class AofManifestError extends ForklessError {
  readonly lines: string[];
  constructor(message: string, lines: string[], options?: { cause?: unknown }) {
    super('EAOFMANIFEST', message, options);
    this.name = 'AofManifestError';
    this.lines = lines;
  }
}

const MAX_LINE = 1024;

export class AofManifest {
  base: AofInfo | null = null;
  history: AofInfo[] = [];
  incr: AofInfo[] = [];
  currBaseSeq = 0;
  currIncrSeq = 0;

  clone(): AofManifest {
    const m = new AofManifest();
    m.base = this.base === null ? null : { ...this.base };
    m.history = this.history.map((i) => ({ ...i }));
    m.incr = this.incr.map((i) => ({ ...i }));
    m.currBaseSeq = this.currBaseSeq;
    m.currIncrSeq = this.currIncrSeq;
    return m;
  }

  get isEmpty(): boolean { return this.base === null && this.incr.length === 0; }

  /** Base and incr files, in load order (history excluded). */
  loadOrder(): AofInfo[] {
    return this.base === null ? [...this.incr] : [this.base, ...this.incr];
  }

  /**
   * A new base name (`<prefix>.<seq>.base.rdb|aof`); the previous base becomes history (first in
   * the history list, as Redis does).
   */
  newBase(prefix: string, rdbPreamble: boolean): AofInfo {
    if (this.base !== null) {
      this.base.type = 'h';
      this.history.unshift(this.base);
    }
    const seq = ++this.currBaseSeq;
    this.base = { name: `${prefix}.${seq}.base.${rdbPreamble ? 'rdb' : 'aof'}`, seq, type: 'b' };
    return this.base;
  }

  /** Appends a new incr file (`<prefix>.<seq>.incr.aof`). */
  newIncr(prefix: string): AofInfo {
    const seq = ++this.currIncrSeq;
    const info: AofInfo = { name: `${prefix}.${seq}.incr.aof`, seq, type: 'i' };
    this.incr.push(info);
    return info;
  }

  /** The last incr file, creating one when there is none. */
  lastIncr(prefix: string): AofInfo {
    return this.incr.length > 0 ? this.incr[this.incr.length - 1]! : this.newIncr(prefix);
  }

  /** After a rewrite: every incr file but the one being written becomes history. */
  markRewrittenIncrAsHistory(keepLast: boolean): void {
    const keep = keepLast && this.incr.length > 0 ? this.incr.pop()! : null;
    // Redis walks the list from the tail and prepends each, so history keeps incr order.
    for (let i = this.incr.length - 1; i >= 0; i--) {
      const info = this.incr[i]!;
      this.history.unshift({ ...info, type: 'h' });
    }
    this.incr = keep === null ? [] : [keep];
  }

  format(): string {
    let s = '';
    const line = (i: AofInfo): string => {
      const name = needsRepr(i.name) ? reprBytes(Buffer.from(i.name, 'utf8')) : i.name;
      return `file ${name} seq ${i.seq} type ${i.type}\n`;
    };
    if (this.base !== null) s += line(this.base);
    for (const h of this.history) s += line(h);
    for (const i of this.incr) s += line(i);
    return s;
  }
}

/** sdsneedsrepr: backslash, quote, control, non-printable or space bytes need quoting. */
function needsRepr(name: string): boolean {
  for (const c of Buffer.from(name, 'utf8')) {
    if (c === 0x5c || c === 0x22 || c <= 0x20 || c >= 0x7f) return true;
  }
  return false;
}

/** atoll: optional blanks and sign, then digits; stops at the first non-digit. */
function atoll(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m === null ? 0 : Number(m[1]);
}

/** Parses manifest text. `path` labels errors. Throws AofManifestError. */
export function parseManifest(bytes: Uint8Array, path: string): AofManifest {
  const m = new AofManifest();
  let maxSeq = 0;
  let lineNo = 0;
  let pos = 0;
  const fail = (err: string, line: string | null): never => {
    // Redis's four serverLog calls, embedded newlines included.
    const lines = ['\n*** FATAL AOF MANIFEST FILE ERROR ***\n'];
    if (line !== null) lines.push(`Reading the manifest file, at line ${lineNo}\n`, `>>> '${line}'\n`);
    lines.push(`${err}\n`);
    throw new AofManifestError(`${path}: ${err}${line !== null ? ` (line ${lineNo}: '${line}')` : ''}`, lines);
  };
  for (;;) {
    if (pos >= bytes.length) {
      if (lineNo === 0) fail('Found an empty AOF manifest', null);
      break;
    }
    // fgets with a MAX_LINE+1 buffer: at most MAX_LINE bytes, up to and including a newline.
    let end = pos;
    const limit = Math.min(bytes.length, pos + MAX_LINE);
    while (end < limit && bytes[end] !== 0x0a) end++;
    const hasNewline = end < limit;
    const raw = Buffer.from(bytes.buffer, bytes.byteOffset + pos, (hasNewline ? end + 1 : end) - pos);
    pos = hasNewline ? end + 1 : end;
    lineNo++;
    if (raw[0] === 0x23) continue; // '#'
    if (!hasNewline) fail('The AOF manifest file contains too long line', null);
    const line = raw.toString('latin1').replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (line.length === 0) fail('Invalid AOF manifest file format', line);
    const argv = splitArgs(Buffer.from(line, 'latin1'));
    if (argv === null || argv.length < 6 || argv.length % 2 !== 0) fail('Invalid AOF manifest file format', line);
    let name: string | null = null;
    let seq = 0;
    let type = '';
    for (let i = 0; i < argv!.length; i += 2) {
      const k = argv![i]!.toString('latin1').toLowerCase();
      const v = argv![i + 1]!;
      if (k === 'file') {
        name = v.toString('utf8');
        if (name.includes('/') || name.includes('\\')) fail("File can't be a path, just a filename", line);
      } else if (k === 'seq') {
        seq = atoll(v.toString('latin1'));
      } else if (k === 'type') {
        type = v.length > 0 ? String.fromCharCode(v[0]!) : '';
      }
    }
    if (name === null || name === '' || seq === 0 || type === '') fail('Invalid AOF manifest file format', line);
    const info: AofInfo = { name: name!, seq, type: type as AofFileType };
    if (type === 'b') {
      if (m.base !== null) fail('Found duplicate base file information', line);
      m.base = info;
      m.currBaseSeq = seq;
    } else if (type === 'h') {
      m.history.push(info);
    } else if (type === 'i') {
      if (seq <= maxSeq) fail('Found a non-monotonic sequence number', line);
      m.incr.push(info);
      m.currIncrSeq = seq;
      maxSeq = seq;
    } else {
      fail('Unknown AOF file type', line);
    }
  }
  return m;
}

export function loadManifestFile(path: string): AofManifest {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const msg = `Fatal error: can't open the AOF manifest file ${path} for reading: ${(err as Error).message}`;
    throw new AofManifestError(msg, [msg], { cause: err });
  }
  return parseManifest(bytes, path);
}

export function manifestName(prefix: string): string { return `${prefix}.manifest`; }
export function tempManifestName(prefix: string): string { return `temp-${prefix}.manifest`; }

/** fsync a directory so renames and new files in it survive a machine crash. */
export function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse directory fsync; the rename itself is still atomic */
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Writes the manifest atomically into `aofDir`. Throws a ForklessError whose message is Redis's
 * log line for the step that failed.
 */
export function persistManifest(aofDir: string, prefix: string, m: AofManifest): void {
  const tmpName = tempManifestName(prefix);
  const tmp = join(aofDir, tmpName);
  const final = join(aofDir, manifestName(prefix));
  const text = Buffer.from(m.format(), 'utf8');
  let fd: number;
  try {
    fd = openSync(tmp, 'w', 0o644);
  } catch (err) {
    throw new ForklessError('EAOFMANIFEST', `Can't open the AOF manifest file ${tmpName}: ${(err as Error).message}`, { cause: err });
  }
  try {
    let off = 0;
    while (off < text.length) off += writeSync(fd, text, off, text.length - off);
    fsyncSync(fd);
  } catch (err) {
    throw new ForklessError('EAOFMANIFEST', `Error trying to write the temporary AOF manifest file ${tmpName}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, final);
  } catch (err) {
    throw new ForklessError('EAOFMANIFEST', `Error trying to rename the temporary AOF manifest file ${tmpName} into ${manifestName(prefix)}: ${(err as Error).message}`, { cause: err });
  }
  fsyncDir(aofDir);
}
