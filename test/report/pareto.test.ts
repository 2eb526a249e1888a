import test from 'ava';
import { chebyshev, crowdingDistance, dominates, hypervolume, nonDominatedSort, parseObjectives } from '../../lib/report/pareto.js';
import { createRng } from '../../lib/util/rng.js';

/** The dominated volume counted cell by cell on an integer grid (points with integer gains). */
function gridVolume(points: number[][], reference: number[], top: number): number {
  const m = reference.length;
  let count = 0;
  const cell = new Array<number>(m).fill(0);
  const walk = (k: number) => {
    if (k === m) {
      // The unit cell [c, c+1) is dominated when some point is ≥ c+1 in every objective.
      if (points.some((p) => p.every((v, j) => v >= cell[j]! + 1))) count++;
      return;
    }
    for (let c = reference[k]!; c < top; c++) {
      cell[k] = c;
      walk(k + 1);
    }
  };
  walk(0);
  return count;
}

test('hypervolume is exact in two and three objectives (against counting grid cells)', (t) => {
  t.is(hypervolume([[3, 1], [1, 3], [2, 2]], [0, 0]), 3 + 2 + 1);
  t.is(hypervolume([[3, 1], [0, 5]], [0, 0]), 3, 'a point not above the reference adds nothing');
  t.is(hypervolume([], [0, 0]), 0);
  const rng = createRng(7);
  for (const m of [2, 3, 4]) {
    for (let trial = 0; trial < 20; trial++) {
      const points = Array.from({ length: 1 + rng.nextInt(8) }, () => Array.from({ length: m }, () => rng.nextInt(7)));
      const reference = new Array<number>(m).fill(0);
      t.is(hypervolume(points, reference), gridVolume(points, reference, 7), JSON.stringify(points));
    }
  }
});

test('non-dominated sorting finds the fronts; crowding favours the ends and the sparse', (t) => {
  const points = [[1, 5], [2, 4], [3, 3], [2, 2], [1, 1], [5, 1], [0, 0]];
  t.true(dominates([2, 2], [1, 1]));
  t.false(dominates([2, 2], [2, 2]));
  t.false(dominates([1, 5], [5, 1]));
  t.deepEqual(nonDominatedSort(points), [[0, 1, 2, 5], [3], [4], [6]]);
  const d = crowdingDistance(points, [0, 1, 2, 5]);
  t.is(d.get(0), Infinity);
  t.is(d.get(5), Infinity);
  t.true(d.get(2)! > d.get(1)!, 'the point with more room around it is more crowded-distant');
});

test('the Chebyshev scalarisation ranks a Pareto point first for the weights aimed at it', (t) => {
  const gains = [[1, 0], [0.6, 0.6], [0, 1], [0.4, 0.4]];
  const best = (w: number[]) => gains.map((g, i) => ({ i, s: chebyshev(g, w) })).sort((a, b) => b.s - a.s)[0]!.i;
  t.is(best([0.9, 0.1]), 0);
  t.is(best([0.5, 0.5]), 1);
  t.is(best([0.1, 0.9]), 2);
});

test('objectives parse with directions and clear errors', (t) => {
  t.deepEqual(parseObjectives('accuracy:max,latency:min'), [{ name: 'accuracy', direction: 'max' }, { name: 'latency', direction: 'min' }]);
  t.deepEqual(parseObjectives('accuracy,params'), [{ name: 'accuracy', direction: 'max' }, { name: 'params', direction: 'min' }]);
  t.throws(() => parseObjectives('accuracy:up,params'), { message: 'Expected "max" or "min" for objectives (accuracy) but received "up" of type string' });
  t.throws(() => parseObjectives('accuracy'), { message: /at least two objectives/ });
  t.throws(() => parseObjectives('accuracy,score'), { message: /each objective once/ });
  t.throws(() => parseObjectives(''), { instanceOf: TypeError });
});
