/**
 * `validateOnnx`: runs an exported model in ONNX Runtime and the same trained network in the native
 * engine on the same raw held-out inputs, and compares: the largest absolute difference of the outputs,
 * the agreement of the predicted classes, both accuracies, and ONNX Runtime's latency.
 */
import { checkDataset, type Dataset, type Split } from '../data/dataset.js';
import { NasxError, checkInteger, checkNumber, checkObject, checkOneOf, typeError } from '../errors.js';
import { fromNative, native, type NativeNetwork, type NativeTensor } from '../native/binding.js';
import { checkTrainedModel, type TrainedModel } from './model-file.js';
import type { OnnxExport } from './onnx.js';
import { createOnnxSession, measureOnnxLatency, runOnnx, type LatencyOptions } from './onnx-runtime.js';

/** Outputs must agree within this (float32 arithmetic in a different order). */
export const DEFAULT_TOLERANCE = 1e-4;
const CHUNK = 256;

export interface ValidateOnnxOptions {
  /** Held-out split to compare on. Default "test" (the validation split when there is no test split). */
  split?: 'test' | 'validation';
  /** Compare on at most this many samples (the first ones). Default: all. */
  maxSamples?: number;
  /** Largest allowed |onnx − native|. Default 1e-4. */
  tolerance?: number;
  /** Measure latency (batch 1 and 32). Default true. */
  latency?: boolean;
  /** Latency settings (defaults: LATENCY_SETTINGS). */
  latencyOptions?: LatencyOptions;
}

export interface OnnxValidation {
  /** Outputs within the tolerance and (classification) every predicted class identical. */
  passed: boolean;
  split: 'test' | 'validation';
  samples: number;
  /**
   * Largest |onnx − native| over every output of every sample (logits; for regression, outputs in
   * standardised units, (y − mean) / std, so that the tolerance means the same for any target scale).
   */
  maxAbsDiff: number;
  tolerance: number;
  /** Fraction of samples whose predicted class is the same (classification; null for regression). */
  agreement: number | null;
  /** Accuracy of each on the samples (classification; null for regression). */
  accuracyNative: number | null;
  accuracyOnnx: number | null;
  /** ONNX Runtime latency, median milliseconds per run (see LATENCY_SETTINGS); null when not measured. */
  latencyMs: { batch1: number; batch32: number } | null;
  /** Why it failed, one line per figure out of bounds (empty when it passed). */
  failures: string[];
}

/** The model's input dimensions after the batch: [features] for flat data, [h, w, c] for images. */
export function sampleDims(model: Pick<TrainedModel, 'inputShape'>): number[] {
  const [h, w, c] = model.inputShape;
  return h * w === 1 ? [c] : [h, w, c];
}

/**
 * Raw inputs of samples [start, start + count) of a split: the data set stores normalised features,
 * x_raw = (x_norm · std[c] + mean[c]) / scale.
 */
export function rawInputs(data: Dataset, split: Split, start: number, count: number): Float32Array {
  const size = data.inputShape[0] * data.inputShape[1] * data.inputShape[2];
  const { scale, mean, std } = data.normalization;
  const channels = mean.length;
  const x = split.x.subarray(start * size, (start + count) * size);
  const out = new Float32Array(x.length);
  for (let i = 0, c = 0; i < x.length; i++, c = c + 1 === channels ? 0 : c + 1) out[i] = (x[i]! * std[c]! + mean[c]!) / scale;
  return out;
}

/**
 * The model's normalisation of raw input, in float32 operations exactly as the ONNX graph does it
 * (multiply by scale, subtract mean, divide by std), so that both runtimes see identical values.
 */
export function normalizeLikeOnnx(model: TrainedModel, raw: Float32Array): Float32Array {
  const f = Math.fround;
  const scale = f(model.normalization.scale);
  const mean = model.normalization.mean.map(f);
  const std = model.normalization.std.map(f);
  const channels = mean.length;
  const out = new Float32Array(raw.length);
  for (let i = 0, c = 0; i < raw.length; i++, c = c + 1 === channels ? 0 : c + 1) out[i] = f(f(f(raw[i]! * scale) - mean[c]!) / std[c]!);
  return out;
}

/** A native engine network holding the model's trained weights, for inference (engine errors as NasxErrors). */
export function nativeNetwork(model: TrainedModel, maxBatch: number) {
  let net: NativeNetwork;
  try {
    net = new (native().Network)(model.nodes, model.inputShape, model.outputSize, maxBatch, 0);
  } catch (err) {
    throw fromNative(err, new Error().stack);
  }
  const pick = (have: NativeTensor[], want: { name: string }[], kind: string) => {
    const byName = new Map(have.map((t) => [t.name, t.data]));
    return want.map((t) => {
      const data = byName.get(t.name);
      if (!data) throw new NasxError('ERR_NASX_MODEL_FILE', `The model has no ${kind} tensor ${t.name} that its network needs`);
      return data;
    });
  };
  const params = pick(model.weights.params, net.params(), 'parameter');
  const state = pick(model.weights.state, net.state(), 'state');
  try {
    net.setParams(params);
    net.setState(state);
  } catch (err) {
    throw fromNative(err, new Error().stack);
  }
  return net;
}

