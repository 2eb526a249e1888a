/**
 * The in-memory form of a data set, shared by every evaluator. Features are float32, already
 * normalised with statistics of the training split; images are stored NHWC per sample.
 */
import { checkInteger, checkObject, checkOneOf, rangeError, typeError } from '../errors.js';

export type Task = 'classification' | 'regression';

export interface Split {
  /** count × (height·width·channels) features, row-major, NHWC per sample. */
  readonly x: Float32Array;
  /** Class indices (classification, Int32Array) or count × outputSize targets (regression, Float32Array). */
  readonly y: Int32Array | Float32Array;
  readonly count: number;
}

export interface Normalization {
  /** Scale applied to the raw values first (e.g. 1/255 for 8-bit pixels). */
  readonly scale: number;
  /** Per channel (images) or per feature (tabular) mean and standard deviation after scaling. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * A data set. The native engine copies its arrays the first time it trains on it and reuses that copy
 * for later trainings on the same object, so change a data set by making a new Dataset, not by
 * writing into its arrays.
 */
export interface Dataset {
  readonly name: string;
  readonly task: Task;
  /** Per-sample input shape [height, width, channels]; tabular data is [1, 1, features]. */
  readonly inputShape: readonly [number, number, number];
  /** Number of classes (classification) or regression targets. */
  readonly outputSize: number;
  /** Class names when known. */
  readonly classNames?: readonly string[];
  readonly train: Split;
  readonly validation: Split;
  readonly test: Split;
  /** x_normalised = (x_raw · scale − mean[c]) / std[c]. */
  readonly normalization: Normalization;
  /** Regression only: targets were standardised as (t − mean) / std with these training statistics. */
  readonly targetNormalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

/**
 * Checks that `value` is a Dataset as `name` (an argument): its shape, task, normalisation (one mean
 * and std per input channel) and three splits whose arrays hold `count` samples each. A split may
 * be empty (count 0) but not absent.
 */
export function checkDataset(name: string, value: unknown): Dataset {
  const d = checkObject(name, value);
  if (typeof d.name !== 'string') throw typeError(`${name}.name`, 'a string', d.name);
  const task = checkOneOf(`${name}.task`, d.task, ['classification', 'regression'] as const);
  const shape = d.inputShape;
  if (!Array.isArray(shape)) throw typeError(`${name}.inputShape`, '3 positive integers [height, width, channels]', shape);
  if (shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0)) {
    throw rangeError(`${name}.inputShape`, '3 positive integers [height, width, channels]', shape);
  }
  const outputSize = checkInteger(`${name}.outputSize`, d.outputSize, 1);
  const norm = checkObject(`${name}.normalization`, d.normalization);
  const finite = (field: string, v: unknown) => {
    if (typeof v !== 'number') throw typeError(field, 'a finite number', v);
    if (!Number.isFinite(v)) throw rangeError(field, 'a finite number', v);
  };
  finite(`${name}.normalization.scale`, norm.scale);
  for (const key of ['mean', 'std'] as const) {
    const list = norm[key];
    const field = `${name}.normalization.${key}`;
    const expected = `an array of ${shape[2]} finite numbers (one per input channel)`;
    if (!Array.isArray(list)) throw typeError(field, expected, list);
    if (list.length !== shape[2]) throw rangeError(field, expected, list);
    list.forEach((v, i) => finite(`${field}[${i}]`, v));
  }
  const size = (shape[0] as number) * (shape[1] as number) * (shape[2] as number);
  for (const key of ['train', 'validation', 'test'] as const) {
    const field = `${name}.${key}`;
    const split = checkObject(field, d[key]);
    const count = checkInteger(`${field}.count`, split.count, 0);
    if (!(split.x instanceof Float32Array)) throw typeError(`${field}.x`, 'a Float32Array', split.x);
    if (split.x.length !== count * size) throw rangeError(`${field}.x`, `a Float32Array of ${count * size} values (${field}.count × ${size} features)`, split.x);
    const labels = task === 'classification' ? Int32Array : Float32Array;
    const perSample = task === 'classification' ? 1 : outputSize;
    if (!(split.y instanceof labels)) throw typeError(`${field}.y`, `an ${labels.name}`, split.y);
    if (split.y.length !== count * perSample) throw rangeError(`${field}.y`, `an ${labels.name} of ${count * perSample} values`, split.y);
  }
  return value as Dataset;
}
