/**
 * `tabulate`: trains a seeded sample of a space's architectures at full fidelity and writes a
 * learning-curve table — per architecture its decisions, hash, cost, validation accuracy and
 * cumulative training seconds after every epoch, and the final test accuracy — so that strategies
 * and multi-fidelity schedulers can be benchmarked on it without training.
 *
 * The job is long, so it is resumable: rows are appended as batches finish (each batch written and
 * flushed before the next starts), and a rerun with the same settings skips the architectures
 * already in the file and continues with the same sample.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import type { Dataset } from '../data/dataset.js';
import { AbortError, NasxError, checkInteger, typeError } from '../errors.js';
import { isTrainableSpace, type TrainableSpace } from '../space/trainable-space.js';
import type { SearchSpace } from '../space/space.js';
import { checkTrainOptions, trainCandidates, type TrainOptions, type TrainResult } from '../train.js';
import { createRng } from '../util/rng.js';
import { splitCsvRecords } from '../data/csv.js';
import { nasxVersion } from '../util/version.js';

export interface TabulateOptions<A> {
  space: SearchSpace<A>;
  dataset: Dataset;
  /** The CSV file to write (appended to when it already holds rows of the same settings). */
  out: string;
  /** Distinct architectures (by canonical hash) to sample, or "all" to tabulate every architecture of the space. */
  sample: number | 'all';
  /** Training epochs of every architecture (the maximum fidelity). */
  epochs: number;
  /** Seeds the sample (and, unless `train.seed` is set, training). Default 0. */
  seed?: number;
  /** Architectures trained together per batch. Default: the hardware threads, each candidate on its own. */
  parallel?: number;
  /** Training settings other than epochs (batch size, learning rate, data fraction, threads, ...). */
  train?: Omit<TrainOptions, 'epochs' | 'signal' | 'onProgress' | 'keepWeights'>;
  signal?: AbortSignal;
  /** Recorded in the settings file beside the table (e.g. the command line); not compared on resume. */
  note?: Record<string, unknown>;
  /** After each batch: rows written so far (this run and earlier ones) of the sample's total. */
  onProgress?: (event: { done: number; total: number; skipped: number; written: number; last: TabulateRow[] }) => void;
}

export interface TabulateRow {
  /** Position in the seeded sample (0-based). */
  index: number;
  hash: string;
  arch: unknown;
  decisions: number[];
  status: string;
  params: number;
  flops: number;
  /** Validation accuracy after each epoch (fractions in [0, 1]; null once the candidate stopped). */
  valAccuracy: (number | null)[];
  /** Training seconds of this candidate up to the end of each epoch (its own, from its start). */
  seconds: (number | null)[];
  testAccuracy: number | null;
}

export interface TabulateSummary {
  out: string;
  total: number;
  written: number;
  skipped: number;
  seconds: number;
  status: 'done' | 'interrupted';
}

/** The table's column names for a given number of epochs. */
export function tabulateColumns(epochs: number): string[] {
  const cols = ['index', 'hash', 'arch', 'decisions', 'status', 'params', 'flops'];
  for (let e = 1; e <= epochs; e++) cols.push(`val_acc_${e}`);
  for (let e = 1; e <= epochs; e++) cols.push(`seconds_${e}`);
  cols.push('test_acc');
  return cols;
}

