/**
 * `nasx explain`: which decisions of the space made a study's architectures win — per objective,
 * each decision's share of the variance (fANOVA of a random-forest surrogate, lib/report/explain.ts)
 * with its interval over the trees, the largest interactions and each option's effect. Explains a
 * stored study (`--study`), or runs a study on a tabular benchmark and explains it (`--bench`).
 */
import { existsSync } from 'node:fs';
import { getTabularBenchmark, TABULAR_BENCHMARKS } from '../evaluators/tabular.js';
import { explain, MAX_EQUIVALENT_DRAWS, type ExplainOptions, type ExplainTrial, type Explanation } from '../report/explain.js';
import { createNb201Space } from '../space/nb201-space.js';
import { DEFAULT_STORAGE, isPostgresUrl, openStorage } from '../study/storage/open.js';
import type { Storage, StudyRecord, TrialRow } from '../study/storage/storage.js';
import { Study } from '../study/study.js';
import { strategyNames } from '../strategies/registry.js';
import { UsageError, choiceFlag, intFlag, parseFlags } from './args.js';
import { table } from './progress.js';
import { resolveSpace } from './search-command.js';

export const EXPLAIN_DEFAULTS = { strategy: 'random', budget: 200, trees: 64, top: 5 } as const;

export const EXPLAIN_USAGE = `Usage: nasx explain (--study NAME | --bench NAME) [options]

Which decisions of the space matter, per objective: each decision's share of the variance of a
random forest fitted to the trials (functional ANOVA over the whole space, uniform over each
decision's options), with its 95% interval over the forest's trees (each a bootstrap fit); the pairs
of decisions with the largest interactions; and each option's effect (the forest's prediction
averaged over the rest of the space). Failed trials are left out; at least 10 are needed.

  --study NAME            a study kept by nasx search --study
  --storage LOC           with --study: a SQLite file (default ${DEFAULT_STORAGE}) or postgres://user@host/db
  --space NAME|FILE       with --study: the study's space when it is not a built-in one (its JSON file)
  --bench NAME            instead, run a study on a tabular benchmark and explain it: ${TABULAR_BENCHMARKS.join(', ')}
                          (NB201's search score is one seed's test-split accuracy: see data/nb201/README.md)
  --strategy NAME         with --bench: ${strategyNames().join(', ')} (default ${EXPLAIN_DEFAULTS.strategy})
  --budget N              with --bench: evaluations (default ${EXPLAIN_DEFAULTS.budget})
  --objectives L          comma-separated: score, params, flops, latency or any metric of the trials
                          (default: the study's objectives, or score)
  --trees N               trees of the forest (default ${EXPLAIN_DEFAULTS.trees})
  --seed N                seeds the forest and the --bench study (default 0)
  --equivalents N         samples of the space drawn per trial to find cells that hash like a measured
                          one (NB201: every cell cut off from its input is one architecture); each joins
                          the forest's data with that trial's values (default 10; 0: none)
  --top K                 interaction pairs shown (default ${EXPLAIN_DEFAULTS.top})
  --json                  the explanation as JSON
`;

