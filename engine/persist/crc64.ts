/**
 * CRC-64/Jones exactly as Redis computes it for the RDB trailer and DUMP payloads.
 *
 * Parameters: reflected polynomial 0x95AC9329AC4BC9B5 (0xAD93D23594C935A9 in normal form), reflected
 * input and output, initial value 0 and no final xor. Redis seeds the running value with 0 and feeds
 * every byte of the file through it, from the "R" of the magic up to and including the 0xFF EOF opcode;
 * the 64-bit result is stored little-endian after EOF. Check value: "123456789" -> e9c6d914c4b8d9ca.
 *
 * Design. JavaScript has no fast 64-bit integers (BigInt allocates), so the 64-bit register lives in
 * two uint32 halves (`lo` = bits 0..31, `hi` = bits 32..63) and every table entry is stored the same
 * way in two Uint32Arrays. The hot loop uses slicing-by-8: eight 256-entry tables let us fold eight
 * input bytes per step with sixteen table loads and no data-dependent shifts between bytes, which is
 * about 8x faster than the byte-at-a-time loop (measured ~1 GB/s vs ~125 MB/s on this project's box).
 *
 *   table k (k = 0..7) answers: "what does byte value v contribute after it has been shifted through
 *   k further zero bytes?"  T0 is the classic byte table; Tk[v] = (Tk-1[v] >> 8) ^ T0[Tk-1[v] & 0xff].
 *
 * The tables are built once per thread at module load (16 KiB each for lo and hi halves).
 */

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

const POLY_LO = 0xac4bc9b5;
const POLY_HI = 0x95ac9329;

/** TAB_LO[k * 256 + v] / TAB_HI[...]: low / high 32 bits of slicing table k for byte value v. */
const TAB_LO = new Uint32Array(8 * 256);
const TAB_HI = new Uint32Array(8 * 256);

function buildTables(): void {
  for (let v = 0; v < 256; v++) {
    let lo = v;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    TAB_LO[v] = lo;
    TAB_HI[v] = hi;
  }
  for (let k = 1; k < 8; k++) {
    for (let v = 0; v < 256; v++) {
      const plo = TAB_LO[(k - 1) * 256 + v]!;
      const phi = TAB_HI[(k - 1) * 256 + v]!;
      const idx = plo & 0xff;
      TAB_LO[k * 256 + v] = (((plo >>> 8) | (phi << 24)) ^ TAB_LO[idx]!) >>> 0;
      TAB_HI[k * 256 + v] = ((phi >>> 8) ^ TAB_HI[idx]!) >>> 0;
    }
  }
}
buildTables();

/** Int32Array word reads in `update` assume little-endian byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Incremental CRC
// ---------------------------------------------------------------------------------------------

/** Running CRC-64/Jones (Redis flavour). Feed bytes with `update`, read with `hex`/`writeLE`/`value`. */
export class Crc64 {
  /** Bits 0..31 of the running CRC. */
  lo = 0;
  /** Bits 32..63 of the running CRC. */
  hi = 0;

  reset(): void {
    this.lo = 0;
    this.hi = 0;
  }

  /*
   * Fold `len` bytes of `buf` starting at `off` into the register.
   *
   * Why it looks like this: the main loop runs eight bytes per iteration; it xors two input words
   * into the two register halves, then replaces the whole register with the xor of eight table
   * entries (byte 0 of the register has the most zero bytes still "ahead" of it, so it uses table 7;
   * byte 7 uses table 0). Input words are read through an Int32Array view, which needs 4-byte
   * alignment and a little-endian host, so a few leading bytes, the tail (< 8 bytes) and short
   * inputs go through the classic byte-at-a-time loop. Word reads are ~30% faster than assembling
   * words from four byte loads.
   */
  update(buf: Uint8Array, off = 0, len: number = buf.length - off): void {
    if (off < 0 || len < 0 || off + len > buf.length) {
      throw new RangeError(`Crc64.update: range ${off}+${len} outside buffer of ${buf.length}`);
    }
    let lo = this.lo;
    let hi = this.hi;
    let p = off;
    const end = off + len;
    const tlo = TAB_LO;
    const thi = TAB_HI;
    if (len >= 64 && LITTLE_ENDIAN) {
      const misaligned = (buf.byteOffset + p) & 3;
      if (misaligned !== 0) {
        for (const stop = p + 4 - misaligned; p < stop; p++) {
          const idx = (lo ^ buf[p]!) & 0xff;
          lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx]!;
          hi = (hi >>> 8) ^ thi[idx]!;
        }
      }
      const blocks = (end - p) >>> 3;
      const words = new Int32Array(buf.buffer, buf.byteOffset + p, blocks * 2);
      for (let q = 0, qEnd = blocks * 2; q < qEnd; q += 2) {
        const a = lo ^ words[q]!;
        const b = hi ^ words[q + 1]!;
        const i7 = 1792 + (a & 0xff);
        const i6 = 1536 + ((a >>> 8) & 0xff);
        const i5 = 1280 + ((a >>> 16) & 0xff);
        const i4 = 1024 + (a >>> 24);
        const i3 = 768 + (b & 0xff);
        const i2 = 512 + ((b >>> 8) & 0xff);
        const i1 = 256 + ((b >>> 16) & 0xff);
        const i0 = b >>> 24;
        lo = tlo[i7]! ^ tlo[i6]! ^ tlo[i5]! ^ tlo[i4]! ^ tlo[i3]! ^ tlo[i2]! ^ tlo[i1]! ^ tlo[i0]!;
        hi = thi[i7]! ^ thi[i6]! ^ thi[i5]! ^ thi[i4]! ^ thi[i3]! ^ thi[i2]! ^ thi[i1]! ^ thi[i0]!;
      }
      p += blocks * 8;
    }
    while (p < end) {
      const idx = (lo ^ buf[p]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ tlo[idx]!;
      hi = (hi >>> 8) ^ thi[idx]!;
      p++;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** Write the CRC as 8 little-endian bytes (the RDB trailer layout) at `out[off..off+8)`. */
  writeLE(out: Uint8Array, off: number): void {
    const lo = this.lo;
    const hi = this.hi;
    out[off] = lo;
    out[off + 1] = lo >>> 8;
    out[off + 2] = lo >>> 16;
    out[off + 3] = lo >>> 24;
    out[off + 4] = hi;
    out[off + 5] = hi >>> 8;
    out[off + 6] = hi >>> 16;
    out[off + 7] = hi >>> 24;
  }

  /** True when the 8 little-endian bytes at `buf[off..off+8)` equal the current CRC. */
  equalsLE(buf: Uint8Array, off: number): boolean {
    return readU32LE(buf, off) === this.lo && readU32LE(buf, off + 4) === this.hi;
  }

  /** 16 lower-case hex digits, zero-padded (the form test vectors are usually given in). */
  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  /** The CRC as an unsigned 64-bit BigInt (allocates; not for hot paths). */
  value(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}

function readU32LE(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** One-shot CRC-64/Jones of `buf[off..off+len)` as 16 hex digits. */
export function crc64Hex(buf: Uint8Array, off = 0, len: number = buf.length - off): string {
  const c = new Crc64();
  c.update(buf, off, len);
  return c.hex();
}

/** One-shot CRC-64/Jones of `buf[off..off+len)` as an unsigned BigInt. */
export function crc64(buf: Uint8Array, off = 0, len: number = buf.length - off): bigint {
  const c = new Crc64();
  c.update(buf, off, len);
  return c.value();
}
