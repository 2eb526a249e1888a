import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NasxError } from '../../lib/errors.js';
import { getTabularBenchmark, loadCurveTable } from '../../lib/evaluators/tabular.js';
import { ABSENT, explain, type Explanation } from '../../lib/report/explain.js';
import { decomposeTable } from '../../lib/report/fanova.js';
import { loadSearchSpace } from '../../lib/space/json-space.js';
import { createNb201Space } from '../../lib/space/nb201-space.js';
import { SqliteStorage } from '../../lib/study/storage/sqlite.js';
import { Study } from '../../lib/study/study.js';
import { packageRoot } from '../../lib/util/package-root.js';
import { spearman } from '../../lib/util/rank-correlation.js';

const bin = path.join(packageRoot(), 'bin', 'nasx.js');
const nasx = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
const EDGES = ['edge 1←0', 'edge 2←0', 'edge 2←1', 'edge 3←0', 'edge 3←1', 'edge 3←2'];

async function nb201Study(budget: number, seed: number) {
  const bench = await getTabularBenchmark('nb201/cifar10');
  const space = createNb201Space();
  return { space, summary: await new Study({ space, strategy: 'random', evaluator: bench, budget: { evaluations: budget }, seed }).run() };
}

/** What every explanation must satisfy: sorted shares of at most 1 in all, intervals around them. */
function checkShape(t: import('ava').ExecutionContext, o: Explanation['objectives'][number]) {
  const means = o.importances.map((i) => i.mean);
  t.deepEqual(means, [...means].sort((a, b) => b - a));
  const total = means.reduce((a, b) => a + b, 0);
  t.true(total > 0 && total <= 1 + 1e-9, `main effects sum to ${total}`);
  t.true(o.explained.main + o.explained.pairs <= 1 + 1e-9);
  for (const i of [...o.importances, ...o.pairs]) {
    t.true(i.low >= 0 && i.low <= i.high && i.high <= 1 + 1e-12, JSON.stringify(i));
    t.true(i.std >= 0);
  }
}

test('explain on a real NB201 random study: sorted importances of the six edges with intervals, pairs and per-option effects', async (t) => {
  const { summary } = await nb201Study(60, 3);
  const e = explain(summary, { objectives: ['score', 'latency'], trees: 32 });
  t.is(e.space, 'nb201');
  t.is(e.trials, summary.trials.length);
  t.deepEqual(e.decisions.map((d) => d.name), EDGES);
  t.is(e.objectives.length, 2);
  for (const o of e.objectives) {
    checkShape(t, o);
    t.deepEqual([...o.importances.map((i) => i.name)].sort(), [...EDGES].sort());
    t.is(o.trees, 32);
    t.is(o.pairs.length, 5);
    t.is(o.effects.length, 30);
    // Effects follow the importance order; an option's trial count is how many trials chose it.
    t.is(o.effects[0]!.decision, o.importances[0]!.name);
    t.is(o.effects.filter((x) => x.decision === EDGES[0]).reduce((s, x) => s + x.trials, 0), e.trials);
    for (const x of o.effects) t.true(Math.abs(x.delta - (x.mean - o.mean)) < 1e-9 && x.deltaLow <= x.deltaHigh);
  }
  // Deterministic under the seed.
  t.deepEqual(explain(summary, { objectives: ['score', 'latency'], trees: 32 }), e);
  t.notDeepEqual(explain(summary, { trees: 32, seed: 1 }).objectives[0]!.importances, e.objectives[0]!.importances);
});

