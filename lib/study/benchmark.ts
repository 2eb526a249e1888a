/**
 * Strategy benchmarks on a tabular benchmark: every strategy runs for every seed with the same
 * budget; each run is scored by the protocol of the NAS-Bench literature — the architecture with the
 * best validation score after the budget is reported by its test figure — and summarised over seeds.
 */
import { AbortError, checkInteger, typeError } from '../errors.js';
import type { TabularEvaluator } from '../evaluators/tabular.js';
import type { SearchSpace } from '../space/space.js';
import { Study } from './study.js';

export interface BenchmarkOptions<A> {
  /** The table; its search metric is what strategies see, `reportMetric` what is reported. */
  evaluator: TabularEvaluator<A>;
  space: SearchSpace<A>;
  strategies: readonly string[];
  /** Runs per strategy, with seeds 0..seeds−1. */
  seeds: number;
  /** Evaluations per run. */
  budget: number;
  /** Report metric (default "testAccuracy"). */
  reportMetric?: string;
  /** Budgets at which the mean test figure is also reported (those ≤ budget). Default 25, 50, 100, 150. */
  checkpoints?: readonly number[];
  strategyOptions?: Readonly<Record<string, Record<string, unknown>>>;
  onProgress?: (event: { strategy: string; seed: number; runsDone: number; runsTotal: number }) => void;
  signal?: AbortSignal;
}

export interface StrategyBenchmark {
  strategy: string;
  /** Mean and standard deviation over seeds of the report figure of the best-by-validation architecture. */
  testMean: number;
  testStd: number;
  /** Mean over seeds of the best validation score. */
  validMean: number;
  validStd: number;
  /** Mean best-so-far validation score after each query (length = budget). */
  curve: number[];
  /** Mean and standard deviation of the report figure of the best-so-far architecture after each query. */
  testCurve: number[];
  testCurveStd: number[];
  /** Mean and sample standard deviation over seeds of the report figure at each checkpoint budget. */
  testAt: Record<string, number>;
  testStdAt: Record<string, number>;
  /**
   * Median over seeds of the queries needed to reach the top 0.1% of the table by validation score
   * (null when fewer than half the runs got there within the budget).
   */
  medianQueriesToTop: number | null;
  seconds: number;
}

export interface BenchmarkResult {
  benchmark: string;
  budget: number;
  seeds: number;
  /** Oracle figures of the table: best validation score and the report figure of that architecture. */
  oracle: { valid: number; test: number; topThreshold: number };
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

export async function runBenchmark<A>(options: BenchmarkOptions<A>): Promise<BenchmarkResult> {
  const { evaluator, space, strategies, signal } = options;
  if (!Array.isArray(strategies) || strategies.length === 0) throw typeError('strategies', 'a non-empty array of strategy names', strategies);
  const seeds = checkInteger('seeds', options.seeds, 1, 100000);
  const budget = checkInteger('budget', options.budget, 1, 1_000_000);
  const reportMetric = options.reportMetric ?? 'testAccuracy';
  const checkpoints = (options.checkpoints ?? [25, 50, 100, 150]).filter((c) => c <= budget);

  const rows = evaluator.rows();
  const scores = rows.map((r) => r.score).filter((s): s is number => s !== null).sort((a, b) => b - a);
  const topThreshold = scores[Math.max(0, Math.ceil(scores.length * 0.001) - 1)]!;
  const oracleRow = evaluator.bestPossible();
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

  const results: StrategyBenchmark[] = [];
  let runsDone = 0;
  for (const strategy of strategies) {
    const started = performance.now();
    const finalTest: number[] = [];
    const finalValid: number[] = [];
    const toTop: number[] = [];
    const atCheckpoint = new Map<number, number[]>(checkpoints.map((c) => [c, []]));
    const curveSum = new Float64Array(budget);
    const testSum = new Float64Array(budget);
    const testSq = new Float64Array(budget);
    for (let seed = 0; seed < seeds; seed++) {
      if (signal?.aborted) throw new AbortError('benchmark was aborted');
      const study = new Study<A>({
        space,
        strategy,
        strategyOptions: options.strategyOptions?.[strategy],
        evaluator,
        budget: { evaluations: budget },
        seed,
        signal,
      });
      const summary = await study.run();
      let bestScore = -Infinity;
      let bestTest = Number.NaN;
      let reached = Number.POSITIVE_INFINITY;
      for (let q = 0; q < budget; q++) {
        const trial = summary.trials[q];
        if (trial && trial.score !== null && trial.score > bestScore) {
          bestScore = trial.score;
          bestTest = reportOf(trial.arch);
        }
        if (bestScore >= topThreshold && reached === Infinity) reached = q + 1;
        // A run that ended early (space exhausted) keeps its final figures for the remaining queries.
        curveSum[q] += bestScore;
        testSum[q] += bestTest;
        testSq[q] += bestTest * bestTest;
        atCheckpoint.get(q + 1)?.push(bestTest);
      }
      finalTest.push(bestTest);
      finalValid.push(bestScore);
      toTop.push(reached);
      options.onProgress?.({ strategy, seed, runsDone: ++runsDone, runsTotal: seeds * strategies.length });
    }
    const testCurve = Array.from(testSum, (s) => s / seeds);
    const testAt: Record<string, number> = {};
    const testStdAt: Record<string, number> = {};
    for (const c of checkpoints) {
      testAt[String(c)] = mean(atCheckpoint.get(c)!);
      testStdAt[String(c)] = std(atCheckpoint.get(c)!);
    }
    const reachedRuns = toTop.filter((x) => Number.isFinite(x)).length;
    results.push({
      strategy,
      testMean: mean(finalTest),
      testStd: std(finalTest),
      validMean: mean(finalValid),
      validStd: std(finalValid),
      curve: Array.from(curveSum, (s) => s / seeds),
      testCurve,
      testCurveStd: Array.from(testSq, (sq, q) => Math.sqrt(Math.max(0, sq / seeds - testCurve[q]! ** 2))),
      testAt,
      testStdAt,
      medianQueriesToTop: reachedRuns * 2 > seeds ? median(toTop) : null,
      seconds: (performance.now() - started) / 1000,
    });
  }
  return {
    benchmark: evaluator.name,
    budget,
    seeds,
    oracle: { valid: oracleRow.score!, test: oracleRow.report[reportMetric] ?? Number.NaN, topThreshold },
    results,
  };
}
