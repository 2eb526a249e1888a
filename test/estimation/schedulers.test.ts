import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BracketScheduler } from '../../lib/estimation/brackets.js';
import { createScheduler } from '../../lib/estimation/registry.js';
import { StateStore } from '../../lib/estimation/state-store.js';
import type { EvalResult, Evaluator, Fidelity } from '../../lib/evaluators/evaluator.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';
import { getSpace } from '../../lib/space/index.js';
import type { Observation } from '../../lib/strategies/strategy.js';
import { Study, type Trial } from '../../lib/study/study.js';
import { loadDataset } from '../../lib/data/load.js';
import { toyScore, toySpace, type Toy } from '../strategies/toy-space.js';

const target = [1, 2, 3, 0, 1];

/**
 * A toy learning curve: the score after e epochs approaches the architecture's quality. It continues
 * from a state (the epochs already trained) and records every call, so tests can check what was trained.
 */
function curveEvaluator() {
  const calls: { arch: Toy; epochs: number; from: number }[] = [];
  const evaluator: Evaluator<Toy> = {
    name: 'curve',
    async evaluate(candidates, fidelity: Fidelity, opts) {
      const epochs = fidelity.epochs!;
      return candidates.map((arch, i): EvalResult<Toy> => {
        const from = (opts?.resume?.[i] as { epochs: number } | undefined)?.epochs ?? 0;
        calls.push({ arch, epochs, from });
        const at = (e: number) => toyScore(arch, target) * (1 - Math.exp(-e / 4));
        const curve = Array.from({ length: epochs - from }, (_, k) => at(from + k + 1));
        return {
          arch,
          status: 'ok',
          metrics: { score: at(epochs) },
          seconds: 0,
          curve,
          resumedFrom: from,
          epochsTrained: epochs - from,
          ...(opts?.keepState ? { state: { epochs } } : {}),
        };
      });
    },
  };
  return { evaluator, calls };
}

test('hyperband plans the brackets of Li et al. for 1 to 27 epochs, eta 3', (t) => {
  const hb = new BracketScheduler('hyperband', { minEpochs: 1, maxEpochs: 27, eta: 3 });
  t.deepEqual(
    hb.plan().map((b) => [b.epochs, b.sizes]),
    [
      [[1, 3, 9, 27], [27, 9, 3, 1]],
      [[3, 9, 27], [12, 4, 1]],
      [[9, 27], [6, 2]],
      [[27], [4]],
    ],
  );
  const sh = new BracketScheduler('sh', { minEpochs: 1, maxEpochs: 27, eta: 3 });
  t.deepEqual(sh.plan().map((b) => [b.epochs, b.sizes]), [[[1, 3, 9, 27], [27, 9, 3, 1]]]);
});

