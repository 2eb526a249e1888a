/**
 * The built-in `nb201` space: the NAS-Bench-201 cell. A cell is a DAG of 4 nodes; node j is the sum,
 * over its 6 incoming edges i→j (i < j), of op(node i). Each edge carries one of 5 operations, so the
 * space has 5^6 = 15,625 cells. An architecture lists the ops of the edges 1←0, 2←0, 2←1, 3←0, 3←1,
 * 3←2, in that order (the order of the NAS-Bench-201 string):
 *
 * ```json
 * {"type":"nb201","edges":["nor_conv_3x3","nor_conv_3x3","avg_pool_3x3","skip_connect","nor_conv_3x3","skip_connect"]}
 * ```
 * is `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|`.
 *
 * Hash: cells are canonicalised before hashing (`canonicalNb201`), so cells that compute the same
 * function hash alike:
 * 1. Pruning. A node is *live* when a path of non-`none` edges leads to it from node 0, and *useful*
 *    when such a path leads from it to node 3. An edge i→j is kept only when its op is not `none`, i is
 *    live and j is useful; every other edge is set to `none`. This removes edges out of a dead (always
 *    zero) node and edges into a node that cannot reach the output. (A convolution of a zero input
 *    is taken to be zero, the usual NAS-Bench-201 convention, although its batch norm could learn a
 *    constant shift.) One pass reaches the fixed point. A cell whose output is always zero prunes to
 *    all-`none`, so all such cells hash as one class.
 * 2. Isomorphism. When the pruned cell has no edge 2←1, nodes 1 and 2 are interchangeable (both read
 *    only node 0 and feed only node 3); of the cell and its 1↔2 swap, the one whose op indices are
 *    lexicographically smaller is kept.
 * Not merged: cells that are equal only as algebraic expressions, e.g. a node fed by a single
 * `skip_connect` aliasing its source, which the NAS-Bench-201 "unique string" also merges.
 *
 * Training: `buildNb201` makes an engine `GraphArch` on the NAS-Bench-201 macro skeleton. A cell whose
 * output is always zero cannot be expressed (the engine has no zero operation), so `build` and `cost`
 * throw NasxError('ERR_NASX_INVALID_ARCH') for it and an evaluator reports it as `invalid`; such
 * cells are still in the space (`validate` accepts them) and a tabular evaluator can score them.
 */
import type { GraphArch } from '../arch/arch.js';
import { NasxError, checkInteger, checkObject, describeValue } from '../errors.js';
import type { NativeNode } from '../native/binding.js';
import { DslSpace, choice, constant, object, tuple } from './dsl.js';
import type { IoShape } from './space.js';

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** The edges as [from, to], in the order of `Nb201Arch.edges`. */
export const NB201_EDGES: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
];

export interface Nb201Arch {
  type: 'nb201';
  /** Ops of the edges 1←0, 2←0, 2←1, 3←0, 3←1, 3←2. */
  edges: [Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op, Nb201Op];
}

export interface Nb201BuildOptions {
  /** Channels C of the first stage (the stages have C, 2C, 4C). Default 8 (NAS-Bench-201: 16). */
  channels?: number;
  /** Cells N per stage. Default 1 (NAS-Bench-201: 5). */
  cellsPerStage?: number;
}

export const NB201_DEFAULTS: Required<Nb201BuildOptions> = { channels: 8, cellsPerStage: 1 };

/** The DSL tree of the `nb201` space. */
export const nb201Params = object({
  type: constant('nb201'),
  edges: tuple(NB201_EDGES.map(() => choice(NB201_OPS))),
});

function edgeName(k: number): string {
  const [from, to] = NB201_EDGES[k]!;
  return `edge ${to}←${from}`;
}

/** The NAS-Bench-201 string of a cell: `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. */
export function toNb201String(arch: Nb201Arch): string {
  const e = arch.edges;
  return `|${e[0]}~0|+|${e[1]}~0|${e[2]}~1|+|${e[3]}~0|${e[4]}~1|${e[5]}~2|`;
}

const EXAMPLE = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

/**
 * Parses a NAS-Bench-201 string (inverse of `toNb201String`). Throws NasxError('ERR_NASX_INVALID_ARCH')
 * naming what is wrong.
 *
 * @example fromNb201String('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|')
 */
