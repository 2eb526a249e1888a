/**
 * Regenerates BENCHMARKS.md and docs/benchmark-nb201.svg: every registered strategy on the three
 * NAS-Bench-201 tables, 100 seeds (by default), 150 queries, with the published figures beside ours,
 * and the strategies' proposal overhead.
 *
 *   npm run benchmarks                                   every registered strategy
 *   npm run benchmarks -- --strategies mcts,bo           only these; the others' figures are kept
 *                                                        from docs/benchmark-nb201.json
 *   npm run benchmarks -- --seeds 20                     fewer seeds (a quick look)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getTabularBenchmark, TABULAR_BENCHMARKS } from '../lib/evaluators/tabular.js';
import { createNb201Space } from '../lib/space/nb201-space.js';
import { runBenchmark, type BenchmarkResult } from '../lib/study/benchmark.js';
import { plotBenchmark } from '../lib/study/plot.js';
import { createStrategy, strategyNames } from '../lib/strategies/registry.js';
import { packageRoot } from '../lib/util/package-root.js';

const args = process.argv.slice(2);
const seedsArg = args.indexOf('--seeds');
const seeds = seedsArg >= 0 ? Number(args[seedsArg + 1]) : 100;
const strategiesArg = args.indexOf('--strategies');
const budget = 150;
const strategies = strategyNames();
const toRun = strategiesArg >= 0 ? args[strategiesArg + 1]!.split(',') : strategies;
const root = packageRoot();
const cacheFile = path.join(root, 'docs', 'benchmark-nb201.json');

// Earlier figures of strategies not rerun now (same seeds and budget only).
const cached: BenchmarkResult[] = existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as BenchmarkResult[]) : [];
const results: BenchmarkResult[] = [];
for (const name of TABULAR_BENCHMARKS) {
  const started = Date.now();
  const evaluator = await getTabularBenchmark(name);
  const fresh = await runBenchmark({ evaluator, space: createNb201Space(), strategies: toRun, seeds, budget });
  const old = cached.find((c) => c.benchmark === name && c.seeds === seeds && c.budget === budget);
  const merged = strategies
    .map((s) => fresh.results.find((r) => r.strategy === s) ?? old?.results.find((r) => r.strategy === s))
    .filter((r): r is BenchmarkResult['results'][number] => r !== undefined);
  results.push({ ...fresh, results: merged });
  console.error(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
writeFileSync(cacheFile, `${JSON.stringify(results)}\n`);

// Proposal overhead: one ask(1) after 150 evaluations told, nb201/cifar10 (median of 5).
const overhead: Record<string, number> = {};
{
  const space = createNb201Space();
  const evaluator = await getTabularBenchmark('nb201/cifar10');
  for (const strategy of results[0]!.results.map((r) => r.strategy)) {
    const s = createStrategy(strategy, { space, seed: 0 });
    let told = 0;
    while (told < 150) {
      const asked = s.ask(Math.min(10, 150 - told));
      const evals = await evaluator.evaluate(asked, {});
      s.tell(evals.map((e) => ({ arch: e.arch, hash: space.hash(e.arch), score: e.metrics.score })));
      told += asked.length;
    }
    const times: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      s.ask(1);
      times.push(performance.now() - t0);
    }
    overhead[strategy] = times.sort((a, b) => a - b)[2]!;
  }
}

const label: Record<string, string> = {
  random: 'random search',
  evolution: 'regularized evolution',
  local: 'local search',
  reinforce: 'REINFORCE',
  bo: 'Bayesian optimization',
  mcts: 'Monte Carlo tree search',
};
const f = (x: number) => x.toFixed(2);
const at = (r: BenchmarkResult, strategy: string, q: number) => {
  const s = r.results.find((x) => x.strategy === strategy)!;
  return `${f(s.testAt[String(q)]!)} ± ${f(s.testStdAt[String(q)]!)}`;
};
const best = (r: BenchmarkResult, q: number) => Math.max(...r.results.map((s) => s.testAt[String(q)]!));

let md = `# Strategy benchmarks

Every strategy registered in nasx, run against the NAS-Bench-201 tables shipped in \`data/nb201/\`
(no training: each query is a lookup), ${seeds} seeds each, with the protocol of the NAS-Bench-201
paper: a strategy sees only validation accuracies; after the budget, the architecture with the best
validation accuracy is reported by its test accuracy. Architectures whose canonical hash was already
evaluated are not queried again. Regenerate this page and the plot with:

\`\`\`sh
npm run benchmarks
\`\`\`

(\`nasx bench --benchmark all --strategies all --seeds ${seeds} --budget ${budget} --plot docs/benchmark-nb201.svg\`
prints the same figures.)

## Test accuracy (%) after 100 queries, mean ± standard deviation over ${seeds} seeds

| strategy | CIFAR-10 | CIFAR-100 | ImageNet16-120 |
| --- | --- | --- | --- |
`;
const shown = results[0]!.results.map((r) => r.strategy);
for (const s of shown) md += `| ${label[s] ?? s} (\`${s}\`) | ${results.map((r) => at(r, s, 100)).join(' | ')} |\n`;
md += `| *published: random search* | *93.70 ± 0.36* | | |
| *published: REINFORCE* | *93.85 ± 0.37* | | |
| *published: regularized evolution* | *93.92 ± 0.30* | | |
| best-by-validation of all 15,625 (the protocol's ceiling) | ${results.map((r) => f(r.oracle.test)).join(' | ')} |
| targets for the best strategy | ≥ 94.20 | ≥ 73.30 | ≥ 46.35 |
| best strategy here | ${results.map((r) => f(best(r, 100))).join(' | ')} |

Published figures: NAS-Bench-201 paper (Dong & Yang, ICLR 2020), CIFAR-10 test accuracy, mean ± std
over runs.

## Over the budget

Mean test accuracy (%) after 25, 50, 100 and 150 queries, and the median number of queries a run
needs to find an architecture in the top 0.1% of the table by validation accuracy ("-": fewer than
half the runs got there within ${budget} queries).

`;
for (const r of results) {
  md += `### ${r.benchmark}\n\n| strategy | @25 | @50 | @100 | @150 | queries to top 0.1% |\n| --- | --- | --- | --- | --- | --- |\n`;
  for (const s of r.results) {
    md += `| ${s.strategy} | ${[25, 50, 100, 150].map((q) => f(s.testAt[String(q)]!)).join(' | ')} | ${s.medianQueriesToTop ?? '-'} |\n`;
  }
  md += '\n';
}
md += `![mean best-so-far test accuracy against queries](docs/benchmark-nb201.svg)

## Strategy overhead

Time for one \`ask(1)\` after 150 evaluations told (nb201/cifar10, median of 5, this machine):

| strategy | milliseconds |
| --- | --- |
${shown.map((s) => `| ${s} | ${overhead[s]!.toFixed(2)} |`).join('\n')}
`;

writeFileSync(path.join(root, 'BENCHMARKS.md'), md);
await plotBenchmark(results, path.join(root, 'docs', 'benchmark-nb201.svg'));
console.log(md);
