/**
 * The raw native addon (`native()` from lib/native/binding.ts) called with random and mutated
 * arguments (see cases.ts): train, plan, loss, optimizerStep, cosineLr, the Network class and its
 * methods, the Dataset class, mctsRolloutsSync, memoryInfo, and the benchmark kernels (their sizes and
 * durations capped: a valid 16384³ GEMM is not a finding, just slow). Each must return or throw a
 * TypeError/RangeError in the project's wording or an Error with an ERR_NASX_ code; the process must
 * survive.
 */
import { lowerArch } from '../../lib/arch/arch.js';
import { loadDataset } from '../../lib/data/load.js';
import { native, type NativeBinding, type NativeTrainData } from '../../lib/native/binding.js';
import { getSpace } from '../../lib/space/index.js';
import { decisionStructure, featureCount } from '../../lib/strategies/mcts-rollout.js';
import type { CaseSuite, FuzzCall } from './cases.js';
import { FuzzRng } from './mutate.js';
import { EDGE_NUMBERS, logged, mutateValue, randomValue, show } from './random-value.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

export interface NativeFixtures {
  addon: NativeBinding;
  data: NativeTrainData;
  nodeLists: unknown[][];
  structures: unknown[];
}

async function setup(): Promise<NativeFixtures> {
  const addon = native();
  const d = await loadDataset('digits');
  const take = (split: { x: Float32Array; y: Int32Array | Float32Array; count: number }, n: number) => ({
    x: split.x.slice(0, n * 64),
    y: split.y.slice(0, n),
    count: n,
  });
  const data: NativeTrainData = {
    inputShape: [8, 8, 1],
    task: 'classification',
    outputSize: 10,
    train: take(d.train, 64),
    validation: take(d.validation, 16),
    test: take(d.test, 16),
  };
  const nodeLists = [
    lowerArch({ type: 'mlp', layers: [{ units: 8, batchNorm: true, dropout: 0.1, residual: true }] }, 10),
    lowerArch({ type: 'cnn', layers: [{ conv: 4, stride: 2 }, { residual: [{ conv: 4, separable: true }] }, { pool: 'avg' }, { globalPool: 'avg' }] }, 10),
    lowerArch({ type: 'graph', nodes: [{ op: 'conv2d', filters: 2, kernel: 3 }, { op: 'add', inputs: [0, -1], project: true }, { op: 'flatten' }, { op: 'dense', units: 10 }] }, 10),
  ] as unknown[][];
  const structures = [decisionStructure(getSpace('nb201') as Any), decisionStructure(getSpace('mlp') as Any)];
  return { addon, data, nodeLists, structures };
}

const isObject = (v: unknown): v is Record<string, Any> => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

function variant(rng: FuzzRng, valid: unknown, pRandom = 0.15, label = 'value'): unknown {
  if (rng.chance(pRandom)) return logged(label, randomValue(rng));
  if (rng.chance(0.05)) return valid;
  return mutateValue(rng, valid, {}, label);
}

/** A Float32Array of about `n` values (sometimes shorter or longer), sometimes another type. */
function floats(rng: FuzzRng, n: number): unknown {
  const r = rng.below(24);
  if (r === 0) return randomValue(rng);
  if (r === 1) return new Float64Array(n);
  if (r === 2) return new Float32Array(Math.max(0, n + rng.pick([-1, 1, -n, 7])));
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.chance(0.02) ? rng.pick([NaN, Infinity, -Infinity, 1e38]) : rng.float() - 0.5;
  return a;
}

function num(rng: FuzzRng, valid: number): unknown {
  return rng.chance(0.85) ? valid : rng.chance(0.8) ? rng.pick(EDGE_NUMBERS) : randomValue(rng);
}

const verdict = { allowCodedError: true };

function call(fn: string, args: unknown[], run: () => unknown, timeoutMs = 10_000): FuzzCall {
  return { fn, args, call: run, verdict, timeoutMs };
}

