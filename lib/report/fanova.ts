/**
 * Exact functional ANOVA (fANOVA) of piecewise-constant functions over a product of categorical
 * features: of each tree of a random forest, and of a full table (a function given at every point).
 *
 * The measure is uniform over each feature's categories, as in Hutter, Hoos and Leyton-Brown, "An
 * efficient approach for assessing hyperparameter importance" (ICML 2014). A function f over the
 * product space decomposes into orthogonal parts — its mean, one main effect per feature, one
 * interaction per pair, and so on — whose variances add up to the variance of f. The importance of a
 * feature j is the fraction of the variance its main effect carries:
 *
 *     V_j = Var over x_j of  f_j(x_j) = E[f | x_j],      importance_j = V_j / Var f
 *
 * and the interaction of a pair (i, j) is what their joint marginal carries beyond both main effects:
 * (Var f_ij − V_i − V_j) / Var f. Main effects and pair interactions together never exceed 1.
 *
 * Efficiency: a tree's leaves partition the space into boxes (per feature, a subset of its
 * categories), and f is constant on each. The marginal f_j(c) is the sum over the leaves whose box
 * holds c of the leaf's value times the fraction of the other features' space its box covers, so one
 * pass over the leaves gives every main effect (cost: leaves × categories) and one more every pair
 * (leaves × the two features' categories), with no enumeration of the product space.
 *
 * Over a forest, each tree (each fitted to its own bootstrap sample) is decomposed on its own; the
 * spread of a figure over the trees is its spread over bootstrap fits. Trees that predict a constant
 * have no variance to share and are left out of the fractions (not of the marginal predictions).
 */
import { checkInteger, checkNumber, rangeError, typeError } from '../errors.js';
import type { LeafBox, RandomForest } from './forest.js';

/** The fANOVA of one piecewise-constant function. */
export interface Decomposition {
  /** Mean of the function over the space. */
  mean: number;
  /** Variance over the space (uniform measure). */
  variance: number;
  /** Per feature: the fraction of the variance its main effect carries (0 when the variance is 0). */
  main: number[];
  /** Per feature and category c: the marginal mean E[f | x_j = c]. */
  marginals: number[][];
  /** The pairs asked for: the fraction of the variance their interaction carries beyond both main effects. */
  pairs: { features: [number, number]; fraction: number }[];
}

/**
 * The fANOVA of the function that is `value` on each box. The boxes must partition the product
 * space of `cardinalities` (a tree's leaves do). `pairs` lists the pairs of features whose
 * interactions to compute (default none).
 */
