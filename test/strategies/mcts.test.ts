/**
 * The `mcts` strategy: the shared suite's checks (registered here; the registry is the lead's), its
 * rollouts — native against TypeScript, exported structures against the spaces, the addon's argument
 * checks — and its search.
 */
import test from 'ava';
import { NasxError } from '../../lib/errors.js';
import { native, type NativeDecisionStructure } from '../../lib/native/binding.js';
import { DslSpace, bool, choice, constant, object, repeat, tuple, when } from '../../lib/space/dsl.js';
import { getSpace, type MlpSpaceArch } from '../../lib/space/index.js';
import type { SearchSpace } from '../../lib/space/space.js';
import {
  StructureWalker,
  decisionStructure,
  featureCount,
  genericRollouts,
  nativeRollouts,
  nativeRolloutsSync,
  surrogateValue,
  tsRollouts,
  type DecisionStructure,
  type RolloutSurrogate,
} from '../../lib/strategies/mcts-rollout.js';
import { createStrategy } from '../../lib/strategies/registry.js';
import type { Strategy } from '../../lib/strategies/strategy.js';
import { Study } from '../../lib/study/study.js';
import { createRng } from '../../lib/util/rng.js';
import { drive } from './suite.js';
import { toyEvaluator, toyScore, toySpace, type Toy } from './toy-space.js';

const target = [3, 1, 2, 0, 3];

/** The toy space as a DslSpace: the same architectures, with an exportable structure (native rollouts). */
function dslToy(length = 5, options = 4): DslSpace<Toy> {
  const values = Array.from({ length: options }, (_, i) => i);
  return new DslSpace<Toy>({ name: 'toy-dsl', params: tuple(Array.from({ length }, () => choice(values))) });
}

/** Conditions on choices and on a constant, chained conditions, nested repeats. */
const tricky = () =>
  new DslSpace({
    name: 'tricky',
    params: object({
      kind: constant('a'),
      opt: choice(['sgd', 'adam', 'rms']),
      momentum: when({ opt: ['sgd', 'rms'] }, choice([0.8, 0.9])),
      nesterov: when({ opt: 'sgd', momentum: 0.9 }, bool()),
      always: when({ kind: 'a' }, choice([1, 2, 3])),
      blocks: repeat(object({ width: choice([1, 2]), extra: when({ width: 2 }, repeat(choice([5, 6]), [0, 2])) }), { min: 0, max: 2 }),
    }),
  });

function randomSurrogate(features: number, seed: number, pairwise = true): RolloutSurrogate {
  const rng = createRng(seed);
  const s: RolloutSurrogate = { bias: 0.5, linear: Float64Array.from({ length: features }, () => 2 * rng.next() - 1) };
  if (pairwise) s.pairwise = Float64Array.from({ length: features * features }, () => rng.next() - 0.5);
  return s;
}

// ---------------------------------------------------------------------------------------------
// suite.test.ts runs the shared checks for "mcts" on the toy space, whose structure cannot be exported
// (rollouts in TypeScript over optionsAt/encode); below, the same and more on its DslSpace twin
// (native rollouts).

const spaces: { label: string; make: (length?: number, options?: number) => SearchSpace<Toy> }[] = [
  { label: 'toy space', make: toySpace },
  { label: 'DSL toy space', make: dslToy },
];

async function sequence(space: SearchSpace<Toy>, seed: number, parallel = 1): Promise<string[]> {
  const study = new Study<Toy>({ space, strategy: 'mcts', evaluator: toyEvaluator(target), budget: { evaluations: 30 }, parallel, seed });
  const summary = await study.run();
  return summary.trials.map((t) => t.hash);
}

