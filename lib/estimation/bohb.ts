/**
 * `Bohb`: Hyperband's brackets with model-based sampling (after Falkner et al., 2018). New candidates
 * come from the `bo` strategy fitted on the results at one fidelity: the highest fidelity (epochs)
 * with at least `minPoints` results; a fraction `randomFraction` of them, and all of them before any
 * fidelity has enough results, are drawn uniformly from the space.
 */
import { checkObject, checkNumber } from '../errors.js';
import { createStrategy } from '../strategies/registry.js';
import type { Strategy } from '../strategies/strategy.js';
import { createRng, type Rng } from '../util/rng.js';
import { BracketScheduler } from './brackets.js';
import type { Scheduler, SchedulerContext, SchedulerJob, SchedulerResult } from './scheduler.js';

export interface BohbOptions {
  minEpochs?: number;
  maxEpochs?: number;
  eta?: number;
  /** Results a fidelity needs before its model proposes. Default 8. */
  minPoints?: number;
  /** Share of new candidates drawn at random even once a model proposes. Default 1/3. */
  randomFraction?: number;
  /** Options of the `bo` strategy behind each fidelity's model. */
  bo?: Record<string, unknown>;
}

export class Bohb<A> implements Scheduler<A> {
  readonly name = 'bohb';
  readonly minEpochs: number;
  readonly maxEpochs: number;
  private readonly brackets: BracketScheduler;
  private readonly models = new Map<number, { strategy: Strategy<A>; points: number }>();
  private readonly rng: Rng;
  private readonly minPoints: number;
  private readonly randomFraction: number;

  constructor(
    private readonly context: SchedulerContext<A>,
    options: BohbOptions = {},
  ) {
    checkObject('options', options);
    const { minPoints, randomFraction, bo, ...range } = options;
    this.brackets = new BracketScheduler('hyperband', range);
    this.minEpochs = this.brackets.minEpochs;
    this.maxEpochs = this.brackets.maxEpochs;
    this.minPoints = Math.round(checkNumber('bohb.minPoints', minPoints ?? 8, 1, 100000));
    this.randomFraction = checkNumber('bohb.randomFraction', randomFraction ?? 1 / 3, 0, 1);
    this.boOptions = bo;
    this.rng = createRng(context.seed + 0x5b0b);
  }

  private readonly boOptions: Record<string, unknown> | undefined;

  private model(epochs: number) {
    let m = this.models.get(epochs);
    if (!m) {
      m = {
        strategy: createStrategy('bo', { space: this.context.space, seed: this.context.seed + epochs, isKnown: this.context.isKnown }, this.boOptions),
        points: 0,
      };
      this.models.set(epochs, m);
    }
    return m;
  }

  next(slots: number): SchedulerJob[] {
    return this.brackets.next(slots);
  }

  cancel(job: SchedulerJob): void {
    this.brackets.cancel(job);
  }

  report(results: readonly SchedulerResult[]): void {
    this.brackets.report(results);
  }

  /** Tells the fidelity's model (the study calls it with every result, its architecture included). */
  observe(epochs: number, arch: A, hash: string, score: number | null): void {
    const m = this.model(epochs);
    m.strategy.tell([{ arch, hash, score }]);
    if (score !== null) m.points++;
  }

  propose(n: number): A[] {
    const fitted = [...this.models.entries()].filter(([, m]) => m.points >= this.minPoints).sort((a, b) => b[0] - a[0])[0];
    const out: A[] = [];
    for (let i = 0; i < n; i++) {
      if (!fitted || this.rng.next() < this.randomFraction) {
        // Uniform draws, avoiding what the study knows.
        let arch = this.context.space.sample(this.rng);
        for (let tries = 0; tries < 100 && this.context.isKnown?.(this.context.space.hash(arch)); tries++) arch = this.context.space.sample(this.rng);
        out.push(arch);
      } else {
        const [a] = fitted[1].strategy.ask(1);
        if (a !== undefined) out.push(a);
      }
    }
    return out;
  }

  promotable(hash: string): boolean {
    return this.brackets.promotable(hash);
  }

  done(): boolean {
    return false;
  }

  stateDict(): unknown {
    return {
      kind: 'bohb',
      brackets: this.brackets.stateDict(),
      rng: this.rng.getState(),
      models: [...this.models].map(([e, m]) => [e, m.points, m.strategy.stateDict()]),
    };
  }

  loadStateDict(state: unknown): void {
    const s = state as { brackets: unknown; rng: unknown; models: [number, number, unknown][] };
    this.brackets.loadStateDict(s.brackets);
    this.rng.setState(s.rng as never);
    this.models.clear();
    for (const [e, points, st] of s.models) {
      const m = this.model(e);
      m.points = points;
      m.strategy.loadStateDict(st);
    }
  }
}
