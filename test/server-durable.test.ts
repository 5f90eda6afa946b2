/**
 * The server holds replies until the AOF makes them durable (connection.ts, "Durable replies";
 * engine-port.ts, the durabilityBarrier / isDurable / whenDurable hooks).
 *
 *  - Against a Map engine whose "AOF" the test acknowledges by hand (HoldingPort): replies, reads
 *    and pushes wait for the acknowledgement and keep their order; QUIT, a protocol error and the
 *    peer's FIN end the connection only after the held replies; CLIENT REPLY SKIP; backpressure
 *    counts held bytes; a failed AOF closes the connection unanswered; an engine that reports
 *    from inside whenDurable().
 *  - Against the real engine with `appendfsync always` and a slowed-down fsync: QUIT and a
 *    protocol error arriving while replies are held.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { PushReply, type ClientState, type Reply } from '../engine/commands/types.js';
import { open } from '../engine/index.js';
import { MapPort, RawClient, encodeCommand, sleep, startServer } from './server-helpers.js';
import { tempDir } from './aof-helpers.js';

interface Waiter { off: number; cb: () => void; fail: ((err: Error) => void) | undefined }

/** A Map engine with a pretend AOF: each write appends 100 bytes, the test acknowledges them. */
class HoldingPort extends MapPort {
  appended = 0;
  acked = 0;
  failed: Error | null = null;
  /** Answer a registration whose offset is durable by now from inside whenDurable(). */
  syncOnRegister = false;
  registrations = 0;
  private waiters: Waiter[] = [];

  override execute(client: ClientState, argv: Buffer[]): Reply {
    const r = super.execute(client, argv);
    if (this.isWriteCommand(argv)) this.appended += 100;
    return r;
  }

  durabilityBarrier(): number { return this.appended; }

  isDurable(off: number): boolean { return this.failed === null && off <= this.acked; }

  whenDurable(off: number, cb: () => void, fail?: (err: Error) => void): void {
    this.registrations++;
    if (this.failed !== null) { const f = this.failed; queueMicrotask(() => fail?.(f)); return; }
    if (this.isDurable(off)) {
      if (this.syncOnRegister) cb(); else queueMicrotask(cb);
      return;
    }
    this.waiters.push({ off, cb, fail });
  }

  /** Everything appended so far is durable (or up to `to`). */
  ack(to = this.appended): void {
    this.acked = Math.max(this.acked, to);
    const due = this.waiters.filter((w) => w.off <= this.acked);
    this.waiters = this.waiters.filter((w) => w.off > this.acked);
    for (const w of due) w.cb();
  }

  fail(err: Error): void {
    this.failed = err;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.fail?.(err);
  }
}

async function withHolding(fn: (port: HoldingPort, connect: () => Promise<RawClient>) => Promise<void>, outputPauseBytes?: number): Promise<void> {
  const engine = new HoldingPort();
  const { server, port } = await startServer(engine, outputPauseBytes === undefined ? {} : { outputPauseBytes });
  const clients: RawClient[] = [];
  try {
    await fn(engine, async () => {
      const c = await RawClient.connect(port);
      clients.push(c);
      return c;
    });
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
}

/** Nothing arrives for a while (held output must not leak). */
async function quiet(c: RawClient, ms = 60): Promise<void> {
  await sleep(ms);
  assert.is(c.data.toString('latin1'), '', 'nothing is sent before the AOF acknowledges');
}

test('held: a write reply waits for the AOF; a later chunk and a read on another connection queue behind it', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    const b = await connect();
    // Nothing written yet: barrier 0, replies go at once.
    assert.is(await a.ask('PING'), '+PONG\r\n');
    a.data = Buffer.alloc(0);
    a.write(encodeCommand('SET', 'k', 'v1'));
    await quiet(a);
    a.write(encodeCommand('PING'));
    b.write(encodeCommand('GET', 'k')); // reads the unacknowledged write: held too
    await quiet(a, 30);
    await quiet(b, 0);
    engine.ack();
    assert.is(await a.replies(2), '+OK\r\n+PONG\r\n');
    assert.is(await b.replies(1), '$2\r\nv1\r\n');
    // Acknowledged: the fast path again.
    assert.is(await a.ask('GET', 'k'), '$2\r\nv1\r\n');
  });
});

