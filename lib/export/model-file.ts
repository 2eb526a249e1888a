/**
 * The `.nasx` trained-model file: an architecture with its trained weights and everything needed to
 * run it on raw input (input shape, normalisation, task, class names), plus the metrics it reached and
 * where its data came from.
 *
 * Layout (all integers little-endian):
 *
 * | bytes | content |
 * | --- | --- |
 * | 8 | the signature `NASXMODL` |
 * | 4 | format version (uint32), currently 1 |
 * | 4 | header length H in bytes (uint32) |
 * | H | the header: UTF-8 JSON (see `ModelFileHeader`) |
 * | 0–3 | zero bytes, so that the tensor data starts at a multiple of 4 |
 * | … | float32 tensor data: every parameter tensor, then every state tensor, in header order |
 * | 4 | CRC-32 of every byte before it (uint32) |
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import type { Arch } from '../arch/arch.js';
import type { Task } from '../data/dataset.js';
import type { DatasetSource } from '../data/load.js';
import { NasxError, checkFilePath, describeValue, isObject, rangeError, typeError } from '../errors.js';
import type { NativeNode, NativeTensor } from '../native/binding.js';
import type { TrainMetrics } from '../train.js';
import { nasxVersion } from '../util/version.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';

export const MODEL_FILE_SIGNATURE = 'NASXMODL';
/** The format version this nasx writes; it reads every version up to this one. */
export const MODEL_FORMAT_VERSION = 1;

/** Where a model's data came from, so that `nasx export` can validate on the same held-out split. */
export interface ModelDataInfo {
  /** The data set's name (e.g. "digits"). */
  name: string;
  /** How to load it again (a built-in name, `{ csv, ... }` with an absolute path, or `{ idx }`); absent when unknown. */
  source?: DatasetSource;
  /** Seed of the split (validation and test sets depend on it). */
  seed: number;
}

/** A trained network and everything needed to run it on raw input. */
export interface TrainedModel {
  arch: Arch;
  /** The engine graph the weights belong to (`lowerArch(arch, outputSize)`). */
  nodes: NativeNode[];
  /** Per-sample input shape [height, width, channels] the network was trained on (NHWC). */
  inputShape: [number, number, number];
  outputSize: number;
  task: Task;
  classNames?: string[];
  /** Raw input is normalised as (x · scale − mean[c]) / std[c] before the network. */
  normalization: { scale: number; mean: number[]; std: number[] };
  /** Regression: the network predicts (t − mean) / std. */
  targetNormalization?: { mean: number[]; std: number[] };
  metrics: TrainMetrics;
  params: number;
  flops: number;
  weights: { params: NativeTensor[]; state: NativeTensor[] };
  data: ModelDataInfo;
  /** The training settings used (epochs, batch size, learning rate, seed, ...). */
  training: Record<string, unknown>;
  /** The nasx version that trained it. */
  nasxVersion: string;
  /** ISO 8601 time of training. */
  createdAt: string;
}

/** The JSON header of a model file: the model without its tensor data. */
export interface ModelFileHeader extends Omit<TrainedModel, 'weights'> {
  format: 'nasx-model';
  tensors: { params: { name: string; shape: number[] }[]; state: { name: string; shape: number[] }[] };
}

const PREAMBLE = 16;
const LITTLE_ENDIAN = endianness() === 'LE';

function tensorSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The bytes of a model file. The model is not checked (saveModel checks it with checkTrainedModel),
 * so that tests and fuzzers can write forged files for decodeModel to refuse.
 */
export function encodeModel(model: TrainedModel): Uint8Array {
  const { weights, ...rest } = model;
  const header: ModelFileHeader = {
    format: 'nasx-model',
    ...rest,
    tensors: {
      params: weights.params.map((t) => ({ name: t.name, shape: [...t.shape] })),
      state: weights.state.map((t) => ({ name: t.name, shape: [...t.shape] })),
    },
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = PREAMBLE + json.length + ((4 - (json.length % 4)) % 4);
  const tensors = [...weights.params, ...weights.state];
  const dataBytes = tensors.reduce((a, t) => a + t.data.length * 4, 0);
  const out = Buffer.alloc(dataStart + dataBytes + 4);
  out.write(MODEL_FILE_SIGNATURE, 0, 'latin1');
  out.writeUInt32LE(MODEL_FORMAT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, PREAMBLE);
  let offset = dataStart;
  for (const t of tensors) {
    if (LITTLE_ENDIAN) {
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, offset);
      offset += t.data.byteLength;
    } else {
      for (let i = 0; i < t.data.length; i++, offset += 4) out.writeFloatLE(t.data[i]!, offset);
    }
  }
  out.writeUInt32LE(crc32(out.subarray(0, offset)), offset);
  return out;
}

