/**
 * Decision importance (`explain`) against ground truth nobody tuned it to: NAS-Bench-201, whose
 * table holds every one of the 5^6 = 15,625 cells, so the functional ANOVA of the table itself — the
 * search score as a function on the product of the six edges' five operations — is exact and needs
 * no surrogate. Against it, for each seed: a random study of `--budget` trials, explained with the
 * defaults of `explain` (a 64-tree random forest; its seed the study's), and Spearman's ρ between
 * the six edges' estimated and exact main-effect importances; also ρ over the 15 pair interactions
 * and over the 30 per-option effects, and whether the most important edge is the exact one. As a
 * check of the surrogate alone, a forest fitted to all 15,625 cells is explained the same way.
 *
 * The search score of NB201 is one seed's final accuracy on the **test** split (data/nb201/README.md):
 * what is explained is that figure.
 *
 *   node --import tsx scripts/bench-importance.ts [--benchmark nb201/cifar10] [--seeds 10] [--first-seed 0]
 *     [--budgets 200,1000] [--trees 64] [--equivalents 10] [--json] [--out docs/benchmark-importance.json]
 *
 * `--equivalents` is explain's option of that name (samples drawn per trial to find equivalent
 * cells; 0: none). Its default was chosen on nb201/cifar100 and nb201/imagenet16 with seeds 100-119:
 *   npm run bench:importance -- --benchmark nb201/cifar100 --seeds 20 --first-seed 100 --budgets 200 --equivalents 0
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { getTabularBenchmark, TABULAR_BENCHMARKS } from '../lib/evaluators/tabular.js';
import { explain, type Explanation } from '../lib/report/explain.js';
import { decomposeTable } from '../lib/report/fanova.js';
import { createNb201Space, NB201_EDGES, NB201_OPS } from '../lib/space/nb201-space.js';
import { Study } from '../lib/study/study.js';
import { machineDescription } from '../lib/util/machine.js';
import { spearman } from '../lib/util/rank-correlation.js';

const { values } = parseArgs({
  options: {
    benchmark: { type: 'string', default: 'nb201/cifar10' },
    seeds: { type: 'string', default: '10' },
    budgets: { type: 'string', default: '200,1000' },
    trees: { type: 'string', default: '64' },
    'first-seed': { type: 'string', default: '0' },
    equivalents: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
if (!(TABULAR_BENCHMARKS as readonly string[]).includes(values.benchmark)) throw new Error(`--benchmark is one of ${TABULAR_BENCHMARKS.join(', ')}`);
const seeds = Number(values.seeds);
const budgets = values.budgets.split(',').map(Number);
const trees = Number(values.trees);
const firstSeed = Number(values['first-seed']);
const equivalents = Number(values.equivalents);
const log = (s: string) => process.stderr.write(`${s}\n`);
const started = performance.now();

const bench = await getTabularBenchmark(values.benchmark);
const space = createNb201Space();
const rows = bench.rows().filter((r) => r.score !== null);
const names = NB201_EDGES.map((_, k) => space.decisionName(`edges[${k}]`));
const cardinalities = NB201_EDGES.map(() => NB201_OPS.length);
const pairList: [number, number][] = [];
for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) pairList.push([i, j]);
const pairName = ([i, j]: readonly [number, number]) => `${names[i]} × ${names[j]}`;

// --- the exact fANOVA of the table ------------------------------------------------------------------
const x = rows.map((r) => space.decisions(r.arch));
const y = rows.map((r) => r.score!);
const exact = decomposeTable(x, y, cardinalities, pairList);
const exactEffects = exact.marginals.flatMap((m) => m);
const truth = {
  importances: names.map((name, j) => ({ name, fraction: exact.main[j]! })),
  pairs: pairList.map((p, q) => ({ names: pairName(p), fraction: exact.pairs[q]!.fraction })),
  mainSum: exact.main.reduce((a, b) => a + b, 0),
  pairSum: exact.pairs.reduce((a, p) => a + p.fraction, 0),
  mean: exact.mean,
};
const topExact = names[exact.main.indexOf(Math.max(...exact.main))]!;

/** The figures of one explanation against the exact decomposition. */
function compare(e: Explanation) {
  const o = e.objectives[0]!;
  const main = names.map((n) => o.importances.find((i) => i.name === n)!.mean);
  const pairs = pairList.map(([i, j]) => o.pairs.find((p) => (p.names[0] === names[i] && p.names[1] === names[j]) || (p.names[0] === names[j] && p.names[1] === names[i]))!.mean);
  const effects = names.flatMap((n) => NB201_OPS.map((op) => o.effects.find((f) => f.decision === n && f.option === op)!.mean));
  return {
    spearman: spearman(main, exact.main),
    spearmanPairs: spearman(pairs, exact.pairs.map((p) => p.fraction)),
    spearmanEffects: spearman(effects, exactEffects),
    top: o.importances[0]!.name,
    topAgrees: o.importances[0]!.name === topExact,
    importances: names.map((name, j) => ({ name, mean: main[j]!, low: o.importances.find((i) => i.name === name)!.low, high: o.importances.find((i) => i.name === name)!.high })),
  };
}
const explainOptions = (seed: number) => ({ trees, seed, pairs: pairList.length, equivalents });

