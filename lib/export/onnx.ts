/**
 * `exportOnnx`: writes a trained model as an ONNX model that takes raw input.
 *
 * The graph reads `input` — raw features, [batch, height, width, channels] for images (NHWC, as the
 * data set stores them) or [batch, features] for flat data — applies the data set's normalisation
 * ((x · scale − mean[c]) / std[c]), then the network in the engine's plan order (including the
 * projections the planner inserts for residual adds), and returns `logits` [batch, classes]
 * (classification) or `predictions` [batch, targets] in the targets' own units (regression).
 *
 * Internally spatial tensors are NCHW, as ONNX's Conv and pooling operators require; the engine's
 * NHWC weights are permuted once at export time (convolutions to [out, in, k, k]; a dense layer that
 * reads a spatial input has its rows reordered from (h, w, c) to (c, h, w)), so no transposes run
 * except where the engine's flatten order is observable. Batch norm is exported in inference form
 * (running statistics, epsilon 1e-5), dropout is removed, GELU is the exact erf form, "same" padding
 * is written as explicit pads (TensorFlow's convention: the extra row or column at the end) and
 * average pooling excludes the padding.
 */
import { checkTrainedModel, type TrainedModel } from './model-file.js';
import { NasxError, checkFilePath, checkInteger, checkObject } from '../errors.js';
import type { NativeTensor } from '../native/binding.js';
import { plannedNodes, type PlannedNode } from '../arch/planned-nodes.js';
import { nasxVersion } from '../util/version.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import {
  ATTR,
  ONNX_FLOAT,
  ONNX_INT64,
  ONNX_IR_VERSION,
  encodeOnnxModel,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto.js';

/** Opsets the exporter writes (the graph uses the same operators in all of them). */
export const ONNX_OPSETS = [17, 18, 19, 20, 21] as const;
export const DEFAULT_OPSET = 17;
const BATCH_NORM_EPSILON = 1e-5; // the engine's
const INV_SQRT2 = Math.fround(0.70710678118654752); // the engine's GELU constant

export interface ExportOnnxOptions {
  /** Write the model to this file (atomically). Default: keep it in memory only. */
  out?: string;
  /** ONNX opset, 17–21. Default 17. */
  opset?: number;
}

/** An exported model: the ONNX bytes and what they were made from. */
export interface OnnxExport {
  bytes: Uint8Array;
  opset: number;
  inputName: 'input';
  outputName: 'logits' | 'predictions';
  /** The input's shape with the batch dimension first (-1: any batch size). */
  inputShape: number[];
  /** The model that was exported (validation runs it in the native engine). */
  model: TrainedModel;
  /** The file written, when `out` was given. */
  out?: string;
}

/** One tensor of the graph being built: its engine shape and how it is laid out in ONNX. */
interface Value {
  name: string;
  /** The engine's per-sample shape [h, w, c]. */
  shape: [number, number, number];
  /** `nchw`: [N, C, H, W]; `flat`: [N, C] (only when h = w = 1). */
  layout: 'nchw' | 'flat';
}

/** Builds the ONNX graph node by node. */
class GraphWriter {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();

  /** A fresh tensor name based on `base`. */
  unique(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  op(opType: string, inputs: string[], outputBase: string, attributes: OnnxAttribute[] = []): string {
    const output = this.unique(outputBase);
    this.nodes.push({ op_type: opType, input: inputs, output: [output], name: output, ...(attributes.length ? { attribute: attributes } : {}) });
    return output;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    const n = this.unique(name);
    const bytes = new Uint8Array(data.byteLength);
    const view = new DataView(bytes.buffer);
    data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    this.initializers.push({ name: n, dims, data_type: ONNX_FLOAT, raw_data: bytes });
    return n;
  }

  int64s(name: string, values: number[]): string {
    const n = this.unique(name);
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push({ name: n, dims: [values.length], data_type: ONNX_INT64, raw_data: bytes });
    return n;
  }
}

const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: ATTR.INTS, ints: values });
const int = (name: string, value: number): OnnxAttribute => ({ name, type: ATTR.INT, i: value });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: ATTR.FLOAT, f: value });

