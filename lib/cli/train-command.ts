/**
 * `nasx train`: train one architecture (--arch) or a batch of them at once (--candidates FILE.jsonl).
 */
import { existsSync } from 'node:fs';
import { parseArch, type Arch } from '../arch/arch.js';
import { loadDataset } from '../data/load.js';
import { NasxError } from '../errors.js';
import { describeInheritance } from '../estimation/inherit.js';
import { loadModel, saveModel, type TrainedModel } from '../export/model-file.js';
import { toTrainedModel } from '../export/train-model.js';
import { AbortError, trainCandidates, type TrainOptions, type TrainResult } from '../train.js';
import { UsageError, bytesFlag, checkOutputFlag, choiceFlag, intFlag, numberFlag, parseFlags, readFlagFile } from './args.js';
import { DATASET_FLAGS, datasetFromFlags } from './dataset-flag.js';
import { ProgressBar, compact, formatSeconds, table } from './progress.js';
import { stopOnSignals } from './stop-on-signals.js';

export const TRAIN_USAGE = `Usage: nasx train (--arch JSON|FILE | --candidates FILE.jsonl) [options]

Trains architectures in the native engine and reports their metrics.

  --arch JSON|FILE        one architecture, as JSON text or a file holding it
  --candidates FILE       JSON Lines, one architecture per line: all are trained at once
  --dataset NAME|FILE     digits (default), fashion-mnist, or a CSV file
  --task KIND             CSV only: classification (default) or regression
  --label COLUMN          CSV only: label column name or index (default: the last)
  --epochs N              passes over the training data (default 1; 0 evaluates without training)
  --inherit FILE.nasx     start every candidate from this trained model's weights, mapped onto it
                          (function-preserving where the change allows; see the report); the
                          optimizer starts afresh
  --batch-size N          mini-batch size (default 128)
  --lr X                  peak learning rate (default 1e-3 AdamW, 0.05 SGD)
  --optimizer NAME        adamw (default) or sgd
  --seed N                seeds data order, initialisation and dropout (default 0)
  --threads N             threads to use (default: all)
  --max-memory SIZE       memory the engine may hold for training, e.g. 4G (default: half of the machine's);
                          a candidate estimated above it is oom, others wait until enough is free
  --data-fraction X       train on this fraction of the training split (default 1)
  --resolution N          resample images to this height (default: native)
  --save FILE             save the trained model (--arch only) for nasx export
  --json                  JSON output: one object per candidate, one per line
`;

const FLAGS = {
  arch: { type: 'string' },
  candidates: { type: 'string' },
  ...DATASET_FLAGS,
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'max-memory': { type: 'string' },
  'data-fraction': { type: 'string' },
  resolution: { type: 'string' },
  save: { type: 'string' },
  inherit: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readArchs(values: { arch?: string; candidates?: string }): Arch[] {
  if (values.arch !== undefined && values.candidates !== undefined) {
    throw new UsageError('Use either --arch or --candidates, not both');
  }
  if (values.arch !== undefined) {
    const raw = values.arch.trim();
    if (raw.startsWith('{')) return [parseArch(raw, '--arch')];
    if (!existsSync(raw)) throw new UsageError(`--arch is neither JSON nor an existing file: ${JSON.stringify(raw)}`);
    return [parseArch(readFlagFile('--arch', raw, 'an architecture file'), raw)];
  }
  if (values.candidates !== undefined) {
    if (!existsSync(values.candidates)) throw new UsageError(`Candidates file not found for --candidates: ${values.candidates}`);
    const lines = readFlagFile('--candidates', values.candidates, 'a candidates file').split(/\r?\n/);
    const archs: Arch[] = [];
    // Lines must be JSON; a structurally invalid architecture is reported as an `invalid` result,
    // so that one bad candidate does not stop the batch.
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        archs.push(JSON.parse(line) as Arch);
      } catch (err) {
        throw new UsageError(`${values.candidates}:${i + 1} is not valid JSON: ${(err as Error).message}`);
      }
    });
    if (archs.length === 0) throw new UsageError(`No architectures in ${values.candidates}`);
    return archs;
  }
  throw new UsageError('One of --arch or --candidates is required (see nasx train --help)');
}

