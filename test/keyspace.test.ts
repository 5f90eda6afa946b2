import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyspace, type SharedKeyspace, type SnapshotJob } from '../engine/keyspace/keyspace.js';
import { KEEP_TTL, NO_EXPIRE } from '../engine/keyspace/api.js';
import { SnapshotWalker, type DbMap, type WalkStats } from '../engine/persist/snapshot-walker.js';
import { RdbEncoder } from '../engine/persist/rdb-format.js';
import { readRdb } from '../engine/persist/rdb-reader.js';
import { makeFragmentEncoder } from '../engine/persist/fragment-encoder.js';

const b = (s: string) => Buffer.from(s);

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

interface Entry { value: string; exp: number }

/** Serializes a snapshot job to RDB bytes in memory and reads them back: db -> key -> entry. */
function snapshotToMap(job: SnapshotJob): { out: Map<number, Map<string, Entry>>; stats: WalkStats } {
  const chunks: Buffer[] = [];
  const enc = new RdbEncoder((c) => { chunks.push(Buffer.from(c)); }, { compression: true, checksum: true });
  enc.header(10);
  const stats = new SnapshotWalker(job, enc, { compression: true }).run();
  enc.finish();
  const out = new Map<number, Map<string, Entry>>();
  readRdb(Buffer.concat(chunks), 'memory', {
    key: (db, key, value, exp) => {
      if (value.type !== 'string') throw new Error('not a string');
      let m = out.get(db);
      if (!m) { m = new Map(); out.set(db, m); }
      const k = Buffer.from(key).toString('latin1');
      assert.not.ok(m.has(k), `duplicate key ${k} in snapshot`);
      m.set(k, { value: Buffer.from(value.value).toString('latin1'), exp });
    },
  }, { verifyChecksum: true });
  return { out, stats };
}

function dump(ks: SharedKeyspace, dbs: number): Map<number, Map<string, Entry>> {
  const out = new Map<number, Map<string, Entry>>();
  for (let db = 0; db < dbs; db++) {
    const m = new Map<string, Entry>();
    ks.forEachKey(db, (k) => {
      const key = Buffer.from(k);
      const v = ks.getString(db, key)!;
      m.set(key.toString('latin1'), { value: Buffer.from(v).toString('latin1'), exp: ks.getExpire(db, key) });
    });
    if (m.size > 0) out.set(db, m);
  }
  return out;
}

function sameMaps(a: Map<number, Map<string, Entry>>, b2: Map<number, Map<string, Entry>>, what: string): void {
  const dbs = new Set([...a.keys(), ...b2.keys()]);
  for (const db of dbs) {
    const x = a.get(db) ?? new Map<string, Entry>();
    const y = b2.get(db) ?? new Map<string, Entry>();
    assert.is(x.size, y.size, `${what}: db ${db} sizes`);
    for (const [k, e] of x) {
      const f = y.get(k);
      assert.ok(f, `${what}: db ${db} missing ${k}`);
      assert.is(f!.value, e.value, `${what}: db ${db} key ${k} value`);
      assert.is(f!.exp, e.exp, `${what}: db ${db} key ${k} expire`);
    }
  }
}

function randomValue(r: () => number, pageSize: number): string {
  const roll = r();
  const len = roll < 0.7 ? Math.floor(r() * 120) : roll < 0.97 ? Math.floor(r() * 2000) : Math.floor(r() * pageSize * 3);
  // Cheap to build even for multi-megabyte values: a fill byte with a few random bytes sprinkled in.
  const buf = Buffer.alloc(len, Math.floor(r() * 256));
  for (let i = 0; i < Math.min(len, 64); i++) buf[Math.floor(r() * len)] = Math.floor(r() * 256);
  return buf.toString('latin1');
}

