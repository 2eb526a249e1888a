/**
 * `nasx bench`: runs strategies for many seeds against a tabular benchmark (no training) and reports,
 * per strategy, the test figure of the best-by-validation architecture (mean ± std over seeds) and
 * the mean best-so-far validation curve.
 */
import { existsSync } from 'node:fs';
import { getTabularBenchmark, loadCurveTable, NB201_LATENCY_DEVICES, TabularEvaluator, TABULAR_BENCHMARKS } from '../evaluators/tabular.js';
import { canonicalMetric, parseObjectives, type Objective } from '../report/pareto.js';
import { runParetoBenchmark } from '../study/pareto-benchmark.js';
import { SCHEDULER_NAMES } from '../estimation/registry.js';
import { createNb201Space } from '../space/nb201-space.js';
import type { SearchSpace } from '../space/space.js';
import { runBenchmark, type BenchmarkResult, type PairedDifference } from '../study/benchmark.js';
import { plotBenchmark } from '../study/plot.js';
import { strategyNames } from '../strategies/registry.js';
import { createRng } from '../util/rng.js';
import { UsageError, choiceFlag, intFlag, parseFlags, type FlagValues } from './args.js';
import { ProgressBar, table } from './progress.js';
import { resolveSpace } from './search-command.js';

export const BENCH_USAGE = `Usage: nasx bench [options]

Compares search strategies (and multi-fidelity schedulers) on a tabular benchmark: each combination
runs once per seed with the same budget; the architecture with the best search metric is reported by
its test figure, with paired differences (95% interval over seeds) against random search and
regularized evolution run on the same seeds.

  --benchmark NAME[,NAME]  ${TABULAR_BENCHMARKS.join(', ')} or all (default nb201/cifar10). NB201's
                           search metric is one seed's test-split accuracy (NASLib's protocol): optimistic
  --table FILE.csv         instead, any table: a learning-curve table of nasx tabulate (with --space, the
                           space it tabulates), or a table of a "config" space's decisions (--space FILE.json,
                           --search-metric, --report-metric)
  --space NAME|FILE        the space of --table
  --search-metric COL      what strategies maximise (--table of a config space)
  --report-metric COL      what is reported (--table of a config space)
  --strategies LIST        comma-separated: ${strategyNames().join(', ')}, or all (default random,evolution)
  --strategy-options JSON  options per strategy, e.g. '{"evolution":{"population":20}}'
  --schedulers LIST        comma-separated: ${SCHEDULER_NAMES.join(', ')} (default none; others need a curve table)
  --min-epochs N, --eta N  the schedulers' first rung and reduction factor (defaults 1 and 3)
  --seeds N                runs per combination (default 100)
  --budget N               queries per run (default 100)
  --budget-epochs N        candidate-epochs per run instead (curve tables)
  --count-repeats          count every query, repeats of a canonical class included (the literature's
                           convention); by default a repeat is answered from memory and free
  --plot FILE.svg|.png     draw the mean best-so-far test figure against queries (or candidate-epochs),
                           one line per combination with a 95% confidence band (one panel per benchmark)
  --objectives L            several objectives, e.g. accuracy:max,latency:min (NB201's tables; latency from
                           the HELP table of --latency-device): reports the dominated hypervolume at
                           --budgets, as % of the whole table's, with paired differences against random
  --budgets LIST           with --objectives: the queries at which the hypervolume is measured (default 25,50,100,150)
  --latency-device NAME    with --objectives: HELP's device of the latency (default 1080ti_1)
  --json                   one JSON object per benchmark: { benchmark, budget, seeds, results: [...] }
`;

