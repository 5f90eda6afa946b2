/**
 * forkless-check-aof: the checks and the output of Redis 7.0.15's redis-check-aof, so scripts and
 * operators that read one read the other.
 *
 *   forkless-check-aof [--fix] [--yes] <file.manifest|file.aof>
 *   forkless-check-aof --truncate-to-timestamp <unix> <file.manifest|file.aof>
 *
 * Input type: a file with a line starting with "file" is a manifest (multi-part AOF: base, then
 * incr files); a file starting with "REDIS" is an RDB-preamble AOF; anything else is RESP.
 *
 * Checking is strict where Redis's loader is lenient: every `*`/`$` header must be followed by
 * CRLF, every argument by CRLF, MULTI may not nest and every MULTI needs its EXEC. For each file
 * the report is Redis's line
 *   AOF analyzed: filename=…, size=…, ok_up_to=…, ok_up_to_line=…, diff=…
 * (the line counter runs on across the files of a manifest, as Redis's does), error lines are
 * `0x<offset as %16x>: <message>`. `--fix` truncates the last file at `ok_up_to` after asking
 * "Continue? [y/N]:" (`--yes` answers for you); a bad non-last file cannot be fixed.
 *
 * Exit codes: 0 valid (or fixed), 1 invalid, refused or aborted.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatLogLine } from '../log.js';
import { readRdb } from './rdb-reader.js';
import { AofManifestError, parseManifest } from './aof-manifest.js';

export interface CheckIo {
  /** Writes output (stdout). */
  out(text: string): void;
  /** Reads one line of the user's answer, or null at EOF. */
  readLine(): string | null;
}

/** Thrown to end the run with an exit code (Redis calls exit()). */
class Exit {
  constructor(readonly code: number) {}
}

const CHECK_OK = 0;
const CHECK_EMPTY = 1;
const CHECK_TRUNCATED = 2;
const CHECK_TIMESTAMP_TRUNCATED = 3;

/** A positioned reader over a whole file (AOF checks read everything once). */
class Reader {
  pos = 0;
  constructor(readonly b: Buffer) {}
  get eof(): boolean { return this.pos >= this.b.length; }
  /** fgets(buf, size): up to size-1 bytes, stopping after '\n'. null at EOF. */
  fgets(size: number): Buffer | null {
    if (this.pos >= this.b.length) return null;
    const start = this.pos;
    const limit = Math.min(this.b.length, start + size - 1);
    let p = start;
    while (p < limit) {
      if (this.b[p++] === 0x0a) break;
    }
    this.pos = p;
    return this.b.subarray(start, p);
  }
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, ' ');
}

/** printf("%02x", (char)c): bytes above 0x7f print sign-extended, as Redis's output shows. */
function charHex(c: number | undefined): string {
  const v = c ?? 0;
  return v >= 0x80 ? `ffffff${v.toString(16)}` : v.toString(16).padStart(2, '0');
}

/** strtol(buf, &end, 10): returns [value, index of the first unparsed byte]. */
function strtol(b: Buffer, p: number): [number, number] {
  const start = p;
  while (p < b.length && (b[p] === 0x20 || (b[p]! >= 0x09 && b[p]! <= 0x0d))) p++;
  let neg = false;
  if (p < b.length && (b[p] === 0x2b || b[p] === 0x2d)) { neg = b[p] === 0x2d; p++; }
  const digitsStart = p;
  let v = 0;
  while (p < b.length && b[p]! >= 0x30 && b[p]! <= 0x39) { v = v * 10 + (b[p]! - 0x30); p++; }
  if (p === digitsStart) return [0, start];
  return [neg ? -v : v, p];
}

class Checker {
  private error = '';
  private epos = 0;
  private line = 1;

  constructor(private readonly io: CheckIo, private readonly toTimestamp: number) {}

  private setError(msg: string): void {
    this.error = `0x${hex16(this.epos)}: ${msg}`;
  }

  private consumeNewline(b: Buffer, p: number): boolean {
    if (b[p] !== 0x0d || b[p + 1] !== 0x0a) {
      this.setError(`Expected \\r\\n, got: ${charHex(b[p])}${charHex(b[p + 1])}`);
      return false;
    }
    this.line++;
    return true;
  }

  private readLong(r: Reader, prefix: string): number | null {
    this.epos = r.pos;
    const buf = r.fgets(128);
    if (buf === null) return null;
    if (buf[0] !== prefix.charCodeAt(0)) {
      this.setError(`Expected prefix '${prefix}', got: '${String.fromCharCode(buf[0] ?? 0)}'`);
      return null;
    }
    // fgets leaves a NUL after the bytes it read: reading past them finds 0.
    const padded = Buffer.concat([buf, Buffer.alloc(2)]);
    const [v, end] = strtol(padded, 1);
    if (!this.consumeNewline(padded, end)) return null;
    return v;
  }

