/**
 * Weight inheritance on Fashion-MNIST, measured three ways (every figure paired over the same
 * children or seeds, printed as a table and, with --json, as JSON):
 *
 *  1. Children of evolution: N parents sampled from the mlp space and trained --parent-epochs
 *     epochs, each mutated once (one decision, as evolution does). Each child is trained 1 epoch
 *     from its parent's weights and 1 epoch from scratch (same seed: same data order, same
 *     initialisation of what is not inherited); the share of children where inheriting wins on
 *     validation accuracy, with the paired mean difference and its 95% t-interval.
 *  2. Epochs to reach the parent: the same children trained --parent-epochs epochs both ways; the
 *     first epoch whose validation accuracy reaches the parent's (a child that never does counts
 *     as --parent-epochs + 1, which favours scratch training); the ratio of the means.
 *  3. Search at equal wall-clock: regularized evolution for --time seconds per run, with inheritance
 *     at 1 epoch per child against without it at 3 epochs per child, --seeds seeds, the arms
 *     interleaved per seed; test accuracy of each run's best-by-validation architecture, paired.
 *
 *   npm run bench:inherit -- [--children 50] [--parent-epochs 3] [--time 120] [--seeds 3] [--seed 0] [--json] [--out FILE.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Arch } from '../lib/arch/arch.js';
import { loadDataset } from '../lib/data/load.js';
import { NativeEvaluator } from '../lib/evaluators/native.js';
import { getSpace } from '../lib/space/index.js';
import { pairedDifference } from '../lib/study/benchmark.js';
import { Study } from '../lib/study/study.js';
import { trainCandidates, type TrainOptions, type TrainResult } from '../lib/train.js';
import { machineDescription } from '../lib/util/machine.js';
import { createRng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: {
    children: { type: 'string', default: '50' },
    'parent-epochs': { type: 'string', default: '3' },
    time: { type: 'string', default: '120' },
    seeds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '0' },
    'skip-search': { type: 'boolean', default: false },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.children);
const P = Number(values['parent-epochs']);
const T = Number(values.time);
const S = Number(values.seeds);
const seed = Number(values.seed);
const log = (s: string) => process.stderr.write(`${s}\n`);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const data = await loadDataset('fashion-mnist', { seed });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const space = getSpace('mlp') as any;
const build = (a: unknown): Arch => space.build(a, data);
const training: TrainOptions = { batchSize: 128, lr: 3e-3, seed };
log(`${machineDescription()}; ${data.name}: ${data.train.count} train / ${data.validation.count} validation / ${data.test.count} test`);

async function trainAll(archs: Arch[], options: TrainOptions, what: string): Promise<TrainResult[]> {
  const out: TrainResult[] = [];
  const started = performance.now();
  for (let i = 0; i < archs.length; i += 10) {
    const chunk = archs.slice(i, i + 10);
    const init = options.init?.slice(i, i + 10);
    out.push(...(await trainCandidates(chunk, data, { ...options, ...(init ? { init } : {}) })));
    log(`  ${what}: ${Math.min(archs.length, i + 10)}/${archs.length} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return out;
}

// 1 and 2: parents, their children, trained both ways.
const rng = createRng(seed);
const parentArchs: unknown[] = Array.from({ length: N }, () => space.sample(rng));
const childArchs: unknown[] = parentArchs.map((p) => space.mutate(p, rng));
log(`training ${N} parents for ${P} epochs`);
const parents = await trainAll(parentArchs.map(build), { ...training, epochs: P, keepWeights: true }, 'parents');
const ok = parents.map((p, i) => (p.status === 'ok' ? i : -1)).filter((i) => i >= 0);
const kids = ok.map((i) => build(childArchs[i]));
const init = ok.map((i) => ({ parent: parents[i]! }));
log(`training ${ok.length} children for 1 epoch from their parents and from scratch`);
const oneInherited = await trainAll(kids, { ...training, epochs: 1, init }, 'inherited, 1 epoch');
const oneScratch = await trainAll(kids, { ...training, epochs: 1 }, 'scratch, 1 epoch');
log(`training them for ${P} epochs both ways`);
const longInherited = await trainAll(kids, { ...training, epochs: P, init }, `inherited, ${P} epochs`);
const longScratch = await trainAll(kids, { ...training, epochs: P }, `scratch, ${P} epochs`);

const pairs = ok
  .map((i, k) => ({ i, k }))
  .filter(({ k }) => [oneInherited[k], oneScratch[k], longInherited[k], longScratch[k]].every((r) => r!.status === 'ok'));
const valOf = (r: TrainResult) => r.metrics.valAccuracy ?? 0;
const a = pairs.map(({ k }) => valOf(oneInherited[k]!));
const b = pairs.map(({ k }) => valOf(oneScratch[k]!));
const wins = a.filter((x, j) => x > b[j]!).length;
const preserving = pairs.filter(({ k }) => oneInherited[k]!.inheritance?.functionPreserving).length;
const oneEpoch = { children: pairs.length, functionPreserving: preserving, wins, winShare: wins / pairs.length, inherited: mean(a), scratch: mean(b), difference: pairedDifference(a, b) };

const reach = (r: TrainResult, target: number) => {
  const e = r.epochs.findIndex((x) => (x.valAccuracy ?? 0) >= target);
  return e < 0 ? P + 1 : e + 1;
};
const ri = pairs.map(({ i, k }) => reach(longInherited[k]!, valOf(parents[i]!)));
const rs = pairs.map(({ i, k }) => reach(longScratch[k]!, valOf(parents[i]!)));
const toParent = {
  inheritedEpochs: mean(ri),
  scratchEpochs: mean(rs),
  ratio: mean(ri) / mean(rs),
  inheritedNeverReached: ri.filter((x) => x > P).length,
  scratchNeverReached: rs.filter((x) => x > P).length,
  difference: pairedDifference(ri, rs),
};

// 3: evolution at equal wall-clock.
interface SearchRun {
  seed: number;
  arm: string;
  evaluations: number;
  inheritedTrials: number;
  bestVal: number;
  bestTest: number;
}
const runs: SearchRun[] = [];
if (!values['skip-search']) {
  for (let s = 0; s < S; s++) {
    for (const arm of [{ name: 'inherit, 1 epoch', inherit: true, epochs: 1 }, { name: 'scratch, 3 epochs', inherit: false, epochs: 3 }]) {
      const evaluator = new NativeEvaluator<unknown>({ dataset: data, build, train: { ...training, seed: s } });
      const study = new Study<unknown>({ space, strategy: 'evolution', evaluator, budget: { seconds: T }, parallel: 4, fidelity: { epochs: arm.epochs }, seed: s, inherit: arm.inherit });
      const summary = await study.run();
      const best = summary.best!;
      runs.push({
        seed: s,
        arm: arm.name,
        evaluations: summary.trials.length,
        inheritedTrials: summary.trials.filter((t) => t.parent !== undefined).length,
        bestVal: best.score ?? 0,
        bestTest: (best.metrics.testAccuracy as number | null) ?? 0,
      });
      log(`  search seed ${s}, ${arm.name}: ${summary.trials.length} evaluations, best val ${pct(best.score ?? 0)}, its test ${pct(runs.at(-1)!.bestTest)}`);
    }
  }
}
const armTest = (name: string) => runs.filter((r) => r.arm === name).map((r) => r.bestTest);
const search = runs.length ? { seconds: T, seeds: S, runs, testDifference: pairedDifference(armTest('inherit, 1 epoch'), armTest('scratch, 3 epochs')) } : undefined;

const result = { machine: machineDescription(), dataset: data.name, parentEpochs: P, training, oneEpoch, toParent, search };
if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
if (values.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const d = oneEpoch.difference;
  const out = [
    `Children of evolution on ${data.name} (${pairs.length} of ${N}; ${preserving} function-preserving), parents trained ${P} epochs:`,
    `  1 epoch from the parent beats 1 epoch from scratch in ${wins}/${pairs.length} (${pct(oneEpoch.winShare)}); ` +
      `validation ${pct(oneEpoch.inherited)} vs ${pct(oneEpoch.scratch)}, paired difference ${pct(d.mean)} [${pct(d.low)}, ${pct(d.high)}]`,
    `  epochs to reach the parent's validation accuracy: ${toParent.inheritedEpochs.toFixed(2)} from the parent vs ` +
      `${toParent.scratchEpochs.toFixed(2)} from scratch (ratio ${toParent.ratio.toFixed(2)}; never within ${P}: ` +
      `${toParent.inheritedNeverReached} vs ${toParent.scratchNeverReached}, counted as ${P + 1})`,
  ];
  if (search) {
    out.push(`Evolution for ${T} s per run, ${S} seeds (best-by-validation architecture's test accuracy):`);
    out.push('  seed  arm                evaluations  inherited  best val  its test');
    for (const r of runs) {
      out.push(`  ${String(r.seed).padEnd(4)}  ${r.arm.padEnd(17)}  ${String(r.evaluations).padStart(11)}  ${String(r.inheritedTrials).padStart(9)}  ${pct(r.bestVal).padStart(8)}  ${pct(r.bestTest).padStart(8)}`);
    }
    const t = search.testDifference;
    out.push(`  inherit (1 epoch) − scratch (3 epochs), test: ${pct(t.mean)} [${pct(t.low)}, ${pct(t.high)}]`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
