/**
 * The scheduler contract: a scheduler decides fidelities — which candidates train for how many
 * epochs, and which earlier trials continue training (a promotion) — while the study's strategy
 * chooses the architectures and the evaluator obeys. Schedulers work over any strategy.
 *
 * The study calls `next(slots)` for up to `slots` jobs, evaluates them, and `report`s the results;
 * a job either asks for a new candidate (`promote` undefined) or continues an earlier result (by
 * its architecture's hash) to more epochs.
 */
import { checkInteger, rangeError } from '../errors.js';
import type { SearchSpace } from '../space/space.js';

export interface SchedulerJob {
  /** Unique within the scheduler. */
  readonly id: number;
  /** Epochs to have trained when the job is done. */
  readonly epochs: number;
  /** The hash of the architecture to continue, or undefined for a new candidate. */
  readonly promote?: string;
  /** Bookkeeping: the bracket and rung the job belongs to. */
  readonly bracket: number;
  readonly rung: number;
}

export interface SchedulerResult {
  readonly job: SchedulerJob;
  /** The architecture the job trained. */
  readonly hash: string;
  /** Score at `job.epochs`; null when the candidate failed. */
  readonly score: number | null;
  /** Score after each epoch up to `job.epochs` when the evaluator measured them (index 0: epoch 1). */
  readonly curve?: readonly (number | null)[];
}

export interface SchedulerContext<A = unknown> {
  space: SearchSpace<A>;
  seed: number;
  /** Hashes already evaluated or in flight (model-based proposals avoid them). */
  isKnown?: (hash: string) => boolean;
}

export interface Scheduler<A = unknown> {
  readonly name: string;
  readonly minEpochs: number;
  readonly maxEpochs: number;
  /** Up to `slots` jobs to run now; fewer (or none) while it waits for results, none once `done()`. */
  next(slots: number): SchedulerJob[];
  /** A new-candidate job for which no new architecture could be drawn: it is dropped. */
  cancel(job: SchedulerJob): void;
  report(results: readonly SchedulerResult[]): void;
  /** Whether the result of `hash` may still be continued (its training state is worth keeping). */
  promotable(hash: string): boolean;
  /** True when the schedule can produce no more jobs. */
  done(): boolean;
  /**
   * Candidates from the scheduler's own model (BOHB), or undefined to let the study's strategy
   * propose. Told every result through `report`.
   */
  propose?(n: number): A[] | undefined;
  stateDict(): unknown;
  loadStateDict(state: unknown): void;
}

/** The fidelity options every scheduler takes. */
export interface FidelityRange {
  /** Fewest epochs a candidate is trained (the first rung). */
  minEpochs: number;
  /** Most epochs (the last rung). */
  maxEpochs: number;
  /** Reduction factor between rungs: 1/eta of a rung is promoted to eta times the epochs. Default 3. */
  eta: number;
}

/** Checks `{ minEpochs, maxEpochs, eta }` with messages naming `<scheduler>.<option>`. */
export function checkFidelityRange(scheduler: string, o: Partial<FidelityRange>): FidelityRange {
  const eta = checkInteger(`${scheduler}.eta`, o.eta ?? 3, 2, 100);
  const maxEpochs = checkInteger(`${scheduler}.maxEpochs`, o.maxEpochs, 1, 100000);
  const minEpochs = checkInteger(`${scheduler}.minEpochs`, o.minEpochs ?? 1, 1, 100000);
  if (minEpochs > maxEpochs) {
    throw rangeError(`${scheduler}.minEpochs`, `an integer between 1 and ${scheduler}.maxEpochs (${maxEpochs})`, minEpochs);
  }
  return { minEpochs, maxEpochs, eta };
}

/** The rungs' epochs: minEpochs · eta^k below maxEpochs, then maxEpochs. */
export function rungEpochs(r: FidelityRange): number[] {
  const rungs: number[] = [];
  for (let e = r.minEpochs; e < r.maxEpochs; e = Math.max(e + 1, Math.round(e * r.eta))) rungs.push(e);
  rungs.push(r.maxEpochs);
  return rungs;
}

/** Orders results best first: higher score, then earlier (nulls last). */
export function byScore<T extends { score: number | null; order: number }>(a: T, b: T): number {
  const sa = a.score ?? -Infinity;
  const sb = b.score ?? -Infinity;
  return sb - sa || a.order - b.order;
}
