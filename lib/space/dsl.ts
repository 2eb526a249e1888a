/**
 * A small declarative DSL for search spaces, and `DslSpace`, the one generic `SearchSpace` over any
 * DSL tree.
 *
 * A space is a tree of nodes that produces a plain JSON "config":
 *
 * | node | produces | decisions |
 * | --- | --- | --- |
 * | `choice([...])`, `bool()`, `intRange({...})`, `logChoice({...})` | one of a fixed list of scalars | one |
 * | `constant(v)` | `v` | none |
 * | `object({key: node, ...})` | an object, keys in definition order | its fields' |
 * | `when({key: [values]}, node)` (an object field only) | the field, present only when earlier sibling `key` has one of `values` | the node's, only when present |
 * | `repeat(body, {min, max})` | an array of `count` copies of `body` (variable depth) | the count, then each copy's |
 * | `tuple([nodes])` | a fixed-length array | its items' |
 *
 * Everything discretises to categorical decisions, so the decision sequence is generic: a pre-order
 * walk of the tree in which a repeat's count comes first, then each copy's decisions, and a
 * conditional field's decisions appear only when its condition holds. Integer ranges and log-scaled
 * ranges are choices whose values are computed once, when the node is made.
 *
 * @example
 * const space = new DslSpace({
 *   name: 'tiny',
 *   params: object({
 *     optimizer: choice(['sgd', 'adamw']),
 *     momentum: when({ optimizer: ['sgd'] }, choice([0.8, 0.9])),
 *     layers: repeat(object({ units: intRange({ low: 16, high: 64, step: 16 }) }), { min: 1, max: 3 }),
 *   }),
 * });
 * space.sample(createRng(0)); // { optimizer: 'sgd', momentum: 0.9, layers: [{ units: 16 }, { units: 16 }] }
 */
import type { Arch } from '../arch/arch.js';
import { describeArch } from '../arch/describe.js';
import { NasxError, describeValue, rangeError, typeError } from '../errors.js';
import type { Rng } from '../util/rng.js';
import { canonicalHash, canonicalJson } from './canonical-hash.js';
import type { ArchCost, IoShape, SearchSpace } from './space.js';

export type Scalar = string | number | boolean | null;
export type JsonValue = Scalar | JsonValue[] | { [key: string]: JsonValue };

/** A categorical decision over distinct scalar values. */
export interface ChoiceNode {
  readonly kind: 'choice';
  readonly values: readonly Scalar[];
  /** What a valid value is, for error messages, e.g. `one of 16, 32, 64`. */
  readonly expected: string;
}
/** A fixed value; no decision. */
export interface ConstantNode {
  readonly kind: 'constant';
  readonly value: JsonValue;
}
export interface Condition {
  /** An earlier field of the same object (a choice or a scalar constant). */
  readonly key: string;
  readonly values: readonly Scalar[];
}
export interface ObjectField {
  readonly key: string;
  readonly node: DslNode;
  /** Present only when every condition holds (conditions on earlier fields of the same object). */
  readonly when?: readonly Condition[];
}
export interface ObjectNode {
  readonly kind: 'object';
  readonly fields: readonly ObjectField[];
}
/** A variable-length array: a count decision, then that many independent copies of `body`. */
export interface RepeatNode {
  readonly kind: 'repeat';
  /** Allowed lengths, ascending. */
  readonly counts: readonly number[];
  readonly body: DslNode;
  readonly expected: string;
}
export interface TupleNode {
  readonly kind: 'tuple';
  readonly items: readonly DslNode[];
}
/** An object field that is present only when its condition holds (see `when`). */
export interface ConditionalNode {
  readonly kind: 'conditional';
  readonly when: readonly Condition[];
  readonly node: DslNode;
  /** Where the condition was written, for error messages. */
  readonly name: string;
}
export type DslNode = ChoiceNode | ConstantNode | ObjectNode | RepeatNode | TupleNode;
export type FieldNode = DslNode | ConditionalNode;

/** Upper bound on the options of one decision (an integer range of a million values is a mistake). */
export const MAX_OPTIONS = 10000;
/** Upper bound on a repeat's count. */
export const MAX_REPEAT = 1024;
/**
 * Upper bound on a space's decision options with every repeat at its largest count (its encoding's
 * length): nested repeats multiply, and each architecture's encoding, sampling and mutation walk it.
 */
export const MAX_ENCODING = 1 << 18;

const NODE_KINDS = ['choice', 'constant', 'object', 'repeat', 'tuple'];
const NODE_DESCRIPTION = 'a search-space node (choice, bool, intRange, logChoice, constant, object, repeat or tuple)';

