/**
 * The architecture format: plain JSON that a person can write by hand and a search space can emit.
 *
 * ```json
 * {"type":"mlp","layers":[{"units":256,"activation":"relu"}]}
 * {"type":"cnn","layers":[{"conv":16},{"pool":"max"},{"conv":32,"separable":true},{"globalPool":"avg"}]}
 * ```
 *
 * Input and output layers are implied by the data set: the network reads the data set's input shape
 * and ends with a dense layer of one unit per class (or regression target). `lowerArch` turns an
 * architecture into the node graph the engine trains; the engine checks shapes again and names the
 * layer at fault.
 */
import type { ActivationName, NativeNode } from '../native/binding.js';
import { NasxError, checkInteger, describeValue, isObject, typeError } from '../errors.js';

export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'gelu', 'tanh', 'sigmoid', 'identity'];

export interface MlpLayer {
  units: number;
  /** Default "relu". */
  activation?: ActivationName;
  /** Dropout probability after the activation, in [0, 1). Default 0. */
  dropout?: number;
  /** Batch normalisation between the dense layer and the activation. Default false. */
  batchNorm?: boolean;
  /** Adds the layer's input to its output (a linear projection when the widths differ). Default false. */
  residual?: boolean;
}

/**
 * Per-architecture training settings (joint architecture and hyper-parameter search). They override
 * the batch's options for this candidate only.
 */
export interface Hyper {
  optimizer?: 'sgd' | 'adamw';
  lr?: number;
  weightDecay?: number;
  momentum?: number;
}

export interface MlpArch {
  type: 'mlp';
  layers: MlpLayer[];
  hyper?: Hyper;
}

/** A convolution: `conv` output channels, square `kernel` (1, 3 or 5; default 3), `stride` 1 or 2. */
export interface ConvLayer {
  conv: number;
  kernel?: 1 | 3 | 5;
  stride?: 1 | 2;
  /** Depthwise-separable: a depthwise k×k convolution, then a pointwise 1×1 one to `conv` channels. */
  separable?: boolean;
  batchNorm?: boolean;
  activation?: ActivationName;
}
/** A depthwise convolution alone (channel count unchanged). */
export interface DepthwiseLayer {
  depthwise: 1 | 3 | 5;
  stride?: 1 | 2;
  batchNorm?: boolean;
  activation?: ActivationName;
}
export interface PoolLayer {
  pool: 'max' | 'avg';
  /** Window size, default 2. */
  size?: number;
  /** Default: 2 (halves the resolution). */
  stride?: 1 | 2;
}
export interface GlobalPoolLayer {
  globalPool: 'avg';
}
export interface DenseLayer {
  dense: number;
  activation?: ActivationName;
  batchNorm?: boolean;
  dropout?: number;
}
export interface DropoutLayer {
  dropout: number;
}
/** A block whose input is added to its output (1×1 projection when the shape changes). */
export interface ResidualBlock {
  residual: CnnLayer[];
}
export type CnnLayer = ConvLayer | DepthwiseLayer | PoolLayer | GlobalPoolLayer | DenseLayer | DropoutLayer | ResidualBlock;

export interface CnnArch {
  type: 'cnn';
  layers: CnnLayer[];
  hyper?: Hyper;
}

/** The engine's graph form, for spaces that build arbitrary cells (the head is NOT implied). */
export interface GraphArch {
  type: 'graph';
  nodes: NativeNode[];
  hyper?: Hyper;
}

export type Arch = MlpArch | CnnArch | GraphArch;

export const ARCH_TYPES = ['mlp', 'cnn', 'graph'] as const;

/** Thrown (with the path of the field at fault) when an architecture is malformed. */
function invalid(path: string, expected: string, value: unknown): NasxError {
  return new NasxError('ERR_NASX_INVALID_ARCH', `Expected ${expected} for ${path} but received ${describeValue(value)}`);
}


function checkKeys(path: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new NasxError(
        'ERR_NASX_INVALID_ARCH',
        `Unknown field "${k}" in ${path}; allowed fields are ${allowed.map((a) => `"${a}"`).join(', ')}`,
      );
    }
  }
}

function positiveInt(path: string, v: unknown, max = 1 << 20): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw invalid(path, `an integer between 1 and ${max}`, v);
  }
  return v;
}

function oneOf<T>(path: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw invalid(path, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, v);
  return v as T;
}

