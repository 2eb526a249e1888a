/**
 * `nasx export MODEL.nasx --out MODEL.onnx`: exports a trained model to ONNX and validates it with
 * ONNX Runtime against the native engine on the held-out data; a model that fails validation is not
 * written and the command exits 1.
 */
import path from 'node:path';
import { loadDataset, type DatasetSource } from '../data/load.js';
import type { Dataset } from '../data/dataset.js';
import { NasxError } from '../errors.js';
import { loadModel, type TrainedModel } from '../export/model-file.js';
import { DEFAULT_OPSET, ONNX_OPSETS, exportOnnx } from '../export/onnx.js';
import { onnxRuntimeVersion } from '../export/onnx-runtime.js';
import { DEFAULT_TOLERANCE, validateOnnx, type OnnxValidation } from '../export/validate.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { UsageError, checkOutputFlag, intFlag, numberFlag, parseFlags } from './args.js';
import { DATASET_FLAGS, datasetFromFlags } from './dataset-flag.js';

export const EXPORT_USAGE = `Usage: nasx export MODEL.nasx [--out FILE.onnx] [options]

Exports a trained model (saved by nasx train --save) to ONNX, then validates it with ONNX Runtime:
the exported model and the native engine run on the same raw held-out inputs (the test split of the
model's data set); outputs must agree within the tolerance and predicted classes must be identical.
A model that fails validation is not written, and the exit status is 1.

  --out FILE              the ONNX file (default: MODEL with the extension .onnx)
  --opset N               ONNX opset, ${ONNX_OPSETS[0]}-${ONNX_OPSETS[ONNX_OPSETS.length - 1]} (default ${DEFAULT_OPSET})
  --tolerance X           largest allowed |onnx - native| (default ${DEFAULT_TOLERANCE})
  --max-samples N         validate on at most N held-out samples (default: all)
  --dataset NAME|FILE     where the model's data is, when it has moved (default: as recorded in the model)
  --task, --label         CSV only, as for nasx train
  --no-validate           write the ONNX file without validating it
  --json                  print { out, opset, maxAbsDiff, agreement, accuracyNative, accuracyOnnx, latencyMs }
`;

