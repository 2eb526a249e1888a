import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadDataset } from '../../lib/data/load.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';
import { getSpace } from '../../lib/space/index.js';
import { createStrategy } from '../../lib/strategies/registry.js';
import type { Observation, Strategy } from '../../lib/strategies/strategy.js';
import { Study } from '../../lib/study/study.js';
import { packageRoot } from '../../lib/util/package-root.js';

test('prescreen trains, per batch, the candidates best by the proxies\' average rank; the strategy hears the rest failed', async (t) => {
  const data = await loadDataset('digits');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const space = getSpace('mlp') as any;
  const evaluator = new NativeEvaluator<unknown>({ dataset: data, build: (a) => space.build(a, data), train: { epochs: 1, seed: 0 } });
  const inner = createStrategy<unknown>('random', { space, seed: 5 });
  const asked: unknown[][] = [];
  const told: Observation<unknown>[] = [];
  const strategy: Strategy<unknown> = {
    name: 'random',
    ask: (n) => {
      const a = inner.ask(n);
      asked.push(a);
      return a;
    },
    tell: (r) => {
      told.push(...r);
      inner.tell(r);
    },
    stateDict: () => inner.stateDict(),
    loadStateDict: (s) => inner.loadStateDict(s),
  };
  const proxies = ['jacov', 'params'];
  const study = new Study<unknown>({ space, strategy, evaluator, budget: { evaluations: 8 }, parallel: 4, fidelity: { epochs: 1 }, prescreen: { factor: 3, proxies } });
  const summary = await study.run();
  t.is(summary.trials.length, 8);
  t.deepEqual(asked.map((a) => a.length), [12, 12]);
  t.is(study.culled, 16);
  t.is(told.filter((o) => o.score === null).length, 16);
  for (const [b, batch] of asked.entries()) {
    const ranks = await evaluator.prescreen(batch, proxies);
    const best = batch.map((_, i) => i).sort((x, y) => ranks[x]! - ranks[y]! || x - y).slice(0, 4).map((i) => space.hash(batch[i]));
    t.deepEqual(summary.trials.slice(b * 4, b * 4 + 4).map((tr) => tr.hash).sort(), best.sort());
  }
  await t.throwsAsync(evaluator.prescreen(asked[0]!, ['magic']), { message: /^Expected one of "gradNorm", .* for proxies\[0\] but received "magic"/ });
});

test('nasx search --prescreen reports the culled candidates; bad combinations are usage errors', (t) => {
  const bin = path.join(packageRoot(), 'bin', 'nasx.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'search', ...args], { encoding: 'utf8', timeout: 120_000 });
  const r = run('--budget', '4', '--parallel', '2', '--epochs', '1', '--prescreen', '3');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /4 evaluations \(0 not ok, 8 more culled untrained by --prescreen\)/);
  const bad = run('--prescreen-proxies', 'jacov');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--prescreen-proxies needs --prescreen K/);
  const sched = run('--prescreen', '2', '--scheduler', 'asha');
  t.is(sched.status, 2);
  t.regex(sched.stderr, /--prescreen applies without a --scheduler/);
});
