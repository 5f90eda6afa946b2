/**
 * RDB encoder and reader, checked three ways:
 *  - byte-level: exact encodings for lengths, integers, LZF, the minimal file;
 *  - against redis-server 7.0.15: files we write pass redis-check-rdb and load into a real server
 *    with identical values; dumps the real server writes (every encoding it produces, plus legacy
 *    encodings we hand-build and the real server also loads) decode to the same values; a dump of
 *    strings / hashtable sets / hashtable hashes / skiplist zsets re-encodes byte-for-byte;
 *  - corruption: truncation at every offset, byte flips, targeted damage -> CorruptFileError naming
 *    the file and offset, never any other exception.
 * Tests needing the real server skip loudly when it is missing, or fail if FORKLESS_REQUIRE_REDIS is set.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CorruptFileError } from '../engine/errors.js';
import { RdbEncoder, RDB_OPCODE, RDB_TYPE, type RdbEncoderOptions, type ZsetEntry } from '../engine/persist/rdb-format.js';
import { readRdb, type RdbReadResult, type RdbValue } from '../engine/persist/rdb-reader.js';
import { haveRedis, startRedis } from './support/real-redis.js';
import { rngFrom } from './support/rng.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const str = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('latin1');
const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');

const rng = rngFrom;

/** Encode with `fn` and return the whole file. */
function encode(fn: (e: RdbEncoder) => void, opts: RdbEncoderOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const e = new RdbEncoder((c) => parts.push(c.slice()), opts);
  fn(e);
  e.flush();
  return new Uint8Array(Buffer.concat(parts));
}

/** Bytes of one string object as the encoder writes it. */
function strObj(s: Uint8Array | string, opts: RdbEncoderOptions = {}): string {
  const file = encode((e) => e.stringObject(typeof s === 'string' ? b(s) : s), opts);
  return hex(file);
}

/** Canonical, comparable form of a value: order-insensitive for sets/hashes/zsets. */
type Canon =
  | { t: 'string'; v: string }
  | { t: 'list'; v: string[] }
  | { t: 'set'; v: string[] }
  | { t: 'zset'; v: Array<[string, number]> }
  | { t: 'hash'; v: Array<[string, string]> };

function canon(v: RdbValue): Canon {
  switch (v.type) {
    case 'string': return { t: 'string', v: str(v.value) };
    case 'list': return { t: 'list', v: v.items.map(str) };
    case 'set': return { t: 'set', v: v.members.map(str).sort() };
    case 'zset': return { t: 'zset', v: v.entries.map((e): [string, number] => [str(e.member), e.score]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) };
    case 'hash': return { t: 'hash', v: v.entries.map(([f, x]): [string, string] => [str(f), str(x)]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) };
  }
}

interface Entry { value: Canon; expire: number }
/** db -> key -> entry */
type Model = Map<number, Map<string, Entry>>;

function put(m: Model, db: number, key: string, value: Canon, expire = -1): void {
  let d = m.get(db);
  if (d === undefined) m.set(db, (d = new Map()));
  d.set(key, { value, expire });
}

function modelObject(m: Model): Record<string, Record<string, Entry>> {
  const out: Record<string, Record<string, Entry>> = {};
  for (const db of [...m.keys()].sort((x, y) => x - y)) {
    const keys = m.get(db)!;
    const o: Record<string, Entry> = {};
    for (const k of [...keys.keys()].sort()) o[k] = keys.get(k)!;
    out[String(db)] = o;
  }
  return out;
}

function readModel(file: Uint8Array, name = 'test.rdb'): { model: Model; result: RdbReadResult; aux: Array<[string, string]> } {
  const model: Model = new Map();
  const aux: Array<[string, string]> = [];
  const result = readRdb(file, name, {
    aux: (k, v) => { aux.push([k, v]); },
    key: (db, key, value, expire) => {
      const k = str(key);
      assert.not.ok(model.get(db)?.has(k), `duplicate key ${k} in db ${db}`);
      put(model, db, k, canon(value), expire);
    },
  });
  return { model, result, aux };
}

function expectCorrupt(fn: () => unknown, file: string, check?: (e: CorruptFileError) => void): CorruptFileError {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CorruptFileError)) assert.unreachable(`expected CorruptFileError, got ${String(err)}`);
    const e = err as CorruptFileError;
    assert.is(e.file, file);
    assert.is(e.code, 'ECORRUPT');
    check?.(e);
    return e;
  }
  assert.unreachable('no error thrown');
  throw new Error('unreachable');
}

function redisOrSkip(what: string): boolean {
  if (haveRedis()) return true;
  if (process.env.FORKLESS_REQUIRE_REDIS) throw new Error(`redis-server is not on PATH but FORKLESS_REQUIRE_REDIS is set (${what})`);
  console.log(`\n!!! SKIPPED "${what}": redis-server not found on PATH (set FORKLESS_REQUIRE_REDIS=1 to make this a failure)\n`);
  return false;
}