export function fromNb201String(text: string): Nb201Arch {
  const malformed = () =>
    new NasxError(
      'ERR_NASX_INVALID_ARCH',
      `Expected a NAS-Bench-201 cell string like "${EXAMPLE}" for arch but received ${describeValue(text)}`,
    );
  if (typeof text !== 'string') throw malformed();
  const groups = text.split('+');
  if (groups.length !== 3) throw malformed();
  const edges: Nb201Op[] = [];
  groups.forEach((group, g) => {
    const to = g + 1;
    if (!group.startsWith('|') || !group.endsWith('|') || group.length < 2) throw malformed();
    const tokens = group.slice(1, -1).split('|');
    if (tokens.length !== to) throw malformed();
    tokens.forEach((token, from) => {
      const tilde = token.lastIndexOf('~');
      if (tilde < 0 || token.slice(tilde + 1) !== String(from)) throw malformed();
      const op = token.slice(0, tilde);
      if (!(NB201_OPS as readonly string[]).includes(op)) {
        throw new NasxError(
          'ERR_NASX_INVALID_ARCH',
          `Expected one of ${NB201_OPS.map((o) => JSON.stringify(o)).join(', ')} for ${edgeName(edges.length)} but received ${describeValue(op)}`,
        );
      }
      edges.push(op as Nb201Op);
    });
  });
  return { type: 'nb201', edges: edges as Nb201Arch['edges'] };
}

/**
 * Step 1 of the canonical form: edges that cannot influence the output set to `none` (see the file
 * comment). The result computes the same function as `arch`.
 */
export function pruneNb201(arch: Nb201Arch): Nb201Arch {
  const op = (from: number, to: number): Nb201Op =>
    arch.edges[NB201_EDGES.findIndex(([f, t]) => f === from && t === to)]!;
  const live = [true, false, false, false];
  for (let j = 1; j < 4; j++) {
    for (let i = 0; i < j; i++) if (live[i] && op(i, j) !== 'none') live[j] = true;
  }
  const useful = [false, false, false, true];
  for (let i = 2; i >= 0; i--) {
    for (let j = i + 1; j < 4; j++) if (useful[j] && op(i, j) !== 'none') useful[i] = true;
  }
  const edges = arch.edges.map((o, k) => {
    const [from, to] = NB201_EDGES[k]!;
    return o !== 'none' && live[from] && useful[to] ? o : 'none';
  });
  return { type: 'nb201', edges: edges as Nb201Arch['edges'] };
}

/** The canonical representative of a cell's equivalence class (pruning, then the 1↔2 isomorphism). */
export function canonicalNb201(arch: Nb201Arch): Nb201Arch {
  const pruned = pruneNb201(arch);
  const e = pruned.edges;
  if (e[2] !== 'none') return pruned;
  const swapped: Nb201Arch['edges'] = [e[1], e[0], e[2], e[3], e[5], e[4]];
  const index = (o: Nb201Op) => NB201_OPS.indexOf(o);
  for (let k = 0; k < 6; k++) {
    if (index(swapped[k]) !== index(e[k])) return index(swapped[k]) < index(e[k]) ? { type: 'nb201', edges: swapped } : pruned;
  }
  return pruned;
}

/** True when no path of non-`none` edges joins node 0 to node 3: the cell always outputs zero. */
export function isNb201OutputZero(arch: Nb201Arch): boolean {
  return pruneNb201(arch).edges.every((o) => o === 'none');
}

function checkBuildOptions(options: unknown): Required<Nb201BuildOptions> {
  const o = checkObject('options', options ?? {});
  const known = Object.keys(NB201_DEFAULTS);
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new RangeError(`Unknown option "${k}" for options; known options are ${known.join(', ')}`);
  }
  return {
    channels: o.channels === undefined ? NB201_DEFAULTS.channels : checkInteger('options.channels', o.channels, 1, 1024),
    cellsPerStage:
      o.cellsPerStage === undefined ? NB201_DEFAULTS.cellsPerStage : checkInteger('options.cellsPerStage', o.cellsPerStage, 1, 32),
  };
}

/**
 * The engine architecture of a cell on the NAS-Bench-201 skeleton: stem (3×3 convolution, batch
 * norm); three stages of `cellsPerStage` cells with C, 2C and 4C channels; between stages a residual
 * reduction block (ReLU-conv3×3/2-BN, ReLU-conv3×3-BN, plus a 2×2 average pool and 1×1 convolution
 * shortcut); then batch norm, ReLU, global average pooling and a dense layer of `io.outputSize`.
 * In a cell, nor_conv_k×k is ReLU → k×k convolution (no bias) → batch norm, avg_pool_3x3 has stride 1,
 * skip_connect is the identity and `none` is left out; a node sums its inputs. The pruned cell is
 * built, so nothing that cannot reach the output is computed.
 *
 * Throws NasxError('ERR_NASX_INVALID_ARCH') for a cell whose output is always zero.
 */