  private readString(r: Reader): Buffer | null {
    const len = this.readLong(r, '$');
    if (len === null) return null;
    if (len < 0 || len > Number.MAX_SAFE_INTEGER - 2) {
      this.setError(`Expected to read string of ${len} bytes, which is not in the suitable range`);
      return null;
    }
    this.epos = r.pos;
    const want = len + 2;
    const real = Math.min(want, r.b.length - r.pos);
    if (real !== want) {
      r.pos += real;
      this.setError(`Expected to read ${want} bytes, got ${real} bytes`);
      return null;
    }
    const s = r.b.subarray(r.pos, r.pos + len);
    r.pos += want;
    if (!this.consumeNewline(r.b, r.pos - 2)) return null;
    return s;
  }

  /** One RESP record; tracks MULTI/EXEC nesting in `multi`. */
  private processResp(r: Reader, filename: string, multi: { n: number }): boolean {
    const argc = this.readLong(r, '*');
    if (argc === null) return false;
    for (let i = 0; i < argc; i++) {
      const s = this.readString(r);
      if (s === null) return false;
      if (i === 0) {
        const name = s.toString('latin1').toLowerCase();
        if (name === 'multi') {
          if (multi.n++ !== 0) { this.setError(`Unexpected MULTI in AOF ${filename}`); return false; }
        } else if (name === 'exec') {
          if (--multi.n !== 0) { this.setError(`Unexpected EXEC in AOF ${filename}`); return false; }
        }
      }
    }
    return true;
  }

  /** `#` lines; with --truncate-to-timestamp, cuts the file at the first later #TS. */
  private processAnnotations(r: Reader, fd: number, filename: string, lastFile: boolean): boolean {
    this.epos = r.pos;
    const buf = r.fgets(1024);
    if (buf === null) {
      this.io.out(`Failed to read annotations from AOF ${filename}, aborting...\n`);
      throw new Exit(1);
    }
    const text = buf.toString('latin1');
    if (this.toTimestamp !== 0 && text.startsWith('#TS:')) {
      const m = /^#TS:(-?\d+)([\s\S]?)/.exec(text);
      if (m === null || m[2] !== '\r') {
        this.io.out('Invalid timestamp annotation\n');
        throw new Exit(1);
      }
      const ts = Number(m[1]);
      if (ts <= this.toTimestamp) return true;
      if (this.epos === 0) {
        this.io.out(`AOF ${filename} has nothing before timestamp ${this.toTimestamp}, aborting...\n`);
        throw new Exit(1);
      }
      if (!lastFile) {
        this.io.out(`Failed to truncate AOF ${filename} to timestamp ${this.toTimestamp} to offset ${this.epos} because it is not the last file.\n`);
        this.io.out('If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run redis-check-aof.\n');
        throw new Exit(1);
      }
      try {
        ftruncateSync(fd, this.epos);
      } catch {
        this.io.out(`Failed to truncate AOF ${filename} to timestamp ${this.toTimestamp}\n`);
        throw new Exit(1);
      }
      return false;
    }
    return true;
  }

  /** redis-check-rdb's report for an RDB base / preamble; returns the offset where it ends. */
  private checkRdb(b: Buffer, name: string): number {
    const io = this.io;
    io.out(`[offset 0] Checking RDB file ${name}\n`);
    const events: string[] = [];
    let keys = 0;
    let expires = 0;
    let expired = 0;
    const now = Date.now();
    let res;
    try {
      res = readRdb(b, name, {
        aux: (k, v) => { events.push(`AUX FIELD ${k} = '${v}'`); },
        selectDb: (db) => { events.push(`Selecting DB ID ${db}`); },
        key: (_db, _k, _v, exp) => {
          keys++;
          if (exp !== -1) { expires++; if (exp < now) expired++; }
        },
      }, { verifyChecksum: true });
    } catch (err) {
      io.out('--- RDB ERROR DETECTED ---\n');
      io.out(`[offset ${(err as { offset?: number }).offset ?? 0}] ${(err as Error).message}\n`);
      io.out(`[info] ${keys} keys read\n[info] ${expires} expires\n[info] ${expired} already expired\n`);
      io.out('RDB preamble of AOF file is not sane, aborting.\n');
      throw new Exit(1);
    }
    // Offsets of AUX and SELECTDB records, as redis-check-rdb prints them (after each record).
    const offsets = scanRdbOffsets(b, res.endOffset);
    for (let i = 0; i < events.length; i++) io.out(`[offset ${offsets[i] ?? res.endOffset}] ${events[i]}\n`);
    if (res.checksum === 'verified') io.out(`[offset ${res.endOffset}] Checksum OK\n`);
    else if (res.checksum === 'disabled-in-file') io.out('RDB file was saved with checksum disabled: no check performed.\n');
    io.out(`[offset ${res.endOffset}] \\o/ RDB looks OK! \\o/\n`);
    io.out(`[info] ${keys} keys read\n[info] ${expires} expires\n[info] ${expired} already expired\n`);
    return res.endOffset;
  }

