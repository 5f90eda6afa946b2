/**
 * A single-producer single-consumer byte ring in a SharedArrayBuffer, carrying framed messages
 * between two threads (forkless's replacement for the non-existent `sharedarraybuffer-utils`).
 *
 * Layout: Int32Array header of 32 words — head (bytes ever written) at word 0 and tail (bytes ever
 * read) at word 16, 64 bytes apart so the two threads do not share a cache line — then `capacity`
 * data bytes. Counters are monotonic and wrap at 2^32; positions are counter mod capacity
 * (capacity is a power of two). A frame is a u32 little-endian length followed by the payload and
 * may wrap around the end of the buffer. The producer publishes with Atomics.store(head) after the
 * bytes are in place and notifies on the head word (a doorbell the consumer may Atomics.wait on);
 * the consumer frees space with Atomics.store(tail).
 */
const HEAD = 0;
const TAIL = 16;
const HEADER_BYTES = 128;

export class SabRing {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;

  constructor(capacityOrSab: number | SharedArrayBuffer) {
    if (typeof capacityOrSab === 'number') {
      let cap = 1024;
      while (cap < capacityOrSab) cap *= 2;
      this.sab = new SharedArrayBuffer(HEADER_BYTES + cap);
    } else {
      this.sab = capacityOrSab;
    }
    this.capacity = this.sab.byteLength - HEADER_BYTES;
    this.mask = this.capacity - 1;
    this.ctl = new Int32Array(this.sab, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(this.sab, HEADER_BYTES, this.capacity);
  }

  /** Empties the ring. Only while neither side is using it (between snapshots). */
  reset(): void {
    Atomics.store(this.ctl, HEAD, 0);
    Atomics.store(this.ctl, TAIL, 0);
  }

  /** Writes one byte per 4 KiB of the data area so first use does not page-fault on every frame. */
  prefault(): void {
    for (let off = 0; off < this.capacity; off += 4096) this.data[off] = 0;
  }

  /** Bytes written but not yet consumed. */
  get used(): number { return (Atomics.load(this.ctl, HEAD) - Atomics.load(this.ctl, TAIL)) >>> 0; }
  get free(): number { return this.capacity - this.used; }

  /** Largest payload a frame can carry. */
  get maxPayload(): number { return this.capacity - 4; }

  private put(pos: number, src: Uint8Array): void {
    const at = pos & this.mask;
    const first = Math.min(src.length, this.capacity - at);
    this.data.set(first === src.length ? src : src.subarray(0, first), at);
    if (first < src.length) this.data.set(src.subarray(first), 0);
  }

  private take(pos: number, dst: Uint8Array): void {
    const at = pos & this.mask;
    const first = Math.min(dst.length, this.capacity - at);
    dst.set(this.data.subarray(at, at + first), 0);
    if (first < dst.length) dst.set(this.data.subarray(0, dst.length - first), first);
  }

  /**
   * Appends one frame; false if it does not fit right now (the caller decides to wait or not).
   * Producer side only.
   */
  tryWrite(payload: Uint8Array): boolean {
    const len = payload.length;
    const need = len + 4;
    if (need > this.capacity) throw new RangeError(`frame of ${len} bytes exceeds ring capacity ${this.capacity}`);
    if (this.free < need) return false;
    const head = Atomics.load(this.ctl, HEAD) >>> 0;
    const d = this.data;
    const m = this.mask;
    d[head & m] = len; d[(head + 1) & m] = len >>> 8; d[(head + 2) & m] = len >>> 16; d[(head + 3) & m] = len >>> 24;
    const at = (head + 4) & m;
    if (at + len <= this.capacity) d.set(payload, at);
    else this.put(head + 4, payload);
    Atomics.store(this.ctl, HEAD, (head + need) | 0);
    Atomics.notify(this.ctl, HEAD);
    return true;
  }

  /**
   * Removes the next frame and passes its payload to `fn` (the view is valid only during the call;
   * a frame that wraps is reassembled into `scratch`). Returns false when the ring is empty.
   * Consumer side only.
   */
  read(fn: (payload: Uint8Array) => void, scratch: { buf: Uint8Array }): boolean {
    const tail = Atomics.load(this.ctl, TAIL) >>> 0;
    const head = Atomics.load(this.ctl, HEAD) >>> 0;
    if (head === tail) return false;
    const d = this.data;
    const m = this.mask;
    const len = (d[tail & m] | (d[(tail + 1) & m] << 8) | (d[(tail + 2) & m] << 16) | (d[(tail + 3) & m] << 24)) >>> 0;
    const at = (tail + 4) & this.mask;
    if (at + len <= this.capacity) {
      fn(this.data.subarray(at, at + len));
    } else {
      if (scratch.buf.length < len) scratch.buf = new Uint8Array(Math.max(len, scratch.buf.length * 2));
      const view = scratch.buf.subarray(0, len);
      this.take(tail + 4, view);
      fn(view);
    }
    Atomics.store(this.ctl, TAIL, (tail + 4 + len) | 0);
    Atomics.notify(this.ctl, TAIL);
    return true;
  }

  /** Consumer: waits up to `ms` for the producer to publish something. */
  waitForData(ms: number): void {
    const head = Atomics.load(this.ctl, HEAD);
    if (head !== Atomics.load(this.ctl, TAIL)) return;
    Atomics.wait(this.ctl, HEAD, head, ms);
  }
}
