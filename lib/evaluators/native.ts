/**
 * `NativeEvaluator`: trains each batch of candidates together in the native engine, at the fidelity
 * given, and scores them by validation accuracy (classification) or negative validation RMSE
 * (regression).
 */
import type { Arch } from '../arch/arch.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset, type DatasetSource } from '../data/load.js';
import { describeArch } from '../arch/describe.js';
import { AbortError, checkInteger, checkObject, checkOneOf, typeError } from '../errors.js';
import { addCandidateLatency, checkLatencyOptions, type CandidateLatencyOptions } from '../export/candidate-latency.js';
import type { ParentModel } from '../estimation/inherit.js';
import { PROXY_NAMES, proxyRanks, scoreProxies, type ProxyName } from '../estimation/proxies.js';
import { checkTrainOptions, trainCandidates, type TrainOptions, type TrainResult, type TrainingState } from '../train.js';
import type { EvalResult, EvaluateOptions, Evaluator, Fidelity } from './evaluator.js';

export interface NativeEvaluatorOptions<A> {
  /** The data to train on: a loaded Dataset or anything `loadDataset` accepts. */
  dataset: Dataset | DatasetSource;
  /** Maps a space's architecture to the engine's form; default: the architecture is already one. */
  build?: (arch: A) => Arch;
  /** Training settings; a fidelity's epochs, dataFraction and resolution override these. */
  train?: Omit<TrainOptions, 'signal' | 'onProgress' | 'keepWeights'>;
  /**
   * Measure each trained candidate's ONNX Runtime latency (batch 1, median ms) into
   * `metrics.latencyMs`; with `{ maxMs }`, slower candidates come back `invalid` (score null).
   */
  latency?: boolean | CandidateLatencyOptions;
  /**
   * The most parameters a candidate may have: one with more comes back `invalid` (score null, its
   * parameter count in the error) without being trained.
   */
  maxParams?: number;
}

function isParentModel(w: unknown): w is ParentModel {
  return typeof w === 'object' && w !== null && 'weights' in w && 'inputShape' in w;
}

function isTrainingState(s: unknown): s is TrainingState {
  return typeof s === 'object' && s !== null && (s as TrainingState).params instanceof Float32Array;
}

export class NativeEvaluator<A = Arch> implements Evaluator<A> {
  readonly name = 'native';
  private data: Promise<Dataset> | undefined;

  constructor(private readonly options: NativeEvaluatorOptions<A>) {
    checkObject('options', options);
    if (options.dataset === undefined || options.dataset === null) throw typeError('options.dataset', 'a Dataset or a data set source', options.dataset);
    if (options.build !== undefined && typeof options.build !== 'function') throw typeError('options.build', 'a function', options.build);
    checkTrainOptions(options.train ?? {});
    checkLatencyOptions(options.latency);
    if (options.maxParams !== undefined) checkInteger('options.maxParams', options.maxParams, 1);
  }

  /** The data set, loaded once. */
  dataset(): Promise<Dataset> {
    const d = this.options.dataset;
    this.data ??= typeof d === 'object' && d !== null && 'train' in d && 'inputShape' in d ? Promise.resolve(d as Dataset) : loadDataset(d as DatasetSource, { seed: this.options.train?.seed ?? 0 });
    return this.data;
  }

  /** The engine's form of each candidate; one that fails to build is an empty graph (invalid), its error kept. */
  private build(candidates: readonly A[], data: Dataset): { archs: Arch[]; buildErrors: Map<number, string> } {
    const build = this.options.build ?? ((a: A) => a as unknown as Arch);
    const { maxParams } = this.options;
    const archs: Arch[] = [];
    const buildErrors = new Map<number, string>();
    candidates.forEach((c, i) => {
      try {
        const arch = build(c);
        if (maxParams !== undefined) {
          const params = describeArch(arch, data).params;
          if (params > maxParams) throw new Error(`the architecture has ${params} parameters, over the limit of ${maxParams} (maxParams)`);
        }
        archs.push(arch);
      } catch (err) {
        buildErrors.set(i, (err as Error).message);
        archs.push({ type: 'graph', nodes: [] });
      }
    });
    return { archs, buildErrors };
  }

