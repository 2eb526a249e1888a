/**
 * The one place that loads ONNX Runtime (`onnxruntime-node`, on first use: nasx itself loads without
 * it), creates sessions and runs them, turning its failures into NasxError('ERR_NASX_ONNX'), and
 * measures latency — always the same way, so that figures are comparable between runs and candidates.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { NasxError } from '../errors.js';

type OrtModule = typeof import('onnxruntime-node');

let loading: Promise<OrtModule> | undefined;

/** `onnxruntime-node`, loaded once. */
export function onnxRuntime(): Promise<OrtModule> {
  loading ??= import('onnxruntime-node').catch((err: unknown) => {
    loading = undefined;
    throw new NasxError(
      'ERR_NASX_ONNX',
      `Could not load onnxruntime-node for ${process.platform}-${process.arch}: ${(err as Error).message.split('\n')[0]}. ` +
        'Fix: `npm install onnxruntime-node` (its CPU binaries ship in the package)',
      { cause: err },
    );
  });
  return loading;
}

/** The version of ONNX Runtime in use. */
export async function onnxRuntimeVersion(): Promise<string> {
  const ort = await onnxRuntime();
  return ort.env.versions.node ?? ort.env.versions.common;
}

export interface OnnxSessionOptions {
  /** Intra-op threads; 0 or omitted: ONNX Runtime's default (one per core). */
  threads?: number;
}

/** An ONNX Runtime session for `bytes` (an ONNX model). */
export async function createOnnxSession(bytes: Uint8Array, options: OnnxSessionOptions = {}): Promise<InferenceSession> {
  const ort = await onnxRuntime();
  try {
    return await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new NasxError('ERR_NASX_ONNX', `ONNX Runtime could not load the model: ${(err as Error).message}`, { cause: err });
  }
}

/** Runs a session with one float input and returns its first output's values. */
export async function runOnnx(session: InferenceSession, input: Float32Array, dims: readonly number[]): Promise<Float32Array> {
  const ort = await onnxRuntime();
  let out: InferenceSession.ReturnType;
  try {
    out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
  } catch (err) {
    throw new NasxError('ERR_NASX_ONNX', `ONNX Runtime failed to run the model: ${(err as Error).message}`, { cause: err });
  }
  const tensor = out[session.outputNames[0]!]!;
  return tensor.data as Float32Array;
}

/** How latency is measured: the same settings every time. */
export const LATENCY_SETTINGS = Object.freeze({
  /** Runs before timing starts (allocations, caches). */
  warmup: 5,
  /** Timed runs; the figure is their median. */
  repeats: 50,
  /** Intra-op threads of the latency session: one, so that figures don't depend on the machine's load or core count. */
  threads: 1,
});

export interface LatencyOptions {
  warmup?: number;
  repeats?: number;
  threads?: number;
}

/** Median wall-clock milliseconds of `session.run` on `input` (after warm-up runs). */
export async function medianRunMs(
  session: InferenceSession,
  input: Float32Array,
  dims: readonly number[],
  options: { warmup: number; repeats: number },
): Promise<number> {
  for (let i = 0; i < options.warmup; i++) await runOnnx(session, input, dims);
  const times: number[] = [];
  for (let i = 0; i < options.repeats; i++) {
    const t0 = performance.now();
    await runOnnx(session, input, dims);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
}

/**
 * ONNX Runtime latency of a model in milliseconds, the median of `repeats` runs after `warmup`
 * runs, in a session with `threads` intra-op threads (defaults: `LATENCY_SETTINGS`), for each batch
 * size. `samples` holds raw input samples (`sampleSize` values each); a batch larger than what is
 * there cycles through them.
 */
export async function measureOnnxLatency(
  bytes: Uint8Array,
  samples: Float32Array,
  sampleDims: readonly number[],
  batches: readonly number[],
  options: LatencyOptions = {},
): Promise<number[]> {
  const settings = { ...LATENCY_SETTINGS, ...options };
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const available = Math.floor(samples.length / sampleSize);
  if (available < 1) throw new RangeError('Expected at least one input sample for latency measurement but received none');
  const session = await createOnnxSession(bytes, { threads: settings.threads });
  try {
    const out: number[] = [];
    for (const batch of batches) {
      const x = new Float32Array(batch * sampleSize);
      for (let b = 0; b < batch; b++) x.set(samples.subarray((b % available) * sampleSize, ((b % available) + 1) * sampleSize), b * sampleSize);
      out.push(await medianRunMs(session, x, [batch, ...sampleDims], settings));
    }
    return out;
  } finally {
    await session.release();
  }
}
