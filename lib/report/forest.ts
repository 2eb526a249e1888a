/**
 * A seeded random-forest regressor over categorical features, the surrogate that `explain` takes
 * the functional ANOVA of (lib/report/fanova.ts).
 *
 * Every feature is an integer category `0..k-1` (k its cardinality; a decision that an architecture
 * lacks is one more category, "absent", which the caller adds). Each tree is grown on a bootstrap
 * sample of the rows (or on all of them) by greedy binary splits that minimise the squared error:
 *
 * - **Splits on category subsets.** At a node, the categories of a feature present in its samples
 *   are sorted by their mean target; for squared error the best binary partition of the categories
 *   is one of the prefixes of that order (Fisher 1958; Breiman et al. 1984, §9.4), so the exact best
 *   subset split costs a sort rather than 2^(k-1) trials. A split is stored as a membership mask over
 *   all k categories: categories no sample at the node has go to the side with more samples, so that
 *   every tree predicts everywhere in the product space (what the fANOVA integrates over).
 * - **Max features.** Each node draws `maxFeatures` features at random and keeps the best split among
 *   them; when none of them can split the node, it goes on through the remaining features in the
 *   drawn order until one can (as scikit-learn does), so a node is a leaf only when nothing splits it.
 * - **Stopping.** A node is a leaf when its targets are all equal, it has fewer than
 *   `minSamplesSplit` samples, it is at `maxDepth`, or no split leaves `minSamplesLeaf` samples on
 *   each side and lowers the squared error.
 *
 * Everything random comes from one `createRng(seed)`, consumed tree after tree: the same data,
 * options and seed give the same forest.
 *
 * @example
 * const forest = RandomForest.fit(rows, scores, [5, 5, 5, 5, 5, 5], { trees: 64, seed: 0 });
 * forest.predict([3, 1, 0, 3, 3, 2]);
 */
import { checkInteger, rangeError, typeError } from '../errors.js';
import { createRng, type Rng } from '../util/rng.js';

export interface ForestOptions {
  /** Number of trees. Default 64. */
  trees?: number;
  /** Features drawn per node (at most the number of features). Default: all of them. */
  maxFeatures?: number;
  /** Fewest samples a leaf may hold. Default 1. */
  minSamplesLeaf?: number;
  /** Fewest samples a node needs to be split. Default 2. */
  minSamplesSplit?: number;
  /** Deepest a tree may grow (the root is depth 0). Default 64. */
  maxDepth?: number;
  /** Grow each tree on a bootstrap sample (n rows drawn with replacement); false: on every row. Default true. */
  bootstrap?: boolean;
  /** Seeds the bootstrap samples and the features drawn. Default 0. */
  seed?: number;
}

/** A leaf of a tree as a box of the product space: its prediction and, per feature, the categories it covers. */
export interface LeafBox {
  value: number;
  /** Per feature: the categories of the box, ascending; null when it covers every category. */
  sets: (readonly number[] | null)[];
}

/** One fitted tree, its nodes in flat arrays (node 0 is the root). */
export class CategoricalTree {
  /** Per node: the feature split on, or -1 for a leaf. */
  readonly feature: Int32Array;
  /** Per split node: its children. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Per node: the mean target of its training samples (a leaf's prediction). */
  readonly value: Float64Array;
  /** Per node: the number of training samples (bootstrap repeats counted). */
  readonly samples: Int32Array;
  /** Per split node: 1 for the categories that go left, 0 for those that go right. */
  readonly goesLeft: readonly (Uint8Array | null)[];
  readonly cardinalities: readonly number[];

  constructor(nodes: readonly TreeNode[], cardinalities: readonly number[]) {
    this.feature = Int32Array.from(nodes, (node) => node.feature);
    this.left = Int32Array.from(nodes, (node) => node.left);
    this.right = Int32Array.from(nodes, (node) => node.right);
    this.value = Float64Array.from(nodes, (node) => node.value);
    this.samples = Int32Array.from(nodes, (node) => node.samples);
    this.goesLeft = nodes.map((node) => node.goesLeft);
    this.cardinalities = cardinalities;
  }

  get nodeCount(): number {
    return this.feature.length;
  }

  /** The prediction for one row of categories. */
  predict(row: readonly number[]): number {
    let node = 0;
    while (this.feature[node]! >= 0) {
      node = this.goesLeft[node]![row[this.feature[node]!]!] ? this.left[node]! : this.right[node]!;
    }
    return this.value[node]!;
  }

