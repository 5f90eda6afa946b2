/**
 * forkless-server: redis-server's command line in front of the engine.
 *
 * Start-up: parse the command line and config (exit 1 with Redis's FATAL block on a bad
 * directive), open the engine with the resulting directives (defaults: port 6379, bind 127.0.0.1,
 * dir ./data, save "3600 1 300 100 60 10000"), listen, log "Ready to accept connections".
 * SIGTERM/SIGINT and SHUTDOWN persist through the engine's shutdown() and exit 0.
 */
import { mkdirSync } from 'node:fs';
import { ConfigFileError, loadConfig, parseCommandLine, usage, versionLine, FORKLESS_VERSION } from './cli.js';
import { RedisLog } from './log.js';
import { RespServer } from './server.js';
import { REDIS_VERSION } from './connection-commands.js';
import type { ServerEnginePort } from './engine-port.js';

const DEFAULTS: Record<string, string> = {
  port: '6379',
  bind: '127.0.0.1',
  dir: './data',
  save: '3600 1 300 100 60 10000',
};

function isPort(x: unknown): x is ServerEnginePort {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o['execute'] === 'function' && typeof o['newClientState'] === 'function' &&
    typeof o['shutdown'] === 'function' && typeof o['log'] === 'function' &&
    typeof o['config'] === 'object' && o['config'] !== null;
}

/** The ServerEnginePort of whatever open() returned: the Db itself, or its `engine`/`serverPort`. */
export function portOf(db: unknown): ServerEnginePort {
  if (isPort(db)) return db;
  if (typeof db === 'object' && db !== null) {
    const o = db as Record<string, unknown>;
    for (const k of ['serverPort', 'engine', 'port']) {
      const v = o[k];
      const candidate = typeof v === 'function' ? (v as () => unknown).call(db) : v;
      if (isPort(candidate)) return candidate;
    }
  }
  throw new TypeError('open() did not return an object providing the ServerEnginePort');
}

/** Opens the engine. Imported lazily so --version, --help and config errors start fast. */
async function openEngine(config: Record<string, string>): Promise<ServerEnginePort> {
  const { open } = await import('../index.js');
  return portOf(await open(config));
}

export async function main(argv: readonly string[]): Promise<void> {
  const cmd = parseCommandLine(argv);
  if (cmd.kind === 'version') {
    process.stdout.write(versionLine() + '\n');
    process.exit(0);
  }
  if (cmd.kind === 'help') {
    process.stderr.write(usage());
    process.exit(1);
  }
  const log = new RedisLog();
  let values: Record<string, string>;
  let ignored: string[];
  let ignoredValues: Record<string, string>;
  try {
    ({ values, ignored, ignoredValues } = loadConfig(cmd));
  } catch (e) {
    if (e instanceof ConfigFileError) {
      if (e.line === null) log.log('warning', e.message);
      else process.stderr.write(e.report());
      process.exit(1);
    }
    throw e;
  }
  const config: Record<string, string> = { ...DEFAULTS, ...values };
  log.level = (config['loglevel'] as RedisLog['level'] | undefined) ?? 'notice';
  log.file = config['logfile'] ?? '';
  log.log('warning', `oO0OoO0OoO0Oo forkless ${FORKLESS_VERSION} (Redis ${REDIS_VERSION} compatible) is starting oO0OoO0OoO0Oo`);
  log.log('warning', `Redis version=${REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid=${process.pid}, just started`);
  if (argv.length === 0) {
    log.log('warning', 'Warning: no config file specified, using the default config. In order to specify a config file use forkless-server /path/to/redis.conf');
  } else {
    log.log('warning', 'Configuration loaded');
  }
  for (const name of ignored) log.log('warning', `Directive '${name}' is not supported by forkless and was ignored`);
  try {
    mkdirSync(config['dir']!, { recursive: true });
  } catch (e) {
    log.log('warning', `Can't create directory '${config['dir']}': ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  log.role = 'M';

  let port: ServerEnginePort;
  try {
    port = await openEngine(config);
  } catch (e) {
    log.log('warning', `Fatal error opening the dataset: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(1);
  }

  let exiting = false;
  const perm = ignoredValues['unixsocketperm'];
  const server = new RespServer(port, {
    ...(perm !== undefined ? { unixSocketPerm: perm } : {}),
    configFile: cmd.configFile,
    onShutdown: () => process.exit(0),
  });
  try {
    await server.listen();
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    log.log('warning', `Warning: Could not create server TCP listening socket ${err.address ?? '*'}:${err.port ?? config['port']}: ${err.message}`);
    log.log('warning', `Failed listening on port ${config['port']} (TCP), aborting.`);
    process.exit(1);
  }
  log.log('notice', `Running mode=standalone, port=${server.counters.tcpPort}.`);
  log.log('warning', 'Server initialized');
  log.log('notice', 'Ready to accept connections');
  const unix = config['unixsocket'];
  if (unix !== undefined && unix !== '') log.log('notice', `The server is now ready to accept connections at ${unix}`);

  const onSignal = (sig: NodeJS.Signals): void => {
    if (exiting) return;
    exiting = true;
    port.log('warning', `Received ${sig} scheduling shutdown...`);
    port.shutdown({}).then(
      async () => {
        await server.close();
        process.exit(0);
      },
      (e: unknown) => {
        exiting = false;
        // The engine logged Redis's lines ("Error trying to save the DB, can't exit." ...); this is the cause.
        port.log('verbose', `Shutdown refused: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`forkless-server: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
