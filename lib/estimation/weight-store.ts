/**
 * `WeightStore`: trained weights a study keeps so that later candidates can inherit them, bounded in
 * memory. When a new entry does not fit, the entries of lowest score (then the oldest) are evicted
 * first; an entry worse than everything kept and too large for the room left is not kept.
 */
import { checkInteger } from '../errors.js';

interface Entry {
  weights: unknown;
  score: number;
  order: number;
  bytes: number;
}

export interface WeightStoreOptions {
  /** Bytes of weights kept. Default 256 MiB. */
  maxBytes?: number;
}

/** The bytes of typed arrays inside `value` (weights are tensors of Float32Arrays). */
export function weightBytes(value: unknown, depth = 0): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (depth > 4 || typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) n += weightBytes(v, depth + 1);
  return n;
}

export class WeightStore {
  readonly maxBytes: number;
  private readonly entries = new Map<string, Entry>();
  private held = 0;
  private order = 0;
  private evictedCount = 0;

  constructor(options: WeightStoreOptions = {}) {
    this.maxBytes = checkInteger('options.maxBytes', options.maxBytes ?? 2 ** 28, 0);
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries evicted (or refused) for room so far. */
  get evicted(): number {
    return this.evictedCount;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): unknown {
    return this.entries.get(key)?.weights;
  }

  /** Keeps `weights` under `key` (replacing an earlier entry), evicting the worst entries for room. */
  put(key: string, weights: unknown, score: number): boolean {
    this.delete(key);
    const bytes = weightBytes(weights);
    if (bytes > this.maxBytes) {
      this.evictedCount++;
      return false;
    }
    while (this.held + bytes > this.maxBytes) {
      let worst: [string, Entry] | undefined;
      for (const e of this.entries) if (!worst || e[1].score < worst[1].score || (e[1].score === worst[1].score && e[1].order < worst[1].order)) worst = e;
      if (!worst || worst[1].score > score) {
        this.evictedCount++;
        return false;
      }
      this.delete(worst[0]);
      this.evictedCount++;
    }
    this.entries.set(key, { weights, score, order: this.order++, bytes });
    this.held += bytes;
    return true;
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.held -= e.bytes;
    this.entries.delete(key);
  }
}