function checkRdb(path: string): string {
  const r = spawnSync('redis-check-rdb', [path], { encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  assert.is(r.status, 0, `redis-check-rdb failed:\n${out}`);
  assert.ok(out.includes('RDB looks OK'), out);
  return out;
}

function parseRedisScore(s: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

function asBuffers(x: unknown): Buffer[] {
  assert.ok(Array.isArray(x));
  return (x as unknown[]).map((y) => {
    assert.ok(Buffer.isBuffer(y));
    return y as Buffer;
  });
}

/** Read every key of every DB from a live server into a Model (through ioredis, binary-safe). */
async function snapshotServer(port: number): Promise<Model> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  const model: Model = new Map();
  try {
    for (let db = 0; db < 16; db++) {
      await r.select(db);
      const keys = asBuffers(await r.callBuffer('KEYS', ['*']));
      for (const key of keys) {
        const type = String(await r.type(key));
        let value: Canon;
        if (type === 'string') {
          const v = await r.callBuffer('GET', [key]);
          assert.ok(Buffer.isBuffer(v));
          value = { t: 'string', v: str(v as Buffer) };
        } else if (type === 'list') {
          value = { t: 'list', v: asBuffers(await r.callBuffer('LRANGE', [key, 0, -1])).map(str) };
        } else if (type === 'set') {
          value = { t: 'set', v: asBuffers(await r.callBuffer('SMEMBERS', [key])).map(str).sort() };
        } else if (type === 'zset') {
          const flat = asBuffers(await r.callBuffer('ZRANGE', [key, 0, -1, 'WITHSCORES'])).map(str);
          const v: Array<[string, number]> = [];
          for (let i = 0; i < flat.length; i += 2) v.push([flat[i]!, parseRedisScore(flat[i + 1]!)]);
          value = { t: 'zset', v: v.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) };
        } else if (type === 'hash') {
          const flat = asBuffers(await r.callBuffer('HGETALL', [key])).map(str);
          const v: Array<[string, string]> = [];
          for (let i = 0; i < flat.length; i += 2) v.push([flat[i]!, flat[i + 1]!]);
          value = { t: 'hash', v: v.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) };
        } else {
          throw new Error(`unexpected type ${type}`);
        }
        const expire = Number(await r.call('PEXPIRETIME', [key]));
        put(model, db, str(key), value, expire);
      }
    }
  } finally {
    r.disconnect();
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Encoder: exact bytes
// ---------------------------------------------------------------------------------------------

test('encoder: smallest valid file is the 18 bytes redis 7.0.15 accepts', () => {
  const file = encode((e) => { e.header(); e.finish(); });
  assert.is(hex(file), '524544495330303130' + 'ff' + 'a9fd37fe89a77eeb');
  const off = encode((e) => { e.header(9); e.finish(); }, { checksum: false });
  assert.is(hex(off), '524544495330303039ff0000000000000000');
});

test('encoder: length encodings pick the smallest form (big-endian)', () => {
  const lenHex = (n: number): string => hex(encode((e) => e.length(n)));
  assert.is(lenHex(0), '00');
  assert.is(lenHex(63), '3f');
  assert.is(lenHex(64), '4040');
  assert.is(lenHex(16383), '7fff');
  assert.is(lenHex(16384), '8000004000');
  assert.is(lenHex(0xffffffff), '80ffffffff');
  assert.is(lenHex(0x100000000), '810000000100000000');
  assert.is(lenHex(2 ** 53 - 1), '81001fffffffffffff');
  assert.throws(() => encode((e) => e.length(-1)));
});

test('encoder: string objects follow rdbSaveRawString (int, LZF, raw)', () => {
  assert.is(strObj('0'), 'c000');
  assert.is(strObj('-1'), 'c0ff');
  assert.is(strObj('127'), 'c07f');
  assert.is(strObj('-128'), 'c080');
  assert.is(strObj('128'), 'c18000');
  assert.is(strObj('12345'), 'c13930');
  assert.is(strObj('-32768'), 'c10080');
  assert.is(strObj('32768'), 'c200800000');
  assert.is(strObj('2147483647'), 'c2ffffff7f');
  assert.is(strObj('-2147483648'), 'c200000080');
  // not int32, not canonical, or too long: raw
  assert.is(strObj('2147483648'), '0a' + hex(b('2147483648')));
  assert.is(strObj('-2147483649'), '0b' + hex(b('-2147483649')));
  for (const s of ['007', '+5', '-0', ' 1', '1 ', '-', '1a', '00', '']) {
    assert.is(strObj(s), (s.length).toString(16).padStart(2, '0') + hex(b(s)), JSON.stringify(s));
  }
  // LZF: only above 20 bytes and only when it saves >= 4 bytes
  assert.is(strObj('a'.repeat(40)), 'c30928' + '016161e01b00016161');
  assert.is(strObj('a'.repeat(40), { compression: false }), '28' + '61'.repeat(40));
  assert.is(strObj('a'.repeat(20)), '14' + '61'.repeat(20));
  const noise = new Uint8Array(30).map((_, i) => (i * 97 + 13) & 0xff);
  assert.is(strObj(noise), '1e' + hex(noise));
  // aux: integer-looking values are integer-encoded (redis-bits 64 -> C0 40)
  assert.is(hex(encode((e) => e.aux('redis-bits', 64))), 'fa0a' + hex(b('redis-bits')) + 'c040');
});

test('encoder: records, expiry and doubles', () => {
  assert.is(hex(encode((e) => e.stringKeyValue(b('s1'), b('hello')))), '0002' + hex(b('s1')) + '05' + hex(b('hello')));
  assert.is(hex(encode((e) => e.expireMs(0x1a238284802))), 'fc' + '02482838a2010000'); // from a real 7.0.15 dump
  assert.is(hex(encode((e) => e.expireMs(-1))), 'fc' + 'ff'.repeat(8));
  assert.is(hex(encode((e) => e.binaryDouble(1.5))), '000000000000f83f');
  assert.is(hex(encode((e) => e.selectDb(3))), 'fe03');
  assert.is(hex(encode((e) => e.resizeDb(9, 1))), 'fb0901');
  assert.is(
    hex(encode((e) => e.zsetKeyValue(b('z'), [{ member: b('m'), score: -Infinity }]))),
    '0501' + hex(b('z')) + '01' + '01' + hex(b('m')) + '000000000000f0ff',
  );
  assert.throws(() => encode((e) => e.zsetKeyValue(b('z'), [{ member: b('m'), score: NaN }])));
  // declared counts must match what the iterable yields
  assert.throws(() => encode((e) => e.listKeyValue(b('l'), [b('a')], 2)));
  assert.throws(() => encode((e) => e.setKeyValue(b('s'), new Set([b('a')]).values())));
  assert.throws(() => encode((e) => { e.header(); e.finish(); e.selectDb(0); }));
});

test('encoder: chunking and large values give identical bytes for any buffer size', () => {
  const rand = rng(11);
  const records: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < 400; i++) {
    const len = i % 50 === 0 ? 3000 + ((rand() * 100_000) | 0) : (rand() * 300) | 0;
    const v = new Uint8Array(len);
    for (let j = 0; j < len; j++) v[j] = rand() < 0.5 ? 97 : (rand() * 256) | 0;
    records.push([b(`key:${i}`), v]);
  }
  const write = (e: RdbEncoder): void => {
    e.header();
    e.selectDb(0);
    for (const [k, v] of records) e.stringKeyValue(k, v);
    e.finish();
  };
  for (const compression of [false, true]) {
    const reference = encode(write, { compression, bufferSize: 1 << 22 });
    for (const bufferSize of [1024, 4096, 65536]) {
      const chunks: number[] = [];
      const parts: Uint8Array[] = [];
      const e = new RdbEncoder((c) => { chunks.push(c.length); parts.push(c.slice()); }, { compression, bufferSize });
      write(e);
      assert.equal(new Uint8Array(Buffer.concat(parts)), reference, `compression=${compression} buffer=${bufferSize}`);
      assert.is(e.bytesWritten, reference.length);
      assert.ok(chunks.every((n) => n > 0));
    }
    const { model } = readModel(reference);
    assert.is(model.get(0)!.size, records.length);
    for (const [k, v] of records) assert.is(model.get(0)!.get(str(k))!.value.v, str(v));
  }
});

// ---------------------------------------------------------------------------------------------
// Encoder -> reader round trip
// ---------------------------------------------------------------------------------------------

function randomBytes(rand: () => number, maxLen: number): Uint8Array {
  const len = (rand() * maxLen) | 0;
  const kind = rand();
  if (kind < 0.2) return b(String(((rand() - 0.5) * 2 ** ((rand() * 40) | 0)) | 0));
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = kind < 0.6 ? 97 + ((rand() * 3) | 0) : (rand() * 256) | 0;
  return out;
}

function uniq(items: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return items.filter((x) => !seen.has(str(x)) && (seen.add(str(x)), true));
}

/** Writes a random keyspace with the generic writers; returns the expected model. */
function writeRandomKeyspace(e: RdbEncoder, seed: number): Model {
  const rand = rng(seed);
  const model: Model = new Map();
  e.header();
  e.aux('redis-ver', '7.0.15');
  e.aux('ctime', 1700000000);
  for (const db of [0, 3, 15]) {
    e.selectDb(db);
    e.resizeDb(50, 10);
    for (let i = 0; i < 60; i++) {
      const key = `k${db}:${i}`;
      const expire = rand() < 0.3 ? 1_700_000_000_000 + ((rand() * 1e9) | 0) : -1;
      if (expire !== -1) e.expireMs(expire);
      const kind = i % 5;
      if (kind === 0) {
        const v = randomBytes(rand, 200);
        e.stringKeyValue(b(key), v);
        put(model, db, key, { t: 'string', v: str(v) }, expire);
      } else if (kind === 1) {
        const items = Array.from({ length: 1 + ((rand() * 40) | 0) }, () => randomBytes(rand, 80));
        e.listKeyValue(b(key), items);
        put(model, db, key, { t: 'list', v: items.map(str) }, expire);
      } else if (kind === 2) {
        const members = uniq(Array.from({ length: 1 + ((rand() * 40) | 0) }, () => randomBytes(rand, 30)));
        e.setKeyValue(b(key), members);
        put(model, db, key, { t: 'set', v: members.map(str).sort() }, expire);
      } else if (kind === 3) {
        const members = uniq(Array.from({ length: 1 + ((rand() * 40) | 0) }, () => randomBytes(rand, 30)));
        const specials = [Infinity, -Infinity, 0, -0.5, 1e300];
        const entries: ZsetEntry[] = members.map((m) => ({ member: m, score: rand() < 0.2 ? specials[(rand() * 5) | 0]! : (rand() - 0.5) * 1e6 }));
        e.zsetKeyValue(b(key), entries);
        put(model, db, key, { t: 'zset', v: entries.map((x): [string, number] => [str(x.member), x.score]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) }, expire);
      } else {
        const fields = uniq(Array.from({ length: 1 + ((rand() * 40) | 0) }, () => randomBytes(rand, 30)));
        const entries = fields.map((f): [Uint8Array, Uint8Array] => [f, randomBytes(rand, 100)]);
        e.hashKeyValue(b(key), new Map(entries.map(([f, v]) => [f, v])), entries.length);
        put(model, db, key, { t: 'hash', v: entries.map(([f, v]): [string, string] => [str(f), str(v)]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) }, expire);
      }
    }
  }
  e.finish();
  return model;
}

test('round trip: encoder output decodes to the same keyspace (compression and checksum on/off)', () => {
  for (const opts of [{}, { compression: false }, { checksum: false }, { compression: false, checksum: false, bufferSize: 1024 }]) {
    let expected: Model = new Map();
    const file = encode((e) => { expected = writeRandomKeyspace(e, 21); }, opts);
    const { model, result, aux } = readModel(file);
    assert.equal(modelObject(model), modelObject(expected));
    assert.equal(aux, [['redis-ver', '7.0.15'], ['ctime', '1700000000']]);
    assert.is(result.version, 10);
    assert.is(result.keys, 180);
    assert.is(result.endOffset, file.length);
    assert.is(result.checksum, opts.checksum === false ? 'disabled-in-file' : 'verified');
  }
});

test('reader: works on a view with an odd byteOffset and reports skipped verification', () => {
  const file = encode((e) => { writeRandomKeyspace(e, 22); });
  const big = new Uint8Array(file.length + 13);
  big.set(file, 5);
  const view = big.subarray(5, 5 + file.length);
  const a = readModel(file).model;
  const c = readModel(view).model;
  assert.equal(modelObject(c), modelObject(a));
  const r = readRdb(view, 'x', { key: () => {} }, { verifyChecksum: false });
  assert.is(r.checksum, 'skipped');
});

// ---------------------------------------------------------------------------------------------
// Hand-built legacy encodings (ziplist, zipmap, intset, quicklist v1, zset v1, listpack variants)
// ---------------------------------------------------------------------------------------------

type PackedItem = string | number | bigint;

function le(n: number | bigint, bytes: number): number[] {
  let v = BigInt.asUintN(bytes * 8, BigInt(n));
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) { out.push(Number(v & 0xffn)); v >>= 8n; }
  return out;
}
const u32le = (n: number): number[] => le(n, 4);
const u32be = (n: number): number[] => le(n, 4).reverse();
const bytesOf = (s: string): number[] => [...b(s)];

