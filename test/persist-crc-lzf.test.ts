/**
 * CRC-64/Jones and LZF: known vectors, dev-only oracles (js-crc's CRC-64/REDIS model, lzfjs),
 * round trips, and malformed input. Byte-identity of LZF output with redis-server itself is
 * checked in rdb-codec.test.ts (it needs a real server).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { Crc64, crc64, crc64Hex } from '../engine/persist/crc64.js';
import { LzfCompressor, lzfDecompress, LZF_MAX_OFF, LZF_MAX_REF } from '../engine/persist/lzf.js';
import { ForklessError } from '../engine/errors.js';
import { rngFrom } from './support/rng.js';

const require = createRequire(import.meta.url);
const jsCrc = require('js-crc/models') as { crc_64_redis: (m: Uint8Array) => string };
const lzfjs = require('lzfjs') as { compress(d: Uint8Array): Uint8Array; decompress(d: Uint8Array): Uint8Array };

// ---------------------------------------------------------------------------------------------
// Deterministic random data
// ---------------------------------------------------------------------------------------------

const rng = rngFrom;

/** Data of a given style: random bytes, small alphabet, text with repeats, long runs. */
function sample(rand: () => number, len: number, style: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    if (style === 0) out[i] = (rand() * 256) | 0;
    else if (style === 1) out[i] = 97 + ((rand() * 4) | 0);
    else if (style === 2) {
      // copy from a random earlier position (sometimes far back) or a random letter
      if (i > 0 && rand() < 0.6) {
        const back = 1 + ((rand() < 0.1 ? rand() * 20000 : rand() * 60) | 0);
        out[i] = out[Math.max(0, i - back)]!;
      } else out[i] = 32 + ((rand() * 90) | 0);
    } else out[i] = rand() < 0.01 ? (rand() * 256) | 0 : i > 0 ? out[i - 1]! : 120;
  }
  return out;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

// ---------------------------------------------------------------------------------------------
// CRC-64
// ---------------------------------------------------------------------------------------------

test('crc64: check value of "123456789" is e9c6d914c4b8d9ca', () => {
  assert.is(crc64Hex(ascii('123456789')), 'e9c6d914c4b8d9ca');
  assert.is(crc64(ascii('123456789')), 0xe9c6d914c4b8d9can);
  assert.is(crc64Hex(new Uint8Array(0)), '0000000000000000');
});

test('crc64: trailer of the smallest valid RDB file (REDIS0010 + EOF)', () => {
  // Known-good file from redis 7.0.15: 52 45 44 49 53 30 30 31 30 FF + A9 FD 37 FE 89 A7 7E EB
  const withEof = new Uint8Array([...ascii('REDIS0010'), 0xff]);
  const c = new Crc64();
  c.update(withEof);
  const out = new Uint8Array(8);
  c.writeLE(out, 0);
  assert.is(hex(out), 'a9fd37fe89a77eeb');
  assert.ok(c.equalsLE(out, 0));
  out[3] ^= 1;
  assert.not.ok(c.equalsLE(out, 0));
});

test('crc64: matches the js-crc CRC-64/REDIS oracle on random data, offsets and lengths', () => {
  const rand = rng(1);
  const big = sample(rand, 300_000, 0);
  for (let i = 0; i < 300; i++) {
    const off = (rand() * 1000) | 0;
    const len = i < 100 ? i : (rand() * (big.length - off)) | 0;
    const view = big.subarray(off, off + len);
    assert.is(crc64Hex(big, off, len), jsCrc.crc_64_redis(view), `off=${off} len=${len}`);
    // same bytes through a view with a different byteOffset alignment
    assert.is(crc64Hex(view), jsCrc.crc_64_redis(view));
  }
});

test('crc64: incremental updates in random pieces equal one shot; reset works', () => {
  const rand = rng(2);
  const data = sample(rand, 100_000, 2);
  const whole = crc64Hex(data);
  for (let round = 0; round < 20; round++) {
    const c = new Crc64();
    let p = 0;
    while (p < data.length) {
      const n = Math.min(data.length - p, (rand() * (round < 10 ? 17 : 5000)) | 0);
      c.update(data, p, n);
      p += n;
    }
    assert.is(c.hex(), whole);
    c.reset();
    assert.is(c.hex(), '0000000000000000');
  }
});

test('crc64: rejects ranges outside the buffer', () => {
  assert.throws(() => new Crc64().update(new Uint8Array(4), 2, 3), RangeError);
});

// ---------------------------------------------------------------------------------------------
// LZF
// ---------------------------------------------------------------------------------------------

function compressAll(c: LzfCompressor, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length + (input.length >> 4) + 64);
  const n = c.compress(input, 0, input.length, out, 0, out.length);
  assert.ok(n > 0, `compress of ${input.length} bytes returned 0 with ample room`);
  return out.slice(0, n);
}

function decompressAll(comp: Uint8Array, originalLen: number): Uint8Array {
  const out = new Uint8Array(originalLen);
  const n = lzfDecompress(comp, 0, comp.length, out, 0, originalLen);
  assert.is(n, originalLen);
  return out;
}

test('lzf: 40 x "a" compresses to the bytes redis-server 7.0.15 writes', () => {
  const c = new LzfCompressor();
  const input = new Uint8Array(40).fill(0x61);
  const out = new Uint8Array(36);
  const n = c.compress(input, 0, 40, out, 0, 36); // Redis's budget: length - 4
  assert.is(hex(out.subarray(0, n)), '016161e01b00016161');
  assert.equal(decompressAll(out.subarray(0, n), 40), input);
});

