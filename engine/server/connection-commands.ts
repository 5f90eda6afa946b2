/**
 * Commands about the connection itself, which the front end answers without the engine:
 * HELLO, AUTH, QUIT, RESET, CLIENT ..., SHUTDOWN (it ends the process), and the cross-protocol
 * attack guard (a `POST` or `Host:` line closes the connection, as Redis).
 *
 * Texts and argument rules follow Redis 7.0.15. Authentication is the `requirepass` model (one
 * `default` user); ACL users are not supported.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ReplyError } from '../errors.js';
import { MapReply, SetReply, VerbatimReply, type Reply } from '../commands/types.js';
import { parseLongLong } from './resp-parser.js';
import type { Connection } from './connection.js';

export const CMD_NONE = 0;
export const CMD_AUTH = 1;
export const CMD_HELLO = 2;
export const CMD_QUIT = 3;
export const CMD_RESET = 4;
export const CMD_CLIENT = 5;
export const CMD_SHUTDOWN = 6;
export const CMD_SECURITY = 7;

export const REDIS_VERSION = '7.0.15';

/** Names as the engine sees them when they are queued inside MULTI. */
export const CONNECTION_COMMAND_NAMES: ReadonlySet<string> = new Set(['auth', 'hello', 'client']);

/** Case-insensitive compare of a command name with a lower-case ASCII word. */
function is(name: Buffer, word: string): boolean {
  if (name.length !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    let c = name[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Which connection command argv[0] names; CMD_NONE for everything the engine runs. */
export function classifyCommand(name: Buffer): number {
  switch (name.length) {
    case 4:
      if (is(name, 'auth')) return CMD_AUTH;
      if (is(name, 'quit')) return CMD_QUIT;
      if (is(name, 'post')) return CMD_SECURITY;
      return CMD_NONE;
    case 5:
      if (is(name, 'hello')) return CMD_HELLO;
      if (is(name, 'reset')) return CMD_RESET;
      if (is(name, 'host:')) return CMD_SECURITY;
      return CMD_NONE;
    case 6:
      return is(name, 'client') ? CMD_CLIENT : CMD_NONE;
    case 8:
      return is(name, 'shutdown') ? CMD_SHUTDOWN : CMD_NONE;
    default:
      return CMD_NONE;
  }
}

/** Returned by a handler that sends no reply (CLIENT REPLY OFF/SKIP, SHUTDOWN in progress). */
export const NO_REPLY: unique symbol = Symbol('no reply');
type Result = Reply | typeof NO_REPLY;

const err = (message: string): ReplyError => new ReplyError(message);
const arity = (name: string): ReplyError => err(`ERR wrong number of arguments for '${name}' command`);
const syntax = (): ReplyError => err('ERR syntax error');
const lower = (b: Buffer): string => b.toString('latin1').toLowerCase();
/** User bytes echoed in an error, as Redis does (%s of the raw argument). */
const text = (b: Buffer): string => b.toString('utf8');

/**
 * Runs a connection command for `conn` and writes its reply. Inside MULTI the queueable ones (AUTH,
 * HELLO, CLIENT) go to the engine to be queued, as Redis queues them; SHUTDOWN goes there too, to
 * be refused ("not allowed inside a transaction") and to flag the transaction. The engine then
 * accounts for the command (commandstats, SLOWLOG, MONITOR) through connectionCommandRan.
 */
export function runConnectionCommand(conn: Connection, kind: number, argv: Buffer[]): void {
  if (conn.client.multi !== null && (kind === CMD_AUTH || kind === CMD_HELLO || kind === CMD_CLIENT || kind === CMD_SHUTDOWN)) {
    conn.execute(argv);
    return;
  }
  const t0 = performance.now();
  const r = connectionCommand(conn, kind, argv, true);
  const usec = (performance.now() - t0) * 1000;
  if (r !== NO_REPLY) conn.sendReply(r, argv);
  conn.server.engine.connectionCommandRan?.(conn.client, argv, r === NO_REPLY ? null : r, usec);
}

/**
 * The reply of a connection command (also used by the engine's EXEC through attachServer, with
 * `topLevel` false: queued commands were checked when they were queued).
 */
export function connectionCommand(conn: Connection, kind: number, argv: Buffer[], topLevel = false): Result {
  switch (kind) {
    case CMD_AUTH:
      if (argv.length < 2) return arity('auth');
      return (topLevel ? pubsubContextError(conn, 'auth') : null) ?? authCommand(conn, argv);
    case CMD_HELLO: return (topLevel ? pubsubContextError(conn, 'hello') : null) ?? helloCommand(conn, argv);
    case CMD_QUIT:
      conn.closeAfterReply = true;
      return 'OK';
    case CMD_RESET: return resetCommand(conn, argv);
    case CMD_CLIENT: {
      const e = checkClientCommand(argv);
      if (e !== null) return e;
      if (!conn.authenticated) return err('NOAUTH Authentication required.');
      const ctx = topLevel ? pubsubContextError(conn, `client|${lower(argv[1]!)}`) : null;
      return ctx ?? clientCommand(conn, argv);
    }
    case CMD_SHUTDOWN:
      if (!conn.authenticated) return err('NOAUTH Authentication required.');
      return (topLevel ? pubsubContextError(conn, 'shutdown') : null) ?? shutdownCommand(conn, argv);
    default:
      return err('ERR unknown command');
  }
}

/**
 * Redis refuses most commands to a RESP2 client with subscriptions (its connection carries
 * pushes, so only (un)subscribe, PING, QUIT and RESET make sense). The engine applies the rule
 * to its commands; this applies it to the front end's.
 */
function pubsubContextError(conn: Connection, fullname: string): ReplyError | null {
  if (conn.client.resp !== 2 || conn.clientType() !== 'pubsub') return null;
  return err(`ERR Can't execute '${fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
}

// ---- AUTH / HELLO ------------------------------------------------------------------------------

function digest(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

/** Checks user/password against requirepass; compares digests so timing reveals nothing. */
function checkPassword(conn: Connection, user: Buffer, password: Buffer): boolean {
  if (user.toString('utf8') !== 'default') return false;
  const required = conn.server.requirepass();
  if (required === '') return true; // the default user is "nopass": every password is accepted
  return timingSafeEqual(digest(password), digest(Buffer.from(required, 'utf8')));
}

function authCommand(conn: Connection, argv: Buffer[]): Result {
  if (argv.length > 3) return syntax();
  let user: Buffer, password: Buffer;
  if (argv.length === 2) {
    if (conn.server.requirepass() === '') {
      return err('ERR AUTH <password> called without any password configured for the default user. ' +
        'Are you sure your configuration is correct?');
    }
    user = DEFAULT_USER;
    password = argv[1]!;
  } else {
    user = argv[1]!;
    password = argv[2]!;
  }
  if (!checkPassword(conn, user, password)) return err('WRONGPASS invalid username-password pair or user is disabled.');
  conn.setAuthenticated(true);
  return 'OK';
}

const DEFAULT_USER = Buffer.from('default');

function helloCommand(conn: Connection, argv: Buffer[]): Result {
  let ver = 0;
  let next = 1;
  if (argv.length >= 2) {
    const v = parseLongLong(argv[1]!, 0, argv[1]!.length);
    next = 2;
    if (v === null) return err('ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) return err('NOPROTO unsupported protocol version');
    ver = v;
  }
  for (let j = next; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const opt = lower(argv[j]!);
    if (opt === 'auth' && more >= 2) {
      if (!checkPassword(conn, argv[j + 1]!, argv[j + 2]!)) {
        return err('WRONGPASS invalid username-password pair or user is disabled.');
      }
      conn.setAuthenticated(true);
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      const e = setName(conn, argv[j + 1]!);
      if (e !== null) return e;
      j++;
    } else {
      return err(`ERR Syntax error in HELLO option '${text(argv[j]!)}'`);
    }
  }
  if (!conn.authenticated) {
    return err('NOAUTH HELLO must be called with the client already authenticated, otherwise the ' +
      'HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP ' +
      'protocol version at the same time');
  }
  if (ver !== 0) conn.client.resp = ver as 2 | 3;
  return new MapReply([
    [bulk('server'), bulk('redis')],
    [bulk('version'), bulk(REDIS_VERSION)],
    [bulk('proto'), conn.client.resp],
    [bulk('id'), conn.client.id],
    [bulk('mode'), bulk('standalone')],
    [bulk('role'), bulk(conn.server.role())],
    [bulk('modules'), []],
  ]);
}

const bulk = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Client names: printable ASCII without spaces ('!'..'~'); empty unsets. */
function setName(conn: Connection, name: Buffer): ReplyError | null {
  if (name.length === 0) {
    conn.client.name = null;
    return null;
  }
  for (const c of name) {
    if (c < 0x21 || c > 0x7e) return err('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  conn.client.name = name.toString('latin1');
  return null;
}

// ---- RESET ------------------------------------------------------------------------------------

function resetCommand(conn: Connection, argv: Buffer[]): Result {
  if (argv.length !== 1) return arity('reset');
  const c = conn.client;
  c.db = 0;
  c.resp = 2;
  c.name = null;
  c.multi = null;
  conn.server.engine.resetClient?.(c);
  conn.setAuthenticated(conn.server.requirepass() === '');
  conn.replyOff = false;
  conn.skipNext = false;
  return 'RESET';
}

// ---- CLIENT -----------------------------------------------------------------------------------

/** Subcommand arities (Redis's command table). */
const CLIENT_SUBCOMMANDS: ReadonlyMap<string, number> = new Map([
  ['caching', 3], ['getname', 2], ['getredir', 2], ['help', 2], ['id', 2], ['info', 2], ['kill', -3],
  ['list', -2], ['no-evict', 3], ['pause', -3], ['reply', 3], ['setname', 3], ['tracking', -3],
  ['trackinginfo', 2], ['unblock', -3], ['unpause', 2],
]);

/** Redis's command-table checks for a container command: existence, then arity. */
function checkClientCommand(argv: Buffer[]): ReplyError | null {
  if (argv.length < 2) return arity('client');
  const sub = lower(argv[1]!);
  const a = CLIENT_SUBCOMMANDS.get(sub);
  if (a === undefined) {
    const shown = text(argv[1]!).slice(0, 128).replace(/[\r\n]/g, ' ');
    return err(`ERR unknown subcommand '${shown}'. Try CLIENT HELP.`);
  }
  if ((a > 0 && argv.length !== a) || argv.length < -a) return arity(`client|${sub}`);
  return null;
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CACHING (YES|NO)',
  '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
  '         [OPTIN] [OPTOUT] [NOLOOP]',
  '    Control server assisted client side caching.',
  'TRACKINGINFO',
  '    Report tracking status for the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'HELP',
  '    Prints this help.',
];

/** Client types by name (no replicas or masters yet: those lists are empty). */
function clientType(name: Buffer): string | null {
  const n = lower(name);
  if (n === 'normal') return 'normal';
  if (n === 'slave' || n === 'replica') return 'replica';
  if (n === 'master') return 'master';
  if (n === 'pubsub') return 'pubsub';
  return null;
}

function clientCommand(conn: Connection, argv: Buffer[]): Result {
  const sub = lower(argv[1]!);
  const server = conn.server;
  switch (sub) {
    case 'help': return CLIENT_HELP.slice();
    case 'id': return conn.client.id;
    case 'info': return new VerbatimReply(conn.infoString() + '\n');
    case 'list': {
      let lines: string[];
      if (argv.length === 4 && lower(argv[2]!) === 'type') {
        const t = clientType(argv[3]!);
        if (t === null) return err(`ERR Unknown client type '${text(argv[3]!)}'`);
        lines = server.connections().filter((c) => c.clientType() === t).map((c) => c.infoString());
      } else if (argv.length > 3 && lower(argv[2]!) === 'id') {
        lines = [];
        for (let j = 3; j < argv.length; j++) {
          const id = parseLongLong(argv[j]!, 0, argv[j]!.length);
          if (id === null) return err('ERR Invalid client ID');
          const c = server.connectionById(id);
          if (c !== undefined) lines.push(c.infoString());
        }
      } else if (argv.length !== 2) {
        return syntax();
      } else {
        lines = server.connections().map((c) => c.infoString());
      }
      return new VerbatimReply(lines.map((l) => l + '\n').join(''));
    }
    case 'reply': {
      const mode = lower(argv[2]!);
      if (mode === 'on') {
        conn.replyOff = false;
        conn.skipNext = false;
        return 'OK';
      }
      if (mode === 'off') {
        conn.replyOff = true;
        return NO_REPLY;
      }
      if (mode === 'skip') {
        if (!conn.replyOff) conn.skipNext = true;
        return NO_REPLY;
      }
      return syntax();
    }
    case 'no-evict': {
      const mode = lower(argv[2]!);
      return mode === 'on' || mode === 'off' ? 'OK' : syntax();
    }
    case 'kill': return clientKill(conn, argv);
    case 'setname': {
      const e = setName(conn, argv[2]!);
      return e ?? 'OK';
    }
    case 'getname': return conn.client.name === null ? null : Buffer.from(conn.client.name, 'latin1');
    case 'unpause':
      server.unpauseClients();
      return 'OK';
    case 'pause': {
      let write = false;
      if (argv.length === 4) {
        const mode = lower(argv[3]!);
        if (mode === 'write') write = true;
        else if (mode !== 'all') return err('ERR CLIENT PAUSE mode must be WRITE or ALL');
      } else if (argv.length !== 3) {
        return syntax();
      }
      const ms = parseLongLong(argv[2]!, 0, argv[2]!.length);
      if (ms === null) return err('ERR timeout is not an integer or out of range');
      if (ms < 0) return err('ERR timeout is negative');
      server.pauseClients(ms, write);
      return 'OK';
    }
    case 'tracking': {
      const mode = lower(argv[2]!);
      if (mode === 'off') return 'OK';
      if (mode === 'on') return err('ERR client-side caching (CLIENT TRACKING) is not supported by forkless');
      return syntax();
    }
    case 'caching':
      return err('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
    case 'getredir': return -1;
    case 'trackinginfo':
      return new MapReply([
        [bulk('flags'), new SetReply([bulk('off')])],
        [bulk('redirect'), -1],
        [bulk('prefixes'), []],
      ]);
    case 'unblock': {
      if (argv.length > 4) return syntax();
      if (argv.length === 4) {
        const why = lower(argv[3]!);
        if (why !== 'timeout' && why !== 'error') return err('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
      }
      const id = parseLongLong(argv[2]!, 0, argv[2]!.length);
      if (id === null) return err('ERR value is not an integer or out of range');
      // A client blocked in BLPOP & co. (engine/blocking.ts) is answered now: nil or an error.
      const target = conn.server.connectionById(Number(id))?.blockedOn ?? null;
      const how = argv.length === 4 && lower(argv[3]!) === 'error' ? 'error' : 'timeout';
      return target !== null && target.unblock(how) ? 1 : 0;
    }
    default:
      return err(`ERR unknown subcommand '${text(argv[1]!)}'. Try CLIENT HELP.`);
  }
}

function clientKill(conn: Connection, argv: Buffer[]): Result {
  let addr: string | null = null, laddr: string | null = null, type: string | null = null;
  let id = 0, skipme = true;
  if (argv.length === 3) {
    addr = text(argv[2]!);
    skipme = false; // the old form may kill the caller itself
  } else {
    for (let i = 2; i < argv.length; i += 2) {
      const opt = lower(argv[i]!);
      const hasValue = i + 1 < argv.length;
      if (!hasValue) return syntax();
      const v = argv[i + 1]!;
      if (opt === 'id') {
        const n = parseLongLong(v, 0, v.length);
        if (n === null || n < 1) return err('ERR client-id should be greater than 0');
        id = n;
      } else if (opt === 'type') {
        type = clientType(v);
        if (type === null) return err(`ERR Unknown client type '${text(v)}'`);
      } else if (opt === 'addr') {
        addr = text(v);
      } else if (opt === 'laddr') {
        laddr = text(v);
      } else if (opt === 'user') {
        if (text(v) !== 'default') return err(`ERR No such user '${text(v)}'`);
      } else if (opt === 'skipme') {
        const yn = lower(v);
        if (yn === 'yes') skipme = true;
        else if (yn === 'no') skipme = false;
        else return syntax();
      } else {
        return syntax();
      }
    }
  }
  let killed = 0;
  let self = false;
  for (const c of conn.server.connections()) {
    if (addr !== null && c.addr !== addr) continue;
    if (laddr !== null && c.laddr !== laddr) continue;
    if (type !== null && c.clientType() !== type) continue;
    if (id !== 0 && c.client.id !== id) continue;
    if (c === conn && skipme) continue;
    if (c === conn) self = true;
    else c.close();
    killed++;
  }
  if (self) conn.closeAfterReply = true;
  if (argv.length === 3) return killed === 0 ? err('ERR No such client') : 'OK';
  return killed;
}

// ---- SHUTDOWN ---------------------------------------------------------------------------------

/**
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. NOW has nothing to skip (no replicas to wait for);
 * FORCE makes a failed final save non-fatal. The engine saves, and the server exits only when it
 * succeeded; otherwise the client gets Redis's error and the server keeps running.
 */
function shutdownCommand(conn: Connection, argv: Buffer[]): Result {
  let save = false, nosave = false, abort = false, now = false, force = false;
  for (let i = 1; i < argv.length; i++) {
    const o = lower(argv[i]!);
    if (o === 'nosave') nosave = true;
    else if (o === 'save') save = true;
    else if (o === 'now') now = true;
    else if (o === 'force') force = true;
    else if (o === 'abort') abort = true;
    else return syntax();
  }
  if ((save && nosave) || (abort && argv.length > 2)) return syntax();
  if (abort) return err('ERR No shutdown in progress.');
  conn.server.shutdownFromClient(conn, { save, nosave, now, force });
  return NO_REPLY;
}
