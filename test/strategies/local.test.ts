/**
 * LocalSearch: the shared strategy suite, the climb itself (batches, moves, restarts), options, the
 * toy space and NAS-Bench-201.
 */
import test from 'ava';
import { getTabularBenchmark } from '../../lib/evaluators/tabular.js';
import { createNb201Space } from '../../lib/space/nb201-space.js';
import { LocalSearch } from '../../lib/strategies/local.js';
import { createStrategy } from '../../lib/strategies/registry.js';
import { runBenchmark } from '../../lib/study/benchmark.js';
import { Study } from '../../lib/study/study.js';
import { toyEvaluator, toyScore, toySpace, type Toy } from './toy-space.js';

const target = [3, 1, 2, 0, 3];
const space = toySpace();
const distance = (a: Toy, b: Toy) => a.filter((v, i) => v !== b[i]).length;
const observe = (archs: Toy[], score: (a: Toy) => number) => archs.map((arch) => ({ arch, hash: space.hash(arch), score: score(arch) }));

test('local: after the start, a batch is the next neighbours of the current architecture, never more', (t) => {
  const s = new LocalSearch<Toy>({ space, seed: 5 });
  const [start] = s.ask(1);
  s.tell(observe([start!], () => 1));
  // 5 decisions × 3 other options = 15 neighbours; a batch of 6, 6, then the 3 left.
  const sizes: number[] = [];
  const all: Toy[] = [];
  for (let k = 0; k < 3; k++) {
    const batch = s.ask(6);
    sizes.push(batch.length);
    all.push(...batch);
    s.tell(observe(batch, () => 0)); // no improvement
  }
  t.deepEqual(sizes, [6, 6, 3]);
  t.true(all.every((a) => distance(a, start!) === 1));
  t.is(new Set(all.map((a) => space.hash(a))).size, 15);
  // A local optimum: the next proposal is a random restart (every neighbour has been evaluated, so
  // an unseen architecture is at least two decisions away).
  const [restart] = s.ask(1);
  t.true(distance(restart!, start!) > 1);
});

test('local: first improvement moves at once, best improvement after the whole neighbourhood', (t) => {
  for (const improvement of ['first', 'best'] as const) {
    const s = new LocalSearch<Toy>({ space, seed: 2 }, { improvement });
    const [start] = s.ask(1);
    s.tell(observe([start!], () => 0.5));
    const [first] = s.ask(1);
    s.tell(observe([first!], () => 2)); // better than the start
    let batch = s.ask(100);
    if (improvement === 'first') {
      // Standing on `first`: its 15 neighbours but the start.
      t.is(batch.length, 14);
      t.true(batch.every((a) => distance(a, first!) === 1));
    } else {
      // Still on the start: the 14 neighbours left; then, none better, the move to `first`, whose
      // neighbours are the 15 but the start and the 2 that are also the start's neighbours.
      t.is(batch.length, 14);
      t.true(batch.every((a) => distance(a, start!) === 1));
      s.tell(observe(batch, () => 0));
      batch = s.ask(100);
      t.is(batch.length, 12);
      t.true(batch.every((a) => distance(a, first!) === 1));
    }
  }
});

test('local: the climb reaches the optimum of the toy space from the start it is given', (t) => {
  const s = new LocalSearch<Toy>({ space, seed: 9 });
  let best = -Infinity;
  for (let round = 0; round < 60 && best < 1; round++) {
    const batch = s.ask(1);
    for (const o of observe(batch, (a) => toyScore(a, target))) best = Math.max(best, o.score);
    s.tell(observe(batch, (a) => toyScore(a, target)));
  }
  t.is(best, 1);
});

test('local: asking again before telling never returns an empty batch, and those samples seed the next start', (t) => {
  const s = new LocalSearch<Toy>({ space, seed: 4 });
  const a = s.ask(1);
  const b = s.ask(1); // nothing told yet: a random sample rather than nothing
  t.is(a.length, 1);
  t.is(b.length, 1);
  t.notDeepEqual(a, b);
  // Both are start samples: the climb starts from the better one.
  s.tell(observe(a, () => 0.1));
  s.tell(observe(b, () => 0.9));
  const batch = s.ask(100);
  t.true(batch.length > 0 && batch.every((x) => distance(x, b[0]!) === 1));
});