/** The JSON form of a result printed by `nasx train --json`. */
export function resultJson(r: TrainResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    arch: r.arch,
    params: r.params,
    flops: r.flops,
    metrics: r.metrics,
    seconds: r.seconds,
    samplesPerSecond: r.samplesPerSecond,
    status: r.status,
  };
  if (r.error) out.error = r.error;
  if (r.inheritance) out.inheritance = r.inheritance;
  return out;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(TRAIN_USAGE);
    return 0;
  }
  if (values.save !== undefined && values.arch === undefined) throw new UsageError('--save needs a single architecture (--arch), not --candidates');
  const archs = readArchs(values);
  const source = datasetFromFlags(values);
  const options: TrainOptions = {
    epochs: intFlag('epochs', values.epochs, 0, 100000),
    batchSize: intFlag('batch-size', values['batch-size'], 1, 65536),
    lr: numberFlag('lr', values.lr, 0, 10, true),
    optimizer: choiceFlag('optimizer', values.optimizer, ['adamw', 'sgd'] as const),
    seed: intFlag('seed', values.seed, 0),
    threads: intFlag('threads', values.threads, 1, 1024),
    maxMemory: bytesFlag('max-memory', values['max-memory'], 2 ** 20),
    dataFraction: numberFlag('data-fraction', values['data-fraction'], 0, 1, true),
    resolution: intFlag('resolution', values.resolution, 0, 4096),
  };
  for (const k of Object.keys(options) as (keyof TrainOptions)[]) if (options[k] === undefined) delete options[k];
  await checkOutputFlag('--save', values.save);
  let parent: TrainedModel | undefined;
  if (values.inherit !== undefined) {
    if (!existsSync(values.inherit)) throw new UsageError(`Model file not found for --inherit: ${values.inherit}`);
    parent = await loadModel(values.inherit);
  }

  const bar = new ProgressBar();
  const json = Boolean(values.json);
  if (!json) bar.log(`Loading ${typeof source === 'string' ? source : source && 'csv' in source ? source.csv : 'data'}...`);
  const data = await loadDataset(source, { seed: options.seed ?? 0 });
  const epochs = options.epochs ?? 1;
  const perCandidate = new Array<number>(archs.length).fill(0);
  const started = Date.now();
  const stop = stopOnSignals(() => bar.log('Interrupted: stopping after the current step...'));
  if (!json) {
    bar.log(
      `Training ${archs.length} candidate${archs.length > 1 ? 's' : ''} on ${data.name} ` +
        `(${data.train.count} train / ${data.validation.count} validation / ${data.test.count} test samples), ` +
        `${epochs} epoch${epochs === 1 ? '' : 's'}`,
    );
    if (parent) {
      bar.log(
        `Inheriting from ${values.inherit} (val accuracy ${pct(parent.metrics.valAccuracy)}, test accuracy ${pct(parent.metrics.testAccuracy)} ` +
          `on ${parent.data.name})`,
      );
    }
  }
  let results: TrainResult[];
  try {
    results = await trainCandidates(archs, data, {
      ...options,
      keepWeights: values.save !== undefined,
      ...(parent ? { init: archs.map(() => ({ parent: parent! })) } : {}),
      signal: stop.signal,
      onProgress: (e) => {
        perCandidate[e.candidate] = (e.epoch - 1 + e.step / Math.max(1, e.steps)) / e.epochs;
        const fraction = perCandidate.reduce((a, b) => a + b, 0) / archs.length;
        const elapsed = (Date.now() - started) / 1000;
        const eta = fraction > 0.01 ? elapsed * (1 / fraction - 1) : NaN;
        if (json) return;
        if (bar.interactive) {
          bar.update({
            fraction,
            text: `epoch ${e.epoch}/${e.epochs}  loss ${e.trainLoss.toFixed(4)}  ${formatSeconds(elapsed)} elapsed, ~${formatSeconds(eta)} left`,
          });
        } else if (e.type === 'epoch') {
          bar.log(
            `candidate ${e.candidate + 1}/${archs.length}  epoch ${e.epoch}/${e.epochs}  train loss ${e.trainLoss.toFixed(4)}  ` +
              `val accuracy ${pct(e.valAccuracy ?? null)}  ${formatSeconds(e.seconds)}`,
          );
        }
      },
    });
  } catch (err) {
    if (err instanceof AbortError) results = err.results;
    else throw err;
  } finally {
    stop.dispose();
    bar.done();
  }

  if (json) {
    for (const r of results) process.stdout.write(`${JSON.stringify(resultJson(r))}\n`);
  } else {
    const regression = data.task === 'regression';
    const header = regression
      ? ['#', 'status', 'params', 'FLOPs', 'train loss', 'val RMSE', 'test RMSE', 'time', 'samples/s']
      : ['#', 'status', 'params', 'FLOPs', 'train loss', 'val acc', 'test acc', 'time', 'samples/s'];
    const rows = results.map((r, i) => [
      i + 1,
      r.status,
      compact(r.params),
      compact(r.flops),
      r.metrics.trainLoss === null ? '-' : r.metrics.trainLoss.toFixed(4),
      regression ? (r.metrics.valRmse?.toFixed(4) ?? '-') : pct(r.metrics.valAccuracy),
      regression ? (r.metrics.testRmse?.toFixed(4) ?? '-') : pct(r.metrics.testAccuracy),
      formatSeconds(r.seconds),
      compact(r.samplesPerSecond),
    ]);
    process.stdout.write(`${table(header, rows)}\n`);
    for (const [i, r] of results.entries()) if (r.error) process.stdout.write(`candidate ${i + 1}: ${r.status}: ${r.error}\n`);
    for (const [i, r] of results.entries()) {
      if (r.inheritance) process.stdout.write(`candidate ${i + 1} inherited: ${describeInheritance(r.inheritance)}\n`);
    }
  }
  const interrupted = stop.exitCode();
  if (interrupted !== undefined) return interrupted;
  if (values.save !== undefined) {
    if (results[0]!.status !== 'ok') {
      process.stderr.write(`nasx: ${values.save} not written: the candidate did not train (${results[0]!.status})\n`);
      return 1;
    }
    await saveModel(toTrainedModel(results[0]!, data, { data: { source, seed: options.seed ?? 0 }, training: options }), values.save);
    if (!json) process.stdout.write(`model saved to ${values.save}\n`);
  }
  return results.every((r) => r.status === 'ok') ? 0 : 1;
}

export function isUserError(err: unknown): boolean {
  return err instanceof UsageError || err instanceof NasxError || err instanceof TypeError || err instanceof RangeError;
}
