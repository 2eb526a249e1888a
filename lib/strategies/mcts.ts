/**
 * Monte Carlo tree search over the space's decision sequence. A node of the tree is a decision
 * prefix; a path from the root to a leaf is an architecture. After `initial` random proposals, each
 * proposal:
 *
 * 1. Selection: from the root, pick a child by UCT — Q + c·√(ln(N + 1) / (n + 1)) — or PUCT —
 *    Q + c·P·√(N + 1) / (n + 1) — among the children progressive widening allows (⌈w·(N + 1)^α⌉,
 *    the best by the surrogate first), skipping exhausted subtrees, until a child not yet in the tree
 *    is reached; it is added (expansion).
 * 2. Rollouts (`rollouts` per call, native when possible): at every node on the way, the surrogate's
 *    statistics of each child's subtree — its best and mean over random completions; at the new node,
 *    its best completions, of which the best not yet seen (by canonical hash) is proposed.
 * 3. Backpropagation, on tell: the score joins every tree node on the architecture's path. A
 *    transposition table keyed by the canonical hash keeps each architecture's score once, so
 *    equivalent architectures (NAS-Bench-201 has 15,625 cells but 6,466 classes) are neither proposed
 *    nor fitted twice.
 *
 * Q is the best surrogate value in the child's subtree (`value: "surrogate"`), or the mean observed
 * score in it (`value: "observed"`; the surrogate stands in for children not yet visited), on the
 * surrogate's scale (normal scores of ranks, see `fit`) rescaled so that the median observation is 0
 * and the best is 1, clipped at -1. Proposals in flight count as visits with the median's value
 * (virtual loss), so a batch from ask(n) spreads out.
 *
 * Surrogate: kernel ridge regression on the one-hot (slot, option) features with the kernel
 * m + γ·m(m−1)/2 (m: the features two architectures share) — a linear model plus pairwise
 * interactions — exported as weights for the rollouts.
 *
 * Rollouts run in the addon (native/core/mcts.cc) when it loads and the space is a DslSpace, else in
 * TypeScript (lib/strategies/mcts-rollout.ts); both give identical results, so a run's sequence
 * depends on its seed only. Spaces that are not DslSpaces have no exported structure and use the
 * generic TypeScript rollouts. The Strategy contract makes ask() synchronous, so the strategy calls
 * the addon's synchronous entry point (a call is a few milliseconds at the default 4096 rollouts);
 * `nativeRollouts` is the asynchronous one for callers that can await.
 *
 * @example const study = new Study({ space, strategy: 'mcts', evaluator, budget: { evaluations: 100 } });
 */
import { NasxError, rangeError } from '../errors.js';
import type { SearchSpace } from '../space/space.js';
import { createRng, type Rng } from '../util/rng.js';
import { normalQuantile, rankTargets } from './gp.js';
import {
  SpaceProbe,
  StructureWalker,
  decisionStructure,
  featureCount,
  genericRollouts,
  nativeRolloutsAvailable,
  nativeRolloutsSync,
  tsRollouts,
  type DecisionStructure,
  type RolloutStats,
  type RolloutSurrogate,
} from './mcts-rollout.js';
import { checkStrategyOptions, type OptionSpec } from './options.js';
import { checkAskCount, checkObservations, checkStrategyContext, type Observation, type Strategy, type StrategyContext } from './strategy.js';
import { checkStateDict, nullable, tuple } from './state-dict.js';

export interface MonteCarloTreeSearchOptions {
  /** Rollouts per call: per tree node whose children are scored, and per expanded node. Default 4096. */
  rollouts?: number;
  /** Exploration constant c of UCT / PUCT (values are on a scale where the median is 0 and the best 1). Default 0.25. */
  exploration?: number;
  /** "uct" (default) or "puct" (the prior: a softmax of the children's surrogate values). */
  selection?: 'uct' | 'puct';
  /** Temperature of the PUCT prior's softmax (on normalised values). Default 0.25. */
  priorTemperature?: number;
  /** Q of a child: "surrogate" (default) — its best surrogate value — or "observed" — its mean score. */
  value?: 'surrogate' | 'observed';
  /** Random proposals before the tree search starts. Default 10. */
  initial?: number;
  /** Progressive widening: ⌈widening · N^wideningExponent⌉ children are considered at a node of N visits. Defaults 2 and 0.5. */
  widening?: number;
  wideningExponent?: number;
  /** Ridge penalty, relative to the kernel's diagonal. Default 0.3. */
  ridge?: number;
  /** Weight γ of the pairwise terms in the surrogate; 0 for a linear surrogate. Default 0.3. */
  pairWeight?: number;
  /** Best completions kept per rollout call (candidates when the best is already known). Default 16. */
  topK?: number;
  /** Threads for native rollouts (0: all); results do not depend on it. Default 1. */
  threads?: number;
  /** Random tries for an unseen completion when every rollout candidate is known. Default 100. */
  maxTries?: number;
  /** "auto" (default: native when the addon loads), "native" or "typescript". Results are identical. */
  engine?: 'auto' | 'native' | 'typescript';
}