function bool(path: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(path, 'a boolean', v);
  return v;
}

function rate(path: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw invalid(path, 'a number in [0, 1)', v);
  return v;
}

/** Parses a JSON string into an architecture, with a clear error for malformed JSON. */
export function parseArch(text: string, source = 'arch'): Arch {
  if (typeof text !== 'string') throw typeError('text', 'JSON text (a string)', text);
  if (typeof source !== 'string') throw typeError('source', 'a name for messages (a string)', source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NasxError('ERR_NASX_INVALID_ARCH', `${source} is not valid JSON: ${(err as Error).message}`);
  }
  validateArch(value, source);
  return value as Arch;
}

/** Checks an architecture's structure; throws NasxError('ERR_NASX_INVALID_ARCH') naming the field. */
export function validateArch(arch: unknown, path = 'arch'): asserts arch is Arch {
  lowerArch(arch, 2, path);
}

class GraphBuilder {
  readonly nodes: NativeNode[] = [];
  /** Appends a node reading `from` (default: the last node) and returns its index. */
  add(node: NativeNode, from?: number[]): number {
    const index = this.nodes.length;
    const inputs = from ?? [index - 1];
    this.nodes.push(inputs.length === 1 && inputs[0] === index - 1 ? node : { ...node, inputs });
    return index;
  }
  get last(): number {
    return this.nodes.length - 1;
  }
}

function activationNode(b: GraphBuilder, name: string, act: ActivationName): void {
  if (act !== 'identity') b.add({ op: 'activation', name: `${name}.${act}`, activation: act });
}

function lowerMlp(arch: Record<string, unknown>, b: GraphBuilder, path: string): void {
  checkKeys(path, arch, ['type', 'layers', 'hyper']);
  const layers = arch.layers;
  if (!Array.isArray(layers)) throw invalid(`${path}.layers`, 'an array of layers', layers);
  layers.forEach((layer, i) => {
    const p = `${path}.layers[${i}]`;
    const name = `layers[${i}]`;
    if (!isObject(layer)) throw invalid(p, 'an object like {"units":128}', layer);
    checkKeys(p, layer, ['units', 'activation', 'dropout', 'batchNorm', 'residual']);
    const units = positiveInt(`${p}.units`, layer.units);
    const act = oneOf(`${p}.activation`, layer.activation, ACTIVATIONS, 'relu');
    const drop = rate(`${p}.dropout`, layer.dropout);
    const input = b.last;
    b.add({ op: 'dense', name, units, bias: !layer.batchNorm });
    if (bool(`${p}.batchNorm`, layer.batchNorm)) b.add({ op: 'batch_norm', name: `${name}.bn` });
    activationNode(b, name, act);
    if (drop > 0) b.add({ op: 'dropout', name: `${name}.dropout`, rate: drop });
    if (bool(`${p}.residual`, layer.residual)) {
      const from = input < 0 ? -1 : input;
      b.add({ op: 'add', name: `${name}.residual`, project: true }, [b.last, from]);
    }
  });
}

/** A layer as short JSON for messages, or its keys when it cannot be JSON (a BigInt, a cycle). */
function layerText(layer: Record<string, unknown>): string {
  try {
    return JSON.stringify(layer).slice(0, 80);
  } catch {
    return `an object with keys ${Object.keys(layer).slice(0, 8).map((k) => JSON.stringify(k)).join(', ')}`;
  }
}

/** Residual blocks nest at most this deep (deeper input is refused, not a stack overflow). */
const MAX_NESTING = 32;

