/**
 * MCTS rollouts: from a decision prefix, complete the sequence at random many times and score each
 * completion with a surrogate model. Three implementations of the one definition:
 *
 * - `nativeRollouts` / `nativeRolloutsSync`: the addon (native/core/mcts.cc), multi-threaded;
 * - `tsRollouts`: plain TypeScript over the same numeric structure and surrogate — the fallback when
 *   the addon is missing and the benchmark peer; it reproduces the native results exactly;
 * - `genericRollouts`: for spaces whose decision structure cannot be exported (any `SearchSpace` that
 *   is not a `DslSpace`): walks `space.optionsAt` and scores `space.encode`, both cached in a trie of
 *   prefixes (`SpaceProbe`). Slower, but any space works.
 *
 * Decision structure (`decisionStructure(space)`): the slots of the DSL's max-expanded tree in
 * pre-order — exactly the one-hot blocks of `DslSpace.encode` — with gates saying when a slot is
 * present: a repeat's copy c is gated on its count slot (the counts above c), a `when` field on the
 * slots its conditions test (chained, merged per slot). (The DSL only lets a condition on a constant
 * name values the constant has, so such a condition always holds; a gate that never opens exists in
 * the numeric format for generality.) See native/core/mcts.h for the exact rules.
 *
 * Surrogate: value = bias + Σ_t (linear[f_t] + Σ_{s<t} pairwise[f_s·F + f_t]) over the chosen
 * (slot, option) features f, summed in that order (for `genericRollouts`, the same form over the
 * encode vector x: bias + Σ_j (linear_j x_j + Σ_{i<j} pairwise[i·E + j] x_i x_j)).
 *
 * Draws: prefix p's stream is mulberry32 (the generator of `createRng`) started at derive_seed(seed, p)
 * of native/core/rng.h folded to 32 bits; slot s of rollout r takes output r·2^16 + s + 1 of it, mapped
 * to one of k options by floor(u·k / 2^32); rollout r takes option r mod k at the first free decision
 * (stratified). Rollouts run in chunks of 1024 whose sums and best sequences are merged in chunk order.
 * Results therefore depend on the seed only — not on the implementation or the number of threads.
 */
import { mulberry32Output } from '../util/rng.js';
import { NasxError, checkInteger, typeError } from '../errors.js';
import {
  fromNative,
  native,
  type NativeDecisionStructure,
  type NativePrefixStats,
  type NativeRolloutOptions,
  type NativeSurrogate,
} from '../native/binding.js';
import { DslSpace, type DslNode, type Scalar } from '../space/dsl.js';
import type { SearchSpace } from '../space/space.js';

export type DecisionStructure = NativeDecisionStructure;
export type RolloutSurrogate = NativeSurrogate;
export type RolloutStats = NativePrefixStats;
export type BestSequence = RolloutStats['best'][number];

export interface RolloutOptions {
  /** Rollouts per prefix (1 to 2^30). */
  rollouts: number;
  /** Non-negative safe integer. */
  seed: number;
  /** Best distinct completions kept per prefix (0 to 1024). */
  topK: number;
  /** Native only: threads, 0 for every hardware thread. Results do not depend on it. Default 1. */
  threads?: number;
}

/** Rollouts per chunk (one random stream each); native/core/mcts.h kChunk. */
export const ROLLOUT_CHUNK = 1024;
const MAX_ROLLOUTS = 2 ** 30;
const MAX_TOP_K = 1024;

// ---------------------------------------------------------------------------------------------
// Exporting a DSL space's decision structure.

interface GateSpec {
  parent: number;
  slot: number;
  allowed: boolean[];
}
/** One condition of a gate chain: slot `slot` must be present and take an allowed option. */
interface Cond {
  slot: number;
  allowed: boolean[];
}
/** What an object field can be tested on, with the conditions (relative to the object) for its presence. */
type Target = { kind: 'choice'; slot: number; values: readonly Scalar[]; conds: Cond[] | 'never' } | { kind: 'constant'; value: Scalar; conds: Cond[] | 'never' };

class StructureBuilder {
  readonly slotOptions: number[] = [];
  readonly slotGate: number[] = [];
  readonly gates: GateSpec[] = [{ parent: -1, slot: -1, allowed: [] }];

  slot(options: number, gate: number): number {
    this.slotOptions.push(options);
    this.slotGate.push(gate);
    return this.slotOptions.length - 1;
  }

