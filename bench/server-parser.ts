/**
 * Micro-benchmark of the RESP request parser alone (no sockets), on the workload of
 * shared/reference/ecosystem.md §2.7: 200,000 pipelined SET commands (16-byte key, 100-byte value),
 * 27.5 MiB fed in 64 KiB chunks so commands straddle chunk boundaries.
 *
 *   node dist/bench/server-parser.js
 *
 * Modes: offsets only (what the parser produces), + argv() (a Buffer view per argument, what the
 * engine port receives), inline commands, and the reply encoder for the matching +OK / bulk replies.
 */
import { COMMAND, NEED_MORE, RespParser } from '../engine/server/resp-parser.js';
import { ReplyBuffer } from '../engine/server/resp-writer.js';

const N = 200_000;
const CHUNK = 64 * 1024;
const RUNS = 7;

function buildInput(inline: boolean): Buffer {
  const parts: Buffer[] = [];
  const value = 'v'.repeat(100);
  for (let i = 0; i < N; i++) {
    const key = `key:${String(i).padStart(12, '0')}`; // 16 bytes
    parts.push(Buffer.from(inline
      ? `SET ${key} ${value}\r\n`
      : `*3\r\n$3\r\nSET\r\n$16\r\n${key}\r\n$100\r\n${value}\r\n`));
  }
  return Buffer.concat(parts);
}

function chunks(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < input.length; off += CHUNK) out.push(Buffer.from(input.subarray(off, off + CHUNK)));
  return out;
}

function pass(input: Buffer[], mode: 'offsets' | 'argv'): number {
  const p = new RespParser();
  let count = 0;
  let sink = 0;
  for (const c of input) {
    p.feed(c);
    for (let r = p.next(); r !== NEED_MORE; r = p.next()) {
      if (r !== COMMAND) throw new Error(p.error);
      if (mode === 'argv') sink += p.argv()[2]!.length;
      else sink += p.args[5]!;
      count++;
    }
  }
  if (count !== N || sink !== N * 100) throw new Error(`parsed ${count} commands`);
  return count;
}

function encodePass(): number {
  const out = new ReplyBuffer();
  const value = Buffer.alloc(100, 0x76);
  for (let i = 0; i < N; i++) {
    out.reply(i & 1 ? 'OK' : value, 2);
    if (out.length > CHUNK) {
      out.take();
      out.recycle();
    }
  }
  return N;
}

function measure(name: string, bytes: number, fn: () => number): void {
  const rates: number[] = [];
  fn(); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const n = fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(n / s);
  }
  rates.sort((a, b) => a - b);
  const med = rates[Math.floor(rates.length / 2)]!;
  const mib = bytes > 0 ? ` ${(bytes / (N / med) / 1024 / 1024).toFixed(0)} MiB/s` : '';
  console.log(`${name.padEnd(44)} ${(med / 1e6).toFixed(2)} M cmds/s${mib}  (min ${(rates[0]! / 1e6).toFixed(2)}, max ${(rates[rates.length - 1]! / 1e6).toFixed(2)})`);
}

const resp = buildInput(false);
const inline = buildInput(true);
const respChunks = chunks(resp);
const inlineChunks = chunks(inline);
console.log(`input: ${N} SET commands, ${(resp.length / 1024 / 1024).toFixed(1)} MiB multibulk / ${(inline.length / 1024 / 1024).toFixed(1)} MiB inline, ${CHUNK / 1024} KiB chunks; median of ${RUNS}`);
measure('multibulk, offsets only', resp.length, () => pass(respChunks, 'offsets'));
measure('multibulk, + argv() Buffer views', resp.length, () => pass(respChunks, 'argv'));
measure('inline (sdssplitargs), + argv()', inline.length, () => pass(inlineChunks, 'argv'));
measure('reply encoding (+OK / 100-byte bulk)', 0, encodePass);
