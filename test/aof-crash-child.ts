/**
 * Child process of test/aof-crash.test.ts: runs the embedded engine with `appendonly yes` under a
 * steady write load and reports every acknowledged write on stdout, until the parent kills it
 * with SIGKILL.
 *
 *   node aof-crash-child.js <dir> <appendfsync> <mode: plain|rewrite|bgsave> [batch]
 *
 * A batch of SETs `k:<i>` = `<i>` is acknowledged once `await db.durable()` resolves — the
 * embedded API's promise that the writes are as durable as the policy requires. Each
 * acknowledgement is one line `ack <last i> <unix ms>` written synchronously to fd 1.
 */
import { writeSync } from 'node:fs';
import { open } from '../engine/index.js';

const [dir, policy, mode, batchArg] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));

/** A whole line to fd 1 (a pipe the parent drains asynchronously: retry while it is full). */
function say(line: string): void {
  const b = Buffer.from(line);
  let off = 0;
  while (off < b.length) {
    try {
      off += writeSync(1, b, off, b.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
const batch = Number(batchArg ?? 20);

const db = await open({
  dir: dir!, appendonly: 'yes', appendfsync: policy!, save: mode === 'bgsave' ? '1 1' : '', loglevel: 'warning',
  'auto-aof-rewrite-percentage': mode === 'rewrite' ? '50' : '0', 'auto-aof-rewrite-min-size': '65536',
});
say('ready\n');
const value = Buffer.alloc(200, 0x61);
let i = 0;
let lastAdmin = Date.now();
for (;;) {
  for (let j = 0; j < batch; j++, i++) {
    db.call('SET', `k:${i}`, String(i));
    if ((i & 7) === 0) db.call('SET', `pad:${i & 1023}`, value);
  }
  if (Date.now() - lastAdmin > 80) {
    lastAdmin = Date.now();
    try {
      if (mode === 'rewrite' && !db.engine.aof.rewriteInProgress) db.call('BGREWRITEAOF');
      if (mode === 'bgsave' && !db.engine.rdb.inProgress) db.call('BGSAVE');
    } catch { /* already running */ }
  }
  await db.durable();
  say(`ack ${i - 1} ${Date.now()}\n`);
}
