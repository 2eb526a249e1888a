/**
 * Parity of the native engine with TensorFlow.js (pure-JS 'cpu' backend): for each layer type, the
 * losses and a few whole small networks, the same computation is built from the same weights with
 * tfjs functional ops, and the engine's forward output, gradients with respect to every parameter and
 * gradient with respect to the input are compared. Gradients are of L = Σ output·R for a fixed random
 * R, which is what `backward(R)` computes.
 *
 * Rule: every value must satisfy |engine − tfjs| ≤ 1e-4 · max(1, |tfjs|), i.e. 1e-4 absolute for
 * values of magnitude up to 1 and 1e-4 relative above. Each test logs its largest differences.
 */
import test, { type ExecutionContext } from 'ava';
import * as tf from '@tensorflow/tfjs';
import { native, type ActivationName, type NativeNode, type NativeTensor, type Shape3 } from '../../lib/native/binding.js';
import { createRng, type Rng } from '../../lib/util/rng.js';

const TOLERANCE = 1e-4;
const EPSILON = 1e-5; // the engine's batch-norm epsilon
const MOMENTUM = 0.1; // the engine's running-statistics momentum
const DROPOUT_SEED = 99;

test.before(async (t) => {
  t.true(await tf.setBackend('cpu'), 'the tfjs cpu backend is available');
});

// ---------------------------------------------------------------------------------------------
// Comparison

interface Difference {
  /** Largest |engine − tfjs| / max(1, |tfjs|). */
  error: number;
  /** Largest |engine − tfjs|. */
  absolute: number;
  where: string;
}

function difference(actual: ArrayLike<number>, expected: ArrayLike<number>): Difference {
  if (actual.length !== expected.length) return { error: Infinity, absolute: Infinity, where: `length ${actual.length} vs ${expected.length}` };
  let worst: Difference = { error: -1, absolute: 0, where: '' };
  let absolute = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const abs = Math.abs(a - e);
    const error = Number.isNaN(abs) ? Infinity : abs / Math.max(1, Math.abs(e));
    absolute = Math.max(absolute, abs);
    if (error > worst.error) worst = { error, absolute: abs, where: `[${i}] engine ${a}, tfjs ${e}` };
  }
  return { ...worst, absolute };
}

/** Compares named quantities; fails the test listing every one outside the rule, and logs the worst differences. */
function expectClose(t: ExecutionContext, pairs: [label: string, actual: ArrayLike<number>, expected: ArrayLike<number>][]): void {
  const failures: string[] = [];
  const summary: string[] = [];
  for (const [label, actual, expected] of pairs) {
    const d = difference(actual, expected);
    summary.push(`${label} ${d.absolute.toExponential(1)}`);
    if (!(d.error <= TOLERANCE)) failures.push(`${label}: error ${d.error.toExponential(2)} at ${d.where}`);
  }
  t.log(`max |engine − tfjs|: ${summary.join(', ')}`);
  if (failures.length > 0) t.fail(`outside |engine − tfjs| ≤ ${TOLERANCE}·max(1, |tfjs|):\n${failures.join('\n')}`);
  else t.pass();
}

// ---------------------------------------------------------------------------------------------
// Engine side

function uniform(rng: Rng, n: number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * (2 * rng.next() - 1);
  return a;
}

interface EngineCase {
  nodes: NativeNode[];
  inputShape: Shape3;
  outputSize: number;
  batch?: number;
  training?: boolean;
  /** Half-width of the uniform input distribution. */
  inputScale?: number;
  seed?: number;
}

interface EngineRun {
  batch: number;
  inputShape: Shape3;
  outputSize: number;
  params: NativeTensor[];
  /** State loaded before the forward pass (batch-norm running statistics). */
  stateBefore: NativeTensor[];
  stateAfter: NativeTensor[];
  x: Float32Array;
  r: Float32Array;
  y: Float32Array;
  grads: Float32Array[];
  dx: Float32Array;
}