test('held: a push does not overtake a held reply of its connection', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    const id = Number(/^:(\d+)/.exec(await a.ask('CLIENT', 'ID'))![1]);
    a.data = Buffer.alloc(0);
    a.write(encodeCommand('SET', 'k', 'v'));
    await sleep(30);
    assert.ok(engine.frontEnd!.push(id, new PushReply([Buffer.from('message'), Buffer.from('ch'), Buffer.from('hi')])));
    await quiet(a);
    engine.ack();
    assert.is(await a.replies(2), '+OK\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n');
  });
});

test('held: QUIT replies after the held replies, then the connection closes', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    a.write(Buffer.concat([encodeCommand('SET', 'k', 'v'), encodeCommand('QUIT'), encodeCommand('SET', 'never', 'x')]));
    await quiet(a);
    assert.is(a.closed, false);
    engine.ack();
    assert.is(await a.waitClosed(), '+OK\r\n+OK\r\n');
    assert.is(engine.data.has('never'), false, 'nothing after QUIT runs');
  });
});

test('held: a protocol error replies after the held replies, then the connection closes', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    a.write(Buffer.concat([encodeCommand('SET', 'k', 'v'), Buffer.from('*2\r\n$3\r\nGET\r\n$abc\r\n')]));
    await quiet(a);
    assert.is(a.closed, false);
    engine.ack();
    assert.is(await a.waitClosed(), '+OK\r\n-ERR Protocol error: invalid bulk length\r\n');
  });
});

test('held: the peer half-closes after writing; held replies still reach it', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    a.socket.end(Buffer.concat([encodeCommand('SET', 'k', 'v'), encodeCommand('GET', 'k')]));
    await quiet(a);
    engine.ack();
    assert.is(await a.waitClosed(), '+OK\r\n$1\r\nv\r\n');
  });
});

test('held: CLIENT REPLY SKIP / OFF still drop exactly the command replies', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    a.write(Buffer.concat([
      encodeCommand('CLIENT', 'REPLY', 'SKIP'), encodeCommand('SET', 'a', '1'), encodeCommand('SET', 'b', '2'),
      encodeCommand('CLIENT', 'REPLY', 'OFF'), encodeCommand('SET', 'c', '3'), encodeCommand('CLIENT', 'REPLY', 'ON'),
      encodeCommand('GET', 'c'),
    ]));
    await quiet(a);
    engine.ack();
    assert.is(await a.replies(3), '+OK\r\n+OK\r\n$1\r\n3\r\n');
    await sleep(30);
    assert.is(a.data.toString('latin1'), '+OK\r\n+OK\r\n$1\r\n3\r\n');
  });
});

test('held: held bytes count for backpressure (processing pauses, resumes on release)', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    engine.data.set('big', Buffer.alloc(64 * 1024, 0x78));
    const cmds: Buffer[] = [encodeCommand('SET', 'x', '1')];
    for (let i = 0; i < 12; i++) cmds.push(encodeCommand('GET', 'big'));
    const before = engine.executed;
    a.write(Buffer.concat(cmds));
    await sleep(80);
    const ran = engine.executed - before;
    assert.ok(ran < 13, `processing pauses while held output is over the limit (${ran} of 13 ran)`);
    assert.is(a.length, 0);
    engine.ack();
    const out = await a.replies(13);
    assert.ok(out.startsWith('+OK\r\n$65536\r\n'), 'in order');
    assert.is(engine.executed - before, 13);
  }, 1024);
});

