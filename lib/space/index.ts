/**
 * Search spaces: the DSL, the generic `DslSpace`, user JSON spaces, and the built-in spaces with
 * their registry.
 */
import { checkOneOf, typeError } from '../errors.js';
import { createCnnSpace, type CnnSpaceArch } from './cnn-space.js';
import type { DslSpace } from './dsl.js';
import { createMlpSpace, type MlpSpaceArch } from './mlp-space.js';
import { createNb201Space, NB201_DEFAULTS, type Nb201Arch, type Nb201BuildOptions } from './nb201-space.js';

export type { SearchSpace, ArchCost, IoShape } from './space.js';
export * from './dsl.js';
export * from './canonical-hash.js';
export * from './json-space.js';
export * from './trainable-space.js';
export * from './mlp-space.js';
export * from './cnn-space.js';
export * from './nb201-space.js';

export interface SpaceEntry {
  /** One line for listings. */
  readonly description: string;
  /** Names of the options `create` accepts. */
  readonly options: readonly string[];
  /** Makes the space; options are validated (unknown ones throw a RangeError listing the known). */
  create(options: Record<string, unknown>): DslSpace<unknown>;
}

function noOptions(name: string, create: () => DslSpace<unknown>): (options: Record<string, unknown>) => DslSpace<unknown> {
  return (options) => {
    const keys = Object.keys(options);
    if (keys.length > 0) throw new RangeError(`Unknown option "${keys[0]}" for options; the ${name} space takes no options`);
    return create();
  };
}

/** The built-in spaces by name. */
export const SPACES: Readonly<Record<'mlp' | 'cnn' | 'nb201', SpaceEntry>> = Object.freeze({
  mlp: {
    description: 'multi-layer perceptrons: 1-6 dense layers with width, activation, dropout, batch norm and residual per layer',
    options: [],
    create: noOptions('mlp', createMlpSpace as () => DslSpace<unknown>),
  },
  cnn: {
    description: 'convolutional networks: a stem and 1-4 stages of convolution blocks, pooled dense head',
    options: [],
    create: noOptions('cnn', createCnnSpace as () => DslSpace<unknown>),
  },
  nb201: {
    description: 'the NAS-Bench-201 cell: 6 edges of 5 ops (15,625 cells), trained on the NAS-Bench-201 skeleton',
    options: Object.keys(NB201_DEFAULTS),
    create: (options) => createNb201Space(options as Nb201BuildOptions) as DslSpace<unknown>,
  },
});

export type SpaceName = keyof typeof SPACES;
export const SPACE_NAMES = Object.keys(SPACES) as SpaceName[];

/**
 * A built-in space by name.
 *
 * @example const space = getSpace('nb201', { channels: 16, cellsPerStage: 5 });
 */
export function getSpace(name: 'mlp', options?: Record<string, never>): DslSpace<MlpSpaceArch>;
export function getSpace(name: 'cnn', options?: Record<string, never>): DslSpace<CnnSpaceArch>;
export function getSpace(name: 'nb201', options?: Nb201BuildOptions): DslSpace<Nb201Arch>;
export function getSpace(name: string, options?: Record<string, unknown>): DslSpace<unknown>;
// DslSpace is invariant in its config type, so the implementation returns DslSpace<any>.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function getSpace(name: string, options: object = {}): DslSpace<any> {
  const key = checkOneOf('space', name, SPACE_NAMES);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw typeError('options', 'an object', options);
  return SPACES[key].create(options as Record<string, unknown>);
}
