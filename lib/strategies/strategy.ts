/**
 * The strategy contract: a strategy only chooses. The study (or a service running its own loop) asks
 * for candidates and tells it the results.
 */
import { checkInteger, checkObject, typeError } from '../errors.js';
import { checkSearchSpace, type SearchSpace } from '../space/space.js';

export interface Observation<A = unknown> {
  arch: A;
  /** Canonical hash (space.hash). */
  hash: string;
  /** The score to maximise; null when the evaluation failed. */
  score: number | null;
  /**
   * Epochs the score was measured at, under a multi-fidelity scheduler (scores at different epochs
   * are not comparable); an architecture is told again when it is continued to more epochs.
   */
  epochs?: number;
  /**
   * Under several objectives: each objective's value turned so that larger is better (a minimised
   * one negated), in the study's order; null when the evaluation failed or lacks one. `score` is
   * then a scalarisation of them, for strategies that search on one number.
   */
  objectives?: number[] | null;
}

export interface StrategyContext<A = unknown> {
  space: SearchSpace<A>;
  seed: number;
  /** Hashes already evaluated (or in flight): strategies should avoid proposing them when dedupe is on. */
  isKnown?: (hash: string) => boolean;
}

export type StrategyStatus = 'running' | 'done' | 'failed';

export interface Strategy<A = unknown> {
  readonly name: string;
  /**
   * Up to `n` candidates to evaluate next (fewer, or none, when the strategy is waiting for results
   * or the space is exhausted). Deterministic given the seed and the results told so far. `n` is an
   * integer from 0 to MAX_ASK.
   */
  ask(n: number): A[];
  /** Feeds back results, in any order and any grouping. */
  tell(results: readonly Observation<A>[]): void;
  /**
   * For weight inheritance: the hash of the evaluated architecture a just-proposed `arch` derives
   * from (evolution: its tournament winner; local search: the current point), null when it derives
   * from none (a random sample), undefined (or no method) to let the study choose the nearest of the
   * best evaluated architectures.
   */
  parentOf?(arch: A, hash: string): string | null | undefined;
  /**
   * Cheap estimates for architectures not evaluated (zero-cost proxy scores, higher is better, on
   * any scale: only their order is used), given once before the first ask. A strategy that takes
   * them (bo, mcts) fits its surrogate to them while it has fewer real results than its initial
   * design, and proposes by the surrogate from the first ask instead of uniform samples. Not part of
   * stateDict: give them again after loadStateDict.
   */
  prior?(estimates: readonly Observation<A>[]): void;
  /** JSON-serialisable state; loadStateDict(stateDict()) on a fresh instance resumes the identical sequence. */
  stateDict(): unknown;
  loadStateDict(state: unknown): void;
}

/** Builds a strategy for a space from options (validated by the factory). */
export type StrategyFactory = <A>(context: StrategyContext<A>, options?: Record<string, unknown>) => Strategy<A>;

/** The most candidates one `ask(n)` may request: Study's `parallel` limit. */
export const MAX_ASK = 4096;

/** Checks `ask`'s `n` (an integer from 0 to MAX_ASK); every strategy's ask starts with it. */
export function checkAskCount(n: unknown): number {
  return checkInteger('n', n, 0, MAX_ASK);
}

/**
 * Checks `tell`'s argument: an array of observations, each with a string hash, a score that is a
 * number or null, and an architecture of the space (space.validate throws ERR_NASX_INVALID_ARCH).
 */
export function checkObservations<A>(results: unknown, space: SearchSpace<A>): readonly Observation<A>[] {
  if (!Array.isArray(results)) throw typeError('results', 'an array of observations', results);
  results.forEach((r: unknown, i) => {
    const o = checkObject(`results[${i}]`, r);
    if (typeof o.hash !== 'string') throw typeError(`results[${i}].hash`, 'a string', o.hash);
    if (o.score !== null && typeof o.score !== 'number') throw typeError(`results[${i}].score`, 'a number or null', o.score);
    if (o.epochs !== undefined) checkInteger(`results[${i}].epochs`, o.epochs, 0);
    if (o.objectives !== undefined && o.objectives !== null && (!Array.isArray(o.objectives) || o.objectives.some((v) => typeof v !== 'number'))) {
      throw typeError(`results[${i}].objectives`, 'an array of numbers or null', o.objectives);
    }
    space.validate(o.arch as A);
  });
  return results as readonly Observation<A>[];
}

/** Checks a strategy's context (every strategy's constructor starts with it); returns it. */
export function checkStrategyContext<A>(context: StrategyContext<A>): StrategyContext<A> {
  const c = checkObject('context', context);
  checkSearchSpace('context.space', c.space);
  checkInteger('context.seed', c.seed, 0);
  if (c.isKnown !== undefined && typeof c.isKnown !== 'function') throw typeError('context.isKnown', 'a function', c.isKnown);
  return context;
}
