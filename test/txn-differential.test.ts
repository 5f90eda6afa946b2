/**
 * Transactions against a real redis-server 7.0: the same scripted sessions (several clients
 * interleaved) run on Redis and on forkless (real engine behind the RESP front end), and every
 * reply frame must be identical: MULTI/EXEC/DISCARD/WATCH/UNWATCH, EXECABORT after queueing
 * errors, nil EXEC after a touched WATCH (writes, deletes, FLUSHDB/FLUSHALL/SWAPDB, MOVE/COPY
 * across dbs, expiry), front-end commands queued and replayed at EXEC, RESP3, and what the AOF
 * receives (Redis's appendonly file vs forkless's, command by command).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { haveRedisServer, runSession, show, startPair, type Session, type Step } from './support/dual.js';
import { RespParser, type Arg } from './support/resp-client.js';

const withRedis = haveRedisServer() ? test : test.skip;

type Case = Session;

const c1 = (...argv: Arg[]): Step => ({ c: 1, argv });
const c2 = (...argv: Arg[]): Step => ({ c: 2, argv });
const sleep = (ms: number): Step => ({ sleep: ms });
const frames = (n: number, ...argv: Arg[]): Step => ({ c: 0, argv, frames: n });

const CASES: Case[] = [
  { name: 'basic transaction', steps: [['MULTI'], ['SET', 'a', '1'], ['INCR', 'a'], ['GET', 'a'], ['MGET', 'a', 'b'], ['EXEC'], ['GET', 'a']] },
  { name: 'empty transaction', steps: [['MULTI'], ['EXEC']] },
  { name: 'nested MULTI keeps the transaction', steps: [['MULTI'], ['MULTI'], ['SET', 'x', '1'], ['EXEC'], ['GET', 'x']] },
  { name: 'EXEC / DISCARD without MULTI', steps: [['EXEC'], ['DISCARD'], ['exec'], ['MULTI'], ['DISCARD'], ['DISCARD']] },
  { name: 'unknown command aborts at EXEC', steps: [['MULTI'], ['SET', 'a', '1'], ['NOSUCH', 'x'], ['SET', 'b', '2'], ['EXEC'], ['EXISTS', 'a', 'b'], ['EXEC']] },
  { name: 'arity error aborts at EXEC', steps: [['MULTI'], ['GET'], ['SET', 'a', '1'], ['EXEC'], ['GET', 'a']] },
  { name: 'unknown subcommand aborts', steps: [['MULTI'], ['CONFIG', 'FROB'], ['CLIENT', 'FROB'], ['EXEC']] },
  { name: 'runtime errors do not roll back', steps: [['SET', 's', 'abc'], ['MULTI'], ['INCR', 's'], ['SET', 'ok', '1'], ['SETRANGE', 's', '-1', 'x'], ['EXEC'], ['GET', 'ok']] },
  { name: 'EXEC with arguments aborts, in and out of MULTI', steps: [['MULTI'], ['SET', 'a', '1'], ['EXEC', 'x'], ['EXEC'], ['EXEC', 'y'], ['GET', 'a']] },
  { name: 'DISCARD with arguments is an arity error', steps: [['MULTI'], ['DISCARD', 'x'], ['EXEC']] },
  { name: 'SAVE and SHUTDOWN are not allowed in MULTI', steps: [['MULTI'], ['SAVE'], ['SHUTDOWN', 'NOSAVE'], ['PING'], ['EXEC'], ['PING']] },
  { name: 'WATCH inside MULTI', steps: [['MULTI'], ['WATCH', 'a'], ['SET', 'a', '1'], ['EXEC']] },
  { name: 'WATCH arity', steps: [['WATCH'], ['UNWATCH', 'x'], ['MULTI', 'x']] },
  { name: 'WATCH untouched key', clients: 2, steps: [['WATCH', 'k'], c1('SET', 'other', '1'), ['MULTI'], ['SET', 'k', 'mine'], ['EXEC'], ['GET', 'k']] },
  { name: 'WATCH touched by SET', clients: 2, steps: [['SET', 'k', '0'], ['WATCH', 'k'], c1('SET', 'k', 'theirs'), ['MULTI'], ['SET', 'k', 'mine'], ['EXEC'], ['GET', 'k']] },
  { name: 'WATCH touched by own write before MULTI', steps: [['WATCH', 'k'], ['SET', 'k', '1'], ['MULTI'], ['GET', 'k'], ['EXEC']] },
  { name: 'WATCH missing key, DEL of it is no change', clients: 2, steps: [['WATCH', 'k'], c1('DEL', 'k'), c1('DEL', 'k', 'j'), ['MULTI'], ['SET', 'k', '1'], ['EXEC']] },
  { name: 'WATCH missing key that gets created', clients: 2, steps: [['WATCH', 'k'], c1('SET', 'k', 'x'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'DEL of a watched key among missing ones', clients: 2, steps: [['SET', 'k', '1'], ['WATCH', 'k', 'j'], c1('DEL', 'j', 'k', 'z'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'failed writes do not touch', clients: 2, steps: [
    ['SET', 'k', '1'], ['WATCH', 'k'], c1('SET', 'k', '2', 'NX'), c1('PERSIST', 'k'), c1('EXPIRE', 'nokey', '10'), c1('INCR', 'nokey2'),
    c1('RENAMENX', 'k', 'k'), c1('GETEX', 'k'), ['MULTI'], ['GET', 'k'], ['EXEC']] },
  { name: 'touches: MSET, APPEND, EXPIRE, GETDEL', clients: 2, steps: [
    ['MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4'],
    ['WATCH', 'a'], c1('MSET', 'x', '1', 'a', '9'), ['MULTI'], ['PING'], ['EXEC'],
    ['WATCH', 'b'], c1('APPEND', 'b', 'x'), ['MULTI'], ['PING'], ['EXEC'],
    ['WATCH', 'c'], c1('EXPIRE', 'c', '100'), ['MULTI'], ['PING'], ['EXEC'],
    ['WATCH', 'd'], c1('GETDEL', 'd'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'RENAME touches source and destination', clients: 2, steps: [
    ['SET', 's', '1'], ['WATCH', 'dst'], c1('RENAME', 's', 'dst'), ['MULTI'], ['PING'], ['EXEC'],
    ['WATCH', 'dst'], c1('RENAME', 'dst', 'back'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'MOVE and COPY reach watchers in the other db', clients: 2, steps: [
    ['SELECT', '1'], ['WATCH', 'k'], c1('SET', 'k', 'v'), c1('MOVE', 'k', '1'), ['MULTI'], ['GET', 'k'], ['EXEC'],
    ['SELECT', '2'], ['WATCH', 'cp'], c1('SET', 'src', 'v'), c1('COPY', 'src', 'cp', 'DB', '2'), ['MULTI'], ['GET', 'cp'], ['EXEC'],
    ['SELECT', '0'], ['WATCH', 'src'], c1('COPY', 'src', 'cp2'), ['MULTI'], ['GET', 'src'], ['EXEC']] },
  { name: 'WATCH is per db', clients: 2, steps: [['WATCH', 'k'], c1('SELECT', '3'), c1('SET', 'k', 'x'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'FLUSHDB touches existing watched keys only', clients: 2, steps: [
    ['SET', 'k', '1'], ['WATCH', 'k'], c1('FLUSHDB'), ['MULTI'], ['PING'], ['EXEC'],
    ['WATCH', 'missing'], c1('SET', 'unrelated', '1'), c1('FLUSHDB'), ['MULTI'], ['PING'], ['EXEC'],
    ['SET', 'k', '1'], ['WATCH', 'k'], c1('SELECT', '4'), c1('FLUSHDB'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'FLUSHALL touches watched keys in any db', clients: 2, steps: [
    ['SELECT', '5'], ['SET', 'k', '1'], ['WATCH', 'k'], c1('FLUSHALL'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'SWAPDB touches keys existing on either side', clients: 2, steps: [
    ['WATCH', 'k'], c1('SELECT', '1'), c1('SET', 'k', 'v'), c1('SWAPDB', '0', '1'), ['MULTI'], ['GET', 'k'], ['EXEC'],
    ['WATCH', 'none'], c1('SWAPDB', '0', '1'), ['MULTI'], ['PING'], ['EXEC'],
    ['WATCH', 'k'], c1('SWAPDB', '0', '99'), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'watched key expiring before EXEC fails it', steps: [
    ['SET', 'k', 'v', 'PX', '60'], ['WATCH', 'k'], sleep(150), ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'watching an already expired key is fine', steps: [
    ['DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['SET', 'k', 'v', 'PX', '20'], sleep(80), ['WATCH', 'k'], ['MULTI'], ['PING'], ['EXEC'],
    ['DEBUG', 'SET-ACTIVE-EXPIRE', '1']] },
  { name: 'UNWATCH and DISCARD forget watches', clients: 2, steps: [
    ['SET', 'k', '1'], ['WATCH', 'k'], c1('SET', 'k', '2'), ['UNWATCH'], ['MULTI'], ['GET', 'k'], ['EXEC'],
    ['WATCH', 'k'], ['MULTI'], ['DISCARD'], c1('SET', 'k', '3'), ['MULTI'], ['GET', 'k'], ['EXEC']] },
  { name: 'dirty client WATCH is OK, EXEC nil', clients: 2, steps: [
    ['WATCH', 'k'], c1('SET', 'k', '1'), ['WATCH', 'j'], ['MULTI'], ['PING'], ['EXEC'], ['MULTI'], ['PING'], ['EXEC']] },
  { name: 'two watchers, one writer', clients: 3, steps: [
    ['WATCH', 'k'], c1('WATCH', 'k'), c2('SET', 'k', 'x'), ['MULTI'], ['PING'], ['EXEC'], c1('MULTI'), c1('PING'), c1('EXEC')] },
  { name: 'writer inside its own transaction touches others', clients: 2, steps: [
    ['WATCH', 'k'], c1('MULTI'), c1('SET', 'k', '1'), c1('EXEC'), ['MULTI'], ['GET', 'k'], ['EXEC']] },
  { name: 'SELECT inside a transaction', steps: [['MULTI'], ['SELECT', '6'], ['SET', 'in6', 'x'], ['SELECT', '0'], ['EXEC'], ['SELECT', '6'], ['GET', 'in6']] },
  { name: 'connection commands are queued', steps: [
    ['MULTI'], ['CLIENT', 'SETNAME', 'txname'], ['CLIENT', 'GETNAME'], ['ECHO', 'hi'], ['EXEC'], ['CLIENT', 'GETNAME'],
    ['MULTI'], ['AUTH', 'nopass'], ['HELLO', '2'], ['EXEC']] },
  { name: 'RESET leaves MULTI', steps: [['MULTI'], ['SET', 'a', '1'], ['RESET'], ['EXEC'], ['GET', 'a']] },
  { name: 'SUBSCRIBE inside MULTI', steps: [['MULTI'], ['SUBSCRIBE', 'ch1', 'ch2'], ['PING'], frames(3, 'EXEC'), frames(2, 'UNSUBSCRIBE', 'ch1', 'ch2')] },
  { name: 'RESP3 nil EXEC and push inside MULTI', clients: 2, steps: [
    frames(1, 'HELLO', '3'), ['WATCH', 'k'], c1('SET', 'k', '1'), ['MULTI'], ['PING'], ['EXEC'], ['MULTI'], ['GET', 'k'], ['EXEC']] },
  { name: 'queued replies are copied before later writes', steps: [
    ['SET', 'k', 'aaaa'], ['MULTI'], ['GET', 'k'], ['SET', 'k', 'bbbb'], ['GET', 'k'], ['MGET', 'k', 'k'], ['SET', 'k', 'cccc'], ['EXEC']] },
  { name: 'CLIENT LIST flags while in MULTI and dirty', clients: 2, steps: [
    ['WATCH', 'k'], c1('SET', 'k', '1'), ['MULTI'], ['SET', 'a', '1'], ['CLIENT', 'INFO'], ['EXEC']] },
];

withRedis('transactions: replies identical to redis-server 7.0', async () => {
  const pair = await startPair({ redisArgs: ['--enable-debug-command', 'yes'], settings: { 'enable-debug-command': 'yes' } });
  try {
    for (const c of CASES) {
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

withRedis('pipelined transaction with an error in the middle, RESP3 client', async () => {
  const pair = await startPair();
  try {
    const [r, f] = await pair.clients();
    const script: Arg[][] = [['HELLO', '3'], ['MULTI'], ['SET', 'a', '1'], ['BADCMD'], ['INCR', 'a'], ['EXEC'], ['GET', 'a'],
      ['MULTI'], ['SET', 'a', '1'], ['INCR', 'a'], ['EXEC']];
    for (const cl of [r, f]) for (const argv of script) cl.send(...argv);
    const theirs = await r.next(script.length);
    const ours = await f.next(script.length);
    assert.is(show(ours).replace(/"id": :\d+/, ''), show(theirs).replace(/"id": :\d+/, ''));
  } finally {
    await pair.stop();
  }
});

// ---- Propagation: the AOF of a session, Redis's file vs forkless's ------------------------------

/** Commands of every *.incr.aof file in appendonlydir, in order. */
function readAof(dir: string): string[] {
  const aofDir = join(dir, 'appendonlydir');
  if (!existsSync(aofDir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(aofDir).filter((n) => n.endsWith('.incr.aof')).sort()) {
    const p = new RespParser();
    p.push(readFileSync(join(aofDir, f)));
    for (let r = p.next(); r !== undefined; r = p.next()) out.push((r as Buffer[]).map((b) => b.toString('latin1')).join(' '));
  }
  return out;
}

async function settle(read: () => string[]): Promise<string[]> {
  let last = read();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = read();
    if (now.length === last.length && i > 2) return now;
    last = now;
  }
  return last;
}

