/**
 * Real clients against the front end (in-test Map engine): redis-cli (RESP2 and -3, pipe mode),
 * redis-benchmark, ioredis and node-redis v4, unchanged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { makeEngine, redisTool, startServer, type EngineKind } from './server-helpers.js';
import type { RespServer } from '../engine/server/server.js';
import type { ServerEnginePort } from '../engine/server/engine-port.js';

const cli = redisTool('redis-cli');
const bench = redisTool('redis-benchmark');
const withCli = cli === null ? test.skip : test;
const withBench = bench === null ? test.skip : test;

function run(bin: string, args: string[], input?: string | Buffer, timeoutMs = 60000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.match(e instanceof Error ? e.message : String(e), re);
    return;
  }
  assert.unreachable('expected a rejection');
}

async function withServer(kind: EngineKind, settings: Record<string, string>, fn: (port: number, engine: ServerEnginePort, server: RespServer) => Promise<void>): Promise<void> {
  const engine = await makeEngine(kind, settings);
  const { server, port } = await startServer(engine.port);
  try {
    await fn(port, engine.port, server);
  } finally {
    await server.close();
    await engine.close();
  }
}

/** Whether the engine implements a command (MULTI is not in every engine build yet). */
function supports(engine: ServerEnginePort, name: string): boolean {
  const client = engine.newClientState();
  const r = engine.execute(client, [Buffer.from(name)]);
  const known = !(r instanceof Error && /unknown command/.test(r.message));
  if (known && name.toLowerCase() === 'multi') engine.execute(client, [Buffer.from('DISCARD')]);
  engine.clientClosed?.(client);
  return known;
}

for (const kind of ['map', 'real'] as const) {


// ---- redis-cli ------------------------------------------------------------------------------

withCli(`[${kind}] redis-cli: commands, binary values, errors, RESP3`, async () => {
  if (cli === null) return;
  await withServer(kind, {}, async (port) => {
    const c = (...args: string[]) => run(cli, ['-p', String(port), ...args]);
    assert.is((await c('PING')).stdout, 'PONG\n');
    assert.is((await c('SET', 'greeting', 'hello world')).stdout, 'OK\n');
    assert.is((await c('GET', 'greeting')).stdout, 'hello world\n');
    assert.is((await c('INCR', 'n')).stdout, '1\n');
    assert.is((await c('GET', 'nokey')).stdout, '\n');
    assert.is((await c('--no-raw', 'GET', 'nokey')).stdout, '(nil)\n');
    assert.match((await c('FROB')).stdout, /ERR unknown command 'FROB'/);
    // -x reads the last argument from stdin (binary, with a trailing newline kept).
    assert.is((await run(cli, ['-p', String(port), '-x', 'SET', 'bin'], Buffer.from([0, 1, 2, 255]))).stdout, 'OK\n');
    assert.is((await c('STRLEN', 'bin')).stdout, '4\n');
    const hello = await c('-3', 'HELLO', '3');
    assert.match(hello.stdout, /^server redis\nversion 7\.0\.15\nproto 3\nid \d+\nmode standalone\nrole master\nmodules \n$/);
    assert.is((await c('-3', '--no-raw', 'GET', 'nokey')).stdout, '(nil)\n');
    assert.match((await c('CLIENT', 'LIST')).stdout, /^id=\d+ addr=127\.0\.0\.1:\d+ .* cmd=client\|list user=default redir=-1 resp=2\n$/);
  });
});

withCli(`[${kind}] redis-cli: interactive-style stdin session and pipe mode`, async () => {
  if (cli === null) return;
  await withServer(kind, {}, async (port) => {
    // Commands on stdin, one per line (quoted arguments as the inline syntax).
    const session = await run(cli, ['-p', String(port)], 'SET "a key" "a value"\nGET "a key"\nPING\n');
    assert.is(session.stdout, 'OK\na value\nPONG\n');
    // --pipe: raw protocol with a final ECHO handshake.
    let proto = '';
    for (let i = 0; i < 5000; i++) {
      const k = `key:${i}`, v = `value:${i}`;
      proto += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
    }
    const piped = await run(cli, ['-p', String(port), '--pipe'], proto);
    assert.match(piped.stdout, /errors: 0, replies: 5000/);
    assert.is((await run(cli, ['-p', String(port), 'GET', 'key:4999'])).stdout, 'value:4999\n');
  });
});

withCli(`[${kind}] redis-cli: AUTH via -a and --user/--pass, NOAUTH without`, async () => {
  if (cli === null) return;
  await withServer(kind, { requirepass: 'pw' }, async (port) => {
    assert.match((await run(cli, ['-p', String(port), 'GET', 'x'])).stdout, /NOAUTH Authentication required/);
    assert.is((await run(cli, ['-p', String(port), '-a', 'pw', '--no-auth-warning', 'PING'])).stdout, 'PONG\n');
    assert.is((await run(cli, ['-p', String(port), '--user', 'default', '--pass', 'pw', '--no-auth-warning', 'PING'])).stdout, 'PONG\n');
    const bad = await run(cli, ['-p', String(port), '-a', 'nope', '--no-auth-warning', 'PING']);
    assert.match(bad.stdout + bad.stderr, /WRONGPASS|NOAUTH/);
  });
});

// ---- redis-benchmark ------------------------------------------------------------------------

withBench(`[${kind}] redis-benchmark: SET/GET with and without pipelining`, async () => {
  if (bench === null) return;
  await withServer(kind, {}, async (port) => {
    for (const p of ['1', '16']) {
      const r = await run(bench, ['-p', String(port), '-t', 'set,get', '-n', '20000', '-c', '20', '-P', p, '-q']);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, /SET: [\d.]+ requests per second/);
      assert.match(r.stdout, /GET: [\d.]+ requests per second/);
    }
  });
});

