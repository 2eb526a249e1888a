/**
 * Block coverage of the library, from V8's precise coverage (the inspector's Profiler domain), as a
 * set of features for the fuzzer: a feature is a (function, block range, hit-count bucket).
 *
 * V8 reports a block only when its count differs from its enclosing range (and drops uncovered blocks
 * inside uncovered ones), so the report alone would hide a block that is usually skipped and this time
 * ran exactly as often as its parent. We therefore remember every range ever reported per function and
 * give each known block, per run, the count of the innermost reported range that contains it.
 */
import { Session } from 'node:inspector';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
  isBlockCoverage: boolean;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

/** AFL-style hit-count buckets: 1, 2, 3, 4–7, 8–15, 16–31, 32–127, 128+. */
export function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

/** Blocks of one function: known ranges, as [start, end] pairs. */
interface FunctionBlocks {
  /** Stable id of the function (script url + start offset). */
  id: string;
  starts: number[];
  ends: number[];
  seen: Set<string>;
}

export class CoverageCollector {
  private readonly session = new Session();
  private readonly functions = new Map<string, FunctionBlocks>();
  /** Features (block id · 16 + bucket) seen so far. */
  private readonly features = new Set<string>();
  /** Blocks (function id + range) ever covered. */
  private readonly covered = new Set<string>();
  private readonly include: (url: string) => boolean;

  /** `include` selects the scripts that count (by URL), e.g. the library's sources. */
  constructor(include: (url: string) => boolean) {
    this.include = include;
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  private post(method: string, params: object = {}): unknown {
    // A session connected to the calling thread dispatches synchronously.
    let result: unknown;
    let error: Error | null = null;
    this.session.post(method, params, (err, res) => {
      error = err;
      result = res;
    });
    if (error) throw error;
    return result;
  }

  /** Discards the counts gathered so far (e.g. from loading modules). */
  reset(): void {
    this.post('Profiler.takePreciseCoverage');
  }

  /**
   * The features of the run since the last call; returns how many of them are new (and records
   * them). `commit` false only reports, without recording (not used by the loop, kept for tests).
   */
  collect(commit = true): { fresh: number; features: string[] } {
    const { result } = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const fresh: string[] = [];
    const all: string[] = [];
    for (const script of result) {
      if (!this.include(script.url)) continue;
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        if (ranges.length === 0) continue;
        const id = `${script.url}#${ranges[0]!.startOffset}`;
        let blocks = this.functions.get(id);
        if (!blocks) {
          blocks = { id, starts: [], ends: [], seen: new Set() };
          this.functions.set(id, blocks);
        }
        for (const r of ranges) {
          const key = `${r.startOffset}-${r.endOffset}`;
          if (!blocks.seen.has(key)) {
            blocks.seen.add(key);
            blocks.starts.push(r.startOffset);
            blocks.ends.push(r.endOffset);
          }
        }
        if (ranges[0]!.count === 0) continue;
        for (let b = 0; b < blocks.starts.length; b++) {
          const s = blocks.starts[b]!;
          const e = blocks.ends[b]!;
          // Innermost reported range containing [s, e): the smallest by length.
          let count = -1;
          let width = Infinity;
          for (const r of ranges) {
            if (r.startOffset <= s && e <= r.endOffset && r.endOffset - r.startOffset < width) {
              width = r.endOffset - r.startOffset;
              count = r.count;
            }
          }
          if (count <= 0) continue;
          const block = `${id}:${s}-${e}`;
          const feature = `${block}/${bucket(count)}`;
          all.push(feature);
          if (!this.features.has(feature)) {
            fresh.push(feature);
            if (commit) {
              this.features.add(feature);
              this.covered.add(block);
            }
          }
        }
      }
    }
    return { fresh: fresh.length, features: all };
  }

  /** Distinct blocks (function, range) covered so far. */
  get blocks(): number {
    return this.covered.size;
  }

  /** Distinct (block, bucket) features so far. */
  get featureCount(): number {
    return this.features.size;
  }

  close(): void {
    try {
      this.post('Profiler.stopPreciseCoverage');
      this.post('Profiler.disable');
    } finally {
      this.session.disconnect();
    }
  }
}
