import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { strategyNames } from '../../lib/strategies/registry.js';
import { SqliteStorage } from '../../lib/study/storage/sqlite.js';
import { Study } from '../../lib/study/study.js';
import { packageRoot } from '../../lib/util/package-root.js';
import { startNasx, waitForStderr } from '../nasx-run.js';
import { toyEvaluator, toySpace } from '../strategies/toy-space.js';

const scratch = (t: { teardown: (f: () => void) => void }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-durable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const space = toySpace(6, 4);
const target = [1, 2, 3, 0, 1, 2];

for (const strategy of strategyNames()) {
  test(`${strategy}: a stored study interrupted and resumed proposes what an uninterrupted one does`, async (t) => {
    const dir = scratch(t);
    const base = { space, strategy, budget: { evaluations: 24 }, parallel: 2, seed: 4 };
    const plain = await new Study({ ...base, evaluator: toyEvaluator(target) }).run();
    const storage = await SqliteStorage.open(path.join(dir, 'nasx.db'));
    t.teardown(() => void storage.close());
    const stop = new AbortController();
    const first = new Study({ ...base, evaluator: toyEvaluator(target), storage, name: 's', signal: stop.signal });
    first.on('trial', (tr) => tr.index === 9 && stop.abort());
    const a = await first.run();
    t.is(a.status, 'interrupted');
    t.true(a.trials.length < 24);
    t.is((await storage.getStudy('s'))!.status, 'interrupted');
    const resumed = new Study({ ...base, evaluator: toyEvaluator(target), storage, name: 's' });
    const events: unknown[] = [];
    resumed.on('resume', (e) => events.push(e));
    const b = await resumed.run();
    t.deepEqual(events, [{ finished: a.trials.length, requeued: 0 }]);
    t.is(b.status, 'done');
    t.deepEqual(b.trials.map((tr) => tr.hash), plain.trials.map((tr) => tr.hash));
    t.deepEqual(b.trials.slice(0, a.trials.length), a.trials, 'the trials finished before the interruption are kept as they were');
    t.is((await storage.getStudy('s'))!.status, 'done');
  });
}

test('a resumed study may raise its budget; other settings must match the stored ones', async (t) => {
  const dir = scratch(t);
  const storage = await SqliteStorage.open(path.join(dir, 'nasx.db'));
  t.teardown(() => void storage.close());
  const base = { space, strategy: 'bo', parallel: 3, seed: 1, storage, name: 'b' };
  await new Study({ ...base, evaluator: toyEvaluator(target), budget: { evaluations: 9 } }).run();
  const more = await new Study({ ...base, evaluator: toyEvaluator(target), budget: { evaluations: 15 } }).run();
  t.is(more.trials.length, 15);
  t.like(await storage.getStudy('b'), { budget: { evaluations: 15 }, status: 'done' });
  const plain = await new Study({ space, strategy: 'bo', parallel: 3, seed: 1, evaluator: toyEvaluator(target), budget: { evaluations: 15 } }).run();
  t.deepEqual(more.trials.map((tr) => tr.hash), plain.trials.map((tr) => tr.hash));
  await t.throwsAsync(new Study({ ...base, seed: 2, evaluator: toyEvaluator(target), budget: { evaluations: 15 } }).run(), {
    message: /^Expected the seed to be 1, as study "b" in .*nasx\.db was created with, but received 2/,
  });
  await t.throwsAsync(new Study({ ...base, strategy: 'random', evaluator: toyEvaluator(target), budget: { evaluations: 15 } }).run(), {
    message: /^Expected the strategy to be "bo", as study "b" .* but received "random"/,
  });
  t.throws(() => new Study({ ...base, name: 'no spaces', evaluator: toyEvaluator(target), budget: { evaluations: 1 } }), { message: /options\.name/ });
  t.throws(() => new Study({ space, strategy: 'bo', storage, evaluator: toyEvaluator(target), budget: { evaluations: 1 } }), { message: /options\.name/ });
});

const bin = path.join(packageRoot(), 'bin', 'nasx.js');
const searchArgs = (db: string, budget: number, epochs = 3) => ['search', '--study', 'k', '--storage', db, '--budget', String(budget), '--parallel', '2', '--epochs', String(epochs), '--seed', '1'];

// Serial: the in-process studies of this file would otherwise hold the event loop between a line and its kill.
test.serial('nasx search --study killed with SIGKILL at random points, then resumed: exactly the budget, earlier trials unchanged, no duplicates, a sound file', async (t) => {
  const dir = scratch(t);
  const db = path.join(dir, 'nasx.db');
  const budget = 40;
  const kept = new Map<number, string>();
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let kills = 0;
  for (let kill = 0; kill < 4 && kept.size < budget - 6; kill++) {
    // Ten epochs a trial: long enough that the kill lands within a few trials of the line it waits for.
    const run = startNasx(...searchArgs(db, budget, 10));
    // Kill after a random number of further trials (each line "#n ok …" is printed once the trial is stored).
    const target = Math.min(budget - 3, kept.size + 1 + Math.floor(random() * 5));
    kills++;
    await waitForStderr(run, new RegExp(`^#${target} `, 'm'));
    run.child.kill('SIGKILL');
    t.is(await run.exit, null);
    if (kill > 0) t.regex(run.stderr, new RegExp(`Resuming study k: ${kept.size} evaluations kept`));
    const storage = await SqliteStorage.open(db);
    const rows = await storage.trials('k');
    t.is(storage.integrityCheck(), 'ok');
    await storage.close();
    for (const r of rows.filter((x) => x.state === 'complete' || x.state === 'failed')) {
      const json = JSON.stringify(r.result);
      if (kept.has(r.id)) t.is(json, kept.get(r.id), `trial ${r.id} changed after a kill`);
      kept.set(r.id, json);
    }
    t.true(kept.size >= target, `after kill ${kill + 1}: ${kept.size} trials stored, at least ${target} expected`);
  }
  t.true(kills >= 2, `${kills} kills`);
  const last = spawnSync(process.execPath, [bin, ...searchArgs(db, budget, 10), '--json'], { encoding: 'utf8' });
  t.is(last.status, 0, last.stderr);
  const result = JSON.parse(last.stdout) as { history: { hash: string }[]; status: string };
  t.is(result.status, 'done');
  t.is(result.history.length, budget);
  t.is(new Set(result.history.map((h) => h.hash)).size, budget, 'no architecture evaluated twice');
  const storage = await SqliteStorage.open(db);
  const rows = await storage.trials('k');
  t.is(storage.integrityCheck(), 'ok');
  await storage.close();
  t.is(rows.filter((r) => r.state === 'complete' || r.state === 'failed').length, budget);
  t.is(rows.length, budget, 'every trial a killed process left running was run again, not added anew');
  for (const [id, json] of kept) t.is(JSON.stringify(rows[id]!.result), json, `trial ${id} changed`);
});

test.serial('nasx search --study: a second process on a running SQLite study is refused; Ctrl-C marks it interrupted', async (t) => {
  const dir = scratch(t);
  const db = path.join(dir, 'nasx.db');
  const run = startNasx(...searchArgs(db, 200));
  await waitForStderr(run, /^#2 /m);
  const second = spawnSync(process.execPath, [bin, ...searchArgs(db, 200)], { encoding: 'utf8' });
  t.is(second.status, 1);
  t.regex(second.stderr, /Study "k" in .*nasx\.db is being run by process \d+ on .*one process at a time.*PostgreSQL/);
  run.child.kill('SIGINT');
  t.is(await run.exit, 130);
  const storage = await SqliteStorage.open(db);
  t.is((await storage.getStudy('k'))!.status, 'interrupted');
  const rows = await storage.trials('k');
  t.true(rows.every((r) => r.state !== 'running'), 'nothing is left running after Ctrl-C');
  await storage.close();
  const bad = spawnSync(process.execPath, [bin, 'search', '--storage', db], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--storage, --worker and --lease need --study NAME/);
  const worker = spawnSync(process.execPath, [bin, 'search', '--study', 'k', '--storage', db, '--worker'], { encoding: 'utf8' });
  t.is(worker.status, 2);
  t.regex(worker.stderr, /--worker needs a PostgreSQL --storage/);
});

test('nasx studies lists, shows, exports and deletes stored studies', async (t) => {
  const dir = scratch(t);
  const db = path.join(dir, 'nasx.db');
  const nasx = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  t.is(nasx(...searchArgs(db, 4)).status, 0);
  const list = nasx('studies', '--storage', db, '--json');
  t.is(list.status, 0, list.stderr);
  const [s] = JSON.parse(list.stdout) as { name: string; status: string; strategy: string; trials: Record<string, number>; best: number }[];
  t.like(s, { name: 'k', status: 'done', strategy: 'evolution', trials: { complete: 4, failed: 0, running: 0, pending: 0, pruned: 0 } });
  t.true(s!.best > 0.3);
  const table = nasx('studies', '--storage', db);
  t.regex(table.stdout, /^k +done +evolution +mlp +4 +0 +0 +\d+\.\d+% +4 /m);
  const show = nasx('studies', 'show', 'k', '--storage', db);
  t.is(show.stdout.split('\n').filter((l) => /^ +\d+ +complete /.test(l)).length, 4);
  const out = path.join(dir, 'k.json');
  t.is(nasx('studies', 'export', 'k', '--storage', db, '--out', out).status, 0);
  const exported = JSON.parse(spawnSync('cat', [out], { encoding: 'utf8' }).stdout) as { study: { name: string; seed: number }; trials: { state: string; result: { metrics: { valAccuracy: number } } }[] };
  t.like(exported.study, { name: 'k', seed: 1 });
  t.is(exported.trials.length, 4);
  t.true(exported.trials.every((tr) => tr.state === 'complete' && tr.result.metrics.valAccuracy > 0));
  const missing = nasx('studies', 'show', 'nope', '--storage', db);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /There is no study named "nope"/);
  t.regex(nasx('studies', 'frobnicate', '--storage', db).stderr, /Unknown action "frobnicate" for nasx studies; actions are list, show, export, delete/);
  t.is(nasx('studies', 'delete', 'k', '--storage', db).status, 0);
  t.regex(nasx('studies', '--storage', db).stdout, /No studies in /);
  t.regex(nasx('studies', '--storage', path.join(dir, 'none.db')).stderr, /No study database at .*none\.db/);
});

test('Study.load continues a stored study with the settings it was created with', async (t) => {
  const dir = scratch(t);
  const storage = await SqliteStorage.open(path.join(dir, 'nasx.db'));
  t.teardown(() => void storage.close());
  const settings = { strategy: 'evolution', seed: 6, parallel: 3, strategyOptions: { population: 6, sampleSize: 3 } };
  const plain = await new Study({ ...settings, space, evaluator: toyEvaluator(target), budget: { evaluations: 18 } }).run();
  const stop = new AbortController();
  const first = new Study({ ...settings, space, evaluator: toyEvaluator(target), budget: { evaluations: 18 }, storage, name: 'l', signal: stop.signal });
  first.on('trial', (tr) => tr.index === 4 && stop.abort());
  await first.run();
  const loaded = await Study.load(storage, 'l', { space, evaluator: toyEvaluator(target) });
  t.is(loaded.strategy.name, 'evolution');
  const summary = await loaded.run();
  t.is(summary.seed, 6);
  t.deepEqual(summary.budget, { evaluations: 18 });
  t.deepEqual(summary.trials.map((tr) => tr.hash), plain.trials.map((tr) => tr.hash));
  await t.throwsAsync(Study.load(storage, 'missing', { space, evaluator: toyEvaluator(target) }), { code: 'ERR_NASX_STORAGE', message: /There is no study named "missing"/ });
});

test('a stored study stopped by its time budget is marked done, its unfinished trial left to run on resume', async (t) => {
  const dir = scratch(t);
  const db = path.join(dir, 'nasx.db');
  const r = spawnSync(process.execPath, [bin, 'search', '--study', 't', '--storage', db, '--time', '1.5', '--budget', '100000', '--epochs', '3', '--parallel', '2'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const storage = await SqliteStorage.open(db);
  t.teardown(() => void storage.close());
  t.is((await storage.getStudy('t'))!.status, 'done');
  const rows = await storage.trials('t');
  t.true(rows.every((x) => x.state !== 'running'));
  t.true(rows.filter((x) => x.state === 'complete').length > 0);
});
