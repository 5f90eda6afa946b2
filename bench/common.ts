/**
 * Shared pieces of the benchmarks: the 1M-key dataset (16-byte keys, 100-byte values, as
 * reference/persistence.md §6 measured real Redis with), medians, result files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');

export function keyAt(i: number): string {
  return `key:${String(i).padStart(12, '0')}`; // 16 bytes
}

/** 100 printable pseudo-random bytes per value (incompressible for LZF, like Redis's base64 data). */
export function makeValues(n: number, seed = 1): Buffer[] {
  let x = seed >>> 0 || 1;
  const alphabet = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  const out: Buffer[] = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) {
    const b = Buffer.allocUnsafe(100);
    for (let j = 0; j < 100; j++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      b[j] = alphabet[x & 63];
    }
    out[i] = b;
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function writeResult(name: string, data: unknown, markdown: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), JSON.stringify(data, null, 2) + '\n');
  writeFileSync(join(RESULTS_DIR, `${name}.md`), markdown + '\n');
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function ratio(a: number, b: number): string {
  return b === 0 ? 'n/a' : (a / b).toFixed(2) + '×';
}

/** Deterministic random indexes, so every contender sees the same access pattern. */
export function randomIndexes(n: number, range: number, seed = 7): Int32Array {
  const out = new Int32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x % range;
  }
  return out;
}