/** A ziplist with the smallest encoding per entry (what Redis <= 6.2 wrote). */
function ziplist(items: PackedItem[]): Uint8Array {
  const entries: number[][] = [];
  let prevLen = 0;
  for (const it of items) {
    const prev = prevLen < 254 ? [prevLen] : [0xfe, ...u32le(prevLen)];
    let body: number[];
    if (typeof it === 'string') {
      const s = bytesOf(it);
      const n = s.length;
      body = n < 64 ? [n, ...s] : n < 16384 ? [0x40 | (n >> 8), n & 0xff, ...s] : [0x80, ...u32be(n), ...s];
    } else {
      const v = BigInt(it);
      if (v >= 0n && v <= 12n) body = [0xf1 + Number(v)];
      else if (v >= -128n && v <= 127n) body = [0xfe, ...le(v, 1)];
      else if (v >= -32768n && v <= 32767n) body = [0xc0, ...le(v, 2)];
      else if (v >= -(2n ** 23n) && v < 2n ** 23n) body = [0xf0, ...le(v, 3)];
      else if (v >= -(2n ** 31n) && v < 2n ** 31n) body = [0xd0, ...le(v, 4)];
      else body = [0xe0, ...le(v, 8)];
    }
    const entry = [...prev, ...body];
    entries.push(entry);
    prevLen = entry.length;
  }
  let tail = 10;
  for (let i = 0; i < entries.length - 1; i++) tail += entries[i]!.length;
  const payload = entries.flat();
  const total = 10 + payload.length + 1;
  return new Uint8Array([...u32le(total), ...u32le(tail), ...le(items.length, 2), ...payload, 0xff]);
}

function backlen(l: number): number[] {
  if (l <= 127) return [l];
  if (l < 16383) return [l >> 7, (l & 127) | 128];
  if (l < 2097151) return [l >> 14, ((l >> 7) & 127) | 128, (l & 127) | 128];
  return [l >> 21, ((l >> 14) & 127) | 128, ((l >> 7) & 127) | 128, (l & 127) | 128];
}