/**
 * Builds the network, moves every parameter away from its initial value (so biases are not 0 and
 * batch-norm scales not 1), loads random running statistics, and runs forward and backward(R).
 */
function runEngine(c: EngineCase): EngineRun {
  const batch = c.batch ?? 3;
  const seed = c.seed ?? 17;
  const rng = createRng(seed);
  const net = new (native().Network)(c.nodes, c.inputShape, c.outputSize, batch, seed);
  const params = net.params().map((p) => {
    const noise = uniform(rng, p.data.length, 0.5);
    for (let i = 0; i < noise.length; i++) noise[i]! += p.data[i]!;
    return { ...p, data: noise };
  });
  net.setParams(params.map((p) => p.data));
  const stateBefore = net.state().map((s) => ({
    ...s,
    data: s.name.endsWith('running_var') ? uniform(rng, s.data.length, 0.5, 1) : uniform(rng, s.data.length, 0.5),
  }));
  net.setState(stateBefore.map((s) => s.data));
  const [h, w, ch] = c.inputShape;
  const x = uniform(rng, batch * h * w * ch, c.inputScale ?? 1);
  const r = uniform(rng, batch * c.outputSize);
  const y = net.forward(x, batch, c.training ?? false, DROPOUT_SEED);
  const stateAfter = net.state();
  const g = net.backward(r, true);
  return { batch, inputShape: c.inputShape, outputSize: c.outputSize, params, stateBefore, stateAfter, x, r, y, grads: g.params, dx: g.input! };
}

// ---------------------------------------------------------------------------------------------
// tfjs side

/** A tensor by engine name ("conv.weight"); a wrong name fails with the names on offer. */
type Lookup = (name: string) => tf.Tensor;

/** The same computation in tfjs: x is [batch, h, w, c]; the result may have any shape with batch × outputSize values. */
type Reference = (x: tf.Tensor4D, param: Lookup, state: Lookup) => tf.Tensor;

function lookup(names: string[], tensors: tf.Tensor[], what: string): Lookup {
  return (name) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`no ${what} named "${name}"; the engine has: ${names.join(', ') || '(none)'}`);
    return tensors[i]!;
  };
}

interface ReferenceRun {
  y: Float32Array;
  grads: Float32Array[];
  dx: Float32Array;
}

/** Evaluates `reference` on the engine run's input, parameters and state, with gradients of Σ y·R. */
function runReference(run: EngineRun, reference: Reference): ReferenceRun {
  let out: ReferenceRun | undefined;
  tf.tidy(() => {
    const x = tf.tensor4d(run.x, [run.batch, ...run.inputShape]);
    const params = run.params.map((p) => tf.tensor(p.data, p.shape));
    const state = lookup(
      run.stateBefore.map((s) => s.name),
      run.stateBefore.map((s) => tf.tensor(s.data, s.shape)),
      'state tensor',
    );
    const r = tf.tensor2d(run.r, [run.batch, run.outputSize]);
    const names = run.params.map((p) => p.name);
    const f = (xs: tf.Tensor, ...ps: tf.Tensor[]) =>
      tf.reshape(reference(xs as tf.Tensor4D, lookup(names, ps, 'parameter'), state), [run.batch, run.outputSize]);
    const y = f(x, ...params);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(args[0]!, ...args.slice(1)), r)))([x, ...params]);
    out = {
      y: Float32Array.from(y.dataSync()),
      dx: Float32Array.from(grads[0]!.dataSync()),
      grads: grads.slice(1).map((g) => Float32Array.from(g.dataSync())),
    };
  });
  return out!;
}

/** Output, every parameter gradient and the input gradient of the engine against the reference. */
function expectParity(t: ExecutionContext, run: EngineRun, reference: Reference): void {
  const ref = runReference(run, reference);
  expectClose(t, [
    ['output', run.y, ref.y],
    ...run.params.map((p, i): [string, Float32Array, Float32Array] => [`d/d(${p.name})`, run.grads[i]!, ref.grads[i]!]),
    ['d/d(input)', run.dx, ref.dx],
  ]);
}

