/**
 * `trainCandidates`: trains a batch of architectures at once in the native engine, on one shared,
 * shuffled data stream, without blocking the event loop.
 */
import type { Arch } from './arch/arch.js';
import { lowerArch } from './arch/arch.js';
import type { Dataset } from './data/dataset.js';
import { loadDataset, type DatasetSource } from './data/load.js';
import { toNativeParent, type InheritReport, type ParentModel } from './estimation/inherit.js';
import { AbortError, NasxError, checkInteger, checkNumber, checkOneOf, typeError } from './errors.js';
import {
  fromNative,
  native,
  type NativeDataset,
  type NativeNode,
  type NativeOptimizerConfig,
  type NativeParent,
  type NativeProgress,
  type NativeResult,
  type NativeTensor,
  type NativeTrainingState,
} from './native/binding.js';

/**
 * `ok`: trained; `diverged`: the loss stopped being finite; `invalid`: the architecture cannot be
 * built; `oom`: the candidate would not fit the memory budget (its estimated and allowed bytes are in
 * `error`); `failed`: anything else went wrong; `cancelled`: stopped by a signal before it finished.
 */
export type CandidateStatus = 'ok' | 'diverged' | 'invalid' | 'oom' | 'failed' | 'cancelled';

export interface TrainOptions {
  /** Passes over the training data, 0-100,000; 0 evaluates the initialised (or inherited) network. Default 1. */
  epochs?: number;
  /** Mini-batch size. Default 128. */
  batchSize?: number;
  /** Default "adamw". */
  optimizer?: 'sgd' | 'adamw';
  /** Peak learning rate (cosine decay after a linear warm-up). Default 1e-3 for AdamW, 0.05 for SGD. */
  lr?: number;
  /** SGD momentum. Default 0.9. */
  momentum?: number;
  /** Default 1e-4 for AdamW (decoupled), 5e-4 for SGD (L2). */
  weightDecay?: number;
  /** Fraction of all steps spent warming up. Default 0.05. */
  warmupFraction?: number;
  /** Seeds initialisation, data order and dropout. Default 0. */
  seed?: number;
  /** Threads used. Default: every hardware thread. */
  threads?: number;
  /** Fraction of the training split to train on (a seeded subset), in (0, 1]. Default 1. */
  dataFraction?: number;
  /** Input height after resampling (width in proportion); 0 or omitted keeps the data's own. */
  resolution?: number;
  /** Return the trained weights with each result. Default false. */
  keepWeights?: boolean;
  /**
   * Return each trained candidate's full training state (`trainingState`: weights, optimizer moments,
   * step count, dropout generator), so that `resume` can continue it later. Default false.
   */
  keepState?: boolean;
  /**
   * Per candidate (same order as `archs`), a state to continue from instead of initialising:
   * training runs the epochs after `state.epochsDone` up to `epochs`. With the same seed, data,
   * batch size and `scheduleEpochs`, training 3 epochs and continuing to 9 gives the weights of 9
   * straight. A state that does not fit its candidate makes it `failed`, with the reason.
   */
  resume?: readonly (TrainingState | null | undefined)[];
  /**
   * Per candidate (same order as `archs`), a trained parent whose weights it starts from
   * (`{ parent }`: a `TrainedModel`, or a `TrainResult` trained with `keepWeights`), mapped onto
   * it by the engine (see `inheritWeights`); tensors the parent has no counterpart for are
   * initialised as usual. The optimizer starts afresh (zero moments, the learning-rate schedule from
   * its warm-up). Each result's `inheritance` says what was inherited and how. Not with `resume`.
   */
  init?: readonly ({ parent: ParentModel } | null | undefined)[];
  /**
   * Length of the learning-rate schedule in epochs (at least `epochs`; default `epochs`): a run that
   * may be continued later is scheduled over the epochs it may reach.
   */
  scheduleEpochs?: number;
  /**
   * Bytes of memory the engine may hold for training in this process while this call's candidates
   * start (every running job's candidates count). A candidate estimated above it is `oom`; others
   * wait until enough is free. Default: half of the machine's memory (or of the cgroup limit).
   */
  maxMemory?: number;
  /** Cancels training; the promise then rejects with an AbortError that carries the results so far. */
  signal?: AbortSignal;
  /** Per-epoch (and, within long epochs, per-step) progress, per candidate. */
  onProgress?: (event: TrainProgress) => void;
}

