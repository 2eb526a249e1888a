/**
 * The one place that loads the native addon, and the typed surface of it. Everything else in nasx
 * talks to `native()`.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NasxError, type NasxErrorCode } from '../errors.js';
import { packageRoot } from '../util/package-root.js';

export type NativeOp =
  | 'dense'
  | 'conv2d'
  | 'depthwise_conv2d'
  | 'max_pool'
  | 'avg_pool'
  | 'global_avg_pool'
  | 'batch_norm'
  | 'dropout'
  | 'activation'
  | 'flatten'
  | 'add';

export type ActivationName = 'identity' | 'relu' | 'gelu' | 'tanh' | 'sigmoid';

/** One node of the lowered network graph the engine trains (see `lowerArch`). */
export interface NativeNode {
  op: NativeOp;
  name?: string;
  /** Earlier node indices; -1 is the network input; omitted means the previous node. */
  inputs?: number[];
  units?: number;
  filters?: number;
  kernel?: number;
  stride?: number;
  bias?: boolean;
  activation?: ActivationName;
  rate?: number;
  project?: boolean;
}

export type Shape3 = readonly [number, number, number];

export interface NativeSplit {
  x: Float32Array;
  y: Int32Array | Float32Array;
  count: number;
}

export interface NativeTrainData {
  inputShape: Shape3;
  task: 'classification' | 'regression';
  outputSize: number;
  train: NativeSplit;
  validation?: NativeSplit;
  test?: NativeSplit;
}

export interface NativeTrainOptions {
  epochs?: number;
  batchSize?: number;
  optimizer?: 'sgd' | 'adamw';
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  warmupFraction?: number;
  seed?: number;
  threads?: number;
  dataFraction?: number;
  resolution?: number;
  keepWeights?: boolean;
  keepState?: boolean;
  scheduleEpochs?: number;
  maxMemory?: number;
}

/**
 * Everything the engine needs to continue training a candidate where it stopped (see
 * `TrainOptions.keepState`): continuing to a later epoch gives the same weights as one straight run.
 */
export interface NativeTrainingState {
  /** Epochs trained. */
  epochsDone: number;
  /** Optimizer steps taken. */
  steps: number;
  /** The dropout generator's state. */
  rng: Uint32Array;
  /** Parameters and batch-norm running statistics, in the engine's tensor order. */
  params: Float32Array;
  state: Float32Array;
  /** Optimizer moments (`v` is empty for SGD). */
  m: Float32Array;
  v: Float32Array;
}

export interface NativeTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface NativeEpoch {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
}

export interface NativeResult {
  status: 'ok' | 'diverged' | 'invalid' | 'oom' | 'failed' | 'cancelled';
  error?: string;
  params: number;
  flops: number;
  /** The estimated peak memory of training this candidate, in bytes (0 when it could not be planned). */
  memoryBytes: number;
  inputShape: [number, number, number];
  metrics: { trainLoss: number; valLoss: number; valAccuracy: number; testLoss: number; testAccuracy: number };
  seconds: number;
  /** Seconds from the batch's start to this candidate's start (it may wait for memory or a worker). */
  startedAt: number;
  samplesPerSecond: number;
  samplesSeen: number;
  epochs: NativeEpoch[];
  weights?: { params: NativeTensor[]; state: NativeTensor[] };
  trainingState?: NativeTrainingState;
  inheritance?: NativeInheritReport;
}

/** What happened to each tensor of a child that inherited a parent's weights. */
export interface NativeInheritReport {
  /** The child computes the parent's function (inference mode) before any training. */
  functionPreserving: boolean;
  /** Why not, when it does not. */
  reason?: string;
  params: NativeInheritedTensor[];
  state: NativeInheritedTensor[];
}

export interface NativeInheritedTensor {
  tensor: string;
  /** The parent's tensor it came from, null when none. */
  from: string | null;
  /**
   * "copy", "widen", "shrink", "kernel-embed", "kernel-crop", "identity", "zero", "partial" or
   * "fresh", several joined by "+".
   */
  how: string;
}

/** A trained parent network as the engine takes it. */
export interface NativeParent {
  nodes: NativeNode[];
  inputShape: [number, number, number];
  outputSize: number;
  params: NativeTensor[];
  state: NativeTensor[];
}

export interface NativeProgress {
  type: 'step' | 'epoch';
  candidate: number;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  trainLoss: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
}

export interface NativePlan {
  params: number;
  flops: number;
  nodes: { name: string; op: NativeOp; inputs: number[]; outputShape: [number, number, number]; flops: number }[];
  tensors: { name: string; shape: number[] }[];
}

