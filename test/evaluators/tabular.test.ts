import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortError, NasxError } from '../../lib/errors.js';
import type { Nb201Arch } from '../../lib/space/nb201-space.js';
import {
  NB201_LATENCY_DEVICES,
  TABULAR_BENCHMARKS,
  TabularEvaluator,
  TabularTable,
  getTabularBenchmark,
  readTabularTable,
} from '../../lib/evaluators/tabular.js';
import { packageRoot } from '../../lib/util/package-root.js';
import { tempDir } from '../data/fixtures.js';

// Row 0 of data/nb201/nb201.csv and nb201_latency.csv.
const ROW0: Nb201Arch = {
  type: 'nb201',
  edges: ['avg_pool_3x3', 'nor_conv_1x1', 'skip_connect', 'nor_conv_1x1', 'skip_connect', 'skip_connect'],
};
const ROW0_KEY = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|';

test('the nb201 built-ins load all 15,625 architectures, exposing search and report metrics apart', async (t) => {
  t.deepEqual(TABULAR_BENCHMARKS, ['nb201/cifar10', 'nb201/cifar100', 'nb201/imagenet16']);
  for (const name of TABULAR_BENCHMARKS) {
    const bench = await getTabularBenchmark(name);
    t.is(bench.name, name);
    t.is(bench.size, 15625);
    t.is(bench.rows().length, 15625);
    t.deepEqual(bench.metricNames, ['searchAccuracy', 'latencyMs']);
    t.deepEqual(bench.reportNames, ['testAccuracy']);
  }
});

test('known rows have the values of the CSV (accuracies in percent, latency of the 1080 Ti at batch 1)', async (t) => {
  const expected = {
    'nb201/cifar10': [81.9, 85.86],
    'nb201/cifar100': [53.68, 52.91],
    'nb201/imagenet16': [25.77, 26.63],
  } as const;
  for (const name of TABULAR_BENCHMARKS) {
    const bench = await getTabularBenchmark(name);
    const [result] = await bench.evaluate([ROW0], {});
    const [valid, testAccuracy] = expected[name];
    t.is(result!.status, 'ok');
    t.is(result!.arch, ROW0);
    t.deepEqual(result!.metrics, { score: valid, searchAccuracy: valid, latencyMs: 10.75 });
    t.deepEqual(bench.report(ROW0), { testAccuracy });
    t.is(bench.rows()[0]!.key, ROW0_KEY);
    t.deepEqual(bench.rows()[0]!.arch, ROW0);
  }
  const raspi = await getTabularBenchmark('nb201/cifar10', { latencyDevice: 'raspi4' });
  t.is((await raspi.evaluate([ROW0], {}))[0]!.metrics.latencyMs, 10.48);
  t.is(NB201_LATENCY_DEVICES.length, 11);
});

test('bestPossible() reproduces the data README: test of the best-validation arch and the optimum test', async (t) => {
  const reference = {
    'nb201/cifar10': { row: 1459, valid: 91.57, test: 94.3, optimum: 94.37 },
    'nb201/cifar100': { row: 3888, valid: 73.26, test: 73.48, optimum: 73.51 },
    'nb201/imagenet16': { row: 81, valid: 47.33, test: 46.44, optimum: 47.31 },
  } as const;
  for (const name of TABULAR_BENCHMARKS) {
    const bench = await getTabularBenchmark(name);
    const best = bench.bestPossible();
    const ref = reference[name];
    t.is(best.row, ref.row, name);
    t.is(best.score, ref.valid, name);
    t.deepEqual(best.report, { testAccuracy: ref.test }, name);
    // Evaluating the best arch gives the same score a search would see.
    t.is((await bench.evaluate([best.arch], {}))[0]!.metrics.score, ref.valid);
    t.is(Math.max(...bench.rows().map((r) => r.report.testAccuracy!)), ref.optimum, name);
  }
});

