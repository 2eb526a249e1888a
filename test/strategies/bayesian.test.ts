/**
 * Bayesian optimisation: the shared strategy suite (for each acquisition function), the GP maths
 * against hand-computed values, search quality on the toy space, batches with results outstanding,
 * option errors, and the time one proposal takes after 150 NB201 evaluations (printed, not asserted).
 */
import test from 'ava';
import { getTabularBenchmark } from '../../lib/evaluators/tabular.js';
import { createNb201Space, type Nb201Arch } from '../../lib/space/nb201-space.js';
import { BayesianOptimization } from '../../lib/strategies/bayesian.js';
import {
  cholesky,
  choleskySolve,
  correlation,
  expectedImprovement,
  fitGp,
  normalCdf,
  normalPdf,
  normalQuantile,
  predict,
} from '../../lib/strategies/gp.js';
import { createStrategy, registerStrategy } from '../../lib/strategies/registry.js';
import type { Strategy } from '../../lib/strategies/strategy.js';
import { Study } from '../../lib/study/study.js';
import { strategySuite } from './suite.js';
import { toyEvaluator, toyScore, toySpace, type Toy } from './toy-space.js';

// "bo" (expected improvement) is registered centrally, so suite.test.ts checks it; the other two
// acquisition functions go through the same checks here.
registerStrategy('bo-ucb', (c, o) => new BayesianOptimization(c, { ...o, acquisition: 'ucb' }));
registerStrategy('bo-thompson', (c, o) => new BayesianOptimization(c, { ...o, acquisition: 'thompson' }));
strategySuite('bo-ucb');
strategySuite('bo-thompson');

const target = [3, 1, 2, 0, 3];
const close = (actual: number, expected: number, tolerance = 1e-9) => Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));

test('cholesky factors a positive-definite matrix and solves with it', (t) => {
  const a = Float64Array.from([4, 12, -16, 12, 37, -43, -16, -43, 98]);
  const l = cholesky(a, 3)!;
  t.deepEqual([...l], [2, 0, 0, 6, 1, 0, -8, 5, 3]);
  // A·[1, 2, 3] = [-20, -43, 192]
  const x = choleskySolve(l, 3, [-20, -43, 192]);
  [1, 2, 3].forEach((v, i) => t.true(close(x[i]!, v), `x[${i}] = ${x[i]}`));
  t.is(cholesky(Float64Array.from([1, 2, 2, 1]), 2), undefined);
});

test('the GP posterior matches the closed form on two points', (t) => {
  // Two observations one decision apart with targets 1 and −1, exponential kernel, ℓ = 1, no noise:
  // C = [[1, e⁻¹], [e⁻¹, 1]]. At a point 1 from the first and 2 from the second, k = [e⁻¹, e⁻²], and
  // by hand: mean = e⁻¹, s² = yᵀC⁻¹y/2 = 1/(1 − e⁻¹), variance = s²·(1 − kᵀC⁻¹k) = (1 − e⁻²)/(1 − e⁻¹),
  // log likelihood = log(1 − e⁻¹) − ½·log(1 − e⁻²) − 1 − log 2π.
  const e1 = Math.exp(-1);
  const e2 = Math.exp(-2);
  t.true(close(correlation('exponential', 1, 1), e1));
  const gp = fitGp(Float64Array.from([1, e1, e1, 1]), [1, -1], 2, 0)!;
  t.true(close(gp.signalVariance, 1 / (1 - e1)));
  t.true(close(gp.logLikelihood, Math.log(1 - e1) - 0.5 * Math.log(1 - e2) - 1 - Math.log(2 * Math.PI)));
  const { mean, variance } = predict(gp, [e1, e2]);
  t.true(close(mean, e1), `mean ${mean}`);
  t.true(close(variance, (1 - e2) / (1 - e1)), `variance ${variance}`);
  // At a training point without noise the posterior is the observation, with no variance left.
  const at = predict(gp, [1, e1]);
  t.true(close(at.mean, 1) && close(at.variance, 0, 1e-12));
});

