import test from 'ava';
import { native, type NativeNode, type Shape3 } from '../../lib/native/binding.js';
import { createRng } from '../../lib/util/rng.js';
import { gradCheck } from './gradcheck.js';

// Every layer, checked by central differences on d(Σ output·R)/d(parameters) and d/d(input).
const TOLERANCE = 2e-3;
const layers: [string, NativeNode[], Shape3][] = [
  ['dense', [{ op: 'dense', units: 4 }], [1, 1, 6]],
  ['dense on an image (implicit flatten)', [{ op: 'dense', units: 4 }], [3, 2, 2]],
  ['dense without bias', [{ op: 'dense', units: 5, bias: false }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['conv2d 3x3 stride 1', [{ op: 'conv2d', filters: 3, kernel: 3, stride: 1 }, { op: 'dense', units: 4 }], [5, 5, 2]],
  ['conv2d 3x3 stride 2, odd sizes', [{ op: 'conv2d', filters: 3, kernel: 3, stride: 2 }, { op: 'dense', units: 4 }], [5, 6, 2]],
  ['conv2d 1x1', [{ op: 'conv2d', filters: 3, kernel: 1, stride: 1 }, { op: 'dense', units: 4 }], [4, 4, 2]],
  ['conv2d 1x1 stride 2', [{ op: 'conv2d', filters: 3, kernel: 1, stride: 2 }, { op: 'dense', units: 4 }], [5, 5, 2]],
  ['conv2d 5x5 stride 2', [{ op: 'conv2d', filters: 2, kernel: 5, stride: 2 }, { op: 'dense', units: 4 }], [7, 7, 2]],
  ['depthwise 3x3', [{ op: 'depthwise_conv2d', kernel: 3, stride: 1 }, { op: 'dense', units: 4 }], [5, 5, 3]],
  ['depthwise 5x5 stride 2', [{ op: 'depthwise_conv2d', kernel: 5, stride: 2 }, { op: 'dense', units: 4 }], [6, 5, 3]],
  ['max pool 2 stride 2', [{ op: 'max_pool', kernel: 2, stride: 2 }, { op: 'dense', units: 4 }], [5, 5, 2]],
  ['max pool 3 stride 1', [{ op: 'max_pool', kernel: 3, stride: 1 }, { op: 'dense', units: 4 }], [4, 4, 2]],
  ['average pool 3 stride 2', [{ op: 'avg_pool', kernel: 3, stride: 2 }, { op: 'dense', units: 4 }], [5, 5, 2]],
  ['global average pool', [{ op: 'global_avg_pool' }, { op: 'dense', units: 4 }], [3, 3, 5]],
  ['batch norm on images', [{ op: 'batch_norm' }, { op: 'dense', units: 4 }], [3, 3, 2]],
  ['batch norm on vectors', [{ op: 'dense', units: 5 }, { op: 'batch_norm' }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['dropout', [{ op: 'dropout', rate: 0.3 }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['relu', [{ op: 'activation', activation: 'relu' }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['gelu', [{ op: 'activation', activation: 'gelu' }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['tanh', [{ op: 'activation', activation: 'tanh' }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['sigmoid', [{ op: 'activation', activation: 'sigmoid' }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['identity', [{ op: 'activation', activation: 'identity' }, { op: 'dense', units: 4 }], [1, 1, 6]],
  ['flatten', [{ op: 'flatten' }, { op: 'dense', units: 4 }], [2, 2, 2]],
  ['residual add', [{ op: 'dense', units: 6 }, { op: 'add', inputs: [0, -1] }, { op: 'dense', units: 4 }], [1, 1, 6]],
  [
    'residual add with a strided projection',
    [{ op: 'conv2d', filters: 4, kernel: 3, stride: 2 }, { op: 'add', inputs: [0, -1], project: true }, { op: 'dense', units: 4 }],
    [4, 4, 2],
  ],
  [
    'a node read by two consumers',
    [
      { op: 'conv2d', filters: 3, kernel: 3 },
      { op: 'activation', activation: 'tanh' },
      { op: 'max_pool', kernel: 2, stride: 2, inputs: [0] },
      { op: 'avg_pool', kernel: 2, stride: 2, inputs: [1] },
      { op: 'add', inputs: [2, 3] },
      { op: 'dense', units: 4 },
    ],
    [4, 4, 2],
  ],
];

for (const [name, nodes, shape] of layers) {
  test(`gradient of ${name} matches finite differences (training mode)`, (t) => {
    const r = gradCheck(nodes, shape, 4, { batch: 3 });
    t.true(r.checked > 10);
    t.true(r.worst < TOLERANCE, `worst relative error ${r.worst} at ${r.where}`);
  });
}

test('gradient of batch norm in inference mode (running statistics) matches finite differences', (t) => {
  const r = gradCheck([{ op: 'batch_norm' }, { op: 'dense', units: 4 }], [3, 3, 2], 4, { batch: 3, training: false });
  t.true(r.worst < TOLERANCE, `worst relative error ${r.worst} at ${r.where}`);
});

function numericLossGrad(kind: 'cross_entropy' | 'mse', out: Float32Array, target: Int32Array | Float32Array, batch: number, width: number) {
  const eps = 1e-2;
  const g = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const o = out[i]!;
    out[i] = o + eps;
    const up = native().loss(kind, out, target, batch, width).loss;
    out[i] = o - eps;
    const down = native().loss(kind, out, target, batch, width).loss;
    out[i] = o;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

test('softmax cross-entropy: value and gradient', (t) => {
  const rng = createRng(3);
  const batch = 4;
  const width = 5;
  const logits = Float32Array.from({ length: batch * width }, () => rng.next() * 4 - 2);
  const labels = Int32Array.from([0, 3, 4, 1]);
  const r = native().loss('cross_entropy', logits, labels, batch, width);
  let expected = 0;
  for (let b = 0; b < batch; b++) {
    const row = Array.from(logits.subarray(b * width, (b + 1) * width));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, z) => a + Math.exp(z - m), 0));
    expected += lse - row[labels[b]!]!;
  }
  t.true(Math.abs(r.loss - expected / batch) < 1e-5);
  const numeric = numericLossGrad('cross_entropy', logits, labels, batch, width);
  for (let i = 0; i < numeric.length; i++) t.true(Math.abs(numeric[i]! - r.grad[i]!) < 1e-3, `grad[${i}]`);
});

test('mean squared error: value and gradient', (t) => {
  const rng = createRng(4);
  const out = Float32Array.from({ length: 6 }, () => rng.next() * 2 - 1);
  const target = Float32Array.from({ length: 6 }, () => rng.next() * 2 - 1);
  const r = native().loss('mse', out, target, 3, 2);
  const expected = out.reduce((a, o, i) => a + (o - target[i]!) ** 2, 0) / 6;
  t.true(Math.abs(r.loss - expected) < 1e-6);
  const numeric = numericLossGrad('mse', out, target, 3, 2);
  for (let i = 0; i < numeric.length; i++) t.true(Math.abs(numeric[i]! - r.grad[i]!) < 1e-3, `grad[${i}]`);
});

test('an SGD step with momentum, Nesterov and weight decay follows the update rule', (t) => {
  for (const nesterov of [false, true]) {
    const p = Float32Array.from([0.5, -1, 2]);
    const g = Float32Array.from([0.1, 0.2, -0.3]);
    const m = Float32Array.from([0.05, 0, -0.1]);
    const v = new Float32Array(3);
    const [lr, mu, wd] = [0.1, 0.9, 0.01];
    const expectP: number[] = [];
    const expectM: number[] = [];
    for (let i = 0; i < 3; i++) {
      const gi = g[i]! + wd * p[i]!;
      const mi = mu * m[i]! + gi;
      expectM.push(mi);
      expectP.push(p[i]! - lr * (nesterov ? gi + mu * mi : mi));
    }
    native().optimizerStep({ optimizer: 'sgd', momentum: mu, weightDecay: wd, nesterov }, lr, 1, true, p, g, m, v);
    for (let i = 0; i < 3; i++) {
      t.true(Math.abs(p[i]! - expectP[i]!) < 1e-6, `nesterov=${nesterov} p[${i}]`);
      t.true(Math.abs(m[i]! - expectM[i]!) < 1e-6, `nesterov=${nesterov} m[${i}]`);
    }
  }
});

test('an AdamW step (decoupled decay, bias correction) follows the update rule; decay skips excluded tensors', (t) => {
  for (const decay of [true, false]) {
    const p = Float32Array.from([0.5, -1, 2]);
    const g = Float32Array.from([0.1, 0.2, -0.3]);
    const m = Float32Array.from([0.01, 0, -0.02]);
    const v = Float32Array.from([0.001, 0.002, 0]);
    const [lr, b1, b2, eps, wd, step] = [0.01, 0.9, 0.999, 1e-8, 0.1, 3];
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) {
      let pi = p[i]! * (1 - lr * (decay ? wd : 0));
      const mi = b1 * m[i]! + (1 - b1) * g[i]!;
      const vi = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      pi -= (lr * (mi / (1 - b1 ** step))) / (Math.sqrt(vi / (1 - b2 ** step)) + eps);
      expected.push(pi);
    }
    native().optimizerStep({ optimizer: 'adamw', beta1: b1, beta2: b2, eps, weightDecay: wd }, lr, step, decay, p, g, m, v);
    for (let i = 0; i < 3; i++) t.true(Math.abs(p[i]! - expected[i]!) < 1e-6, `decay=${decay} p[${i}]: ${p[i]} vs ${expected[i]}`);
  }
});

test('an optimizer step decreases the loss along the gradient (first-order check)', (t) => {
  // A small step of plain SGD changes a smooth loss by −lr·|g|² to first order.
  const nodes: NativeNode[] = [{ op: 'dense', units: 5 }, { op: 'activation', activation: 'tanh' }, { op: 'dense', units: 3 }];
  const net = new (native().Network)(nodes, [1, 1, 4], 3, 2, 1);
  const rng = createRng(5);
  const x = Float32Array.from({ length: 8 }, () => rng.next() * 2 - 1);
  const labels = Int32Array.from([2, 0]);
  const lossAt = () => native().loss('cross_entropy', net.forward(x, 2, true), labels, 2, 3);
  const before = lossAt();
  const grads = net.backward(before.grad, false).params;
  const lr = 1e-3;
  let norm2 = 0;
  const params = net.params().map((p, i) => {
    const g = grads[i]!;
    const m = new Float32Array(p.data.length);
    norm2 += g.reduce((a, x) => a + x * x, 0);
    native().optimizerStep({ optimizer: 'sgd', momentum: 0, weightDecay: 0 }, lr, 1, true, p.data, g, m, new Float32Array(m.length));
    return p.data;
  });
  net.setParams(params);
  const after = lossAt().loss;
  const predicted = before.loss - lr * norm2;
  t.true(Math.abs(after - predicted) < 1e-2 * lr * norm2 + 1e-6, `after ${after}, predicted ${predicted}`);
});

test('the learning rate warms up linearly, then follows a cosine to zero', (t) => {
  const lr = (s: number) => native().cosineLr(0.1, s, 100, 10);
  t.true(Math.abs(lr(0) - 0.01) < 1e-7);
  t.true(Math.abs(lr(9) - 0.1) < 1e-7);
  t.true(Math.abs(lr(10) - 0.1) < 1e-7);
  t.true(Math.abs(lr(55) - 0.05) < 1e-6);
  t.true(lr(99) < 0.001);
  t.true(Math.abs(lr(99) - 0.05 * (1 + Math.cos((Math.PI * 89) / 90))) < 1e-7);
});
