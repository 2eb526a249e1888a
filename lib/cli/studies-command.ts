/**
 * `nasx studies`: the studies kept in a storage — a list, one study's trials, or all of it as JSON.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { DEFAULT_STORAGE, isPostgresUrl, openStorage } from '../study/storage/open.js';
import type { Storage, TrialRow } from '../study/storage/storage.js';
import { UsageError, checkOutputFlag, parseFlags } from './args.js';
import { compact, formatSeconds, table } from './progress.js';
import { archLabel } from './search-command.js';

export const STUDIES_USAGE = `Usage: nasx studies [list|show NAME|export NAME|delete NAME] [options]

The studies kept by nasx search --study.

  list (default)          every study: status, strategy, space, trials by state, best score, budget
  show NAME               one study's trials: state, score, epochs, time, worker, architecture
  export NAME             the study with every trial and its results, as JSON
  delete NAME             removes a study and its trials

  --storage LOC           a SQLite file (default ${DEFAULT_STORAGE}) or postgres://user@host/db
  --json                  JSON instead of a table (list, show)
  --out FILE              export: write the JSON to FILE instead of stdout
`;

const FLAGS = {
  storage: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function trialJson(r: TrialRow) {
  return { id: r.id, state: r.state, hash: r.hash, arch: r.arch, fidelity: r.fidelity, score: r.score, parent: r.parent, worker: r.worker, intermediate: r.intermediate, result: r.result, createdAt: r.createdAt, startedAt: r.startedAt, finishedAt: r.finishedAt };
}

export async function studiesCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(STUDIES_USAGE);
    return 0;
  }
  const [action = 'list', name, ...extra] = positionals;
  if (!['list', 'show', 'export', 'delete'].includes(action)) throw new UsageError(`Unknown action ${JSON.stringify(action)} for nasx studies; actions are list, show, export, delete`);
  if (action === 'list' ? name !== undefined : name === undefined || extra.length > 0) {
    throw new UsageError(action === 'list' ? `nasx studies list takes no study name but received ${JSON.stringify(name)}` : `nasx studies ${action} takes one study name`);
  }
  if (values.out !== undefined && action !== 'export') throw new UsageError('--out applies to nasx studies export');
  await checkOutputFlag('--out', values.out);
  const location = values.storage ?? DEFAULT_STORAGE;
  // Reading must not create a database where there was none.
  if (!isPostgresUrl(location) && location !== ':memory:' && !existsSync(location)) {
    throw new UsageError(`No study database at ${location}: studies are kept there by nasx search --study NAME${values.storage === undefined ? ' (or name one with --storage)' : ''}`);
  }
  const storage = await openStorage(location);
  try {
    return await run(storage, action, name, values);
  } finally {
    await storage.close();
  }
}

async function run(storage: Storage, action: string, name: string | undefined, values: { json?: boolean; out?: string }): Promise<number> {
  if (action === 'list') {
    const studies = await storage.listStudies();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(studies)}\n`);
      return 0;
    }
    if (studies.length === 0) {
      process.stdout.write(`No studies in ${storage.location}\n`);
      return 0;
    }
    const rows = studies.map((s) => [
      s.name,
      s.status,
      s.strategy,
      s.space,
      s.trials.complete,
      s.trials.failed,
      s.trials.running + s.trials.pending,
      pct(s.best),
      s.budget.evaluations ?? '-',
      when(s.updatedAt),
    ]);
    process.stdout.write(`${table(['study', 'status', 'strategy', 'space', 'complete', 'failed', 'open', 'best', 'budget', 'updated'], rows)}\n`);
    return 0;
  }
  const study = await storage.getStudy(name!);
  if (!study) throw new UsageError(`There is no study named ${JSON.stringify(name)} in ${storage.location}`);
  if (action === 'delete') {
    await storage.deleteStudy(name!);
    process.stdout.write(`Deleted study ${name} from ${storage.location}\n`);
    return 0;
  }
  const trials = await storage.trials(name!);
  if (action === 'export') {
    const json = `${JSON.stringify({ study, trials: trials.map(trialJson) }, null, 2)}\n`;
    if (values.out) {
      await writeFileAtomic(values.out, json);
      process.stderr.write(`Wrote study ${name} (${trials.length} trials) to ${values.out}\n`);
    } else process.stdout.write(json);
    return 0;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(trials.map(trialJson))}\n`);
    return 0;
  }
  const rows = trials.map((r) => {
    const result = r.result as { seconds?: number; epochsTrained?: number; cost?: { params: number }; status?: string; error?: string } | null;
    return [
      r.id + 1,
      r.state,
      r.state === 'failed' ? (result?.status ?? 'failed') : pct(r.score),
      result?.epochsTrained ?? r.fidelity.epochs ?? '-',
      compact(result?.cost?.params ?? Number.NaN),
      result?.seconds === undefined ? '-' : formatSeconds(result.seconds),
      r.worker?.split(':').slice(0, 2).join(':') ?? '-',
      archLabel(r.arch),
    ];
  });
  process.stdout.write(
    `Study ${study.name} in ${storage.location}: ${study.strategy} on ${study.space}, seed ${study.seed}, status ${study.status}, created ${when(study.createdAt)}\n` +
      `${table(['trial', 'state', 'val', 'epochs', 'params', 'time', 'worker', 'architecture'], rows)}\n`,
  );
  return 0;
}