  /** The leaves as boxes of the product space; together they partition it. */
  leaves(): LeafBox[] {
    const d = this.cardinalities.length;
    const out: LeafBox[] = [];
    // Per feature, the box's membership mask on the way down (null: every category).
    const masks: (Uint8Array | null)[] = new Array<Uint8Array | null>(d).fill(null);
    const walk = (node: number): void => {
      const f = this.feature[node]!;
      if (f < 0) {
        out.push({
          value: this.value[node]!,
          sets: masks.map((m) => {
            if (m === null) return null;
            const set: number[] = [];
            for (let c = 0; c < m.length; c++) if (m[c]) set.push(c);
            return set;
          }),
        });
        return;
      }
      const k = this.cardinalities[f]!;
      const before = masks[f]!;
      const split = this.goesLeft[node]!;
      for (const side of [1, 0]) {
        const mask = new Uint8Array(k);
        for (let c = 0; c < k; c++) mask[c] = (before === null || before[c]) && split[c] === side ? 1 : 0;
        masks[f] = mask;
        walk(side === 1 ? this.left[node]! : this.right[node]!);
      }
      masks[f] = before;
    };
    walk(0);
    return out;
  }
}

/** A node as the tree grower makes it (see `CategoricalTree` for the fields). */
export interface TreeNode {
  feature: number;
  left: number;
  right: number;
  value: number;
  samples: number;
  goesLeft: Uint8Array | null;
}

interface ResolvedOptions {
  trees: number;
  maxFeatures: number;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  maxDepth: number;
  bootstrap: boolean;
  seed: number;
}

const OPTION_NAMES = ['trees', 'maxFeatures', 'minSamplesLeaf', 'minSamplesSplit', 'maxDepth', 'bootstrap', 'seed'];

function resolveOptions(options: ForestOptions, features: number): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw typeError('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new RangeError(`Unknown option "${key}" for options; known options are ${OPTION_NAMES.join(', ')}`);
  }
  const bootstrap = options.bootstrap ?? true;
  if (typeof bootstrap !== 'boolean') throw typeError('options.bootstrap', 'a boolean', bootstrap);
  return {
    trees: checkInteger('options.trees', options.trees ?? 64, 1, 100000),
    maxFeatures: checkInteger('options.maxFeatures', options.maxFeatures ?? features, 1, Math.max(1, features)),
    minSamplesLeaf: checkInteger('options.minSamplesLeaf', options.minSamplesLeaf ?? 1, 1),
    minSamplesSplit: checkInteger('options.minSamplesSplit', options.minSamplesSplit ?? 2, 2),
    maxDepth: checkInteger('options.maxDepth', options.maxDepth ?? 64, 0, 1000),
    bootstrap,
    seed: checkInteger('options.seed', options.seed ?? 0, 0),
  };
}

/** Training data by column, for the splitter. */
interface Columns {
  x: Int32Array[];
  y: Float64Array;
  cardinalities: readonly number[];
}

/** The best split of a node's samples on one feature, or undefined when it cannot be split there. */
interface Split {
  gain: number;
  goesLeft: Uint8Array;
}

function bestSplitOn(data: Columns, f: number, idx: Int32Array, minLeaf: number, sum: Float64Array, count: Int32Array): Split | undefined {
  const k = data.cardinalities[f]!;
  const col = data.x[f]!;
  sum.fill(0, 0, k);
  count.fill(0, 0, k);
  let total = 0;
  for (let i = 0; i < idx.length; i++) {
    const c = col[idx[i]!]!;
    sum[c]! += data.y[idx[i]!]!;
    count[c]!++;
    total += data.y[idx[i]!]!;
  }
  const present: number[] = [];
  for (let c = 0; c < k; c++) if (count[c]! > 0) present.push(c);
  if (present.length < 2) return undefined;
  // Ties in the mean keep category order, so the split does not depend on the sort's stability.
  present.sort((a, b) => sum[a]! / count[a]! - sum[b]! / count[b]! || a - b);
  const n = idx.length;
  const base = (total * total) / n;
  let best = 0;
  let bestCut = -1;
  let sumLeft = 0;
  let nLeft = 0;
  for (let t = 0; t < present.length - 1; t++) {
    const c = present[t]!;
    sumLeft += sum[c]!;
    nLeft += count[c]!;
    const nRight = n - nLeft;
    if (nLeft < minLeaf || nRight < minLeaf) continue;
    const sumRight = total - sumLeft;
    const gain = (sumLeft * sumLeft) / nLeft + (sumRight * sumRight) / nRight - base;
    if (gain > best) {
      best = gain;
      bestCut = t;
    }
  }
  if (bestCut < 0) return undefined;
  const goesLeft = new Uint8Array(k);
  let leftSamples = 0;
  for (let t = 0; t <= bestCut; t++) {
    goesLeft[present[t]!] = 1;
    leftSamples += count[present[t]!]!;
  }
  // Categories without samples here follow the majority, so every category has a side.
  if (leftSamples * 2 >= n) for (let c = 0; c < k; c++) if (count[c] === 0) goesLeft[c] = 1;
  return { gain: best, goesLeft };
}

