/**
 * Pareto fronts of multi-objective results: objectives as declared (`accuracy:max,latency:min`),
 * non-dominated sorting and crowding distance (NSGA-II, Deb et al. 2002), the dominated hypervolume,
 * and the augmented Chebyshev scalarisation (ParEGO, Knowles 2006). Every function works on
 * "gains": each objective turned so that larger is better (a minimised one negated).
 */
import { rangeError, typeError } from '../errors.js';

export interface Objective {
  /** A metric of the trial: `score`/`accuracy` (the search score), `params`, `flops`, `latency`/`latencyMs`, or any metric the evaluator returns. */
  name: string;
  direction: 'max' | 'min';
}

/** Parses `accuracy:max,latency:min` (a bare name means max, except params/flops/latency, which mean min). */
export function parseObjectives(spec: string, argName = 'objectives'): Objective[] {
  if (typeof spec !== 'string' || spec.trim() === '') throw typeError(argName, 'a list like "accuracy:max,latency:min"', spec);
  const out = spec.split(',').map((part) => {
    const [rawName, rawDir, ...extra] = part.trim().split(':');
    const name = (rawName ?? '').trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || extra.length > 0) throw rangeError(argName, 'entries NAME or NAME:max or NAME:min, comma-separated', part.trim());
    const dir = rawDir?.trim() ?? (['params', 'flops', 'latency', 'latencyMs'].includes(name) ? 'min' : 'max');
    if (dir !== 'max' && dir !== 'min') throw rangeError(`${argName} (${name})`, '"max" or "min"', dir);
    return { name, direction: dir } as Objective;
  });
  const names = out.map((o) => canonicalMetric(o.name));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw rangeError(argName, 'each objective once', spec);
  if (out.length < 2) throw rangeError(argName, 'at least two objectives (one objective is the plain search)', spec);
  return out;
}

/** The metric an objective name reads (aliases: accuracy → score, latency → latencyMs). */
export function canonicalMetric(name: string): string {
  if (name === 'accuracy') return 'score';
  if (name === 'latency') return 'latencyMs';
  return name;
}

/** Whether gains `a` dominate `b`: at least as good in every objective, better in one. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return false;
    if (a[i]! > b[i]!) better = true;
  }
  return better;
}

/** Non-dominated sorting: the fronts as lists of indices, the first the Pareto front. */
export function nonDominatedSort(points: readonly (readonly number[])[]): number[][] {
  const n = points.length;
  const dominatedBy = new Array<number>(n).fill(0);
  const dominatesList: number[][] = points.map(() => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i]!, points[j]!)) {
        dominatesList[i]!.push(j);
        dominatedBy[j]!++;
      } else if (dominates(points[j]!, points[i]!)) {
        dominatesList[j]!.push(i);
        dominatedBy[i]!++;
      }
    }
  }
  const fronts: number[][] = [];
  let current = points.map((_, i) => i).filter((i) => dominatedBy[i] === 0);
  while (current.length > 0) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of dominatesList[i]!) if (--dominatedBy[j]! === 0) next.push(j);
    }
    current = next.sort((a, b) => a - b);
  }
  return fronts;
}

/** Crowding distance of each point of one front (boundary points: Infinity). */
export function crowdingDistance(points: readonly (readonly number[])[], front: readonly number[]): Map<number, number> {
  const d = new Map<number, number>(front.map((i) => [i, 0]));
  if (front.length === 0) return d;
  const m = points[front[0]!]!.length;
  for (let k = 0; k < m; k++) {
    const sorted = [...front].sort((a, b) => points[a]![k]! - points[b]![k]! || a - b);
    const lo = points[sorted[0]!]![k]!;
    const hi = points[sorted[sorted.length - 1]!]![k]!;
    d.set(sorted[0]!, Infinity);
    d.set(sorted[sorted.length - 1]!, Infinity);
    if (hi === lo) continue;
    for (let s = 1; s < sorted.length - 1; s++) {
      const i = sorted[s]!;
      d.set(i, d.get(i)! + (points[sorted[s + 1]!]![k]! - points[sorted[s - 1]!]![k]!) / (hi - lo));
    }
  }
  return d;
}

