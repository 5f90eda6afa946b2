/**
 * The forkless-check-aof command (bin/forkless-check-aof.js): argv and stdin/stdout around
 * runCheckAof (aof-check.ts), which has Redis's redis-check-aof behaviour and output.
 */
import { readSync, writeSync } from 'node:fs';
import { runCheckAof } from './aof-check.js';

/** One line from stdin, read synchronously (the --fix confirmation). */
function readLineSync(): string | null {
  const buf = Buffer.alloc(1);
  let s = '';
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return s.length > 0 ? s : null;
    }
    if (n === 0) return s.length > 0 ? s : null;
    if (buf[0] === 0x0a) return s;
    s += String.fromCharCode(buf[0]!);
  }
}

const code = runCheckAof(process.argv.slice(2), {
  out: (text) => { writeSync(1, text); },
  readLine: readLineSync,
});
process.exitCode = code;
