/**
 * The server process against redis-server 7.0 side by side: SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]
 * [ABORT] and SIGTERM, including a final save that fails (the server must keep running and say
 * so; FORCE exits anyway), and CONFIG REWRITE of a real config file (comments, duplicates,
 * aliases, directives forkless only passes through), compared line by line with the file Redis
 * rewrites.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameClient, show } from './support/dual.js';
import { freePort, redisTool, sleep } from './server-helpers.js';
import type { Arg } from './support/resp-client.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'forkless-server.js');
const redisServer = redisTool('redis-server');
const withRedis = redisServer === null ? test.skip : test;

interface Proc { kind: 'redis' | 'forkless'; port: number; dir: string; child: ChildProcess; out(): string; exited: Promise<number | null> }

/** Starts redis-server or forkless-server with the same arguments, in its own directory. */
async function start(kind: Proc['kind'], args: string[], dir: string): Promise<Proc> {
  const port = await freePort();
  const all = [...args, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', ''];
  const child = kind === 'redis'
    ? spawn(redisServer!, all, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [bin, ...all], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  for (let i = 0; i < 300 && !out.includes('Ready to accept connections'); i++) await sleep(20);
  if (!out.includes('Ready to accept connections')) throw new Error(`${kind} did not start:\n${out}`);
  return { kind, port, dir, child, out: () => out, exited };
}

async function ask(p: Proc, ...argv: Arg[]): Promise<string> {
  const c = await FrameClient.connect(p.port);
  try {
    return show([await c.call(...argv)]);
  } finally {
    c.close();
  }
}

/** Sends a command that may end the process: its reply, or '(closed)' when the server went away. */
async function askMaybeExit(p: Proc, ...argv: Arg[]): Promise<string> {
  const c = await FrameClient.connect(p.port);
  c.send(...argv);
  const r = await c.next(1, 3000);
  c.close();
  return r.length === 0 ? '(closed)' : show(r);
}

function stopHard(p: Proc): void {
  if (p.child.exitCode === null && p.child.pid !== undefined) {
    try { process.kill(p.child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

withRedis('SHUTDOWN options and a failing final save: same replies, same survival, as redis-server', async () => {
  for (const kind of ['redis', 'forkless'] as const) {
    const base = mkdtempSync(join(tmpdir(), `forkless-shutdown-${kind}-`));
    const dir = join(base, 'data');
    mkdirSync(dir);
    const p = await start(kind, ['--save', '3600 1', '--appendonly', 'no'], dir);
    try {
      const syntax: string[] = [];
      for (const argv of [['SHUTDOWN', 'FOO'], ['SHUTDOWN', 'SAVE', 'NOSAVE'], ['SHUTDOWN', 'ABORT'], ['SHUTDOWN', 'ABORT', 'NOW'], ['SHUTDOWN', 'NOW', 'ABORT']]) {
        syntax.push(await ask(p, ...argv));
      }
      assert.equal(syntax, ['-ERR syntax error', '-ERR syntax error', '-ERR No shutdown in progress.', '-ERR syntax error', '-ERR syntax error'], kind);
      await ask(p, 'SET', 'k', 'v');
      // The final save cannot succeed now: the data directory is gone and a file has its name.
      rmSync(dir, { recursive: true, force: true });
      writeFileSync(dir, 'not a directory');
      assert.is(await askMaybeExit(p, 'SHUTDOWN'), '-ERR Errors trying to SHUTDOWN. Check logs.', `${kind}: SHUTDOWN`);
      assert.is(await ask(p, 'PING'), '+PONG', `${kind}: still serving`);
      assert.is(await askMaybeExit(p, 'SHUTDOWN', 'SAVE', 'NOW'), '-ERR Errors trying to SHUTDOWN. Check logs.', `${kind}: SHUTDOWN SAVE NOW`);
      p.child.kill('SIGTERM');
      await sleep(300);
      assert.is(await ask(p, 'PING'), '+PONG', `${kind}: SIGTERM with a failing save keeps it running`);
      assert.match(p.out(), /Error trying to save the DB, can't exit\./);
      assert.match(p.out(), /Errors trying to shut down the server\. Check the logs for more information\./);
      assert.is(await askMaybeExit(p, 'SHUTDOWN', 'FORCE'), '(closed)', `${kind}: SHUTDOWN FORCE exits anyway`);
      assert.is(await p.exited, 0, `${kind}: exit status`);
      assert.match(p.out(), /Error trying to save the DB\. Exit anyway\./);
    } finally {
      stopHard(p);
      rmSync(base, { recursive: true, force: true });
    }
  }
});

withRedis('SHUTDOWN NOSAVE NOW and SHUTDOWN in a transaction', async () => {
  for (const kind of ['redis', 'forkless'] as const) {
    const dir = mkdtempSync(join(tmpdir(), `forkless-shutdown2-${kind}-`));
    const p = await start(kind, ['--save', '', '--appendonly', 'no'], dir);
    try {
      const c = await FrameClient.connect(p.port);
      c.send('MULTI');
      c.send('SHUTDOWN', 'NOSAVE');
      c.send('EXEC');
      assert.is(show(await c.next(3)), [
        '+OK', '-ERR Command not allowed inside a transaction', '-EXECABORT Transaction discarded because of previous errors.',
      ].join('\n'), kind);
      c.close();
      assert.is(await askMaybeExit(p, 'SHUTDOWN', 'NOSAVE', 'NOW', 'FORCE'), '(closed)', kind);
      assert.is(await p.exited, 0, kind);
    } finally {
      stopHard(p);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

const CONF = `# A configuration written by hand
port 6379

# persistence: two rules, the second to be dropped
save 900 1
save 300 10
  # an indented comment
maxmemory 100mb
slave-read-only yes
hz 10
hz 11
io-threads 1
loglevel notice
timeout 0
`;

withRedis('CONFIG REWRITE rewrites the file in place like redis-server', async () => {
  const files: Record<string, string> = {};
  for (const kind of ['redis', 'forkless'] as const) {
    const dir = mkdtempSync(join(tmpdir(), `forkless-rewrite-${kind}-`));
    const conf = join(dir, 'server.conf');
    writeFileSync(conf, CONF);
    const p = await start(kind, [conf], dir);
    try {
      for (const [name, value] of [['maxmemory', '200mb'], ['hz', '20'], ['save', '60 5'], ['maxmemory-policy', 'allkeys-lru'],
        ['timeout', '30'], ['slowlog-max-len', '64'], ['appendfsync', 'always'], ['requirepass', 'pw']]) {
        assert.is(await ask(p, 'CONFIG', 'SET', name!, value!), '+OK', `${kind} CONFIG SET ${name}`);
      }
      const c = await FrameClient.connect(p.port);
      await c.call('AUTH', 'pw');
      assert.is(show([await c.call('CONFIG', 'REWRITE')]), '+OK', kind);
      files[kind] = readFileSync(conf, 'utf8');
      // Rewriting again: the trailing newline becomes one blank line (as Redis, which splits the
      // file at every '\n'), and from then on nothing changes.
      assert.is(show([await c.call('CONFIG', 'REWRITE')]), '+OK');
      const second = readFileSync(conf, 'utf8');
      assert.is(show([await c.call('CONFIG', 'REWRITE')]), '+OK');
      if (kind === 'forkless') assert.is(readFileSync(conf, 'utf8'), second, 'rewrite settles');
      // A path that cannot be written: Redis's error text.
      rmSync(conf);
      mkdirSync(conf);
      files[`${kind}-error`] = show([await c.call('CONFIG', 'REWRITE')]);
      c.close();
    } finally {
      stopHard(p);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const norm = (text: string): string[] => text.split('\n')
    .filter((l) => !l.startsWith('user ') && !l.startsWith('latency-tracking-info-percentiles'))
    .map((l) => l.replace(/^port \d+$/, 'port P').replace(/^dir ".*"$/, 'dir D'));
  const theirs = norm(files['redis']!), ours = norm(files['forkless']!);
  const sig = theirs.indexOf('# Generated by CONFIG REWRITE');
  assert.ok(sig > 0, 'Redis appended lines');
  assert.equal(ours.slice(0, sig + 1), theirs.slice(0, sig + 1), 'the rewritten original lines');
  assert.equal([...ours.slice(sig + 1)].sort(), [...theirs.slice(sig + 1)].sort(), 'the appended lines (Redis appends in hash order)');
  assert.is(files['forkless-error'], files['redis-error']);
});

test.run();