export function buildNb201(arch: Nb201Arch, io: Pick<IoShape, 'outputSize'>, options: Nb201BuildOptions = {}): GraphArch {
  const { channels, cellsPerStage } = checkBuildOptions(options);
  checkInteger('io.outputSize', io?.outputSize, 1);
  const cell = pruneNb201(arch);
  if (cell.edges.every((o) => o === 'none')) {
    throw new NasxError(
      'ERR_NASX_INVALID_ARCH',
      `The nb201 cell ${toNb201String(arch)} cannot be trained: no path of non-"none" edges joins its input (node 0) to its output (node 3), so it always outputs zero, and the engine has no zero operation`,
    );
  }
  const nodes: NativeNode[] = [];
  /** Appends a node reading `inputs` (default: the previous node) and returns its index. */
  const add = (node: NativeNode, inputs?: number[]): number => {
    const index = nodes.length;
    nodes.push(inputs && !(inputs.length === 1 && inputs[0] === index - 1) ? { ...node, inputs } : node);
    return index;
  };
  const reluConvBn = (name: string, from: number, filters: number, kernel: number, stride: number): number => {
    add({ op: 'activation', name: `${name}.relu`, activation: 'relu' }, [from]);
    add({ op: 'conv2d', name: `${name}.conv`, filters, kernel, stride, bias: false });
    return add({ op: 'batch_norm', name: `${name}.bn` });
  };

  add({ op: 'conv2d', name: 'stem.conv', filters: channels, kernel: 3, stride: 1, bias: false });
  let x = add({ op: 'batch_norm', name: 'stem.bn' });
  for (let stage = 0; stage < 3; stage++) {
    const c = channels << stage;
    if (stage > 0) {
      const name = `reduction${stage}`;
      reluConvBn(`${name}.a`, x, c, 3, 2);
      const main = reluConvBn(`${name}.b`, nodes.length - 1, c, 3, 1);
      add({ op: 'avg_pool', name: `${name}.shortcut.pool`, kernel: 2, stride: 2 }, [x]);
      const shortcut = add({ op: 'conv2d', name: `${name}.shortcut.conv`, filters: c, kernel: 1, stride: 1, bias: false });
      x = add({ op: 'add', name }, [main, shortcut]);
    }
    for (let n = 0; n < cellsPerStage; n++) {
      const prefix = `stage${stage}.cell${n}`;
      const node: (number | undefined)[] = [x];
      for (let to = 1; to < 4; to++) {
        const terms: number[] = [];
        NB201_EDGES.forEach(([from, t], k) => {
          const op = cell.edges[k]!;
          if (t !== to || op === 'none') return;
          const src = node[from]!; // pruning keeps only edges out of live nodes
          const name = `${prefix}.node${to}.from${from}`;
          if (op === 'skip_connect') terms.push(src);
          else if (op === 'avg_pool_3x3') terms.push(add({ op: 'avg_pool', name: `${name}.avg_pool`, kernel: 3, stride: 1 }, [src]));
          else terms.push(reluConvBn(name, src, c, op === 'nor_conv_1x1' ? 1 : 3, 1));
        });
        node[to] = terms.length === 0 ? undefined : terms.length === 1 ? terms[0] : add({ op: 'add', name: `${prefix}.node${to}` }, terms);
      }
      x = node[3]!;
    }
  }
  add({ op: 'batch_norm', name: 'lastact.bn' }, [x]);
  add({ op: 'activation', name: 'lastact.relu', activation: 'relu' });
  add({ op: 'global_avg_pool', name: 'pool' });
  add({ op: 'dense', name: 'output', units: io.outputSize });
  return { type: 'graph', nodes };
}

/**
 * @example const space = createNb201Space({ channels: 16, cellsPerStage: 5 }); space.hash(fromNb201String(s));
 */
export function createNb201Space(options: Nb201BuildOptions = {}): DslSpace<Nb201Arch> {
  const buildOptions = checkBuildOptions(options);
  return new DslSpace<Nb201Arch>({
    name: 'nb201',
    description: `the NAS-Bench-201 cell (6 edges, 5 ops; C=${buildOptions.channels}, N=${buildOptions.cellsPerStage} when trained)`,
    params: nb201Params,
    build: (arch, io) => buildNb201(arch, io, buildOptions),
    canonicalize: canonicalNb201,
    decisionName: (path) => {
      const m = /^edges\[([0-5])\]$/.exec(path);
      return m ? edgeName(Number(m[1])) : undefined;
    },
  });
}
