/**
 * Plots of strategy benchmarks: the mean best-so-far test accuracy against the number of queries, one
 * line per strategy with a 95% confidence band of the mean, drawn with Vega-Lite to SVG (or to PNG
 * through sharp). Several benchmarks are drawn side by side, each with its own axis.
 */
import { NasxError } from '../errors.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import type { BenchmarkResult } from './benchmark.js';

/** One panel: lines and bands of every strategy of one benchmark (against queries, or candidate-epochs). */
function panel(r: BenchmarkResult, width: number, height: number): Record<string, unknown> {
  const values: Record<string, unknown>[] = [];
  const xTitle = r.budgetUnit === 'epochs' ? 'candidate-epochs' : 'queries';
  for (const s of r.results) {
    s.testCurve.forEach((mean, q) => {
      if (!Number.isFinite(mean)) return;
      const half = (1.96 * s.testCurveStd[q]!) / Math.sqrt(r.seeds);
      values.push({ strategy: s.strategy, queries: s.costGrid ? s.costGrid[q]! : q + 1, mean, lo: mean - half, hi: mean + half });
    });
  }
  // The first queries are far below the rest; the axis starts where every strategy is after a tenth of
  // the budget, so that the differences that matter are visible (earlier points are clipped).
  const q10 = Math.max(0, Math.floor(r.results[0]!.testCurve.length / 10) - 1);
  const lo = Math.min(...r.results.map((s) => s.testCurve[q10]!).filter(Number.isFinite));
  const hi = Math.max(r.oracle.test, ...r.results.map((s) => Math.max(...s.testCurve)));
  const y = { zero: false, nice: false, domain: [lo, hi] };
  return {
    title: { text: r.benchmark, fontSize: 13 },
    width,
    height,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.18, clip: true },
        encoding: {
          x: { field: 'queries', type: 'quantitative', title: xTitle },
          y: { field: 'lo', type: 'quantitative', scale: y, title: 'test accuracy of the best-by-search-metric architecture' },
          y2: { field: 'hi' },
          color: { field: 'strategy', type: 'nominal' },
        },
      },
      {
        mark: { type: 'line', strokeWidth: 2, clip: true },
        encoding: {
          x: { field: 'queries', type: 'quantitative' },
          y: { field: 'mean', type: 'quantitative', scale: y },
          color: { field: 'strategy', type: 'nominal', title: 'strategy' },
        },
      },
      {
        // The test figure of the table's best-by-search-metric architecture (not an upper bound: a run can exceed it).
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        encoding: { y: { datum: r.oracle.test } },
      },
    ],
  };
}

/** The Vega-Lite specification of a benchmark plot (exported for tests and for users' own rendering). */
export function benchmarkPlotSpec(results: readonly BenchmarkResult[]): Record<string, unknown> {
  const seeds = results[0]?.seeds ?? 0;
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: 'nasx strategy benchmark',
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
  };
  const subtitle = `mean over ${seeds} seeds with a 95% confidence band; dashed: the test figure of the whole table's best-by-search-metric architecture`;
  if (results.length === 1) return { ...base, ...panel(results[0]!, 560, 340), title: { text: results[0]!.benchmark, subtitle, fontSize: 14 } };
  return { ...base, title: { text: 'strategy benchmark', subtitle, fontSize: 14 }, hconcat: results.map((r) => panel(r, 340, 280)) };
}

/** Renders the plot of `results` to `file`: SVG for .svg, PNG for .png. */
export async function plotBenchmark(results: readonly BenchmarkResult[], file: string): Promise<void> {
  const ext = file.toLowerCase().split('.').pop();
  if (ext !== 'svg' && ext !== 'png') {
    throw new RangeError(`Expected a file name ending in .svg or .png for plot but received ${JSON.stringify(file)}`);
  }
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(benchmarkPlotSpec(results) as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  if (ext === 'svg') {
    await writeFileAtomic(file, svg);
    return;
  }
  let sharp: (typeof import('sharp'))['default'];
  try {
    sharp = (await import('sharp')).default;
  } catch (err) {
    throw new NasxError('ERR_NASX_IO', `PNG output needs the sharp package (npm install sharp): ${(err as Error).message}`);
  }
  await writeFileAtomic(file, await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
}