export const NATIVE_SUITE: CaseSuite<NativeFixtures> = {
  name: 'native',
  setup,
  generators: [
    {
      fn: 'train',
      make(rng, fx) {
        const validCandidates = [{ nodes: rng.pick(fx.nodeLists) }, { nodes: rng.pick(fx.nodeLists), optimizer: { optimizer: 'sgd', lr: 0.1, momentum: 0.9 } }];
        const validOptions = { epochs: 1, batchSize: 16, seed: 1, threads: 1, maxMemory: 2 ** 28 };
        // Mostly one argument wrong at a time, so that each check is reached.
        const bad = rng.below(4);
        const candidates = bad === 0 ? variant(rng, validCandidates, 0.1, 'candidates') : validCandidates;
        const data = bad === 1 ? variant(rng, fx.data, 0.05, 'data') : fx.data;
        const options = bad === 2 ? variant(rng, validOptions, 0.1, 'options') : validOptions;
        if (isObject(options)) {
          if (typeof options.epochs === 'number' && options.epochs > 2) options.epochs = 2;
          if (options.maxMemory === undefined || (typeof options.maxMemory === 'number' && options.maxMemory > 2 ** 29)) options.maxMemory = 2 ** 28;
        }
        const onProgress = rng.chance(0.9) ? () => undefined : logged('onProgress', randomValue(rng));
        return call(
          'train',
          [candidates, data, options, onProgress],
          async () => {
            const job = fx.addon.train(candidates as Any, data as Any, options as Any, onProgress as Any);
            if (rng.chance(0.2)) job.cancel();
            await job.promise;
          },
          60_000,
        );
      },
    },
    {
      fn: 'plan',
      make(rng, fx) {
        const nodes = variant(rng, rng.pick(fx.nodeLists), 0.15, 'nodes');
        const shape = rng.chance(0.6) ? [8, 8, 1] : variant(rng, [8, 8, 1], 0.15, 'shape');
        const outputSize = num(rng, 10);
        return call('plan', [nodes, shape, outputSize], () => fx.addon.plan(nodes as Any, shape as Any, outputSize as number));
      },
    },
    {
      fn: 'loss',
      make(rng, fx) {
        const batch = rng.chance(0.7) ? 1 + rng.below(8) : (randomValue(rng) as number);
        const width = rng.chance(0.7) ? 1 + rng.below(10) : (randomValue(rng) as number);
        const kind = rng.chance(0.8) ? rng.pick(['cross_entropy', 'mse']) : randomValue(rng);
        const n = typeof batch === 'number' && typeof width === 'number' && Number.isFinite(batch * width) ? Math.max(0, Math.min(4096, Math.floor(batch * width))) : 4;
        const output = floats(rng, n);
        const b = typeof batch === 'number' && Number.isFinite(batch) ? Math.max(0, Math.min(4096, Math.floor(batch))) : 2;
        const w = typeof width === 'number' && Number.isFinite(width) ? Math.max(1, Math.min(4096, Math.floor(width))) : 1;
        const labels = Int32Array.from({ length: b }, () => (rng.chance(0.9) ? rng.below(w) : rng.pick([-1, 2 ** 31 - 1, 99])));
        const target = kind === 'mse' ? floats(rng, n) : rng.chance(0.85) ? labels : randomValue(rng);
        return call('loss', [kind, output, target, batch, width], () => fx.addon.loss(kind as Any, output as Any, target as Any, batch, width));
      },
    },
    {
      fn: 'optimizerStep',
      make(rng, fx) {
        const config = variant(rng, { optimizer: rng.pick(['sgd', 'adamw']), lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, 0.15, 'config');
        const n = rng.below(64);
        const args = [config, num(rng, 0.01), num(rng, 1), rng.chance(0.9) ? rng.chance(0.5) : randomValue(rng), floats(rng, n), floats(rng, n), floats(rng, n), floats(rng, n)];
        return call('optimizerStep', args, () => (fx.addon.optimizerStep as Any)(...args));
      },
    },
    {
      fn: 'cosineLr',
      make(rng, fx) {
        const args = [num(rng, 0.1), num(rng, 5), num(rng, 100), num(rng, 10)];
        return call('cosineLr', args, () => (fx.addon.cosineLr as Any)(...args));
      },
    },
    {
      fn: 'Network',
      make(rng, fx) {
        const nodes = rng.chance(0.8) ? rng.pick(fx.nodeLists) : variant(rng, rng.pick(fx.nodeLists), 0.15, 'nodes');
        const shape = rng.chance(0.8) ? [8, 8, 1] : variant(rng, [8, 8, 1], 0.15, 'shape');
        const outputSize = num(rng, 10);
        const maxBatch = num(rng, 4);
        const seed = num(rng, 1);
        const batch = num(rng, 2);
        const training = rng.chance(0.9) ? rng.chance(0.5) : randomValue(rng);
        const xLength = rng.chance(0.8) ? 128 : rng.pick([0, 1, 127, 129, 64, 1 << 16]);
        const paramsMutation = rng.chance(0.5) ? 0 : 1 + rng.below(3);
        const r2 = new FuzzRng(rng.u32());
        return call(
          'Network',
          [nodes, shape, outputSize, maxBatch, seed, `forward(x[${xLength}], ${show(batch)}, ${show(training)})`, `setParams mutation ${paramsMutation}`],
          () => {
            const net = new fx.addon.Network(nodes as Any, shape as Any, outputSize as number, maxBatch as number, seed as number);
            const params = net.params();
            const state = net.state();
            if (paramsMutation === 1) net.setParams(mutateValue(r2, params.map((t) => t.data)) as Any);
            else if (paramsMutation === 2) net.setState(mutateValue(r2, state.map((t) => t.data)) as Any);
            else if (paramsMutation === 3) net.setParams(params.map((t) => new Float32Array(t.data.length + (r2.chance(0.5) ? 1 : -1))) as Any);
            const y = net.forward(floats(r2, xLength) as Any, batch as number, training as boolean, r2.below(10));
            const grads = net.backward(floats(r2, y.length) as Any, r2.chance(0.5));
            if (r2.chance(0.1)) net.backward(randomValue(r2) as Any, randomValue(r2) as Any);
            return grads;
          },
        );
      },
    },
    {
      fn: 'Dataset',
      make(rng, fx) {
        const data = variant(rng, fx.data, 0.1, 'data');
        return call('Dataset', [data], () => new fx.addon.Dataset(data as Any));
      },
    },
    {
      fn: 'mctsRolloutsSync',
      make(rng, fx) {
        const structure = rng.pick(fx.structures) as Any;
        const f = featureCount(structure);
        const surrogate = { bias: 1, linear: Float64Array.from({ length: f }, () => rng.float()), pairwise: rng.chance(0.5) ? Float64Array.from({ length: f * f }, () => rng.float() - 0.5) : undefined };
        const s = rng.chance(0.6) ? structure : variant(rng, structure, 0.05, 's');
        const g = rng.chance(0.6) ? surrogate : variant(rng, surrogate, 0.05, 'g');
        const prefixes = rng.chance(0.6) ? [[], [1]] : variant(rng, [[], [0, 1]], 0.1, 'prefixes');
        const options = variant(rng, { rollouts: 64, seed: 1, topK: 4, threads: 1 }, 0.1, 'options');
        if (isObject(options) && typeof options.rollouts === 'number' && options.rollouts > 4096) options.rollouts = 4096;
        return call('mctsRolloutsSync', [s, g, prefixes, options], () => fx.addon.mctsRolloutsSync(s, g as Any, prefixes as Any, options as Any));
      },
    },
    {
      fn: 'mctsRollouts',
      make(rng, fx) {
        const structure = rng.pick(fx.structures) as Any;
        const f = featureCount(structure);
        const surrogate = variant(rng, { bias: 0, linear: new Float64Array(f) }, 0.05, 'surrogate');
        const prefixes = variant(rng, [[2]], 0.1, 'prefixes');
        const options = variant(rng, { rollouts: 32, threads: 2 }, 0.1, 'options');
        if (isObject(options) && typeof options.rollouts === 'number' && options.rollouts > 4096) options.rollouts = 4096;
        return call('mctsRollouts', [structure, surrogate, prefixes, options], () => fx.addon.mctsRollouts(structure, surrogate as Any, prefixes as Any, options as Any));
      },
    },
    {
      fn: 'memoryInfo / benchmarks',
      make(rng, fx) {
        const size = () => (rng.chance(0.7) ? 1 + rng.below(256) : rng.chance(0.5) ? rng.pick(EDGE_NUMBERS) : randomValue(rng));
        const clamp = (v: unknown) => (typeof v === 'number' && v > 512 && v <= 16384 ? 512 : v);
        const gemm = [clamp(size()), clamp(size()), clamp(size()), num(rng, 1), rng.chance(0.5), randomValue(rng), rng.chance(0.8) ? 0.01 : num(rng, 0.01)];
        if (typeof gemm[6] === 'number' && gemm[6] > 0.05 && gemm[6] <= 60) gemm[6] = 0.05;
        const fma = [num(rng, 1), rng.chance(0.8) ? 0.01 : num(rng, 0.01)];
        if (typeof fma[1] === 'number' && fma[1] > 0.05 && fma[1] <= 60) fma[1] = 0.05;
        if (typeof fma[0] === 'number' && fma[0] > 4 && fma[0] <= 1024) fma[0] = 4;
        if (typeof gemm[3] === 'number' && gemm[3] > 4 && gemm[3] <= 1024) gemm[3] = 4;
        return call('memoryInfo / benchmarks', [`gemmBenchmark(${gemm.map((v) => show(v)).join(', ')})`, `fmaPeak(${fma.map((v) => show(v)).join(', ')})`], async () => {
          fx.addon.memoryInfo();
          await (fx.addon.gemmBenchmark as Any)(...gemm);
          await (fx.addon.fmaPeak as Any)(...fma);
        });
      },
    },
  ],
};
