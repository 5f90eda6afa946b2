/**
 * redis-server's command line and redis.conf reader.
 *
 *   forkless-server [/path/to/redis.conf] [--directive value ...] [-]
 *
 * Command-line options are turned into config text exactly as redis-server does (each `--name`
 * starts a line, each following word is appended in quoted form, `--save` with no value means
 * `save ""`), appended after the file (and stdin with `-`), and the whole is read line by line with
 * the same splitter as inline commands. Line numbers in errors are therefore Redis's.
 *
 * Directive rules (Redis 7.0): names are case-insensitive; a single-value directive takes exactly
 * one argument ("wrong number of arguments"); multi-value ones (save, bind, client-output-buffer-
 * limit, ...) take several, or one that is split at spaces; repeated `save` lines accumulate, and
 * `save ""` clears; `include` reads another file at that point (wildcards allowed). A directive
 * Redis knows but forkless does not implement is ignored with a warning; anything else is fatal,
 * printed in Redis's FATAL CONFIG FILE ERROR block.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { repr, splitArgsString } from './splitargs.js';
import { REDIS_VERSION } from './connection-commands.js';

/** Directive names of Redis 7.0's config table (aliases included). */
const REDIS_DIRECTIVES = new Set((
  'rdbchecksum daemonize io-threads-do-reads always-show-logo protected-mode rdbcompression rdb-del-sync-files ' +
  'activerehashing stop-writes-on-bgsave-error set-proc-title dynamic-hz lazyfree-lazy-eviction lazyfree-lazy-expire ' +
  'lazyfree-lazy-server-del lazyfree-lazy-user-del lazyfree-lazy-user-flush repl-disable-tcp-nodelay repl-diskless-sync ' +
  'aof-rewrite-incremental-fsync no-appendfsync-on-rewrite cluster-require-full-coverage rdb-save-incremental-fsync ' +
  'aof-load-truncated aof-use-rdb-preamble aof-timestamp-enabled cluster-replica-no-failover cluster-slave-no-failover ' +
  'replica-lazy-flush slave-lazy-flush replica-serve-stale-data slave-serve-stale-data replica-read-only slave-read-only ' +
  'replica-ignore-maxmemory slave-ignore-maxmemory jemalloc-bg-thread activedefrag syslog-enabled cluster-enabled ' +
  'appendonly cluster-allow-reads-when-down cluster-allow-pubsubshard-when-down crash-log-enabled crash-memcheck-enabled ' +
  'use-exit-on-panic disable-thp cluster-allow-replica-migration replica-announced latency-tracking aof-disable-auto-gc ' +
  'replica-ignore-disk-write-errors aclfile unixsocket pidfile replica-announce-ip slave-announce-ip masteruser ' +
  'cluster-announce-ip cluster-config-file cluster-announce-hostname syslog-ident dbfilename appendfilename appenddirname ' +
  'ignore-warnings proc-title-template bind-source-addr logfile masterauth requirepass supervised syslog-facility ' +
  'repl-diskless-load loglevel maxmemory-policy appendfsync oom-score-adj acl-pubsub-default sanitize-dump-payload ' +
  'enable-protected-configs enable-debug-command enable-module-command cluster-preferred-endpoint-type ' +
  'propagation-error-behavior shutdown-on-sigint shutdown-on-sigterm databases port io-threads ' +
  'auto-aof-rewrite-percentage cluster-replica-validity-factor cluster-slave-validity-factor list-max-listpack-size ' +
  'list-max-ziplist-size tcp-keepalive cluster-migration-barrier active-defrag-cycle-min active-defrag-cycle-max ' +
  'active-defrag-threshold-lower active-defrag-threshold-upper lfu-log-factor lfu-decay-time replica-priority ' +
  'slave-priority repl-diskless-sync-delay maxmemory-samples maxmemory-eviction-tenacity timeout replica-announce-port ' +
  'slave-announce-port tcp-backlog cluster-port cluster-announce-bus-port cluster-announce-port cluster-announce-tls-port ' +
  'repl-timeout repl-ping-replica-period repl-ping-slave-period list-compress-depth rdb-key-save-delay key-load-delay ' +
  'active-expire-effort hz min-replicas-to-write min-slaves-to-write min-replicas-max-lag min-slaves-max-lag ' +
  'watchdog-period shutdown-timeout repl-diskless-sync-max-replicas maxclients unixsocketperm socket-mark-id ' +
  'active-defrag-max-scan-fields slowlog-max-len acllog-max-len busy-reply-threshold lua-time-limit cluster-node-timeout ' +
  'slowlog-log-slower-than latency-monitor-threshold proto-max-bulk-len stream-node-max-entries repl-backlog-size ' +
  'maxmemory cluster-link-sendbuf-limit hash-max-listpack-entries hash-max-ziplist-entries set-max-intset-entries ' +
  'zset-max-listpack-entries zset-max-ziplist-entries active-defrag-ignore-bytes hash-max-listpack-value ' +
  'hash-max-ziplist-value stream-node-max-bytes zset-max-listpack-value zset-max-ziplist-value hll-sparse-max-bytes ' +
  'tracking-table-max-keys client-query-buffer-limit maxmemory-clients repl-backlog-ttl tls-port tls-session-cache-size ' +
  'tls-session-cache-timeout tls-cluster tls-replication tls-auth-clients tls-prefer-server-ciphers tls-session-caching ' +
  'tls-cert-file tls-key-file tls-key-file-pass tls-client-cert-file tls-client-key-file tls-client-key-file-pass ' +
  'tls-dh-params-file tls-ca-cert-file tls-ca-cert-dir tls-protocols tls-ciphers tls-ciphersuites dir save ' +
  'client-output-buffer-limit oom-score-adj-values notify-keyspace-events bind replicaof slaveof ' +
  'latency-tracking-info-percentiles'
).split(' '));

