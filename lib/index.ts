/**
 * nasx — neural architecture search for TypeScript, with a native training engine.
 */
export { trainCandidates, AbortError, checkTrainOptions } from './train.js';
export type { TrainOptions, TrainResult, TrainMetrics, TrainProgress, CandidateStatus } from './train.js';
export { lowerArch, parseArch, validateArch, ACTIVATIONS, ARCH_TYPES } from './arch/arch.js';
export type {
  Arch,
  MlpArch,
  MlpLayer,
  CnnArch,
  CnnLayer,
  ConvLayer,
  DepthwiseLayer,
  PoolLayer,
  GlobalPoolLayer,
  DenseLayer,
  DropoutLayer,
  ResidualBlock,
  GraphArch,
  Hyper,
} from './arch/arch.js';
export { describeArch } from './arch/describe.js';
export * from './data/index.js';
export { NasxError } from './errors.js';
export type { NasxErrorCode } from './errors.js';
export { native } from './native/binding.js';
export type { NativeNode, NativeOp, NativePlan, ActivationName } from './native/binding.js';
