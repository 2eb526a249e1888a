/**
 * One suite for every registered strategy: determinism under a seed, reseeding, ask/tell round trips,
 * validity, budget, dedupe and resuming from a state dict.
 */
import test from 'ava';
import { Study } from '../../lib/study/study.js';
import { createStrategy, strategyNames } from '../../lib/strategies/registry.js';
import type { Strategy } from '../../lib/strategies/strategy.js';
import { toyEvaluator, toyScore, toySpace, type Toy } from './toy-space.js';

const target = [3, 1, 2, 0, 3];

async function sequence(name: string, seed: number, budget = 30, parallel = 1) {
  const study = new Study<Toy>({
    space: toySpace(),
    strategy: name,
    evaluator: toyEvaluator(target),
    budget: { evaluations: budget },
    parallel,
    seed,
  });
  const summary = await study.run();
  return summary.trials.map((t) => t.hash);
}

/** Runs ask/tell by hand for `steps` rounds of `n`, scoring with toyScore. */
function drive(strategy: Strategy<Toy>, steps: number, n: number): string[] {
  const space = toySpace();
  const out: string[] = [];
  for (let s = 0; s < steps; s++) {
    const asked = strategy.ask(n);
    strategy.tell(asked.map((arch) => ({ arch, hash: space.hash(arch), score: toyScore(arch, target) })));
    out.push(...asked.map((a) => space.hash(a)));
  }
  return out;
}

for (const name of strategyNames()) {
  test(`${name}: the same seed gives the same sequence`, async (t) => {
    t.deepEqual(await sequence(name, 7), await sequence(name, 7));
  });

  test(`${name}: a different seed gives a different sequence`, async (t) => {
    t.notDeepEqual(await sequence(name, 7), await sequence(name, 8));
  });

  test(`${name}: ask/tell round trip returns at most n valid architectures`, (t) => {
    const space = toySpace();
    const strategy = createStrategy(name, { space, seed: 1 });
    for (let round = 0; round < 10; round++) {
      const asked = strategy.ask(3);
      t.true(asked.length <= 3 && asked.length > 0);
      for (const a of asked) t.notThrows(() => space.validate(a));
      strategy.tell(asked.map((arch) => ({ arch, hash: space.hash(arch), score: toyScore(arch, target) })));
    }
  });

  test(`${name}: the budget is respected and nothing is evaluated twice`, async (t) => {
    for (const parallel of [1, 4]) {
      const evaluator = toyEvaluator(target);
      const study = new Study<Toy>({ space: toySpace(), strategy: name, evaluator, budget: { evaluations: 57 }, parallel, seed: 3 });
      const summary = await study.run();
      t.is(summary.trials.length, 57);
      t.is(evaluator.calls, 57);
      t.is(new Set(summary.trials.map((tr) => tr.hash)).size, 57);
      t.is(summary.status, 'done');
    }
  });

  test(`${name}: stateDict then loadStateDict resumes the identical sequence`, (t) => {
    const space = toySpace();
    const a = createStrategy(name, { space, seed: 11 });
    drive(a, 8, 2);
    const saved = JSON.parse(JSON.stringify(a.stateDict()));
    const continued = drive(a, 8, 2);
    const b = createStrategy(name, { space, seed: 999 });
    b.loadStateDict(saved);
    t.deepEqual(drive(b, 8, 2), continued);
  });

  test(`${name}: a small space is exhausted without repeats`, async (t) => {
    const study = new Study<Toy>({ space: toySpace(2, 3), strategy: name, evaluator: toyEvaluator([0, 0]), budget: { evaluations: 50 }, seed: 1 });
    const summary = await study.run();
    t.is(summary.trials.length, 9);
    t.is(summary.status, 'exhausted');
  });
}

test('unknown strategy names list the valid ones', (t) => {
  t.throws(() => createStrategy('annealing', { space: toySpace(), seed: 0 }), {
    instanceOf: RangeError,
    message: `Expected one of ${strategyNames().map((n) => `"${n}"`).join(', ')} for strategy but received "annealing" of type string`,
  });
});

test('evolution rejects a tournament larger than its population', (t) => {
  t.throws(() => createStrategy('evolution', { space: toySpace(), seed: 0 }, { population: 4, sampleSize: 5 }), {
    instanceOf: RangeError,
    message: '`sampleSize <= population` must hold for strategy evolution, but got (sampleSize=5, population=4)',
  });
  t.throws(() => createStrategy('evolution', { space: toySpace(), seed: 0 }, { populaton: 4 }), {
    instanceOf: RangeError,
    message: 'Unknown option "populaton" for strategy evolution; known options are population, sampleSize, maxTries',
  });
});

test('evolution finds the optimum of the toy space faster than enumerating it', async (t) => {
  // 4^5 = 1024 architectures; the mean over seeds of evaluations to reach the optimum must be far below.
  const found: number[] = [];
  for (let seed = 0; seed < 10; seed++) {
    const study = new Study<Toy>({ space: toySpace(), strategy: 'evolution', evaluator: toyEvaluator(target), budget: { evaluations: 400 }, seed });
    const summary = await study.run();
    const at = summary.trials.findIndex((tr) => tr.hash === target.join(','));
    found.push(at < 0 ? 400 : at + 1);
  }
  const mean = found.reduce((a, b) => a + b, 0) / found.length;
  t.true(mean < 200, `mean evaluations to the optimum: ${mean} (${found.join(', ')})`);
});