/** Whether Redis 7.0 knows a directive (CONFIG REWRITE keeps such lines; others become comments). */
export function isRedisDirective(name: string): boolean {
  return REDIS_DIRECTIVES.has(name.toLowerCase());
}

/** Directives that take several arguments (Redis's MULTI_ARG_CONFIG). */
const MULTI_ARG = new Set([
  'save', 'client-output-buffer-limit', 'oom-score-adj-values', 'bind', 'replicaof', 'slaveof',
  'latency-tracking-info-percentiles', 'shutdown-on-sigint', 'shutdown-on-sigterm',
]);

/** Directives the RESP front end applies itself when the engine's config does not hold them. */
const FRONT_END_DIRECTIVES = new Set(['unixsocketperm']);

/** Multi-value directives whose repeated lines add up instead of replacing each other. */
const ACCUMULATE = new Set(['client-output-buffer-limit']);

export const FORKLESS_VERSION = '0.1.0';

/** A configuration problem at a given place; printed as Redis's FATAL CONFIG FILE ERROR block. */
export class ConfigFileError extends ConfigError {
  readonly line: number | null;
  readonly text: string | null;
  constructor(reason: string, line: number | null, text: string | null, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'ConfigFileError';
    this.line = line;
    this.text = text;
  }

  /** The block redis-server prints on stderr before exiting with status 1. */
  report(): string {
    let s = `\n*** FATAL CONFIG FILE ERROR (Redis ${REDIS_VERSION}) ***\n`;
    if (this.line !== null) s += `Reading the configuration file, at line ${this.line}\n>>> '${this.text}'\n`;
    return s + this.message + '\n';
  }
}

export interface LoadedConfig {
  /** Directive → value (multi-value directives joined with spaces), in the form open() takes. */
  values: Record<string, string>;
  /** Directives Redis knows that the engine does not (not passed to open()). */
  ignored: string[];
  /** Their values, for the few the front end applies itself (unixsocketperm). */
  ignoredValues: Record<string, string>;
  configFile: string | null;
}

export type CommandLine =
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'run'; configFile: string | null; fromStdin: boolean; options: string };

