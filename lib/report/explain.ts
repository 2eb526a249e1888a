/**
 * `explain`: why the architectures of a study win — the importance of each decision of the space for
 * each objective, by functional ANOVA (lib/report/fanova.ts) of a random forest (lib/report/forest.ts)
 * fitted to the study's trials, as Optuna's fANOVA importance evaluator does.
 *
 * Each trial's architecture becomes one category per decision. For a space built with the DSL
 * (`DslSpace`) a decision is identified by its path (`layers[2].units`, `layers.length`), so a
 * decision means the same thing in every architecture; one that an architecture lacks (a layer
 * beyond its depth, a field whose condition fails) takes one more category, "absent". Other spaces'
 * decisions are taken by position (`decision 1`, `decision 2`, ...), with their option counts from
 * `optionsAt`. The fANOVA's measure is uniform over each decision's categories — every option of
 * the space, observed or not, plus "absent" where some trial lacks the decision — so an importance
 * is a share of the variance of the forest's prediction over the whole space, not over the trials.
 *
 * Equivalent cells. A space whose hash is canonical (NB-201's: cells that compute the same function
 * hash alike) gives one trial for a whole class of decision vectors, and a study evaluates each class
 * once, so its trials under-represent large classes (NB-201's thousands of cells whose output is cut
 * off from the input are one trial) and the forest never sees most of the cells whose value the study
 * knows. `equivalents` draws that many uniform samples of the space per trial; each drawn cell that
 * hashes like a used trial, with decisions no row has yet, joins the forest's data with that trial's
 * values — the value the study itself would report for it. Spaces whose hash tells every decision
 * vector apart gain no rows. `counts` of trials per option count the trials only.
 *
 * Per objective: each decision's share of the variance (mean over the trees, each fitted to its own
 * bootstrap sample, with the standard deviation and a percentile interval over them), the pairs of
 * decisions with the largest interactions (beyond both main effects), and each option's effect: the
 * forest's prediction averaged over the rest of the space with that option fixed.
 *
 * @example
 * const summary = await new Study({ space, strategy: 'random', evaluator, budget: { evaluations: 200 } }).run();
 * const { objectives } = explain({ space, trials: summary.trials });
 * objectives[0].importances[0]; // { name: 'edge 3←0', mean: 0.211, std: 0.025, low: 0.168, high: 0.263 }
 */
import { NasxError, checkInteger, checkNumber, describeValue, isObject, typeError } from '../errors.js';
import { getSpace, SPACE_NAMES } from '../space/index.js';
import type { SearchSpace } from '../space/space.js';
import type { DecisionInfo } from '../space/dsl.js';
import { fanovaOfForest, spread } from './fanova.js';
import { RandomForest } from './forest.js';
import { createRng } from '../util/rng.js';
import { canonicalMetric } from './pareto.js';

/** What `explain` reads of a trial (a `Trial` of a study summary has all of it). */
export interface ExplainTrial {
  arch: unknown;
  /** null: the trial failed (it is left out). */
  score: number | null;
  status?: string;
  /** The canonical hash (default: the space's); of trials with one hash, the last one is kept. */
  hash?: string;
  metrics?: Readonly<Record<string, number | null | undefined>>;
  cost?: { params: number; flops: number };
  objectives?: Readonly<Record<string, number | null | undefined>>;
}

export interface ExplainInput {
  /** The space of the trials' architectures, or a built-in space's name (a study summary's `space`). */
  space?: SearchSpace<unknown> | string;
  trials: readonly ExplainTrial[];
}

export interface ExplainOptions {
  /** The space, when the input does not carry one (or carries only the name of a space that is not built in). */
  space?: SearchSpace<unknown>;
  /**
   * What to explain: "score" (default; "accuracy" is the same), "params", "flops", "latency"
   * (`latencyMs`) or any metric of the trials.
   */
  objectives?: readonly string[];
  /** Trees of the forest. Default 64. */
  trees?: number;
  /** Seeds the forest. Default 0. */
  seed?: number;
  /** Decisions drawn per split (default: all), as a count. */
  maxFeatures?: number;
  /** Fewest trials per leaf. Default 1. */
  minSamplesLeaf?: number;
  /** Deepest tree. Default 64. */
  maxDepth?: number;
  /** Interaction pairs returned per objective, the largest first. Default 5. */
  pairs?: number;
  /** Interactions are computed among this many decisions, the most important (all pairs when fewer). Default 12. */
  pairDecisions?: number;
  /** Level of the intervals over trees. Default 0.95. */
  level?: number;
  /** Fewest usable trials to explain. Default 10. */
  minTrials?: number;
  /**
   * Uniform samples of the space drawn per used trial to find cells equivalent to it (same hash,
   * other decisions; see the file comment), at most 200,000 in all. Default 10; 0: none.
   */
  equivalents?: number;
}

