/**
 * Bayesian optimisation with a Gaussian-process surrogate on the space's `encode` vectors.
 *
 * - Surrogate: a zero-mean GP whose correlation is a function of h = ½‖x − x′‖² between encodings —
 *   for one-hot codes, the number of decisions two architectures differ in. The default exponential
 *   kernel exp(−h/ℓ) is the product over decisions of "same option or not" kernels. It is fitted to
 *   the normal scores of the ranks of the results (or to standardised results, `targets`). The length
 *   scale ℓ and the noise ratio are chosen by maximising the log marginal likelihood on a fixed grid
 *   (the signal variance is profiled out in closed form): the whole grid every 10 results, a hill
 *   climb on it from the last choice in between — deterministic and cheap.
 * - Acquisition: expected improvement (default), an upper confidence bound, or Thompson sampling,
 *   maximised over a candidate pool: every neighbour of the best few architectures, random 1–3-step
 *   mutations of the best ones, and uniform samples, minus everything already evaluated or in flight.
 * - Initial design: `initialSamples` uniform samples.
 * - Batches: with EI and UCB, each pick (and each candidate asked earlier whose result has not come
 *   back) is added as a fake observation at its predicted mean — the "kriging believer" — which keeps
 *   the mean and shrinks the variance around it, so a batch spreads out; the hyper-parameters are not
 *   refitted for that. Thompson sampling draws one joint posterior sample per pick.
 *
 * @example const bo = new BayesianOptimization({ space, seed: 1 }, { acquisition: 'ei', initialSamples: 10 });
 */
import { checkInteger } from '../errors.js';
import { createRng, type Rng } from '../util/rng.js';
import {
  KERNEL_NAMES,
  cholesky,
  correlation,
  expectedImprovement,
  fitGp,
  predict,
  rankTargets,
  type GpPosterior,
  type KernelName,
} from './gp.js';
import { checkStrategyOptions } from './options.js';
import { chebyshev, normaliseGains } from '../report/pareto.js';
import { checkAskCount, checkObservations, checkStrategyContext, type Observation, type Strategy, type StrategyContext } from './strategy.js';
import { checkStateDict, nullable } from './state-dict.js';

export type Acquisition = 'ei' | 'ucb' | 'thompson';
export const ACQUISITIONS: readonly Acquisition[] = ['ei', 'ucb', 'thompson'];
export type TargetTransform = 'rank' | 'standardize';
export const TARGET_TRANSFORMS: readonly TargetTransform[] = ['rank', 'standardize'];

export interface BayesianOptimizationOptions {
  /** Acquisition function: "ei" (expected improvement, default), "ucb" or "thompson". */
  acquisition?: Acquisition;
  /** Correlation of h (decisions that differ): "exponential" (default), "matern52" or "squared-exponential". */
  kernel?: KernelName;
  /**
   * What the GP is fitted to: "rank" (default), the normal scores of the ranks of the results, or
   * "standardize", the results scaled to mean 0 and variance 1. Ranks keep a few very bad results
   * (a collapsed architecture, a diverged run) from dominating the fit and flattening the region of
   * good ones, which is where the search has to tell candidates apart.
   */
  targets?: TargetTransform;
  /** Uniform samples before the surrogate is used. Default 10. */
  initialSamples?: number;
  /** How many of the best architectures seed the candidate pool with mutations. Default 10. */
  poolParents?: number;
  /** How many of the best architectures add every one of their neighbours to the pool. Default 10. */
  poolNeighbours?: number;
  /** Random 1–3-step mutations per parent. Default 10. */
  poolMutations?: number;
  /** Uniform samples in the pool. Default 50. */
  poolRandom?: number;
  /**
   * Re-select the GP hyper-parameters after this many new results (1: every time; the whole grid is
   * scanned every 10 results, a hill climb on it in between). Default 1.
   */
  refitEvery?: number;
  /** UCB exploration weight β in mean + β·sd (in units of the transformed targets). Default 2. */
  ucbBeta?: number;
  /** Random samples tried per proposal before concluding the space is exhausted. Default 1000. */
  maxTries?: number;
}