test('normal distribution helpers and expected improvement', (t) => {
  t.true(close(normalPdf(0), 1 / Math.sqrt(2 * Math.PI)));
  t.true(close(normalCdf(0), 0.5, 1e-7));
  t.true(close(normalCdf(1.959963985), 0.975, 1e-7));
  t.true(close(normalCdf(-8), 6.22096057427178e-16, 1e-6), 'relative accuracy holds in the tail');
  t.true(close(normalQuantile(0.975), 1.959963985, 1e-7));
  // EI at the incumbent is sd·φ(0); with no uncertainty it is the plain improvement.
  t.true(close(expectedImprovement(0, 2, 0), 2 / Math.sqrt(2 * Math.PI)));
  t.is(expectedImprovement(3, 0, 1), 2);
  t.is(expectedImprovement(0, 0, 1), 0);
  // EI(μ, σ, f*) = σ·(zΦ(z) + φ(z)) with z = (μ − f*)/σ; at z = 1: 1·0.8413447 + 0.2419707.
  t.true(close(expectedImprovement(1, 1, 0), 0.8413447461 + 0.2419707245, 1e-7));
  // Far below the incumbent it stays positive and decreasing (no cancellation to zero or below).
  let previous = Infinity;
  for (let z = -10; z >= -35; z -= 1) {
    const ei = expectedImprovement(z, 1, 0);
    t.true(ei > 0 && ei < previous, `EI at z=${z}: ${ei}`);
    previous = ei;
  }
});

test('bo finds the optimum of the toy space far faster than enumerating it', async (t) => {
  // 4^5 = 1024 architectures; the mean over seeds of evaluations to reach the optimum must be far below.
  const found: number[] = [];
  for (let seed = 0; seed < 10; seed++) {
    const study = new Study<Toy>({ space: toySpace(), strategy: 'bo', evaluator: toyEvaluator(target), budget: { evaluations: 200 }, seed });
    const summary = await study.run();
    const at = summary.trials.findIndex((tr) => tr.hash === target.join(','));
    found.push(at < 0 ? 200 : at + 1);
  }
  const mean = found.reduce((a, b) => a + b, 0) / found.length;
  t.log(`mean evaluations to the optimum: ${mean} (${found.join(', ')})`);
  t.true(mean < 40, `mean evaluations to the optimum: ${mean} (${found.join(', ')})`);
});

test('bo also searches well on standardised scores instead of ranks', async (t) => {
  const study = new Study<Toy>({
    space: toySpace(),
    strategy: 'bo',
    strategyOptions: { targets: 'standardize' },
    evaluator: toyEvaluator(target),
    budget: { evaluations: 200 },
    seed: 0,
  });
  const summary = await study.run();
  const at = summary.trials.findIndex((tr) => tr.hash === target.join(','));
  t.true(at >= 0 && at < 60, `evaluations to the optimum: ${at + 1}`);
});

/** Results for `archs` by toyScore, with every third one failed when `failSome`. */
function results(space: ReturnType<typeof toySpace>, archs: Toy[], failSome = false) {
  return archs.map((arch, i) => ({ arch, hash: space.hash(arch), score: failSome && i % 3 === 0 ? null : toyScore(arch, target) }));
}

for (const acquisition of ['ei', 'ucb', 'thompson'] as const) {
  test(`bo (${acquisition}): batches asked while results are outstanding never repeat, and failures are tolerated`, (t) => {
    const space = toySpace();
    const bo = new BayesianOptimization({ space, seed: 5 }, { acquisition, initialSamples: 6 });
    const outstanding: Toy[] = [];
    const all = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const asked = bo.ask(4);
      t.is(asked.length, 4);
      for (const a of asked) {
        t.notThrows(() => space.validate(a));
        all.add(space.hash(a));
      }
      outstanding.push(...asked);
      // Results come back late and out of order: the older half of what is outstanding.
      const back = outstanding.splice(0, Math.ceil(outstanding.length / 2)).reverse();
      bo.tell(results(space, back, true));
    }
    t.is(all.size, 48);
  });
}

