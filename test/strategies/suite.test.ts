/**
 * Every registered strategy through the shared checks (suite.ts), plus registry and option errors.
 */
import test from 'ava';
import { Study } from '../../lib/study/study.js';
import { createStrategy, strategyNames } from '../../lib/strategies/registry.js';
import { strategySuite } from './suite.js';
import { toyEvaluator, toySpace, type Toy } from './toy-space.js';

const target = [3, 1, 2, 0, 3];

// Every registered strategy goes through the same checks.
for (const name of strategyNames()) strategySuite(name);

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
