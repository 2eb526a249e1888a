/**
 * The shared strategy checks: determinism under a seed, reseeding, ask/tell round trips, validity,
 * budget, dedupe, resuming from a state dict and exhausting a small space. suite.test.ts runs them
 * for every registered strategy; a test file may run them for variants it registers itself.
 */
import test from 'ava';
import { Study } from '../../lib/study/study.js';
import { createStrategy } from '../../lib/strategies/registry.js';
import type { SearchSpace } from '../../lib/space/space.js';
import type { Observation, Strategy } from '../../lib/strategies/strategy.js';
import { NasxError, describeValue } from '../../lib/errors.js';
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

  test(`${name}: ask(n) takes an integer from 0 to 4096`, (t) => {
    const strategy = createStrategy(name, { space: toySpace(), seed: 1 });
    t.deepEqual(strategy.ask(0), []);
    for (const n of [-1, NaN, 1.5, Infinity, 2 ** 32, 4097, 1e5]) {
      t.throws(() => strategy.ask(n), { instanceOf: RangeError, message: `Expected an integer between 0 and 4096 for n but received ${n} of type number` });
    }
    t.throws(() => strategy.ask('3' as unknown as number), { instanceOf: TypeError, message: 'Expected an integer between 0 and 4096 for n but received "3" of type string' });
    t.is(strategy.ask(3).length, 3);
  });

  test(`${name}: tell takes an array of observations`, (t) => {
    const space = toySpace();
    const strategy = createStrategy(name, { space, seed: 1 });
    const [arch] = strategy.ask(1);
    const tell = (x: unknown) => () => strategy.tell(x as Observation<Toy>[]);
    t.throws(tell(5), { instanceOf: TypeError, message: 'Expected an array of observations for results but received 5 of type number' });
    t.throws(tell({ arch, hash: space.hash(arch!), score: 1 }), { instanceOf: TypeError, message: 'Expected an array of observations for results but received an object' });
    t.throws(tell([null]), { instanceOf: TypeError, message: 'Expected an object for results[0] but received null' });
    t.throws(tell([{ arch, hash: 7, score: 1 }]), { instanceOf: TypeError, message: 'Expected a string for results[0].hash but received 7 of type number' });
    t.throws(tell([{ arch, hash: space.hash(arch!), score: '1' }]), { instanceOf: TypeError, message: 'Expected a number or null for results[0].score but received "1" of type string' });
    t.throws(tell([{ arch: 'x', hash: 'x', score: 1 }]), { instanceOf: NasxError, message: 'not a toy architecture: "x"' });
    t.notThrows(tell([{ arch, hash: space.hash(arch!), score: null }]));
  });

  test(`${name}: loadStateDict refuses what stateDict did not make, and the strategy goes on as before`, (t) => {
    const space = toySpace();
    const a = createStrategy(name, { space, seed: 5 });
    const b = createStrategy(name, { space, seed: 5 });
    drive(a, 4, 2);
    drive(b, 4, 2);
    const saved = JSON.parse(JSON.stringify(b.stateDict())) as Record<string, unknown>;
    const load = (x: unknown) => () => b.loadStateDict(x);
    // The strategy's own name (a variant registered under another name keeps it).
    for (const garbage of [null, 42, 'state', [saved]]) {
      t.throws(load(garbage), { instanceOf: TypeError, message: `Expected a state dict of strategy ${b.name} for state but received ${describeValue(garbage)}` });
    }
    t.throws(load({ ...saved, rng: () => 1 }), {
      instanceOf: TypeError,
      message: `Expected a state dict of strategy ${b.name} (plain data, as its stateDict() returns) for state but received an object`,
    });
    t.throws(load({ ...saved, seen: 5 }), { instanceOf: TypeError, message: 'Expected an array for state.seen but received 5 of type number' });
    t.throws(load({ ...saved, seen: ['0,0,0,0,0', null] }), { instanceOf: TypeError, message: 'Expected a string for state.seen[1] but received null' });
    t.throws(load({ ...saved, rng: -1 }), { instanceOf: RangeError, message: 'Expected an integer between 0 and 4294967295 for state.rng but received -1 of type number' });
    t.throws(load({ ...saved, extra: 1 }), { instanceOf: RangeError, message: `Unknown field "extra" in state; known fields are ${Object.keys(saved).join(', ')}` });
    t.deepEqual(drive(b, 4, 2), drive(a, 4, 2));
  });

  test(`${name}: the context and options are checked`, (t) => {
    const space = toySpace();
    t.throws(() => createStrategy(name, null as never), { instanceOf: TypeError, message: 'Expected an object for context but received null' });
    t.throws(() => createStrategy(name, { seed: 1 } as never), { instanceOf: TypeError, message: 'Expected a search space for context.space but received undefined' });
    t.throws(() => createStrategy(name, { space: { ...space, hash: 1 }, seed: 1 } as never), {
      instanceOf: TypeError,
      message: 'Expected a search space (an object with a hash method) for context.space but received an object',
    });
    t.throws(() => createStrategy(name, { space, seed: -1 }), { instanceOf: RangeError, message: 'Expected an integer >= 0 for context.seed but received -1 of type number' });
    t.throws(() => createStrategy(name, { space, seed: 1, isKnown: true } as never), { instanceOf: TypeError, message: 'Expected a function for context.isKnown but received true of type boolean' });
    for (const options of [true, null, [], 'x']) {
      t.throws(() => createStrategy(name, { space, seed: 1 }, options as never), { instanceOf: TypeError, message: `Expected an object for options but received ${describeValue(options)}` });
    }
  });

  test(`${name}: a small space is exhausted without repeats`, async (t) => {
    const study = new Study<Toy>({ space: toySpace(2, 3), strategy: name, evaluator: toyEvaluator([0, 0]), budget: { evaluations: 50 }, seed: 1 });
    const summary = await study.run();
    t.is(summary.trials.length, 9);
    t.is(summary.status, 'exhausted');
  });
}

