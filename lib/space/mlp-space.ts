/**
 * The built-in `mlp` space: 1–6 dense layers, each with its own width, activation, dropout, batch
 * norm and residual link. Its architectures ARE engine `MlpArch`s (every field written out), so they
 * train as they are; `build` returns a copy.
 *
 * A residual link adds a layer's input to its output; when the widths differ (or on the first layer,
 * whose input is the data) the engine inserts a linear projection, so every combination is valid.
 */
import type { MlpArch } from '../arch/arch.js';
import { DslSpace, bool, choice, constant, object, repeat } from './dsl.js';

export const MLP_WIDTHS = [16, 32, 64, 128, 256, 512] as const;
export const MLP_ACTIVATIONS = ['relu', 'gelu', 'tanh', 'sigmoid'] as const;
export const MLP_DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5] as const;
export const MLP_MAX_DEPTH = 6;

/** An architecture of the `mlp` space: an `MlpArch` with every layer field present. */
export interface MlpSpaceArch extends MlpArch {
  layers: {
    units: (typeof MLP_WIDTHS)[number];
    activation: (typeof MLP_ACTIVATIONS)[number];
    dropout: (typeof MLP_DROPOUTS)[number];
    batchNorm: boolean;
    residual: boolean;
  }[];
}

/** The DSL tree of the `mlp` space. */
export const mlpParams = object({
  type: constant('mlp'),
  layers: repeat(
    object({
      units: choice(MLP_WIDTHS),
      activation: choice(MLP_ACTIVATIONS),
      dropout: choice(MLP_DROPOUTS),
      batchNorm: bool(),
      residual: bool(),
    }),
    { min: 1, max: MLP_MAX_DEPTH },
  ),
});

/**
 * @example const space = createMlpSpace(); const arch = space.sample(createRng(0)); await trainCandidates([arch], 'digits');
 */
export function createMlpSpace(): DslSpace<MlpSpaceArch> {
  return new DslSpace<MlpSpaceArch>({
    name: 'mlp',
    description: 'multi-layer perceptrons: 1-6 dense layers with width, activation, dropout, batch norm and residual per layer',
    params: mlpParams,
    build: (arch) => structuredClone(arch),
  });
}
