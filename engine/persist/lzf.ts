/**
 * LZF, the byte-oriented LZ77 variant Redis uses for RDB string compression (liblzf 3.x format).
 *
 * Stream format (a sequence of commands, no header, no trailer):
 *   000LLLLL  + L+1 bytes            literal run of 1..32 bytes
 *   LLLooooo  oooooooo               back-reference, length L+2 (L = 1..6), offset o+1 (1..8192)
 *   111ooooo  LLLLLLLL oooooooo      back-reference, length L+9 (9..264),  offset o+1
 * A back-reference copies bytes that were already produced, starting `offset` bytes behind the output
 * cursor; source and destination may overlap (offset 1 repeats the previous byte), so the copy is
 * byte-wise in order.
 *
 * Compatibility. Any correct LZF stream decodes with any decoder, but for our dumps to be
 * byte-identical to redis-server's the *compressor* must make the same choices as Redis's build of
 * liblzf: 16-bit hash table (HLOG 16), the "VERY_FAST" hash ((h >> 8) - h * 5 over the next three
 * bytes) and its re-hashing of the two positions before the end of each match, literal runs of at most
 * 32, match lengths capped at 264, offsets below 8192, a match candidate at input position 0 never
 * used, and the same conservative out-of-space tests (which decide whether Redis stores a value raw).
 *
 * Hash table reuse. liblzf never clears its table; it keeps raw positions and relies on bounds checks.
 * We keep one Int32Array(65536) per compressor and make stale entries harmless with a moving `base`:
 * an entry stores `base + position`, and only entries greater than the current call's `base` count.
 * After each call `base` moves past every value written, so the next call sees a logically empty
 * table without paying for a 256 KiB clear. (This matches liblzf run on a zeroed table.)
 */