test('the strategy-facing results of every nb201 architecture hold no test column', async (t) => {
  const bench = await getTabularBenchmark('nb201/cifar10');
  const archs = bench.rows().map((r) => r.arch);
  const results = await bench.evaluate(archs, {});
  t.is(results.length, 15625);
  for (const r of results) {
    if (r.status !== 'ok' || Object.keys(r.metrics).join() !== 'score,searchAccuracy,latencyMs') {
      t.fail(`unexpected result ${JSON.stringify(r)}`);
      return;
    }
  }
  t.false(/test/i.test(JSON.stringify(results)));
  t.pass();
});

test('a report value is never reachable from evaluate (sentinel test value), only from report()', async (t) => {
  const table = TabularTable.parse('arch,val,test,other_test\na,50,12345.678,23456.789\nb,60,34567.891,45678.912\n', 'sentinel');
  const evaluator = new TabularEvaluator<string>({ table, keyColumn: 'arch', searchMetric: 'val', reportMetrics: { testAccuracy: 'test' } });
  const results = await evaluator.evaluate(['a', 'b'], {});
  const text = JSON.stringify(results);
  for (const sentinel of ['12345', '23456', '34567', '45678']) t.false(text.includes(sentinel));
  t.deepEqual(results.map((r) => r.metrics), [{ score: 50 }, { score: 60 }]);
  t.deepEqual(evaluator.report('a'), { testAccuracy: 12345.678 });
  t.deepEqual(evaluator.bestPossible().report, { testAccuracy: 34567.891 });
});

test('a column cannot be both visible to the search and a report metric', (t) => {
  const table = TabularTable.parse('arch,val,test\na,50,60\n');
  t.throws(
    () => new TabularEvaluator({ table, keyColumn: 'arch', searchMetric: 'val', metrics: { t: 'test' }, reportMetrics: { testAccuracy: 'test' } }),
    { instanceOf: RangeError, message: 'Expected a column the search does not see for options.reportMetrics.testAccuracy but received "test" of type string' },
  );
  t.throws(() => new TabularEvaluator({ table, keyColumn: 'arch', searchMetric: 'test', reportMetrics: ['test'] }), {
    instanceOf: RangeError,
    message: 'Expected a column the search does not see for options.reportMetrics.test but received "test" of type string',
  });
  t.throws(() => new TabularEvaluator({ table, keyColumn: 'arch', searchMetric: 'val', metrics: { score: 'test' } }), {
    instanceOf: RangeError,
    message: 'Expected metric names other than "score" and each used once for options.metrics but received "score" of type string',
  });
  t.throws(() => new TabularEvaluator({ table, keyColumn: 'arch', searchMetric: 'accuracy' }), {
    instanceOf: RangeError,
    message: 'Expected one of "arch", "val", "test" for options.searchMetric but received "accuracy" of type string',
  });
  t.throws(() => new TabularEvaluator({ table, keyColumn: 'arch', decisionColumns: ['arch'], searchMetric: 'val' }), {
    instanceOf: RangeError,
    message: 'Expected exactly one of keyColumn and decisionColumns in options but received both',
  });
});

test('a malformed nb201 architecture is invalid, with the reason; the batch still succeeds', async (t) => {
  const bench = await getTabularBenchmark('nb201/cifar10');
  const bad = { type: 'nb201', edges: ['none', 'none', 'none', 'none', 'none', 'conv_3x3'] } as unknown as Nb201Arch;
  const short = { type: 'nb201', edges: ['none'] } as unknown as Nb201Arch;
  const results = await bench.evaluate([bad, ROW0, short], {});
  t.deepEqual(
    results.map((r) => [r.status, r.error]),
    [
      ['invalid', 'Expected one of "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3" for edges[5] but received "conv_3x3" of type string'],
      ['ok', undefined],
      ['invalid', 'Expected an array of 6 items for edges but received an array of length 1'],
    ],
  );
  t.deepEqual(results[0]!.metrics, { score: null });
  const error = t.throws(() => bench.report(bad), { instanceOf: NasxError });
  t.is(error.code, 'ERR_NASX_INVALID_ARCH');
});

