/**
 * Strategy (and scheduler) benchmarks on a tabular benchmark: every combination runs for every seed
 * with the same budget; each run is scored by the protocol of the NAS-Bench literature — the
 * architecture with the best search-metric figure after the budget is reported by its test figure —
 * and summarised over seeds, with paired differences against baselines run on the same seeds.
 *
 * On a learning-curve table (a TabularEvaluator with `curve`), schedulers are simulated: a query at
 * e epochs reads the curve at e and costs the table's training seconds for the epochs trained (a
 * promotion pays only the epochs after the trial it continues); runs are then compared against cost.
 */
import { AbortError, checkInteger, checkObject, checkOneOf, typeError } from '../errors.js';
import { SCHEDULER_NAMES } from '../estimation/registry.js';
import { TabularEvaluator } from '../evaluators/tabular.js';
import { checkSearchSpace, type SearchSpace } from '../space/space.js';
import { strategyNames } from '../strategies/registry.js';
import { Study, type Trial } from './study.js';

export interface BenchmarkOptions<A> {
  /** The table; its search metric is what strategies see, `reportMetric` what is reported. */
  evaluator: TabularEvaluator<A>;
  space: SearchSpace<A>;
  strategies: readonly string[];
  /** Multi-fidelity schedulers to combine with each strategy (curve tables only). Default ["none"]. */
  schedulers?: readonly string[];
  /** Options of every scheduler (e.g. { minEpochs: 1, eta: 3 }); maxEpochs defaults to the table's epochs. */
  schedulerOptions?: Record<string, unknown>;
  /** Runs per combination, with seeds 0..seeds−1. */
  seeds: number;
  /** Evaluations per run (give this or `budgetEpochs`). */
  budget?: number;
  /** Candidate-epochs per run (curve tables). */
  budgetEpochs?: number;
  /** Report metric (default "testAccuracy"). */
  reportMetric?: string;
  /** Budgets at which the mean test figure is also reported (those ≤ budget). Default 25, 50, 100, 150 (or eighths of budgetEpochs). */
  checkpoints?: readonly number[];
  strategyOptions?: Readonly<Record<string, Record<string, unknown>>>;
  /**
   * Count every query, repeats included (the convention of much of the literature). Default false:
   * a repeat of an architecture (by canonical class) is answered from memory and costs nothing.
   */
  countRepeats?: boolean;
  /** Combinations the paired differences are taken against (those run). Default random and evolution, without a scheduler. */
  baselines?: readonly string[];
  onProgress?: (event: { strategy: string; scheduler: string; seed: number; runsDone: number; runsTotal: number }) => void;
  signal?: AbortSignal;
}

/** A paired difference over seeds (this combination minus a baseline): mean and 95% interval. */
export interface PairedDifference {
  mean: number;
  low: number;
  high: number;
}

export interface StrategyBenchmark {
  /** The strategy, with "+scheduler" when one was used (e.g. "random+hyperband"). */
  strategy: string;
  scheduler: string;
  /** Mean and standard deviation over seeds of the report figure of the best-by-search-metric architecture. */
  testMean: number;
  testStd: number;
  /** Mean over seeds of the best search-metric figure. */
  validMean: number;
  validStd: number;
  /** Per seed, in seed order: the final report figure and search figure. */
  perSeed: { test: number[]; valid: number[] };
  /** Mean best-so-far search figure after each query (length = budget) — or at each point of `costGrid`. */
  curve: number[];
  /** Mean and standard deviation of the report figure of the best-so-far architecture after each query (or cost point). */
  testCurve: number[];
  testCurveStd: number[];
  /** With an epoch budget: the candidate-epochs at which the curves are measured, and the mean simulated seconds there. */
  costGrid?: number[];
  secondsAt?: number[];
  /** Mean and sample standard deviation over seeds of the report figure at each checkpoint budget. */
  testAt: Record<string, number>;
  testStdAt: Record<string, number>;
  /**
   * Median over seeds of the queries (or candidate-epochs) needed to reach the top 0.1% of the table
   * by search metric (null when fewer than half the runs got there within the budget).
   */
  medianQueriesToTop: number | null;
  /** Paired differences of the final report figure against each baseline run (same seeds). */
  paired: Record<string, PairedDifference>;
  /**
   * Median over seeds of the budget (queries or epochs) at which the best-so-far report figure first
   * reaches the first baseline's mean final figure (null when fewer than half the runs reach it).
   */
  costToBaseline: number | null;
  seconds: number;
}

