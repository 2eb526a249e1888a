import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeArch } from '../../lib/arch/describe.js';
import type { Arch } from '../../lib/arch/arch.js';
import { NasxError } from '../../lib/errors.js';
import { loadSearchSpace, parseSearchSpace } from '../../lib/space/json-space.js';
import { trainCandidates } from '../../lib/train.js';
import { createRng } from '../../lib/util/rng.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const digits = { inputShape: [8, 8, 1] as const, outputSize: 10 };

function invalidSpace(t: import('ava').ExecutionContext, value: unknown, message: string | RegExp, source = 'space.json') {
  const err = t.throws(() => parseSearchSpace(value, source), { instanceOf: NasxError, message });
  t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARGUMENT');
}

test('a config space: values, ranges, conditionals and repeats become decisions', (t) => {
  const space = parseSearchSpace({
    name: 'tabular-demo',
    params: {
      optimizer: { choice: ['sgd', 'adamw'] },
      momentum: { choice: [0.8, 0.9], when: { optimizer: ['sgd'] } },
      lr: { log: { low: 0.0001, high: 0.1, count: 4 } },
      layers: { repeat: { units: { int: { low: 16, high: 64, step: 16 } }, act: 'relu' }, count: { min: 1, max: 3 } },
      seed: [0, { choice: [1, 2] }],
    },
  });
  t.is(space.name, 'tabular-demo');
  t.false(space.trainable);
  const a = space.fromDecisions([0, 1, 3, 1, 0, 3, 1]);
  t.deepEqual(a, {
    optimizer: 'sgd',
    momentum: 0.9,
    lr: 0.1,
    layers: [{ units: 16, act: 'relu' }, { units: 64, act: 'relu' }],
    seed: [0, 2],
  });
  t.deepEqual(space.cost(a, digits), { params: 0, flops: 0 });
  t.is([...space.enumerate()].length, 3 * 4 * (4 + 16 + 64) * 2);
});

test('an mlp space file: configs are engine architectures that plan and train', async (t) => {
  const space = await loadSearchSpace(path.join(fixtures, 'user-mlp.json'));
  t.is(space.name, 'user-mlp');
  t.is(space.description, 'an MLP space with joint optimiser settings');
  t.true(space.trainable);
  const rng = createRng(5);
  const archs: Arch[] = [];
  for (let i = 0; i < 50; i++) {
    const a = space.sample(rng);
    const arch = space.build(a, digits);
    t.deepEqual(arch, a);
    t.is(space.cost(a, digits).params, describeArch(arch, digits).params);
    if (i < 3) archs.push(arch);
  }
  const results = await trainCandidates(archs, 'digits', { epochs: 1 });
  for (const r of results) t.is(r.status, 'ok', r.error);
  t.throws(() => space.validate({ type: 'mlp', layers: [{ units: 20, activation: 'relu', batchNorm: false }], hyper: { optimizer: 'adamw', lr: 0.01 } }), {
    instanceOf: NasxError,
    message: 'Expected one of 16, 32, 64, 128, 256 for layers[0].units but received 20 of type number',
  });
});

