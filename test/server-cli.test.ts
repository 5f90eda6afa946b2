/**
 * forkless-server's command line and config files: option folding as redis-server does it, save
 * accumulation, include, the FATAL CONFIG FILE ERROR block (compared with redis-server's own when
 * installed), and the process itself: start, log format, PING, SIGTERM/SHUTDOWN exit 0.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigFileError, loadConfig, parseCommandLine, type LoadedConfig } from '../engine/server/cli.js';
import { RawClient, freePort, redisTool, sleep } from './server-helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'forkless-server.js');
const redisServer = redisTool('redis-server');
const withRedis = redisServer === null ? test.skip : test;

function load(argv: string[], stdin = ''): LoadedConfig {
  const cmd = parseCommandLine(argv);
  if (cmd.kind !== 'run') throw new Error(`not a run: ${cmd.kind}`);
  return loadConfig(cmd, () => stdin);
}

function failure(argv: string[]): ConfigFileError {
  try {
    load(argv);
  } catch (e) {
    if (e instanceof ConfigFileError) return e;
    throw e;
  }
  throw new Error('expected a config error');
}

const tmp = mkdtempSync(join(tmpdir(), 'forkless-cli-'));
const file = (name: string, text: string): string => {
  const p = join(tmp, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
};

test('options become directives; multi-word and empty values', () => {
  assert.equal(load(['--port', '7000', '--requirepass', 'a b']).values, { port: '7000', requirepass: 'a b' });
  assert.is(load(['--save', '900 1 300 10']).values['save'], '900 1 300 10');
  assert.is(load(['--save', '']).values['save'], '');
  assert.is(load(['--save']).values['save'], '');
  assert.equal(load(['--save', '--port', '1']).values, { save: '', port: '1' });
  assert.equal(load(['--port 7001']).values, { port: '7001' });
  assert.is(load(['--bind', '127.0.0.1', '::1']).values['bind'], '127.0.0.1 ::1');
  assert.is(load(['--save', '900', '1', '--save', '60', '5']).values['save'], '900 1 60 5');
});

test('version and help', () => {
  assert.equal(parseCommandLine(['--version']), { kind: 'version' });
  assert.equal(parseCommandLine(['-v']), { kind: 'version' });
  assert.equal(parseCommandLine(['-h']), { kind: 'help' });
});

test('config file: quoting, comments, save lines accumulate, save "" clears, options after the file', () => {
  const conf = file('a.conf', [
    '# a comment',
    '   ',
    'port 7100',
    'requirepass "p w\\x21"',
    "dbfilename 'my dump.rdb'",
    'save 900 1',
    'save 300 10',
    'Loglevel verbose',
  ].join('\n') + '\n');
  const c = load([conf, '--port', '7200']);
  assert.equal(c.values, { port: '7200', requirepass: 'p w!', dbfilename: 'my dump.rdb', save: '900 1 300 10', loglevel: 'verbose' });
  const cleared = file('b.conf', 'save 900 1\nsave ""\nsave 60 5\n');
  assert.is(load([cleared]).values['save'], '60 5');
  // stdin with "-"
  assert.is(load([conf, '-'], 'port 7300\n').values['port'], '7300');
});

test('include, with wildcards', () => {
  file('inc/one.conf', 'maxclients 77\n');
  file('inc/two.conf', 'timeout 5\n');
  const main = file('main.conf', `port 7400\ninclude ${join(tmp, 'inc', '*.conf')}\ninclude ${join(tmp, 'inc', 'one.conf')}\n`);
  assert.equal(load([main]).values, { port: '7400', maxclients: '77', timeout: '5' });
  const bad = file('bad-inc.conf', 'include /nonexistent/forkless.conf\n');
  assert.match(failure([bad]).message, /can't open config file '\/nonexistent\/forkless\.conf': No such file or directory/);
});

test('directives Redis knows but forkless does not are ignored with a note', () => {
  const c = load(['--io-threads', '4', '--lua-time-limit', '5000', '--port', '1']);
  assert.equal(c.ignored, ['io-threads', 'lua-time-limit']);
  assert.equal(c.values, { port: '1' });
});

test('errors: Redis FATAL CONFIG FILE ERROR block with line numbers', () => {
  const e = failure(['--foo', 'bar']);
  assert.is(e.report(), "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments\n");
  assert.is(failure(['--port']).message, 'wrong number of arguments');
  assert.is(failure(['--port', 'abc']).message, "argument couldn't be parsed into an integer");
  assert.is(failure(['--save', '900']).message, 'Invalid save parameters');
  const conf = file('err.conf', 'port 7000\n\n# c\nfrobnicate 1\n');
  const fe = failure([conf]);
  assert.is(fe.line, 4);
  assert.is(fe.text, 'frobnicate 1');
  const q = file('q.conf', 'requirepass "abc\n');
  assert.is(failure([q]).message, 'Unbalanced quotes in configuration line');
});

withRedis('error blocks are byte-identical to redis-server 7.0', () => {
  if (redisServer === null) return;
  const cases: string[][] = [
    ['--foo', 'bar'],
    ['--port'],
    ['--port', 'abc'],
    ['--save', '900'],
    ['--port', '1', '--bar', 'x y', '--baz'],
    [file('cmp1.conf', 'port 7000\nfoo bar baz\n')],
    [file('cmp2.conf', 'port 7000\n\n  requirepass "x\n'), '--port', '1'],
    [file('cmp3.conf', 'maxclients abc\n')],
  ];
  for (const args of cases) {
    const r = spawnSync(redisServer, args, { encoding: 'utf8' });
    const f = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    assert.is(f.status, 1, args.join(' '));
    assert.is(r.status, 1, args.join(' '));
    assert.is(f.stderr, r.stderr, args.join(' '));
  }
});

// ---- The process ------------------------------------------------------------------------------

function startBin(args: string[], cwd: string): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  // 'close', not 'exit': it fires after the child's stdout and stderr have been read to the end.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function waitFor(pred: () => boolean, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(20);
  }
}

test('forkless-server: --version, --help', () => {
  const v = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  assert.is(v.status, 0);
  assert.match(v.stdout, /^Redis server v=7\.0\.15 sha=[0-9a-f]{8}:0 malloc=\S+ bits=64 build=[0-9a-f]+ forkless=\S+ node=v\S+\n$/);
  const h = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.is(h.status, 1);
  assert.match(h.stderr, /^Usage: forkless-server \[\/path\/to\/redis\.conf\] \[options\] \[-\]/);
});

test('forkless-server: starts, logs in Redis format, serves, SIGTERM exits 0', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'forkless-bin-'));
  const port = await freePort();
  const p = startBin(['--port', String(port), '--save', '', '--appendonly', 'no'], cwd);
  try {
    await waitFor(() => p.out().includes('Ready to accept connections'));
    for (const line of p.out().trim().split('\n')) {
      assert.match(line, /^\d+:[MC] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] /, line);
    }
    assert.match(p.out(), new RegExp(`\\* Running mode=standalone, port=${port}\\.`));
    const c = await RawClient.connect(port);
    assert.is(await c.ask('PING'), '+PONG\r\n');
    assert.is(await c.ask('SET', 'k', 'v'), '+OK\r\n');
    assert.is(await c.ask('GET', 'k'), '$1\r\nv\r\n');
    c.close();
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
    assert.match(p.out(), /Received SIGTERM scheduling shutdown/);
  } finally {
    p.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('forkless-server: defaults create ./data; SHUTDOWN exits 0; logfile is honoured', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'forkless-bin-'));
  const port = await freePort();
  const log = join(cwd, 'server.log');
  const p = startBin(['--port', String(port), '--logfile', log, '--loglevel', 'verbose'], cwd);
  try {
    await waitFor(() => {
      try { return readFileSync(log, 'utf8').includes('Ready to accept connections'); } catch { return false; }
    });
    const c = await RawClient.connect(port);
    assert.is(await c.ask('CONFIG', 'GET', 'dir'), `*2\r\n$3\r\ndir\r\n$${'./data'.length}\r\n./data\r\n`);
    c.write('SHUTDOWN NOSAVE\r\n');
    assert.is(await p.exited, 0);
    const text = readFileSync(log, 'utf8');
    assert.match(text, /- Accepted 127\.0\.0\.1:\d+/);
    assert.is(p.out(), '');
    assert.ok(statSync(join(cwd, 'data')).isDirectory(), './data created');
  } finally {
    p.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('forkless-server: unix socket with unixsocketperm', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'forkless-bin-'));
  const port = await freePort();
  const sock = join(cwd, 'forkless.sock');
  const p = startBin(['--port', String(port), '--save', '', '--unixsocket', sock, '--unixsocketperm', '700'], cwd);
  try {
    await waitFor(() => p.out().includes(`ready to accept connections at ${sock}`));
    assert.is(statSync(sock).mode & 0o777, 0o700);
    const c = await RawClient.connect(sock);
    assert.is(await c.ask('PING'), '+PONG\r\n');
    assert.match(await c.ask('CLIENT', 'INFO'), new RegExp(` addr=${sock}:0 laddr=${sock}:0 fd=\\d+ name= .* flags=U `));
    c.close();
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
    assert.not.ok(existsSync(sock), 'socket file removed on exit');
  } finally {
    p.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('forkless-server: port in use fails with Redis wording, exit 1', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'forkless-bin-'));
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (srv.address() as net.AddressInfo).port;
    const p = startBin(['--port', String(port), '--save', ''], cwd);
    assert.is(await p.exited, 1);
    assert.match(p.out(), /# Failed listening on port \d+ \(TCP\), aborting\./);
  } finally {
    srv.close();
    rmSync(cwd, { recursive: true, force: true });
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