/** One decision's share of the variance, over the trees: mean, standard deviation and interval. */
export interface Importance {
  name: string;
  mean: number;
  std: number;
  low: number;
  high: number;
}

export interface PairImportance {
  names: [string, string];
  mean: number;
  std: number;
  low: number;
  high: number;
}

/** An option's effect: the prediction averaged over the rest of the space with the option fixed. */
export interface OptionEffect {
  decision: string;
  option: string;
  /** The prediction with this option (mean over the trees). */
  mean: number;
  std: number;
  low: number;
  high: number;
  /** `mean` minus the prediction averaged over the whole space. */
  delta: number;
  /** The interval of the same difference taken tree by tree (each tree's marginal minus its own mean). */
  deltaLow: number;
  deltaHigh: number;
  /** Usable trials with this option. */
  trials: number;
}

export interface ObjectiveExplanation {
  objective: string;
  /** Trials with a value of this objective. */
  trials: number;
  /** The forest's prediction averaged over the whole space (mean over trees). */
  mean: number;
  /** Trees whose prediction varies; the shares are over these (a constant tree has nothing to share). */
  trees: number;
  /** Per decision, the largest share first. */
  importances: Importance[];
  /** The largest interactions, beyond both decisions' main effects. */
  pairs: PairImportance[];
  /** Per decision (in `importances` order) and option (in the space's order). */
  effects: OptionEffect[];
  /** Shares summed: main effects, and the pairs computed. Main effects plus every interaction is at most 1. */
  explained: { main: number; pairs: number };
  /** Set when the objective does not vary over the trials, so nothing can be attributed. */
  note?: string;
}

export interface Decision {
  name: string;
  /** The options, as text; "absent" last for a decision some trials lack. */
  options: string[];
}

export interface Explanation {
  /** The space's name. */
  space: string;
  /** Trials used: finished with a score, the last of each architecture. */
  trials: number;
  excluded: { failed: number; repeated: number };
  /** Samples of the space drawn, and the equivalent cells among them added to the forest's data. */
  equivalents: { draws: number; cells: number };
  decisions: Decision[];
  forest: { trees: number; maxFeatures: number; minSamplesLeaf: number; maxDepth: number; seed: number };
  objectives: ObjectiveExplanation[];
}

/** The category of a decision that an architecture does not have. */
export const ABSENT = 'absent';

const OPTION_NAMES = ['space', 'objectives', 'trees', 'seed', 'maxFeatures', 'minSamplesLeaf', 'maxDepth', 'pairs', 'pairDecisions', 'level', 'minTrials', 'equivalents'];
/** The most samples of the space `equivalents` draws in all. */
export const MAX_EQUIVALENT_DRAWS = 200_000;

interface Features {
  decisions: Decision[];
  rows: number[][];
}

interface DescribedSpace {
  describeDecisions(arch: unknown): DecisionInfo[];
  decisionName?(path: string): string;
}

function hasDescribe(space: SearchSpace<unknown>): space is SearchSpace<unknown> & DescribedSpace {
  return typeof (space as unknown as DescribedSpace).describeDecisions === 'function';
}

