/**
 * The property checks every search space must pass, shared by the tests of the built-in spaces and
 * of user JSON spaces.
 */
import type { ExecutionContext } from 'ava';
import type { DecisionInfo, DslSpace } from '../../lib/space/dsl.js';
import { canonicalJson } from '../../lib/space/canonical-hash.js';
import { createRng } from '../../lib/util/rng.js';

/** `a.b[2].c` → `a.b[2]`; `a` → ''. The object or array a decision path lives in. */
function parentPath(path: string): string {
  const m = /^(.*?)(\.[A-Za-z_$][\w$]*|\[[^\]]*\])$/.exec(path);
  return m ? m[1]! : '';
}

/**
 * Describes how `b` differs from `a` in decisions; returns an error string when it is not exactly one
 * decision changed (with only that decision's dependants added or removed), else undefined.
 */
export function oneDecisionApart<C>(space: DslSpace<C>, a: C, b: C): string | undefined {
  const da = new Map(space.describeDecisions(a).map((d) => [d.path, d]));
  const db = new Map(space.describeDecisions(b).map((d) => [d.path, d]));
  const changed: DecisionInfo[] = [];
  for (const [path, d] of da) {
    const e = db.get(path);
    if (e && e.index !== d.index) changed.push(d);
  }
  if (changed.length !== 1) return `expected one changed decision but found ${changed.map((d) => d.path).join(', ') || 'none'}`;
  const c = changed[0]!;
  const onlyOne = [...da.keys()].filter((p) => !db.has(p)).concat([...db.keys()].filter((p) => !da.has(p)));
  for (const p of onlyOne) {
    if (c.kind === 'count') {
      // Copies added or removed at the end of the array.
      const array = c.path.slice(0, -'.length'.length);
      const shorter = Math.min(Number(c.options[da.get(c.path)!.index]), Number(c.options[db.get(c.path)!.index]));
      const m = new RegExp(`^${escape(array)}\\[(\\d+)\\]`).exec(p);
      if (!m || Number(m[1]) < shorter) return `${p} appeared or disappeared but is not a copy past ${array}[${shorter - 1}]`;
    } else {
      // A conditional sibling (or something inside one) of the changed decision.
      const parent = parentPath(c.path);
      if (parent !== '' && !p.startsWith(parent)) return `${p} appeared or disappeared but is not in ${parent}`;
      if (p === c.path) return `${p} itself appeared or disappeared`;
    }
  }
  return undefined;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Reverses the key order of every object, to check hashing ignores it. */
function reorderKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorderKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reorderKeys(x)]),
    );
  }
  return v;
}

export interface PropertyOptions {
  samples: number;
  /** How many of the samples also get their neighbours checked. */
  neighbourSamples: number;
  seed?: number;
}

/**
 * Checks, over seeded samples: validity, decision round trips, `optionsAt` walks, encoding shape and
 * injectivity, mutation (valid, different, one decision apart), neighbours (valid, distinct, one
 * decision apart, the expected count), hash stability and determinism under a seed.
 */
export function checkSpaceProperties<C>(t: ExecutionContext, space: DslSpace<C>, options: PropertyOptions): void {
  const rng = createRng(options.seed ?? 1);
  const encodings = new Map<string, string>();
  let failures = 0;
  const fail = (message: string) => {
    failures++;
    if (failures <= 5) t.fail(message);
  };

  for (let s = 0; s < options.samples; s++) {
    const a = space.sample(rng);
    const key = canonicalJson(a);
    space.validate(a);

    const decisions = space.decisions(a);
    const back = space.fromDecisions(decisions);
    if (canonicalJson(back) !== key) fail(`fromDecisions(decisions(a)) differs from a = ${key}`);

    // optionsAt walk: each prefix's option count matches the decision's options, and it ends with 0.
    const infos = space.describeDecisions(a);
    for (let k = 0; k <= decisions.length; k++) {
      const n = space.optionsAt(decisions.slice(0, k));
      const expected = k < decisions.length ? infos[k]!.options.length : 0;
      if (n !== expected) fail(`optionsAt(prefix of ${k}) = ${n}, expected ${expected} for ${key}`);
      if (k < decisions.length && !(decisions[k]! < n)) fail(`decision ${k} out of range`);
    }

    const code = space.encode(a);
    if (code.length !== space.encodingLength) fail(`encode length ${code.length} != ${space.encodingLength}`);
    if (code.some((x) => x !== 0 && x !== 1)) fail('encode has values other than 0 and 1');
    if (code.reduce((x, y) => x + y, 0) !== decisions.length) fail(`encode has ${code.reduce((x, y) => x + y, 0)} ones for ${decisions.length} decisions`);
    const codeKey = code.join('');
    const seen = encodings.get(codeKey);
    if (seen !== undefined && seen !== key) fail(`two architectures share an encoding: ${seen} and ${key}`);
    encodings.set(codeKey, key);

    const h = space.hash(a);
    if (!/^[0-9a-f]{16}$/.test(h)) fail(`hash ${h} is not 16 hex digits`);
    if (space.hash(reorderKeys(a) as C) !== h) fail(`hash depends on key order for ${key}`);

    const m = space.mutate(a, rng);
    space.validate(m);
    if (canonicalJson(m) === key) fail(`mutate returned an equal architecture ${key}`);
    if (canonicalJson(a) !== key) fail('mutate changed its argument');
    const apart = oneDecisionApart(space, a, m);
    if (apart) fail(`mutate(${key}) = ${canonicalJson(m)}: ${apart}`);

    if (s < options.neighbourSamples) {
      const neighbours = space.neighbours(a);
      const expectedCount = infos.reduce(
        (n, d) => n + (d.kind === 'count' ? (d.index > 0 ? 1 : 0) + (d.index < d.options.length - 1 ? 1 : 0) : d.options.length - 1),
        0,
      );
      if (neighbours.length !== expectedCount) fail(`${neighbours.length} neighbours, expected ${expectedCount}, for ${key}`);
      const keys = new Set<string>();
      for (const n of neighbours) {
        space.validate(n);
        const nk = canonicalJson(n);
        if (nk === key) fail(`a neighbour equals the architecture ${key}`);
        keys.add(nk);
        const d = oneDecisionApart(space, a, n);
        if (d) fail(`neighbour ${nk} of ${key}: ${d}`);
      }
      if (keys.size !== neighbours.length) fail(`neighbours of ${key} are not distinct`);
      const again = space.neighbours(a).map((n) => canonicalJson(n));
      if (again.join('\n') !== neighbours.map((n) => canonicalJson(n)).join('\n')) fail('neighbours are not deterministic');
    }
  }

  // Determinism under a seed.
  const r1 = createRng(99);
  const r2 = createRng(99);
  for (let i = 0; i < 50; i++) {
    const x = space.sample(r1);
    const y = space.sample(r2);
    if (canonicalJson(x) !== canonicalJson(y)) fail('sample is not deterministic under a seed');
    if (canonicalJson(space.mutate(x, r1)) !== canonicalJson(space.mutate(y, r2))) fail('mutate is not deterministic under a seed');
  }
  t.is(failures, 0);
}
