import { checkNumber, checkObject, checkOneOf } from '../errors.js';

/** A numeric option: [min, max, default]. */
export type NumberOption = readonly [number, number, number];
/** A string option: one of `choices`, `fallback` when absent. */
export interface ChoiceOption {
  readonly choices: readonly string[];
  readonly fallback: string;
}
/** Numeric options only (the common case). */
export type OptionSpec = Record<string, [number, number, number]>;
/** Options of either kind; error messages list them in the spec's key order. */
export type StrategyOptionSpec = Record<string, NumberOption | ChoiceOption>;

export type CheckedOptions<S extends StrategyOptionSpec> = {
  [K in keyof S]: S[K] extends ChoiceOption ? S[K]['choices'][number] : number;
};

/**
 * Checks a strategy's options: unknown keys are rejected (listing the known ones), numbers are
 * range-checked and strings checked against their choices, with messages naming `<strategy>.<option>`,
 * and defaults fill the rest. `options` is an object, or undefined for all defaults.
 */
export function checkStrategyOptions<S extends StrategyOptionSpec>(
  strategy: string,
  options: Record<string, unknown> | object | undefined,
  spec: S,
  what = 'strategy',
): CheckedOptions<S> {
  const o = options === undefined ? {} : checkObject('options', options);
  for (const k of Object.keys(o)) {
    if (!(k in spec)) {
      throw new RangeError(
        `Unknown option "${k}" for ${what} ${strategy}; known options are ${Object.keys(spec).join(', ') || 'none'}`,
      );
    }
  }
  const out: Record<string, number | string> = {};
  for (const [k, entry] of Object.entries(spec)) {
    const name = `${strategy}.${k}`;
    if (Array.isArray(entry)) {
      const [min, max, fallback] = entry as NumberOption;
      out[k] = o[k] === undefined ? fallback : checkNumber(name, o[k], min, max);
    } else {
      const { choices, fallback } = entry as ChoiceOption;
      out[k] = o[k] === undefined ? fallback : checkOneOf(name, o[k], choices);
    }
  }
  return out as CheckedOptions<S>;
}