test('set/get/del/expire against a Map model, several page sizes', () => {
  for (const pageSize of [256, 4096, 65536]) {
    const ks = createKeyspace({ pageSize, databases: 4 });
    ks.now = 1_000_000;
    const model = new Map<string, Entry>();
    const r = rng(pageSize);
    for (let i = 0; i < 20000; i++) {
      const db = Math.floor(r() * 4);
      const key = `k${Math.floor(r() * 500)}`;
      const mk = `${db}:${key}`;
      const op = r();
      if (op < 0.45) {
        const v = randomValue(r, pageSize);
        const exp = r() < 0.2 ? ks.now + Math.floor(r() * 1000) - 200 : r() < 0.1 ? KEEP_TTL : NO_EXPIRE;
        ks.setString(db, b(key), Buffer.from(v, 'latin1'), exp);
        const prev = model.get(mk);
        const keep = exp === KEEP_TTL ? (prev && prev.exp > ks.now ? prev.exp : NO_EXPIRE) : exp;
        model.set(mk, { value: v, exp: keep });
      } else if (op < 0.6) {
        const had = ks.del(db, b(key));
        const m = model.get(mk);
        assert.is(had, !!m && (m.exp === NO_EXPIRE || m.exp > ks.now), 'del result');
        model.delete(mk);
      } else if (op < 0.7) {
        const at = ks.now + Math.floor(r() * 2000) - 500;
        const ok = ks.setExpire(db, b(key), at);
        const m = model.get(mk);
        const live = !!m && (m.exp === NO_EXPIRE || m.exp > ks.now);
        assert.is(ok, live, 'setExpire result');
        if (live) m!.exp = at;
      } else if (op < 0.75) {
        const ok = ks.persist(db, b(key));
        const m = model.get(mk);
        const live = !!m && (m.exp === NO_EXPIRE || m.exp > ks.now);
        assert.is(ok, live && m!.exp !== NO_EXPIRE, 'persist result');
        if (live) m!.exp = NO_EXPIRE;
      } else if (op < 0.8) {
        ks.now += Math.floor(r() * 50);
      } else {
        const v = ks.getString(db, b(key));
        const m = model.get(mk);
        const live = !!m && (m.exp === NO_EXPIRE || m.exp > ks.now);
        if (!live) assert.is(v, null, `get ${mk} should be nil`);
        else assert.is(Buffer.from(v!).toString('latin1'), m!.value, `get ${mk}`);
      }
    }
    // Sizes agree with the model once every expired key was touched (active expiry is sampling).
    for (const [k, e] of model) if (e.exp !== NO_EXPIRE && e.exp <= ks.now) model.delete(k);
    ks.activeExpireCycle(1000);
    for (let db = 0; db < 4; db++) for (let i = 0; i < 500; i++) ks.exists(db, b(`k${i}`));
    let total = 0;
    for (let db = 0; db < 4; db++) total += ks.dbSize(db);
    assert.is(total, model.size, `dbsize total (page ${pageSize})`);
  }
});

test('SCAN returns every key present for the whole scan, across growth and shrink', () => {
  const ks = createKeyspace({ pageSize: 4096 });
  for (let i = 0; i < 1000; i++) ks.setString(0, b(`stable:${i}`), b('v'), NO_EXPIRE);
  const seen = new Set<string>();
  let cursor = 0;
  let step = 0;
  do {
    cursor = ks.scan(0, cursor, 10, (k) => { seen.add(Buffer.from(k).toString()); });
    step++;
    // Grow the table a lot during the scan, then shrink it.
    if (step < 50) for (let i = 0; i < 200; i++) ks.setString(0, b(`tmp:${step}:${i}`), b('x'), NO_EXPIRE);
    if (step === 50) for (let s = 1; s < 50; s++) for (let i = 0; i < 200; i++) ks.del(0, b(`tmp:${s}:${i}`));
    if (step % 7 === 0) ks.cron(1);
  } while (cursor !== 0 && step < 100000);
  for (let i = 0; i < 1000; i++) assert.ok(seen.has(`stable:${i}`), `missing stable:${i}`);
});

test('randomKey, swapDb, rename, move, copy', () => {
  const ks = createKeyspace();
  assert.is(ks.randomKey(0), null);
  ks.setString(0, b('a'), b('1'), NO_EXPIRE);
  ks.setString(0, b('b'), b('2'), ks.now + 100000);
  assert.ok(['a', 'b'].includes(ks.randomKey(0)!.toString()));
  assert.ok(ks.rename(0, b('b'), b('c')));
  assert.is(ks.getString(0, b('b')), null);
  assert.is(Buffer.from(ks.getString(0, b('c'))!).toString(), '2');
  assert.ok(ks.getExpire(0, b('c')) > 0);
  assert.ok(ks.move(0, b('a'), 3));
  assert.not.ok(ks.move(0, b('a'), 3));
  assert.ok(ks.copy(3, b('a'), 0, b('a2'), false));
  assert.not.ok(ks.copy(3, b('a'), 0, b('a2'), false));
  ks.swapDb(0, 3);
  assert.is(Buffer.from(ks.getString(0, b('a'))!).toString(), '1');
  assert.is(ks.dbSize(3), 2);
  ks.flushAll();
  assert.is(ks.dbSize(0) + ks.dbSize(3), 0);
  assert.is(ks.memoryStats().datasetBytes, 0);
});

