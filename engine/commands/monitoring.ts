/**
 * What the server records about the commands it runs: the SLOWLOG (slowlog.c), the latency
 * monitor's per-event samples (latency.c) and the MONITOR line format (replicationFeedMonitors).
 *
 * The engine decides when to record (command-flow.ts): after each command whose duration reaches
 * `slowlog-log-slower-than` microseconds or `latency-monitor-threshold` milliseconds. The
 * thresholds are cached as numbers by the engine, so a command pays one comparison when nothing
 * is recorded.
 */
import { reprBytes } from '../server/splitargs.js';
import type { Reply } from './types.js';

/** Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING. */
const MAX_ARGC = 32;
const MAX_STRING = 128;

interface SlowEntry {
  readonly id: number;
  readonly time: number;
  readonly usec: number;
  readonly argv: Buffer[];
  readonly peer: string;
  readonly name: string;
}

export class SlowLog {
  /** Newest first. */
  private entries: SlowEntry[] = [];
  private nextId = 0;

  get length(): number { return this.entries.length; }

  /**
   * slowlogPushEntryIfNeeded: at most 32 arguments (the last one then says how many were left
   * out), each cut at 128 bytes with a note of how many were left out; copies, since argv views
   * belong to the connection. Trims to `maxLen` after adding, as Redis (CONFIG SET of a smaller
   * slowlog-max-len takes effect at the next entry).
   */
  push(argv: readonly Uint8Array[], usec: number, peer: string, name: string, maxLen: number): void {
    const argc = Math.min(argv.length, MAX_ARGC);
    const out: Buffer[] = new Array<Buffer>(argc);
    for (let j = 0; j < argc; j++) {
      if (argc !== argv.length && j === argc - 1) {
        out[j] = Buffer.from(`... (${argv.length - argc + 1} more arguments)`);
        continue;
      }
      const a = argv[j]!;
      out[j] = a.length > MAX_STRING
        ? Buffer.concat([a.subarray(0, MAX_STRING), Buffer.from(`... (${a.length - MAX_STRING} more bytes)`)])
        : Buffer.from(a);
    }
    this.entries.unshift({ id: this.nextId++, time: Math.floor(Date.now() / 1000), usec: Math.floor(usec), argv: out, peer, name });
    if (this.entries.length > maxLen) this.entries.length = Math.max(0, maxLen);
  }

  reset(): void { this.entries = []; }

  /** SLOWLOG GET [count]: the newest `count` entries (all when count is -1). */
  get(count: number): Reply {
    const n = count < 0 ? this.entries.length : Math.min(count, this.entries.length);
    return this.entries.slice(0, n).map((e) => [e.id, e.time, e.usec, e.argv, Buffer.from(e.peer), Buffer.from(e.name)]);
  }
}

/** Redis's LATENCY_TS_LEN: samples kept per event. */
const TS_LEN = 160;

interface Sample { time: number; latency: number }
interface Series { idx: number; max: number; samples: Sample[] }

export class LatencyMonitor {
  private readonly events = new Map<string, Series>();

  /**
   * latencyAddSample: one sample per event per second (the worst one wins), in a ring of 160, and
   * the all-time maximum. `ms` is the latency in whole milliseconds.
   */
  add(event: string, ms: number): void {
    let ts = this.events.get(event);
    if (ts === undefined) {
      ts = { idx: 0, max: 0, samples: Array.from({ length: TS_LEN }, () => ({ time: 0, latency: 0 })) };
      this.events.set(event, ts);
    }
    const now = Math.floor(Date.now() / 1000);
    if (ms > ts.max) ts.max = ms;
    const prev = ts.samples[(ts.idx + TS_LEN - 1) % TS_LEN]!;
    if (prev.time === now) {
      if (ms > prev.latency) prev.latency = ms;
      return;
    }
    const s = ts.samples[ts.idx]!;
    s.time = now;
    s.latency = ms;
    ts.idx = (ts.idx + 1) % TS_LEN;
  }

  /** LATENCY LATEST: [event, time of the latest sample, its latency, all-time max] per event. */
  latest(): Reply {
    const out: Reply[] = [];
    for (const [event, ts] of this.events) {
      const last = ts.samples[(ts.idx + TS_LEN - 1) % TS_LEN]!;
      out.push([Buffer.from(event), last.time, last.latency, ts.max]);
    }
    return out;
  }

  /** LATENCY HISTORY event: [time, latency] pairs, oldest first. */
  history(event: string): Reply {
    const ts = this.events.get(event);
    if (ts === undefined) return [];
    const out: Reply[] = [];
    for (let j = 0; j < TS_LEN; j++) {
      const s = ts.samples[(ts.idx + j) % TS_LEN]!;
      if (s.time !== 0) out.push([s.time, s.latency]);
    }
    return out;
  }

  /** LATENCY RESET [event]: how many event series were dropped (names compared ignoring case). */
  reset(event: string | null): number {
    let n = 0;
    for (const name of [...this.events.keys()]) {
      if (event === null || name.toLowerCase() === event.toLowerCase()) {
        this.events.delete(name);
        n++;
      }
    }
    return n;
  }
}

/**
 * A MONITOR line as Redis formats it: "+<sec>.<usec> [<db> <peer>] "arg" ...\r\n", arguments
 * quoted with sdscatrepr's escapes, the peer "ip:port" or "unix:<socket path>".
 */
export function monitorLine(db: number, peer: string, argv: readonly Uint8Array[]): Buffer {
  const t = performance.timeOrigin + performance.now();
  const sec = Math.floor(t / 1000);
  const usec = Math.min(999999, Math.floor((t - sec * 1000) * 1000));
  let s = `+${sec}.${String(usec).padStart(6, '0')} [${db} ${peer}]`;
  for (let j = 0; j < argv.length; j++) s += ' ' + reprBytes(argv[j]!);
  return Buffer.from(s + '\r\n', 'latin1');
}
