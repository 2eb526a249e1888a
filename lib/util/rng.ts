/**
 * A small, fast, seeded pseudo-random number generator (mulberry32: 32-bit state, period 2^32).
 * Everything in nasx that needs randomness takes one of these, so a run is reproducible from its seed.
 * Not for cryptography.
 */

import { checkInteger } from '../errors.js';

/** Anything indexable and writable by position: arrays and typed arrays. */
export interface IndexedArray<T> {
  length: number;
  [index: number]: T;
}

export interface Rng {
  /** A float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** An integer in [0, n), without modulo bias. `n` must be an integer in [1, 2^32]. */
  nextInt(n: number): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<A extends IndexedArray<unknown>>(array: A): A;
  /** The internal state (a uint32), for checkpoints; `setState` resumes the exact sequence. */
  getState(): number;
  setState(state: number): void;
}

const TWO_POW_32 = 4294967296;

/** mulberry32's output function: the uint32 drawn from a (just advanced) 32-bit state. */
export function mulberry32Output(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), state | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/**
 * Creates a generator from a non-negative safe integer seed. Seeds above 2^32 are folded into the
 * 32-bit state, so every seed is accepted.
 *
 * @example const rng = createRng(42); rng.shuffle(indices);
 */
export function createRng(seed: number): Rng {
  checkInteger('seed', seed, 0);
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32);
  let state = (low ^ Math.imul(high, 0x9e3779b9)) >>> 0;

  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    return mulberry32Output(state);
  };

  const uniformInt = (n: number): number => {
    // Rejection sampling: draws at or above the largest multiple of n below 2^32 would bias the result.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let r = nextUint32();
    while (r >= limit) r = nextUint32();
    return r % n;
  };

  return {
    next: () => nextUint32() / TWO_POW_32,
    nextInt: (n: number) => uniformInt(checkInteger('n', n, 1, TWO_POW_32)),
    shuffle<A extends IndexedArray<unknown>>(array: A): A {
      for (let i = array.length - 1; i > 0; i--) {
        const j = uniformInt(i + 1);
        const tmp = array[i];
        array[i] = array[j];
        array[j] = tmp;
      }
      return array;
    },
    getState: () => state,
    setState(value: number) {
      state = checkInteger('state', value, 0, TWO_POW_32 - 1);
    },
  };
}
