/**
 * Zero-cost proxies as priors for bo and mcts, against ground truth nobody tuned them to: searches of
 * the shipped Fashion-MNIST learning-curve table (data/fashion-mnist-mlp, 1,110 MLPs; a candidate's
 * score is its validation accuracy after the table's last epoch), each strategy with and without
 * `prior` (256 uniform samples scored untrained by the native engine on Fashion-MNIST, the
 * synflow+jacov+snip vote, the `--prescreen` default chosen on NAS-Bench-201), same seeds, paired.
 * Printed: the best table validation accuracy (and the test accuracy of that architecture) found
 * after each budget, mean over seeds, and the paired difference prior − none with its 95% interval.
 *
 *   node --import tsx scripts/bench-prior.ts [--seeds 20] [--budgets 10,20,40] [--samples 256] [--json] [--out FILE.json]
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../lib/data/load.js';
import { NativeEvaluator } from '../lib/evaluators/native.js';
import { loadCurveTable } from '../lib/evaluators/tabular.js';
import type { Evaluator } from '../lib/evaluators/evaluator.js';
import type { Arch } from '../lib/arch/arch.js';
import { loadSearchSpace } from '../lib/space/json-space.js';
import { pairedDifference } from '../lib/study/benchmark.js';
import { Study } from '../lib/study/study.js';
import { packageRoot } from '../lib/util/package-root.js';
import { machineDescription } from '../lib/util/machine.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    budgets: { type: 'string', default: '10,20,40' },
    samples: { type: 'string', default: '256' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const seeds = Number(values.seeds);
const budgets = values.budgets.split(',').map(Number);
const samples = Number(values.samples);
const maxBudget = Math.max(...budgets);
const log = (s: string) => process.stderr.write(`${s}\n`);

const dir = path.join(packageRoot(), 'data', 'fashion-mnist-mlp');
const space = await loadSearchSpace(path.join(dir, 'space.json'));
const table = await loadCurveTable(path.join(dir, 'curves.csv'), space);
// The table's data: the Fashion-MNIST split with seed 0, as nasx tabulate made it.
const data = await loadDataset('fashion-mnist', { seed: 0 });
const native = new NativeEvaluator<ReturnType<typeof space.sample>>({ dataset: data, build: (a) => space.build(a, data) as Arch });
// The table answers evaluations; the native engine scores proxies on the real data.
const evaluator: Evaluator<ReturnType<typeof space.sample>> = {
  name: 'fashion-mnist-mlp table',
  evaluate: (c, f, o) => table.evaluate(c, f, o),
  prescreen: (c, p, o) => native.prescreen(c, p, o),
};
const architectures = table.rows().length;

interface Run {
  strategy: string;
  prior: boolean;
  seed: number;
  bestVal: number[];
  bestTest: number[];
}
const runs: Run[] = [];
for (const strategy of ['bo', 'mcts']) {
  for (let seed = 0; seed < seeds; seed++) {
    for (const prior of [false, true]) {
      const study = new Study({
        space,
        strategy,
        evaluator,
        budget: { evaluations: maxBudget },
        seed,
        ...(prior ? { prior: { samples } } : {}),
      });
      const summary = await study.run();
      const bestVal: number[] = [];
      const bestTest: number[] = [];
      for (const b of budgets) {
        const best = summary.trials.slice(0, b).reduce((x, t) => ((t.score ?? -1) > (x?.score ?? -1) ? t : x), summary.trials[0]);
        bestVal.push(best?.score ?? Number.NaN);
        bestTest.push(best ? (table.report(best.arch).testAccuracy ?? Number.NaN) : Number.NaN);
      }
      runs.push({ strategy, prior, seed, bestVal, bestTest });
    }
    log(`${strategy}: seed ${seed + 1}/${seeds}`);
  }
}
const optimum = Math.max(...table.rows().map((r) => r.score ?? -1));
const rows = ['bo', 'mcts'].flatMap((strategy) =>
  budgets.map((budget, bi) => {
    const of = (prior: boolean, key: 'bestVal' | 'bestTest') => runs.filter((r) => r.strategy === strategy && r.prior === prior).map((r) => r[key][bi]! * 100);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const val = pairedDifference(of(true, 'bestVal'), of(false, 'bestVal'));
    const test = pairedDifference(of(true, 'bestTest'), of(false, 'bestTest'));
    return {
      strategy,
      budget,
      noneVal: mean(of(false, 'bestVal')),
      priorVal: mean(of(true, 'bestVal')),
      differenceVal: val,
      noneTest: mean(of(false, 'bestTest')),
      priorTest: mean(of(true, 'bestTest')),
      differenceTest: test,
    };
  }),
);
const report = { machine: machineDescription(), architectures: architectures, optimumVal: optimum * 100, seeds, samples, proxies: 'synflow+jacov+snip', rows };
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const f = (x: number) => x.toFixed(2);
  const d = (x: { mean: number; low: number; high: number }) => `${x.mean >= 0 ? '+' : ''}${f(x.mean)} [${f(x.low)}, ${f(x.high)}]`;
  process.stdout.write(`Machine: ${report.machine}\n${architectures} architectures of data/fashion-mnist-mlp (best validation accuracy ${f(optimum * 100)}%), ${seeds} seeds, prior: ${samples} samples, synflow+jacov+snip\n\n`);
  process.stdout.write('| strategy | evaluations | best val % (none) | best val % (prior) | prior − none, val (95% CI) | prior − none, test (95% CI) |\n| --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) process.stdout.write(`| ${r.strategy} | ${r.budget} | ${f(r.noneVal)} | ${f(r.priorVal)} | ${d(r.differenceVal)} | ${d(r.differenceTest)} |\n`);
}
