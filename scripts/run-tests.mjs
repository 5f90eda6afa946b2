// Runs the uvu suite on the compiled tests (dist/test) and prints the closing line CI reads:
// `N passed, N failed, N skipped`. uvu itself prints only Total/Passed/Skipped and exits 0 when it
// found no tests, so this wrapper turns "no tests" and "a file crashed before its summary" into failures.
// Usage: npm test [-- <pattern>]   (pattern filters test files by a regular expression on the path)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pattern = process.argv[2] ? `(?:${process.argv[2]})[^/]*\\.test\\.js$` : '\\.test\\.js$';
const args = [join(root, 'node_modules', 'uvu', 'bin.js'), '--no-color', join(root, 'dist', 'test'), pattern];
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
let out = '';
child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
child.on('close', (code) => {
  const num = (k) => {
    const m = out.match(new RegExp(`${k}:\\s+(\\d+)`));
    return m ? Number(m[1]) : NaN;
  };
  const total = num('Total');
  const passed = num('Passed');
  const skipped = Number.isNaN(num('Skipped')) ? 0 : num('Skipped');
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    console.log('test run crashed before uvu printed its summary');
    console.log('0 passed, 1 failed');
    process.exit(code || 1);
  }
  const failed = total - passed;
  if (total === 0) console.log('no tests were found: failing the run');
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code !== 0 ? code : (failed > 0 || total === 0) ? 1 : 0);
});
