/**
 * Shared helpers of the AOF tests (test/aof-*.test.ts): reading AOF files as command lists,
 * comparing them with what real Redis wrote, dumping a keyspace (embedded or a real server) for
 * comparison, running redis-check-aof, and the Redis-tool gate (fail when FORKLESS_REQUIRE_REDIS
 * is set and the tool is missing, skip loudly otherwise).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Forkless } from '../engine/index.js';
import { RespClient } from './support/resp-client.js';
import { haveRedis, startRedis } from './support/real-redis.js';

/** True when redis-server and redis-check-aof are installed; registers a failing test when required. */
export function redisToolsOr(name: string): boolean {
  const ok = haveRedis() && spawnSync('redis-check-aof', ['--version'], { stdio: 'ignore' }).error === undefined;
  if (ok) return true;
  if (process.env['FORKLESS_REQUIRE_REDIS'] !== undefined) {
    test(`${name}: redis-server and redis-check-aof are required (FORKLESS_REQUIRE_REDIS is set)`, () => {
      assert.unreachable('redis-server / redis-check-aof not installed');
    });
  } else {
    console.warn(`\n!!! ${name}: SKIPPING tests against real Redis: redis-server / redis-check-aof not installed (set FORKLESS_REQUIRE_REDIS=1 to make this fail) !!!\n`);
    test.skip(`${name}: tests against real Redis`, () => {});
  }
  return false;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `fl-aof-${tag}-`));
}

/** The commands of an AOF byte string (RESP arrays of bulk strings; `#` annotation lines skipped; stops at a partial tail). */
export function parseAofBytes(b: Buffer): string[][] {
  const out: string[][] = [];
  let p = 0;
  const line = (): string | null => {
    const nl = b.indexOf('\r\n', p, 'latin1');
    if (nl < 0) return null;
    const s = b.toString('latin1', p, nl);
    p = nl + 2;
    return s;
  };
  while (p < b.length) {
    if (b[p] === 0x23) {
      const nl = b.indexOf(0x0a, p);
      if (nl < 0) break;
      p = nl + 1;
      continue;
    }
    const h = line();
    if (h === null || h[0] !== '*') break;
    const argc = Number(h.slice(1));
    const argv: string[] = [];
    for (let i = 0; i < argc; i++) {
      const l = line();
      if (l === null || l[0] !== '$') return out;
      const n = Number(l.slice(1));
      if (p + n + 2 > b.length) return out;
      argv.push(b.toString('latin1', p, p + n));
      p += n + 2;
    }
    out.push(argv);
  }
  return out;
}

/** Manifest lines of an AOF directory. */
export function manifestOf(aofDir: string, prefix = 'appendonly.aof'): Array<{ name: string; seq: number; type: string }> {
  const text = readFileSync(join(aofDir, `${prefix}.manifest`), 'utf8');
  return text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#')).map((l) => {
    const f = l.split(' ');
    return { name: f[1]!, seq: Number(f[3]), type: f[5]! };
  });
}

/** All incr files of a directory, in manifest order, as commands. */
export function incrCommands(aofDir: string): string[][] {
  const out: string[][] = [];
  for (const f of manifestOf(aofDir).filter((x) => x.type === 'i')) out.push(...parseAofBytes(readFileSync(join(aofDir, f.name))));
  return out;
}

/** Equal, except that absolute times (numbers of 12+ digits) may differ by up to 10 s. */
export function sameCommand(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    if (x === y) return true;
    if (/^\d{12,}$/.test(x) && /^\d{12,}$/.test(y)) return Math.abs(Number(x) - Number(y)) <= 10_000;
    return false;
  });
}

export function assertSameCommands(ours: string[][], theirs: string[][], what: string): void {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const a = ours[i];
    const b = theirs[i];
    assert.ok(a !== undefined && b !== undefined && sameCommand(a, b),
      `${what}: entry ${i}:\n  ours:  ${JSON.stringify(a)}\n  redis: ${JSON.stringify(b)}\n  before: ${JSON.stringify(ours.slice(Math.max(0, i - 4), i))}`);
  }
}

/** key → [value, pexpiretime] per db, for keyspace comparisons. */
export type Dump = Map<string, [string, number]>;

export function dumpEmbedded(db: Forkless, dbs = 16): Dump {
  const out: Dump = new Map();
  for (let i = 0; i < dbs; i++) {
    db.call('SELECT', i);
    for (const k of db.call('KEYS', '*') as Buffer[]) {
      const v = db.call('GET', k) as Buffer;
      const t = db.call('PEXPIRETIME', k) as number;
      out.set(`${i}:${k.toString('latin1')}`, [v.toString('latin1'), t]);
    }
  }
  db.call('SELECT', 0);
  return out;
}

export async function dumpServer(c: RespClient, dbs = 16): Promise<Dump> {
  const out: Dump = new Map();
  for (let i = 0; i < dbs; i++) {
    await c.call('SELECT', i);
    const keys = (await c.call('KEYS', '*')) as Buffer[];
    for (const k of keys) {
      const [v, t] = await c.pipeline([['GET', k], ['PEXPIRETIME', k]]);
      out.set(`${i}:${k.toString('latin1')}`, [(v as Buffer).toString('latin1'), t as number]);
    }
  }
  await c.call('SELECT', 0);
  return out;
}

export function assertSameDump(actual: Dump, expected: Dump, what: string): void {
  for (const [k, v] of expected) {
    const a = actual.get(k);
    assert.ok(a !== undefined, `${what}: missing key ${k}`);
    assert.is(a![0], v[0], `${what}: value of ${k}`);
    assert.is(a![1], v[1], `${what}: expire time of ${k}`);
  }
  assert.is(actual.size, expected.size, `${what}: key count`);
}

/** redis-check-aof on a manifest or file: exit status and output. */
export function checkAof(path: string, fix = false): { status: number; out: string } {
  const r = spawnSync('redis-check-aof', fix ? ['--fix', path] : [path], { encoding: 'utf8', input: 'y\n' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Starts a real redis-server on a copy of `dir` (appendonly yes) and dumps its keyspace. */
export async function dumpWithRealRedis(dir: string, extra: string[] = []): Promise<{ dump: Dump; log: string }> {
  const copy = tempDir('real');
  cpSync(dir, copy, { recursive: true });
  const srv = await startRedis({ dir: copy, args: ['--appendonly', 'yes', ...extra] });
  try {
    const c = await RespClient.connect(srv.port);
    try {
      return { dump: await dumpServer(c), log: srv.output() };
    } finally {
      await c.close();
    }
  } finally {
    await srv.stop();
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Files of an AOF directory (for assertions on what exists). */
export function filesOf(aofDir: string): string[] {
  return existsSync(aofDir) ? readdirSync(aofDir).sort() : [];
}

/** Captures the engine's log lines. */
export function captureLog(db: Forkless): string[] {
  const lines: string[] = [];
  db.engine.logger.taps.push((l) => lines.push(l));
  return lines;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
