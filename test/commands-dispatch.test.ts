// The Dispatcher: lookup, arity, Redis's error texts, stats, propagation defaults, nesting, speed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Dispatcher } from '../engine/commands/dispatch.js';
import type { EngineLike } from '../engine/commands/engine-like.js';
import { buildCommandTable } from '../engine/commands/table.js';
import type { ClientState, CommandSpec, Handler, Reply } from '../engine/commands/types.js';
import { Errors, ReplyError } from '../engine/errors.js';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { ModelKeyspace } from './support/model-keyspace.js';
import { toArgv } from './support/command-harness.js';

interface FakeEngine { keyspace: ModelKeyspace; databases: number; afterFlushAll(): void; inner: Dispatcher<FakeEngine> | null }

function spec(name: string, arity: number, handler: Handler<FakeEngine>, extra: Partial<CommandSpec<FakeEngine>> = {}): CommandSpec<FakeEngine> {
  return { name, arity, flags: [], firstKey: 0, lastKey: 0, step: 0, group: 'test', since: '0', summary: '', handler, ...extra };
}

function setup(): { d: Dispatcher<FakeEngine>; client: ClientState; run: (...a: string[]) => Reply } {
  const engine: FakeEngine = { keyspace: new ModelKeyspace(), databases: 16, afterFlushAll() {}, inner: null };
  const rows: CommandSpec<FakeEngine>[] = [
    spec('noop', 1, () => 'OK'),
    spec('echo2', -2, (_c, argv) => argv.slice(1)),
    spec('fail', 1, () => { throw new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'); }),
    spec('failret', 1, () => new ReplyError('ERR returned error')),
    spec('nospace', 1, () => { throw new ReplyError('NOSPACEINTHISERRORCODEWHICHISVERYLONG'); }),
    spec('boom', 1, () => { throw new TypeError('bug'); }),
    spec('w', -2, (ctx) => { ctx.dirty(); return 'OK'; }, { flags: ['write'] }),
    spec('wclean', -2, () => 'OK', { flags: ['write'] }),
    spec('wrewrite', -2, (ctx, argv) => { ctx.dirty(); ctx.propagate(['SET', argv[1]!, 'x']); ctx.propagate(['DEL', argv[1]!], 3); return 'OK'; }, { flags: ['write'] }),
    spec('rprop', 1, (ctx) => { ctx.propagate(['PUBLISH', 'c', 'm']); return 1; }),
    spec('nest', -2, (ctx, argv) => {
      const inner = ctx.engine.inner!.dispatch(ctx.client, argv.slice(1));
      ctx.dirty(); // after the nested call, the outer context must still be ours
      return [inner.reply, ctx.now];
    }, { flags: ['write'] }),
    spec('config', -2, () => { throw new Error('container handler must not run'); }, {
      subcommands: [
        spec('config|get', -3, (_c, argv) => argv.slice(2)),
        spec('set', -4, () => 'OK'),
      ],
    }),
  ];
  const d = new Dispatcher<FakeEngine>(engine, rows);
  engine.inner = d;
  const client: ClientState = { id: 1, db: 0, resp: 2, name: null, multi: null };
  return { d, client, run: (...a) => d.dispatch(client, toArgv(a), 1000).reply };
}

function errMsg(r: Reply): string {
  assert.instance(r, ReplyError);
  return (r as ReplyError).message;
}

test('lookup is case-insensitive and byte-exact', () => {
  const { run } = setup();
  assert.is(run('NOOP'), 'OK');
  assert.is(run('nOoP'), 'OK');
  assert.is(errMsg(run('noop\0')), "ERR unknown command 'noop', with args beginning with: ");
  assert.is(errMsg(run('noo')), "ERR unknown command 'noo', with args beginning with: ");
});

test('unknown command text: quotes, 128-byte caps, NUL cut, newlines blanked', () => {
  const { run } = setup();
  assert.is(errMsg(run('foo', 'a', 'b')), "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
  assert.is(errMsg(run('foo')), "ERR unknown command 'foo', with args beginning with: ");
  const long = 'x'.repeat(200);
  assert.is(errMsg(run(long)), `ERR unknown command '${'x'.repeat(128)}', with args beginning with: `);
  // args: each quoted arg is cut so the running text stays within 128 bytes, then the loop stops
  assert.is(errMsg(run('foo', long, 'b')), `ERR unknown command 'foo', with args beginning with: '${'x'.repeat(128)}' `);
  assert.is(errMsg(run('foo', 'x'.repeat(120), 'abcdefghijkl', 'z')),
    `ERR unknown command 'foo', with args beginning with: '${'x'.repeat(120)}' 'abcde' `);
  assert.is(errMsg(run('foo', 'a\0b', 'c\r\nd')), "ERR unknown command 'foo', with args beginning with: 'a' 'c  d' ");
});

test('arity errors use the full name; containers route by subcommand', () => {
  const { run } = setup();
  assert.is(errMsg(run('noop', 'x')), "ERR wrong number of arguments for 'noop' command");
  assert.is(errMsg(run('echo2')), "ERR wrong number of arguments for 'echo2' command");
  assert.equal(run('echo2', 'a', 'b'), [Buffer.from('a'), Buffer.from('b')]);
  assert.is(errMsg(run('config')), "ERR wrong number of arguments for 'config' command");
  assert.is(errMsg(run('config', 'get')), "ERR wrong number of arguments for 'config|get' command");
  assert.equal(run('CONFIG', 'GET', 'x'), [Buffer.from('x')]);
  assert.is(run('config', 'Set', 'a', 'b'), 'OK');
  assert.is(errMsg(run('config', 'foo')), "ERR unknown subcommand 'foo'. Try CONFIG HELP.");
  assert.is(errMsg(run('Config', 'foo')), "ERR unknown subcommand 'foo'. Try CONFIG HELP.");
});

test('stats: calls, failed, rejected, errorstats', () => {
  const { d, run } = setup();
  run('noop'); run('noop'); run('noop', 'extra'); run('fail'); run('failret'); run('nospace'); run('nope');
  run('config', 'get'); run('config', 'get', 'a'); run('config', 'x');
  const s = (n: string) => d.commandStats.get(n)!;
  assert.equal([s('noop').calls, s('noop').rejectedCalls, s('noop').failedCalls], [2, 1, 0]);
  assert.equal([s('fail').calls, s('fail').failedCalls], [1, 1]);
  assert.equal([s('failret').calls, s('failret').failedCalls], [1, 1]);
  assert.equal([s('config|get').calls, s('config|get').rejectedCalls], [1, 1]);
  assert.ok(s('noop').usec >= 0);
  assert.is(d.errorStats.get('ERR'), 6); // arity ×2, failret, nospace (no code found), unknown cmd, unknown sub
  assert.is(d.errorStats.get('WRONGTYPE'), 1);
  assert.is(d.totalErrorReplies, 7);
  d.resetStats();
  assert.is(s('noop').calls, 0);
  assert.is(d.totalErrorReplies, 0);
});

test('non-ReplyError exceptions propagate and are counted as failed', () => {
  const { d, run } = setup();
  assert.throws(() => run('boom'), /bug/);
  assert.is(d.commandStats.get('boom')!.failedCalls, 1);
  assert.is(run('noop'), 'OK'); // dispatcher still usable (depth restored)
});

test('propagation: default argv for dirty writes, explicit rewrites, nothing otherwise', () => {
  const { d, client } = setup();
  const go = (...a: string[]) => {
    const r = d.dispatch(client, toArgv(a), 1);
    return { dirty: r.dirty, props: r.propagated.map((p) => [p.db, p.argv.map(String).join(' ')]) };
  };
  client.db = 2;
  assert.equal(go('w', 'k'), { dirty: 1, props: [[2, 'w k']] });
  assert.equal(go('wclean', 'k'), { dirty: 0, props: [] });
  assert.equal(go('wrewrite', 'k'), { dirty: 1, props: [[2, 'SET k x'], [3, 'DEL k']] });
  assert.equal(go('rprop'), { dirty: 0, props: [[2, 'PUBLISH c m']] });
  assert.equal(go('noop'), { dirty: 0, props: [] });
});

test('nested dispatch keeps the outer context', () => {
  const { run } = setup();
  const r = run('nest', 'echo2', 'z') as Reply[];
  assert.equal(r, [[Buffer.from('z')], 1000]);
});

test('duplicate names are refused', () => {
  const rows = buildCommandTable();
  assert.throws(() => buildCommandTable(rows.filter((r) => r.name === 'get')), /defined by two families/);
  const engine = { keyspace: new ModelKeyspace(), databases: 16, protoMaxBulkLen: 512 * 1024 * 1024, afterFlushAll() {} };
  assert.throws(() => new Dispatcher<EngineLike>(engine, [...rows, rows[0]!]), /duplicate/);
});

test('command table rows are well formed', () => {
  for (const r of buildCommandTable()) {
    assert.ok(r.name === r.name.toLowerCase(), r.name);
    assert.ok(r.arity !== 0, r.name);
    assert.ok(r.summary.length > 0, r.name);
    assert.ok(r.flags.includes('write') !== r.flags.includes('readonly') || r.group === 'connection' || r.name === 'time', r.name);
  }
  void Errors;
});

test('dispatcher overhead (GET through dispatcher vs direct keyspace)', () => {
  for (const [kind, ks] of [['model', new ModelKeyspace()], ['shared', createKeyspace()]] as const) {
    const engine = { keyspace: ks, databases: 16, protoMaxBulkLen: 512 * 1024 * 1024, afterFlushAll() {} };
    const d = new Dispatcher<EngineLike>(engine, buildCommandTable());
    const client: ClientState = { id: 1, db: 0, resp: 2, name: null, multi: null };
    const key = Buffer.from('key:000123');
    ks.setString(0, key, Buffer.from('some value of moderate length'), -1);
    const argv = [Buffer.from('GET'), key];
    const N = 300_000;
    const direct = (): number => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) { const v = ks.getString(0, key); if (v !== null) Buffer.from(v); }
      return (performance.now() - t0) / N * 1e6;
    };
    const viaDispatch = (): number => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) d.dispatch(client, argv, 1);
      return (performance.now() - t0) / N * 1e6;
    };
    // warm up both paths, then take the best of a few runs
    direct(); viaDispatch();
    let best = Infinity;
    let bestDirect = Infinity;
    for (let r = 0; r < 5; r++) { bestDirect = Math.min(bestDirect, direct()); best = Math.min(best, viaDispatch()); }
    const overhead = best - bestDirect;
    console.log(`  [${kind}] GET direct ${bestDirect.toFixed(0)} ns, via dispatcher ${best.toFixed(0)} ns, overhead ${overhead.toFixed(0)} ns`);
    assert.ok(overhead < 1000, `dispatcher overhead ${overhead} ns`);
  }
});

test.run();
