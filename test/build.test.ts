import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../lib/util/package-root.js';
import { native } from '../lib/native/binding.js';

const root = packageRoot();

test('binding.gyp builds the same native sources as CMake (CPU only)', (t) => {
  const cmake = readFileSync(path.join(root, 'native', 'sources.cmake'), 'utf8');
  const listed = (name: string) => {
    const m = new RegExp(`set\\(${name}\\s+([^)]*)\\)`).exec(cmake);
    return (m?.[1] ?? '').split(/\s+/).filter(Boolean).map((s) => s.replace('${_nasx_native}', 'native'));
  };
  const cmakeSources = [
    ...listed('NASX_CORE_SOURCES'),
    ...listed('NASX_CPU_SOURCES'),
    ...listed('NASX_BINDING_SOURCES'),
    ...listed('NASX_CUDA_STUB_SOURCES'),
  ].sort();
  const gyp = JSON.parse(readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
  t.deepEqual([...gyp.targets[0]!.sources].sort(), cmakeSources);
  // Every .cc file under core, cpu and binding is built.
  for (const dir of ['core', 'cpu', 'binding']) {
    for (const f of readdirSync(path.join(root, 'native', dir)).filter((f) => f.endsWith('.cc'))) {
      t.true(cmakeSources.includes(`native/${dir}/${f}`), `native/${dir}/${f} is not in native/sources.cmake`);
    }
  }
});

test('the addon reports its build and the chosen GEMM instruction set', (t) => {
  const info = native().buildInfo;
  t.true(['avx512', 'avx2', 'portable'].includes(info.gemmIsa));
  t.deepEqual(info.backends, ['cpu']);
  // Without a GPU (or without CUDA in the build) the engine says why and trains on the CPU.
  if (info.cudaDevices.length === 0) t.is(typeof info.cudaUnavailableReason, 'string');
});
