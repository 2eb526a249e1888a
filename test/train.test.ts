import test from 'ava';
import { Worker } from 'node:worker_threads';
import { writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortError, trainCandidates, type TrainProgress } from '../lib/train.js';
import type { Arch } from '../lib/arch/arch.js';
import { loadDataset } from '../lib/data/load.js';
import { packageRoot } from '../lib/util/package-root.js';

const small: Arch = { type: 'mlp', layers: [{ units: 32 }] };
const cnn: Arch = {
  type: 'cnn',
  layers: [{ conv: 8, batchNorm: true }, { pool: 'max' }, { residual: [{ conv: 16, separable: true }] }, { globalPool: 'avg' }, { dense: 16, dropout: 0.2 }],
};

test('the same seed gives bit-identical results, weights included; another seed does not', async (t) => {
  const opts = { epochs: 2, seed: 5, keepWeights: true } as const;
  const [a] = await trainCandidates([cnn], 'digits', opts);
  const [b] = await trainCandidates([cnn], 'digits', opts);
  const [c] = await trainCandidates([cnn], 'digits', { ...opts, seed: 6 });
  t.is(a!.status, 'ok');
  t.deepEqual(a!.metrics, b!.metrics);
  t.deepEqual(a!.weights!.params.map((p) => Array.from(p.data)), b!.weights!.params.map((p) => Array.from(p.data)));
  t.notDeepEqual(a!.metrics, c!.metrics);
});

test('results do not depend on the thread count or on the other candidates in the batch', async (t) => {
  const [alone1] = await trainCandidates([cnn], 'digits', { epochs: 1, seed: 2, threads: 1 });
  const [alone2] = await trainCandidates([cnn], 'digits', { epochs: 1, seed: 2, threads: 2 });
  const batch = await trainCandidates([small, cnn, { type: 'mlp', layers: [{ units: 16 }, { units: 16 }] }], 'digits', {
    epochs: 1,
    seed: 2,
    threads: 2,
  });
  t.deepEqual(alone1!.metrics, alone2!.metrics);
  t.deepEqual(batch[1]!.metrics, alone1!.metrics);
});

test('one result per candidate, in input order, with the documented fields', async (t) => {
  const archs: Arch[] = [small, cnn];
  const results = await trainCandidates(archs, 'digits', { epochs: 2 });
  t.is(results.length, 2);
  results.forEach((r, i) => {
    t.is(r.arch, archs[i]);
    t.is(r.status, 'ok');
    t.true(r.params > 0 && r.flops > 0);
    for (const k of ['valAccuracy', 'testAccuracy'] as const) t.true(r.metrics[k]! >= 0 && r.metrics[k]! <= 1);
    t.true(r.metrics.trainLoss! > 0);
    t.true(r.seconds > 0 && r.samplesPerSecond > 0);
    t.is(r.epochs.length, 2);
  });
  // MLP 64-32-10: 64·32 + 32 + 32·10 + 10 parameters, 2 FLOPs per multiply-add (plus one per activation).
  t.is(results[0]!.params, 64 * 32 + 32 + 32 * 10 + 10);
  t.is(results[0]!.flops, 2 * (64 * 32 + 32 * 10) + 32);
});

test('a diverging candidate is reported as such and does not affect the others', async (t) => {
  const exploding: Arch = { type: 'mlp', layers: [{ units: 64, activation: 'identity' }, { units: 64, activation: 'identity' }], hyper: { optimizer: 'sgd', lr: 1000 } };
  const [alone] = await trainCandidates([small], 'digits', { epochs: 2, seed: 3 });
  const results = await trainCandidates([exploding, small], 'digits', { epochs: 2, seed: 3 });
  t.is(results[0]!.status, 'diverged');
  t.regex(results[0]!.error!, /^training loss became (nan|inf|-nan) at epoch \d+, step \d+$/);
  t.is(results[1]!.status, 'ok');
  t.deepEqual(results[1]!.metrics, alone!.metrics);
});

test('an invalid architecture in a batch is marked invalid with the reason; the others train', async (t) => {
  const bad = { type: 'cnn', layers: [{ conv: 8, kernel: 4 }] } as unknown as Arch;
  const mismatch: Arch = {
    type: 'graph',
    nodes: [{ op: 'dense', units: 5 }, { op: 'add', inputs: [0, -1] }, { op: 'dense', units: 10 }],
  };
  const results = await trainCandidates([bad, small, mismatch], 'digits', { epochs: 1 });
  t.is(results[0]!.status, 'invalid');
  t.is(results[0]!.error, 'Expected one of 1, 3, 5 for archs[0].layers[0].kernel but received 4 of type number');
  t.is(results[1]!.status, 'ok');
  t.is(results[2]!.status, 'invalid');
  t.is(results[2]!.error, 'nodes[1] (add): inputs must have equal shapes but got [1,1,5] and [8,8,1]');
});

