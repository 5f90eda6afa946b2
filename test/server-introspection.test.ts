/**
 * Introspection commands against a real redis-server 7.0: COMMAND INFO / DOCS / GETKEYS / LIST /
 * COUNT for every command forkless has (facts compared exactly; summaries, complexity texts,
 * history and key-spec notes are Redis's prose and not copied), SLOWLOG, LATENCY, OBJECT,
 * MEMORY USAGE, DEBUG (OBJECT, RELOAD, SLEEP, SET-ACTIVE-EXPIRE, refusals), FUNCTION FLUSH and
 * the INFO fields the server owns. Plus a table self-check: every row's arity and key range agree
 * with the generated metadata.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameClient, haveRedisServer, normalize, runSession, show, startPair, type Pair, type Session } from './support/dual.js';
import { MapReply, SetReply, type Reply } from '../engine/commands/types.js';
import { showReply, type Arg } from './support/resp-client.js';
import { Engine } from '../engine/engine.js';
import { COMMAND_META } from '../engine/commands/command-meta.js';

const withRedis = haveRedisServer() ? test : test.skip;
const DEBUG_ON = { redisArgs: ['--enable-debug-command', 'yes'], settings: { 'enable-debug-command': 'yes' } };

/** Our command names, subcommands included ("config|get"), from the engine's own table. */
function ourCommands(): string[] {
  const e = new Engine({ save: '', appendonly: 'no' });
  const out: string[] = [];
  for (const s of e.dispatcher.specs()) {
    out.push(s.name);
    for (const sub of s.subcommands ?? []) out.push(`${s.name}|${sub.name}`);
  }
  return out.sort();
}

/** Drops key-spec notes (Redis prose) and sorts subcommand lists (Redis iterates a hash table). */
function canonInfo(r: Reply, keepSubs: ReadonlySet<string> | null): Reply {
  if (!Array.isArray(r) || r.length !== 10) return r;
  const items = (x: Reply): Reply[] => (Array.isArray(x) ? x : x instanceof SetReply ? x.items : []);
  const pairs = (x: Reply): Array<[Reply, Reply]> => {
    if (x instanceof MapReply) return x.entries;
    const a = items(x);
    const out: Array<[Reply, Reply]> = [];
    for (let i = 0; i + 1 < a.length; i += 2) out.push([a[i]!, a[i + 1]!]);
    return out;
  };
  const specs = items(r[8]!).map((k) => new MapReply(pairs(k).filter(([key]) => String(key) !== 'notes')));
  let subs = (r[9] as Reply[]).map((s) => canonInfo(s, null));
  if (keepSubs !== null) subs = subs.filter((s) => keepSubs.has(String((s as Reply[])[0])));
  subs.sort((a, b) => (String((a as Reply[])[0]) < String((b as Reply[])[0]) ? -1 : 1));
  return [r[0]!, r[1]!, items(r[2]!), r[3]!, r[4]!, r[5]!, items(r[6]!), items(r[7]!), specs, subs];
}

/** COMMAND DOCS entry without Redis's prose (summary, complexity, history, replaced_by). */
function canonDocs(r: Reply, keepSubs: ReadonlySet<string> | null): Reply {
  if (!(r instanceof MapReply) && !Array.isArray(r)) return r;
  const entries: Array<[Reply, Reply]> = r instanceof MapReply ? r.entries : [];
  if (Array.isArray(r)) for (let i = 0; i + 1 < r.length; i += 2) entries.push([r[i]!, r[i + 1]!]);
  const out: Array<[Reply, Reply]> = [];
  for (const [k, v] of entries) {
    const key = String(k);
    if (['summary', 'complexity', 'history', 'replaced_by'].includes(key)) continue;
    if (key === 'subcommands') {
      const subs: Array<[Reply, Reply]> = [];
      const list = v instanceof MapReply ? v.entries : [];
      if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) list.push([v[i]!, v[i + 1]!]);
      for (const [name, doc] of list) if (keepSubs === null || keepSubs.has(String(name))) subs.push([name, canonDocs(doc, null)]);
      subs.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
      out.push([k, new MapReply(subs)]);
      continue;
    }
    out.push([k, v]);
  }
  return new MapReply(out);
}

