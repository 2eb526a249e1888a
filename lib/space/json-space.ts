/**
 * Search spaces written by users as JSON files: the DSL (see dsl.ts) in JSON form.
 *
 * ```json
 * {
 *   "name": "tabular-demo",
 *   "type": "config",
 *   "description": "optional, one line",
 *   "params": {
 *     "optimizer": {"choice": ["sgd", "adamw"]},
 *     "momentum": {"choice": [0.8, 0.9], "when": {"optimizer": ["sgd"]}},
 *     "lr": {"log": {"low": 0.0001, "high": 0.1, "count": 4}},
 *     "layers": {"repeat": {"units": {"int": {"low": 16, "high": 64, "step": 16}}, "act": "relu"},
 *                "count": {"min": 1, "max": 3}}
 *   }
 * }
 * ```
 *
 * - `name` (required): the space's name. `description`: optional.
 * - `type`: `"config"` (default) — the configs are plain JSON with no engine architecture (for
 *   tabular benchmarks keyed by decisions, or a function evaluator); `cost` is zero.
 *   `"mlp"` or `"cnn"` — each config, with `"type"` added, IS an engine architecture of that type
 *   (see the README's architecture format): `params` must be an object of fields and may not set
 *   `type`; the loader checks a few configs (first options, last options, 32 seeded samples) against
 *   the architecture format, and `validate` checks every config it is given.
 * - `params`: a node. A node is
 *   - a number, string, boolean or null: a constant;
 *   - an array of nodes: a fixed-length array;
 *   - an object with one of the keys below: a descriptor;
 *   - any other object: an object whose fields are nodes (to have a field named like a descriptor
 *     key, write `{"object": {...}}`).
 *
 * | descriptor | meaning |
 * | --- | --- |
 * | `{"choice": [values]}` | one of distinct numbers, strings, booleans or null |
 * | `{"int": {"low": 1, "high": 9, "step": 2}}` | integers low, low+step, …, high (`step` default 1) |
 * | `{"log": {"low": 1e-4, "high": 0.1, "count": 4, "integer": false}}` | `count` log-spaced values, low and high included |
 * | `{"repeat": node, "count": {"min": 1, "max": 4}}` | an array of 1 to 4 copies of node (`count` may also be an ascending list like `[1, 2, 4]`) |
 * | `{"constant": value}` | any JSON value, as is |
 * | `{"object": {fields}}` | an object of fields, written explicitly |
 *
 * A descriptor that is a field of an object may carry `"when": {"field": [values], ...}`: the field is
 * present only when every named earlier field of the same object (a choice or a constant) has one of
 * the values (a bare value stands for a one-element list).
 *
 * A malformed file is a NasxError('ERR_NASX_INVALID_ARGUMENT') whose message starts with the file
 * and names the path within it, e.g.
 * `my.json: Expected an integer >= 1 for params.layers.count.max but received 0 of type number`.
 */
import { readFile } from 'node:fs/promises';
import { validateArch } from '../arch/arch.js';
import type { Arch } from '../arch/arch.js';
import { NasxError, rangeError, typeError } from '../errors.js';
import { createRng } from '../util/rng.js';
import {
  DslSpace,
  choice,
  constant,
  fieldPath,
  intRange,
  logChoice,
  object,
  repeat,
  tuple,
  when,
  type DslNode,
  type FieldNode,
  type JsonValue,
} from './dsl.js';

export const JSON_SPACE_TYPES = ['config', 'mlp', 'cnn'] as const;
export type JsonSpaceType = (typeof JSON_SPACE_TYPES)[number];

