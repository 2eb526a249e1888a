/**
 * `nasx tabulate`: trains a seeded sample of a space's architectures at full fidelity and writes a
 * learning-curve table (a long, resumable job).
 */
import { loadDataset } from '../data/load.js';
import { tabulate } from '../study/tabulate.js';
import { UsageError, bytesFlag, checkOutputFlag, intFlag, numberFlag, parseFlags } from './args.js';
import { DATASET_FLAGS, datasetFromFlags } from './dataset-flag.js';
import { ProgressBar, formatSeconds } from './progress.js';
import { resolveSpace } from './search-command.js';
import { stopOnSignals } from './stop-on-signals.js';
import { machineDescription } from '../util/machine.js';

export const TABULATE_USAGE = `Usage: nasx tabulate --out FILE.csv [options]

Trains a seeded sample of a space's architectures for --epochs epochs each and writes a table: per
architecture its index in the sample, canonical hash, JSON, decisions, status, parameters, FLOPs,
validation accuracy and cumulative training seconds after every epoch (val_acc_E, seconds_E), and
the final test accuracy. FILE.csv.json records the settings, the command and the machine. Rows are
appended as batches finish; run the same command again (a larger --sample extends it) to resume.

  --out FILE.csv          the table (required; appended to when it holds rows of the same settings)
  --space NAME|FILE       mlp (default), cnn, nb201, or a JSON space file
  --dataset NAME|FILE     digits (default), fashion-mnist, or a CSV file (--task, --label)
  --sample N|all          distinct architectures to train (default 100), or every architecture of the space
  --epochs N              epochs per architecture (default 20)
  --seed N                seeds the sample, the data split and training (default 0)
  --parallel N            architectures trained together (default 2: one per core here)
  --threads N             threads to use (default: all)
  --batch-size N          mini-batch size (default 128)
  --lr X                  peak learning rate (default 1e-3)
  --data-fraction X       train on this seeded fraction of the training split (default 1)
  --max-memory SIZE       memory the engine may hold for training (default: half of the machine's)
  --json                  print a JSON summary at the end
`;

const FLAGS = {
  out: { type: 'string' },
  space: { type: 'string' },
  ...DATASET_FLAGS,
  sample: { type: 'string' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
  parallel: { type: 'string' },
  threads: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'data-fraction': { type: 'string' },
  'max-memory': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;


export async function tabulateCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(TABULATE_USAGE);
    return 0;
  }
  if (values.out === undefined) throw new UsageError('--out FILE.csv is required (see nasx tabulate --help)');
  const sample = values.sample === 'all' ? 'all' : (intFlag('sample', values.sample, 1, 1_000_000) ?? 100);
  const epochs = intFlag('epochs', values.epochs, 1, 100000) ?? 20;
  const seed = intFlag('seed', values.seed, 0) ?? 0;
  const parallel = intFlag('parallel', values.parallel, 1, 4096) ?? 2;
  const threads = intFlag('threads', values.threads, 1, 1024);
  const batchSize = intFlag('batch-size', values['batch-size'], 1, 65536);
  const lr = numberFlag('lr', values.lr, 0, 10, true);
  const dataFraction = numberFlag('data-fraction', values['data-fraction'], 0, 1, true);
  const maxMemory = bytesFlag('max-memory', values['max-memory'], 2 ** 20);
  const source = datasetFromFlags(values);
  await checkOutputFlag('--out', values.out);
  const space = await resolveSpace(values.space ?? 'mlp');
  if (!space.trainable) throw new UsageError(`The space ${space.name} has no network to build (a "config" space)`);
  const json = Boolean(values.json);
  const bar = new ProgressBar();
  const data = await loadDataset(source, { seed });
  const stop = stopOnSignals(() => bar.log('Interrupted: stopping the running batch; the rows written so far are kept...'));
  if (!json) {
    bar.log(
      `Tabulating ${sample === 'all' ? 'every architecture' : `${sample} architectures`} of the ${space.name} space on ${data.name} (${data.train.count} train / ` +
        `${data.validation.count} validation / ${data.test.count} test${dataFraction ? `, training on ${dataFraction * 100}%` : ''}), ` +
        `${epochs} epochs each, ${parallel} at a time, into ${values.out}`,
    );
  }
  const started = performance.now();
  let firstDone = -1;
  try {
    const summary = await tabulate({
      space,
      dataset: data,
      out: values.out,
      sample,
      epochs,
      seed,
      parallel,
      train: {
        ...(threads ? { threads } : {}),
        batchSize: batchSize ?? 128,
        lr: lr ?? 1e-3,
        ...(dataFraction ? { dataFraction } : {}),
        ...(maxMemory ? { maxMemory } : {}),
      },
      signal: stop.signal,
      note: { command: ['nasx', 'tabulate', ...argv].join(' '), machine: machineDescription() },
      onProgress: (e) => {
        if (firstDone < 0) firstDone = e.done - e.last.length;
        const elapsed = (performance.now() - started) / 1000;
        const rate = (e.done - firstDone) / elapsed;
        const left = rate > 0 ? (e.total - e.done) / rate : Number.NaN;
        const best = Math.max(...e.last.map((r) => r.valAccuracy[epochs - 1] ?? Number.NaN).filter(Number.isFinite));
        const text = `${e.done}/${e.total} tabulated (${e.skipped} from an earlier run)  ${formatSeconds(elapsed)} elapsed, ~${formatSeconds(left)} left`;
        if (json) return;
        if (bar.interactive) bar.update({ fraction: e.done / e.total, text });
        else bar.log(`${text}; last batch: ${e.last.map((r) => r.status).join(', ')}${Number.isFinite(best) ? `, best val ${(best * 100).toFixed(2)}%` : ''}`);
      },
    });
    bar.done();
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      process.stdout.write(
        `${summary.status === 'done' ? 'Done' : 'Interrupted'}: ${summary.skipped + summary.written}/${summary.total} architectures in ${values.out} ` +
          `(${summary.written} trained now, ${summary.skipped} from an earlier run) in ${formatSeconds(summary.seconds)}\n`,
      );
    return stop.exitCode() ?? 0;
  } finally {
    stop.dispose();
    bar.done();
  }
}
