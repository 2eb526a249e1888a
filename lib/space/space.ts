/**
 * The search-space contract. A space knows architectures and nothing else: how to sample, mutate and
 * enumerate neighbours of them, how to write them as an ordered sequence of categorical decisions
 * (for RL and MCTS) and as a fixed-length vector (for surrogate models), how to hash them canonically
 * and how much they cost. Architectures are plain JSON.
 */
import { typeError } from '../errors.js';
import type { Rng } from '../util/rng.js';

export interface ArchCost {
  params: number;
  /** Forward FLOPs per sample (2 per multiply-add). */
  flops: number;
}

/** Input and output of the data a space's architectures are built for (for `cost`). */
export interface IoShape {
  inputShape: readonly [number, number, number];
  outputSize: number;
}

export interface SearchSpace<A = unknown> {
  /** Registry name, e.g. "mlp", "cnn", "nb201". */
  readonly name: string;
  /** A uniformly random architecture (each decision uniform given the earlier ones). */
  sample(rng: Rng): A;
  /** A copy of `arch` with exactly one decision changed; always valid and different from `arch`. */
  mutate(arch: A, rng: Rng): A;
  /** Every architecture one decision away, in a deterministic order. */
  neighbours(arch: A): A[];
  /** The ordered categorical choices that produce `arch` (each an index into its options). */
  decisions(arch: A): number[];
  /**
   * How many options the next decision has after `prefix`, or 0 when `prefix` is a complete
   * architecture. Lets RL and MCTS walk a variable-length (conditional) space one choice at a time.
   */
  optionsAt(prefix: readonly number[]): number;
  /** The inverse of `decisions`: fromDecisions(decisions(a)) deep-equals a. */
  fromDecisions(seq: readonly number[]): A;
  /** Fixed-length numeric vector (length `encodingLength`), for surrogate models. */
  encode(arch: A): number[];
  readonly encodingLength: number;
  /** Canonical hash: architectures that compute the same function hash alike. */
  hash(arch: A): string;
  /** Throws NasxError('ERR_NASX_INVALID_ARCH') naming the decision and value when `arch` is not in the space. */
  validate(arch: A): void;
  /** Parameters and FLOPs for the given data shape. */
  cost(arch: A, io: IoShape): ArchCost;
}

const SPACE_METHODS = ['sample', 'mutate', 'neighbours', 'decisions', 'optionsAt', 'fromDecisions', 'encode', 'hash', 'validate', 'cost'] as const;

/** Checks that `value` is a SearchSpace (an object with the contract's methods); `name` is the argument's. */
export function checkSearchSpace<A = unknown>(name: string, value: unknown): SearchSpace<A> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError(name, 'a search space', value);
  const missing = SPACE_METHODS.find((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing) throw typeError(name, `a search space (an object with a ${missing} method)`, value);
  return value as SearchSpace<A>;
}
