// Makes a fresh clone runnable: installs dependencies when node_modules is missing or older than
// the lockfile, then compiles TypeScript to dist/ (always with --force, otherwise only when no build
// exists). `npm start` and `npm test` both go through here, so neither needs a separate set-up step.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`forkless: '${cmd} ${args.join(' ')}' failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');
const needInstall = !existsSync(join(root, 'node_modules', 'typescript')) ||
  (existsSync(lock) && existsSync(marker) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
if (needInstall) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // `npm install`, not `npm ci`: npm 11.19's ci rejects this lockfile for missing other-platform
  // optional packages of msgpackr-extract (an lmdb dependency) even when the lockfile is fresh.
  run(npm, ['install', '--no-audit', '--no-fund']);
}
if (force || !existsSync(join(root, 'dist', 'engine', 'index.js'))) {
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root]);
}
