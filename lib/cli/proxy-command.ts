/**
 * `nasx proxy`: scores a seeded sample of a space's architectures by the zero-cost proxies, untrained.
 */
import { loadDataset } from '../data/load.js';
import { PROXY_NAMES, proxyRanks, scoreProxies } from '../estimation/proxies.js';
import { sampleArchitectures } from '../study/tabulate.js';
import { UsageError, bytesFlag, intFlag, parseFlags } from './args.js';
import { DATASET_FLAGS, datasetFromFlags } from './dataset-flag.js';
import { compact, table } from './progress.js';
import { archLabel, resolveSpace } from './search-command.js';

export const PROXY_USAGE = `Usage: nasx proxy [options]

Scores a seeded sample of a space's architectures by zero-cost proxies: gradNorm, snip, fisher,
synflow, jacov and naswot, measured on one minibatch at initialisation (no training), with their
parameters and FLOPs. Higher is better for every proxy.

  --space NAME|FILE       mlp (default), cnn, nb201, or a JSON space file
  --dataset NAME|FILE     digits (default), fashion-mnist, or a CSV file (--task, --label)
  --sample N              architectures (distinct by canonical hash; default 100)
  --batch-size N          samples of the minibatch, 1-256 (default 64)
  --seed N                seeds the sample, the initialisation and the minibatch (default 0)
  --threads N             threads to use (default: all)
  --max-memory SIZE       memory the engine may hold (default: half of the machine's)
  --top K                 rows of the table, best by the average rank over the proxies (default 10)
  --json                  one JSON object per architecture: arch, status, params, flops, scores, seconds
`;

const FLAGS = {
  space: { type: 'string' },
  ...DATASET_FLAGS,
  sample: { type: 'string' },
  'batch-size': { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  'max-memory': { type: 'string' },
  top: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function proxyCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(PROXY_USAGE);
    return 0;
  }
  const sample = intFlag('sample', values.sample, 1, 1_000_000) ?? 100;
  const batchSize = intFlag('batch-size', values['batch-size'], 1, 256);
  const seed = intFlag('seed', values.seed, 0) ?? 0;
  const threads = intFlag('threads', values.threads, 1, 1024);
  const maxMemory = bytesFlag('max-memory', values['max-memory'], 2 ** 20);
  const top = intFlag('top', values.top, 1, 1_000_000) ?? 10;
  const source = datasetFromFlags(values);
  const space = await resolveSpace(values.space ?? 'mlp');
  if (!space.trainable) throw new UsageError(`The space ${space.name} has no network to build (a "config" space)`);
  const data = await loadDataset(source, { seed });
  const drawn = sampleArchitectures(space, sample, seed);
  const started = performance.now();
  const results = await scoreProxies(
    drawn.map((d) => space.build(d.arch, data)),
    data,
    { seed, ...(batchSize ? { batchSize } : {}), ...(threads ? { threads } : {}), ...(maxMemory ? { maxMemory } : {}) },
  );
  const seconds = (performance.now() - started) / 1000;
  if (values.json) {
    for (const [i, r] of results.entries()) {
      const o: Record<string, unknown> = { arch: drawn[i]!.arch, hash: drawn[i]!.hash, status: r.status, params: r.params, flops: r.flops, scores: r.scores, seconds: r.seconds };
      if (r.error) o.error = r.error;
      process.stdout.write(`${JSON.stringify(o)}\n`);
    }
    return results.every((r) => r.status === 'ok') ? 0 : 1;
  }
  const ok = results.map((r, i) => ({ r, i })).filter((x) => x.r.status === 'ok');
  const rank = proxyRanks(ok.map((x) => x.r), PROXY_NAMES);
  const order = ok.map((x, k) => ({ ...x, rank: rank[k]! })).sort((a, b) => a.rank - b.rank || a.i - b.i);
  const fmt = (v: number | null) => (v === null ? '-' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(3));
  const rows = order.slice(0, top).map(({ r, i, rank: avg }, k) => [
    k + 1,
    avg.toFixed(1),
    ...PROXY_NAMES.map((p) => fmt(r.scores[p])),
    compact(r.params),
    archLabel(drawn[i]!.arch),
  ]);
  process.stdout.write(`${table(['#', 'avg rank', ...PROXY_NAMES, 'params', 'architecture'], rows)}\n`);
  const failed = results.filter((r) => r.status !== 'ok');
  process.stdout.write(
    `${results.length} architectures scored in ${seconds.toFixed(2)} s (${(results.length / seconds).toFixed(0)}/s) on ${data.name}` +
      `${failed.length ? `; ${failed.length} not ok (${[...new Set(failed.map((f) => f.status))].join(', ')})` : ''}\n`,
  );
  return failed.length === 0 ? 0 : 1;
}
