/**
 * Reinforce: the shared strategy suite, what the policy learns, dedupe under a collapsed policy,
 * variable-length spaces, options, the toy space and NAS-Bench-201.
 */
import test from 'ava';
import { getTabularBenchmark } from '../../lib/evaluators/tabular.js';
import { createMlpSpace, type MlpSpaceArch } from '../../lib/space/mlp-space.js';
import { createNb201Space } from '../../lib/space/nb201-space.js';
import { Reinforce } from '../../lib/strategies/reinforce.js';
import { createStrategy } from '../../lib/strategies/registry.js';
import { runBenchmark } from '../../lib/study/benchmark.js';
import { Study } from '../../lib/study/study.js';
import { toyEvaluator, toyScore, toySpace, type Toy } from './toy-space.js';

const target = [3, 1, 2, 0, 3];

interface PolicyState {
  logits: number[][];
  baseline: number | null;
  rng: number;
}
const argmax = (xs: readonly number[]) => xs.indexOf(Math.max(...xs));

/** Asks and tells `rounds` batches of `n`, scoring with `score`; returns what was asked. */
function drive<A>(s: Reinforce<A>, space: { hash(a: A): string }, rounds: number, n: number, score: (a: A) => number | null): A[] {
  const out: A[] = [];
  for (let r = 0; r < rounds; r++) {
    const batch = s.ask(n);
    s.tell(batch.map((arch) => ({ arch, hash: space.hash(arch), score: score(arch) })));
    out.push(...batch);
  }
  return out;
}

test('reinforce: the policy learns the optimum of the toy space', (t) => {
  const space = toySpace();
  const s = new Reinforce<Toy>({ space, seed: 3 });
  const before = s.stateDict() as PolicyState;
  t.deepEqual(before.logits, [], 'no parameters before the first draw: the first samples are uniform');
  drive(s, space, 150, 1, (a) => toyScore(a, target));
  const { logits, baseline } = s.stateDict() as PolicyState;
  t.deepEqual(logits.map(argmax), target);
  t.true(baseline !== null && baseline > 0.5);
});

test('reinforce: a collapsed policy still proposes only unseen architectures', async (t) => {
  // A huge step size concentrates the policy at once; every proposal must still be new.
  const evaluator = toyEvaluator(target);
  const study = new Study<Toy>({ space: toySpace(), strategy: 'reinforce', strategyOptions: { lr: 10, entropy: 0 }, evaluator, budget: { evaluations: 300 }, seed: 1 });
  const summary = await study.run();
  t.is(summary.status, 'done');
  t.is(new Set(summary.trials.map((tr) => tr.hash)).size, 300);
  t.is(evaluator.calls, 300);
});

test('reinforce: works on a variable-length space, one logit row per position', (t) => {
  const space = createMlpSpace();
  const s = new Reinforce<MlpSpaceArch>({ space, seed: 0 });
  // Reward depth: the first decision (the number of layers, 6 options) should learn "6".
  const asked = drive(s, space, 120, 2, (a) => a.layers.length);
  for (const a of asked) t.notThrows(() => space.validate(a));
  const { logits } = s.stateDict() as PolicyState;
  t.is(logits[0]!.length, 6);
  t.is(logits.length, 1 + 6 * 5, 'the count, then 5 decisions for each of up to 6 layers');
  t.is(argmax(logits[0]!), 5);
  const depth = (xs: MlpSpaceArch[]) => xs.reduce((sum, a) => sum + a.layers.length, 0) / xs.length;
  t.true(depth(asked.slice(-40)) > depth(asked.slice(0, 40)) + 1);
});

test('reinforce: failed evaluations are rewarded as the worst score, never as NaN', (t) => {
  const space = toySpace();
  const s = new Reinforce<Toy>({ space, seed: 5 });
  // The first result fails before anything is scored: it is skipped.
  drive(s, space, 1, 1, () => null);
  drive(s, space, 60, 1, (a) => (a[0] === 0 ? null : toyScore(a, target)));
  const { logits } = s.stateDict() as PolicyState;
  t.true(logits.flat().every(Number.isFinite));
  t.true(logits[0]![0]! < Math.max(...logits[0]!), 'the option that fails is not preferred');
});