/** Splits argv (without node and script) the way redis-server's main() does. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  if (argv.length === 0) return { kind: 'run', configFile: null, fromStdin: false, options: '' };
  const first = argv[0]!;
  if (first === '-v' || first === '--version') return { kind: 'version' };
  if (first === '-h' || first === '--help') return { kind: 'help' };
  let j = 0;
  let configFile: string | null = null;
  if (!first.startsWith('-')) {
    configFile = first;
    j = 1;
  }
  let options = '';
  let fromStdin = false;
  let lastHadArg = true;
  for (; j < argv.length; j++) {
    const a = argv[j]!;
    const isLast = j === argv.length - 1;
    if (a === '-' && (j === 0 || isLast)) {
      fromStdin = true;
    } else if (lastHadArg && a.startsWith('--')) {
      if (options.length > 0) options += '\n';
      options += a.slice(2) + ' ';
      const words = splitArgsString(a);
      if (words !== null && words.length === 1) {
        // An option name alone: its value follows. `--save` directly followed by another option
        // (or at the end) means `save ""`, as redis-server 7.0.1+ reads it.
        lastHadArg = false;
        const nextIsOption = !isLast && argv[j + 1]!.startsWith('--');
        if (a.toLowerCase() === '--save' && (isLast || nextIsOption)) {
          options += '""';
          lastHadArg = !isLast;
        }
      } else {
        lastHadArg = true; // "--port 6380" in one argument
      }
    } else {
      options += repr(a) + ' ';
      lastHadArg = true;
    }
  }
  return { kind: 'run', configFile, fromStdin, options };
}

export function versionLine(): string {
  const build = createHash('sha1').update(`forkless ${FORKLESS_VERSION} ${process.version}`).digest('hex').slice(0, 16);
  return `Redis server v=${REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=${build} forkless=${FORKLESS_VERSION} node=${process.version}`;
}

export function usage(prog = 'forkless-server'): string {
  return [
    `Usage: ${prog} [/path/to/redis.conf] [options] [-]`,
    `       ${prog} - (read config from stdin)`,
    `       ${prog} -v or --version`,
    `       ${prog} -h or --help`,
    '',
    'Examples:',
    `       ${prog} (run the server with default conf)`,
    `       echo 'maxmemory 128mb' | ${prog} -`,
    `       ${prog} /etc/redis/6379.conf`,
    `       ${prog} --port 7777`,
    `       ${prog} --port 7777 --save "900 1 300 10"`,
    `       ${prog} /etc/myredis.conf --loglevel verbose -`,
    `       ${prog} /etc/myredis.conf --loglevel verbose`,
    '',
    'forkless speaks the Redis 7.0 protocol and reads redis.conf; defaults differ in three places:',
    'bind 127.0.0.1, dir ./data (created if missing), save "3600 1 300 100 60 10000".',
    '',
  ].join('\n');
}

/** Checks one directive's value; returns the reason it is refused (Redis's wording) or null. */
export type DirectiveValidator = (name: string, value: string) => string | null;

/** Validation by the engine's config table (Config.trySet on a scratch instance). */
export const engineValidator: DirectiveValidator = (name, value) => {
  const scratch = new Config();
  const err = scratch.trySet(name, value, true);
  if (err === null) return null;
  const dash = err.lastIndexOf(' - ');
  return dash >= 0 ? err.slice(dash + 3) : err;
};

/** Reads config text (file + stdin + options) into directive values. */
export class ConfigReader {
  readonly values: Record<string, string> = {};
  readonly ignored: string[] = [];
  readonly ignoredValues: Record<string, string> = {};
  private save: string[] | null = null;

  constructor(private readonly validate: DirectiveValidator = engineValidator,
              private readonly known: (name: string) => boolean = Config.isDirective) {}

