/**
 * From raw samples to a `Dataset`: deterministic seeded splits (stratified for classification) and
 * normalisation with statistics of the training split only, applied to every split.
 */

import { NasxError, checkInteger, checkNumber, checkObject } from '../errors.js';
import { createRng, type Rng } from '../util/rng.js';
import type { Dataset, Normalization, Split, Task } from './dataset.js';

/** Samples before normalisation: raw pixels (Uint8Array) or raw feature values (Float32Array). */
export interface RawSplit {
  /** count × sampleSize values, NHWC per sample. */
  readonly x: Uint8Array | Float32Array;
  /** Class indices (classification) or count × outputSize targets (regression). */
  readonly y: Int32Array | Float32Array;
  readonly count: number;
}

/** A data set as read from its files, before splitting and normalisation. */
export interface RawDataset {
  readonly name: string;
  readonly task: Task;
  /** [height, width, channels]; tabular data is [1, 1, features]. */
  readonly inputShape: readonly [number, number, number];
  readonly outputSize: number;
  readonly classNames?: readonly string[];
  /** Applied to raw values before the statistics (1/255 for 8-bit pixels, 1 for tabular data). */
  readonly scale: number;
  readonly train: RawSplit;
  /** The data set's own test split; when absent one is carved from `train` with `testFraction`. */
  readonly test?: RawSplit;
}

export interface SplitOptions {
  /** Seed of every random choice (default 0). */
  seed?: number;
  /** Fraction of the training samples held out for validation (default 0.1). */
  validationFraction?: number;
  /** Fraction of all samples held out for testing when the data set has no test split (default 0.2). */
  testFraction?: number;
  /** Keep at most this many training samples (a stratified subset), for quick runs. */
  limit?: number;
}

export type ResolvedSplitOptions = Required<Omit<SplitOptions, 'limit'>> & { limit: number | undefined };

/** Below this a standard deviation counts as zero (a constant channel or feature). */
export const STD_EPSILON = 1e-6;

/** Validates split options and fills in the defaults. */
export function resolveSplitOptions(options: SplitOptions = {}): ResolvedSplitOptions {
  checkObject('options', options);
  const seed = options.seed === undefined ? 0 : checkInteger('seed', options.seed, 0);
  const validationFraction =
    options.validationFraction === undefined
      ? 0.1
      : checkNumber('validationFraction', options.validationFraction, 0, 1);
  const testFraction =
    options.testFraction === undefined ? 0.2 : checkNumber('testFraction', options.testFraction, 0, 1);
  const limit = options.limit === undefined ? undefined : checkInteger('limit', options.limit, 1);
  return { seed, validationFraction, testFraction, limit };
}

/**
 * Splits `indices` into `selected` (exactly `count` of them, chosen at random) and the `rest`. With
 * `labels` the choice is stratified: each class contributes in proportion to its size (largest
 * remainders settle the rounding, so the total is exact). Both outputs are sorted ascending, so
 * gathering reads the source in order; evaluators shuffle per epoch.
 */
export function partitionIndices(
  indices: Int32Array,
  count: number,
  rng: Rng,
  labels?: Int32Array,
): { selected: Int32Array; rest: Int32Array } {
  checkInteger('count', count, 0, indices.length);
  const chosen = new Uint8Array(indices.length); // by position in `indices`
  if (labels === undefined) {
    const order = rng.shuffle(Int32Array.from({ length: indices.length }, (_, i) => i));
    for (let i = 0; i < count; i++) chosen[order[i]] = 1;
  } else {
    // Group positions by class, in ascending class order for determinism.
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < indices.length; i++) {
      const c = labels[indices[i]];
      let group = byClass.get(c);
      if (group === undefined) byClass.set(c, (group = []));
      group.push(i);
    }
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    const ideal = classes.map((c) => (count * byClass.get(c)!.length) / indices.length);
    const quota = ideal.map(Math.floor);
    let missing = count - quota.reduce((a, b) => a + b, 0);
    const byRemainder = classes
      .map((_, k) => k)
      .sort((a, b) => ideal[b] - quota[b] - (ideal[a] - quota[a]) || a - b);
    for (let r = 0; missing > 0; r = (r + 1) % byRemainder.length) {
      const k = byRemainder[r];
      if (quota[k] < byClass.get(classes[k])!.length) {
        quota[k]++;
        missing--;
      }
    }
    classes.forEach((c, k) => {
      const group = rng.shuffle(byClass.get(c)!);
      for (let i = 0; i < quota[k]; i++) chosen[group[i]] = 1;
    });
  }
  const selected = new Int32Array(count);
  const rest = new Int32Array(indices.length - count);
  let s = 0;
  let r = 0;
  for (let i = 0; i < indices.length; i++) {
    if (chosen[i]) selected[s++] = indices[i];
    else rest[r++] = indices[i];
  }
  return { selected: selected.sort(), rest: rest.sort() };
}