test('reinforce: the state dict holds the policy, the baseline and the generator', (t) => {
  const space = toySpace();
  const a = new Reinforce<Toy>({ space, seed: 8 }, { batch: 3 });
  drive(a, space, 7, 2, (x) => toyScore(x, target)); // 14 samples: 2 left in the buffer
  const saved = JSON.parse(JSON.stringify(a.stateDict())) as PolicyState & { buffer: unknown[] };
  t.is(saved.buffer.length, 2);
  t.true(saved.logits.flat().some((v) => v !== 0));
  const b = new Reinforce<Toy>({ space, seed: 1234 }, { batch: 3 });
  b.loadStateDict(saved);
  t.deepEqual(b.stateDict(), a.stateDict());
  const next = (s: Reinforce<Toy>) => drive(s, space, 10, 3, (x) => toyScore(x, target)).map((x) => space.hash(x));
  t.deepEqual(next(b), next(a));
});

test('reinforce: a space of one architecture is exhausted after it', async (t) => {
  const study = new Study<Toy>({ space: toySpace(1, 1), strategy: 'reinforce', evaluator: toyEvaluator([0]), budget: { evaluations: 10 }, seed: 0 });
  const summary = await study.run();
  t.is(summary.trials.length, 1);
  t.is(summary.status, 'exhausted');
});

test('reinforce: bad options name the option and the rule', (t) => {
  const context = { space: toySpace(), seed: 0 };
  t.throws(() => createStrategy('reinforce', context, { learningRate: 0.1 }), {
    instanceOf: RangeError,
    message: 'Unknown option "learningRate" for strategy reinforce; known options are lr, batch, baselineDecay, entropy, maxTries',
  });
  t.throws(() => createStrategy('reinforce', context, { lr: -1 }), {
    instanceOf: RangeError,
    message: 'Expected a number between 0 and 10 for reinforce.lr but received -1 of type number',
  });
  t.throws(() => createStrategy('reinforce', context, { batch: 1.5 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and 1000000 for reinforce.batch but received 1.5 of type number',
  });
  t.throws(() => createStrategy('reinforce', context, { baselineDecay: '0.9' }), {
    instanceOf: TypeError,
    message: 'Expected a number between 0 and 1 for reinforce.baselineDecay but received "0.9" of type string',
  });
});

test('reinforce finds the optimum of the toy space far faster than enumerating it', async (t) => {
  // 4^5 = 1024 architectures: enumeration needs 512 evaluations on average.
  for (const parallel of [1, 4]) {
    const found: number[] = [];
    for (let seed = 0; seed < 10; seed++) {
      const study = new Study<Toy>({ space: toySpace(), strategy: 'reinforce', evaluator: toyEvaluator(target), budget: { evaluations: 400 }, parallel, seed });
      const summary = await study.run();
      const at = summary.trials.findIndex((tr) => tr.hash === target.join(','));
      found.push(at < 0 ? 400 : at + 1);
    }
    const mean = found.reduce((a, b) => a + b, 0) / found.length;
    t.true(mean < 100, `parallel ${parallel}: mean evaluations to the optimum: ${mean} (${found.join(', ')})`);
  }
});

test('reinforce beats random search on NAS-Bench-201 (CIFAR-100, 100 queries)', async (t) => {
  const evaluator = await getTabularBenchmark('nb201/cifar100');
  const result = await runBenchmark({ evaluator, space: createNb201Space(), strategies: ['random', 'reinforce'], seeds: 30, budget: 100 });
  const [random, reinforce] = result.results;
  t.true(reinforce!.validMean > random!.validMean + 0.5, `valid: reinforce ${reinforce!.validMean}, random ${random!.validMean}`);
  t.true(reinforce!.testMean > random!.testMean, `test: reinforce ${reinforce!.testMean}, random ${random!.testMean}`);
});
