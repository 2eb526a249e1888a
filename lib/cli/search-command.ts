/**
 * `nasx search`: searches a space on a data set with a strategy, training candidates in the native
 * engine, and reports the best architectures.
 */
import { PROXY_NAMES } from '../estimation/proxies.js';
import { existsSync } from 'node:fs';
import type { Arch, MlpArch } from '../arch/arch.js';
import { AbortError, NasxError } from '../errors.js';
import { loadDataset } from '../data/load.js';
import { NativeEvaluator } from '../evaluators/native.js';
import { getSpace, loadSearchSpace, SPACE_NAMES, type DslSpace } from '../space/index.js';
import { strategyNames } from '../strategies/registry.js';
import { Study, type StudySummary, type Trial } from '../study/study.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { trainModel } from '../export/train-model.js';
import { exportValidated, formatExport, type ExportReport } from './export-command.js';
import { UsageError, bytesFlag, checkOutputFlag, choiceFlag, intFlag, numberFlag, parseFlags } from './args.js';
import { DATASET_FLAGS, datasetFromFlags } from './dataset-flag.js';
import { ProgressBar, compact, formatSeconds, table } from './progress.js';
import { SCHEDULER_NAMES } from '../estimation/registry.js';
import { stopOnSignals } from './stop-on-signals.js';
import { canonicalMetric, parseObjectives, type Objective } from '../report/pareto.js';
import { DEFAULT_STORAGE, isPostgresUrl, openStorage } from '../study/storage/open.js';
import { STUDY_NAME_RULE, isStudyName } from '../study/storage/storage.js';

export const SEARCH_DEFAULTS = { space: 'mlp', strategy: 'evolution', budget: 40, parallel: 4, epochs: 20, batchSize: 32, lr: 3e-3 } as const;

export const SEARCH_USAGE = `Usage: nasx search [options]

Searches a space of architectures on a data set, training every candidate in the native engine.
With no options: the mlp space on the embedded digits data, regularized evolution, ${SEARCH_DEFAULTS.budget} evaluations.

  --space NAME|FILE       ${SPACE_NAMES.join(', ')} (default ${SEARCH_DEFAULTS.space}), or a JSON space file
  --dataset NAME|FILE     digits (default), fashion-mnist, or a CSV file (--task, --label)
  --strategy NAME         ${strategyNames().join(', ')} (default ${SEARCH_DEFAULTS.strategy})
  --budget N              evaluations, promotions included (default ${SEARCH_DEFAULTS.budget} unless another budget is given)
  --budget-epochs N       candidate-epochs summed over the search (a promotion costs only its extra epochs)
  --time SECONDS          wall-clock budget: when it runs out, the running batch stops (what finished is kept)
  --parallel N            candidates trained together per batch (default ${SEARCH_DEFAULTS.parallel})
  --epochs N              training epochs per candidate (default ${SEARCH_DEFAULTS.epochs}); with a scheduler, the most
  --scheduler NAME        ${SCHEDULER_NAMES.join(', ')} (default none): cull at low fidelity, promote by
                          continuing training (see the README's "Multi-fidelity search")
  --inherit               each candidate starts from a parent trial's trained weights (evolution: the
                          tournament winner; local: the current point; bo, mcts, reinforce: the nearest
                          of the best; random: none); not with --scheduler
  --prescreen K           propose K times as many candidates per batch, train only the best by
                          zero-cost proxies (untrained; see nasx proxy); not with --scheduler
  --prescreen-proxies L   the proxies ranked by, comma-separated (default synflow,jacov,snip)
  --prior N               bo, mcts: score N uniform samples by the proxies first; the surrogate starts
                          from them and proposes by them until the initial design is done
  --prior-proxies L       the proxies of --prior (default synflow,jacov,snip)
  --min-epochs N          a scheduler's first rung (default 1)
  --max-epochs N          a scheduler's last rung (default --epochs)
  --eta N                 a scheduler's reduction factor (default 3)
  --data-fraction X       train on this fraction of the training split (default 1)
  --resolution N          resample images to this height (default: native)
  --batch-size N          mini-batch size (default ${SEARCH_DEFAULTS.batchSize})
  --lr X                  peak learning rate (default ${SEARCH_DEFAULTS.lr})
  --seed N                seeds the strategy, the data split and training (default 0)
  --threads N             threads to use (default: all)
  --max-memory SIZE       memory the engine may hold for training, e.g. 4G (default: half of the machine's);
                          a candidate estimated above it is oom (the search goes on), others wait
  --top K                 architectures in the final table (default 5)
  --objectives L          several objectives, e.g. accuracy:max,latency:min (accuracy, params, flops,
                          latency = ONNX Runtime batch-1 ms, or a metric): the result holds the Pareto front
  --max-latency-ms X      candidates whose ONNX Runtime latency (batch 1, median) is over X ms are invalid
  --max-params N          candidates with more than N parameters are invalid, without being trained
  --export FILE.onnx      retrain the best architecture at the same settings, export it to ONNX and validate it
  --study NAME            keep the study in --storage as it runs; the same command again resumes it
                          (finished trials kept, the strategy continued; --budget may be raised)
  --storage LOC           with --study: a SQLite file (default ${DEFAULT_STORAGE}) or postgres://user@host/db
  --worker                with a postgres:// --storage: one of several processes (on any machines)
                          working on one study; a worker that dies has its trial re-run by another
  --lease S               seconds without a heartbeat before a dead worker's trial is re-run (default 60)
  --out FILE              also write the JSON result to FILE
  --json                  print the JSON result: best, history, strategy, space, seed, budget
`;