test('bo resumes the identical sequence from a state dict taken with results outstanding', (t) => {
  const space = toySpace();
  const a = new BayesianOptimization({ space, seed: 21 }, { initialSamples: 5 });
  a.tell(results(space, a.ask(8)));
  const outstanding = a.ask(3);
  a.tell(results(space, outstanding.slice(0, 1)));
  const saved = JSON.parse(JSON.stringify(a.stateDict()));
  const b = new BayesianOptimization({ space, seed: 0 }, { initialSamples: 5 });
  b.loadStateDict(saved);
  const continued: string[][] = [];
  for (const s of [a, b]) {
    const seq: string[] = [];
    s.tell(results(space, outstanding.slice(1)));
    for (let round = 0; round < 5; round++) {
      const asked = s.ask(2);
      s.tell(results(space, asked));
      seq.push(...asked.map((x) => space.hash(x)));
    }
    continued.push(seq);
  }
  t.deepEqual(continued[1], continued[0]);
});

test('bo rejects bad options with messages naming them', (t) => {
  const context = { space: toySpace(), seed: 0 };
  t.throws(() => createStrategy('bo', context, { initialSample: 4 }), {
    instanceOf: RangeError,
    message:
      'Unknown option "initialSample" for strategy bo; known options are acquisition, kernel, targets, initialSamples, poolParents, poolNeighbours, poolMutations, poolRandom, refitEvery, ucbBeta, maxTries',
  });
  t.throws(() => createStrategy('bo', context, { acquisition: 'pi' }), {
    instanceOf: RangeError,
    message: 'Expected one of "ei", "ucb", "thompson" for bo.acquisition but received "pi" of type string',
  });
  t.throws(() => createStrategy('bo', context, { targets: 'ranks' }), {
    instanceOf: RangeError,
    message: 'Expected one of "rank", "standardize" for bo.targets but received "ranks" of type string',
  });
  t.throws(() => createStrategy('bo', context, { kernel: 3 }), {
    instanceOf: TypeError,
    message: 'Expected one of "exponential", "matern52", "squared-exponential" for bo.kernel but received 3 of type number',
  });
  t.throws(() => createStrategy('bo', context, { poolRandom: 2.5 }), { instanceOf: RangeError, message: /bo\.poolRandom/ });
  t.throws(() => createStrategy('bo', context, { initialSamples: 0 }), { instanceOf: RangeError, message: /bo\.initialSamples/ });
  t.throws(() => new BayesianOptimization(context).loadStateDict(42), {
    instanceOf: TypeError,
    message: 'Expected a state dict of strategy bo for state but received 42 of type number',
  });
});

test.serial('time to propose one NB201 architecture after 150 evaluations (printed)', async (t) => {
  const space = createNb201Space();
  const bench = await getTabularBenchmark('nb201/cifar10');
  const bo: Strategy<Nb201Arch> = new BayesianOptimization({ space, seed: 1 });
  for (let q = 0; q < 150; q++) {
    const asked = bo.ask(1);
    const [r] = await bench.evaluate(asked, {});
    bo.tell([{ arch: asked[0]!, hash: space.hash(asked[0]!), score: r!.metrics.score ?? null }]);
  }
  const started = performance.now();
  const next = bo.ask(1);
  const ms = performance.now() - started;
  t.is(next.length, 1);
  t.log(`one proposal after 150 evaluations: ${ms.toFixed(1)} ms`);
});

test('under a scheduler, a promoted architecture\'s result at more epochs replaces its earlier one', (t) => {
  const space = toySpace();
  const bo = new BayesianOptimization<Toy>({ space, seed: 1 });
  const [a, b] = bo.ask(2);
  bo.tell([
    { arch: a!, hash: space.hash(a!), score: 0.2, epochs: 1 },
    { arch: b!, hash: space.hash(b!), score: 0.4, epochs: 1 },
  ]);
  bo.tell([{ arch: a!, hash: space.hash(a!), score: 0.9, epochs: 3 }]);
  bo.tell([{ arch: a!, hash: space.hash(a!), score: 0.1, epochs: 2 }]); // older news: ignored
  const state = bo.stateDict() as { observations: { hash: string; score: number }[]; epochs: (number | null)[] };
  t.deepEqual(state.observations.map((o) => o.score), [0.9, 0.4]);
  t.deepEqual(state.epochs, [3, 1]);
  const copy = new BayesianOptimization<Toy>({ space, seed: 1 });
  copy.loadStateDict(state);
  t.deepEqual(copy.stateDict(), state);
});
