import test from 'ava';
import { describeArch } from '../../lib/arch/describe.js';
import { lowerArch, type MlpArch } from '../../lib/arch/arch.js';
import { NasxError } from '../../lib/errors.js';
import { SPACES, SPACE_NAMES, buildCnn, getSpace, isTrainableSpace, type CnnSpaceArch } from '../../lib/space/index.js';
import { trainCandidates } from '../../lib/train.js';
import { createRng } from '../../lib/util/rng.js';

const digits = { inputShape: [8, 8, 1] as const, outputSize: 10 };
const mnist = { inputShape: [28, 28, 1] as const, outputSize: 10 };

test('the registry lists the built-in spaces and rejects unknown names', (t) => {
  t.deepEqual(SPACE_NAMES, ['mlp', 'cnn', 'nb201']);
  for (const name of SPACE_NAMES) {
    const space = getSpace(name);
    t.is(space.name, name);
    t.true(isTrainableSpace(space));
    t.true(SPACES[name].description.length > 0);
  }
  t.throws(() => getSpace('rnn'), { instanceOf: RangeError, message: 'Expected one of "mlp", "cnn", "nb201" for space but received "rnn" of type string' });
  t.throws(() => getSpace(3 as never), { instanceOf: TypeError, message: 'Expected one of "mlp", "cnn", "nb201" for space but received 3 of type number' });
  t.throws(() => getSpace('mlp', { depth: 3 } as never), { instanceOf: RangeError, message: 'Unknown option "depth" for options; the mlp space takes no options' });
  t.throws(() => getSpace('cnn', 5 as never), { instanceOf: TypeError, message: 'Expected an object for options but received 5 of type number' });
});

test('mlp architectures are engine MLPs with every field written out', (t) => {
  const space = getSpace('mlp');
  const a = space.sample(createRng(3));
  t.is(a.type, 'mlp');
  t.true(a.layers.length >= 1 && a.layers.length <= 6);
  for (const layer of a.layers) t.deepEqual(Object.keys(layer), ['units', 'activation', 'dropout', 'batchNorm', 'residual']);
  t.deepEqual(space.build(a, digits), a);
  t.is(space.encodingLength, 6 + 6 * (6 + 4 + 5 + 2 + 2));
  const b = { type: 'mlp', layers: [{ units: 64, activation: 'relu', dropout: 0, batchNorm: false, residual: false }] };
  t.deepEqual(space.decisions(b as never), [0, 2, 0, 0, 0, 0]);
});

test('mlp validate errors name the layer field and the value', (t) => {
  const space = getSpace('mlp');
  const layer = { units: 64, activation: 'relu', dropout: 0, batchNorm: false, residual: false };
  const cases: [unknown, string][] = [
    [{ type: 'mlp', layers: [layer, { ...layer, units: 48 }] }, 'Expected one of 16, 32, 64, 128, 256, 512 for layers[1].units but received 48 of type number'],
    [{ type: 'mlp', layers: [{ ...layer, activation: 'identity' }] }, 'Expected one of "relu", "gelu", "tanh", "sigmoid" for layers[0].activation but received "identity" of type string'],
    [{ type: 'mlp', layers: [{ ...layer, dropout: 0.4 }] }, 'Expected one of 0, 0.1, 0.2, 0.3, 0.5 for layers[0].dropout but received 0.4 of type number'],
    [{ type: 'mlp', layers: [{ ...layer, batchNorm: 1 }] }, 'Expected one of false, true for layers[0].batchNorm but received 1 of type number'],
    [{ type: 'mlp', layers: [{ ...layer, width: 64 }] }, 'Unknown field "width" in layers[0]; allowed fields are "units", "activation", "dropout", "batchNorm", "residual"'],
    [{ type: 'mlp', layers: Array(7).fill(layer) }, 'Expected an array of 1 to 6 items for layers but received an array of length 7'],
    [{ type: 'mlp', layers: [{ units: 64 }] }, 'Expected one of "relu", "gelu", "tanh", "sigmoid" for layers[0].activation but received undefined'],
    [{ type: 'cnn', layers: [layer] }, 'Expected "mlp" for type but received "cnn" of type string'],
    ['mlp', 'Expected an object for arch but received "mlp" of type string'],
  ];
  for (const [arch, message] of cases) {
    const err = t.throws(() => space.validate(arch as never), { instanceOf: NasxError, message });
    t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARCH');
  }
});

