import test from 'ava';
import { RandomForest } from '../../lib/report/forest.js';
import { createRng } from '../../lib/util/rng.js';

const ks = [5, 4, 3, 6];
/** A known function with main effects and one interaction. */
const truth = (r: readonly number[]) => [0, 3, 1, -2, 4][r[0]!]! + 1.5 * r[1]! + (r[2] === 2 && r[3]! >= 3 ? 5 : 0);

function sample(n: number, seed: number, noise: number) {
  const rng = createRng(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = ks.map((k) => rng.nextInt(k));
    x.push(row);
    y.push(truth(row) + noise * (rng.next() - 0.5));
  }
  return { x, y };
}

test('the same data, options and seed give the same forest; another seed another', (t) => {
  const { x, y } = sample(120, 1, 1);
  const one = RandomForest.fit(x, y, ks, { trees: 16, maxFeatures: 2, seed: 7 });
  const two = RandomForest.fit(x, y, ks, { trees: 16, maxFeatures: 2, seed: 7 });
  const other = RandomForest.fit(x, y, ks, { trees: 16, maxFeatures: 2, seed: 8 });
  const probe = sample(50, 2, 0).x;
  t.deepEqual(probe.map((r) => one.predict(r)), probe.map((r) => two.predict(r)));
  t.notDeepEqual(probe.map((r) => one.predict(r)), probe.map((r) => other.predict(r)));
  t.deepEqual(Array.from(one.trees[3]!.feature), Array.from(two.trees[3]!.feature));
});

test('it fits a known function: R² above 0.9 on held-out points', (t) => {
  const train = sample(400, 3, 1);
  const held = sample(300, 4, 0);
  const forest = RandomForest.fit(train.x, train.y, ks, { trees: 48, seed: 0 });
  const mean = held.y.reduce((s, v) => s + v, 0) / held.y.length;
  let ssRes = 0;
  let ssTot = 0;
  held.x.forEach((r, i) => {
    ssRes += (forest.predict(r) - held.y[i]!) ** 2;
    ssTot += (held.y[i]! - mean) ** 2;
  });
  const r2 = 1 - ssRes / ssTot;
  t.true(r2 > 0.9, `R² ${r2}`);
});

test('min samples per leaf and max depth bound the trees', (t) => {
  const { x, y } = sample(200, 5, 1);
  const shallow = RandomForest.fit(x, y, ks, { trees: 4, maxDepth: 2, seed: 0 });
  for (const tree of shallow.trees) t.true(tree.nodeCount <= 7);
  const coarse = RandomForest.fit(x, y, ks, { trees: 4, minSamplesLeaf: 20, seed: 0 });
  for (const tree of coarse.trees) {
    for (let n = 0; n < tree.nodeCount; n++) if (tree.feature[n]! < 0) t.true(tree.samples[n]! >= 20);
  }
  const stump = RandomForest.fit(x, y.map(() => 2), ks, { trees: 2 });
  t.is(stump.trees[0]!.nodeCount, 1);
  t.is(stump.predict([0, 0, 0, 0]), 2);
});

test('bad input is named', (t) => {
  t.throws(() => RandomForest.fit([[0, 7]], [1], [2, 4]), { instanceOf: RangeError, message: 'Expected an integer between 0 and 3 for x[0][1] but received 7 of type number' });
  t.throws(() => RandomForest.fit([[0, 1]], [Number.NaN], [2, 4]), { instanceOf: TypeError, message: 'Expected a finite number for y[0] but received NaN of type number' });
  t.throws(() => RandomForest.fit([[0, 1]], [1, 2], [2, 4]), { instanceOf: RangeError, message: 'Expected an array of 1 numbers (one per row of x) for y but received an array of length 2' });
  t.throws(() => RandomForest.fit([[0, 1]], [1], [2, 4], { trees: 0 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 100000 for options.trees but received 0 of type number' });
  t.throws(() => RandomForest.fit([[0, 1]], [1], [2, 4], { maxFeatures: 3 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 2 for options.maxFeatures but received 3 of type number' });
  t.throws(() => RandomForest.fit([[0, 1]], [1], [2, 4], { depth: 3 } as never), { instanceOf: RangeError, message: 'Unknown option "depth" for options; known options are trees, maxFeatures, minSamplesLeaf, minSamplesSplit, maxDepth, bootstrap, seed' });
});
