/**
 * Seeded random JavaScript values for fuzzing API arguments: every JSON type, the numbers that break
 * range checks (huge, negative, NaN, ±Infinity, -0, 2^31, 2^32, 2^53 + 1), long strings, arrays up to a
 * bound, deep nesting, and a few non-JSON values (undefined, functions, typed arrays, symbols, bigints).
 * `mutateValue` changes one spot of a valid value, which reaches the checks a random value never does.
 */
import { FuzzRng } from './mutate.js';

/** Numbers at the edges of JavaScript's and the project's ranges (MAX_REPEAT 1024, MAX_OPTIONS 10000, 65536 filters, 2^20 units). */
export const EDGE_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 2, 3, 0.5, 1.5, -0.5, 0.9999, 1e-9, 5e-324, 7, 8, 10, 16, 64, 100, 255, 256, 1000, 1024, 1025, 4096, 10000, 10001, 65535, 65536, 65537,
  1 << 20, (1 << 20) + 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 1e21, 1e308, -1e308,
  Number.MAX_VALUE, -Number.MAX_VALUE, NaN, Infinity, -Infinity,
];

const EDGE_STRINGS: readonly string[] = [
  '', ' ', '0', '1', '-1', 'NaN', 'true', 'null', 'undefined', 'relu', 'mlp', 'cnn', 'graph', 'nb201', 'digits', 'fashion-mnist',
  'classification', 'regression', 'adamw', 'sgd', 'evolution', 'random', 'bo', 'mcts', 'local', 'reinforce', 'test', 'validation',
  '__proto__', 'constructor', 'toString', '\u0000', '\ufeff', 'é', '😀', '../../etc/passwd', '/dev/null', '/nonexistent/file.csv', 'a'.repeat(300),
];

export interface RandomValueOptions {
  /** Deepest nesting (default 4); one value in 40 is a deep chain up to `deepNesting` instead. */
  maxDepth?: number;
  /** Longest array (default 6; one in 20 arrays is up to `maxArray`). */
  maxArray?: number;
  /** Depth of the occasional deeply nested value (default 2000). */
  deepNesting?: number;
  /** Allow values JSON cannot express (default true). */
  nonJson?: boolean;
}

export function randomNumber(rng: FuzzRng): number {
  switch (rng.below(4)) {
    case 0:
      return rng.pick(EDGE_NUMBERS);
    case 1:
      return rng.below(20) - 5;
    case 2:
      return (rng.float() - 0.5) * 10 ** rng.below(12);
    default:
      return rng.pick(EDGE_NUMBERS) * (rng.chance(0.5) ? -1 : 1) + (rng.chance(0.3) ? rng.float() : 0);
  }
}

export function randomString(rng: FuzzRng): string {
  if (rng.chance(0.6)) return rng.pick(EDGE_STRINGS);
  const n = rng.below(12);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.chance(0.9) ? 32 + rng.below(95) : rng.below(0x3000));
  return s;
}

function deepValue(rng: FuzzRng, depth: number): unknown {
  let v: unknown = rng.chance(0.5) ? 1 : {};
  // One reference per level: a shared child would make the value exponentially large as JSON.
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : rng.chance(0.5) ? { layers: [v] } : { a: v };
  return v;
}

export function randomValue(rng: FuzzRng, options: RandomValueOptions = {}, depth = 0): unknown {
  const maxDepth = options.maxDepth ?? 4;
  const nonJson = options.nonJson ?? true;
  if (rng.chance(1 / 40)) return deepValue(rng, 1 + rng.below(options.deepNesting ?? 2000));
  const kinds = depth >= maxDepth ? 5 : 7;
  switch (rng.below(kinds + (nonJson ? 1 : 0))) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
    case 3:
      return randomNumber(rng);
    case 4:
      return randomString(rng);
    case 5: {
      const big = rng.chance(0.05);
      const n = big ? rng.below((options.maxArray ?? 100_000) + 1) : rng.below((options.maxArray === undefined ? 6 : Math.min(6, options.maxArray)) + 1);
      if (big) {
        const fill = rng.below(3);
        return Array.from({ length: n }, (_, i) => (fill === 0 ? i : fill === 1 ? 0.5 : { units: 1 }));
      }
      return Array.from({ length: n }, () => randomValue(rng, options, depth + 1));
    }
    case 6: {
      const o: Record<string, unknown> = {};
      const n = rng.below(5);
      for (let i = 0; i < n; i++) o[randomString(rng)] = randomValue(rng, options, depth + 1);
      return o;
    }
    default:
      switch (rng.below(7)) {
        case 0:
          return undefined;
        case 1:
          return () => 1;
        case 2:
          return new Float32Array(rng.below(10));
        case 3:
          return Symbol('fuzz');
        case 4:
          return BigInt(rng.below(1000));
        case 5:
          return new Int32Array(rng.below(10));
        default:
          return new Date(0);
      }
  }
}

type Path = (string | number)[];