test('scheduler options are checked with messages naming the option', (t) => {
  const ctx = { space: toySpace(), seed: 0 };
  t.throws(() => createScheduler('hyperband', ctx, { maxEpochs: 27, eta: 1 }), {
    instanceOf: RangeError,
    message: 'Expected a number between 2 and 100 for hyperband.eta but received 1 of type number',
  });
  t.throws(() => createScheduler('asha', ctx, { minEpochs: 9, maxEpochs: 3 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and asha.maxEpochs (3) for asha.minEpochs but received 9 of type number',
  });
  t.throws(() => createScheduler('sh', ctx, { maxEpochs: 9, rungs: 3 }), {
    instanceOf: RangeError,
    message: 'Unknown option "rungs" for scheduler sh; known options are minEpochs, maxEpochs, eta, n',
  });
  t.throws(() => createScheduler('hyperband', ctx, {}), { instanceOf: TypeError, message: /hyperband\.maxEpochs/ });
  t.throws(() => createScheduler('pbt', ctx), { instanceOf: RangeError, message: /^Expected one of "none", "sh", "hyperband", "asha", "bohb", "median" for scheduler/ });
  t.is(createScheduler('none', ctx), undefined);
});

test('successive halving promotes the best third of each rung, continuing their training', async (t) => {
  const { evaluator, calls } = curveEvaluator();
  const study = new Study<Toy>({
    space: toySpace(),
    strategy: 'random',
    evaluator,
    scheduler: 'sh',
    schedulerOptions: { minEpochs: 1, maxEpochs: 9, eta: 3 },
    budget: { evaluations: 13 },
    parallel: 3,
    seed: 4,
  });
  const summary = await study.run();
  // One bracket: 9 at 1 epoch, the best 3 to 3 epochs, the best 1 to 9.
  t.deepEqual(summary.trials.map((x) => x.fidelity.epochs), [...Array(9).fill(1), 3, 3, 3, 9]);
  const rung0 = summary.trials.slice(0, 9);
  const best3 = [...rung0].sort((a, b) => b.score! - a.score!).slice(0, 3).map((x) => x.hash);
  t.deepEqual(summary.trials.slice(9, 12).map((x) => x.hash).sort(), [...best3].sort());
  for (const p of summary.trials.slice(9)) {
    t.is(summary.trials[p.promotedFrom!]!.hash, p.hash);
    t.is(p.epochsTrained, p.fidelity.epochs! - summary.trials[p.promotedFrom!]!.fidelity.epochs!);
    t.is(p.curve!.length, p.fidelity.epochs);
  }
  // Promotions continued from their state: only the extra epochs were trained.
  t.deepEqual(calls.slice(9).map((c) => [c.from, c.epochs]), [[1, 3], [1, 3], [1, 3], [3, 9]]);
  t.is(study.epochsTrained, 9 * 1 + 3 * 2 + 6);
  t.is(summary.best!.fidelity.epochs, 9);
});

test('an epoch budget is never exceeded and counts only the epochs trained', async (t) => {
  const { evaluator } = curveEvaluator();
  const study = new Study<Toy>({
    space: toySpace(),
    strategy: 'evolution',
    evaluator,
    scheduler: 'hyperband',
    schedulerOptions: { minEpochs: 1, maxEpochs: 27 },
    budget: { epochs: 200 },
    parallel: 8,
    seed: 2,
  });
  const summary = await study.run();
  const spent = summary.trials.reduce((a, x) => a + x.epochsTrained, 0);
  t.is(spent, study.epochsTrained);
  t.true(spent <= 200 && spent > 150, `${spent} epochs`);
  t.is(summary.status, 'done');
  // Dedupe is by (architecture, epochs): each architecture reaches each rung at most once.
  const keys = summary.trials.map((x) => `${x.hash}@${x.fidelity.epochs}`);
  t.is(new Set(keys).size, keys.length);
});

test('asha promotes without waiting for rungs to fill, and every strategy is told each result with its epochs', async (t) => {
  const { evaluator } = curveEvaluator();
  const told: Observation<Toy>[] = [];
  const study = new Study<Toy>({
    space: toySpace(),
    strategy: 'random',
    evaluator,
    scheduler: 'asha',
    schedulerOptions: { minEpochs: 1, maxEpochs: 9, eta: 3 },
    budget: { evaluations: 40 },
    parallel: 2,
    seed: 1,
  });
  const tell = study.strategy.tell.bind(study.strategy);
  study.strategy.tell = (obs) => {
    told.push(...obs);
    tell(obs);
  };
  const summary = await study.run();
  const at = (e: number) => summary.trials.filter((x) => x.fidelity.epochs === e);
  t.true(at(3).length >= 6 && at(9).length >= 1, `${at(1).length}/${at(3).length}/${at(9).length} at 1/3/9 epochs`);
  // The first promotion comes in the batch after the first rung has a top third (4 results, 2 a batch),
  // not after a full rung.
  t.is(summary.trials.findIndex((x) => x.fidelity.epochs === 3), 4);
  t.deepEqual(
    told.filter((o) => o.epochs !== undefined).map((o) => `${o.hash}@${o.epochs}`),
    summary.trials.map((x) => `${x.hash}@${x.fidelity.epochs}`),
  );
});

test('median stopping stops curves below the median of completed trials at the same epoch', async (t) => {
  const { evaluator } = curveEvaluator();
  const summary = await new Study<Toy>({
    space: toySpace(),
    strategy: 'random',
    evaluator,
    scheduler: 'median',
    schedulerOptions: { minEpochs: 1, maxEpochs: 9, eta: 3, minCompleted: 3 },
    budget: { epochs: 300 },
    parallel: 3,
    seed: 5,
  }).run();
  const last = new Map<string, Trial<Toy>>();
  for (const x of summary.trials) last.set(x.hash, x);
  const complete = [...last.values()].filter((x) => x.fidelity.epochs === 9);
  const stopped = [...last.values()].filter((x) => x.fidelity.epochs! < 9);
  t.true(complete.length >= 3 && stopped.length >= 3, `${complete.length} complete, ${stopped.length} stopped`);
  // Every stopped trial was below the median of the trials completed before it at its last epoch
  // (the last few trials may simply not have been continued before the budget ran out).
  for (const s of stopped.filter((x) => x.index > complete[2]!.index && x.index < summary.trials.length - 10)) {
    const before = complete.filter((c) => c.index < s.index).map((c) => c.curve![s.fidelity.epochs! - 1]!).sort((a, b) => a - b);
    const m = before.length % 2 ? before[(before.length - 1) / 2]! : (before[before.length / 2 - 1]! + before[before.length / 2]!) / 2;
    t.true(s.score! < m || before.length < 3);
  }
});

test('bohb proposes from the model of the highest fidelity with enough results', async (t) => {
  const { evaluator } = curveEvaluator();
  const study = new Study<Toy>({
    space: toySpace(),
    strategy: 'random',
    evaluator,
    scheduler: 'bohb',
    schedulerOptions: { minEpochs: 1, maxEpochs: 9, minPoints: 5, randomFraction: 0 },
    budget: { evaluations: 60 },
    parallel: 4,
    seed: 3,
  });
  const summary = await study.run();
  t.is(summary.trials.length, 60);
  // The model guides the later brackets: their first-rung candidates beat the first bracket's on average.
  const firstRung = summary.trials.filter((x) => x.fidelity.epochs === 1 && x.promotedFrom === undefined);
  const mean = (xs: Trial<Toy>[]) => xs.reduce((a, x) => a + x.score!, 0) / xs.length;
  t.true(mean(firstRung.slice(-5)) > mean(firstRung.slice(0, 9)), `${mean(firstRung.slice(-5))} vs ${mean(firstRung.slice(0, 9))}`);
});

test('the state store keeps states within its memory limit, spilling the lowest-scored to disk and reading them back', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = (v: number) => ({
    epochsDone: 2,
    steps: 20,
    rng: Uint32Array.from([1, 2, 3, v]),
    params: new Float32Array(1000).fill(v),
    state: new Float32Array(10).fill(-v),
    m: new Float32Array(1000).fill(v / 2),
    v: new Float32Array(0),
  });
  const store = new StateStore({ maxMemoryBytes: 10_000, dir });
  await store.put('a', state(1), 0.9);
  await store.put('b', state(2), 0.1);
  await store.put('c', state(3), 0.5);
  const u = store.usage();
  t.is(u.states, 3);
  t.true(u.memoryBytes <= 10_000 && u.diskBytes > 0);
  t.deepEqual(await store.get('b'), state(2), 'the lowest-scored state spilled and comes back whole');
  t.deepEqual(await store.get('a'), state(1));
  await store.delete('b');
  t.false(store.has('b'));
  await store.close();
  t.deepEqual(readdirSync(dir), []);
});

test('a native hyperband study continues promoted candidates from their training state', async (t) => {
  const data = await loadDataset('digits');
  const space = getSpace('mlp');
  const study = new Study({
    space,
    strategy: 'random',
    evaluator: new NativeEvaluator({ dataset: data, build: (a) => space.build(a, data), train: { batchSize: 64, lr: 3e-3, seed: 1 } }),
    scheduler: 'sh',
    schedulerOptions: { minEpochs: 1, maxEpochs: 4, eta: 2 },
    budget: { evaluations: 7 },
    parallel: 2,
    seed: 1,
  });
  const summary = await study.run();
  t.deepEqual(summary.trials.map((x) => x.fidelity.epochs), [1, 1, 1, 1, 2, 2, 4]);
  for (const p of summary.trials.slice(4)) {
    t.is(p.status, 'ok');
    t.is(p.epochsTrained, p.fidelity.epochs! / 2);
    t.is(p.curve!.length, p.fidelity.epochs);
    t.deepEqual(p.curve!.slice(0, p.fidelity.epochs! / 2), summary.trials[p.promotedFrom!]!.curve);
  }
  t.is(study.epochsTrained, 4 + 2 + 2);
});