  /** Why: lines are numbered within `text`, so included files report their own line numbers. */
  readText(text: string): void {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      if (line === '' || line.startsWith('#')) continue;
      const argv = splitArgsString(line);
      if (argv === null) throw new ConfigFileError('Unbalanced quotes in configuration line', i + 1, line);
      if (argv.length === 0) continue;
      const name = argv[0]!.toLowerCase();
      const reason = this.directive(name, argv.slice(1));
      if (reason !== null) throw new ConfigFileError(reason, i + 1, line);
    }
  }

  readFile(path: string): void {
    if (/[*?[]/.test(path)) {
      for (const p of expandWildcard(path)) this.readFile(p);
      return;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigFileError(`Fatal error, can't open config file '${path}': ${strerror(e)}`, null, null, { cause: e });
    }
    this.readText(text);
  }

  /** Applies one directive; returns an error reason or null. */
  private directive(name: string, args: string[]): string | null {
    if (name === 'include') {
      if (args.length !== 1) return 'Bad directive or wrong number of arguments';
      this.readFile(args[0]!); // relative to the working directory, as in Redis
      return null;
    }
    if (!REDIS_DIRECTIVES.has(name) && !this.known(name)) {
      if (name === 'rename-command' || name === 'user' || name === 'loadmodule' || name.includes('.')) {
        return `'${name}' is not supported by forkless`;
      }
      return 'Bad directive or wrong number of arguments';
    }
    const multi = MULTI_ARG.has(name);
    if (!multi && args.length !== 1) return 'wrong number of arguments';
    let words = args;
    if (multi && args.length === 1 && args[0] !== '') {
      words = splitArgsString(args[0]!) ?? args;
    }
    if (name === 'save') return this.saveLine(words);
    const value = multi ? words.join(' ') : words[0]!;
    if (!this.known(name)) {
      if (!FRONT_END_DIRECTIVES.has(name)) this.ignored.push(name);
      this.ignoredValues[name] = value;
      return null;
    }
    const reason = this.validate(name, value);
    if (reason !== null) return reason;
    const prev = this.values[name];
    this.values[name] = ACCUMULATE.has(name) && prev !== undefined && prev !== '' ? `${prev} ${value}` : value;
    return null;
  }

  /** The first save line replaces the default, later ones add rules; `save ""` clears. */
  private saveLine(words: string[]): string | null {
    if (words.length === 1 && words[0] === '') {
      this.save = [];
    } else {
      if (words.length % 2 !== 0) return 'Invalid save parameters';
      for (let j = 0; j < words.length; j++) {
        if (!/^-?\d+$/.test(words[j]!)) return 'Invalid save parameters';
        const v = Number(words[j]);
        if ((j % 2 === 0 && v < 1) || (j % 2 === 1 && v < 0)) return 'Invalid save parameters';
      }
      this.save = [...(this.save ?? []), ...words.map((w) => String(Number(w)))];
    }
    this.values['save'] = this.save.join(' ');
    return null;
  }
}

function expandWildcard(pattern: string): string[] {
  const dir = dirname(pattern);
  const re = new RegExp('^' + basename(pattern).replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // a wildcard that matches nothing is not an error (Redis: empty conf.d is fine)
  }
  return names.filter((n) => re.test(n)).sort().map((n) => join(dir, n));
}

/**
 * Loads the configuration for a parsed command line: file, then stdin, then options, the way
 * redis-server concatenates them (so option lines are numbered after the file's).
 */
export function loadConfig(cmd: Extract<CommandLine, { kind: 'run' }>, readStdin: () => string = () => readFileSync(0, 'utf8'),
                           validate?: DirectiveValidator): LoadedConfig {
  const reader = new ConfigReader(validate);
  let text = '';
  if (cmd.configFile !== null) {
    if (/[*?[]/.test(cmd.configFile)) {
      for (const p of expandWildcard(cmd.configFile)) text += readConfigFile(p);
    } else {
      text += readConfigFile(cmd.configFile);
    }
  }
  if (cmd.fromStdin) text += readStdin();
  if (cmd.options !== '') text += '\n' + cmd.options;
  reader.readText(text);
  return { values: reader.values, ignored: reader.ignored, ignoredValues: reader.ignoredValues, configFile: cmd.configFile };
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigFileError(`Fatal error, can't open config file '${path}': ${strerror(e)}`, null, null, { cause: e });
  }
}

/** The C library's wording for the usual open() failures (Redis prints strerror). */
function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory', ELOOP: 'Too many levels of symbolic links', EMFILE: 'Too many open files',
  };
  return (code !== undefined ? texts[code] : undefined) ?? (e instanceof Error ? e.message : String(e));
}
