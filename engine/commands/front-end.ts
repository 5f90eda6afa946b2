/**
 * Rows for the commands the RESP front end implements itself (HELLO, AUTH, CLIENT, QUIT, RESET,
 * SHUTDOWN; engine/server/connection-commands.ts). They live in the engine's table because Redis's
 * command table knows them:
 *  - COMMAND, COMMAND INFO/DOCS/COUNT/LIST list them;
 *  - inside MULTI the front end hands AUTH, HELLO, CLIENT (and SHUTDOWN) to the engine, which
 *    checks them like any command (unknown CLIENT subcommand, arity, SHUTDOWN not allowed in a
 *    transaction) before queueing them;
 *  - at EXEC their handlers run them through the front end (ServerFrontEnd.connectionCommand);
 *  - commandstats, SLOWLOG and MONITOR account for them (connectionCommandRan).
 * Without a server (the embedded API) there is no connection to act on, and they say so.
 */
import { ReplyError } from '../errors.js';
import type { CommandContext, CommandFlag, CommandSpec, Reply } from './types.js';
import type { Engine } from '../engine.js';

function viaFrontEnd(ctx: CommandContext<Engine>, argv: Buffer[]): Reply {
  const server = ctx.engine.server;
  if (server === null) {
    throw new ReplyError(`ERR '${argv[0]!.toString('latin1').toLowerCase()}' needs a server connection (not available through the embedded API)`);
  }
  return server.connectionCommand(ctx.client, argv);
}

const row = (name: string, arity: number, flags: CommandFlag[], group: string, since: string, summary: string,
  subcommands?: CommandSpec<Engine>[]): CommandSpec<Engine> => ({
  name, arity, flags, firstKey: 0, lastKey: 0, step: 0, group, since, summary, handler: viaFrontEnd,
  ...(subcommands !== undefined ? { subcommands } : {}),
});

const C: CommandFlag[] = ['noscript', 'loading', 'stale'];
const A: CommandFlag[] = ['admin', 'noscript', 'loading', 'stale'];
const client = (name: string, arity: number, flags: CommandFlag[], since: string, summary: string): CommandSpec<Engine> =>
  row(name, arity, flags, 'connection', since, summary);

export const frontEndCommands: CommandSpec<Engine>[] = [
  row('hello', -1, ['noscript', 'loading', 'stale', 'fast', 'noAuth', 'allowBusy'], 'connection', '6.0.0', 'Handshake: choose the protocol, authenticate, name the connection.'),
  row('auth', -2, ['noscript', 'loading', 'stale', 'fast', 'noAuth', 'allowBusy'], 'connection', '1.0.0', 'Authenticate the connection.'),
  row('quit', -1, ['allowBusy', 'noscript', 'loading', 'stale', 'fast', 'noAuth'], 'connection', '1.0.0', 'Close the connection once the reply is sent.'),
  row('reset', 1, ['noscript', 'loading', 'stale', 'fast', 'noAuth', 'allowBusy'], 'connection', '6.2.0', 'Bring the connection back to its initial state.'),
  row('shutdown', -1, ['admin', 'noscript', 'loading', 'stale', 'noMulti', 'allowBusy'], 'server', '1.0.0', 'Persist as configured and stop the server.'),
  row('client', -2, [], 'connection', '2.4.0', 'A container for connection management commands.', [
    client('caching', 3, C, '6.0.0', 'Tell the server whether to track the keys of the next command.'),
    client('getname', 2, C, '2.6.9', 'Return the name of the connection.'),
    client('getredir', 2, C, '6.0.0', 'Return the client id tracking notifications are redirected to.'),
    client('help', 2, ['loading', 'stale'], '5.0.0', 'Show helpful text about the different subcommands.'),
    client('id', 2, C, '5.0.0', 'Return the id of the connection.'),
    client('info', 2, C, '6.2.0', 'Describe the connection.'),
    client('kill', -3, A, '2.4.0', 'Close connections chosen by address, id, type or user.'),
    client('list', -2, A, '2.4.0', 'Describe every connection.'),
    client('no-evict', 3, A, '7.0.0', 'Exempt the connection from client eviction.'),
    client('pause', -3, A, '2.9.50', 'Hold the commands of all clients (or of writers) for a while.'),
    client('reply', 3, C, '3.2.0', 'Turn the replies to this connection on, off, or skip the next one.'),
    client('setname', 3, C, '2.6.9', 'Name the connection.'),
    client('tracking', -3, C, '6.0.0', 'Turn server-assisted client-side caching on or off.'),
    client('trackinginfo', 2, C, '6.2.0', 'Describe the client-side caching state of the connection.'),
    client('unblock', -3, A, '5.0.0', 'Wake up a client blocked in a command.'),
    client('unpause', 2, A, '6.2.0', 'End a CLIENT PAUSE.'),
  ]),
];