function corrupt(file: string, why: string): NasxError {
  return new NasxError('ERR_NASX_MODEL_FILE', `${file} is corrupt: ${why}`);
}

/** Parses the bytes of a model file; `file` names it in error messages. */
export function decodeModel(bytes: Uint8Array, file = 'the model file'): TrainedModel {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || buf.toString('latin1', 0, 8) !== MODEL_FILE_SIGNATURE) {
    throw new NasxError('ERR_NASX_MODEL_FILE', `${file} is not a nasx model file: it does not start with the signature ${MODEL_FILE_SIGNATURE}`);
  }
  if (buf.length < PREAMBLE + 4) throw corrupt(file, `it ends after ${buf.length} bytes, before its header`);
  const version = buf.readUInt32LE(8);
  if (version > MODEL_FORMAT_VERSION) {
    throw new NasxError(
      'ERR_NASX_MODEL_FILE',
      `${file} was written by a newer nasx (model format version ${version}); this nasx (${nasxVersion()}) reads versions up to ${MODEL_FORMAT_VERSION}: upgrade nasx to load it`,
    );
  }
  if (version < 1) throw corrupt(file, `its format version is ${version}, which does not exist`);
  const end = buf.length - 4;
  const stored = buf.readUInt32LE(end);
  const computed = crc32(buf.subarray(0, end));
  if (stored !== computed) {
    throw corrupt(file, `its checksum does not match (stored ${hex(stored)}, computed ${hex(computed)}): it was truncated or changed after it was written`);
  }
  const headerLength = buf.readUInt32LE(12);
  if (PREAMBLE + headerLength > end) throw corrupt(file, `its header length (${headerLength} bytes) runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', PREAMBLE, PREAMBLE + headerLength));
  } catch (err) {
    throw corrupt(file, `its header is not valid JSON (${(err as Error).message})`);
  }
  checkHeader(header, file);
  const dataStart = PREAMBLE + headerLength + ((4 - (headerLength % 4)) % 4);
  const all = [...header.tensors.params, ...header.tensors.state];
  const dataBytes = all.reduce((a, t) => a + tensorSize(t.shape) * 4, 0);
  if (dataStart + dataBytes !== end) {
    throw corrupt(file, `its header describes ${dataBytes} bytes of tensor data but the file holds ${end - dataStart}`);
  }
  let offset = dataStart;
  const read = (t: { name: string; shape: number[] }): NativeTensor => {
    const n = tensorSize(t.shape);
    const data = new Float32Array(n);
    if (LITTLE_ENDIAN) {
      new Uint8Array(data.buffer).set(buf.subarray(offset, offset + n * 4));
      offset += n * 4;
    } else {
      for (let i = 0; i < n; i++, offset += 4) data[i] = buf.readFloatLE(offset);
    }
    return { name: t.name, shape: t.shape, data };
  };
  const { tensors, format: _format, ...rest } = header;
  return { ...rest, weights: { params: tensors.params.map(read), state: tensors.state.map(read) } };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** A header value as a message shows it: short arrays of plain values in full, else described. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length <= 8 && value.every((v) => typeof v !== 'object' || v === null)) {
    return `[${value.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ')}]`;
  }
  return describeValue(value);
}

const REQUIRED_FIELDS = [
  'arch', 'nodes', 'inputShape', 'outputSize', 'task', 'normalization', 'metrics', 'params', 'flops',
  'data', 'training', 'nasxVersion', 'createdAt',
] as const;

/** The JavaScript kind a rule is about: a value of that kind that breaks the rule is a RangeError. */
type Kind = 'number' | 'string' | 'array' | 'object';

/**
 * How checkModelFields refuses: for a file's header the file is corrupt (NasxError), for a model
 * passed as an argument the argument is bad (TypeError or RangeError naming `model.<field>`).
 */
interface Refusal {
  /** `field` breaks `rule`. */
  expect(field: string, rule: string, value: unknown, kind: Kind): Error;
  /** `field` disagrees with another field: `why` reads as a header's reason, `rule` as an argument's. */
  disagree(why: string, field: string, rule: string, value: unknown): Error;
  /** Required fields are absent. */
  lacks(fields: string[]): Error;
}

function headerRefusal(file: string): Refusal {
  return {
    expect: (field, rule, value) => corrupt(file, `its header's ${field} must be ${rule} but is ${shown(value)}`),
    disagree: (why) => corrupt(file, why),
    lacks: (fields) => corrupt(file, `its header lacks ${fields.join(', ')}`),
  };
}

const kindOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

function argumentRefusal(name: string): Refusal {
  return {
    expect: (field, rule, value, kind) => (kindOf(value) === kind ? rangeError : typeError)(`${name}.${field}`, rule, value),
    disagree: (_why, field, rule, value) => (value === undefined ? typeError : rangeError)(`${name}.${field}`, rule, value),
    lacks: (fields) => new TypeError(`Expected a trained model for ${name} but received an object without ${fields.join(', ')}`),
  };
}

/**
 * Validates the fields of a model (a file's header, or a TrainedModel argument), within themselves
 * and against each other, so that a forged or hand-edited header, or a hand-built model, is refused
 * with the field, the rule and the value rather than trusted. `tensors` names the tensor lists: the
 * header's `tensors` ({ name, shape }), or a model's `weights` (with `data` of the shape's size).
 */
function checkModelFields(h: Record<string, unknown>, tensors: 'tensors' | 'weights', refuse: Refusal): void {
  const { expect, disagree } = refuse;
  const numbers = (field: string, value: unknown, rule: 'finite' | 'positive') => {
    const what = rule === 'finite' ? 'a list of finite numbers' : 'a list of positive numbers';
    if (!Array.isArray(value)) throw expect(field, what, value, 'array');
    value.forEach((v, i) => {
      if (!isFiniteNumber(v) || (rule === 'positive' && v <= 0)) {
        throw expect(`${field}[${i}]`, rule === 'finite' ? 'a finite number' : 'a positive number', v, 'number');
      }
    });
    return value as number[];
  };
  const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

  const missing = [...REQUIRED_FIELDS, tensors].filter((k) => h[k] === undefined);
  if (missing.length > 0) throw refuse.lacks(missing);

  if (!isObject(h.arch)) throw expect('arch', 'an object', h.arch, 'object');
  if (!Array.isArray(h.nodes)) throw expect('nodes', 'an array of objects', h.nodes, 'array');
  h.nodes.forEach((n, i) => {
    if (!isObject(n)) throw expect(`nodes[${i}]`, 'an object', n, 'object');
  });
  const shape = h.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw expect('inputShape', '3 positive integers [height, width, channels]', shape, 'array');
  }
  const channels = shape[2] as number;
  const outputSize = h.outputSize;
  if (!Number.isInteger(outputSize) || (outputSize as number) < 1) throw expect('outputSize', 'a positive integer', outputSize, 'number');
  if (h.task !== 'classification' && h.task !== 'regression') throw expect('task', '"classification" or "regression"', h.task, 'string');

  if (h.classNames !== undefined) {
    if (h.task !== 'classification') {
      throw disagree(`its header has classNames but its task is "${h.task}"`, 'classNames', `no classNames (the task is "${h.task}")`, h.classNames);
    }
    if (!Array.isArray(h.classNames)) throw expect('classNames', 'a list of strings', h.classNames, 'array');
    h.classNames.forEach((c, i) => {
      if (typeof c !== 'string') throw expect(`classNames[${i}]`, 'a string', c, 'string');
    });
    if (h.classNames.length !== outputSize) {
      throw disagree(`its header's classNames has ${entries(h.classNames.length)} but outputSize is ${outputSize}`, 'classNames', `a list of ${outputSize} strings (outputSize is ${outputSize})`, h.classNames);
    }
  }

  const norm = h.normalization;
  if (!isObject(norm)) throw expect('normalization', 'an object { scale, mean, std }', norm, 'object');
  if (!isFiniteNumber(norm.scale)) throw expect('normalization.scale', 'a finite number', norm.scale, 'number');
  for (const [key, rule] of [['mean', 'finite'], ['std', 'positive']] as const) {
    const list = numbers(`normalization.${key}`, norm[key], rule);
    // One statistic per input channel (lib/data/split.ts computes them per channel).
    if (list.length !== channels) {
      const perChannel = `${channels} channel${channels === 1 ? '' : 's'}`;
      throw disagree(`its header's normalization.${key} has ${entries(list.length)} but inputShape has ${perChannel}`, `normalization.${key}`, `a list of ${channels} numbers (inputShape has ${perChannel})`, list);
    }
  }

  const target = h.targetNormalization;
  if (h.task === 'regression') {
    if (target === undefined) {
      throw disagree('its header lacks targetNormalization, which a regression model needs', 'targetNormalization', 'an object { mean, std } (a regression model needs one)', target);
    }
    if (!isObject(target)) throw expect('targetNormalization', 'an object { mean, std }', target, 'object');
    for (const [key, rule] of [['mean', 'finite'], ['std', 'positive']] as const) {
      const list = numbers(`targetNormalization.${key}`, target[key], rule);
      if (list.length !== outputSize) {
        throw disagree(`its header's targetNormalization.${key} has ${entries(list.length)} but outputSize is ${outputSize}`, `targetNormalization.${key}`, `a list of ${outputSize} numbers (outputSize is ${outputSize})`, list);
      }
    }
  } else if (target !== undefined) {
    throw disagree('its header has targetNormalization but its task is "classification"', 'targetNormalization', 'no targetNormalization (the task is "classification")', target);
  }

  if (!isObject(h.metrics)) throw expect('metrics', 'an object', h.metrics, 'object');
  for (const [key, value] of Object.entries(h.metrics)) {
    if (value !== null && !isFiniteNumber(value)) throw expect(`metrics.${key}`, 'a finite number or null', value, 'number');
  }
  for (const key of ['params', 'flops'] as const) {
    if (!isCount(h[key])) throw expect(key, 'a non-negative integer', h[key], 'number');
  }

  const data = h.data;
  if (!isObject(data)) throw expect('data', 'an object { name, source, seed }', data, 'object');
  if (typeof data.name !== 'string') throw expect('data.name', 'a string', data.name, 'string');
  if (!isCount(data.seed)) throw expect('data.seed', 'a non-negative integer', data.seed, 'number');
  if (data.source !== undefined && typeof data.source !== 'string' && !isObject(data.source)) {
    throw expect('data.source', 'a data set name or an object', data.source, 'object');
  }
  if (!isObject(h.training)) throw expect('training', 'an object', h.training, 'object');
  for (const key of ['nasxVersion', 'createdAt'] as const) {
    if (typeof h[key] !== 'string') throw expect(key, 'a string', h[key], 'string');
  }

  const lists = h[tensors];
  const withData = tensors === 'weights';
  const item = withData ? '{ name, shape, data }' : '{ name, shape }';
  if (!isObject(lists)) throw expect(tensors, 'an object { params, state }', lists, 'object');
  for (const kind of ['params', 'state'] as const) {
    const list = lists[kind];
    if (!Array.isArray(list)) throw expect(`${tensors}.${kind}`, `a list of ${item}`, list, 'array');
    list.forEach((t, i) => {
      const field = `${tensors}.${kind}[${i}]`;
      if (!isObject(t)) throw expect(field, `an object ${item}`, t, 'object');
      if (typeof t.name !== 'string') throw expect(`${field}.name`, 'a string', t.name, 'string');
      if (!Array.isArray(t.shape) || !t.shape.every(isCount)) throw expect(`${field}.shape`, 'a list of non-negative integers', t.shape, 'array');
      if (withData) {
        if (!(t.data instanceof Float32Array)) throw expect(`${field}.data`, 'a Float32Array', t.data, 'object');
        const size = tensorSize(t.shape);
        if (t.data.length !== size) throw expect(`${field}.data`, `a Float32Array of ${size} values (shape [${t.shape.join(',')}])`, t.data, 'object');
      }
    });
  }
}

