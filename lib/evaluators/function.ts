/**
 * `FunctionEvaluator`: evaluates candidates with the user's own async function (their own training
 * code, a remote service, a simulator), a bounded number at a time.
 */
import { AbortError, checkInteger, checkObject, describeValue, typeError } from '../errors.js';
import type { EvalMetrics, EvalResult, EvaluateOptions, Evaluator, Fidelity } from './evaluator.js';

/** What the user's function receives besides the architecture and the fidelity. */
export interface EvalFunctionContext {
  /** Aborted when the batch is cancelled: stop early (throwing is fine; the batch rejects anyway). */
  signal: AbortSignal;
  /** Index of the candidate in the batch. */
  candidate: number;
  /** Reports progress on this candidate, `fraction` in [0, 1]; forwarded to `onProgress`. */
  progress: (fraction: number, message?: string) => void;
}

/** A score, or a score with further metrics (e.g. `{ score: 0.93, trainLoss: 0.21 }`). */
export type EvalFunctionResult = number | { score: number | null; [metric: string]: number | null };

export type EvalFunction<A> = (
  arch: A,
  fidelity: Fidelity,
  context: EvalFunctionContext,
) => Promise<EvalFunctionResult> | EvalFunctionResult;

export interface FunctionEvaluatorOptions {
  /** Evaluator name. Default "function". */
  name?: string;
  /** Candidates evaluated at the same time. Default 1. */
  concurrency?: number;
}

/**
 * Wraps `fn(arch, fidelity, { signal, candidate, progress })`. Each candidate's outcome is its own:
 * a throw makes it `failed` (with the message), a score of NaN or ±Infinity `diverged`; the batch
 * always resolves with one result per candidate, unless it is aborted.
 *
 * On abort, candidates not yet started are not started; those running see their `signal` aborted,
 * and once they have returned the promise rejects with an `AbortError` whose `results` hold the
 * candidates that finished (a function that ignores the signal delays the rejection until it returns).
 *
 * @example
 * const evaluator = new FunctionEvaluator(async (arch, fidelity, { signal }) => myTrain(arch, fidelity.epochs, signal), { concurrency: 4 });
 */
export class FunctionEvaluator<A = unknown> implements Evaluator<A> {
  readonly name: string;
  readonly concurrency: number;
  private readonly fn: EvalFunction<A>;

  constructor(fn: EvalFunction<A>, options: FunctionEvaluatorOptions = {}) {
    if (typeof fn !== 'function') throw typeError('fn', 'a function', fn);
    checkObject('options', options);
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw typeError('options.name', 'a non-empty string', options.name);
    }
    this.fn = fn;
    this.name = options.name ?? 'function';
    this.concurrency = options.concurrency === undefined ? 1 : checkInteger('concurrency', options.concurrency, 1);
  }

  async evaluate(candidates: readonly A[], fidelity: Fidelity = {}, options: EvaluateOptions = {}): Promise<EvalResult<A>[]> {
    if (!Array.isArray(candidates)) throw typeError('candidates', 'an array', candidates);
    checkObject('fidelity', fidelity);
    const { signal, onProgress } = checkObject('options', options) as EvaluateOptions;
    if (signal?.aborted) throw new AbortError<EvalResult<A>>('evaluation was aborted before it started', []);

    const start = performance.now();
    const results = new Array<EvalResult<A> | undefined>(candidates.length);
    const never = new AbortController().signal;
    let next = 0;
    let fault: { error: unknown } | undefined;

    const runOne = async (i: number): Promise<void> => {
      const arch = candidates[i]!;
      const context: EvalFunctionContext = {
        signal: signal ?? never,
        candidate: i,
        progress: (fraction, message) => onProgress?.({ candidate: i, fraction, ...(message === undefined ? {} : { message }) }),
      };
      context.progress(0);
      let outcome: Omit<EvalResult<A>, 'seconds'> | undefined;
      try {
        outcome = toResult(arch, await this.fn(arch, fidelity, context));
      } catch (err) {
        // A throw caused by the abort is not the candidate's result: leave it out of AbortError.results.
        if (!signal?.aborted) outcome = { arch, status: 'failed', error: messageOf(err), metrics: { score: null } };
      }
      if (outcome) {
        results[i] = { ...outcome, seconds: (performance.now() - start) / 1000 };
        context.progress(1, outcome.status);
      }
    };

    // `concurrency` workers pull candidates in order until none are left, the batch is aborted, or a
    // progress callback throws (the caller's bug: it rejects the batch once the running ones finish).
    const worker = async () => {
      while (next < candidates.length && !signal?.aborted && !fault) {
        try {
          await runOne(next++);
        } catch (error) {
          fault ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, candidates.length) }, worker));

    if (fault) throw fault.error;
    if (signal?.aborted) {
      throw new AbortError<EvalResult<A>>('evaluation was aborted', results.filter((r): r is EvalResult<A> => r !== undefined));
    }
    return results as EvalResult<A>[];
  }
}

/** Interprets what the user's function returned. */
function toResult<A>(arch: A, value: unknown): Omit<EvalResult<A>, 'seconds'> {
  const failed = (error: string): Omit<EvalResult<A>, 'seconds'> => ({ arch, status: 'failed', error, metrics: { score: null } });
  const expected = 'a number or an object with a numeric score';
  let metrics: EvalMetrics;
  if (typeof value === 'number') {
    metrics = { score: value };
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    metrics = { score: null };
    for (const [name, v] of Object.entries(value)) {
      if (v !== null && typeof v !== 'number') {
        return failed(`Expected a number or null for the metric ${JSON.stringify(name)} but the function returned ${describeValue(v)}`);
      }
      // JSON has no NaN: a non-finite extra metric is kept as null (the score decides the status).
      metrics[name] = v !== null && Number.isFinite(v) ? v : null;
    }
    const score = (value as Record<string, unknown>).score;
    if (typeof score !== 'number') return failed(`Expected ${expected} from the function but received an object with score ${describeValue(score)}`);
    metrics.score = score;
  } else {
    return failed(`Expected ${expected} from the function but received ${describeValue(value)}`);
  }
  const score = metrics.score as number;
  if (!Number.isFinite(score)) return { arch, status: 'diverged', error: `the score is ${score}`, metrics: { ...metrics, score: null } };
  return { arch, status: 'ok', metrics };
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : describeValue(err);
}
