/**
 * Blocking pops through the real server (bin/forkless-server.js) side by side with redis-server
 * 7.0: each scenario drives several connections (blocked clients, a pusher) and records every
 * reply; the two transcripts must be identical, and so must the AOF each server wrote (the served
 * pops propagate as their non-blocking forms). Scenarios: order of service (FIFO per key, several
 * clients served by one push), the key that became ready first serves a multi-key BLPOP, timeouts
 * in RESP2 and RESP3, BLMOVE chains, a disconnect while blocked, CLIENT UNBLOCK TIMEOUT/ERROR,
 * blocking commands inside MULTI, commands pipelined behind a blocked one, BLMPOP/BZPOPMIN/BZMPOP.
 *
 * Needs redis-server: skipped loudly when missing unless FORKLESS_REQUIRE_REDIS is set.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reply } from '../engine/commands/types.js';
import { freePort, haveRedis, startRedis, type RealRedis } from './support/real-redis.js';
import { RespClient, RespParser, showReply, type Arg } from './support/resp-client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'forkless-server.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Server { port: number; dir: string; stop(): Promise<void> }

async function startForkless(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'forkless-blocking-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [bin, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--logfile', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  for (let i = 0; i < 500 && !out.includes('Ready to accept connections'); i++) await sleep(20);
  if (!out.includes('Ready to accept connections')) throw new Error(`forkless-server did not start:\n${out}`);
  return {
    port, dir,
    async stop() {
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A scenario's view of one server: connections and the transcript of replies. */
class Run {
  readonly log: string[] = [];
  private readonly clients: RespClient[] = [];
  constructor(readonly port: number) {}
  async client(): Promise<RespClient> {
    const c = await RespClient.connect(this.port);
    this.clients.push(c);
    return c;
  }
  /** Records a reply under a label once it arrives (the label keeps the order deterministic). */
  note(label: string, r: Reply): void { this.log.push(`${label}: ${showReply(r)}`); }
  async call(c: RespClient, label: string, ...argv: Arg[]): Promise<Reply> {
    const r = await c.call(...argv);
    this.note(label, r);
    return r;
  }
  /** Closes one connection now (a disconnect while blocked). */
  async drop(c: RespClient): Promise<void> {
    this.clients.splice(this.clients.indexOf(c), 1);
    await c.close();
  }
  async close(): Promise<void> { await Promise.all(this.clients.map((c) => c.close().catch(() => undefined))); }
}

/** Sends a command whose reply comes later; returns the promise without waiting. */
function pending(c: RespClient, ...argv: Arg[]): Promise<Reply> {
  return c.call(...argv);
}

/** Long enough for a blocking command to reach the server and block. */
const SETTLE = 60;

type Scenario = (r: Run) => Promise<void>;