import { ForklessError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

const HLOG = 16;
const HSIZE = 1 << HLOG;
/** Longest literal run one control byte can announce. */
export const LZF_MAX_LIT = 1 << 5;
/** Back-references reach at most this many bytes behind the cursor. */
export const LZF_MAX_OFF = 1 << 13;
/** Longest back-reference (in bytes copied). */
export const LZF_MAX_REF = (1 << 8) + (1 << 3);
/** Reset the hash table before `base` leaves the small-integer range. */
const BASE_LIMIT = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Compressor
// ---------------------------------------------------------------------------------------------

/** An LZF compressor with its own reusable hash table. Not shareable between threads. */
export class LzfCompressor {
  private readonly htab = new Int32Array(HSIZE);
  private base = 0;

  /*
   * Compress `input[inOff..inOff+inLen)` into `output[outOff..outOff+outLen)`.
   * Returns the compressed length, or 0 when the result does not fit in `outLen` bytes (or either
   * length is 0). Like liblzf, the fit tests are conservative: it can give up a few bytes early,
   * and Redis relies on exactly that behaviour when it asks for "at least 4 bytes saved".
   *
   * Why the loop is shaped this way: it mirrors liblzf's greedy parse step by step (hash the next
   * three bytes, look up the previous position with the same hash, extend the match, then re-hash
   * the two positions just before the match end), because every one of those choices changes the
   * output bytes. The match-extension step reproduces liblzf's unrolled first 16 comparisons, which
   * are not bounded by `maxlen` and therefore can produce a match up to 19 bytes when fewer than 19
   * bytes of input are left.
   */
  compress(
    input: Uint8Array,
    inOff: number,
    inLen: number,
    output: Uint8Array,
    outOff: number,
    outLen: number,
  ): number {
    if (inLen <= 0 || outLen <= 0) return 0;
    if (inOff < 0 || inOff + inLen > input.length || outOff < 0 || outOff + outLen > output.length) {
      throw new RangeError('LzfCompressor.compress: range outside buffer');
    }
    let base = this.base;
    if (base + inLen >= BASE_LIMIT) {
      this.htab.fill(0);
      base = 0;
    }
    const htab = this.htab;
    const inEnd = inOff + inLen;
    const outEnd = outOff + outLen;
    const ipLimit = inEnd - 2;

    let ip = inOff;
    let op = outOff + 1; // reserve the control byte of the first literal run
    let lit = 0;
    // Only the low 24 bits of the rolling value matter to the hash; keep it there (small ints).
    let hval = inLen > 1 ? (input[ip]! << 8) | input[ip + 1]! : 0;

    while (ip < ipLimit) {
      hval = ((hval << 8) | input[ip + 2]!) & 0xffffff;
      const slot = ((hval >>> 8) - hval * 5) & (HSIZE - 1);
      const entry = htab[slot]!;
      htab[slot] = base + (ip - inOff);
      const refRel = entry - base; // > 0 only for a position recorded earlier in this call
      const ref = inOff + refRel;
      let off = 0;
      if (
        refRel > 0 &&
        (off = ip - ref - 1) < LZF_MAX_OFF &&
        input[ref + 2] === input[ip + 2] &&
        input[ref] === input[ip] &&
        input[ref + 1] === input[ip + 1]
      ) {
        let maxlen = inEnd - ip - 2;
        if (maxlen > LZF_MAX_REF) maxlen = LZF_MAX_REF;
        if (op + 4 >= outEnd && op - (lit === 0 ? 1 : 0) + 4 >= outEnd) {
          this.base = base + inLen + 1;
          return 0;
        }
        output[op - lit - 1] = lit - 1; // close the pending literal run (0xff if empty: overwritten)
        if (lit === 0) op--;

        let len = 3;
        if (maxlen > 16) {
          while (len <= 18 && input[ref + len] === input[ip + len]) len++;
          if (len > 18) {
            len = 19;
            while (len < maxlen && input[ref + len] === input[ip + len]) len++;
          }
        } else {
          while (len < maxlen && input[ref + len] === input[ip + len]) len++;
        }

        len -= 2; // now "bytes copied - 1", as the stream encodes it (with an extra -1 below)
        ip++;
        if (len < 7) {
          output[op++] = (off >>> 8) + (len << 5);
        } else {
          output[op++] = (off >>> 8) + (7 << 5);
          output[op++] = len - 7;
        }
        output[op++] = off;
        lit = 0;
        op++; // reserve the next literal run's control byte

        ip += len + 1;
        if (ip >= ipLimit) break;

        // Re-hash the two positions just before the new cursor so later data can refer to them.
        ip -= 2;
        hval = (input[ip]! << 8) | input[ip + 1]!;
        hval = ((hval << 8) | input[ip + 2]!) & 0xffffff;
        htab[((hval >>> 8) - hval * 5) & (HSIZE - 1)] = base + (ip - inOff);
        ip++;
        hval = ((hval << 8) | input[ip + 2]!) & 0xffffff;
        htab[((hval >>> 8) - hval * 5) & (HSIZE - 1)] = base + (ip - inOff);
        ip++;
      } else {
        if (op >= outEnd) {
          this.base = base + inLen + 1;
          return 0;
        }
        lit++;
        output[op++] = input[ip++]!;
        if (lit === LZF_MAX_LIT) {
          output[op - lit - 1] = lit - 1;
          lit = 0;
          op++;
        }
      }
    }
    this.base = base + inLen + 1;

    if (op + 3 > outEnd) return 0; // at most 3 more bytes are needed below
    while (ip < inEnd) {
      lit++;
      output[op++] = input[ip++]!;
      if (lit === LZF_MAX_LIT) {
        output[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
    output[op - lit - 1] = lit - 1;
    if (lit === 0) op--;
    return op - outOff;
  }
}

// ---------------------------------------------------------------------------------------------
// Decompressor
// ---------------------------------------------------------------------------------------------

/** Thrown by `lzfDecompress` for streams that are malformed or do not fit the output. */
function lzfError(reason: string): ForklessError {
  return new ForklessError('ELZF', `LZF: ${reason}`);
}

/*
 * Decompress `input[inOff..inOff+inLen)` into `output[outOff..outOff+outLen)` and return the
 * number of bytes produced. Throws a ForklessError (code 'ELZF') when a command runs past the end of
 * the input, a back-reference points before the start of the output, or the output does not fit.
 * The caller checks the returned length against the length it expected (Redis does the same).
 *
 * Why copies are written out: literal runs are <= 32 bytes and most back-references are short, so an
 * index loop beats `set`/`copyWithin` (which also cannot express overlapping repeats).
 */
export function lzfDecompress(
  input: Uint8Array,
  inOff: number,
  inLen: number,
  output: Uint8Array,
  outOff: number,
  outLen: number,
): number {
  if (inOff < 0 || inOff + inLen > input.length || outOff < 0 || outOff + outLen > output.length) {
    throw new RangeError('lzfDecompress: range outside buffer');
  }
  let ip = inOff;
  const inEnd = inOff + inLen;
  let op = outOff;
  const outEnd = outOff + outLen;
  while (ip < inEnd) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const n = ctrl + 1;
      if (op + n > outEnd) throw lzfError('output buffer too small');
      if (ip + n > inEnd) throw lzfError(`literal run of ${n} bytes runs past the end of the input`);
      if (n >= 16) {
        output.set(input.subarray(ip, ip + n), op);
        op += n;
        ip += n;
      } else {
        for (let i = 0; i < n; i++) output[op++] = input[ip++]!;
      }
    } else {
      let len = ctrl >>> 5;
      if (ip >= inEnd) throw lzfError('back-reference truncated');
      if (len === 7) {
        len += input[ip++]!;
        if (ip >= inEnd) throw lzfError('back-reference truncated');
      }
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      len += 2;
      if (op + len > outEnd) throw lzfError('output buffer too small');
      if (ref < outOff) throw lzfError('back-reference points before the start of the output');
      if (ref + len <= op && len >= 32) {
        output.copyWithin(op, ref, ref + len);
        op += len;
      } else {
        for (let i = 0; i < len; i++) output[op++] = output[ref++]!;
      }
    }
  }
  return op - outOff;
}