function checkParity(t: ExecutionContext, c: EngineCase, reference: Reference): EngineRun {
  const run = runEngine(c);
  expectParity(t, run, reference);
  return run;
}

// Reference layers, one function per engine op, shared by the layer tests and the network tests.

function denseRef(x: tf.Tensor, p: Lookup, name: string, bias = true): tf.Tensor2D {
  // A dense layer on a spatial tensor reads it flattened in h, w, c order (row-major NHWC).
  const flat = tf.reshape(x, [x.shape[0]!, -1]) as tf.Tensor2D;
  const y = tf.matMul<tf.Tensor2D>(flat, p(`${name}.weight`));
  return bias ? tf.add<tf.Tensor2D>(y, p(`${name}.bias`)) : y;
}

function convRef(x: tf.Tensor4D, p: Lookup, name: string, stride: number, bias = true): tf.Tensor4D {
  const y = tf.conv2d(x, p(`${name}.weight`) as tf.Tensor4D, stride, 'same');
  return bias ? tf.add(y, p(`${name}.bias`)) : y;
}

function depthwiseRef(x: tf.Tensor4D, p: Lookup, name: string, stride: number, bias = true): tf.Tensor4D {
  const w = p(`${name}.weight`); // [k, k, c]; tfjs wants [k, k, c, multiplier]
  const y = tf.depthwiseConv2d(x, tf.expandDims(w, 3) as tf.Tensor4D, stride, 'same');
  return bias ? tf.add(y, p(`${name}.bias`)) : y;
}

/**
 * Average pooling with 'same' padding, dividing each window by its count of real (unpadded) cells.
 * tfjs's tf.avgPool forward uses the same convention, but its gradient (cpu AvgPoolGrad, tfjs 4.22)
 * divides by k·k even for windows that overlap the padding, which disagrees with its own forward
 * pass. So the reference is built explicitly as (window sum) / (window count), with both as
 * depthwise convolutions of a ones kernel; the tests also compare the forward pass with tf.avgPool.
 */
function avgPoolRef(x: tf.Tensor4D, kernel: number, stride: number): tf.Tensor4D {
  const ones = tf.ones([kernel, kernel, x.shape[3], 1]) as tf.Tensor4D;
  const sums = tf.depthwiseConv2d(x, ones, stride, 'same');
  const counts = tf.depthwiseConv2d(tf.ones(x.shape) as tf.Tensor4D, ones, stride, 'same');
  return tf.div(sums, counts);
}

function batchNormRef(x: tf.Tensor, p: Lookup, s: Lookup, name: string, training: boolean): tf.Tensor {
  const axes = x.shape.map((_, i) => i).slice(0, -1); // every axis but channels
  const { mean, variance } = training
    ? tf.moments(x, axes) // biased batch variance
    : { mean: s(`${name}.running_mean`), variance: s(`${name}.running_var`) };
  const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPSILON)));
  return tf.add(tf.mul(xhat, p(`${name}.gamma`)), p(`${name}.beta`));
}

function activationRef(x: tf.Tensor, a: ActivationName): tf.Tensor {
  switch (a) {
    case 'identity':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'gelu': // exact form: x·Φ(x) = ½x(1 + erf(x/√2))
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
  }
}

// ---------------------------------------------------------------------------------------------
// Layers

test('dense 7 → 5 with bias, on a flat input', (t) => {
  checkParity(t, { nodes: [{ op: 'dense', name: 'fc', units: 5 }], inputShape: [1, 1, 7], outputSize: 5, batch: 4 }, (x, p) =>
    denseRef(x, p, 'fc'),
  );
});

test('dense [3,3,2] → 4 without bias, reading a spatial input in h,w,c order', (t) => {
  checkParity(t, { nodes: [{ op: 'dense', name: 'fc', units: 4, bias: false }], inputShape: [3, 3, 2], outputSize: 4 }, (x, p) =>
    denseRef(x, p, 'fc', false),
  );
});

