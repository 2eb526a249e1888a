import test from 'ava';
import { describeArch } from '../lib/arch/describe.js';
import { lowerArch, parseArch, type Arch } from '../lib/arch/arch.js';
import { NasxError } from '../lib/errors.js';
import { trainCandidates } from '../lib/train.js';

const digits = { inputShape: [8, 8, 1] as [number, number, number], outputSize: 10 };

test('an MLP lowers to dense, batch norm, activation and dropout nodes with an implied head', (t) => {
  const nodes = lowerArch({ type: 'mlp', layers: [{ units: 16, batchNorm: true, dropout: 0.5, activation: 'tanh' }] }, 10);
  t.deepEqual(nodes, [
    { op: 'dense', name: 'layers[0]', units: 16, bias: false },
    { op: 'batch_norm', name: 'layers[0].bn' },
    { op: 'activation', name: 'layers[0].tanh', activation: 'tanh' },
    { op: 'dropout', name: 'layers[0].dropout', rate: 0.5 },
    { op: 'dense', name: 'output', units: 10 },
  ]);
});

test('describeArch counts parameters and FLOPs, and shapes every node', (t) => {
  const plan = describeArch(
    { type: 'cnn', layers: [{ conv: 4, stride: 2 }, { residual: [{ conv: 8, separable: true }] }, { globalPool: 'avg' }] },
    digits,
  );
  const conv = 3 * 3 * 1 * 4 + 4;
  const separable = 3 * 3 * 4 + 4 * 8 + 8;
  const projection = 4 * 8;
  t.is(plan.params, conv + separable + projection + 8 * 10 + 10);
  t.deepEqual(plan.nodes.map((n) => [n.name, n.outputShape]), [
    ['layers[0]', [4, 4, 4]],
    ['layers[0].relu', [4, 4, 4]],
    ['layers[1].residual[0].depthwise', [4, 4, 4]],
    ['layers[1].residual[0].pointwise', [4, 4, 8]],
    ['layers[1].residual[0].relu', [4, 4, 8]],
    ['layers[1].add.projection', [4, 4, 8]],
    ['layers[1].add', [4, 4, 8]],
    ['layers[2]', [1, 1, 8]],
    ['output', [1, 1, 10]],
  ]);
  t.true(plan.flops > 0);
});

const invalid: [string, unknown, string][] = [
  ['not an object', 'mlp', 'Expected an architecture object like {"type":"mlp","layers":[...]} for arch but received "mlp" of type string'],
  ['no type', { layers: [] }, 'Expected one of "mlp", "cnn", "graph" for arch.type but received undefined'],
  ['layers not an array', { type: 'mlp', layers: 3 }, 'Expected an array of layers for arch.layers but received 3 of type number'],
  ['non-integer units', { type: 'mlp', layers: [{ units: 1.5 }] }, 'Expected an integer between 1 and 1048576 for arch.layers[0].units but received 1.5 of type number'],
  ['unknown activation', { type: 'mlp', layers: [{ units: 4, activation: 'swish' }] }, 'Expected one of "relu", "gelu", "tanh", "sigmoid", "identity" for arch.layers[0].activation but received "swish" of type string'],
  ['dropout of 1', { type: 'mlp', layers: [{ units: 4, dropout: 1 }] }, 'Expected a number in [0, 1) for arch.layers[0].dropout but received 1 of type number'],
  ['stride 3', { type: 'cnn', layers: [{ conv: 4, stride: 3 }] }, 'Expected one of 1, 2 for arch.layers[0].stride but received 3 of type number'],
  ['unknown pool', { type: 'cnn', layers: [{ pool: 'min' }] }, 'Expected one of "max", "avg" for arch.layers[0].pool but received "min" of type string'],
  ['empty residual', { type: 'cnn', layers: [{ residual: [] }] }, 'Expected a non-empty array of layers for arch.layers[0].residual but received an array of length 0'],
  ['unknown layer', { type: 'cnn', layers: [{ lstm: 4 }] }, 'Unknown layer at arch.layers[0]: expected one of the keys "conv", "depthwise", "pool", "globalPool", "dense", "dropout", "residual" but received {"lstm":4}'],
  ['graph input out of range', { type: 'graph', nodes: [{ op: 'dense', units: 2, inputs: [3] }] }, 'Expected an array of node indices between -1 and -1 for arch.nodes[0].inputs but received an array of length 1'],
  ['unknown op', { type: 'graph', nodes: [{ op: 'lstm' }] }, 'Expected one of "dense", "conv2d", "depthwise_conv2d", "max_pool", "avg_pool", "global_avg_pool", "batch_norm", "dropout", "activation", "flatten", "add" for arch.nodes[0].op but received "lstm" of type string'],
  ['bad hyper lr', { type: 'mlp', layers: [], hyper: { lr: 0 } }, 'Expected a number greater than 0 and at most 1000 for arch.hyper.lr but received 0 of type number'],
];

