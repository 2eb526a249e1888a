/**
 * The shared strategy checks: determinism under a seed, reseeding, ask/tell round trips, validity,
 * budget, dedupe, resuming from a state dict and exhausting a small space. suite.test.ts runs them
 * for every registered strategy; a test file may run them for variants it registers itself.
 */
import test from 'ava';
import { Study } from '../../lib/study/study.js';
import { createStrategy } from '../../lib/strategies/registry.js';
import type { SearchSpace } from '../../lib/space/space.js';
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

/** Runs ask/tell by hand for `steps` rounds of `n`, scoring with toyScore; returns the hashes asked. */
export function drive(strategy: Strategy<Toy>, steps: number, n: number, space: SearchSpace<Toy> = toySpace()): string[] {
  const out: string[] = [];
  for (let s = 0; s < steps; s++) {
    const asked = strategy.ask(n);
    strategy.tell(asked.map((arch) => ({ arch, hash: space.hash(arch), score: toyScore(arch, target) })));
    out.push(...asked.map((a) => space.hash(a)));
  }
  return out;
}

/** The shared checks, for one registered strategy name. */
export function strategySuite(name: string): void {
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