test('lzf: round trips and cross-decodes with lzfjs (both directions)', () => {
  const rand = rng(3);
  const c = new LzfCompressor();
  const lengths = [1, 2, 3, 4, 5, 17, 18, 19, 20, 21, 33, 100, 263, 264, 265, 266, 1000, 8191, 8192, 8193, 9000, 65_536, 200_000];
  for (const len of lengths) {
    for (let style = 0; style < 4; style++) {
      const input = sample(rand, len, style);
      const ours = compressAll(c, input);
      assert.equal(decompressAll(ours, len), input, `ours->ours len=${len} style=${style}`);
      assert.equal(new Uint8Array(lzfjs.decompress(ours)), input, `ours->lzfjs len=${len} style=${style}`);
      const theirs = new Uint8Array(lzfjs.compress(input));
      assert.equal(decompressAll(theirs, len), input, `lzfjs->ours len=${len} style=${style}`);
    }
  }
  for (let i = 0; i < 400; i++) {
    const input = sample(rand, 1 + ((rand() * 3000) | 0), (rand() * 4) | 0);
    const ours = compressAll(c, input);
    assert.equal(decompressAll(ours, input.length), input);
    assert.equal(new Uint8Array(lzfjs.decompress(ours)), input);
  }
});

test('lzf: long repeats use max-length references and far offsets stay below MAX_OFF', () => {
  const c = new LzfCompressor();
  const input = new Uint8Array(100_000);
  for (let i = 0; i < input.length; i++) input[i] = (i % 8000) * 7;
  const comp = compressAll(c, input);
  assert.ok(comp.length < input.length / 4);
  // walk the stream: every back-reference is within limits
  let ip = 0;
  let op = 0;
  while (ip < comp.length) {
    const ctrl = comp[ip++]!;
    if (ctrl < 32) {
      ip += ctrl + 1;
      op += ctrl + 1;
      continue;
    }
    let len = ctrl >> 5;
    if (len === 7) len += comp[ip++]!;
    const off = ((ctrl & 0x1f) << 8) + comp[ip++]! + 1;
    assert.ok(off <= LZF_MAX_OFF);
    assert.ok(len + 2 <= LZF_MAX_REF);
    op += len + 2;
  }
  assert.is(op, input.length);
});

test('lzf: a reused compressor gives the same output as a fresh one (no stale hash entries)', () => {
  const rand = rng(4);
  const shared = new LzfCompressor();
  for (let i = 0; i < 200; i++) {
    const input = sample(rand, 10 + ((rand() * 5000) | 0), 2);
    const a = compressAll(shared, input);
    const b = compressAll(new LzfCompressor(), input);
    assert.equal(a, b);
  }
});

test('lzf: compress works at offsets and returns 0 when the output budget is too small', () => {
  const rand = rng(5);
  const c = new LzfCompressor();
  const input = sample(rand, 5000, 1);
  const full = compressAll(c, input);
  const padded = new Uint8Array(input.length + 10);
  padded.set(input, 7);
  const out = new Uint8Array(full.length + 20);
  const n = c.compress(padded, 7, input.length, out, 5, full.length + 10);
  assert.equal(out.subarray(5, 5 + n), full);
  // too small a budget: 0 (and nothing written past the budget)
  const tight = new Uint8Array(full.length + 8).fill(0xee);
  assert.is(c.compress(input, 0, input.length, tight, 0, full.length - 1), 0);
  assert.ok(tight.subarray(full.length - 1).every((b) => b === 0xee));
  // incompressible data cannot save 4 bytes
  const noise = sample(rand, 1000, 0);
  assert.is(c.compress(noise, 0, noise.length, new Uint8Array(996), 0, 996), 0);
  // empty input or empty output
  assert.is(c.compress(input, 0, 0, out, 0, out.length), 0);
  assert.is(c.compress(input, 0, 10, out, 0, 0), 0);
});

test('lzf: decompress rejects malformed streams with ForklessError ELZF', () => {
  const bad = (bytes: number[], outLen: number): void => {
    const src = new Uint8Array(bytes);
    try {
      lzfDecompress(src, 0, src.length, new Uint8Array(outLen), 0, outLen);
      assert.unreachable(`accepted ${bytes.join(',')}`);
    } catch (err) {
      assert.instance(err, ForklessError);
      assert.is((err as ForklessError).code, 'ELZF');
    }
  };
  bad([0x05, 0x61, 0x62], 10); // literal of 6, only 2 bytes present
  bad([0x00, 0x61, 0x20, 0x05], 10); // back-reference 6 bytes behind after 1 byte of output
  bad([0x00, 0x61, 0xe0], 10); // long back-reference missing its length byte
  bad([0x00, 0x61, 0x20], 10); // back-reference missing its offset byte
  bad([0x03, 0x61, 0x62, 0x63, 0x64], 3); // output too small
  // fuzz: random garbage never crashes with anything but ELZF
  const rand = rng(6);
  for (let i = 0; i < 3000; i++) {
    const src = sample(rand, 1 + ((rand() * 64) | 0), 0);
    const out = new Uint8Array(256);
    try {
      const n = lzfDecompress(src, 0, src.length, out, 0, out.length);
      assert.ok(n >= 0 && n <= out.length);
    } catch (err) {
      assert.instance(err, ForklessError);
    }
  }
});

test.run();
