/**
 * runBenchmark's argument checks (its results are tested on real tables in tabulate.test.ts and the
 * strategy tests).
 */
import test from 'ava';
import { describeValue } from '../../lib/errors.js';
import { getTabularBenchmark, type TabularEvaluator } from '../../lib/evaluators/tabular.js';
import { createNb201Space, type Nb201Arch } from '../../lib/space/nb201-space.js';
import { strategyNames } from '../../lib/strategies/registry.js';
import { runBenchmark, type BenchmarkOptions } from '../../lib/study/benchmark.js';

let base: BenchmarkOptions<Nb201Arch>;
test.before(async () => {
  const evaluator = (await getTabularBenchmark('nb201/cifar10')) as TabularEvaluator<Nb201Arch>;
  base = { evaluator, space: createNb201Space(), strategies: ['random', 'evolution'], seeds: 2, budget: 6, checkpoints: [2, 4] };
});

const names = strategyNames().map((n) => JSON.stringify(n)).join(', ');

test('runBenchmark refuses options that are not an object, and an evaluator that is not a TabularEvaluator', async (t) => {
  for (const options of [undefined, null, 'nb201']) {
    await t.throwsAsync(runBenchmark(options as never), { instanceOf: TypeError, message: `Expected an object for options but received ${describeValue(options)}` });
  }
  for (const evaluator of [undefined, null, {}, { rows: () => [] }]) {
    await t.throwsAsync(runBenchmark({ ...base, evaluator: evaluator as never }), {
      instanceOf: TypeError,
      message: `Expected a TabularEvaluator for evaluator but received ${describeValue(evaluator)}`,
    });
  }
  await t.throwsAsync(runBenchmark({ ...base, space: -3 as never }), { instanceOf: TypeError, message: 'Expected a search space for space but received -3 of type number' });
});

test('runBenchmark refuses strategies that are not registered names and checkpoints that are not an array of budgets', async (t) => {
  await t.throwsAsync(runBenchmark({ ...base, strategies: [null, 'evolution'] as never }), { instanceOf: TypeError, message: `Expected one of ${names} for strategies[0] but received null` });
  await t.throwsAsync(runBenchmark({ ...base, strategies: ['random', {}] as never }), { instanceOf: TypeError, message: `Expected one of ${names} for strategies[1] but received an object` });
  await t.throwsAsync(runBenchmark({ ...base, strategies: ['annealing'] }), { instanceOf: RangeError, message: `Expected one of ${names} for strategies[0] but received "annealing" of type string` });
  await t.throwsAsync(runBenchmark({ ...base, schedulers: ['none', 3] as never }), { instanceOf: TypeError, message: 'Expected a scheduler name (a string) for schedulers[1] but received 3 of type number' });
  await t.throwsAsync(runBenchmark({ ...base, checkpoints: { 1: 2 } as never }), { instanceOf: TypeError, message: 'Expected an array of budgets for checkpoints but received an object' });
  await t.throwsAsync(runBenchmark({ ...base, checkpoints: [2, [4]] as never }), { instanceOf: TypeError, message: 'Expected an integer >= 1 for checkpoints[1] but received an array of length 1' });
  await t.throwsAsync(runBenchmark({ ...base, checkpoints: [0] }), { instanceOf: RangeError, message: 'Expected an integer >= 1 for checkpoints[0] but received 0 of type number' });
  await t.throwsAsync(runBenchmark({ ...base, reportMetric: 5 as never }), { instanceOf: TypeError, message: 'Expected a metric name (a string) for reportMetric but received 5 of type number' });
  const result = await runBenchmark(base);
  t.deepEqual(result.results.map((r) => r.strategy), ['random', 'evolution']);
});
