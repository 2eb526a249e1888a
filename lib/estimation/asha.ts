/**
 * `Asha`: asynchronous successive halving (Li et al., 2020). Rungs at minEpochs·ηᵏ; whenever a slot
 * is free it takes the highest-rung promotable result — one in the top ⌊n/η⌋ of its rung's n results
 * and not yet promoted — and continues it to the next rung, or else starts a new candidate at the
 * first rung. Nothing waits for a rung to fill, so candidates that finish at different times keep
 * every slot busy.
 */
import { NasxError, checkObject } from '../errors.js';
import { checkStrategyOptions } from '../strategies/options.js';
import { byScore, checkFidelityRange, rungEpochs, type Scheduler, type SchedulerJob, type SchedulerResult } from './scheduler.js';

interface Entry {
  hash: string;
  score: number | null;
  order: number;
}

export class Asha implements Scheduler {
  readonly name = 'asha';
  readonly minEpochs: number;
  readonly maxEpochs: number;
  readonly eta: number;
  private readonly epochs: number[];
  /** Results per rung. */
  private rungs: Entry[][];
  /** Hashes promoted out of each rung (issued or done). */
  private promoted: Set<string>[];
  private nextId = 0;
  private order = 0;

  constructor(options: { minEpochs?: number; maxEpochs?: number; eta?: number } = {}) {
    checkObject('options', options);
    checkStrategyOptions('asha', options, { minEpochs: [1, 100000, 1], maxEpochs: [1, 100000, 1], eta: [2, 100, 3] }, 'scheduler');
    const r = checkFidelityRange('asha', options);
    this.minEpochs = r.minEpochs;
    this.maxEpochs = r.maxEpochs;
    this.eta = r.eta;
    this.epochs = rungEpochs(r);
    this.rungs = this.epochs.map(() => []);
    this.promoted = this.epochs.map(() => new Set<string>());
  }

  /** The rungs' epochs. */
  rungsEpochs(): readonly number[] {
    return this.epochs;
  }

  /** The next promotable result of rung k, best first, or undefined. */
  private candidate(k: number): Entry | undefined {
    const rung = this.rungs[k]!;
    const top = Math.floor(rung.length / this.eta);
    if (top === 0) return undefined;
    const ranked = rung.filter((e) => e.score !== null).sort(byScore).slice(0, top);
    return ranked.find((e) => !this.promoted[k]!.has(e.hash));
  }

  next(slots: number): SchedulerJob[] {
    const jobs: SchedulerJob[] = [];
    for (let s = 0; s < slots; s++) {
      let job: SchedulerJob | undefined;
      for (let k = this.epochs.length - 2; k >= 0 && !job; k--) {
        const c = this.candidate(k);
        if (c) {
          this.promoted[k]!.add(c.hash);
          job = { id: this.nextId++, epochs: this.epochs[k + 1]!, promote: c.hash, bracket: 0, rung: k + 1 };
        }
      }
      jobs.push(job ?? { id: this.nextId++, epochs: this.epochs[0]!, bracket: 0, rung: 0 });
    }
    return jobs;
  }

  cancel(): void {}

  report(results: readonly SchedulerResult[]): void {
    for (const r of results) this.rungs[r.job.rung]!.push({ hash: r.hash, score: r.score, order: this.order++ });
  }

  /**
   * A result below the top rung may become promotable later (as its rung fills, ⌊n/η⌋ grows), unless
   * it was already promoted or failed.
   */
  promotable(hash: string): boolean {
    for (let k = 0; k < this.epochs.length - 1; k++) {
      const e = this.rungs[k]!.find((x) => x.hash === hash);
      if (e && e.score !== null && !this.promoted[k]!.has(hash)) return true;
    }
    return false;
  }

  done(): boolean {
    return false;
  }

  stateDict(): unknown {
    return { kind: 'asha', rungs: this.rungs, promoted: this.promoted.map((p) => [...p]), nextId: this.nextId, order: this.order };
  }

  loadStateDict(state: unknown): void {
    const s = state as { kind?: string; rungs: Entry[][]; promoted: string[][]; nextId: number; order: number };
    if (!s || s.kind !== 'asha' || s.rungs.length !== this.epochs.length) {
      throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `Cannot load a ${String(s?.kind)} scheduler state into asha with ${this.epochs.length} rungs`);
    }
    this.rungs = structuredClone(s.rungs);
    this.promoted = s.promoted.map((p) => new Set(p));
    this.nextId = s.nextId;
    this.order = s.order;
  }
}
