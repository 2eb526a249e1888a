/**
 * A search space whose architectures the engine can train: `build` turns one into an engine
 * architecture for data of a given shape. Evaluators that train (the native evaluator) need this;
 * spaces of plain configs (tabular benchmarks) don't provide it.
 */
import type { Arch } from '../arch/arch.js';
import type { IoShape, SearchSpace } from './space.js';

export interface TrainableSpace<A = unknown> extends SearchSpace<A> {
  /** Whether `build` works for this space (false for spaces of plain configs). */
  readonly trainable: boolean;
  /**
   * The engine architecture of `arch` for data of shape `io`. Throws NasxError('ERR_NASX_INVALID_ARCH')
   * for an architecture that is in the space but cannot be trained (e.g. an NB201 cell whose output
   * is always zero): an evaluator reports it as `invalid`.
   */
  build(arch: A, io: IoShape): Arch;
}

/** True when `space` can build engine architectures. */
export function isTrainableSpace<A>(space: SearchSpace<A>): space is TrainableSpace<A> {
  const s = space as Partial<TrainableSpace<A>>;
  return typeof s.build === 'function' && s.trainable === true;
}