export function decompose(
  leaves: readonly LeafBox[],
  cardinalities: readonly number[],
  pairs: readonly (readonly [number, number])[] = [],
): Decomposition {
  const d = cardinalities.length;
  // Per leaf: the fraction of each feature's categories its box covers, and its volume.
  const ratio = leaves.map((leaf) => leaf.sets.map((set, j) => (set === null ? 1 : set.length / cardinalities[j]!)));
  const volume = ratio.map((r) => r.reduce((a, b) => a * b, 1));
  let mean = 0;
  leaves.forEach((leaf, l) => (mean += leaf.value * volume[l]!));
  // Centring first keeps E[g²] − E[g]² from cancelling digits: every variance below is a mean square.
  const centred = leaves.map((leaf) => leaf.value - mean);
  let variance = 0;
  centred.forEach((v, l) => (variance += v * v * volume[l]!));

  const marginal = (j: number): Float64Array => {
    const k = cardinalities[j]!;
    const g = new Float64Array(k);
    let everywhere = 0;
    leaves.forEach((leaf, l) => {
      const w = (centred[l]! * volume[l]!) / ratio[l]![j]!;
      const set = leaf.sets[j];
      if (set === null) everywhere += w;
      else for (const c of set) g[c]! += w;
    });
    for (let c = 0; c < k; c++) g[c]! += everywhere;
    return g;
  };
  const meanSquare = (g: Float64Array): number => {
    let s = 0;
    for (let c = 0; c < g.length; c++) s += g[c]! * g[c]!;
    return s / g.length;
  };

  const mainVariance: number[] = [];
  const marginals: number[][] = [];
  for (let j = 0; j < d; j++) {
    const g = marginal(j);
    mainVariance.push(meanSquare(g));
    marginals.push(Array.from(g, (x) => x + mean));
  }

  const pairFractions = pairs.map(([i, j]) => {
    const ki = cardinalities[i]!;
    const kj = cardinalities[j]!;
    // Boxes that cover every category of i (or j) add to a whole column (row), kept apart from the cells.
    const cell = new Float64Array(ki * kj);
    const row = new Float64Array(ki);
    const col = new Float64Array(kj);
    let everywhere = 0;
    leaves.forEach((leaf, l) => {
      const w = (centred[l]! * volume[l]!) / (ratio[l]![i]! * ratio[l]![j]!);
      const si = leaf.sets[i];
      const sj = leaf.sets[j];
      if (si === null && sj === null) everywhere += w;
      else if (si === null) for (const b of sj!) col[b]! += w;
      else if (sj === null) for (const a of si) row[a]! += w;
      else for (const a of si) for (const b of sj) cell[a * kj + b]! += w;
    });
    let s = 0;
    for (let a = 0; a < ki; a++) {
      for (let b = 0; b < kj; b++) {
        const g = cell[a * kj + b]! + row[a]! + col[b]! + everywhere;
        s += g * g;
      }
    }
    const joint = s / (ki * kj);
    const interaction = Math.max(0, joint - mainVariance[i]! - mainVariance[j]!);
    return { features: [i, j] as [number, number], fraction: variance > 0 ? interaction / variance : 0 };
  });

  return {
    mean,
    variance,
    main: mainVariance.map((v) => (variance > 0 ? Math.min(1, v / variance) : 0)),
    marginals,
    pairs: pairFractions,
  };
}

/**
 * The fANOVA of a table that gives the function at every point of the product space (each point
 * exactly once), e.g. NAS-Bench-201's 15,625 cells: each row is a box of one point.
 *
 * @example decomposeTable(rows.map((r) => space.decisions(r.arch)), rows.map((r) => r.score), [5, 5, 5, 5, 5, 5])
 */
export function decomposeTable(
  x: readonly (readonly number[])[],
  y: readonly number[],
  cardinalities: readonly number[],
  pairs: readonly (readonly [number, number])[] = [],
): Decomposition {
  const ks = cardinalities.map((k, j) => checkInteger(`cardinalities[${j}]`, k, 1, 1 << 20));
  const size = ks.reduce((a, b) => a * b, 1);
  if (!Array.isArray(x) || x.length !== size) {
    throw rangeError('x', `one row per point of the product space (${size} rows)`, x);
  }
  if (!Array.isArray(y) || y.length !== x.length) throw rangeError('y', `an array of ${x.length} numbers (one per row of x)`, y);
  const seen = new Uint8Array(size);
  const leaves = x.map((row, r): LeafBox => {
    if (!Array.isArray(row) || row.length !== ks.length) throw typeError(`x[${r}]`, `an array of ${ks.length} categories`, row);
    let index = 0;
    row.forEach((c, j) => (index = index * ks[j]! + checkInteger(`x[${r}][${j}]`, c, 0, ks[j]! - 1)));
    if (seen[index]) throw rangeError(`x[${r}]`, 'a point of the space not listed before (each point exactly once)', row);
    seen[index] = 1;
    const v = y[r];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(`y[${r}]`, 'a finite number', v);
    return { value: v, sets: row.map((c) => [c]) };
  });
  return decompose(leaves, ks, pairs);
}

