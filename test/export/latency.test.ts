import test from 'ava';
import { loadDataset } from '../../lib/data/load.js';
import type { Dataset } from '../../lib/data/dataset.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';
import { LATENCY_SETTINGS } from '../../lib/export/onnx-runtime.js';

let digits: Dataset;
test.before(async () => {
  digits = await loadDataset('digits', { seed: 0 });
});

const archs = [
  { type: 'mlp' as const, layers: [{ units: 16 }] },
  { type: 'cnn' as const, layers: [{ conv: 64 }, { conv: 64 }, { conv: 64 }, { globalPool: 'avg' as const }] },
  { type: 'mlp' as const, layers: [{ units: 0 }] },
];

// Serial: timings measured while another test runs in the same process would include its work.
test.serial('NativeEvaluator({ latency: true }) adds each trained candidate\'s ONNX Runtime latency (batch 1, median ms)', async (t) => {
  const evaluator = new NativeEvaluator({ dataset: digits, train: { epochs: 1 }, latency: { repeats: 11 } });
  const [small, large, bad] = await evaluator.evaluate(archs, {});
  t.is(small!.status, 'ok');
  t.is(large!.status, 'ok');
  t.true(small!.metrics.latencyMs! > 0);
  t.true(large!.metrics.latencyMs! > small!.metrics.latencyMs!, 'a network with 4000x the FLOPs takes longer');
  t.is(bad!.status, 'invalid');
  t.is(bad!.metrics.latencyMs, null);
  t.deepEqual(LATENCY_SETTINGS, { warmup: 5, repeats: 50, threads: 1 });
});

test.serial('with maxMs, candidates over the limit are invalid with the reason and no score', async (t) => {
  const probe = await new NativeEvaluator({ dataset: digits, train: { epochs: 1 }, latency: true }).evaluate(archs.slice(0, 2), {});
  const limit = Math.sqrt(probe[0]!.metrics.latencyMs! * probe[1]!.metrics.latencyMs!);
  const [small, large] = await new NativeEvaluator({ dataset: digits, train: { epochs: 1 }, latency: { maxMs: limit } }).evaluate(archs.slice(0, 2), {});
  t.is(small!.status, 'ok');
  t.is(typeof small!.metrics.score, 'number');
  t.is(large!.status, 'invalid');
  t.is(large!.metrics.score, null);
  t.is(typeof large!.metrics.valAccuracy, 'number', 'what was measured is kept');
  t.regex(large!.error!, new RegExp(`^ONNX Runtime latency \\d+\\.\\d{3} ms \\(batch 1, median\\) is over the limit of ${limit} ms$`));
});

test('latency options are checked up front', (t) => {
  t.throws(() => new NativeEvaluator({ dataset: digits, latency: { maxMs: 0 } }), {
    instanceOf: RangeError,
    message: 'Expected a number greater than 0 for options.latency.maxMs but received 0 of type number',
  });
  t.throws(() => new NativeEvaluator({ dataset: digits, latency: { max: 1 } as never }), {
    instanceOf: RangeError,
    message: 'Unknown option "max" for options.latency; known options are maxMs, warmup, repeats, threads',
  });
});