const optionText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Each architecture as one category per decision (see the file comment). */
function decisionFeatures(space: SearchSpace<unknown>, archs: readonly unknown[], where: readonly number[]): Features {
  const read = <T>(i: number, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof NasxError && err.code === 'ERR_NASX_INVALID_ARCH') {
        throw new NasxError('ERR_NASX_INVALID_ARCH', `input.trials[${where[i]}].arch is not in the space ${space.name}: ${err.message}`);
      }
      throw err;
    }
  };
  // Decisions by key (path or position), in the order they first appear: a pre-order merge of the
  // architectures' decision sequences.
  const keys: string[] = [];
  const info = new Map<string, { name: string; options: string[] }>();
  const chosen: Map<string, number>[] = [];
  const note = (key: string, name: string, options: string[], after: string | undefined) => {
    if (info.has(key)) {
      const known = info.get(key)!;
      for (let o = known.options.length; o < options.length; o++) known.options.push(options[o]!);
      return;
    }
    info.set(key, { name, options: [...options] });
    keys.splice(after === undefined ? 0 : keys.indexOf(after) + 1, 0, key);
  };
  archs.forEach((arch, i) => {
    const mine = new Map<string, number>();
    let previous: string | undefined;
    if (hasDescribe(space)) {
      for (const d of read(i, () => space.describeDecisions(arch))) {
        note(d.path, space.decisionName ? space.decisionName(d.path) : d.path, d.options.map(optionText), previous);
        mine.set(d.path, d.index);
        previous = d.path;
      }
    } else {
      const seq = read(i, () => space.decisions(arch));
      seq.forEach((index, p) => {
        const size = read(i, () => space.optionsAt(seq.slice(0, p)));
        const key = String(p);
        note(key, `decision ${p + 1}`, Array.from({ length: Math.max(size, index + 1) }, (_, o) => String(o)), previous);
        mine.set(key, index);
        previous = key;
      });
    }
    chosen.push(mine);
  });
  const decisions = keys.map((key) => {
    const d = info.get(key)!;
    if (chosen.some((m) => !m.has(key))) d.options.push(ABSENT);
    return { name: d.name, options: d.options };
  });
  // Two paths may read alike after renaming; the path keeps them apart.
  const seen = new Map<string, number>();
  for (const d of decisions) seen.set(d.name, (seen.get(d.name) ?? 0) + 1);
  decisions.forEach((d, j) => {
    if (seen.get(d.name)! > 1) d.name = `${d.name} (${keys[j]})`;
  });
  const rows = chosen.map((m) => keys.map((key, j) => m.get(key) ?? decisions[j]!.options.length - 1));
  return { decisions, rows };
}

function objectiveValue(trial: ExplainTrial, objective: string): number | null {
  const metric = canonicalMetric(objective);
  const pick = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  if (metric === 'score') return pick(trial.score);
  if (metric === 'params' || metric === 'flops') return pick(trial.cost?.[metric]) ?? pick(trial.metrics?.[metric]);
  return pick(trial.metrics?.[metric]) ?? pick(trial.objectives?.[objective]);
}

function resolveSpace(input: ExplainInput, options: ExplainOptions): SearchSpace<unknown> {
  if (options.space !== undefined) return options.space;
  const s = input.space;
  if (typeof s === 'string') {
    if (!(SPACE_NAMES as readonly string[]).includes(s)) {
      throw new NasxError(
        'ERR_NASX_INVALID_ARGUMENT',
        `The trials' space ${JSON.stringify(s)} is not a built-in space (${SPACE_NAMES.join(', ')}); pass the space itself as options.space`,
      );
    }
    return getSpace(s);
  }
  if (s === undefined) throw typeError('input.space', 'a search space or a built-in space name (or options.space)', s);
  if (!isObject(s) || typeof (s as SearchSpace<unknown>).decisions !== 'function') throw typeError('input.space', 'a search space', s);
  return s;
}

/**
 * The importance of each decision of the space for each objective, its interactions and per-option
 * effects (see the file comment). `input` is `{ space, trials }` or a study summary (whose `space`
 * names a built-in space; otherwise give `options.space`). Trials without a score are left out, and
 * of trials of one architecture (by hash) only the last. Throws a RangeError naming the count when
 * fewer than `minTrials` (default 10) remain.
 *
 * @example explain(summary, { objectives: ['score', 'latency'], trees: 128 })
 */
