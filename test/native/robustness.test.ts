// The native boundary never takes the host process down: worker termination, detached buffers,
// memory budgets, huge options, index overflow, NaN, thread limits and the host's own I/O.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Arch } from '../../lib/arch/arch.js';
import type { Dataset } from '../../lib/data/dataset.js';
import { loadDataset } from '../../lib/data/load.js';
import { native } from '../../lib/native/binding.js';
import { AbortError, trainCandidates, type TrainResult } from '../../lib/train.js';
import { packageRoot } from '../../lib/util/package-root.js';

const root = packageRoot();
const small: Arch = { type: 'mlp', layers: [{ units: 32 }] };
const cnn: Arch = { type: 'cnn', layers: [{ conv: 8, batchNorm: true }, { pool: 'max' }, { globalPool: 'avg' }, { dense: 16 }] };
const MiB = 1024 * 1024;

/** A two-class data set of n samples with f features, optionally poisoned with one NaN. */
function synthetic(n: number, f: number, options: { nan?: boolean } = {}): Dataset {
  const x = new Float32Array(n * f);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < f; j++) x[i * f + j] = (y[i] ? 1 : -1) + Math.sin(i * 7 + j);
  }
  if (options.nan) x[5 * f + 1] = Number.NaN;
  const split = { x, y, count: n };
  return {
    name: 'synthetic',
    task: 'classification',
    inputShape: [1, 1, f],
    outputSize: 2,
    train: split,
    validation: split,
    test: { x: new Float32Array(0), y: new Int32Array(0), count: 0 },
    normalization: { scale: 1, mean: [0], std: [1] },
  };
}

/** Node source for a worker or child that trains `epochs` epochs with the raw addon and reports progress. */
function trainerSource(epochs: number, after: string): string {
  return `
    const addon = require(require.resolve('node-gyp-build', { paths: [${JSON.stringify(root)}] }))(${JSON.stringify(root)});
    const n = 4000, f = 64;
    const x = new Float32Array(n * f), y = new Int32Array(n);
    for (let i = 0; i < n; i++) { y[i] = i % 2; for (let j = 0; j < f; j++) x[i * f + j] = (y[i] ? 1 : -1) + Math.sin(i * 7 + j); }
    let reported = false;
    const job = addon.train([{ nodes: [{ op: 'dense', units: 512 }, { op: 'activation', activation: 'relu' }, { op: 'dense', units: 2 }] }],
      { inputShape: [1, 1, f], task: 'classification', outputSize: 2, train: { x, y, count: n }, validation: { x, y, count: n } },
      { epochs: ${epochs}, batchSize: 32, seed: 1, threads: 2 },
      () => { if (!reported) { reported = true; ${after} } });
    job.promise.catch(() => {});
  `;
}

test('worker.terminate() during training stops it within seconds, and the process lives on', async (t) => {
  const source = `const { parentPort } = require('node:worker_threads');\n${trainerSource(100000, "parentPort.postMessage('training')")}`;
  const worker = new Worker(source, { eval: true });
  const [first] = await once(worker, 'message');
  t.is(first, 'training');
  const started = performance.now();
  await worker.terminate();
  const seconds = (performance.now() - started) / 1000;
  // 100,000 epochs would take hours: the engine's threads were cancelled and joined at teardown.
  t.true(seconds < 10, `terminate took ${seconds.toFixed(2)} s`);
  t.log(`worker.terminate() returned after ${seconds.toFixed(2)} s`);
  const [after] = await trainCandidates([small], 'digits', { epochs: 1 });
  t.is(after!.status, 'ok');
});

test('process.exit() during training exits cleanly, with the exit code asked for', (t) => {
  const r = spawnSync(process.execPath, ['-e', trainerSource(100000, 'process.exit(7)')], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.signal, null, r.stderr);
  t.is(r.status, 7, r.stderr);
  t.notRegex(r.stderr, /terminate called|Abort/);
});

test('detaching the data set arrays during training is harmless: the engine trains on its own copy', async (t) => {
  const options = { epochs: 3, seed: 4, threads: 2 } as const;
  const [reference] = await trainCandidates([cnn], await loadDataset('digits'), options);
  const data = await loadDataset('digits');
  let detached = false;
  const [r] = await trainCandidates([cnn], data, {
    ...options,
    onProgress: () => {
      if (detached) return;
      detached = true;
      for (const split of [data.train, data.validation, data.test]) {
        for (const a of [split.x, split.y]) if (a.buffer.byteLength > 0) structuredClone(a.buffer, { transfer: [a.buffer] });
      }
    },
  });
  t.true(detached);
  t.is(data.train.x.length, 0, 'the caller-side arrays are detached');
  t.is(r!.status, 'ok');
  t.deepEqual(r!.metrics, reference!.metrics);
});

