/**
 * `nasx report`: writes one self-contained HTML report of a stored study.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_STORAGE, isPostgresUrl, openStorage } from '../study/storage/open.js';
import { renderReport, type ReportImportance } from '../report/report.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import { UsageError, checkOutputFlag, parseFlags } from './args.js';
import { archLabel } from './search-command.js';

export const REPORT_USAGE = `Usage: nasx report --study NAME [options]

Writes one self-contained HTML file (it opens offline) about a study kept by nasx search --study:
best-so-far trajectories, the Pareto front and its chosen point, decision importance with per-option
effects, the top architectures as graphs, the lineage of inherited weights, a sortable trials table
and the study's settings.

  --study NAME            the study
  --storage LOC           a SQLite file (default ${DEFAULT_STORAGE}) or postgres://user@host/db
  --out FILE.html         where to write it (default NAME.html)
`;

const FLAGS = {
  study: { type: 'string' },
  storage: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The importance section's figures: from lib/report/explain.ts when it can explain the study. */
export type ImportanceFor = (study: string, location: string) => Promise<{ importance?: ReportImportance[]; note?: string }>;

export async function reportCommand(argv: string[], importanceFor?: ImportanceFor): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(REPORT_USAGE);
    return 0;
  }
  if (values.study === undefined) throw new UsageError('nasx report needs --study NAME');
  const out = values.out ?? `${values.study}.html`;
  await checkOutputFlag('--out', out);
  const location = values.storage ?? DEFAULT_STORAGE;
  if (!isPostgresUrl(location) && !existsSync(location)) throw new UsageError(`No study database at ${location}: studies are kept there by nasx search --study NAME`);
  const storage = await openStorage(location);
  try {
    const study = await storage.getStudy(values.study);
    if (!study) throw new UsageError(`There is no study named ${JSON.stringify(values.study)} in ${storage.location}`);
    const trials = await storage.trials(values.study);
    const explained = importanceFor ? await importanceFor(values.study, location) : { note: 'Decision importance is not available in this build.' };
    const html = renderReport({
      study,
      trials,
      location: storage.location,
      label: archLabel,
      ...(explained.importance ? { importance: explained.importance } : {}),
      ...(explained.note ? { importanceNote: explained.note } : {}),
    });
    await writeFileAtomic(out, html);
    process.stderr.write(`Wrote the report of study ${study.name} (${trials.length} trials) to ${out}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