test('an architecture not in the table is invalid, and the message names the whole key', async (t) => {
  const path = join(packageRoot(), 'data', 'nb201', 'nb201.csv');
  const byString = await TabularEvaluator.load<string>({ name: 'nb201 by string', table: path, keyColumn: 'arch', searchMetric: 'cifar10_search' });
  const key = ROW0_KEY.replace('skip_connect~2', 'conv_5x5~2');
  const [result] = await byString.evaluate([key], {});
  t.is(result!.status, 'invalid');
  t.is(result!.error, `Unknown architecture for nb201 by string: no row has arch "${key}"`);
  t.is((await byString.evaluate([ROW0_KEY], {}))[0]!.metrics.score, 81.9);
  t.throws(() => byString.report(key), { instanceOf: NasxError, message: `Unknown architecture for nb201 by string: no row has arch "${key}"` });
  // Without keyOf, an architecture must be its key.
  const [notString] = await byString.evaluate([ROW0 as unknown as string], {});
  t.is(notString!.error, 'Expected a string (a value of the "arch" column) for arch but received an object; pass keyOf to map architectures to keys');
});

const CUSTOM = [
  'depth,width,act,val_acc,test_acc,latency',
  '2,64,relu,0.81,0.80,1.5',
  '2,128,relu,0.84,0.83,2.5',
  '3,64.0,"gelu, tanh",0.86,0.85,',
  '3,128,gelu,,0.10,3.0',
  '4,128,gelu,nan,0.10,4.0',
].join('\n');

test('a custom CSV keyed by decision columns: records, numeric matching, missing and non-finite values', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'tiny.csv');
  await writeFile(path, CUSTOM);
  type Rec = { depth: number; width: number; act: string };
  const evaluator = await TabularEvaluator.load<Rec>({
    name: 'tiny',
    table: path,
    decisionColumns: ['depth', 'width', 'act'],
    searchMetric: 'val_acc',
    metrics: ['latency'],
    reportMetrics: { testAccuracy: 'test_acc' },
  });
  t.is(evaluator.size, 5);
  const archs = [
    { depth: 2, width: 128, act: 'relu' },
    { depth: '3', width: 64, act: 'gelu, tanh', note: 'extra fields are ignored' },
    { depth: 3, width: 128, act: 'gelu' },
    { depth: 4, width: 128, act: 'gelu' },
    { depth: 9, width: 64, act: 'relu' },
    { depth: 2, act: 'relu' },
  ] as unknown as Rec[];
  const results = await evaluator.evaluate(archs, { epochs: 3 });
  t.deepEqual(
    results.map((r) => ({ status: r.status, error: r.error, metrics: r.metrics })),
    [
      { status: 'ok', error: undefined, metrics: { score: 0.84, latency: 2.5 } },
      { status: 'ok', error: undefined, metrics: { score: 0.86, latency: null } },
      { status: 'failed', error: 'tiny has no search metric for this architecture (line 5)', metrics: { score: null, latency: 3 } },
      { status: 'diverged', error: 'the search metric is NaN', metrics: { score: null, latency: 4 } },
      { status: 'invalid', error: 'Unknown architecture for tiny: no row has depth 9, width 64, act "relu"', metrics: { score: null } },
      { status: 'invalid', error: 'Expected a string or a number for arch.width but received undefined', metrics: { score: null } },
    ],
  );
  t.deepEqual(evaluator.report({ depth: 3, width: 64, act: 'gelu, tanh' }), { testAccuracy: 0.85 });
  t.deepEqual(evaluator.rows()[2]!.arch, { depth: 3, width: 64, act: 'gelu, tanh' });
  t.deepEqual(evaluator.bestPossible().arch, { depth: 3, width: 64, act: 'gelu, tanh' });
  // The fidelity is ignored: a table has one measurement per architecture.
  t.deepEqual(
    (await evaluator.evaluate(archs, { epochs: 200, dataFraction: 0.1 })).map((r) => r.metrics),
    results.map((r) => r.metrics),
  );
});

