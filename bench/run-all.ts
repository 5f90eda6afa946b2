/**
 * `npm run bench`: every benchmark in one run, results to bench/results/*.json|md and a summary in
 * bench/results/SUMMARY.md. BENCH_KEYS and BENCH_ROUNDS override the 1M keys / 3 rounds defaults;
 * `npm run bench -- embedded bgsave` runs a subset.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './common.js';
import { runEmbedded } from './embedded.js';
import { runBgsave } from './bgsave.js';
import { runRdbLoad } from './rdb-load.js';
import { runServer } from './redis-benchmark.js';
import { runCollections } from './collections.js';

const suites: Record<string, () => Promise<string>> = { embedded: runEmbedded, bgsave: runBgsave, 'rdb-load': runRdbLoad, server: () => runServer(), collections: runCollections };
const wanted = process.argv.slice(2).filter((a) => a in suites);
const names = wanted.length ? wanted : Object.keys(suites);
const parts: string[] = [`# forkless benchmarks — ${new Date().toISOString()}`, '', `Machine: ${process.platform} ${process.arch}, Node ${process.version}.`, ''];
for (const name of names) {
  console.log(`--- ${name}`);
  const md = await suites[name]();
  console.log(md);
  parts.push(md, '');
}
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, wanted.length ? `SUMMARY-${names.join('-')}.md` : 'SUMMARY.md'), parts.join('\n'));