test('a candidate over the memory budget is oom with its estimate and the budget; the others train as they would alone', async (t) => {
  const huge: Arch = { type: 'mlp', layers: [{ units: 200000 }] };
  const options = { epochs: 2, seed: 3, batchSize: 8192, maxMemory: 1024 * MiB } as const;
  const alone = await trainCandidates([small, cnn], 'digits', options);
  const results = await trainCandidates([small, huge, cnn], 'digits', options);
  t.deepEqual(results.map((r) => r.status), ['ok', 'oom', 'ok']);
  t.regex(
    results[1]!.error!,
    /^needs an estimated [\d.]+ GiB \(\d+ bytes\) to train at batch size 8192, more than the memory budget of 1\.0 GiB \(1073741824 bytes; maxMemory\)$/,
  );
  t.true(results[1]!.memoryBytes > options.maxMemory);
  t.deepEqual(results[0]!.metrics, alone[0]!.metrics);
  t.deepEqual(results[2]!.metrics, alone[1]!.metrics);
  for (const r of [...alone, results[0]!, results[2]!]) t.true(r.memoryBytes > 0 && r.memoryBytes < options.maxMemory);
});

test.serial('candidates that fit the budget one at a time wait for each other and train as they would alone', async (t) => {
  const a: Arch = { type: 'mlp', layers: [{ units: 1024 }, { units: 1024 }] };
  const b: Arch = { type: 'mlp', layers: [{ units: 768 }, { units: 1024 }] };
  const options = { epochs: 1, seed: 2, threads: 2, batchSize: 64 } as const;
  const alone = await trainCandidates([a, b], 'digits', options);
  const budget = Math.max(alone[0]!.memoryBytes, alone[1]!.memoryBytes) + MiB;
  t.true(alone[0]!.memoryBytes + alone[1]!.memoryBytes > budget, 'the two do not fit together');
  const queued = await trainCandidates([a, b], 'digits', { ...options, maxMemory: budget });
  t.deepEqual(queued.map((r) => r.status), ['ok', 'ok']);
  t.deepEqual(queued.map((r) => r.metrics), alone.map((r) => r.metrics));
  t.is(native().memoryInfo().heldBytes, 0, 'everything is released after the job');
});

test('a synchronous Network too big for memory is refused with its estimate, not an abort', (t) => {
  const addon = native();
  // 30,000 units at a batch of 65,536 stay under the 32-bit index limit, but sixty activations of
  // them need about a terabyte.
  const deep = [{ op: 'dense', units: 30000 }, ...Array.from({ length: 60 }, () => ({ op: 'activation', activation: 'relu' })), { op: 'dense', units: 10 }];
  const err = t.throws(() => new addon.Network(deep as never, [28, 28, 1], 10, 65536, 0));
  t.is((err as Error & { code?: string }).code, 'ERR_NASX_OUT_OF_MEMORY');
  t.regex(err!.message, /^the network needs an estimated [\d.]+ [GT]iB \(\d+ bytes\) at maxBatch 65536, more than the memory budget of [\d.]+ GiB \(\d+ bytes\)$/);
  const conv = t.throws(
    () =>
      new addon.Network(
        [{ op: 'conv2d', filters: 4096, kernel: 3 }, { op: 'conv2d', filters: 4096, kernel: 3 }, { op: 'global_avg_pool' }, { op: 'dense', units: 10 }],
        [28, 28, 1],
        10,
        512,
        0,
      ),
  );
  t.is((conv as Error & { code?: string }).code, 'ERR_NASX_OUT_OF_MEMORY');
});

test('huge epochs cancelled early allocate nothing per epoch up front', async (t) => {
  const data = await loadDataset('digits');
  const controller = new AbortController();
  const before = process.memoryUsage().rss;
  let during = 0;
  const run = trainCandidates([small], data, {
    epochs: 100000,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'epoch' && e.epoch === 2 && during === 0) {
        during = process.memoryUsage().rss;
        controller.abort();
      }
    },
  });
  const err = await t.throwsAsync(run, { instanceOf: AbortError });
  const [r] = (err as AbortError<TrainResult>).results;
  t.is(r!.status, 'cancelled');
  // Every epoch's permutation up front would be 100,000 × the training split's size in int32s (> 400 MB here).
  t.true(during - before < 150 * MiB, `RSS grew by ${((during - before) / MiB).toFixed(0)} MiB`);
  t.log(`RSS grew by ${((during - before) / MiB).toFixed(1)} MiB by epoch 2 of 100,000`);
});

// Serial: these read the process-wide memory account, which concurrent tests would share.
test.serial('a cancel arrives inside a long step: the step is abandoned, not finished', async (t) => {
  // One step of this network on 16,384 samples is 1.6 trillion FLOPs (many seconds on a CPU), while
  // allocating and initialising its 17 M parameters takes a fraction of a second.
  const wide: Arch = { type: 'mlp', layers: [{ units: 4096 }, { units: 4096 }] };
  const controller = new AbortController();
  const run = trainCandidates([wide], synthetic(16384, 64), { epochs: 1, batchSize: 16384, threads: 2, signal: controller.signal });
  // Abort a while after the candidate took its memory: it is then inside its first step.
  while (native().memoryInfo().heldBytes === 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 800));
  const aborted = performance.now();
  controller.abort();
  const err = await t.throwsAsync(run, { instanceOf: AbortError });
  t.log(`settled ${(performance.now() - aborted).toFixed(0)} ms after the abort`);
  const [r] = (err as AbortError<TrainResult>).results;
  t.is(r!.status, 'cancelled');
  t.is(r!.samplesSeen, 0, 'the first step never completed');
  t.is(native().memoryInfo().heldBytes, 0);
});

