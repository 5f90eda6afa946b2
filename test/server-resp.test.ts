/**
 * The RESP front end over raw sockets, against the in-test Map engine: pipelining, inline
 * commands, RESP3, protocol errors (reply, then the connection closes), large values across
 * chunks, shared-memory reply safety, AUTH, CLIENT, QUIT/RESET, limits and backpressure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { MapPort, RawClient, startServer, sleep } from './server-helpers.js';
import type { RespServer } from '../engine/server/server.js';
import { ReplyBuffer, formatDouble } from '../engine/server/resp-writer.js';
import { DoubleReply, MapReply, NilArray, SetReply, VerbatimReply } from '../engine/commands/types.js';
import { ReplyError } from '../engine/errors.js';

function cmd(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

async function withServer(fn: (s: { server: RespServer; port: number; engine: MapPort }) => Promise<void>, engine = new MapPort()): Promise<void> {
  const { server, port } = await startServer(engine);
  try {
    await fn({ server, port, engine });
  } finally {
    await server.close();
  }
}

// ---- Writer ---------------------------------------------------------------------------------

function enc(r: Parameters<ReplyBuffer['reply']>[0], proto: 2 | 3): string {
  const b = new ReplyBuffer(8);
  b.reply(r, proto);
  return b.take()!.toString('latin1');
}

test('writer: RESP2 and RESP3 encodings, Redis downgrades', () => {
  assert.is(enc('OK', 2), '+OK\r\n');
  assert.is(enc(Buffer.from('hi'), 2), '$2\r\nhi\r\n');
  assert.is(enc(null, 2), '$-1\r\n');
  assert.is(enc(null, 3), '_\r\n');
  assert.is(enc(NilArray.instance, 2), '*-1\r\n');
  assert.is(enc(NilArray.instance, 3), '_\r\n');
  assert.is(enc(-42, 2), ':-42\r\n');
  assert.is(enc(123456789012, 2), ':123456789012\r\n');
  assert.is(enc(9223372036854775807n, 2), ':9223372036854775807\r\n');
  assert.is(enc([Buffer.from('a'), 1, null], 2), '*3\r\n$1\r\na\r\n:1\r\n$-1\r\n');
  assert.is(enc(new ReplyError('ERR bad\r\nthing'), 2), '-ERR bad  thing\r\n');
  assert.is(enc(new DoubleReply(1.5), 2), '$3\r\n1.5\r\n');
  assert.is(enc(new DoubleReply(1.5), 3), ',1.5\r\n');
  assert.is(enc(new DoubleReply(Infinity), 2), '$3\r\ninf\r\n');
  assert.is(enc(new DoubleReply(-Infinity), 3), ',-inf\r\n');
  const m = new MapReply([[Buffer.from('k'), 1]]);
  assert.is(enc(m, 2), '*2\r\n$1\r\nk\r\n:1\r\n');
  assert.is(enc(m, 3), '%1\r\n$1\r\nk\r\n:1\r\n');
  assert.is(enc(new SetReply([Buffer.from('x')]), 3), '~1\r\n$1\r\nx\r\n');
  assert.is(enc(new SetReply([Buffer.from('x')]), 2), '*1\r\n$1\r\nx\r\n');
  assert.is(enc(new VerbatimReply('a\nb'), 3), '=7\r\ntxt:a\nb\r\n');
  assert.is(enc(new VerbatimReply('a\nb'), 2), '$3\r\na\nb\r\n');
  // Growth across a small initial buffer.
  const big = Buffer.alloc(100000, 0x78);
  assert.is(enc(big, 2), `$100000\r\n${'x'.repeat(100000)}\r\n`);
});

test('writer: %.17g doubles', () => {
  assert.is(formatDouble(0.1), '0.10000000000000001');
  assert.is(formatDouble(1), '1');
  assert.is(formatDouble(-0), '-0');
  assert.is(formatDouble(1e20), '1e+20');
  assert.is(formatDouble(1.5e-7), '1.4999999999999999e-07');
  assert.is(formatDouble(0.0001), '0.0001');
  assert.is(formatDouble(123456789.125), '123456789.125');
  assert.is(formatDouble(3.14159), '3.1415899999999999');
  assert.is(formatDouble(1e16), '10000000000000000');
  assert.is(formatDouble(1e17), '1e+17');
  assert.is(formatDouble(NaN), 'nan');
});

test('writer: taken bytes are never written again', () => {
  const b = new ReplyBuffer(16);
  b.reply(Buffer.from('first'), 2);
  const first = b.take()!;
  b.reply(Buffer.from('second-reply-longer-than-the-buffer'), 2);
  assert.is(first.toString(), '$5\r\nfirst\r\n');
  b.take();
  b.recycle();
  b.reply('OK', 2);
  assert.is(b.take()!.toString(), '+OK\r\n');
});

// ---- Basic traffic ---------------------------------------------------------------------------

test('PING, SET/GET over RESP and inline', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write('PING\r\n');
    assert.is(await c.bytes(7), '+PONG\r\n');
    c.data = Buffer.alloc(0);
    c.write(cmd('SET', 'k', 'v'));
    c.write('GET k\n');
    c.write('set "a b" \'c d\'\r\nget "a b"\r\n');
    assert.is(await c.replies(4), '+OK\r\n$1\r\nv\r\n+OK\r\n$3\r\nc d\r\n');
    c.close();
  });
});

test('pipelining: 10,000 commands in one write, replies in order, coalesced', async () => {
  await withServer(async ({ port, engine }) => {
    const c = await RawClient.connect(port);
    const parts: Buffer[] = [];
    let expected = '';
    for (let i = 0; i < 10000; i++) {
      parts.push(cmd('INCR', 'counter'));
      expected += `:${i + 1}\r\n`;
    }
    c.write(Buffer.concat(parts));
    const got = await c.bytes(expected.length, 10000);
    assert.is(got, expected);
    assert.is(engine.executed, 10000);
    c.close();
  });
});

test('large values split across chunks round trip', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    const value = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    const payload = cmd('SET', 'big', value);
    // Dribble it in pieces to force many partial frames.
    for (let off = 0; off < payload.length; off += 300000) {
      c.write(payload.subarray(off, off + 300000));
      await sleep(1);
    }
    assert.is(await c.bytes(5), '+OK\r\n');
    c.data = Buffer.alloc(0);
    c.write(cmd('GET', 'big'));
    const header = `$${value.length}\r\n`;
    await c.bytes(header.length + value.length + 2, 10000);
    assert.is(c.data.subarray(0, header.length).toString(), header);
    assert.ok(c.data.subarray(header.length, header.length + value.length).equals(value));
    c.close();
  });
});

test('replies from shared memory are copied before the next command runs', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write(cmd('SET', 'k', 'AAAA'));
    await c.bytes(5);
    c.data = Buffer.alloc(0);
    // GET returns a view into the SAB; the SET right after overwrites those bytes in place.
    const parts: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const v = String.fromCharCode(66 + (i % 20)).repeat(4);
      parts.push(cmd('GET', 'k'), cmd('SET', 'k', v));
    }
    c.write(Buffer.concat(parts));
    await c.bytes(200 * (10 + 5));
    const text = c.data.toString();
    let prev = 'AAAA';
    let pos = 0;
    for (let i = 0; i < 200; i++) {
      const expect = `$4\r\n${prev}\r\n+OK\r\n`;
      assert.is(text.slice(pos, pos + expect.length), expect, `reply ${i}`);
      pos += expect.length;
      prev = String.fromCharCode(66 + (i % 20)).repeat(4);
    }
    c.close();
  });
});

// ---- Protocol errors ------------------------------------------------------------------------

const PROTOCOL_CASES: Array<[string, string]> = [
  ['*x\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['*1\r\n:1\r\n', "-ERR Protocol error: expected '$', got ':'\r\n"],
  ['*1\r\n$abc\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['*1\r\n$600000000\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['SET "a\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ['x'.repeat(70000), '-ERR Protocol error: too big inline request\r\n'],
  ['*' + '1'.repeat(70000), '-ERR Protocol error: too big mbulk count string\r\n'],
];

test('protocol errors: Redis text, earlier replies kept, connection closed', async () => {
  await withServer(async ({ port }) => {
    for (const [input, reply] of PROTOCOL_CASES) {
      const c = await RawClient.connect(port);
      c.write('PING\r\n' + input);
      const got = await c.waitClosed();
      assert.is(got, '+PONG\r\n' + reply, JSON.stringify(input.slice(0, 30)));
      assert.ok(c.closed);
    }
  });
});

test('POST / Host: lines close the connection without a reply', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write('POST / HTTP/1.1\r\nHost: example\r\n\r\n');
    assert.is(await c.waitClosed(), '');
  });
});

test('query buffer limit closes the connection without a reply', async () => {
  const engine = new MapPort();
  engine.settings.set('client-query-buffer-limit', '1mb');
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n');
    c.write(Buffer.alloc(1500000, 0x61));
    assert.is(await c.waitClosed(), '');
  }, engine);
});

// ---- RESP3 / HELLO ----------------------------------------------------------------------------

test('HELLO 3 switches to RESP3; HELLO errors', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write(cmd('HELLO', '3'));
    const hello = await c.contains('modules');
    await c.contains('*0\r\n');
    assert.match(hello, /^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$6\r\n7\.0\.15\r\n\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n$/);
    c.data = Buffer.alloc(0);
    c.write(cmd('GET', 'missing'));
    assert.is(await c.bytes(3), '_\r\n');
    c.data = Buffer.alloc(0);
    c.write(cmd('HELLO', '4'));
    assert.is(await c.contains('\r\n'), '-NOPROTO unsupported protocol version\r\n');
    c.data = Buffer.alloc(0);
    c.write(cmd('HELLO', 'x'));
    assert.is(await c.contains('\r\n'), '-ERR Protocol version is not an integer or out of range\r\n');
    c.data = Buffer.alloc(0);
    c.write(cmd('HELLO', '2', 'FOO'));
    assert.is(await c.contains('\r\n'), "-ERR Syntax error in HELLO option 'FOO'\r\n");
    c.data = Buffer.alloc(0);
    c.write(cmd('HELLO', '2', 'SETNAME', 'conn-1'));
    const h2 = await c.contains('*0\r\n');
    assert.ok(h2.startsWith('*14\r\n'));
    c.data = Buffer.alloc(0);
    c.write(cmd('CLIENT', 'GETNAME'));
    assert.is(await c.contains('conn-1\r\n'), '$6\r\nconn-1\r\n');
    c.close();
  });
});

// ---- AUTH -----------------------------------------------------------------------------------

test('AUTH with requirepass: NOAUTH, WRONGPASS, success, HELLO AUTH', async () => {
  const engine = new MapPort();
  engine.settings.set('requirepass', 's3cret');
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    const ask = (...a: string[]): Promise<string> => c.ask(...a);
    assert.is(await ask('GET', 'k'), '-NOAUTH Authentication required.\r\n');
    assert.match(await ask('NOSUCH'), /^-ERR unknown command 'NOSUCH'/);
    assert.is(await ask('CLIENT', 'ID'), '-NOAUTH Authentication required.\r\n');
    assert.is(await ask('AUTH', 'nope'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.is(await ask('AUTH', 'bob', 's3cret'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.match(await ask('HELLO', '3'), /^-NOAUTH HELLO must be called with the client already authenticated/);
    assert.is(await ask('AUTH', 'a', 'b', 'c'), '-ERR syntax error\r\n');
    assert.is(await ask('AUTH', 's3cret'), '+OK\r\n');
    assert.is(await ask('PING'), '+PONG\r\n');
    c.close();

    const d = await RawClient.connect(port);
    d.write(cmd('HELLO', '3', 'AUTH', 'default', 's3cret'));
    await d.contains('modules');
    d.data = Buffer.alloc(0);
    d.write(cmd('PING'));
    assert.is(await d.bytes(7), '+PONG\r\n');
    d.close();

    // Before AUTH, more than 10 arguments is a protocol error.
    const e = await RawClient.connect(port);
    e.write(cmd('DEL', ...Array.from({ length: 11 }, (_, i) => `k${i}`)));
    assert.is(await e.waitClosed(), '-ERR Protocol error: unauthenticated multibulk length\r\n');
  }, engine);
});

test('AUTH without a password configured', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write(cmd('AUTH', 'x'));
    assert.match(await c.contains('\r\n'), /^-ERR AUTH <password> called without any password configured/);
    c.data = Buffer.alloc(0);
    c.write(cmd('AUTH', 'default', 'anything'));
    assert.is(await c.contains('\r\n'), '+OK\r\n');
    c.close();
  });
});

// ---- QUIT / RESET / CLIENT ------------------------------------------------------------------

test('QUIT replies OK and closes; later pipelined commands are not run', async () => {
  await withServer(async ({ port, engine }) => {
    const c = await RawClient.connect(port);
    c.write(Buffer.concat([cmd('SET', 'a', '1'), cmd('QUIT'), cmd('SET', 'b', '2')]));
    assert.is(await c.waitClosed(), '+OK\r\n+OK\r\n');
    assert.ok(engine.data.has('a'));
    assert.not.ok(engine.data.has('b'));
  });
});

test('RESET restores a fresh connection state', async () => {
  const engine = new MapPort();
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write(Buffer.concat([cmd('HELLO', '3', 'SETNAME', 'x'), cmd('SELECT', '3')]));
    await c.contains('+OK\r\n');
    c.data = Buffer.alloc(0);
    c.write(Buffer.concat([cmd('RESET'), cmd('CLIENT', 'INFO')]));
    const out = await c.contains('resp=2');
    assert.ok(out.startsWith('+RESET\r\n'));
    assert.match(out, / name= /);
    assert.match(out, / db=0 /);
    c.close();
  }, engine);
});

test('CLIENT ID / SETNAME / GETNAME / LIST / INFO / KILL / REPLY', async () => {
  await withServer(async ({ port, server }) => {
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    const ask = (c: RawClient, ...args: string[]): Promise<string> => c.ask(...args);
    const idA = Number((await ask(a, 'CLIENT', 'ID')).slice(1));
    const idB = Number((await ask(b, 'CLIENT', 'ID')).slice(1));
    assert.ok(idB > idA);
    assert.is(await ask(a, 'CLIENT', 'GETNAME'), '$-1\r\n');
    assert.is(await ask(a, 'CLIENT', 'SETNAME', 'alpha'), '+OK\r\n');
    assert.is(await ask(a, 'CLIENT', 'SETNAME', 'bad name'), '-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
    assert.is(await ask(a, 'CLIENT', 'GETNAME'), '$5\r\nalpha\r\n');
    const list = await ask(a, 'CLIENT', 'LIST');
    assert.match(list, new RegExp(`id=${idA} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${port} fd=\\d+ name=alpha age=\\d+ idle=\\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=\\d+ qbuf-free=\\d+ argv-mem=\\d+ multi-mem=\\d+ rbs=\\d+ rbp=\\d+ obl=\\d+ oll=\\d+ omem=\\d+ tot-mem=\\d+ events=r cmd=client\\|list user=default redir=-1 resp=2\\n`));
    assert.match(list, new RegExp(`id=${idB} `));
    const byId = await ask(a, 'CLIENT', 'LIST', 'ID', String(idB));
    assert.not.match(byId, new RegExp(`id=${idA} `));
    assert.is(await ask(a, 'CLIENT', 'LIST', 'TYPE', 'foo'), "-ERR Unknown client type 'foo'\r\n");
    assert.is(await ask(a, 'CLIENT', 'LIST', 'ID', 'x'), '-ERR Invalid client ID\r\n');
    assert.is(await ask(a, 'CLIENT', 'FOO'), "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    assert.is(await ask(a, 'CLIENT', 'SETNAME'), "-ERR wrong number of arguments for 'client|setname' command\r\n");
    assert.is(await ask(a, 'CLIENT'), "-ERR wrong number of arguments for 'client' command\r\n");
    assert.is(await ask(a, 'CLIENT', 'KILL', 'ID', '0'), '-ERR client-id should be greater than 0\r\n');
    assert.is(await ask(a, 'CLIENT', 'KILL', '1.2.3.4:5'), '-ERR No such client\r\n');
    assert.match(await ask(a, 'CLIENT', 'INFO'), new RegExp(`^\\$\\d+\\r\\nid=${idA} .* cmd=client\\|info user=default redir=-1 resp=2\\n\\r\\n$`));
    // CLIENT REPLY OFF / SKIP / ON.
    a.data = Buffer.alloc(0);
    a.write(Buffer.concat([cmd('CLIENT', 'REPLY', 'SKIP'), cmd('PING', 'one'), cmd('PING', 'two'),
      cmd('CLIENT', 'REPLY', 'OFF'), cmd('PING', 'three'), cmd('CLIENT', 'REPLY', 'ON'), cmd('PING', 'four')]));
    assert.is(await a.contains('four\r\n'), '$3\r\ntwo\r\n+OK\r\n$4\r\nfour\r\n');
    // Kill b by id.
    assert.is(await ask(a, 'CLIENT', 'KILL', 'ID', String(idB)), ':1\r\n');
    await b.waitClosed();
    assert.ok(b.closed);
    assert.is(server.connections().length, 1);
    // Kill oneself with SKIPME no: the reply arrives, then the connection closes.
    a.data = Buffer.alloc(0);
    a.write(cmd('CLIENT', 'KILL', 'ID', String(idA), 'SKIPME', 'no'));
    assert.is(await a.waitClosed(), ':1\r\n');
  });
});

test('MULTI queues connection commands through the engine; EXEC runs them via the front end', async () => {
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    c.write(Buffer.concat([cmd('MULTI'), cmd('CLIENT', 'SETNAME', 'in-tx'), cmd('PING'), cmd('EXEC'), cmd('CLIENT', 'GETNAME')]));
    assert.is(await c.contains('in-tx\r\n'), '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+PONG\r\n$5\r\nin-tx\r\n');
    c.close();
  });
});

// ---- Admission and limits -------------------------------------------------------------------

test('maxclients: the extra connection gets the Redis error and is closed', async () => {
  const engine = new MapPort();
  engine.settings.set('maxclients', '2');
  await withServer(async ({ port }) => {
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    await sleep(20);
    const c = await RawClient.connect(port);
    assert.is(await c.waitClosed(), '-ERR max number of clients reached\r\n');
    a.write('PING\r\n');
    assert.is(await a.bytes(7), '+PONG\r\n');
    a.close();
    b.close();
  }, engine);
});

test('timeout closes idle clients', async () => {
  const engine = new MapPort();
  engine.settings.set('timeout', '1');
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    const t0 = Date.now();
    await c.waitClosed(5000);
    assert.ok(c.closed, 'idle client closed');
    assert.ok(Date.now() - t0 >= 1000);
  }, engine);
});

test('protected mode refuses non-loopback clients without a password', async () => {
  await withServer(async ({ port, server }) => {
    // A real loopback connection presented to accept() as if it came from 10.1.2.3.
    const accepted = new Promise<net.Socket>((resolve) => {
      const probe = net.createServer((s) => { probe.close(); resolve(s); });
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        const c = net.connect(p, '127.0.0.1');
        let got = '';
        c.on('data', (d) => { got += d.toString(); });
        c.on('close', () => { received = got; });
      });
    });
    let received = '';
    const sock = await accepted;
    Object.defineProperty(sock, 'remoteAddress', { value: '10.1.2.3' });
    (server as unknown as { accept(s: net.Socket): void }).accept(sock);
    await sleep(100);
    assert.match(received, /^-DENIED Redis is running in protected mode because protected mode is enabled/);
    void port;
  });
});

test('backpressure: a client that does not read stops being read; memory stays bounded', async () => {
  await withServer(async ({ port, server }) => {
    const c = await RawClient.connect(port);
    c.write(cmd('SET', 'v', Buffer.alloc(1024 * 1024, 0x76)));
    await c.bytes(5);
    c.socket.pause(); // stop reading replies
    const gets = Buffer.concat(Array.from({ length: 200 }, () => cmd('GET', 'v')));
    c.write(gets);
    await sleep(300);
    const conn = server.connections()[0]!;
    assert.ok(conn.suspended, 'connection suspended for output');
    assert.is(server.stats().pausedForOutput, 1);
    const queued = conn.socket.writableLength;
    assert.ok(queued < 16 * 1024 * 1024, `socket holds ${queued} bytes`);
    // Drain: every reply arrives, in full.
    c.data = Buffer.alloc(0);
    c.socket.resume();
    const one = 1024 * 1024 + 10 + 2;
    await c.bytes(one * 200, 20000);
    assert.is(c.data.length, one * 200);
    assert.not.ok(conn.suspended);
    c.close();
  });
});

test('CLIENT PAUSE holds every client until the timeout or CLIENT UNPAUSE', async () => {
  await withServer(async ({ port }) => {
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    assert.is(await a.ask('CLIENT', 'PAUSE', '300'), '+OK\r\n');
    const t0 = Date.now();
    assert.is(await b.ask('PING'), '+PONG\r\n');
    assert.ok(Date.now() - t0 >= 250, `answered after ${Date.now() - t0} ms`);
    assert.is(await a.ask('CLIENT', 'PAUSE', '10000'), '+OK\r\n');
    b.data = Buffer.alloc(0);
    b.write(cmd('PING'));
    await sleep(100);
    assert.is(b.length, 0);
    const c = await RawClient.connect(port);
    c.write(cmd('CLIENT', 'UNPAUSE'));
    await sleep(100);
    // UNPAUSE itself waits too: a pause holds everyone. Redis lets CLIENT UNPAUSE through only
    // because it is not flagged may-replicate in WRITE mode; in ALL mode it blocks as well.
    assert.is(c.length, 0);
    a.close(); b.close(); c.close();
  });
});

test('CLIENT PAUSE WRITE holds only writes; a held write runs first when the pause ends', async () => {
  await withServer(async ({ port, server }) => {
    const a = await RawClient.connect(port);
    const b = await RawClient.connect(port);
    assert.is(await a.ask('SET', 'k', '1'), '+OK\r\n');
    assert.is(await a.ask('CLIENT', 'PAUSE', '5000', 'WRITE'), '+OK\r\n');
    assert.is(await b.ask('GET', 'k'), '$1\r\n1\r\n');
    b.data = Buffer.alloc(0);
    b.write(Buffer.concat([cmd('SET', 'k', '2'), cmd('GET', 'k')]));
    await sleep(100);
    assert.is(b.length, 0, 'write held');
    assert.is(await a.ask('GET', 'k'), '$1\r\n1\r\n');
    assert.is(await a.ask('CLIENT', 'UNPAUSE'), '+OK\r\n');
    assert.is(await b.replies(2), '+OK\r\n$1\r\n2\r\n');
    void server;
    a.close(); b.close();
  });
});

test('garbage on many connections never takes the server down', async () => {
  await withServer(async ({ port, server }) => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = ['*', '$', '\r\n', '2', '-1', '99999999999', 'PING', 'GET', 'CLIENT', 'HELLO', '3', 'AUTH', '"', 'QUIT', 'RESET',
      '*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n', '*1\r\n$5\r\nHELLO\r\n', '*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n'];
    for (let i = 0; i < 40; i++) {
      const c = await RawClient.connect(port);
      let junk = '';
      for (let j = 0; j < 1 + rnd(40); j++) junk += rnd(5) === 0 ? String.fromCharCode(rnd(256)) : pieces[rnd(pieces.length)]!;
      c.write(Buffer.from(junk, 'latin1'));
      await c.until((_d, closed) => closed, 20);
      c.close();
    }
    await sleep(50);
    const ok = await RawClient.connect(port);
    assert.is(await ok.ask('PING'), '+PONG\r\n');
    ok.close();
    await sleep(50);
    assert.is(server.connections().length, 0);
  });
});

test('an engine that throws or returns a malformed reply costs one error reply, nothing more', async () => {
  const engine = new MapPort();
  const original = engine.execute.bind(engine);
  engine.execute = (client, argv) => {
    const name = argv[0]!.toString().toLowerCase();
    if (name === 'boom') throw new Error('kaboom');
    if (name === 'bad') return [Buffer.from('partial'), { not: 'a reply' } as unknown as Buffer];
    return original(client, argv);
  };
  await withServer(async ({ port }) => {
    const c = await RawClient.connect(port);
    assert.is(await c.ask('BOOM'), '-ERR kaboom\r\n');
    assert.match(await c.ask('BAD'), /^-ERR not a Reply/);
    assert.is(await c.ask('PING'), '+PONG\r\n');
    c.close();
  }, engine);
  assert.ok(engine.logs.some(([lvl, msg]) => lvl === 'warning' && msg.includes('kaboom')));
});

test('clientClosed hook and connection registry', async () => {
  await withServer(async ({ port, server, engine }) => {
    const c = await RawClient.connect(port);
    c.write('PING\r\n');
    await c.bytes(7);
    assert.is(server.connections().length, 1);
    const id = server.connections()[0]!.client.id;
    c.close();
    await sleep(50);
    assert.is(server.connections().length, 0);
    assert.ok(engine.closed.includes(id));
  });
});

test('SHUTDOWN calls the engine and closes the server', async () => {
  const engine = new MapPort();
  let exited = false;
  const { server, port } = await startServer(engine, { onShutdown: () => { exited = true; } });
  const c = await RawClient.connect(port);
  c.write(cmd('SHUTDOWN', 'NOSAVE'));
  await c.waitClosed();
  await sleep(20);
  assert.ok(exited);
  assert.equal(engine.shutdowns, [{ save: false, nosave: true, now: false, force: false }]);
  await server.close();
});

test.run();