const scenarios: Record<string, Scenario> = {
  async watchSeesServedMove(r) {
    const [a, w, p] = [await r.client(), await r.client(), await r.client()];
    await r.call(w, 'watch', 'WATCH', 'dst');
    const pa = pending(a, 'BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', 0); await sleep(SETTLE);
    await r.call(p, 'push', 'RPUSH', 'src', 'x');
    r.note('a', await pa);
    await r.call(w, 'multi', 'MULTI');
    await r.call(w, 'q', 'SET', 'after', '1');
    await r.call(w, 'exec', 'EXEC'); // nil: the served BLMOVE changed dst after WATCH
    await r.call(p, 'dst', 'LRANGE', 'dst', 0, -1);
  },
  async blockedClientsInInfo(r) {
    const [a, b, p] = [await r.client(), await r.client(), await r.client()];
    const blocked = async (label: string): Promise<void> => {
      const info = String(await p.call('INFO', 'clients'));
      r.log.push(`${label}: ${/blocked_clients:\d+/.exec(info)?.[0] ?? 'no blocked_clients field'}`);
    };
    await blocked('before');
    const pa = pending(a, 'BLPOP', 'k', 0); await sleep(SETTLE);
    const pb = pending(b, 'BZPOPMIN', 'z', 0); await sleep(SETTLE);
    await blocked('two blocked');
    await r.call(p, 'push', 'RPUSH', 'k', 'x');
    r.note('a', await pa);
    await blocked('one left');
    await r.call(p, 'zadd', 'ZADD', 'z', 1, 'm');
    r.note('b', await pb);
    await blocked('none');
  },
  async fifo(r) {
    const [a, b, c, p] = [await r.client(), await r.client(), await r.client(), await r.client()];
    const pa = pending(a, 'BLPOP', 'k', 0); await sleep(SETTLE);
    const pb = pending(b, 'BLPOP', 'k', 0); await sleep(SETTLE);
    const pc = pending(c, 'BRPOP', 'k', 0); await sleep(SETTLE);
    await r.call(p, 'push', 'RPUSH', 'k', 'x1', 'x2', 'x3', 'x4');
    r.note('a', await pa); r.note('b', await pb); r.note('c', await pc);
    await r.call(p, 'rest', 'LRANGE', 'k', 0, -1);
  },
  async readyKeyOrder(r) {
    const [a, p] = [await r.client(), await r.client()];
    const pa = pending(a, 'BLPOP', 'k1', 'k2', 0); await sleep(SETTLE);
    await r.call(p, 'multi', 'MULTI');
    await r.call(p, 'q1', 'RPUSH', 'k2', 'from-k2');
    await r.call(p, 'q2', 'RPUSH', 'k1', 'from-k1');
    await r.call(p, 'exec', 'EXEC');
    r.note('a', await pa);
    await r.call(p, 'k1', 'LRANGE', 'k1', 0, -1);
    await r.call(p, 'k2', 'LRANGE', 'k2', 0, -1);
  },
  async timeouts(r) {
    const [a, b] = [await r.client(), await r.client()];
    await r.call(b, 'hello', 'HELLO', 3).then(() => undefined);
    r.log.pop(); // HELLO's map differs (server name, id): only its effect matters
    const t0 = Date.now();
    r.note('resp2', await a.call('BLPOP', 'none', 0.2));
    r.note('resp3', await b.call('BRPOP', 'none', '0.15'));
    r.note('blmove', await a.call('BLMOVE', 'none', 'dst', 'LEFT', 'RIGHT', '0.1'));
    r.note('blmpop', await b.call('BLMPOP', '0.1', 1, 'none', 'LEFT'));
    const ms = Date.now() - t0;
    r.log.push(`elapsed>=500: ${ms >= 500}`);
    await r.call(a, 'neg', 'BLPOP', 'none', '-1');
    await r.call(a, 'nan', 'BLPOP', 'none', 'nan');
    await r.call(a, 'huge', 'BLPOP', 'none', '1e20');
  },
  async blmoveChain(r) {
    const [a, b, c, p] = [await r.client(), await r.client(), await r.client(), await r.client()];
    const pa = pending(a, 'BLMOVE', 'q1', 'q2', 'LEFT', 'RIGHT', 0); await sleep(SETTLE);
    const pb = pending(b, 'BRPOPLPUSH', 'q2', 'q3', 0); await sleep(SETTLE);
    const pc = pending(c, 'BLMPOP', 0, 2, 'zz', 'q3', 'LEFT', 'COUNT', 5); await sleep(SETTLE);
    await r.call(p, 'push', 'LPUSH', 'q1', 'v');
    r.note('a', await pa); r.note('b', await pb); r.note('c', await pc);
    for (const k of ['q1', 'q2', 'q3']) await r.call(p, k, 'EXISTS', k);
  },
  async disconnect(r) {
    const [a, b, p] = [await r.client(), await r.client(), await r.client()];
    void pending(a, 'BLPOP', 'k', 0).catch(() => undefined); await sleep(SETTLE);
    const pb = pending(b, 'BLPOP', 'k', 0); await sleep(SETTLE);
    await r.drop(a); await sleep(SETTLE);
    await r.call(p, 'push', 'RPUSH', 'k', 'one', 'two');
    r.note('b', await pb);
    await r.call(p, 'left', 'LRANGE', 'k', 0, -1);
  },
  async clientUnblock(r) {
    const [a, p] = [await r.client(), await r.client()];
    const id = String(await a.call('CLIENT', 'ID'));
    const p1 = pending(a, 'BLPOP', 'k', 0); await sleep(SETTLE);
    await r.call(p, 'unblock', 'CLIENT', 'UNBLOCK', id, 'TIMEOUT');
    r.note('a1', await p1);
    const p2 = pending(a, 'BZPOPMIN', 'z', 0); await sleep(SETTLE);
    await r.call(p, 'unblock-err', 'CLIENT', 'UNBLOCK', id, 'ERROR');
    r.note('a2', await p2);
    await r.call(p, 'not-blocked', 'CLIENT', 'UNBLOCK', id);
    await r.call(p, 'bad-reason', 'CLIENT', 'UNBLOCK', id, 'MAYBE');
    await r.call(a, 'after', 'PING');
  },
  async multi(r) {
    const [a] = [await r.client()];
    await r.call(a, 'multi', 'MULTI');
    for (const cmd of [['BLPOP', 'k', 0], ['BLMOVE', 'k', 'd', 'LEFT', 'LEFT', 0], ['BRPOPLPUSH', 'k', 'd', 0], ['BLMPOP', 0, 1, 'k', 'RIGHT'], ['BZPOPMAX', 'z', 0], ['BZMPOP', 0, 1, 'z', 'MIN']] as Arg[][]) {
      await r.call(a, `q ${String(cmd[0])}`, ...cmd);
    }
    await r.call(a, 'exec', 'EXEC');
  },
  async pipelinedBehind(r) {
    const [a, p] = [await r.client(), await r.client()];
    const both = a.pipeline([['BLPOP', 'k', 0], ['PING'], ['LLEN', 'k']]);
    await sleep(SETTLE);
    await r.call(p, 'push', 'RPUSH', 'k', 'x', 'y');
    const rs = await both;
    rs.forEach((x, i) => r.note(`a${i}`, x));
  },
  async zsets(r) {
    const [a, b, p] = [await r.client(), await r.client(), await r.client()];
    const pa = pending(a, 'BZPOPMIN', 'z1', 'z2', 0); await sleep(SETTLE);
    const pb = pending(b, 'BZMPOP', 0, 1, 'z2', 'MAX', 'COUNT', 2); await sleep(SETTLE);
    await r.call(p, 'zadd', 'ZADD', 'z2', 1, 'a', 2, 'b', 3.5, 'c', 4, 'd');
    r.note('a', await pa); r.note('b', await pb);
    await r.call(p, 'rest', 'ZRANGE', 'z2', 0, -1, 'WITHSCORES');
    await r.call(p, 'immediate', 'BZPOPMAX', 'z2', 0);
  },
  async wrongTypeThenList(r) {
    const [a, p] = [await r.client(), await r.client()];
    const pa = pending(a, 'BLPOP', 'k', 0); await sleep(SETTLE);
    await r.call(p, 'set', 'SET', 'k', 'string');   // not a list: nobody served
    await r.call(p, 'del', 'DEL', 'k');
    await r.call(p, 'push', 'LPUSH', 'k', 'ok');
    r.note('a', await pa);
  },
  async servedAndRefilled(r) {
    // One push serves two clients; their pops propagate one by one after the push.
    const [a, b, p] = [await r.client(), await r.client(), await r.client()];
    const pa = pending(a, 'BLMPOP', 0, 1, 'k', 'RIGHT', 'COUNT', 2); await sleep(SETTLE);
    const pb = pending(b, 'BLPOP', 'k', 0); await sleep(SETTLE);
    await r.call(p, 'push', 'RPUSH', 'k', 1, 2, 3, 4);
    r.note('a', await pa); r.note('b', await pb);
    await r.call(p, 'rest', 'LRANGE', 'k', 0, -1);
  },
};

