/**
 * Small dense linear algebra and Gaussian-process helpers for the Bayesian-optimisation strategy:
 * Cholesky factorisation and triangular solves on row-major `Float64Array`s, the standard normal
 * density and distribution, expected improvement, and a GP regressor on precomputed distances whose
 * signal variance is profiled out of the marginal likelihood (so a hyper-parameter search only has to
 * scan the kernel's length scale and the noise ratio).
 *
 * Sizes here are a few hundred at most, so plain loops over contiguous rows are fast enough; nothing
 * is allocated inside the inner loops.
 */

/**
 * Cholesky factor of the symmetric positive-definite n×n matrix `a` (row-major; only the lower
 * triangle is read): the lower-triangular `l` with l·lᵀ = a, written to `out` (default a new array;
 * it may be `a` itself), upper triangle zeroed. Returns undefined when `a` is not numerically
 * positive definite.
 */
export function cholesky(a: Float64Array, n: number, out: Float64Array = new Float64Array(n * n)): Float64Array | undefined {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= out[ri + k]! * out[rj + k]!;
      if (i === j) {
        if (!(s > 0)) return undefined;
        out[ri + i] = Math.sqrt(s);
      } else {
        out[ri + j] = s / out[rj + j]!;
      }
    }
    for (let j = i + 1; j < n; j++) out[ri + j] = 0;
  }
  return out;
}

/** Solves l·x = b for lower-triangular `l` (n×n, row-major); writes x to `out` (may be `b`). */
export function solveLower(l: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array = new Float64Array(n)): Float64Array {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[ri + k]! * out[k]!;
    out[i] = s / l[ri + i]!;
  }
  return out;
}

/** Solves lᵀ·x = b for lower-triangular `l` (n×n, row-major); writes x to `out` (may be `b`). */
export function solveUpperTransposed(
  l: Float64Array,
  n: number,
  b: ArrayLike<number>,
  out: Float64Array = new Float64Array(n),
): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * out[k]!;
    out[i] = s / l[i * n + i]!;
  }
  return out;
}

/** Solves (l·lᵀ)·x = b given the Cholesky factor `l`. */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array = new Float64Array(n)): Float64Array {
  solveLower(l, n, b, out);
  return solveUpperTransposed(l, n, out, out);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Density of the standard normal distribution. */
export function normalPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Coefficients of P(t), lowest order first (the Chebyshev fit published in Numerical Recipes, §6.2). */
const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
];

/**
 * Complementary error function with a relative error below 1.2e-7 everywhere, including far in the
 * tails: erfc(x) = t·exp(−x² + P(t)) with t = 1/(1 + |x|/2). The relative accuracy in the tails is
 * what expected improvement needs for candidates far below the incumbent.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC_COEFFICIENTS.length - 1; i >= 0; i--) poly = poly * t + ERFC_COEFFICIENTS[i]!;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** Distribution function of the standard normal distribution. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * Quantile function of the standard normal distribution for p in (0, 1), by bisection on `normalCdf`
 * (so as accurate as `normalCdf`, relative error ~1e-7; plenty for normal scores of ranks).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p <= 0 ? -Infinity : p >= 1 ? Infinity : NaN;
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 100 && hi - lo > 1e-12; i++) {
    const mid = 0.5 * (lo + hi);
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Expected improvement over `best` of a normal prediction (mean, standard deviation), for
 * maximisation: σ·(zΦ(z) + φ(z)) with z = (mean − best)/σ. Below the incumbent the two terms cancel
 * (the result is about φ(z)/z²), so the relative error of Φ is magnified by z²; `erfc` keeps that
 * below 1e-4 down to z = −20, and beyond it the asymptotic series σ·φ(z)/z²·(1 − 3/z² + 15/z⁴ − 105/z⁶)
 * is exact to 1e-7. So EI stays positive and ordered however unpromising a candidate is.
 */
export function expectedImprovement(mean: number, sd: number, best: number): number {
  if (!(sd > 0)) return Math.max(0, mean - best);
  const z = (mean - best) / sd;
  if (z < -20) {
    const w = 1 / (z * z);
    return sd * normalPdf(z) * w * (1 - w * (3 - w * (15 - 105 * w)));
  }
  return sd * (z * normalCdf(z) + normalPdf(z));
}

/** Correlation kernels of a distance h ≥ 0 (the number of decisions two architectures differ in). */
export type KernelName = 'exponential' | 'matern52' | 'squared-exponential';
export const KERNEL_NAMES: readonly KernelName[] = ['exponential', 'matern52', 'squared-exponential'];