test('cnn configs build the documented CnnArch', (t) => {
  const a: CnnSpaceArch = {
    stem: { channels: 16 },
    stages: [
      { channels: 32, conv: 'separable', kernel: 5, blocks: 2, residual: true, downsample: 'stride' },
      { channels: 64, conv: 'standard', kernel: 3, blocks: 1, residual: false, downsample: 'maxpool' },
    ],
    head: { hidden: true, units: 64 },
  };
  const space = getSpace('cnn');
  space.validate(a);
  t.deepEqual(buildCnn(a), {
    type: 'cnn',
    layers: [
      { conv: 16, kernel: 3, batchNorm: true },
      { residual: [{ conv: 32, kernel: 5, batchNorm: true, separable: true, stride: 2 }] },
      { residual: [{ conv: 32, kernel: 5, batchNorm: true, separable: true }] },
      { pool: 'max' },
      { conv: 64, kernel: 3, batchNorm: true },
      { globalPool: 'avg' },
      { dense: 64 },
    ],
  });
  t.deepEqual(space.build(a, digits), buildCnn(a));
  const noHidden = { ...a, head: { hidden: false } };
  t.deepEqual(buildCnn(noHidden).layers.at(-1), { globalPool: 'avg' });
});

test('cnn validate errors for the conditional head', (t) => {
  const space = getSpace('cnn');
  const base = { stem: { channels: 8 }, stages: [{ channels: 16, conv: 'standard', kernel: 3, blocks: 1, residual: false, downsample: 'none' }] };
  t.throws(() => space.validate({ ...base, head: { hidden: false, units: 64 } } as never), {
    instanceOf: NasxError,
    message: 'Expected no value for head.units (present only when head.hidden is true) but received 64 of type number',
  });
  t.throws(() => space.validate({ ...base, head: { hidden: true } } as never), {
    instanceOf: NasxError,
    message: 'Expected one of 32, 64, 128 for head.units but received undefined',
  });
  t.throws(() => space.validate({ ...base, stages: [{ ...base.stages[0], downsample: 'avgpool' }], head: { hidden: false } } as never), {
    instanceOf: NasxError,
    message: 'Expected one of "stride", "maxpool", "none" for stages[0].downsample but received "avgpool" of type string',
  });
});

test('cost matches describeArch, and sampled mlp and cnn builds lower and plan on 8×8 and 28×28 inputs', (t) => {
  const rng = createRng(7);
  for (const name of ['mlp', 'cnn'] as const) {
    const space = getSpace(name);
    for (let i = 0; i < 150; i++) {
      const a = space.sample(rng);
      for (const io of [digits, mnist]) {
        const arch = space.build(a as never, io);
        t.notThrows(() => lowerArch(arch, io.outputSize));
        const plan = describeArch(arch, io);
        t.deepEqual(space.cost(a as never, io), { params: plan.params, flops: plan.flops });
        t.deepEqual(plan.nodes.at(-1)!.outputShape, [1, 1, 10]);
      }
    }
  }
  // A hand-counted MLP: 64→32 (BN, no bias), then 32→32 with a residual (same width: no projection).
  const mlp: MlpArch = {
    type: 'mlp',
    layers: [
      { units: 32, activation: 'relu', dropout: 0, batchNorm: true, residual: false },
      { units: 32, activation: 'tanh', dropout: 0.1, batchNorm: false, residual: true },
    ],
  };
  const params = 64 * 32 + 2 * 32 + (32 * 32 + 32) + (32 * 10 + 10);
  t.is(getSpace('mlp').cost(mlp as never, digits).params, params);
});

test('sampled mlp and cnn architectures train on digits', async (t) => {
  const rng = createRng(11);
  const mlp = getSpace('mlp');
  const cnn = getSpace('cnn');
  const archs = [mlp.build(mlp.sample(rng), digits), cnn.build(cnn.sample(rng), digits)];
  const results = await trainCandidates(archs, 'digits', { epochs: 1, seed: 2 });
  for (const r of results) t.is(r.status, 'ok', r.error);
});
