/**
 * forkless-check-aof against redis-check-aof 7.0.15: the same output (byte for byte, log-line
 * prefixes aside), exit code and --fix result on valid directories written by forkless (RDB and
 * RESP bases, annotations), truncated and corrupt files, MULTI/EXEC errors, manifests, empty files,
 * --truncate-to-timestamp and the usage line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../engine/index.js';
import { encodeRespCommand } from '../engine/persist/aof-ring.js';
import { redisToolsOr, sleep, tempDir } from './aof-helpers.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'forkless-check-aof.js');

function cmd(...argv: string[]): Buffer {
  return encodeRespCommand(argv.map((a) => Buffer.from(a)));
}

interface Run { status: number; out: string }

/** Log lines carry a pid and a time: compare them without. */
function normalize(s: string): string {
  return s.replace(/^\d+:C \d\d \w{3} \d{4} [\d:.]+ /gm, 'LOG ');
}

function ours(args: string[], input = ''): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input });
  return { status: r.status ?? -1, out: normalize(`${r.stdout}${r.stderr}`) };
}

function theirs(args: string[], input = ''): Run {
  const r = spawnSync('redis-check-aof', args, { encoding: 'utf8', input });
  return { status: r.status ?? -1, out: normalize(`${r.stdout}${r.stderr}`).replace(/redis-check-aof \[/, 'forkless-check-aof [') };
}

/** Runs both tools on separate copies of `dir` and compares output, status and resulting files. */
function compare(dir: string, rel: string, args: string[] = [], input = ''): Run {
  const a = tempDir('chk-a');
  const b = tempDir('chk-b');
  try {
    cpSync(dir, a, { recursive: true });
    cpSync(dir, b, { recursive: true });
    // Both tools name files as given on the command line: run from the copy.
    const runIn = (cwd: string, f: (x: string[], i: string) => Run): Run => {
      const prev = process.cwd();
      process.chdir(cwd);
      try { return f([...args, rel], input); } finally { process.chdir(prev); }
    };
    const r1 = runIn(a, ours);
    const r2 = runIn(b, theirs);
    assert.is(r1.out, r2.out.replace('[--fix|--truncate-to-timestamp $timestamp] <', '[--fix|--truncate-to-timestamp $timestamp] [--yes] <'), `output for ${[...args, rel].join(' ')}`);
    assert.is(r1.status, r2.status, 'exit status');
    const sizes = (root: string): string => spawnSync('find', ['.', '-type', 'f', '-printf', '%p %s\\n'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').sort().join('\n');
    assert.is(sizes(a), sizes(b), 'files after the run');
    return r1;
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
}

async function forklessDir(preamble: string, timestamps = 'no'): Promise<string> {
  const dir = tempDir('chk');
  const db = await open({ dir, appendonly: 'yes', save: '', loglevel: 'warning', 'aof-use-rdb-preamble': preamble, 'aof-timestamp-enabled': timestamps });
  const far = Date.now() + 3_600_000;
  for (let i = 0; i < 300; i++) {
    db.call('SELECT', i % 3);
    db.call('SET', `k${i}`, i % 2 === 0 ? String(i * 1000) : `value-${i}`, ...(i % 5 === 0 ? ['PXAT', String(far)] : []));
  }
  db.call('SELECT', 0);
  db.call('BGREWRITEAOF');
  while (db.engine.aof.rewriteInProgress) await sleep(5);
  for (let i = 0; i < 50; i++) db.call('INCR', 'counter');
  db.call('MSET', 'a', '1', 'b', '2');
  await db.durable();
  await db.close();
  return dir;
}

const M = 'appendonlydir/appendonly.aof.manifest';

if (redisToolsOr('aof-check')) {
  test('valid directories written by forkless: RDB base, RESP base, timestamp annotations', async () => {
    for (const [preamble, ts] of [['yes', 'no'], ['no', 'no'], ['no', 'yes']] as const) {
      const dir = await forklessDir(preamble, ts);
      try {
        const r = compare(dir, M);
        assert.is(r.status, 0, r.out);
        assert.match(r.out, 'All AOF files and manifest are valid');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('a truncated last incr file: reported, refused without --fix, cut by --fix', async () => {
    const dir = await forklessDir('yes');
    try {
      const incr = join(dir, 'appendonlydir', 'appendonly.aof.2.incr.aof');
      appendFileSync(incr, cmd('SET', 'x', 'yyyyyyyy').subarray(0, 20));
      const r = compare(dir, M);
      assert.is(r.status, 1);
      assert.match(r.out, /ok_up_to=\d+, ok_up_to_line=\d+, diff=20/);
      compare(dir, M, ['--fix'], 'y\n');
      compare(dir, M, ['--fix'], 'n\n');
      compare(dir, M, ['--fix'], '');
      // --yes answers the question (Redis has no such flag: compare with a piped "y").
      const a = tempDir('chk-yes');
      cpSync(dir, a, { recursive: true });
      const before = statSync(join(a, 'appendonlydir', 'appendonly.aof.2.incr.aof')).size;
      const y = ours(['--fix', '--yes', join(a, M)]);
      assert.is(y.status, 0, y.out);
      assert.is(statSync(join(a, 'appendonlydir', 'appendonly.aof.2.incr.aof')).size, before - 20);
      rmSync(a, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad non-last file cannot be fixed', async () => {
    const dir = tempDir('chk-nonlast');
    try {
      mkdirSync(join(dir, 'appendonlydir'));
      writeFileSync(join(dir, 'appendonlydir', 'a.1.incr.aof'), Buffer.concat([cmd('SET', 'a', '1'), cmd('SET', 'b', '2').subarray(0, 7)]));
      writeFileSync(join(dir, 'appendonlydir', 'a.2.incr.aof'), cmd('SET', 'c', '3'));
      writeFileSync(join(dir, 'appendonlydir', 'a.manifest'), 'file a.1.incr.aof seq 1 type i\nfile a.2.incr.aof seq 2 type i\n');
      compare(dir, 'appendonlydir/a.manifest');
      const r = compare(dir, 'appendonlydir/a.manifest', ['--fix'], 'y\n');
      assert.match(r.out, 'because it is not the last file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('old-style files: corrupt CRLF, bad prefixes, MULTI/EXEC errors, format errors, empty files', () => {
    const dir = tempDir('chk-old');
    try {
      const good = Buffer.concat([cmd('SET', 'a', '1'), cmd('MULTI'), cmd('INCR', 'n'), cmd('EXEC')]);
      const cases: Record<string, Buffer> = {
        'ok.aof': good,
        'crlf.aof': Buffer.concat([good, Buffer.from('*1\r\n$4\r\nPINGXY')]),
        'prefix.aof': Buffer.concat([good, Buffer.from('*1\r\n#4\r\nPING\r\n')]),
        'noexec.aof': Buffer.concat([good, cmd('MULTI'), cmd('SET', 'a', '2')]),
        'nested.aof': Buffer.concat([good, cmd('MULTI'), cmd('MULTI')]),
        'strayexec.aof': Buffer.concat([good, cmd('EXEC')]),
        'format.aof': Buffer.concat([good, Buffer.from('garbage')]),
        'empty.aof': Buffer.alloc(0),
        'short.aof': Buffer.concat([good, Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc')]),
        'negative.aof': Buffer.concat([good, Buffer.from('*1\r\n$-5\r\n')]),
        'highbyte.aof': Buffer.concat([good, Buffer.from([0x2a, 0x31, 0xe9, 0xff])]),
        'annotated.aof': Buffer.concat([Buffer.from('#TS:1700000000\r\n'), good, Buffer.from('#TS:1700000100\r\n'), cmd('SET', 'z', '9')]),
      };
      for (const [name, bytes] of Object.entries(cases)) writeFileSync(join(dir, name), bytes);
      for (const name of Object.keys(cases)) {
        compare(dir, name);
        compare(dir, name, ['--fix'], 'y\n');
      }
      compare(dir, 'annotated.aof', ['--truncate-to-timestamp', '1700000050']);
      compare(dir, 'annotated.aof', ['--truncate-to-timestamp', '1800000000']);
      compare(dir, 'annotated.aof', ['--truncate-to-timestamp', '1600000000']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('manifest errors and the usage line', () => {
    const dir = tempDir('chk-man');
    try {
      writeFileSync(join(dir, 'x.1.incr.aof'), cmd('SET', 'a', '1'));
      writeFileSync(join(dir, 'dup.manifest'), 'file x.1.incr.aof seq 1 type i\nfile x.1.incr.aof seq 1 type i\n');
      writeFileSync(join(dir, 'bad.manifest'), 'file x.1.incr.aof seq 1\n');
      writeFileSync(join(dir, 'missing.manifest'), 'file x.1.base.rdb seq 1 type b\n');
      compare(dir, 'dup.manifest');
      compare(dir, 'bad.manifest');
      const u1 = ours([]);
      const u2 = theirs([]);
      assert.is(u1.status, u2.status);
      assert.is(u1.out, 'Usage: forkless-check-aof [--fix|--truncate-to-timestamp $timestamp] [--yes] <file.manifest|file.aof>\n');
      assert.is(ours(['missing-file.aof']).status, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Independent of Redis: the checker agrees with what our loader accepts.
test('forkless-check-aof accepts what forkless writes', async () => {
  const dir = await forklessDir('yes');
  try {
    const r = ours([join(dir, M)]);
    assert.is(r.status, 0, r.out);
    assert.match(r.out, 'All AOF files and manifest are valid');
    assert.ok(readFileSync(join(dir, M), 'utf8').includes('type b'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