/** A CSV field, quoted when it holds a separator, a quote or a line break. */
function field(value: unknown): string {
  const s = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function rowLine(r: TabulateRow): string {
  const round = (x: number | null, digits: number) => (x === null || !Number.isFinite(x) ? '' : Number(x.toFixed(digits)));
  return [
    r.index,
    r.hash,
    JSON.stringify(r.arch),
    r.decisions.join(' '),
    r.status,
    r.params,
    r.flops,
    ...r.valAccuracy.map((v) => round(v, 6)),
    ...r.seconds.map((v) => round(v, 4)),
    round(r.testAccuracy, 6),
  ]
    .map(field)
    .join(',');
}

/**
 * Every architecture of a space with distinct canonical hashes, in decision order (the space's own
 * `enumerate()`, which DSL and JSON spaces have). Throws when the space has more than `limit`.
 */
export function enumerateArchitectures<A>(space: SearchSpace<A>, limit = 1_000_000): { arch: A; hash: string }[] {
  const all = (space as SearchSpace<A> & { enumerate?: () => Iterable<A> }).enumerate;
  if (typeof all !== 'function') throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `the space ${space.name} cannot list its architectures: sample it instead`);
  const out: { arch: A; hash: string }[] = [];
  const seen = new Set<string>();
  let drawn = 0;
  for (const arch of all.call(space)) {
    if (++drawn > limit * 4 || out.length > limit) {
      throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `the space ${space.name} has more than ${limit} architectures: sample it instead`);
    }
    const hash = space.hash(arch);
    if (seen.has(hash)) continue;
    seen.add(hash);
    out.push({ arch, hash });
  }
  return out;
}

/** The seeded sample: `n` architectures with distinct canonical hashes, in draw order. */
export function sampleArchitectures<A>(space: SearchSpace<A>, n: number, seed: number): { arch: A; hash: string }[] {
  const rng = createRng(seed);
  const seen = new Set<string>();
  const out: { arch: A; hash: string }[] = [];
  // A space smaller than n is exhausted once many draws in a row bring nothing new.
  for (let misses = 0; out.length < n && misses < 10_000; ) {
    const arch = space.sample(rng);
    const hash = space.hash(arch);
    if (seen.has(hash)) {
      misses++;
      continue;
    }
    misses = 0;
    seen.add(hash);
    out.push({ arch, hash });
  }
  return out;
}

/** The settings file beside a table: `curves.csv` → `curves.csv.json`. */
export function tabulateSettingsFile(out: string): string {
  return `${out}.json`;
}

/** Writes the settings file, or checks that an existing table was made with the same settings. */
function checkSettings(out: string, settings: Record<string, unknown>, note: Record<string, unknown> | undefined): void {
  const file = tabulateSettingsFile(out);
  const canonical = JSON.stringify(settings);
  if (existsSync(file) && existsSync(out)) {
    let earlier: { settings?: unknown } = {};
    try {
      earlier = JSON.parse(readFileSync(file, 'utf8')) as { settings?: unknown };
    } catch (err) {
      throw new NasxError('ERR_NASX_DATA', `Cannot resume ${out}: its settings file ${file} is not valid JSON (${(err as Error).message})`);
    }
    if (JSON.stringify(earlier.settings) !== canonical) {
      throw new NasxError(
        'ERR_NASX_DATA',
        `Cannot resume ${out}: it was made with other settings (${JSON.stringify(earlier.settings)}) than this run's (${canonical}); use another --out`,
      );
    }
    return;
  }
  const record = { settings, ...note, nasxVersion: nasxVersion(), started: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** Hashes already in `file`, after checking that its header matches this run's columns. */
function existingRows(file: string, columns: string[]): Set<string> {
  const done = new Set<string>();
  if (!existsSync(file)) return done;
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return done;
  const records = splitCsvRecords(text, ',', file);
  const header = records[0]!.fields.map((f) => f.trim());
  if (header.join(',') !== columns.join(',')) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Cannot resume ${file}: its columns (${header.length}: ${header.slice(0, 8).join(', ')}, ...) are not this run's ` +
        `(${columns.length}: ${columns.slice(0, 8).join(', ')}, ...); use the same --epochs, or another --out`,
    );
  }
  const hashColumn = header.indexOf('hash');
  for (const r of records.slice(1)) {
    if (r.fields.length === header.length) done.add(r.fields[hashColumn]!.trim());
  }
  return done;
}