  /** checkSingleAof. `displayName` is what the report names; `errName` what error lines name. */
  checkSingle(displayName: string, path: string, lastFile: boolean, fix: boolean, preamble: boolean, confirm: boolean): number {
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch (err) {
      this.io.out(`Cannot open file ${path}: ${(err as NodeJS.ErrnoException).message}, aborting...\n`);
      throw new Exit(1);
    }
    try {
      const size = fstatSync(fd).size;
      if (size === 0) return CHECK_EMPTY;
      const bytes = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, bytes, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      const r = new Reader(bytes.subarray(0, got));
      if (preamble) {
        r.pos = this.checkRdb(r.b, displayName);
        this.io.out('RDB preamble is OK, proceeding with AOF tail...\n');
      }
      let pos = r.pos;
      const multi = { n: 0 };
      let hitEof = false;
      for (;;) {
        if (multi.n === 0) pos = r.pos;
        if (r.eof) { hitEof = true; break; }
        const c = r.b[r.pos];
        if (c === 0x23) {
          if (!this.processAnnotations(r, fd, path, lastFile)) return CHECK_TIMESTAMP_TRUNCATED;
        } else if (c === 0x2a) {
          if (!this.processResp(r, path, multi)) { hitEof = r.eof; break; }
        } else {
          this.io.out(`AOF ${displayName} format error\n`);
          break;
        }
      }
      if (hitEof && multi.n !== 0 && this.error === '') this.setError('Reached EOF before reading EXEC for MULTI');
      if (this.error !== '') this.io.out(`${this.error}\n`);
      const diff = size - pos;
      if (diff === 0 && this.toTimestamp !== 0) {
        this.io.out(`Truncate nothing in AOF ${displayName} to timestamp ${this.toTimestamp}\n`);
        return CHECK_OK;
      }
      this.io.out(`AOF analyzed: filename=${displayName}, size=${size}, ok_up_to=${pos}, ok_up_to_line=${this.line}, diff=${diff}\n`);
      if (diff > 0) {
        if (!fix) {
          this.io.out(`AOF ${displayName} is not valid. Use the --fix option to try fixing it.\n`);
          throw new Exit(1);
        }
        if (!lastFile) {
          this.io.out(`Failed to truncate AOF ${displayName} because it is not the last file\n`);
          throw new Exit(1);
        }
        this.io.out(`This will shrink the AOF ${displayName} from ${size} bytes, with ${diff} bytes, to ${pos} bytes\n`);
        this.io.out('Continue? [y/N]: ');
        if (!confirm) {
          const answer = this.io.readLine();
          if (answer === null || !/^y/i.test(answer)) {
            this.io.out('Aborting...\n');
            throw new Exit(1);
          }
        }
        try {
          ftruncateSync(fd, pos);
        } catch {
          this.io.out(`Failed to truncate AOF ${displayName}\n`);
          throw new Exit(1);
        }
        return CHECK_TRUNCATED;
      }
      return CHECK_OK;
    } finally {
      closeSync(fd);
    }
  }

  reportSingle(kind: string, name: string, ret: number): void {
    const io = this.io;
    if (ret === CHECK_OK) io.out(`${kind}${name} is valid\n`);
    else if (ret === CHECK_EMPTY) io.out(`${kind}${name} is empty\n`);
    else if (ret === CHECK_TIMESTAMP_TRUNCATED) io.out(`Successfully truncated AOF ${name} to timestamp ${this.toTimestamp}\n`);
    else if (ret === CHECK_TRUNCATED) io.out(`Successfully truncated AOF ${name}\n`);
  }
}

