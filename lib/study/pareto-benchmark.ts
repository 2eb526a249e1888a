/**
 * Strategies compared on several objectives over a tabular benchmark: every strategy under
 * `objectives`, several seeds, the hypervolume dominated by each run's trials after each budget as a
 * fraction of the whole table's (reference point: the table's worst value of each objective), with
 * the paired difference against random search.
 */
import { rangeError } from '../errors.js';
import type { TabularEvaluator } from '../evaluators/tabular.js';
import { canonicalMetric, hypervolume, type Objective } from '../report/pareto.js';
import type { SearchSpace } from '../space/space.js';
import { pairedDifference, type PairedDifference } from './benchmark.js';
import { Study } from './study.js';

export interface ParetoBenchmarkOptions<A> {
  evaluator: TabularEvaluator<A>;
  space: SearchSpace<A>;
  objectives: Objective[];
  strategies: readonly string[];
  seeds: number;
  /** Queries after which the hypervolume is measured; the runs last the largest. */
  budgets: readonly number[];
  strategyOptions?: Record<string, Record<string, unknown>>;
  signal?: AbortSignal;
  onProgress?: (e: { strategy: string; seed: number }) => void;
}

export interface ParetoBenchmarkResult {
  benchmark: string;
  objectives: Objective[];
  seeds: number;
  budgets: number[];
  /** Gains of the reference point (each objective's worst in the table, maximised). */
  reference: number[];
  tableVolume: number;
  results: { strategy: string; meanAt: Record<string, number>; vsRandom: Record<string, PairedDifference | null> }[];
}

/** A row's or a trial's value of an objective (score, params, flops or a metric). */
function valueOf(metrics: Record<string, number | null | undefined>, cost: { params?: number; flops?: number } | undefined, o: Objective): number | null {
  const m = canonicalMetric(o.name);
  const v = m === 'params' || m === 'flops' ? cost?.[m] : metrics[m];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export async function runParetoBenchmark<A>(o: ParetoBenchmarkOptions<A>): Promise<ParetoBenchmarkResult> {
  if (!o.strategies.includes('random')) throw rangeError('strategies', 'a list that includes "random" (the comparison is against it)', o.strategies.join(','));
  const gain = (v: number, obj: Objective) => (obj.direction === 'max' ? v : -v);
  const rows = o.evaluator.rows();
  const points = rows
    .map((r) => o.objectives.map((obj) => valueOf({ ...r.metrics, score: r.score }, r.metrics as { params?: number; flops?: number }, obj)))
    .filter((p): p is number[] => p.every((v) => v !== null))
    .map((p) => p.map((v, k) => gain(v, o.objectives[k]!)));
  if (points.length === 0) throw rangeError('objectives', `metrics the table ${o.evaluator.name} has for its rows`, o.objectives.map((x) => x.name).join(','));
  const reference = o.objectives.map((_, k) => Math.min(...points.map((p) => p[k]!)));
  const tableVolume = hypervolume(points, reference);
  const budgets = [...o.budgets].sort((a, b) => a - b);
  const volumes = new Map<string, number[][]>();
  for (const strategy of o.strategies) {
    const perSeed: number[][] = [];
    for (let seed = 0; seed < o.seeds; seed++) {
      if (o.signal?.aborted) throw o.signal.reason;
      const summary = await new Study({
        space: o.space,
        strategy,
        ...(o.strategyOptions?.[strategy] ? { strategyOptions: o.strategyOptions[strategy] } : {}),
        evaluator: o.evaluator,
        budget: { evaluations: budgets[budgets.length - 1]! },
        seed,
        objectives: o.objectives,
      }).run();
      const gains = summary.trials.map((t) => {
        const v = o.objectives.map((obj) => t.objectives?.[obj.name] ?? null);
        return v.every((x) => x !== null) ? v.map((x, k) => gain(x!, o.objectives[k]!)) : null;
      });
      perSeed.push(budgets.map((b) => hypervolume(gains.slice(0, b).filter((g): g is number[] => g !== null), reference) / tableVolume));
      o.onProgress?.({ strategy, seed });
    }
    volumes.set(strategy, perSeed);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const random = volumes.get('random')!;
  return {
    benchmark: o.evaluator.name,
    objectives: o.objectives,
    seeds: o.seeds,
    budgets,
    reference,
    tableVolume,
    results: o.strategies.map((strategy) => {
      const v = volumes.get(strategy)!;
      return {
        strategy,
        meanAt: Object.fromEntries(budgets.map((b, i) => [String(b), mean(v.map((x) => x[i]!))])),
        vsRandom: Object.fromEntries(budgets.map((b, i) => [String(b), strategy === 'random' || o.seeds < 2 ? null : pairedDifference(v.map((x) => x[i]!), random.map((x) => x[i]!))])),
      };
    }),
  };
}
