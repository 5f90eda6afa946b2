/**
 * Server family: INFO, CONFIG, SAVE, BGSAVE, LASTSAVE. These need the concrete Engine (config,
 * persistence, statistics), so engine.ts passes this family to buildCommandTable.
 *
 * INFO uses Redis 7.0's section and field names so tools that parse INFO (redis-cli --stat,
 * Sentinel, exporters) read ours; figures Redis has no name for are prefixed `forkless_`.
 */
import { cpuUsage, memoryUsage } from 'node:process';
import { totalmem } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Errors, ReplyError } from '../errors.js';
import { globMatch } from './glob.js';
import { rewriteConfigFile } from './config-rewrite.js';
import { latin1 } from './args.js';
import { MapReply, OK, VerbatimReply, type CommandContext, type CommandSpec, type Reply } from './types.js';
import type { Engine } from '../engine.js';

type Ctx = CommandContext<Engine>;

const RUN_ID = randomBytes(20).toString('hex');
const REPL_ID = randomBytes(20).toString('hex');

function human(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}

let peakMemory = 0;

// ---------------------------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------------------------

type Section = (e: Engine) => Array<[string, string | number]>;

const SECTIONS: Record<string, Section> = {
  server: (e) => {
    const up = Math.floor((Date.now() - e.stats.startTime) / 1000);
    return [
      ['redis_version', '7.0.15'], ['redis_git_sha1', '00000000'], ['redis_git_dirty', 0],
      ['redis_build_id', 'forkless'], ['redis_mode', 'standalone'], ['os', `${process.platform} ${process.arch}`],
      ['arch_bits', 64], ['monotonic_clock', 'POSIX clock_gettime'], ['multiplexing_api', 'epoll'],
      ['atomicvar_api', 'c11-builtin'], ['gcc_version', '0.0.0'], ['process_id', process.pid],
      ['process_supervised', 'no'], ['run_id', RUN_ID], ['tcp_port', e.server?.stats().tcpPort ?? 0],
      ['server_time_usec', Date.now() * 1000], ['uptime_in_seconds', up], ['uptime_in_days', Math.floor(up / 86400)],
      ['hz', e.config.getInt('hz')], ['configured_hz', e.config.getInt('hz')],
      ['lru_clock', Math.floor(Date.now() / 1000) & 0xffffff], ['executable', process.argv[1] ?? ''],
      ['config_file', e.server?.configFile ?? ''], ['io_threads_active', 0],
      ['forkless_version', '0.1.0'], ['forkless_node_version', process.version],
    ];
  },
  clients: (e) => {
    const s = e.server?.stats();
    return [
      ['connected_clients', s?.connectedClients ?? 0], ['cluster_connections', 0],
      ['maxclients', e.config.getInt('maxclients')], ['client_recent_max_input_buffer', s?.maxInputBuffer ?? 0],
      ['client_recent_max_output_buffer', s?.maxOutputBuffer ?? 0], ['blocked_clients', e.blocking.blockedClients],
      ['tracking_clients', 0], ['clients_in_timeout_table', 0],
    ];
  },
  memory: (e) => {
    const m = e.keyspace.memoryStats();
    const rss = memoryUsage.rss();
    if (m.usedMemory > peakMemory) peakMemory = m.usedMemory;
    const maxmem = e.config.getInt('maxmemory');
    const overhead = m.indexBytes;
    return [
      ['used_memory', m.usedMemory], ['used_memory_human', human(m.usedMemory)],
      ['used_memory_rss', rss], ['used_memory_rss_human', human(rss)],
      ['used_memory_peak', peakMemory], ['used_memory_peak_human', human(peakMemory)],
      ['used_memory_peak_perc', `${peakMemory > 0 ? ((m.usedMemory / peakMemory) * 100).toFixed(2) : '100.00'}%`],
      ['used_memory_overhead', overhead], ['used_memory_startup', 0],
      ['used_memory_dataset', m.usedMemory - overhead],
      ['used_memory_dataset_perc', `${m.usedMemory > 0 ? (((m.usedMemory - overhead) / m.usedMemory) * 100).toFixed(2) : '0.00'}%`],
      ['total_system_memory', totalmem()], ['total_system_memory_human', human(totalmem())],
      ['maxmemory', maxmem], ['maxmemory_human', human(maxmem)], ['maxmemory_policy', e.config.getString('maxmemory-policy')],
      ['mem_fragmentation_ratio', m.fragmentationRatio.toFixed(2)],
      ['mem_fragmentation_bytes', m.arenaBytes + m.indexBytes - m.usedMemory],
      ['mem_allocator', 'forkless-slab'], ['lazyfree_pending_objects', e.keyspace.lazyfreePendingObjects], ['lazyfreed_objects', e.keyspace.lazyfreedObjects],
      ['forkless_page_size', m.pageSize], ['forkless_pages', m.pages], ['forkless_free_pages', m.freePages],
      ['forkless_arena_bytes', m.arenaBytes], ['forkless_index_bytes', m.indexBytes],
      ['forkless_dataset_bytes', m.datasetBytes], ['forkless_cow_bytes', m.cowBytes],
    ];
  },
  persistence: (e) => {
    const r = e.rdb;
    const b = e.keyspace.barrier.stats;
    const inProg = r.inProgress;
    const snap = r.lastSnapshot;
    return [
      ['loading', e.aof.loading !== null ? 1 : 0], ['async_loading', 0],
      ['current_cow_peak', inProg ? b.peakCopyBytes : 0], ['current_cow_size', inProg ? e.keyspace.barrier.copyBytesInUse : 0],
      ['current_cow_size_age', 0], ['current_fork_perc', '0.00'],
      ['current_save_keys_processed', 0], ['current_save_keys_total', 0],
      ['rdb_changes_since_last_save', r.dirty], ['rdb_bgsave_in_progress', inProg ? 1 : 0],
      ['rdb_last_save_time', r.lastSave], ['rdb_last_bgsave_status', r.lastBgsaveOk ? 'ok' : 'err'],
      ['rdb_last_bgsave_time_sec', r.lastBgsaveTimeSec],
      ['rdb_current_bgsave_time_sec', inProg ? Math.round((Date.now() - r.bgsaveStart) / 1000) : -1],
      ['rdb_saves', r.saves], ['rdb_last_cow_size', r.lastCowSize],
      ['rdb_last_load_keys_expired', r.lastLoadKeysExpired], ['rdb_last_load_keys_loaded', r.lastLoadKeysLoaded],
      // aof_* (and, while the AOF loads, loading_*) in Redis's order: persist/aof.ts.
      ...e.aof.info(), ...e.aof.loadingRows(),
      ['forkless_snapshot_pages_copied', snap?.pagesCopied ?? 0],
      ['forkless_snapshot_bytes_copied', snap?.bytesCopied ?? 0],
      ['forkless_snapshot_peak_copy_bytes', snap?.peakCopyBytes ?? 0],
      ['forkless_snapshot_longest_stall_usec', snap?.longestStallUs ?? 0],
      ['forkless_snapshot_barrier_waits', snap?.waits ?? 0],
      ['forkless_snapshot_pages_from_shadow', snap?.pagesFromShadow ?? 0],
      ['forkless_snapshot_pages_copied_by_worker', snap?.pagesCopiedByWorker ?? 0],
      ['forkless_snapshot_pages_encoded_by_main', snap?.pagesEncoded ?? 0],
      ['forkless_snapshot_stalls_over_1ms', snap?.stallsOver1ms ?? 0],
      ['forkless_snapshot_main_thread_capture_ms', snap ? Math.round(snap.captureUs / 1000) : 0],
      ['forkless_snapshot_duration_ms', snap ? Math.round(snap.durationMs) : -1],
      ['forkless_snapshot_keys', snap?.keys ?? 0],
      ['forkless_snapshot_assembly_peak_bytes', snap?.assemblyPeakBytes ?? 0],
      ['forkless_snapshot_assembly_spilled_bytes', snap?.assemblySpilledBytes ?? 0],
      ...e.aof.forklessInfo(),
    ];
  },
  stats: (e) => {
    const s = e.server?.stats();
    return [
      ['total_connections_received', s?.totalConnectionsReceived ?? 0],
      ['total_commands_processed', e.stats.totalCommands], ['instantaneous_ops_per_sec', e.flow.metrics.opsPerSec],
      ['total_net_input_bytes', s?.totalNetInputBytes ?? 0], ['total_net_output_bytes', s?.totalNetOutputBytes ?? 0],
      ['instantaneous_input_kbps', e.flow.metrics.inputKbps.toFixed(2)], ['instantaneous_output_kbps', e.flow.metrics.outputKbps.toFixed(2)],
      ['rejected_connections', s?.rejectedConnections ?? 0], ['sync_full', 0], ['sync_partial_ok', 0], ['sync_partial_err', 0],
      ['expired_keys', e.stats.expiredKeys], ['expired_stale_perc', '0.00'], ['expired_time_cap_reached_count', 0],
      ['expire_cycle_cpu_milliseconds', 0], ['evicted_keys', 0], ['evicted_clients', 0], ['total_eviction_exceeded_time', 0],
      ['current_eviction_exceeded_time', 0], ['keyspace_hits', 0], ['keyspace_misses', 0],
      ['pubsub_channels', e.flow.pubsub.channelCount], ['pubsub_patterns', e.flow.pubsub.patternCount], ['latest_fork_usec', e.rdb.latestForkUsec],
      ['total_forks', e.rdb.totalForks], ['migrate_cached_sockets', 0], ['slave_expires_tracked_keys', 0],
      ['active_defrag_hits', 0], ['active_defrag_misses', 0], ['active_defrag_key_hits', 0], ['active_defrag_key_misses', 0],
      ['total_active_defrag_time', 0], ['current_active_defrag_time', 0], ['tracking_total_keys', 0],
      ['tracking_total_items', 0], ['tracking_total_prefixes', 0], ['unexpected_error_replies', 0],
      ['total_error_replies', e.dispatcher.totalErrorReplies], ['dump_payload_sanitizations', 0],
      ['total_reads_processed', s?.totalReadsProcessed ?? 0], ['total_writes_processed', s?.totalWritesProcessed ?? 0], ['io_threaded_reads_processed', 0],
      ['io_threaded_writes_processed', 0], ['reply_buffer_shrinks', 0], ['reply_buffer_expands', 0],
    ];
  },
  replication: () => [
    ['role', 'master'], ['connected_slaves', 0], ['master_failover_state', 'no-failover'],
    ['master_replid', REPL_ID], ['master_replid2', '0000000000000000000000000000000000000000'],
    ['master_repl_offset', 0], ['second_repl_offset', -1], ['repl_backlog_active', 0],
    ['repl_backlog_size', 1048576], ['repl_backlog_first_byte_offset', 0], ['repl_backlog_histlen', 0],
  ],
  cpu: () => {
    const c = cpuUsage();
    const sys = (c.system / 1e6).toFixed(6);
    const user = (c.user / 1e6).toFixed(6);
    return [
      ['used_cpu_sys', sys], ['used_cpu_user', user], ['used_cpu_sys_children', '0.000000'],
      ['used_cpu_user_children', '0.000000'], ['used_cpu_sys_main_thread', sys], ['used_cpu_user_main_thread', user],
    ];
  },
  modules: () => [],
  errorstats: (e) => [...e.dispatcher.errorStats].map(([code, n]) => [`errorstat_${code}`, `count=${n}`]),
  cluster: () => [['cluster_enabled', 0]],
  keyspace: (e) => {
    const out: Array<[string, string]> = [];
    for (let db = 0; db < e.databases; db++) {
      const keys = e.keyspace.dbSize(db);
      if (keys > 0) out.push([`db${db}`, `keys=${keys},expires=${e.keyspace.expiresSize(db)},avg_ttl=0`]);
    }
    return out;
  },
  commandstats: (e) => {
    const out: Array<[string, string]> = [];
    for (const [name, s] of e.dispatcher.commandStats) {
      if (s.calls === 0 && s.rejectedCalls === 0 && s.failedCalls === 0) continue;
      const per = s.calls > 0 ? s.usec / s.calls : 0;
      out.push([`cmdstat_${name}`, `calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${per.toFixed(2)},rejected_calls=${s.rejectedCalls},failed_calls=${s.failedCalls}`]);
    }
    return out;
  },
};

