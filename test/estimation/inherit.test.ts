import test from 'ava';
import type { Arch } from '../../lib/arch/arch.js';
import { loadDataset } from '../../lib/data/load.js';
import type { Dataset } from '../../lib/data/dataset.js';
import { inheritWeights, describeInheritance } from '../../lib/estimation/inherit.js';
import { native, type NativeTensor } from '../../lib/native/binding.js';
import { trainCandidates, type TrainResult } from '../../lib/train.js';

const parentArch: Arch = { type: 'mlp', layers: [{ units: 32, batchNorm: true }, { units: 16 }] };

let cached: Promise<{ data: Dataset; parent: TrainResult }> | undefined;
function trainedParent() {
  cached ??= (async () => {
    const data = await loadDataset('digits');
    const [parent] = await trainCandidates([parentArch], data, { epochs: 3, seed: 1, keepWeights: true });
    return { data, parent: parent! };
  })();
  return cached;
}

/** Inference-mode outputs of a network with the given weights on the first n validation samples. */
function outputs(nodes: ReturnType<typeof inheritWeights>['nodes'], weights: { params: NativeTensor[]; state: NativeTensor[] }, data: Dataset, n: number): Float32Array {
  const net = new (native().Network)(nodes, data.inputShape, data.outputSize, n, 0);
  net.setParams(weights.params.map((t) => t.data));
  net.setState(weights.state.map((t) => t.data));
  return net.forward(data.validation.x.subarray(0, n * data.inputShape.reduce((a, b) => a * b, 1)), n, false);
}

const maxRelDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / Math.max(1, Math.abs(v))), 0);

test('a wider and deeper child computes the trained parent\'s outputs on real inputs, before training', async (t) => {
  const { data, parent } = await trainedParent();
  t.is(parent.status, 'ok');
  const child: Arch = { type: 'mlp', layers: [{ units: 48, batchNorm: true }, { units: 48, batchNorm: true }, { units: 16 }] };
  const inherited = inheritWeights({ ...parent, outputSize: data.outputSize }, child, { seed: 4 });
  t.true(inherited.report.functionPreserving, inherited.report.reason);
  const hows = Object.fromEntries(inherited.report.params.map((p) => [p.tensor, `${p.how} ${p.from}`]));
  t.is(hows['layers[0].weight'], 'widen layers[0].weight');
  t.is(hows['layers[1].weight'], 'identity null');
  t.is(hows['layers[2].weight'], 'widen layers[1].weight');
  t.is(hows['output.weight'], 'copy output.weight');
  const n = 64;
  const parentNodes = (await import('../../lib/arch/arch.js')).lowerArch(parentArch, data.outputSize);
  const diff = maxRelDiff(outputs(parentNodes, parent.weights!, data, n), outputs(inherited.nodes, inherited, data, n));
  t.true(diff <= 1e-5, `max relative difference ${diff}`);
  t.regex(describeInheritance(inherited.report), /function-preserving/);
});

test('training with init: epochs 0 evaluates the inherited child (the parent\'s accuracy); its weights are inheritWeights\'s', async (t) => {
  const { data, parent } = await trainedParent();
  const child: Arch = { type: 'mlp', layers: [{ units: 40, batchNorm: true }, { units: 16 }] };
  const [r] = await trainCandidates([child], data, { epochs: 0, seed: 9, keepWeights: true, init: [{ parent }] });
  t.is(r!.status, 'ok', r!.error);
  t.true(r!.inheritance!.functionPreserving);
  t.true(Math.abs(r!.metrics.valAccuracy! - parent.metrics.valAccuracy!) < 1e-9, `${r!.metrics.valAccuracy} vs ${parent.metrics.valAccuracy}`);
  t.true(Math.abs(r!.metrics.testLoss! - parent.metrics.testLoss!) < 1e-4);
  t.deepEqual(r!.epochs, []);
  const direct = inheritWeights({ ...parent, outputSize: data.outputSize }, child, { seed: 9 });
  t.deepEqual(r!.weights!.params.map((p) => Array.from(p.data)), direct.params.map((p) => Array.from(p.data)));
  // A child trained on from its parent learns from there: one more epoch keeps it near the parent.
  const [fromParent, scratch] = await trainCandidates([child, child], data, { epochs: 1, seed: 9, init: [{ parent }, null] });
  t.truthy(fromParent!.inheritance);
  t.is(scratch!.inheritance, undefined);
  t.true(fromParent!.metrics.valAccuracy! > scratch!.metrics.valAccuracy!, `${fromParent!.metrics.valAccuracy} vs scratch ${scratch!.metrics.valAccuracy}`);
});

test('a conv child (more filters, a 5×5 kernel) inherits from a conv parent without changing its outputs', async (t) => {
  const data = await loadDataset('digits');
  const p: Arch = { type: 'cnn', layers: [{ conv: 8 }, { pool: 'max' }, { conv: 8 }, { globalPool: 'avg' }] };
  const c: Arch = { type: 'cnn', layers: [{ conv: 12 }, { pool: 'max' }, { conv: 8, kernel: 5 }, { globalPool: 'avg' }] };
  const [parent] = await trainCandidates([p], data, { epochs: 1, seed: 2, keepWeights: true });
  const inherited = inheritWeights({ ...parent!, outputSize: data.outputSize }, c);
  t.true(inherited.report.functionPreserving, inherited.report.reason);
  t.is(inherited.report.params.find((x) => x.tensor === 'layers[2].weight')!.how, 'widen+kernel-embed');
  const { lowerArch } = await import('../../lib/arch/arch.js');
  const diff = maxRelDiff(outputs(lowerArch(p, data.outputSize), parent!.weights!, data, 32), outputs(inherited.nodes, inherited, data, 32));
  t.true(diff <= 1e-5, `max relative difference ${diff}`);
});

test('bad parents are refused with the argument named; an incompatible child inherits what it can', async (t) => {
  const { data, parent } = await trainedParent();
  const { weights: _w, ...noWeights } = parent;
  await t.throwsAsync(trainCandidates([parentArch], data, { init: [{ parent: noWeights as TrainResult }] }), {
    instanceOf: TypeError,
    message: /^Expected the trained weights \(\{ params, state \}; train the parent with keepWeights: true\) for options\.init\[0\]\.parent\.weights but received undefined/,
  });
  await t.throwsAsync(trainCandidates([parentArch], data, { init: [] }), { instanceOf: RangeError, message: /options\.init to hold one entry per architecture \(1\)/ });
  const truncated = { ...parent, weights: { params: parent.weights!.params.slice(1), state: parent.weights!.state } };
  await t.throwsAsync(trainCandidates([parentArch], data, { init: [{ parent: truncated }] }), { message: "Expected 7 tensors (the parent network's) for options.init[0].parent.weights.params but received 6" });
  // A child with nothing in common but the head: trains, with the report saying what was fresh.
  const [r] = await trainCandidates([{ type: 'mlp', layers: [{ units: 7, activation: 'tanh' }] }], data, { epochs: 1, init: [{ parent }] });
  t.is(r!.status, 'ok');
  t.false(r!.inheritance!.functionPreserving);
  t.truthy(r!.inheritance!.reason);
});
