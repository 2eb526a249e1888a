/**
 * Zero-cost proxies: scores of untrained architectures on one minibatch at initialisation, computed
 * by the native engine for many candidates at once, to rank architectures before any is trained
 * (see native/core/proxies.h for the definitions). Higher is better for every proxy; `params` and
 * `flops` come with them. Seeded: the same seed gives the same scores, whatever the thread count.
 */
import type { Arch } from '../arch/arch.js';
import { lowerArch } from '../arch/arch.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset, type DatasetSource } from '../data/load.js';
import { AbortError, NasxError, checkInteger, checkObject, typeError } from '../errors.js';
import { fromNative, native, type NativeNode } from '../native/binding.js';
import { engineData, isDataset } from '../train.js';

/** The proxies `scoreProxies` computes. */
export const PROXY_NAMES = ['gradNorm', 'snip', 'fisher', 'synflow', 'jacov', 'naswot'] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];

export interface ProxyOptions {
  /** Samples of the one minibatch (the first of a seeded shuffle of the training split). Default 64, at most 256. */
  batchSize?: number;
  /** Seeds the initialisation (the one training would start from) and the minibatch. Default 0. */
  seed?: number;
  /** Threads. Default: every hardware thread. */
  threads?: number;
  /** As `TrainOptions.maxMemory`. */
  maxMemory?: number;
  signal?: AbortSignal;
}

export interface ProxyResult {
  arch: Arch;
  /** `ok`, or `invalid` / `oom` / `failed` (scores then null), `cancelled`. */
  status: 'ok' | 'invalid' | 'oom' | 'failed' | 'cancelled' | 'diverged';
  error?: string;
  params: number;
  flops: number;
  /** Each proxy's score (null when it is not finite, e.g. naswot of identical activation patterns). */
  scores: Record<ProxyName, number | null>;
  seconds: number;
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/**
 * Scores architectures by the zero-cost proxies, all at once in the native engine.
 *
 * @example const [r] = await scoreProxies([{ type: 'mlp', layers: [{ units: 64 }] }], 'digits'); r.scores.synflow
 */
export async function scoreProxies(archs: readonly Arch[], dataset: Dataset | DatasetSource, options: ProxyOptions = {}): Promise<ProxyResult[]> {
  const stack = new Error().stack;
  if (!Array.isArray(archs)) throw typeError('archs', 'an array of architectures', archs);
  const o = checkObject('options', options) as ProxyOptions;
  for (const k of Object.keys(o)) {
    if (!['batchSize', 'seed', 'threads', 'maxMemory', 'signal'].includes(k)) {
      throw new RangeError(`Unknown option "${k}" for options; known options are batchSize, seed, threads, maxMemory, signal`);
    }
  }
  if (o.batchSize !== undefined) checkInteger('options.batchSize', o.batchSize, 1, 256);
  if (o.seed !== undefined) checkInteger('options.seed', o.seed, 0);
  if (o.threads !== undefined) checkInteger('options.threads', o.threads, 1, 1024);
  if (o.maxMemory !== undefined) checkInteger('options.maxMemory', o.maxMemory, 1 << 20);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', o.signal);
  const data = isDataset(dataset) ? dataset : await loadDataset(dataset as DatasetSource, { seed: o.seed ?? 0 });
  if (o.signal?.aborted) throw new AbortError<ProxyResult>('scoring was aborted before it started', []);
  const results: (ProxyResult | undefined)[] = new Array(archs.length);
  const lowered: { nodes: NativeNode[] }[] = [];
  const slots: number[] = [];
  const none = Object.fromEntries(PROXY_NAMES.map((p) => [p, null])) as Record<ProxyName, null>;
  archs.forEach((arch, i) => {
    try {
      lowered.push({ nodes: lowerArch(arch, data.outputSize, `archs[${i}]`) });
      slots.push(i);
    } catch (err) {
      if (!(err instanceof NasxError)) throw err;
      results[i] = { arch, status: 'invalid', error: err.message, params: 0, flops: 0, scores: { ...none }, seconds: 0 };
    }
  });
  if (lowered.length > 0) {
    let native_results;
    try {
      const addon = native();
      native_results = await addon.scoreProxies(lowered, engineData(data), {
        batchSize: o.batchSize,
        seed: o.seed,
        threads: o.threads,
        maxMemory: o.maxMemory,
      });
    } catch (err) {
      throw fromNative(err, stack);
    }
    native_results.forEach((r, j) => {
      const i = slots[j]!;
      const scores = Object.fromEntries(PROXY_NAMES.map((p) => [p, r.status === 'ok' ? finite(r.scores[p]) : null])) as Record<ProxyName, number | null>;
      const out: ProxyResult = { arch: archs[i]!, status: r.status, params: r.params, flops: r.flops, scores, seconds: r.seconds };
      if (r.error) out.error = r.error;
      results[i] = out;
    });
  }
  return results as ProxyResult[];
}

/** Average rank (1 = best) of each candidate over the given proxies; null scores rank last. */
export function proxyRanks(results: readonly ProxyResult[], proxies: readonly (ProxyName | 'params' | 'flops')[]): number[] {
  const n = results.length;
  const total = new Array<number>(n).fill(0);
  for (const p of proxies) {
    const value = (r: ProxyResult) => (p === 'params' || p === 'flops' ? r[p] : r.scores[p]) ?? -Infinity;
    const order = results.map((_, i) => i).sort((a, b) => value(results[b]!) - value(results[a]!) || a - b);
    order.forEach((i, rank) => (total[i]! += rank + 1));
  }
  return total.map((t) => t / proxies.length);
}
