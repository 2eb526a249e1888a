/**
 * Multi-objective search on NAS-Bench-201: accuracy (max) against latency (min, the HELP table's
 * device), every strategy under `objectives`, the dominated hypervolume of each run's Pareto front
 * after 25, 50, 100 and 150 queries, as a fraction of the whole table's, with the paired difference
 * against random search over seeds (95% interval). The table's search column is a test-split figure
 * (see data/nb201/README.md), so the figures are optimistic in absolute terms; the comparison
 * between strategies is what they show.
 *
 *   node --import tsx scripts/bench-pareto.ts [--seeds 30] [--benchmark nb201/cifar10] [--device 1080ti_1] [--json] [--out FILE.json]
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { getTabularBenchmark } from '../lib/evaluators/tabular.js';
import { parseObjectives } from '../lib/report/pareto.js';
import { createNb201Space } from '../lib/space/nb201-space.js';
import { runParetoBenchmark } from '../lib/study/pareto-benchmark.js';
import { strategyNames } from '../lib/strategies/registry.js';
import { machineDescription } from '../lib/util/machine.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '30' },
    benchmark: { type: 'string', default: 'nb201/cifar10' },
    device: { type: 'string', default: '1080ti_1' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const seeds = Number(values.seeds);
const bench = await getTabularBenchmark(values.benchmark, { latencyDevice: values.device as never });
const log = (s: string) => process.stderr.write(`${s}\n`);
const result = await runParetoBenchmark({
  evaluator: bench,
  space: createNb201Space(),
  objectives: parseObjectives('accuracy:max,latency:min'),
  strategies: strategyNames(),
  seeds,
  budgets: [25, 50, 100, 150],
  onProgress: (e) => e.seed === seeds - 1 && log(`${e.strategy}: ${seeds} seeds`),
});
const { budgets, reference, tableVolume, results } = result;
const report = { machine: machineDescription(), benchmark: values.benchmark, device: values.device, seeds, budgets, reference, tableVolume, results };
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const f = (x: number) => (100 * x).toFixed(2);
  const d = (x: { mean: number; low: number; high: number } | null) => (x ? `${x.mean >= 0 ? '+' : ''}${f(x.mean)} [${f(x.low)}, ${f(x.high)}]` : '');
  process.stdout.write(`${values.benchmark}, accuracy vs latency on ${values.device}, ${seeds} seeds: hypervolume as % of the whole table's\n\n`);
  process.stdout.write(`| strategy | ${budgets.map((b) => `@${b}`).join(' | ')} | − random @150 (95%) |\n| --- |${budgets.map(() => ' --- |').join('')} --- |\n`);
  for (const r of results) process.stdout.write(`| ${r.strategy} | ${budgets.map((b) => f(r.meanAt[String(b)]!)).join(' | ')} | ${d(r.vsRandom['150'] ?? null)} |\n`);
}