export interface NativeNetwork {
  params(): NativeTensor[];
  state(): NativeTensor[];
  setParams(values: Float32Array[]): void;
  setState(values: Float32Array[]): void;
  forward(x: Float32Array, batch: number, training: boolean, seed?: number): Float32Array;
  backward(dOutput: Float32Array, wantInputGrad: boolean): { params: Float32Array[]; input?: Float32Array };
  /** The zero-cost proxies of the network as it is, on `count` labelled samples (uses up its statistics). */
  proxies(x: Float32Array, labels: Int32Array, count: number): NativeProxyScores;
}

export interface NativeOptimizerConfig {
  optimizer: 'sgd' | 'adamw';
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * A search space's decision structure as numbers (see native/core/mcts.h): the slots of the
 * max-expanded tree in pre-order, and the gates that make slots present.
 */
export interface NativeDecisionStructure {
  /** Options of each slot. */
  slotOptions: Int32Array;
  /** The gate each slot needs open (0: always open). */
  slotGate: Int32Array;
  /** Per gate: its parent gate (gate 0, the root: -1). */
  gateParent: Int32Array;
  /** Per gate: the slot it tests (gate 0: -1; -1 for a later gate: never open). */
  gateSlot: Int32Array;
  /** Per gate g >= 1 that tests a slot, in gate order: one 0/1 flag per option of that slot. */
  gateAllowed: Uint8Array;
}

/** value = bias + Σ_t (linear[f_t] + Σ_{s<t} pairwise[f_s·F + f_t]) over the chosen (slot, option) features f, summed in that order. */
export interface NativeSurrogate {
  bias: number;
  /** One weight per (slot, option): F = Σ slotOptions. */
  linear: Float64Array;
  /** F×F row-major, or omitted/empty for a linear surrogate. */
  pairwise?: Float64Array;
}

export interface NativeRolloutOptions {
  /** Rollouts per prefix. Default 4096. */
  rollouts?: number;
  /** Default 0. */
  seed?: number;
  /** Best distinct completions kept per prefix. Default 8. */
  topK?: number;
  /** Threads; 0 for every hardware thread. Default 1. Results do not depend on it. */
  threads?: number;
}

/** What the rollouts from one prefix found. */
export interface NativePrefixStats {
  /** Options of the next decision; 0 when the prefix is complete. */
  options: number;
  /** Rollouts run (0 for a complete prefix). */
  rollouts: number;
  /** Per option of the next decision: rollouts through it, their mean and best value. */
  visits: Int32Array;
  mean: Float64Array;
  max: Float64Array;
  /** The best distinct completed sequences, best first. */
  best: { decisions: number[]; value: number }[];
}

/** A data set copied into engine memory; training reads only this copy, never the caller's arrays. */
export interface NativeDataset {
  /** Bytes the copy holds. */
  readonly bytes: number;
}

export interface NativeMemoryInfo {
  /** Memory this process can use: physical memory, lowered by a cgroup limit or an address-space limit. */
  availableBytes: number;
  /** The default `maxMemory`: half of availableBytes. */
  defaultBudgetBytes: number;
  /** Bytes the engine's running candidates hold now, process-wide. */
  heldBytes: number;
}

/** The zero-cost proxies of one untrained network (NaN when not finite). */
export interface NativeProxyScores {
  gradNorm: number;
  snip: number;
  fisher: number;
  synflow: number;
  jacov: number;
  naswot: number;
}

export interface NativeProxyResult {
  status: NativeResult['status'];
  error?: string;
  params: number;
  flops: number;
  memoryBytes: number;
  scores: NativeProxyScores;
  seconds: number;
}

export interface NativeBinding {
  /** The child's weights mapped from a parent's (its other tensors initialised from `seed`), synchronously. */
  inheritWeights(
    parent: NativeParent,
    child: { nodes: NativeNode[]; inputShape: [number, number, number] },
    seed?: number,
  ): { params: NativeTensor[]; state: NativeTensor[]; report: NativeInheritReport };
  /** Zero-cost proxies of each candidate at initialisation, on one minibatch, on engine threads. */
  scoreProxies(
    candidates: { nodes: NativeNode[] }[],
    data: NativeTrainData | NativeDataset,
    options?: { batchSize?: number; seed?: number; threads?: number; maxMemory?: number },
  ): Promise<NativeProxyResult[]>;
  /** Copies a data set into engine memory (validated as `train` validates it). */
  Dataset: new (data: NativeTrainData) => NativeDataset;
  memoryInfo(): NativeMemoryInfo;
  train(
    candidates: { nodes: NativeNode[]; optimizer?: NativeOptimizerConfig; resume?: NativeTrainingState; parent?: NativeParent }[],
    data: NativeTrainData | NativeDataset,
    options: NativeTrainOptions,
    onProgress: (event: NativeProgress) => void,
  ): { promise: Promise<NativeResult[]>; cancel(): void };
  plan(nodes: NativeNode[], inputShape: Shape3, outputSize: number): NativePlan;
  loss(
    kind: 'cross_entropy' | 'mse',
    output: Float32Array,
    target: Int32Array | Float32Array,
    batch: number,
    width: number,
  ): { loss: number; correct: number; grad: Float32Array };
  optimizerStep(
    config: NativeOptimizerConfig,
    lr: number,
    step: number,
    decay: boolean,
    params: Float32Array,
    grads: Float32Array,
    m: Float32Array,
    v: Float32Array,
  ): void;
  cosineLr(base: number, step: number, total: number, warmup: number): number;
  fmaPeak(threads: number, seconds: number): Promise<number>;
  gemmBenchmark(
    m: number,
    n: number,
    k: number,
    threads: number,
    transA: boolean,
    transB: boolean,
    seconds: number,
  ): Promise<number>;
  /** MCTS rollouts from each prefix, on a worker thread. */
  mctsRollouts(
    structure: NativeDecisionStructure,
    surrogate: NativeSurrogate,
    prefixes: readonly (readonly number[] | Int32Array)[],
    options?: NativeRolloutOptions,
  ): Promise<NativePrefixStats[]>;
  /** The same work on the calling thread, for callers that must answer synchronously (Strategy.ask). */
  mctsRolloutsSync(
    structure: NativeDecisionStructure,
    surrogate: NativeSurrogate,
    prefixes: readonly (readonly number[] | Int32Array)[],
    options?: NativeRolloutOptions,
  ): NativePrefixStats[];
  Network: new (nodes: NativeNode[], inputShape: Shape3, outputSize: number, maxBatch: number, seed: number) => NativeNetwork;
  buildInfo: {
    gemmIsa: 'avx512' | 'avx2' | 'portable';
    hardwareThreads: number;
    backends: string[];
    cudaCompiled: boolean;
    cudaDevices: { name: string; memoryGiB: number; computeCapability: string }[];
    cudaUnavailableReason?: string;
  };
}

let cached: NativeBinding | undefined;

/** Loads the addon once (a prebuild for this platform, else the local build). */
export function native(): NativeBinding {
  if (cached) return cached;
  const root = packageRoot();
  const require = createRequire(import.meta.url);
  const tried = [
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`),
    path.join(root, 'build', 'Release', 'nasx.node'),
    path.join(root, 'build', 'Debug', 'nasx.node'),
  ];
  try {
    const load = require('node-gyp-build') as (dir: string) => unknown;
    cached = load(root) as NativeBinding;
    return cached;
  } catch (err) {
    const found = tried.filter((p) => existsSync(p));
    throw new NasxError(
      'ERR_NASX_NATIVE_LOAD',
      `Could not load the nasx native addon for ${process.platform}-${process.arch} ` +
        `(Node ${process.version}, ABI ${process.versions.modules}, N-API ${process.versions.napi}). ` +
        `Tried: ${tried.join(', ')}${found.length ? ` (present: ${found.join(', ')})` : ' (none present)'}. ` +
        `Cause: ${(err as Error).message.split('\n')[0]}. ` +
        `Fix: run \`npm rebuild nasx\` (or \`npx cmake-js compile\` in the package directory); ` +
        `building needs a C++17 compiler and CMake.`,
      { cause: err },
    );
  }
}

const CODES: Record<string, NasxErrorCode> = {
  ERR_NASX_INVALID_ARCH: 'ERR_NASX_INVALID_ARCH',
  ERR_NASX_INVALID_ARGUMENT: 'ERR_NASX_INVALID_ARGUMENT',
  ERR_NASX_OUT_OF_MEMORY: 'ERR_NASX_OUT_OF_MEMORY',
  ERR_NASX_ENGINE: 'ERR_NASX_ENGINE',
};

/**
 * Turns an error thrown by the addon into a NasxError (engine failures) or leaves TypeError and
 * RangeError as they are. The message is kept; the stack is the caller's.
 */
export function fromNative(err: unknown, callerStack?: string): Error {
  if (err instanceof TypeError || err instanceof RangeError) return err;
  const e = err as Error & { code?: string };
  const code = (e && typeof e.code === 'string' && CODES[e.code]) || 'ERR_NASX_ENGINE';
  const wrapped = new NasxError(code, e?.message ?? String(err), { cause: err });
  if (callerStack) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${callerStack.split('\n').slice(1).join('\n')}`;
  return wrapped;
}