/**
 * Per-channel mean and standard deviation (population) of `x · scale` over the samples at `indices`;
 * the channel of a value is its position modulo `channels` (NHWC). A zero standard deviation
 * (below `STD_EPSILON`) becomes 1 so that constant channels map to 0 instead of blowing up.
 */
export function computeNormalization(
  x: Uint8Array | Float32Array,
  indices: Int32Array,
  sampleSize: number,
  channels: number,
  scale: number,
): Normalization {
  const mean = new Array<number>(channels).fill(0);
  const std = new Array<number>(channels).fill(1);
  if (indices.length === 0) return { scale, mean, std };
  const perChannel = (indices.length * sampleSize) / channels;
  if (x instanceof Uint8Array) {
    // Exact statistics from a histogram of byte values: one integer increment per value.
    const histogram = byteHistogram(x, indices, sampleSize, channels);
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let v = 0; v < 256; v++) sum += histogram[c * 256 + v] * v * scale;
      const m = sum / perChannel;
      let squares = 0;
      for (let v = 0; v < 256; v++) squares += histogram[c * 256 + v] * (v * scale - m) ** 2;
      mean[c] = m;
      std[c] = floorStd(Math.sqrt(squares / perChannel));
    }
  } else {
    // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]².
    const sums = new Float64Array(channels);
    const squares = new Float64Array(channels);
    for (let k = 0; k < indices.length; k++) {
      const base = indices[k] * sampleSize;
      for (let j = 0, c = 0; j < sampleSize; j++, c = c + 1 === channels ? 0 : c + 1) sums[c] += x[base + j];
    }
    for (let c = 0; c < channels; c++) mean[c] = (sums[c] * scale) / perChannel;
    for (let k = 0; k < indices.length; k++) {
      const base = indices[k] * sampleSize;
      for (let j = 0, c = 0; j < sampleSize; j++, c = c + 1 === channels ? 0 : c + 1) {
        const d = x[base + j] * scale - mean[c];
        squares[c] += d * d;
      }
    }
    for (let c = 0; c < channels; c++) std[c] = floorStd(Math.sqrt(squares[c] / perChannel));
  }
  return { scale, mean, std };
}

/**
 * Gathers the samples at `indices` into a new Float32Array, normalised as
 * (x · scale − mean[c]) / std[c].
 */
export function normalizeSamples(
  x: Uint8Array | Float32Array,
  indices: Int32Array,
  sampleSize: number,
  normalization: Normalization,
): Float32Array {
  const { scale, mean, std } = normalization;
  const channels = mean.length;
  const out = new Float32Array(indices.length * sampleSize);
  if (x instanceof Uint8Array) {
    // A lookup table per channel turns normalisation into one indexed load per value.
    const table = new Float32Array(channels * 256);
    for (let c = 0; c < channels; c++) {
      for (let v = 0; v < 256; v++) table[c * 256 + v] = (v * scale - mean[c]) / std[c];
    }
    if (channels === 1) gatherThroughTable(x, indices, sampleSize, table, out);
    else gatherThroughTables(x, indices, sampleSize, channels, table, out);
  } else {
    const a = Float64Array.from(mean, (_, c) => scale / std[c]);
    const b = Float64Array.from(mean, (m, c) => -m / std[c]);
    for (let k = 0; k < indices.length; k++) {
      const base = indices[k] * sampleSize;
      const o = k * sampleSize;
      for (let j = 0, c = 0; j < sampleSize; j++, c = c + 1 === channels ? 0 : c + 1) {
        out[o + j] = x[base + j] * a[c] + b[c];
      }
    }
  }
  return out;
}

// The hot loops below are separate small functions so that each stays monomorphic (one array type
// per access site), which is what lets V8 compile them to tight machine code.

function byteHistogram(x: Uint8Array, indices: Int32Array, sampleSize: number, channels: number): Float64Array {
  const histogram = new Float64Array(channels * 256);
  // Integer counters are faster; flush them into float64 before they could overflow 32 bits.
  const counts = new Uint32Array(channels * 256);
  const flushEvery = Math.max(1, Math.floor(0xffffffff / Math.max(1, sampleSize)));
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k] * sampleSize;
    if (channels === 1) {
      for (let j = 0; j < sampleSize; j++) counts[x[base + j]]++;
    } else {
      for (let j = 0, c = 0; j < sampleSize; j++, c = c + 1 === channels ? 0 : c + 1) counts[c * 256 + x[base + j]]++;
    }
    if ((k + 1) % flushEvery === 0 || k === indices.length - 1) {
      for (let i = 0; i < counts.length; i++) histogram[i] += counts[i];
      counts.fill(0);
    }
  }
  return histogram;
}

