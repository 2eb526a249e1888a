import test from 'ava';
import { loadDataset } from '../../lib/data/load.js';
import { WeightStore } from '../../lib/estimation/weight-store.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';
import { getSpace } from '../../lib/space/index.js';
import { Study, type StudySummary } from '../../lib/study/study.js';

async function search(strategy: string, options: { inherit?: boolean | { maxBytes?: number; topK?: number }; strategyOptions?: Record<string, unknown> } = {}): Promise<StudySummary<unknown>> {
  const data = await loadDataset('digits');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const space = getSpace('mlp') as any;
  const evaluator = new NativeEvaluator<unknown>({ dataset: data, build: (a) => space.build(a, data), train: { epochs: 1, lr: 0.01, seed: 0 } });
  return new Study<unknown>({ space, strategy, evaluator, budget: { evaluations: 16 }, parallel: 4, fidelity: { epochs: 1 }, seed: 3, inherit: options.inherit ?? true, ...(options.strategyOptions ? { strategyOptions: options.strategyOptions } : {}) }).run();
}

test('evolution with inherit: each child starts from its tournament winner\'s weights; the random population from none', async (t) => {
  const s = await search('evolution', { strategyOptions: { population: 8, sampleSize: 3 } });
  t.is(s.trials.length, 16);
  for (const trial of s.trials.slice(0, 8)) t.is(trial.parent, undefined);
  const children = s.trials.slice(8);
  t.true(children.every((c) => c.parent !== undefined && c.parent < c.index), JSON.stringify(children.map((c) => c.parent)));
  // The parent is an evaluated member with a score, and the child records how it inherited.
  for (const c of children) {
    const p = s.trials[c.parent!]!;
    t.not(p.score, null);
    t.truthy(c.inheritance);
  }
  t.true(children.some((c) => c.inheritance!.functionPreserving), 'some mutation (a wider layer, a larger kernel...) preserves the function');
});

test('random search inherits nothing; bo inherits from the nearest of the best; the store evicts the worst first', async (t) => {
  const random = await search('random');
  t.true(random.trials.every((x) => x.parent === undefined));
  const bo = await search('bo', { inherit: { topK: 3 }, strategyOptions: { initialSamples: 8 } });
  const later = bo.trials.filter((x) => x.parent !== undefined);
  t.true(later.length >= 4, `${later.length} trials with a parent`);
  for (const c of later) t.true(c.parent! < c.index);

  const store = new WeightStore({ maxBytes: 1000 });
  const w = (n: number) => ({ params: [{ data: new Float32Array(n) }] });
  t.true(store.put('a', w(100), 0.5)); // 400 bytes
  t.true(store.put('b', w(100), 0.9));
  t.true(store.put('c', w(100), 0.7)); // evicts a (the worst)
  t.false(store.has('a'));
  t.deepEqual([store.has('b'), store.has('c'), store.bytes], [true, true, 800]);
  t.false(store.put('d', w(100), 0.1)); // worse than everything kept: not kept
  t.false(store.put('huge', w(1000), 1)); // larger than the store
  t.is(store.evicted, 3);
});

test('inherit is refused under a scheduler, and a bad inherit option names itself', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const space = getSpace('mlp') as any;
  const evaluator = new NativeEvaluator<unknown>({ dataset: 'digits', build: (a) => a as never });
  t.throws(() => new Study<unknown>({ space, strategy: 'random', evaluator, budget: { evaluations: 2 }, scheduler: 'asha', schedulerOptions: { maxEpochs: 9 }, inherit: true }), {
    instanceOf: RangeError,
    message: /options\.inherit to be false under a scheduler/,
  });
  t.throws(() => new Study<unknown>({ space, strategy: 'random', evaluator, budget: { evaluations: 2 }, inherit: { topK: 0 } }), {
    message: 'Expected an integer between 1 and 4096 for options.inherit.topK but received 0 of type number',
  });
});