withRedis('EXEC propagates the whole transaction as one MULTI … EXEC unit (AOF compared with Redis)', async () => {
  const aof = ['--appendonly', 'yes', '--appendfsync', 'always'];
  const pair = await startPair({ redisArgs: aof, settings: { appendonly: 'yes', appendfsync: 'always' } });
  try {
    const session: Arg[][] = [
      ['SET', 'plain', '1'],
      ['MULTI'], ['SET', 'a', '1'], ['INCR', 'a'], ['GET', 'a'], ['EXEC'],
      ['MULTI'], ['SET', 'single', '1'], ['EXEC'],
      ['MULTI'], ['GET', 'a'], ['EXEC'],
      ['MULTI'], ['SELECT', '2'], ['SET', 'in2', '1'], ['SELECT', '0'], ['SET', 'in0', '1'], ['EXEC'],
      ['SET', 's', 'abc'], ['MULTI'], ['INCR', 's'], ['SET', 'after', '1'], ['EXEC'],
      ['MULTI'], ['SET', 'x', '1'], ['NOSUCH'], ['EXEC'],
      ['MULTI'], ['SET', 'e', 'v', 'EX', '100'], ['DEL', 'nokey'], ['DEL', 'e'], ['FLUSHDB'], ['EXEC'],
    ];
    const [r, f] = await pair.clients();
    for (const argv of session) {
      const a = await r.call(...argv);
      const b = await f.call(...argv);
      assert.is(show([b]), show([a]), `reply to ${argv.join(' ')}`);
    }
    const theirs = await settle(() => readAof(pair.redis.dir));
    const ours = await settle(() => readAof(pair.ours.dir));
    const norm = (xs: string[]): string[] => xs.map((x) => x.replace(/PXAT \d+/, 'PXAT T').replace(/PEXPIREAT (\S+) \d+/, 'PEXPIREAT $1 T'));
    assert.equal(norm(ours), norm(theirs));
    assert.ok(theirs.includes('MULTI') && theirs.includes('EXEC'), 'the session produced a wrapped transaction');
  } finally {
    await pair.stop();
  }
});

test.run();