test('mcts (DSL toy space, native rollouts): seeded, budgeted, without repeats, exhausts a small space', async (t) => {
  t.deepEqual(await sequence(dslToy(), 7, 4), await sequence(dslToy(), 7, 4));
  t.notDeepEqual(await sequence(dslToy(), 7), await sequence(dslToy(), 8));
  for (const parallel of [1, 4]) {
    const evaluator = toyEvaluator(target);
    const summary = await new Study<Toy>({ space: dslToy(), strategy: 'mcts', evaluator, budget: { evaluations: 57 }, parallel, seed: 3 }).run();
    t.is(evaluator.calls, 57);
    t.is(new Set(summary.trials.map((tr) => tr.hash)).size, 57);
    const small = await new Study<Toy>({ space: dslToy(2, 3), strategy: 'mcts', evaluator: toyEvaluator([0, 0]), budget: { evaluations: 50 }, parallel, seed: 1 }).run();
    t.is(small.trials.length, 9);
    t.is(new Set(small.trials.map((tr) => tr.hash)).size, 9);
    t.is(small.status, 'exhausted');
  }
});

for (const { label, make } of spaces) {
  test(`mcts (${label}): stateDict with proposals in flight resumes the identical sequence`, (t) => {
    const space = make();
    const a = createStrategy('mcts', { space, seed: 11 });
    drive(a, 8, 2, space);
    const inFlight = a.ask(2);
    const saved = JSON.parse(JSON.stringify(a.stateDict()));
    const tellInFlight = (s: Strategy<Toy>) => s.tell(inFlight.map((arch) => ({ arch, hash: space.hash(arch), score: toyScore(arch, target) })));
    tellInFlight(a);
    const continued = drive(a, 8, 2, space);
    const b = createStrategy('mcts', { space, seed: 999 });
    b.loadStateDict(saved);
    tellInFlight(b);
    t.deepEqual(drive(b, 8, 2, space), continued);
  });

  test(`mcts (${label}): finds the optimum far faster than enumerating the space`, async (t) => {
    // 4^5 = 1024 architectures (enumeration needs 512 on average); mcts needs about 22 (evolution 45-70).
    const found: number[] = [];
    for (let seed = 0; seed < 10; seed++) {
      const space = make();
      const study = new Study<Toy>({ space, strategy: 'mcts', evaluator: toyEvaluator(target), budget: { evaluations: 300 }, seed });
      const summary = await study.run();
      const at = summary.trials.findIndex((tr) => tr.hash === space.hash(target));
      found.push(at < 0 ? 300 : at + 1);
    }
    const mean = found.reduce((a, b) => a + b, 0) / found.length;
    t.true(mean < 60, `mean evaluations to the optimum: ${mean} (${found.join(', ')})`);
  });
}

test('mcts: the native and TypeScript engines propose the same sequence', (t) => {
  const run = (engine: string) => {
    const space = dslToy();
    const s = createStrategy('mcts', { space, seed: 5 }, { engine, rollouts: 2048 });
    return drive(s, 12, 3, space);
  };
  t.deepEqual(run('native'), run('typescript'));
});

test('mcts: options are checked, naming the option and listing the known ones', (t) => {
  const context = { space: toySpace(), seed: 0 };
  t.throws(() => createStrategy('mcts', context, { explore: 1 }), {
    instanceOf: RangeError,
    message:
      'Unknown option "explore" for strategy mcts; known options are rollouts, exploration, priorTemperature, initial, widening, wideningExponent, ridge, pairWeight, topK, threads, maxTries, selection, value, engine',
  });
  t.throws(() => createStrategy('mcts', context, { rollouts: 8 }), {
    instanceOf: RangeError,
    message: 'Expected a number between 16 and 1073741824 for mcts.rollouts but received 8 of type number',
  });
  t.throws(() => createStrategy('mcts', context, { selection: 'ucb' }), {
    instanceOf: RangeError,
    message: 'Expected one of "uct", "puct" for mcts.selection but received "ucb" of type string',
  });
  t.throws(() => createStrategy('mcts', context, { engine: 'native' }), {
    instanceOf: RangeError,
    message: 'Expected mcts.engine "auto" or "typescript" for space "toy" (native rollouts need a DslSpace) but received "native" of type string',
  });
});