test('held: a failed AOF closes the connection without its held replies', async () => {
  await withHolding(async (engine, connect) => {
    const a = await connect();
    const b = await connect();
    a.write(encodeCommand('SET', 'k', 'v'));
    await quiet(a);
    engine.fail(new Error('fsync failed'));
    assert.is(await a.waitClosed(), '');
    // A connection that holds nothing yet is refused its next held reply the same way.
    b.write(encodeCommand('GET', 'k'));
    assert.is(await b.waitClosed(), '');
  });
});

test('held: an engine answering from inside whenDurable() keeps order and sends once', async () => {
  await withHolding(async (engine, connect) => {
    engine.syncOnRegister = true;
    const a = await connect();
    a.write(encodeCommand('SET', 'k', 'v'));
    await quiet(a);
    engine.ack();
    assert.is(await a.replies(1), '+OK\r\n');
    // Not durable when flush() looks, durable by the time whenDurable() registers: the callback
    // runs inside the registration.
    const orig = engine.isDurable.bind(engine);
    let calls = 0;
    engine.isDurable = (off: number): boolean => (++calls === 1 ? false : orig(off));
    const regs = engine.registrations;
    const c = await connect();
    c.write(Buffer.concat([encodeCommand('PING'), encodeCommand('GET', 'k')]));
    assert.is(await c.replies(2), '+PONG\r\n$1\r\nv\r\n');
    await sleep(30);
    assert.is(c.data.toString('latin1'), '+PONG\r\n$1\r\nv\r\n', 'sent exactly once');
    assert.is(engine.registrations - regs, 1);
    // And the connection goes on normally.
    engine.isDurable = orig;
    c.data = Buffer.alloc(0);
    c.write(encodeCommand('SET', 'k', 'w'));
    await quiet(c);
    engine.ack();
    assert.is(await c.replies(1), '+OK\r\n');
  });
});

// ---- The real engine, appendfsync always, fsync slowed down to 300 ms --------------------------

async function withSlowAlways(fn: (connect: () => Promise<RawClient>) => Promise<void>): Promise<void> {
  const dir = tempDir('held-always');
  process.env['FORKLESS_AOF_TEST_FSYNC_DELAY_MS'] = '300'; // read when the AOF worker starts
  const db = await open({ dir, appendonly: 'yes', appendfsync: 'always', save: '', loglevel: 'nothing' })
    .finally(() => { delete process.env['FORKLESS_AOF_TEST_FSYNC_DELAY_MS']; });
  const { server, port } = await startServer(db.engine);
  const clients: RawClient[] = [];
  try {
    await fn(async () => {
      const c = await RawClient.connect(port);
      clients.push(c);
      return c;
    });
  } finally {
    for (const c of clients) c.close();
    await server.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('[real, always] replies wait for the fsync; QUIT arriving meanwhile replies after them and closes', async () => {
  await withSlowAlways(async (connect) => {
    const a = await connect();
    const b = await connect();
    const t0 = Date.now();
    a.write(encodeCommand('SET', 'k', 'v'));
    await sleep(20);
    b.write(encodeCommand('GET', 'k')); // a read of the unsynced write waits too
    a.write(encodeCommand('QUIT'));
    await sleep(100);
    assert.is(a.data.toString('latin1'), '', 'no reply before the fsync');
    assert.is(b.data.toString('latin1'), '');
    assert.is(a.closed, false);
    assert.is(await a.waitClosed(), '+OK\r\n+OK\r\n');
    assert.ok(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
    assert.is(await b.replies(1), '$1\r\nv\r\n');
  });
});

test('[real, always] a protocol error arriving while replies are held: error after them, then close', async () => {
  await withSlowAlways(async (connect) => {
    const a = await connect();
    const t0 = Date.now();
    a.write(encodeCommand('INCR', 'n'));
    await sleep(20);
    a.write(Buffer.concat([encodeCommand('INCR', 'n'), Buffer.from('*1\r\n$-2\r\n')]));
    await sleep(100);
    assert.is(a.data.toString('latin1'), '');
    assert.is(await a.waitClosed(), ':1\r\n:2\r\n-ERR Protocol error: invalid bulk length\r\n');
    assert.ok(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
  });
});

test.run();
