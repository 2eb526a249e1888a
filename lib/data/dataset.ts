/**
 * The in-memory form of a data set, shared by every evaluator. Features are float32, already
 * normalised with statistics of the training split; images are stored NHWC per sample.
 */

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
