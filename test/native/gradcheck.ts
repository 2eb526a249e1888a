/**
 * Finite-difference gradient checking against the engine's backward pass.
 */
import { native, type NativeNode, type Shape3 } from '../../lib/native/binding.js';
import { createRng } from '../../lib/util/rng.js';

export interface GradCheckReport {
  /** Largest |analytic − numeric| / max(1, |analytic|, |numeric|) over the checked entries. */
  worst: number;
  where: string;
  checked: number;
}

function randn(rng: ReturnType<typeof createRng>, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng.next(), 1e-12);
    a[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  return a;
}

/**
 * Checks d(L)/d(params) and d(L)/d(input) for L = Σ output·R (R random), by central differences on up
 * to `perTensor` entries of each parameter tensor and of the input.
 */
export function gradCheck(
  nodes: NativeNode[],
  inputShape: Shape3,
  outputSize: number,
  options: { batch?: number; training?: boolean; seed?: number; eps?: number; perTensor?: number } = {},
): GradCheckReport {
  const batch = options.batch ?? 3;
  const training = options.training ?? true;
  const eps = options.eps ?? 1e-2;
  const perTensor = options.perTensor ?? 12;
  const rng = createRng(options.seed ?? 7);
  const net = new (native().Network)(nodes, inputShape, outputSize, batch, options.seed ?? 7);
  // Perturb initial values so biases and norm parameters are not at special points (0 or 1).
  const params = net.params().map((t) => {
    const d = randn(rng, t.data.length, 0.3);
    for (let i = 0; i < d.length; i++) d[i] += t.data[i]!;
    return d;
  });
  net.setParams(params);
  const state0 = net.state().map((t) => t.data);
  const inSize = inputShape[0] * inputShape[1] * inputShape[2];
  const x = randn(rng, batch * inSize);
  const r = randn(rng, batch * outputSize);
  const dropoutSeed = 99;
  const loss = (): number => {
    net.setState(state0);
    const y = net.forward(x, batch, training, dropoutSeed);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * r[i]!;
    return s;
  };
  loss();
  const g = net.backward(r, true);
  let worst = 0;
  let where = '';
  let checked = 0;
  const compare = (analytic: number, numeric: number, label: string) => {
    const err = Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic), Math.abs(numeric));
    checked++;
    if (err > worst) {
      worst = err;
      where = `${label}: analytic ${analytic}, numeric ${numeric}`;
    }
  };
  const names = net.params().map((t) => t.name);
  params.forEach((p, ti) => {
    const picks = Math.min(perTensor, p.length);
    for (let k = 0; k < picks; k++) {
      const i = p.length <= perTensor ? k : rng.nextInt(p.length);
      const orig = p[i]!;
      p[i] = orig + eps;
      net.setParams(params);
      const up = loss();
      p[i] = orig - eps;
      net.setParams(params);
      const down = loss();
      p[i] = orig;
      net.setParams(params);
      compare(g.params[ti]![i]!, (up - down) / (2 * eps), `${names[ti]}[${i}]`);
    }
  });
  const dx = g.input!;
  for (let k = 0; k < Math.min(perTensor * 2, x.length); k++) {
    const i = rng.nextInt(x.length);
    const orig = x[i]!;
    x[i] = orig + eps;
    const up = loss();
    x[i] = orig - eps;
    const down = loss();
    x[i] = orig;
    compare(dx[i]!, (up - down) / (2 * eps), `input[${i}]`);
  }
  return { worst, where, checked };
}