function lowerCnnLayers(layers: unknown, b: GraphBuilder, path: string, prefix: string, depth = 0): void {
  if (!Array.isArray(layers)) throw invalid(path, 'an array of layers', layers);
  if (depth > MAX_NESTING) throw invalid(path, `layers nested in at most ${MAX_NESTING} residual blocks`, layers);
  layers.forEach((layer, i) => {
    const p = `${path}[${i}]`;
    const name = `${prefix}[${i}]`;
    if (!isObject(layer)) throw invalid(p, 'an object like {"conv":16}', layer);
    if ('conv' in layer) {
      checkKeys(p, layer, ['conv', 'kernel', 'stride', 'separable', 'batchNorm', 'activation']);
      const filters = positiveInt(`${p}.conv`, layer.conv, 65536);
      const kernel = oneOf(`${p}.kernel`, layer.kernel, [1, 3, 5], 3);
      const stride = oneOf(`${p}.stride`, layer.stride, [1, 2], 1);
      const bn = bool(`${p}.batchNorm`, layer.batchNorm);
      const act = oneOf(`${p}.activation`, layer.activation, ACTIVATIONS, 'relu');
      if (bool(`${p}.separable`, layer.separable)) {
        b.add({ op: 'depthwise_conv2d', name: `${name}.depthwise`, kernel, stride, bias: false });
        b.add({ op: 'conv2d', name: `${name}.pointwise`, filters, kernel: 1, stride: 1, bias: !bn });
      } else {
        b.add({ op: 'conv2d', name, filters, kernel, stride, bias: !bn });
      }
      if (bn) b.add({ op: 'batch_norm', name: `${name}.bn` });
      activationNode(b, name, act);
    } else if ('depthwise' in layer) {
      checkKeys(p, layer, ['depthwise', 'stride', 'batchNorm', 'activation']);
      const kernel = oneOf(`${p}.depthwise`, layer.depthwise, [1, 3, 5], 3);
      const stride = oneOf(`${p}.stride`, layer.stride, [1, 2], 1);
      const bn = bool(`${p}.batchNorm`, layer.batchNorm);
      const act = oneOf(`${p}.activation`, layer.activation, ACTIVATIONS, 'relu');
      b.add({ op: 'depthwise_conv2d', name, kernel, stride, bias: !bn });
      if (bn) b.add({ op: 'batch_norm', name: `${name}.bn` });
      activationNode(b, name, act);
    } else if ('pool' in layer) {
      checkKeys(p, layer, ['pool', 'size', 'stride']);
      const kind = oneOf(`${p}.pool`, layer.pool, ['max', 'avg'] as const, 'max');
      const size = layer.size === undefined ? 2 : positiveInt(`${p}.size`, layer.size, 7);
      const stride = oneOf(`${p}.stride`, layer.stride, [1, 2], 2);
      b.add({ op: kind === 'max' ? 'max_pool' : 'avg_pool', name, kernel: size, stride });
    } else if ('globalPool' in layer) {
      checkKeys(p, layer, ['globalPool']);
      oneOf(`${p}.globalPool`, layer.globalPool, ['avg'] as const, 'avg');
      b.add({ op: 'global_avg_pool', name });
    } else if ('dense' in layer) {
      checkKeys(p, layer, ['dense', 'activation', 'batchNorm', 'dropout']);
      const units = positiveInt(`${p}.dense`, layer.dense);
      const bn = bool(`${p}.batchNorm`, layer.batchNorm);
      const act = oneOf(`${p}.activation`, layer.activation, ACTIVATIONS, 'relu');
      const drop = rate(`${p}.dropout`, layer.dropout);
      b.add({ op: 'dense', name, units, bias: !bn });
      if (bn) b.add({ op: 'batch_norm', name: `${name}.bn` });
      activationNode(b, name, act);
      if (drop > 0) b.add({ op: 'dropout', name: `${name}.dropout`, rate: drop });
    } else if ('residual' in layer) {
      checkKeys(p, layer, ['residual']);
      const input = b.last;
      if (!Array.isArray(layer.residual) || layer.residual.length === 0) {
        throw invalid(`${p}.residual`, 'a non-empty array of layers', layer.residual);
      }
      lowerCnnLayers(layer.residual, b, `${p}.residual`, `${name}.residual`, depth + 1);
      b.add({ op: 'add', name: `${name}.add`, project: true }, [b.last, input]);
    } else if ('dropout' in layer) {
      checkKeys(p, layer, ['dropout']);
      const drop = rate(`${p}.dropout`, layer.dropout);
      if (drop > 0) b.add({ op: 'dropout', name, rate: drop });
    } else {
      throw new NasxError(
        'ERR_NASX_INVALID_ARCH',
        `Unknown layer at ${p}: expected one of the keys "conv", "depthwise", "pool", "globalPool", "dense", "dropout", "residual" but received ${layerText(layer)}`,
      );
    }
  });
}

const NATIVE_OPS = [
  'dense',
  'conv2d',
  'depthwise_conv2d',
  'max_pool',
  'avg_pool',
  'global_avg_pool',
  'batch_norm',
  'dropout',
  'activation',
  'flatten',
  'add',
] as const;

