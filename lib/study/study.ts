/**
 * `Study`: owns the search loop. It asks the strategy for candidates, skips ones already evaluated
 * (by canonical hash), has the evaluator evaluate each batch, tells the strategy the results, and
 * stops at the budget (evaluations and/or wall time), when the space is exhausted, or on abort —
 * keeping every result gathered. Progress is observable as events and as an async iterator.
 */
import { EventEmitter } from 'node:events';
import { AbortError, NasxError, checkInteger, checkNumber, typeError } from '../errors.js';
import type { EvalMetrics, EvalResult, EvalStatus, Evaluator, Fidelity } from '../evaluators/evaluator.js';
import type { SearchSpace } from '../space/space.js';
import { createStrategy } from '../strategies/registry.js';
import type { Strategy } from '../strategies/strategy.js';

export interface Budget {
  /** Evaluations (duplicates skipped by dedupe do not count). */
  evaluations?: number;
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
  fidelity?: Fidelity;
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

  constructor(options: StudyOptions<A>) {
    super();
    if (typeof options !== 'object' || options === null) throw typeError('options', 'an object', options);
    const { budget } = options;
    if (typeof budget !== 'object' || budget === null) throw typeError('options.budget', 'an object like { evaluations: 100 }', budget);
    if (budget.evaluations === undefined && budget.seconds === undefined) {
      throw new RangeError('Expected options.budget to set evaluations and/or seconds but received neither');
    }
    if (budget.evaluations !== undefined) checkInteger('options.budget.evaluations', budget.evaluations, 1);
    if (budget.seconds !== undefined) checkNumber('options.budget.seconds', budget.seconds, 0, Infinity, { exclusiveMin: true });
    if (options.parallel !== undefined) checkInteger('options.parallel', options.parallel, 1, 4096);
    if (options.seed !== undefined) checkInteger('options.seed', options.seed, 0);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', options.signal);
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

  /** The `k` best trials by score (ties: earlier first). */
  top(k: number): Trial<A>[] {
    return this.results
      .filter((t) => t.score !== null)
      .sort((a, b) => b.score! - a.score! || a.index - b.index)
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
    return s;
  }

  private progress(): StudyProgress {
    const elapsed = (performance.now() - this.started) / 1000;
    const done = this.results.length;
    const { evaluations, seconds } = this.options.budget;
    let remaining = Number.NaN;
    if (evaluations !== undefined && done > 0) remaining = (elapsed / done) * (evaluations - done);
    if (seconds !== undefined) remaining = Number.isNaN(remaining) ? seconds - elapsed : Math.min(remaining, seconds - elapsed);
    return { done, budget: evaluations, best: this.best?.score ?? null, elapsed, remaining: Math.max(0, remaining) };
  }

  private record(result: EvalResult<A>, hash: string): Trial<A> {
    const trial: Trial<A> = {
      index: this.results.length,
      arch: result.arch,
      hash,
      status: result.status,
      score: result.status === 'ok' && result.metrics.score !== null && Number.isFinite(result.metrics.score) ? result.metrics.score : null,
      metrics: result.metrics,
      seconds: result.seconds,
      finishedAt: (performance.now() - this.started) / 1000,
    };
    if (result.error) trial.error = result.error;
    if (result.cost) trial.cost = result.cost;
    this.results.push(trial);
    this.byHash.set(hash, trial);
    this.emit('trial', trial);
    // Every iterator that is waiting has read all earlier trials, so this one is next for each.
    for (const w of this.waiters.splice(0)) w({ value: trial, done: false });
    return trial;
  }

  private async loop(): Promise<StudySummary<A>> {
    const { space, evaluator, budget, signal: userSignal } = this.options;
    const parallel = this.options.parallel ?? 1;
    const dedupe = this.options.dedupe ?? true;
    this.started = performance.now();
    this.state = 'running';
    let emptyRounds = 0;
    // One signal for the evaluator: the caller's abort, or the time budget running out mid-batch.
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
    const signal = stop.signal;
    try {
      for (;;) {
        if (userSignal?.aborted) {
          this.state = 'interrupted';
          break;
        }
        const left = budget.evaluations === undefined ? Infinity : budget.evaluations - this.results.length;
        if (left <= 0 || timeUp || (budget.seconds !== undefined && (performance.now() - this.started) / 1000 >= budget.seconds)) {
          this.state = 'done';
          break;
        }
        const proposals = this.strategy.ask(Math.min(parallel, left));
        // Duplicates (already evaluated, or twice in this batch) are answered from memory, not re-evaluated.
        const batch: { arch: A; hash: string }[] = [];
        const known: Trial<A>[] = [];
        for (const arch of proposals) {
          space.validate(arch);
          const hash = space.hash(arch);
          const seen = this.byHash.get(hash);
          if (dedupe && seen) known.push(seen);
          else if (dedupe && batch.some((b) => b.hash === hash)) continue;
          else batch.push({ arch, hash });
        }
        if (known.length > 0) this.strategy.tell(known.map((t) => ({ arch: t.arch, hash: t.hash, score: t.score })));
        if (batch.length === 0) {
          if (++emptyRounds >= MAX_EMPTY_ROUNDS || proposals.length === 0) {
            this.state = 'exhausted';
            break;
          }
          continue;
        }
        emptyRounds = 0;
        for (const b of batch) this.inFlight.add(b.hash);
        let results: EvalResult<A>[];
        try {
          results = await evaluator.evaluate(
            batch.map((b) => b.arch),
            this.options.fidelity ?? {},
            { signal, onProgress: (e) => this.emit('evaluation-progress', e) },
          );
        } catch (err) {
          if (err instanceof AbortError) {
            // Keep what finished before the interruption.
            const finished: Trial<A>[] = [];
            for (const r of err.results as EvalResult<A>[]) {
              const b = batch.find((x) => x.arch === r.arch);
              if (b) finished.push(this.record(r, b.hash));
            }
            if (finished.length > 0) this.strategy.tell(finished.map((t) => ({ arch: t.arch, hash: t.hash, score: t.score })));
            this.state = timeUp && !userSignal?.aborted ? 'done' : 'interrupted';
            break;
          }
          throw err;
        } finally {
          for (const b of batch) this.inFlight.delete(b.hash);
        }
        if (results.length !== batch.length) {
          throw new NasxError('ERR_NASX_ENGINE', `evaluator ${evaluator.name} returned ${results.length} results for ${batch.length} candidates`);
        }
        const trials = results.map((r, i) => this.record(r, batch[i]!.hash));
        this.strategy.tell(trials.map((t) => ({ arch: t.arch, hash: t.hash, score: t.score })));
        this.emit('progress', this.progress());
      }
    } catch (err) {
      this.state = 'failed';
      this.failure = (err as Error).message;
      this.finish();
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      userSignal?.removeEventListener('abort', onAbort);
    }
    this.finish();
    const summary = this.summary();
    this.emit('done', summary);
    return summary;
  }

  private finish(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
}