export function explain(input: ExplainInput, options: ExplainOptions = {}): Explanation {
  if (!isObject(input)) throw typeError('input', 'an object with trials (a study summary, or { space, trials })', input);
  if (!isObject(options)) throw typeError('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new RangeError(`Unknown option "${key}" for options; known options are ${OPTION_NAMES.join(', ')}`);
  }
  const trials = input.trials;
  if (!Array.isArray(trials)) throw typeError('input.trials', 'an array of trials', trials);
  const space = resolveSpace(input, options);
  const objectives = options.objectives ?? ['score'];
  if (!Array.isArray(objectives) || objectives.length === 0) throw typeError('options.objectives', 'a non-empty array of objective names', objectives);
  objectives.forEach((o, i) => {
    if (typeof o !== 'string' || o === '') throw typeError(`options.objectives[${i}]`, 'an objective name (score, params, flops, latency or a metric)', o);
  });
  const trees = checkInteger('options.trees', options.trees ?? 64, 1, 10000);
  const seed = checkInteger('options.seed', options.seed ?? 0, 0);
  const minSamplesLeaf = checkInteger('options.minSamplesLeaf', options.minSamplesLeaf ?? 1, 1);
  const maxDepth = checkInteger('options.maxDepth', options.maxDepth ?? 64, 1, 1000);
  const pairCount = checkInteger('options.pairs', options.pairs ?? 5, 0, 100000);
  const pairDecisions = checkInteger('options.pairDecisions', options.pairDecisions ?? 12, 0, 1000);
  const level = checkNumber('options.level', options.level ?? 0.95, 0, 1, { exclusiveMin: true });
  const minTrials = checkInteger('options.minTrials', options.minTrials ?? 10, 2);
  const equivalentsPerTrial = checkInteger('options.equivalents', options.equivalents ?? 10, 0, MAX_EQUIVALENT_DRAWS);

  // Usable trials: a score, the last of each architecture (a promotion supersedes what it continued).
  let failed = 0;
  const last = new Map<string, number>();
  trials.forEach((trial, i) => {
    if (!isObject(trial)) throw typeError(`input.trials[${i}]`, 'a trial (an object with arch and score)', trial);
    const score = trial.score;
    if (score === null || score === undefined || (typeof score === 'number' && !Number.isFinite(score)) || (trial.status !== undefined && trial.status !== 'ok')) {
      failed++;
      return;
    }
    if (typeof score !== 'number') throw typeError(`input.trials[${i}].score`, 'a number or null', score);
    let hash: string;
    try {
      hash = typeof trial.hash === 'string' ? trial.hash : space.hash(trial.arch);
    } catch (err) {
      throw new NasxError('ERR_NASX_INVALID_ARCH', `input.trials[${i}].arch is not in the space ${space.name}: ${(err as Error).message}`);
    }
    last.set(hash, i);
  });
  const used = [...last.values()].sort((a, b) => a - b);
  const repeated = trials.length - failed - used.length;
  const tooFew = (n: number, what: string) =>
    new RangeError(
      `Expected at least ${minTrials} ${what} to explain (options.minTrials) but received ${n} of ${trials.length} trials` +
        (failed > 0 ? ` (${failed} failed)` : ''),
    );
  if (used.length < minTrials) throw tooFew(used.length, 'finished trials with a score, one per architecture,');
  const usedTrials = used.map((i) => trials[i]!);
  // Cells equivalent to a used trial (see the file comment): rows after the trials' own.
  const equivalent = equivalentCells(space, last, usedTrials, equivalentsPerTrial * used.length, seed);
  const rowTrials = [...usedTrials, ...equivalent.cells.map((c) => trials[c.trial]!)];
  const features = decisionFeatures(space, [...usedTrials.map((t) => t.arch), ...equivalent.cells.map((c) => c.arch)], [...used, ...equivalent.cells.map((c) => c.trial)]);
  const cardinalities = features.decisions.map((d) => d.options.length);
  const maxFeatures = checkInteger('options.maxFeatures', options.maxFeatures ?? Math.max(1, cardinalities.length), 1, Math.max(1, cardinalities.length));

  const explained = objectives.map((objective): ObjectiveExplanation => {
    const x: number[][] = [];
    const y: number[] = [];
    // Trials with a value, and how many of them chose each option (equivalent cells not counted).
    let measured = 0;
    const counts = features.decisions.map((d) => new Array<number>(d.options.length).fill(0));
    rowTrials.forEach((trial, r) => {
      const v = objectiveValue(trial, objective);
      if (v === null) return;
      const row = features.rows[r]!;
      x.push(row);
      y.push(v);
      if (r < usedTrials.length) {
        measured++;
        row.forEach((c, j) => counts[j]![c]!++);
      }
    });
    if (y.length === 0) {
      const names = new Set<string>(['score']);
      for (const t of usedTrials) {
        for (const k of Object.keys(t.metrics ?? {})) if (k !== 'score') names.add(k);
        if (t.cost) names.add('params').add('flops');
      }
      throw new RangeError(`Expected an objective the trials measure for options.objectives (${[...names].join(', ')}) but received ${describeValue(objective)}`);
    }
    if (measured < minTrials) throw tooFew(measured, `trials with a value of ${objective}`);

    const forest = RandomForest.fit(x, y, cardinalities, { trees, seed, maxFeatures, minSamplesLeaf, maxDepth });
    const fa = fanovaOfForest(forest, { pairFeatures: pairDecisions, level });
    const zero = { mean: 0, std: 0, low: 0, high: 0 };
    const varies = fa.trees > 0;
    const order = features.decisions
      .map((_, j) => j)
      .sort((a, b) => (varies ? fa.main[b]!.mean - fa.main[a]!.mean : 0) || a - b);
    const importances = order.map((j) => ({ name: features.decisions[j]!.name, ...(varies ? pickSpread(fa.main[j]!) : zero) }));
    const pairs = varies
      ? fa.pairs.slice(0, pairCount).map((p) => ({
          names: [features.decisions[p.features[0]]!.name, features.decisions[p.features[1]]!.name] as [string, string],
          ...pickSpread(p),
        }))
      : [];
    const mean = fa.mean.mean;
    const effects = order.flatMap((j) =>
      features.decisions[j]!.options.map((option, c) => {
        const m = fa.marginals[j]![c]!;
        const d = spread(fa.perTree.map((dec) => dec.marginals[j]![c]! - dec.mean), level);
        return { decision: features.decisions[j]!.name, option, ...pickSpread(m), delta: m.mean - mean, deltaLow: d.low, deltaHigh: d.high, trials: counts[j]![c]! };
      }),
    );
    const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
    return {
      objective,
      trials: measured,
      mean,
      trees: fa.trees,
      importances,
      pairs,
      effects,
      explained: { main: varies ? sum(fa.main.map((m) => m.mean)) : 0, pairs: varies ? sum(fa.pairs.map((p) => p.mean)) : 0 },
      ...(varies ? {} : { note: `${objective} is the same for every trial: no decision explains any of it` }),
    };
  });

  return {
    space: space.name,
    trials: used.length,
    excluded: { failed, repeated },
    equivalents: { draws: equivalent.draws, cells: equivalent.cells.length },
    decisions: features.decisions,
    forest: { trees, maxFeatures, minSamplesLeaf, maxDepth, seed },
    objectives: explained,
  };
}

