/**
 * `BracketScheduler`: synchronous successive halving in brackets, and Hyperband as a cycle of
 * brackets of different aggressiveness (Li et al., 2018).
 *
 * A bracket starts n₀ new candidates at its first rung's epochs; when a rung has all its results,
 * the best ⌊nₖ/η⌋ continue training to the next rung's epochs (η times more), until the last rung
 * (maxEpochs). Brackets repeat for as long as the budget lasts; a new bracket opens whenever the open
 * ones have nothing to run, so that batches stay full.
 */
import { NasxError, checkObject } from '../errors.js';
import { checkStrategyOptions } from '../strategies/options.js';
import {
  byScore,
  checkFidelityRange,
  rungEpochs,
  type FidelityRange,
  type Scheduler,
  type SchedulerJob,
  type SchedulerResult,
} from './scheduler.js';

interface BracketShape {
  /** Epochs of each rung. */
  epochs: number[];
  /** Candidates planned at each rung. */
  sizes: number[];
}

interface RungState {
  launched: number;
  results: { hash: string; score: number | null; order: number }[];
  /** Hashes promoted into this rung and not yet issued. */
  pending: string[];
  /** Expected results (rung 0: planned new candidates minus cancelled ones). */
  expected: number;
}

interface BracketState {
  index: number;
  shape: number;
  rung: number;
  rungs: RungState[];
  done: boolean;
}

export type BracketKind = 'sh' | 'hyperband';

export class BracketScheduler implements Scheduler {
  readonly name: BracketKind;
  readonly minEpochs: number;
  readonly maxEpochs: number;
  readonly eta: number;
  private readonly shapes: BracketShape[];
  private brackets: BracketState[] = [];
  private opened = 0;
  private nextId = 0;
  private order = 0;
  /** Hash → [bracket index, rung] of its latest result while that rung is undecided. */
  private readonly undecided = new Map<string, number>();

  constructor(kind: BracketKind, options: Partial<FidelityRange> & { n?: number } = {}) {
    checkObject('options', options);
    const known = { minEpochs: [1, 100000, 1], maxEpochs: [1, 100000, 1], eta: [2, 100, 3] } as const;
    checkStrategyOptions(kind, options, kind === 'sh' ? { ...known, n: [1, 1_000_000, 1] } : known, 'scheduler');
    const r = checkFidelityRange(kind, options);
    this.name = kind;
    this.minEpochs = r.minEpochs;
    this.maxEpochs = r.maxEpochs;
    this.eta = r.eta;
    const all = rungEpochs(r);
    const k = all.length;
    if (kind === 'sh') {
      const n0 = options.n ?? this.eta ** (k - 1);
      this.shapes = [{ epochs: all, sizes: all.map((_, i) => Math.max(1, Math.floor(n0 / this.eta ** i))) }];
    } else {
      // Hyperband: s = s_max … 0; bracket s starts ⌈(s_max+1)/(s+1)·η^s⌉ candidates at rung s_max − s.
      const sMax = k - 1;
      this.shapes = [];
      for (let s = sMax; s >= 0; s--) {
        const n0 = Math.ceil(((sMax + 1) / (s + 1)) * this.eta ** s);
        const epochs = all.slice(sMax - s);
        this.shapes.push({ epochs, sizes: epochs.map((_, i) => Math.max(1, Math.floor(n0 / this.eta ** i))) });
      }
    }
  }

  /** The brackets' planned rungs: epochs and sizes (for reports and tests). */
  plan(): readonly BracketShape[] {
    return this.shapes;
  }

  private open(): BracketState {
    const shape = this.opened % this.shapes.length;
    const s = this.shapes[shape]!;
    const b: BracketState = {
      index: this.opened++,
      shape,
      rung: 0,
      rungs: s.sizes.map((size, i) => ({ launched: 0, results: [], pending: [], expected: i === 0 ? size : 0 })),
      done: false,
    };
    this.brackets.push(b);
    return b;
  }

