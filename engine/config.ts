/**
 * Configuration: redis.conf directives by their Redis names, with Redis's defaults, value syntax
 * (yes/no booleans, memory units, enums) and mutability. The embedded API, the server's command
 * line and config files and CONFIG GET/SET all go through this one table.
 *
 * forkless adds a few directives of its own, all prefixed `forkless-`:
 *   forkless-page-size        page size of the shared-memory store (256 .. 2mb, power of two)
 *   forkless-expire-budget-ms main-thread time the active expiry cycle may take per cron tick
 *   forkless-cow-budget-percent shadow-copy memory a BGSAVE may hold, as % of used_memory; past
 *                             it the main thread encodes pages into RDB fragments instead
 *   forkless-aof-postpone-after-ms everysec: how long a running fsync may hold replies before
 *                             Redis's write postponement starts (engine/persist/aof.ts)
 *   forkless-snapshot-assembly-limit bytes of large collections a snapshot worker gathers in
 *                             memory before spilling them next to the file (snapshot-walker.ts)
 */
import { ConfigError } from './errors.js';

export type ConfigValue = string | number;

export type Kind = 'string' | 'int' | 'bool' | 'memory' | 'enum' | 'save' | 'special';

interface Directive {
  name: string;
  kind: Kind;
  def: string;
  mutable: boolean;
  min?: number;
  max?: number;
  values?: readonly string[];
  alias?: string;
}

const D = (name: string, kind: Kind, def: string, mutable = true, extra: Partial<Directive> = {}): Directive =>
  ({ name, kind, def, mutable, ...extra });