function growTree(data: Columns, rows: Int32Array, o: ResolvedOptions, rng: Rng): CategoricalTree {
  const d = data.cardinalities.length;
  const kMax = Math.max(1, ...data.cardinalities);
  const sum = new Float64Array(kMax);
  const count = new Int32Array(kMax);
  const order = Int32Array.from({ length: d }, (_, i) => i);
  const nodes: TreeNode[] = [];

  const grow = (idx: Int32Array, depth: number): number => {
    const id = nodes.length;
    let s = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < idx.length; i++) {
      const y = data.y[idx[i]!]!;
      s += y;
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
    const node: TreeNode = { feature: -1, left: -1, right: -1, value: s / idx.length, samples: idx.length, goesLeft: null };
    nodes.push(node);
    if (lo === hi || idx.length < o.minSamplesSplit || depth >= o.maxDepth || d === 0) return id;

    // A partial Fisher–Yates shuffle draws the features in a random order.
    let best: Split | undefined;
    let bestFeature = -1;
    for (let t = 0; t < d; t++) {
      if (t >= o.maxFeatures && best) break;
      const j = t + rng.nextInt(d - t);
      const tmp = order[t]!;
      order[t] = order[j]!;
      order[j] = tmp;
      const f = order[t]!;
      const split = bestSplitOn(data, f, idx, o.minSamplesLeaf, sum, count);
      if (split && (!best || split.gain > best.gain)) {
        best = split;
        bestFeature = f;
      }
    }
    // A gain lost in rounding is no split.
    if (!best) return id;
    const mean = s / idx.length;
    let sse = 0;
    for (let i = 0; i < idx.length; i++) sse += (data.y[idx[i]!]! - mean) ** 2;
    if (best.gain <= 1e-12 * sse) return id;

    const col = data.x[bestFeature]!;
    let nLeft = 0;
    for (let i = 0; i < idx.length; i++) if (best.goesLeft[col[idx[i]!]!]) nLeft++;
    const leftIdx = new Int32Array(nLeft);
    const rightIdx = new Int32Array(idx.length - nLeft);
    let a = 0;
    let b = 0;
    for (let i = 0; i < idx.length; i++) {
      if (best.goesLeft[col[idx[i]!]!]) leftIdx[a++] = idx[i]!;
      else rightIdx[b++] = idx[i]!;
    }
    node.feature = bestFeature;
    node.goesLeft = best.goesLeft;
    node.left = grow(leftIdx, depth + 1);
    node.right = grow(rightIdx, depth + 1);
    return id;
  };

  grow(rows, 0);
  return new CategoricalTree(nodes, data.cardinalities);
}

/** A fitted forest: the mean of its trees. */
export class RandomForest {
  readonly trees: readonly CategoricalTree[];
  readonly cardinalities: readonly number[];
  /** The options it was fitted with, defaults filled in. */
  readonly options: Readonly<ResolvedOptions>;

  private constructor(trees: CategoricalTree[], cardinalities: readonly number[], options: ResolvedOptions) {
    this.trees = trees;
    this.cardinalities = cardinalities;
    this.options = options;
  }

  /**
   * Fits a forest to rows of categories `x` (each row one integer in `0..cardinalities[j]-1` per
   * feature) and their targets `y` (finite numbers).
   */
  static fit(x: readonly (readonly number[])[], y: readonly number[], cardinalities: readonly number[], options: ForestOptions = {}): RandomForest {
    if (!Array.isArray(cardinalities)) throw typeError('cardinalities', 'an array of integers >= 1', cardinalities);
    const ks = cardinalities.map((k, j) => checkInteger(`cardinalities[${j}]`, k, 1, 1 << 20));
    if (!Array.isArray(x)) throw typeError('x', 'an array of rows', x);
    if (!Array.isArray(y)) throw typeError('y', 'an array of numbers', y);
    if (x.length === 0) throw rangeError('x', 'at least one row', x);
    if (y.length !== x.length) throw rangeError('y', `an array of ${x.length} numbers (one per row of x)`, y);
    const o = resolveOptions(options, ks.length);
    const n = x.length;
    const cols = ks.map(() => new Int32Array(n));
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = x[i];
      if (!Array.isArray(row) || row.length !== ks.length) throw typeError(`x[${i}]`, `an array of ${ks.length} categories`, row);
      for (let j = 0; j < ks.length; j++) {
        cols[j]![i] = checkInteger(`x[${i}][${j}]`, row[j], 0, ks[j]! - 1);
      }
      const v = y[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(`y[${i}]`, 'a finite number', v);
      ys[i] = v;
    }
    const data: Columns = { x: cols, y: ys, cardinalities: ks };
    const rng = createRng(o.seed);
    const trees: CategoricalTree[] = [];
    for (let t = 0; t < o.trees; t++) {
      const rows = new Int32Array(n);
      for (let i = 0; i < n; i++) rows[i] = o.bootstrap ? rng.nextInt(n) : i;
      trees.push(growTree(data, rows, o, rng));
    }
    return new RandomForest(trees, ks, o);
  }

  /** The forest's prediction (the mean over its trees) for one row of categories. */
  predict(row: readonly number[]): number {
    let s = 0;
    for (const tree of this.trees) s += tree.predict(row);
    return s / this.trees.length;
  }
}