export interface BenchmarkResult {
  benchmark: string;
  /** Queries per run, or candidate-epochs with `budgetEpochs`. */
  budget: number;
  budgetUnit: 'queries' | 'epochs';
  seeds: number;
  countRepeats: boolean;
  /** Oracle figures of the table: best search figure and the report figure of that architecture, and the best report figure. */
  oracle: { valid: number; test: number; bestTest: number; topThreshold: number };
  results: StrategyBenchmark[];
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1), as reported in the NAS-Bench literature. */
const std = (xs: readonly number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (table, then the normal limit). */
function tQuantile(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086];
  if (df <= table.length) return table[Math.max(1, df) - 1]!;
  if (df <= 30) return 2.042 + ((30 - df) / 10) * 0.044;
  if (df <= 60) return 2.0 + ((60 - df) / 30) * 0.042;
  if (df <= 120) return 1.98 + ((120 - df) / 60) * 0.02;
  return 1.96;
}

/** Mean of the per-seed differences a − b with a 95% t-interval. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  const d = a.map((x, i) => x - b[i]!);
  const m = mean(d);
  const half = d.length > 1 ? (tQuantile(d.length - 1) * std(d)) / Math.sqrt(d.length) : Number.NaN;
  return { mean: m, low: m - half, high: m + half };
}

/** The best-so-far trajectory of one run: after each trial, the cost so far and the incumbent's figures. */
interface Point {
  epochs: number;
  seconds: number;
  valid: number;
  test: number;
}