const DESCRIPTORS = ['choice', 'int', 'log', 'repeat', 'constant', 'object'] as const;
type Descriptor = (typeof DESCRIPTORS)[number];
const DESCRIPTOR_FIELDS: Record<Descriptor, readonly string[]> = {
  choice: ['choice', 'when'],
  int: ['int', 'when'],
  log: ['log', 'when'],
  repeat: ['repeat', 'count', 'when'],
  constant: ['constant', 'when'],
  object: ['object', 'when'],
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownField(path: string, key: string, allowed: readonly string[]): RangeError {
  return new RangeError(`Unknown field "${key}" in ${path}; allowed fields are ${allowed.map((a) => `"${a}"`).join(', ')}`);
}

/** The descriptor key of `value`, or undefined for a plain object of fields. */
function descriptorOf(value: Record<string, unknown>, path: string): Descriptor | undefined {
  const found = DESCRIPTORS.filter((d) => Object.hasOwn(value, d));
  if (found.length === 0) return undefined;
  if (found.length > 1) {
    throw new RangeError(
      `Expected exactly one of the keys ${DESCRIPTORS.map((d) => `"${d}"`).join(', ')} in ${path} but received ${found.map((d) => `"${d}"`).join(' and ')}`,
    );
  }
  const kind = found[0]!;
  for (const key of Object.keys(value)) {
    if (!DESCRIPTOR_FIELDS[kind].includes(key)) throw unknownField(path, key, DESCRIPTOR_FIELDS[kind]);
  }
  return kind;
}

function parseFields(value: Record<string, unknown>, path: string): Record<string, FieldNode> {
  const fields: Record<string, FieldNode> = {};
  for (const [key, v] of Object.entries(value)) fields[key] = parseField(v, fieldPath(path, key));
  return fields;
}

/** A field of an object: a node, or a descriptor with `when`. */
function parseField(value: unknown, path: string): FieldNode {
  if (isPlainObject(value)) {
    const kind = descriptorOf(value, path);
    if (kind && value.when !== undefined) return when(value.when as never, parseDescriptor(kind, value, path), `${path}.when`);
  }
  return parseNode(value, path);
}

/** Space descriptions nest at most this deep (deeper input is refused, not a stack overflow). */
const MAX_DEPTH = 64;

function parseNode(value: unknown, path: string): DslNode {
  if ((path.match(/\.|\[/g)?.length ?? 0) > MAX_DEPTH) {
    throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `search space: ${path.slice(0, 80)}...: nested more than ${MAX_DEPTH} levels deep`);
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    return constant(value, path);
  }
  if (Array.isArray(value)) return tuple(value.map((v, i) => parseNode(v, `${path}[${i}]`)), path);
  if (isPlainObject(value)) {
    const kind = descriptorOf(value, path);
    if (!kind) return object(parseFields(value, path), path);
    if (value.when !== undefined) {
      throw new RangeError(`Unexpected "when" in ${path}: a condition is only allowed on a field of an object`);
    }
    return parseDescriptor(kind, value, path);
  }
  throw typeError(path, 'a search-space node (a value, an array, an object of fields or a descriptor like {"choice":[...]})', value);
}

function parseDescriptor(kind: Descriptor, value: Record<string, unknown>, path: string): DslNode {
  switch (kind) {
    case 'choice':
      return choice(value.choice as never, `${path}.choice`);
    case 'int':
      return intRange(value.int as never, `${path}.int`);
    case 'log':
      return logChoice(value.log as never, `${path}.log`);
    case 'repeat':
      return repeat(parseNode(value.repeat, `${path}.repeat`), value.count as never, path);
    case 'constant':
      return constant(value.constant as JsonValue, `${path}.constant`);
    case 'object':
      if (!isPlainObject(value.object)) throw typeError(`${path}.object`, 'an object of fields', value.object);
      return object(parseFields(value.object, `${path}.object`), `${path}.object`);
  }
}

/** Decisions that pick every decision's first (`last` false) or last option. */
function extremeDecisions(space: DslSpace, last: boolean): number[] {
  const prefix: number[] = [];
  for (let n = space.optionsAt(prefix); n > 0; n = space.optionsAt(prefix)) prefix.push(last ? n - 1 : 0);
  return prefix;
}

/**
 * Builds a space from a parsed JSON description (format above). `source` names it in messages
 * (the file path, when loaded from a file).
 *
 * @example parseSearchSpace({ name: 'lr', params: { lr: { log: { low: 1e-4, high: 1e-1, count: 4 } } } })
 */
export function parseSearchSpace(value: unknown, source = 'search space'): DslSpace<JsonValue> {
  try {
    return parseSpace(value, source);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `${source}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function parseSpace(value: unknown, source: string): DslSpace<JsonValue> {
  if (!isPlainObject(value)) throw typeError('the search space', 'an object like {"name":"myspace","params":{...}}', value);
  const allowed = ['name', 'type', 'description', 'params'];
  for (const key of Object.keys(value)) if (!allowed.includes(key)) throw unknownField('the search space', key, allowed);
  const { name, description } = value;
  if (typeof name !== 'string') throw typeError('name', 'a non-empty string', name);
  if (name === '') throw rangeError('name', 'a non-empty string', name);
  if (description !== undefined && typeof description !== 'string') throw typeError('description', 'a string', description);
  const type = value.type ?? 'config';
  if (!(JSON_SPACE_TYPES as readonly unknown[]).includes(type)) {
    const expected = `one of ${JSON_SPACE_TYPES.map((t) => `"${t}"`).join(', ')}`;
    throw typeof type === 'string' ? rangeError('type', expected, type) : typeError('type', expected, type);
  }
  if (value.params === undefined) throw typeError('params', 'a search-space node', undefined);

  if (type === 'config') {
    return new DslSpace<JsonValue>({ name, description, params: parseNode(value.params, 'params') });
  }

  const params = value.params;
  const fieldsExpected = `an object of fields (the fields of the ${type} architecture)`;
  if (!isPlainObject(params)) throw typeError('params', fieldsExpected, params);
  const kind = descriptorOf(params, 'params');
  if (kind) throw new TypeError(`Expected ${fieldsExpected} for params but received a "${kind}" descriptor`);
  if (Object.hasOwn(params, 'type')) {
    throw rangeError('params.type', `no "type" field (the space's "type" sets it)`, params.type);
  }
  const space = new DslSpace<JsonValue>({
    name,
    description,
    params: object({ type: constant(type as JsonSpaceType), ...parseFields(params, 'params') }, 'params'),
    build: (config) => spliceRepeats(structuredClone(config)) as unknown as Arch,
    check: (config) => validateArch(spliceRepeats(config), 'arch'),
  });
  // Catch misspelt fields and impossible values now rather than at the first unlucky sample.
  const rng = createRng(0);
  const probes = [
    space.fromDecisions(extremeDecisions(space, false)),
    space.fromDecisions(extremeDecisions(space, true)),
    ...Array.from({ length: 32 }, () => space.sample(rng)),
  ];
  for (const config of probes) {
    try {
      validateArch(spliceRepeats(config), 'arch');
    } catch (err) {
      if (!(err instanceof NasxError)) throw err;
      throw new NasxError(
        'ERR_NASX_INVALID_ARGUMENT',
        `${source}: params do not describe ${type === 'mlp' ? 'an' : 'a'} ${type} architecture: ${err.message} (in the config ${JSON.stringify(config).slice(0, 200)})`,
        { cause: err },
      );
    }
  }
  return space;
}

/**
 * An architecture's layer lists with every nested list spliced in place: a `repeat` placed between
 * fixed layers (`"layers": [stem, {"repeat": block, ...}, head]`) yields a list inside the list, and
 * the architecture wants the stem, the repeated blocks and the head in one list. Layer lists never
 * hold lists of their own, so this changes nothing else.
 */
function spliceRepeats(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.flatMap((item) => (Array.isArray(item) ? item.map(spliceRepeats) : [spliceRepeats(item)]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, spliceRepeats(v as JsonValue)]));
  }
  return value;
}

/**
 * Reads and parses a search-space JSON file. A missing or unreadable file is NasxError('ERR_NASX_IO');
 * malformed JSON or a malformed space is NasxError('ERR_NASX_INVALID_ARGUMENT') naming the path.
 *
 * @example const space = await loadSearchSpace('spaces/tabular.json');
 */
export async function loadSearchSpace(file: string): Promise<DslSpace<JsonValue>> {
  if (typeof file !== 'string' || file === '') throw typeError('file', 'a non-empty string', file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new NasxError('ERR_NASX_IO', `Cannot read search space file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseSearchSpace(value, file);
}
