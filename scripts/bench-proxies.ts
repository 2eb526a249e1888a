/**
 * Zero-cost proxies against ground truth nobody tuned them to: every architecture of the shipped
 * Fashion-MNIST learning-curve table (data/fashion-mnist-mlp, 1,110 MLPs) scored at initialisation on
 * the same data, then Spearman ρ and Kendall τ of each proxy (and of params, FLOPs, and every
 * rank-average combination of up to four of them) against the table's validation accuracy after 27
 * epochs (and its test accuracy), with the validation accuracy after 1 epoch of training as a peer.
 * Also the throughput: candidates scored per second for the built-in mlp space on Fashion-MNIST.
 *
 * The rank-average vote of synflow, jacov and snip (Abdelfattah et al., ICLR 2021; the default of
 * `--prescreen`, chosen on NAS-Bench-201, not on this table) is reported on its own; the best
 * combination is chosen on this table, so its figure is optimistic.
 *
 *   node --import tsx scripts/bench-proxies.ts [--seed 0] [--batch-size 64] [--json] [--out FILE.json]
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../lib/data/load.js';
import { PROXY_NAMES, proxyRanks, scoreProxies, type ProxyName } from '../lib/estimation/proxies.js';
import { loadCurveTable } from '../lib/evaluators/tabular.js';
import { getSpace } from '../lib/space/index.js';
import { loadSearchSpace } from '../lib/space/json-space.js';
import { sampleArchitectures } from '../lib/study/tabulate.js';
import type { Arch } from '../lib/arch/arch.js';
import { packageRoot } from '../lib/util/package-root.js';
import { machineDescription } from '../lib/util/machine.js';
import { kendall, spearman } from '../lib/util/rank-correlation.js';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '0' }, 'batch-size': { type: 'string', default: '64' }, json: { type: 'boolean', default: false }, out: { type: 'string' } },
});
const seed = Number(values.seed);
const batchSize = Number(values['batch-size']);
const dir = path.join(packageRoot(), 'data', 'fashion-mnist-mlp');
const log = (s: string) => process.stderr.write(`${s}\n`);

const space = await loadSearchSpace(path.join(dir, 'space.json'));
const table = await loadCurveTable(path.join(dir, 'curves.csv'), space);
const rows = table.rows();
// The table's data: Fashion-MNIST split with seed 0, as nasx tabulate made it.
const data = await loadDataset('fashion-mnist', { seed: 0 });
const archs = rows.map((r) => space.build(r.arch, data));
log(`scoring ${archs.length} architectures...`);
const started = performance.now();
const results = await scoreProxies(archs as Arch[], data, { batchSize, seed });
const seconds = (performance.now() - started) / 1000;
const val = rows.map((r) => r.score!);
const test = rows.map((r) => r.report.testAccuracy!);
const valAt1 = await table.evaluate(rows.map((r) => r.arch), { epochs: 1 });
type Key = ProxyName | 'params' | 'flops';
const keys: Key[] = [...PROXY_NAMES, 'params', 'flops'];
const value = (k: Key) => results.map((r) => (k === 'params' || k === 'flops' ? r[k] : r.scores[k]) ?? -Infinity);
const single = keys.map((k) => ({ name: k, spearman: spearman(value(k), val), kendall: kendall(value(k), val), spearmanTest: spearman(value(k), test) }));
// Every rank-average combination of 2 to 4 of them.
const combos: { name: string; spearman: number; kendall: number; spearmanTest: number }[] = [];
const pick = (start: number, chosen: Key[]) => {
  if (chosen.length >= 2) {
    const score = proxyRanks(results, chosen).map((r) => -r);
    combos.push({ name: chosen.join('+'), spearman: spearman(score, val), kendall: kendall(score, val), spearmanTest: spearman(score, test) });
  }
  if (chosen.length === 4) return;
  for (let i = start; i < keys.length; i++) pick(i + 1, [...chosen, keys[i]!]);
};
pick(0, []);
combos.sort((a, b) => b.spearman - a.spearman);
const voteScore = proxyRanks(results, ['synflow', 'jacov', 'snip']).map((r) => -r);
const vote = { name: 'vote: synflow+jacov+snip (the --prescreen default)', spearman: spearman(voteScore, val), kendall: kendall(voteScore, val), spearmanTest: spearman(voteScore, test) };
const oneEpoch = valAt1.map((r) => r.metrics.score ?? -Infinity);
const peer = { name: 'validation after 1 epoch of training', spearman: spearman(oneEpoch, val), kendall: kendall(oneEpoch, val), spearmanTest: spearman(oneEpoch, test) };

// Throughput on the built-in mlp space (up to 6 layers of 512): candidates per second, best of 3.
const mlp = getSpace('mlp');
const sample = sampleArchitectures(mlp, 200, 1).map((s) => mlp.build(s.arch, data));
let rate = 0;
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  await scoreProxies(sample, data, { batchSize, seed });
  rate = Math.max(rate, sample.length / ((performance.now() - t0) / 1000));
}
const report = { machine: machineDescription(), architectures: rows.length, batchSize, seed, secondsForTable: seconds, single, vote, bestCombinations: combos.slice(0, 5), peer, mlpSpaceCandidatesPerSecond: rate };
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
if (values.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const f = (x: number) => x.toFixed(3);
  process.stdout.write(`Machine: ${report.machine}\n${rows.length} architectures of data/fashion-mnist-mlp, batch ${batchSize}, seed ${seed}; scored in ${seconds.toFixed(1)} s\n\n`);
  process.stdout.write('| proxy | Spearman ρ (val @27) | Kendall τ (val @27) | Spearman ρ (test) |\n| --- | --- | --- | --- |\n');
  for (const s of [...single, vote, ...combos.slice(0, 5), peer]) process.stdout.write(`| ${s.name} | ${f(s.spearman)} | ${f(s.kendall)} | ${f(s.spearmanTest)} |\n`);
  process.stdout.write(`\nThroughput, built-in mlp space on Fashion-MNIST: ${rate.toFixed(0)} candidates/s (best of 3, 200 candidates)\n`);
}