test('mcts: PUCT selection and the observed-mean value source search too', async (t) => {
  for (const options of [{ selection: 'puct' }, { value: 'observed' }]) {
    const study = new Study<Toy>({ space: dslToy(), strategy: 'mcts', strategyOptions: options, evaluator: toyEvaluator(target), budget: { evaluations: 150 }, seed: 2 });
    const summary = await study.run();
    t.is(new Set(summary.trials.map((tr) => tr.hash)).size, 150);
    t.true(summary.best!.score! > 0.95, `${JSON.stringify(options)}: best ${summary.best!.score}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Structures and rollouts.

test('exported structures match the spaces: encode layout, valid completions, every architecture reachable', (t) => {
  const rng = createRng(3);
  for (const space of [getSpace('nb201'), getSpace('mlp'), getSpace('cnn'), tricky()] as DslSpace<unknown>[]) {
    const structure = decisionStructure(space)!;
    t.is(featureCount(structure), space.encodingLength, space.name);
    const walker = new StructureWalker(structure);
    for (let i = 0; i < 200; i++) {
      const arch = space.sample(rng);
      const ones = space.encode(arch).flatMap((v, j) => (v === 1 ? [j] : []));
      t.deepEqual(walker.featuresOf(space.decisions(arch)), ones, space.name);
      t.is(walker.optionsAfter(space.decisions(arch)), 0);
    }
    const [root] = nativeRolloutsSync(structure, randomSurrogate(featureCount(structure), 1), [[]], { rollouts: 20000, seed: 1, topK: 64 });
    for (const b of root!.best) t.deepEqual(space.decisions(space.fromDecisions(b.decisions)), b.decisions, space.name);
  }
  // Every architecture of a conditional space, and nothing else, comes out of the rollouts.
  const space = tricky();
  const all = new Set([...space.enumerate()].map((a) => JSON.stringify(space.decisions(a))));
  t.is(all.size, 774);
  const [root] = nativeRolloutsSync(decisionStructure(space)!, randomSurrogate(space.encodingLength, 2), [[]], {
    rollouts: 2_000_000,
    seed: 3,
    topK: 1024,
    threads: 0,
  });
  t.deepEqual(root!.best.map((b) => JSON.stringify(b.decisions)).sort(), [...all].sort());
});

test('native rollouts reproduce the TypeScript rollouts exactly, whatever the thread count', async (t) => {
  for (const space of [getSpace('nb201'), getSpace('mlp'), getSpace('cnn'), tricky()] as DslSpace<unknown>[]) {
    const structure = decisionStructure(space)!;
    const surrogate = randomSurrogate(featureCount(structure), 4, space.name !== 'mlp');
    const rng = createRng(5);
    const prefixes = [[], space.decisions(space.sample(rng)).slice(0, 2), space.decisions(space.sample(rng))];
    const options = { rollouts: 3000, seed: 77, topK: 10 };
    const expected = tsRollouts(structure, surrogate, prefixes, options);
    t.deepEqual(nativeRolloutsSync(structure, surrogate, prefixes, options), expected, space.name);
    t.deepEqual(await nativeRollouts(structure, surrogate, prefixes, { ...options, threads: 3 }), expected, space.name);
    // The complete prefix: no rollouts, its exact value.
    t.is(expected[2]!.options, 0);
    t.is(expected[2]!.best[0]!.value, surrogateValue(structure, surrogate, prefixes[2]!));
  }
  // The generic rollout (optionsAt + encode) agrees with the structured one on a one-hot space.
  const structure = decisionStructure(dslToy())!;
  const surrogate = randomSurrogate(20, 6);
  t.deepEqual(genericRollouts(toySpace(), surrogate, [[], [2, 1]], { rollouts: 2000, seed: 9, topK: 5 }), tsRollouts(structure, surrogate, [[], [2, 1]], { rollouts: 2000, seed: 9, topK: 5 }));
});

test('native rollouts agree statistically with exact enumeration', (t) => {
  const space = getSpace('nb201') as DslSpace<unknown>;
  const structure = decisionStructure(space)!;
  const surrogate = randomSurrogate(30, 8);
  const prefix = [4, 0];
  // Exact mean and spread of the values under each first child (5^3 leaves each).
  const exact = Array.from({ length: 5 }, () => [] as number[]);
  for (let i = 0; i < 625; i++) {
    const rest = [Math.floor(i / 125) % 5, Math.floor(i / 25) % 5, Math.floor(i / 5) % 5, i % 5];
    exact[rest[0]!]!.push(surrogateValue(structure, surrogate, [...prefix, ...rest]));
  }
  const rollouts = 50000;
  const [r] = nativeRolloutsSync(structure, surrogate, [prefix], { rollouts, seed: 1, topK: 3 });
  for (let j = 0; j < 5; j++) {
    const values = exact[j]!;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    t.is(r!.visits[j], rollouts / 5);
    t.true(Math.abs(r!.mean[j]! - mean) < (5 * sd) / Math.sqrt(rollouts / 5), `child ${j}: ${r!.mean[j]} vs ${mean}`);
    t.is(r!.max[j], Math.max(...values));
  }
  const all = exact.flat().sort((a, b) => b - a);
  t.deepEqual(r!.best.map((b) => b.value), all.slice(0, 3));
});

test('mctsRollouts runs on a worker thread and resolves a promise', async (t) => {
  const structure = decisionStructure(getSpace('nb201'))!;
  const pending = native().mctsRollouts(structure, randomSurrogate(30, 1), [[]], { rollouts: 1 << 20, threads: 2 });
  t.true(pending instanceof Promise);
  let ticked = false;
  setImmediate(() => (ticked = true));
  const [r] = await pending;
  t.true(ticked, 'the event loop ran while the rollouts did');
  t.is(r!.rollouts, 1 << 20);
});

test('mctsRollouts checks its arguments with exact messages', (t) => {
  const b = native();
  const structure = decisionStructure(getSpace('nb201'))!;
  const surrogate = randomSurrogate(30, 1);
  const calls = [(...a: Parameters<typeof b.mctsRollouts>) => b.mctsRollouts(...a), (...a: Parameters<typeof b.mctsRollouts>) => b.mctsRolloutsSync(...a)];
  for (const call of calls) {
    const bad = (args: unknown[], instanceOf: typeof TypeError | typeof RangeError | typeof Error, message: string, code?: string) => {
      // Argument errors throw at the call, also from the asynchronous entry point.
      const err = t.throws(() => (call as (...a: unknown[]) => unknown)(...args), { instanceOf, message });
      if (code) t.is((err as Error & { code?: string }).code, code);
    };
    bad([undefined, surrogate, [[]]], TypeError, 'Expected an object for structure but received undefined');
    bad([{ ...structure, slotOptions: [5, 5] }, surrogate, [[]]], TypeError, 'Expected an Int32Array for structure.slotOptions but received an array of length 2');
    bad([{ ...structure, gateAllowed: new Int32Array(0) }, surrogate, [[]]], TypeError, 'Expected a Uint8Array for structure.gateAllowed but received a typed array');
    bad([{ ...structure, slotGate: new Int32Array(5) }, surrogate, [[]]], Error, 'structure.slotGate must have one entry per slot (6) but has 5', 'ERR_NASX_INVALID_ARGUMENT');
    bad([{ ...structure, slotOptions: Int32Array.of(5, 5, 0, 5, 5, 5) }, surrogate, [[]]], Error, 'structure.slotOptions[2] must be an integer between 1 and 10000 but got 0', 'ERR_NASX_INVALID_ARGUMENT');
    bad([structure, { linear: surrogate.linear }, [[]]], TypeError, 'Expected a finite number for surrogate.bias but received undefined');
    bad([structure, { bias: '0', linear: surrogate.linear }, [[]]], TypeError, 'Expected a finite number for surrogate.bias but received "0" of type string');
    bad([structure, { bias: 0, linear: new Float32Array(30) }, [[]]], TypeError, 'Expected a Float64Array for surrogate.linear but received a typed array');
    bad([structure, { bias: 0, linear: new Float64Array(29) }, [[]]], Error, 'surrogate.linear must have one weight per option of every slot (30) but has 29', 'ERR_NASX_INVALID_ARGUMENT');
    bad([structure, { ...surrogate, pairwise: new Float64Array(31) }, [[]]], Error, 'surrogate.pairwise must be empty or have 30×30 = 900 weights but has 31', 'ERR_NASX_INVALID_ARGUMENT');
    bad([structure, surrogate, 'all'], TypeError, 'Expected an array of decision prefixes for prefixes but received "all" of type string');
    bad([structure, surrogate, [[], 3]], TypeError, 'Expected an Int32Array or an array of option indices for prefixes[1] but received 3 of type number');
    bad([structure, surrogate, [[1.5]]], RangeError, 'Expected an integer for prefixes[0][0] but received 1.5 of type number');
    bad([structure, surrogate, [[0, 5]]], Error, 'prefixes[0][1] must be an option between 0 and 4 but got 5', 'ERR_NASX_INVALID_ARGUMENT');
    bad([structure, surrogate, [[0, 0, 0, 0, 0, 0, 0]]], Error, 'prefixes[0] must have at most 6 decisions (the sequence is complete after them) but has 7', 'ERR_NASX_INVALID_ARGUMENT');
    bad([structure, surrogate, [[]], { rollouts: 0 }], RangeError, 'Expected an integer between 1 and 1073741824 for options.rollouts but received 0 of type number');
    bad([structure, surrogate, [[]], { topK: 2000 }], RangeError, 'Expected an integer between 0 and 1024 for options.topK but received 2000 of type number');
    bad([structure, surrogate, [[]], { seed: -1 }], RangeError, 'Expected an integer between 0 and 9007199254740991 for options.seed but received -1 of type number');
    bad([structure, surrogate, [[]], { threads: '2' }], TypeError, 'Expected an integer between 0 and 1024 for options.threads but received "2" of type string');
    bad([structure, surrogate, [[]], 5], TypeError, 'Expected an object for options but received 5 of type number');
  }
});

test('the TypeScript wrappers check first and turn engine errors into NasxErrors', async (t) => {
  const structure = decisionStructure(getSpace('nb201'))!;
  const surrogate = randomSurrogate(30, 1);
  const err = await t.throwsAsync(nativeRollouts(structure, surrogate, [[9]], { rollouts: 10, seed: 0, topK: 1 }), {
    instanceOf: NasxError,
    message: 'prefixes[0][0] must be an option between 0 and 4 but got 9',
  });
  t.is(err!.code, 'ERR_NASX_INVALID_ARGUMENT');
  t.throws(() => tsRollouts(structure, surrogate, [[9]], { rollouts: 10, seed: 0, topK: 1 }), {
    instanceOf: NasxError,
    message: 'prefixes[0][0] must be an option between 0 and 4 but got 9',
  });
  t.throws(() => tsRollouts(structure, surrogate, [[]], { rollouts: 10, seed: -2, topK: 1 }), {
    instanceOf: RangeError,
    message: 'Expected an integer >= 0 for options.seed but received -2 of type number',
  });
  const broken: NativeDecisionStructure = { ...structure, gateSlot: Int32Array.of(0) };
  t.throws(() => tsRollouts(broken as DecisionStructure, surrogate, [[]], { rollouts: 10, seed: 0, topK: 1 }), {
    instanceOf: NasxError,
    message: 'gate 0 must be the root (structure.gateParent[0] = structure.gateSlot[0] = -1) but got parent -1 and slot 0',
  });
});

test('mcts searches a conditional space (mlp: a repeat count decides how many layer blocks follow)', async (t) => {
  // A conditional space with a known optimum: score rewards wide layers, "gelu", and 3 layers.
  const space = getSpace('mlp');
  const score = (a: MlpSpaceArch) =>
    -Math.abs(a.layers.length - 3) + a.layers.reduce((s, l) => s + Math.log2(l.units) / 9 + (l.activation === 'gelu' ? 0.5 : 0), 0) / 3;
  const evaluator = {
    name: 'mlp-score',
    calls: 0,
    async evaluate(candidates: readonly MlpSpaceArch[]) {
      return candidates.map((arch) => ({ arch, status: 'ok' as const, metrics: { score: score(arch) }, seconds: 0 }));
    },
  };
  const study = new Study({ space, strategy: 'mcts', evaluator, budget: { evaluations: 120 }, seed: 4 });
  const summary = await study.run();
  const best = summary.best!.arch;
  t.is(best.layers.length, 3);
  t.true(best.layers.filter((l) => l.activation === 'gelu').length >= 2, JSON.stringify(best));
});