test('sizes past the kernels\' 32-bit indices are rejected naming the node, never planned negative', async (t) => {
  const addon = native();
  t.throws(() => addon.plan([{ op: 'flatten' }, { op: 'dense', units: 10 }], [2048, 2048, 512], 10), {
    message: 'the input shape [2048,2048,512] has 2147483648 values per sample; at most 67108864 are supported',
  });
  // A budget large enough that memory is not the reason (nothing is allocated: it is refused first).
  const [r] = await trainCandidates([{ type: 'cnn', layers: [{ conv: 4096, kernel: 3 }, { globalPool: 'avg' }] }], 'digits', {
    batchSize: 65536,
    epochs: 1,
    maxMemory: 2 ** 50,
  });
  t.is(r!.status, 'invalid');
  t.regex(r!.error!, /\(conv2d\): its output holds 17179869184 values at a batch of 65536; at most 2147483647 are supported \(use a smaller batch size or layer\)$/);
});

test('NaN in the input makes the candidate diverged, not ok', async (t) => {
  const archs: Arch[] = [
    { type: 'mlp', layers: [{ units: 16, activation: 'relu' }] },
    { type: 'mlp', layers: [{ units: 16, activation: 'gelu' }, { units: 16, activation: 'tanh', batchNorm: true }] },
  ];
  const results = await trainCandidates(archs, synthetic(64, 4, { nan: true }), { epochs: 1, batchSize: 16 });
  for (const r of results) {
    t.is(r.status, 'diverged');
    t.regex(r.error!, /^training loss became (nan|-nan) at epoch 1, step 1$/);
  }
  const relu = native().Network;
  const net = new relu([{ op: 'activation', activation: 'relu' }], [1, 1, 3], 3, 1, 0);
  const y = net.forward(new Float32Array([Number.NaN, -1, 2]), 1, false);
  t.true(Number.isNaN(y[0]!));
  t.deepEqual([y[1], y[2]], [0, 2]);
});

test('the host keeps its async I/O while four trainings run (they use the engine\'s threads, not the libuv pool)', async (t) => {
  const file = path.join(root, 'package.json');
  const latency = async (n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await readFile(file);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
  };
  const idle = await latency(30);
  const controller = new AbortController();
  const started = new Set<number>();
  let allStarted: () => void;
  const ready = new Promise<void>((r) => (allStarted = r));
  const jobs = [0, 1, 2, 3].map((i) =>
    trainCandidates([{ type: 'mlp', layers: [{ units: 256 }] }], 'digits', {
      epochs: 100000,
      threads: 1,
      seed: i,
      signal: controller.signal,
      onProgress: () => {
        started.add(i);
        if (started.size === 4) allStarted();
      },
    }).catch((e: unknown) => e),
  );
  await ready;
  const busy = await latency(30);
  controller.abort();
  for (const e of await Promise.all(jobs)) t.true(e instanceof AbortError);
  // On the libuv pool, four trainings would hold all four of its threads: readFile would wait for them.
  t.true(busy < Math.max(25 * idle, 25), `median readFile ${busy.toFixed(2)} ms while training, ${idle.toFixed(2)} ms idle`);
  t.log(`median fs.readFile: ${idle.toFixed(3)} ms idle, ${busy.toFixed(3)} ms during four trainings`);
});

test('thread creation refused by the system is a clear error, not a hang or an abort', (t) => {
  // Under an address-space limit the 1,024 threads' stacks cannot all be mapped.
  const script = `
    const addon = require(require.resolve('node-gyp-build', { paths: [${JSON.stringify(root)}] }))(${JSON.stringify(root)});
    const n = 64, x = new Float32Array(n * 4), y = new Int32Array(n).map((_, i) => i % 2);
    const archs = Array.from({ length: 2 }, () => ({ nodes: [{ op: 'dense', units: 2 }] }));
    addon.train(archs, { inputShape: [1, 1, 4], task: 'classification', outputSize: 2, train: { x, y, count: n } },
      { epochs: 1, threads: 1024 }, () => {}).promise.then(
      () => console.log('trained'), (e) => console.log('rejected', e.code, e.message));
  `;
  const r = spawnSync('bash', ['-c', `ulimit -v 3000000 && exec "${process.execPath}" -e "$0"`, script], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  t.is(r.status, 0, r.stderr);
  const out = r.stdout.trim();
  // Either the system granted every thread (and training worked) or it refused some: a clear error.
  t.regex(out, /^(trained|rejected ERR_NASX_ENGINE could not start thread \d+ of \d+ \(.+\); use fewer threads)$/);
  t.log(out);
});