test('file errors: unreadable files and malformed JSON', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-space-'));
  try {
    const missing = path.join(dir, 'missing.json');
    const err = await t.throwsAsync(loadSearchSpace(missing), { instanceOf: NasxError, message: /^Cannot read search space file .*missing\.json: ENOENT/ });
    t.is((err as NasxError).code, 'ERR_NASX_IO');
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"name": "x", params: {}}');
    const err2 = await t.throwsAsync(loadSearchSpace(broken), { instanceOf: NasxError, message: new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: `) });
    t.is((err2 as NasxError).code, 'ERR_NASX_INVALID_ARGUMENT');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'x', params: { w: { int: { low: 1, high: 0 } } } }));
    await t.throwsAsync(loadSearchSpace(bad), { instanceOf: NasxError, message: `${bad}: Expected an integer >= 1 for params.w.int.high but received 0 of type number` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('space errors name the path within the file', (t) => {
  const cases: [unknown, string][] = [
    [[], 'space.json: Expected an object like {"name":"myspace","params":{...}} for the search space but received an array of length 0'],
    [{ name: 'x', parms: {} }, 'space.json: Unknown field "parms" in the search space; allowed fields are "name", "type", "description", "params"'],
    [{ params: {} }, 'space.json: Expected a non-empty string for name but received undefined'],
    [{ name: '', params: {} }, 'space.json: Expected a non-empty string for name but received "" of type string'],
    [{ name: 'x', type: 'rnn', params: {} }, 'space.json: Expected one of "config", "mlp", "cnn" for type but received "rnn" of type string'],
    [{ name: 'x' }, 'space.json: Expected a search-space node for params but received undefined'],
    [{ name: 'x', params: { act: { choice: [] } } }, 'space.json: Expected a non-empty array of numbers, strings, booleans or null for params.act.choice but received an array of length 0'],
    [{ name: 'x', params: { act: { choice: 'relu' } } }, 'space.json: Expected a non-empty array of numbers, strings, booleans or null for params.act.choice but received "relu" of type string'],
    [
      { name: 'x', params: { act: { choice: ['relu', 'gelu', 'relu'] } } },
      'space.json: Expected a value different from params.act.choice[0] for params.act.choice[2] but received "relu" of type string',
    ],
    [{ name: 'x', params: { act: { choice: [[1]] } } }, 'space.json: Expected a finite number, a string, a boolean or null for params.act.choice[0] but received an array of length 1'],
    [
      { name: 'x', params: { w: { int: { low: 16, high: 100, step: 16 } } } },
      'space.json: Expected 16 plus a multiple of 16 (low plus a multiple of step) for params.w.int.high but received 100 of type number',
    ],
    [{ name: 'x', params: { w: { int: { low: 1, high: 4, stride: 2 } } } }, 'space.json: Unknown field "stride" in params.w.int; allowed fields are "low", "high", "step"'],
    [{ name: 'x', params: { w: { int: [1, 4] } } }, 'space.json: Expected an object like {"low":1,"high":8} for params.w.int but received an array of length 2'],
    [
      { name: 'x', params: { u: { log: { low: 1, high: 4, count: 8, integer: true } } } },
      'space.json: Expected distinct values for params.u.log but rounding 8 log-spaced values between 1 and 4 gives 1, 1, 1, 2, 2, 3, 3, 4; use a smaller count or a wider range',
    ],
    [{ name: 'x', params: { lr: { log: { low: 0.1, high: 0.01, count: 3 } } } }, 'space.json: Expected a number greater than 0.1 for params.lr.log.high but received 0.01 of type number'],
    [{ name: 'x', params: { layers: { repeat: { units: 16 } } } }, 'space.json: Expected an object like {"min":1,"max":4} or an array of counts for params.layers.count but received undefined'],
    [{ name: 'x', params: { layers: { repeat: 1, count: { min: 3, max: 1 } } } }, 'space.json: Expected an integer between 3 and 1024 for params.layers.count.max but received 1 of type number'],
    [{ name: 'x', params: { layers: { repeat: 1, count: [0, 2, 1] } } }, 'space.json: Expected an integer between 3 and 1024 for params.layers.count[2] but received 1 of type number'],
    [{ name: 'x', params: { layers: { repeat: 1, count: { min: 1, max: 2 }, times: 3 } } }, 'space.json: Unknown field "times" in params.layers; allowed fields are "repeat", "count", "when"'],
    [
      { name: 'x', params: { x: { choice: [1], int: { low: 0, high: 1 } } } },
      'space.json: Expected exactly one of the keys "choice", "int", "log", "repeat", "constant", "object" in params.x but received "choice" and "int"',
    ],
    [
      { name: 'x', params: { optimizer: { choice: ['sgd', 'adamw'] }, momentum: { choice: [0.9], when: { optimiser: ['sgd'] } } } },
      'space.json: Expected a condition on an earlier choice field of the same object (one of "optimizer") for params.momentum.when but received "optimiser" of type string',
    ],
    [
      { name: 'x', params: { momentum: { choice: [0.9], when: { optimizer: ['sgd'] } }, optimizer: { choice: ['sgd', 'adamw'] } } },
      'space.json: Expected a condition on an earlier choice field of the same object (there is none) for params.momentum.when but received "optimizer" of type string',
    ],
    [
      { name: 'x', params: { optimizer: { choice: ['sgd', 'adamw'] }, momentum: { choice: [0.9], when: { optimizer: ['adam'] } } } },
      'space.json: Expected one of "sgd", "adamw" for params.momentum.when.optimizer[0] but received "adam" of type string',
    ],
    [
      { name: 'x', params: { optimizer: { choice: ['sgd'] }, momentum: { choice: [0.9], when: { optimizer: [] } } } },
      'space.json: Expected a non-empty array of numbers, strings, booleans or null for params.momentum.when.optimizer but received an array of length 0',
    ],
    [
      { name: 'x', params: { layers: { repeat: { choice: [1, 2], when: { a: 1 } }, count: { min: 1, max: 2 } } } },
      'space.json: Unexpected "when" in params.layers.repeat: a condition is only allowed on a field of an object',
    ],
    [{ name: 'x', params: { o: { object: [1] } } }, 'space.json: Expected an object of fields for params.o.object but received an array of length 1'],
    [{ name: 'x', params: { "my key": { choice: [] } } }, 'space.json: Expected a non-empty array of numbers, strings, booleans or null for params["my key"].choice but received an array of length 0'],
    [{ name: 'x', type: 'mlp', params: { type: 'mlp', layers: [] } }, 'space.json: Expected no "type" field (the space\'s "type" sets it) for params.type but received "mlp" of type string'],
    [{ name: 'x', type: 'mlp', params: [1] }, 'space.json: Expected an object of fields (the fields of the mlp architecture) for params but received an array of length 1'],
    [
      { name: 'x', type: 'cnn', params: { repeat: { conv: 16 }, count: { min: 1, max: 2 } } },
      'space.json: Expected an object of fields (the fields of the cnn architecture) for params but received a "repeat" descriptor',
    ],
  ];
  for (const [value, message] of cases) invalidSpace(t, value, message);
});

test('an mlp or cnn space whose configs are not valid architectures is rejected at load time', (t) => {
  invalidSpace(
    t,
    { name: 'x', type: 'mlp', params: { layers: { repeat: { width: { choice: [16, 32] } }, count: { min: 1, max: 2 } } } },
    'space.json: params do not describe an mlp architecture: Unknown field "width" in arch.layers[0]; allowed fields are "units", "activation", "dropout", "batchNorm", "residual" (in the config {"type":"mlp","layers":[{"width":16}]})',
  );
  // Only the last option of the kernel choice is invalid: the last-options probe finds it.
  invalidSpace(
    t,
    { name: 'x', type: 'cnn', params: { layers: [{ conv: 8, kernel: { choice: [3, 5, 7] } }, { globalPool: 'avg' }] } },
    'space.json: params do not describe a cnn architecture: Expected one of 1, 3, 5 for arch.layers[0].kernel but received 7 of type number (in the config {"type":"cnn","layers":[{"conv":8,"kernel":7},{"globalPool":"avg"}]})',
  );
});

test('a cnn space file builds engine CNNs', (t) => {
  const space = parseSearchSpace({
    name: 'small-cnn',
    type: 'cnn',
    params: {
      layers: [
        { conv: { choice: [8, 16] }, kernel: { choice: [3, 5] }, batchNorm: true },
        { pool: 'max' },
        { conv: { choice: [16, 32] }, separable: { choice: [false, true] } },
        { globalPool: 'avg' },
      ],
    },
  });
  const rng = createRng(2);
  for (let i = 0; i < 20; i++) {
    const a = space.sample(rng);
    t.is((a as { type: string }).type, 'cnn');
    t.true(describeArch(space.build(a, digits), digits).params > 0);
  }
  t.is([...space.enumerate()].length, 16);
});

test('a repeat may sit between fixed layers: a fixed stem, 1–3 repeated blocks, a fixed head', async (t) => {
  const space = parseSearchSpace({
    name: 'stem-blocks-head',
    type: 'cnn',
    params: {
      layers: [
        { conv: 8, batchNorm: true },
        { repeat: { conv: { choice: [8, 16] }, kernel: { choice: [3, 5] } }, count: { min: 1, max: 3 } },
        { globalPool: 'avg' },
        { dense: 16 },
      ],
    },
  });
  const rng = createRng(4);
  const io = { inputShape: [8, 8, 1] as const, outputSize: 10 };
  const counts = new Set<number>();
  for (let i = 0; i < 12; i++) {
    const arch = space.build(space.sample(rng), io) as { type: string; layers: Record<string, unknown>[] };
    counts.add(arch.layers.length - 3);
    t.deepEqual(arch.layers[0], { conv: 8, batchNorm: true });
    t.deepEqual(arch.layers.slice(-2), [{ globalPool: 'avg' }, { dense: 16 }]);
    for (const l of arch.layers.slice(1, -2)) t.true([8, 16].includes(l.conv as number) && [3, 5].includes(l.kernel as number));
  }
  t.deepEqual([...counts].sort(), [1, 2, 3]);
  const [r] = await trainCandidates([space.build(space.sample(rng), io)], 'digits', { epochs: 1 });
  t.is(r!.status, 'ok');
});

test('spaces whose nesting multiplies past the limit, or nests too deep, are refused with the reason', (t) => {
  const nested = { name: 'n', type: 'mlp', params: { layers: { repeat: { units: { repeat: { repeat: 1, count: [1024] }, count: [1024] } }, count: [1024] } } };
  t.throws(() => parseSearchSpace(nested), {
    message: /Expected a space with at most 262144 decision options \(every repeat at its largest count\) for n but it has \d+: nested repeats multiply; lower their counts or nest fewer/,
  });
  let deep: unknown = 1;
  for (let i = 0; i < 3000; i++) deep = [deep];
  t.throws(() => parseSearchSpace({ name: 'd', type: 'config', params: { x: deep } }), { instanceOf: NasxError, message: /nested more than 64 levels deep$/ });
  let value: unknown = 1;
  for (let i = 0; i < 3000; i++) value = { v: value };
  t.throws(() => parseSearchSpace({ name: 'c', type: 'config', params: { x: { constant: value } } }), {
    instanceOf: NasxError,
    message: 'search space: Expected a JSON value nested at most 64 levels deep for params.x.constant but received an object',
  });
});
