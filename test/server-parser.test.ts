import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  COMMAND, NEED_MORE, OVERFLOW, PROTOCOL_ERROR, RespParser, parseLongLong, type ParseResult,
} from '../engine/server/resp-parser.js';
import { splitArgs, reprBytes } from '../engine/server/splitargs.js';

function mb(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

interface Outcome { commands: string[][]; error: string | null; overflow: boolean }

/** Feeds `input` cut at the given positions and collects every command (as latin1 strings). */
function parseChunks(input: Buffer, cuts: number[], p = new RespParser()): Outcome {
  const commands: string[][] = [];
  const kept: Buffer[][] = [];
  let prev = 0;
  const bounds = [...cuts.filter((c) => c > 0 && c < input.length).sort((a, b) => a - b), input.length];
  for (const end of bounds) {
    // Copy each chunk so the test proves the parser does not depend on the caller's buffer.
    p.feed(Buffer.from(input.subarray(prev, end)));
    prev = end;
    for (;;) {
      const r: ParseResult = p.next();
      if (r === NEED_MORE) break;
      if (r === PROTOCOL_ERROR) return { commands, error: p.error, overflow: false };
      if (r === OVERFLOW) return { commands, error: null, overflow: true };
      assert.is(r, COMMAND);
      if (p.argc === 0) continue;
      const argv = p.argv();
      kept.push(argv);
      commands.push(argv.map((a) => a.toString('latin1')));
    }
  }
  // Views handed out earlier must still hold their bytes after everything else was parsed.
  assert.equal(kept.map((a) => a.map((b) => b.toString('latin1'))), commands, 'earlier argv views were overwritten');
  return { commands, error: null, overflow: false };
}

function whole(input: string | Buffer, p?: RespParser): Outcome {
  return parseChunks(typeof input === 'string' ? Buffer.from(input, 'latin1') : input, [], p);
}

test('parseLongLong follows string2ll', () => {
  const n = (s: string): number | null => parseLongLong(Buffer.from(s), 0, s.length);
  assert.is(n('0'), 0);
  assert.is(n('123'), 123);
  assert.is(n('-5'), -5);
  assert.is(n('-0'), null);
  assert.is(n('007'), null);
  assert.is(n('+1'), null);
  assert.is(n(' 1'), null);
  assert.is(n('1 '), null);
  assert.is(n(''), null);
  assert.is(n('-'), null);
  assert.is(n('12a'), null);
  assert.is(n('123456789012345678901'), null);
});

test('multibulk commands, pipelined in one chunk', () => {
  const input = Buffer.concat([mb('SET', 'k', 'v'), mb('GET', 'k'), mb('PING')]);
  assert.equal(whole(input).commands, [['SET', 'k', 'v'], ['GET', 'k'], ['PING']]);
});

test('commands with more arguments than the initial slots (growth keeps the parsed ones)', () => {
  for (const n of [31, 32, 33, 64, 1000, 5000]) {
    const args = Array.from({ length: n }, (_v, i) => `arg${i}`);
    const input = Buffer.concat([mb('DEL', ...args), mb('PING')]);
    assert.equal(whole(input).commands, [['DEL', ...args], ['PING']], `${n} arguments, one chunk`);
    const cuts = Array.from({ length: 7 }, (_v, i) => Math.floor((input.length * (i + 1)) / 8));
    assert.equal(parseChunks(input, cuts).commands, [['DEL', ...args], ['PING']], `${n} arguments, chunked`);
  }
  const inline = Array.from({ length: 70 }, (_v, i) => `w${i}`);
  assert.equal(whole(`ECHO ${inline.join(' ')}\r\n`).commands, [['ECHO', ...inline]]);
});

test('binary-safe arguments, empty arguments and CRLF inside values', () => {
  const bin = Buffer.from([0, 1, 13, 10, 255, 36, 42]);
  const out = whole(Buffer.concat([mb('SET', '', bin), mb('ECHO', '\r\n')]));
  assert.equal(out.commands, [['SET', '', bin.toString('latin1')], ['ECHO', '\r\n']]);
});

test('every split position of a pipeline gives the same commands', () => {
  const input = Buffer.concat([
    mb('SET', 'key:1', 'x'.repeat(100)), mb('GET', 'key:1'), Buffer.from('PING\r\n'),
    mb('MSET', 'a', '1', 'b', '2'), Buffer.from('SET "q k" \'v w\'\n'), mb('ECHO', ''),
  ]);
  const expected = whole(input).commands;
  assert.is(expected.length, 6);
  for (let i = 1; i < input.length; i++) {
    assert.equal(parseChunks(input, [i]).commands, expected, `cut at ${i}`);
  }
  // Byte by byte.
  const cuts = Array.from({ length: input.length }, (_, i) => i);
  assert.equal(parseChunks(input, cuts).commands, expected);
});

test('random pipelines cut at random places', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const cmds: string[][] = [];
    const parts: Buffer[] = [];
    const count = 1 + rnd(20);
    for (let c = 0; c < count; c++) {
      const argc = 1 + rnd(5);
      const args: string[] = [];
      for (let a = 0; a < argc; a++) {
        const len = rnd(10) === 0 ? rnd(70000) : rnd(40);
        args.push(String.fromCharCode(97 + rnd(26)).repeat(len));
      }
      cmds.push(args);
      parts.push(mb(...args));
    }
    const input = Buffer.concat(parts);
    const cuts = Array.from({ length: rnd(30) }, () => rnd(input.length));
    assert.equal(parseChunks(input, cuts).commands, cmds, `round ${round}`);
  }
});