test('progress: per-epoch events for every candidate, all delivered before the promise settles', async (t) => {
  const events: TrainProgress[] = [];
  const results = await trainCandidates([small, cnn], 'digits', { epochs: 3, onProgress: (e) => events.push(e) });
  const epochs = events.filter((e) => e.type === 'epoch');
  t.is(epochs.length, 6);
  for (const c of [0, 1]) {
    const mine = epochs.filter((e) => e.candidate === c);
    t.deepEqual(mine.map((e) => e.epoch), [1, 2, 3]);
    t.is(mine[2]!.valAccuracy, results[c]!.metrics.valAccuracy);
  }
});

test('a throwing progress callback does not stop training', async (t) => {
  const [r] = await trainCandidates([small], 'digits', {
    epochs: 2,
    onProgress: () => {
      throw new Error('boom');
    },
  });
  t.is(r!.status, 'ok');
});

test('AbortSignal cancels training promptly and the finished results are kept', async (t) => {
  const controller = new AbortController();
  const started = Date.now();
  const promise = trainCandidates([cnn, small], 'digits', {
    epochs: 500,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === 'epoch' && e.candidate === 0 && e.epoch === 2) controller.abort();
    },
  });
  const err = await t.throwsAsync(promise, { instanceOf: AbortError, message: 'training was aborted' });
  t.is((err as AbortError).code, 'ERR_NASX_ABORTED');
  t.true(Date.now() - started < 60_000);
  const statuses = (err as AbortError).results.map((r) => r.status);
  t.is(statuses[0], 'cancelled');
  t.true(statuses.every((s) => s === 'cancelled' || s === 'ok'));
});

test('an already aborted signal rejects before any work', async (t) => {
  await t.throwsAsync(trainCandidates([small], 'digits', { signal: AbortSignal.abort() }), { instanceOf: AbortError });
});

test('training does not block the event loop', async (t) => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const [r] = await trainCandidates([cnn], 'digits', { epochs: 20 });
  clearInterval(timer);
  t.is(r!.status, 'ok');
  t.true(r!.seconds > 0.1, 'the run should be long enough to observe');
  t.true(ticks >= 3, `only ${ticks} timer ticks during ${r!.seconds}s of training`);
});

test('fidelity: data fraction trains on a seeded subset; resolution resamples the input', async (t) => {
  const data = await loadDataset('digits');
  const [full, quarter, low] = [
    ...(await trainCandidates([small], data, { epochs: 1 })),
    ...(await trainCandidates([small], data, { epochs: 1, dataFraction: 0.25 })),
    ...(await trainCandidates([cnn], data, { epochs: 1, resolution: 4 })),
  ];
  t.is(Math.round(full!.samplesPerSecond * full!.seconds), data.train.count);
  t.is(Math.round(quarter!.samplesPerSecond * quarter!.seconds), Math.ceil(data.train.count * 0.25));
  t.deepEqual(low!.inputShape, [4, 4, 1]);
  t.is(low!.status, 'ok');
});

test('end to end: an MLP reaches at least 90% test accuracy on digits', async (t) => {
  const [r] = await trainCandidates([{ type: 'mlp', layers: [{ units: 128 }] }], 'digits', { epochs: 20, batchSize: 32, lr: 0.01 });
  t.true(r!.metrics.testAccuracy! >= 0.9, `test accuracy ${r!.metrics.testAccuracy}`);
});

const fashion = existsSync('/usr/share/datasets/fashion-mnist') || process.env.NASX_DATA_DIR !== undefined;
(fashion ? test : test.skip)('end to end: an MLP trained 1 epoch on Fashion-MNIST reaches at least 84% test accuracy', async (t) => {
  const [r] = await trainCandidates([{ type: 'mlp', layers: [{ units: 256, activation: 'relu' }] }], 'fashion-mnist', { epochs: 1 });
  t.is(r!.status, 'ok');
  t.true(r!.metrics.testAccuracy! >= 0.84, `test accuracy ${r!.metrics.testAccuracy}`);
});

