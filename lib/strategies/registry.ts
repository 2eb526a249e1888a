/**
 * Strategies by name. Each is one class in one file; this registry is how the CLI, the study and the
 * benchmark harness find them.
 */
import { checkObject, rangeError, typeError } from '../errors.js';
import type { Strategy, StrategyContext } from './strategy.js';
import { RandomSearch } from './random.js';
import { RegularizedEvolution } from './evolution.js';
import { LocalSearch } from './local.js';
import { Reinforce } from './reinforce.js';
import { BayesianOptimization } from './bayesian.js';
import { MonteCarloTreeSearch } from './mcts.js';

type Factory = <A>(context: StrategyContext<A>, options?: Record<string, unknown>) => Strategy<A>;

const registry = new Map<string, Factory>([
  ['random', (c, o) => new RandomSearch(c, o)],
  ['evolution', (c, o) => new RegularizedEvolution(c, o)],
  ['local', (c, o) => new LocalSearch(c, o)],
  ['reinforce', (c, o) => new Reinforce(c, o)],
  ['bo', (c, o) => new BayesianOptimization(c, o)],
  ['mcts', (c, o) => new MonteCarloTreeSearch(c, o)],
]);

/** Names of the registered strategies, in registration order. */
export function strategyNames(): string[] {
  return [...registry.keys()];
}

/** Adds (or replaces) a strategy under `name`. */
export function registerStrategy(name: string, factory: Factory): void {
  if (typeof name !== 'string' || name === '') throw typeError('name', 'a non-empty string', name);
  registry.set(name, factory);
}

/**
 * Creates a strategy by name. `options` is an object or undefined (for every factory, so that one
 * registered as a variant of another, `(c, o) => new X(c, { ...o, ... })`, cannot swallow `true`).
 * @example const s = createStrategy('evolution', { space, seed: 1 }, { population: 20 });
 */
export function createStrategy<A>(name: string, context: StrategyContext<A>, options?: Record<string, unknown>): Strategy<A> {
  const factory = registry.get(name);
  if (!factory) {
    const expected = `one of ${strategyNames().map((n) => JSON.stringify(n)).join(', ')}`;
    throw typeof name === 'string' ? rangeError('strategy', expected, name) : typeError('strategy', expected, name);
  }
  if (options !== undefined) checkObject('options', options);
  return factory(context, options);
}