/** A listpack; `unknownCount` writes 65535 in the header like a listpack that grew past it. */
function listpack(items: PackedItem[], unknownCount = false): Uint8Array {
  const payload: number[] = [];
  for (const it of items) {
    let enc: number[];
    if (typeof it === 'string') {
      const s = bytesOf(it);
      const n = s.length;
      enc = n < 64 ? [0x80 | n, ...s] : n < 4096 ? [0xe0 | (n >> 8), n & 0xff, ...s] : [0xf0, ...u32le(n), ...s];
    } else {
      const v = BigInt(it);
      if (v >= 0n && v <= 127n) enc = [Number(v)];
      else if (v >= -4096n && v <= 4095n) { const u = Number(v < 0n ? v + 8192n : v); enc = [0xc0 | (u >> 8), u & 0xff]; }
      else if (v >= -32768n && v <= 32767n) enc = [0xf1, ...le(v, 2)];
      else if (v >= -(2n ** 23n) && v < 2n ** 23n) enc = [0xf2, ...le(v, 3)];
      else if (v >= -(2n ** 31n) && v < 2n ** 31n) enc = [0xf3, ...le(v, 4)];
      else enc = [0xf4, ...le(v, 8)];
    }
    payload.push(...enc, ...backlen(enc.length));
  }
  const total = 6 + payload.length + 1;
  return new Uint8Array([...u32le(total), ...le(unknownCount ? 0xffff : items.length, 2), ...payload, 0xff]);
}

function zipmap(pairs: Array<[string, string, number]>): Uint8Array {
  const len = (n: number): number[] => (n < 254 ? [n] : [254, ...u32le(n)]);
  const out: number[] = [pairs.length < 254 ? pairs.length : 254];
  for (const [f, v, free] of pairs) {
    out.push(...len(f.length), ...bytesOf(f), ...len(v.length), free, ...bytesOf(v), ...new Array<number>(free).fill(0x7a));
  }
  out.push(0xff);
  return new Uint8Array(out);
}

function intset(width: 2 | 4 | 8, values: Array<number | bigint>): Uint8Array {
  return new Uint8Array([...u32le(width), ...u32le(values.length), ...values.flatMap((v) => le(v, width))]);
}

const bigStr = 'y'.repeat(20000);
const list1 = ['a', 0, 12, 13, -1, 127, -128, 200, 40000, -40000, 8000000, 3000000000, -(2n ** 62n), 'x'.repeat(100), bigStr, 'tail'];

/** Writes legacy-encoded keys; returns the expected model (what Redis and we must both see). */
function writeLegacy(e: RdbEncoder, nowMs: number, empties = true): Model {
  const m: Model = new Map();
  const packedStr = (x: PackedItem): string => String(x);
  e.header();
  e.aux('legacy', 'yes');
  e.selectDb(0);

  e.type(RDB_TYPE.LIST_ZIPLIST); e.stringObject(b('zl:list')); e.stringObject(ziplist(list1));
  put(m, 0, 'zl:list', { t: 'list', v: list1.map(packedStr) });

  const hashPairs: PackedItem[] = ['f1', 'v1', 'n', 42, 'big', 'z'.repeat(300), 7, 'seven'];
  e.type(RDB_TYPE.HASH_ZIPLIST); e.stringObject(b('zl:hash')); e.stringObject(ziplist(hashPairs));
  put(m, 0, 'zl:hash', { t: 'hash', v: [['7', 'seven'], ['big', 'z'.repeat(300)], ['f1', 'v1'], ['n', '42']] });

  e.type(RDB_TYPE.ZSET_ZIPLIST); e.stringObject(b('zl:zset')); e.stringObject(ziplist(['a', 1, 'b', '2.5', 'c', -7, 'd', '1e10']));
  put(m, 0, 'zl:zset', { t: 'zset', v: [['a', 1], ['b', 2.5], ['c', -7], ['d', 1e10]] });

  e.type(RDB_TYPE.HASH_ZIPMAP); e.stringObject(b('zm:hash'));
  e.stringObject(zipmap([['f1', 'v1', 0], ['f2', 'value-two', 3], ['long', 'L'.repeat(300), 1]]));
  put(m, 0, 'zm:hash', { t: 'hash', v: [['f1', 'v1'], ['f2', 'value-two'], ['long', 'L'.repeat(300)]] });

  e.type(RDB_TYPE.LIST_QUICKLIST); e.stringObject(b('ql1'));
  e.length(3);
  e.stringObject(ziplist(['n1a', 1, 'n1c']));
  e.stringObject(ziplist([])); // empty node: skipped by Redis
  e.stringObject(ziplist(['n3', 300000]));
  put(m, 0, 'ql1', { t: 'list', v: ['n1a', '1', 'n1c', 'n3', '300000'] });

  const lpItems: PackedItem[] = ['s', 5, 100, -1, -4096, 4095, 5000, -30000, 70000, -8000000, 2147483647, -2147483648, 2n ** 40n, -(2n ** 63n), 'q'.repeat(70), 'w'.repeat(5000)];
  e.type(RDB_TYPE.LIST_QUICKLIST_2); e.stringObject(b('ql2'));
  e.length(4);
  e.length(2); e.stringObject(listpack(lpItems));
  e.length(1); e.stringObject(b('a plain node'));
  e.length(2); e.stringObject(listpack([]));
  e.length(2); e.stringObject(listpack(['u1', 'u2', 3], true));
  put(m, 0, 'ql2', { t: 'list', v: [...lpItems.map(packedStr), 'a plain node', 'u1', 'u2', '3'] });

  e.type(RDB_TYPE.SET_INTSET); e.stringObject(b('is16')); e.stringObject(intset(2, [-5, 0, 7, 300]));
  put(m, 0, 'is16', { t: 'set', v: ['-5', '0', '300', '7'] });
  e.type(RDB_TYPE.SET_INTSET); e.stringObject(b('is32')); e.stringObject(intset(4, [-100000, 1, 100000]));
  put(m, 0, 'is32', { t: 'set', v: ['-100000', '1', '100000'] });
  e.type(RDB_TYPE.SET_INTSET); e.stringObject(b('is64')); e.stringObject(intset(8, [-(2n ** 63n), 6000000000, 2n ** 63n - 1n]));
  put(m, 0, 'is64', { t: 'set', v: [String(-(2n ** 63n)), '6000000000', String(2n ** 63n - 1n)] });

  e.type(RDB_TYPE.HASH_LISTPACK); e.stringObject(b('lp:hash')); e.stringObject(listpack(['a', 1, 2, 'two', 'x', -70000]));
  put(m, 0, 'lp:hash', { t: 'hash', v: [['2', 'two'], ['a', '1'], ['x', '-70000']] });
  e.type(RDB_TYPE.ZSET_LISTPACK); e.stringObject(b('lp:zset')); e.stringObject(listpack(['m1', 1, 'm2', '1.5', 'm3', '-inf', 'm4', 3000000000]));
  put(m, 0, 'lp:zset', { t: 'zset', v: [['m1', 1], ['m2', 1.5], ['m3', -Infinity], ['m4', 3000000000]] });

  // zset v1: ASCII scores with the 253/254/255 codes
  e.type(RDB_TYPE.ZSET); e.stringObject(b('zset1')); e.length(4);
  e.stringObject(b('pinf')); e.rawBytes(new Uint8Array([254]));
  e.stringObject(b('ninf')); e.rawBytes(new Uint8Array([255]));
  e.stringObject(b('half')); e.rawBytes(new Uint8Array([3, ...bytesOf('0.5')]));
  e.stringObject(b('big')); e.rawBytes(new Uint8Array([5, ...bytesOf('1e300')]));
  put(m, 0, 'zset1', { t: 'zset', v: [['big', 1e300], ['half', 0.5], ['ninf', -Infinity], ['pinf', Infinity]] });

  // empty collections: skipped by Redis's loader and by ours
  if (empties) {
    e.listKeyValue(b('empty:list'), []);
    e.type(RDB_TYPE.HASH_LISTPACK); e.stringObject(b('empty:lp')); e.stringObject(listpack([]));
  }

  // IDLE / FREQ opcodes before a key, EXPIRETIME in seconds
  e.opcode(RDB_OPCODE.IDLE); e.length(1000);
  e.stringKeyValue(b('idle'), b('i'));
  put(m, 0, 'idle', { t: 'string', v: 'i' });
  e.opcode(RDB_OPCODE.FREQ); e.rawBytes(new Uint8Array([9]));
  e.stringKeyValue(b('freq'), b('f'));
  put(m, 0, 'freq', { t: 'string', v: 'f' });
  const secs = Math.floor(nowMs / 1000) + 86400;
  e.opcode(RDB_OPCODE.EXPIRETIME); e.rawBytes(new Uint8Array(u32le(secs)));
  e.stringKeyValue(b('exp:s'), b('v'));
  put(m, 0, 'exp:s', { t: 'string', v: 'v' }, secs * 1000);

  // plain types, repeated SELECTDB (non-contiguous DBs)
  e.selectDb(5);
  e.expireMs(nowMs + 3_600_000);
  e.setKeyValue(b('plain:set'), [b('x'), b('12'), b('-3')]);
  put(m, 5, 'plain:set', { t: 'set', v: ['-3', '12', 'x'] }, nowMs + 3_600_000);
  e.hashKeyValue(b('plain:hash'), [[b('f'), b('v')], [b('1'), b('2')]]);
  put(m, 5, 'plain:hash', { t: 'hash', v: [['1', '2'], ['f', 'v']] });
  e.selectDb(0);
  e.zsetKeyValue(b('plain:zset'), [{ member: b('a'), score: 2 }, { member: b('b'), score: -1.25 }]);
  put(m, 0, 'plain:zset', { t: 'zset', v: [['a', 2], ['b', -1.25]] });
  e.listKeyValue(b('plain:list'), [b('1'), b('two'), b('')]);
  put(m, 0, 'plain:list', { t: 'list', v: ['1', 'two', ''] });
  e.finish();
  return m;
}