const TITLES: Record<string, string> = {
  server: 'Server', clients: 'Clients', memory: 'Memory', persistence: 'Persistence', stats: 'Stats',
  replication: 'Replication', cpu: 'CPU', modules: 'Modules', errorstats: 'Errorstats', cluster: 'Cluster',
  keyspace: 'Keyspace', commandstats: 'Commandstats',
};
const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace'];
const ALL_SECTIONS = [...DEFAULT_SECTIONS, 'commandstats'];

/** The INFO text for the requested sections (Redis's `default`, `all`, `everything` included). */
export function infoText(e: Engine, requested: string[]): string {
  let names: string[];
  if (requested.length === 0) names = DEFAULT_SECTIONS;
  else {
    const want = new Set<string>();
    for (const r of requested.map((s) => s.toLowerCase())) {
      if (r === 'default') DEFAULT_SECTIONS.forEach((s) => want.add(s));
      else if (r === 'all' || r === 'everything') ALL_SECTIONS.forEach((s) => want.add(s));
      else want.add(r);
    }
    names = ALL_SECTIONS.filter((s) => want.has(s));
  }
  const parts: string[] = [];
  for (const name of names) {
    const rows = SECTIONS[name](e);
    parts.push(`# ${TITLES[name]}\r\n${rows.map(([k, v]) => `${k}:${v}\r\n`).join('')}`);
  }
  return parts.join('\r\n');
}