function toRow<A>(index: number, arch: A, hash: string, space: SearchSpace<A>, r: TrainResult, epochs: number): TabulateRow {
  const val: (number | null)[] = new Array(epochs).fill(null);
  const secs: (number | null)[] = new Array(epochs).fill(null);
  for (const e of r.epochs) {
    val[e.epoch - 1] = e.valAccuracy;
    secs[e.epoch - 1] = e.seconds - r.startedAt;
  }
  return {
    index,
    hash,
    arch,
    decisions: space.decisions(arch),
    status: r.status,
    params: r.params,
    flops: r.flops,
    valAccuracy: val,
    seconds: secs,
    testAccuracy: r.status === 'ok' ? r.metrics.testAccuracy : null,
  };
}

/**
 * Builds (or continues) a learning-curve table. Resolves when the sample is done or the signal
 * aborts (rows of finished batches are kept; the interrupted batch is not written).
 *
 * @example await tabulate({ space: getSpace('mlp'), dataset: await loadDataset('digits'), out: 'curves.csv', sample: 100, epochs: 20 });
 */
export async function tabulate<A>(options: TabulateOptions<A>): Promise<TabulateSummary> {
  const started = performance.now();
  if (typeof options !== 'object' || options === null) throw typeError('options', 'an object', options);
  const { space, dataset, out, signal } = options;
  if (!space || !isTrainableSpace(space as SearchSpace<A>)) throw typeError('options.space', 'a trainable search space (mlp, cnn, nb201 or a JSON space of mlp/cnn type)', space);
  if (typeof out !== 'string' || out === '') throw typeError('options.out', 'a file path', out);
  const sample = options.sample === 'all' ? 'all' : checkInteger('options.sample', options.sample, 1, 1_000_000);
  const epochs = checkInteger('options.epochs', options.epochs, 1, 100000);
  const seed = checkInteger('options.seed', options.seed ?? 0, 0);
  const parallel = checkInteger('options.parallel', options.parallel ?? 2, 1, 4096);
  const train = checkTrainOptions({ ...(options.train ?? {}) });
  const trainable = space as unknown as TrainableSpace<A>;
  const columns = tabulateColumns(epochs);
  // What the rows depend on; a resumed table must have been made with the same (the sample may grow).
  const settings = { space: space.name, dataset: dataset.name, epochs, seed, train, ...(sample === 'all' ? { sample: 'all' } : {}) };
  checkSettings(out, settings, options.note);
  const done = existingRows(out, columns);
  const plan = sample === 'all' ? enumerateArchitectures(space) : sampleArchitectures(space, sample, seed);
  const todo = plan.map((p, index) => ({ ...p, index })).filter((p) => !done.has(p.hash));
  const skipped = plan.length - todo.length;

  const fd = openSync(out, 'a');
  let written = 0;
  try {
    if (done.size === 0 && readFileSync(out, 'utf8') === '') writeSync(fd, `${columns.join(',')}\n`);
    const io = { inputShape: dataset.inputShape, outputSize: dataset.outputSize };
    for (let b = 0; b < todo.length; b += parallel) {
      if (signal?.aborted) break;
      const batch = todo.slice(b, b + parallel);
      // An architecture of the space that cannot be trained (an NB201 cell whose output is always
      // zero) is recorded as invalid, like any other.
      const built = batch.map((c) => {
        try {
          return trainable.build(c.arch, io);
        } catch (err) {
          if (err instanceof NasxError) return { type: 'graph' as const, nodes: [] };
          throw err;
        }
      });
      let results: TrainResult[];
      try {
        results = await trainCandidates(built, dataset, { seed, ...train, epochs, signal });
      } catch (err) {
        if (err instanceof AbortError) break;
        throw err;
      }
      const rows = batch.map((c, i) => toRow(c.index, c.arch, c.hash, space, results[i]!, epochs));
      writeSync(fd, rows.map((r) => `${rowLine(r)}\n`).join(''));
      fsyncSync(fd);
      written += rows.length;
      options.onProgress?.({ done: skipped + written, total: plan.length, skipped, written, last: rows });
    }
  } finally {
    closeSync(fd);
  }
  return {
    out,
    total: plan.length,
    written,
    skipped,
    seconds: (performance.now() - started) / 1000,
    status: signal?.aborted ? 'interrupted' : 'done',
  };
}