/** Byte offsets just after each AUX and SELECTDB record of an RDB (for the check report). */
function scanRdbOffsets(b: Buffer, end: number): number[] {
  const out: number[] = [];
  let p = 9;
  const len = (): number => {
    const c = b[p]!;
    const k = c >> 6;
    if (k === 0) { p += 1; return c & 0x3f; }
    if (k === 1) { const v = ((c & 0x3f) << 8) | b[p + 1]!; p += 2; return v; }
    if (c === 0x80) { const v = b.readUInt32BE(p + 1); p += 5; return v; }
    if (c === 0x81) { const v = Number(b.readBigUInt64BE(p + 1)); p += 9; return v; }
    p += 1;
    return -1 - (c & 0x3f);
  };
  const str = (): boolean => {
    const n = len();
    if (n >= 0) { p += n; return true; }
    const enc = -1 - n;
    if (enc === 0) p += 1;
    else if (enc === 1) p += 2;
    else if (enc === 2) p += 4;
    else if (enc === 3) { const c = len(); len(); p += c; } else return false;
    return true;
  };
  try {
    while (p < end) {
      const op = b[p++]!;
      if (op === 0xfa) { str(); str(); out.push(p); }
      else if (op === 0xfe) { len(); out.push(p); }
      else if (op === 0xfb) { len(); len(); }
      else if (op === 0xfc) p += 8;
      else if (op === 0xfd) p += 4;
      else if (op === 0xf8) len();
      else if (op === 0xf9) p += 1;
      else if (op === 0xff) break;
      else if (op === 0) { str(); str(); }
      else break; // another type: stop reporting offsets (the content was validated by readRdb)
    }
  } catch {
    /* offsets are cosmetic */
  }
  return out;
}

function fileIsManifest(path: string): boolean {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (err) {
    throw new Error(`Cannot open file ${path}: ${(err as Error).message}`);
  }
  if (text.length === 0) return false;
  let p = 0;
  while (p < text.length) {
    let e = text.indexOf(0x0a, p);
    if (e < 0) e = text.length;
    const line = text.subarray(p, Math.min(e, p + 1024));
    if (line[0] !== 0x23 && line.subarray(0, 4).toString('latin1') === 'file') return true;
    p = e + 1;
  }
  return false;
}

function fileIsRdb(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) return false;
    const sig = Buffer.alloc(5);
    readSync(fd, sig, 0, 5, 0);
    return sig.toString('latin1') === 'REDIS';
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs the tool on argv (without the program name). Returns the exit code; all output goes to
 * `io.out`. `prog` names the program in the usage line.
 */
export function runCheckAof(argv: readonly string[], io: CheckIo, prog = 'forkless-check-aof'): number {
  let fix = false;
  let yes = false;
  let toTimestamp = 0;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--fix') fix = true;
    else if (a === '--yes') yes = true;
    else if (a === '--truncate-to-timestamp' && i + 1 < argv.length) {
      const v = argv[++i]!;
      if (!/^-?\d+$/.test(v)) { io.out('Invalid timestamp, aborting...\n'); return 1; }
      toTimestamp = Number(v);
    } else rest.push(a);
  }
  if (rest.length !== 1 || (toTimestamp !== 0 && fix)) {
    io.out(`Usage: ${prog} [--fix|--truncate-to-timestamp $timestamp] [--yes] <file.manifest|file.aof>\n`);
    return 1;
  }
  const path = rest[0]!;
  const c = new Checker(io, toTimestamp);
  try {
    let isManifest: boolean;
    try {
      isManifest = fileIsManifest(path);
    } catch (err) {
      io.out(`${(err as Error).message}\n`);
      return 1;
    }
    if (isManifest) {
      io.out('Start checking Multi Part AOF\n');
      let m;
      try {
        m = parseManifest(readFileSync(path), path);
      } catch (err) {
        if (err instanceof AofManifestError) {
          for (const l of err.lines) io.out(`${formatLogLine('warning', l, 'C')}\n`);
          return 1;
        }
        throw err;
      }
      const dir = dirname(path);
      const files = m.loadOrder();
      let n = 0;
      if (m.base !== null) {
        const p = join(dir, m.base.name);
        const last = ++n === files.length;
        let preamble: boolean;
        try {
          preamble = fileIsRdb(p);
        } catch (err) {
          io.out(`Cannot open file ${p}: ${(err as Error).message}\n`);
          return 1;
        }
        io.out(`Start to check BASE AOF (${preamble ? 'RDB' : 'RESP'} format).\n`);
        c.reportSingle('BASE AOF ', m.base.name, c.checkSingle(m.base.name, p, last, fix, preamble, yes));
      }
      if (m.incr.length > 0) {
        io.out('Start to check INCR files.\n');
        for (const f of m.incr) {
          const last = ++n === files.length;
          c.reportSingle('INCR AOF ', f.name, c.checkSingle(f.name, join(dir, f.name), last, fix, false, yes));
        }
      }
      io.out('All AOF files and manifest are valid\n');
      return 0;
    }
    let preamble: boolean;
    try {
      preamble = fileIsRdb(path);
    } catch (err) {
      io.out(`Cannot open file ${path}: ${(err as Error).message}\n`);
      return 1;
    }
    io.out('Start checking Old-Style AOF\n');
    c.reportSingle('AOF ', path, c.checkSingle(path, path, true, fix, preamble, yes));
    return 0;
  } catch (err) {
    if (err instanceof Exit) return err.code;
    throw err;
  }
}