const SQRT5 = Math.sqrt(5);

/**
 * The correlation at distance `h` for length scale `lengthScale`:
 * - exponential: exp(−h/ℓ) — on one-hot codes this is the product over decisions of
 *   "same option or not" kernels (the categorical overlap kernel);
 * - matern52: Matérn ν=5/2 of r = √h/ℓ (h is a squared Euclidean distance between one-hot codes);
 * - squared-exponential: exp(−h/(2ℓ²)).
 */
export function correlation(kernel: KernelName, h: number, lengthScale: number): number {
  switch (kernel) {
    case 'exponential':
      return Math.exp(-h / lengthScale);
    case 'matern52': {
      const r = (SQRT5 * Math.sqrt(h)) / lengthScale;
      return (1 + r + (r * r) / 3) * Math.exp(-r);
    }
    case 'squared-exponential':
      return Math.exp(-h / (2 * lengthScale * lengthScale));
  }
}

/** A fitted GP posterior: everything needed to predict at new points. */
export interface GpPosterior {
  n: number;
  /** Cholesky factor of C + g·I (correlation matrix plus noise ratio). */
  chol: Float64Array;
  /** (C + g·I)⁻¹·y. */
  alpha: Float64Array;
  /** Profiled signal variance s² = yᵀ(C + g·I)⁻¹y / n; the covariance is s²·(C + g·I). */
  signalVariance: number;
  noiseRatio: number;
  /** Log marginal likelihood with s² at its maximum-likelihood value. */
  logLikelihood: number;
}

/**
 * Fits a zero-mean GP with covariance s²·(C + g·I) to targets `y` (standardise them first), given the
 * n×n correlation matrix `c` (row-major, unit diagonal). The signal variance s² is set to its
 * maximum-likelihood value, which makes the log marginal likelihood
 * −n/2·log s² − Σ log Lᵢᵢ − n/2·(1 + log 2π). Returns undefined when C + g·I is not positive definite.
 * `work` (n×n) is overwritten with the factor when given.
 */
export function fitGp(c: Float64Array, y: ArrayLike<number>, n: number, noiseRatio: number, work?: Float64Array): GpPosterior | undefined {
  const a = work ?? new Float64Array(n * n);
  if (a !== c) a.set(c.subarray(0, n * n));
  for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i]! + noiseRatio;
  const chol = cholesky(a, n, a);
  if (!chol) return undefined;
  const alpha = choleskySolve(chol, n, y);
  let quad = 0;
  let logDet = 0;
  for (let i = 0; i < n; i++) {
    quad += y[i]! * alpha[i]!;
    logDet += Math.log(chol[i * n + i]!);
  }
  // A constant target vector (quad = 0) would make s² vanish; floor it so the likelihood stays finite.
  const signalVariance = Math.max(quad / n, 1e-12);
  const logLikelihood = -0.5 * n * Math.log(signalVariance) - logDet - 0.5 * n * (1 + Math.log(2 * Math.PI));
  return { n, chol, alpha, signalVariance, noiseRatio, logLikelihood };
}

/**
 * Posterior mean and variance (of the latent function, in target units) at a point whose correlations
 * with the n training points are `k` (and with itself 1). `v` (length n) receives L⁻¹·k, which is what
 * covariances between test points are built from.
 */
export function predict(
  gp: GpPosterior,
  k: ArrayLike<number>,
  v: Float64Array = new Float64Array(gp.n),
): { mean: number; variance: number } {
  const n = gp.n;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += k[i]! * gp.alpha[i]!;
  solveLower(gp.chol, n, k, v);
  let vv = 0;
  for (let i = 0; i < n; i++) vv += v[i]! * v[i]!;
  return { mean, variance: gp.signalVariance * Math.max(0, 1 - vv) };
}

/** Normal scores of the ranks (a Gaussian copula): Φ⁻¹((rank + ½)/n), ties sharing their mean rank. */
export function rankTargets(raw: readonly number[]): Float64Array {
  const n = raw.length;
  const order = raw.map((_, i) => i).sort((a, b) => raw[a]! - raw[b]! || a - b);
  const y = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && raw[order[j + 1]!] === raw[order[i]!]) j++;
    const z = normalQuantile(((i + j) / 2 + 0.5) / n);
    for (let k = i; k <= j; k++) y[order[k]!] = z;
    i = j + 1;
  }
  return y;
}