async function both(pair: Pair, ...argv: Arg[]): Promise<[Reply | undefined, Reply | undefined]> {
  const [r, f] = await pair.clients();
  try {
    return [await r.call(...argv), await f.call(...argv)];
  } finally {
    r.close();
    f.close();
  }
}

withRedis('COMMAND INFO and COMMAND DOCS match Redis for every command forkless has', async () => {
  const pair = await startPair();
  try {
    const names = ourCommands();
    const ours = new Set(names);
    const missingSubs: string[] = [];
    const [r, f] = await pair.clients();
    for (const name of names.filter((n) => !n.includes('|'))) {
      const theirs = (await r.call('COMMAND', 'INFO', name)) as Reply[];
      const mine = (await f.call('COMMAND', 'INFO', name)) as Reply[];
      const a = canonInfo(theirs[0]!, ours), b = canonInfo(mine[0]!, ours);
      assert.is(showReply(b), showReply(a), `COMMAND INFO ${name}`);
      for (const s of ((theirs[0] as Reply[])[9] as Reply[])) {
        const sub = String((s as Reply[])[0]);
        if (!ours.has(sub)) missingSubs.push(sub);
      }
      const dt = await r.call('COMMAND', 'DOCS', name), df = await f.call('COMMAND', 'DOCS', name);
      const docsT = canonDocs((dt instanceof MapReply ? dt.entries[0]![1] : (dt as Reply[])[1]!), ours);
      const docsF = canonDocs((df instanceof MapReply ? df.entries[0]![1] : (df as Reply[])[1]!), ours);
      assert.is(showReply(docsF), showReply(docsT), `COMMAND DOCS ${name}`);
    }
    for (const name of names.filter((n) => n.includes('|'))) {
      const theirs = (await r.call('COMMAND', 'INFO', name)) as Reply[];
      const mine = (await f.call('COMMAND', 'INFO', name)) as Reply[];
      assert.is(showReply(canonInfo(mine[0]!, null)), showReply(canonInfo(theirs[0]!, null)), `COMMAND INFO ${name}`);
    }
    if (missingSubs.length > 0) console.log(`  subcommands Redis has and forkless does not: ${missingSubs.sort().join(', ')}`);
    // The whole list, as a set: every one of ours is in Redis's list.
    const listT = new Set(((await r.call('COMMAND', 'LIST')) as Buffer[]).map(String));
    const listF = ((await f.call('COMMAND', 'LIST')) as Buffer[]).map(String);
    assert.equal(listF.filter((n) => !listT.has(n)), [], 'commands Redis does not have');
    assert.equal([...listF].sort(), names);
    assert.is(await f.call('COMMAND', 'COUNT'), names.filter((n) => !n.includes('|')).length);
    assert.is(((await f.call('COMMAND')) as Reply[]).length, names.filter((n) => !n.includes('|')).length);
    r.close();
    f.close();
  } finally {
    await pair.stop();
  }
});