  /** The gate below `parent` for the conditions (merged per slot, in slot order); `never` if one can't hold. */
  chain(parent: number, conds: Cond[] | 'never'): number {
    if (conds === 'never') {
      this.gates.push({ parent: 0, slot: -1, allowed: [] });
      return this.gates.length - 1;
    }
    const bySlot = new Map<number, boolean[]>();
    for (const c of conds) {
      const prev = bySlot.get(c.slot);
      bySlot.set(c.slot, prev ? prev.map((a, i) => a && c.allowed[i]!) : [...c.allowed]);
    }
    let g = parent;
    for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) {
      this.gates.push({ parent: g, slot, allowed: bySlot.get(slot)! });
      g = this.gates.length - 1;
    }
    return g;
  }

  /** Adds the slots of `node` under `gate`; returns the slot when the node is a single choice. */
  add(node: DslNode, gate: number): number | undefined {
    switch (node.kind) {
      case 'choice':
        return this.slot(node.values.length, gate);
      case 'constant':
        return undefined;
      case 'tuple':
        for (const item of node.items) this.add(item, gate);
        return undefined;
      case 'repeat': {
        const count = this.slot(node.counts.length, gate);
        const max = node.counts[node.counts.length - 1]!;
        for (let c = 0; c < max; c++) {
          this.add(node.body, this.chain(gate, [{ slot: count, allowed: node.counts.map((n) => n > c) }]));
        }
        return undefined;
      }
      case 'object': {
        const targets = new Map<string, Target>();
        for (const f of node.fields) {
          let conds: Cond[] | 'never' = [];
          for (const c of f.when ?? []) {
            const t = targets.get(c.key)!; // the DSL only allows conditions on earlier choice/constant fields
            if (t.conds === 'never' || conds === 'never') {
              conds = 'never';
              continue;
            }
            if (t.kind === 'constant') {
              if (c.values.includes(t.value)) conds.push(...t.conds);
              else conds = 'never';
            } else {
              conds.push(...t.conds, { slot: t.slot, allowed: t.values.map((v) => c.values.includes(v)) });
            }
          }
          const slot = this.add(f.node, f.when ? this.chain(gate, conds) : gate);
          if (f.node.kind === 'choice') targets.set(f.key, { kind: 'choice', slot: slot!, values: f.node.values, conds });
          else if (f.node.kind === 'constant' && (f.node.value === null || typeof f.node.value !== 'object')) {
            targets.set(f.key, { kind: 'constant', value: f.node.value, conds });
          }
        }
        return undefined;
      }
    }
  }

  /** The numeric structure: gates sorted by slot (never-open first), indices remapped. */
  build(): DecisionStructure {
    const order = this.gates.map((_, i) => i);
    order.sort((a, b) => (a === 0 ? -1 : b === 0 ? 1 : this.gates[a]!.slot - this.gates[b]!.slot || a - b));
    const index = new Int32Array(order.length);
    order.forEach((g, i) => (index[g] = i));
    const allowed: number[] = [];
    const gateParent = new Int32Array(order.length);
    const gateSlot = new Int32Array(order.length);
    order.forEach((g, i) => {
      const spec = this.gates[g]!;
      gateParent[i] = spec.parent < 0 ? -1 : index[spec.parent]!;
      gateSlot[i] = spec.slot;
      if (i > 0 && spec.slot >= 0) for (const a of spec.allowed) allowed.push(a ? 1 : 0);
    });
    return {
      slotOptions: Int32Array.from(this.slotOptions),
      slotGate: Int32Array.from(this.slotGate, (g) => index[g]!),
      gateParent,
      gateSlot,
      gateAllowed: Uint8Array.from(allowed),
    };
  }
}

/**
 * The decision structure of a `DslSpace` (its features are the columns of `space.encode`), or
 * undefined for a space that can't be exported — use `genericRollouts` for it.
 *
 * @example const structure = decisionStructure(createNb201Space()); // 6 slots of 5 options, one gate
 */
export function decisionStructure(space: SearchSpace<unknown>): DecisionStructure | undefined {
  if (!(space instanceof DslSpace)) return undefined;
  const b = new StructureBuilder();
  b.add(space.params, 0);
  const structure = b.build();
  checkStructure(structure);
  if (featureCount(structure) !== space.encodingLength) {
    throw new NasxError('ERR_NASX_ENGINE', `the decision structure of space "${space.name}" has ${featureCount(structure)} features but its encoding has ${space.encodingLength}`);
  }
  return structure;
}

