/**
 * `TfjsEvaluator`: builds and trains each candidate with TensorFlow.js, with the same results as
 * `NativeEvaluator` (metrics, score, cost, status), so that the two backends can be compared on the
 * same architectures and data.
 *
 * TensorFlow.js is an optional peer dependency. The evaluator uses the first of these that loads:
 * `@tensorflow/tfjs-node-gpu` (CUDA), `@tensorflow/tfjs-node` (native CPU), `@tensorflow/tfjs`
 * (pure JavaScript).
 *
 * The network is the engine's own planned network (projections included) built from tfjs layers:
 * NHWC, "same" padding, average pooling without the padding, batch norm with epsilon 1e-5 and the
 * engine's running-statistics momentum, exact GELU. Training differs from the engine's where tfjs
 * offers no equivalent: Adam without decoupled weight decay (for "adamw"), SGD with momentum, a
 * constant learning rate (no cosine schedule or warm-up), tfjs's own initialisation and shuffling
 * (not reproducible run to run). `resolution` is not supported.
 */
import type * as Tf from '@tensorflow/tfjs';
import type { Arch } from '../arch/arch.js';
import { lowerArch } from '../arch/arch.js';
import { describeArch } from '../arch/describe.js';
import { plannedNodes, type PlannedNode } from '../arch/planned-nodes.js';
import type { Dataset, Split } from '../data/dataset.js';
import { loadDataset, type DatasetSource } from '../data/load.js';
import { AbortError, NasxError } from '../errors.js';
import { checkTrainOptions, type TrainMetrics, type TrainOptions } from '../train.js';
import type { EvalResult, EvaluateOptions, Evaluator, Fidelity } from './evaluator.js';

/** The TensorFlow.js packages tried, in order. */
export const TFJS_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs'] as const;
export type TfjsPackage = (typeof TFJS_PACKAGES)[number];

export interface LoadedTfjs {
  /** The package that loaded. */
  package: TfjsPackage;
  /** The module (`import * as tf from <package>`). */
  tf: typeof Tf;
  /** Why each package before it was skipped. */
  skipped: { package: TfjsPackage; reason: string }[];
}

export interface LoadTfjsOptions {
  /** Packages to try, in order. Default: TFJS_PACKAGES. */
  packages?: readonly TfjsPackage[];
  /** Imports a package (default: dynamic `import()`); for tests. */
  importer?: (name: string) => Promise<unknown>;
}

function isNotInstalled(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string };
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message).includes(name);
}

/**
 * Loads TensorFlow.js: the first of `@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node` and
 * `@tensorflow/tfjs` that is installed and loads. A package that is installed but fails to load (a
 * native binary that doesn't fit the machine) is skipped with its reason.
 */