// ---- ioredis --------------------------------------------------------------------------------

test(`[${kind}] ioredis: commands, pipeline, big values, errors, connection name, password`, async () => {
  await withServer(kind, { requirepass: 'pw' }, async (port, _engine, server) => {
    const r = new Redis({ port, host: '127.0.0.1', password: 'pw', connectionName: 'io-test', lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await r.connect();
      assert.is(await r.ping(), 'PONG');
      assert.is(await r.set('k', 'v'), 'OK');
      assert.is(await r.get('k'), 'v');
      assert.is(await r.get('none'), null);
      assert.is(await r.incr('ctr'), 1);
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      await r.set('big', big);
      const back = await r.getBuffer('big');
      assert.ok(back !== null && back.equals(big));
      const pipe = r.pipeline();
      for (let i = 0; i < 1000; i++) pipe.incr('pipe');
      const results = await pipe.exec();
      assert.is(results!.length, 1000);
      assert.equal(results![999], [null, 1000]);
      await rejects(() => r.call('FROB'), /unknown command 'FROB'/);
      assert.is(await r.client('GETNAME'), 'io-test');
      assert.ok(server.connections().some((c) => c.client.name === 'io-test'));
    } finally {
      r.disconnect();
    }
  });
});

// ---- node-redis v4 ---------------------------------------------------------------------------

test(`[${kind}] node-redis v4: commands, pipelining, MULTI, errors, AUTH, client name`, async () => {
  await withServer(kind, { requirepass: 'pw' }, async (port, engine) => {
    const client = createClient({ url: `redis://default:pw@127.0.0.1:${port}`, name: 'nr-test' });
    client.on('error', () => { /* reported through the awaited calls */ });
    await client.connect();
    try {
      assert.is(await client.ping(), 'PONG');
      assert.is(await client.set('k', 'v'), 'OK');
      assert.is(await client.get('k'), 'v');
      assert.is(await client.get('none'), null);
      const many = await Promise.all(Array.from({ length: 500 }, () => client.incr('n')));
      assert.is(many[499], 500);
      if (supports(engine, 'MULTI')) {
        const tx = await client.multi().set('a', '1').get('a').exec();
        assert.equal(tx, ['OK', '1']);
      }
      await rejects(() => client.sendCommand(['FROB']), /unknown command/);
      assert.is(await client.clientGetName(), 'nr-test');
      const big = 'x'.repeat(2 * 1024 * 1024);
      await client.set('big', big);
      assert.is((await client.get('big'))?.length, big.length);
    } finally {
      await client.quit();
    }
  });
});

}

// ---- Transactions through the client libraries (real engine) ----------------------------------------

test('[real] node-redis: MULTI/EXEC, WATCH conflict (WatchError), errors inside EXEC; ioredis: multi, watch', async () => {
  await withServer('real', {}, async (port) => {
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    const other = createClient({ url: `redis://127.0.0.1:${port}` });
    client.on('error', () => { /* surfaced through awaits */ });
    other.on('error', () => { /* surfaced through awaits */ });
    await client.connect();
    await other.connect();
    try {
      assert.equal(await client.multi().set('a', '1').incr('a').get('a').exec(), ['OK', 2, '2']);
      await client.executeIsolated(async (iso) => {
        await iso.watch('w');
        await other.set('w', 'theirs');
        await rejects(() => iso.multi().set('w', 'mine').exec(), /One \(or more\) of the watched keys has been changed/);
      });
      assert.is(await client.get('w'), 'theirs');
      await client.executeIsolated(async (iso) => {
        await iso.watch('w2');
        assert.equal(await iso.multi().set('w2', 'mine').exec(), ['OK']);
      });
      await client.set('s', 'abc');
      // A failing command inside EXEC does not stop the others (node-redis reports it as MultiErrorReply).
      await rejects(() => client.multi().incr('s').set('after', '1').exec(), /1 commands failed/);
      assert.is(await client.get('after'), '1');
      await rejects(() => client.multi().addCommand(['NOSUCHCMD']).set('x', '1').exec(), /EXECABORT|unknown command/);
    } finally {
      await client.quit();
      await other.quit();
    }
    const io = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    const io2 = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    await io.connect();
    await io2.connect();
    try {
      assert.equal(await io.multi().set('i', '1').incr('i').exec(), [[null, 'OK'], [null, 2]]);
      await io.watch('iw');
      await io2.set('iw', 'x');
      assert.is(await io.multi().set('iw', 'y').exec(), null);
      await io.watch('iw');
      assert.equal(await io.multi().get('iw').exec(), [[null, 'x']]);
    } finally {
      io.disconnect();
      io2.disconnect();
    }
  });
});

test.run();
