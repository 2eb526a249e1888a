/**
 * The IDX format of MNIST and Fashion-MNIST: a 4-byte magic number (0x00 0x00, data type, number of
 * dimensions), one big-endian uint32 per dimension, then the values in row-major order.
 */

import { NasxError } from '../errors.js';
import { readDataFile } from './file.js';
import type { RawDataset, RawSplit } from './split.js';

/** A decoded IDX array; `data` is a view on the file's bytes (no copy). */
export interface IdxArray {
  readonly dims: number[];
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
/** The other IDX data types, named so that a file using one gets a clear "unsupported" message. */
const OTHER_TYPES: Record<number, string> = {
  0x09: 'signed byte',
  0x0b: '16-bit integer',
  0x0c: '32-bit integer',
  0x0d: '32-bit float',
  0x0e: '64-bit float',
};

/**
 * Reads an IDX file, gzipped or not (detected by the gzip magic number, not the name).
 *
 * @example const { dims, data } = await readIdx('train-images-idx3-ubyte.gz'); // dims [60000, 28, 28]
 */
export async function readIdx(path: string): Promise<IdxArray> {
  const { bytes, gzipped } = await readDataFile(path, 'IDX file');
  return parseIdx(bytes, gzipped ? `${path} (after gunzip)` : path);
}

/** Decodes IDX bytes; `source` names them in error messages. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;
  if (bytes.length < 4) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Truncated IDX file ${source}: expected at least 4 bytes for the magic number but found ${bytes.length}`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const found = Array.from(bytes.subarray(0, 4), hex).join(' ');
    throw new NasxError(
      'ERR_NASX_DATA',
      `Invalid IDX file ${source}: expected the magic number 0x00 0x00 <type> <dimensions> but found ${found}`,
    );
  }
  const type = bytes[2];
  if (type !== UNSIGNED_BYTE) {
    const known = OTHER_TYPES[type];
    throw new NasxError(
      'ERR_NASX_DATA',
      known === undefined
        ? `Invalid IDX file ${source}: unknown data type ${hex(type)} (expected 0x08, unsigned byte)`
        : `Unsupported IDX data type ${hex(type)} (${known}) in ${source}: only 0x08 (unsigned byte) is supported`,
    );
  }
  const rank = bytes[3];
  if (rank === 0) {
    throw new NasxError('ERR_NASX_DATA', `Invalid IDX file ${source}: it declares 0 dimensions`);
  }
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Truncated IDX file ${source}: its header declares ${rank} dimensions and needs ${headerSize} bytes ` +
        `but the file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerSize);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = headerSize + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const shape = dims.join('×');
    throw new NasxError(
      'ERR_NASX_DATA',
      bytes.length < expected
        ? `Truncated IDX file ${source}: dimensions ${shape} need ${expected} bytes but the file has ${bytes.length}`
        : `Invalid IDX file ${source}: dimensions ${shape} need ${expected} bytes but the file has ` +
            `${bytes.length} (${bytes.length - expected} trailing byte${bytes.length - expected === 1 ? '' : 's'})`,
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}

/** Paths of an image-classification data set in IDX files (test files optional, but both or neither). */
export interface IdxFiles {
  trainImages: string;
  trainLabels: string;
  testImages?: string;
  testLabels?: string;
}

export interface IdxDatasetOptions {
  name: string;
  /** Class names; their number fixes the number of classes. */
  classNames?: readonly string[];
  /** Number of classes when there are no names (default: largest label + 1). */
  numClasses?: number;
  /** Required [height, width, channels] of every image, e.g. [28, 28, 1] for Fashion-MNIST. */
  imageShape?: readonly [number, number, number];
  /** Scale applied to pixel values before normalisation (default 1/255). */
  scale?: number;
}

/**
 * Reads image/label IDX pairs into a raw classification data set. Images are N×H×W (one channel) or
 * N×H×W×C; labels are N class indices. Files are read and gunzipped concurrently.
 */
export async function readIdxDataset(files: IdxFiles, options: IdxDatasetOptions): Promise<RawDataset> {
  const paths = [files.trainImages, files.trainLabels, files.testImages, files.testLabels];
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    paths.map((path) => (path === undefined ? undefined : readIdx(path))),
  );
  const train = imageSplit(trainImages!, trainLabels!, files.trainImages, files.trainLabels);
  const test =
    testImages === undefined || testLabels === undefined
      ? undefined
      : imageSplit(testImages, testLabels, files.testImages!, files.testLabels!);
  const imageShape = train.shape;
  if (test !== undefined && test.shape.join() !== imageShape.join()) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `IDX image files disagree on the image shape: ${files.trainImages} has ${imageShape.join('×')} but ` +
        `${files.testImages} has ${test.shape.join('×')}`,
    );
  }
  if (options.imageShape !== undefined && options.imageShape.join() !== imageShape.join()) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Expected ${options.imageShape.join('×')} images for ${options.name} but ${files.trainImages} ` +
        `holds ${imageShape.join('×')} images`,
    );
  }

  let maxLabel = -1;
  for (const split of [train, test]) {
    if (split !== undefined) for (const label of split.split.y) maxLabel = Math.max(maxLabel, label);
  }
  const numClasses = options.classNames?.length ?? options.numClasses ?? maxLabel + 1;
  for (const [split, path] of [
    [train, files.trainLabels],
    [test, files.testLabels],
  ] as const) {
    if (split === undefined) continue;
    const y = split.split.y;
    for (let i = 0; i < y.length; i++) {
      if (y[i] >= numClasses) {
        throw new NasxError(
          'ERR_NASX_DATA',
          `Invalid label ${y[i]} at index ${i} of ${path}: expected an integer between 0 and ${numClasses - 1}`,
        );
      }
    }
  }

  return {
    name: options.name,
    task: 'classification',
    inputShape: imageShape,
    outputSize: numClasses,
    classNames: options.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    scale: options.scale ?? 1 / 255,
    train: train.split,
    ...(test === undefined ? {} : { test: test.split }),
  };
}

function imageSplit(
  images: IdxArray,
  labels: IdxArray,
  imagesPath: string,
  labelsPath: string,
): { split: RawSplit; shape: [number, number, number] } {
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Expected images of N×height×width or N×height×width×channels in ${imagesPath} but found ` +
        `dimensions ${images.dims.join('×')}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Expected one label per image (dimensions N) in ${labelsPath} but found dimensions ${labels.dims.join('×')}`,
    );
  }
  const [count, height, width, channels = 1] = images.dims;
  if (labels.dims[0] !== count) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `${labelsPath} has ${labels.dims[0]} labels but ${imagesPath} has ${count} images`,
    );
  }
  return {
    split: { x: images.data, y: Int32Array.from(labels.data), count },
    shape: [height, width, channels],
  };
}