export type TrainProgress = NativeProgress;

export type TrainingState = NativeTrainingState;

export interface TrainMetrics {
  trainLoss: number | null;
  valLoss: number | null;
  testLoss: number | null;
  /** Fractions in [0, 1]; null for regression. */
  valAccuracy: number | null;
  testAccuracy: number | null;
  /** Regression: root mean squared error in the targets' own units. */
  valRmse?: number | null;
  testRmse?: number | null;
}

export interface TrainResult {
  arch: Arch;
  status: CandidateStatus;
  error?: string;
  params: number;
  flops: number;
  /** The engine's estimate of the peak memory training this candidate takes, in bytes (0 if it was never planned). */
  memoryBytes: number;
  metrics: TrainMetrics;
  /** Wall-clock seconds from the batch's start to this candidate's finish. */
  seconds: number;
  /** Seconds from the batch's start to this candidate's start (it may wait for memory or a worker). */
  startedAt: number;
  /** Training samples processed over `seconds`. */
  samplesPerSecond: number;
  /** Training samples processed (minibatch steps completed × their sizes). */
  samplesSeen: number;
  epochs: { epoch: number; trainLoss: number; valLoss: number | null; valAccuracy: number | null; seconds: number }[];
  /** Input shape the network was trained on (after resampling). */
  inputShape: [number, number, number];
  weights?: { params: NativeTensor[]; state: NativeTensor[] };
  /** With `keepState`: what `resume` needs to continue this candidate. */
  trainingState?: TrainingState;
  /** With `init`: what the candidate inherited from its parent, per tensor. */
  inheritance?: InheritReport;
}

/** Rejection of a cancelled `trainCandidates`; `results` holds every candidate, unfinished ones `cancelled`. */
export { AbortError };

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Checks options up front, so that bad values fail before any work with a message naming them. */
export function checkTrainOptions(options: unknown): TrainOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw typeError('options', 'an object', options);
  const o = options as Record<string, unknown>;
  const known = [
    'epochs', 'batchSize', 'optimizer', 'lr', 'momentum', 'weightDecay', 'warmupFraction', 'seed', 'threads',
    'dataFraction', 'resolution', 'keepWeights', 'keepState', 'resume', 'init', 'scheduleEpochs', 'maxMemory', 'signal', 'onProgress',
  ];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new RangeError(`Unknown option "${k}" for options; known options are ${known.join(', ')}`);
  }
  if (o.epochs !== undefined) checkInteger('options.epochs', o.epochs, 0, 100000);
  if (o.batchSize !== undefined) checkInteger('options.batchSize', o.batchSize, 1, 65536);
  if (o.optimizer !== undefined) checkOneOf('options.optimizer', o.optimizer, ['sgd', 'adamw'] as const);
  if (o.lr !== undefined) checkNumber('options.lr', o.lr, 0, 10, { exclusiveMin: true });
  if (o.momentum !== undefined) checkNumber('options.momentum', o.momentum, 0, 0.9999);
  if (o.weightDecay !== undefined) checkNumber('options.weightDecay', o.weightDecay, 0, 10);
  if (o.warmupFraction !== undefined) checkNumber('options.warmupFraction', o.warmupFraction, 0, 1);
  if (o.seed !== undefined) checkInteger('options.seed', o.seed, 0);
  if (o.threads !== undefined) checkInteger('options.threads', o.threads, 1, 1024);
  if (o.dataFraction !== undefined) checkNumber('options.dataFraction', o.dataFraction, 0, 1, { exclusiveMin: true });
  if (o.resolution !== undefined) checkInteger('options.resolution', o.resolution, 0, 4096);
  if (o.maxMemory !== undefined) checkInteger('options.maxMemory', o.maxMemory, 1 << 20);
  if (o.scheduleEpochs !== undefined) checkInteger('options.scheduleEpochs', o.scheduleEpochs, (o.epochs as number | undefined) ?? 1, 100000);
  if (o.keepState !== undefined && typeof o.keepState !== 'boolean') throw typeError('options.keepState', 'a boolean', o.keepState);
  if (o.init !== undefined && !Array.isArray(o.init)) throw typeError('options.init', 'an array of { parent } (or null), one per architecture', o.init);
  if (o.resume !== undefined && !Array.isArray(o.resume)) throw typeError('options.resume', 'an array of training states (or null), one per architecture', o.resume);
  if (o.keepWeights !== undefined && typeof o.keepWeights !== 'boolean') throw typeError('options.keepWeights', 'a boolean', o.keepWeights);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', o.signal);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw typeError('options.onProgress', 'a function', o.onProgress);
  return o as TrainOptions;
}