const DIRECTIVES: Directive[] = [
  D('port', 'int', '6379', true, { min: 0, max: 65535 }),
  D('bind', 'string', '127.0.0.1 -::1'),
  D('unixsocket', 'string', '', false),
  D('protected-mode', 'bool', 'yes'),
  D('requirepass', 'string', ''),
  D('maxclients', 'int', '10000', true, { min: 1 }),
  D('timeout', 'int', '0', true, { min: 0 }),
  D('tcp-keepalive', 'int', '300', true, { min: 0 }),
  D('tcp-backlog', 'int', '511', false, { min: 0 }),
  D('databases', 'int', '16', false, { min: 1, max: 255 }),
  D('dir', 'string', './'),
  D('dbfilename', 'string', 'dump.rdb'),
  D('save', 'save', '3600 1 300 100 60 10000'),
  D('rdbcompression', 'bool', 'yes'),
  D('rdbchecksum', 'bool', 'yes', false),
  D('rdb-save-incremental-fsync', 'bool', 'yes'),
  D('rdb-del-sync-files', 'bool', 'no'),
  D('stop-writes-on-bgsave-error', 'bool', 'yes'),
  D('appendonly', 'bool', 'no'),
  D('appendfilename', 'string', 'appendonly.aof', false),
  D('appenddirname', 'string', 'appendonlydir', false),
  D('appendfsync', 'enum', 'everysec', true, { values: ['always', 'everysec', 'no'] }),
  D('no-appendfsync-on-rewrite', 'bool', 'no'),
  D('auto-aof-rewrite-percentage', 'int', '100', true, { min: 0 }),
  D('auto-aof-rewrite-min-size', 'memory', '64mb'),
  D('aof-load-truncated', 'bool', 'yes'),
  D('aof-use-rdb-preamble', 'bool', 'yes'),
  D('aof-timestamp-enabled', 'bool', 'no'),
  D('aof-rewrite-incremental-fsync', 'bool', 'yes'),
  D('hz', 'int', '10', true, { min: 1, max: 500 }),
  D('dynamic-hz', 'bool', 'yes'),
  D('maxmemory', 'memory', '0'),
  D('maxmemory-policy', 'enum', 'noeviction', true, {
    values: ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction'],
  }),
  D('maxmemory-samples', 'int', '5', true, { min: 1, max: 64 }),
  D('lazyfree-lazy-eviction', 'bool', 'no'),
  D('lazyfree-lazy-expire', 'bool', 'no'),
  D('lazyfree-lazy-server-del', 'bool', 'no'),
  D('lazyfree-lazy-user-del', 'bool', 'no'),
  D('lazyfree-lazy-user-flush', 'bool', 'no'),
  D('proto-max-bulk-len', 'memory', '512mb', true, { min: 1024 * 1024 }),
  D('client-query-buffer-limit', 'memory', '1gb', true, { min: 1024 * 1024 }),
  D('client-output-buffer-limit', 'special', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'),
  D('loglevel', 'enum', 'notice', true, { values: ['debug', 'verbose', 'notice', 'warning', 'nothing'] }),
  D('logfile', 'string', '', false),
  D('daemonize', 'bool', 'no', false),
  D('pidfile', 'string', '', false),
  D('slowlog-log-slower-than', 'int', '10000', true, { min: -1 }),
  D('slowlog-max-len', 'int', '128', true, { min: 0 }),
  D('latency-monitor-threshold', 'int', '0', true, { min: 0 }),
  // DEBUG is refused unless enabled (Redis 7.0's protected commands): no, yes, or local clients only.
  D('enable-debug-command', 'enum', 'no', false, { values: ['no', 'yes', 'local'] }),
  D('active-expire-effort', 'int', '1', true, { min: 1, max: 10 }),
  D('activerehashing', 'bool', 'yes'),
  D('replica-read-only', 'bool', 'yes', true, { alias: 'slave-read-only' }),
  D('replica-serve-stale-data', 'bool', 'yes', true, { alias: 'slave-serve-stale-data' }),
  D('hash-max-listpack-entries', 'int', '512', true, { min: 0, alias: 'hash-max-ziplist-entries' }),
  D('hash-max-listpack-value', 'int', '64', true, { min: 0, alias: 'hash-max-ziplist-value' }),
  D('list-max-listpack-size', 'int', '-2', true, { alias: 'list-max-ziplist-size' }),
  D('set-max-intset-entries', 'int', '512', true, { min: 0 }),
  D('zset-max-listpack-entries', 'int', '128', true, { min: 0, alias: 'zset-max-ziplist-entries' }),
  D('zset-max-listpack-value', 'int', '64', true, { min: 0, alias: 'zset-max-ziplist-value' }),
  D('forkless-page-size', 'memory', '4096', false),
  D('forkless-expire-budget-ms', 'int', '2', true, { min: 0, max: 100 }),
  D('forkless-cow-budget-percent', 'int', '5', true, { min: 0, max: 1000 }),
  D('forkless-aof-postpone-after-ms', 'int', '50', true, { min: 0, max: 2000 }),
  D('forkless-snapshot-assembly-limit', 'memory', '64mb', true),
];

const BY_NAME = new Map<string, Directive>();
for (const d of DIRECTIVES) {
  BY_NAME.set(d.name, d);
  if (d.alias) BY_NAME.set(d.alias, d);
}

/** Parses Redis memory units: 1k = 1000, 1kb = 1024, m/mb, g/gb; plain bytes otherwise. */
export function parseMemory(v: string): number | null {
  const m = /^(-?\d+)(k|kb|m|mb|g|gb)?$/i.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const mul: Record<string, number> = { '': 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 * 1024, g: 1e9, gb: 1024 * 1024 * 1024 };
  return n * mul[unit];
}

export interface SaveRule { seconds: number; changes: number }

export class Config {
  private readonly values = new Map<string, string>();
  /** Listeners called after a successful set (name, new value). */
  private readonly watchers: Array<(name: string, value: string) => void> = [];

  constructor(initial: Record<string, ConfigValue | undefined> = {}) {
    // Defaults are stored normalized, as CONFIG GET prints them (64mb -> 67108864).
    for (const d of DIRECTIVES) {
      const v = this.normalize(d, d.def);
      this.values.set(d.name, typeof v === 'string' ? v : d.def);
    }
    for (const [k, v] of Object.entries(initial)) {
      if (v === undefined) continue;
      const err = this.trySet(k, String(v), true);
      if (err !== null) throw new ConfigError(err);
    }
  }

  static isDirective(name: string): boolean { return BY_NAME.has(name.toLowerCase()); }
  static directiveNames(): string[] { return DIRECTIVES.map((d) => d.name); }
  /** Name, value kind, default and alias of every directive (CONFIG REWRITE formats by kind). */
  static describe(): ReadonlyArray<Readonly<{ name: string; kind: Kind; def: string; alias?: string }>> {
    return DIRECTIVES.map((d) => ({ name: d.name, kind: d.kind, def: d.def, ...(d.alias ? { alias: d.alias } : {}) }));
  }

  onChange(fn: (name: string, value: string) => void): void { this.watchers.push(fn); }

  get(name: string): string | undefined {
    const d = BY_NAME.get(name.toLowerCase());
    return d ? this.values.get(d.name) : undefined;
  }

  getString(name: string): string { return this.get(name) ?? ''; }
  getInt(name: string): number { return Number(parseMemory(this.getString(name)) ?? this.getString(name)); }
  getBool(name: string): boolean { return this.get(name) === 'yes'; }

  saveRules(): SaveRule[] {
    const parts = this.getString('save').split(/\s+/).filter((s) => s.length > 0);
    const rules: SaveRule[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) rules.push({ seconds: Number(parts[i]), changes: Number(parts[i + 1]) });
    return rules;
  }

  /** All directives whose name matches `match(name)`, as [name, value] pairs (CONFIG GET). */
  entries(match: (name: string) => boolean): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const d of DIRECTIVES) {
      if (match(d.name)) out.push([d.name, this.values.get(d.name)!]);
      else if (d.alias && match(d.alias)) out.push([d.alias, this.values.get(d.name)!]);
    }
    return out;
  }

  /**
   * Validates and stores one directive. Returns null, or the reason it was refused (the CONFIG SET
   * error detail). `startup` allows immutable directives (command line, config file, open()).
   */
  trySet(name: string, raw: string, startup = false): string | null {
    const d = BY_NAME.get(name.toLowerCase());
    if (!d) return `Unknown option or number of arguments for CONFIG SET - '${name}'`;
    if (!d.mutable && !startup) return `CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`;
    const v = this.normalize(d, raw);
    if (typeof v !== 'string') return `CONFIG SET failed (possibly related to argument '${name}') - ${v.error}`;
    this.values.set(d.name, v);
    for (const w of this.watchers) w(d.name, v);
    return null;
  }

  private normalize(d: Directive, raw: string): string | { error: string } {
    switch (d.kind) {
      case 'bool': {
        const v = raw.toLowerCase();
        if (v !== 'yes' && v !== 'no') return { error: 'argument must be \'yes\' or \'no\'' };
        return v;
      }
      case 'int': {
        if (!/^-?\d+$/.test(raw.trim())) return { error: 'argument couldn\'t be parsed into an integer' };
        const n = Number(raw);
        if ((d.min !== undefined && n < d.min) || (d.max !== undefined && n > d.max)) {
          return { error: `argument must be between ${d.min ?? '-inf'} and ${d.max ?? 'inf'} inclusive` };
        }
        return String(n);
      }
      case 'memory': {
        const n = parseMemory(raw);
        if (n === null) return { error: 'argument must be a memory value' };
        if (d.min !== undefined && n < d.min) return { error: `argument must be a memory value` };
        return String(n);
      }
      case 'enum': {
        const v = raw.toLowerCase();
        if (!d.values!.includes(v)) return { error: 'argument(s) must be one of the following: ' + d.values!.join(', ') };
        return v;
      }
      case 'save': {
        const parts = raw.trim().split(/\s+/).filter((s) => s.length > 0);
        if (parts.length % 2 !== 0 || parts.some((p) => !/^\d+$/.test(p))) return { error: 'Invalid save parameters' };
        return parts.join(' ');
      }
      default:
        return raw;
    }
  }

  /** Plain object of every directive (for handing to workers or logging). */
  toObject(): Record<string, string> { return Object.fromEntries(this.values); }
}