/** Σ slotOptions: the surrogate's feature count. */
export function featureCount(structure: DecisionStructure): number {
  let f = 0;
  for (const k of structure.slotOptions) f += k;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Checks (mirroring native/core/mcts.cc, with the same messages).

function invalid(message: string): NasxError {
  return new NasxError('ERR_NASX_INVALID_ARGUMENT', message);
}

function checkTyped(name: string, value: unknown, type: Int32ArrayConstructor | Uint8ArrayConstructor | Float64ArrayConstructor): void {
  if (!(value instanceof type)) throw typeError(name, `a${type === Int32Array ? 'n' : ''} ${type.name}`, value);
}

/** Throws a NasxError('ERR_NASX_INVALID_ARGUMENT') naming what is wrong with the structure. */
export function checkStructure(s: DecisionStructure): void {
  if (typeof s !== 'object' || s === null) throw typeError('structure', 'an object', s);
  checkTyped('structure.slotOptions', s.slotOptions, Int32Array);
  checkTyped('structure.slotGate', s.slotGate, Int32Array);
  checkTyped('structure.gateParent', s.gateParent, Int32Array);
  checkTyped('structure.gateSlot', s.gateSlot, Int32Array);
  checkTyped('structure.gateAllowed', s.gateAllowed, Uint8Array);
  const slots = s.slotOptions.length;
  if (slots > 65536) throw invalid(`structure.slotOptions must have at most 65536 slots but has ${slots}`);
  s.slotOptions.forEach((k, i) => {
    if (k < 1 || k > 10000) throw invalid(`structure.slotOptions[${i}] must be an integer between 1 and 10000 but got ${k}`);
  });
  if (s.slotGate.length !== slots) throw invalid(`structure.slotGate must have one entry per slot (${slots}) but has ${s.slotGate.length}`);
  const gates = s.gateSlot.length;
  if (gates < 1 || gates > 65536) throw invalid(`structure.gateSlot must have between 1 and 65536 gates but has ${gates}`);
  if (s.gateParent.length !== gates) throw invalid(`structure.gateParent must have one entry per gate (${gates}) but has ${s.gateParent.length}`);
  if (s.gateParent[0] !== -1 || s.gateSlot[0] !== -1) {
    throw invalid(`gate 0 must be the root (structure.gateParent[0] = structure.gateSlot[0] = -1) but got parent ${s.gateParent[0]} and slot ${s.gateSlot[0]}`);
  }
  let flags = 0;
  for (let g = 1; g < gates; g++) {
    const parent = s.gateParent[g]!;
    const slot = s.gateSlot[g]!;
    if (parent < 0 || parent >= g) throw invalid(`structure.gateParent[${g}] must be an earlier gate, between 0 and ${g - 1}, but got ${parent}`);
    if (slot < -1 || slot >= slots) {
      throw invalid(`structure.gateSlot[${g}] must be a slot between 0 and ${slots - 1} (or -1 for a gate that never opens) but got ${slot}`);
    }
    if (slot < s.gateSlot[g - 1]!) {
      throw invalid(`gates must be ordered by slot, but structure.gateSlot[${g}] = ${slot} comes after structure.gateSlot[${g - 1}] = ${s.gateSlot[g - 1]}`);
    }
    const parentSlot = s.gateSlot[parent]!;
    if (slot >= 0 && parentSlot >= slot) {
      throw invalid(`a gate must test a later slot than its parent, but gate ${g} tests slot ${slot} and its parent ${parent} tests slot ${parentSlot}`);
    }
    if (slot >= 0) flags += s.slotOptions[slot]!;
  }
  if (s.gateAllowed.length !== flags) {
    throw invalid(`structure.gateAllowed must have one flag per option of each gate's slot (${flags}) but has ${s.gateAllowed.length}`);
  }
  s.gateAllowed.forEach((a, i) => {
    if (a > 1) throw invalid(`structure.gateAllowed[${i}] must be 0 or 1 but got ${a}`);
  });
  s.slotGate.forEach((g, i) => {
    if (g < 0 || g >= gates) throw invalid(`structure.slotGate[${i}] must be a gate between 0 and ${gates - 1} but got ${g}`);
    if (s.gateSlot[g]! >= i) {
      throw invalid(`a slot must come after the slot its gate tests, but slot ${i} has gate ${g}, which tests slot ${s.gateSlot[g]}`);
    }
  });
}

/** Throws a NasxError('ERR_NASX_INVALID_ARGUMENT') naming what is wrong with the surrogate for `features` features. */
export function checkSurrogate(g: RolloutSurrogate, features: number, name = 'surrogate'): void {
  if (typeof g !== 'object' || g === null) throw typeError(name, 'an object', g);
  if (typeof g.bias !== 'number') throw typeError(`${name}.bias`, 'a finite number', g.bias);
  if (!Number.isFinite(g.bias)) throw invalid(`${name}.bias must be a finite number`);
  checkTyped(`${name}.linear`, g.linear, Float64Array);
  if (g.pairwise !== undefined) checkTyped(`${name}.pairwise`, g.pairwise, Float64Array);
  if (g.linear.length !== features) {
    throw invalid(`${name}.linear must have one weight per option of every slot (${features}) but has ${g.linear.length}`);
  }
  g.linear.forEach((w, i) => {
    if (!Number.isFinite(w)) throw invalid(`${name}.linear[${i}] must be a finite number`);
  });
  const pairwise = g.pairwise ?? new Float64Array(0);
  if (pairwise.length > 0) {
    if (features > 4096) {
      throw invalid(`${name}.pairwise must be empty for a structure of more than 4096 options (this one has ${features})`);
    }
    if (pairwise.length !== features * features) {
      throw invalid(`${name}.pairwise must be empty or have ${features}×${features} = ${features * features} weights but has ${pairwise.length}`);
    }
    pairwise.forEach((w, i) => {
      if (!Number.isFinite(w)) throw invalid(`${name}.pairwise[${i}] must be a finite number`);
    });
  }
}

/** Checks rollout options (TypeError / RangeError naming `options.<key>`), filling `threads`. */
export function checkRolloutOptions(o: RolloutOptions): Required<RolloutOptions> {
  if (typeof o !== 'object' || o === null) throw typeError('options', 'an object', o);
  return {
    rollouts: checkInteger('options.rollouts', o.rollouts, 1, MAX_ROLLOUTS),
    seed: checkInteger('options.seed', o.seed, 0),
    topK: checkInteger('options.topK', o.topK, 0, MAX_TOP_K),
    threads: o.threads === undefined ? 1 : checkInteger('options.threads', o.threads, 0, 1024),
  };
}

function checkPrefixes(prefixes: readonly (readonly number[])[]): void {
  if (!Array.isArray(prefixes)) throw typeError('prefixes', 'an array of decision prefixes', prefixes);
  prefixes.forEach((p, i) => {
    if (!Array.isArray(p) && !(p instanceof Int32Array)) throw typeError(`prefixes[${i}]`, 'an Int32Array or an array of option indices', p);
    for (let j = 0; j < p.length; j++) checkInteger(`prefixes[${i}][${j}]`, p[j], -(2 ** 31), 2 ** 31 - 1);
  });
}

// ---------------------------------------------------------------------------------------------
// The TypeScript rollout.

const MASK64 = (1n << 64n) - 1n;

function splitmix64(state: bigint): { state: bigint; value: bigint } {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { state: s, value: z ^ (z >> 31n) };
}

/** The 32-bit stream state of prefix `prefix`: derive_seed(seed, prefix) of native/core/rng.h, folded. */
function prefixState(seed: number, prefix: number): number {
  const s0 = (BigInt(seed) ^ ((BigInt(prefix) * 0xd1b54a32d192ed03n) & MASK64)) & MASK64;
  const d = splitmix64(splitmix64(s0).state).value;
  return Number((d & 0xffffffffn) ^ (d >> 32n));
}

const TWO_POW_32 = 4294967296;

/**
 * The random option of slot `slot` (of k options) in rollout r of a prefix whose stream starts at
 * `state0`, as native/core/mcts.cc draws it: output number n = r·2^16 + slot + 1 of mulberry32 (the
 * generator of `createRng`, whose output n mixes state0 + n·0x6d2b79f5), the bits of n above 32
 * folded in by xor, mapped to an option by floor(u·k / 2^32).
 */
function drawOption(state0: number, r: number, slot: number, k: number): number {
  const n = r * 65536 + slot + 1;
  const x = ((state0 + Math.imul(n >>> 0, 0x6d2b79f5)) ^ Math.imul(Math.floor(n / TWO_POW_32), 0x9e3779b9)) >>> 0;
  return Math.floor((mulberry32Output(x) * k) / TWO_POW_32);
}

/** Keeps the k best distinct sequences, best first; among equal values the one inserted first stays first. */
class TopK {
  readonly items: BestSequence[] = [];
  constructor(private readonly k: number) {}
  wants(value: number): boolean {
    return this.k > 0 && (this.items.length < this.k || value > this.items[this.items.length - 1]!.value);
  }
  insert(s: BestSequence): void {
    if (!this.wants(s.value)) return;
    let pos = this.items.length;
    while (pos > 0 && this.items[pos - 1]!.value < s.value) pos--;
    for (let i = pos - 1; i >= 0 && this.items[i]!.value === s.value; i--) {
      if (sameSequence(this.items[i]!.decisions, s.decisions)) return;
    }
    this.items.splice(pos, 0, s);
    if (this.items.length > this.k) this.items.pop();
  }
}

function sameSequence(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A walk through the slots (see native/core/mcts.cc). */
class Walk {
  readonly open: Uint8Array;
  readonly chosen: Int32Array;
  readonly active: Int32Array;
  activeCount = 0;
  value = 0;
  slot = 0;
  nextGate = 1;
  constructor(slots: number, gates: number) {
    this.open = new Uint8Array(gates);
    this.chosen = new Int32Array(slots).fill(-1);
    this.active = new Int32Array(slots);
  }
  copyFrom(w: Walk): void {
    this.open.set(w.open);
    this.chosen.set(w.chosen);
    this.active.set(w.active);
    this.activeCount = w.activeCount;
    this.value = w.value;
    this.slot = w.slot;
    this.nextGate = w.nextGate;
  }
  decisions(): number[] {
    const out: number[] = [];
    for (const c of this.chosen) if (c >= 0) out.push(c);
    return out;
  }
}

/** Walks a structure, scoring with a surrogate (or not, to follow the structure only). */
export class StructureWalker {
  readonly slots: number;
  readonly gates: number;
  readonly features: number;
  private readonly offset: Int32Array;
  private readonly gateFlags: Int32Array;
  private readonly s: DecisionStructure;
  private readonly linear: Float64Array | undefined;
  private readonly pairwise: Float64Array | undefined;
  private readonly bias: number;

  constructor(structure: DecisionStructure, surrogate?: RolloutSurrogate) {
    this.s = structure;
    this.slots = structure.slotOptions.length;
    this.gates = structure.gateSlot.length;
    this.offset = new Int32Array(this.slots);
    let f = 0;
    for (let i = 0; i < this.slots; i++) {
      this.offset[i] = f;
      f += structure.slotOptions[i]!;
    }
    this.features = f;
    this.gateFlags = new Int32Array(this.gates).fill(-1);
    let flags = 0;
    for (let g = 1; g < this.gates; g++) {
      const slot = structure.gateSlot[g]!;
      if (slot < 0) continue;
      this.gateFlags[g] = flags;
      flags += structure.slotOptions[slot]!;
    }
    this.bias = surrogate?.bias ?? 0;
    this.linear = surrogate?.linear;
    this.pairwise = surrogate?.pairwise && surrogate.pairwise.length > 0 ? surrogate.pairwise : undefined;
  }

  start(): Walk {
    const w = new Walk(this.slots, this.gates);
    w.open[0] = 1;
    w.value = this.bias;
    while (w.nextGate < this.gates && this.s.gateSlot[w.nextGate]! < 0) w.nextGate++;
    return w;
  }

  /** Moves past absent slots; true when a decision is due at w.slot. */
  toDecision(w: Walk): boolean {
    const { slotGate } = this.s;
    while (w.slot < this.slots) {
      if (w.open[slotGate[w.slot]!]) return true;
      w.chosen[w.slot] = -1;
      this.closeGates(w);
    }
    return false;
  }

  options(w: Walk): number {
    return this.s.slotOptions[w.slot]!;
  }

  decide(w: Walk, c: number): void {
    w.chosen[w.slot] = c;
    const f = this.offset[w.slot]! + c;
    if (this.linear) {
      // The slot's terms first, then the running value: the order of native/core/mcts.cc.
      let t = this.linear[f]!;
      const p = this.pairwise;
      if (p) {
        const F = this.features;
        for (let i = 0; i < w.activeCount; i++) t += p[w.active[i]! * F + f]!;
      }
      w.value += t;
      w.active[w.activeCount++] = f;
    }
    this.closeGates(w);
  }

  private closeGates(w: Walk): void {
    const { gateSlot, gateParent, gateAllowed } = this.s;
    const c = w.chosen[w.slot]!;
    while (w.nextGate < this.gates && gateSlot[w.nextGate] === w.slot) {
      const g = w.nextGate;
      w.open[g] = w.open[gateParent[g]!] && c >= 0 && gateAllowed[this.gateFlags[g]! + c] ? 1 : 0;
      w.nextGate++;
    }
    w.slot++;
  }

  /**
   * Rollout r from `start` (stopped at a decision) into `w`, taking `first` at the first decision;
   * returns its value. The steps of decide/closeGates in one loop, as native/core/mcts.cc run_chunk.
   */
  rollout(w: Walk, start: Walk, base: Float64Array, first: number, state0: number, r: number): number {
    const { slotOptions, slotGate, gateSlot, gateParent, gateAllowed } = this.s;
    const { offset, gateFlags, pairwise, features: F, slots, gates } = this;
    const { chosen, open, active } = w;
    const s0 = start.slot;
    let v = start.value;
    const na0 = start.activeCount;
    let na = na0;
    let g = start.nextGate;
    for (let s = s0; s < slots; s++) {
      let c = -1;
      if (open[slotGate[s]!]) {
        const k = slotOptions[s]!;
        c = s === s0 ? first : k === 1 ? 0 : drawOption(state0, r, s, k);
        const f = offset[s]! + c;
        let t = base[f]!; // the linear weight and the pairs with the prefix
        if (pairwise) for (let i = na0; i < na; i++) t += pairwise[active[i]! * F + f]!;
        active[na++] = f;
        v += t;
      }
      chosen[s] = c;
      for (; g < gates && gateSlot[g] === s; g++) open[g] = open[gateParent[g]!] && c >= 0 && gateAllowed[gateFlags[g]! + c] ? 1 : 0;
    }
    return v;
  }

  /**
   * Per feature f of a slot after `start`: linear[f] plus the pairs of f with the prefix's features,
   * in order — the start of every rollout's term for f (as native/core/mcts.cc computes it).
   */
  base(start: Walk): Float64Array {
    const out = Float64Array.from(this.linear!);
    const p = this.pairwise;
    if (!p) return out;
    const F = this.features;
    for (let f = start.slot < this.slots ? this.offset[start.slot]! : F; f < F; f++) {
      let b = this.linear![f]!;
      for (let i = 0; i < start.activeCount; i++) b += p[start.active[i]! * F + f]!;
      out[f] = b;
    }
    return out;
  }

  /** The walk after `prefix`, stopped at the next decision or the end; checks the prefix. */
  replay(prefix: readonly number[], name = 'prefix'): Walk {
    const w = this.start();
    for (let i = 0; i < prefix.length; i++) {
      if (!this.toDecision(w)) {
        throw invalid(`${name} must have at most ${i} decisions (the sequence is complete after them) but has ${prefix.length}`);
      }
      const k = this.options(w);
      const c = prefix[i]!;
      if (!(c >= 0 && c < k)) throw invalid(`${name}[${i}] must be an option between 0 and ${k - 1} but got ${c}`);
      this.decide(w, c);
    }
    this.toDecision(w);
    return w;
  }

  /** Options of the next decision after `prefix`, 0 when it is complete. */
  optionsAfter(prefix: readonly number[]): number {
    const w = this.replay(prefix);
    return w.slot < this.slots ? this.options(w) : 0;
  }

  /** The (slot, option) feature indices a (partial) sequence chooses, in slot order. */
  featuresOf(decisions: readonly number[]): number[] {
    const w = this.replay(decisions, 'decisions');
    const out: number[] = [];
    for (let s = 0; s < this.slots; s++) if (w.chosen[s]! >= 0) out.push(this.offset[s]! + w.chosen[s]!);
    return out;
  }
}

/** Stats of one prefix from per-chunk results, merged in chunk order (as native/core/mcts.cc). */
interface ChunkResult {
  visits: Int32Array;
  sum: Float64Array;
  max: Float64Array;
  best: BestSequence[];
}

function emptyChunk(k: number): ChunkResult {
  return { visits: new Int32Array(k), sum: new Float64Array(k), max: new Float64Array(k).fill(-Infinity), best: [] };
}

function merge(k: number, rollouts: number, chunks: ChunkResult[], topK: number): RolloutStats {
  const visits = new Int32Array(k);
  const sum = new Float64Array(k);
  const max = new Float64Array(k).fill(-Infinity);
  const top = new TopK(topK);
  for (const c of chunks) {
    for (let j = 0; j < k; j++) {
      visits[j] += c.visits[j]!;
      sum[j] += c.sum[j]!;
      if (c.max[j]! > max[j]!) max[j] = c.max[j]!;
    }
    for (const s of c.best) top.insert(s);
  }
  const mean = new Float64Array(k);
  for (let j = 0; j < k; j++) mean[j] = visits[j]! > 0 ? sum[j]! / visits[j]! : Number.NaN;
  return { options: k, rollouts, visits, mean, max, best: top.items };
}

/**
 * The rollouts in plain TypeScript: the same results as `nativeRollouts`, bit for bit.
 *
 * @example tsRollouts(structure, surrogate, [[], [2]], { rollouts: 4096, seed: 1, topK: 8 })[1].best[0]
 */
export function tsRollouts(
  structure: DecisionStructure,
  surrogate: RolloutSurrogate,
  prefixes: readonly (readonly number[])[],
  options: RolloutOptions,
): RolloutStats[] {
  checkStructure(structure);
  checkSurrogate(surrogate, featureCount(structure));
  const o = checkRolloutOptions(options);
  checkPrefixes(prefixes);
  const walker = new StructureWalker(structure, surrogate);
  const starts = prefixes.map((p, i) => walker.replay(p, `prefixes[${i}]`));
  return starts.map((start, p) => {
    if (start.slot === walker.slots) {
      return { options: 0, rollouts: 0, visits: new Int32Array(0), mean: new Float64Array(0), max: new Float64Array(0), best: o.topK > 0 ? [{ decisions: [...prefixes[p]!], value: start.value }] : [] };
    }
    const k = walker.options(start);
    const state0 = prefixState(o.seed, p);
    const base = walker.base(start);
    const chunks: ChunkResult[] = [];
    const w = new Walk(walker.slots, walker.gates);
    w.copyFrom(start);
    for (let c = 0; c * ROLLOUT_CHUNK < o.rollouts; c++) {
      const res = emptyChunk(k);
      const top = new TopK(o.topK);
      const end = Math.min(o.rollouts, (c + 1) * ROLLOUT_CHUNK);
      for (let r = c * ROLLOUT_CHUNK; r < end; r++) {
        const first = r % k;
        const v = walker.rollout(w, start, base, first, state0, r);
        res.visits[first]++;
        res.sum[first] += v;
        if (v > res.max[first]!) res.max[first] = v;
        if (top.wants(v)) top.insert({ decisions: w.decisions(), value: v });
      }
      res.best = top.items;
      chunks.push(res);
    }
    return merge(k, o.rollouts, chunks, o.topK);
  });
}

/** Surrogate value of a complete sequence (checked). */
export function surrogateValue(structure: DecisionStructure, surrogate: RolloutSurrogate, decisions: readonly number[]): number {
  const walker = new StructureWalker(structure, surrogate);
  const w = walker.replay(decisions, 'decisions');
  if (w.slot < walker.slots) {
    throw invalid(`decisions must be a complete sequence but has ${decisions.length} decisions and the next slot has ${walker.options(w)} options`);
  }
  return w.value;
}

// ---------------------------------------------------------------------------------------------
// Native.

function nativeOptions(o: RolloutOptions): NativeRolloutOptions {
  const c = checkRolloutOptions(o);
  return { rollouts: c.rollouts, seed: c.seed, topK: c.topK, threads: c.threads };
}

/**
 * The rollouts on the addon's threads, without blocking the event loop.
 *
 * @example const [root] = await nativeRollouts(structure, surrogate, [[]], { rollouts: 1e6, seed: 0, topK: 8, threads: 0 });
 */
export async function nativeRollouts(
  structure: DecisionStructure,
  surrogate: RolloutSurrogate,
  prefixes: readonly (readonly number[])[],
  options: RolloutOptions,
): Promise<RolloutStats[]> {
  const stack = new Error().stack;
  checkPrefixes(prefixes);
  try {
    return await native().mctsRollouts(structure, surrogate, prefixes, nativeOptions(options));
  } catch (err) {
    throw fromNative(err, stack);
  }
}

/** The native rollouts on the calling thread (for `Strategy.ask`, which must answer synchronously). */
export function nativeRolloutsSync(
  structure: DecisionStructure,
  surrogate: RolloutSurrogate,
  prefixes: readonly (readonly number[])[],
  options: RolloutOptions,
): RolloutStats[] {
  checkPrefixes(prefixes);
  try {
    return native().mctsRolloutsSync(structure, surrogate, prefixes, nativeOptions(options));
  } catch (err) {
    throw fromNative(err, new Error().stack);
  }
}

/** Whether the addon loads (and has the MCTS rollouts). */
export function nativeRolloutsAvailable(): boolean {
  try {
    return typeof native().mctsRolloutsSync === 'function';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Any space: walk optionsAt, score encode.

/** A prefix of a space's decisions, as `SpaceProbe` caches it. */
interface ProbeNode {
  /** Options of the next decision; 0 when the prefix is complete. */
  readonly options: number;
  readonly children: (ProbeNode | undefined)[];
  /** For a complete sequence: the nonzero entries of its encoding. */
  encoding?: { index: Int32Array; value: Float64Array };
}

/**
 * What `genericRollouts` learns about a space as it walks it, as a trie of prefixes: the options after
 * each prefix and the nonzero entries of each complete sequence's encoding, so that a prefix or a leaf
 * met again (in small spaces, and in every later call) costs an array lookup instead of `optionsAt`
 * or `fromDecisions` + `encode`. At most `maxNodes` prefixes are kept.
 */
export class SpaceProbe<A> {
  private root: ProbeNode | undefined;
  private nodes = 0;
  constructor(
    readonly space: SearchSpace<A>,
    private readonly maxNodes = 1 << 18,
  ) {}

  private make(seq: readonly number[]): ProbeNode {
    const options = this.space.optionsAt(seq);
    this.nodes++;
    return { options, children: options > 0 ? new Array<ProbeNode | undefined>(options) : [] };
  }

  /** The node of `prefix`, which must be valid (each decision below the options before it). */
  node(prefix: readonly number[]): ProbeNode {
    this.root ??= this.make([]);
    let n = this.root;
    for (let d = 0; d < prefix.length; d++) n = this.child(n, prefix.slice(0, d + 1), prefix[d]!);
    return n;
  }

  /** The child of `node` by option `c`; `seq` is the child's whole prefix. */
  child(node: ProbeNode, seq: readonly number[], c: number): ProbeNode {
    let n = node.children[c];
    if (!n) {
      n = this.make(seq);
      if (this.nodes < this.maxNodes) node.children[c] = n;
    }
    return n;
  }

  encoding(node: ProbeNode, seq: readonly number[]): { index: Int32Array; value: Float64Array } {
    if (node.encoding) return node.encoding;
    const x = this.space.encode(this.space.fromDecisions(seq));
    const index: number[] = [];
    x.forEach((v, i) => {
      if (v !== 0) index.push(i);
    });
    node.encoding = { index: Int32Array.from(index), value: Float64Array.from(index, (i) => x[i]!) };
    return node.encoding;
  }
}

/**
 * Rollouts for a space without an exported structure: each decision from `space.optionsAt`, each
 * completion scored on `space.encode(space.fromDecisions(seq))` with the surrogate over the encode
 * vector (length `space.encodingLength`; `pairwise` E×E or empty), both cached in `probe`. Same
 * seeding, stratification and merging as `tsRollouts` — on a space whose encoding is the one-hot of
 * its decisions the results are the same.
 */
export function genericRollouts<A>(
  space: SearchSpace<A>,
  surrogate: RolloutSurrogate,
  prefixes: readonly (readonly number[])[],
  options: RolloutOptions,
  probe: SpaceProbe<A> = new SpaceProbe(space),
): RolloutStats[] {
  const E = space.encodingLength;
  checkSurrogate(surrogate, E);
  const o = checkRolloutOptions(options);
  checkPrefixes(prefixes);
  if (probe.space !== space) throw typeError('probe', 'a SpaceProbe of the same space', probe);
  const pairwise = surrogate.pairwise && surrogate.pairwise.length > 0 ? surrogate.pairwise : undefined;
  const { linear } = surrogate;
  const value = (node: ProbeNode, seq: readonly number[]): number => {
    const { index, value: x } = probe.encoding(node, seq);
    let v = surrogate.bias;
    for (let p = 0; p < index.length; p++) {
      const i = index[p]!;
      const xi = x[p]!;
      let t = linear[i]! * xi;
      if (pairwise) for (let q = 0; q < p; q++) t += pairwise[index[q]! * E + i]! * x[q]! * xi;
      v += t;
    }
    return v;
  };
  return prefixes.map((prefix, p) => {
    const start = probe.node(prefix);
    const state0 = prefixState(o.seed, p);
    const k = start.options;
    if (k === 0) {
      const best = o.topK > 0 ? [{ decisions: [...prefix], value: value(start, prefix) }] : [];
      return { options: 0, rollouts: 0, visits: new Int32Array(0), mean: new Float64Array(0), max: new Float64Array(0), best };
    }
    const chunks: ChunkResult[] = [];
    for (let c = 0; c * ROLLOUT_CHUNK < o.rollouts; c++) {
      const res = emptyChunk(k);
      const top = new TopK(o.topK);
      const end = Math.min(o.rollouts, (c + 1) * ROLLOUT_CHUNK);
      for (let r = c * ROLLOUT_CHUNK; r < end; r++) {
        const first = r % k;
        const seq = [...prefix, first];
        let node = probe.child(start, seq, first);
        while (node.options > 0) {
          // The decision's position stands for the slot (they agree on fixed-layout spaces).
          const d = node.options === 1 ? 0 : drawOption(state0, r, seq.length, node.options);
          seq.push(d);
          node = probe.child(node, seq, d);
        }
        const v = value(node, seq);
        res.visits[first]++;
        res.sum[first] += v;
        if (v > res.max[first]!) res.max[first] = v;
        if (top.wants(v)) top.insert({ decisions: seq, value: v });
      }
      res.best = top.items;
      chunks.push(res);
    }
    return merge(k, o.rollouts, chunks, o.topK);
  });
}