  async evaluate(candidates: readonly A[], fidelity: Fidelity = {}, opts: EvaluateOptions = {}): Promise<EvalResult<A>[]> {
    const data = await this.dataset();
    const { archs, buildErrors } = this.build(candidates, data);
    const train: TrainOptions = { ...this.options.train };
    if (fidelity.epochs !== undefined) train.epochs = fidelity.epochs;
    if (fidelity.dataFraction !== undefined) train.dataFraction = fidelity.dataFraction;
    if (fidelity.resolution !== undefined) train.resolution = fidelity.resolution;
    const epochs = train.epochs ?? 1;
    const resume = opts.resume?.map((r) => (isTrainingState(r) ? r : undefined));
    const init = opts.init?.map((w, i) => (isParentModel(w) && !resume?.[i] ? { parent: w } : null));
    let results: TrainResult[];
    try {
      results = await trainCandidates(archs, data, {
        ...train,
        keepWeights: Boolean(this.options.latency) || Boolean(opts.keepWeights),
        ...(init?.some((x) => x) ? { init } : {}),
        ...(opts.keepState ? { keepState: true } : {}),
        ...(resume?.some((r) => r) ? { resume } : {}),
        ...(opts.scheduleEpochs !== undefined ? { scheduleEpochs: Math.max(opts.scheduleEpochs, epochs) } : {}),
        signal: opts.signal,
        onProgress: opts.onProgress
          ? (e) => opts.onProgress!({ candidate: e.candidate, fraction: (e.epoch - 1 + e.step / Math.max(1, e.steps)) / epochs })
          : undefined,
      });
    } catch (err) {
      if (err instanceof AbortError) {
        // Keep what finished before the abort; unfinished candidates are dropped, not scored.
        const done = (err.results as TrainResult[])
          .map((r, i) => (r && r.status !== 'cancelled' ? this.toEval(candidates[i]!, r, data, buildErrors.get(i), resume?.[i], opts.keepWeights) : undefined))
          .filter((r): r is EvalResult<A> => r !== undefined);
        throw new AbortError<EvalResult<A>>(err.message, done);
      }
      throw err;
    }
    const out = results.map((r, i) => this.toEval(candidates[i]!, r, data, buildErrors.get(i), resume?.[i], opts.keepWeights));
    const latency = checkLatencyOptions(this.options.latency);
    if (latency) await addCandidateLatency(out, results, data, latency);
    return out;
  }

  /** Average proxy ranks (1 = best) of untrained candidates; Infinity for those that cannot be scored. */
  async prescreen(candidates: readonly A[], proxies: readonly string[], options: { signal?: AbortSignal } = {}): Promise<number[]> {
    proxies.forEach((p, i) => checkOneOf(`proxies[${i}]`, p, [...PROXY_NAMES, 'params', 'flops'] as const));
    const data = await this.dataset();
    const { archs } = this.build(candidates, data);
    const t = this.options.train ?? {};
    const results = await scoreProxies(archs, data, {
      seed: t.seed ?? 0,
      ...(t.threads !== undefined ? { threads: t.threads } : {}),
      ...(t.maxMemory !== undefined ? { maxMemory: t.maxMemory } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const ok = results.map((r, i) => ({ r, i })).filter((x) => x.r.status === 'ok');
    const ranks = proxyRanks(ok.map((x) => x.r), proxies as (ProxyName | 'params' | 'flops')[]);
    const out = new Array<number>(candidates.length).fill(Infinity);
    ok.forEach((x, k) => (out[x.i] = ranks[k]!));
    return out;
  }

  /** Converts a training result; exported for the study's handling of interrupted batches. */
  toEval(arch: A, r: TrainResult, data: Dataset, buildError?: string, resumed?: TrainingState, keepWeights = false): EvalResult<A> {
    if (buildError !== undefined) {
      return { arch, status: 'invalid', error: buildError, metrics: { score: null }, seconds: 0 };
    }
    const m = r.metrics;
    const classification = data.task === 'classification';
    const score = classification ? m.valAccuracy : m.valRmse === null || m.valRmse === undefined ? null : -m.valRmse;
    const status = r.status === 'cancelled' ? 'failed' : r.status;
    // Regression scores are −RMSE in the targets' units: the engine's loss is on standardised targets.
    const std = data.targetNormalization?.std ?? [1];
    const meanVar = std.reduce((a, x) => a + x * x, 0) / std.length;
    const from = status === 'ok' && resumed ? resumed.epochsDone : 0;
    const out: EvalResult<A> = {
      arch,
      status,
      metrics: { score: status === 'ok' ? score : null, ...m },
      cost: { params: r.params, flops: r.flops },
      seconds: r.seconds,
      curve: r.epochs.map((e) => (classification ? e.valAccuracy : e.valLoss === null ? null : -Math.sqrt(e.valLoss * meanVar))),
      resumedFrom: from,
      epochsTrained: r.epochs.length,
    };
    if (r.trainingState) out.state = r.trainingState;
    if (keepWeights && r.weights && status === 'ok') {
      const parent: ParentModel = { arch: r.arch, inputShape: r.inputShape, outputSize: data.outputSize, weights: r.weights };
      out.weights = parent;
    }
    if (r.inheritance) {
      out.inheritance = { functionPreserving: r.inheritance.functionPreserving, ...(r.inheritance.reason ? { reason: r.inheritance.reason } : {}) };
    }
    if (r.error) out.error = r.error;
    return out;
  }
}