test('regression on a CSV: RMSE in target units beats predicting the mean', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-reg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines = ['a,b,c,y'];
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let i = 0; i < 600; i++) {
    const [a, b, c] = [rand(), rand(), rand()];
    lines.push(`${a},${b},${c},${(100 + 30 * a * b + 20 * Math.sin(3 * c)).toFixed(4)}`);
  }
  const file = path.join(dir, 'reg.csv');
  writeFileSync(file, lines.join('\n'));
  const data = await loadDataset({ csv: file, task: 'regression', labelColumn: 'y' });
  const [r] = await trainCandidates([{ type: 'mlp', layers: [{ units: 64 }, { units: 64 }] }], data, { epochs: 60, batchSize: 32, lr: 3e-3 });
  t.is(r!.status, 'ok');
  t.is(r!.metrics.testAccuracy, null);
  const std = data.targetNormalization!.std[0]!;
  t.true(r!.metrics.testRmse! < 0.5 * std, `test RMSE ${r!.metrics.testRmse} vs target std ${std}`);
});

test('the addon loads and trains inside worker_threads, several at once', async (t) => {
  const addonDir = packageRoot();
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(require.resolve('node-gyp-build', { paths: [workerData.dir] }))(workerData.dir);
    const n = 200, f = 8;
    const x = new Float32Array(n * f), y = new Int32Array(n);
    for (let i = 0; i < n; i++) { y[i] = i % 2; for (let j = 0; j < f; j++) x[i * f + j] = (y[i] ? 1 : -1) * 1.5 + Math.sin(i * 7 + j); }
    const job = addon.train([{ nodes: [{ op: 'dense', units: 16 }, { op: 'activation', activation: 'relu' }, { op: 'dense', units: 2 }] }],
      { inputShape: [1, 1, f], task: 'classification', outputSize: 2, train: { x, y, count: n }, validation: { x, y, count: n } },
      { epochs: 5, batchSize: 20, seed: 1, threads: 1 }, () => {});
    job.promise.then((r) => parentPort.postMessage(r[0].metrics.valAccuracy), (e) => parentPort.postMessage('error: ' + e.message));
  `;
  const run = () =>
    new Promise<unknown>((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: { dir: addonDir } });
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
    });
  const [a, b, main] = await Promise.all([run(), run(), trainCandidates([small], 'digits', { epochs: 1 })]);
  t.is(typeof a, 'number');
  t.is(a, b);
  t.true((a as number) > 0.8);
  t.is(main[0]!.status, 'ok');
});

test('a saved training state continues to the weights of one straight run, bit for bit', async (t) => {
  const data = await loadDataset('digits');
  const archs: Arch[] = [cnn, { type: 'mlp', layers: [{ units: 48, dropout: 0.3, batchNorm: true }], hyper: { optimizer: 'sgd', lr: 0.05 } }];
  const base = { seed: 7, scheduleEpochs: 6, keepWeights: true } as const;
  const straight = await trainCandidates(archs, data, { ...base, epochs: 6 });
  const first = await trainCandidates(archs, data, { ...base, epochs: 2, keepState: true });
  t.deepEqual(first.map((r) => r.trainingState!.epochsDone), [2, 2]);
  const resumed = await trainCandidates(archs, data, { ...base, epochs: 6, resume: first.map((r) => r.trainingState) });
  resumed.forEach((r, i) => {
    t.is(r.status, 'ok');
    t.deepEqual(r.epochs.map((e) => e.epoch), [3, 4, 5, 6]);
    t.deepEqual(r.metrics, straight[i]!.metrics);
    t.deepEqual(r.weights!.params.map((p) => Array.from(p.data)), straight[i]!.weights!.params.map((p) => Array.from(p.data)));
  });
  // A state belongs to its architecture: given to another one, that candidate fails with the reason.
  const [wrong] = await trainCandidates([small], data, { ...base, epochs: 6, resume: [first[0]!.trainingState] });
  t.is(wrong!.status, 'failed');
  t.regex(wrong!.error!, /^cannot resume: the state has \d+ parameters and \d+ statistics but the network has \d+ and 0$/);
  await t.throwsAsync(trainCandidates([small], data, { epochs: 6, resume: [] }), {
    instanceOf: RangeError,
    message: 'Expected options.resume to hold one entry per architecture (1) but received 0',
  });
  await t.throwsAsync(trainCandidates([small], data, { epochs: 6, scheduleEpochs: 3 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 6 and 100000 for options.scheduleEpochs but received 3 of type number',
  });
});
