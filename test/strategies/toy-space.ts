/**
 * A small categorical space with a known optimum, for strategy tests: `length` decisions of
 * `options` choices each; the score rewards matching a hidden target, with a smooth landscape.
 */
import type { Evaluator, EvalResult } from '../../lib/evaluators/evaluator.js';
import { NasxError } from '../../lib/errors.js';
import type { SearchSpace } from '../../lib/space/space.js';
import type { Rng } from '../../lib/util/rng.js';

export type Toy = number[];

export function toySpace(length = 5, options = 4): SearchSpace<Toy> {
  const space: SearchSpace<Toy> = {
    name: 'toy',
    sample: (rng: Rng) => Array.from({ length }, () => rng.nextInt(options)),
    mutate(arch, rng) {
      const out = [...arch];
      const i = rng.nextInt(length);
      out[i] = (out[i]! + 1 + rng.nextInt(options - 1)) % options;
      return out;
    },
    neighbours(arch) {
      const out: Toy[] = [];
      for (let i = 0; i < length; i++)
        for (let v = 0; v < options; v++) if (v !== arch[i]) out.push(arch.map((x, j) => (j === i ? v : x)));
      return out;
    },
    decisions: (arch) => [...arch],
    optionsAt: (prefix) => (prefix.length < length ? options : 0),
    fromDecisions: (seq) => [...seq],
    encode: (arch) => arch.flatMap((v) => Array.from({ length: options }, (_, k) => (k === v ? 1 : 0))),
    encodingLength: length * options,
    hash: (arch) => arch.join(','),
    validate(arch) {
      if (!Array.isArray(arch) || arch.length !== length || arch.some((v) => !Number.isInteger(v) || v < 0 || v >= options)) {
        throw new NasxError('ERR_NASX_INVALID_ARCH', `not a toy architecture: ${JSON.stringify(arch)}`);
      }
    },
    cost: () => ({ params: 0, flops: 0 }),
  };
  return space;
}

/** Score in [0, 1]: 1 only at the target; decisions matter with decreasing weight. */
export function toyScore(arch: Toy, target: Toy): number {
  let s = 0;
  let total = 0;
  arch.forEach((v, i) => {
    const w = 1 / (i + 1);
    total += w;
    s += w * (1 - Math.abs(v - target[i]!) / 3);
  });
  return s / total;
}

/** Evaluates toy architectures by `toyScore` (the test's objective, computed exactly). */
export function toyEvaluator(target: Toy): Evaluator<Toy> & { calls: number } {
  const e = {
    name: 'toy',
    calls: 0,
    async evaluate(candidates: readonly Toy[]): Promise<EvalResult<Toy>[]> {
      e.calls += candidates.length;
      return candidates.map((arch) => ({ arch, status: 'ok' as const, metrics: { score: toyScore(arch, target) }, seconds: 0 }));
    },
  };
  return e;
}
