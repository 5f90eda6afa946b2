/**
 * Connection-level commands that need no server state: PING, ECHO, TIME.
 * (PING inside a RESP2 pub/sub session answers differently; the server front end handles that.)
 */
import { Errors } from '../errors.js';
import type { EngineLike } from './engine-like.js';
import type { CommandContext, CommandFlag, CommandSpec, Handler, Reply } from './types.js';

type Ctx = CommandContext<EngineLike>;

/** PING [message]: PONG, or the message as a bulk string. Arity is checked here, as in Redis. */
function pingCommand(_ctx: Ctx, argv: Buffer[]): Reply {
  if (argv.length > 2) throw Errors.arity('ping');
  return argv.length === 1 ? 'PONG' : argv[1]!;
}

function echoCommand(_ctx: Ctx, argv: Buffer[]): Reply {
  return argv[1]!;
}

/** TIME: wall clock as [seconds, microseconds], both bulk strings. */
function timeCommand(_ctx: Ctx, _argv: Buffer[]): Reply {
  const t = performance.timeOrigin + performance.now();
  const sec = Math.floor(t / 1000);
  const usec = Math.min(999999, Math.floor((t - sec * 1000) * 1000));
  return [Buffer.from(String(sec)), Buffer.from(String(usec))];
}

function row(
  name: string, arity: number, flags: CommandFlag[], group: string, since: string, summary: string,
  handler: Handler<EngineLike>,
): CommandSpec<EngineLike> {
  return { name, arity, flags, firstKey: 0, lastKey: 0, step: 0, group, since, summary, handler };
}

export const connectionCommands: readonly CommandSpec<EngineLike>[] = [
  row('ping', -1, ['fast'], 'connection', '1.0.0', 'Check that the server answers.', pingCommand),
  row('echo', 2, ['loading', 'stale', 'fast'], 'connection', '1.0.0', 'Return the given string.', echoCommand),
  row('time', 1, ['loading', 'stale', 'fast'], 'server', '2.6.0', 'Return the server clock.', timeCommand),
];
