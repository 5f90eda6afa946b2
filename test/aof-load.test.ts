/**
 * Loading an AOF directory at open(): Redis 7.0.15's rules for truncated tails (aof-load-truncated
 * yes/no, last file only, an unterminated MULTI reverted), corruption (refused with file and
 * offset), unknown commands, manifest grammar errors, missing files, dump.rdb being ignored, the
 * old-style single-file migration, loading semantics for already-expired keys, annotations and
 * files far larger than the reader's window. Where Redis's behaviour is observable, the same
 * directory is also given to a real redis-server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Forkless } from '../engine/index.js';
import { CorruptFileError } from '../engine/errors.js';
import { AofLoadError } from '../engine/persist/aof-loader.js';
import { AofManifestError, parseManifest } from '../engine/persist/aof-manifest.js';
import { encodeRespCommand } from '../engine/persist/aof-ring.js';
import { startRedis } from './support/real-redis.js';
import { RespClient } from './support/resp-client.js';
import { assertSameDump, dumpEmbedded, dumpServer, redisToolsOr, tempDir } from './aof-helpers.js';

const PREFIX = 'appendonly.aof';

function cmd(...argv: Array<string | Buffer>): Buffer {
  return encodeRespCommand(argv.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)));
}

/** A hand-made AOF directory: manifest lines and file contents. */
function makeDir(files: Array<[string, 'b' | 'i' | 'h', Buffer]>, manifestText?: string): string {
  const dir = tempDir('load');
  const aofDir = join(dir, 'appendonlydir');
  mkdirSync(aofDir);
  let m = '';
  let baseSeq = 0;
  let incrSeq = 0;
  for (const [name, type, bytes] of files) {
    writeFileSync(join(aofDir, name), bytes);
    const seq = type === 'b' ? ++baseSeq : ++incrSeq;
    m += `file ${name} seq ${seq} type ${type}\n`;
  }
  writeFileSync(join(aofDir, `${PREFIX}.manifest`), manifestText ?? m);
  return dir;
}

function conf(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { dir, appendonly: 'yes', save: '', logfile: join(dir, 'forkless.log'), ...extra };
}

