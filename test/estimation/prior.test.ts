import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadDataset } from '../../lib/data/load.js';
import { NativeEvaluator } from '../../lib/evaluators/native.js';
import { getSpace } from '../../lib/space/index.js';
import { Study } from '../../lib/study/study.js';
import { packageRoot } from '../../lib/util/package-root.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const strategy of ['bo', 'mcts']) {
  test(`${strategy} under a prior proposes by the proxies from its first ask (params as the proxy: large networks first)`, async (t) => {
    const data = await loadDataset('digits');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const space = getSpace('mlp') as any;
    const evaluator = new NativeEvaluator<unknown>({ dataset: data, build: (a) => space.build(a, data), train: { seed: 0 } });
    const fidelity = { epochs: 1, dataFraction: 0.25 };
    const run = async (prior: boolean) => {
      const study = new Study<unknown>({ space, strategy, evaluator, budget: { evaluations: 4 }, parallel: 4, fidelity, seed: 3, ...(prior ? { prior: { samples: 64, proxies: ['params'] } } : {}) });
      const events: { scored: number }[] = [];
      study.on('prior', (e) => events.push(e));
      const summary = await study.run();
      return { summary, events, params: summary.trials.map((tr) => tr.cost!.params) };
    };
    const plain = await run(false);
    const guided = await run(true);
    const again = await run(true);
    t.deepEqual(plain.events, []);
    t.deepEqual(guided.events, [{ scored: 64 }]);
    t.is(guided.summary.trials.length, 4);
    t.true(guided.summary.trials.every((tr) => tr.status === 'ok'));
    // Uniform samples of the mlp space have a spread of sizes; the prior's best by params are among the largest.
    t.true(mean(guided.params) > 1.5 * mean(plain.params), `prior ${mean(guided.params)} vs uniform ${mean(plain.params)}`);
    t.deepEqual(again.summary.trials.map((tr) => tr.hash), guided.summary.trials.map((tr) => tr.hash), 'seeded: the same proposals again');
  });
}

test('a prior needs an evaluator that scores proxies and a strategy that takes priors; its options are checked', async (t) => {
  const data = await loadDataset('digits');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const space = getSpace('mlp') as any;
  const evaluator = new NativeEvaluator<unknown>({ dataset: data, build: (a) => space.build(a, data) });
  const base = { space, evaluator, budget: { evaluations: 2 } };
  t.throws(() => new Study<unknown>({ ...base, strategy: 'random', prior: true }), { message: /^Expected a strategy that takes priors for options\.prior \(bo or mcts; random does not\) for options\.strategy but received "random"/ });
  const plain = { name: 'plain', evaluate: evaluator.evaluate.bind(evaluator) };
  t.throws(() => new Study<unknown>({ ...base, evaluator: plain, strategy: 'bo', prior: true }), { message: /^Expected an evaluator that can score proxies for options\.prior \(the plain evaluator cannot\) for options\.evaluator/ });
  t.throws(() => new Study<unknown>({ ...base, strategy: 'bo', prior: { samples: 1 } }), { message: /options\.prior\.samples/ });
  t.throws(() => new Study<unknown>({ ...base, strategy: 'bo', prior: { proxies: [] } }), { message: /^Expected a non-empty array of proxy names for options\.prior\.proxies/ });
  const aborted = new AbortController();
  aborted.abort();
  const summary = await new Study<unknown>({ ...base, strategy: 'mcts', prior: true, signal: aborted.signal }).run();
  t.is(summary.status, 'interrupted');
  t.is(summary.trials.length, 0);
});

test('nasx search --prior: bo and mcts only; --prior-proxies needs it', (t) => {
  const run = (...args: string[]) => spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'nasx.js'), 'search', ...args], { encoding: 'utf8' });
  const ok = run('--strategy', 'bo', '--prior', '16', '--budget', '2', '--epochs', '1');
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /2 evaluations \(0 not ok\)/);
  const random = run('--strategy', 'random', '--prior', '16');
  t.is(random.status, 2);
  t.regex(random.stderr, /--prior applies to --strategy bo or mcts, not random/);
  const proxies = run('--strategy', 'bo', '--prior-proxies', 'jacov');
  t.is(proxies.status, 2);
  t.regex(proxies.stderr, /--prior-proxies needs --prior N/);
});
