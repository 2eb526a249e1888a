import test from 'ava';
import { NasxError } from '../../lib/errors.js';
import {
  DslSpace,
  bool,
  choice,
  constant,
  intRange,
  logChoice,
  object,
  repeat,
  tuple,
  when,
  type JsonValue,
} from '../../lib/space/dsl.js';
import { canonicalHash, canonicalJson } from '../../lib/space/canonical-hash.js';
import { isTrainableSpace } from '../../lib/space/trainable-space.js';
import { createRng } from '../../lib/util/rng.js';
import { oneDecisionApart } from './properties.js';

const tiny = () =>
  new DslSpace({
    name: 'tiny',
    params: object({
      optimizer: choice(['sgd', 'adamw']),
      momentum: when({ optimizer: ['sgd'] }, choice([0.8, 0.9])),
      layers: repeat(object({ units: choice([16, 32]), act: constant('relu') }), { min: 1, max: 3 }),
    }),
  });

function invalidArch(t: import('ava').ExecutionContext, fn: () => unknown, message: string) {
  const err = t.throws(fn, { instanceOf: NasxError, message });
  t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARCH');
}

test('values: integer ranges with a step, log-spaced floats and integers', (t) => {
  t.deepEqual(intRange({ low: 16, high: 64, step: 16 }).values, [16, 32, 48, 64]);
  t.deepEqual(intRange({ low: -1, high: 1 }).values, [-1, 0, 1]);
  t.deepEqual(logChoice({ low: 1e-4, high: 1e-1, count: 4 }).values, [0.0001, 0.001, 0.01, 0.1]);
  t.deepEqual(logChoice({ low: 16, high: 512, count: 6, integer: true }).values, [16, 32, 64, 128, 256, 512]);
  t.deepEqual(logChoice({ low: 1, high: 100, count: 5, integer: true }).values, [1, 3, 10, 32, 100]);
  t.deepEqual(bool().values, [false, true]);
  t.is(intRange({ low: 1, high: 100 }).expected, 'an integer from 1 to 100');
  t.is(intRange({ low: 0, high: 200, step: 4 }).expected, 'an integer from 0 to 200 in steps of 4');
});

test('constructors reject bad arguments with messages that name them', (t) => {
  t.throws(() => choice([]), { instanceOf: RangeError, message: 'Expected a non-empty array of numbers, strings, booleans or null for choice but received an array of length 0' });
  t.throws(() => choice(['a', {} as never]), { instanceOf: TypeError, message: 'Expected a finite number, a string, a boolean or null for choice[1] but received an object' });
  t.throws(() => choice([1, 2, 1]), { instanceOf: RangeError, message: 'Expected a value different from choice[0] for choice[2] but received 1 of type number' });
  t.throws(() => intRange({ low: 16, high: 100, step: 16 }), {
    instanceOf: RangeError,
    message: 'Expected 16 plus a multiple of 16 (low plus a multiple of step) for intRange.high but received 100 of type number',
  });
  t.throws(() => intRange({ low: 5, high: 1 }), { instanceOf: RangeError, message: 'Expected an integer >= 5 for intRange.high but received 1 of type number' });
  t.throws(() => intRange({ low: 0, high: 1e6 }), { instanceOf: RangeError, message: 'Expected at most 10000 values for intRange but received a range of 1000001 values' });
  t.throws(() => intRange({ low: 0, high: 3, stp: 1 } as never), {
    instanceOf: RangeError,
    message: 'Unknown field "stp" in intRange; allowed fields are "low", "high", "step"',
  });
  t.throws(() => logChoice({ low: 1, high: 4, count: 8, integer: true }), {
    instanceOf: RangeError,
    message: 'Expected distinct values for logChoice but rounding 8 log-spaced values between 1 and 4 gives 1, 1, 1, 2, 2, 3, 3, 4; use a smaller count or a wider range',
  });
  t.throws(() => logChoice({ low: 0, high: 1, count: 3 }), { instanceOf: RangeError, message: 'Expected a number greater than 0 for logChoice.low but received 0 of type number' });
  t.throws(() => repeat(choice([1]), { min: 3, max: 1 }), { instanceOf: RangeError, message: 'Expected an integer between 3 and 1024 for repeat.count.max but received 1 of type number' });
  t.throws(() => repeat(choice([1]), [1, 1]), { instanceOf: RangeError, message: 'Expected an integer between 2 and 1024 for repeat.count[1] but received 1 of type number' });
  t.throws(() => object({ a: when({ b: [1] }, choice([1])), b: choice([1, 2]) }), {
    instanceOf: RangeError,
    message: 'Expected a condition on an earlier choice field of the same object (there is none) for when but received "b" of type string',
  });
  t.throws(() => object({ b: choice([1, 2]), a: when({ b: [3] }, choice([1])) }), {
    instanceOf: RangeError,
    message: 'Expected one of 1, 2 for when.b[0] but received 3 of type number',
  });
  t.throws(() => object({ a: 5 as never }), {
    instanceOf: TypeError,
    message: 'Expected a search-space node (choice, bool, intRange, logChoice, constant, object, repeat or tuple) for a but received 5 of type number',
  });
  t.throws(() => tuple([when({ a: 1 }, choice([1])) as never]), { instanceOf: TypeError, message: /^Expected a search-space node .* for tuple\[0\] but received an object$/ });
});

