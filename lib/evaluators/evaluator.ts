/**
 * The evaluator contract: an evaluator only evaluates, always in batches, at the fidelity it is given.
 */
import { checkInteger, checkNumber, checkObject } from '../errors.js';

/** How cheaply to estimate a candidate's performance. */
export interface Fidelity {
  /** Training epochs. */
  epochs?: number;
  /** Fraction of the training data, in (0, 1]. */
  dataFraction?: number;
  /** Input height after resampling (width in proportion); omitted: the data's own. */
  resolution?: number;
}

/**
 * Checks a fidelity given as `name`: an object whose epochs (1 to 100000), dataFraction (in (0, 1])
 * and resolution (0 to 4096) are within the limits training accepts, each when given.
 */
export function checkFidelity(name: string, value: unknown): Fidelity {
  const f = checkObject(name, value);
  if (f.epochs !== undefined) checkInteger(`${name}.epochs`, f.epochs, 1, 100000);
  if (f.dataFraction !== undefined) checkNumber(`${name}.dataFraction`, f.dataFraction, 0, 1, { exclusiveMin: true });
  if (f.resolution !== undefined) checkInteger(`${name}.resolution`, f.resolution, 0, 4096);
  return f as Fidelity;
}

/** `oom`: the candidate did not fit the memory budget (see `TrainOptions.maxMemory`). */
export type EvalStatus = 'ok' | 'diverged' | 'invalid' | 'oom' | 'failed';

export interface EvalMetrics {
  /** The metric a search maximises (validation accuracy for classification). */
  score: number | null;
  /** Everything else the evaluator measured (e.g. valAccuracy, testAccuracy, trainLoss, latencyMs). */
  [name: string]: number | null;
}

export interface EvalResult<A = unknown> {
  arch: A;
  status: EvalStatus;
  error?: string;
  metrics: EvalMetrics;
  cost?: { params: number; flops: number };
  /** Wall-clock seconds spent on this candidate (batch start to its finish). */
  seconds: number;
  /**
   * The score after each epoch this evaluation trained (index 0: the first epoch after
   * `resumedFrom`), when the evaluator measures intermediate results.
   */
  curve?: (number | null)[];
  /** Epochs the candidate had already trained when this evaluation continued it (0: from scratch). */
  resumedFrom?: number;
  /** Epochs this evaluation trained (its cost in epochs). */
  epochsTrained?: number;
  /** With `keepState`: what `resume` needs to continue the candidate later (opaque to the study). */
  state?: unknown;
  /** With `keepWeights`: the trained weights, for `init` of a later candidate (opaque to the study). */
  weights?: unknown;
  /** With `init`: whether the candidate computed its parent's function before training, and why not. */
  inheritance?: { functionPreserving: boolean; reason?: string };
}

export interface EvalProgress {
  /** Index of the candidate in the batch. */
  candidate: number;
  /** Fraction of this candidate's work done, in [0, 1]. */
  fraction: number;
  message?: string;
}

export interface EvaluateOptions {
  signal?: AbortSignal;
  onProgress?: (event: EvalProgress) => void;
  /**
   * Per candidate, a state an earlier evaluation returned (`EvalResult.state`) to continue from: a
   * promotion to a higher fidelity trains only the epochs after it. An evaluator that cannot
   * continue trains from scratch (and says so with `resumedFrom: 0`).
   */
  resume?: readonly (unknown | undefined)[];
  /** Return each candidate's state (`EvalResult.state`) so that it can be continued later. */
  keepState?: boolean;
  /** The most epochs any candidate of this run may reach (a learning-rate schedule spans them). */
  scheduleEpochs?: number;
  /** Return each trained candidate's weights (`EvalResult.weights`) so that others can inherit them. */
  keepWeights?: boolean;
  /**
   * Per candidate, the weights of a parent (an earlier `EvalResult.weights`) to start from instead
   * of initialising (weight inheritance). An evaluator that cannot inherit trains from scratch.
   */
  init?: readonly (unknown | undefined)[];
}

export interface Evaluator<A = unknown> {
  readonly name: string;
  /**
   * One result per candidate, in order. A failed candidate never fails the batch: it comes back
   * with status `failed` (or `invalid`, `diverged`) and the reason in `error`.
   */
  evaluate(candidates: readonly A[], fidelity: Fidelity, options?: EvaluateOptions): Promise<EvalResult<A>[]>;
  /**
   * Zero-cost prescreening (optional): per candidate, its average rank (1 = best) over the named
   * proxies measured at initialisation, without training; Infinity for one that cannot be scored.
   */
  prescreen?(candidates: readonly A[], proxies: readonly string[], options?: { signal?: AbortSignal }): Promise<number[]>;
}
