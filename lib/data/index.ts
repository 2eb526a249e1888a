export type { Dataset, Normalization, Split, Task } from './dataset.js';
export { loadDataset, clearDatasetCache } from './load.js';
export type { CsvSource, DatasetSource, IdxSource, LoadDatasetOptions } from './load.js';
export {
  BUILTIN_DATASET_NAMES,
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASS_NAMES,
  defaultSearchPaths,
  locateBuiltin,
  packageRoot,
  userCacheDir,
} from './builtin.js';
export type { BuiltinDatasetName, BuiltinDatasetOptions, BuiltinLocation } from './builtin.js';
export { parseCsv, readCsv } from './csv.js';
export type { ColumnRef, CsvOptions, CsvTable, ParseCsvOptions } from './csv.js';
export { parseIdx, readIdx, readIdxDataset } from './idx.js';
export type { IdxArray, IdxDatasetOptions, IdxFiles } from './idx.js';
export {
  computeNormalization,
  normalizeSamples,
  partitionIndices,
  resolveSplitOptions,
  splitDataset,
  STD_EPSILON,
} from './split.js';
export type { RawDataset, RawSplit, ResolvedSplitOptions, SplitOptions } from './split.js';