function gatherThroughTable(
  x: Uint8Array,
  indices: Int32Array,
  sampleSize: number,
  table: Float32Array,
  out: Float32Array,
): void {
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k] * sampleSize;
    const o = k * sampleSize;
    for (let j = 0; j < sampleSize; j++) out[o + j] = table[x[base + j]];
  }
}

function gatherThroughTables(
  x: Uint8Array,
  indices: Int32Array,
  sampleSize: number,
  channels: number,
  table: Float32Array,
  out: Float32Array,
): void {
  for (let k = 0; k < indices.length; k++) {
    const base = indices[k] * sampleSize;
    const o = k * sampleSize;
    for (let j = 0, c = 0; j < sampleSize; j++, c = c + 1 === channels ? 0 : c + 1) {
      out[o + j] = table[c * 256 + x[base + j]];
    }
  }
}

/**
 * Splits a raw data set under a seed and normalises it with training statistics: test carved first
 * (only when the data set has none), then validation from what remains for training, then `limit`.
 * Classification splits are stratified. The training split is in a seeded random order; validation
 * and test are in file order.
 *
 * @example const dataset = splitDataset(raw, { seed: 1, validationFraction: 0.1 });
 */
export function splitDataset(raw: RawDataset, options: SplitOptions = {}): Dataset {
  const { seed, validationFraction, testFraction, limit } = resolveSplitOptions(options);
  const rng = createRng(seed);
  const classification = raw.task === 'classification';
  const [height, width, channels] = raw.inputShape;
  const sampleSize = height * width * channels;
  const strata = (split: RawSplit) => (classification ? (split.y as Int32Array) : undefined);
  const all = (count: number) => Int32Array.from({ length: count }, (_, i) => i);

  let trainIndices: Int32Array = all(raw.train.count);
  let test: { source: RawSplit; indices: Int32Array };
  if (raw.test !== undefined) {
    test = { source: raw.test, indices: all(raw.test.count) };
  } else {
    const held = heldCount(raw.train.count, testFraction, 'testFraction', 'test');
    const parts = partitionIndices(trainIndices, held, rng, strata(raw.train));
    test = { source: raw.train, indices: parts.selected };
    trainIndices = parts.rest;
  }
  const validationCount = heldCount(trainIndices.length, validationFraction, 'validationFraction', 'validation');
  const validationParts = partitionIndices(trainIndices, validationCount, rng, strata(raw.train));
  const validationIndices = validationParts.selected;
  trainIndices = validationParts.rest;
  if (limit !== undefined && limit < trainIndices.length) {
    trainIndices = partitionIndices(trainIndices, limit, rng, strata(raw.train)).selected;
  }
  // Training samples come in a seeded random order, so that any prefix (a cheap fidelity) is a
  // random subset even when the file is sorted by class; validation and test keep the file order.
  rng.shuffle(trainIndices);

  const normalization = computeNormalization(raw.train.x, trainIndices, sampleSize, channels, raw.scale);
  const targetNormalization = classification
    ? undefined
    : computeNormalization(raw.train.y as Float32Array, trainIndices, raw.outputSize, raw.outputSize, 1);
  const makeSplit = (source: RawSplit, indices: Int32Array): Split => ({
    x: normalizeSamples(source.x, indices, sampleSize, normalization),
    y: classification
      ? Int32Array.from(indices, (i) => (source.y as Int32Array)[i])
      : normalizeSamples(source.y as Float32Array, indices, raw.outputSize, targetNormalization!),
    count: indices.length,
  });

  return {
    name: raw.name,
    task: raw.task,
    inputShape: [height, width, channels],
    outputSize: raw.outputSize,
    ...(raw.classNames === undefined ? {} : { classNames: [...raw.classNames] }),
    train: makeSplit(raw.train, trainIndices),
    validation: makeSplit(raw.train, validationIndices),
    test: makeSplit(test.source, test.indices),
    normalization,
    ...(targetNormalization === undefined
      ? {}
      : { targetNormalization: { mean: targetNormalization.mean, std: targetNormalization.std } }),
  };
}

/** How many of `available` samples a fraction holds out: at least one when the fraction is positive. */
function heldCount(available: number, fraction: number, option: string, what: string): number {
  if (fraction === 0) return 0;
  const held = Math.max(1, Math.round(fraction * available));
  if (held >= available) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Cannot hold out a ${what} split with ${option} ${fraction}: it would take ${held} of the ` +
        `${available} training samples and leave none to train on`,
    );
  }
  return held;
}

function floorStd(std: number): number {
  return std < STD_EPSILON ? 1 : std;
}
