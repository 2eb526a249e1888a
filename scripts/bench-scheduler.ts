/**
 * Real training, same machine, same wall-clock: a search with `--scheduler hyperband` against one with
 * `--scheduler none`, each for `--time` seconds per seed, on Fashion-MNIST (training on a seeded
 * fraction of the training split), and the test accuracy of the architecture each one returns (the
 * best by validation at the most epochs reached). Prints a table per seed, the paired difference with
 * a 95% interval, and JSON with `--json`.
 *
 *   node --import tsx scripts/bench-scheduler.ts [--time 600] [--seeds 3] [--epochs 27] [--data-fraction 0.2] [--json]
 */
import { parseArgs } from 'node:util';
import { loadDataset } from '../lib/data/load.js';
import { NativeEvaluator } from '../lib/evaluators/native.js';
import { getSpace } from '../lib/space/index.js';
import { pairedDifference } from '../lib/study/benchmark.js';
import { Study } from '../lib/study/study.js';
import { machineDescription } from '../lib/util/machine.js';

const { values } = parseArgs({
  options: {
    time: { type: 'string', default: '600' },
    seeds: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '27' },
    'data-fraction': { type: 'string', default: '0.2' },
    space: { type: 'string', default: 'mlp' },
    json: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.time);
const seeds = Number(values.seeds);
const epochs = Number(values.epochs);
const dataFraction = Number(values['data-fraction']);
const space = getSpace(values.space as string);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Run {
  scheduler: string;
  seed: number;
  trials: number;
  candidateEpochs: number;
  bestEpochs: number;
  valAccuracy: number;
  testAccuracy: number;
}

const runs: Run[] = [];
for (let seed = 1; seed <= seeds; seed++) {
  const data = await loadDataset('fashion-mnist', { seed });
  for (const scheduler of ['none', 'hyperband']) {
    const study = new Study({
      space,
      strategy: 'random',
      evaluator: new NativeEvaluator({ dataset: data, build: (a) => space.build(a, data), train: { batchSize: 128, lr: 1e-3, seed } }),
      budget: { seconds },
      parallel: 2,
      fidelity: { dataFraction, ...(scheduler === 'none' ? { epochs } : {}) },
      ...(scheduler === 'none' ? {} : { scheduler, schedulerOptions: { minEpochs: 1, maxEpochs: epochs, eta: 3 } }),
      seed,
    });
    const summary = await study.run();
    const best = summary.best!;
    const run: Run = {
      scheduler,
      seed,
      trials: summary.trials.length,
      candidateEpochs: study.epochsTrained,
      bestEpochs: best.fidelity.epochs ?? epochs,
      valAccuracy: best.score!,
      testAccuracy: best.metrics.testAccuracy!,
    };
    runs.push(run);
    log(`seed ${seed} ${scheduler}: ${run.trials} trials, ${run.candidateEpochs} candidate-epochs, best at ${run.bestEpochs} epochs: val ${(run.valAccuracy * 100).toFixed(2)}%, test ${(run.testAccuracy * 100).toFixed(2)}%`);
  }
}
const test = (s: string) => runs.filter((r) => r.scheduler === s).map((r) => r.testAccuracy);
const d = pairedDifference(test('hyperband'), test('none'));
if (values.json) {
  process.stdout.write(`${JSON.stringify({ machine: machineDescription(), seconds, epochs, dataFraction, runs, pairedTest: d })}\n`);
} else {
  const pct = (x: number) => (x * 100).toFixed(2);
  process.stdout.write(`Machine: ${machineDescription()}\n${seconds} s per search, random strategy, ${epochs} epochs at most, ${dataFraction * 100}% of the training split\n\n`);
  process.stdout.write('| seed | scheduler | trials | candidate-epochs | best at epochs | val % | test % |\n| --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of runs) process.stdout.write(`| ${r.seed} | ${r.scheduler} | ${r.trials} | ${r.candidateEpochs} | ${r.bestEpochs} | ${pct(r.valAccuracy)} | ${pct(r.testAccuracy)} |\n`);
  process.stdout.write(`\nhyperband − none, test accuracy: ${pct(d.mean)} points [${pct(d.low)}, ${pct(d.high)}] (95%, paired over ${seeds} seeds)\n`);
}
