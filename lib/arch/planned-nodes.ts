/**
 * `plannedNodes`: the network exactly as the engine runs it — the lowered nodes with their inputs
 * resolved and output shapes from the native planner, including the projections the planner inserts
 * before residual adds whose inputs differ in shape (named "<add>.projection", "<add>.projection2",
 * ...). Exporters and other backends build from this list, so that they run the engine's network
 * and address its weights by the same names.
 */
import { NasxError } from '../errors.js';
import { fromNative, native, type NativeNode, type NativeOp, type NativePlan, type Shape3 } from '../native/binding.js';

/** A node of the planned network with every setting it needs. */
export interface PlannedNode extends NativeNode {
  name: string;
  op: NativeOp;
  /** Indices into the planned list; -1 is the network input. */
  inputs: number[];
  /** Per-sample output shape [h, w, c]. */
  outputShape: [number, number, number];
}

/**
 * The planned network of `lowered` (from `lowerArch`) for input `inputShape`. Throws the engine's
 * NasxError for a malformed graph.
 */
export function plannedNodes(lowered: readonly NativeNode[], inputShape: Shape3, outputSize: number): PlannedNode[] {
  let plan: NativePlan;
  try {
    plan = native().plan([...lowered], inputShape, outputSize);
  } catch (err) {
    throw fromNative(err, new Error().stack);
  }
  const out: PlannedNode[] = [];
  let j = 0;
  for (const [i, p] of plan.nodes.entries()) {
    const node = lowered[j];
    const loweredName = node?.name ?? `nodes[${j}]`;
    if (node && p.name === loweredName && p.op === node.op) {
      out.push({ ...node, name: p.name, op: p.op, inputs: p.inputs, outputShape: p.outputShape });
      j++;
      continue;
    }
    // A projection the planner put before an add: a bias-free 1×1 convolution, or a dense layer
    // when the target is flat; its stride is the one that maps the input's size onto the output's.
    if (!node || node.op !== 'add' || !p.name.startsWith(`${loweredName}.projection`) || (p.op !== 'dense' && p.op !== 'conv2d')) {
      throw new NasxError('ERR_NASX_ENGINE', `Plan node ${i} (${p.name}, ${p.op}) matches no node of the architecture`);
    }
    const from = p.inputs[0]! < 0 ? inputShape : plan.nodes[p.inputs[0]!]!.outputShape;
    const shape = p.outputShape;
    if (p.op === 'dense') {
      out.push({ name: p.name, op: 'dense', inputs: p.inputs, outputShape: shape, units: shape[2], bias: false });
    } else {
      const stride = from[0] === shape[0] && from[1] === shape[1] ? 1 : 2;
      out.push({ name: p.name, op: 'conv2d', inputs: p.inputs, outputShape: shape, filters: shape[2], kernel: 1, stride, bias: false });
    }
  }
  if (j !== lowered.length) throw new NasxError('ERR_NASX_ENGINE', `The plan has no node for ${lowered[j]?.name ?? `nodes[${j}]`}`);
  return out;
}
