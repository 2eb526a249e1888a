import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDataset } from '../../lib/data/load.js';
import { loadCurveTable } from '../../lib/evaluators/tabular.js';
import { getSpace, loadSearchSpace } from '../../lib/space/index.js';
import { runBenchmark } from '../../lib/study/benchmark.js';
import { tabulate, tabulateColumns } from '../../lib/study/tabulate.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nasx-tabulate-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const table = path.join(dir, 'curves.csv');
const space = getSpace('mlp');

// One table for the file: 40 MLPs on digits, 9 epochs each (built in two runs: the second resumes).
const built = (async () => {
  const data = await loadDataset('digits');
  const first = await tabulate({ space, dataset: data, out: table, sample: 24, epochs: 9, train: { batchSize: 64, lr: 3e-3 } });
  const second = await tabulate({ space, dataset: data, out: table, sample: 40, epochs: 9, train: { batchSize: 64, lr: 3e-3 } });
  return { data, first, second };
})();

test.serial('tabulate writes a curve per architecture and resumes where it stopped, with the same sample', async (t) => {
  const { first, second } = await built;
  t.like(first, { total: 24, written: 24, skipped: 0, status: 'done' });
  t.like(second, { total: 40, written: 16, skipped: 24, status: 'done' });
  const lines = readFileSync(table, 'utf8').trim().split('\n');
  t.is(lines[0], tabulateColumns(9).join(','));
  t.is(lines.length, 41);
  const settings = JSON.parse(readFileSync(`${table}.json`, 'utf8'));
  t.deepEqual(settings.settings, { space: 'mlp', dataset: 'digits', epochs: 9, seed: 0, train: { batchSize: 64, lr: 3e-3 } });
  // The rows are the seeded sample in order, each with 9 increasing training times and a test figure.
  const bench = await loadCurveTable(table, space);
  t.is(bench.size, 40);
  t.is(bench.curveEpochs, 9);
  const rows = bench.rows();
  t.deepEqual(rows.map((r) => space.hash(r.arch)), rows.map((r) => r.key));
  for (const r of rows) t.true(r.report.testAccuracy! > 0 && r.report.testAccuracy! <= 1);
});

test.serial('tabulate refuses to resume a table made with other settings', async (t) => {
  const { data } = await built;
  await t.throwsAsync(tabulate({ space, dataset: data, out: table, sample: 40, epochs: 9, train: { batchSize: 32, lr: 3e-3 } }), {
    message: /^Cannot resume .*curves\.csv: it was made with other settings \(.*"batchSize":64.*\) than this run's \(.*"batchSize":32.*\); use another --out$/,
  });
  const other = path.join(dir, 'other.csv');
  writeFileSync(other, `${tabulateColumns(3).join(',')}\n`);
  await t.throwsAsync(tabulate({ space, dataset: data, out: other, sample: 4, epochs: 9 }), {
    message: /^Cannot resume .*other\.csv: its columns \(14: .*\) are not this run's \(26: .*\); use the same --epochs, or another --out$/,
  });
});

test('a curve table evaluates at any epoch, continues promoted candidates and charges only the epochs trained', async (t) => {
  await built;
  const bench = await loadCurveTable(table, space);
  const arch = bench.rows()[3]!.arch;
  const [at3] = await bench.evaluate([arch], { epochs: 3 }, { keepState: true });
  t.is(at3!.curve!.length, 3);
  t.is(at3!.metrics.score, at3!.curve![2]);
  const [to9] = await bench.evaluate([arch], { epochs: 9 }, { resume: [at3!.state] });
  t.is(to9!.resumedFrom, 3);
  t.is(to9!.epochsTrained, 6);
  t.is(to9!.curve!.length, 6);
  const [straight] = await bench.evaluate([arch], { epochs: 9 });
  t.is(to9!.metrics.score, straight!.metrics.score);
  t.true(Math.abs(at3!.seconds + to9!.seconds - straight!.seconds) < 1e-9, 'the promotion pays only the epochs after its state');
  t.false('testAccuracy' in straight!.metrics);
  await t.throwsAsync(bench.evaluate([arch], { epochs: 10 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 9 for fidelity.epochs but received 10 of type number' });
});

test('the benchmark harness simulates schedulers on a curve table, against cost, with paired differences', async (t) => {
  // A space small enough to tabulate whole (42 MLPs), so that every architecture a strategy proposes is in the table.
  const { data } = await built;
  const spaceFile = path.join(dir, 'small.json');
  writeFileSync(
    spaceFile,
    JSON.stringify({
      name: 'small-mlp',
      type: 'mlp',
      params: { layers: { repeat: { units: { choice: [16, 32, 64] }, activation: { choice: ['relu', 'tanh'] } }, count: { min: 1, max: 2 } } },
    }),
  );
  const small = await loadSearchSpace(spaceFile);
  const smallTable = path.join(dir, 'small.csv');
  const summary = await tabulate({ space: small, dataset: data, out: smallTable, sample: 'all', epochs: 9, train: { batchSize: 64, lr: 3e-3 } });
  t.is(summary.total, 42);
  const bench = await loadCurveTable(smallTable, small);
  const result = await runBenchmark({
    evaluator: bench,
    space: small,
    strategies: ['random'],
    schedulers: ['none', 'hyperband', 'asha', 'bohb', 'median'],
    schedulerOptions: { minEpochs: 1, eta: 3 },
    budgetEpochs: 120,
    seeds: 6,
  });
  t.is(result.budgetUnit, 'epochs');
  t.deepEqual(result.results.map((r) => r.strategy), ['random', 'random+hyperband', 'random+asha', 'random+bohb', 'random+median']);
  for (const r of result.results) {
    t.is(r.costGrid!.length, 200);
    t.is(r.perSeed.test.length, 6);
    // Without a scheduler the best-so-far search figure never falls (with one, the incumbent moves to
    // the best at the most epochs reached, which may read lower).
    if (r.scheduler === 'none') for (let i = 1; i < r.curve.length; i++) t.true(r.curve[i]! >= r.curve[i - 1]!);
    for (let i = 1; i < r.secondsAt!.length; i++) t.true(r.secondsAt![i]! >= r.secondsAt![i - 1]!);
    if (r.strategy !== 'random') {
      const d = r.paired.random!;
      t.true(d.low <= d.mean && d.mean <= d.high);
    }
  }
  for (const r of result.results) t.true(r.testMean > 0.5 && r.testMean <= result.oracle.bestTest, `${r.strategy}: ${r.testMean}`);
});
