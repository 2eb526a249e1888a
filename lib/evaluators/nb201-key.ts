/**
 * NAS-Bench-201 cell architectures as the benchmark's own strings, the key of its tables.
 *
 * A cell has 4 nodes; each of its 6 edges j→i (i > j) carries one operation. nasx writes a cell as
 * `{ type: 'nb201', edges: [e10, e20, e21, e30, e31, e32] }` (edge `eij` is the op on j→i) and the
 * benchmark as `|e10~0|+|e20~0|e21~1|+|e30~0|e31~1|e32~2|`: one `|…|` group per target node, each
 * `op~j` naming its source node. The edge order is the same in both, so the conversion is a join.
 *
 * (The nb201 search space, lib/space/nb201-space.ts, defines the same JSON; the two are to be merged.)
 */
import { NasxError, describeValue } from '../errors.js';

/** The five NAS-Bench-201 operations, in the benchmark's order. */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;

export type Nb201Op = (typeof NB201_OPS)[number];

/** A NAS-Bench-201 cell: the op on edges 1←0, 2←0, 2←1, 3←0, 3←1, 3←2. */
export interface Nb201Arch {
  type: 'nb201';
  edges: Nb201Op[];
}

/** Source node of each edge, in `edges` order. */
const EDGE_SOURCES = [0, 0, 1, 0, 1, 2] as const;
/** Number of edges into nodes 1, 2 and 3: the `|…|` groups of the string. */
const GROUP_SIZES = [1, 2, 3] as const;

const invalid = (message: string) => new NasxError('ERR_NASX_INVALID_ARCH', message);

/**
 * The NAS-Bench-201 string of a cell. Throws NasxError('ERR_NASX_INVALID_ARCH') naming the field
 * when `arch` is not a cell.
 *
 * @example nb201Key({ type: 'nb201', edges: ['nor_conv_3x3', 'none', 'skip_connect', 'none', 'none', 'avg_pool_3x3'] })
 *   // '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|'
 */
export function nb201Key(arch: unknown): string {
  if (typeof arch !== 'object' || arch === null || Array.isArray(arch)) {
    throw invalid(`Expected an object for arch but received ${describeValue(arch)}`);
  }
  const { type, edges } = arch as Record<string, unknown>;
  if (type !== 'nb201') throw invalid(`Expected "nb201" for arch.type but received ${describeValue(type)}`);
  if (!Array.isArray(edges) || edges.length !== EDGE_SOURCES.length) {
    throw invalid(`Expected an array of ${EDGE_SOURCES.length} operations for arch.edges but received ${describeValue(edges)}`);
  }
  edges.forEach((op, e) => {
    if (!(NB201_OPS as readonly unknown[]).includes(op)) {
      throw invalid(
        `Expected one of ${NB201_OPS.map((o) => JSON.stringify(o)).join(', ')} for arch.edges[${e}] but received ${describeValue(op)}`,
      );
    }
  });
  const groups: string[] = [];
  let e = 0;
  for (const size of GROUP_SIZES) {
    const parts: string[] = [];
    for (let k = 0; k < size; k++, e++) parts.push(`${edges[e]}~${EDGE_SOURCES[e]}`);
    groups.push(`|${parts.join('|')}|`);
  }
  return groups.join('+');
}

/**
 * The cell of a NAS-Bench-201 string (the inverse of `nb201Key`). Throws
 * NasxError('ERR_NASX_INVALID_ARCH') when `key` is not one.
 */
export function parseNb201Key(key: string): Nb201Arch {
  const bad = (why: string) => invalid(`Invalid NAS-Bench-201 architecture string ${JSON.stringify(key)}: ${why}`);
  const groups = key.split('+');
  if (groups.length !== GROUP_SIZES.length) throw bad(`expected ${GROUP_SIZES.length} groups separated by "+"`);
  const edges: Nb201Op[] = [];
  groups.forEach((group, g) => {
    if (!group.startsWith('|') || !group.endsWith('|') || group.length < 2) {
      throw bad(`group ${g + 1} is not enclosed in "|"`);
    }
    const parts = group.slice(1, -1).split('|');
    if (parts.length !== GROUP_SIZES[g]) throw bad(`group ${g + 1} has ${parts.length} edges, expected ${GROUP_SIZES[g]}`);
    for (const part of parts) {
      const e = edges.length;
      const [op, source, ...rest] = part.split('~');
      if (rest.length > 0 || source !== String(EDGE_SOURCES[e])) {
        throw bad(`edge ${e + 1} is ${JSON.stringify(part)}, expected "<op>~${EDGE_SOURCES[e]}"`);
      }
      if (!(NB201_OPS as readonly string[]).includes(op)) throw bad(`unknown operation ${JSON.stringify(op)}`);
      edges.push(op as Nb201Op);
    }
  });
  return { type: 'nb201', edges };
}
