/**
 * `Study`: owns the search loop. It asks the strategy for candidates, skips ones already evaluated
 * (by canonical hash), has the evaluator evaluate each batch, tells the strategy the results, and
 * stops at the budget (evaluations and/or wall time), when the space is exhausted, or on abort —
 * keeping every result gathered. Progress is observable as events and as an async iterator.
 */
import { EventEmitter } from 'node:events';
import { AbortError, NasxError, checkInteger, checkNumber, checkObject, typeError } from '../errors.js';
import { Bohb } from '../estimation/bohb.js';
import { createScheduler } from '../estimation/registry.js';
import type { Scheduler, SchedulerJob, SchedulerResult } from '../estimation/scheduler.js';
import { StateStore, type StoredState } from '../estimation/state-store.js';
import { WeightStore } from '../estimation/weight-store.js';
import { checkFidelity, type EvalMetrics, type EvalResult, type EvalStatus, type Evaluator, type Fidelity } from '../evaluators/evaluator.js';
import { checkSearchSpace, type SearchSpace } from '../space/space.js';
import { createStrategy } from '../strategies/registry.js';
import { MAX_ASK, type Strategy } from '../strategies/strategy.js';
import { createRng } from '../util/rng.js';
import { canonicalMetric, chebyshev, normaliseGains, paretoKnee, parseObjectives, type Objective } from '../report/pareto.js';
import { hostname } from 'node:os';
import { FINISHED_STATES, STUDY_NAME_RULE, isStudyName, workerId, type Storage, type StorageTx, type TrialRow } from './storage/storage.js';

export interface Budget {
  /** Evaluations (duplicates skipped by dedupe do not count; each promotion counts). */
  evaluations?: number;
  /**
   * Candidate-epochs summed over the study: a candidate trained 3 epochs costs 3, its promotion to
   * 9 costs 6 more. A batch that would overrun it is cut to what fits.
   */
  epochs?: number;
  /**
   * Wall-clock seconds. When they run out, the running batch is stopped (through the evaluator's
   * signal): candidates it had finished are kept, unfinished ones are dropped, and the study is done.
   */
  seconds?: number;
}

export interface StudyOptions<A> {
  space: SearchSpace<A>;
  /** A registered strategy name (see `strategyNames()`) or a strategy instance. */
  strategy: string | Strategy<A>;
  strategyOptions?: Record<string, unknown>;
  evaluator: Evaluator<A>;
  budget: Budget;
  /** Candidates evaluated together per batch. Default 1. */
  parallel?: number;
  /** The fidelity of every evaluation (with a scheduler: all but the epochs, which it decides). */
  fidelity?: Fidelity;
  /**
   * A multi-fidelity scheduler that decides how many epochs each candidate trains and which continue
   * (see lib/estimation): "sh", "hyperband", "asha", "bohb", "median", or an instance; "none" or
   * omitted: every candidate trains once at `fidelity`.
   */
  scheduler?: string | Scheduler<A>;
  /** Options of a named scheduler, e.g. { minEpochs: 1, maxEpochs: 27, eta: 3 }. */
  schedulerOptions?: Record<string, unknown>;
  /** Where promotable training states are kept (default: 1 GiB in memory, then spilled to disk). */
  stateStore?: StateStore;
  /**
   * Weight inheritance: each candidate starts from the trained weights of a parent trial when the
   * strategy names one (evolution: the tournament winner; local: the current point; random: none)
   * or, for strategies that do not (bo, mcts, reinforce), the nearest by edit distance over
   * decisions among the `topK` best trials (default 8). Parents' weights are kept in a bounded
   * store (`maxBytes`, default 256 MiB; the worst evicted first). Needs an evaluator that can
   * inherit (the native one); not with a scheduler. Default false.
   */
  inherit?: boolean | { maxBytes?: number; topK?: number };
  /**
   * Zero-cost prescreening: each batch asks the strategy for `factor` times as many candidates,
   * scores them untrained by the average rank over `proxies` (default synflow, jacov, snip:
   * the vote of Abdelfattah et al., ICLR 2021, chosen on NAS-Bench-201), and trains only the best;
   * the strategy is told the others failed (score null). Needs an evaluator with `prescreen` (the
   * native one). Not with a scheduler.
   */
  prescreen?: { factor: number; proxies?: readonly string[] };
  /**
   * Zero-cost priors: before the first proposal, `samples` uniform samples of the space (default 256)
   * are scored untrained by the average rank over `proxies` (default as `prescreen`) and given to
   * the strategy's `prior` (bo and mcts fit their surrogates to them until their initial design is
   * done, and propose by the surrogate from the start). Needs an evaluator with `prescreen` and a
   * strategy with `prior`. `true`: the defaults.
   */
  prior?: boolean | { samples?: number; proxies?: readonly string[] };
  /** Where parents' weights are kept under `inherit` (default: a new 256 MiB store). */
  weightStore?: WeightStore;
  /**
   * Where the study lives (see lib/study/storage): with a SQLite or PostgreSQL storage, every
   * proposal, result and strategy state is written as it happens, and a study of the same `name`
   * that exists there is resumed (its finished trials kept, trials left running by a dead process
   * re-run, the strategy continued from its saved state). Needs `name`. Not with a scheduler.
   */
  storage?: Storage;
  /** The study's name in `storage`. */
  name?: string;
  /**
   * Seconds after its last heartbeat that a running trial counts as abandoned by a dead worker and
   * is re-queued (PostgreSQL workers; a SQLite study is run by one process, which re-runs what a
   * dead one left at once). Default 60.
   */
  leaseSeconds?: number;
  /**
   * Several objectives, e.g. `[{ name: 'accuracy', direction: 'max' }, { name: 'latency', direction: 'min' }]`
   * or "accuracy:max,latency:min" (see `parseObjectives`): accuracy (the search score), params,
   * flops, latency (`latencyMs`, from an evaluator that measures it) or any metric the evaluator
   * returns. Evolution ranks by NSGA-II's non-dominated sorting and crowding, bo scalarises by
   * ParEGO's random weights; other strategies are told the equal-weight augmented Chebyshev
   * scalarisation of the objectives normalised over the trials so far. The summary holds the Pareto
   * front. A trial missing an objective counts as failed for the search.
   */
  objectives?: readonly Objective[] | string;
  /** Skip architectures whose canonical hash was already evaluated. Default true. */
  dedupe?: boolean;
  seed?: number;
  signal?: AbortSignal;
}

