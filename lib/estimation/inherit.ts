/**
 * Weight inheritance: a child architecture starts from a trained parent's weights, mapped by the
 * native engine (function-preserving where the change allows: wider layers, identity layers after
 * ReLU, larger kernels, a new residual branch that starts at zero; see `InheritReport`).
 */
import { lowerArch, type Arch } from '../arch/arch.js';
import { checkInteger, isObject, typeError } from '../errors.js';
import { fromNative, native, type NativeInheritReport, type NativeNode, type NativeParent, type NativeTensor } from '../native/binding.js';

/**
 * A trained network to inherit from: a `TrainedModel` (from `trainModel`, `loadModel` or `nasx train
 * --save`), or a `TrainResult` of `trainCandidates` trained with `keepWeights: true`.
 */
export interface ParentModel {
  /** The parent's architecture (lowered with `outputSize`) when `nodes` is absent. */
  arch?: Arch;
  /** The engine graph the weights belong to. */
  nodes?: readonly NativeNode[];
  inputShape: readonly [number, number, number];
  /** Outputs of the parent's head; default: the child's data set's. */
  outputSize?: number;
  weights?: { params: readonly NativeTensor[]; state: readonly NativeTensor[] };
}

/**
 * Per tensor of the child, where it came from and how (`copy`, `widen`, `shrink`, `kernel-embed`,
 * `kernel-crop`, `identity`, `zero`, `partial`, `fresh`), and whether the child computes the parent's
 * function before training (`functionPreserving`; `reason` says where it stops when not).
 */
export type InheritReport = NativeInheritReport;

export interface InheritOptions {
  /** Seeds the child's fresh tensors and the units a widening replicates. Default 0. */
  seed?: number;
  /** The child's input shape; default the parent's. */
  inputShape?: readonly [number, number, number];
  /** The child's outputs; default the parent's. */
  outputSize?: number;
}

export interface Inherited {
  /** The child's engine graph. */
  nodes: NativeNode[];
  params: NativeTensor[];
  state: NativeTensor[];
  report: InheritReport;
}

/** The engine's form of a parent; throws a TypeError naming `name` when it is not a trained network. */
export function toNativeParent(parent: unknown, outputSize: number, name = 'parent'): NativeParent {
  if (!isObject(parent)) throw typeError(name, 'a trained model or a training result with weights', parent);
  const p = parent as Partial<ParentModel>;
  if (!isObject(p.weights) || !Array.isArray(p.weights.params) || !Array.isArray(p.weights.state)) {
    throw typeError(`${name}.weights`, 'the trained weights ({ params, state }; train the parent with keepWeights: true)', p.weights);
  }
  const shape = p.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3) throw typeError(`${name}.inputShape`, 'an input shape [height, width, channels]', shape);
  const outputs = p.outputSize ?? outputSize;
  checkInteger(`${name}.outputSize`, outputs, 1, 1 << 20);
  let nodes: NativeNode[];
  if (Array.isArray(p.nodes)) nodes = p.nodes as NativeNode[];
  else if (p.arch !== undefined) nodes = lowerArch(p.arch, outputs, `${name}.arch`);
  else throw typeError(`${name}.nodes`, 'the parent\'s engine graph (or an arch to lower)', p.nodes);
  const inputShape: [number, number, number] = [shape[0], shape[1], shape[2]];
  checkTensors(`${name}.weights`, p.weights, nodes, inputShape, outputs);
  return {
    nodes,
    inputShape,
    outputSize: outputs,
    params: p.weights.params as NativeTensor[],
    state: p.weights.state as NativeTensor[],
  };
}

/** The weights must be the parent network's tensors, in its order, with their sizes. */
function checkTensors(name: string, weights: { params: readonly NativeTensor[]; state: readonly NativeTensor[] }, nodes: NativeNode[], inputShape: [number, number, number], outputs: number): void {
  let plan;
  try {
    plan = native().plan(nodes, inputShape, outputs);
  } catch (err) {
    throw fromNative(err);
  }
  const state = plan.tensors
    .filter((t) => t.name.endsWith('.gamma'))
    .flatMap((t) => ['running_mean', 'running_var'].map((s) => ({ name: `${t.name.slice(0, -'gamma'.length)}${s}`, shape: t.shape })));
  for (const [key, want] of [['params', plan.tensors], ['state', state]] as const) {
    const got = weights[key];
    if (got.length !== want.length) {
      throw new RangeError(`Expected ${want.length} tensors (the parent network's) for ${name}.${key} but received ${got.length}`);
    }
    want.forEach((w, i) => {
      const t = got[i];
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (!isObject(t) || !(t.data instanceof Float32Array) || t.data.length !== size) {
        throw typeError(`${name}.${key}[${i}]`, `the tensor ${w.name}: { data: a Float32Array of ${size} values }`, t);
      }
      if (t.name !== undefined && t.name !== w.name) throw typeError(`${name}.${key}[${i}].name`, `"${w.name}" (the parent network's tensor at this position)`, t.name);
    });
  }
}

/**
 * Maps a trained parent's weights onto `childArch`. Tensors are matched by the engine's names (layers
 * aligned as sequences, so an inserted layer does not shift the rest). The same seed gives the
 * weights a training with `init: [{ parent }]` and that seed starts from.
 *
 * @example
 * const { report } = inheritWeights(model, { type: 'mlp', layers: [{ units: 512 }] });
 * report.functionPreserving; // true: 256 → 512 units is Net2WiderNet
 */
export function inheritWeights(parent: ParentModel, childArch: Arch, options: InheritOptions = {}): Inherited {
  const stack = new Error().stack;
  if (typeof options !== 'object' || options === null) throw typeError('options', 'an options object', options);
  if (options.seed !== undefined) checkInteger('options.seed', options.seed, 0);
  const recorded: unknown = typeof parent === 'object' && parent !== null ? (parent as ParentModel).outputSize : undefined;
  const outputSize = options.outputSize ?? recorded;
  if (typeof outputSize !== 'number') throw typeError('options.outputSize', 'the outputs of the network (the parent does not record them)', outputSize);
  const p = toNativeParent(parent, outputSize);
  const nodes = lowerArch(childArch, outputSize, 'childArch');
  const inputShape = options.inputShape ?? p.inputShape;
  if (!Array.isArray(inputShape) || inputShape.length !== 3) throw typeError('options.inputShape', 'an input shape [height, width, channels]', inputShape);
  try {
    const r = native().inheritWeights(p, { nodes, inputShape: [inputShape[0], inputShape[1], inputShape[2]] }, options.seed ?? 0);
    return { nodes, ...r };
  } catch (err) {
    throw fromNative(err, stack);
  }
}

/** A one-line summary of a report: how many tensors were inherited, and how. */
export function describeInheritance(report: InheritReport): string {
  const counts = new Map<string, number>();
  for (const t of [...report.params, ...report.state]) counts.set(t.how, (counts.get(t.how) ?? 0) + 1);
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([how, n]) => `${n} ${how}`);
  const preserving = report.functionPreserving ? 'function-preserving' : `not function-preserving: ${report.reason ?? 'unknown'}`;
  return `${parts.join(', ')} (${preserving})`;
}