  next(slots: number): SchedulerJob[] {
    const jobs: SchedulerJob[] = [];
    let fresh = 0;
    while (jobs.length < slots) {
      let issued = false;
      for (const b of this.brackets) {
        if (b.done || jobs.length >= slots) continue;
        const shape = this.shapes[b.shape]!;
        const rung = b.rungs[b.rung]!;
        while (jobs.length < slots) {
          if (b.rung === 0 && rung.launched < rung.expected) {
            jobs.push({ id: this.nextId++, epochs: shape.epochs[0]!, bracket: b.index, rung: 0 });
          } else if (rung.pending.length > 0) {
            jobs.push({ id: this.nextId++, epochs: shape.epochs[b.rung]!, promote: rung.pending.shift()!, bracket: b.index, rung: b.rung });
          } else break;
          rung.launched++;
          issued = true;
        }
      }
      if (jobs.length >= slots) break;
      // Everything open is waiting for results or done: open a bracket (at most one per call that
      // brings nothing else, so that an empty schedule cannot loop).
      if (!issued && fresh > 0) break;
      this.open();
      fresh++;
    }
    this.brackets = this.brackets.filter((b) => !b.done);
    return jobs;
  }

  cancel(job: SchedulerJob): void {
    const b = this.brackets.find((x) => x.index === job.bracket);
    if (!b || job.promote !== undefined) return;
    const rung = b.rungs[job.rung]!;
    rung.expected--;
    rung.launched--;
    this.advance(b);
  }

  report(results: readonly SchedulerResult[]): void {
    for (const r of results) {
      const b = this.brackets.find((x) => x.index === r.job.bracket);
      if (!b) continue;
      b.rungs[r.job.rung]!.results.push({ hash: r.hash, score: r.score, order: this.order++ });
      this.undecided.set(r.hash, b.index);
    }
    for (const b of this.brackets) this.advance(b);
    this.brackets = this.brackets.filter((b) => !b.done);
  }

  /** Moves a bracket on when its current rung has every result: the best go to the next rung. */
  private advance(b: BracketState): void {
    for (;;) {
      const rung = b.rungs[b.rung]!;
      const complete = rung.results.length >= rung.expected && rung.pending.length === 0 && rung.launched >= rung.expected;
      if (!complete || b.done) return;
      const shape = this.shapes[b.shape]!;
      for (const r of rung.results) if (this.undecided.get(r.hash) === b.index) this.undecided.delete(r.hash);
      if (b.rung + 1 >= shape.epochs.length) {
        b.done = true;
        return;
      }
      const best = [...rung.results].filter((r) => r.score !== null).sort(byScore).slice(0, shape.sizes[b.rung + 1]);
      b.rung++;
      const next = b.rungs[b.rung]!;
      next.pending = best.map((r) => r.hash);
      next.expected = next.pending.length;
      if (next.expected === 0) {
        b.done = true;
        return;
      }
      for (const h of next.pending) this.undecided.set(h, b.index);
    }
  }

  promotable(hash: string): boolean {
    return this.undecided.has(hash);
  }

  done(): boolean {
    return false;
  }

  stateDict(): unknown {
    return {
      kind: this.name,
      brackets: this.brackets,
      opened: this.opened,
      nextId: this.nextId,
      order: this.order,
      undecided: [...this.undecided],
    };
  }

  loadStateDict(state: unknown): void {
    const s = state as ReturnType<BracketScheduler['stateDict']> & Record<string, unknown>;
    if (!s || typeof s !== 'object' || s.kind !== this.name) {
      throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `Cannot load a ${String(s?.kind)} scheduler state into ${this.name}`);
    }
    this.brackets = structuredClone(s.brackets as BracketState[]);
    this.opened = s.opened as number;
    this.nextId = s.nextId as number;
    this.order = s.order as number;
    this.undecided.clear();
    for (const [h, b] of s.undecided as [string, number][]) this.undecided.set(h, b);
  }
}