test('local: initialSamples random architectures before the climb starts from the best of them', (t) => {
  const s = new LocalSearch<Toy>({ space, seed: 1 }, { initialSamples: 4 });
  const starts = s.ask(4);
  t.is(starts.length, 4);
  s.tell(observe(starts, (a) => toyScore(a, target)));
  const best = starts.reduce((x, y) => (toyScore(y, target) > toyScore(x, target) ? y : x));
  const batch = s.ask(100);
  t.true(batch.every((x) => distance(x, best) === 1));
});

test('local: a state dict taken with results outstanding resumes the identical sequence', (t) => {
  const run = (s: LocalSearch<Toy>, steps: number) => {
    const out: string[] = [];
    for (let k = 0; k < steps; k++) {
      const batch = s.ask(3);
      s.tell(observe(batch, (x) => toyScore(x, target)));
      out.push(...batch.map((x) => space.hash(x)));
    }
    return out;
  };
  const a = new LocalSearch<Toy>({ space, seed: 3 }, { improvement: 'best' });
  run(a, 4);
  const outstanding = a.ask(2);
  const saved = JSON.parse(JSON.stringify(a.stateDict()));
  a.tell(observe(outstanding, (x) => toyScore(x, target)));
  const continued = run(a, 10);
  const b = new LocalSearch<Toy>({ space, seed: 77 }, { improvement: 'best' });
  b.loadStateDict(saved);
  b.tell(observe(outstanding, (x) => toyScore(x, target)));
  t.deepEqual(run(b, 10), continued);
});

test('local: a space of one architecture is exhausted after it', async (t) => {
  const study = new Study<Toy>({ space: toySpace(1, 1), strategy: 'local', evaluator: toyEvaluator([0]), budget: { evaluations: 10 }, seed: 0 });
  const summary = await study.run();
  t.is(summary.trials.length, 1);
  t.is(summary.status, 'exhausted');
});

test('local: bad options name the option and the rule', (t) => {
  const context = { space, seed: 0 };
  t.throws(() => createStrategy('local', context, { initialSample: 3 }), {
    instanceOf: RangeError,
    message: 'Unknown option "initialSample" for strategy local; known options are initialSamples, maxTries, improvement',
  });
  t.throws(() => createStrategy('local', context, { improvement: 'steepest' }), {
    instanceOf: RangeError,
    message: 'Expected one of "first", "best" for local.improvement but received "steepest" of type string',
  });
  t.throws(() => createStrategy('local', context, { initialSamples: 2.5 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and 1000000 for local.initialSamples but received 2.5 of type number',
  });
  t.throws(() => createStrategy('local', context, { initialSamples: 0 }), {
    instanceOf: RangeError,
    message: 'Expected a number between 1 and 1000000 for local.initialSamples but received 0 of type number',
  });
});

test('local finds the optimum of the toy space far faster than enumerating it', async (t) => {
  // 4^5 = 1024 architectures: enumeration needs 512 evaluations on average.
  for (const parallel of [1, 4]) {
    const found: number[] = [];
    for (let seed = 0; seed < 10; seed++) {
      const study = new Study<Toy>({ space: toySpace(), strategy: 'local', evaluator: toyEvaluator(target), budget: { evaluations: 400 }, parallel, seed });
      const summary = await study.run();
      const at = summary.trials.findIndex((tr) => tr.hash === target.join(','));
      found.push(at < 0 ? 400 : at + 1);
    }
    const mean = found.reduce((a, b) => a + b, 0) / found.length;
    t.true(mean < 60, `parallel ${parallel}: mean evaluations to the optimum: ${mean} (${found.join(', ')})`);
  }
});

test('local beats random search on NAS-Bench-201 (CIFAR-10, 100 queries)', async (t) => {
  const evaluator = await getTabularBenchmark('nb201/cifar10');
  const result = await runBenchmark({ evaluator, space: createNb201Space(), strategies: ['random', 'local'], seeds: 30, budget: 100 });
  const [random, local] = result.results;
  t.true(local!.validMean > random!.validMean + 0.3, `valid: local ${local!.validMean}, random ${random!.validMean}`);
  t.true(local!.testMean > random!.testMean, `test: local ${local!.testMean}, random ${random!.testMean}`);
  t.not(local!.medianQueriesToTop, null);
});