test('a joined table adds metrics by key; rows it lacks give null', async (t) => {
  const main = TabularTable.parse('arch,val,test\na,50,51\nb,60,61\n');
  const extra = TabularTable.parse('arch,latency,energy\nb,7.5,0.3\n');
  const evaluator = new TabularEvaluator<string>({
    table: main,
    keyColumn: 'arch',
    searchMetric: 'val',
    reportMetrics: { testAccuracy: 'test' },
    join: [{ table: extra, metrics: { latencyMs: 'latency' }, reportMetrics: ['energy'] }],
  });
  const results = await evaluator.evaluate(['a', 'b'], {});
  t.deepEqual(results.map((r) => r.metrics), [{ score: 50, latencyMs: null }, { score: 60, latencyMs: 7.5 }]);
  t.deepEqual(evaluator.report('b'), { testAccuracy: 61, energy: 0.3 });
  t.deepEqual(evaluator.report('a'), { testAccuracy: 51, energy: null });
  t.throws(
    () => new TabularEvaluator({ table: main, keyColumn: 'arch', searchMetric: 'val', join: [{ table: extra, metrics: ['energy'], reportMetrics: { e: 'energy' } }] }),
    { instanceOf: RangeError, message: 'Expected a column the search does not see for options.join[0].reportMetrics.e but received "energy" of type string' },
  );
});

test('bad tables fail with data errors naming the line and the column', (t) => {
  t.throws(() => TabularTable.parse('arch,val\na,1\na,2\n', 't.csv').index(['arch']), {
    instanceOf: NasxError,
    message: 'Duplicate architecture in t.csv: lines 2 and 3 have the same arch',
  });
  t.throws(() => TabularTable.parse('arch,val\na,1\nb\n', 't.csv'), {
    instanceOf: NasxError,
    message: 'Ragged CSV row in t.csv at line 3: expected 2 fields (as in the header) but found 1',
  });
  t.throws(() => TabularTable.parse('arch,val\na,1\nb,high\n', 't.csv').numbers('val'), {
    instanceOf: NasxError,
    message: 'Invalid value "high" in t.csv at line 3, column "val": expected a number',
  });
  t.throws(() => TabularTable.parse('arch,val\n', 't.csv'), {
    instanceOf: NasxError,
    message: 'CSV file t.csv needs a header row and at least one data row',
  });
});

test('an unknown benchmark name lists the valid ones', async (t) => {
  await t.throwsAsync(getTabularBenchmark('nb201/mnist'), {
    instanceOf: RangeError,
    message: 'Expected one of "nb201/cifar10", "nb201/cifar100", "nb201/imagenet16" for benchmark but received "nb201/mnist" of type string',
  });
  await t.throwsAsync(getTabularBenchmark('nb201/cifar10', { latencyDevice: 'tpu' as never }), {
    instanceOf: RangeError,
    message: `Expected one of ${NB201_LATENCY_DEVICES.map((d) => `"${d}"`).join(', ')} for latencyDevice but received "tpu" of type string`,
  });
});

test('a table file is parsed once and shared', async (t) => {
  const path = join(packageRoot(), 'data', 'nb201', 'nb201.csv');
  t.is(await readTabularTable(path), await readTabularTable(path));
  const [a, b] = await Promise.all([getTabularBenchmark('nb201/cifar10'), getTabularBenchmark('nb201/cifar100')]);
  t.not(a, b);
});

test('an aborted signal rejects before any lookup', async (t) => {
  const bench = await getTabularBenchmark('nb201/cifar10');
  const controller = new AbortController();
  controller.abort();
  const error = await t.throwsAsync(bench.evaluate([ROW0], {}, { signal: controller.signal }), { instanceOf: AbortError });
  t.is(error.code, 'ERR_NASX_ABORTED');
});

test('every architecture string of the NAS-Bench-201 table round-trips through the nb201 space', async (t) => {
  const { fromNb201String, toNb201String } = await import('../../lib/space/nb201-space.js');
  const bench = await getTabularBenchmark('nb201/cifar10');
  let mismatches = 0;
  for (const row of bench.rows()) if (toNb201String(fromNb201String(row.key)) !== row.key) mismatches++;
  t.is(mismatches, 0);
  t.is(new Set(bench.rows().map((r) => r.key)).size, 15625);
});