function logOf(dir: string): string {
  const f = join(dir, 'forkless.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

async function openFails(dir: string, extra: Record<string, string> = {}): Promise<unknown> {
  try {
    const db = await open(conf(dir, extra));
    await db.close();
  } catch (err) {
    return err;
  }
  assert.unreachable('open() should have failed');
  return null;
}

const SETS = Buffer.concat([cmd('SELECT', '0'), ...Array.from({ length: 100 }, (_, i) => cmd('SET', `k${i}`, `v${i}`))]);

// ---------------------------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------------------------

test('a truncated tail loads with a warning and the file is cut back (aof-load-truncated yes)', async () => {
  const partial = cmd('SET', 'partial', 'value').subarray(0, 17);
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', Buffer.concat([SETS, partial])]]);
  try {
    const db = await open(conf(dir));
    assert.is(db.call('DBSIZE'), 100);
    assert.is(db.call('GET', 'partial'), null);
    db.call('SET', 'after', 'x');
    await db.durable();
    await db.close();
    const log = logOf(dir);
    assert.match(log, `!!! Warning: short read while loading the AOF file ${PREFIX}.1.incr.aof!!!`);
    assert.match(log, `!!! Truncating the AOF ${PREFIX}.1.incr.aof at offset ${SETS.length} !!!`);
    assert.match(log, `AOF ${PREFIX}.1.incr.aof loaded anyway because aof-load-truncated is enabled`);
    const again = await open(conf(dir));
    assert.is(again.call('DBSIZE'), 101);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated tail is refused with aof-load-truncated no', async () => {
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', Buffer.concat([SETS, cmd('SET', 'x', 'y').subarray(0, 9)])]]);
  try {
    const err = await openFails(dir, { 'aof-load-truncated': 'no' });
    assert.instance(err, CorruptFileError);
    assert.is((err as CorruptFileError).file, `${PREFIX}.1.incr.aof`);
    assert.is((err as CorruptFileError).offset, SETS.length);
    assert.match(logOf(dir), `Unexpected end of file reading the append only file ${PREFIX}.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`);
    assert.is(statSync(join(dir, 'appendonlydir', `${PREFIX}.1.incr.aof`)).size, SETS.length + 9, 'file untouched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only the last file may be truncated', async () => {
  const dir = makeDir([
    [`${PREFIX}.1.incr.aof`, 'i', Buffer.concat([SETS, cmd('SET', 'x', 'y').subarray(0, 5)])],
    [`${PREFIX}.2.incr.aof`, 'i', cmd('SET', 'z', '1')],
  ]);
  try {
    const err = await openFails(dir);
    assert.instance(err, AofLoadError);
    assert.match(logOf(dir), 'Fatal error: the truncated file is not the last file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unterminated MULTI at the end is reverted', async () => {
  const tail = Buffer.concat([cmd('MULTI'), cmd('SET', 'in-tx', '1'), cmd('SET', 'in-tx2', '2')]);
  const done = Buffer.concat([cmd('MULTI'), cmd('SET', 'tx-a', '1'), cmd('INCR', 'tx-b'), cmd('EXEC')]);
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', Buffer.concat([SETS, done, tail])]]);
  try {
    const db = await open(conf(dir));
    assert.is(db.call('DBSIZE'), 102);
    assert.is(db.call('GET', 'in-tx'), null);
    assert.is(String(db.call('GET', 'tx-b')), '1');
    await db.close();
    assert.match(logOf(dir), `Revert incomplete MULTI/EXEC transaction in AOF file ${PREFIX}.1.incr.aof`);
    assert.is(statSync(join(dir, 'appendonlydir', `${PREFIX}.1.incr.aof`)).size, SETS.length + done.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Corruption, unknown commands, missing files, manifests
// ---------------------------------------------------------------------------------------------

test('corruption in the middle is refused with the file and offset', async () => {
  const bad = Buffer.from(SETS);
  const at = cmd('SELECT', '0').length + cmd('SET', 'k0', 'v0').length * 10; // start of the 11th SET
  bad[at] = 0x58; // 'X' where '*' belongs
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', bad]]);
  try {
    const err = await openFails(dir);
    assert.instance(err, CorruptFileError);
    assert.is((err as CorruptFileError).file, `${PREFIX}.1.incr.aof`);
    assert.is((err as CorruptFileError).offset, at);
    assert.match(logOf(dir), `Bad file format reading the append only file ${PREFIX}.1.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>`);
    // Nothing half-loaded is left behind.
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad argument header ($ expected) is refused', async () => {
  const bad = Buffer.concat([SETS, Buffer.from('*2\r\n$3\r\nDEL\r\n#2\r\nk1\r\n'), cmd('SET', 'x', 'y')]);
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', bad]]);
  try {
    const err = await openFails(dir);
    assert.instance(err, CorruptFileError);
    assert.is((err as CorruptFileError).offset, SETS.length + 13);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown command is fatal', async () => {
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', Buffer.concat([SETS, cmd('NOSUCHCMD', 'a')])]]);
  try {
    const err = await openFails(dir);
    assert.instance(err, AofLoadError);
    assert.match(logOf(dir), `Unknown command 'NOSUCHCMD' reading the append only file ${PREFIX}.1.incr.aof`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file named by the manifest but missing is fatal', async () => {
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', SETS]], `file ${PREFIX}.1.base.rdb seq 1 type b\nfile ${PREFIX}.1.incr.aof seq 1 type i\n`);
  try {
    const err = await openFails(dir);
    assert.instance(err, AofLoadError);
    assert.match(logOf(dir), `Unable to obtain the AOF file ${PREFIX}.1.base.rdb length. stat: `);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest grammar: Redis\'s errors', () => {
  const bad: Array<[string, string]> = [
    ['', 'Found an empty AOF manifest'],
    ['file a seq 1 type b\nfile b seq 2 type b\n', 'Found duplicate base file information'],
    ['file a seq 2 type i\nfile b seq 2 type i\n', 'Found a non-monotonic sequence number'],
    ['file a seq 1 type i\nfile b seq 1\n', 'Invalid AOF manifest file format'],
    ['file a seq 1 type i\n\n', 'Invalid AOF manifest file format'],
    ['file a seq 1 type i', 'The AOF manifest file contains too long line'],
    ['file a seq 1 type x\n', 'Unknown AOF file type'],
    ['file dir/a seq 1 type i\n', "File can't be a path, just a filename"],
    ['file a seq 0 type i\n', 'Invalid AOF manifest file format'],
    ['file "a seq 1 type i\n', 'Invalid AOF manifest file format'],
  ];
  for (const [text, msg] of bad) {
    try {
      parseManifest(Buffer.from(text), 'm');
      assert.unreachable(`accepted ${JSON.stringify(text)}`);
    } catch (err) {
      assert.instance(err, AofManifestError, JSON.stringify(text));
      assert.ok((err as AofManifestError).lines.includes(`${msg}\n`), `${JSON.stringify(text)}: ${(err as AofManifestError).lines.join('|')}`);
      assert.ok((err as AofManifestError).lines.includes('\n*** FATAL AOF MANIFEST FILE ERROR ***\n'));
    }
  }
  const ok = parseManifest(Buffer.from('# comment\nfile b.rdb seq 3 type b\nFILE h seq 1 TYPE h extra 1\nfile "sp ace" seq 4 type i\nfile i5 seq 5 type i\n'), 'm');
  assert.is(ok.base?.name, 'b.rdb');
  assert.is(ok.currBaseSeq, 3);
  assert.equal(ok.history.map((h) => h.name), ['h']);
  assert.equal(ok.incr.map((h) => h.name), ['sp ace', 'i5']);
  assert.is(ok.currIncrSeq, 5);
  assert.is(ok.format(), 'file b.rdb seq 3 type b\nfile h seq 1 type h\nfile "sp ace" seq 4 type i\nfile i5 seq 5 type i\n');
});

test('a malformed manifest stops open() with Redis\'s report', async () => {
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', SETS]], `file ${PREFIX}.1.incr.aof seq 1 type i\nfile x seq 1 type i\n`);
  try {
    const err = await openFails(dir);
    assert.instance(err, AofManifestError);
    const log = logOf(dir);
    assert.match(log, '*** FATAL AOF MANIFEST FILE ERROR ***');
    assert.match(log, 'Reading the manifest file, at line 2');
    assert.match(log, ">>> 'file x seq 1 type i'");
    assert.match(log, 'Found a non-monotonic sequence number');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Startup behaviour
// ---------------------------------------------------------------------------------------------

test('with appendonly yes dump.rdb is not read; a base and an incr file are created', async () => {
  const dir = tempDir('rdbignored');
  try {
    const rdb = await open({ dir, save: '', appendonly: 'no' });
    rdb.call('SET', 'from-rdb', '1');
    rdb.call('SAVE');
    await rdb.close();
    assert.ok(existsSync(join(dir, 'dump.rdb')));
    const db = await open(conf(dir));
    assert.is(db.call('DBSIZE'), 0);
    await db.close();
    const log = logOf(dir);
    assert.match(log, `Creating AOF base file ${PREFIX}.1.base.rdb on server start`);
    assert.match(log, `Creating AOF incr file ${PREFIX}.1.incr.aof on server start`);
    assert.is(readFileSync(join(dir, 'appendonlydir', `${PREFIX}.manifest`), 'utf8'),
      `file ${PREFIX}.1.base.rdb seq 1 type b\nfile ${PREFIX}.1.incr.aof seq 1 type i\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an old-style appendonly.aof is migrated into the directory and loaded', async () => {
  const dir = tempDir('migrate');
  try {
    writeFileSync(join(dir, PREFIX), SETS);
    const db = await open(conf(dir));
    assert.is(db.call('DBSIZE'), 100);
    await db.close();
    assert.not.ok(existsSync(join(dir, PREFIX)));
    assert.ok(existsSync(join(dir, 'appendonlydir', PREFIX)));
    assert.match(logOf(dir), `Successfully migrated an old-style AOF file (${PREFIX}) into the AOF directory (${join(dir, 'appendonlydir')}).`);
    const again = await open(conf(dir));
    assert.is(again.call('DBSIZE'), 100);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nothing expires while loading: a PERSIST later in the file keeps an already-expired key', async () => {
  const past = String(Date.now() - 60_000);
  const bytes = Buffer.concat([
    cmd('SELECT', '0'), cmd('SET', 'kept', 'v', 'PXAT', past), cmd('PERSIST', 'kept'),
    cmd('SET', 'gone', 'v', 'PXAT', past), cmd('SET', 'incr', '5', 'PXAT', past), cmd('INCR', 'incr'), cmd('PERSIST', 'incr'),
    Buffer.from('#TS:1700000000\r\n'), cmd('SET', 'after-annotation', '1'),
  ]);
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', bytes]]);
  try {
    const db = await open(conf(dir));
    assert.is(String(db.call('GET', 'kept')), 'v');
    assert.is(db.call('GET', 'gone'), null);
    assert.is(String(db.call('GET', 'incr')), '6');
    assert.is(String(db.call('GET', 'after-annotation')), '1');
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('empty base and incr files load as an empty dataset', async () => {
  const dir = makeDir([[`${PREFIX}.1.base.aof`, 'b', Buffer.alloc(0)], [`${PREFIX}.1.incr.aof`, 'i', Buffer.alloc(0)]]);
  try {
    const db = await open(conf(dir));
    assert.is(db.call('DBSIZE'), 0);
    db.call('SET', 'a', '1');
    await db.close();
    const again = await open(conf(dir));
    assert.is(String(again.call('GET', 'a')), '1');
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files larger than the read window, with values straddling chunk edges and one larger than a chunk', async () => {
  const parts: Buffer[] = [cmd('SELECT', '0')];
  const expect = new Map<string, number>();
  let i = 0;
  let total = 0;
  while (total < 30 * 1024 * 1024) {
    const len = (i * 7919) % 200_000;
    const b = cmd('SET', `key:${i}`, Buffer.alloc(len, 97 + (i % 26)));
    parts.push(b);
    expect.set(`key:${i}`, len);
    total += b.length;
    i++;
  }
  parts.push(cmd('SET', 'huge', Buffer.alloc(12 * 1024 * 1024 + 3, 0x7a)));
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', Buffer.concat(parts)]]);
  try {
    const db = await open(conf(dir));
    assert.is(db.call('DBSIZE'), expect.size + 1);
    for (const [k, len] of expect) assert.is(db.call('STRLEN', k), len, k);
    assert.is(db.call('STRLEN', 'huge'), 12 * 1024 * 1024 + 3);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Against real Redis
// ---------------------------------------------------------------------------------------------

if (redisToolsOr('aof-load')) {
  test('redis-server and forkless make the same of a truncated directory (and cut it at the same offset)', async () => {
    const past = String(Date.now() - 60_000);
    const bytes = Buffer.concat([
      SETS, cmd('SET', 'kept', 'v', 'PXAT', past), cmd('PERSIST', 'kept'),
      cmd('MULTI'), cmd('SET', 'in-tx', '1'), cmd('EXEC'),
      cmd('MULTI'), cmd('SET', 'lost', '1'),
    ]);
    const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', bytes]]);
    const copy = tempDir('load-real');
    cpSync(dir, copy, { recursive: true });
    try {
      const db = await open(conf(dir));
      const ours = dumpEmbedded(db);
      await db.close();
      const srv = await startRedis({ dir: copy, args: ['--appendonly', 'yes'] });
      try {
        const c = await RespClient.connect(srv.port);
        const theirs = await dumpServer(c);
        await c.close();
        assertSameDump(ours, theirs, 'truncated directory');
      } finally {
        await srv.stop();
      }
      const name = `${PREFIX}.1.incr.aof`;
      assert.is(statSync(join(dir, 'appendonlydir', name)).size, statSync(join(copy, 'appendonlydir', name)).size);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('redis-server refuses the corrupt directory forkless refuses', async () => {
    const bad = Buffer.from(SETS);
    bad[cmd('SELECT', '0').length + 3] = 0x21;
    const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', Buffer.concat([bad, Buffer.from('garbage\r\n')])]]);
    try {
      const err = await openFails(dir);
      assert.instance(err, CorruptFileError);
      let refused = false;
      try {
        const srv = await startRedis({ dir, args: ['--appendonly', 'yes'] });
        await srv.stop();
      } catch (e) {
        refused = /Bad file format reading the append only file/.test(String(e));
      }
      assert.ok(refused, 'redis-server refused it too');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Appending after load works on the file that was loaded (and its truncated size).
test('writing resumes at the end of the loaded incr file', async () => {
  const dir = makeDir([[`${PREFIX}.1.incr.aof`, 'i', SETS]]);
  try {
    const db: Forkless = await open(conf(dir));
    db.call('SET', 'new', '1');
    await db.durable();
    await db.close();
    const f = join(dir, 'appendonlydir', `${PREFIX}.1.incr.aof`);
    const tail = readFileSync(f).subarray(SETS.length).toString('latin1');
    assert.is(tail, cmd('SELECT', '0').toString('latin1') + cmd('SET', 'new', '1').toString('latin1'));
    appendFileSync(f, ''); // no-op: the file stays valid
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