test('decisions are a pre-order walk: a repeat count before its copies, conditionals only when present', (t) => {
  const space = tiny();
  const a = { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 32, act: 'relu' }, { units: 16, act: 'relu' }] };
  t.deepEqual(space.decisions(a), [0, 1, 1, 1, 0]);
  t.deepEqual(
    space.describeDecisions(a).map((d) => [d.path, d.kind, d.index, d.options]),
    [
      ['optimizer', 'choice', 0, ['sgd', 'adamw']],
      ['momentum', 'choice', 1, [0.8, 0.9]],
      ['layers.length', 'count', 1, [1, 2, 3]],
      ['layers[0].units', 'choice', 1, [16, 32]],
      ['layers[1].units', 'choice', 0, [16, 32]],
    ],
  );
  const b = { optimizer: 'adamw', layers: [{ units: 16, act: 'relu' }] };
  t.deepEqual(space.decisions(b), [1, 0, 0]);
  t.deepEqual(space.fromDecisions([1, 0, 0]), b);
  t.deepEqual(space.fromDecisions([0, 1, 1, 1, 0]), a);
  t.is(space.optionsAt([]), 2);
  t.is(space.optionsAt([0]), 2);
  t.is(space.optionsAt([1]), 3);
  t.is(space.optionsAt([1, 2]), 2);
  t.is(space.optionsAt([1, 0, 0]), 0);
  t.is([...space.enumerate()].length, 3 * (2 + 4 + 8));
});

test('bad decision sequences name the decision', (t) => {
  const space = tiny();
  invalidArch(t, () => space.fromDecisions([1, 3]), 'Expected an integer between 0 and 2 for decisions[1] (layers.length) but received 3 of type number');
  invalidArch(t, () => space.fromDecisions([1, 1, 0]), 'Expected an integer between 0 and 1 for decisions[3] (layers[1].units) but received undefined');
  invalidArch(t, () => space.fromDecisions([1, 0, 0, 1]), 'Expected 3 decisions (the architecture is complete after them) for decisions but received an array of length 4');
  invalidArch(t, () => space.optionsAt([0, 0.5]), 'Expected an integer between 0 and 1 for decisions[1] (momentum) but received 0.5 of type number');
  invalidArch(t, () => space.fromDecisions('0,1' as never), 'Expected an array of option indices for decisions but received "0,1" of type string');
});

