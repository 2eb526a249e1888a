/**
 * The built-in `cnn` space: a stem convolution, 1–4 stages of convolution blocks, global average
 * pooling and a dense head. Its architectures are configs (below) that `build` turns into an engine
 * `CnnArch`:
 *
 * ```json
 * {"stem":{"channels":16},
 *  "stages":[{"channels":32,"conv":"separable","kernel":3,"blocks":2,"residual":true,"downsample":"stride"}],
 *  "head":{"hidden":true,"units":64}}
 * ```
 *
 * - stem: a 3×3 convolution with batch norm and ReLU.
 * - stage: `blocks` blocks of one convolution each (standard, or depthwise-separable), `kernel`×`kernel`,
 *   batch norm, ReLU; with `residual`, each block's input is added to its output (the engine projects
 *   with a 1×1 convolution when the shape changes). `downsample` halves the resolution at the start of
 *   the stage: `stride` makes the first block's convolution stride 2, `maxpool` puts a 2×2 max pool
 *   before the first block, `none` keeps the resolution.
 * - head: global average pooling, then (when `hidden`) a dense layer of `units` with ReLU; the output
 *   layer is implied by the data.
 */
import type { CnnArch, CnnLayer, ConvLayer } from '../arch/arch.js';
import { DslSpace, bool, choice, object, repeat, when } from './dsl.js';

export const CNN_STEM_CHANNELS = [8, 16, 32] as const;
export const CNN_STAGE_CHANNELS = [16, 32, 64, 128] as const;
export const CNN_CONVS = ['standard', 'separable'] as const;
export const CNN_KERNELS = [3, 5] as const;
export const CNN_BLOCKS = [1, 2, 3] as const;
export const CNN_DOWNSAMPLES = ['stride', 'maxpool', 'none'] as const;
export const CNN_HEAD_UNITS = [32, 64, 128] as const;
export const CNN_MAX_STAGES = 4;

export interface CnnSpaceStage {
  channels: (typeof CNN_STAGE_CHANNELS)[number];
  conv: (typeof CNN_CONVS)[number];
  kernel: (typeof CNN_KERNELS)[number];
  blocks: (typeof CNN_BLOCKS)[number];
  residual: boolean;
  downsample: (typeof CNN_DOWNSAMPLES)[number];
}

/** An architecture of the `cnn` space (a config; `buildCnn` makes the engine architecture). */
export interface CnnSpaceArch {
  stem: { channels: (typeof CNN_STEM_CHANNELS)[number] };
  stages: CnnSpaceStage[];
  /** `units` is present exactly when `hidden` is true. */
  head: { hidden: boolean; units?: (typeof CNN_HEAD_UNITS)[number] };
}

/** The DSL tree of the `cnn` space. */
export const cnnParams = object({
  stem: object({ channels: choice(CNN_STEM_CHANNELS) }),
  stages: repeat(
    object({
      channels: choice(CNN_STAGE_CHANNELS),
      conv: choice(CNN_CONVS),
      kernel: choice(CNN_KERNELS),
      blocks: choice(CNN_BLOCKS),
      residual: bool(),
      downsample: choice(CNN_DOWNSAMPLES),
    }),
    { min: 1, max: CNN_MAX_STAGES },
  ),
  head: object({ hidden: bool(), units: when({ hidden: true }, choice(CNN_HEAD_UNITS)) }),
});

/** The engine architecture of a (valid) `cnn` space config. */
export function buildCnn(arch: CnnSpaceArch): CnnArch {
  const layers: CnnLayer[] = [{ conv: arch.stem.channels, kernel: 3, batchNorm: true }];
  for (const stage of arch.stages) {
    if (stage.downsample === 'maxpool') layers.push({ pool: 'max' });
    for (let b = 0; b < stage.blocks; b++) {
      const conv: ConvLayer = { conv: stage.channels, kernel: stage.kernel, batchNorm: true };
      if (stage.conv === 'separable') conv.separable = true;
      if (b === 0 && stage.downsample === 'stride') conv.stride = 2;
      layers.push(stage.residual ? { residual: [conv] } : conv);
    }
  }
  layers.push({ globalPool: 'avg' });
  if (arch.head.hidden) layers.push({ dense: arch.head.units! });
  return { type: 'cnn', layers };
}

export function createCnnSpace(): DslSpace<CnnSpaceArch> {
  return new DslSpace<CnnSpaceArch>({
    name: 'cnn',
    description: 'convolutional networks: a stem and 1-4 stages (channels, conv type, kernel, blocks, residual, downsampling), pooled dense head',
    params: cnnParams,
    build: (arch) => buildCnn(arch),
  });
}