const NUMERIC = {
  rollouts: [16, 2 ** 30, 4096],
  exploration: [0, 1000, 0.25],
  priorTemperature: [1e-3, 1000, 0.25],
  initial: [1, 1e6, 10],
  widening: [0.1, 1e6, 2],
  wideningExponent: [0, 1, 0.5],
  ridge: [1e-9, 1e9, 0.3],
  pairWeight: [0, 1e3, 0.3],
  topK: [1, 1024, 16],
  threads: [0, 1024, 1],
  maxTries: [1, 1e6, 100],
} satisfies OptionSpec;
const CHOICES = {
  selection: ['uct', 'puct'],
  value: ['surrogate', 'observed'],
  engine: ['auto', 'native', 'typescript'],
} as const;

/** Pairwise terms are left out above this many features (the F×F weights grow quadratically). */
const MAX_PAIRWISE_FEATURES = 512;
/** Leaves of a subtree enumerated to find an unseen architecture when rollouts and random tries found none. */
const MAX_ENUMERATED = 20000;

interface TreeNode {
  /** Scores observed in this subtree (failures count as the worst score seen when they were told). */
  scores: number[];
  /** Proposals in flight through this node. */
  virtual: number;
  exhausted: boolean;
}

interface Told {
  hash: string;
  decisions: number[];
  score: number | null;
}

/** Kernel ridge regression with the kernel dot + γ·(dot² − Σ(xᵢyᵢ)²)/2, grown one observation at a time. */
class PairwiseRidge {
  readonly xs: Float64Array[] = [];
  /** Lower Cholesky factor of K + λI, row by row. */
  private readonly rows: Float64Array[] = [];
  private lambda = 0;

  constructor(
    private readonly width: number,
    private readonly gamma: number,
    private readonly ridge: number,
  ) {}

  private kernel(a: Float64Array, b: Float64Array): number {
    let dot = 0;
    let sq = 0;
    for (let i = 0; i < this.width; i++) {
      const z = a[i]! * b[i]!;
      dot += z;
      sq += z * z;
    }
    return dot + (this.gamma * (dot * dot - sq)) / 2;
  }

  add(x: Float64Array): void {
    const n = this.xs.length;
    if (n === 0) this.lambda = this.ridge * Math.max(this.kernel(x, x), 1e-12);
    const row = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      let v = this.kernel(x, this.xs[j]!);
      const lj = this.rows[j]!;
      for (let k = 0; k < j; k++) v -= row[k]! * lj[k]!;
      row[j] = v / lj[j]!;
    }
    let d = this.kernel(x, x) + this.lambda;
    for (let k = 0; k < n; k++) d -= row[k]! * row[k]!;
    row[n] = Math.sqrt(Math.max(d, this.lambda * 1e-6));
    this.rows.push(row);
    this.xs.push(x);
  }

  /**
   * The model fitted to `targets` (one per observation, in order) as rollout weights. The factor of
   * K + λI does not depend on the targets, so a refit is two triangular solves.
   */
  export(targets: readonly number[], pairwise: boolean): RolloutSurrogate {
    const n = this.xs.length;
    const F = this.width;
    const mean = targets.reduce((a, b) => a + b, 0) / n;
    // α = (LLᵀ)⁻¹ (y − ȳ): forward then back substitution.
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let v = targets[i]! - mean;
      const r = this.rows[i]!;
      for (let k = 0; k < i; k++) v -= r[k]! * z[k]!;
      z[i] = v / r[i]!;
    }
    const alpha = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let v = z[i]!;
      for (let k = i + 1; k < n; k++) v -= this.rows[k]![i]! * alpha[k]!;
      alpha[i] = v / this.rows[i]![i]!;
    }
    const linear = new Float64Array(F);
    const pair = pairwise && this.gamma > 0 ? new Float64Array(F * F) : undefined;
    const nz: number[] = [];
    for (let a = 0; a < n; a++) {
      const x = this.xs[a]!;
      const w = alpha[a]!;
      nz.length = 0;
      for (let i = 0; i < F; i++) if (x[i] !== 0) nz.push(i);
      for (const i of nz) linear[i] += w * x[i]!;
      if (pair) {
        const gw = this.gamma * w;
        for (let p = 0; p < nz.length; p++) {
          const i = nz[p]!;
          for (let q = p + 1; q < nz.length; q++) pair[i * F + nz[q]!] += gw * x[i]! * x[nz[q]!]!;
        }
      }
    }
    return pair ? { bias: mean, linear, pairwise: pair } : { bias: mean, linear };
  }
}