test('validate names the path and the value', (t) => {
  const space = tiny();
  invalidArch(t, () => space.validate({ optimizer: 'adam', layers: [] } as never), 'Expected one of "sgd", "adamw" for optimizer but received "adam" of type string');
  invalidArch(t, () => space.validate({ optimizer: 'sgd', layers: [] } as never), 'Expected one of 0.8, 0.9 for momentum but received undefined');
  invalidArch(
    t,
    () => space.validate({ optimizer: 'adamw', momentum: 0.9, layers: [] } as never),
    'Expected no value for momentum (present only when optimizer is "sgd") but received 0.9 of type number',
  );
  invalidArch(t, () => space.validate({ optimizer: 'adamw', layers: [] } as never), 'Expected an array of 1 to 3 items for layers but received an array of length 0');
  invalidArch(
    t,
    () => space.validate({ optimizer: 'adamw', layers: [{ units: 48, act: 'relu' }] } as never),
    'Expected one of 16, 32 for layers[0].units but received 48 of type number',
  );
  invalidArch(
    t,
    () => space.validate({ optimizer: 'adamw', layers: [{ units: 16, act: 'gelu' }] } as never),
    'Expected "relu" for layers[0].act but received "gelu" of type string',
  );
  invalidArch(
    t,
    () => space.validate({ optimizer: 'adamw', layers: [{ units: 16, act: 'relu', width: 3 }] } as never),
    'Unknown field "width" in layers[0]; allowed fields are "units", "act"',
  );
  invalidArch(t, () => space.validate(null as never), 'Expected an object for arch but received null');
});

test('encode: one-hot blocks over the max-expanded tree, zeros for absent slots', (t) => {
  const space = tiny();
  t.is(space.encodingLength, 2 + 2 + 3 + 3 * 2);
  t.deepEqual(space.encodingLabels(), [
    'optimizer="sgd"', 'optimizer="adamw"', 'momentum=0.8', 'momentum=0.9', 'layers.length=1', 'layers.length=2', 'layers.length=3',
    'layers[0].units=16', 'layers[0].units=32', 'layers[1].units=16', 'layers[1].units=32', 'layers[2].units=16', 'layers[2].units=32',
  ]);
  t.deepEqual(space.encode({ optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }] }), [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  t.deepEqual(
    space.encode({ optimizer: 'sgd', momentum: 0.8, layers: [{ units: 16, act: 'relu' }, { units: 16, act: 'relu' }, { units: 32, act: 'relu' }] }),
    [1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1],
  );
});

test('neighbours: every one-decision change in order; repeats move by one, growing by a copy of the last copy', (t) => {
  const space = tiny();
  const a = { optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }] };
  t.deepEqual(space.neighbours(a), [
    { optimizer: 'sgd', momentum: 0.8, layers: [{ units: 32, act: 'relu' }] },
    { optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }, { units: 32, act: 'relu' }] },
    { optimizer: 'adamw', layers: [{ units: 16, act: 'relu' }] },
  ]);
  const b = { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 16, act: 'relu' }, { units: 32, act: 'relu' }] };
  t.deepEqual(space.neighbours(b), [
    { optimizer: 'adamw', layers: [{ units: 16, act: 'relu' }, { units: 32, act: 'relu' }] },
    { optimizer: 'sgd', momentum: 0.8, layers: [{ units: 16, act: 'relu' }, { units: 32, act: 'relu' }] },
    { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 16, act: 'relu' }] },
    { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 16, act: 'relu' }, { units: 32, act: 'relu' }, { units: 32, act: 'relu' }] },
    { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 32, act: 'relu' }, { units: 32, act: 'relu' }] },
    { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 16, act: 'relu' }, { units: 16, act: 'relu' }] },
  ]);
  // Keys stay in definition order after a conditional field appears.
  t.deepEqual(Object.keys(space.neighbours(a)[0]!), ['optimizer', 'momentum', 'layers']);
});

test('mutate changes one decision: a repeat keeps its first copies and grows or shrinks at the end', (t) => {
  const space = tiny();
  const a = { optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }, { units: 16, act: 'relu' }] };
  const rng = createRng(4);
  const lengths = new Set<number>();
  for (let i = 0; i < 500; i++) {
    const m = space.mutate(a, rng) as typeof a;
    t.notDeepEqual(m, a);
    lengths.add(m.layers.length);
    if (m.layers.length !== 2) t.deepEqual(m.layers.slice(0, 1), a.layers.slice(0, 1));
    if (m.layers.length === 3) t.deepEqual(m.layers.slice(0, 2), a.layers);
  }
  t.deepEqual([...lengths].sort(), [1, 2, 3]);
  t.deepEqual(a, { optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }, { units: 16, act: 'relu' }] });
});