function info(ctx: Ctx, argv: Buffer[]): Reply {
  const text = infoText(ctx.engine, argv.slice(1).map((a) => latin1(a)));
  return ctx.client.resp === 3 ? new VerbatimReply(text) : Buffer.from(text);
}

// ---------------------------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------------------------

function configGet(ctx: Ctx, argv: Buffer[]): Reply {
  const pats = argv.slice(2);
  const seen = new Set<string>();
  const entries: Array<[Reply, Reply]> = [];
  for (const [name, value] of ctx.engine.config.entries((n) => pats.some((p) => globMatch(p, Buffer.from(n), true)))) {
    if (seen.has(name)) continue;
    seen.add(name);
    entries.push([Buffer.from(name), Buffer.from(value)]);
  }
  if (ctx.client.resp === 3) return new MapReply(entries);
  return entries.flat();
}

/** CONFIG SET name value [name value ...]: all or nothing, as Redis 7.0. */
function configSet(ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length < 4 || argv.length % 2 !== 0) throw Errors.arity('config|set');
  const cfg = ctx.engine.config;
  const pairs: Array<[string, string]> = [];
  const names = new Set<string>();
  for (let i = 2; i < argv.length; i += 2) {
    const name = latin1(argv[i]).toLowerCase();
    if (names.has(name)) throw new ReplyError(`ERR CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`);
    names.add(name);
    pairs.push([name, argv[i + 1].toString()]);
  }
  const before = pairs.map(([n]) => cfg.get(n));
  for (let i = 0; i < pairs.length; i++) {
    const err = cfg.trySet(pairs[i][0], pairs[i][1]);
    if (err !== null) {
      for (let j = 0; j < i; j++) cfg.trySet(pairs[j][0], before[j] ?? '');
      throw new ReplyError(`ERR ${err}`);
    }
  }
  return OK;
}