// ---------------------------------------------------------------------------------------------
// Paths, shared by construction errors, validation errors and decision names.

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `layers[1]` + `units` → `layers[1].units`; keys that are not identifiers are bracketed. */
export function fieldPath(path: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}
function itemPath(path: string, index: number): string {
  return `${path}[${index}]`;
}
/** The decision path of a repeat's count: `layers.length`. */
function countPath(path: string): string {
  return path === '' ? 'length' : `${path}.length`;
}
/** The root config is called `arch` in messages. */
function display(path: string): string {
  return path === '' ? 'arch' : path;
}

function invalidArch(path: string, expected: string, value: unknown): NasxError {
  return new NasxError('ERR_NASX_INVALID_ARCH', `Expected ${expected} for ${path} but received ${describeValue(value)}`);
}

// ---------------------------------------------------------------------------------------------
// Constructors. They check their arguments (TypeError for a wrong type, RangeError for a bad value)
// and name them with `name`, which the JSON loader sets to the path within the file.

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isNode(v: unknown): v is DslNode {
  return isPlainObject(v) && NODE_KINDS.includes(v.kind as string);
}
function listValues(values: readonly Scalar[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}
function checkKeys(name: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new RangeError(`Unknown field "${k}" in ${name}; allowed fields are ${allowed.map((a) => `"${a}"`).join(', ')}`);
    }
  }
}
function checkScalars(name: string, values: unknown): Scalar[] {
  if (!Array.isArray(values)) throw typeError(name, 'a non-empty array of numbers, strings, booleans or null', values);
  if (values.length === 0) throw rangeError(name, 'a non-empty array of numbers, strings, booleans or null', values);
  if (values.length > MAX_OPTIONS) throw rangeError(name, `an array of at most ${MAX_OPTIONS} values`, values);
  values.forEach((v, i) => {
    if (!isScalar(v)) throw typeError(`${name}[${i}]`, 'a finite number, a string, a boolean or null', v);
  });
  for (let j = 1; j < values.length; j++) {
    const i = values.indexOf(values[j]);
    if (i < j) throw rangeError(`${name}[${j}]`, `a value different from ${name}[${i}]`, values[j]);
  }
  return values as Scalar[];
}
function makeChoice(values: readonly Scalar[], expected = `one of ${listValues(values)}`): ChoiceNode {
  return Object.freeze({ kind: 'choice', values: Object.freeze([...values]), expected });
}

/**
 * A categorical decision over distinct numbers, strings, booleans or null.
 *
 * @example choice(['relu', 'gelu', 'tanh'])
 */
export function choice(values: readonly Scalar[], name = 'choice'): ChoiceNode {
  return makeChoice(checkScalars(name, values));
}

/** `false` or `true` (in that order: the first option is the default of `neighbours`). */
export function bool(): ChoiceNode {
  return makeChoice([false, true]);
}