const FLAGS = {
  study: { type: 'string' },
  storage: { type: 'string' },
  space: { type: 'string' },
  bench: { type: 'string' },
  strategy: { type: 'string' },
  budget: { type: 'string' },
  objectives: { type: 'string' },
  trees: { type: 'string' },
  seed: { type: 'string' },
  equivalents: { type: 'string' },
  top: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A stored trial as `explain` reads it: the Study's trial JSON when finished, else a failure. */
function storedTrial(row: TrialRow): ExplainTrial {
  const r = row.result as Partial<ExplainTrial> | null;
  if (!r) return { arch: row.arch, score: null, hash: row.hash };
  return {
    arch: row.arch,
    hash: row.hash,
    score: typeof r.score === 'number' ? r.score : null,
    ...(typeof r.status === 'string' ? { status: r.status } : {}),
    ...(r.metrics ? { metrics: r.metrics } : {}),
    ...(r.cost ? { cost: r.cost } : {}),
    ...(r.objectives ? { objectives: r.objectives } : {}),
  };
}

/** The objective names a study was created with (multi-objective studies), or undefined. */
function studyObjectives(study: StudyRecord): string[] | undefined {
  const o = study.options.objectives;
  if (!Array.isArray(o)) return undefined;
  const names = o.map((x) => (x as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string');
  return names.length > 0 ? names : undefined;
}

/**
 * Explains the study `name` kept in `storage`. The space is `space` when given, else the built-in
 * space the study names.
 */
export async function explainStoredStudy(
  storage: Storage,
  name: string,
  options: ExplainOptions = {},
): Promise<Explanation> {
  const study = await storage.getStudy(name);
  if (!study) throw new UsageError(`There is no study named ${JSON.stringify(name)} in ${storage.location}`);
  let space = options.space;
  if (!space) {
    try {
      space = await resolveSpace(study.space);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      throw new UsageError(`The study ${name} searched the space ${JSON.stringify(study.space)}, which is not a built-in space; give its JSON file with --space FILE.json`);
    }
  }
  const trials = (await storage.trials(name)).filter((r) => r.state === 'complete' || r.state === 'failed' || r.state === 'pruned');
  return explain(
    { space, trials: trials.map(storedTrial) },
    { ...options, space, objectives: options.objectives ?? studyObjectives(study) ?? ['score'] },
  );
}

/**
 * The importance section of `nasx report`: the explanation of a stored study, or why there is none
 * (too few trials, a space that is not built in).
 */
export async function importanceForReport(
  name: string,
  location: string,
): Promise<{ importance?: Explanation['objectives']; note?: string }> {
  const storage = await openStorage(location);
  try {
    return { importance: (await explainStoredStudy(storage, name)).objectives };
  } catch (err) {
    if (err instanceof UsageError || err instanceof RangeError) return { note: `No decision importance: ${err.message}` };
    throw err;
  } finally {
    await storage.close();
  }
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** The explanation as tables: importances, top interactions and per-option effects, per objective. */
export function formatExplanation(e: Explanation, source: string, top: number): string {
  const out: string[] = [];
  const excluded = [e.excluded.failed > 0 ? `${e.excluded.failed} failed` : '', e.excluded.repeated > 0 ? `${e.excluded.repeated} repeats` : ''].filter(Boolean);
  out.push(
    `Decision importance for ${source}: ${e.trials} trials${excluded.length ? ` (left out: ${excluded.join(', ')})` : ''}, space ${e.space}, ` +
      `fANOVA of a ${e.forest.trees}-tree random forest (seed ${e.forest.seed})` +
      (e.equivalents.cells > 0 ? `, fitted with ${e.equivalents.cells} equivalent cells found in ${e.equivalents.draws} samples of the space` : ''),
  );
  for (const o of e.objectives) {
    const digits = Math.abs(o.mean) >= 100 ? 1 : Math.abs(o.mean) >= 1 ? 2 : 4;
    out.push('');
    out.push(`${o.objective}: share of the variance over the space, mean over ${o.trees} trees [95% interval]; ${o.trials} trials, mean prediction ${o.mean.toFixed(digits)}`);
    if (o.note) out.push(o.note);
    out.push(table(['decision', 'importance', 'interval', 'std'], o.importances.map((i) => [i.name, f3(i.mean), `[${f3(i.low)}, ${f3(i.high)}]`, f3(i.std)])));
    out.push(`main effects ${f3(o.explained.main)} of the variance, the interactions computed ${f3(o.explained.pairs)}`);
    if (o.pairs.length > 0 && top > 0) {
      out.push('');
      out.push('Top interactions (beyond both decisions\' main effects)');
      out.push(table(['decisions', 'interaction', 'interval'], o.pairs.slice(0, top).map((p) => [`${p.names[0]} × ${p.names[1]}`, f3(p.mean), `[${f3(p.low)}, ${f3(p.high)}]`])));
    }
    out.push('');
    out.push(`Per-option effect on ${o.objective} (prediction with the option, averaged over the rest of the space, minus the mean)`);
    out.push(
      table(
        ['decision', 'option', 'effect', 'interval', 'trials'],
        o.effects.map((x) => [x.decision, x.option, signed(x.delta, digits), `[${signed(x.deltaLow, digits)}, ${signed(x.deltaHigh, digits)}]`, x.trials]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}

export async function explainCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  if ((values.study === undefined) === (values.bench === undefined)) {
    throw new UsageError('nasx explain needs one of --study NAME (a stored study) or --bench NAME (a tabular benchmark)');
  }
  for (const flag of ['strategy', 'budget'] as const) {
    if (values[flag] !== undefined && values.bench === undefined) throw new UsageError(`--${flag} applies with --bench`);
  }
  for (const flag of ['storage', 'space'] as const) {
    if (values[flag] !== undefined && values.study === undefined) throw new UsageError(`--${flag} applies with --study`);
  }
  const trees = intFlag('trees', values.trees, 1, 10000) ?? EXPLAIN_DEFAULTS.trees;
  const seed = intFlag('seed', values.seed, 0) ?? 0;
  const equivalents = intFlag('equivalents', values.equivalents, 0, MAX_EQUIVALENT_DRAWS);
  const top = intFlag('top', values.top, 0, 1000) ?? EXPLAIN_DEFAULTS.top;
  const objectives = values.objectives?.split(',').map((s) => s.trim()).filter(Boolean);
  if (objectives && objectives.length === 0) throw new UsageError('Flag --objectives needs at least one name');
  const options = { trees, seed, pairs: top, ...(objectives ? { objectives } : {}), ...(equivalents !== undefined ? { equivalents } : {}) };

  let explanation: Explanation;
  let source: string;
  if (values.bench !== undefined) {
    const bench = choiceFlag('bench', values.bench, TABULAR_BENCHMARKS)!;
    const strategy = choiceFlag('strategy', values.strategy ?? EXPLAIN_DEFAULTS.strategy, strategyNames())!;
    const budget = intFlag('budget', values.budget, 1, 1_000_000) ?? EXPLAIN_DEFAULTS.budget;
    const space = createNb201Space();
    const evaluator = await getTabularBenchmark(bench);
    const summary = await new Study({ space, strategy, evaluator, budget: { evaluations: budget }, seed }).run();
    explanation = explain({ space, trials: summary.trials }, options);
    source = `a ${strategy} study of ${budget} evaluations on ${bench} (seed ${seed})`;
  } else {
    const location = values.storage ?? DEFAULT_STORAGE;
    // Reading must not create a database where there was none.
    if (!isPostgresUrl(location) && location !== ':memory:' && !existsSync(location)) {
      throw new UsageError(`No study database at ${location}: studies are kept there by nasx search --study NAME${values.storage === undefined ? ' (or name one with --storage)' : ''}`);
    }
    const space = values.space === undefined ? undefined : await resolveSpace(values.space);
    const storage = await openStorage(location);
    try {
      explanation = await explainStoredStudy(storage, values.study!, { ...options, ...(space ? { space } : {}) });
    } finally {
      await storage.close();
    }
    source = `study ${values.study} in ${location}`;
  }
  process.stdout.write(values.json ? `${JSON.stringify(explanation)}\n` : formatExplanation(explanation, source, top));
  return 0;
}