/** TensorFlow "same" padding of one axis: [before, after]. */
export function samePadding(input: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + kernel - input, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Converts the engine's weights and graph into ONNX nodes. */
class Exporter {
  readonly g = new GraphWriter();
  private readonly params = new Map<string, NativeTensor>();
  private readonly state = new Map<string, NativeTensor>();

  constructor(private readonly model: TrainedModel) {
    for (const t of model.weights.params) this.params.set(t.name, t);
    for (const t of model.weights.state) this.state.set(t.name, t);
  }

  private tensor(kind: 'params' | 'state', name: string, shape: number[]): Float32Array {
    const t = (kind === 'params' ? this.params : this.state).get(name);
    if (!t) throw new NasxError('ERR_NASX_ONNX', `Cannot export: the model has no tensor ${name}`);
    const expected = shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected || t.shape.join(',') !== shape.join(',')) {
      throw new NasxError('ERR_NASX_ONNX', `Cannot export: tensor ${name} has shape [${t.shape.join(',')}] but the network needs [${shape.join(',')}]`);
    }
    return t.data;
  }

  /** The value in NCHW layout. */
  private nchw(v: Value): Value {
    if (v.layout === 'nchw') return v;
    const shape = this.g.int64s(`${v.name}/shape4d`, [0, v.shape[2], 1, 1]);
    return { ...v, name: this.g.op('Reshape', [v.name, shape], `${v.name}/nchw`), layout: 'nchw' };
  }

  /** The value as [N, features], features in the engine's (h, w, c) order. */
  flat(v: Value): Value {
    if (v.layout === 'flat') return v;
    let name = v.name;
    if (v.shape[0] * v.shape[1] > 1) name = this.g.op('Transpose', [name], `${v.name}/nhwc`, [ints('perm', [0, 2, 3, 1])]);
    return { name: this.g.op('Flatten', [name], `${v.name}/flat`, [int('axis', 1)]), shape: [1, 1, v.shape[0] * v.shape[1] * v.shape[2]], layout: 'flat' };
  }

  input(): Value {
    const [h, w, c] = this.model.inputShape;
    const { scale, mean, std } = this.model.normalization;
    if (mean.length !== c || std.length !== c) {
      throw new NasxError('ERR_NASX_ONNX', `Cannot export: the normalisation has ${mean.length} channels but the input has ${c}`);
    }
    const scaled = this.g.op('Mul', ['input', this.g.floats('normalization.scale', [], Float32Array.of(scale))], 'normalization/scaled');
    const centred = this.g.op('Sub', [scaled, this.g.floats('normalization.mean', [c], Float32Array.from(mean))], 'normalization/centred');
    const x = this.g.op('Div', [centred, this.g.floats('normalization.std', [c], Float32Array.from(std))], 'normalization');
    if (h * w === 1) return { name: x, shape: [h, w, c], layout: 'flat' };
    return { name: this.g.op('Transpose', [x], 'normalization/nchw', [ints('perm', [0, 3, 1, 2])]), shape: [h, w, c], layout: 'nchw' };
  }

  node(n: PlannedNode, inputs: Value[]): Value {
    const x = inputs[0]!;
    const [ih, iw, ic] = x.shape;
    const out = n.outputShape;
    const g = this.g;
    switch (n.op) {
      case 'dense': {
        const units = n.units!;
        const fanIn = ih * iw * ic;
        let w = this.tensor('params', `${n.name}.weight`, [fanIn, units]);
        let a: Value;
        if (x.layout === 'nchw' && ih * iw > 1) {
          // Flatten of NCHW is (c, h, w) order; reorder the rows instead of transposing the input.
          const perm = new Float32Array(w.length);
          for (let y = 0; y < ih; y++)
            for (let xx = 0; xx < iw; xx++)
              for (let ch = 0; ch < ic; ch++) {
                const src = ((y * iw + xx) * ic + ch) * units;
                const dst = ((ch * ih + y) * iw + xx) * units;
                perm.set(w.subarray(src, src + units), dst);
              }
          w = perm;
          a = { name: g.op('Flatten', [x.name], `${x.name}/chw`, [int('axis', 1)]), shape: [1, 1, fanIn], layout: 'flat' };
        } else {
          a = this.flat(x);
        }
        const args = [a.name, g.floats(`${n.name}.weight`, [fanIn, units], w)];
        if (n.bias !== false) args.push(g.floats(`${n.name}.bias`, [units], this.tensor('params', `${n.name}.bias`, [units])));
        return { name: g.op('Gemm', args, n.name), shape: out, layout: 'flat' };
      }
      case 'conv2d':
      case 'depthwise_conv2d': {
        const v = this.nchw(x);
        const k = n.kernel!;
        const stride = n.stride ?? 1;
        const depthwise = n.op === 'depthwise_conv2d';
        const cout = depthwise ? ic : n.filters!;
        const src = this.tensor('params', `${n.name}.weight`, depthwise ? [k, k, ic] : [k, k, ic, cout]);
        const cin = depthwise ? 1 : ic;
        const w = new Float32Array(cout * cin * k * k);
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++)
            for (let ci = 0; ci < cin; ci++)
              for (let co = 0; co < cout; co++) {
                const from = depthwise ? (ky * k + kx) * ic + co : ((ky * k + kx) * ic + ci) * cout + co;
                w[((co * cin + ci) * k + ky) * k + kx] = src[from]!;
              }
        const [pt, pb] = samePadding(ih, k, stride);
        const [pl, pr] = samePadding(iw, k, stride);
        const args = [v.name, g.floats(`${n.name}.weight`, [cout, cin, k, k], w)];
        if (n.bias !== false) args.push(g.floats(`${n.name}.bias`, [cout], this.tensor('params', `${n.name}.bias`, [cout])));
        const attrs = [ints('kernel_shape', [k, k]), ints('strides', [stride, stride]), ints('pads', [pt, pl, pb, pr])];
        if (depthwise) attrs.push(int('group', ic));
        return { name: g.op('Conv', args, n.name, attrs), shape: out, layout: 'nchw' };
      }
      case 'max_pool':
      case 'avg_pool': {
        const v = this.nchw(x);
        const k = n.kernel!;
        const stride = n.stride ?? 1;
        const [pt, pb] = samePadding(ih, k, stride);
        const [pl, pr] = samePadding(iw, k, stride);
        const attrs = [ints('kernel_shape', [k, k]), ints('strides', [stride, stride]), ints('pads', [pt, pl, pb, pr])];
        if (n.op === 'avg_pool') attrs.push(int('count_include_pad', 0));
        return { name: g.op(n.op === 'max_pool' ? 'MaxPool' : 'AveragePool', [v.name], n.name, attrs), shape: out, layout: 'nchw' };
      }
      case 'global_avg_pool':
        if (ih * iw === 1) return { ...x, shape: out };
        return { name: g.op('GlobalAveragePool', [x.name], n.name), shape: out, layout: 'nchw' };
      case 'batch_norm': {
        const c = ic;
        const args = [
          x.name,
          g.floats(`${n.name}.gamma`, [c], this.tensor('params', `${n.name}.gamma`, [c])),
          g.floats(`${n.name}.beta`, [c], this.tensor('params', `${n.name}.beta`, [c])),
          g.floats(`${n.name}.running_mean`, [c], this.tensor('state', `${n.name}.running_mean`, [c])),
          g.floats(`${n.name}.running_var`, [c], this.tensor('state', `${n.name}.running_var`, [c])),
        ];
        return { name: g.op('BatchNormalization', args, n.name, [float('epsilon', BATCH_NORM_EPSILON)]), shape: out, layout: x.layout };
      }
      case 'dropout':
        return { ...x, shape: out }; // inference: the identity
      case 'activation': {
        const act = n.activation ?? 'identity';
        if (act === 'identity') return { ...x, shape: out };
        if (act === 'gelu') {
          // 0.5 · x · (1 + erf(x / √2)), with the engine's float constant.
          const t = g.op('Mul', [x.name, g.floats(`${n.name}.inv_sqrt2`, [], Float32Array.of(INV_SQRT2))], `${n.name}/scaled`);
          const e = g.op('Erf', [t], `${n.name}/erf`);
          const a = g.op('Add', [e, g.floats(`${n.name}.one`, [], Float32Array.of(1))], `${n.name}/one_plus_erf`);
          const m = g.op('Mul', [x.name, a], `${n.name}/x_times`);
          return { name: g.op('Mul', [m, g.floats(`${n.name}.half`, [], Float32Array.of(0.5))], n.name), shape: out, layout: x.layout };
        }
        const opType = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' }[act];
        return { name: g.op(opType, [x.name], n.name), shape: out, layout: x.layout };
      }
      case 'flatten': {
        const v = this.flat(x);
        return { ...v, shape: out };
      }
      case 'add': {
        const spatial = ih * iw > 1;
        const vs = inputs.map((v) => (spatial ? this.nchw(v) : this.flat(v)));
        // ((a + b) + c) + ..., the engine's order.
        let sum = vs[0]!.name;
        for (let k = 1; k < vs.length; k++) sum = g.op('Add', [sum, vs[k]!.name], k === vs.length - 1 ? n.name : `${n.name}/partial`);
        return { name: sum, shape: out, layout: spatial ? 'nchw' : 'flat' };
      }
    }
  }
}

