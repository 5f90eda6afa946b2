/**
 * Pub/sub and MONITOR against a real redis-server 7.0: the same multi-client sessions run on both
 * servers and every frame (replies and pushes, RESP2 arrays and RESP3 `>` pushes) must match,
 * including the pub/sub context restrictions and their texts, PUBSUB introspection, sharded
 * channels, CLIENT LIST/KILL by type, MONITOR lines (times and ports normalized), and the pubsub
 * output-buffer limit closing a subscriber that does not read. Then real clients: ioredis and
 * node-redis subscribe and receive.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { FrameClient, haveRedisServer, runSession, startPair, type Session, type Step } from './support/dual.js';
import type { Arg } from './support/resp-client.js';

const withRedis = haveRedisServer() ? test : test.skip;

const on = (c: number, ...argv: Arg[]): Step => ({ c, argv });
const onN = (c: number, n: number, ...argv: Arg[]): Step => ({ c, argv, frames: n });
const recv = (c: number, n = 1): Step => ({ c, recv: n });

const SESSIONS: Session[] = [
  { name: 'subscribe, publish, unsubscribe (RESP2)', clients: 2, steps: [
    onN(0, 2, 'SUBSCRIBE', 'a', 'b'), on(1, 'PUBLISH', 'a', 'hello'), recv(0), on(1, 'PUBLISH', 'b', Buffer.from([0, 255, 10])), recv(0),
    on(1, 'PUBLISH', 'nobody', 'x'), onN(0, 2, 'SUBSCRIBE', 'a', 'c'), onN(0, 1, 'UNSUBSCRIBE', 'a'), on(1, 'PUBLISH', 'a', 'gone'),
    onN(0, 2, 'UNSUBSCRIBE', 'nope', 'b'), onN(0, 1, 'UNSUBSCRIBE'), onN(0, 1, 'UNSUBSCRIBE'), onN(0, 1, 'PUNSUBSCRIBE'), ['PING']] },
  { name: 'patterns', clients: 2, steps: [
    onN(0, 3, 'PSUBSCRIBE', 'news.*', 'h?llo', 'news.*'), on(1, 'PUBLISH', 'news.tech', 'n1'), recv(0), on(1, 'PUBLISH', 'hello', 'h1'), recv(0),
    on(1, 'PUBLISH', 'hxllo', 'h2'), recv(0), on(1, 'PUBLISH', 'news', 'none'), onN(0, 1, 'SUBSCRIBE', 'news.tech'), on(1, 'PUBLISH', 'news.tech', 'twice'),
    recv(0, 2), on(1, 'PUBSUB', 'NUMPAT'), onN(0, 1, 'PUNSUBSCRIBE', 'h?llo'), on(1, 'PUBSUB', 'NUMPAT'), onN(0, 1, 'PUNSUBSCRIBE'), onN(0, 1, 'UNSUBSCRIBE')] },
  { name: 'pub/sub context restrictions on RESP2', clients: 1, steps: [
    onN(0, 1, 'SUBSCRIBE', 'x'), ['GET', 'k'], ['SET', 'k', 'v'], ['PING'], ['PING', 'msg'], ['PING', 'a', 'b'], ['CLIENT', 'ID'], ['CLIENT', 'FROB'],
    ['HELLO', '2'], ['AUTH', 'pw'], ['AUTH'], ['MULTI'], ['PUBLISH', 'x', 'y'], ['PUBSUB', 'NUMPAT'], ['SELECT', '1'], ['NOSUCH'],
    onN(0, 1, 'PSUBSCRIBE', 'p*'), onN(0, 1, 'SSUBSCRIBE', 's'), ['RESET'], ['GET', 'k'], ['PING']] },
  { name: 'RESP3 subscribers may run anything', clients: 2, steps: [
    ['HELLO', '3'], onN(0, 1, 'SUBSCRIBE', 'r3'), ['SET', 'k', 'v'], ['GET', 'k'], ['PING'], onN(0, 2, 'PUBLISH', 'r3', 'self'),
    on(1, 'PUBLISH', 'r3', 'other'), recv(0), onN(0, 1, 'PSUBSCRIBE', 'r*'), on(1, 'PUBLISH', 'r3', 'both'), recv(0, 2),
    onN(0, 1, 'UNSUBSCRIBE', 'r3'), onN(0, 1, 'PUNSUBSCRIBE', 'r*'), onN(0, 1, 'UNSUBSCRIBE')] },
  { name: 'PUBSUB introspection', clients: 3, steps: [
    onN(0, 2, 'SUBSCRIBE', 'chan:1', 'chan:2'), onN(1, 1, 'SUBSCRIBE', 'chan:1'), onN(1, 1, 'PSUBSCRIBE', 'chan:*'),
    on(2, 'PUBSUB', 'CHANNELS', 'chan:2'), on(2, 'PUBSUB', 'CHANNELS', 'nomatch*'), on(2, 'PUBSUB', 'NUMSUB', 'chan:1', 'chan:2', 'chan:3'),
    on(2, 'PUBSUB', 'NUMSUB'), on(2, 'PUBSUB', 'NUMPAT'), on(2, 'PUBSUB', 'SHARDCHANNELS'), on(2, 'PUBSUB', 'SHARDNUMSUB', 'chan:1'),
    on(2, 'PUBSUB'), on(2, 'PUBSUB', 'FOO'), on(2, 'PUBSUB', 'CHANNELS', 'a', 'b'), on(2, 'PUBSUB', 'NUMPAT', 'x'), on(2, 'PUBSUB', 'HELP'),
    on(2, 'PUBLISH', 'chan:1', 'm'), recv(0), recv(1, 2), on(2, 'PUBLISH'), on(2, 'SUBSCRIBE'), on(2, 'PSUBSCRIBE'),
    on(2, 'CLIENT', 'LIST', 'TYPE', 'pubsub'), on(2, 'CLIENT', 'KILL', 'TYPE', 'pubsub'), on(2, 'PUBSUB', 'NUMSUB', 'chan:1')] },
  { name: 'sharded channels', clients: 2, steps: [
    onN(0, 2, 'SSUBSCRIBE', 's1', 's2'), on(1, 'SPUBLISH', 's1', 'hi'), recv(0), on(1, 'PUBLISH', 's1', 'not-shard'), on(1, 'PUBSUB', 'SHARDCHANNELS', 's1'),
    on(1, 'PUBSUB', 'SHARDNUMSUB', 's1', 's2', 's3'), onN(0, 1, 'SUNSUBSCRIBE', 's1'), onN(0, 1, 'SUNSUBSCRIBE'), onN(0, 1, 'SUNSUBSCRIBE'),
    on(1, 'MULTI'), on(1, 'SSUBSCRIBE', 'x'), on(1, 'EXEC')] },
  { name: 'MONITOR', clients: 2, steps: [
    ['MONITOR'], on(1, 'SET', 'k', 'v'), recv(0), on(1, 'GET', 'k'), recv(0), on(1, 'SET', 'sp ace', 'a"b\\c\nd\x01'), recv(0),
    on(1, 'CONFIG', 'GET', 'maxmemory'), on(1, 'SELECT', '2'), recv(0), on(1, 'INCR', 'n'), recv(0),
    on(1, 'MULTI'), recv(0), on(1, 'SET', 'a', '1'), on(1, 'INCR', 'a'), on(1, 'EXEC'), recv(0, 3), on(1, 'NOSUCH'), on(1, 'GET'),
    on(1, 'CLIENT', 'SETNAME', 'watched'), recv(0), on(1, 'AUTH', 'secret'), recv(0), on(1, 'HELLO', '2', 'AUTH', 'default', 'pw'), recv(0),
    on(1, 'PING'), recv(0), ['GET', 'k'], ['SET', 'k', 'v'], ['PUBLISH', 'c', 'm'], ['PING'], recv(0), ['ECHO', 'e'], recv(0)] },
  { name: 'MONITOR edge cases', clients: 1, steps: [
    ['MULTI'], ['MONITOR'], ['EXEC'], onN(0, 1, 'MONITOR'), onN(0, 0, 'MONITOR'), ['PING'], recv(0), ['RESET'], ['GET', 'k']] },
];

withRedis('pub/sub and MONITOR: frames identical to redis-server 7.0', async () => {
  const pair = await startPair();
  try {
    for (const c of SESSIONS) {
      const theirs = await runSession(c, pair.redisPort);
      const ours = await runSession(c, pair.ours.port);
      for (let i = 0; i < Math.max(theirs.length, ours.length); i++) {
        assert.is(ours[i], theirs[i], `[${c.name}] step ${i}\n  ours:  ${ours[i]}\n  redis: ${theirs[i]}`);
      }
    }
  } finally {
    await pair.stop();
  }
});

withRedis('a subscriber that does not read is closed at the pubsub output limit, as Redis does', async () => {
  const pair = await startPair();
  try {
    for (const port of [pair.redisPort, pair.ours.port]) {
      const admin = await FrameClient.connect(port);
      await admin.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 256kb 60');
      const sub = await FrameClient.connect(port);
      await sub.call('SUBSCRIBE', 'flood');
      sub.socket.pause();
      const big = Buffer.alloc(64 * 1024, 'x');
      for (let i = 0; i < 200 && !sub.closed; i++) {
        await admin.call('PUBLISH', 'flood', big);
        if ((await admin.call('PUBSUB', 'NUMSUB', 'flood') as [Buffer, number])[1] === 0) break;
      }
      const numsub = await admin.call('PUBSUB', 'NUMSUB', 'flood') as [Buffer, number];
      assert.is(numsub[1], 0, `port ${port}: the slow subscriber was disconnected`);
      admin.close();
      sub.close();
    }
  } finally {
    await pair.stop();
  }
});

test('ioredis and node-redis subscribe, receive and unsubscribe on forkless', async () => {
  const pair = await startPairForkless();
  try {
    const port = pair.port;
    const sub = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    const pub = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    await sub.connect();
    await pub.connect();
    const got: string[] = [];
    sub.on('message', (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    sub.on('pmessage', (p: string, ch: string, msg: string) => got.push(`${p}|${ch}:${msg}`));
    assert.is(await sub.subscribe('io1', 'io2'), 2);
    assert.is(await sub.psubscribe('io*'), 3);
    assert.is(await pub.publish('io1', 'a'), 2);
    assert.is(await pub.publish('io3', 'b'), 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got.sort(), ['io*|io1:a', 'io*|io3:b', 'io1:a']);
    await sub.unsubscribe('io1', 'io2');
    await sub.punsubscribe('io*');
    assert.is(await sub.get('nothing'), null);
    sub.disconnect();
    pub.disconnect();

    const nsub = createClient({ url: `redis://127.0.0.1:${port}` });
    const npub = createClient({ url: `redis://127.0.0.1:${port}` });
    nsub.on('error', () => { /* surfaced through awaits */ });
    npub.on('error', () => { /* surfaced through awaits */ });
    await nsub.connect();
    await npub.connect();
    const nr: string[] = [];
    await nsub.subscribe('nr', (msg: string, ch: string) => nr.push(`${ch}:${msg}`));
    await nsub.pSubscribe('n*', (msg: string, ch: string) => nr.push(`p:${ch}:${msg}`));
    assert.is(await npub.publish('nr', 'hello'), 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(nr.sort(), ['nr:hello', 'p:nr:hello']);
    await nsub.unsubscribe('nr');
    await nsub.pUnsubscribe();
    await nsub.quit();
    await npub.quit();
  } finally {
    await pair.stop();
  }
});

/** forkless alone (no Redis needed) for the client-library test. */
async function startPairForkless(): Promise<{ port: number; stop(): Promise<void> }> {
  const { makeEngine, startServer } = await import('./server-helpers.js');
  const engine = await makeEngine('real');
  const { server, port } = await startServer(engine.port);
  return { port, stop: async () => { await server.close(); await engine.close(); } };
}

test.run();