test('legacy encodings: reader decodes hand-built ziplist/zipmap/intset/quicklist/zset-v1 files', () => {
  const now = Date.now();
  for (const compression of [false, true]) {
    let expected: Model = new Map();
    const file = encode((e) => { expected = writeLegacy(e, now); }, { compression });
    const { model, result } = readModel(file);
    assert.equal(modelObject(model), modelObject(expected), `compression=${compression}`);
    assert.is(result.emptyKeysSkipped, 2);
  }
});

test('legacy encodings: real redis-server loads the same file to the same values', async () => {
  if (!redisOrSkip('legacy encodings vs redis-server')) return;
  const now = Date.now();
  let expected: Model = new Map();
  const file = encode((e) => { expected = writeLegacy(e, now); });
  const dir = mkdtempSync(join(tmpdir(), 'forkless-rdb-'));
  try {
    // redis-check-rdb (unlike the server) rejects empty collections, so check a copy without them
    writeFileSync(join(dir, 'check.rdb'), encode((e) => { writeLegacy(e, now, false); }));
    checkRdb(join(dir, 'check.rdb'));
    writeFileSync(join(dir, 'x.rdb'), file);
    const r = await startRedis({ dir });
    try {
      assert.ok(r.output().includes('DB loaded from disk'), r.output());
      assert.ok(r.output().includes('empty keys skipped: 2'), r.output());
      const live = await snapshotServer(r.port);
      assert.equal(modelObject(live), modelObject(expected));
    } finally {
      await r.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Encoder output vs a real server
// ---------------------------------------------------------------------------------------------

test('encoder output: redis-check-rdb says OK and redis-server loads identical values', async () => {
  if (!redisOrSkip('encoder output vs redis-server')) return;
  for (const opts of [{}, { compression: false, checksum: false }]) {
    let expected: Model = new Map();
    const file = encode((e) => { expected = writeRandomKeyspace(e, 31); }, opts);
    // the random keyspace uses 2023 expiry times; make them future so Redis keeps the keys
    const future: Model = new Map();
    const shifted = encode((e) => {
      const rand = rng(32);
      e.header();
      for (const [db, keys] of expected) {
        e.selectDb(db);
        for (const [k, { value }] of keys) {
          const expire = rand() < 0.3 ? Date.now() + 3_600_000 + ((rand() * 1e6) | 0) : -1;
          if (expire !== -1) e.expireMs(expire);
          writeCanon(e, k, value);
          put(future, db, k, value, expire);
        }
      }
      e.finish();
    }, opts);
    assert.ok(file.length > 0);
    const dir = mkdtempSync(join(tmpdir(), 'forkless-rdb-'));
    try {
      writeFileSync(join(dir, 'x.rdb'), shifted);
      const report = checkRdb(join(dir, 'x.rdb'));
      if (opts.checksum === undefined) assert.ok(report.includes('Checksum OK'), report);
      const r = await startRedis({ dir });
      try {
        const live = await snapshotServer(r.port);
        assert.equal(modelObject(live), modelObject(future));
      } finally {
        await r.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

function writeCanon(e: RdbEncoder, key: string, v: Canon): void {
  const k = b(key);
  switch (v.t) {
    case 'string': e.stringKeyValue(k, b(v.v)); break;
    case 'list': e.listKeyValue(k, v.v.map(b)); break;
    case 'set': e.setKeyValue(k, v.v.map(b)); break;
    case 'zset': e.zsetKeyValue(k, v.v.map(([m, s]) => ({ member: b(m), score: s }))); break;
    case 'hash': e.hashKeyValue(k, v.v.map(([f, x]): [Uint8Array, Uint8Array] => [b(f), b(x)])); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Real dumps
// ---------------------------------------------------------------------------------------------

/** Binary-safe command helper over ioredis. */
async function cmd(r: Redis, ...args: Array<string | number | Buffer>): Promise<unknown> {
  const [name, ...rest] = args;
  return r.callBuffer(String(name), rest);
}

test('real dump: every encoding redis-server 7.0.15 writes decodes to the right values', async () => {
  if (!redisOrSkip('real dump decode')) return;
  const srv = await startRedis({ args: ['--enable-debug-command', 'yes', '--list-compress-depth', '1'] });
  const r = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  const expected: Model = new Map();
  const rand = rng(41);
  const encodings: Record<string, string> = {};
  try {
    const bin = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
    const json = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: `user${i % 17}`, ok: i % 3 === 0 })));
    const strings: Array<[string, string | Buffer]> = [
      ['s:raw', 'hello'], ['s:int', '12345'], ['s:neg', '-7'], ['s:int32', '2147483647'], ['s:big', '9999999999'],
      ['s:lead0', '007'], ['s:empty', ''], ['s:lzf', 'a'.repeat(1000)], ['s:json', json], ['s:bin', bin],
    ];
    for (const [k, v] of strings) {
      await cmd(r, 'SET', k, v);
      put(expected, 0, k, { t: 'string', v: typeof v === 'string' ? v : str(v) });
    }
    const at = Date.now() + 3_600_000;
    await cmd(r, 'SET', 'e:ms', 'x', 'PXAT', at);
    put(expected, 0, 'e:ms', { t: 'string', v: 'x' }, at);
    await cmd(r, 'RPUSH', 'e:list', 'a', 'b');
    await cmd(r, 'PEXPIREAT', 'e:list', at + 5);
    put(expected, 0, 'e:list', { t: 'list', v: ['a', 'b'] }, at + 5);

    const small = ['a', 'b', '1', '2', '-100', '100000', '6000000000', '-5000', 'c'.repeat(5000), '3.14'];
    await cmd(r, 'RPUSH', 'l:small', ...small);
    put(expected, 0, 'l:small', { t: 'list', v: small });
    const big = Array.from({ length: 20000 }, (_, i) => (i % 3 === 0 ? String(i) : `item-${i}-${'p'.repeat(i % 40)}`));
    for (let i = 0; i < big.length; i += 1000) await cmd(r, 'RPUSH', 'l:big', ...big.slice(i, i + 1000));
    put(expected, 0, 'l:big', { t: 'list', v: big });
    await cmd(r, 'DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1000');
    const plain = ['small1', 'P'.repeat(3000), 'small2', 'Q'.repeat(1500)];
    await cmd(r, 'RPUSH', 'l:plain', ...plain);
    put(expected, 0, 'l:plain', { t: 'list', v: plain });

    await cmd(r, 'SADD', 'set:ints', '1', '2', '3', '-5', '100000');
    put(expected, 0, 'set:ints', { t: 'set', v: ['-5', '1', '100000', '2', '3'] });
    await cmd(r, 'SADD', 'set:int64', '6000000000', '-6000000000');
    put(expected, 0, 'set:int64', { t: 'set', v: ['-6000000000', '6000000000'] });
    const manyInts = Array.from({ length: 600 }, (_, i) => String(i * 3 - 900));
    await cmd(r, 'SADD', 'set:bigints', ...manyInts);
    put(expected, 0, 'set:bigints', { t: 'set', v: [...manyInts].sort() });
    await cmd(r, 'SADD', 'set:strs', 'a', 'b', 'c', '1');
    put(expected, 0, 'set:strs', { t: 'set', v: ['1', 'a', 'b', 'c'] });

    const zsmall: Array<[string, number]> = [['one', 1], ['half', 0.5], ['neg', -3], ['inf', Infinity], ['ninf', -Infinity], ['big', 3000000000], ['frac', 1 / 3]];
    await cmd(r, 'ZADD', 'z:small', ...zsmall.flatMap(([m, s]) => [s === Infinity ? '+inf' : s === -Infinity ? '-inf' : String(s), m]));
    put(expected, 0, 'z:small', { t: 'zset', v: [...zsmall].sort((x, y) => (x[0] < y[0] ? -1 : 1)) });
    const zbig: Array<[string, number]> = Array.from({ length: 200 }, (_, i) => [`m${i}`, i % 7 === 0 ? i : (rand() - 0.5) * 1e9]);
    zbig.push(['pinf', Infinity], ['minf', -Infinity], ['5', 5]);
    await cmd(r, 'ZADD', 'z:big', ...zbig.flatMap(([m, s]) => [s === Infinity ? '+inf' : s === -Infinity ? '-inf' : String(s), m]));
    put(expected, 0, 'z:big', { t: 'zset', v: [...zbig].sort((x, y) => (x[0] < y[0] ? -1 : 1)) });

    const hsmall: Array<[string, string]> = [['f', 'v'], ['n', '12'], ['neg', '-1'], ['1', 'one']];
    await cmd(r, 'HSET', 'h:small', ...hsmall.flat());
    put(expected, 0, 'h:small', { t: 'hash', v: [...hsmall].sort((x, y) => (x[0] < y[0] ? -1 : 1)) });
    const hbig: Array<[string, string]> = Array.from({ length: 600 }, (_, i) => [`field${i}`, i % 2 ? String(i) : `v${i}`]);
    await cmd(r, 'HSET', 'h:big', ...hbig.flat());
    put(expected, 0, 'h:big', { t: 'hash', v: [...hbig].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) });
    await cmd(r, 'HSET', 'h:long', 'f', 'L'.repeat(100));
    put(expected, 0, 'h:long', { t: 'hash', v: [['f', 'L'.repeat(100)]] });

    await cmd(r, 'SELECT', 2);
    await cmd(r, 'SET', 'db2', 'two');
    put(expected, 2, 'db2', { t: 'string', v: 'two' });
    await cmd(r, 'SELECT', 15);
    await cmd(r, 'RPUSH', 'db15', 'x');
    put(expected, 15, 'db15', { t: 'list', v: ['x'] });
    await cmd(r, 'SELECT', 0);

    for (const k of ['s:raw', 's:int', 'l:small', 'l:big', 'l:plain', 'set:ints', 'set:bigints', 'set:strs', 'z:small', 'z:big', 'h:small', 'h:big', 'h:long']) {
      encodings[k] = String(await r.object('ENCODING', k));
    }
    await cmd(r, 'SAVE');
  } finally {
    r.disconnect();
  }
  try {
    // the dump covers both encodings of every type
    assert.equal(encodings, {
      's:raw': 'embstr', 's:int': 'int', 'l:small': 'quicklist', 'l:big': 'quicklist', 'l:plain': 'quicklist',
      'set:ints': 'intset', 'set:bigints': 'hashtable', 'set:strs': 'hashtable', 'z:small': 'listpack', 'z:big': 'skiplist',
      'h:small': 'listpack', 'h:big': 'hashtable', 'h:long': 'hashtable',
    });
    const file = new Uint8Array(readFileSync(join(srv.dir, 'x.rdb')));
    const { model, result, aux } = readModel(file, 'x.rdb');
    assert.equal(modelObject(model), modelObject(expected));
    assert.is(result.checksum, 'verified');
    assert.is(result.version, 10);
    assert.equal(aux.map(([k]) => k), ['redis-ver', 'redis-bits', 'ctime', 'used-mem', 'aof-base']);
    assert.equal(aux[0], ['redis-ver', '7.0.15']);
    assert.equal(aux[1], ['redis-bits', '64']);
    // sanity: the file really contains LZF strings and the listpack/quicklist/intset type codes
    assert.ok(file.includes(0xc3));
  } finally {
    await srv.stop();
  }
});

test('real dump: strings, hashtable sets/hashes and skiplist zsets re-encode byte-for-byte', async () => {
  if (!redisOrSkip('byte-identical re-encode')) return;
  const srv = await startRedis();
  const r = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  const rand = rng(51);
  try {
    for (let i = 0; i < 300; i++) {
      const len = (rand() * 3000) | 0;
      const alpha = 1 + ((rand() * 30) | 0);
      const v = Buffer.alloc(len);
      for (let j = 0; j < len; j++) v[j] = rand() < 0.3 && j > 0 ? v[Math.max(0, j - 1 - ((rand() * 50) | 0))]! : 97 + ((rand() * alpha) | 0);
      await cmd(r, 'SET', `str:${i}`, i % 10 === 0 ? String(i * 1000 - 50000) : v);
      if (i % 7 === 0) await cmd(r, 'PEXPIREAT', `str:${i}`, Date.now() + 1_000_000 + i);
    }
    await cmd(r, 'SADD', 'set:ht', ...Array.from({ length: 700 }, (_, i) => (i % 2 ? String(i * 1000) : `member-${i}-${'m'.repeat(i % 30)}`)));
    await cmd(r, 'HSET', 'hash:ht', ...Array.from({ length: 600 }, (_, i) => [`f${i}`, i % 3 ? String(i) : 'value-'.repeat(1 + (i % 9))]).flat());
    await cmd(r, 'ZADD', 'zset:sl', ...Array.from({ length: 300 }, (_, i) => [String(i % 5 ? (rand() - 0.5) * 1e6 : i), `z${i}`]).flat(), '+inf', 'top', '-inf', 'bottom');
    await cmd(r, 'SELECT', 7);
    await cmd(r, 'SET', 'other-db', 'x'.repeat(100));
    await cmd(r, 'SAVE');
  } finally {
    r.disconnect();
  }
  try {
    const original = new Uint8Array(readFileSync(join(srv.dir, 'x.rdb')));
    const enc = encode((e) => {
      e.header();
      let expire = -1;
      readRdb(original, 'x.rdb', {
        aux: (k, v) => e.aux(b(k), b(v)),
        selectDb: (db) => e.selectDb(db),
        resizeDb: (n, x) => e.resizeDb(n, x),
        key: (_db, key, value, exp) => {
          expire = exp;
          if (expire !== -1) e.expireMs(expire);
          switch (value.type) {
            case 'string': e.stringKeyValue(key, value.value); break;
            case 'set': e.setKeyValue(key, value.members); break;
            case 'hash': e.hashKeyValue(key, value.entries); break;
            case 'zset': e.zsetKeyValue(key, value.entries); break;
            case 'list': throw new Error('no lists in this dump');
          }
        },
      });
      e.finish();
    });
    assert.is(enc.length, original.length);
    assert.ok(Buffer.compare(Buffer.from(enc), Buffer.from(original)) === 0, 'files differ');
  } finally {
    await srv.stop();
  }
});

test('real dump: streams and Functions libraries are refused by name', async () => {
  if (!redisOrSkip('unsupported content')) return;
  const srv = await startRedis();
  const r = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  try {
    await cmd(r, 'SET', 'before', '1');
    await cmd(r, 'XADD', 'mystream', '*', 'f', 'v');
    await cmd(r, 'SAVE');
    const withStream = new Uint8Array(readFileSync(join(srv.dir, 'x.rdb')));
    const err = expectCorrupt(() => readRdb(withStream, 'x.rdb', { key: () => {} }), 'x.rdb');
    assert.match(err.message, /stream/);
    assert.is(withStream[err.offset], RDB_TYPE.STREAM_LISTPACKS_2);

    await cmd(r, 'FLUSHALL');
    await cmd(r, 'FUNCTION', 'LOAD', "#!lua name=mylib\nredis.register_function('f', function() return 1 end)");
    await cmd(r, 'SAVE');
    const withFn = new Uint8Array(readFileSync(join(srv.dir, 'x.rdb')));
    const err2 = expectCorrupt(() => readRdb(withFn, 'x.rdb', { key: () => {} }), 'x.rdb');
    assert.match(err2.message, /Functions/);
    assert.is(withFn[err2.offset], RDB_OPCODE.FUNCTION2);
  } finally {
    r.disconnect();
    await srv.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// Corruption
// ---------------------------------------------------------------------------------------------

function sampleFile(compression = true): Uint8Array {
  return encode((e) => { writeLegacy(e, 1_700_000_000_000); }, { compression });
}

test('corrupt: header errors use Redis messages', () => {
  const good = encode((e) => { e.header(); e.finish(); });
  const bad = good.slice();
  bad[4] = 0x58;
  expectCorrupt(() => readRdb(bad, 'a.rdb', { key: () => {} }), 'a.rdb', (e) => {
    assert.is(e.offset, 0);
    assert.match(e.message, 'Wrong signature trying to load DB from file');
  });
  for (const [v, n] of [['0011', 11], ['0000', 0], ['9999', 9999]] as const) {
    const f = good.slice();
    f.set(b(v), 5);
    expectCorrupt(() => readRdb(f, 'v.rdb', { key: () => {} }), 'v.rdb', (e) => {
      assert.is(e.offset, 5);
      assert.match(e.message, `Can't handle RDB format version ${n}`);
    });
  }
  expectCorrupt(() => readRdb(new Uint8Array(0), 'e.rdb', { key: () => {} }), 'e.rdb', (e) => assert.is(e.offset, 0));
  // versions 1..10 are accepted; < 5 has no checksum
  const v4 = encode((e) => { e.header(4); e.stringKeyValue(b('k'), b('v')); e.finish(); });
  const r = readRdb(v4.subarray(0, v4.length - 8), 'v4.rdb', { key: () => {} });
  assert.is(r.checksum, 'absent');
  assert.is(r.keys, 1);
});

test('corrupt: wrong checksum message names computed and stored values', () => {
  const file = encode((e) => { e.header(); e.stringKeyValue(b('k'), b('v')); e.finish(); });
  const bad = file.slice();
  bad[bad.length - 1] ^= 0x80;
  const crcOff = file.length - 8;
  expectCorrupt(() => readRdb(bad, 'c.rdb', { key: () => {} }), 'c.rdb', (e) => {
    assert.is(e.offset, crcOff);
    const stored = Buffer.from(bad.buffer).readBigUInt64LE(crcOff).toString(16);
    const actual = Buffer.from(file.buffer).readBigUInt64LE(crcOff).toString(16);
    assert.match(e.message, `Wrong RDB checksum expected: (${actual}) but got (${stored})`);
  });
  // verification off: accepted
  assert.is(readRdb(bad, 'c.rdb', { key: () => {} }, { verifyChecksum: false }).checksum, 'skipped');
});

test('corrupt: targeted damage reports the offending offset', () => {
  const build = (fn: (e: RdbEncoder) => void): Uint8Array => encode((e) => { e.header(); e.selectDb(0); fn(e); e.finish(); }, { compression: false });
  const at = (file: Uint8Array, reason: RegExp | string, offset: number): void => {
    expectCorrupt(() => readRdb(file, 't.rdb', { key: () => {} }), 't.rdb', (e) => {
      assert.match(e.message, reason);
      assert.is(e.offset, offset, e.message);
    });
  };
  // 9 header + FE 00 = 11: first record starts at offset 11
  at(build((e) => { e.type(0); e.rawBytes(new Uint8Array([0x82])); }), /Unknown length encoding 2/, 12);
  at(build((e) => { e.type(0); e.rawBytes(new Uint8Array([0xc4])); }), 'Unknown RDB string encoding type 4', 12);
  for (const t of [8, 20, 0xf4]) at(build((e) => { e.type(t); e.stringObject(b('k')); }), `Invalid object type: ${t}`, 11);
  at(build((e) => { e.type(0); e.stringObject(b('k')); e.rawBytes(new Uint8Array([0xc3, 3, 10, 0x05, 0x61, 0x62])); }), 'Invalid LZF compressed string', 14);
  at(build((e) => { e.type(RDB_TYPE.SET); e.stringObject(b('k')); e.length(2); e.stringObject(b('a')); e.stringObject(b('a')); }), 'Duplicate set members detected', 17);
  at(build((e) => { e.type(RDB_TYPE.HASH); e.stringObject(b('k')); e.length(2); e.stringObject(b('f')); e.stringObject(b('1')); e.stringObject(b('f')); e.stringObject(b('2')); }), 'Duplicate hash fields detected', 19);
  at(build((e) => { e.type(RDB_TYPE.ZSET_2); e.stringObject(b('k')); e.length(1); e.stringObject(b('m')); e.binaryDouble(NaN); }), 'Zset with NAN score detected', 17);
  // listpack with a damaged backlen: blob data starts after 10 (type) 01 'k' 0x?? (len) => 11+1+2+1
  const lp = listpack(['aa', 'bb']);
  lp[6 + 3] = 9; // backlen of the first entry ("aa": 3 bytes) changed
  at(build((e) => { e.type(RDB_TYPE.HASH_LISTPACK); e.stringObject(b('k')); e.stringObject(lp); }), /Hash listpack integrity check failed\. \(backlen/, 15 + 6 + 3);
  const is = intset(2, [1, 5, 3]);
  at(build((e) => { e.type(RDB_TYPE.SET_INTSET); e.stringObject(b('k')); e.stringObject(is); }), /Intset integrity check failed\. \(elements not sorted/, 15 + 8 + 4);
  const zl = ziplist(['a', 'b']);
  zl[4] = 0xff; // tail offset outside
  at(build((e) => { e.type(RDB_TYPE.LIST_ZIPLIST); e.stringObject(b('k')); e.stringObject(zl); }), /List ziplist integrity check failed\. \(tail offset/, 15 + 4);
  at(build((e) => { e.type(RDB_TYPE.LIST_QUICKLIST_2); e.stringObject(b('k')); e.length(1); e.length(3); }), /Quicklist integrity check failed/, 15);
  at(build((e) => { e.type(RDB_TYPE.LIST); e.stringObject(b('k')); e.length(1_000_000); }), /List count 1000000 is larger/, 14);
  // unsupported content named as such
  at(build((e) => { e.opcode(RDB_OPCODE.MODULE_AUX); }), /module AUX/, 11);
  at(build((e) => { e.type(RDB_TYPE.MODULE_2); e.stringObject(b('k')); }), /module value/, 11);
  at(build((e) => { e.type(RDB_TYPE.STREAM_LISTPACKS); e.stringObject(b('k')); }), /stream/, 11);
});

test('corrupt: truncation at every offset throws CorruptFileError', () => {
  for (const compression of [false, true]) {
    const file = sampleFile(compression);
    for (let cut = 0; cut < file.length; cut++) {
      expectCorrupt(() => readRdb(file.subarray(0, cut), 'trunc.rdb', { key: () => {} }), 'trunc.rdb', (e) => {
        assert.ok(e.offset >= 0 && e.offset <= cut, `offset ${e.offset} for cut ${cut}`);
      });
    }
    // and the intact file is fine
    readRdb(file, 'trunc.rdb', { key: () => {} });
  }
});

test('corrupt: every single-byte change is detected (checksum) or at least never crashes', () => {
  const rand = rng(61);
  const file = sampleFile(true);
  let detected = 0;
  for (let off = 0; off < file.length; off++) {
    for (const x of [0x01, 0x80, 1 + ((rand() * 254) | 0)]) {
      const f = file.slice();
      f[off] ^= x;
      let result: RdbReadResult | undefined;
      try {
        result = readRdb(f, 'flip.rdb', { key: () => {} });
      } catch (err) {
        assert.instance(err, CorruptFileError, `offset ${off} xor ${x}: ${String(err)}`);
        detected++;
        continue;
      }
      // Only possible when the damage removes the checksum itself (header version < 5, or an
      // early EOF followed by eight zero bytes) -- exactly the cases Redis cannot detect either.
      assert.ok(result.checksum === 'absent' || result.checksum === 'disabled-in-file', `undetected flip at ${off} xor ${x}`);
      assert.ok(off < 9 || result.checksum === 'disabled-in-file');
    }
    // without checksum verification the structure checks alone must still never crash
    const f = file.slice();
    f[off] = (rand() * 256) | 0;
    try {
      readRdb(f, 'flip.rdb', { key: () => {} }, { verifyChecksum: false });
    } catch (err) {
      assert.instance(err, CorruptFileError, `offset ${off}: ${String(err)}`);
    }
  }
  assert.ok(detected > file.length * 2.9);
});

test('corrupt: random garbage after a valid header never crashes', () => {
  const rand = rng(71);
  for (let i = 0; i < 3000; i++) {
    const len = 9 + ((rand() * 200) | 0);
    const f = new Uint8Array(len);
    f.set(b('REDIS0010'));
    for (let j = 9; j < len; j++) f[j] = rand() < 0.3 ? [0, 1, 2, 0xfe, 0xff, 0xc3, 0x10, 0x12][(rand() * 8) | 0]! : (rand() * 256) | 0;
    try {
      readRdb(f, 'g.rdb', { key: () => {} }, { verifyChecksum: i % 2 === 0 });
    } catch (err) {
      assert.instance(err, CorruptFileError, String(err));
    }
  }
});

test.run();
