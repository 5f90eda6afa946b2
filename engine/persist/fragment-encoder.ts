/**
 * The main thread's side of a snapshot past its copy budget: encodes one captured slab page into
 * RDB record bytes (a "fragment"), framed as u32 logical db, u32 key count, records. The snapshot
 * worker splices fragments into the file after a SELECTDB (snapshot-walker.ts). No LZF and no
 * checksum here: compression would cost the main thread time, and the worker computes the CRC
 * over the whole file as it writes it.
 *
 * Pages holding collection records (small collections, large collections' keys and elements) are
 * framed as RAW fragments instead: u32 RAW_FRAGMENT, u32 0, then the page image itself (one
 * memcpy). A large collection is assembled by the worker from many pages (snapshot-walker.ts), so
 * the worker must see its records, not RDB bytes; the ring bounds this copy memory like any
 * fragment, where a shadow slot past the budget would not be.
 */
import type { PageEncoder } from '../keyspace/barrier.js';
import { RdbEncoder } from './rdb-format.js';
import { PageSerializer, RAW_FRAGMENT, type DbMap, type RecordSink } from './snapshot-walker.js';
import { slabHeaderBytes } from '../keyspace/layout.js';

export function makeFragmentEncoder(map: () => DbMap): PageEncoder {
  let out = new Uint8Array(64 * 1024);
  let pos = 8;
  /** A RAW fragment of the slab page at `base`: the page image (header, bitmap, slots), one memcpy. */
  const rawPage = (u8: Uint8Array, u32: Uint32Array, base: number): Uint8Array => {
    const hw = base >> 2;
    const nslots = u32[hw + 2]!;
    const len = slabHeaderBytes(nslots) + u32[hw + 1]! * nslots;
    if (out.length < 8 + len) out = new Uint8Array(8 + len);
    out.set(u8.subarray(base, base + len), 8);
    const phys = ((u32[hw]! >>> 8) & 0xff) | RAW_FRAGMENT;
    out[0] = phys; out[1] = phys >>> 8; out[2] = phys >>> 16; out[3] = phys >>> 24;
    out[4] = 0; out[5] = 0; out[6] = 0; out[7] = 0;
    return out.subarray(0, 8 + len);
  };
  const enc = new RdbEncoder((chunk) => {
    if (pos + chunk.length > out.length) {
      const bigger = new Uint8Array(Math.max(out.length * 2, pos + chunk.length));
      bigger.set(out.subarray(0, pos));
      out = bigger;
    }
    out.set(chunk, pos);
    pos += chunk.length;
  }, { compression: false, checksum: false });
  let ser: PageSerializer | null = null;
  return (u8: Uint8Array, u32: Uint32Array, base: number): Uint8Array | null => {
    if (ser === null) ser = new PageSerializer(map(), enc as RecordSink, { switchDbs: false, passthrough: true, compression: false });
    if (!ser.stringsOnly(u32, base)) return rawPage(u8, u32, base);
    pos = 8;
    ser.keys = 0;
    ser.slab(u8, u32, base);
    enc.flush();
    const db = ser.dbOf(u32, base);
    const keys = ser.keys;
    out[0] = db; out[1] = db >>> 8; out[2] = db >>> 16; out[3] = db >>> 24;
    out[4] = keys; out[5] = keys >>> 8; out[6] = keys >>> 16; out[7] = keys >>> 24;
    return out.subarray(0, pos);
  };
}
