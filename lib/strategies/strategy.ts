/**
 * The strategy contract: a strategy only chooses. The study (or a service running its own loop) asks
 * for candidates and tells it the results.
 */
import type { SearchSpace } from '../space/space.js';

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
   * or the space is exhausted). Deterministic given the seed and the results told so far.
   */
  ask(n: number): A[];
  /** Feeds back results, in any order and any grouping. */
  tell(results: readonly Observation<A>[]): void;
  /** JSON-serialisable state; loadStateDict(stateDict()) on a fresh instance resumes the identical sequence. */
  stateDict(): unknown;
  loadStateDict(state: unknown): void;
}

/** Builds a strategy for a space from options (validated by the factory). */
export type StrategyFactory = <A>(context: StrategyContext<A>, options?: Record<string, unknown>) => Strategy<A>;
