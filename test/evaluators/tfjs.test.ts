/**
 * The tfjs evaluator: loading (the first of tfjs-node-gpu, tfjs-node, tfjs that loads — only the
 * pure-JS package is installed here), the same results interface as NativeEvaluator, and comparable
 * accuracy when one architecture is trained with both backends.
 */
import test from 'ava';
import type { Dataset } from '../../lib/data/dataset.js';
import { loadDataset } from '../../lib/data/load.js';
import { NasxError } from '../../lib/errors.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';
import { TFJS_PACKAGES, TfjsEvaluator, loadTfjs } from '../../lib/evaluators/tfjs.js';

let digits: Dataset;
test.before(async () => {
  digits = await loadDataset('digits', { seed: 0 });
});

test('loadTfjs falls back to the pure-JS @tensorflow/tfjs when the native packages are not installed', async (t) => {
  const loaded = await loadTfjs();
  t.is(loaded.package, '@tensorflow/tfjs');
  t.deepEqual(loaded.skipped, [
    { package: '@tensorflow/tfjs-node-gpu', reason: 'not installed' },
    { package: '@tensorflow/tfjs-node', reason: 'not installed' },
  ]);
  t.is(typeof loaded.tf.sequential, 'function');
});

test('loadTfjs tries the packages in order, skips one that fails to load with its reason, and names them all when none loads', async (t) => {
  const tried: string[] = [];
  const real = await import('@tensorflow/tfjs');
  const notFound = (name: string) => Object.assign(new Error(`Cannot find package '${name}' imported from x`), { code: 'ERR_MODULE_NOT_FOUND' });
  const loaded = await loadTfjs({
    importer: async (name) => {
      tried.push(name);
      if (name === '@tensorflow/tfjs-node-gpu') throw notFound(name);
      if (name === '@tensorflow/tfjs-node') throw new Error('libtensorflow.so: cannot open shared object file');
      return real;
    },
  });
  t.deepEqual(tried, [...TFJS_PACKAGES]);
  t.is(loaded.package, '@tensorflow/tfjs');
  t.deepEqual(loaded.skipped[1], { package: '@tensorflow/tfjs-node', reason: 'failed to load: libtensorflow.so: cannot open shared object file' });

  const err = await t.throwsAsync(loadTfjs({ importer: async (name) => Promise.reject(notFound(name)) }), { instanceOf: NasxError });
  t.is(
    err!.message,
    'No TensorFlow.js package could be loaded (@tensorflow/tfjs-node-gpu: not installed; @tensorflow/tfjs-node: not installed; @tensorflow/tfjs: not installed). ' +
      'Install one: `npm install @tensorflow/tfjs-node` (native CPU), `npm install @tensorflow/tfjs-node-gpu` (CUDA) or `npm install @tensorflow/tfjs` (pure JavaScript)',
  );
});

test('one architecture trained with both backends on digits reaches comparable accuracy', async (t) => {
  const arch = { type: 'mlp' as const, layers: [{ units: 64, activation: 'relu' as const }] };
  const train = { epochs: 20, batchSize: 32, lr: 3e-3, seed: 0 };
  const [n] = await new NativeEvaluator({ dataset: digits, train }).evaluate([arch], {});
  const [j] = await new TfjsEvaluator({ dataset: digits, train }).evaluate([arch], {});
  t.log(`native val ${n!.metrics.valAccuracy} test ${n!.metrics.testAccuracy}; tfjs val ${j!.metrics.valAccuracy} test ${j!.metrics.testAccuracy}`);
  for (const r of [n!, j!]) {
    t.is(r.status, 'ok');
    t.deepEqual(Object.keys(r.metrics).slice(0, 6), ['score', 'trainLoss', 'valLoss', 'testLoss', 'valAccuracy', 'testAccuracy']);
    t.is(r.metrics.score, r.metrics.valAccuracy);
    t.true(r.metrics.testAccuracy! > 0.9);
  }
  t.deepEqual(j!.cost, n!.cost, 'the same network: same parameter and FLOP counts');
  t.true(Math.abs(n!.metrics.testAccuracy! - j!.metrics.testAccuracy!) <= 0.05);
  t.true(Math.abs(n!.metrics.valAccuracy! - j!.metrics.valAccuracy!) <= 0.05);
});

test('the tfjs evaluator builds every layer kind (projections included) and reports bad candidates like NativeEvaluator', async (t) => {
  const archs = [
    {
      type: 'cnn' as const,
      layers: [
        { conv: 4, batchNorm: true, activation: 'gelu' as const },
        { pool: 'avg' as const, size: 3, stride: 1 as const },
        { residual: [{ conv: 8, separable: true, stride: 2 as const }] },
        { depthwise: 3 as const, activation: 'sigmoid' as const },
        { pool: 'max' as const },
        { dropout: 0.2 },
        { dense: 8, activation: 'tanh' as const, batchNorm: true },
      ],
    },
    { type: 'mlp' as const, layers: [{ units: 0 }] },
  ];
  const progress: number[] = [];
  const [ok, bad] = await new TfjsEvaluator({ dataset: digits, train: { epochs: 1, batchSize: 64 } }).evaluate(archs, {}, { onProgress: (e) => progress.push(e.fraction) });
  t.is(ok!.status, 'ok', ok!.error);
  t.true(ok!.metrics.valAccuracy! >= 0 && ok!.metrics.valAccuracy! <= 1);
  t.true(ok!.seconds > 0);
  t.deepEqual(progress, [1]);
  t.is(bad!.status, 'invalid');
  t.is(bad!.error, 'Expected an integer between 1 and 1048576 for archs[1].layers[0].units but received 0 of type number');
  t.is(bad!.metrics.score, null);
});