for (const kernel of [1, 3, 5]) {
  for (const stride of [1, 2]) {
    const [h, w, c, filters] = [7, 5, 3, 4];
    const oh = Math.ceil(h / stride);
    const ow = Math.ceil(w / stride);
    test(`conv2d kernel ${kernel} stride ${stride} on [${h},${w},${c}] → ${filters} filters, with bias`, (t) => {
      checkParity(
        t,
        { nodes: [{ op: 'conv2d', name: 'conv', filters, kernel, stride }], inputShape: [h, w, c], outputSize: oh * ow * filters },
        (x, p) => convRef(x, p, 'conv', stride),
      );
    });
  }
}

test('conv2d kernel 3 stride 2 on [6,9,2] → 3 filters, without bias (even and odd sizes)', (t) => {
  checkParity(
    t,
    { nodes: [{ op: 'conv2d', name: 'conv', filters: 3, kernel: 3, stride: 2, bias: false }], inputShape: [6, 9, 2], outputSize: 3 * 5 * 3 },
    (x, p) => convRef(x, p, 'conv', 2, false),
  );
});

for (const kernel of [3, 5]) {
  for (const stride of [1, 2]) {
    const [h, w, c] = [7, 5, 3];
    test(`depthwise_conv2d kernel ${kernel} stride ${stride} on [${h},${w},${c}], with bias`, (t) => {
      checkParity(
        t,
        {
          nodes: [{ op: 'depthwise_conv2d', name: 'dw', kernel, stride }],
          inputShape: [h, w, c],
          outputSize: Math.ceil(h / stride) * Math.ceil(w / stride) * c,
        },
        (x, p) => depthwiseRef(x, p, 'dw', stride),
      );
    });
  }
}

test('depthwise_conv2d kernel 3 stride 2 on [6,6,2], without bias', (t) => {
  checkParity(
    t,
    { nodes: [{ op: 'depthwise_conv2d', name: 'dw', kernel: 3, stride: 2, bias: false }], inputShape: [6, 6, 2], outputSize: 3 * 3 * 2 },
    (x, p) => depthwiseRef(x, p, 'dw', 2, false),
  );
});

for (const kernel of [2, 3]) {
  for (const stride of [1, 2]) {
    const [h, w, c] = [7, 5, 3];
    const outputSize = Math.ceil(h / stride) * Math.ceil(w / stride) * c;
    test(`max_pool size ${kernel} stride ${stride} on [${h},${w},${c}] ('same' padding)`, (t) => {
      checkParity(t, { nodes: [{ op: 'max_pool', kernel, stride }], inputShape: [h, w, c], outputSize }, (x) =>
        tf.maxPool(x, kernel, stride, 'same'),
      );
    });
    test(`avg_pool size ${kernel} stride ${stride} on [${h},${w},${c}] ('same' padding, count excludes padding)`, (t) => {
      const run = checkParity(t, { nodes: [{ op: 'avg_pool', kernel, stride }], inputShape: [h, w, c], outputSize }, (x) =>
        avgPoolRef(x, kernel, stride),
      );
      // tf.avgPool itself: its forward pass follows the same convention (see avgPoolRef for its gradient).
      const direct = tf.tidy(() => tf.avgPool(tf.tensor4d(run.x, [run.batch, h, w, c]), kernel, stride, 'same').dataSync());
      expectClose(t, [['output vs tf.avgPool', run.y, direct]]);
    });
  }
}

test('global_avg_pool on [5,3,4]', (t) => {
  checkParity(t, { nodes: [{ op: 'global_avg_pool' }], inputShape: [5, 3, 4], outputSize: 4 }, (x) => tf.mean(x, [1, 2]));
});

