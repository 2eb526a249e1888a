import type { Dataset } from '../data/dataset.js';
import { checkInteger, checkObject } from '../errors.js';
import { fromNative, native, type NativePlan, type Shape3 } from '../native/binding.js';
import { MAX_OUTPUT_SIZE, lowerArch, type Arch } from './arch.js';

/**
 * Plans an architecture for an input shape without training it: parameter count, forward FLOPs per
 * sample, and every node's output shape. Throws NasxError('ERR_NASX_INVALID_ARCH') naming the field
 * or layer at fault.
 *
 * @example describeArch({ type: 'mlp', layers: [{ units: 64 }] }, { inputShape: [8, 8, 1], outputSize: 10 }).params
 */
export function describeArch(arch: Arch, shape: Pick<Dataset, 'inputShape' | 'outputSize'>): NativePlan {
  checkObject('shape', shape);
  checkInteger('shape.outputSize', shape.outputSize, 1, MAX_OUTPUT_SIZE);
  const nodes = lowerArch(arch, shape.outputSize);
  try {
    return native().plan(nodes, shape.inputShape as Shape3, shape.outputSize);
  } catch (err) {
    throw fromNative(err, new Error().stack);
  }
}