function lowerGraph(arch: Record<string, unknown>, b: GraphBuilder, path: string): void {
  checkKeys(path, arch, ['type', 'nodes', 'hyper']);
  if (!Array.isArray(arch.nodes) || arch.nodes.length === 0) throw invalid(`${path}.nodes`, 'a non-empty array of nodes', arch.nodes);
  arch.nodes.forEach((node, i) => {
    const p = `${path}.nodes[${i}]`;
    if (!isObject(node)) throw invalid(p, 'an object like {"op":"dense","units":10}', node);
    checkKeys(p, node, ['op', 'name', 'inputs', 'units', 'filters', 'kernel', 'stride', 'bias', 'activation', 'rate', 'project']);
    oneOf(`${p}.op`, node.op, NATIVE_OPS, 'dense');
    if (node.inputs !== undefined) {
      if (!Array.isArray(node.inputs) || node.inputs.some((x) => !Number.isInteger(x) || x < -1 || x >= i)) {
        throw invalid(`${p}.inputs`, `an array of node indices between -1 and ${i - 1}`, node.inputs);
      }
    }
    for (const key of ['units', 'filters', 'kernel', 'stride'] as const) {
      if (node[key] !== undefined) positiveInt(`${p}.${key}`, node[key], 65536);
    }
    if (node.activation !== undefined) oneOf(`${p}.activation`, node.activation, ACTIVATIONS, 'relu');
    if (node.rate !== undefined) rate(`${p}.rate`, node.rate);
    if (node.name !== undefined && typeof node.name !== 'string') throw invalid(`${p}.name`, 'a string', node.name);
    b.nodes.push({ name: `nodes[${i}]`, ...(node as unknown as NativeNode) });
  });
}

/** The most outputs a network may have (the engine's limit). */
export const MAX_OUTPUT_SIZE = 1 << 20;

/**
 * Lowers an architecture to the engine's node graph, appending the output head (a dense layer of
 * `outputSize` units, an integer from 1 to 2^20) for the mlp and cnn forms. Throws
 * NasxError('ERR_NASX_INVALID_ARCH') naming the field at fault.
 */
export function lowerArch(arch: unknown, outputSize: number, path = 'arch'): NativeNode[] {
  checkInteger('outputSize', outputSize, 1, MAX_OUTPUT_SIZE);
  if (typeof path !== 'string') throw typeError('path', 'a name for messages (a string)', path);
  if (!isObject(arch)) throw invalid(path, 'an architecture object like {"type":"mlp","layers":[...]}', arch);
  const type = oneOf(`${path}.type`, arch.type, ARCH_TYPES, 'mlp' as const);
  if (arch.type === undefined) throw invalid(`${path}.type`, `one of ${ARCH_TYPES.map((t) => `"${t}"`).join(', ')}`, undefined);
  checkHyper(arch.hyper, `${path}.hyper`);
  const b = new GraphBuilder();
  if (type === 'graph') {
    lowerGraph(arch, b, path);
    return b.nodes;
  }
  if (type === 'mlp') lowerMlp(arch, b, path);
  else {
    checkKeys(path, arch, ['type', 'layers', 'hyper']);
    lowerCnnLayers(arch.layers, b, `${path}.layers`, 'layers');
  }
  b.add({ op: 'dense', name: 'output', units: outputSize });
  return b.nodes;
}

function checkHyper(h: unknown, path: string): Hyper | undefined {
  if (h === undefined) return undefined;
  if (!isObject(h)) throw invalid(path, 'an object like {"lr":0.01}', h);
  checkKeys(path, h, ['optimizer', 'lr', 'weightDecay', 'momentum']);
  if (h.optimizer !== undefined) oneOf(`${path}.optimizer`, h.optimizer, ['sgd', 'adamw'] as const, 'adamw');
  const num = (key: string, lo: number, hi: number, exclusiveLo: boolean) => {
    const v = h[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !(exclusiveLo ? v > lo : v >= lo) || !(v <= hi)) {
      throw invalid(`${path}.${key}`, `a number ${exclusiveLo ? 'greater than' : 'at least'} ${lo} and at most ${hi}`, v);
    }
  };
  num('lr', 0, 1000, true);
  num('weightDecay', 0, 10, false);
  num('momentum', 0, 0.9999, false);
  return h as Hyper;
}

/** The architecture's own training settings, if any (validated by `lowerArch`). */
export function archHyper(arch: Arch): Hyper | undefined {
  return arch.hyper;
}