for (const [name, arch, message] of invalid) {
  test(`invalid architecture: ${name}`, (t) => {
    const err = t.throws(() => lowerArch(arch, 10), { instanceOf: NasxError, message });
    t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARCH');
  });
}

test('the engine re-checks shapes and names the layer', (t) => {
  const arch: Arch = { type: 'graph', nodes: [{ op: 'conv2d', filters: 4, kernel: 3 }, { op: 'dense', units: 3 }] };
  t.throws(() => describeArch(arch, digits), {
    instanceOf: NasxError,
    message: "nodes[1] (dense): the network's output must have 10 values per sample but has 3 (shape [1,1,3])",
  });
});

test('parseArch rejects malformed JSON with the source named', (t) => {
  t.throws(() => parseArch('{"type":', 'model.json'), { instanceOf: NasxError, message: /^model\.json is not valid JSON: / });
});

test('parseArch takes JSON text, lowerArch an outputSize from 1 to 2^20, describeArch a shape object', (t) => {
  const mlp: Arch = { type: 'mlp', layers: [{ units: 8 }] };
  t.throws(() => parseArch(Symbol('a') as never), { instanceOf: TypeError, message: 'Expected JSON text (a string) for text but received Symbol(a) of type symbol' });
  t.throws(() => parseArch({ type: 'mlp' } as never), { instanceOf: TypeError, message: 'Expected JSON text (a string) for text but received an object' });
  t.throws(() => parseArch('{}', 5 as never), { instanceOf: TypeError, message: 'Expected a name for messages (a string) for source but received 5 of type number' });
  for (const outputSize of [-1, 0, NaN, 2.5, Infinity, 2 ** 20 + 1]) {
    t.throws(() => lowerArch(mlp, outputSize), { instanceOf: RangeError, message: `Expected an integer between 1 and 1048576 for outputSize but received ${outputSize} of type number` });
  }
  t.throws(() => lowerArch(mlp, '10' as never), { instanceOf: TypeError, message: 'Expected an integer between 1 and 1048576 for outputSize but received "10" of type string' });
  t.throws(() => describeArch(mlp, null as never), { instanceOf: TypeError, message: 'Expected an object for shape but received null' });
  t.throws(() => describeArch(mlp, { inputShape: [8, 8, 1] } as never), { instanceOf: TypeError, message: 'Expected an integer between 1 and 1048576 for shape.outputSize but received undefined' });
});

const badCalls: [string, () => Promise<unknown>, new (...a: never[]) => Error, string][] = [
  ['archs not an array', () => trainCandidates('mlp' as never, 'digits'), TypeError, 'Expected an array of architectures for archs but received "mlp" of type string'],
  ['epochs -1', () => trainCandidates([], 'digits', { epochs: -1 }), RangeError, 'Expected an integer between 0 and 100000 for options.epochs but received -1 of type number'],
  ['lr as a string', () => trainCandidates([], 'digits', { lr: '0.1' as never }), TypeError, 'Expected a number greater than 0 and at most 10 for options.lr but received "0.1" of type string'],
  ['unknown option', () => trainCandidates([], 'digits', { epoch: 3 } as never), RangeError, 'Unknown option "epoch" for options; known options are epochs, batchSize, optimizer, lr, momentum, weightDecay, warmupFraction, seed, threads, dataFraction, resolution, keepWeights, keepState, resume, init, scheduleEpochs, maxMemory, signal, onProgress'],
  ['signal not an AbortSignal', () => trainCandidates([], 'digits', { signal: {} as never }), TypeError, 'Expected an AbortSignal for options.signal but received an object'],
  ['unknown data set', () => trainCandidates([], 'mnist2' as never), RangeError, 'Expected one of "digits", "fashion-mnist" for dataset but received "mnist2" of type string'],
  ['data fraction above 1', () => trainCandidates([], 'digits', { dataFraction: 1.5 }), RangeError, 'Expected a number greater than 0 and at most 1 for options.dataFraction but received 1.5 of type number'],
];

for (const [name, call, type, message] of badCalls) {
  test(`trainCandidates bad input: ${name}`, async (t) => {
    await t.throwsAsync(call(), { instanceOf: type, message });
  });
}

test('an empty batch resolves to no results', async (t) => {
  t.deepEqual(await trainCandidates([], 'digits'), []);
});

test('residual blocks nested past the limit are refused naming the path, not a stack overflow', (t) => {
  let layers: unknown[] = [{ conv: 8 }];
  for (let i = 0; i < 2000; i++) layers = [{ residual: layers }];
  t.throws(() => lowerArch({ type: 'cnn', layers } as never, 10), {
    message: `Expected layers nested in at most 32 residual blocks for arch.layers[0]${'.residual[0]'.repeat(32)}.residual but received an array of length 1`,
  });
});