for (const encode of [false, true]) {
  test(`snapshot equals the keyspace at begin(), whatever happens after (single thread, ${encode ? 'copy budget spent: main thread encodes' : 'shadow copies'})`, () => {
    for (const pageSize of [256, 4096, 2 * 1024 * 1024]) {
      const ks = createKeyspace({ pageSize, databases: 4 });
      ks.now = 5_000_000;
      const r = rng(7 + pageSize);
      for (let i = 0; i < 3000; i++) {
        ks.setString(Math.floor(r() * 4), b(`key:${i}`), Buffer.from(randomValue(r, pageSize), 'latin1'), r() < 0.3 ? ks.now + 1000 + i : NO_EXPIRE);
      }
      ks.swapDb(1, 2);
      const before = dump(ks, 4);
      let map: DbMap | null = null;
      const job = ks.beginSnapshot(encode
        ? { copyBudgetBytes: pageSize * 2, fragmentRingBytes: 64 * 1024 * 1024, encoder: makeFragmentEncoder(() => map!) }
        : undefined);
      map = job;
      // Overwrite, delete, re-insert, change TTLs, grow into new pages, pass expiry times.
      for (let i = 0; i < 6000; i++) {
        const db = Math.floor(r() * 4);
        const key = b(`key:${Math.floor(r() * 4000)}`);
        const op = r();
        if (op < 0.5) ks.setString(db, key, Buffer.from(randomValue(r, pageSize), 'latin1'), r() < 0.5 ? KEEP_TTL : NO_EXPIRE);
        else if (op < 0.7) ks.del(db, key);
        else if (op < 0.8) ks.setExpire(db, key, ks.now + 5);
        else if (op < 0.85) ks.persist(db, key);
        else ks.now += 3;
      }
      ks.activeExpireCycle(100);
      ks.flushDb(3);
      const { out, stats } = snapshotToMap(job);
      const b2 = ks.barrier.stats;
      ks.endSnapshot();
      sameMaps(before, out, `page ${pageSize}`);
      assert.is(stats.keys, [...before.values()].reduce((n, m) => n + m.size, 0));
      assert.ok(stats.pagesFromShadow > 0, 'some pages were copied by the barrier');
      if (encode && pageSize <= 4096) assert.ok(b2.pagesEncoded > 0 && stats.fragments === b2.pagesEncoded, `main thread encoded pages (${b2.pagesEncoded}, ${stats.fragments})`);
    }
  });
}

test('a write to a page the worker is copying steals it: the snapshot keeps the old value', () => {
  const ks = createKeyspace({ pageSize: 4096 });
  ks.now = 1_000;
  for (let i = 0; i < 200; i++) ks.setString(0, b(`k${i}`), b(`old${i}`), NO_EXPIRE);
  const job = ks.beginSnapshot();
  // Pretend the worker has claimed every page and is mid-copy.
  const state = new Uint8Array(job.shared.state);
  for (let p = 0; p < state.length; p++) Atomics.compareExchange(state, p, 0, 2);
  for (let i = 0; i < 200; i += 3) ks.setString(0, b(`k${i}`), b(`new${i}`), NO_EXPIRE);
  assert.ok(ks.barrier.stats.steals > 0, 'the main thread stole pages instead of waiting');
  // Hand the untouched pages back to the walker as if the worker had not started.
  for (let p = 0; p < state.length; p++) Atomics.compareExchange(state, p, 2, 0);
  const { out } = snapshotToMap(job);
  ks.endSnapshot();
  const m = out.get(0)!;
  assert.is(m.size, 200);
  for (let i = 0; i < 200; i++) assert.is(m.get(`k${i}`)!.value, `old${i}`);
});

test.run();
