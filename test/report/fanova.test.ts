import test from 'ava';
import { decompose, decomposeTable, fanovaOfForest, spread } from '../../lib/report/fanova.js';
import { RandomForest } from '../../lib/report/forest.js';
import { createRng } from '../../lib/util/rng.js';

/** f(x0, x1) = a[x0] + b[x1] + c[x0][x1] on 3 × 4 categories, c centred on every row and column. */
const a = [1, -2, 4];
const b = [0.5, 3, -1, 2];
const rawC = [
  [2, -1, 0.5, 3],
  [-3, 1, 2, -0.5],
  [0, 4, -2, 1],
];
const rowMean = rawC.map((r) => r.reduce((s, v) => s + v, 0) / 4);
const colMean = [0, 1, 2, 3].map((j) => rawC.reduce((s, r) => s + r[j]!, 0) / 3);
const grand = rowMean.reduce((s, v) => s + v, 0) / 3;
const c = rawC.map((r, i) => r.map((v, j) => v - rowMean[i]! - colMean[j]! + grand));
const f = (x0: number, x1: number) => a[x0]! + b[x1]! + c[x0]![x1]!;
const popVar = (xs: number[]) => {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  return xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length;
};
// The closed form: the parts are orthogonal, so their variances add up.
const v0 = popVar(a);
const v1 = popVar(b);
const v01 = c.flat().reduce((s, v) => s + v * v, 0) / 12;
const total = v0 + v1 + v01;
const grid: number[][] = [];
for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) grid.push([i, j]);

test('the fANOVA of a full table is the closed-form variance decomposition', (t) => {
  const dec = decomposeTable(grid, grid.map(([i, j]) => f(i!, j!)), [3, 4], [[0, 1]]);
  t.true(Math.abs(dec.variance - total) < 1e-12);
  t.true(Math.abs(dec.main[0]! - v0 / total) < 1e-12);
  t.true(Math.abs(dec.main[1]! - v1 / total) < 1e-12);
  t.true(Math.abs(dec.pairs[0]!.fraction - v01 / total) < 1e-12);
  const mean = grid.reduce((s, [i, j]) => s + f(i!, j!), 0) / 12;
  const meanA = a.reduce((s, v) => s + v, 0) / 3;
  dec.marginals[0]!.forEach((m, i) => t.true(Math.abs(m - (mean + a[i]! - meanA)) < 1e-12));
});

test('a forest fitted to every point recovers the closed form: importances, interaction and per-option effects', (t) => {
  const x: number[][] = [];
  const y: number[] = [];
  for (let r = 0; r < 20; r++) for (const [i, j] of grid) {
    x.push([i!, j!]);
    y.push(f(i!, j!));
  }
  const forest = RandomForest.fit(x, y, [3, 4], { trees: 32, seed: 3 });
  const fa = fanovaOfForest(forest);
  t.is(fa.trees, 32);
  t.true(Math.abs(fa.main[0]!.mean - v0 / total) < 1e-9, `${fa.main[0]!.mean} vs ${v0 / total}`);
  t.true(Math.abs(fa.main[1]!.mean - v1 / total) < 1e-9);
  t.true(Math.abs(fa.pairs[0]!.mean - v01 / total) < 1e-9);
  t.true(fa.main[0]!.std < 1e-9 && fa.main[0]!.low <= fa.main[0]!.mean && fa.main[0]!.high >= fa.main[0]!.mean - 1e-12);
  const meanB = b.reduce((s, v) => s + v, 0) / 4;
  fa.marginals[1]!.forEach((m, j) => t.true(Math.abs(m.mean - (fa.mean.mean + b[j]! - meanB)) < 1e-9));
});

/** The fANOVA by enumerating the product space and predicting every point. */
function bruteForce(predict: (row: number[]) => number, ks: number[]) {
  const points: number[][] = [[]];
  for (const k of ks) points.splice(0, points.length, ...points.flatMap((p) => Array.from({ length: k }, (_, c) => [...p, c])));
  const values = points.map(predict);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  const marginal = (features: number[]) => {
    const sums = new Map<string, { s: number; n: number }>();
    points.forEach((p, r) => {
      const key = features.map((j) => p[j]).join(',');
      const e = sums.get(key) ?? { s: 0, n: 0 };
      e.s += values[r]!;
      e.n++;
      sums.set(key, e);
    });
    return [...sums.values()].map((e) => e.s / e.n);
  };
  const varOf = (ms: number[]) => ms.reduce((s, m) => s + (m - mean) ** 2, 0) / ms.length;
  const main = ks.map((_, j) => varOf(marginal([j])));
  const pair = (i: number, j: number) => varOf(marginal([i, j])) - main[i]! - main[j]!;
  return { mean, variance, main, pair, marginal };
}

test('per tree, the leaf-weighted fANOVA equals brute-force enumeration of the product space', (t) => {
  const ks = [3, 4, 2];
  const rng = createRng(11);
  const x: number[][] = [];
  const y: number[] = [];
  // 15 noisy points of the 24: trees meet categories without samples at some nodes.
  for (let r = 0; r < 15; r++) {
    const row = ks.map((k) => rng.nextInt(k));
    x.push(row);
    y.push(row[0]! * 2 - row[1]! + row[0]! * row[2]! * 3 + rng.next());
  }
  const forest = RandomForest.fit(x, y, ks, { trees: 10, maxFeatures: 1, seed: 5 });
  const pairs: [number, number][] = [[0, 1], [0, 2], [1, 2]];
  let varying = 0;
  for (const tree of forest.trees) {
    const leaves = tree.leaves();
    const dec = decompose(leaves, ks, pairs);
    const brute = bruteForce((row) => tree.predict(row), ks);
    t.true(Math.abs(dec.mean - brute.mean) < 1e-9);
    t.true(Math.abs(dec.variance - brute.variance) < 1e-9);
    if (brute.variance === 0) continue;
    varying++;
    ks.forEach((_, j) => t.true(Math.abs(dec.main[j]! - brute.main[j]! / brute.variance) < 1e-9));
    pairs.forEach(([i, j], p) => t.true(Math.abs(dec.pairs[p]!.fraction - brute.pair(i, j) / brute.variance) < 1e-9));
    const m1 = brute.marginal([1]);
    dec.marginals[1]!.forEach((m, cat) => t.true(Math.abs(m - m1[cat]!) < 1e-9));
    // The boxes partition the space: volumes add up to 1.
    const volume = leaves.reduce((s, l) => s + l.sets.reduce((v, set, j) => v * (set === null ? 1 : set.length / ks[j]!), 1), 0);
    t.true(Math.abs(volume - 1) < 1e-12);
  }
  t.true(varying >= 8);
});

test('spread: mean, sample std and percentile interval', (t) => {
  const s = spread([1, 2, 3, 4, 5], 0.5);
  t.deepEqual(s, { mean: 3, std: Math.sqrt(2.5), low: 2, high: 4 });
});

test('decomposeTable names what is wrong with a table that is not the full grid', (t) => {
  t.throws(() => decomposeTable(grid.slice(1), grid.slice(1).map(() => 0), [3, 4]), {
    instanceOf: RangeError,
    message: 'Expected one row per point of the product space (12 rows) for x but received an array of length 11',
  });
  const twice = [...grid.slice(1), [0, 1]];
  t.throws(() => decomposeTable(twice, twice.map(() => 0), [3, 4]), {
    instanceOf: RangeError,
    message: 'Expected a point of the space not listed before (each point exactly once) for x[11] but received an array of length 2',
  });
});