const NUMERIC_OPTIONS = {
  initialSamples: [1, 1e6, 10],
  poolParents: [1, 1e6, 10],
  poolNeighbours: [0, 1e6, 10],
  poolMutations: [0, 1e6, 10],
  poolRandom: [0, 1e6, 50],
  refitEvery: [1, 1e6, 1],
  ucbBeta: [0, 100, 2],
  maxTries: [1, 1e7, 1000],
} satisfies Record<string, [number, number, number]>;
const INTEGER_OPTIONS = [
  'initialSamples',
  'poolParents',
  'poolNeighbours',
  'poolMutations',
  'poolRandom',
  'refitEvery',
  'maxTries',
] as const;

/** Length scales tried, as multiples of the mean distance between observed architectures. */
const LENGTH_SCALE_FACTORS = [0.25, 0.5, 1, 2, 4, 8, 16];
/** Noise variance as a fraction of the signal variance. */
const NOISE_RATIOS = [1e-3, 1e-2, 0.1, 0.3, 1];
/** Results between scans of the whole hyper-parameter grid (a hill climb on it otherwise). */
const FULL_GRID_EVERY = 10;
/**
 * The most observations the GP is fitted on (its cost grows with their cube): beyond it, the best
 * half by score and the most recent others. Runs of up to this many evaluations are unaffected.
 */
const MAX_FIT = 256;
/** Results at one number of epochs before a multi-fidelity fit uses only that fidelity. */
const FIDELITY_POINTS = 8;

interface Told<A> {
  arch: A;
  hash: string;
  score: number | null;
}

interface Entry<A> {
  arch: A;
  hash: string;
  code: Float64Array;
}

/** The selected grid point (indices into LENGTH_SCALE_FACTORS and NOISE_RATIOS). */
interface Hyper {
  lengthIndex: number;
  noiseIndex: number;
  /** Number of results told when these were last selected, and when by a scan of the whole grid. */
  fittedAt: number;
  gridAt: number;
}

interface State<A> {
  rng: number;
  seen: string[];
  observations: Told<A>[];
  /** Per observation, its objectives' gains under several objectives (null otherwise). */
  objectives: (number[] | null)[];
  /** Per observation, the epochs its score was measured at (null without a scheduler). */
  epochs: (number | null)[];
  pending: { arch: A; hash: string }[];
  proposed: number;
  hyper: Hyper | null;
}

/** ½‖a − b‖²: for one-hot encodings, the number of decisions in which two architectures differ. */
function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return 0.5 * s;
}

/** Scores standardised to mean 0 and variance 1. */
function standardTargets(raw: readonly number[]): Float64Array {
  const n = raw.length;
  let mean = 0;
  for (const v of raw) mean += v;
  mean /= n;
  let sd = 0;
  for (const v of raw) sd += (v - mean) ** 2;
  sd = Math.sqrt(sd / n) || 1;
  return Float64Array.from(raw, (v) => (v - mean) / sd);
}

/** A fitted surrogate over the successful (and imputed failed) observations. */
interface Model {
  codes: Float64Array[];
  gp: GpPosterior;
  lengthScale: number;
  /** Best standardised target. */
  best: number;
}

export class BayesianOptimization<A> implements Strategy<A> {
  readonly name = 'bo';
  private readonly rng: Rng;
  private readonly acquisition: Acquisition;
  private readonly kernel: KernelName;
  private readonly targets: TargetTransform;
  private readonly o: { [K in keyof typeof NUMERIC_OPTIONS]: number };
  private readonly seen = new Set<string>();
  private observations: Entry<A>[] = [];
  private scores: (number | null)[] = [];
  /** Gains of each observation under several objectives (ParEGO), null for a single one or a failure. */
  private gains: (number[] | null)[] = [];
  /** The epochs each score was measured at, under a multi-fidelity scheduler (undefined otherwise). */
  private epochs: (number | undefined)[] = [];
  private readonly observed = new Set<string>();
  /** Asked and not yet told, in the order asked. */
  private pending: Entry<A>[] = [];
  private proposed = 0;
  private hyper: Hyper | null = null;
  /** Cheap estimates (see `prior`): entries and their scores, used while the initial design lasts. */
  private priors: { e: Entry<A>; score: number }[] = [];