function configResetStat(ctx: Ctx): Reply {
  ctx.engine.dispatcher.resetStats();
  ctx.engine.stats.totalCommands = 0;
  ctx.engine.stats.expiredKeys = 0;
  return OK;
}

/** CONFIG REWRITE: the config file named on the command line, rewritten in place (config-rewrite.ts). */
function configRewrite(ctx: Ctx): Reply {
  const path = ctx.engine.server?.configFile ?? null;
  if (path === null) throw new ReplyError('ERR The server is running without a config file');
  try {
    rewriteConfigFile(path, ctx.engine.config);
  } catch (e) {
    const why = strerror(e);
    ctx.engine.log('warning', `CONFIG REWRITE failed: ${why}`);
    throw new ReplyError(`ERR Rewriting config file: ${why}`);
  }
  ctx.engine.log('notice', 'CONFIG REWRITE executed with success.');
  return OK;
}

/** The C library's text for the errors a rewrite can meet (Redis replies with strerror). */
function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    EACCES: 'Permission denied', EROFS: 'Read-only file system', ENOSPC: 'No space left on device',
    ENOENT: 'No such file or directory', EISDIR: 'Is a directory', ENOTDIR: 'Not a directory', EPERM: 'Operation not permitted',
  };
  return (code !== undefined ? texts[code] : undefined) ?? (e instanceof Error ? e.message : String(e));
}

