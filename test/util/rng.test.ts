import test from 'ava';
import { createRng } from '../../lib/util/rng.js';

const draws = (seed: number, n: number) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.next());
};

test('the same seed gives the same sequence; different seeds differ', (t) => {
  t.deepEqual(draws(42, 20), draws(42, 20));
  t.notDeepEqual(draws(42, 20), draws(43, 20));
  t.notDeepEqual(draws(0, 20), draws(2 ** 32, 20)); // seeds above 32 bits are folded, not truncated
});

test('next() is in [0, 1) and nextInt(n) in [0, n), roughly uniform', (t) => {
  const rng = createRng(1);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = rng.next();
    t.true(x >= 0 && x < 1);
    counts[rng.nextInt(10)]++;
  }
  for (const count of counts) t.true(Math.abs(count - 10_000) < 500, `${count}`);
});

test('shuffle is an in-place permutation, deterministic under the seed', (t) => {
  const a = createRng(5).shuffle(Int32Array.from({ length: 100 }, (_, i) => i));
  const b = createRng(5).shuffle(Array.from({ length: 100 }, (_, i) => i));
  t.deepEqual([...a], b);
  t.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  t.notDeepEqual(b, Array.from({ length: 100 }, (_, i) => i));
});

test('getState/setState resume the exact sequence', (t) => {
  const rng = createRng(9);
  rng.next();
  const state = rng.getState();
  const expected = [rng.next(), rng.nextInt(1000)];
  const resumed = createRng(0);
  resumed.setState(state);
  t.deepEqual([resumed.next(), resumed.nextInt(1000)], expected);
});

test('bad arguments name the argument', (t) => {
  t.throws(() => createRng(1.5), {
    instanceOf: RangeError,
    message: 'Expected an integer >= 0 for seed but received 1.5 of type number',
  });
  t.throws(() => createRng(0).nextInt(0), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and 4294967296 for n but received 0 of type number',
  });
});