const FLAGS = {
  out: { type: 'string' },
  opset: { type: 'string' },
  tolerance: { type: 'string' },
  'max-samples': { type: 'string' },
  ...DATASET_FLAGS,
  'no-validate': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What an export reports (the `--json` object). */
export interface ExportReport {
  /** The file written; null when validation failed (nothing written). */
  out: string | null;
  opset: number;
  maxAbsDiff: number | null;
  agreement: number | null;
  accuracyNative: number | null;
  accuracyOnnx: number | null;
  latencyMs: { batch1: number; batch32: number } | null;
}

export interface ExportRun {
  report: ExportReport;
  validation: OnnxValidation | null;
  /** Why the file could not be written (validation passed, or was skipped, but the write failed). */
  writeError: NasxError | null;
}

/**
 * Exports `model` to `out` after validating it on `data` (unless `validate` is false); writes the
 * file only when validation passes. A failed write is returned in `writeError` (with `report.out`
 * null), so that the caller can still report the validation. Shared by `nasx export` and
 * `nasx search --export`.
 */
export async function exportValidated(
  model: TrainedModel,
  data: Dataset | null,
  options: { out: string; opset?: number; validate?: boolean; tolerance?: number; maxSamples?: number },
): Promise<ExportRun> {
  const onnx = await exportOnnx(model, { opset: options.opset ?? DEFAULT_OPSET });
  let validation: OnnxValidation | null = null;
  if (options.validate !== false) {
    if (!data) throw new NasxError('ERR_NASX_INVALID_ARGUMENT', 'Validation needs the held-out data');
    validation = await validateOnnx(onnx, data, {
      ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
      ...(options.maxSamples !== undefined ? { maxSamples: options.maxSamples } : {}),
    });
  }
  let written = false;
  let writeError: NasxError | null = null;
  if (validation === null || validation.passed) {
    try {
      await writeFileAtomic(options.out, onnx.bytes);
      written = true;
    } catch (err) {
      if (!(err instanceof NasxError && err.code === 'ERR_NASX_IO')) throw err;
      writeError = err;
    }
  }
  return {
    report: {
      out: written ? options.out : null,
      opset: onnx.opset,
      maxAbsDiff: validation?.maxAbsDiff ?? null,
      agreement: validation?.agreement ?? null,
      accuracyNative: validation?.accuracyNative ?? null,
      accuracyOnnx: validation?.accuracyOnnx ?? null,
      latencyMs: validation?.latencyMs ?? null,
    },
    validation,
    writeError,
  };
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(3)} ms`);

/** The human-readable account of an export (both figures, the latencies, and why it failed). */
export async function formatExport(run: ExportRun, out: string, dataName: string): Promise<string> {
  const v = run.validation;
  const lines: string[] = [];
  const notWritten = `${out} was not written: the write failed`;
  if (!v) {
    lines.push(run.writeError ? `Not validated (--no-validate); ${notWritten}` : `Exported ${out} (ONNX opset ${run.report.opset}); not validated (--no-validate)`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(`Validated with ONNX Runtime ${await onnxRuntimeVersion()} on ${v.samples} ${v.split} samples of ${dataName}:`);
  lines.push(`  max |onnx - native|  ${v.maxAbsDiff.toExponential(2)} (tolerance ${v.tolerance.toExponential(0)})`);
  if (v.agreement !== null) {
    lines.push(`  class agreement      ${pct(v.agreement)} (${Math.round(v.agreement * v.samples)}/${v.samples})`);
    lines.push(`  accuracy             native ${pct(v.accuracyNative)}, onnx ${pct(v.accuracyOnnx)}`);
  }
  if (v.latencyMs) lines.push(`  latency (median)     batch 1: ${ms(v.latencyMs.batch1)}, batch 32: ${ms(v.latencyMs.batch32)}`);
  if (v.passed) lines.push(run.writeError ? `Validation passed, but ${notWritten}` : `Exported ${out} (ONNX opset ${run.report.opset})`);
  else lines.push(`Validation FAILED: ${v.failures.join('; ')}. ${out} was not written.`);
  return `${lines.join('\n')}\n`;
}

/** The held-out data of a model: its recorded source, or the one given with --dataset. */
export async function modelData(model: TrainedModel, override: DatasetSource | undefined): Promise<Dataset> {
  const source = override ?? model.data.source;
  if (source === undefined) {
    throw new UsageError(`The model does not record where its data set (${model.data.name}) is; name it with --dataset, or use --no-validate`);
  }
  return loadDataset(source, { seed: model.data.seed });
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(EXPORT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'A model file is required: nasx export MODEL.nasx --out FILE.onnx' : `Expected one model file but received ${positionals.length}: ${positionals.join(' ')}`);
  }
  const file = positionals[0]!;
  const opset = intFlag('opset', values.opset, ONNX_OPSETS[0], ONNX_OPSETS[ONNX_OPSETS.length - 1]);
  const tolerance = numberFlag('tolerance', values.tolerance, 0, 1);
  const maxSamples = intFlag('max-samples', values['max-samples'], 1);
  const validate = !values['no-validate'];
  const out = values.out ?? path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.onnx`);
  const override = values.dataset !== undefined || values.task !== undefined || values.label !== undefined ? datasetFromFlags(values) : undefined;
  await checkOutputFlag('--out', out);

  const model = await loadModel(file);
  const data = validate ? await modelData(model, override) : null;
  const run = await exportValidated(model, data, {
    out,
    ...(opset !== undefined ? { opset } : {}),
    validate,
    ...(tolerance !== undefined ? { tolerance } : {}),
    ...(maxSamples !== undefined ? { maxSamples } : {}),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(run.report)}\n`);
  else process.stdout.write(await formatExport(run, out, data?.name ?? model.data.name));
  if (run.validation && !run.validation.passed) {
    if (values.json) process.stderr.write(`nasx: validation failed: ${run.validation.failures.join('; ')}; ${out} was not written\n`);
    return 1;
  }
  if (run.writeError) {
    process.stderr.write(`nasx: ${run.writeError.message}\n`);
    return 1;
  }
  return 0;
}