test('batch_norm, training mode (batch statistics), on [5,3,4] with batch 3; running statistics updated', (t) => {
  const run = checkParity(
    t,
    { nodes: [{ op: 'batch_norm', name: 'bn' }], inputShape: [5, 3, 4], outputSize: 60, training: true },
    (x, p, s) => batchNormRef(x, p, s, 'bn', true),
  );
  // running = (1 − m)·running + m·batch statistic, with the unbiased batch variance.
  const [mean, variance] = tf.tidy(() => {
    const x = tf.tensor4d(run.x, [run.batch, 5, 3, 4]);
    const m = tf.moments(x, [0, 1, 2]);
    const n = run.batch * 5 * 3;
    return [m.mean.dataSync(), tf.mul(m.variance, n / (n - 1)).dataSync()];
  });
  const updated = (name: string, batchStat: ArrayLike<number>): [string, Float32Array, Float32Array] => {
    const k = run.stateBefore.findIndex((s) => s.name === name);
    const expected = run.stateBefore[k]!.data.map((old, i) => (1 - MOMENTUM) * old + MOMENTUM * batchStat[i]!);
    return [name, run.stateAfter[k]!.data, expected];
  };
  expectClose(t, [updated('bn.running_mean', mean), updated('bn.running_var', variance)]);
});

test('batch_norm, training mode (batch statistics), on a flat [1,1,6] input with batch 5', (t) => {
  checkParity(t, { nodes: [{ op: 'batch_norm', name: 'bn' }], inputShape: [1, 1, 6], outputSize: 6, batch: 5, training: true }, (x, p, s) =>
    batchNormRef(x, p, s, 'bn', true),
  );
});

test('batch_norm, inference mode (given running statistics), on [5,3,4]', (t) => {
  checkParity(t, { nodes: [{ op: 'batch_norm', name: 'bn' }], inputShape: [5, 3, 4], outputSize: 60, training: false }, (x, p, s) =>
    batchNormRef(x, p, s, 'bn', false),
  );
});

test('flatten [3,5,2] → 30', (t) => {
  checkParity(t, { nodes: [{ op: 'flatten' }], inputShape: [3, 5, 2], outputSize: 30 }, (x) => tf.reshape(x, [x.shape[0], -1]));
});

test('flatten [3,5,2] then dense → 4', (t) => {
  checkParity(
    t,
    { nodes: [{ op: 'flatten' }, { op: 'dense', name: 'fc', units: 4 }], inputShape: [3, 5, 2], outputSize: 4 },
    (x, p) => denseRef(tf.reshape(x, [x.shape[0], -1]), p, 'fc'),
  );
});

test('add: input + conv2d(input) on [5,5,3] (identity residual)', (t) => {
  checkParity(
    t,
    {
      nodes: [
        { op: 'conv2d', name: 'conv', filters: 3, kernel: 3 },
        { op: 'add', name: 'sum', inputs: [-1, 0] },
      ],
      inputShape: [5, 5, 3],
      outputSize: 75,
    },
    (x, p) => tf.add(x, convRef(x, p, 'conv', 1)),
  );
});

test('add of three inputs: conv2d + input + relu(input) on [3,5,2]', (t) => {
  checkParity(
    t,
    {
      nodes: [
        { op: 'conv2d', name: 'conv', filters: 2, kernel: 1 },
        { op: 'activation', activation: 'relu', inputs: [-1] },
        { op: 'add', name: 'sum', inputs: [0, -1, 1] },
      ],
      inputShape: [3, 5, 2],
      outputSize: 30,
    },
    (x, p) => tf.addN([convRef(x, p, 'conv', 1), x, tf.relu(x)]),
  );
});

test('add with projection: conv2d stride 2 [7,5,3] → [4,3,4] plus a 1×1 stride-2 projection of the input', (t) => {
  checkParity(
    t,
    {
      nodes: [
        { op: 'conv2d', name: 'conv', filters: 4, kernel: 3, stride: 2 },
        { op: 'add', name: 'sum', inputs: [0, -1], project: true },
      ],
      inputShape: [7, 5, 3],
      outputSize: 4 * 3 * 4,
    },
    (x, p) => tf.add(convRef(x, p, 'conv', 2), tf.conv2d(x, p('sum.projection.weight') as tf.Tensor4D, 2, 'same')),
  );
});