const FLAGS = {
  benchmark: { type: 'string' },
  table: { type: 'string' },
  space: { type: 'string' },
  'search-metric': { type: 'string' },
  'report-metric': { type: 'string' },
  strategies: { type: 'string' },
  'strategy-options': { type: 'string' },
  schedulers: { type: 'string' },
  'min-epochs': { type: 'string' },
  eta: { type: 'string' },
  seeds: { type: 'string' },
  budget: { type: 'string' },
  'budget-epochs': { type: 'string' },
  'count-repeats': { type: 'boolean' },
  objectives: { type: 'string' },
  budgets: { type: 'string' },
  'latency-device': { type: 'string' },
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

/** A paired difference as "+0.31 [+0.12, +0.50]" and whether the interval excludes zero. */
export function formatPaired(d: PairedDifference | undefined, digits: number): string {
  if (!d || !Number.isFinite(d.mean)) return '';
  const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
  const verdict = d.low > 0 ? ' better' : d.high < 0 ? ' worse' : '';
  return `${f(d.mean)} [${f(d.low)}, ${f(d.high)}]${verdict}`;
}

function render(r: BenchmarkResult): string {
  // Percent tables (NB201) read with two decimals, fractions with four.
  const digits = Math.abs(r.oracle.test) > 1.5 ? 2 : 4;
  const unit = r.budgetUnit === 'epochs' ? 'candidate-epochs' : 'queries';
  const checkpoints = Object.keys(r.results[0]?.testAt ?? {});
  const baselines = ['random', 'evolution'].filter((b) => r.results.some((s) => s.strategy === b));
  const header = [
    'strategy',
    'test (mean ± std)',
    'search',
    ...checkpoints.map((c) => `test@${c}`),
    ...baselines.map((b) => `Δ test vs ${b} (95%)`),
    `${unit} to top 0.1%`,
    ...(baselines.length > 0 ? [`${unit} to ${baselines[0]}'s final`] : []),
  ];
  const rows = r.results.map((s) => [
    s.strategy,
    `${s.testMean.toFixed(digits)} ± ${s.testStd.toFixed(digits)}`,
    s.validMean.toFixed(digits),
    ...checkpoints.map((c) => s.testAt[c]!.toFixed(digits)),
    ...baselines.map((b) => formatPaired(s.paired[b], digits)),
    s.medianQueriesToTop === null ? `> ${r.budget}` : String(Math.round(s.medianQueriesToTop)),
    ...(baselines.length > 0 ? [s.costToBaseline === null ? `> ${r.budget}` : String(Math.round(s.costToBaseline))] : []),
  ]);
  return (
    `${r.benchmark}: ${r.seeds} seeds, ${r.budget} ${unit}${r.countRepeats ? ' (repeats counted)' : ' (repeats free)'}; ` +
    `the table's best-by-search-metric architecture: search ${r.oracle.valid.toFixed(digits)}, test ${r.oracle.test.toFixed(digits)}; ` +
    `best test in the table ${r.oracle.bestTest.toFixed(digits)}\n${table(header, rows)}\n`
  );
}

/** The evaluator and space of `--table`. */
async function tableBenchmark(values: { table?: string; space?: string; 'search-metric'?: string; 'report-metric'?: string }) {
  const file = values.table!;
  if (!existsSync(file)) throw new UsageError(`Table not found for --table: ${file}`);
  if (values.space === undefined) throw new UsageError('--table needs --space: the space its architectures come from');
  const space = (await resolveSpace(values.space)) as unknown as SearchSpace<unknown> & { trainable: boolean };
  if (values['search-metric'] === undefined && values['report-metric'] === undefined) {
    return { evaluator: await loadCurveTable<unknown>(file, space), space };
  }
  if (values['search-metric'] === undefined || values['report-metric'] === undefined) {
    throw new UsageError('--search-metric and --report-metric go together (for a table of a config space)');
  }
  // A table of plain configurations: its decision columns are the configuration's fields.
  const sample = space.sample(createRng(0)) as Record<string, unknown>;
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) {
    throw new UsageError(`--space ${values.space} does not describe plain configurations (a "config" space), so its table needs the columns of nasx tabulate`);
  }
  const evaluator = await TabularEvaluator.load<unknown>({
    name: file,
    table: file,
    decisionColumns: Object.keys(sample),
    searchMetric: values['search-metric'],
    reportMetrics: { testAccuracy: values['report-metric'] },
  });
  return { evaluator, space };
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (values.table !== undefined && values.benchmark !== undefined) throw new UsageError('Use either --benchmark or --table, not both');
  const benchmarks = values.table !== undefined ? [] : list('benchmark', values.benchmark ?? 'nb201/cifar10', TABULAR_BENCHMARKS);
  const strategies = list('strategies', values.strategies ?? 'random,evolution', strategyNames());
  const schedulers = list('schedulers', values.schedulers ?? 'none', SCHEDULER_NAMES);
  const seeds = intFlag('seeds', values.seeds, 1, 100000) ?? 100;
  const budgetEpochs = intFlag('budget-epochs', values['budget-epochs'], 1, 1e12);
  if (budgetEpochs !== undefined && values.budget !== undefined) throw new UsageError('Use either --budget or --budget-epochs, not both');
  const budget = budgetEpochs === undefined ? (intFlag('budget', values.budget, 1, 1_000_000) ?? 100) : undefined;
  const minEpochs = intFlag('min-epochs', values['min-epochs'], 1, 100000);
  const eta = intFlag('eta', values.eta, 2, 100);
  let strategyOptions: Record<string, Record<string, unknown>> | undefined;
  if (values['strategy-options'] !== undefined) {
    try {
      strategyOptions = JSON.parse(values['strategy-options']) as Record<string, Record<string, unknown>>;
    } catch (err) {
      throw new UsageError(`--strategy-options is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof strategyOptions !== 'object' || strategyOptions === null || Array.isArray(strategyOptions)) {
      throw new UsageError('--strategy-options must be a JSON object of options per strategy, e.g. {"evolution":{"population":20}}');
    }
  }
  const json = Boolean(values.json);
  if (values.objectives !== undefined) return paretoBench(values, benchmarks, strategies, seeds, strategyOptions, json);
  if (values.budgets !== undefined || values['latency-device'] !== undefined) throw new UsageError('--budgets and --latency-device go with --objectives');
  if (values.plot !== undefined && !/\.(svg|png)$/i.test(values.plot)) {
    throw new UsageError(`Expected a file name ending in .svg or .png for --plot but received ${JSON.stringify(values.plot)}`);
  }
  const all: BenchmarkResult[] = [];
  const bar = new ProgressBar();
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const runs: { name: string; load: () => Promise<{ evaluator: TabularEvaluator<unknown>; space: SearchSpace<unknown> }> }[] =
      values.table !== undefined
        ? [{ name: values.table, load: () => tableBenchmark(values) }]
        : benchmarks.map((name) => ({ name, load: async () => ({ evaluator: (await getTabularBenchmark(name)) as TabularEvaluator<unknown>, space: createNb201Space() as SearchSpace<unknown> }) }));
    for (const { name, load } of runs) {
      const { evaluator, space } = await load();
      if (schedulers.some((x) => x !== 'none') && evaluator.curveEpochs === undefined) {
        throw new UsageError(`--schedulers other than none need a learning-curve table (nasx tabulate); ${name} has one figure per architecture`);
      }
      const result = await runBenchmark({
        evaluator,
        space,
        strategies,
        schedulers,
        schedulerOptions: { ...(minEpochs ? { minEpochs } : {}), ...(eta ? { eta } : {}) },
        seeds,
        ...(budgetEpochs !== undefined ? { budgetEpochs } : { budget }),
        strategyOptions,
        countRepeats: Boolean(values['count-repeats']),
        signal: controller.signal,
        onProgress: (e) => {
          if (json) return;
          if (bar.interactive) bar.update({ fraction: e.runsDone / e.runsTotal, text: `${name}: ${e.strategy}${e.scheduler === 'none' ? '' : `+${e.scheduler}`}, seed ${e.seed + 1}/${seeds}` });
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

/** `nasx bench --objectives`: hypervolume of each strategy's front at budgets, against random search. */
async function paretoBench(
  values: FlagValues<typeof FLAGS>,
  benchmarks: string[],
  strategies: string[],
  seeds: number,
  strategyOptions: Record<string, Record<string, unknown>> | undefined,
  json: boolean,
): Promise<number> {
  if (values.table !== undefined || values.schedulers !== undefined || values['budget-epochs'] !== undefined || values.plot !== undefined) {
    throw new UsageError('--objectives goes with NB201 --benchmark tables, without --table, --schedulers, --budget-epochs or --plot');
  }
  let objectives: Objective[];
  try {
    objectives = parseObjectives(values.objectives!, '--objectives');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const budgets = (values.budgets ?? '25,50,100,150').split(',').map((b) => intFlag('budgets', b.trim(), 1, 1_000_000)!);
  const device = choiceFlag('latency-device', values['latency-device'] ?? '1080ti_1', NB201_LATENCY_DEVICES);
  const all = strategies.includes('random') ? strategies : ['random', ...strategies];
  const bar = new ProgressBar();
  try {
    for (const name of benchmarks) {
      const evaluator = (await getTabularBenchmark(name, { latencyDevice: device as (typeof NB201_LATENCY_DEVICES)[number] })) as TabularEvaluator<unknown>;
      const result = await runParetoBenchmark({
        evaluator,
        space: createNb201Space() as SearchSpace<unknown>,
        objectives,
        strategies: all,
        seeds,
        budgets,
        ...(strategyOptions ? { strategyOptions } : {}),
        onProgress: (e) => {
          if (!json && bar.interactive) bar.update({ fraction: (all.indexOf(e.strategy) * seeds + e.seed + 1) / (all.length * seeds), text: `${name}: ${e.strategy}, seed ${e.seed + 1}/${seeds}` });
        },
      });
      bar.done();
      if (json) {
        process.stdout.write(`${JSON.stringify({ ...result, benchmark: name, latencyDevice: device })}\n`);
        continue;
      }
      const last = String(result.budgets[result.budgets.length - 1]);
      const rows = result.results.map((r) => [r.strategy, ...result.budgets.map((b) => (100 * r.meanAt[String(b)]!).toFixed(2)), r.vsRandom[last] ? formatPaired({ mean: 100 * r.vsRandom[last]!.mean, low: 100 * r.vsRandom[last]!.low, high: 100 * r.vsRandom[last]!.high }, 2) : '']);
      process.stdout.write(
        `${name}: ${objectives.map((o) => `${o.name} ${o.direction}`).join(', ')}${objectives.some((o) => canonicalMetric(o.name) === 'latencyMs') ? ` (latency on ${device})` : ''}, ${seeds} seeds; ` +
          `hypervolume of each run's front as % of the whole table's\n${table(['strategy', ...result.budgets.map((b) => `@${b}`), `- random @${last} (95%)`], rows)}\n\n`,
      );
    }
  } finally {
    bar.done();
  }
  return 0;
}
