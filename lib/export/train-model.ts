/**
 * `trainModel`: trains one architecture and returns it as a `TrainedModel` (weights, normalisation,
 * metrics), ready for `saveModel` and `exportOnnx`.
 */
import path from 'node:path';
import { lowerArch, type Arch } from '../arch/arch.js';
import { BUILTIN_DATASET_NAMES } from '../data/builtin.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset, type DatasetSource } from '../data/load.js';
import { NasxError } from '../errors.js';
import { trainCandidates, type TrainOptions, type TrainResult } from '../train.js';
import { nasxVersion } from '../util/version.js';
import type { ModelDataInfo, TrainedModel } from './model-file.js';

/** The training settings recorded with a model (everything but callbacks and signals). */
export function recordedTraining(options: TrainOptions): Record<string, unknown> {
  const { signal: _signal, onProgress: _onProgress, keepWeights: _keep, ...rest } = options;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/** A data source as recorded in a model file: CSV and IDX paths made absolute. */
export function recordedSource(source: DatasetSource): DatasetSource {
  if (typeof source === 'string') return source;
  if ('csv' in source) return { ...source, csv: path.resolve(source.csv) };
  const idx = Object.fromEntries(Object.entries(source.idx).map(([k, v]) => [k, typeof v === 'string' ? path.resolve(v) : v]));
  return { ...source, idx: idx as typeof source.idx };
}

/**
 * The trained model of one training result (trained with `keepWeights: true`). `info` says where the
 * data came from; without it a built-in data set is recorded by its name.
 */
export function toTrainedModel(
  result: TrainResult,
  data: Dataset,
  info: { data?: Partial<ModelDataInfo>; training?: TrainOptions } = {},
): TrainedModel {
  if (result.status !== 'ok') {
    throw new NasxError('ERR_NASX_ENGINE', `The architecture did not train (status ${result.status}${result.error ? `: ${result.error}` : ''})`);
  }
  if (!result.weights) throw new NasxError('ERR_NASX_ENGINE', 'The training result carries no weights: train with keepWeights: true');
  const builtin = (BUILTIN_DATASET_NAMES as readonly string[]).includes(data.name) ? (data.name as DatasetSource) : undefined;
  const source = info.data?.source ?? builtin;
  const model: TrainedModel = {
    arch: result.arch,
    nodes: lowerArch(result.arch, data.outputSize),
    inputShape: [...result.inputShape],
    outputSize: data.outputSize,
    task: data.task,
    normalization: { scale: data.normalization.scale, mean: [...data.normalization.mean], std: [...data.normalization.std] },
    metrics: result.metrics,
    params: result.params,
    flops: result.flops,
    weights: result.weights,
    data: {
      name: info.data?.name ?? data.name,
      ...(source === undefined ? {} : { source: recordedSource(source) }),
      seed: info.data?.seed ?? info.training?.seed ?? 0,
    },
    training: recordedTraining(info.training ?? {}),
    nasxVersion: nasxVersion(),
    createdAt: new Date().toISOString(),
  };
  if (data.classNames) model.classNames = [...data.classNames];
  if (data.targetNormalization) {
    model.targetNormalization = { mean: [...data.targetNormalization.mean], std: [...data.targetNormalization.std] };
  }
  return model;
}

/**
 * Trains one architecture and returns the trained model. The data set is split with `options.seed`
 * (default 0), as `trainCandidates` does. `info.data` records where the data came from when
 * `dataset` is an already loaded Dataset (for `nasx export` to find the held-out split again).
 *
 * @example const model = await trainModel({ type: 'mlp', layers: [{ units: 64 }] }, 'digits', { epochs: 10 });
 */
export async function trainModel(
  arch: Arch,
  dataset: Dataset | DatasetSource,
  options: Omit<TrainOptions, 'keepWeights'> = {},
  info: { data?: Partial<ModelDataInfo> } = {},
): Promise<TrainedModel> {
  const isDataset = typeof dataset === 'object' && dataset !== null && 'train' in dataset && 'inputShape' in dataset;
  const seed = options.seed ?? 0;
  const data = isDataset ? (dataset as Dataset) : await loadDataset(dataset as DatasetSource, { seed });
  const [result] = await trainCandidates([arch], data, { ...options, keepWeights: true });
  return toTrainedModel(result!, data, {
    data: { ...(isDataset ? { seed } : { source: dataset as DatasetSource, seed }), ...info.data },
    training: options,
  });
}