test('a space with a single architecture cannot be mutated', (t) => {
  const space = new DslSpace({ name: 'one', params: object({ a: choice([1]), b: constant([1, 2]) }) });
  t.deepEqual(space.sample(createRng(0)), { a: 1, b: [1, 2] });
  t.deepEqual(space.neighbours({ a: 1, b: [1, 2] }), []);
  const err = t.throws(() => space.mutate({ a: 1, b: [1, 2] }, createRng(0)), {
    instanceOf: NasxError,
    message: 'Search space "one" has a single architecture: there is nothing to mutate',
  });
  t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARGUMENT');
});

test('a space without build costs nothing and cannot build; hash is of the canonical form', (t) => {
  const space = new DslSpace({
    name: 'pair',
    params: tuple([choice([1, 2, 3]), choice([1, 2, 3])]),
    // The pair is unordered: [2, 1] and [1, 2] are the same architecture.
    canonicalize: (c: JsonValue) => [...(c as number[])].sort(),
  });
  t.false(space.trainable);
  t.false(isTrainableSpace(space));
  t.deepEqual(space.cost([1, 2], { inputShape: [8, 8, 1], outputSize: 10 }), { params: 0, flops: 0 });
  t.throws(() => space.build([1, 2], { inputShape: [8, 8, 1], outputSize: 10 }), {
    instanceOf: NasxError,
    message: 'Search space "pair" has no build: its architectures are plain configs (for a tabular or function evaluator), not engine architectures',
  });
  t.is(space.hash([2, 1]), space.hash([1, 2]));
  t.not(space.hash([1, 1]), space.hash([1, 2]));
  t.is(space.hash([1, 2]), canonicalHash([1, 2]));
  invalidArch(t, () => space.hash([1, 4]), 'Expected one of 1, 2, 3 for [1] but received 4 of type number');
});

test('canonical JSON sorts keys at every level; the hash is 16 hex digits of its SHA-1', (t) => {
  t.is(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 2.5 }], u: undefined }), '{"a":[true,null,{"c":2.5,"d":"x"}],"b":1}');
  t.is(canonicalHash({ b: 1, a: 2 }), canonicalHash({ a: 2, b: 1 }));
  t.is(canonicalHash('abc'), 'b87f4bf9b7b07f59'); // sha1 of the JSON text "abc", with its quotes
  t.throws(() => canonicalJson({ a: NaN }), { instanceOf: TypeError, message: 'Expected a finite number for value.a but received NaN of type number' });
  t.throws(() => canonicalJson({ a: new Date(0) }), { instanceOf: TypeError, message: /^Expected a JSON value .* for value.a but received an instance of Date$/ });
});

test('the one-decision checker used by the property tests rejects two changes', (t) => {
  const space = tiny();
  const a = { optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }, { units: 16, act: 'relu' }] };
  t.is(oneDecisionApart(space, a, { optimizer: 'adamw', layers: [{ units: 16, act: 'relu' }, { units: 16, act: 'relu' }] }), undefined);
  t.is(oneDecisionApart(space, a, { optimizer: 'sgd', momentum: 0.8, layers: a.layers }), undefined);
  t.is(oneDecisionApart(space, a, { optimizer: 'adamw', layers: [{ units: 32, act: 'relu' }] }), undefined);
  t.is(
    oneDecisionApart(space, a, { optimizer: 'adamw', layers: [{ units: 16, act: 'relu' }, { units: 32, act: 'relu' }] }),
    'expected one changed decision but found layers[0].units, layers[1].units',
  );
  t.is(oneDecisionApart(space, a, { optimizer: 'adamw', layers: [{ units: 16, act: 'relu' }] }), 'expected one changed decision but found layers.length, layers[0].units');
  t.is(oneDecisionApart(space, a, a), 'expected one changed decision but found none');
});