export async function runBenchmark<A>(options: BenchmarkOptions<A>): Promise<BenchmarkResult> {
  checkObject('options', options);
  const { evaluator, space, strategies, signal } = options;
  if (!(evaluator instanceof TabularEvaluator)) throw typeError('evaluator', 'a TabularEvaluator', evaluator);
  checkSearchSpace('space', space);
  if (!Array.isArray(strategies) || strategies.length === 0) throw typeError('strategies', 'a non-empty array of strategy names', strategies);
  strategies.forEach((s, i) => checkOneOf(`strategies[${i}]`, s, strategyNames()));
  const schedulers = options.schedulers ?? ['none'];
  if (!Array.isArray(schedulers) || schedulers.length === 0) throw typeError('schedulers', 'a non-empty array of scheduler names', schedulers);
  schedulers.forEach((s, i) => {
    if (typeof s !== 'string') throw typeError(`schedulers[${i}]`, 'a scheduler name (a string)', s);
  });
  if (options.checkpoints !== undefined) {
    if (!Array.isArray(options.checkpoints)) throw typeError('checkpoints', 'an array of budgets', options.checkpoints);
    options.checkpoints.forEach((c, i) => checkInteger(`checkpoints[${i}]`, c, 1));
  }
  if (options.reportMetric !== undefined && typeof options.reportMetric !== 'string') throw typeError('reportMetric', 'a metric name (a string)', options.reportMetric);
  const seeds = checkInteger('seeds', options.seeds, 1, 100000);
  if ((options.budget === undefined) === (options.budgetEpochs === undefined)) {
    throw new RangeError(`Expected exactly one of budget and budgetEpochs but received ${options.budget === undefined ? 'neither' : 'both'}`);
  }
  const byEpochs = options.budgetEpochs !== undefined;
  const budget = byEpochs ? checkInteger('budgetEpochs', options.budgetEpochs, 1, 1e12) : checkInteger('budget', options.budget, 1, 1_000_000);
  const maxEpochs = evaluator.curveEpochs;
  if (schedulers.some((s) => s !== 'none') && maxEpochs === undefined) {
    throw new RangeError(`Expected a learning-curve table for schedulers other than "none", but ${evaluator.name} has no curve columns`);
  }
  for (const s of schedulers) if (!(SCHEDULER_NAMES as readonly string[]).includes(s)) throw new RangeError(`Unknown scheduler ${JSON.stringify(s)}; known are ${SCHEDULER_NAMES.join(', ')}`);
  const reportMetric = options.reportMetric ?? 'testAccuracy';
  const checkpoints = (options.checkpoints ?? (byEpochs ? [1, 2, 4, 8].map((k) => Math.round((budget * k) / 8)) : [25, 50, 100, 150])).filter((c) => c <= budget);
  const countRepeats = options.countRepeats ?? false;

  const rows = evaluator.rows();
  const scores = rows.map((r) => r.score).filter((s): s is number => s !== null).sort((a, b) => b - a);
  const topThreshold = scores[Math.max(0, Math.ceil(scores.length * 0.001) - 1)]!;
  const oracleRow = evaluator.bestPossible();
  const bestTest = Math.max(...rows.map((r) => r.report[reportMetric] ?? -Infinity));
  // The report figure of the architecture actually queried: equivalent architectures (one canonical
  // hash) have their own measurements in a table, so the cache is keyed by the architecture itself.
  const reportCache = new Map<string, number>();
  const reportOf = (arch: A) => {
    const key = JSON.stringify(arch);
    let v = reportCache.get(key);
    if (v === undefined) {
      v = evaluator.report(arch)[reportMetric] ?? Number.NaN;
      reportCache.set(key, v);
    }
    return v;
  };
  /** The run's trajectory: the incumbent is the best at the most epochs reached (scores at fewer epochs do not compare). */
  const trajectory = (trials: readonly Trial<A>[]): Point[] => {
    let inc: Trial<A> | undefined;
    let epochs = 0;
    let seconds = 0;
    return trials.map((t) => {
      epochs += t.epochsTrained;
      seconds += t.seconds;
      if (t.score !== null) {
        const te = t.fidelity.epochs ?? 0;
        const ie = inc ? (inc.fidelity.epochs ?? 0) : -1;
        if (!inc || te > ie || (te === ie && t.score > inc.score!) || (inc.hash === t.hash && te >= ie)) inc = t;
      }
      return { epochs, seconds, valid: inc?.score ?? -Infinity, test: inc ? reportOf(inc.arch) : Number.NaN };
    });
  };
  /** The point in effect at budget position x (query count, or epochs spent). */
  const at = (points: readonly Point[], x: number): Point | undefined => {
    if (!byEpochs) return points[Math.min(points.length, x) - 1];
    let last: Point | undefined;
    for (const p of points) {
      if (p.epochs > x) break;
      last = p;
    }
    return last;
  };
  const gridSize = byEpochs ? 200 : budget;
  const grid = Array.from({ length: gridSize }, (_, i) => (byEpochs ? ((i + 1) * budget) / gridSize : i + 1));

  const combos = schedulers.flatMap((scheduler) => strategies.map((strategy) => ({ strategy, scheduler })));
  const results: StrategyBenchmark[] = [];
  const runs = new Map<string, Point[][]>();
  let runsDone = 0;
  for (const { strategy, scheduler } of combos) {
    const started = performance.now();
    const all: Point[][] = [];
    for (let seed = 0; seed < seeds; seed++) {
      if (signal?.aborted) throw new AbortError('benchmark was aborted');
      const study = new Study<A>({
        space,
        strategy,
        strategyOptions: options.strategyOptions?.[strategy],
        evaluator,
        budget: byEpochs ? { epochs: budget } : { evaluations: budget },
        ...(scheduler === 'none'
          ? byEpochs
            ? { fidelity: { epochs: maxEpochs } }
            : {}
          : { scheduler, schedulerOptions: { maxEpochs, ...options.schedulerOptions } }),
        dedupe: !countRepeats,
        seed,
        signal,
      });
      all.push(trajectory((await study.run()).trials));
      options.onProgress?.({ strategy, scheduler, seed, runsDone: ++runsDone, runsTotal: seeds * combos.length });
    }
    const name = scheduler === 'none' ? strategy : `${strategy}+${scheduler}`;
    runs.set(name, all);
    const final = all.map((pts) => pts[pts.length - 1] ?? { epochs: 0, seconds: 0, valid: -Infinity, test: Number.NaN });
    const curveAt = grid.map((x) => all.map((pts) => at(pts, x) ?? { epochs: 0, seconds: 0, valid: -Infinity, test: Number.NaN }));
    const testCurve = curveAt.map((ps) => mean(ps.map((p) => p.test)));
    const testAt: Record<string, number> = {};
    const testStdAt: Record<string, number> = {};
    for (const c of checkpoints) {
      const ps = all.map((pts) => at(pts, c)?.test ?? Number.NaN);
      testAt[String(c)] = mean(ps);
      testStdAt[String(c)] = std(ps);
    }
    const toTop = all.map((pts) => {
      const i = pts.findIndex((p) => p.valid >= topThreshold);
      return i < 0 ? Infinity : byEpochs ? pts[i]!.epochs : i + 1;
    });
    const reachedRuns = toTop.filter((x) => Number.isFinite(x)).length;
    results.push({
      strategy: name,
      scheduler,
      testMean: mean(final.map((p) => p.test)),
      testStd: std(final.map((p) => p.test)),
      validMean: mean(final.map((p) => p.valid)),
      validStd: std(final.map((p) => p.valid)),
      perSeed: { test: final.map((p) => p.test), valid: final.map((p) => p.valid) },
      curve: curveAt.map((ps) => mean(ps.map((p) => p.valid))),
      testCurve,
      testCurveStd: curveAt.map((ps) => std(ps.map((p) => p.test))),
      ...(byEpochs ? { costGrid: grid, secondsAt: curveAt.map((ps) => mean(ps.map((p) => p.seconds))) } : {}),
      testAt,
      testStdAt,
      medianQueriesToTop: reachedRuns * 2 > seeds ? median(toTop) : null,
      paired: {},
      costToBaseline: null,
      seconds: (performance.now() - started) / 1000,
    });
  }
  // Paired comparisons on the same seeds, against the baselines that were run.
  const baselines = (options.baselines ?? ['random', 'evolution']).filter((b) => runs.has(b));
  for (const r of results) {
    for (const b of baselines) {
      if (b === r.strategy) continue;
      const base = results.find((x) => x.strategy === b)!;
      r.paired[b] = pairedDifference(r.perSeed.test, base.perSeed.test);
    }
    const target = baselines.length > 0 ? results.find((x) => x.strategy === baselines[0])!.testMean : undefined;
    if (target !== undefined) {
      const costs = runs.get(r.strategy)!.map((pts) => {
        const i = pts.findIndex((p) => p.test >= target);
        return i < 0 ? Infinity : byEpochs ? pts[i]!.epochs : i + 1;
      });
      r.costToBaseline = costs.filter(Number.isFinite).length * 2 > seeds ? median(costs) : null;
    }
  }
  return {
    benchmark: evaluator.name,
    budget,
    budgetUnit: byEpochs ? 'epochs' : 'queries',
    seeds,
    countRepeats,
    oracle: { valid: oracleRow.score!, test: oracleRow.report[reportMetric] ?? Number.NaN, bestTest, topThreshold },
    results,
  };
}