/** The ONNX bytes of a trained model (see the module comment for the graph's form). */
export function buildOnnx(model: TrainedModel, opset = DEFAULT_OPSET): Uint8Array {
  checkInteger('options.opset', opset, ONNX_OPSETS[0], ONNX_OPSETS[ONNX_OPSETS.length - 1]);
  const specs = plannedNodes(model.nodes, model.inputShape, model.outputSize);
  const ex = new Exporter(model);
  const values: Value[] = [];
  const networkInput = ex.input();
  for (const spec of specs) {
    const inputs = spec.inputs.map((i) => (i < 0 ? networkInput : values[i]!));
    values.push(ex.node(spec, inputs));
  }
  const g = ex.g;
  const last = values[values.length - 1]!;
  let flatOut = ex.flat(last).name;
  const regression = model.task === 'regression';
  const outputName = regression ? 'predictions' : 'logits';
  if (regression && model.targetNormalization) {
    const { mean, std } = model.targetNormalization;
    const scaled = g.op('Mul', [flatOut, g.floats('target.std', [std.length], Float32Array.from(std))], 'target/scaled');
    flatOut = g.op('Add', [scaled, g.floats('target.mean', [mean.length], Float32Array.from(mean))], 'target');
  }
  g.nodes.push({ op_type: 'Identity', input: [flatOut], output: [outputName], name: outputName });

  const [h, w, c] = model.inputShape;
  const inputDims = h * w === 1 ? [c] : [h, w, c];
  const dims = (d: number[]) => [{ dim_param: 'batch' }, ...d.map((v) => ({ dim_value: v }))];
  const metadata: Record<string, unknown> = {
    'nasx.version': nasxVersion(),
    'nasx.arch': model.arch,
    'nasx.metrics': model.metrics,
    'nasx.task': model.task,
    'nasx.inputShape': model.inputShape,
    'nasx.outputSize': model.outputSize,
    'nasx.normalization': model.normalization,
    'nasx.dataset': model.data.name,
    'nasx.params': model.params,
    'nasx.flops': model.flops,
  };
  if (model.classNames) metadata['nasx.classNames'] = model.classNames;
  return encodeOnnxModel({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'nasx',
    producer_version: nasxVersion(),
    doc_string: `${model.task} network trained by nasx on ${model.data.name}; input: raw ${h * w === 1 ? '[batch, features]' : '[batch, height, width, channels]'}`,
    graph: {
      name: 'nasx',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: 'input', type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: dims(inputDims) } } } }],
      output: [{ name: outputName, type: { tensor_type: { elem_type: ONNX_FLOAT, shape: { dim: dims([model.outputSize]) } } } }],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) })),
  });
}

/**
 * Exports a trained model to ONNX (in memory, and to `options.out` when given: atomically, through a
 * temporary file and a rename).
 *
 * @example const onnx = await exportOnnx(await loadModel('model.nasx'), { out: 'model.onnx' });
 */
export async function exportOnnx(model: TrainedModel, options: ExportOnnxOptions = {}): Promise<OnnxExport> {
  checkTrainedModel(model);
  checkObject('options', options);
  if (options.out !== undefined) checkFilePath('options.out', options.out);
  const opset = options.opset ?? DEFAULT_OPSET;
  const bytes = buildOnnx(model, opset);
  const [h, w, c] = model.inputShape;
  const result: OnnxExport = {
    bytes,
    opset,
    inputName: 'input',
    outputName: model.task === 'regression' ? 'predictions' : 'logits',
    inputShape: h * w === 1 ? [-1, c] : [-1, h, w, c],
    model,
  };
  if (options.out !== undefined) {
    await writeFileAtomic(options.out, bytes, 'options.out');
    result.out = options.out;
  }
  return result;
}