/** 32-bit FNV-1a, to derive each rollout call's seed from the strategy's seed, the fit and the node. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The space's decision structure, or undefined when it has none or one beyond the native limits. */
function exportableStructure(space: SearchSpace<unknown>): DecisionStructure | undefined {
  try {
    return decisionStructure(space);
  } catch (err) {
    if (err instanceof NasxError && err.code === 'ERR_NASX_INVALID_ARGUMENT') return undefined;
    throw err;
  }
}

const keyOf = (prefix: readonly number[]): string => prefix.join(',');
const childKey = (key: string, j: number): string => (key === '' ? String(j) : `${key},${j}`);

export class MonteCarloTreeSearch<A> implements Strategy<A> {
  readonly name = 'mcts';
  private readonly rng: Rng;
  private readonly o: { [K in keyof typeof NUMERIC]: number };
  private readonly selection: 'uct' | 'puct';
  private readonly valueSource: 'surrogate' | 'observed';
  private readonly structure: DecisionStructure | undefined;
  private readonly walker: StructureWalker | undefined;
  private readonly useNative: boolean;
  /** optionsAt and encodings of a space without an exported structure, cached. */
  private readonly probe: SpaceProbe<A>;
  private readonly width: number;

  /** Every architecture proposed or told, by canonical hash. */
  private readonly seen = new Set<string>();
  /** The transposition table: told architectures (first tell of each hash), in tell order. */
  private readonly records: Told[] = [];
  private readonly byHash = new Map<string, Told>();
  /** Proposals not yet told: their hash → the tree nodes that carry their virtual loss. */
  private readonly pending = new Map<string, string[]>();
  private readonly tree = new Map<string, TreeNode>();
  private proposed = 0;

  private model: PairwiseRidge;
  private modelSize = 0;
  private surrogate: RolloutSurrogate | undefined;
  private readonly rolloutCache = new Map<string, RolloutStats>();
  /** Cheap estimates (see `prior`) as decisions and normal scores of their ranks. */
  private priors: { decisions: number[]; z: number }[] = [];
  /** Estimates at the front of the current model (-1: none fitted yet). */
  private modelPriors = 0;
  private readonly optionsCache = new Map<string, number>();
  /** Each observed score's normal score (see `fit`). */
  private readonly normalScores = new Map<number, number>();
  /** Normalisation of values (normal scores): the median's and the best observed score's. */
  private lo = 0;
  private hi = 1;

  constructor(
    private readonly context: StrategyContext<A>,
    options: MonteCarloTreeSearchOptions = {},
  ) {
    checkStrategyContext(context);
    const checked = checkStrategyOptions('mcts', options, {
      ...NUMERIC,
      selection: { choices: CHOICES.selection, fallback: 'uct' },
      value: { choices: CHOICES.value, fallback: 'surrogate' },
      engine: { choices: CHOICES.engine, fallback: 'auto' },
    });
    this.o = checked;
    this.selection = checked.selection as (typeof CHOICES.selection)[number];
    this.valueSource = checked.value as (typeof CHOICES.value)[number];
    const engine = checked.engine as (typeof CHOICES.engine)[number];
    this.rng = createRng(context.seed);
    const space = context.space as SearchSpace<unknown>;
    this.structure = exportableStructure(space);
    this.walker = this.structure && new StructureWalker(this.structure);
    this.width = this.structure ? featureCount(this.structure) : space.encodingLength;
    if (engine === 'native' && !this.structure) {
      throw new RangeError(`Expected mcts.engine "auto" or "typescript" for space "${space.name}" (native rollouts need a DslSpace) but received "native" of type string`);
    }
    // Loading the addon when it was asked for fails loudly (ERR_NASX_NATIVE_LOAD); "auto" falls back.
    this.useNative = this.structure !== undefined && (engine === 'native' || (engine === 'auto' && nativeRolloutsAvailable()));
    this.probe = new SpaceProbe(context.space);
    this.model = this.newModel();
  }