  constructor(
    private readonly context: StrategyContext<A>,
    options: BayesianOptimizationOptions = {},
  ) {
    checkStrategyContext(context);
    const o = checkStrategyOptions('bo', options, {
      acquisition: { choices: ACQUISITIONS, fallback: 'ei' },
      kernel: { choices: KERNEL_NAMES, fallback: 'exponential' },
      targets: { choices: TARGET_TRANSFORMS, fallback: 'rank' },
      ...NUMERIC_OPTIONS,
    });
    this.o = o;
    for (const k of INTEGER_OPTIONS) checkInteger(`bo.${k}`, this.o[k], NUMERIC_OPTIONS[k][0], NUMERIC_OPTIONS[k][1]);
    this.acquisition = o.acquisition as Acquisition;
    this.kernel = o.kernel as KernelName;
    this.targets = o.targets as TargetTransform;
    this.rng = createRng(context.seed);
  }

  private entry(arch: A, hash = this.context.space.hash(arch)): Entry<A> {
    return { arch, hash, code: Float64Array.from(this.context.space.encode(arch)) };
  }

  private isFresh(hash: string): boolean {
    return !this.seen.has(hash) && !this.context.isKnown?.(hash);
  }

  private randomUnseen(): Entry<A> | undefined {
    for (let tries = 0; tries < this.o.maxTries; tries++) {
      const a = this.context.space.sample(this.rng);
      const h = this.context.space.hash(a);
      if (this.isFresh(h)) return this.entry(a, h);
    }
    return undefined;
  }

  private tableFor = NaN;
  private readonly table = new Float64Array(65);
  /**
   * The kernel's correlation at distance `h`. One-hot distances are half-integers, so those up to 32
   * come from a table kept for the last length scale (the kernel's exp is the cost otherwise).
   */
  private correlationAt(h: number, lengthScale: number): number {
    if (this.tableFor !== lengthScale) {
      for (let t = 0; t < this.table.length; t++) this.table[t] = correlation(this.kernel, t / 2, lengthScale);
      this.tableFor = lengthScale;
    }
    const t = 2 * h;
    return t < this.table.length && t === Math.floor(t) ? this.table[t]! : correlation(this.kernel, h, lengthScale);
  }

  private okCount(): number {
    let c = 0;
    for (const s of this.scores) if (s !== null) c++;
    return c;
  }

  /**
   * Zero-cost estimates of unevaluated architectures: until `initialSamples` results are in, the GP
   * is fitted to them (as normal scores of their ranks) together with the results, the candidate
   * pool includes them, and proposals come from the acquisition function instead of uniform samples.
   */
  prior(estimates: readonly Observation<A>[]): void {
    const checked = checkObservations(estimates, this.context.space);
    const byHash = new Map<string, { e: Entry<A>; score: number }>();
    for (const o of checked) {
      if (o.score === null || !Number.isFinite(o.score) || byHash.has(o.hash)) continue;
      byHash.set(o.hash, { e: this.entry(o.arch, o.hash), score: o.score });
    }
    this.priors = [...byHash.values()];
  }

  /** The estimates the surrogate uses now: while the initial design lasts, those not evaluated. */
  private activePriors(): { e: Entry<A>; score: number }[] {
    if (this.priors.length < 2 || this.okCount() >= this.o.initialSamples) return [];
    return this.priors.filter((p) => !this.observed.has(p.e.hash));
  }

  ask(n: number): A[] {
    checkAskCount(n);
    const out: Entry<A>[] = [];
    const guided = this.activePriors().length >= 2;
    while (out.length < n && !guided && (this.proposed < this.o.initialSamples || this.okCount() < 2)) {
      const e = this.randomUnseen();
      if (!e) return out.map((x) => x.arch);
      this.accept(e, out);
    }
    if (out.length < n) this.propose(n - out.length, out);
    return out.map((e) => e.arch);
  }

  private accept(e: Entry<A>, out: Entry<A>[]): void {
    this.seen.add(e.hash);
    this.pending.push(e);
    this.proposed++;
    out.push(e);
  }

