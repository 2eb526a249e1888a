import { existsSync } from 'node:fs';
import { BUILTIN_DATASET_NAMES } from '../data/builtin.js';
import type { DatasetSource } from '../data/load.js';
import { UsageError, choiceFlag } from './args.js';

export const DATASET_FLAGS = {
  dataset: { type: 'string' },
  task: { type: 'string' },
  label: { type: 'string' },
} as const;

/** `--dataset NAME|FILE.csv [--task classification|regression] [--label COLUMN]` → a data set source. */
export function datasetFromFlags(values: { dataset?: string; task?: string; label?: string }): DatasetSource {
  const name = values.dataset ?? 'digits';
  if (/\.csv(\.gz)?$/i.test(name)) {
    if (!existsSync(name)) throw new UsageError(`Data file not found for --dataset: ${name}`);
    const task = choiceFlag('task', values.task, ['classification', 'regression'] as const);
    const label = values.label === undefined ? undefined : /^\d+$/.test(values.label) ? Number(values.label) : values.label;
    return { csv: name, ...(task ? { task } : {}), ...(label !== undefined ? { labelColumn: label } : {}) };
  }
  if (values.task !== undefined || values.label !== undefined) {
    throw new UsageError('--task and --label apply to CSV data sets only (--dataset FILE.csv)');
  }
  return choiceFlag('dataset', name, [...BUILTIN_DATASET_NAMES, 'FILE.csv' as never]) as DatasetSource;
}
