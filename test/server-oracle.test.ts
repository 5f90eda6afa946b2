/**
 * Differential tests: the same raw bytes go to a real redis-server 7.0 and to the forkless front
 * end (over the in-test Map engine); the replies, and whether the connection was closed, must be
 * the same. Covers what the front end owns: protocol errors, inline parsing, HELLO, AUTH, CLIENT,
 * QUIT, RESET, CLIENT REPLY.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MapPort, RawClient, encodeCommand as cmd, freePort, redisTool, sleep, startServer } from './server-helpers.js';
import type { RespServer } from '../engine/server/server.js';

const redisServer = redisTool('redis-server');
/** Registered as skipped (uvu counts them) when redis-server is missing. */
const withRedis = redisServer === null ? test.skip : test;

interface Target { port: number; stop(): Promise<void> }

async function startRedis(extra: string[] = []): Promise<Target> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'forkless-oracle-'));
  const child: ChildProcess = spawn(redisServer!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir, '--logfile', '', ...extra], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      const c = await RawClient.connect(port);
      c.close();
      break;
    } catch {
      await sleep(20);
    }
  }
  return {
    port,
    stop: async () => {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startForkless(settings: Record<string, string> = {}): Promise<Target & { server: RespServer }> {
  const engine = new MapPort();
  for (const [k, v] of Object.entries(settings)) engine.settings.set(k, v);
  const { server, port } = await startServer(engine);
  return { port, server, stop: () => server.close() };
}

/** Sends `input`, waits a moment, returns what came back and whether the server closed. */
async function exchange(port: number, input: Buffer | string, quietMs = 60): Promise<{ out: string; closed: boolean }> {
  const c = await RawClient.connect(port);
  c.write(input);
  // Done when closed, or when nothing more arrived for quietMs.
  for (let seen = -1; seen !== c.length && !c.closed;) {
    seen = c.length;
    await c.until((_d, closed) => closed || c.length !== seen, quietMs);
  }
  const out = c.data.toString('latin1');
  const closed = c.closed;
  c.close();
  return { out, closed };
}

/** Per-connection values that legitimately differ (ids, ports, fds, ages, memory). */
function normalize(s: string): string {
  return s
    .replace(/id=\d+/g, 'id=N').replace(/\$2\r\nid\r\n:\d+\r\n/g, '$2\r\nid\r\n:N\r\n')
    .replace(/addr=[^ ]+/g, 'addr=A').replace(/laddr=[^ ]+/g, 'laddr=A').replace(/fd=\d+/g, 'fd=N')
    .replace(/(age|idle|qbuf|qbuf-free|argv-mem|multi-mem|rbs|rbp|obl|oll|omem|tot-mem)=\d+/g, '$1=N')
    .replace(/\$\d+\r\nid=/g, '$L\r\nid=').replace(/=\d+\r\ntxt:/g, '=L\r\ntxt:');
}

const CASES: Array<[string, Buffer | string]> = [
  ['inline ping', 'PING\r\n'],
  ['inline quoting', 'ECHO "a\\x41\\n" \r\nECHO \'b c\'\r\n'],
  ['blank lines and *0', '\r\n\n*0\r\n*-1\r\nPING\r\n'],
  ['bad multibulk length', '*x\r\n'],
  ['multibulk too long', '*3000000000\r\n'],
  ['expected $', '*1\r\n:1\r\n'],
  ['expected $ got CR', '*1\r\n\r\n\r\n'],
  ['bad bulk length', '*1\r\n$abc\r\n'],
  ['negative bulk length', '*1\r\n$-1\r\n'],
  ['bulk over proto-max-bulk-len', '*1\r\n$536870913\r\n'],
  ['unbalanced quotes', 'ECHO "abc\r\n'],
  ['closing quote glued', "ECHO 'abc'x\r\n"],
  ['too big inline', 'x'.repeat(70 * 1024)],
  ['too big mbulk count', '*' + '9'.repeat(70 * 1024)],
  ['too big bulk count', '*1\r\n$' + '9'.repeat(70 * 1024)],
  ['security POST', 'POST / HTTP/1.1\r\n'],
  ['security Host', 'PING\r\nHost: example.com\r\n'],
  ['hello 3', cmd('HELLO', '3')],
  ['hello 2 setname', Buffer.concat([cmd('HELLO', '2', 'SETNAME', 'abc'), cmd('CLIENT', 'GETNAME')])],
  ['hello bad version', cmd('HELLO', 'x')],
  ['hello 1', cmd('HELLO', '1')],
  ['hello bad option', cmd('HELLO', '3', 'FOO')],
  ['hello auth nopass', cmd('HELLO', '3', 'AUTH', 'default', 'x')],
  ['hello auth bad user', cmd('HELLO', '3', 'AUTH', 'bob', 'x')],
  ['hello bad setname', cmd('HELLO', '3', 'SETNAME', 'a b')],
  ['resp3 nulls', Buffer.concat([cmd('HELLO', '3'), cmd('GET', 'nokey'), cmd('CLIENT', 'GETNAME')])],
  ['auth no password', cmd('AUTH', 'x')],
  ['auth arity', cmd('AUTH')],
  ['auth syntax', cmd('AUTH', 'a', 'b', 'c')],
  ['auth default user', cmd('AUTH', 'default', 'whatever')],
  ['quit', Buffer.concat([cmd('PING'), cmd('QUIT'), cmd('PING')])],
  ['quit with args', cmd('QUIT', 'now')],
  ['reset', Buffer.concat([cmd('HELLO', '3'), cmd('RESET'), cmd('GET', 'nokey')])],
  ['reset arity', cmd('RESET', 'x')],
  ['client arity', cmd('CLIENT')],
  ['client unknown sub', cmd('CLIENT', 'FROB')],
  ['client setname arity', cmd('CLIENT', 'SETNAME')],
  ['client setname bad', cmd('CLIENT', 'SETNAME', 'a\nb')],
  ['client setname/getname', Buffer.concat([cmd('CLIENT', 'SETNAME', 'x-1'), cmd('CLIENT', 'GETNAME'), cmd('CLIENT', 'SETNAME', ''), cmd('CLIENT', 'GETNAME')])],
  ['client list type bad', cmd('CLIENT', 'LIST', 'TYPE', 'nope')],
  ['client list syntax', cmd('CLIENT', 'LIST', 'FOO')],
  ['client list id bad', cmd('CLIENT', 'LIST', 'ID', 'x')],
  ['client list id missing', cmd('CLIENT', 'LIST', 'ID', '999999')],
  ['client list type replica', cmd('CLIENT', 'LIST', 'TYPE', 'replica')],
  ['client info', Buffer.concat([cmd('CLIENT', 'SETNAME', 'me'), cmd('CLIENT', 'INFO')])],
  ['client info resp3', Buffer.concat([cmd('HELLO', '3'), cmd('CLIENT', 'INFO')])],
  ['client kill old form', cmd('CLIENT', 'KILL', '1.2.3.4:5')],
  ['client kill id 0', cmd('CLIENT', 'KILL', 'ID', '0')],
  ['client kill id x', cmd('CLIENT', 'KILL', 'ID', 'x')],
  ['client kill missing value', cmd('CLIENT', 'KILL', 'ID', '5', 'TYPE')],
  ['client kill type bad', cmd('CLIENT', 'KILL', 'TYPE', 'x')],
  ['client kill user bad', cmd('CLIENT', 'KILL', 'USER', 'bob')],
  ['client kill skipme bad', cmd('CLIENT', 'KILL', 'SKIPME', 'maybe')],
  ['client kill nobody', cmd('CLIENT', 'KILL', 'ID', '999999')],
  ['client kill self', cmd('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'no')],
  ['client reply', Buffer.concat([cmd('CLIENT', 'REPLY', 'SKIP'), cmd('PING', 'a'), cmd('PING', 'b'), cmd('CLIENT', 'REPLY', 'OFF'),
    cmd('PING', 'c'), cmd('CLIENT', 'REPLY', 'SKIP'), cmd('CLIENT', 'REPLY', 'ON'), cmd('PING', 'd')])],
  ['client reply off then quit', Buffer.concat([cmd('CLIENT', 'REPLY', 'OFF'), cmd('QUIT'), cmd('PING')])],
  ['client reply skip then quit', Buffer.concat([cmd('CLIENT', 'REPLY', 'SKIP'), cmd('QUIT'), cmd('PING')])],
  ['client reply bad', cmd('CLIENT', 'REPLY', 'MAYBE')],
  ['client reply off then protocol error', Buffer.concat([cmd('CLIENT', 'REPLY', 'OFF'), Buffer.from('*x\r\n')])],
  ['client help', cmd('CLIENT', 'HELP')],
  ['client getredir / trackinginfo', Buffer.concat([cmd('CLIENT', 'GETREDIR'), cmd('CLIENT', 'TRACKINGINFO')])],
  ['client caching', cmd('CLIENT', 'CACHING', 'YES')],
  ['client no-evict', Buffer.concat([cmd('CLIENT', 'NO-EVICT', 'ON'), cmd('CLIENT', 'NO-EVICT', 'x')])],
  ['client pause errors', Buffer.concat([cmd('CLIENT', 'PAUSE', 'x'), cmd('CLIENT', 'PAUSE', '-1'), cmd('CLIENT', 'PAUSE', '10', 'FOO')])],
  ['client unblock', Buffer.concat([cmd('CLIENT', 'UNBLOCK', '12345'), cmd('CLIENT', 'UNBLOCK', 'x'), cmd('CLIENT', 'UNBLOCK', '1', 'FOO')])],
];

const PASSWORD_CASES: Array<[string, Buffer | string]> = [
  ['noauth', cmd('GET', 'k')],
  ['unknown command before auth', cmd('FROBNICATE', 'x')],
  ['client before auth', cmd('CLIENT', 'ID')],
  ['client unknown sub before auth', cmd('CLIENT', 'FROB')],
  ['wrong password', cmd('AUTH', 'nope')],
  ['wrong user', cmd('AUTH', 'bob', 'pw')],
  ['hello needs auth', cmd('HELLO', '3')],
  ['hello auth wrong', cmd('HELLO', '3', 'AUTH', 'default', 'nope')],
  ['hello auth ok', Buffer.concat([cmd('HELLO', '2', 'AUTH', 'default', 'pw'), cmd('PING')])],
  ['auth then ping', Buffer.concat([cmd('AUTH', 'pw'), cmd('PING')])],
  ['auth two-arg form', Buffer.concat([cmd('AUTH', 'default', 'pw'), cmd('PING')])],
  ['reset deauthenticates', Buffer.concat([cmd('AUTH', 'pw'), cmd('RESET'), cmd('PING')])],
  ['unauthenticated multibulk length', cmd('DEL', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')],
  ['unauthenticated bulk length', cmd('AUTH', 'x'.repeat(16385))],
  ['quit before auth', cmd('QUIT')],
];

withRedis('replies and closing match redis-server 7.0 byte for byte', async () => {
  const redis = await startRedis();
  const ours = await startForkless();
  try {
    for (const [name, input] of CASES) {
      const a = await exchange(redis.port, input);
      const b = await exchange(ours.port, input);
      assert.is(normalize(b.out), normalize(a.out), `${name}: reply`);
      assert.is(b.closed, a.closed, `${name}: closed`);
    }
  } finally {
    await redis.stop();
    await ours.stop();
  }
});

withRedis('with requirepass: replies match redis-server 7.0', async () => {
  const redis = await startRedis(['--requirepass', 'pw']);
  const ours = await startForkless({ requirepass: 'pw' });
  try {
    for (const [name, input] of PASSWORD_CASES) {
      const a = await exchange(redis.port, input);
      const b = await exchange(ours.port, input);
      assert.is(normalize(b.out), normalize(a.out), `${name}: reply`);
      assert.is(b.closed, a.closed, `${name}: closed`);
    }
  } finally {
    await redis.stop();
    await ours.stop();
  }
});

test.run();