/** Validates a parsed header (see checkModelFields) and its format. */
function checkHeader(header: unknown, file: string): asserts header is ModelFileHeader {
  if (!isObject(header)) throw corrupt(file, `its header must be a JSON object but is ${shown(header)}`);
  if (header.format !== 'nasx-model') throw corrupt(file, `its header's format must be "nasx-model" but is ${shown(header.format)}`);
  checkModelFields(header, 'tensors', headerRefusal(file));
}

/**
 * Validates a TrainedModel passed as the argument `name` (to saveModel, exportOnnx, validateOnnx):
 * the fields a model file's header holds, the weights' data, and that it is JSON data (no BigInt).
 */
export function checkTrainedModel(model: unknown, name = 'model'): asserts model is TrainedModel {
  if (!isObject(model)) throw typeError(name, 'a trained model', model);
  checkModelFields(model, 'weights', argumentRefusal(name));
  for (const [key, value] of Object.entries(model)) {
    if (key === 'weights') continue;
    try {
      JSON.stringify(value);
    } catch {
      throw typeError(`${name}.${key}`, 'JSON data (no BigInt or circular values)', value);
    }
  }
}

/**
 * Writes a trained model to `file` (atomically: a temporary file, then a rename).
 *
 * @example await saveModel(await trainModel(arch, 'digits', { epochs: 5 }), 'model.nasx');
 */
export async function saveModel(model: TrainedModel, file: string): Promise<void> {
  checkTrainedModel(model);
  await writeFileAtomic(file, encodeModel(model));
}

/**
 * Reads a model written by `saveModel`. Throws NasxError('ERR_NASX_MODEL_FILE') for a file that is
 * not a model file, is corrupt or comes from a newer format version, and NasxError('ERR_NASX_IO')
 * when it cannot be read.
 */
export async function loadModel(file: string): Promise<TrainedModel> {
  checkFilePath('file', file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new NasxError('ERR_NASX_IO', `Cannot read model file ${file}: ${why}`, { cause: err });
  }
  return decodeModel(bytes, file);
}
