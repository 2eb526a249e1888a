/**
 * Regularized (aging) evolution (Real et al., AAAI 2019): a population of the most recent
 * evaluations; each child is a mutation of the best of a random tournament; the oldest member dies.
 *
 * Under several objectives (observations with `objectives`), NSGA-II's ranking (Deb et al., 2002)
 * replaces the score: a tournament is won by the member on the better non-dominated front, ties
 * broken by the larger crowding distance, and the population keeps the best `population` members by
 * the same order instead of the most recent (elitist survival), so it spreads along the Pareto front.
 */
import { createRng, type Rng } from '../util/rng.js';
import { checkAskCount, checkObservations, checkStrategyContext, type Observation, type Strategy, type StrategyContext } from './strategy.js';
import { checkStateDict } from './state-dict.js';
import { checkStrategyOptions } from './options.js';
import { crowdingDistance, nonDominatedSort } from '../report/pareto.js';
import { nullable } from './state-dict.js';

export interface RegularizedEvolutionOptions {
  /** Population size (also the number of random samples that seed it). Default 20. */
  population?: number;
  /** Tournament sample size. Default 5. */
  sampleSize?: number;
  /** Mutations tried per child before giving up on an unseen one. Default 100. */
  maxTries?: number;
}

interface Member<A> {
  arch: A;
  hash: string;
  score: number;
  /** Gains under several objectives, else null. */
  objectives: number[] | null;
}

export class RegularizedEvolution<A> implements Strategy<A> {
  readonly name = 'evolution';
  private readonly rng: Rng;
  private readonly seen = new Set<string>();
  private population: Member<A>[] = [];
  /** Evaluations told so far (successful or not) plus those asked and not yet told. */
  private proposed = 0;
  private readonly size: number;
  private readonly sampleSize: number;
  private readonly maxTries: number;

  constructor(
    private readonly context: StrategyContext<A>,
    options: RegularizedEvolutionOptions = {},
  ) {
    checkStrategyContext(context);
    const o = checkStrategyOptions('evolution', options, {
      population: [2, 1e6, 20],
      sampleSize: [1, 1e6, 5],
      maxTries: [1, 1e6, 100],
    });
    if (o.sampleSize > o.population) {
      throw new RangeError(`\`sampleSize <= population\` must hold for strategy evolution, but got (sampleSize=${o.sampleSize}, population=${o.population})`);
    }
    this.size = o.population;
    this.sampleSize = o.sampleSize;
    this.maxTries = o.maxTries;
    this.rng = createRng(context.seed);
  }

  /** Proposed, not yet told: each one's parent (the tournament winner), null for random members. */
  private readonly parents = new Map<string, string | null>();

  private fresh(a: A): string | undefined {
    const h = this.context.space.hash(a);
    if (this.seen.has(h) || this.context.isKnown?.(h)) return undefined;
    return h;
  }

  private randomUnseen(): A | undefined {
    for (let tries = 0; tries < this.maxTries * 10; tries++) {
      const a = this.context.space.sample(this.rng);
      const h = this.fresh(a);
      if (h !== undefined) {
        this.seen.add(h);
        this.parents.set(h, null);
        return a;
      }
    }
    return undefined;
  }

  private child(): A | undefined {
    // Tournament: the best of `sampleSize` members drawn without replacement.
    const pool = this.population.map((_, i) => i);
    let best: Member<A> | undefined;
    for (let k = 0; k < Math.min(this.sampleSize, pool.length); k++) {
      const j = k + this.rng.nextInt(pool.length - k);
      [pool[k], pool[j]] = [pool[j]!, pool[k]!];
      const m = this.population[pool[k]!]!;
      if (!best || this.better(m, best)) best = m;
    }
    let parent = best!.arch;
    for (let tries = 0; tries < this.maxTries; tries++) {
      const a = this.context.space.mutate(parent, this.rng);
      const h = this.fresh(a);
      if (h !== undefined) {
        this.seen.add(h);
        this.parents.set(h, best!.hash);
        return a;
      }
      // Walk on from the mutated architecture so that a crowded neighbourhood is eventually left.
      if (tries % 10 === 9) parent = a;
    }
    return this.randomUnseen();
  }