  private newModel(): PairwiseRidge {
    const gamma = this.width <= MAX_PAIRWISE_FEATURES ? this.o.pairWeight : 0;
    return new PairwiseRidge(this.width, gamma, this.o.ridge);
  }

  // -------------------------------------------------------------------------------------------
  // Space helpers.

  private hashOf(decisions: readonly number[]): string {
    const space = this.context.space;
    return space.hash(space.fromDecisions(decisions));
  }

  private known(hash: string): boolean {
    return this.seen.has(hash) || this.context.isKnown?.(hash) === true;
  }

  private optionsAt(prefix: readonly number[], key: string): number {
    let k = this.optionsCache.get(key);
    if (k === undefined) {
      k = this.walker ? this.walker.optionsAfter(prefix) : this.probe.node(prefix).options;
      this.optionsCache.set(key, k);
    }
    return k;
  }

  private features(decisions: readonly number[]): Float64Array {
    const x = new Float64Array(this.width);
    if (this.walker) for (const f of this.walker.featuresOf(decisions)) x[f] = 1;
    else x.set(this.context.space.encode(this.context.space.fromDecisions(decisions)));
    return x;
  }

  // -------------------------------------------------------------------------------------------
  // Surrogate and rollouts.

  /**
   * Refits when observations arrived since the last fit, and clears the rollout cache then. The
   * targets are normal scores of the ranks (a Gaussian copula): tabular benchmarks have a tail of
   * broken architectures (NAS-Bench-201: ~10% accuracy) that would dominate a least-squares fit of
   * raw scores, and only the order of architectures matters to the search.
   */
  private fit(): void {
    const ok = this.records.filter((r) => r.score !== null);
    // While the initial design lasts, the cheap estimates (see `prior`) come first in the model.
    const priorCount = this.guided(ok.length) ? this.priors.length : 0;
    if (priorCount !== this.modelPriors) {
      this.model = this.newModel();
      this.modelSize = 0;
      this.surrogate = undefined;
      this.modelPriors = priorCount;
      for (let i = 0; i < priorCount; i++) this.model.add(this.features(this.priors[i]!.decisions));
    }
    if (ok.length === this.modelSize && this.surrogate) return;
    for (let i = this.modelSize; i < ok.length; i++) this.model.add(this.features(ok[i]!.decisions));
    this.modelSize = ok.length;
    const sorted = ok.map((r) => r.score!).sort((a, b) => a - b);
    // Normal scores of the ranks; tied scores share their mean rank.
    this.normalScores.clear();
    for (let i = 0; i < sorted.length; ) {
      let j = i;
      while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
      this.normalScores.set(sorted[i]!, normalQuantile(((i + j) / 2 + 0.5) / sorted.length));
      i = j + 1;
    }
    const targets = [...this.priors.slice(0, priorCount).map((p) => p.z), ...ok.map((r) => this.z(r.score!))];
    this.surrogate = this.model.export(targets, true);
    this.rolloutCache.clear();
    const values = [...targets].sort((a, b) => a - b);
    this.lo = values[Math.floor((values.length - 1) / 2)]!;
    this.hi = values[values.length - 1]!;
    if (!(this.hi > this.lo)) this.hi = this.lo + 1;
  }

  /** Whether proposals follow the surrogate fitted to the cheap estimates (`ok` results so far). */
  private guided(ok: number): boolean {
    return this.priors.length >= 2 && ok < this.o.initial;
  }