function toResult(arch: Arch, r: NativeResult, data: Dataset): TrainResult {
  const m = r.metrics;
  const metrics: TrainMetrics = {
    trainLoss: num(m.trainLoss),
    valLoss: num(m.valLoss),
    testLoss: num(m.testLoss),
    valAccuracy: num(m.valAccuracy),
    testAccuracy: num(m.testAccuracy),
  };
  if (data.task === 'regression' && data.targetNormalization) {
    // The engine's MSE is on standardised targets; report RMSE in the targets' units (mean over outputs).
    const std = data.targetNormalization.std;
    const meanVar = std.reduce((a, s) => a + s * s, 0) / std.length;
    metrics.valRmse = num(Math.sqrt(m.valLoss * meanVar));
    metrics.testRmse = num(Math.sqrt(m.testLoss * meanVar));
  }
  const result: TrainResult = {
    arch,
    status: r.status,
    params: r.params,
    flops: r.flops,
    memoryBytes: r.memoryBytes,
    metrics,
    seconds: r.seconds,
    startedAt: r.startedAt,
    samplesPerSecond: r.samplesPerSecond,
    samplesSeen: r.samplesSeen,
    epochs: r.epochs.map((e) => ({ ...e, valLoss: num(e.valLoss), valAccuracy: num(e.valAccuracy) })),
    inputShape: r.inputShape,
  };
  if (r.error) result.error = r.error;
  if (r.weights) result.weights = r.weights;
  if (r.trainingState) result.trainingState = r.trainingState;
  if (r.inheritance) result.inheritance = r.inheritance;
  return result;
}

function invalidResult(arch: Arch, error: string, data: Dataset): TrainResult {
  return {
    arch,
    status: 'invalid',
    error,
    params: 0,
    flops: 0,
    memoryBytes: 0,
    metrics: { trainLoss: null, valLoss: null, testLoss: null, valAccuracy: null, testAccuracy: null },
    seconds: 0,
    startedAt: 0,
    samplesPerSecond: 0,
    samplesSeen: 0,
    epochs: [],
    inputShape: [...data.inputShape] as [number, number, number],
  };
}

/**
 * Trains every architecture in `archs` at once and resolves with one result per architecture, in
 * order. A candidate that is malformed (`invalid`), diverges or fails never affects the others.
 *
 * @example const [r] = await trainCandidates([{ type: 'mlp', layers: [{ units: 128 }] }], 'digits', { epochs: 5 });
 */