/**
 * Up to `draws` uniform samples of the space; those that hash like a used trial (`byHash`: hash to
 * trial index) and whose decisions no trial or earlier sample has, with the trial they stand for.
 */
function equivalentCells(
  space: SearchSpace<unknown>,
  byHash: ReadonlyMap<string, number>,
  usedTrials: readonly ExplainTrial[],
  draws: number,
  seed: number,
): { draws: number; cells: { arch: unknown; trial: number }[] } {
  const total = Math.min(draws, MAX_EQUIVALENT_DRAWS);
  const cells: { arch: unknown; trial: number }[] = [];
  if (total === 0) return { draws: 0, cells };
  const keys = new Set<string>();
  for (const t of usedTrials) {
    try {
      keys.add(space.decisions(t.arch).join(','));
    } catch {
      // An architecture outside the space: decisionFeatures names the trial.
    }
  }
  const rng = createRng((seed * 2654435761 + 0x51ed) % 2 ** 32);
  for (let i = 0; i < total; i++) {
    const arch = space.sample(rng);
    const trial = byHash.get(space.hash(arch));
    if (trial === undefined) continue;
    const key = space.decisions(arch).join(',');
    if (keys.has(key)) continue;
    keys.add(key);
    cells.push({ arch, trial });
  }
  return { draws: total, cells };
}

function pickSpread(s: { mean: number; std: number; low: number; high: number }) {
  return { mean: s.mean, std: s.std, low: s.low, high: s.high };
}
