/**
 * Latency as a search metric: the ONNX Runtime latency of each trained candidate (batch 1, median
 * milliseconds, measured as `measureOnnxLatency` always does), added to its metrics as `latencyMs`,
 * optionally with a limit above which a candidate is not ok.
 */
import type { Dataset } from '../data/dataset.js';
import { checkNumber, checkObject } from '../errors.js';
import type { EvalResult } from '../evaluators/evaluator.js';
import type { TrainResult } from '../train.js';
import { buildOnnx } from './onnx.js';
import { measureOnnxLatency, type LatencyOptions } from './onnx-runtime.js';
import { toTrainedModel } from './train-model.js';
import { rawInputs, sampleDims } from './validate.js';

export interface CandidateLatencyOptions extends LatencyOptions {
  /**
   * Candidates slower than this (batch-1 median, ms) come back with status `invalid`, score null
   * and the reason in `error`.
   */
  maxMs?: number;
}

/** Validates the `latency` option of an evaluator. */
export function checkLatencyOptions(value: unknown, name = 'options.latency'): CandidateLatencyOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  const o = checkObject(name, value);
  const known = ['maxMs', 'warmup', 'repeats', 'threads'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new RangeError(`Unknown option "${k}" for ${name}; known options are ${known.join(', ')}`);
  if (o.maxMs !== undefined) checkNumber(`${name}.maxMs`, o.maxMs, 0, Infinity, { exclusiveMin: true });
  if (o.warmup !== undefined) checkNumber(`${name}.warmup`, o.warmup, 0, 10000);
  if (o.repeats !== undefined) checkNumber(`${name}.repeats`, o.repeats, 1, 100000);
  if (o.threads !== undefined) checkNumber(`${name}.threads`, o.threads, 1, 1024);
  return o as CandidateLatencyOptions;
}

/**
 * One raw input sample of the model's shape: the first validation (else test, else training)
 * sample, or — when the model was trained at another resolution — the per-channel mean input.
 */
function latencySample(data: Dataset, inputShape: readonly number[]): Float32Array {
  const size = inputShape[0]! * inputShape[1]! * inputShape[2]!;
  if (data.inputShape.join(',') === inputShape.join(',')) {
    const split = [data.validation, data.test, data.train].find((s) => s.count > 0);
    if (split) return rawInputs(data, split, 0, 1);
  }
  const { scale, mean } = data.normalization;
  return Float32Array.from({ length: size }, (_, i) => mean[i % mean.length]! / scale);
}

/**
 * Measures each `ok` candidate's ONNX Runtime latency from its trained weights (`trained[i]`, trained
 * with keepWeights) and records it as `metrics.latencyMs` (null for the others). With `maxMs`, a
 * slower candidate becomes `invalid`. A candidate whose export fails becomes `failed`; the batch
 * never fails.
 */
export async function addCandidateLatency<A>(
  results: EvalResult<A>[],
  trained: readonly TrainResult[],
  data: Dataset,
  options: CandidateLatencyOptions = {},
): Promise<void> {
  const { maxMs, ...latency } = options;
  for (const [i, r] of results.entries()) {
    const t = trained[i];
    r.metrics.latencyMs = null;
    if (r.status !== 'ok' || !t?.weights) continue;
    try {
      const model = toTrainedModel(t, data);
      const [ms] = await measureOnnxLatency(buildOnnx(model), latencySample(data, model.inputShape), sampleDims(model), [1], latency);
      r.metrics.latencyMs = ms!;
      if (maxMs !== undefined && ms! > maxMs) {
        r.status = 'invalid';
        r.error = `ONNX Runtime latency ${ms!.toFixed(3)} ms (batch 1, median) is over the limit of ${maxMs} ms`;
        r.metrics.score = null;
      }
    } catch (err) {
      r.status = 'failed';
      r.error = `latency measurement failed: ${(err as Error).message}`;
      r.metrics.score = null;
    }
  }
}