  /**
   * Zero-cost estimates of unevaluated architectures: until `initial` results are in, the surrogate
   * (and so the rollouts' leaf values) is fitted to them, as normal scores of their ranks, together
   * with the results, and proposals come from the tree search instead of uniform samples.
   */
  prior(estimates: readonly Observation<A>[]): void {
    const seen = new Set<string>();
    const kept: { decisions: number[]; score: number }[] = [];
    for (const o of checkObservations(estimates, this.context.space)) {
      if (o.score === null || !Number.isFinite(o.score) || seen.has(o.hash)) continue;
      seen.add(o.hash);
      kept.push({ decisions: this.context.space.decisions(o.arch), score: o.score });
    }
    const z = rankTargets(kept.map((p) => p.score));
    this.priors = kept.map((p, i) => ({ decisions: p.decisions, z: z[i]! }));
    this.modelPriors = -1;
  }

  /** The normal score of an observed score (see `fit`). */
  private z(score: number): number {
    return this.normalScores.get(score)!;
  }

  /** Rollouts from `prefix` under the current surrogate (cached until the next fit). */
  private rollouts(prefix: readonly number[], key: string): RolloutStats {
    let r = this.rolloutCache.get(key);
    if (r) return r;
    const options = {
      rollouts: this.o.rollouts,
      seed: fnv1a(`${this.context.seed}:${this.modelSize}:${key}`),
      topK: this.o.topK,
      threads: this.o.threads,
    };
    const surrogate = this.surrogate!;
    if (!this.structure) r = genericRollouts(this.context.space, surrogate, [prefix], options, this.probe)[0]!;
    else if (this.useNative) r = nativeRolloutsSync(this.structure, surrogate, [prefix], options)[0]!;
    else r = tsRollouts(this.structure, surrogate, [prefix], options)[0]!;
    this.rolloutCache.set(key, r);
    return r;
  }

  /** A value on the scale where the median observed score is 0 and the best is 1 (at least -1). */
  private norm(v: number): number {
    return Math.max(-1, (v - this.lo) / (this.hi - this.lo));
  }

  // -------------------------------------------------------------------------------------------
  // The tree.

  private node(key: string): TreeNode {
    let n = this.tree.get(key);
    if (!n) {
      n = { scores: [], virtual: 0, exhausted: false };
      this.tree.set(key, n);
    }
    return n;
  }

  private visits(n: TreeNode | undefined): number {
    return n ? n.scores.length + n.virtual : 0;
  }

  /** Marks a node exhausted and, while all of a parent's children are, the parent too. */
  private exhaust(prefix: number[]): void {
    const p = [...prefix];
    for (;;) {
      this.node(keyOf(p)).exhausted = true;
      if (p.length === 0) return;
      p.pop();
      const key = keyOf(p);
      const k = this.optionsAt(p, key);
      for (let j = 0; j < k; j++) if (!this.tree.get(childKey(key, j))?.exhausted) return;
    }
  }

  /** The child to descend to from `prefix`, or -1 when every child is exhausted. */
  private select(prefix: readonly number[], key: string): number {
    const k = this.optionsAt(prefix, key);
    const stats = this.rollouts(prefix, key);
    const parentVisits = this.visits(this.tree.get(key));
    const open: number[] = [];
    for (let j = 0; j < k; j++) if (!this.tree.get(childKey(key, j))?.exhausted) open.push(j);
    if (open.length === 0) return -1;
    // Progressive widening: children in the tree, then the best unexpanded by the surrogate.
    const limit = Math.min(open.length, Math.max(1, Math.ceil(this.o.widening * Math.pow(parentVisits + 1, this.o.wideningExponent))));
    const inTree = open.filter((j) => this.tree.has(childKey(key, j)));
    const fresh = open.filter((j) => !this.tree.has(childKey(key, j))).sort((a, b) => stats.max[b]! - stats.max[a]! || a - b);
    const allowed = [...inTree, ...fresh.slice(0, Math.max(0, limit - inTree.length))];
    // A child's surrogate value: the best value its rollouts reached (an optimistic estimate of what
    // its subtree holds; bounding it by the best completions not yet seen searched worse on NB201).
    const surrogate = stats.max;
    const prior = this.selection === 'puct' ? this.puctPrior(surrogate, allowed) : undefined;
    let best = -1;
    let bestScore = -Infinity;
    allowed.forEach((j, i) => {
      const child = this.tree.get(childKey(key, j));
      const n = this.visits(child);
      const q = this.value(child, surrogate[j]!);
      const u =
        this.selection === 'uct'
          ? this.o.exploration * Math.sqrt(Math.log(parentVisits + 1) / (n + 1))
          : (this.o.exploration * prior![i]! * Math.sqrt(parentVisits + 1)) / (n + 1);
      const score = q + u;
      if (score > bestScore || (score === bestScore && j < best)) {
        bestScore = score;
        best = j;
      }
    });
    return best;
  }