/**
 * The hypervolume dominated by `points` (gains) above `reference` (a gain every point should beat;
 * points not above it in every objective add nothing). Exact: a sweep in two objectives, slicing
 * by the last objective above that (fine for the handful of objectives a search has).
 */
export function hypervolume(points: readonly (readonly number[])[], reference: readonly number[]): number {
  const m = reference.length;
  const above = points.filter((p) => p.length === m && p.every((v, k) => Number.isFinite(v) && v > reference[k]!));
  if (above.length === 0) return 0;
  if (m === 1) return Math.max(...above.map((p) => p[0]!)) - reference[0]!;
  if (m === 2) {
    // Sweep by the first objective, best first: each point adds the strip its second objective gains.
    const sorted = [...above].sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]!);
    let volume = 0;
    let top = reference[1]!;
    for (const p of sorted) {
      if (p[1]! > top) {
        volume += (p[0]! - reference[0]!) * (p[1]! - top);
        top = p[1]!;
      }
    }
    return volume;
  }
  // Slices along the last objective: between consecutive levels, the (m-1)-volume of the points at or above.
  const levels = [...new Set(above.map((p) => p[m - 1]!))].sort((a, b) => a - b);
  let volume = 0;
  let below = reference[m - 1]!;
  for (const level of levels) {
    const slab = above.filter((p) => p[m - 1]! >= level).map((p) => p.slice(0, m - 1));
    volume += hypervolume(slab, reference.slice(0, m - 1)) * (level - below);
    below = level;
  }
  return volume;
}

/**
 * The augmented Chebyshev scalarisation of normalised gains `g` (each in [0, 1], 1 best) under
 * weights `w` (summing to 1): −max_k w_k(1 − g_k) − ρ Σ_k w_k(1 − g_k), larger is better. Every
 * Pareto-optimal point maximises it for some weights.
 */
export function chebyshev(g: readonly number[], w: readonly number[], rho = 0.05): number {
  let worst = 0;
  let sum = 0;
  for (let k = 0; k < g.length; k++) {
    const shortfall = w[k]! * (1 - g[k]!);
    worst = Math.max(worst, shortfall);
    sum += shortfall;
  }
  return -worst - rho * sum;
}

/** Gains min-max normalised per objective over `points` (an objective with one value: 1). */
export function normaliseGains(points: readonly (readonly number[])[]): number[][] {
  if (points.length === 0) return [];
  const m = points[0]!.length;
  const lo = Array.from({ length: m }, (_, k) => Math.min(...points.map((p) => p[k]!)));
  const hi = Array.from({ length: m }, (_, k) => Math.max(...points.map((p) => p[k]!)));
  return points.map((p) => p.map((v, k) => (hi[k]! > lo[k]! ? (v - lo[k]!) / (hi[k]! - lo[k]!) : 1)));
}

/**
 * The Pareto front of `points` (gains), best first by the first objective (ties: earlier first), and
 * its knee: the front's point that maximises the equal-weight Chebyshev scalarisation of the gains
 * min-max normalised over the front (undefined for no points).
 */
export function paretoKnee(points: readonly (readonly number[])[]): { front: number[]; knee: number | undefined } {
  const front = (nonDominatedSort(points)[0] ?? []).sort((a, b) => points[b]![0]! - points[a]![0]! || a - b);
  const normalised = normaliseGains(front.map((i) => points[i]!));
  const w = points[0] ? points[0].map(() => 1 / points[0]!.length) : [];
  let knee: number | undefined;
  let best = -Infinity;
  front.forEach((i, k) => {
    const v = chebyshev(normalised[k]!, w);
    if (v > best) [best, knee] = [v, i];
  });
  return { front, knee };
}