function argmax(v: Float32Array, offset: number, width: number): number {
  let best = 0;
  for (let k = 1; k < width; k++) if (v[offset + k]! > v[offset + best]!) best = k;
  return best;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * Validates an exported model: runs it in ONNX Runtime and the trained network in the native engine
 * on the same raw held-out inputs and compares the outputs. Throws NasxError('ERR_NASX_ONNX') when
 * ONNX Runtime cannot load or run the model; a model that runs but disagrees comes back with
 * `passed: false` and the reasons in `failures`.
 *
 * @example const v = await validateOnnx(await exportOnnx(model), data); if (!v.passed) console.error(v.failures);
 */
export async function validateOnnx(onnx: OnnxExport, data: Dataset, options: ValidateOnnxOptions = {}): Promise<OnnxValidation> {
  checkObject('onnx', onnx);
  if (!(onnx.bytes instanceof Uint8Array)) throw typeError('onnx.bytes', 'a Uint8Array', onnx.bytes);
  checkTrainedModel(onnx.model, 'onnx.model');
  checkDataset('data', data);
  checkObject('options', options);
  if (options.latency !== undefined && typeof options.latency !== 'boolean') throw typeError('options.latency', 'a boolean', options.latency);
  const model = onnx.model;
  const tolerance = options.tolerance === undefined ? DEFAULT_TOLERANCE : checkNumber('options.tolerance', options.tolerance, 0, Infinity);
  const splitName = options.split === undefined ? 'test' : checkOneOf('options.split', options.split, ['test', 'validation'] as const);
  if (options.maxSamples !== undefined) checkInteger('options.maxSamples', options.maxSamples, 1);
  if (data.inputShape.join(',') !== model.inputShape.join(',') || data.outputSize !== model.outputSize) {
    throw new NasxError(
      'ERR_NASX_INVALID_ARGUMENT',
      `The data set ${data.name} (input [${data.inputShape.join(',')}], ${data.outputSize} outputs) does not fit the model ` +
        `(input [${model.inputShape.join(',')}], ${model.outputSize} outputs)`,
    );
  }
  const used: 'test' | 'validation' = splitName === 'test' && data.test.count === 0 ? 'validation' : splitName;
  const split = data[used];
  const n = Math.min(split.count, options.maxSamples ?? Infinity);
  if (n === 0) throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `The data set ${data.name} has no ${used} samples to validate on`);

  const width = model.outputSize;
  const dims = sampleDims(model);
  const regression = model.task === 'regression';
  const target = regression ? model.targetNormalization : undefined;
  const net = nativeNetwork(model, Math.min(CHUNK, n));
  const session = await createOnnxSession(onnx.bytes);
  let maxAbsDiff = 0;
  let same = 0;
  let correctNative = 0;
  let correctOnnx = 0;
  try {
    for (let start = 0; start < n; start += CHUNK) {
      const b = Math.min(CHUNK, n - start);
      const raw = rawInputs(data, split, start, b);
      let fromNative = net.forward(normalizeLikeOnnx(model, raw), b, false);
      const fromOnnx = await runOnnx(session, raw, [b, ...dims]);
      if (target) {
        // The ONNX graph returns targets in their units; compare in standardised units.
        const f = Math.fround;
        fromNative = fromNative.map((v, i) => f(f(v * f(target.std[i % width]!)) + f(target.mean[i % width]!)));
      }
      for (let i = 0; i < b * width; i++) {
        let d = Math.abs(fromOnnx[i]! - fromNative[i]!);
        if (target) d /= target.std[i % width]!;
        maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
      }
      if (!regression) {
        for (let s = 0; s < b; s++) {
          const a = argmax(fromNative, s * width, width);
          const o = argmax(fromOnnx, s * width, width);
          const label = (split.y as Int32Array)[start + s];
          if (a === o) same++;
          if (a === label) correctNative++;
          if (o === label) correctOnnx++;
        }
      }
    }
  } finally {
    await session.release();
  }

  let latencyMs: OnnxValidation['latencyMs'] = null;
  if (options.latency !== false) {
    const samples = rawInputs(data, split, 0, Math.min(n, 32));
    const [batch1, batch32] = await measureOnnxLatency(onnx.bytes, samples, dims, [1, 32], options.latencyOptions);
    latencyMs = { batch1: batch1!, batch32: batch32! };
  }

  const agreement = regression ? null : same / n;
  const failures: string[] = [];
  if (!(maxAbsDiff <= tolerance)) {
    failures.push(`largest |onnx - native| is ${maxAbsDiff.toExponential(2)}, above the tolerance ${tolerance.toExponential(0)}`);
  }
  if (agreement !== null && same !== n) {
    failures.push(`predicted classes differ on ${n - same} of ${n} samples (agreement ${pct(agreement)})`);
  }
  return {
    passed: failures.length === 0,
    split: used,
    samples: n,
    maxAbsDiff,
    tolerance,
    agreement,
    accuracyNative: regression ? null : correctNative / n,
    accuracyOnnx: regression ? null : correctOnnx / n,
    latencyMs,
    failures,
  };
}