  private puctPrior(surrogate: Float64Array, allowed: number[]): number[] {
    const v = allowed.map((j) => this.norm(surrogate[j]!) / this.o.priorTemperature);
    const m = Math.max(...v);
    const e = v.map((x) => Math.exp(x - m));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / total);
  }

  private value(child: TreeNode | undefined, surrogate: number): number {
    if (this.valueSource === 'observed' && child && child.scores.length + child.virtual > 0) {
      let s = 0;
      for (const x of child.scores) s += this.norm(this.z(x));
      // Virtual visits count as the median (0).
      return s / (child.scores.length + child.virtual);
    }
    return this.norm(surrogate);
  }

  /** The best unseen completion of `prefix`: rollout candidates, then random tries, then enumeration. */
  private complete(prefix: number[], key: string): { decisions: number[]; hash: string } | undefined {
    const stats = this.rollouts(prefix, key);
    for (const b of stats.best) {
      const hash = this.hashOf(b.decisions);
      if (!this.known(hash)) return { decisions: b.decisions, hash };
    }
    for (let t = 0; t < this.o.maxTries; t++) {
      const seq = [...prefix];
      for (let k = this.optionsAt(seq, keyOf(seq)); k > 0; k = this.optionsAt(seq, keyOf(seq))) seq.push(this.rng.nextInt(k));
      const hash = this.hashOf(seq);
      if (!this.known(hash)) return { decisions: seq, hash };
    }
    // Depth-first over the subtree, up to a bound; beyond it the subtree is taken to be exhausted.
    let budget = MAX_ENUMERATED;
    const walk = (seq: number[]): { decisions: number[]; hash: string } | undefined => {
      const k = this.walker ? this.walker.optionsAfter(seq) : this.probe.node(seq).options;
      if (k === 0) {
        budget--;
        const hash = this.hashOf(seq);
        return this.known(hash) ? undefined : { decisions: [...seq], hash };
      }
      for (let j = 0; j < k && budget > 0; j++) {
        seq.push(j);
        const found = walk(seq);
        seq.pop();
        if (found) return found;
      }
      return undefined;
    };
    return walk([...prefix]);
  }

  /** One proposal by the tree search, or undefined when the space is exhausted. */
  private search(): { decisions: number[]; hash: string; path: string[] } | undefined {
    this.fit();
    this.node('');
    while (!this.tree.get('')!.exhausted) {
      const prefix: number[] = [];
      const path: string[] = [''];
      let blocked = false; // every child of the last node is exhausted
      for (;;) {
        const key = keyOf(prefix);
        if (this.optionsAt(prefix, key) === 0) break;
        const j = this.select(prefix, key);
        if (j < 0) {
          blocked = true;
          break;
        }
        prefix.push(j);
        const ck = keyOf(prefix);
        path.push(ck);
        if (!this.tree.has(ck)) {
          this.node(ck);
          break;
        }
      }
      const key = keyOf(prefix);
      if (this.optionsAt(prefix, key) === 0) {
        // A complete architecture: proposed once, then its node is exhausted.
        const hash = this.hashOf(prefix);
        this.exhaust(prefix);
        if (!this.known(hash)) return { decisions: [...prefix], hash, path };
        continue;
      }
      const found = blocked ? undefined : this.complete(prefix, key);
      if (found) return { ...found, path };
      this.exhaust(prefix);
    }
    return undefined;
  }

  private randomProposal(): { decisions: number[]; hash: string } | undefined {
    const space = this.context.space;
    for (let t = 0; t < this.o.maxTries * 10; t++) {
      const decisions = space.decisions(space.sample(this.rng));
      const hash = this.hashOf(decisions);
      if (!this.known(hash)) return { decisions, hash };
    }
    return undefined;
  }

  /** The tree nodes on a sequence's path (root first). */
  private nodesOn(decisions: readonly number[]): string[] {
    const keys = [''];
    for (let d = 1; d <= decisions.length; d++) {
      const key = keyOf(decisions.slice(0, d));
      if (!this.tree.has(key)) break;
      keys.push(key);
    }
    return keys;
  }

  ask(n: number): A[] {
    checkAskCount(n);
    const out: A[] = [];
    for (let i = 0; i < n; i++) {
      const told = this.records.filter((r) => r.score !== null).length;
      let p: { decisions: number[]; hash: string; path?: string[] } | undefined;
      const random = !this.guided(told) && (this.proposed < this.o.initial || told === 0);
      if (random) p = this.randomProposal();
      else p = this.search();
      if (!p) p = random ? undefined : this.randomProposal();
      if (!p) break;
      this.node('');
      const path = p.path ?? this.nodesOn(p.decisions);
      for (const key of path) this.node(key).virtual++;
      this.pending.set(p.hash, path);
      this.seen.add(p.hash);
      this.proposed++;
      out.push(this.context.space.fromDecisions(p.decisions));
    }
    return out;
  }

  tell(results: readonly Observation<A>[]): void {
    for (const r of checkObservations(results, this.context.space)) {
      const path = this.pending.get(r.hash);
      if (path) {
        for (const key of path) this.tree.get(key)!.virtual--;
        this.pending.delete(r.hash);
      }
      this.seen.add(r.hash);
      if (this.byHash.has(r.hash)) continue;
      const score = r.score === null || !Number.isFinite(r.score) ? null : r.score;
      const record: Told = { hash: r.hash, decisions: this.context.space.decisions(r.arch), score };
      this.records.push(record);
      this.byHash.set(r.hash, record);
      this.backpropagate(record);
    }
  }

  private backpropagate(record: Told): void {
    let value = record.score;
    if (value === null) {
      let worst = Infinity;
      for (const r of this.records) if (r.score !== null && r.score < worst) worst = r.score;
      if (worst === Infinity) return;
      value = worst;
    }
    this.node('');
    for (const key of this.nodesOn(record.decisions)) this.tree.get(key)!.scores.push(value);
  }

  stateDict(): unknown {
    return {
      rng: this.rng.getState(),
      proposed: this.proposed,
      seen: [...this.seen],
      records: this.records.map((r) => ({ ...r, decisions: [...r.decisions] })),
      pending: [...this.pending].map(([hash, path]) => [hash, [...path]]),
      tree: [...this.tree].map(([key, n]) => [key, [...n.scores], n.virtual, n.exhausted]),
    };
  }

  loadStateDict(state: unknown): void {
    const s = checkStateDict(
      'mcts',
      state,
      {
        rng: 'uint32',
        proposed: 'count',
        seen: ['string'],
        records: [{ hash: 'string', decisions: 'decisions', score: nullable('number') }],
        pending: [tuple('string', ['string'])],
        tree: [tuple('string', ['number'], 'count', 'boolean')],
      },
      this.context.space,
    ) as {
      rng: number;
      proposed: number;
      seen: string[];
      records: Told[];
      pending: [string, string[]][];
      tree: [string, number[], number, boolean][];
    };
    // A proposal in flight carries virtual loss on tree nodes, which must be there when it is told.
    const keys = new Set(s.tree.map(([key]) => key));
    s.pending.forEach(([, path], i) => {
      const j = path.findIndex((key) => !keys.has(key));
      if (j >= 0) throw rangeError(`state.pending[${i}][1][${j}]`, 'a key of state.tree', path[j]);
    });
    this.rng.setState(s.rng);
    this.proposed = s.proposed;
    this.seen.clear();
    for (const h of s.seen) this.seen.add(h);
    this.records.length = 0;
    this.byHash.clear();
    for (const r of s.records) {
      const record = { hash: r.hash, decisions: [...r.decisions], score: r.score };
      this.records.push(record);
      this.byHash.set(r.hash, record);
    }
    this.pending.clear();
    for (const [hash, path] of s.pending) this.pending.set(hash, [...path]);
    this.tree.clear();
    for (const [key, scores, virtual, exhausted] of s.tree) this.tree.set(key, { scores: [...scores], virtual, exhausted });
    // The surrogate is rebuilt from the records in the same order, so it is the same model.
    this.model = this.newModel();
    this.modelSize = 0;
    this.modelPriors = -1;
    this.surrogate = undefined;
    this.rolloutCache.clear();
  }
}