test('add with projection: conv2d [5,5,2] → [5,5,6] plus a 1×1 stride-1 projection of the input', (t) => {
  checkParity(
    t,
    {
      nodes: [
        { op: 'conv2d', name: 'conv', filters: 6, kernel: 3 },
        { op: 'add', name: 'sum', inputs: [0, -1], project: true },
      ],
      inputShape: [5, 5, 2],
      outputSize: 150,
    },
    (x, p) => tf.add(convRef(x, p, 'conv', 1), tf.conv2d(x, p('sum.projection.weight') as tf.Tensor4D, 1, 'same')),
  );
});

test('add with projection: dense 6 → 4 plus a dense projection of the flat input', (t) => {
  checkParity(
    t,
    {
      nodes: [
        { op: 'dense', name: 'fc', units: 4 },
        { op: 'add', name: 'sum', inputs: [0, -1], project: true },
      ],
      inputShape: [1, 1, 6],
      outputSize: 4,
    },
    (x, p) => tf.add(denseRef(x, p, 'fc'), denseRef(x, p, 'sum.projection', false)),
  );
});

for (const activation of ['relu', 'gelu', 'tanh', 'sigmoid', 'identity'] as const) {
  test(`activation ${activation} on [3,3,4], inputs in (−4, 4)`, (t) => {
    checkParity(t, { nodes: [{ op: 'activation', activation }], inputShape: [3, 3, 4], outputSize: 36, inputScale: 4 }, (x) =>
      activationRef(x, activation),
    );
  });
}

test('dropout rate 0.5 in inference mode is the identity', (t) => {
  checkParity(t, { nodes: [{ op: 'dropout', rate: 0.5 }], inputShape: [3, 3, 4], outputSize: 36, training: false }, (x) => x);
});

test('dropout rate 0 in training mode is the identity', (t) => {
  checkParity(t, { nodes: [{ op: 'dropout', rate: 0 }], inputShape: [3, 3, 4], outputSize: 36, training: true }, (x) => x);
});

test('dropout rate 0.3 in training mode: output = input × mask with mask ∈ {0, 1/(1 − 0.3)}, the same for a seed', (t) => {
  const rate = 0.3;
  const c: EngineCase = { nodes: [{ op: 'dropout', rate }], inputShape: [6, 6, 5], outputSize: 180, batch: 4, training: true };
  const run = runEngine(c);
  const keep = Math.fround(1 / (1 - rate));
  const mask = new Float32Array(run.x.length);
  const stray: string[] = [];
  for (let i = 0; i < run.x.length; i++) {
    if (run.y[i] === 0) mask[i] = 0;
    else if (run.y[i] === Math.fround(run.x[i]! * keep)) mask[i] = keep;
    else stray.push(`[${i}] input ${run.x[i]}, output ${run.y[i]}`);
  }
  t.deepEqual(stray, [], 'every output is 0 or input / (1 − rate)');
  const dropped = mask.filter((m) => m === 0).length / mask.length;
  t.true(dropped > 0.2 && dropped < 0.4, `dropped fraction ${dropped} is near ${rate}`);
  t.deepEqual(runEngine(c).y, run.y, 'the same dropout seed draws the same mask');
  expectParity(t, run, (x) => tf.mul(x, tf.tensor4d(mask, x.shape)));
});

// ---------------------------------------------------------------------------------------------
// Losses