function checkInt(name: string, value: unknown, min: number, max: number): number {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  if (typeof value !== 'number') throw typeError(name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(name, expected, value);
  return value;
}

/**
 * The integers `low, low + step, …, high` as one categorical decision. `high - low` must be a
 * multiple of `step`.
 *
 * @example intRange({ low: 16, high: 128, step: 16 }) // 16, 32, …, 128
 */
export function intRange(range: { low: number; high: number; step?: number }, name = 'intRange'): ChoiceNode {
  if (!isPlainObject(range)) throw typeError(name, 'an object like {"low":1,"high":8}', range);
  checkKeys(name, range, ['low', 'high', 'step']);
  const low = checkInt(`${name}.low`, range.low, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const high = checkInt(`${name}.high`, range.high, low, Number.MAX_SAFE_INTEGER);
  const step = range.step === undefined ? 1 : checkInt(`${name}.step`, range.step, 1, Number.MAX_SAFE_INTEGER);
  if ((high - low) % step !== 0) throw rangeError(`${name}.high`, `${low} plus a multiple of ${step} (low plus a multiple of step)`, high);
  const count = (high - low) / step + 1;
  if (count > MAX_OPTIONS) {
    throw new RangeError(`Expected at most ${MAX_OPTIONS} values for ${name} but received a range of ${count} values`);
  }
  const values = Array.from({ length: count }, (_, i) => low + i * step);
  const expected =
    count <= 16 ? `one of ${listValues(values)}` : `an integer from ${low} to ${high}${step > 1 ? ` in steps of ${step}` : ''}`;
  return makeChoice(values, expected);
}

/** Significant digits kept in non-integer log-spaced values, so configs read (and match) cleanly. */
const LOG_DIGITS = 6;

/**
 * `count` values spaced evenly on a log scale from `low` to `high` (both included) as one categorical
 * decision; rounded to integers when `integer` is set, else to 6 significant digits. Rounding must
 * not produce duplicates.
 *
 * @example logChoice({ low: 1e-4, high: 1e-1, count: 4 }) // 0.0001, 0.001, 0.01, 0.1
 * @example logChoice({ low: 16, high: 512, count: 6, integer: true }) // 16, 32, 64, 128, 256, 512
 */
export function logChoice(
  range: { low: number; high: number; count: number; integer?: boolean },
  name = 'logChoice',
): ChoiceNode {
  if (!isPlainObject(range)) throw typeError(name, 'an object like {"low":0.001,"high":0.1,"count":3}', range);
  checkKeys(name, range, ['low', 'high', 'count', 'integer']);
  const integer = range.integer ?? false;
  if (typeof integer !== 'boolean') throw typeError(`${name}.integer`, 'a boolean', integer);
  const low = integer
    ? checkInt(`${name}.low`, range.low, 1, Number.MAX_SAFE_INTEGER)
    : checkPositive(`${name}.low`, range.low);
  const high = integer ? checkInt(`${name}.high`, range.high, low + 1, Number.MAX_SAFE_INTEGER) : checkPositive(`${name}.high`, range.high, low);
  const count = checkInt(`${name}.count`, range.count, 2, MAX_OPTIONS);
  const values = Array.from({ length: count }, (_, i) => {
    if (i === 0) return low;
    if (i === count - 1) return high;
    const v = low * Math.pow(high / low, i / (count - 1));
    return integer ? Math.round(v) : Number(v.toPrecision(LOG_DIGITS));
  });
  if (new Set(values).size !== values.length) {
    throw new RangeError(
      `Expected distinct values for ${name} but rounding ${count} log-spaced values between ${low} and ${high} gives ${values.join(', ')}; use a smaller count or a wider range`,
    );
  }
  return makeChoice(values);
}

function checkPositive(name: string, value: unknown, above = 0): number {
  const expected = above === 0 ? 'a number greater than 0' : `a number greater than ${above}`;
  if (typeof value !== 'number') throw typeError(name, expected, value);
  if (!Number.isFinite(value) || value <= above) throw rangeError(name, expected, value);
  return value;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** How deep a JSON value nests (iteratively, so that no depth overflows the stack). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, d);
    for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
  return deepest;
}

/** A fixed JSON value (no decision), e.g. the `type` of an engine architecture. */
export function constant(value: JsonValue, name = 'constant'): ConstantNode {
  if (jsonDepth(value) > 64) throw rangeError(name, 'a JSON value nested at most 64 levels deep', value);
  let text: string;
  try {
    text = canonicalJson(value);
  } catch {
    throw typeError(name, 'a JSON value', value);
  }
  return Object.freeze({ kind: 'constant', value: deepFreeze(JSON.parse(text) as JsonValue) });
}

/**
 * Makes an object field conditional: it is present only when every named earlier field of the same
 * object has one of the given values. A bare value stands for a one-element list.
 *
 * @example object({ hidden: bool(), units: when({ hidden: true }, choice([32, 64])) })
 */
export function when(condition: Readonly<Record<string, Scalar | readonly Scalar[]>>, node: DslNode, name = 'when'): ConditionalNode {
  if (!isPlainObject(condition)) throw typeError(name, 'an object like {"optimizer":["sgd"]}', condition);
  const keys = Object.keys(condition);
  if (keys.length === 0) throw rangeError(name, 'an object with at least one condition, like {"optimizer":["sgd"]}', condition);
  const conditions = keys.map((key) => {
    const raw = condition[key];
    const values = Array.isArray(raw) ? checkScalars(`${name}.${key}`, raw) : checkScalars(`${name}.${key}`, [raw]);
    return Object.freeze({ key, values: Object.freeze(values) });
  });
  if (!isNode(node)) throw typeError(`${name} node`, NODE_DESCRIPTION, node);
  return Object.freeze({ kind: 'conditional', when: Object.freeze(conditions), node, name });
}

/** The field of a choice-like node a condition can test, or undefined. */
function conditionTarget(node: DslNode): readonly Scalar[] | undefined {
  if (node.kind === 'choice') return node.values;
  if (node.kind === 'constant' && isScalar(node.value)) return [node.value];
  return undefined;
}

/**
 * An object whose fields are nodes (or `when(...)` conditional nodes). Conditions may only test
 * earlier fields that are choices (or scalar constants), and only with values those fields can take.
 */
export function object(fields: Readonly<Record<string, FieldNode>>, name = ''): ObjectNode {
  if (!isPlainObject(fields)) throw typeError(display(name), 'an object of fields', fields);
  const out: ObjectField[] = [];
  const targets = new Map<string, readonly Scalar[]>();
  for (const [key, field] of Object.entries(fields)) {
    const path = fieldPath(name, key);
    if (isPlainObject(field) && field.kind === 'conditional') {
      const c = field as ConditionalNode;
      for (const cond of c.when) {
        const values = targets.get(cond.key);
        if (!values) {
          const known = [...targets.keys()].map((k) => JSON.stringify(k)).join(', ');
          throw rangeError(
            c.name,
            `a condition on an earlier choice field of the same object (${known === '' ? 'there is none' : `one of ${known}`})`,
            cond.key,
          );
        }
        cond.values.forEach((v, i) => {
          if (!values.includes(v)) throw rangeError(`${c.name}.${cond.key}[${i}]`, `one of ${listValues(values)}`, v);
        });
      }
      out.push(Object.freeze({ key, node: c.node, when: c.when }));
      const t = conditionTarget(c.node);
      if (t) targets.set(key, t);
    } else {
      if (!isNode(field)) throw typeError(path, NODE_DESCRIPTION, field);
      out.push(Object.freeze({ key, node: field }));
      const t = conditionTarget(field);
      if (t) targets.set(key, t);
    }
  }
  return Object.freeze({ kind: 'object', fields: Object.freeze(out) });
}

/**
 * A variable-length array: a count decision (`{min, max}`, or an explicit ascending list of
 * counts), followed by that many independently chosen copies of `body`.
 *
 * @example repeat(object({ units: choice([32, 64]) }), { min: 1, max: 4 })
 */
export function repeat(body: DslNode, count: { min: number; max: number } | readonly number[], name = 'repeat'): RepeatNode {
  if (!isNode(body)) throw typeError(`${name} body`, NODE_DESCRIPTION, body);
  let counts: number[];
  let expected: string;
  if (Array.isArray(count)) {
    if (count.length === 0) throw rangeError(`${name}.count`, 'a non-empty array of counts', count);
    counts = count.map((c, i) => checkInt(`${name}.count[${i}]`, c, i === 0 ? 0 : (count[i - 1] as number) + 1, MAX_REPEAT));
    expected =
      counts.length === 1
        ? `an array of ${counts[0]} items`
        : `an array of ${counts.slice(0, -1).join(', ')} or ${counts[counts.length - 1]} items`;
  } else {
    if (!isPlainObject(count)) throw typeError(`${name}.count`, 'an object like {"min":1,"max":4} or an array of counts', count);
    checkKeys(`${name}.count`, count, ['min', 'max']);
    const min = checkInt(`${name}.count.min`, count.min, 0, MAX_REPEAT);
    const max = checkInt(`${name}.count.max`, count.max, min, MAX_REPEAT);
    counts = Array.from({ length: max - min + 1 }, (_, i) => min + i);
    expected = min === max ? `an array of ${min} items` : `an array of ${min} to ${max} items`;
  }
  return Object.freeze({ kind: 'repeat', counts: Object.freeze(counts), body, expected });
}

/** A fixed-length array of nodes. */
export function tuple(items: readonly DslNode[], name = 'tuple'): TupleNode {
  if (!Array.isArray(items)) throw typeError(name, 'an array of nodes', items);
  items.forEach((item, i) => {
    if (!isNode(item)) throw typeError(`${name}[${i}]`, NODE_DESCRIPTION, item);
  });
  return Object.freeze({ kind: 'tuple', items: Object.freeze([...items]) });
}

// ---------------------------------------------------------------------------------------------
// Walking the tree.

function conditionHolds(conditions: readonly Condition[], obj: Readonly<Record<string, unknown>>): boolean {
  return conditions.every((c) => Object.hasOwn(obj, c.key) && c.values.includes(obj[c.key] as Scalar));
}
function describeCondition(objectPath: string, conditions: readonly Condition[]): string {
  return conditions
    .map((c) => `${fieldPath(objectPath, c.key)} is ${c.values.length === 1 ? JSON.stringify(c.values[0]) : `one of ${listValues(c.values)}`}`)
    .join(' and ');
}
function cloneJson<T>(v: T): T {
  return (typeof v === 'object' && v !== null ? JSON.parse(JSON.stringify(v)) : v) as T;
}

/** Picks option indices while a config is generated: (decision path, number of options) → index. */
type Chooser = (path: string, size: number) => number;

function generate(node: DslNode, path: string, choose: Chooser): JsonValue {
  switch (node.kind) {
    case 'choice':
      return node.values[choose(path, node.values.length)]!;
    case 'constant':
      return cloneJson(node.value);
    case 'tuple':
      return node.items.map((item, i) => generate(item, itemPath(path, i), choose));
    case 'repeat': {
      const n = node.counts[choose(countPath(path), node.counts.length)]!;
      return Array.from({ length: n }, (_, c) => generate(node.body, itemPath(path, c), choose));
    }
    case 'object': {
      const out: Record<string, JsonValue> = {};
      for (const f of node.fields) {
        if (f.when && !conditionHolds(f.when, out)) continue;
        out[f.key] = generate(f.node, fieldPath(path, f.key), choose);
      }
      return out;
    }
  }
}

/** The object a choice lives in, so that changing it can add or drop conditional siblings. */
interface Owner {
  readonly object: Record<string, JsonValue>;
  readonly node: ObjectNode;
  readonly path: string;
}
/** One decision of a config, with where it lives (for edits). */
type Slot =
  | {
      readonly kind: 'choice';
      readonly path: string;
      readonly index: number;
      readonly node: ChoiceNode;
      readonly container: Record<string | number, JsonValue>;
      readonly key: string | number;
      readonly owner?: Owner;
    }
  | { readonly kind: 'count'; readonly path: string; readonly valuePath: string; readonly index: number; readonly node: RepeatNode; readonly array: JsonValue[] };

function slotSize(s: Slot): number {
  return s.kind === 'choice' ? s.node.values.length : s.node.counts.length;
}

/** Arrays are edited by index like objects by key. */
function asContainer(array: unknown[]): Record<string | number, JsonValue> {
  return array as unknown as Record<string | number, JsonValue>;
}

interface Place {
  readonly container: Record<string | number, JsonValue>;
  readonly key: string | number;
  readonly owner?: Owner;
}

/** Validates `value` against `node` and lists its decisions in pre-order. */
function read(node: DslNode, value: unknown, path: string, place: Place, slots: Slot[]): void {
  switch (node.kind) {
    case 'choice': {
      const index = isScalar(value) ? node.values.indexOf(value) : -1;
      if (index < 0) throw invalidArch(display(path), node.expected, value);
      slots.push({ kind: 'choice', path, index, node, ...place });
      return;
    }
    case 'constant': {
      let same = false;
      try {
        same = canonicalJson(value) === canonicalJson(node.value);
      } catch {
        // not JSON: not equal
      }
      if (!same) throw invalidArch(display(path), JSON.stringify(node.value), value);
      return;
    }
    case 'tuple': {
      if (!Array.isArray(value) || value.length !== node.items.length) {
        throw invalidArch(display(path), `an array of ${node.items.length} items`, value);
      }
      node.items.forEach((item, i) => read(item, value[i], itemPath(path, i), { container: asContainer(value), key: i }, slots));
      return;
    }
    case 'repeat': {
      const index = Array.isArray(value) ? node.counts.indexOf(value.length) : -1;
      if (index < 0) throw invalidArch(display(path), node.expected, value);
      const array = value as JsonValue[];
      slots.push({ kind: 'count', path: countPath(path), valuePath: path, index, node, array });
      array.forEach((copy, c) => read(node.body, copy, itemPath(path, c), { container: asContainer(array), key: c }, slots));
      return;
    }
    case 'object': {
      if (!isPlainObject(value)) throw invalidArch(display(path), 'an object', value);
      for (const k of Object.keys(value)) {
        if (!node.fields.some((f) => f.key === k)) {
          const allowed = node.fields.map((f) => `"${f.key}"`).join(', ');
          throw new NasxError('ERR_NASX_INVALID_ARCH', `Unknown field "${k}" in ${display(path)}; allowed fields are ${allowed}`);
        }
      }
      const obj = value as Record<string, JsonValue>;
      const owner: Owner = { object: obj, node, path };
      for (const f of node.fields) {
        const p = fieldPath(path, f.key);
        if (f.when && !conditionHolds(f.when, obj)) {
          if (obj[f.key] !== undefined) {
            throw new NasxError(
              'ERR_NASX_INVALID_ARCH',
              `Expected no value for ${p} (present only when ${describeCondition(path, f.when)}) but received ${describeValue(obj[f.key])}`,
            );
          }
          continue;
        }
        read(f.node, obj[f.key], p, { container: obj, key: f.key, owner }, slots);
      }
      return;
    }
  }
}

/** Fills a part of a config that an edit made present: a conditional field, or a new repeat copy. */
type Fill = (node: DslNode, path: string, previousCopy: JsonValue | undefined) => JsonValue;

/** Sets decision `slot` to option `option`, adding or dropping what depends on it. */
function applyEdit(slot: Slot, option: number, fill: Fill): void {
  if (slot.kind === 'count') {
    const n = slot.node.counts[option]!;
    const array = slot.array;
    if (n < array.length) array.length = n;
    for (let c = array.length; c < n; c++) array.push(fill(slot.node.body, itemPath(slot.valuePath, c), array[c - 1]));
    return;
  }
  slot.container[slot.key] = slot.node.values[option]!;
  if (slot.owner) {
    // Re-resolve the object's conditional fields in definition order (a condition may test a field
    // that has just appeared or disappeared), keeping the definition's key order.
    const { object: obj, node, path } = slot.owner;
    const ordered: Record<string, JsonValue> = {};
    for (const f of node.fields) {
      if (f.when && !conditionHolds(f.when, ordered)) continue;
      ordered[f.key] = obj[f.key] !== undefined ? obj[f.key]! : fill(f.node, fieldPath(path, f.key), undefined);
    }
    for (const k of Object.keys(obj)) delete obj[k];
    Object.assign(obj, ordered);
  }
}

/** Width of a node's region in the one-hot encoding: every decision slot of the max-expanded tree. */
function encodingWidth(node: DslNode, memo: Map<DslNode, number>): number {
  const known = memo.get(node);
  if (known !== undefined) return known;
  let w: number;
  switch (node.kind) {
    case 'choice':
      w = node.values.length;
      break;
    case 'constant':
      w = 0;
      break;
    case 'tuple':
      w = node.items.reduce((a, item) => a + encodingWidth(item, memo), 0);
      break;
    case 'repeat':
      w = node.counts.length + node.counts[node.counts.length - 1]! * encodingWidth(node.body, memo);
      break;
    case 'object':
      w = node.fields.reduce((a, f) => a + encodingWidth(f.node, memo), 0);
      break;
  }
  memo.set(node, w);
  return w;
}

/** Writes the one-hot blocks of a (valid) value at `offset`. */
function encodeInto(node: DslNode, value: JsonValue, offset: number, out: number[], memo: Map<DslNode, number>): void {
  switch (node.kind) {
    case 'choice':
      out[offset + node.values.indexOf(value as Scalar)] = 1;
      return;
    case 'constant':
      return;
    case 'tuple': {
      let o = offset;
      node.items.forEach((item, i) => {
        encodeInto(item, (value as JsonValue[])[i]!, o, out, memo);
        o += encodingWidth(item, memo);
      });
      return;
    }
    case 'repeat': {
      const array = value as JsonValue[];
      out[offset + node.counts.indexOf(array.length)] = 1;
      const w = encodingWidth(node.body, memo);
      array.forEach((copy, c) => encodeInto(node.body, copy, offset + node.counts.length + c * w, out, memo));
      return;
    }
    case 'object': {
      const obj = value as Record<string, JsonValue>;
      let o = offset;
      for (const f of node.fields) {
        if (obj[f.key] !== undefined) encodeInto(f.node, obj[f.key]!, o, out, memo);
        o += encodingWidth(f.node, memo);
      }
      return;
    }
  }
}

/** Column names of the encoding, e.g. `layers[1].units=64`, `layers.length=3`. */
function encodingLabels(node: DslNode, path: string, out: string[]): void {
  switch (node.kind) {
    case 'choice':
      for (const v of node.values) out.push(`${display(path)}=${JSON.stringify(v)}`);
      return;
    case 'constant':
      return;
    case 'tuple':
      node.items.forEach((item, i) => encodingLabels(item, itemPath(path, i), out));
      return;
    case 'repeat':
      for (const c of node.counts) out.push(`${countPath(path)}=${c}`);
      for (let c = 0; c < node.counts[node.counts.length - 1]!; c++) encodingLabels(node.body, itemPath(path, c), out);
      return;
    case 'object':
      for (const f of node.fields) encodingLabels(f.node, fieldPath(path, f.key), out);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// The generic space.

/** A space: the DSL tree, plus how to turn a config into an engine architecture and how to hash it. */
export interface SpaceDefinition<C = JsonValue> {
  /** Registry name, e.g. "mlp". */
  name: string;
  /** The DSL tree whose configs are this space's architectures. */
  params: DslNode;
  /**
   * The engine architecture for a (valid) config. Omitted for spaces whose configs are keys into a
   * table (tabular benchmarks): `cost` is then zero and `build` throws. May throw
   * NasxError('ERR_NASX_INVALID_ARCH') for configs that are in the space but cannot be trained.
   */
  build?: (config: C, io: IoShape) => Arch;
  /** Maps equivalent configs to one representative before hashing. Default: the config itself. */
  canonicalize?: (config: C) => unknown;
  /** Extra validation beyond the DSL (throws NasxError('ERR_NASX_INVALID_ARCH')). */
  check?: (config: C) => void;
  /** One line for listings. */
  description?: string;
  /**
   * A readable name for a decision path, for explanations and reports (nb201: `edges[3]` is
   * "edge 3←0"); undefined keeps the path. Default: the path.
   */
  decisionName?: (path: string) => string | undefined;
}

/** One decision of an architecture, for display and analysis. */
export interface DecisionInfo {
  /** e.g. `layers[1].units`, or `layers.length` for a repeat's count. */
  path: string;
  kind: 'choice' | 'count';
  /** Index of the chosen option. */
  index: number;
  /** The option values (for a count, the allowed lengths). */
  options: readonly Scalar[];
}

class NeedsDecision {
  constructor(readonly size: number) {}
}

/**
 * The generic `SearchSpace` over a DSL tree; its architectures are the tree's configs.
 *
 * - `sample`: each decision uniform given the earlier ones.
 * - `mutate`: one decision, chosen uniformly among those with more than one option, set to a
 *   different option chosen uniformly. Fields that become present are sampled; a repeat that grows
 *   gets new sampled copies at the end, one that shrinks loses copies from the end.
 * - `neighbours`: every one-decision change, in pre-order of the decisions and ascending option order;
 *   a repeat's count moves by ±1 only. What an edit makes present is deterministic: a new copy is a
 *   copy of the last one (or, for the first copy, every decision's first option); a field that
 *   becomes present gets every decision's first option.
 * - `encode`: one-hot blocks for every decision slot of the max-expanded tree (every conditional field
 *   present, every repeat at its largest count), in pre-order, a repeat's count block before its
 *   copies; the blocks of slots absent from a config are all zeros. `encodingLabels()` names the columns.
 * - `hash`: `canonicalHash(canonicalize(config))`: sorted-key JSON, SHA-1, 16 hex digits.
 * - `cost`: `describeArch(build(config, io), io)` when the space has a `build`, else zero params and FLOPs.
 */
export class DslSpace<C = JsonValue> implements SearchSpace<C> {
  readonly name: string;
  readonly params: DslNode;
  readonly description: string;
  readonly encodingLength: number;
  /** Whether `build` turns configs into engine architectures (false for tabular config spaces). */
  readonly trainable: boolean;
  readonly #build?: (config: C, io: IoShape) => Arch;
  readonly #canonicalize?: (config: C) => unknown;
  readonly #check?: (config: C) => void;
  readonly #decisionName?: (path: string) => string | undefined;
  readonly #widths = new Map<DslNode, number>();

  constructor(definition: SpaceDefinition<C>) {
    if (!isPlainObject(definition)) throw typeError('definition', 'an object like {"name":"myspace","params":...}', definition);
    if (typeof definition.name !== 'string' || definition.name === '') {
      throw typeError('definition.name', 'a non-empty string', definition.name);
    }
    if (!isNode(definition.params)) throw typeError('definition.params', NODE_DESCRIPTION, definition.params);
    for (const key of ['build', 'canonicalize', 'check', 'decisionName'] as const) {
      if (definition[key] !== undefined && typeof definition[key] !== 'function') {
        throw typeError(`definition.${key}`, 'a function', definition[key]);
      }
    }
    this.name = definition.name;
    this.params = definition.params;
    this.description = definition.description ?? '';
    this.#build = definition.build;
    this.#canonicalize = definition.canonicalize;
    this.#check = definition.check;
    this.#decisionName = definition.decisionName;
    this.trainable = definition.build !== undefined;
    this.encodingLength = encodingWidth(this.params, this.#widths);
    if (this.encodingLength > MAX_ENCODING) {
      throw new RangeError(
        `Expected a space with at most ${MAX_ENCODING} decision options (every repeat at its largest count) for ${this.name} but it has ` +
          `${this.encodingLength}: nested repeats multiply; lower their counts or nest fewer`,
      );
    }
  }

  /** Validates and lists the decisions of `arch`, with where each lives. */
  #slots(arch: unknown): Slot[] {
    const holder: Record<string, JsonValue> = { arch: arch as JsonValue };
    const slots: Slot[] = [];
    read(this.params, arch, '', { container: holder, key: 'arch' }, slots);
    this.#check?.(arch as C);
    return slots;
  }

  /** Replays decision indices through the tree; `onEnd` answers when they run out early. */
  #replay(seq: readonly number[], onEnd: (size: number, path: string) => number): JsonValue {
    if (!Array.isArray(seq)) throw invalidArch('decisions', 'an array of option indices', seq);
    let i = 0;
    const value = generate(this.params, '', (path, size) => {
      if (i === seq.length) return onEnd(size, path);
      const d = seq[i];
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d >= size) {
        throw invalidArch(`decisions[${i}] (${display(path)})`, `an integer between 0 and ${size - 1}`, d);
      }
      i++;
      return d;
    });
    if (i !== seq.length) {
      throw invalidArch('decisions', `${i} decisions (the architecture is complete after them)`, seq);
    }
    return value;
  }

  sample(rng: Rng): C {
    return generate(this.params, '', (_path, size) => (size === 1 ? 0 : rng.nextInt(size))) as C;
  }

  mutate(arch: C, rng: Rng): C {
    this.#slots(arch);
    const holder = { arch: cloneJson(arch) as JsonValue };
    const slots = this.#slotsIn(holder).filter((s) => slotSize(s) > 1);
    if (slots.length === 0) {
      throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `Search space "${this.name}" has a single architecture: there is nothing to mutate`);
    }
    const slot = slots[rng.nextInt(slots.length)]!;
    let option = rng.nextInt(slotSize(slot) - 1);
    if (option >= slot.index) option++;
    applyEdit(slot, option, (node, path) => generate(node, path, (_p, size) => (size === 1 ? 0 : rng.nextInt(size))));
    return holder.arch as C;
  }

  /** Lists the decisions of the (already valid) config in `holder.arch`, with `holder` as the root's container. */
  #slotsIn(holder: { arch: JsonValue }): Slot[] {
    const slots: Slot[] = [];
    read(this.params, holder.arch, '', { container: holder as Record<string, JsonValue>, key: 'arch' }, slots);
    return slots;
  }

  neighbours(arch: C): C[] {
    const slots = this.#slots(arch);
    const fill: Fill = (node, path, previousCopy) =>
      previousCopy !== undefined ? cloneJson(previousCopy) : generate(node, path, () => 0);
    const out: C[] = [];
    slots.forEach((slot, k) => {
      const options =
        slot.kind === 'count'
          ? [slot.index - 1, slot.index + 1].filter((j) => j >= 0 && j < slotSize(slot))
          : Array.from({ length: slotSize(slot) }, (_, j) => j).filter((j) => j !== slot.index);
      for (const option of options) {
        const holder = { arch: cloneJson(arch) as JsonValue };
        applyEdit(this.#slotsIn(holder)[k]!, option, fill);
        out.push(holder.arch as C);
      }
    });
    return out;
  }

  decisions(arch: C): number[] {
    return this.#slots(arch).map((s) => s.index);
  }

  /** The decisions of `arch` with their paths and options, e.g. for reports. */
  describeDecisions(arch: C): DecisionInfo[] {
    return this.#slots(arch).map((s) => ({
      path: s.path,
      kind: s.kind,
      index: s.index,
      options: s.kind === 'choice' ? s.node.values : s.node.counts,
    }));
  }

  /** The readable name of a decision path (see `SpaceDefinition.decisionName`), e.g. `layers[1].units`. */
  decisionName(path: string): string {
    return this.#decisionName?.(path) ?? path;
  }

  optionsAt(prefix: readonly number[]): number {
    try {
      this.#replay(prefix, (size) => {
        throw new NeedsDecision(size);
      });
    } catch (err) {
      if (err instanceof NeedsDecision) return err.size;
      throw err;
    }
    return 0;
  }

  fromDecisions(seq: readonly number[]): C {
    return this.#replay(seq, (size, path) => {
      throw invalidArch(`decisions[${seq.length}] (${display(path)})`, `an integer between 0 and ${size - 1}`, undefined);
    }) as C;
  }

  /** Every architecture of the space, in decision order (for small spaces: tabular benchmarks, tests). */
  *enumerate(): Generator<C> {
    const prefix: number[] = [];
    const self = this;
    function* walk(): Generator<C> {
      const n = self.optionsAt(prefix);
      if (n === 0) {
        yield self.fromDecisions(prefix);
        return;
      }
      for (let j = 0; j < n; j++) {
        prefix.push(j);
        yield* walk();
        prefix.pop();
      }
    }
    yield* walk();
  }

  encode(arch: C): number[] {
    this.#slots(arch);
    const out = new Array<number>(this.encodingLength).fill(0);
    encodeInto(this.params, arch as JsonValue, 0, out, this.#widths);
    return out;
  }

  /** Names of the `encode` columns, e.g. `layers[0].units=64` (length `encodingLength`). */
  encodingLabels(): string[] {
    const out: string[] = [];
    encodingLabels(this.params, '', out);
    return out;
  }

  hash(arch: C): string {
    this.#slots(arch);
    return canonicalHash(this.#canonicalize ? this.#canonicalize(arch) : arch);
  }

  validate(arch: C): void {
    this.#slots(arch);
  }

  /** The engine architecture for `arch` (see `SpaceDefinition.build`). */
  build(arch: C, io: IoShape): Arch {
    this.#slots(arch);
    if (!this.#build) {
      throw new NasxError(
        'ERR_NASX_INVALID_ARGUMENT',
        `Search space "${this.name}" has no build: its architectures are plain configs (for a tabular or function evaluator), not engine architectures`,
      );
    }
    return this.#build(arch, io);
  }

  cost(arch: C, io: IoShape): ArchCost {
    if (!this.#build) {
      this.#slots(arch);
      return { params: 0, flops: 0 };
    }
    const plan = describeArch(this.build(arch, io), io);
    return { params: plan.params, flops: plan.flops };
  }
}