withRedis('COMMAND GETKEYS / GETKEYSANDFLAGS / LIST FILTERBY / errors match Redis', async () => {
  const pair = await startPair();
  const ours = new Set(ourCommands());
  const cases: Arg[][] = [
    ['COMMAND', 'GETKEYS', 'GET', 'k'], ['COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'], ['COMMAND', 'GETKEYS', 'DEL', 'a', 'b', 'c'],
    ['COMMAND', 'GETKEYS', 'SET', 'k', 'v', 'EX', '10'], ['COMMAND', 'GETKEYSANDFLAGS', 'SET', 'k', 'v'], ['COMMAND', 'GETKEYSANDFLAGS', 'SET', 'k', 'v', 'GET'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'RENAME', 'a', 'b'], ['COMMAND', 'GETKEYSANDFLAGS', 'COPY', 'a', 'b', 'DB', '1'], ['COMMAND', 'GETKEYSANDFLAGS', 'LCS', 'a', 'b'],
    ['COMMAND', 'GETKEYS', 'OBJECT', 'ENCODING', 'k'], ['COMMAND', 'GETKEYS', 'MEMORY', 'USAGE', 'k'], ['COMMAND', 'GETKEYS', 'WATCH', 'x', 'y'],
    ['COMMAND', 'GETKEYS', 'SSUBSCRIBE', 'x'], ['COMMAND', 'GETKEYS', 'SPUBLISH', 'ch', 'm'],
    ['COMMAND', 'GETKEYS', 'PING'], ['COMMAND', 'GETKEYS', 'NOSUCH', 'x'], ['COMMAND', 'GETKEYS', 'GET'], ['COMMAND', 'GETKEYS', 'GET', 'a', 'b'],
    ['COMMAND', 'GETKEYS', 'MSET', 'a'], ['COMMAND', 'GETKEYS'], ['COMMAND', 'GETKEYS', 'CONFIG', 'GET', 'x'],
    ['COMMAND', 'INFO', 'nosuch', 'GET', 'config|get', 'CONFIG|GET', 'get|x'], ['COMMAND', 'DOCS', 'nosuch'],
    ['COMMAND', 'LIST', 'FILTERBY'], ['COMMAND', 'LIST', 'FILTERBY', 'ACLCAT'], ['COMMAND', 'LIST', 'FILTERBY', 'FOO', 'x'], ['COMMAND', 'LIST', 'X'],
    ['COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'none'], ['COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'nosuchcat'],
    ['COMMAND', 'FOO'], ['COMMAND', 'HELP'], ['COMMAND', 'COUNT', 'x'],
  ];
  try {
    for (const argv of cases) {
      const [a, b] = await both(pair, ...argv);
      assert.is(show([b]), show([a]), argv.join(' '));
    }
    // Filters, restricted to the commands forkless has.
    for (const f of [['ACLCAT', 'string'], ['ACLCAT', 'PUBSUB'], ['ACLCAT', 'dangerous'], ['ACLCAT', 'fast'], ['PATTERN', 'c*'], ['PATTERN', 'CONFIG|*'], ['PATTERN', '*|help']]) {
      const [a, b] = await both(pair, 'COMMAND', 'LIST', 'FILTERBY', ...f);
      const theirs = (a as Buffer[]).map(String).filter((n) => ours.has(n)).sort();
      assert.equal((b as Buffer[]).map(String).sort(), theirs, `FILTERBY ${f.join(' ')}`);
    }
  } finally {
    await pair.stop();
  }
});

test('command table rows agree with the generated Redis metadata', () => {
  const e = new Engine({ save: '', appendonly: 'no' });
  const check = (spec: { name: string; arity: number; firstKey: number; lastKey: number; step: number; subcommands?: readonly unknown[] }, full: string): void => {
    const m = COMMAND_META[full];
    if (m === undefined) return;
    assert.is(spec.arity, m.arity, `${full} arity`);
    if (m.keySpecs.length === 1 && m.keySpecs[0]!.bs.type === 'index' && m.keySpecs[0]!.fk.type === 'range') {
      assert.equal([spec.firstKey, spec.lastKey, spec.step], m.range, `${full} key range`);
    }
  };
  for (const s of e.dispatcher.specs()) {
    check(s, s.name);
    for (const sub of s.subcommands ?? []) check(sub, `${s.name}|${sub.name}`);
  }
});