  /**
   * The observations the GP is fitted on: under a multi-fidelity scheduler, those at the most epochs
   * with at least FIDELITY_POINTS results (scores at different epochs do not compare); at most MAX_FIT.
   */
  private fitSet(): number[] {
    let use = this.observations.map((_, i) => i);
    if (this.epochs.some((e) => e !== undefined)) {
      const counts = new Map<number, number>();
      for (const e of this.epochs) counts.set(e ?? 0, (counts.get(e ?? 0) ?? 0) + 1);
      const level = Math.max(-1, ...[...counts].filter(([, c]) => c >= FIDELITY_POINTS).map(([e]) => e));
      if (level >= 0) use = use.filter((i) => (this.epochs[i] ?? 0) === level);
    }
    if (use.length <= MAX_FIT) return use;
    const byScore = [...use].sort((a, b) => (this.scores[b] ?? -Infinity) - (this.scores[a] ?? -Infinity) || a - b);
    const keep = new Set(byScore.slice(0, MAX_FIT / 2));
    for (let i = use.length - 1; i >= 0 && keep.size < MAX_FIT; i--) keep.add(use[i]!);
    return use.filter((i) => keep.has(i));
  }

  /** Fits the GP to the results so far (re-selecting hyper-parameters when due). */
  private fit(): Model {
    const subset = this.fitSet();
    // Hyper-parameters are re-selected by the number of results told, whatever the subset.
    const told = this.observations.length;
    const scores = this.parego(subset) ?? subset.map((i) => this.scores[i]!);
    let min = Infinity;
    for (const s of scores) if (s !== null && s < min) min = s;
    // A failed evaluation counts as the worst result so far, so the surrogate steers away from it.
    const raw = scores.map((s) => (min === Infinity ? 0 : s === null ? min : s));
    const real = this.targets === 'rank' ? rankTargets(raw) : standardTargets(raw);
    let best = -Infinity;
    for (const v of real) if (v > best) best = v;
    const codes = subset.map((i) => this.observations[i]!.code);
    // While the initial design lasts, the estimates join the fit as observations of their own ranks.
    const priors = this.activePriors();
    let y = real;
    if (priors.length > 0) {
      const py = rankTargets(priors.map((p) => p.score));
      y = new Float64Array(real.length + py.length);
      y.set(real);
      y.set(py, real.length);
      for (const p of priors) codes.push(p.e.code);
      if (real.length === 0) for (const v of py) if (v > best) best = v;
    }
    const n = codes.length;
    const h = new Float64Array(n * n);
    let meanH = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const d = distance(codes[i]!, codes[j]!);
        h[i * n + j] = d;
        h[j * n + i] = d;
        meanH += d;
      }
    }
    meanH = meanH > 0 ? meanH / ((n * (n - 1)) / 2) : 1;

    const c = new Float64Array(n * n);
    const fill = (lengthScale: number) => {
      for (let i = 0; i < n * n; i++) c[i] = this.correlationAt(h[i]!, lengthScale);
    };
    if (this.hyper === null || told - this.hyper.fittedAt >= this.o.refitEvery) {
      // Log marginal likelihood over the (length scale × noise ratio) grid: all of it now and then,
      // otherwise a hill climb from the last choice, which is where the optimum usually stays.
      const work = new Float64Array(n * n);
      const lls = new Map<number, number>();
      let filled = -1;
      const ll = (li: number, gi: number): number => {
        const key = li * NOISE_RATIOS.length + gi;
        let v = lls.get(key);
        if (v === undefined) {
          if (filled !== li) fill(LENGTH_SCALE_FACTORS[li]! * meanH);
          filled = li;
          v = fitGp(c, y, n, NOISE_RATIOS[gi]!, work)?.logLikelihood ?? -Infinity;
          lls.set(key, v);
        }
        return v;
      };
      let li = this.hyper?.lengthIndex ?? 0;
      let gi = this.hyper?.noiseIndex ?? 0;
      if (this.hyper === null || told - this.hyper.gridAt >= FULL_GRID_EVERY) {
        for (let a = 0; a < LENGTH_SCALE_FACTORS.length; a++) {
          for (let b = 0; b < NOISE_RATIOS.length; b++) {
            if (ll(a, b) > ll(li, gi)) [li, gi] = [a, b];
          }
        }
        this.hyper = { lengthIndex: li, noiseIndex: gi, fittedAt: told, gridAt: told };
      } else {
        for (let moved = true; moved; ) {
          moved = false;
          const [ci, cg] = [li, gi];
          for (let a = Math.max(0, ci - 1); a <= Math.min(LENGTH_SCALE_FACTORS.length - 1, ci + 1); a++) {
            for (let b = Math.max(0, cg - 1); b <= Math.min(NOISE_RATIOS.length - 1, cg + 1); b++) {
              if (ll(a, b) > ll(li, gi)) [li, gi, moved] = [a, b, true];
            }
          }
        }
        this.hyper = { ...this.hyper, lengthIndex: li, noiseIndex: gi, fittedAt: told };
      }
    }
    const lengthScale = LENGTH_SCALE_FACTORS[this.hyper.lengthIndex]! * meanH;
    fill(lengthScale);
    let gp: GpPosterior | undefined;
    // The grid's choice is positive definite by construction; more noise only guards rounding.
    for (let g = NOISE_RATIOS[this.hyper.noiseIndex]!; !gp; g *= 10) gp = fitGp(c, y, n, g);
    return { codes, gp, lengthScale, best };
  }

  /**
   * Under several objectives, ParEGO (Knowles, 2006): each fit scalarises the observations' gains,
   * min-max normalised, by the augmented Chebyshev function under weights drawn uniformly from the
   * simplex, so that successive proposals aim at different parts of the Pareto front. Undefined
   * under one objective.
   */
  private parego(subset: readonly number[]): (number | null)[] | undefined {
    if (!subset.some((i) => this.gains[i] !== null)) return undefined;
    const m = this.gains.find((g) => g !== null)!.length;
    const raw = Array.from({ length: m }, () => -Math.log(1 - this.rng.next()));
    const total = raw.reduce((a, b) => a + b, 0);
    const w = raw.map((x) => x / total);
    const ok = subset.filter((i) => this.gains[i] !== null);
    const normalised = normaliseGains(ok.map((i) => this.gains[i]!));
    const byIndex = new Map(ok.map((i, k) => [i, chebyshev(normalised[k]!, w)]));
    return subset.map((i) => byIndex.get(i) ?? null);
  }

  /** Candidates: neighbours and mutations of the best architectures, and uniform samples; all unseen. */
  private buildPool(): Entry<A>[] {
    const { space } = this.context;
    const pool: Entry<A>[] = [];
    const inPool = new Set<string>();
    const add = (a: A) => {
      const h = space.hash(a);
      if (inPool.has(h) || !this.isFresh(h)) return;
      inPool.add(h);
      pool.push(this.entry(a, h));
    };
    const ranked = this.observations
      .map((e, i) => ({ e, s: this.scores[i]! }))
      .filter((x) => x.s !== null)
      .sort((a, b) => b.s! - a.s!)
      .slice(0, this.o.poolParents);
    ranked.forEach((p, i) => {
      if (i < this.o.poolNeighbours) for (const a of space.neighbours(p.e.arch)) add(a);
    });
    for (const p of ranked) {
      for (let k = 0; k < this.o.poolMutations; k++) {
        let a = p.e.arch;
        const steps = 1 + this.rng.nextInt(3);
        for (let s = 0; s < steps; s++) a = space.mutate(a, this.rng);
        add(a);
      }
    }
    for (const p of this.activePriors()) add(p.e.arch);
    for (let k = 0; k < this.o.poolRandom; k++) add(space.sample(this.rng));
    return pool;
  }

  /**
   * Model-based picks: `m` candidates appended to `out`; when the pool has fewer unseen candidates
   * than that (a nearly exhausted space), uniform samples make up the rest.
   */
  private propose(m: number, out: Entry<A>[]): void {
    const wanted = out.length + m;
    const pool = this.buildPool();
    if (pool.length > 0) this.pickFromPool(m, pool, out);
    while (out.length < wanted) {
      const e = this.randomUnseen();
      if (!e) return;
      this.accept(e, out);
    }
  }

  /** Up to `m` candidates from `pool` by the acquisition function, appended to `out`. */
  private pickFromPool(m: number, pool: Entry<A>[], out: Entry<A>[]): void {
    const model = this.fit();
    const { gp, codes } = model;
    const n = gp.n;
    const fantasies = this.pending;
    const F = fantasies.length;
    const entries = [...fantasies, ...pool];
    const E = entries.length;
    const corr = (a: Float64Array, b: Float64Array) => this.correlationAt(distance(a, b), model.lengthScale);

    // Posterior of every entry: mean, v = L⁻¹k (for covariances) and variance, in standardised units
    // with the variance divided by the signal variance.
    const v = new Float64Array(E * n);
    const mean = new Float64Array(E);
    const variance = new Float64Array(E);
    const k = new Float64Array(n);
    for (let e = 0; e < E; e++) {
      const code = entries[e]!.code;
      for (let i = 0; i < n; i++) k[i] = corr(code, codes[i]!);
      const posterior = predict(gp, k, v.subarray(e * n, (e + 1) * n));
      mean[e] = posterior.mean;
      variance[e] = posterior.variance / gp.signalVariance;
    }

    // Sequential conditioning on fake observations (kriging believer). u[l] holds the l-th rank-one
    // downdate of the posterior covariance: cov(p, q) = c(p, q) − v_p·v_q − Σ_l u_l[p]·u_l[q].
    const downdates: Float64Array[] = [];
    let best = model.best;
    const covarianceWith = (j: number, w: Float64Array) => {
      const cj = entries[j]!.code;
      const oj = j * n;
      for (let p = 0; p < E; p++) {
        const op = p * n;
        let s = p === j ? 1 : corr(entries[p]!.code, cj);
        for (let i = 0; i < n; i++) s -= v[op + i]! * v[oj + i]!;
        for (const u of downdates) s -= u[p]! * u[j]!;
        w[p] = s;
      }
    };
    const condition = (j: number) => {
      const u = new Float64Array(E);
      covarianceWith(j, u);
      const scale = 1 / Math.sqrt(Math.max(u[j]!, 0) + gp.noiseRatio);
      for (let p = 0; p < E; p++) {
        u[p]! *= scale;
        variance[p] = Math.max(0, variance[p]! - u[p]! * u[p]!);
      }
      downdates.push(u);
      if (mean[j]! > best) best = mean[j]!;
    };
    for (let j = 0; j < F; j++) condition(j);

    const chosen = new Uint8Array(E);
    const sdOf = (p: number) => Math.sqrt(gp.signalVariance * variance[p]!);
    const picks = Math.min(m, E - F);
    if (this.acquisition === 'thompson') {
      const samples = this.thompsonSamples(picks, F, E, mean, variance, covarianceWith, gp.signalVariance);
      for (const f of samples) {
        let arg = -1;
        for (let p = F; p < E; p++) if (!chosen[p] && (arg < 0 || f[p - F]! > f[arg - F]!)) arg = p;
        chosen[arg] = 1;
        this.accept(entries[arg]!, out);
      }
      return;
    }
    for (let pick = 0; pick < picks; pick++) {
      let arg = -1;
      let bestValue = -Infinity;
      for (let p = F; p < E; p++) {
        if (chosen[p]) continue;
        const value =
          this.acquisition === 'ei' ? expectedImprovement(mean[p]!, sdOf(p), best) : mean[p]! + this.o.ucbBeta * sdOf(p);
        if (arg < 0 || value > bestValue) {
          arg = p;
          bestValue = value;
        }
      }
      chosen[arg] = 1;
      this.accept(entries[arg]!, out);
      if (pick + 1 < picks) condition(arg);
    }
  }

  /**
   * `count` joint posterior draws over the pool entries F..E−1 (conditioned on the fantasies). The
   * covariance is factorised once; when it is not numerically positive definite even with jitter,
   * draws fall back to independent marginals.
   */
  private thompsonSamples(
    count: number,
    F: number,
    E: number,
    mean: Float64Array,
    variance: Float64Array,
    covarianceWith: (j: number, w: Float64Array) => void,
    signalVariance: number,
  ): Float64Array[] {
    const P = E - F;
    const cov = new Float64Array(P * P);
    const w = new Float64Array(E);
    for (let q = 0; q < P; q++) {
      covarianceWith(F + q, w);
      for (let p = 0; p < P; p++) cov[p * P + q] = w[F + p]!;
    }
    let L: Float64Array | undefined;
    for (let jitter = 1e-8; !L && jitter <= 1e-2; jitter *= 10) {
      const a = Float64Array.from(cov);
      for (let p = 0; p < P; p++) a[p * P + p] = a[p * P + p]! + jitter;
      L = cholesky(a, P, a);
    }
    const sd = Math.sqrt(signalVariance);
    const out: Float64Array[] = [];
    for (let s = 0; s < count; s++) {
      const z = new Float64Array(P);
      for (let p = 0; p < P; p++) z[p] = this.gaussian();
      const f = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        let x = 0;
        if (L) for (let q = 0; q <= p; q++) x += L[p * P + q]! * z[q]!;
        else x = Math.sqrt(variance[F + p]!) * z[p]!;
        f[p] = mean[F + p]! + sd * x;
      }
      out.push(f);
    }
    return out;
  }

  /** A standard normal draw (Box–Muller, one of the pair). */
  private gaussian(): number {
    const u = 1 - this.rng.next();
    const v = this.rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  tell(results: readonly Observation<A>[]): void {
    for (const r of checkObservations(results, this.context.space)) {
      this.seen.add(r.hash);
      const i = this.pending.findIndex((e) => e.hash === r.hash);
      const e = i >= 0 ? this.pending.splice(i, 1)[0]! : undefined;
      const score = r.score === null || !Number.isFinite(r.score) ? null : r.score;
      if (this.observed.has(r.hash)) {
        // A promoted architecture's result at more epochs replaces its earlier one.
        const k = r.epochs === undefined ? -1 : this.observations.findIndex((o) => o.hash === r.hash);
        if (k >= 0 && (this.epochs[k] ?? 0) < r.epochs!) {
          this.scores[k] = score;
          this.gains[k] = score !== null && Array.isArray(r.objectives) && r.objectives.every(Number.isFinite) ? [...r.objectives] : null;
          this.epochs[k] = r.epochs;
        }
        continue;
      }
      this.observed.add(r.hash);
      this.observations.push(e ?? this.entry(r.arch, r.hash));
      this.scores.push(score);
      this.gains.push(score !== null && Array.isArray(r.objectives) && r.objectives.every(Number.isFinite) ? [...r.objectives] : null);
      this.epochs.push(r.epochs);
    }
  }

  stateDict(): unknown {
    const state: State<A> = {
      rng: this.rng.getState(),
      seen: [...this.seen],
      observations: this.observations.map((e, i) => ({ arch: e.arch, hash: e.hash, score: this.scores[i]! })),
      objectives: this.gains.map((g) => (g ? [...g] : null)),
      epochs: this.epochs.map((e) => e ?? null),
      pending: this.pending.map((e) => ({ arch: e.arch, hash: e.hash })),
      proposed: this.proposed,
      hyper: this.hyper,
    };
    return JSON.parse(JSON.stringify(state));
  }

  loadStateDict(state: unknown): void {
    const s = checkStateDict(
      'bo',
      state,
      {
        rng: 'uint32',
        seen: ['string'],
        observations: [{ arch: 'arch', hash: 'string', score: nullable('number') }],
        objectives: [nullable(['number'])],
        epochs: [nullable('count')],
        pending: [{ arch: 'arch', hash: 'string' }],
        proposed: 'count',
        hyper: nullable({ lengthIndex: 'count', noiseIndex: 'count', fittedAt: 'count', gridAt: 'count' }),
      },
      this.context.space,
    ) as State<A>;
    if (s.hyper) {
      checkInteger('state.hyper.lengthIndex', s.hyper.lengthIndex, 0, LENGTH_SCALE_FACTORS.length - 1);
      checkInteger('state.hyper.noiseIndex', s.hyper.noiseIndex, 0, NOISE_RATIOS.length - 1);
    }
    this.rng.setState(s.rng);
    this.seen.clear();
    for (const h of s.seen) this.seen.add(h);
    this.observations = s.observations.map((o) => this.entry(o.arch, o.hash));
    this.scores = s.observations.map((o) => o.score);
    if (s.objectives.length !== s.observations.length) {
      throw new RangeError(`Expected state.objectives to hold one entry per observation (${s.observations.length}) but received ${s.objectives.length}`);
    }
    this.gains = s.objectives.map((g) => (g ? [...g] : null));
    if (s.epochs.length !== s.observations.length) {
      throw new RangeError(`Expected state.epochs to hold one entry per observation (${s.observations.length}) but received ${s.epochs.length}`);
    }
    this.epochs = s.epochs.map((e) => e ?? undefined);
    this.observed.clear();
    for (const o of s.observations) this.observed.add(o.hash);
    this.pending = s.pending.map((p) => this.entry(p.arch, p.hash));
    this.proposed = s.proposed;
    this.hyper = s.hyper === null ? null : { ...s.hyper };
  }
}