test('a large value split across many chunks', () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
  big[0] = 0x62; big[big.length - 1] = 0x63;
  const input = Buffer.concat([mb('SET', 'big', big), mb('GET', 'big')]);
  const cuts: number[] = [];
  for (let i = 65536; i < input.length; i += 65536) cuts.push(i);
  const out = parseChunks(input, cuts);
  assert.is(out.commands.length, 2);
  assert.is(out.commands[0]![2]!.length, big.length);
  assert.is(out.commands[0]![2], big.toString('latin1'));
  assert.equal(out.commands[1], ['GET', 'big']);
});

test('*0, *-1 and blank inline lines are empty commands', () => {
  const p = new RespParser();
  p.feed(Buffer.from('*0\r\n*-1\r\n\r\n  \r\nPING\r\n'));
  const argcs: number[] = [];
  for (let r = p.next(); r !== NEED_MORE; r = p.next()) argcs.push(p.argc);
  assert.equal(argcs, [0, 0, 0, 0, 1]);
});

test('inline commands: quoting rules of sdssplitargs', () => {
  assert.equal(whole('SET a b\r\n').commands, [['SET', 'a', 'b']]);
  assert.equal(whole('  set   a    b  \n').commands, [['set', 'a', 'b']]);
  assert.equal(whole('SET "a b" \'c d\'\r\n').commands, [['SET', 'a b', 'c d']]);
  assert.equal(whole('ECHO "\\x41\\n\\t\\"\\\\\\q"\r\n').commands, [['ECHO', 'A\n\t"\\q']]);
  assert.equal(whole("ECHO 'it\\'s \\n'\r\n").commands, [['ECHO', "it's \\n"]]);
  assert.equal(whole('ECHO ""\r\n').commands, [['ECHO', '']]);
  assert.equal(whole('ECHO a"b c"\r\n').commands, [['ECHO', 'ab c']]);
  assert.equal(whole('ECHO "\\xZZ"\r\n').commands, [['ECHO', 'xZZ']]);
});

test('inline errors: unbalanced quotes, closing quote not followed by a space', () => {
  assert.is(whole('SET "a b\r\n').error, 'Protocol error: unbalanced quotes in request');
  assert.is(whole("SET 'a\r\n").error, 'Protocol error: unbalanced quotes in request');
  assert.is(whole('SET "a"b\r\n').error, 'Protocol error: unbalanced quotes in request');
  // Commands before the bad line still come out.
  const out = whole('PING\r\nECHO "x\r\n');
  assert.equal(out.commands, [['PING']]);
  assert.is(out.error, 'Protocol error: unbalanced quotes in request');
});

test('protocol errors with Redis texts', () => {
  assert.is(whole('*x\r\n').error, 'Protocol error: invalid multibulk length');
  assert.is(whole('*3000000000\r\n').error, 'Protocol error: invalid multibulk length');
  assert.is(whole('*1\r\n:3\r\n').error, "Protocol error: expected '$', got ':'");
  assert.is(whole('*1\r\n$x\r\n').error, 'Protocol error: invalid bulk length');
  assert.is(whole('*1\r\n$-1\r\n').error, 'Protocol error: invalid bulk length');
  assert.is(whole('*1\r\n$536870913\r\n').error, 'Protocol error: invalid bulk length');
  assert.is(whole('x'.repeat(70 * 1024)).error, 'Protocol error: too big inline request');
  assert.is(whole('*' + '1'.repeat(70 * 1024)).error, 'Protocol error: too big mbulk count string');
  assert.is(whole('*1\r\n$' + '1'.repeat(70 * 1024)).error, 'Protocol error: too big bulk count string');
});

