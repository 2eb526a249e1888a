/**
 * `nasx bench`: runs strategies for many seeds against a tabular benchmark (no training) and reports,
 * per strategy, the test figure of the best-by-validation architecture (mean ± std over seeds) and
 * the mean best-so-far validation curve.
 */
import { getTabularBenchmark, TABULAR_BENCHMARKS } from '../evaluators/tabular.js';
import { createNb201Space } from '../space/nb201-space.js';
import { runBenchmark, type BenchmarkResult } from '../study/benchmark.js';
import { plotBenchmark } from '../study/plot.js';
import { strategyNames } from '../strategies/registry.js';
import { UsageError, choiceFlag, intFlag, parseFlags } from './args.js';
import { ProgressBar, table } from './progress.js';

export const BENCH_USAGE = `Usage: nasx bench [options]

Compares search strategies on a tabular benchmark: each strategy runs once per seed with the same
budget; the architecture with the best validation accuracy is reported by its test accuracy.

  --benchmark NAME[,NAME]  ${TABULAR_BENCHMARKS.join(', ')} or all (default nb201/cifar10)
  --strategies LIST        comma-separated: ${strategyNames().join(', ')}, or all (default random,evolution)
  --seeds N                runs per strategy (default 100)
  --budget N               queries per run (default 100)
  --plot FILE.svg|.png     draw the mean best-so-far test accuracy against queries, one line per
                           strategy with a 95% confidence band (one panel per benchmark)
  --json                   one JSON object per benchmark: { benchmark, budget, seeds, results: [...] }
`;

const FLAGS = {
  benchmark: { type: 'string' },
  strategies: { type: 'string' },
  seeds: { type: 'string' },
  budget: { type: 'string' },
  json: { type: 'boolean' },
  plot: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function list<T extends string>(flag: string, raw: string, allowed: readonly T[]): T[] {
  if (raw === 'all') return [...allowed];
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`Flag --${flag} needs at least one name`);
  return items.map((s) => choiceFlag(flag, s, allowed)!);
}

function render(r: BenchmarkResult): string {
  const checkpoints = Object.keys(r.results[0]?.testAt ?? {});
  const header = ['strategy', 'test (mean ± std)', 'valid', ...checkpoints.map((c) => `test@${c}`), 'queries to top 0.1%'];
  const rows = r.results.map((s) => [
    s.strategy,
    `${s.testMean.toFixed(2)} ± ${s.testStd.toFixed(2)}`,
    s.validMean.toFixed(2),
    ...checkpoints.map((c) => s.testAt[c]!.toFixed(2)),
    s.medianQueriesToTop === null ? `> ${r.budget}` : String(s.medianQueriesToTop),
  ]);
  return (
    `${r.benchmark}: ${r.seeds} seeds, ${r.budget} queries; best-by-validation of the whole table: ` +
    `valid ${r.oracle.valid.toFixed(2)}, test ${r.oracle.test.toFixed(2)}\n${table(header, rows)}\n`
  );
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  const benchmarks = list('benchmark', values.benchmark ?? 'nb201/cifar10', TABULAR_BENCHMARKS);
  const strategies = list('strategies', values.strategies ?? 'random,evolution', strategyNames());
  const seeds = intFlag('seeds', values.seeds, 1, 100000) ?? 100;
  const budget = intFlag('budget', values.budget, 1, 15625) ?? 100;
  const json = Boolean(values.json);
  if (values.plot !== undefined && !/\.(svg|png)$/i.test(values.plot)) {
    throw new UsageError(`Expected a file name ending in .svg or .png for --plot but received ${JSON.stringify(values.plot)}`);
  }
  const all: BenchmarkResult[] = [];
  const bar = new ProgressBar();
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for (const name of benchmarks) {
      const evaluator = await getTabularBenchmark(name);
      const result = await runBenchmark({
        evaluator,
        space: createNb201Space(),
        strategies,
        seeds,
        budget,
        signal: controller.signal,
        onProgress: (e) => {
          if (json) return;
          if (bar.interactive) bar.update({ fraction: e.runsDone / e.runsTotal, text: `${name}: ${e.strategy}, seed ${e.seed + 1}/${seeds}` });
        },
      });
      bar.done();
      all.push(result);
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : render(result));
    }
    if (values.plot !== undefined) {
      await plotBenchmark(all, values.plot);
      if (!json) process.stdout.write(`plot written to ${values.plot}\n`);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    bar.done();
  }
  return 0;
}