const SESSIONS: Session[] = [
  { name: 'OBJECT and MEMORY USAGE on strings', steps: [
    ...['0', '9999', '10000', '-1', '-9999', '123456789', '9223372036854775807', '9223372036854775808', '-9223372036854775808',
      '01', '+1', '-0', ' 1', '1 ', '1.5', '', 'a', 'x'.repeat(12), 'x'.repeat(13), 'x'.repeat(28), 'x'.repeat(29), 'x'.repeat(44),
      'x'.repeat(45), 'x'.repeat(60), 'x'.repeat(100), 'x'.repeat(255), 'x'.repeat(300), 'x'.repeat(4000), 'x'.repeat(70000)]
      .flatMap((v): Arg[][] => [['SET', 'k', v], ['OBJECT', 'ENCODING', 'k'], ['OBJECT', 'REFCOUNT', 'k'], ['MEMORY', 'USAGE', 'k'], ['STRLEN', 'k']]),
    ...[1, 20, 31, 32, 60, 255, 256, 300].flatMap((n): Arg[][] => [['SET', 'k'.repeat(n), 'v'], ['MEMORY', 'USAGE', 'k'.repeat(n)]]),
    // Values Redis does not re-encode: APPEND to an existing key, SETRANGE, INCRBYFLOAT.
    ['DEL', 'ap'], ['APPEND', 'ap', '12'], ['OBJECT', 'ENCODING', 'ap'], ['APPEND', 'ap', '34'], ['OBJECT', 'ENCODING', 'ap'],
    ['OBJECT', 'REFCOUNT', 'ap'], ['APPEND', 'ap', ''], ['OBJECT', 'ENCODING', 'ap'], ['SET', 'ap', '99'],
    ['OBJECT', 'ENCODING', 'ap'], ['SETRANGE', 'sr', '0', '5'], ['OBJECT', 'ENCODING', 'sr'], ['MEMORY', 'USAGE', 'sr'], ['INCR', 'sr'],
    ['OBJECT', 'ENCODING', 'sr'], ['SET', 'fl', '10'], ['INCRBYFLOAT', 'fl', '1'], ['OBJECT', 'ENCODING', 'fl'], ['OBJECT', 'REFCOUNT', 'fl'],
    ['MEMORY', 'USAGE', 'fl'], ['INCRBYFLOAT', 'fl', '0.5'], ['OBJECT', 'ENCODING', 'fl'], ['SET', 'big', 'x'.repeat(50)],
    ['SETRANGE', 'big', '0', 'y'], ['OBJECT', 'ENCODING', 'big'], ['MEMORY', 'USAGE', 'big'], ['DEBUG', 'OBJECT', 'ap'],
    ['OBJECT', 'ENCODING', 'nokey'], ['OBJECT', 'REFCOUNT', 'nokey'], ['OBJECT', 'IDLETIME', 'nokey'], ['OBJECT', 'FREQ', 'nokey'],
    ['SET', 'n', '5'], ['OBJECT', 'IDLETIME', 'n'], ['OBJECT', 'FREQ', 'n'], ['OBJECT', 'HELP'], ['OBJECT'], ['OBJECT', 'FOO', 'k'],
    ['OBJECT', 'ENCODING'], ['OBJECT', 'ENCODING', 'a', 'b'],
    ['MEMORY', 'USAGE', 'nokey'], ['MEMORY', 'USAGE', 'n', 'SAMPLES', '5'], ['MEMORY', 'USAGE', 'n', 'SAMPLES', '0'], ['MEMORY', 'USAGE', 'n', 'SAMPLES', '-1'],
    ['MEMORY', 'USAGE', 'n', 'SAMPLES', 'x'], ['MEMORY', 'USAGE', 'n', 'FOO'], ['MEMORY', 'USAGE'], ['MEMORY', 'HELP'],
    ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'], ['SET', 'f', '7'], ['OBJECT', 'FREQ', 'f'], ['OBJECT', 'IDLETIME', 'f'],
    ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'], ['OBJECT', 'FREQ', 'f'], ['OBJECT', 'REFCOUNT', 'f'],
    ['CONFIG', 'SET', 'maxmemory', '100mb'], ['SET', 'f', '7'], ['OBJECT', 'REFCOUNT', 'f'], ['CONFIG', 'SET', 'maxmemory', '0'],
    ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']] },
  { name: 'DEBUG OBJECT, SLEEP, SET-ACTIVE-EXPIRE, RELOAD', clients: 2, steps: [
    ...['1', '300', 'hello', 'x'.repeat(21), 'ab'.repeat(60), Buffer.alloc(200, 7)]
      .flatMap((v): Arg[][] => [['SET', 'k', v], ['DEBUG', 'OBJECT', 'k']]),
    ['DEBUG', 'OBJECT', 'nokey'], ['DEBUG', 'OBJECT'], ['DEBUG', 'SLEEP', '0'], ['DEBUG', 'SLEEP', '0.05'], ['DEBUG', 'SLEEP'],
    ['DEBUG', 'SET-ACTIVE-EXPIRE', '0'], ['SET', 'e', 'v', 'PX', '10'], { sleep: 150 }, ['DBSIZE'], ['DEBUG', 'SET-ACTIVE-EXPIRE', '1'],
    ['MSET', 'a', '1', 'b', 'two', 'c', 'x'.repeat(100)], ['SET', 't', 'v', 'EX', '1000'], ['WATCH', 'a'],
    { c: 1, argv: ['DEBUG', 'RELOAD'] }, ['MULTI'], ['MGET', 'a', 'b', 'c'], ['EXEC'], ['DBSIZE'], ['TTL', 't'], ['MGET', 'a', 'b', 'c'],
    ['DEBUG', 'RELOAD', 'NOSAVE'], ['DBSIZE'], ['SET', 'extra', '1'], ['DEBUG', 'RELOAD', 'NOSAVE', 'NOFLUSH', 'MERGE'], ['GET', 'extra'], ['DBSIZE'],
    ['DEBUG', 'RELOAD', 'BOGUS'], ['DEBUG', 'FROB'], ['DEBUG', 'LOG', 'hello from the test'], ['DEBUG']] },
  { name: 'FUNCTION FLUSH', steps: [
    ['FUNCTION', 'FLUSH'], ['FUNCTION', 'FLUSH', 'ASYNC'], ['FUNCTION', 'FLUSH', 'sync'], ['FUNCTION', 'FLUSH', 'x'], ['FUNCTION', 'FLUSH', 'a', 'b'],
    ['FUNCTION'], ['MULTI'], ['FUNCTION', 'FLUSH'], ['EXEC']] },
  { name: 'SLOWLOG', clients: 2, steps: [
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '0'], ['SLOWLOG', 'RESET'], ['SET', 'k', 'v'], { c: 1, argv: ['CLIENT', 'SETNAME', 'named'] },
    { c: 1, argv: ['GET', 'k'] }, ['SET', 'long', 'y'.repeat(200)], ['DEL', ...Array.from({ length: 40 }, (_v, i) => `key${i}`)],
    ['MULTI'], ['INCR', 'n'], ['EXEC'], { c: 1, argv: ['AUTH', 'secret'] }, ['SLOWLOG', 'LEN'], ['SLOWLOG', 'GET', '3'],
    ['SLOWLOG', 'GET', '-1'], ['SLOWLOG', 'GET', '-2'], ['SLOWLOG', 'GET', 'x'], ['SLOWLOG', 'GET', '1', '2'], ['SLOWLOG', 'LEN', 'x'],
    ['SLOWLOG', 'HELP'], ['SLOWLOG', 'FOO'], ['CONFIG', 'SET', 'slowlog-max-len', '2'], ['SLOWLOG', 'LEN'], ['PING'], ['SLOWLOG', 'LEN'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '-1'], ['SLOWLOG', 'RESET'], ['PING'], ['SLOWLOG', 'LEN'],
    ['CONFIG', 'SET', 'slowlog-log-slower-than', '10000'], ['CONFIG', 'SET', 'slowlog-max-len', '128']] },
  { name: 'LATENCY', steps: [
    ['LATENCY', 'RESET'], ['LATENCY', 'LATEST'], ['CONFIG', 'SET', 'latency-monitor-threshold', '50'], ['DEBUG', 'SLEEP', '0'],
    ['LATENCY', 'LATEST'], ['LATENCY', 'HISTORY', 'command'], ['LATENCY', 'RESET', 'nosuch'], ['LATENCY', 'HELP'], ['LATENCY', 'FOO'],
    ['LATENCY', 'LATEST', 'x'], ['LATENCY', 'HISTORY'], ['CONFIG', 'SET', 'latency-monitor-threshold', '0']] },
  { name: 'INFO fields the server owns', clients: 2, steps: [
    { c: 1, argv: ['SUBSCRIBE', 'a', 'b'], frames: 2 }, { c: 1, argv: ['PSUBSCRIBE', 'p*'], frames: 1 }] },
];

/** Durations, times, ids and lru clocks in these replies differ run to run: keep their shape. */
function normalizeIntro(s: string): string {
  return normalize(s)
    .replace(/Value at:0x[0-9a-f]+/g, 'Value at:P').replace(/lru:\d+/g, 'lru:L').replace(/lru_seconds_idle:\d+/g, 'lru_seconds_idle:I')
    .replace(/\[:\d+, :\d+, :\d+, \[/g, '[:ID, :TS, :US, [')
    .replace(/\["command", :\d+, :\d+, :\d+\]/g, '["command", :TS, :MS, :MS]')
    .replace(/"127\.0\.0\.1:\d+"/g, '"PEER"');
}

withRedis('OBJECT, MEMORY USAGE, DEBUG, FUNCTION FLUSH, SLOWLOG, LATENCY: replies identical to Redis', async () => {
  const pair = await startPair(DEBUG_ON);
  try {
    for (const c of SESSIONS) {
      const theirs = (await runSession(c, pair.redisPort)).map(normalizeIntro);
      const ours = (await runSession(c, pair.ours.port)).map(normalizeIntro);
      for (let i = 0; i < Math.max(theirs.length, ours.length); i++) {
        assert.is(ours[i], theirs[i], `[${c.name}] step ${i}\n  ours:  ${ours[i]}\n  redis: ${theirs[i]}`);
      }
    }
  } finally {
    await pair.stop();
  }
});

withRedis('LATENCY records slow commands as Redis does', async () => {
  const pair = await startPair(DEBUG_ON);
  try {
    for (const port of [pair.redisPort, pair.ours.port]) {
      const c = await FrameClient.connect(port);
      await c.call('CONFIG', 'SET', 'latency-monitor-threshold', '20');
      await c.call('LATENCY', 'RESET');
      await c.call('DEBUG', 'SLEEP', '0.03');
      await c.call('PING');
      const latest = (await c.call('LATENCY', 'LATEST')) as Reply[];
      assert.is(latest.length, 1, `port ${port}`);
      const [event, , last, max] = latest[0] as [Buffer, number, number, number];
      assert.is(String(event), 'command');
      assert.ok(last >= 30 && max >= 30, `latency ${last}/${max}`);
      assert.is(((await c.call('LATENCY', 'HISTORY', 'command')) as Reply[]).length, 1);
      assert.is(await c.call('LATENCY', 'RESET', 'command', 'COMMAND'), 1);
      c.close();
    }
  } finally {
    await pair.stop();
  }
});

withRedis('DEBUG is refused unless enable-debug-command allows it', async () => {
  const pair = await startPair();
  try {
    for (const argv of [['DEBUG', 'SLEEP', '0'], ['DEBUG', 'FOO'], ['DEBUG', 'HELP']]) {
      const [a, b] = await both(pair, ...argv);
      assert.is(show([b]), show([a]), argv.join(' '));
    }
    const [r, f] = await pair.clients();
    for (const cl of [r, f]) for (const argv of [['MULTI'], ['DEBUG', 'SLEEP', '0'], ['EXEC']]) cl.send(...argv);
    assert.is(show(await f.next(3)), show(await r.next(3)));
  } finally {
    await pair.stop();
  }
});

withRedis('INFO: pubsub, clients, config_file, instantaneous figures', async () => {
  const pair = await startPair();
  try {
    const [r, f] = await pair.clients();
    const [r2, f2] = await pair.clients();
    for (const cl of [r2, f2]) {
      cl.send('SUBSCRIBE', 'a', 'b');
      await cl.next(2);
      cl.send('PSUBSCRIBE', 'p*');
      await cl.next(1);
    }
    const field = async (cl: FrameClient, name: string): Promise<string> => {
      const text = String(await cl.call('INFO', 'everything'));
      return /(?:^|\r\n)([a-z_]+):/.test(text) ? (new RegExp(`${name}:([^\\r]*)`).exec(text)?.[1] ?? 'MISSING') : 'BAD';
    };
    for (const name of ['pubsub_channels', 'pubsub_patterns', 'connected_clients', 'config_file', 'blocked_clients', 'tracking_clients']) {
      assert.is(await field(f, name), await field(r, name), name);
    }
    for (let i = 0; i < 300; i++) await f.call('PING');
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(Number(await field(f, 'instantaneous_ops_per_sec')) >= 0);
    assert.ok(Number(await field(f, 'total_reads_processed')) > 300);
    assert.ok(Number(await field(f, 'total_writes_processed')) > 300);
    assert.match(normalizeIntro(show([await f.call('INFO', 'commandstats')])), /cmdstat_subscribe:calls=1,/);
  } finally {
    await pair.stop();
  }
});

test.run();
