#!/usr/bin/env node
// npm install hook: use a prebuilt addon when one matches this platform, else build with cmake-js.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

function loadable() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.NASX_FORCE_BUILD !== '1' && loadable()) {
  console.log('nasx: using the existing native addon');
  process.exit(0);
}
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
console.log('nasx: building the native addon with cmake-js (set NASX_CUDA=OFF to skip CUDA detection)');
const args = [cmakeJs, 'compile', '--directory', root];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error(
    'nasx: building the native addon failed. It needs a C++17 compiler and CMake >= 3.18 ' +
      '(Debian/Ubuntu: apt-get install -y g++ cmake). Then run: npm rebuild nasx',
  );
  process.exit(r.status ?? 1);
}
