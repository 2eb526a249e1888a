/**
 * Random search: uniform samples from the space, never repeating an architecture (by canonical hash).
 */
import { createRng, type Rng } from '../util/rng.js';
import { checkAskCount, checkObservations, checkStrategyContext, type Observation, type Strategy, type StrategyContext } from './strategy.js';
import { checkStateDict } from './state-dict.js';
import { checkStrategyOptions } from './options.js';

export interface RandomSearchOptions {
  /** Samples tried per proposal before concluding the space is exhausted. Default 1000. */
  maxTries?: number;
}

export class RandomSearch<A> implements Strategy<A> {
  readonly name = 'random';
  private readonly rng: Rng;
  private readonly seen = new Set<string>();
  private readonly maxTries: number;

  constructor(
    private readonly context: StrategyContext<A>,
    options: RandomSearchOptions = {},
  ) {
    checkStrategyContext(context);
    const o = checkStrategyOptions('random', options, { maxTries: [1, 1e7, 1000] });
    this.maxTries = o.maxTries;
    this.rng = createRng(context.seed);
  }

  /** Random samples derive from nothing: no parent to inherit from. */
  parentOf(): null {
    return null;
  }

  ask(n: number): A[] {
    checkAskCount(n);
    const out: A[] = [];
    const { space, isKnown } = this.context;
    for (let k = 0; k < n; k++) {
      let found: A | undefined;
      for (let tries = 0; tries < this.maxTries && found === undefined; tries++) {
        const a = space.sample(this.rng);
        const h = space.hash(a);
        if (this.seen.has(h) || isKnown?.(h)) continue;
        this.seen.add(h);
        found = a;
      }
      if (found === undefined) break;
      out.push(found);
    }
    return out;
  }

  tell(results: readonly Observation<A>[]): void {
    for (const r of checkObservations(results, this.context.space)) this.seen.add(r.hash);
  }

  stateDict(): unknown {
    return { rng: this.rng.getState(), seen: [...this.seen] };
  }

  loadStateDict(state: unknown): void {
    const s = checkStateDict('random', state, { rng: 'uint32', seen: ['string'] }, this.context.space) as { rng: number; seen: string[] };
    this.rng.setState(s.rng);
    this.seen.clear();
    for (const h of s.seen) this.seen.add(h);
  }
}