test('equivalent cells: NB201 cells that hash like a measured one join the forest, and the ranking of the edges follows the full table', async (t) => {
  const bench = await getTabularBenchmark('nb201/cifar10');
  const space = createNb201Space();
  const rows = bench.rows().filter((r) => r.score !== null);
  const exact = decomposeTable(rows.map((r) => space.decisions(r.arch)), rows.map((r) => r.score!), EDGES.map(() => 5), []).main;
  const rho = (e: Explanation) => spearman(EDGES.map((n) => e.objectives[0]!.importances.find((i) => i.name === n)!.mean), exact);
  const withCells: number[] = [];
  const without: number[] = [];
  for (let seed = 0; seed < 5; seed++) {
    const summary = await new Study({ space, strategy: 'random', evaluator: bench, budget: { evaluations: 200 }, seed }).run();
    const e = explain(summary, { seed });
    t.is(e.equivalents.draws, 10 * e.trials);
    // Every cell cut off from its input is one architecture: its class alone adds dozens of cells.
    t.true(e.equivalents.cells > 50, `${e.equivalents.cells} equivalent cells`);
    // The per-option trial counts are the trials', not the added cells'.
    t.is(e.objectives[0]!.effects.filter((x) => x.decision === EDGES[0]).reduce((a, x) => a + x.trials, 0), e.trials);
    const none = explain(summary, { seed, equivalents: 0 });
    t.deepEqual(none.equivalents, { draws: 0, cells: 0 });
    withCells.push(rho(e));
    without.push(rho(none));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  t.true(mean(withCells) >= 0.8, `mean Spearman ρ ${mean(withCells)} over seeds 0-4 (${withCells.join(', ')})`);
  t.true(mean(withCells) > mean(without), `with equivalent cells ${mean(withCells)}, without ${mean(without)}`);
  t.throws(() => explain({ space, trials: rows.slice(0, 20) }, { equivalents: -1 }), {
    instanceOf: RangeError,
    message: /options\.equivalents/,
  });
});

test('failed trials and repeats of an architecture are left out', async (t) => {
  const { space, summary } = await nb201Study(30, 4);
  const trials = [
    ...summary.trials,
    { ...summary.trials[0]!, score: null, status: 'failed' as const },
    { ...summary.trials[1]!, score: 1 },
  ];
  const e = explain({ space, trials }, { trees: 8 });
  t.is(e.trials, 30);
  t.deepEqual(e.excluded, { failed: 1, repeated: 1 });
});

test('a variable-length space (the Fashion-MNIST MLP table): decisions by path, "absent" where an architecture lacks one', async (t) => {
  const dir = path.join(packageRoot(), 'data', 'fashion-mnist-mlp');
  const space = await loadSearchSpace(path.join(dir, 'space.json'));
  const rows = (await loadCurveTable(path.join(dir, 'curves.csv'), space)).rows().filter((_, i) => i % 4 === 0);
  const e = explain({ space, trials: rows.map((r) => ({ arch: r.arch, score: r.score, hash: r.key })) }, { trees: 16 });
  t.deepEqual(e.decisions.map((d) => d.name), [
    'layers.length',
    'layers[0].units',
    'layers[0].activation',
    'layers[1].units',
    'layers[1].activation',
    'layers[2].units',
    'layers[2].activation',
  ]);
  t.deepEqual(e.decisions[0]!.options, ['1', '2', '3']);
  t.deepEqual(e.decisions[1]!.options, ['16', '32', '64', '128', '256']);
  t.deepEqual(e.decisions[5]!.options, ['16', '32', '64', '128', '256', ABSENT]);
  // The MLP space's hash tells every decision vector apart: no equivalent cells.
  t.is(explain({ space, trials: rows.map((r) => ({ arch: r.arch, score: r.score })) }, { trees: 4 }).equivalents.cells, 0);
  const o = e.objectives[0]!;
  checkShape(t, o);
  const shallow = rows.filter((r) => (r.arch as { layers: unknown[] }).layers.length < 3).length;
  t.is(o.effects.find((x) => x.decision === 'layers[2].units' && x.option === ABSENT)!.trials, shallow);
});

test('bad input is named: too few trials, an objective nobody measured, an architecture outside the space, no space', async (t) => {
  const { space, summary } = await nb201Study(12, 5);
  t.throws(() => explain({ space, trials: summary.trials.slice(0, 9) }), {
    instanceOf: RangeError,
    message: 'Expected at least 10 finished trials with a score, one per architecture, to explain (options.minTrials) but received 9 of 9 trials',
  });
  const failing = summary.trials.slice(0, 10).map((tr, i) => (i < 2 ? { ...tr, score: null, status: 'failed' as const } : tr));
  t.throws(() => explain({ space, trials: failing }), {
    instanceOf: RangeError,
    message: 'Expected at least 10 finished trials with a score, one per architecture, to explain (options.minTrials) but received 8 of 10 trials (2 failed)',
  });
  t.throws(() => explain(summary, { objectives: ['accurracy'] }), {
    instanceOf: RangeError,
    message: 'Expected an objective the trials measure for options.objectives (score, searchAccuracy, latencyMs) but received "accurracy" of type string',
  });
  const alien = [...summary.trials];
  alien[4] = { ...alien[4]!, hash: 'x', arch: { type: 'nb201', edges: ['conv_5x5', 'none', 'none', 'none', 'none', 'none'] } as never };
  const err = t.throws(() => explain({ space, trials: alien }), { instanceOf: NasxError });
  t.is(err.message, 'input.trials[4].arch is not in the space nb201: Expected one of "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3" for edges[0] but received "conv_5x5" of type string');
  t.throws(() => explain({ trials: summary.trials }), {
    instanceOf: TypeError,
    message: 'Expected a search space or a built-in space name (or options.space) for input.space but received undefined',
  });
  t.throws(() => explain({ ...summary, space: 'my-space' }), {
    message: 'The trials\' space "my-space" is not a built-in space (mlp, cnn, nb201); pass the space itself as options.space',
  });
  t.throws(() => explain(summary, { tree: 3 } as never), { instanceOf: RangeError, message: /^Unknown option "tree" for options; known options are space, objectives, trees/ });
});

test('nasx explain --bench --json: the explanation of a tabular study; usage errors named', (t) => {
  const r = nasx('explain', '--bench', 'nb201/cifar10', '--budget', '40', '--trees', '16', '--seed', '2', '--json');
  t.is(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as Explanation;
  t.is(e.trials, 40);
  t.is(e.forest.trees, 16);
  t.deepEqual(Object.keys(e.objectives[0]!).sort(), ['effects', 'explained', 'importances', 'mean', 'objective', 'pairs', 'trees', 'trials']);
  t.deepEqual(Object.keys(e.objectives[0]!.importances[0]!), ['name', 'mean', 'std', 'low', 'high']);
  checkShape(t, e.objectives[0]!);

  const table = nasx('explain', '--bench', 'nb201/cifar10', '--budget', '20', '--trees', '8');
  t.is(table.status, 0, table.stderr);
  t.regex(table.stdout, /^Decision importance for a random study of 20 evaluations on nb201\/cifar10 \(seed 0\): 20 trials/);
  t.regex(table.stdout, /\nedge \d←\d +0\.\d{3}  \[0\.\d{3}, [01]\.\d{3}\]/);
  t.regex(table.stdout, /Top interactions/);
  t.regex(table.stdout, /edge 3←0  nor_conv_3x3 +[-+]\d+\.\d{2}/);

  const usage: [string[], string][] = [
    [[], 'nasx explain needs one of --study NAME (a stored study) or --bench NAME (a tabular benchmark)'],
    [['--study', 's', '--bench', 'nb201/cifar10'], 'nasx explain needs one of --study NAME (a stored study) or --bench NAME (a tabular benchmark)'],
    [['--study', 's', '--budget', '10'], '--budget applies with --bench'],
    [['--bench', 'nb201/cifar10', '--storage', 'x.db'], '--storage applies with --study'],
    [['--bench', 'nb201/mnist'], 'Expected one of "nb201/cifar10", "nb201/cifar100", "nb201/imagenet16" for --bench but received "nb201/mnist"'],
    [['--bench', 'nb201/cifar10', '--trees', '0'], 'Expected an integer between 1 and 10000 for --trees but received "0"'],
    [['--study', 's', '--storage', '/nonexistent/x.db'], 'No study database at /nonexistent/x.db: studies are kept there by nasx search --study NAME'],
  ];
  for (const [args, message] of usage) {
    const u = nasx('explain', ...args);
    t.is(u.status, 2, args.join(' '));
    t.is(u.stderr, `nasx: ${message}\n`);
  }
  const few = nasx('explain', '--bench', 'nb201/cifar10', '--budget', '5');
  t.is(few.status, 1);
  t.is(few.stderr, 'nasx: Expected at least 10 finished trials with a score, one per architecture, to explain (options.minTrials) but received 5 of 5 trials\n');
});

test('nasx explain --study reads a stored study; an unknown study is named', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-explain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'studies.db');
  const storage = await SqliteStorage.open(file);
  const bench = await getTabularBenchmark('nb201/cifar10');
  const space = createNb201Space();
  const summary = await new Study({ space, strategy: 'evolution', evaluator: bench, budget: { evaluations: 30 }, seed: 6, storage, name: 'evo' }).run();
  await storage.close();
  const r = nasx('explain', '--study', 'evo', '--storage', file, '--trees', '16', '--json');
  t.is(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as Explanation;
  // The same trials explained in-process give the same figures.
  t.deepEqual(e, JSON.parse(JSON.stringify(explain(summary, { trees: 16 }))));
  const missing = nasx('explain', '--study', 'nope', '--storage', file);
  t.is(missing.status, 2);
  t.is(missing.stderr, `nasx: There is no study named "nope" in ${file}\n`);
});
