/**
 * Schedulers by name, for the study, the CLI and the benchmark harness. `none` means no scheduler:
 * every candidate trains once at the study's fidelity.
 */
import { rangeError, typeError } from '../errors.js';
import { Asha } from './asha.js';
import { Bohb } from './bohb.js';
import { BracketScheduler } from './brackets.js';
import { MedianStopping } from './median-stopping.js';
import type { Scheduler, SchedulerContext } from './scheduler.js';

export const SCHEDULER_NAMES = ['none', 'sh', 'hyperband', 'asha', 'bohb', 'median'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/**
 * Creates a scheduler by name (undefined for "none").
 * @example const s = createScheduler('hyperband', { space, seed: 1 }, { minEpochs: 1, maxEpochs: 27 });
 */
export function createScheduler<A>(name: string, context: SchedulerContext<A>, options: Record<string, unknown> = {}): Scheduler<A> | undefined {
  switch (name) {
    case 'none':
      return undefined;
    case 'sh':
      return new BracketScheduler('sh', options) as Scheduler<A>;
    case 'hyperband':
      return new BracketScheduler('hyperband', options) as Scheduler<A>;
    case 'asha':
      return new Asha(options) as Scheduler<A>;
    case 'bohb':
      return new Bohb<A>(context, options);
    case 'median':
      return new MedianStopping(options) as Scheduler<A>;
    default: {
      const expected = `one of ${SCHEDULER_NAMES.map((n) => JSON.stringify(n)).join(', ')}`;
      throw typeof name === 'string' ? rangeError('scheduler', expected, name) : typeError('scheduler', expected, name);
    }
  }
}