export interface Trial<A> {
  /** 0-based, in order of completion. */
  index: number;
  arch: A;
  hash: string;
  status: EvalStatus;
  error?: string;
  score: number | null;
  metrics: EvalMetrics;
  cost?: { params: number; flops: number };
  seconds: number;
  /** Seconds from the study's start to this trial's end. */
  finishedAt: number;
  /** The fidelity the trial was evaluated at (its epochs decided by the scheduler, when there is one). */
  fidelity: Fidelity;
  /** Epochs trained in this trial (a promotion: only those after the trial it continued). */
  epochsTrained: number;
  /** Score after each epoch from the first (earlier trials' epochs included), when measured. */
  curve?: (number | null)[];
  /** The index of the trial this one continued (a promotion), if any. */
  promotedFrom?: number;
  /** Under `inherit`: the index of the trial whose weights this one started from. */
  parent?: number;
  /** Under `inherit`, with a parent: whether the candidate computed its parent's function before training. */
  inheritance?: { functionPreserving: boolean; reason?: string };
  /** Under several objectives: each one's value (null when the evaluation did not give it). */
  objectives?: Record<string, number | null>;
}

export type StudyStatus = 'pending' | 'running' | 'done' | 'exhausted' | 'interrupted' | 'failed';

export interface StudyProgress {
  done: number;
  budget: number | undefined;
  best: number | null;
  elapsed: number;
  /** Estimated seconds left (from the evaluation budget or the time budget); NaN when unknown. */
  remaining: number;
}

export interface StudySummary<A> {
  status: StudyStatus;
  strategy: string;
  space: string;
  seed: number;
  budget: Budget;
  best: Trial<A> | undefined;
  trials: Trial<A>[];
  seconds: number;
  error?: string;
  /** Under several objectives: the trials no other dominates, best first by the first objective. */
  pareto?: Trial<A>[];
  /** Under several objectives: the front's knee — the best by the equal-weight Chebyshev scalarisation. */
  chosen?: Trial<A>;
}

/** What stops a study's loop: the caller's abort or the time budget (`timeUp()` says which). */
interface StopSignal {
  signal: AbortSignal;
  timeUp: () => boolean;
  dispose: () => void;
}

/** The proxies prescreening ranks by when none are given: the vote of Abdelfattah et al. (ICLR 2021). */
export const DEFAULT_PRESCREEN = ['synflow', 'jacov', 'snip'] as const;

/** Levenshtein distance between two decision sequences. */
function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Consecutive proposals that bring nothing new before the study concludes the space is exhausted. */
const MAX_EMPTY_ROUNDS = 20;

export class Study<A> extends EventEmitter {
  readonly strategy: Strategy<A>;
  private readonly options: StudyOptions<A>;
  private readonly results: Trial<A>[] = [];
  private readonly byHash = new Map<string, Trial<A>>();
  private readonly inFlight = new Set<string>();
  private state: StudyStatus = 'pending';
  private running: Promise<StudySummary<A>> | undefined;
  private started = 0;
  private failure: string | undefined;
  private readonly waiters: ((r: IteratorResult<Trial<A>>) => void)[] = [];
  private closed = false;
  readonly scheduler: Scheduler<A> | undefined;
  private readonly states: StateStore;
  private epochsSpent = 0;
  private readonly inherit: { store: WeightStore; topK: number } | undefined;
  private prescreened = 0;
  private readonly objectives: Objective[] | undefined;

