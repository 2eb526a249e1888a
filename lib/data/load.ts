/**
 * `loadDataset`: one entry point for built-in names, CSV files and IDX files.
 */

import { basename } from 'node:path';
import { checkInteger, checkObject, checkOneOf, rangeError, typeError } from '../errors.js';
import {
  BUILTIN_DATASET_NAMES,
  locateBuiltin,
  type BuiltinDatasetName,
  type BuiltinDatasetOptions,
} from './builtin.js';
import { readCsv, type CsvOptions } from './csv.js';
import type { Dataset } from './dataset.js';
import { readIdxDataset, type IdxFiles } from './idx.js';
import { resolveSplitOptions, splitDataset, type RawDataset, type SplitOptions } from './split.js';

/** A CSV file; every column but the label column(s) is a numeric feature. */
export interface CsvSource extends CsvOptions {
  csv: string;
  /** Data set name (default: the file name). */
  name?: string;
}

/** Image classification from IDX files (the test pair is optional: without it one is carved). */
export interface IdxSource {
  idx: IdxFiles;
  name?: string;
  classNames?: readonly string[];
  numClasses?: number;
  /** Scale applied to pixel values (default 1/255). */
  scale?: number;
}

export type DatasetSource = BuiltinDatasetName | CsvSource | IdxSource;

export interface LoadDatasetOptions extends SplitOptions, BuiltinDatasetOptions {}

/** Built-ins decoded before (raw bytes, by their files) and split (by files and split options). */
const rawCache = new Map<string, Promise<RawDataset>>();
const datasetCache = new Map<string, Promise<Dataset>>();
/** Split built-ins kept (least recently used first out); Fashion-MNIST is ~220 MB of float32 each. */
const DATASET_CACHE_SIZE = 4;

/**
 * Loads a data set, splits it deterministically under `options.seed` and normalises it with training
 * statistics. Built-ins are cached in memory: a repeated load with the same options is immediate and
 * returns the same (read-only) object.
 *
 * @example const data = await loadDataset('fashion-mnist', { seed: 1, limit: 5000 });
 * @example const data = await loadDataset({ csv: 'housing.csv', task: 'regression', labelColumn: 'price' });
 */
export async function loadDataset(source: DatasetSource, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const split = resolveSplitOptions(options);
  if (typeof source === 'string') {
    const name = checkOneOf('dataset', source, BUILTIN_DATASET_NAMES);
    const location = await locateBuiltin(name, options);
    const rawKey = JSON.stringify([name, location.files]);
    const key = JSON.stringify([rawKey, split]);
    let dataset = datasetCache.get(key);
    if (dataset === undefined) {
      let raw = rawCache.get(rawKey);
      if (raw === undefined) {
        raw = location.read();
        rawCache.set(rawKey, raw);
        raw.catch(() => rawCache.delete(rawKey));
      }
      dataset = raw.then((r) => splitDataset(r, split));
      dataset.catch(() => datasetCache.delete(key));
      if (datasetCache.size >= DATASET_CACHE_SIZE) datasetCache.delete(datasetCache.keys().next().value!);
    } else {
      datasetCache.delete(key); // re-inserted below as the most recently used
    }
    datasetCache.set(key, dataset);
    return dataset;
  }

  const expected = `one of ${BUILTIN_DATASET_NAMES.map((n) => JSON.stringify(n)).join(', ')}, { csv } or { idx }`;
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw typeError('dataset', expected, source);
  }
  const object = source as object;
  if ('csv' in object) {
    const { csv, name, ...csvOptions } = source as CsvSource;
    if (typeof csv !== 'string') throw typeError('dataset.csv', 'a file path', csv);
    const table = await readCsv(csv, csvOptions);
    return splitDataset(
      {
        name: name ?? basename(csv),
        task: table.task,
        inputShape: [1, 1, table.featureNames.length],
        outputSize: table.outputSize,
        ...(table.classNames === undefined ? {} : { classNames: table.classNames }),
        scale: 1,
        train: { x: table.features, y: table.labels, count: table.count },
      },
      split,
    );
  }
  if ('idx' in object) {
    const { idx, name, classNames, numClasses, scale } = source as IdxSource;
    const files = checkObject('dataset.idx', idx) as Partial<IdxFiles>;
    for (const key of ['trainImages', 'trainLabels'] as const) {
      if (typeof files[key] !== 'string') throw typeError(`dataset.idx.${key}`, 'a file path', files[key]);
    }
    if ((files.testImages === undefined) !== (files.testLabels === undefined)) {
      const missing = files.testImages === undefined ? 'testImages' : 'testLabels';
      throw typeError(`dataset.idx.${missing}`, 'a file path (test images and labels go together)', undefined);
    }
    if (numClasses !== undefined) checkInteger('dataset.numClasses', numClasses, 1);
    if (scale !== undefined && (typeof scale !== 'number' || !(scale > 0) || !Number.isFinite(scale))) {
      throw rangeError('dataset.scale', 'a positive finite number', scale);
    }
    const raw = await readIdxDataset(files as IdxFiles, {
      name: name ?? basename(files.trainImages!),
      ...(classNames === undefined ? {} : { classNames }),
      ...(numClasses === undefined ? {} : { numClasses }),
      ...(scale === undefined ? {} : { scale }),
    });
    return splitDataset(raw, split);
  }
  throw typeError('dataset', expected, source);
}

/** Forgets the decoded built-ins (frees their memory). */
export function clearDatasetCache(): void {
  rawCache.clear();
  datasetCache.clear();
}