function readAof(dir: string): string[] {
  const ad = join(dir, 'appendonlydir');
  const p = new RespParser();
  for (const f of readdirSync(ad).filter((n) => n.endsWith('.incr.aof')).sort()) p.push(readFileSync(join(ad, f)));
  const out: string[] = [];
  for (;;) {
    const r = p.next();
    if (r === undefined) break;
    if (Array.isArray(r)) out.push(r.map((x) => (Buffer.isBuffer(x) ? x.toString('latin1') : String(x))).join(' '));
  }
  return out.filter((l) => !/^SELECT /i.test(l)).map((l) => l.replace(/^(\S+)/, (m) => m.toUpperCase()));
}

const required = process.env['FORKLESS_REQUIRE_REDIS'] !== undefined;
if (!haveRedis()) {
  if (required) test('redis-server is required (FORKLESS_REQUIRE_REDIS is set)', () => { assert.unreachable('redis-server binary not found'); });
  else {
    console.warn('\n!!! blocking tests SKIPPED: redis-server not found (set FORKLESS_REQUIRE_REDIS=1 to make this fail) !!!\n');
    test.skip('blocking pops vs redis-server', () => {});
  }
} else {
  const only = process.env['FORKLESS_BLOCKING_ONLY'];
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (only !== undefined && !only.split(',').includes(name)) continue;
    test(`blocking: ${name} (same replies and AOF as redis-server)`, async () => {
      let redis: RealRedis | null = null;
      let ours: Server | null = null;
      try {
        redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
        ours = await startForkless();
        const logs: string[][] = [];
        for (const port of [redis.port, ours.port]) {
          const run = new Run(port);
          try { await scenario(run); } finally { await run.close(); }
          logs.push(run.log);
        }
        assert.equal(logs[1], logs[0], `transcripts differ\n  redis:    ${logs[0]!.join('\n            ')}\n  forkless: ${logs[1]!.join('\n            ')}`);
        await sleep(50);
        assert.equal(readAof(ours.dir), readAof(redis.dir), 'AOF contents differ');
      } finally {
        await redis?.stop();
        await ours?.stop();
      }
    });
  }
}

test.run();