/** A figure over the trees of a forest: its mean, standard deviation and percentile interval. */
export interface Spread {
  mean: number;
  std: number;
  /** The interval's bounds: the (1 − level)/2 and (1 + level)/2 percentiles over the trees. */
  low: number;
  high: number;
}

/** Mean, sample standard deviation and percentile interval (linear interpolation) of `values`. */
export function spread(values: readonly number[], level = 0.95): Spread {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, low: Number.NaN, high: Number.NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  };
  return { mean, std, low: at((1 - level) / 2), high: at((1 + level) / 2) };
}

export interface ForestFanovaOptions {
  /**
   * Interactions are computed among this many features, those with the largest mean main effects
   * (every pair of them); all pairs when the features are no more. Default 12.
   */
  pairFeatures?: number;
  /** The level of the percentile intervals over trees. Default 0.95. */
  level?: number;
}

/** The fANOVA of a forest: each tree's figures, and their spread over the trees. */
export interface ForestFanova {
  /** Trees whose prediction varies (the fractions are over these). */
  trees: number;
  /** Trees that predict a constant. */
  constantTrees: number;
  /** Per feature: the spread of its main-effect fraction. */
  main: Spread[];
  /** Per computed pair, by descending mean: the spread of its interaction fraction. */
  pairs: ({ features: [number, number] } & Spread)[];
  /** Per feature and category: the spread of the marginal mean E[f | x_j = c] over all trees. */
  marginals: Spread[][];
  /** Spread of each tree's mean over the space. */
  mean: Spread;
  /** Each tree's decomposition. */
  perTree: Decomposition[];
}

/**
 * Decomposes every tree of `forest` and summarises the figures over the trees.
 *
 * @example const f = fanovaOfForest(RandomForest.fit(x, y, ks)); f.main[0].mean // feature 0's share of the variance
 */
export function fanovaOfForest(forest: RandomForest, options: ForestFanovaOptions = {}): ForestFanova {
  const d = forest.cardinalities.length;
  const pairFeatures = checkInteger('options.pairFeatures', options.pairFeatures ?? 12, 0, 1000);
  const level = checkNumber('options.level', options.level ?? 0.95, 0, 1, { exclusiveMin: true });
  const leaves = forest.trees.map((tree) => tree.leaves());
  const mainsOnly = leaves.map((l) => decompose(l, forest.cardinalities));
  const varying = mainsOnly.map((dec) => dec.variance > 0);
  const main = Array.from({ length: d }, (_, j) => spread(mainsOnly.filter((_, t) => varying[t]).map((dec) => dec.main[j]!), level));

  // The pairs among the features with the largest main effects (index order breaks ties).
  const top = Array.from({ length: d }, (_, j) => j)
    .sort((a, b) => (main[b]!.mean || 0) - (main[a]!.mean || 0) || a - b)
    .slice(0, Math.min(d, pairFeatures))
    .sort((a, b) => a - b);
  const pairList: [number, number][] = [];
  for (let a = 0; a < top.length; a++) for (let b = a + 1; b < top.length; b++) pairList.push([top[a]!, top[b]!]);
  const perTree = pairList.length === 0 ? mainsOnly : leaves.map((l) => decompose(l, forest.cardinalities, pairList));

  const pairs = pairList
    .map((features, p) => ({ features, ...spread(perTree.filter((_, t) => varying[t]).map((dec) => dec.pairs[p]!.fraction), level) }))
    .sort((a, b) => (b.mean || 0) - (a.mean || 0) || a.features[0] - b.features[0] || a.features[1] - b.features[1]);
  const marginals = forest.cardinalities.map((k, j) =>
    Array.from({ length: k }, (_, c) => spread(perTree.map((dec) => dec.marginals[j]![c]!), level)),
  );
  const trees = varying.filter(Boolean).length;
  return {
    trees,
    constantTrees: perTree.length - trees,
    main,
    pairs,
    marginals,
    mean: spread(perTree.map((dec) => dec.mean), level),
    perTree,
  };
}