function paths(value: unknown, prefix: Path, out: Path[], depth: number): void {
  out.push(prefix);
  if (depth > 6 || typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return;
  // A class instance (a space, an evaluator, a table) is replaced whole, never edited inside: its
  // private fields are not input.
  if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return;
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  for (const [k, v] of entries.slice(0, 64)) paths(v, [...prefix, k], out, depth + 1);
}

function clone(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (ArrayBuffer.isView(v)) return (v as unknown as { slice(): unknown }).slice();
  if (v instanceof AbortSignal || v instanceof Date) return v;
  if (Array.isArray(v)) return v.map(clone);
  if (Object.getPrototypeOf(v) !== Object.prototype) return v; // class instances (spaces, evaluators) as they are
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
}

let editLog: string[] | undefined;

/** Starts recording the edits `mutateValue` makes (for failure reports); `takeEditLog` returns them. */
export function startEditLog(): void {
  editLog = [];
}
export function takeEditLog(): string[] {
  const log = editLog ?? [];
  editLog = undefined;
  return log;
}

/** Records `label = value` in the edit log (for a value made at random rather than by mutation); returns it. */
export function logged<T>(label: string, value: T): T {
  editLog?.push(`${label} = ${show(value, 200)}`);
  return value;
}

function pathText(label: string, path: Path): string {
  return label + path.map((k) => (typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
}

/**
 * A copy of `valid` with one to three spots changed: a field or item replaced by a random value,
 * deleted, or a new random field added. Class instances inside are shared, not copied. The edits are
 * recorded (when `startEditLog` was called) under `label`, e.g. `options.epochs = NaN`.
 */
export function mutateValue(rng: FuzzRng, valid: unknown, options: RandomValueOptions = {}, label = 'value'): unknown {
  let root: unknown = clone(valid);
  // Mostly one edit: an argument with one bad spot reaches the check of that spot.
  const edits = rng.chance(0.6) ? 1 : 2 + rng.below(2);
  for (let e = 0; e < edits; e++) {
    const all: Path[] = [];
    paths(root, [], all, 0);
    const path = rng.pick(all);
    if (path.length === 0) {
      if (rng.chance(0.3)) {
        root = randomValue(rng, options);
        editLog?.push(`${label} = ${show(root, 200)}`);
      }
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    if (typeof parent !== 'object' || parent === null || Object.isFrozen(parent) || Object.getPrototypeOf(parent) === null) continue;
    if (!Array.isArray(parent) && Object.getPrototypeOf(parent) !== Object.prototype) continue;
    const key = path[path.length - 1]!;
    const r = rng.below(10);
    if (r < 7) {
      parent[key] = rng.chance(0.5) ? randomValue(rng, options) : mutateScalar(rng, parent[key]);
      editLog?.push(`${pathText(label, path)} = ${show(parent[key], 200)}`);
    } else if (r < 9) {
      if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
      else delete parent[key];
      editLog?.push(`${Array.isArray(parent) ? 'removed' : 'deleted'} ${pathText(label, path)}`);
    } else if (!Array.isArray(parent)) {
      const k = randomString(rng);
      parent[k] = randomValue(rng, options);
      editLog?.push(`${pathText(label, [...path.slice(0, -1), k])} = ${show(parent[k], 200)} (added)`);
    } else {
      parent.push(randomValue(rng, options));
      editLog?.push(`${pathText(label, path.slice(0, -1))}.push(${show(parent[parent.length - 1], 200)})`);
    }
  }
  return root;
}

/** A value near `v`: another edge number for a number, a near-miss string for a string, etc. */
function mutateScalar(rng: FuzzRng, v: unknown): unknown {
  if (typeof v === 'number') return rng.chance(0.5) ? rng.pick(EDGE_NUMBERS) : v * rng.pick([-1, 0.5, 2, 1000, 1e-3]) + rng.pick([0, 0.5, 1, -1]);
  if (typeof v === 'string') return rng.pick([v.toUpperCase(), `${v} `, v.slice(1), `${v}x`, String(Number(v) + 1), '']);
  if (typeof v === 'boolean') return rng.pick([!v, 0, 1, 'true']);
  return randomValue(rng);
}

/** How deep a nested value goes (following its first child), for rendering deep values briefly. */
function countDepth(v: unknown): number {
  let n = 0;
  while (typeof v === 'object' && v !== null && n < 100_000) {
    const children = Array.isArray(v) ? v : Object.values(v);
    if (children.length === 0) break;
    v = children[0];
    n++;
  }
  return n;
}

/** A short, unambiguous rendering of any value for failure messages (NaN, -0, undefined, typed arrays shown). */
export function show(value: unknown, limit = 400): string {
  const seen = new WeakSet<object>();
  const render = (v: unknown, depth: number): string => {
    if (v === undefined) return 'undefined';
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'symbol') return v.toString();
    if (typeof v === 'function') return '[function]';
    if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
    if (v === null || typeof v !== 'object') return String(v);
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    try {
      if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
      if (depth > 8) return Array.isArray(v) ? `[…${countDepth(v)} levels]` : `{…${countDepth(v)} levels}`;
      if (Array.isArray(v)) {
        if (v.length > 12) return `[${v.slice(0, 4).map((x) => render(x, depth + 1)).join(',')},… (${v.length} items)]`;
        return `[${v.map((x) => render(x, depth + 1)).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return `[${(v as object).constructor?.name ?? 'object'}]`;
      return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${render(x, depth + 1)}`).join(',')}}`;
    } finally {
      seen.delete(v);
    }
  };
  const s = render(value, 0);
  return s.length > limit ? `${s.slice(0, limit - 3)}...` : s;
}
