import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getTabularBenchmark } from '../../lib/evaluators/tabular.js';
import { dominates, hypervolume } from '../../lib/report/pareto.js';
import { createNb201Space } from '../../lib/space/nb201-space.js';
import { SqliteStorage } from '../../lib/study/storage/sqlite.js';
import { Study } from '../../lib/study/study.js';
import { packageRoot } from '../../lib/util/package-root.js';

const gains = (t: { objectives?: Record<string, number | null> }) => [t.objectives!.accuracy!, -t.objectives!.latency!];

for (const strategy of ['random', 'evolution', 'bo', 'mcts', 'reinforce', 'local']) {
  test(`${strategy} under accuracy and latency: the summary's Pareto front is exactly the non-dominated trials, with its knee`, async (t) => {
    const bench = await getTabularBenchmark('nb201/cifar10');
    const summary = await new Study({ space: createNb201Space(), strategy, evaluator: bench, budget: { evaluations: 40 }, seed: 2, objectives: 'accuracy:max,latency:min' }).run();
    const ok = summary.trials.filter((tr) => tr.score !== null);
    t.true(ok.every((tr) => typeof tr.objectives!.accuracy === 'number' && tr.objectives!.accuracy === tr.score && typeof tr.objectives!.latency === 'number'));
    const front = summary.pareto!;
    t.true(front.length >= 1);
    for (const p of front) t.false(ok.some((q) => dominates(gains(q), gains(p))), `trial ${p.index} is dominated`);
    for (const q of ok) if (!front.includes(q)) t.true(front.some((p) => dominates(gains(p), gains(q)) || gains(p).every((v, k) => v === gains(q)[k])), `trial ${q.index} is not dominated but left out`);
    t.true(front.includes(summary.chosen!));
    for (let i = 1; i < front.length; i++) t.true(front[i - 1]!.objectives!.accuracy! >= front[i]!.objectives!.accuracy!);
  });
}

test('evolution (NSGA-II ranking) and bo (ParEGO) cover more of the front than random search (NB201, 5 seeds, paired)', async (t) => {
  const bench = await getTabularBenchmark('nb201/cifar10');
  const space = createNb201Space();
  const rows = bench.rows().filter((r) => Number.isFinite(r.score) && Number.isFinite(r.metrics.latencyMs));
  const reference = [Math.min(...rows.map((r) => r.score!)), -Math.max(...rows.map((r) => r.metrics.latencyMs as number))];
  const volume = async (strategy: string, seed: number) => {
    const s = await new Study({ space, strategy, evaluator: bench, budget: { evaluations: 100 }, seed, objectives: 'accuracy:max,latency:min' }).run();
    return hypervolume(s.pareto!.map(gains), reference);
  };
  for (const strategy of ['evolution', 'bo']) {
    let wins = 0;
    for (let seed = 0; seed < 5; seed++) if ((await volume(strategy, seed)) > (await volume('random', seed))) wins++;
    t.true(wins >= 4, `${strategy} beat random in ${wins} of 5 seeds`);
  }
});

test('a stored multi-objective study resumes with the same proposals; bad objectives are named', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-mo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bench = await getTabularBenchmark('nb201/cifar10');
  const base = { space: createNb201Space(), evaluator: bench, budget: { evaluations: 30 }, seed: 5, parallel: 2, objectives: 'accuracy:max,latency:min' };
  for (const strategy of ['evolution', 'bo']) {
    const plain = await new Study({ ...base, strategy }).run();
    const storage = await SqliteStorage.open(path.join(dir, `${strategy}.db`));
    const stop = new AbortController();
    const first = new Study({ ...base, strategy, storage, name: 'mo', signal: stop.signal });
    first.on('trial', (tr) => tr.index === 11 && stop.abort());
    await first.run();
    const resumed = await Study.load(storage, 'mo', { space: base.space, evaluator: bench });
    const summary = await resumed.run();
    t.deepEqual(summary.trials.map((tr) => tr.hash), plain.trials.map((tr) => tr.hash), strategy);
    t.deepEqual(summary.pareto!.map((tr) => tr.hash), plain.pareto!.map((tr) => tr.hash));
    await storage.close();
  }
  t.throws(() => new Study({ ...base, strategy: 'random', objectives: 'accuracy:best,latency' }), { message: 'Expected "max" or "min" for options.objectives (accuracy) but received "best" of type string' });
  t.throws(() => new Study({ ...base, strategy: 'random', objectives: 'accuracy' }), { message: /at least two objectives/ });
  const cli = spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'nasx.js'), 'search', '--objectives', 'accuracy:most'], { encoding: 'utf8' });
  t.is(cli.status, 2);
  t.regex(cli.stderr, /Expected "max" or "min" for --objectives \(accuracy\) but received "most"/);
});

test('nasx search --objectives accuracy,params prints and returns the Pareto front', (t) => {
  const r = spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'nasx.js'), 'search', '--budget', '8', '--epochs', '1', '--objectives', 'accuracy:max,params:min', '--json'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { pareto: { trial: number; objectives: { accuracy: number; params: number } }[]; chosen: number; history: unknown[] };
  t.true(out.pareto.length >= 1);
  t.true(out.pareto.some((p) => p.trial === out.chosen));
  for (const p of out.pareto) for (const q of out.pareto) t.false(q.objectives.accuracy > p.objectives.accuracy && q.objectives.params < p.objectives.params);
});

test('nasx bench --objectives reports each strategy\'s hypervolume at budgets with paired differences against random', (t) => {
  const nasx = (...args: string[]) => spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'nasx.js'), 'bench', ...args], { encoding: 'utf8' });
  const r = nasx('--objectives', 'accuracy:max,latency:min', '--strategies', 'evolution', '--seeds', '3', '--budgets', '20,40', '--json');
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { benchmark: string; latencyDevice: string; budgets: number[]; results: { strategy: string; meanAt: Record<string, number>; vsRandom: Record<string, { mean: number } | null> }[] };
  t.like(out, { benchmark: 'nb201/cifar10', latencyDevice: '1080ti_1', budgets: [20, 40] });
  t.deepEqual(out.results.map((x) => x.strategy), ['random', 'evolution'], 'random is added as the baseline');
  for (const x of out.results) {
    t.true(x.meanAt['20']! > 0 && x.meanAt['20']! <= x.meanAt['40']! && x.meanAt['40']! <= 1, 'a front only grows, within the table\'s');
  }
  t.is(out.results[0]!.vsRandom['40'], null);
  t.is(typeof out.results[1]!.vsRandom['40']!.mean, 'number');
  const bad = nasx('--objectives', 'accuracy:max,latency:min', '--schedulers', 'sh');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--objectives goes with NB201 --benchmark tables/);
  t.regex(nasx('--budgets', '10').stderr, /--budgets and --latency-device go with --objectives/);
});
