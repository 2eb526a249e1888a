import { checkNumber } from '../errors.js';

/** Per-option [min, max, default]. */
export type OptionSpec = Record<string, [number, number, number]>;

/**
 * Checks a strategy's numeric options: unknown keys are rejected (listing the known ones), values are
 * range-checked with messages naming `<strategy>.<option>`, and defaults fill the rest.
 */
export function checkStrategyOptions<S extends OptionSpec>(
  strategy: string,
  options: Record<string, unknown> | object | undefined,
  spec: S,
): { [K in keyof S]: number } {
  const o = (options ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(k in spec)) {
      throw new RangeError(
        `Unknown option "${k}" for strategy ${strategy}; known options are ${Object.keys(spec).join(', ') || 'none'}`,
      );
    }
  }
  const out = {} as { [K in keyof S]: number };
  for (const [k, [min, max, fallback]] of Object.entries(spec)) {
    (out as Record<string, number>)[k] = o[k] === undefined ? fallback : checkNumber(`${strategy}.${k}`, o[k], min, max);
  }
  return out;
}