const FLAGS = {
  space: { type: 'string' },
  ...DATASET_FLAGS,
  strategy: { type: 'string' },
  budget: { type: 'string' },
  'budget-epochs': { type: 'string' },
  inherit: { type: 'boolean' },
  prescreen: { type: 'string' },
  'prescreen-proxies': { type: 'string' },
  prior: { type: 'string' },
  'prior-proxies': { type: 'string' },
  scheduler: { type: 'string' },
  'min-epochs': { type: 'string' },
  'max-epochs': { type: 'string' },
  eta: { type: 'string' },
  time: { type: 'string' },
  parallel: { type: 'string' },
  epochs: { type: 'string' },
  'data-fraction': { type: 'string' },
  resolution: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'max-memory': { type: 'string' },
  top: { type: 'string' },
  out: { type: 'string' },
  export: { type: 'string' },
  'max-latency-ms': { type: 'string' },
  'max-params': { type: 'string' },
  objectives: { type: 'string' },
  study: { type: 'string' },
  storage: { type: 'string' },
  worker: { type: 'boolean' },
  lease: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A short human label for an architecture (MLPs compactly; anything else as truncated JSON). */
export function archLabel(arch: unknown): string {
  const a = arch as Arch;
  if (a && a.type === 'mlp' && Array.isArray((a as MlpArch).layers)) {
    return (a as MlpArch).layers
      .map((l) => `${l.units}${(l.activation ?? 'relu').slice(0, 4)}${l.batchNorm ? '+bn' : ''}${l.dropout ? `+do${l.dropout}` : ''}${l.residual ? '+res' : ''}`)
      .join(' → ');
  }
  const s = JSON.stringify(arch);
  return s.length > 70 ? `${s.slice(0, 67)}...` : s;
}

/** The JSON result of a search. */
export function searchJson(summary: StudySummary<unknown>) {
  const best = summary.best;
  return {
    best: best ? { arch: best.arch, metrics: best.metrics, params: best.cost?.params ?? null, flops: best.cost?.flops ?? null } : null,
    // Per trial, validation figures only: the test figures are reported for the best architecture.
    history: summary.trials.map((t) => {
      const metrics = Object.fromEntries(Object.entries(t.metrics).filter(([k]) => !k.startsWith('test')));
      const h: Record<string, unknown> = { arch: t.arch, hash: t.hash, metrics, status: t.status, seconds: t.seconds };
      if (t.fidelity.epochs !== undefined) h.epochs = t.fidelity.epochs;
      h.epochsTrained = t.epochsTrained;
      if (t.promotedFrom !== undefined) h.promotedFrom = t.promotedFrom;
      if (t.parent !== undefined) h.parent = t.parent;
      if (t.inheritance) h.inheritance = t.inheritance;
      if (t.error) h.error = t.error;
      return h;
    }),
    strategy: summary.strategy,
    space: summary.space,
    seed: summary.seed,
    budget: summary.budget,
    status: summary.status,
    seconds: summary.seconds,
    ...(summary.pareto ? { pareto: summary.pareto.map((t) => ({ trial: t.index, arch: t.arch, objectives: t.objectives })), chosen: summary.chosen?.index ?? null } : {}),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function resolveSpace(name: string): Promise<DslSpace<any>> {
  if (name.endsWith('.json')) {
    if (!existsSync(name)) throw new UsageError(`Space file not found for --space: ${name}`);
    return loadSearchSpace(name);
  }
  return getSpace(choiceFlag('space', name, [...SPACE_NAMES, 'FILE.json' as never]) as string);
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

export async function searchCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(SEARCH_USAGE);
    return 0;
  }
  const strategy: string = choiceFlag('strategy', values.strategy ?? SEARCH_DEFAULTS.strategy, strategyNames())!;
  const budgetN = intFlag('budget', values.budget, 1, 1_000_000);
  const budgetEpochs = intFlag('budget-epochs', values['budget-epochs'], 1, 1e12);
  const time = numberFlag('time', values.time, 0, 1e9, true);
  const budget = {
    evaluations: budgetN ?? (time === undefined && budgetEpochs === undefined ? SEARCH_DEFAULTS.budget : undefined),
    ...(budgetEpochs !== undefined ? { epochs: budgetEpochs } : {}),
    seconds: time,
  };
  const parallel = intFlag('parallel', values.parallel, 1, 4096) ?? SEARCH_DEFAULTS.parallel;
  const scheduler = choiceFlag('scheduler', values.scheduler, SCHEDULER_NAMES) ?? 'none';
  const maxEpochsFlag = intFlag('max-epochs', values['max-epochs'], 1, 100000);
  const epochs = maxEpochsFlag ?? intFlag('epochs', values.epochs, 1, 100000) ?? SEARCH_DEFAULTS.epochs;
  const minEpochs = intFlag('min-epochs', values['min-epochs'], 1, 100000);
  const eta = intFlag('eta', values.eta, 2, 100);
  const prescreen = intFlag('prescreen', values.prescreen, 1, 1000);
  const prescreenProxies = values['prescreen-proxies']?.split(',').map((p) => choiceFlag('prescreen-proxies', p.trim(), [...PROXY_NAMES, 'params', 'flops'] as const) as string);
  if (prescreenProxies && prescreen === undefined) throw new UsageError('--prescreen-proxies needs --prescreen K');
  if (prescreen !== undefined && scheduler !== 'none') throw new UsageError('--prescreen applies without a --scheduler');
  const prior = intFlag('prior', values.prior, 2, 100000);
  const priorProxies = values['prior-proxies']?.split(',').map((p) => choiceFlag('prior-proxies', p.trim(), [...PROXY_NAMES, 'params', 'flops'] as const) as string);
  if (priorProxies && prior === undefined) throw new UsageError('--prior-proxies needs --prior N');
  if (prior !== undefined && strategy !== 'bo' && strategy !== 'mcts') throw new UsageError(`--prior applies to --strategy bo or mcts, not ${strategy}`);
  if (values.inherit && scheduler !== 'none') {
    throw new UsageError('--inherit applies without a --scheduler (a scheduler\'s promotions continue their own training)');
  }
  if (scheduler === 'none' && (minEpochs !== undefined || maxEpochsFlag !== undefined || eta !== undefined)) {
    throw new UsageError('--min-epochs, --max-epochs and --eta apply to a --scheduler (sh, hyperband, asha, bohb, median)');
  }
  if (maxEpochsFlag !== undefined && values.epochs !== undefined && Number(values.epochs) !== maxEpochsFlag) {
    throw new UsageError(`--epochs (${values.epochs}) and --max-epochs (${maxEpochsFlag}) disagree; give one`);
  }
  if (minEpochs !== undefined && minEpochs > epochs) {
    throw new UsageError(`Expected --min-epochs to be at most the maximum epochs (${epochs}) but received "${minEpochs}"`);
  }
  const dataFraction = numberFlag('data-fraction', values['data-fraction'], 0, 1, true);
  const resolution = intFlag('resolution', values.resolution, 0, 4096);
  const batchSize = intFlag('batch-size', values['batch-size'], 1, 65536) ?? SEARCH_DEFAULTS.batchSize;
  const lr = numberFlag('lr', values.lr, 0, 10, true) ?? SEARCH_DEFAULTS.lr;
  const seed = intFlag('seed', values.seed, 0) ?? 0;
  const threads = intFlag('threads', values.threads, 1, 1024);
  const maxMemory = bytesFlag('max-memory', values['max-memory'], 2 ** 20);
  const top = intFlag('top', values.top, 1, 1000) ?? 5;
  const maxLatencyMs = numberFlag('max-latency-ms', values['max-latency-ms'], 0, 1e6, true);
  const maxParams = intFlag('max-params', values['max-params'], 1, Number.MAX_SAFE_INTEGER);
  let objectives: Objective[] | undefined;
  try {
    objectives = values.objectives === undefined ? undefined : parseObjectives(values.objectives, '--objectives');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const wantsLatency = objectives?.some((o) => canonicalMetric(o.name) === 'latencyMs') ?? false;
  const studyName = values.study;
  if (studyName !== undefined && !isStudyName(studyName)) throw new UsageError(`Expected --study to be a name of ${STUDY_NAME_RULE} but received ${JSON.stringify(studyName)}`);
  if (studyName === undefined && (values.storage !== undefined || values.worker || values.lease !== undefined)) {
    throw new UsageError('--storage, --worker and --lease need --study NAME');
  }
  const storageLocation = values.storage ?? DEFAULT_STORAGE;
  if (values.worker && !isPostgresUrl(storageLocation)) {
    throw new UsageError(`--worker needs a PostgreSQL --storage (postgres://…): a SQLite study is run by one process at a time, but received ${JSON.stringify(storageLocation)}`);
  }
  if (studyName !== undefined && scheduler !== 'none') throw new UsageError('--study applies without a --scheduler');
  const lease = numberFlag('lease', values.lease, 1, 86400);
  const source = datasetFromFlags(values);
  const space = await resolveSpace(values.space ?? SEARCH_DEFAULTS.space);
  if (!space.trainable) {
    throw new UsageError(`The space ${space.name} has no network to build (a "config" space); search it against a table with nasx bench`);
  }
  await checkOutputFlag('--out', values.out);
  await checkOutputFlag('--export', values.export);
  const json = Boolean(values.json);
  const bar = new ProgressBar();
  const data = await loadDataset(source, { seed });
  const evaluator = new NativeEvaluator<unknown>({
    dataset: data,
    build: (a) => space.build(a, data),
    train: { epochs, batchSize, lr, seed, ...(threads ? { threads } : {}), ...(maxMemory ? { maxMemory } : {}) },
    ...(maxLatencyMs !== undefined ? { latency: { maxMs: maxLatencyMs } } : wantsLatency ? { latency: true } : {}),
    ...(maxParams !== undefined ? { maxParams } : {}),
  });
  const storage = studyName === undefined ? undefined : await openStorage(storageLocation);
  const stop = stopOnSignals(() => bar.log('Interrupted: finishing the current step, then writing the results gathered so far...'));
  const study = new Study<unknown>({
    ...(storage ? { storage, name: studyName, ...(lease !== undefined ? { leaseSeconds: lease } : {}) } : {}),
    space,
    strategy,
    evaluator,
    budget,
    parallel,
    fidelity: {
      ...(scheduler === 'none' ? { epochs } : {}),
      ...(dataFraction !== undefined ? { dataFraction } : {}),
      ...(resolution !== undefined ? { resolution } : {}),
    },
    scheduler,
    ...(objectives ? { objectives } : {}),
    ...(values.inherit ? { inherit: true } : {}),
    ...(prescreen !== undefined ? { prescreen: { factor: prescreen, ...(prescreenProxies ? { proxies: prescreenProxies } : {}) } } : {}),
    ...(prior !== undefined ? { prior: { samples: prior, ...(priorProxies ? { proxies: priorProxies } : {}) } } : {}),
    schedulerOptions: scheduler === 'none' ? undefined : { maxEpochs: epochs, ...(minEpochs ? { minEpochs } : {}), ...(eta ? { eta } : {}) },
    seed,
    signal: stop.signal,
  });
  if (!json) {
    const limits = [
      budget.evaluations !== undefined ? `${budget.evaluations} evaluations` : '',
      budgetEpochs !== undefined ? `${budgetEpochs} candidate-epochs` : '',
      time !== undefined ? `${time}s` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const fidelity =
      scheduler === 'none'
        ? `${epochs} epochs each`
        : `${scheduler} from ${study.scheduler!.minEpochs} to ${study.scheduler!.maxEpochs} epochs`;
    bar.log(
      `Searching the ${space.name} space on ${data.name} (${data.train.count} train / ${data.validation.count} validation / ` +
        `${data.test.count} test) with ${strategy}: ${limits}, ${parallel} at a time, ${fidelity}` +
        (storage ? `; study ${studyName} in ${storage.location}${values.worker ? ' (worker)' : ''}` : ''),
    );
    study.on('resume', (r: { finished: number; requeued: number }) =>
      bar.log(`Resuming study ${studyName}: ${r.finished} evaluations kept${r.requeued > 0 ? `, ${r.requeued} left unfinished to run again` : ''}`),
    );
  }
  let batchDone = 0;
  study.on('evaluation-progress', (e: { candidate: number; fraction: number }) => {
    if (json || !bar.interactive) return;
    batchDone = Math.max(batchDone, e.fraction);
    render();
  });
  const render = () => {
    const p = study.trials.length;
    const total = budget.evaluations;
    const elapsed = study.summary().seconds;
    const best = study.best;
    const fraction = total ? Math.min(1, (p + batchDone * Math.min(parallel, total - p)) / total) : time ? Math.min(1, elapsed / time) : 0;
    const remaining = fraction > 0.02 ? elapsed * (1 / fraction - 1) : NaN;
    bar.update({
      fraction,
      text: `${p}${total ? `/${total}` : ''} evaluated  best ${best ? pct(best.score) : '-'}  ${formatSeconds(elapsed)} elapsed, ~${formatSeconds(remaining)} left`,
    });
  };
  study.on('trial', (t: Trial<unknown>) => {
    if (json) return;
    if (bar.interactive) {
      batchDone = 0;
      render();
    } else {
      // Validation figures only: test accuracy is for the final report (choosing by it would leak the test set).
      const epochsText =
        (scheduler === 'none' ? '' : ` ${t.fidelity.epochs} ep${t.promotedFrom !== undefined ? ` (from #${t.promotedFrom + 1})` : ''}`) +
        (t.parent !== undefined ? ` (inherits #${t.parent + 1}${t.inheritance?.functionPreserving ? ', function-preserving' : ''})` : '');
      bar.log(
        `#${t.index + 1} ${t.status}${epochsText} val ${pct(t.score)} ` +
          `${compact(t.cost?.params ?? NaN)} params ${formatSeconds(t.seconds)}  ${archLabel(t.arch)}${t.error ? `  (${t.error})` : ''}`,
      );
    }
  });
  let summary: StudySummary<unknown>;
  let result: ReturnType<typeof searchJson> & { export?: ExportReport };
  let exportFailed = false;
  let exportText = '';
  // Failed writes of --export and --out: reported after the results, which are printed regardless.
  const writeErrors: NasxError[] = [];
  // The signal handlers stay until the export's retraining is over: a signal then stops it too.
  try {
    summary = await study.run();
    result = searchJson(summary);
    if (values.export && summary.best && !stop.signal.aborted) {
      // The engine is deterministic under a seed, so retraining at the search's settings reproduces
      // the best candidate's weights — except with --resolution: the exported model is retrained at
      // the data's own resolution, the input it will be given.
      if (!json) bar.log(`Retraining the best architecture for export to ${values.export}...`);
      try {
        const trained = await trainModel(
          space.build(summary.best.arch, data),
          data,
          { epochs, batchSize, lr, seed, ...(threads ? { threads } : {}), ...(maxMemory ? { maxMemory } : {}), ...(dataFraction !== undefined ? { dataFraction } : {}), signal: stop.signal },
          { data: { source, seed } },
        );
        const run = await exportValidated(trained, data, { out: values.export });
        result.export = run.report;
        exportFailed = !run.validation!.passed;
        if (run.writeError) writeErrors.push(run.writeError);
        if (!json) exportText = await formatExport(run, values.export, data.name);
      } catch (err) {
        // Interrupted while retraining: no export, but the search's results still count.
        if (!(err instanceof AbortError)) throw err;
      }
    }
  } finally {
    stop.dispose();
    bar.done();
    await storage?.close();
  }
  let outWritten = false;
  if (values.out) {
    try {
      await writeFileAtomic(values.out, `${JSON.stringify(result, null, 2)}\n`);
      outWritten = true;
    } catch (err) {
      if (!(err instanceof NasxError && err.code === 'ERR_NASX_IO')) throw err;
      writeErrors.push(err);
    }
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    // The ranking is by validation; the test figure is shown for the chosen (best) architecture only.
    const rows = study.top(top).map((t, i) => [
      i + 1,
      ...(scheduler === 'none' ? [] : [t.fidelity.epochs ?? '-']),
      pct(t.score),
      i === 0 ? pct(t.metrics.testAccuracy) : '',
      compact(t.cost?.params ?? NaN),
      compact(t.cost?.flops ?? NaN),
      formatSeconds(t.seconds),
      archLabel(t.arch),
    ]);
    const header = ['rank', ...(scheduler === 'none' ? [] : ['epochs']), 'val acc', 'test acc', 'params', 'FLOPs', 'time', 'architecture'];
    process.stdout.write(`${table(header, rows)}\n`);
    const failed = summary.trials.filter((t) => t.status !== 'ok').length;
    process.stdout.write(
      `${summary.trials.length} evaluations (${failed} not ok${scheduler === 'none' ? '' : `, ${study.epochsTrained} candidate-epochs`}` +
        `${prescreen !== undefined ? `, ${study.culled} more culled untrained by --prescreen` : ''}) in ` +
        `${formatSeconds(summary.seconds)}; status ${summary.status}${outWritten ? `; results written to ${values.out}` : ''}\n`,
    );
    if (summary.pareto && objectives) {
      const names = objectives.map((o) => o.name);
      const show = (name: string, v: number | null | undefined) =>
        v === null || v === undefined ? '-' : canonicalMetric(name) === 'score' ? pct(v) : canonicalMetric(name) === 'latencyMs' ? `${v.toFixed(3)} ms` : compact(v);
      const rows = summary.pareto.map((t) => [t === summary.chosen ? '*' : '', t.index + 1, ...names.map((n) => show(n, t.objectives?.[n])), archLabel(t.arch)]);
      process.stdout.write(`Pareto front (${objectives.map((o) => `${o.name} ${o.direction}`).join(', ')}; * the knee):\n${table(['', 'trial', ...names, 'architecture'], rows)}\n`);
    }
    if (summary.best) process.stdout.write(`best: ${JSON.stringify(summary.best.arch)}\n`);
    process.stdout.write(exportText);
  }
  for (const err of writeErrors) process.stderr.write(`nasx: ${err.message}\n`);
  if (writeErrors.length > 0) return 1;
  return stop.exitCode() ?? (summary.best && !exportFailed ? 0 : 1);
}