  /** NSGA-II's order of the population (front, then crowding distance), computed once per change. */
  private order: Map<string, { front: number; crowding: number }> | undefined;

  private nsgaOrder(): Map<string, { front: number; crowding: number }> {
    if (this.order) return this.order;
    const points = this.population.map((m) => m.objectives!);
    const order = new Map<string, { front: number; crowding: number }>();
    nonDominatedSort(points).forEach((front, f) => {
      const crowding = crowdingDistance(points, front);
      for (const i of front) order.set(this.population[i]!.hash, { front: f, crowding: crowding.get(i)! });
    });
    this.order = order;
    return order;
  }

  private multiObjective(): boolean {
    return this.population.length > 0 && this.population.every((m) => m.objectives !== null);
  }

  /** Whether `a` wins a tournament against `b`. */
  private better(a: Member<A>, b: Member<A>): boolean {
    if (!this.multiObjective()) return a.score > b.score;
    const o = this.nsgaOrder();
    const x = o.get(a.hash)!;
    const y = o.get(b.hash)!;
    return x.front < y.front || (x.front === y.front && x.crowding > y.crowding);
  }

  ask(n: number): A[] {
    checkAskCount(n);
    const out: A[] = [];
    for (let k = 0; k < n; k++) {
      const a = this.proposed < this.size || this.population.length === 0 ? this.randomUnseen() : this.child();
      if (a === undefined) break;
      this.proposed++;
      out.push(a);
    }
    return out;
  }

  /** A child's parent is its tournament's winner; a random member has none. */
  parentOf(_arch: A, hash: string): string | null | undefined {
    return this.parents.get(hash);
  }

  tell(results: readonly Observation<A>[]): void {
    for (const r of checkObservations(results, this.context.space)) {
      this.seen.add(r.hash);
      this.parents.delete(r.hash);
      if (r.score === null || !Number.isFinite(r.score)) continue;
      const objectives = Array.isArray(r.objectives) && r.objectives.every(Number.isFinite) ? [...r.objectives] : null;
      if (r.objectives !== undefined && objectives === null) continue;
      this.population.push({ arch: r.arch, hash: r.hash, score: r.score, objectives });
      this.order = undefined;
      if (this.population.length > this.size) {
        if (this.multiObjective()) {
          // Elitist survival: the member last in NSGA-II's order dies (the oldest among equals).
          const o = this.nsgaOrder();
          let worst = 0;
          for (let i = 1; i < this.population.length; i++) {
            const a = o.get(this.population[i]!.hash)!;
            const w = o.get(this.population[worst]!.hash)!;
            if (a.front > w.front || (a.front === w.front && a.crowding < w.crowding)) worst = i;
          }
          this.population.splice(worst, 1);
        } else this.population.shift();
        this.order = undefined;
      }
    }
  }

  stateDict(): unknown {
    return { rng: this.rng.getState(), seen: [...this.seen], population: this.population, proposed: this.proposed };
  }

  loadStateDict(state: unknown): void {
    const s = checkStateDict(
      'evolution',
      state,
      { rng: 'uint32', seen: ['string'], population: [{ arch: 'arch', hash: 'string', score: 'number', objectives: nullable(['number']) }], proposed: 'count' },
      this.context.space,
    ) as { rng: number; seen: string[]; population: Member<A>[]; proposed: number };
    this.rng.setState(s.rng);
    this.seen.clear();
    for (const h of s.seen) this.seen.add(h);
    this.population = s.population.map((m) => ({ ...m, objectives: m.objectives === null ? null : [...m.objectives] }));
    this.order = undefined;
    this.proposed = s.proposed;
  }
}