export async function trainCandidates(
  archs: readonly Arch[],
  dataset: Dataset | DatasetSource,
  options: TrainOptions = {},
): Promise<TrainResult[]> {
  const stack = new Error().stack;
  if (!Array.isArray(archs)) throw typeError('archs', 'an array of architectures', archs);
  const opts = checkTrainOptions(options);
  const data = isDataset(dataset) ? dataset : await loadDataset(dataset as DatasetSource, { seed: opts.seed ?? 0 });
  if (opts.signal?.aborted) throw new AbortError<TrainResult>('training was aborted before it started', []);
  if (opts.resume !== undefined && opts.resume.length !== archs.length) {
    throw new RangeError(`Expected options.resume to hold one entry per architecture (${archs.length}) but received ${opts.resume.length}`);
  }
  if (opts.init !== undefined && opts.init.length !== archs.length) {
    throw new RangeError(`Expected options.init to hold one entry per architecture (${archs.length}) but received ${opts.init.length}`);
  }
  const parents = (opts.init ?? []).map((entry, i) => {
    if (entry === null || entry === undefined) return undefined;
    if (typeof entry !== 'object' || !('parent' in entry)) throw typeError(`options.init[${i}]`, 'an object { parent } (or null)', entry);
    if (opts.resume?.[i]) throw typeError(`options.init[${i}]`, 'null where options.resume has a state (a resumed candidate has its own weights)', entry);
    return toNativeParent(entry.parent, data.outputSize, `options.init[${i}].parent`);
  });

  const results: (TrainResult | undefined)[] = new Array(archs.length);
  const lowered: { nodes: NativeNode[]; optimizer?: NativeOptimizerConfig; resume?: TrainingState; parent?: NativeParent }[] = [];
  const slots: number[] = [];
  archs.forEach((arch, i) => {
    try {
      const nodes = lowerArch(arch, data.outputSize, `archs[${i}]`);
      const hyper = arch.hyper;
      const resume = opts.resume?.[i] ?? undefined;
      const parent = parents[i];
      lowered.push({
        nodes,
        ...(hyper
          ? {
              optimizer: {
                optimizer: hyper.optimizer ?? opts.optimizer ?? 'adamw',
                lr: hyper.lr ?? (hyper.optimizer === undefined || hyper.optimizer === opts.optimizer ? opts.lr : undefined),
                weightDecay: hyper.weightDecay ?? opts.weightDecay,
                momentum: hyper.momentum ?? opts.momentum,
              },
            }
          : {}),
        ...(resume ? { resume } : {}),
        ...(parent ? { parent } : {}),
      });
      slots.push(i);
    } catch (err) {
      if (!(err instanceof NasxError)) throw err;
      results[i] = invalidResult(arch, err.message, data);
    }
  });

  if (lowered.length > 0) {
    const addon = native();
    const onProgress = opts.onProgress;
    let job: ReturnType<typeof addon.train>;
    try {
      job = addon.train(
        lowered,
        engineData(data),
        {
          epochs: opts.epochs,
          batchSize: opts.batchSize,
          optimizer: opts.optimizer,
          lr: opts.lr,
          momentum: opts.momentum,
          weightDecay: opts.weightDecay,
          warmupFraction: opts.warmupFraction,
          seed: opts.seed,
          threads: opts.threads,
          dataFraction: opts.dataFraction,
          resolution: opts.resolution,
          keepWeights: opts.keepWeights,
          keepState: opts.keepState,
          scheduleEpochs: opts.scheduleEpochs,
          maxMemory: opts.maxMemory,
        },
        (event) => {
          if (!onProgress) return;
          try {
            onProgress({ ...event, candidate: slots[event.candidate] ?? event.candidate });
          } catch {
            // A failing progress callback must not stop training.
          }
        },
      );
    } catch (err) {
      throw fromNative(err, stack);
    }
    const onAbort = () => job.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let native_results: NativeResult[];
    try {
      native_results = await job.promise;
    } catch (err) {
      throw fromNative(err, stack);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    native_results.forEach((r, j) => {
      const i = slots[j]!;
      results[i] = toResult(archs[i]!, r, data);
    });
  }
  const done = results as TrainResult[];
  if (opts.signal?.aborted) throw new AbortError<TrainResult>('training was aborted', done);
  return done;
}

/** The engine's copy of each Dataset, made the first time it is trained on (see `Dataset`). */
const engineCopies = new WeakMap<Dataset, { copy: NativeDataset; arrays: unknown[] }>();

function engineArrays(data: Dataset): unknown[] {
  return [data.train.x, data.train.y, data.validation.x, data.validation.y, data.test.x, data.test.y];
}

/**
 * The engine's own copy of `data`: training never reads the caller's typed arrays, so detaching or
 * transferring them while it runs is harmless.
 */
export function engineData(data: Dataset): NativeDataset {
  const arrays = engineArrays(data);
  const known = engineCopies.get(data);
  if (known && known.arrays.every((a, i) => a === arrays[i])) return known.copy;
  const copy = new (native().Dataset)({
    inputShape: data.inputShape,
    task: data.task,
    outputSize: data.outputSize,
    train: data.train,
    validation: data.validation.count > 0 ? data.validation : undefined,
    test: data.test.count > 0 ? data.test : undefined,
  });
  engineCopies.set(data, { copy, arrays });
  return copy;
}

export function isDataset(d: unknown): d is Dataset {
  return typeof d === 'object' && d !== null && 'train' in d && 'inputShape' in d && 'task' in d;
}