test('limits: proto-max-bulk-len, query buffer, unauthenticated clients', () => {
  const p = new RespParser({ maxBulkLen: 10, maxQueryBuffer: 1 << 30 });
  assert.is(whole(mb('SET', 'k', '01234567890'), p).error, 'Protocol error: invalid bulk length');
  const q = new RespParser({ maxBulkLen: 1 << 29, maxQueryBuffer: 1000 });
  const big = mb('SET', 'k', 'v'.repeat(5000));
  assert.ok(parseChunks(big, [10, 500, 1500], q).overflow);
  const u = new RespParser();
  u.authRequired = true;
  assert.is(whole(mb('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'), u).error, 'Protocol error: unauthenticated multibulk length');
  const u2 = new RespParser();
  u2.authRequired = true;
  assert.is(whole(mb('AUTH', 'x'.repeat(16385)), u2).error, 'Protocol error: unauthenticated bulk length');
  const u3 = new RespParser();
  u3.authRequired = true;
  assert.equal(whole(mb('AUTH', 'x'.repeat(16384)), u3).commands.length, 1);
});

test('argv views of earlier commands survive later carries', () => {
  // Many small straddling commands: the carry region is reused behind handed-out views.
  const parts: Buffer[] = [];
  const expected: string[][] = [];
  for (let i = 0; i < 3000; i++) {
    const v = `value-${i}-` + 'z'.repeat(i % 50);
    parts.push(mb('SET', `key${i}`, v));
    expected.push(['SET', `key${i}`, v]);
  }
  const input = Buffer.concat(parts);
  const cuts: number[] = [];
  for (let i = 7; i < input.length; i += 97) cuts.push(i);
  assert.equal(parseChunks(input, cuts).commands, expected);
});

test('inline lines: the zero-copy fast path splits exactly like splitArgs', () => {
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', 'b', ' ', ' ', '\t', '\r', '\v', '\f', '"', "'", '\\', 'x', '\0'];
  for (let i = 0; i < 3000; i++) {
    let line = '';
    const len = rnd(12);
    for (let j = 0; j < len; j++) line += alphabet[rnd(alphabet.length)];
    if (line.trim() === '' || line.startsWith('*')) continue;
    const bytes = Buffer.from(line + '\n', 'latin1');
    const expected = splitArgs(bytes, 0, bytes.length - 1 - (line.endsWith('\r') ? 1 : 0));
    const out = whole(bytes);
    if (expected === null) {
      assert.is(out.error, 'Protocol error: unbalanced quotes in request', JSON.stringify(line));
    } else {
      assert.equal(out.commands, expected.length === 0 ? [] : [expected.map((b) => b.toString('latin1'))], JSON.stringify(line));
    }
  }
});

test('fuzz: arbitrary input never throws, and chunking never changes the outcome', () => {
  let seed = 4242;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const fragments = ['*', '$', '\r\n', '\r', '\n', '0', '1', '2', '3', '-1', '10', 'SET', 'a', ' ', '"', "'", '\\x4', '\0',
    '*1\r\n$4\r\nPING\r\n', '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', 'PING\r\n', '*3\r\n', '$3\r\nabc\r\n', '$0\r\n\r\n'];
  for (let round = 0; round < 3000; round++) {
    let text = '';
    const n = 1 + rnd(25);
    for (let i = 0; i < n; i++) {
      text += rnd(8) === 0 ? String.fromCharCode(rnd(256)) : fragments[rnd(fragments.length)]!;
    }
    const input = Buffer.from(text, 'latin1');
    const reference = whole(input);
    const cuts = Array.from({ length: 1 + rnd(6) }, () => rnd(input.length + 1));
    const chunked = parseChunks(input, cuts);
    assert.equal(chunked, reference, JSON.stringify(text));
  }
});

test('splitArgs and repr round trip', () => {
  const raw = Buffer.from([0x61, 0x20, 0x22, 0x5c, 0x0a, 0xff, 0x00]);
  const quoted = reprBytes(raw);
  assert.is(quoted, '"a \\"\\\\\\n\\xff\\x00"');
  const back = splitArgs(Buffer.from(quoted));
  assert.ok(back !== null);
  assert.equal([...back![0]!], [...raw]);
});

test.run();