for (const scale of [1, 30]) {
  test(`softmax cross-entropy, batch 6 × 7 classes, logits in (−${scale}, ${scale}): loss, gradient, correct count`, (t) => {
    const [batch, classes] = [6, 7];
    const rng = createRng(5 + scale);
    const logits = uniform(rng, batch * classes, scale);
    // Every other label is the arg-max, so the correct count is neither 0 nor the batch.
    const labels = Int32Array.from({ length: batch }, (_, b) => {
      const row = logits.subarray(b * classes, (b + 1) * classes);
      return b % 2 === 0 ? row.indexOf(Math.max(...row)) : rng.nextInt(classes);
    });
    const engine = native().loss('cross_entropy', logits, labels, batch, classes);
    const ref = tf.tidy(() => {
      const z = tf.tensor2d(logits, [batch, classes]);
      const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
      const { value, grad } = tf.valueAndGrad((zz: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, zz) as tf.Scalar)(z);
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(z, 1), tf.tensor1d(labels, 'int32')), 'int32'));
      return { loss: value.dataSync(), grad: Float32Array.from(grad.dataSync()), correct: correct.dataSync()[0]! };
    });
    t.is(engine.correct, ref.correct);
    expectClose(t, [
      ['loss', [engine.loss], ref.loss],
      ['d/d(logits)', engine.grad, ref.grad],
    ]);
  });
}