// --- a forest fitted to every cell: the surrogate without sampling error -------------------------------
log(`fitting a ${trees}-tree forest to all ${rows.length} cells...`);
const fullStarted = performance.now();
// Every cell is a row already: no equivalent cells to look for.
const full = compare(explain({ space, trials: rows.map((r) => ({ arch: r.arch, score: r.score, hash: r.key })) }, { ...explainOptions(0), equivalents: 0 }));
const fullSeconds = (performance.now() - fullStarted) / 1000;

// --- random studies --------------------------------------------------------------------------------
interface Range {
  mean: number;
  min: number;
  max: number;
}
const summarise = (xs: number[]): Range => ({ mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) });
const studies: { budget: number; runs: (ReturnType<typeof compare> & { seed: number; trials: number; equivalentCells: number })[]; spearman: Range; spearmanPairs: Range; spearmanEffects: Range; topAgrees: number; coverage: number }[] = [];
for (const budget of budgets) {
  const runs = [];
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const summary = await new Study({ space, strategy: 'random', evaluator: bench, budget: { evaluations: budget }, seed }).run();
    const e = explain(summary, explainOptions(seed));
    runs.push({ seed, trials: summary.trials.length, equivalentCells: e.equivalents.cells, ...compare(e) });
  }
  studies.push({
    budget,
    runs,
    spearman: summarise(runs.map((r) => r.spearman)),
    spearmanPairs: summarise(runs.map((r) => r.spearmanPairs)),
    spearmanEffects: summarise(runs.map((r) => r.spearmanEffects)),
    topAgrees: runs.filter((r) => r.topAgrees).length,
    // How often an edge's interval over the trees holds its exact importance: the interval is the
    // spread over bootstrap fits, not a confidence interval for the table's figure.
    coverage: runs.reduce((n, r) => n + r.importances.filter((imp, j) => imp.low <= exact.main[j]! && exact.main[j]! <= imp.high).length, 0) / (runs.length * names.length),
  });
  log(`budget ${budget}: done`);
}

const result = {
  benchmark: values.benchmark,
  machine: machineDescription(),
  searchColumn: 'one seed\'s final accuracy on the test split (NASLib\'s protocol; data/nb201/README.md)',
  cells: rows.length,
  seeds,
  firstSeed,
  equivalents,
  trees,
  truth: { ...truth, top: topExact },
  fullTableForest: { ...full, seconds: fullSeconds },
  studies,
  seconds: (performance.now() - started) / 1000,
};

const f3 = (v: number) => v.toFixed(3);
const range = (s: { mean: number; min: number; max: number }) => `${f3(s.mean)} [${f3(s.min)}, ${f3(s.max)}]`;
if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  process.stdout.write(`Decision importance on ${values.benchmark} (${rows.length} cells; the search score is a test-split figure), ${trees} trees\n\n`);
  process.stdout.write(`| edge | exact (full table) | forest on every cell | ${budgets.map((b) => `random ${b}, seed ${firstSeed}`).join(' | ')} |\n`);
  process.stdout.write(`| --- | --- | --- |${budgets.map(() => ' --- |').join('')}\n`);
  names.forEach((name, j) => {
    process.stdout.write(`| ${name} | ${f3(exact.main[j]!)} | ${f3(full.importances[j]!.mean)} | ${studies.map((s) => `${f3(s.runs[0]!.importances[j]!.mean)} [${f3(s.runs[0]!.importances[j]!.low)}, ${f3(s.runs[0]!.importances[j]!.high)}]`).join(' | ')} |\n`);
  });
  process.stdout.write(`\nMain effects sum to ${f3(truth.mainSum)} of the variance, pair interactions to ${f3(truth.pairSum)}.\n\n`);
  process.stdout.write(`| trials | Spearman ρ, edges (mean [min, max] over ${seeds} seeds) | ρ, 15 pairs | ρ, 30 per-option effects | top edge right | exact value inside the 95% interval |\n| --- | --- | --- | --- | --- | --- |\n`);
  process.stdout.write(`| all ${rows.length} (forest) | ${f3(full.spearman)} | ${f3(full.spearmanPairs)} | ${f3(full.spearmanEffects)} | ${full.topAgrees ? 'yes' : 'no'} | |\n`);
  for (const s of studies) {
    process.stdout.write(`| ${s.budget} (random) | ${range(s.spearman)} | ${range(s.spearmanPairs)} | ${range(s.spearmanEffects)} | ${s.topAgrees} of ${seeds} | ${(s.coverage * 100).toFixed(0)}% |\n`);
  }
  process.stdout.write(`\nPer seed (${budgets[0]} trials): ${studies[0]!.runs.map((r) => f3(r.spearman)).join(', ')}\n\n`);
}
if (values.out) {
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${values.out}`);
}
log(`${result.seconds.toFixed(1)} s`);
