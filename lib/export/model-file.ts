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
import { NasxError } from '../errors.js';
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

/** The bytes of a model file. */
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
  for (const t of tensors) {
    if (t.data.length !== tensorSize(t.shape)) {
      throw new RangeError(`Expected ${tensorSize(t.shape)} values for tensor ${t.name} of shape [${t.shape.join(',')}] but received ${t.data.length}`);
    }
  }
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
  let header: ModelFileHeader;
  try {
    header = JSON.parse(buf.toString('utf8', PREAMBLE, PREAMBLE + headerLength)) as ModelFileHeader;
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

function checkHeader(h: ModelFileHeader, file: string): void {
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(h) || h.format !== 'nasx-model') throw corrupt(file, 'its header is not a nasx model header');
  const missing = (['arch', 'nodes', 'inputShape', 'outputSize', 'task', 'normalization', 'tensors'] as const).filter((k) => h[k] === undefined);
  if (missing.length > 0) throw corrupt(file, `its header lacks ${missing.join(', ')}`);
  const shapeOk = (s: unknown) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0);
  const listOk = (l: unknown) =>
    Array.isArray(l) && l.every((t) => isObject(t) && typeof (t as { name: unknown }).name === 'string' && shapeOk((t as { shape: unknown }).shape));
  if (!isObject(h.tensors) || !listOk(h.tensors.params) || !listOk(h.tensors.state)) {
    throw corrupt(file, 'its header has a malformed tensor list');
  }
  if (!shapeOk(h.inputShape) || h.inputShape.length !== 3 || !Number.isInteger(h.outputSize)) {
    throw corrupt(file, 'its header has a malformed input shape or output size');
  }
}

/**
 * Writes a trained model to `file` (atomically: a temporary file, then a rename).
 *
 * @example await saveModel(await trainModel(arch, 'digits', { epochs: 5 }), 'model.nasx');
 */
export async function saveModel(model: TrainedModel, file: string): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}

/**
 * Reads a model written by `saveModel`. Throws NasxError('ERR_NASX_MODEL_FILE') for a file that is
 * not a model file, is corrupt or comes from a newer format version, and NasxError('ERR_NASX_IO')
 * when it cannot be read.
 */
export async function loadModel(file: string): Promise<TrainedModel> {
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
