/**
 * Checking a state dict before a strategy loads it: each strategy declares the shape its stateDict()
 * returns, and checkStateDict refuses anything else with a message naming the field (state.seen[3]),
 * so that loadStateDict never half-loads garbage or trips over it later in ask().
 */
import { NasxError, checkInteger, checkObject, rangeError, typeError } from '../errors.js';
import type { SearchSpace } from '../space/space.js';

/**
 * A field's shape: a leaf kind, `[shape]` for an array of that shape, an object of field shapes
 * (exactly those keys), or one of nullable(), tuple(), oneOf().
 *   uint32: an RNG state; count: an integer >= 0; number: a finite number; arch: an architecture of
 *   the space (space.validate); decisions: a complete decision sequence of the space (space.optionsAt).
 */
export type StateShape =
  | 'uint32'
  | 'count'
  | 'number'
  | 'string'
  | 'boolean'
  | 'arch'
  | 'decisions'
  | readonly [StateShape]
  | { readonly $nullable: StateShape }
  | { readonly $tuple: readonly StateShape[] }
  | { readonly $oneOf: readonly string[] }
  | { readonly [field: string]: StateShape };

export const nullable = (shape: StateShape): StateShape => ({ $nullable: shape });
export const tuple = (...shapes: StateShape[]): StateShape => ({ $tuple: shapes });
export const oneOf = (...values: string[]): StateShape => ({ $oneOf: values });

/** Runs space.validate on `arch`, putting `name` (the argument's path) in front of its message. */
export function validateArchAt<A>(space: SearchSpace<A>, name: string, arch: unknown): void {
  try {
    space.validate(arch as A);
  } catch (err) {
    if (err instanceof NasxError) throw new NasxError(err.code, `${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Checks a complete decision sequence of `space`: each decision below its options, none left over. */
function checkDecisions<A>(name: string, value: unknown, space: SearchSpace<A>): void {
  if (!Array.isArray(value)) throw typeError(name, 'an array of decisions', value);
  for (let i = 0; i <= value.length; i++) {
    const k = space.optionsAt(value.slice(0, i) as number[]);
    if (i === value.length) {
      if (k !== 0) throw rangeError(name, `a complete decision sequence of space "${space.name}" (decision ${i} is missing)`, value);
    } else if (k === 0) {
      throw rangeError(name, `a decision sequence of space "${space.name}" of length ${i}`, value);
    } else checkInteger(`${name}[${i}]`, value[i], 0, k - 1);
  }
}

function check<A>(name: string, value: unknown, shape: StateShape, space: SearchSpace<A>): void {
  if (typeof shape === 'string') {
    switch (shape) {
      case 'uint32':
        checkInteger(name, value, 0, 4294967295);
        return;
      case 'count':
        checkInteger(name, value, 0);
        return;
      case 'number':
        if (typeof value !== 'number') throw typeError(name, 'a finite number', value);
        if (!Number.isFinite(value)) throw rangeError(name, 'a finite number', value);
        return;
      case 'string':
      case 'boolean':
        if (typeof value !== shape) throw typeError(name, `a ${shape}`, value);
        return;
      case 'arch':
        validateArchAt(space, name, value);
        return;
      case 'decisions':
        checkDecisions(name, value, space);
        return;
    }
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) throw typeError(name, 'an array', value);
    value.forEach((v, i) => check(`${name}[${i}]`, v, shape[0] as StateShape, space));
    return;
  }
  const s = shape as Record<string, unknown>;
  if ('$nullable' in s) {
    if (value !== null) check(name, value, s.$nullable as StateShape, space);
    return;
  }
  if ('$tuple' in s) {
    const items = s.$tuple as StateShape[];
    if (!Array.isArray(value)) throw typeError(name, `an array of length ${items.length}`, value);
    if (value.length !== items.length) throw rangeError(name, `an array of length ${items.length}`, value);
    items.forEach((item, i) => check(`${name}[${i}]`, value[i], item, space));
    return;
  }
  if ('$oneOf' in s) {
    const values = s.$oneOf as string[];
    if (!values.includes(value as string)) {
      const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
      throw typeof value === 'string' ? rangeError(name, expected, value) : typeError(name, expected, value);
    }
    return;
  }
  const o = checkObject(name, value);
  for (const key of Object.keys(o)) {
    if (!(key in s)) throw new RangeError(`Unknown field "${key}" in ${name}; known fields are ${Object.keys(s).join(', ')}`);
  }
  for (const [key, field] of Object.entries(s)) check(`${name}.${key}`, o[key], field as StateShape, space);
}

/**
 * Checks `state` against the shape of `strategy`'s state dict and returns a copy of it (plain data,
 * so the strategy may keep its arrays). Errors name the field, e.g. `state.seen[3]`.
 */
export function checkStateDict<A>(strategy: string, state: unknown, shape: StateShape, space: SearchSpace<A>): unknown {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw typeError('state', `a state dict of strategy ${strategy}`, state);
  }
  let copy: unknown;
  try {
    copy = structuredClone(state);
  } catch {
    // Functions, symbols and the like (a DataCloneError), or nesting too deep to copy.
    throw typeError('state', `a state dict of strategy ${strategy} (plain data, as its stateDict() returns)`, state);
  }
  check('state', copy, shape, space);
  return copy;
}
