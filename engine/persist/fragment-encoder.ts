/**
 * The main thread's side of a snapshot past its copy budget: encodes one captured slab page into
 * RDB record bytes (a "fragment"), framed as u32 logical db, u32 key count, records. The snapshot
 * worker splices fragments into the file after a SELECTDB (snapshot-walker.ts). No LZF and no
 * checksum here: compression would cost the main thread time, and the worker computes the CRC
 * over the whole file as it writes it.
 */
import type { PageEncoder } from '../keyspace/barrier.js';
import { RdbEncoder } from './rdb-format.js';
import { PageSerializer, type DbMap, type RecordSink } from './snapshot-walker.js';

export function makeFragmentEncoder(map: () => DbMap): PageEncoder {
  let out = new Uint8Array(64 * 1024);
  let pos = 8;
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
    // Collections are assembled by the worker from several pages (snapshot-walker.ts): a page
    // holding any goes to a shadow slot instead, even past the budget.
    if (!ser.stringsOnly(u32, base)) return null;
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
