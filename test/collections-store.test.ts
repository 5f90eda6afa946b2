/**
 * The keyspace's large-collection storage (engine/keyspace/collections.ts) under the type layer:
 * element records, their per-collection index, list nodes, COPY/RENAME/MOVE, lazy free.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyspace } from '../engine/keyspace/keyspace.js';
import { NO_EXPIRE, VT_HASH_LISTPACK, VT_LARGE } from '../engine/keyspace/api.js';

const b = (s: string): Buffer => Buffer.from(s);

test('a large hash: insert, find, grow payloads, remove, scan every field once, random', () => {
  const ks = createKeyspace();
  const h = ks.createLarge(0, b('h'), 'hash', NO_EXPIRE);
  const model = new Map<string, string>();
  for (let i = 0; i < 20000; i++) {
    h.insert(b(`f${i}`), b(`v${i}`));
    model.set(`f${i}`, `v${i}`);
  }
  assert.is(h.count, 20000);
  for (let i = 0; i < 20000; i += 7) {
    const ref = h.find(b(`f${i}`));
    const v = 'x'.repeat(i % 300);
    h.setPayload(ref, b(v));
    model.set(`f${i}`, v);
  }
  for (let i = 0; i < 20000; i += 3) {
    h.remove(h.find(b(`f${i}`)));
    model.delete(`f${i}`);
  }
  assert.is(h.count, model.size);
  for (const [f, v] of model) {
    const ref = h.find(b(f));
    assert.ok(ref !== 0, f);
    assert.is(Buffer.from(h.payload(ref)).toString(), v);
  }
  assert.is(h.find(b('f3')), 0);
  const seen = new Set<string>();
  let cursor = 0;
  do {
    const out: number[] = [];
    cursor = h.scanStep(cursor, out);
    for (const r of out) seen.add(Buffer.from(h.field(r)).toString());
  } while (cursor !== 0);
  assert.is(seen.size, model.size);
  assert.ok(model.has(Buffer.from(h.field(h.randomRef())).toString()));
  const v = ks.lookupValue(0, b('h'));
  assert.is(v!.vt, VT_LARGE);
  assert.is(v!.large, h);
  assert.is(ks.typeOf(0, b('h')), 'hash');
});

test('list nodes keep labels and listpacks; COPY clones, RENAME and MOVE keep the collection', () => {
  const ks = createKeyspace();
  const l = ks.createLarge(0, b('l'), 'list', NO_EXPIRE);
  const r1 = l.insertNode(1, b('node-one'));
  l.insertNode(2, b('node-two'));
  l.elements = 2;
  const r1b = l.replaceNode(r1, 0.5, Buffer.alloc(5000, 1));
  assert.is(l.nodeLabel(r1b), 0.5);
  assert.is(l.nodeListpack(r1b).length, 5000);
  assert.is(l.count, 2);
  assert.ok(ks.copy(0, b('l'), 0, b('l2'), false));
  const c = ks.lookupValue(0, b('l2'))!.large!;
  assert.ok(c !== l);
  assert.is(c.count, 2);
  assert.is(c.elements, 2);
  const labels: number[] = [];
  c.forEach((r) => labels.push(c.nodeLabel(r)));
  assert.equal(labels.sort(), [0.5, 2]);
  assert.ok(ks.rename(0, b('l'), b('l3')));
  assert.is(ks.lookupValue(0, b('l3'))!.large, l);
  assert.ok(ks.move(0, b('l3'), 5));
  assert.is(ks.lookupValue(5, b('l3'))!.large, l);
  assert.is(ks.typeOf(5, b('l3')), 'list');
});

test('deleting a large collection frees its elements lazily, from the cron, in batches', () => {
  const ks = createKeyspace();
  const before = ks.memoryStats().usedMemory;
  const s = ks.createLarge(0, b('s'), 'set', NO_EXPIRE);
  for (let i = 0; i < 10000; i++) s.insert(b(`m${i}`), new Uint8Array(0));
  assert.ok(ks.memoryStats().usedMemory > before + 10000 * 24);
  assert.ok(ks.del(0, b('s')));
  assert.is(ks.exists(0, b('s')), false);
  assert.is(ks.lazyfreePending, 10000);
  ks.lazyFree(4000);
  // Whole hash chains are freed at a time, so a batch may overshoot by a chain.
  assert.ok(ks.lazyfreePending <= 6000 && ks.lazyfreePending >= 5990, String(ks.lazyfreePending));
  ks.lazyFree(100000);
  assert.is(ks.lazyfreePending, 0);
  assert.ok(ks.memoryStats().usedMemory <= before + 64, `${ks.memoryStats().usedMemory} vs ${before}`);
});

test('overwriting, expiring and flushing large collections releases them (small ones at once, big ones lazily); small blobs round-trip', () => {
  const ks = createKeyspace();
  const fillHash = (c: ReturnType<typeof ks.createLarge>, n: number): void => { for (let i = 0; i < n; i++) c.insert(b(`f${i}`), b('1')); };
  const h = ks.createLarge(0, b('k'), 'hash', NO_EXPIRE);
  fillHash(h, 10);
  ks.setString(0, b('k'), b('str'), NO_EXPIRE);
  assert.is(ks.typeOf(0, b('k')), 'string');
  assert.is(ks.lazyfreePending, 0, 'a 10-element collection is freed at once');
  const big = ks.createLarge(0, b('big'), 'hash', NO_EXPIRE);
  fillHash(big, 5000);
  ks.setString(0, b('big'), b('str'), NO_EXPIRE);
  assert.is(ks.lazyfreePending, 5000);
  assert.is(ks.lazyfreePendingObjects, 1);
  const z = ks.createLarge(1, b('z'), 'zset', Date.now() + 50);
  for (let i = 0; i < 3000; i++) z.insert(b(`m${i}`), Buffer.alloc(8));
  // createLarge paid down part of the pending free.
  assert.ok(ks.lazyfreePending < 5000, String(ks.lazyfreePending));
  ks.now = Date.now() + 100;
  assert.is(ks.lookupValue(1, b('z')), null);
  assert.is(ks.lazyfreePendingObjects, 2);
  ks.putBlob(2, b('small'), VT_HASH_LISTPACK, b('blob'), NO_EXPIRE);
  assert.is(ks.typeOf(2, b('small')), 'hash');
  assert.is(Buffer.from(ks.lookupValue(2, b('small'))!.blob).toString(), 'blob');
  const s2 = ks.createLarge(2, b('big2'), 'set', NO_EXPIRE);
  for (let i = 0; i < 2000; i++) s2.insert(b(`x${i}`), new Uint8Array(0));
  ks.flushAll();
  assert.is(ks.lazyfreePendingObjects, 3);
  while (ks.lazyfreePending > 0) ks.lazyFree(1000);
  assert.is(ks.lazyfreePendingObjects, 0);
  assert.is(ks.lazyfreedObjects, 3);
});

test.run();