export async function loadTfjs(options: LoadTfjsOptions = {}): Promise<LoadedTfjs> {
  const importer = options.importer ?? ((name: string) => import(name));
  const skipped: LoadedTfjs['skipped'] = [];
  for (const name of options.packages ?? TFJS_PACKAGES) {
    try {
      const mod = (await importer(name)) as typeof Tf & { default?: typeof Tf };
      const tf = typeof mod.sequential === 'function' ? mod : (mod.default ?? mod);
      if (typeof tf.sequential !== 'function') throw new Error('it does not export the TensorFlow.js API');
      return { package: name, tf, skipped };
    } catch (err) {
      skipped.push({ package: name, reason: isNotInstalled(err, name) ? 'not installed' : `failed to load: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  throw new NasxError(
    'ERR_NASX_NATIVE_LOAD',
    `No TensorFlow.js package could be loaded (${skipped.map((s) => `${s.package}: ${s.reason}`).join('; ')}). ` +
      'Install one: `npm install @tensorflow/tfjs-node` (native CPU), `npm install @tensorflow/tfjs-node-gpu` (CUDA) or `npm install @tensorflow/tfjs` (pure JavaScript)',
  );
}

export interface TfjsEvaluatorOptions<A> {
  /** The data to train on: a loaded Dataset or anything `loadDataset` accepts. */
  dataset: Dataset | DatasetSource;
  /** Maps a space's architecture to the engine's form; default: the architecture is already one. */
  build?: (arch: A) => Arch;
  /**
   * Training settings, as for NativeEvaluator; a fidelity's epochs and dataFraction override these.
   * Used: epochs, batchSize, optimizer, lr, momentum, seed (initialisation and dropout), dataFraction.
   */
  train?: Omit<TrainOptions, 'signal' | 'onProgress' | 'keepWeights'>;
  /** Load TensorFlow.js from these packages, in order (default: TFJS_PACKAGES). */
  packages?: readonly TfjsPackage[];
  /** A tfjs backend to select (e.g. "cpu", "tensorflow", "wasm"); default: the package's own. */
  backend?: string;
}

/** The tfjs tensors of one split, normalised as the data set stores them. */
interface SplitTensors {
  x: Tf.Tensor;
  y: Tf.Tensor;
  labels: Split['y'];
  count: number;
}

export class TfjsEvaluator<A = Arch> implements Evaluator<A> {
  readonly name = 'tfjs';
  private data: Promise<Dataset> | undefined;
  private tfjs: Promise<LoadedTfjs> | undefined;

  constructor(private readonly options: TfjsEvaluatorOptions<A>) {
    checkTrainOptions(options.train ?? {});
  }

  /** The data set, loaded once. */
  dataset(): Promise<Dataset> {
    const d = this.options.dataset;
    this.data ??= typeof d === 'object' && d !== null && 'train' in d && 'inputShape' in d ? Promise.resolve(d as Dataset) : loadDataset(d as DatasetSource, { seed: this.options.train?.seed ?? 0 });
    return this.data;
  }

  /** TensorFlow.js as loaded for this evaluator (which package, and why others were skipped). */
  backendInfo(): Promise<LoadedTfjs> {
    this.tfjs ??= loadTfjs(this.options.packages ? { packages: this.options.packages } : {}).then(async (loaded) => {
      if (this.options.backend) {
        const ok = await loaded.tf.setBackend(this.options.backend);
        if (!ok) throw new NasxError('ERR_NASX_NATIVE_LOAD', `The tfjs backend "${this.options.backend}" is not available in ${loaded.package}`);
      }
      await loaded.tf.ready();
      return loaded;
    });
    this.tfjs.catch(() => (this.tfjs = undefined));
    return this.tfjs;
  }

  async evaluate(candidates: readonly A[], fidelity: Fidelity = {}, opts: EvaluateOptions = {}): Promise<EvalResult<A>[]> {
    const data = await this.dataset();
    const { tf } = await this.backendInfo();
    const train = { ...this.options.train };
    if (fidelity.epochs !== undefined) train.epochs = fidelity.epochs;
    if (fidelity.dataFraction !== undefined) train.dataFraction = fidelity.dataFraction;
    const started = performance.now();
    const results: EvalResult<A>[] = [];
    const splits = this.tensors(tf, data, train.dataFraction ?? 1);
    try {
      for (const [i, candidate] of candidates.entries()) {
        const result = opts.signal?.aborted ? null : await this.one(tf, candidate, i, data, splits, train, fidelity, opts, started);
        // Aborted: keep what finished; the candidate in training is dropped, not scored.
        if (result === null) throw new AbortError<EvalResult<A>>('evaluation was aborted', results);
        results.push(result);
      }
    } finally {
      for (const s of Object.values(splits)) if (s) tf.dispose([s.x, s.y]);
    }
    return results;
  }

  private tensors(tf: typeof Tf, data: Dataset, fraction: number): { train: SplitTensors; validation?: SplitTensors; test?: SplitTensors } {
    const [h, w, c] = data.inputShape;
    const make = (s: Split, count: number): SplitTensors => ({
      x: tf.tensor4d(s.x.subarray(0, count * h * w * c), [count, h, w, c]),
      y:
        data.task === 'classification'
          ? tf.oneHot(tf.tensor1d(s.y.subarray(0, count) as Int32Array, 'int32'), data.outputSize)
          : tf.tensor2d(s.y.subarray(0, count * data.outputSize) as Float32Array, [count, data.outputSize]),
      labels: s.y,
      count,
    });
    // The training split is in a seeded random order, so a prefix is a random subset.
    const trainCount = Math.max(1, Math.round(data.train.count * fraction));
    return {
      train: make(data.train, trainCount),
      ...(data.validation.count > 0 ? { validation: make(data.validation, data.validation.count) } : {}),
      ...(data.test.count > 0 ? { test: make(data.test, data.test.count) } : {}),
    };
  }

  private async one(
    tf: typeof Tf,
    candidate: A,
    index: number,
    data: Dataset,
    splits: { train: SplitTensors; validation?: SplitTensors; test?: SplitTensors },
    train: NonNullable<TfjsEvaluatorOptions<A>['train']>,
    fidelity: Fidelity,
    opts: EvaluateOptions,
    started: number,
  ): Promise<EvalResult<A> | null> {
    const seconds = () => (performance.now() - started) / 1000;
    const fail = (status: 'invalid' | 'failed', error: string): EvalResult<A> => ({ arch: candidate, status, error, metrics: { score: null }, seconds: seconds() });
    if (fidelity.resolution !== undefined && fidelity.resolution !== 0 && fidelity.resolution !== data.inputShape[0]) {
      return fail('failed', 'the tfjs evaluator does not resample inputs (fidelity.resolution)');
    }
    let nodes: PlannedNode[];
    let cost: { params: number; flops: number };
    let arch: Arch;
    try {
      arch = (this.options.build ?? ((a: A) => a as unknown as Arch))(candidate);
      const lowered = lowerArch(arch, data.outputSize, `archs[${index}]`);
      nodes = plannedNodes(lowered, data.inputShape, data.outputSize);
      const plan = describeArch(arch, data);
      cost = { params: plan.params, flops: plan.flops };
    } catch (err) {
      return fail('invalid', (err as Error).message);
    }
    let model: Tf.LayersModel | undefined;
    try {
      const hyper = arch.hyper ?? {};
      const seed = train.seed ?? 0;
      model = buildTfjsModel(tf, nodes, data.inputShape, seed);
      const optimizer = hyper.optimizer ?? train.optimizer ?? 'adamw';
      const lr = hyper.lr ?? train.lr ?? (optimizer === 'sgd' ? 0.05 : 1e-3);
      const regression = data.task === 'regression';
      model.compile({
        optimizer: optimizer === 'sgd' ? tf.train.momentum(lr, hyper.momentum ?? train.momentum ?? 0.9) : tf.train.adam(lr),
        loss: regression ? 'meanSquaredError' : (yTrue: Tf.Tensor, yPred: Tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
      });
      const epochs = train.epochs ?? 1;
      let trainLoss = NaN;
      let stop = false;
      await model.fit(splits.train.x, splits.train.y, {
        epochs,
        batchSize: train.batchSize ?? 128,
        shuffle: true,
        verbose: 0,
        callbacks: {
          onEpochEnd: async (epoch: number, logs?: Tf.Logs) => {
            trainLoss = logs?.loss ?? NaN;
            opts.onProgress?.({ candidate: index, fraction: (epoch + 1) / epochs });
            if (opts.signal?.aborted || !Number.isFinite(trainLoss)) {
              stop = true;
              model!.stopTraining = true;
            }
          },
        },
      });
      if (opts.signal?.aborted) return null;
      const val = splits.validation ? evaluateSplit(tf, model, splits.validation, regression) : { loss: NaN, accuracy: NaN };
      const test = splits.test ? evaluateSplit(tf, model, splits.test, regression) : { loss: NaN, accuracy: NaN };
      const num = (x: number) => (Number.isFinite(x) ? x : null);
      const metrics: TrainMetrics = {
        trainLoss: num(trainLoss),
        valLoss: num(val.loss),
        testLoss: num(test.loss),
        valAccuracy: regression ? null : num(val.accuracy),
        testAccuracy: regression ? null : num(test.accuracy),
      };
      if (regression && data.targetNormalization) {
        const std = data.targetNormalization.std;
        const meanVar = std.reduce((a, s) => a + s * s, 0) / std.length;
        metrics.valRmse = num(Math.sqrt(val.loss * meanVar));
        metrics.testRmse = num(Math.sqrt(test.loss * meanVar));
      }
      const diverged = stop || !Number.isFinite(trainLoss);
      const score = regression ? (metrics.valRmse === null || metrics.valRmse === undefined ? null : -metrics.valRmse) : metrics.valAccuracy;
      return {
        arch: candidate,
        status: diverged ? 'diverged' : 'ok',
        metrics: { score: diverged ? null : score, ...metrics },
        cost,
        seconds: seconds(),
      };
    } catch (err) {
      return fail('failed', (err as Error).message);
    } finally {
      model?.dispose();
    }
  }
}

/** Mean loss and accuracy of a model on a split (inference mode), in chunks. */
function evaluateSplit(tf: typeof Tf, model: Tf.LayersModel, s: SplitTensors, regression: boolean): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const out = model.predict(s.x, { batchSize: 256 }) as Tf.Tensor;
    if (regression) return { loss: tf.losses.meanSquaredError(s.y, out).dataSync()[0]!, accuracy: NaN };
    const loss = tf.losses.softmaxCrossEntropy(s.y, out).dataSync()[0]!;
    const predicted = out.argMax(-1).dataSync();
    let correct = 0;
    for (let i = 0; i < s.count; i++) if (predicted[i] === s.labels[i]) correct++;
    return { loss, accuracy: correct / s.count };
  });
}

/**
 * The planned network as a tfjs LayersModel (NHWC; flat tensors are [batch, features]), ending in
 * logits.
 */
export function buildTfjsModel(tf: typeof Tf, nodes: readonly PlannedNode[], inputShape: readonly number[], seed: number): Tf.LayersModel {
  type Value = { t: Tf.SymbolicTensor; spatial: boolean };
  const input = tf.input({ shape: [...inputShape] });
  const init = (k: number) => ({ kernelInitializer: tf.initializers.heNormal({ seed: seed + k }) });
  const flat = (v: Value): Tf.SymbolicTensor => (v.spatial ? (tf.layers.flatten().apply(v.t) as Tf.SymbolicTensor) : v.t);
  const spatial = (v: Value, shape: readonly number[]): Tf.SymbolicTensor =>
    v.spatial ? v.t : (tf.layers.reshape({ targetShape: [...shape] }).apply(v.t) as Tf.SymbolicTensor);
  const values: Value[] = [];
  const start: Value = { t: input, spatial: true };
  for (const [k, n] of nodes.entries()) {
    const ins = n.inputs.map((i) => (i < 0 ? start : values[i]!));
    const inShape = (i: number) => (i < 0 ? inputShape : nodes[i]!.outputShape);
    const x = ins[0]!;
    const xShape = inShape(n.inputs[0]!);
    const apply = (layer: Tf.layers.Layer, t: Tf.SymbolicTensor | Tf.SymbolicTensor[]) => layer.apply(t) as Tf.SymbolicTensor;
    let v: Value;
    switch (n.op) {
      case 'dense':
        v = { t: apply(tf.layers.dense({ units: n.units!, useBias: n.bias !== false, ...init(k) }), flat(x)), spatial: false };
        break;
      case 'conv2d':
        v = {
          t: apply(tf.layers.conv2d({ filters: n.filters!, kernelSize: n.kernel!, strides: n.stride ?? 1, padding: 'same', useBias: n.bias !== false, ...init(k) }), spatial(x, xShape)),
          spatial: true,
        };
        break;
      case 'depthwise_conv2d':
        v = {
          t: apply(
            tf.layers.depthwiseConv2d({ kernelSize: n.kernel!, strides: n.stride ?? 1, padding: 'same', useBias: n.bias !== false, depthwiseInitializer: tf.initializers.heNormal({ seed: seed + k }) }),
            spatial(x, xShape),
          ),
          spatial: true,
        };
        break;
      case 'max_pool':
        v = { t: apply(tf.layers.maxPooling2d({ poolSize: n.kernel!, strides: n.stride ?? 1, padding: 'same' }), spatial(x, xShape)), spatial: true };
        break;
      case 'avg_pool':
        v = { t: apply(tf.layers.averagePooling2d({ poolSize: n.kernel!, strides: n.stride ?? 1, padding: 'same' }), spatial(x, xShape)), spatial: true };
        break;
      case 'global_avg_pool':
        v = { t: apply(tf.layers.globalAveragePooling2d({}), spatial(x, xShape)), spatial: false };
        break;
      case 'batch_norm':
        // tfjs momentum is the weight of the old running value: the engine's 0.1 update is 0.9 here.
        v = { t: apply(tf.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9 }), x.t), spatial: x.spatial };
        break;
      case 'dropout':
        v = { t: apply(tf.layers.dropout({ rate: n.rate ?? 0, seed: seed + k }), x.t), spatial: x.spatial };
        break;
      case 'activation': {
        const act = n.activation ?? 'identity';
        v = act === 'identity' ? x : { t: apply(tf.layers.activation({ activation: act }), x.t), spatial: x.spatial };
        break;
      }
      case 'flatten':
        v = { t: flat(x), spatial: false };
        break;
      case 'add': {
        const [h, w] = n.outputShape;
        const asSpatial = h * w > 1;
        const ts = ins.map((iv, j) => (asSpatial ? spatial(iv, inShape(n.inputs[j]!)) : flat(iv)));
        v = { t: apply(tf.layers.add(), ts), spatial: asSpatial };
        break;
      }
    }
    values.push(v);
  }
  return tf.model({ inputs: input, outputs: flat(values[values.length - 1]!) });
}