  constructor(options: StudyOptions<A>) {
    super();
    if (typeof options !== 'object' || options === null) throw typeError('options', 'an object', options);
    const { budget } = options;
    if (typeof budget !== 'object' || budget === null) throw typeError('options.budget', 'an object like { evaluations: 100 }', budget);
    if (budget.evaluations === undefined && budget.seconds === undefined && budget.epochs === undefined) {
      throw new RangeError('Expected options.budget to set evaluations, epochs and/or seconds but received none');
    }
    if (budget.evaluations !== undefined) checkInteger('options.budget.evaluations', budget.evaluations, 1);
    if (budget.epochs !== undefined) checkInteger('options.budget.epochs', budget.epochs, 1);
    if (budget.seconds !== undefined) checkNumber('options.budget.seconds', budget.seconds, 0, Infinity, { exclusiveMin: true });
    if (options.parallel !== undefined) checkInteger('options.parallel', options.parallel, 1, MAX_ASK);
    if (options.seed !== undefined) checkInteger('options.seed', options.seed, 0);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', options.signal);
    checkSearchSpace('options.space', options.space);
    const s = options.strategy as unknown as Record<string, unknown> | null;
    if (typeof s !== 'string' && (typeof s !== 'object' || s === null || typeof s.ask !== 'function' || typeof s.tell !== 'function')) {
      throw typeError('options.strategy', 'a strategy name or a Strategy (an object with ask and tell methods)', s);
    }
    const e = options.evaluator as unknown as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.evaluate !== 'function') {
      throw typeError('options.evaluator', 'an evaluator (an object with an evaluate method)', e);
    }
    if (options.fidelity !== undefined) checkFidelity('options.fidelity', options.fidelity);
    this.options = options;
    const dedupe = options.dedupe ?? true;
    this.strategy =
      typeof options.strategy === 'string'
        ? createStrategy(options.strategy, {
            space: options.space,
            seed: options.seed ?? 0,
            isKnown: dedupe ? (h) => this.byHash.has(h) || this.inFlight.has(h) : undefined,
          }, options.strategyOptions)
        : options.strategy;
    this.scheduler =
      typeof options.scheduler === 'string' || options.scheduler === undefined
        ? createScheduler(options.scheduler ?? 'none', { space: options.space, seed: options.seed ?? 0, isKnown: dedupe ? (h) => this.byHash.has(h) || this.inFlight.has(h) : undefined }, options.schedulerOptions)
        : options.scheduler;
    if (this.scheduler && options.fidelity?.epochs !== undefined && options.fidelity.epochs !== this.scheduler.maxEpochs) {
      throw new RangeError(
        `Expected options.fidelity.epochs to be omitted or equal to the scheduler's maxEpochs (${this.scheduler.maxEpochs}) but received ${options.fidelity.epochs}`,
      );
    }
    this.states = options.stateStore ?? new StateStore();
    if (options.inherit !== undefined && typeof options.inherit !== 'boolean') {
      const o = checkObject('options.inherit', options.inherit);
      if (o.maxBytes !== undefined) checkInteger('options.inherit.maxBytes', o.maxBytes, 0);
      if (o.topK !== undefined) checkInteger('options.inherit.topK', o.topK, 1, 4096);
    }
    if (options.prescreen !== undefined) {
      const p = checkObject('options.prescreen', options.prescreen);
      checkInteger('options.prescreen.factor', p.factor, 1, 1000);
      if (p.proxies !== undefined && (!Array.isArray(p.proxies) || p.proxies.length === 0)) {
        throw typeError('options.prescreen.proxies', 'a non-empty array of proxy names', p.proxies);
      }
      if (typeof options.evaluator.prescreen !== 'function') {
        throw typeError('options.evaluator', `an evaluator that can prescreen (the ${options.evaluator.name} evaluator cannot)`, options.evaluator);
      }
      if (this.scheduler) throw new RangeError('Expected options.prescreen to be omitted under a scheduler but received ' + JSON.stringify(options.prescreen));
    }
    if (options.prior !== undefined && options.prior !== false) {
      if (options.prior !== true) {
        const p = checkObject('options.prior', options.prior);
        if (p.samples !== undefined) checkInteger('options.prior.samples', p.samples, 2, 100_000);
        if (p.proxies !== undefined && (!Array.isArray(p.proxies) || p.proxies.length === 0)) {
          throw typeError('options.prior.proxies', 'a non-empty array of proxy names', p.proxies);
        }
      }
      if (typeof options.evaluator.prescreen !== 'function') {
        throw typeError('options.evaluator', `an evaluator that can score proxies for options.prior (the ${options.evaluator.name} evaluator cannot)`, options.evaluator);
      }
      if (typeof this.strategy.prior !== 'function') {
        throw typeError('options.strategy', `a strategy that takes priors for options.prior (bo or mcts; ${this.strategy.name} does not)`, this.strategy.name);
      }
    }
    if (options.objectives !== undefined) {
      const list = typeof options.objectives === 'string' ? parseObjectives(options.objectives, 'options.objectives') : options.objectives;
      if (!Array.isArray(list)) throw typeError('options.objectives', 'an array of { name, direction } or a string like "accuracy:max,latency:min"', options.objectives);
      this.objectives = parseObjectives(list.map((o: Objective, i: number) => {
        const c = checkObject(`options.objectives[${i}]`, o);
        if (typeof c.name !== 'string') throw typeError(`options.objectives[${i}].name`, 'a metric name', c.name);
        return `${c.name}:${String(c.direction)}`;
      }).join(','), 'options.objectives');
    }
    if (options.storage !== undefined) {
      const st = options.storage as unknown as Record<string, unknown> | null;
      if (typeof st !== 'object' || st === null || typeof st.transaction !== 'function') throw typeError('options.storage', 'a Storage (see lib/study/storage)', st);
      if (!isStudyName(options.name)) throw typeError('options.name', `a study name of ${STUDY_NAME_RULE}`, options.name);
      if (this.scheduler) throw new RangeError(`Expected options.scheduler to be omitted with options.storage (stored studies run without a scheduler) but received ${JSON.stringify(this.scheduler.name)}`);
      if (options.leaseSeconds !== undefined) checkNumber('options.leaseSeconds', options.leaseSeconds, 1, 86400);
    }
    if (options.inherit) {
      if (this.scheduler) {
        throw new RangeError('Expected options.inherit to be false under a scheduler (its promotions continue their own training) but received ' + JSON.stringify(options.inherit));
      }
      const o = typeof options.inherit === 'object' ? options.inherit : {};
      this.inherit = { store: options.weightStore ?? new WeightStore(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}), topK: o.topK ?? 8 };
    }
  }

  /**
   * A Study that continues `name` from `storage` with the settings it was created with (strategy,
   * seed, budget, parallel, fidelity, dedupe, strategy options, prescreen, prior, inherit); the caller
   * gives what cannot be stored — the space and the evaluator — and may raise the budget or add a
   * signal. `run()` resumes it.
   *
   * @example const study = await Study.load(storage, 'digits-mlp', { space, evaluator }); await study.run();
   */
  static async load<A>(
    storage: Storage,
    name: string,
    given: Pick<StudyOptions<A>, 'space' | 'evaluator'> & Partial<Pick<StudyOptions<A>, 'budget' | 'signal' | 'leaseSeconds' | 'stateStore' | 'weightStore'>>,
  ): Promise<Study<A>> {
    const record = await storage.getStudy(name);
    if (!record) throw new NasxError('ERR_NASX_STORAGE', `There is no study named ${JSON.stringify(name)} in ${storage.location}`);
    const o = record.options as Partial<StudyOptions<A>> & { strategyOptions?: Record<string, unknown> };
    return new Study<A>({
      ...given,
      strategy: record.strategy,
      seed: record.seed,
      budget: given.budget ?? record.budget,
      ...(o.parallel !== undefined ? { parallel: o.parallel } : {}),
      ...(o.fidelity !== undefined ? { fidelity: o.fidelity } : {}),
      ...(o.dedupe !== undefined ? { dedupe: o.dedupe } : {}),
      ...(o.strategyOptions !== undefined ? { strategyOptions: o.strategyOptions } : {}),
      ...(o.prescreen !== undefined ? { prescreen: o.prescreen } : {}),
      ...(o.prior !== undefined ? { prior: o.prior } : {}),
      ...(o.inherit !== undefined ? { inherit: o.inherit } : {}),
      ...(o.objectives !== undefined ? { objectives: o.objectives } : {}),
      storage,
      name,
    });
  }

  /** The trial each new candidate inherits from under `inherit` (one whose weights are still kept). */
  private parentsFor(batch: readonly { arch: A; hash: string }[]): (Trial<A> | undefined)[] {
    const inherit = this.inherit;
    if (!inherit) return batch.map(() => undefined);
    const { space } = this.options;
    // For strategies that name no parent: the nearest of the best trials whose weights are kept.
    let nearest: { trial: Trial<A>; decisions: number[] }[] | undefined;
    return batch.map(({ arch, hash }) => {
      const named = this.strategy.parentOf?.(arch, hash);
      if (named === null) return undefined;
      if (typeof named === 'string') return inherit.store.has(named) ? this.byHash.get(named) : undefined;
      nearest ??= this.top(inherit.topK)
        .filter((t) => inherit.store.has(t.hash))
        .map((trial) => ({ trial, decisions: space.decisions(trial.arch) }));
      const d = space.decisions(arch);
      let best: Trial<A> | undefined;
      let bestDistance = Infinity;
      for (const c of nearest) {
        const distance = editDistance(d, c.decisions);
        if (distance < bestDistance) {
          best = c.trial;
          bestDistance = distance;
        }
      }
      return best;
    });
  }

  /** Candidates proposed but not trained, culled by `prescreen`. */
  get culled(): number {
    return this.prescreened;
  }

  /** Candidate-epochs trained so far (the `epochs` budget's measure). */
  get epochsTrained(): number {
    return this.epochsSpent;
  }

  get status(): StudyStatus {
    return this.state;
  }

  /** Every finished trial, in completion order. */
  get trials(): readonly Trial<A>[] {
    return this.results;
  }

  /** The trial with the highest score so far. */
  get best(): Trial<A> | undefined {
    return this.top(1)[0];
  }

  /**
   * The `k` best trials by score (ties: earlier first). Under a scheduler, scores at different epochs
   * are not comparable: trials at more epochs rank first, and each architecture appears once, by
   * its trial at the most epochs.
   */
  top(k: number): Trial<A>[] {
    const scored = this.results.filter((t) => t.score !== null);
    if (!this.scheduler) return scored.sort((a, b) => b.score! - a.score! || a.index - b.index).slice(0, k);
    const latest = new Map<string, Trial<A>>();
    for (const t of scored) {
      const seen = latest.get(t.hash);
      if (!seen || (t.fidelity.epochs ?? 0) >= (seen.fidelity.epochs ?? 0)) latest.set(t.hash, t);
    }
    return [...latest.values()]
      .sort((a, b) => (b.fidelity.epochs ?? 0) - (a.fidelity.epochs ?? 0) || b.score! - a.score! || a.index - b.index)
      .slice(0, k);
  }

  /** Runs the search to its end (idempotent: later calls return the same promise). */
  run(): Promise<StudySummary<A>> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Finished trials as they come; starts the study if needed. */
  [Symbol.asyncIterator](): AsyncIterator<Trial<A>> {
    void this.run().catch(() => undefined);
    let next = 0;
    return {
      next: () => {
        if (next < this.results.length) return Promise.resolve({ value: this.results[next++]!, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) =>
          this.waiters.push((r) => {
            if (!r.done) next++;
            resolve(r);
          }),
        );
      },
    };
  }

  summary(): StudySummary<A> {
    const s: StudySummary<A> = {
      status: this.state,
      strategy: this.strategy.name,
      space: this.options.space.name,
      seed: this.options.seed ?? 0,
      budget: this.options.budget,
      best: this.best,
      trials: [...this.results],
      seconds: this.started ? (performance.now() - this.started) / 1000 : 0,
    };
    if (this.failure) s.error = this.failure;
    if (this.objectives) {
      const { pareto, chosen } = this.paretoFront();
      s.pareto = pareto;
      if (chosen) s.chosen = chosen;
    }
    return s;
  }

  private progress(): StudyProgress {
    const elapsed = (performance.now() - this.started) / 1000;
    const done = this.results.length;
    const { evaluations, seconds, epochs } = this.options.budget;
    let remaining = Number.NaN;
    if (evaluations !== undefined && done > 0) remaining = (elapsed / done) * (evaluations - done);
    if (epochs !== undefined && this.epochsSpent > 0) {
      const byEpochs = (elapsed / this.epochsSpent) * (epochs - this.epochsSpent);
      remaining = Number.isNaN(remaining) ? byEpochs : Math.min(remaining, byEpochs);
    }
    if (seconds !== undefined) remaining = Number.isNaN(remaining) ? seconds - elapsed : Math.min(remaining, seconds - elapsed);
    return { done, budget: evaluations, best: this.best?.score ?? null, elapsed, remaining: Math.max(0, remaining) };
  }

  private record(result: EvalResult<A>, hash: string, fidelity: Fidelity = this.options.fidelity ?? {}, from?: Trial<A>, parent?: Trial<A>): Trial<A> {
    return this.commitTrial(this.buildTrial(result, hash, fidelity, from, parent, this.results.length));
  }

  /** A finished evaluation as a trial (nothing recorded yet). */
  private buildTrial(result: EvalResult<A>, hash: string, fidelity: Fidelity, from: Trial<A> | undefined, parent: Trial<A> | undefined, index: number): Trial<A> {
    const epochs = fidelity.epochs ?? 0;
    const resumed = result.resumedFrom ?? 0;
    const trial: Trial<A> = {
      index,
      arch: result.arch,
      hash,
      status: result.status,
      score: result.status === 'ok' && result.metrics.score !== null && Number.isFinite(result.metrics.score) ? result.metrics.score : null,
      metrics: result.metrics,
      seconds: result.seconds,
      finishedAt: (performance.now() - this.started) / 1000,
      fidelity: { ...fidelity },
      epochsTrained: result.epochsTrained ?? Math.max(0, epochs - resumed),
    };
    if (result.curve) {
      // A continued trial's curve starts where the trial it continued stopped.
      const earlier = resumed > 0 && from?.curve ? from.curve.slice(0, resumed) : [];
      trial.curve = [...earlier, ...result.curve];
    }
    if (from && resumed > 0) trial.promotedFrom = from.index;
    if (parent && result.inheritance) {
      trial.parent = parent.index;
      trial.inheritance = result.inheritance;
    }
    if (result.error) trial.error = result.error;
    if (result.cost) trial.cost = result.cost;
    if (this.objectives) {
      trial.objectives = Object.fromEntries(this.objectives.map((o) => [o.name, this.metricOf(trial, canonicalMetric(o.name))]));
    }
    return trial;
  }

  private metricOf(trial: Trial<A>, metric: string): number | null {
    const v = metric === 'score' ? trial.score : metric === 'params' || metric === 'flops' ? (trial.cost?.[metric] ?? null) : trial.metrics[metric];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }

  /** A trial's objectives as gains (larger is better), or null when it failed or lacks one. */
  private gainsOf(trial: Trial<A>): number[] | null {
    if (!this.objectives || !trial.objectives || trial.score === null) return null;
    const g = this.objectives.map((o) => {
      const v = trial.objectives![o.name];
      return v === null || v === undefined ? null : o.direction === 'max' ? v : -v;
    });
    return g.every((v) => v !== null) ? (g as number[]) : null;
  }

  /** Under several objectives: the non-dominated trials and the front's knee. */
  private paretoFront(): { pareto: Trial<A>[]; chosen: Trial<A> | undefined } {
    const latest = this.results.filter((t) => this.gainsOf(t) !== null);
    const { front, knee } = paretoKnee(latest.map((t) => this.gainsOf(t)!));
    return { pareto: front.map((i) => latest[i]!), chosen: knee === undefined ? undefined : latest[knee] };
  }

  /** Records a built trial: it joins the results and is announced. */
  private commitTrial(trial: Trial<A>): Trial<A> {
    this.epochsSpent += trial.epochsTrained;
    this.results.push(trial);
    this.byHash.set(trial.hash, trial);
    this.emit('trial', trial);
    // Every iterator that is waiting has read all earlier trials, so this one is next for each.
    for (const w of this.waiters.splice(0)) w({ value: trial, done: false });
    return trial;
  }

  private async loop(): Promise<StudySummary<A>> {
    this.started = performance.now();
    this.state = 'running';
    // One signal for the evaluator: the caller's abort, or the time budget running out mid-batch.
    const stop = this.stopSignal();
    try {
      if (this.options.prior && !(await this.givePriors(stop))) {
        this.state = stop.timeUp() && !this.options.signal?.aborted ? 'done' : 'interrupted';
      } else {
        await (this.scheduler ? this.scheduledLoop(this.scheduler, stop) : this.options.storage ? this.storedLoop(this.options.storage, stop) : this.plainLoop(stop));
      }
    } catch (err) {
      this.state = 'failed';
      this.failure = (err as Error).message;
      this.finish();
      throw err;
    } finally {
      stop.dispose();
      await this.states.close();
    }
    this.finish();
    const summary = this.summary();
    this.emit('done', summary);
    return summary;
  }

  /** Scores `prior.samples` uniform samples by their proxies and gives them to the strategy. */
  private async givePriors({ signal }: StopSignal): Promise<boolean> {
    const { space, evaluator, seed } = this.options;
    const o = this.options.prior === true ? {} : (this.options.prior as { samples?: number; proxies?: readonly string[] });
    const samples = o.samples ?? 256;
    // Their own random stream, so the strategy's proposals do not depend on how many were drawn.
    const rng = createRng(((seed ?? 0) ^ 0x9e3779b9) >>> 0);
    const archs: { arch: A; hash: string }[] = [];
    const hashes = new Set<string>();
    for (let tries = 0; archs.length < samples && tries < samples * 20; tries++) {
      const arch = space.sample(rng);
      const hash = space.hash(arch);
      if (hashes.has(hash)) continue;
      hashes.add(hash);
      archs.push({ arch, hash });
    }
    let ranks: number[];
    try {
      ranks = await evaluator.prescreen!(archs.map((a) => a.arch), o.proxies ?? DEFAULT_PRESCREEN, { signal });
    } catch (err) {
      if (err instanceof AbortError) return false;
      throw err;
    }
    const estimates = archs.map((a, i) => ({ arch: a.arch, hash: a.hash, score: Number.isFinite(ranks[i]) ? -ranks[i]! : null }));
    this.strategy.prior!(estimates);
    this.emit('prior', { scored: estimates.filter((e) => e.score !== null).length });
    return true;
  }

  /** Aborted by the caller's signal or when the time budget runs out; `timeUp()` tells which. */
  private stopSignal(): StopSignal {
    const { budget, signal: userSignal } = this.options;
    const stop = new AbortController();
    let timeUp = false;
    const onAbort = () => stop.abort(userSignal?.reason);
    if (userSignal?.aborted) onAbort();
    else userSignal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      budget.seconds === undefined
        ? undefined
        : setTimeout(() => {
            timeUp = true;
            stop.abort(new Error('the time budget ran out'));
          }, budget.seconds * 1000);
    timer?.unref();
    return {
      signal: stop.signal,
      timeUp: () => timeUp,
      dispose: () => {
        if (timer) clearTimeout(timer);
        userSignal?.removeEventListener('abort', onAbort);
      },
    };
  }

  private budgetLeft(): { evaluations: number; epochs: number; timeUp: boolean } {
    const { budget } = this.options;
    return {
      evaluations: budget.evaluations === undefined ? Infinity : budget.evaluations - this.results.length,
      epochs: budget.epochs === undefined ? Infinity : budget.epochs - this.epochsSpent,
      timeUp: budget.seconds !== undefined && (performance.now() - this.started) / 1000 >= budget.seconds,
    };
  }

  private tellStrategy(trials: readonly Trial<A>[]): void {
    if (trials.length === 0) return;
    const scalarised = this.scalarise(trials);
    this.strategy.tell(trials.map((t, i) => ({ ...(this.scheduler ? { arch: t.arch, hash: t.hash, score: t.score, epochs: t.fidelity.epochs } : { arch: t.arch, hash: t.hash, score: t.score }), ...scalarised[i] })));
    if (this.scheduler instanceof Bohb) for (const t of trials) this.scheduler.observe(t.fidelity.epochs ?? 0, t.arch, t.hash, t.score);
  }

  /**
   * Under several objectives, what the strategy is told of each trial: its gains, and as its score
   * the equal-weight Chebyshev scalarisation of the gains min-max normalised over every trial so far
   * and these (each once). Nothing to add under one objective.
   */
  private scalarise(trials: readonly Trial<A>[]): { objectives?: number[] | null; score?: number | null }[] {
    if (!this.objectives) return trials.map(() => ({}));
    const all = [...new Set([...this.results, ...trials])].filter((r) => this.gainsOf(r) !== null);
    const normalised = normaliseGains(all.map((r) => this.gainsOf(r)!));
    const row = new Map(all.map((r, i) => [r, normalised[i]!]));
    const w = this.objectives.map(() => 1 / this.objectives!.length);
    return trials.map((t) => {
      const gains = this.gainsOf(t);
      return gains ? { objectives: gains, score: chebyshev(row.get(t)!, w) } : { objectives: null, score: null };
    });
  }

  private async plainLoop({ signal, timeUp }: StopSignal): Promise<void> {
    const { evaluator } = this.options;
    const parallel = this.options.parallel ?? 1;
    let emptyRounds = 0;
    const userSignal = this.options.signal;
    const epochCost = Math.max(1, this.options.fidelity?.epochs ?? 1);
    for (;;) {
      if (userSignal?.aborted) {
        this.state = 'interrupted';
        break;
      }
      const budgetLeft = this.budgetLeft();
      const left = Math.min(budgetLeft.evaluations, Math.floor(budgetLeft.epochs / epochCost));
      if (left <= 0 || timeUp() || budgetLeft.timeUp) {
        this.state = 'done';
        break;
      }
      const want = Math.min(parallel, left);
      const { batch, proposals } = await this.proposeBatch(want, signal);
      if (batch.length === 0) {
        if (++emptyRounds >= MAX_EMPTY_ROUNDS || proposals === 0) {
          this.state = 'exhausted';
          break;
        }
        continue;
      }
      emptyRounds = 0;
      for (const b of batch) this.inFlight.add(b.hash);
      const parents = this.parentsFor(batch);
      let results: EvalResult<A>[];
      try {
        results = await this.evaluateBatch(batch, parents, signal);
      } catch (err) {
        if (err instanceof AbortError) {
          // Keep what finished before the interruption.
          const finished: Trial<A>[] = [];
          for (const r of err.results as EvalResult<A>[]) {
            const b = batch.find((x) => x.arch === r.arch);
            if (b) finished.push(this.record(r, b.hash));
          }
          this.tellStrategy(finished);
          this.state = timeUp() && !userSignal?.aborted ? 'done' : 'interrupted';
          break;
        }
        throw err;
      } finally {
        for (const b of batch) this.inFlight.delete(b.hash);
      }
      if (results.length !== batch.length) {
        throw new NasxError('ERR_NASX_ENGINE', `evaluator ${evaluator.name} returned ${results.length} results for ${batch.length} candidates`);
      }
      const trials = results.map((r, i) => {
        const trial = this.record(r, batch[i]!.hash, undefined, undefined, parents[i]);
        if (this.inherit && r.weights !== undefined && trial.score !== null) this.inherit.store.put(trial.hash, r.weights, trial.score);
        return trial;
      });
      this.tellStrategy(trials);
      this.emit('progress', this.progress());
    }
  }

  /** Evaluates new candidates at the study's fidelity, from their parents' weights under `inherit`. */
  private evaluateBatch(batch: readonly { arch: A }[], parents: readonly (Trial<A> | undefined)[], signal: AbortSignal): Promise<EvalResult<A>[]> {
    return this.options.evaluator.evaluate(
      batch.map((b) => b.arch),
      this.options.fidelity ?? {},
      {
        signal,
        onProgress: (e) => this.emit('evaluation-progress', e),
        ...(this.inherit ? { keepWeights: true, init: parents.map((p) => (p ? this.inherit!.store.get(p.hash) : undefined)) } : {}),
      },
    );
  }

  /**
   * Up to `want` new candidates from the strategy: duplicates (already evaluated, or twice in this
   * batch) are told from memory, not re-evaluated; under `prescreen`, the strategy is asked for more
   * and those the proxies rank worst are told failed. `proposals`: how many the strategy gave.
   */
  private async proposeBatch(want: number, signal: AbortSignal): Promise<{ batch: { arch: A; hash: string }[]; proposals: number }> {
    const { space, evaluator } = this.options;
    const dedupe = this.options.dedupe ?? true;
    const prescreen = this.options.prescreen;
    const proposals = this.strategy.ask(prescreen ? Math.min(MAX_ASK, want * prescreen.factor) : want);
    let batch: { arch: A; hash: string }[] = [];
    const known: Trial<A>[] = [];
    for (const arch of proposals) {
      space.validate(arch);
      const hash = space.hash(arch);
      const seen = this.byHash.get(hash);
      if (dedupe && seen) known.push(seen);
      else if (dedupe && (batch.some((b) => b.hash === hash) || this.inFlight.has(hash))) continue;
      else batch.push({ arch, hash });
    }
    this.tellStrategy(known);
    if (prescreen && batch.length > want) {
      const ranks = await evaluator.prescreen!(batch.map((b) => b.arch), prescreen.proxies ?? DEFAULT_PRESCREEN, { signal });
      const order = batch.map((_, i) => i).sort((x, y) => ranks[x]! - ranks[y]! || x - y);
      const keep = new Set(order.slice(0, want));
      const culled = batch.filter((_, i) => !keep.has(i));
      this.prescreened += culled.length;
      batch = batch.filter((_, i) => keep.has(i));
      this.strategy.tell(culled.map((c) => ({ arch: c.arch, hash: c.hash, score: null })));
      this.emit('prescreen', { scored: order.length, kept: batch.length });
    }
    return { batch, proposals: proposals.length };
  }

  // -------------------------------------------------------------------------------------------------
  // Stored studies: every ask and tell is a transaction on the storage.

  private worker = '';
  private stateVersion = -1;
  /** Trials with an id below this were finished when last read from the storage. */
  private syncedBelow = 0;
  /** Ids of the stored trials this process holds in `results`. */
  private readonly storedIds = new Set<number>();

  /** Brings this process up to date with the storage: the serial state and finished trials of other processes. */
  private async sync(tx: StorageTx): Promise<void> {
    const state = await tx.readState();
    if (state && state.version !== this.stateVersion) {
      this.strategy.loadStateDict(state.strategy);
      this.prescreened = state.counters.culled ?? 0;
      this.stateVersion = state.version;
    }
    const rows = await tx.trials({ fromId: this.syncedBelow });
    this.inFlight.clear();
    let firstOpen = Infinity;
    for (const row of rows) {
      if (FINISHED_STATES.includes(row.state)) {
        if (!this.storedIds.has(row.id) && row.result) this.adopt(row);
      } else {
        this.inFlight.add(row.hash);
        firstOpen = Math.min(firstOpen, row.id);
      }
    }
    this.syncedBelow = firstOpen === Infinity ? (rows.length > 0 ? rows[rows.length - 1]!.id + 1 : this.syncedBelow) : firstOpen;
  }

  /** A finished trial read from the storage joins the results (in index order). */
  private adopt(row: TrialRow): void {
    const trial = row.result as unknown as Trial<A>;
    trial.arch = row.arch as A;
    this.storedIds.add(row.id);
    let i = this.results.length;
    while (i > 0 && this.results[i - 1]!.index > trial.index) i--;
    this.results.splice(i, 0, trial);
    this.byHash.set(trial.hash, trial);
    this.epochsSpent += trial.epochsTrained;
  }

  /**
   * A transaction of the stored loop. Its body changes nothing in this process but the strategy
   * (and the counters of its serial state), so when the storage runs it again (PostgreSQL retries
   * a transaction whose connection broke before its commit) the strategy is reloaded from the
   * storage first.
   */
  private storedTransaction<T>(storage: Storage, name: string, fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    let attempts = 0;
    return storage.transaction(name, (tx) => {
      if (attempts++ > 0) this.stateVersion = -1;
      return fn(tx);
    });
  }

  private async writeState(tx: StorageTx): Promise<void> {
    this.stateVersion = await tx.writeState({ strategy: this.strategy.stateDict(), scheduler: null, counters: { culled: this.prescreened } });
  }

  /** Creates the study in the storage, or checks that the stored one is this one (then it resumes). */
  private async openStored(storage: Storage, name: string): Promise<void> {
    const { space, budget, seed } = this.options;
    const settings = {
      parallel: this.options.parallel ?? 1,
      fidelity: this.options.fidelity ?? {},
      dedupe: this.options.dedupe ?? true,
      strategyOptions: this.options.strategyOptions ?? {},
      ...(this.options.prescreen ? { prescreen: this.options.prescreen } : {}),
      ...(this.options.prior ? { prior: this.options.prior } : {}),
      ...(this.options.inherit ? { inherit: this.options.inherit } : {}),
      ...(this.objectives ? { objectives: this.objectives } : {}),
    };
    const existing = await storage.getStudy(name);
    if (!existing) {
      try {
        await storage.createStudy({ name, space: space.name, strategy: this.strategy.name, seed: seed ?? 0, budget, options: settings, status: 'running' });
      } catch (err) {
        // Another worker created it first: join it.
        if (!(await storage.getStudy(name))) throw err;
      }
    }
    const record = (await storage.getStudy(name))!;
    const differ = (what: string, stored: unknown, given: unknown) => {
      if (JSON.stringify(stored) !== JSON.stringify(given)) {
        throw new RangeError(`Expected ${what} to be ${JSON.stringify(stored)}, as study "${name}" in ${storage.location} was created with, but received ${JSON.stringify(given)}`);
      }
    };
    differ('the space', record.space, space.name);
    differ('the strategy', record.strategy, this.strategy.name);
    differ('the seed', record.seed, seed ?? 0);
    for (const [k, v] of Object.entries(settings)) differ(`options.${k}`, record.options[k], v);
    for (const k of Object.keys(record.options)) if (!(k in settings)) differ(`options.${k}`, record.options[k], undefined);
    this.worker = workerId(hostname(), process.pid);
    const lease = (this.options.leaseSeconds ?? 60) * 1000;
    await storage.acquireStudy?.(name, this.worker, Date.now() - lease);
    const counts = await storage.transaction(name, async (tx) => {
      await tx.setStatus('running', budget);
      // A new study's state is written at once, so that every later transaction can reload it.
      if (!(await tx.readState())) await this.writeState(tx);
      return tx.counts();
    });
    const finished = counts.complete + counts.failed + counts.pruned;
    if (existing) this.emit('resume', { finished, requeued: counts.running + counts.pending });
  }

  /**
   * The loop of a stored study. Each round is two transactions with the study locked: the first
   * re-reads the state (other workers may have moved it), claims trials abandoned by dead workers,
   * asks the strategy for new ones up to the budget and writes them as running with the strategy's
   * state; the candidates are evaluated outside any transaction, with a heartbeat; the second
   * records their results, tells the strategy and writes its state. A crash between the two leaves
   * running trials that are re-run (SQLite: by the next process at once; PostgreSQL: after the lease).
   */
  private async storedLoop(storage: Storage, { signal, timeUp }: StopSignal): Promise<void> {
    const name = this.options.name!;
    const { evaluator } = this.options;
    const parallel = this.options.parallel ?? 1;
    const userSignal = this.options.signal;
    const lease = (this.options.leaseSeconds ?? 60) * 1000;
    const epochCost = Math.max(1, this.options.fidelity?.epochs ?? 1);
    // One process owns a SQLite study, so whatever is running there was left by a dead one.
    const exclusive = storage.acquireStudy !== undefined;
    await this.openStored(storage, name);
    let emptyRounds = 0;
    try {
      for (;;) {
        if (userSignal?.aborted) {
          this.state = 'interrupted';
          break;
        }
        if (timeUp() || this.budgetLeft().timeUp) {
          this.state = 'done';
          break;
        }
        const round = await this.storedTransaction(storage, name, async (tx) => {
          await this.sync(tx);
          const counts = await tx.counts();
          const budgetLeft = this.budgetLeft();
          const open = counts.pending + counts.running;
          const left = Math.min(budgetLeft.evaluations, Math.floor(budgetLeft.epochs / epochCost));
          if (left <= 0) return { done: true as const };
          const claimed = await tx.claim(this.worker, Math.min(parallel, left), exclusive ? Number.MAX_SAFE_INTEGER : Date.now() - lease);
          const othersRunning = open - claimed.length;
          const room = Math.min(parallel - claimed.length, left - open);
          let fresh: { arch: A; hash: string }[] = [];
          let proposals = 0;
          if (room > 0) {
            ({ batch: fresh, proposals } = await this.proposeBatch(room, signal));
            if (fresh.length > 0) {
              const ids = await tx.insertTrials(fresh.map((f) => ({ hash: f.hash, arch: f.arch, fidelity: this.options.fidelity ?? {}, state: 'running' as const, worker: this.worker })));
              fresh.forEach((f, i) => claimed.push({ id: ids[i]!, hash: f.hash, arch: f.arch } as TrialRow));
            }
            await this.writeState(tx);
          }
          return { done: false as const, batch: claimed.map((c) => ({ id: c.id, hash: c.hash, arch: c.arch as A })), proposals, othersRunning };
        });
        if (round.done) {
          this.state = 'done';
          break;
        }
        const { batch } = round;
        if (batch.length === 0) {
          if (round.othersRunning > 0) {
            // Everything left is running elsewhere: wait for it to finish (or to be abandoned).
            await new Promise((r) => setTimeout(r, Math.min(1000, lease / 10)));
            continue;
          }
          if (++emptyRounds >= MAX_EMPTY_ROUNDS || round.proposals === 0) {
            this.state = 'exhausted';
            break;
          }
          continue;
        }
        emptyRounds = 0;
        for (const b of batch) this.inFlight.add(b.hash);
        const parents = this.parentsFor(batch);
        const beat = setInterval(() => void storage.heartbeat(name, this.worker, batch.map((b) => b.id)).catch((err) => this.emit('storage-error', err)), Math.max(250, lease / 4));
        beat.unref();
        let results: EvalResult<A>[];
        let interrupted = false;
        try {
          results = await this.evaluateBatch(batch, parents, signal);
          if (results.length !== batch.length) {
            throw new NasxError('ERR_NASX_ENGINE', `evaluator ${evaluator.name} returned ${results.length} results for ${batch.length} candidates`);
          }
        } catch (err) {
          if (!(err instanceof AbortError)) throw err;
          results = err.results as EvalResult<A>[];
          interrupted = true;
        } finally {
          clearInterval(beat);
        }
        const finished = await this.storedTransaction(storage, name, async (tx) => {
          await this.sync(tx);
          const counts = await tx.counts();
          let index = counts.complete + counts.failed + counts.pruned;
          const finished: { id: number; trial: Trial<A>; result: EvalResult<A> }[] = [];
          for (const [i, b] of batch.entries()) {
            const r = interrupted ? results.find((x) => x.arch === b.arch) : results[i];
            if (r) finished.push({ id: b.id, trial: this.buildTrial(r, b.hash, this.options.fidelity ?? {}, undefined, parents[i], index++), result: r });
          }
          await tx.finishTrials(
            finished.map(({ id, trial }) => ({ id, state: trial.status === 'ok' ? 'complete' : 'failed', score: trial.score, result: trial as unknown as Record<string, unknown> })),
          );
          const unfinished = batch.filter((b) => !finished.some((f) => f.id === b.id)).map((b) => b.id);
          if (unfinished.length > 0) await tx.requeue(unfinished);
          this.tellStrategy(finished.map((f) => f.trial));
          await this.writeState(tx);
          return finished;
        });
        // Announced once they are stored.
        for (const { id, trial, result } of finished) {
          this.storedIds.add(id);
          this.commitTrial(trial);
          if (this.inherit && result.weights !== undefined && trial.score !== null) this.inherit.store.put(trial.hash, result.weights, trial.score);
        }
        for (const b of batch) this.inFlight.delete(b.hash);
        this.emit('progress', this.progress());
        if (interrupted) {
          this.state = timeUp() && !userSignal?.aborted ? 'done' : 'interrupted';
          break;
        }
      }
      await storage.transaction(name, async (tx) => {
        const c = await tx.counts();
        // A worker that stops while others still run trials leaves the study running for them.
        if (this.state !== 'done' || exclusive || c.running === 0) await tx.setStatus(this.state);
      });
    } catch (err) {
      await storage.transaction(name, (tx) => tx.setStatus('failed')).catch(() => undefined);
      throw err;
    } finally {
      await storage.releaseStudy?.(name, this.worker).catch(() => undefined);
    }
  }

  /**
   * The loop under a scheduler: it decides each job's epochs and which trials continue; new-candidate
   * jobs get the strategy's (or the scheduler's own) proposals; jobs are evaluated grouped by epochs,
   * promotions continuing their stored training state; every result goes to the scheduler and the
   * strategy, and states that can no longer be promoted are dropped.
   */
  private async scheduledLoop(scheduler: Scheduler<A>, { signal, timeUp }: StopSignal): Promise<void> {
    const { space, evaluator } = this.options;
    const parallel = this.options.parallel ?? 1;
    const dedupe = this.options.dedupe ?? true;
    const base = this.options.fidelity ?? {};
    const userSignal = this.options.signal;
    let emptyRounds = 0;
    for (;;) {
      if (userSignal?.aborted) {
        this.state = 'interrupted';
        break;
      }
      const left = this.budgetLeft();
      if (left.evaluations <= 0 || left.epochs <= 0 || timeUp() || left.timeUp) {
        this.state = 'done';
        break;
      }
      // Jobs that fit the budgets; the rest go back (a new job is dropped, a promotion never runs).
      let epochsLeft = left.epochs;
      const jobs: { job: SchedulerJob; from?: Trial<A> }[] = [];
      for (const job of scheduler.next(Math.min(parallel, left.evaluations))) {
        const from = job.promote === undefined ? undefined : this.byHash.get(job.promote);
        const cost = job.epochs - (from?.fidelity.epochs ?? 0);
        if (cost > epochsLeft || (job.promote !== undefined && !from)) {
          scheduler.cancel(job);
          continue;
        }
        epochsLeft -= cost;
        jobs.push({ job, from });
      }
      const fresh = jobs.filter((j) => j.job.promote === undefined);
      const proposals = fresh.length === 0 ? [] : (scheduler.propose?.(fresh.length) ?? this.strategy.ask(fresh.length));
      const work: { job: SchedulerJob; arch: A; hash: string; from?: Trial<A> }[] = jobs
        .filter((j) => j.from)
        .map((j) => ({ job: j.job, arch: j.from!.arch, hash: j.from!.hash, from: j.from }));
      const known: Trial<A>[] = [];
      let p = 0;
      for (const j of fresh) {
        let placed = false;
        while (!placed && p < proposals.length) {
          const arch = proposals[p++]!;
          space.validate(arch);
          const hash = space.hash(arch);
          const seen = this.byHash.get(hash);
          if (dedupe && seen) known.push(seen);
          else if (dedupe && work.some((w) => w.hash === hash)) continue;
          else {
            work.push({ job: j.job, arch, hash });
            placed = true;
          }
        }
        if (!placed) scheduler.cancel(j.job);
      }
      this.tellStrategy(known);
      if (work.length === 0) {
        if (++emptyRounds >= MAX_EMPTY_ROUNDS) {
          this.state = 'exhausted';
          break;
        }
        continue;
      }
      emptyRounds = 0;
      // One evaluation per number of epochs, in the order the scheduler gave the jobs.
      const groups = new Map<number, typeof work>();
      for (const w of work) groups.set(w.job.epochs, [...(groups.get(w.job.epochs) ?? []), w]);
      let interrupted = false;
      const reports: SchedulerResult[] = [];
      const trials: Trial<A>[] = [];
      for (const [epochs, group] of groups) {
        const fidelity: Fidelity = { ...base, epochs };
        for (const g of group) this.inFlight.add(g.hash);
        const resume = await Promise.all(group.map((g) => (g.from ? this.states.get(g.hash) : undefined)));
        let results: EvalResult<A>[];
        try {
          results = await evaluator.evaluate(
            group.map((g) => g.arch),
            fidelity,
            {
              signal,
              onProgress: (e) => this.emit('evaluation-progress', e),
              resume,
              // Nothing at the last rung is continued: its states are not worth copying out.
              keepState: epochs < scheduler.maxEpochs,
              scheduleEpochs: scheduler.maxEpochs,
            },
          );
        } catch (err) {
          if (!(err instanceof AbortError)) throw err;
          for (const r of err.results as EvalResult<A>[]) {
            const g = group.find((x) => x.arch === r.arch);
            if (g) trials.push(this.record(r, g.hash, fidelity, g.from));
          }
          interrupted = true;
          break;
        } finally {
          for (const g of group) this.inFlight.delete(g.hash);
        }
        if (results.length !== group.length) {
          throw new NasxError('ERR_NASX_ENGINE', `evaluator ${evaluator.name} returned ${results.length} results for ${group.length} candidates`);
        }
        for (const [i, r] of results.entries()) {
          const g = group[i]!;
          const trial = this.record(r, g.hash, fidelity, g.from);
          trials.push(trial);
          reports.push({ job: g.job, hash: g.hash, score: trial.score, curve: trial.curve });
          if (r.state !== undefined && trial.score !== null) await this.states.put(g.hash, r.state as StoredState, trial.score);
          else await this.states.delete(g.hash);
        }
      }
      scheduler.report(reports);
      this.tellStrategy(trials);
      // States the scheduler will not continue are dropped.
      for (const t of trials) if (!scheduler.promotable(t.hash)) await this.states.delete(t.hash);
      await this.dropUnpromotable(scheduler);
      this.emit('progress', this.progress());
      if (interrupted) {
        this.state = timeUp() && !userSignal?.aborted ? 'done' : 'interrupted';
        break;
      }
    }
  }

  /** Drops every stored state whose architecture the scheduler will no longer continue. */
  private async dropUnpromotable(scheduler: Scheduler<A>): Promise<void> {
    for (const hash of this.storedHashes()) if (!scheduler.promotable(hash)) await this.states.delete(hash);
  }

  private storedHashes(): string[] {
    return [...this.byHash.keys()].filter((h) => this.states.has(h));
  }

  private finish(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
}