function configHelp(): Reply {
  return [
    'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'GET <pattern>',
    '    Return parameters matching the glob-like <pattern> and their values.',
    'SET <directive> <value>',
    '    Set the configuration <directive> to <value>.',
    'RESETSTAT',
    '    Reset statistics reported by the INFO command.',
    'REWRITE',
    '    Rewrite the configuration file.',
    'HELP',
    '    Print this help.',
  ];
}

// ---------------------------------------------------------------------------------------------
// Persistence commands
// ---------------------------------------------------------------------------------------------

function save(ctx: Ctx): Reply {
  try {
    ctx.engine.rdb.save();
  } catch (err) {
    if (err instanceof ReplyError) throw err;
    throw new ReplyError('ERR');
  }
  return OK;
}

function bgsave(ctx: Ctx, argv: Buffer[]): Reply {
  let schedule = false;
  if (argv.length > 1) {
    if (argv.length === 2 && latin1(argv[1]).toLowerCase() === 'schedule') schedule = true;
    else throw Errors.syntax();
  }
  return ctx.engine.rdb.bgsaveCommand(schedule, ctx.engine.aof.rewriteInProgress);
}

function lastsave(ctx: Ctx): Reply { return ctx.engine.rdb.lastSave; }

/** BGREWRITEAOF: persist/aof.ts has Redis's replies (started, scheduled, already in progress). */
function bgrewriteaof(ctx: Ctx): Reply { return ctx.engine.aof.bgrewriteaofCommand(); }

// ---------------------------------------------------------------------------------------------
// Spec rows
// ---------------------------------------------------------------------------------------------

const row = (name: string, arity: number, flags: CommandSpec<Engine>['flags'], handler: CommandSpec<Engine>['handler'], summary: string, since: string, extra: Partial<CommandSpec<Engine>> = {}): CommandSpec<Engine> => ({
  name, arity, flags, firstKey: 0, lastKey: 0, step: 0, group: 'server', since, summary, handler, ...extra,
});

export const serverCommands: CommandSpec<Engine>[] = [
  row('info', -1, ['loading', 'stale'], info, 'Get information and statistics about the server', '1.0.0'),
  row('config', -2, [], () => { throw Errors.arity('config'); }, 'A container for server configuration commands', '2.0.0', {
    subcommands: [
      row('get', -3, ['admin', 'noscript', 'loading', 'stale'], configGet, 'Get the values of configuration parameters', '2.0.0'),
      row('set', -4, ['admin', 'noscript', 'loading', 'stale'], configSet, 'Set configuration parameters to the given values', '2.0.0'),
      row('resetstat', 2, ['admin', 'noscript', 'loading', 'stale'], configResetStat, 'Reset the stats returned by INFO', '2.0.0'),
      row('rewrite', 2, ['admin', 'noscript', 'loading', 'stale'], configRewrite, 'Rewrite the configuration file with the in memory configuration', '2.8.0'),
      row('help', 2, ['loading', 'stale'], configHelp, 'Show helpful text about the different subcommands', '5.0.0'),
    ],
  }),
  row('save', 1, ['admin', 'noscript', 'noMulti'], save, 'Synchronously save the dataset to disk', '1.0.0'),
  row('bgsave', -1, ['admin', 'noscript'], bgsave, 'Asynchronously save the dataset to disk', '1.0.0'),
  row('bgrewriteaof', 1, ['admin', 'noscript'], bgrewriteaof, 'Asynchronously rewrite the append-only file', '1.0.0'),
  row('lastsave', 1, ['loading', 'stale', 'fast'], lastsave, 'Get the UNIX time stamp of the last successful save to disk', '1.0.0'),
];