test('mean squared error, batch 5 × 3 outputs: loss and gradient', (t) => {
  const [batch, width] = [5, 3];
  const rng = createRng(8);
  const out = uniform(rng, batch * width, 3);
  const target = uniform(rng, batch * width, 3);
  const engine = native().loss('mse', out, target, batch, width);
  const ref = tf.tidy(() => {
    const y = tf.tensor2d(target, [batch, width]);
    const { value, grad } = tf.valueAndGrad((o: tf.Tensor) => tf.losses.meanSquaredError(y, o) as tf.Scalar)(tf.tensor2d(out, [batch, width]));
    return { loss: value.dataSync(), grad: Float32Array.from(grad.dataSync()) };
  });
  expectClose(t, [
    ['loss', [engine.loss], ref.loss],
    ['d/d(output)', engine.grad, ref.grad],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Whole networks

const MLP: NativeNode[] = [
  { op: 'dense', name: 'fc1', units: 16 },
  { op: 'batch_norm', name: 'bn1' },
  { op: 'activation', activation: 'gelu' },
  { op: 'dropout', rate: 0.5 },
  { op: 'dense', name: 'fc2', units: 8 },
  { op: 'activation', activation: 'tanh' },
  { op: 'dense', name: 'fc3', units: 3 },
];

function mlpRef(training: boolean): Reference {
  return (x, p, s) => {
    let h = batchNormRef(denseRef(x, p, 'fc1'), p, s, 'bn1', training);
    h = activationRef(h, 'gelu'); // dropout is the identity in inference mode (and the MLP runs in inference mode)
    h = activationRef(denseRef(h, p, 'fc2'), 'tanh');
    return denseRef(h, p, 'fc3');
  };
}

test('network: MLP dense 10→16, batch_norm, gelu, dropout 0.5, dense →8, tanh, dense →3 (inference mode)', (t) => {
  checkParity(t, { nodes: MLP, inputShape: [1, 1, 10], outputSize: 3, batch: 6, training: false }, mlpRef(false));
});

test('network: MLP with batch_norm in training mode (dropout rate 0)', (t) => {
  const nodes = MLP.map((n) => (n.op === 'dropout' ? { ...n, rate: 0 } : n));
  checkParity(t, { nodes, inputShape: [1, 1, 10], outputSize: 3, batch: 6, training: true }, mlpRef(true));
});

// conv-BN-relu stem, a separable block (depthwise 3×3 stride 2 + pointwise), a residual block,
// max pool, avg pool, global average pool and a dense head.
const CNN: NativeNode[] = [
  { op: 'conv2d', name: 'stem', filters: 6, kernel: 3 }, // 0: [9,7,6]
  { op: 'batch_norm', name: 'stem.bn' },
  { op: 'activation', activation: 'relu' },
  { op: 'depthwise_conv2d', name: 'sep.dw', kernel: 3, stride: 2, bias: false }, // 3: [5,4,6]
  { op: 'conv2d', name: 'sep.pw', filters: 8, kernel: 1, bias: false }, // 4: [5,4,8]
  { op: 'batch_norm', name: 'sep.bn' },
  { op: 'activation', activation: 'gelu' }, // 6
  { op: 'conv2d', name: 'res.conv1', filters: 8, kernel: 3 },
  { op: 'batch_norm', name: 'res.bn1' },
  { op: 'activation', activation: 'relu' },
  { op: 'conv2d', name: 'res.conv2', filters: 8, kernel: 5 },
  { op: 'batch_norm', name: 'res.bn2' }, // 11
  { op: 'add', name: 'res.add', inputs: [11, 6] },
  { op: 'activation', activation: 'relu' },
  { op: 'max_pool', kernel: 3, stride: 2 }, // [3,2,8]
  { op: 'avg_pool', kernel: 2, stride: 1 },
  { op: 'global_avg_pool' },
  { op: 'dense', name: 'head', units: 5 },
];

function cnnRef(training: boolean): Reference {
  return (x, p, s) => {
    const bn = (h: tf.Tensor4D, name: string) => batchNormRef(h, p, s, name, training) as tf.Tensor4D;
    let h = tf.relu(bn(convRef(x, p, 'stem', 1), 'stem.bn'));
    h = depthwiseRef(h, p, 'sep.dw', 2, false);
    h = convRef(h, p, 'sep.pw', 1, false);
    const block = activationRef(bn(h, 'sep.bn'), 'gelu') as tf.Tensor4D;
    h = tf.relu(bn(convRef(block, p, 'res.conv1', 1), 'res.bn1'));
    h = bn(convRef(h, p, 'res.conv2', 1), 'res.bn2');
    h = tf.relu(tf.add<tf.Tensor4D>(h, block));
    h = avgPoolRef(tf.maxPool(h, 3, 2, 'same'), 2, 1);
    return denseRef(tf.mean(h, [1, 2]), p, 'head');
  };
}

test('network: CNN [9,7,3] conv-BN-relu, separable conv stride 2, residual block, pools, dense (training mode)', (t) => {
  checkParity(t, { nodes: CNN, inputShape: [9, 7, 3], outputSize: 5, batch: 4, training: true }, cnnRef(true));
});

test('network: the same CNN in inference mode (given running statistics)', (t) => {
  checkParity(t, { nodes: CNN, inputShape: [9, 7, 3], outputSize: 5, batch: 4, training: false }, cnnRef(false));
});

test('network: downsampling residual [7,7,2] conv stride 2 + projected skip, avg pool, flatten, dense, sigmoid (training mode)', (t) => {
  checkParity(
    t,
    {
      nodes: [
        { op: 'conv2d', name: 'down', filters: 4, kernel: 3, stride: 2 }, // [4,4,4]
        { op: 'batch_norm', name: 'down.bn' },
        { op: 'activation', activation: 'relu' },
        { op: 'add', name: 'skip', inputs: [2, -1], project: true }, // projection: 1×1 stride 2, 2 → 4 channels
        { op: 'avg_pool', kernel: 3, stride: 2 }, // [2,2,4]
        { op: 'flatten' },
        { op: 'dense', name: 'out', units: 3 },
        { op: 'activation', activation: 'sigmoid' },
      ],
      inputShape: [7, 7, 2],
      outputSize: 3,
      batch: 3,
      training: true,
    },
    (x, p, s) => {
      let h = tf.relu(batchNormRef(convRef(x, p, 'down', 2), p, s, 'down.bn', true)) as tf.Tensor4D;
      h = tf.add(h, tf.conv2d(x, p('skip.projection.weight') as tf.Tensor4D, 2, 'same'));
      h = avgPoolRef(h, 3, 2);
      return tf.sigmoid(denseRef(tf.reshape(h, [h.shape[0], -1]), p, 'out'));
    },
  );
});
