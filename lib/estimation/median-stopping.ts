/**
 * `MedianStopping`: learning-curve early stopping for a plain search loop (the median stopping rule of
 * Google Vizier, Golovin et al., 2017). Every candidate is meant to train to maxEpochs; it trains in
 * steps (to minEpochs·ηᵏ epochs, continuing its state each time), and at each step it stops when its
 * score at that epoch is below the median score at the same epoch of the trials that completed,
 * once at least `minCompleted` have.
 */
import { NasxError, checkObject } from '../errors.js';
import { checkStrategyOptions } from '../strategies/options.js';
import { checkFidelityRange, rungEpochs, type Scheduler, type SchedulerJob, type SchedulerResult } from './scheduler.js';

export class MedianStopping implements Scheduler {
  readonly name = 'median';
  readonly minEpochs: number;
  readonly maxEpochs: number;
  readonly minCompleted: number;
  private readonly checkpoints: number[];
  /** Curves (score after each epoch) of the trials that reached maxEpochs. */
  private completed: (number | null)[][] = [];
  /** Trials to continue, with the checkpoint (index) they go to next. */
  private queue: { hash: string; checkpoint: number }[] = [];
  private running = new Set<string>();
  private nextId = 0;

  constructor(options: { minEpochs?: number; maxEpochs?: number; eta?: number; minCompleted?: number } = {}) {
    checkObject('options', options);
    checkStrategyOptions(
      'median',
      options,
      { minEpochs: [1, 100000, 1], maxEpochs: [1, 100000, 1], eta: [2, 100, 3], minCompleted: [1, 100000, 5] },
      'scheduler',
    );
    const r = checkFidelityRange('median', options);
    this.minEpochs = r.minEpochs;
    this.maxEpochs = r.maxEpochs;
    this.minCompleted = options.minCompleted ?? 5;
    this.checkpoints = rungEpochs(r);
  }

  next(slots: number): SchedulerJob[] {
    const jobs: SchedulerJob[] = [];
    while (jobs.length < slots && this.queue.length > 0) {
      const { hash, checkpoint } = this.queue.shift()!;
      jobs.push({ id: this.nextId++, epochs: this.checkpoints[checkpoint]!, promote: hash, bracket: 0, rung: checkpoint });
    }
    while (jobs.length < slots) jobs.push({ id: this.nextId++, epochs: this.checkpoints[0]!, bracket: 0, rung: 0 });
    return jobs;
  }

  cancel(): void {}

  /** The median over completed trials of the score after `epoch` epochs, or undefined before enough completed. */
  private median(epoch: number): number | undefined {
    if (this.completed.length < this.minCompleted) return undefined;
    const values = this.completed.map((c) => c[epoch - 1] ?? -Infinity).sort((a, b) => a - b);
    const n = values.length;
    return n % 2 ? values[(n - 1) / 2]! : (values[n / 2 - 1]! + values[n / 2]!) / 2;
  }

  report(results: readonly SchedulerResult[]): void {
    for (const r of results) {
      this.running.delete(r.hash);
      const k = r.job.rung;
      if (r.score === null) continue;
      if (k === this.checkpoints.length - 1) {
        this.completed.push([...(r.curve ?? [])]);
        continue;
      }
      const epoch = this.checkpoints[k]!;
      const m = this.median(epoch);
      const value = r.curve?.[epoch - 1] ?? r.score;
      if (m === undefined || value === null || value >= m) {
        this.queue.push({ hash: r.hash, checkpoint: k + 1 });
        this.running.add(r.hash);
      }
    }
  }

  promotable(hash: string): boolean {
    return this.running.has(hash);
  }

  done(): boolean {
    return false;
  }

  stateDict(): unknown {
    return { kind: 'median', completed: this.completed, queue: this.queue, running: [...this.running], nextId: this.nextId };
  }

  loadStateDict(state: unknown): void {
    const s = state as { kind?: string; completed: (number | null)[][]; queue: { hash: string; checkpoint: number }[]; running: string[]; nextId: number };
    if (!s || s.kind !== 'median') throw new NasxError('ERR_NASX_INVALID_ARGUMENT', `Cannot load a ${String(s?.kind)} scheduler state into median`);
    this.completed = structuredClone(s.completed);
    this.queue = structuredClone(s.queue);
    this.running = new Set(s.running);
    this.nextId = s.nextId;
  }
}
