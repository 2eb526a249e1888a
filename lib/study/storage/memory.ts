/**
 * Studies in this process's memory: the same contract as the SQL storages, kept nowhere (the
 * library's default). A transaction works on copies and swaps them in when it resolves, so a throw
 * leaves the study as it was.
 */
import type { Budget, StudyStatus } from '../study.js';
import {
  Serial,
  emptyCounts,
  storageError,
  toJson,
  type FinishedTrial,
  type NewTrial,
  type SerialState,
  type Storage,
  type StorageTx,
  type StudyListing,
  type StudyRecord,
  type TrialRow,
} from './storage.js';

interface Entry {
  record: StudyRecord;
  state: SerialState | undefined;
  trials: TrialRow[];
  blobs: Map<string, Uint8Array>;
}

const clone = <T>(x: T): T => structuredClone(x);
/** As the SQL storages keep it: JSON, non-finite numbers as null. */
const viaJson = <T>(x: T): T => JSON.parse(toJson(x)) as T;

export class MemoryStorage implements Storage {
  readonly kind = 'memory';
  readonly location = ':memory:';
  private readonly studies = new Map<string, Entry>();
  private readonly serial = new Serial();

  private need(name: string): Entry {
    const e = this.studies.get(name);
    if (!e) throw storageError(`There is no study named ${JSON.stringify(name)} in memory`);
    return e;
  }

  async createStudy(record: Omit<StudyRecord, 'createdAt' | 'updatedAt'>): Promise<StudyRecord> {
    return this.serial.run(async () => {
      if (this.studies.has(record.name)) throw storageError(`A study named ${JSON.stringify(record.name)} already exists in memory`);
      const now = Date.now();
      const full = { ...clone(record), createdAt: now, updatedAt: now };
      this.studies.set(record.name, { record: full, state: undefined, trials: [], blobs: new Map() });
      return clone(full);
    });
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    const e = this.studies.get(name);
    return e ? clone(e.record) : undefined;
  }

  async listStudies(): Promise<StudyListing[]> {
    return [...this.studies.values()].map((e) => {
      const trials = emptyCounts();
      let best: number | null = null;
      for (const t of e.trials) {
        trials[t.state]++;
        if (t.state === 'complete' && t.score !== null) best = Math.max(best ?? -Infinity, t.score);
      }
      return { ...clone(e.record), trials, best };
    });
  }

  async trials(name: string): Promise<TrialRow[]> {
    return clone(this.need(name).trials);
  }

  transaction<T>(name: string, fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      const live = this.need(name);
      const work: Entry = { record: clone(live.record), state: clone(live.state), trials: clone(live.trials), blobs: live.blobs };
      const out = await fn(this.tx(work));
      this.studies.set(name, work);
      return out;
    });
  }

  private tx(e: Entry): StorageTx {
    const byId = (id: number) => {
      const t = e.trials[id];
      if (!t) throw storageError(`There is no trial ${id} in study ${JSON.stringify(e.record.name)}`);
      return t;
    };
    return {
      study: e.record,
      readState: async () => clone(e.state),
      writeState: async (s: Omit<SerialState, 'version'>) => {
        e.state = { ...viaJson(s), version: (e.state?.version ?? 0) + 1 };
        e.record.updatedAt = Date.now();
        return e.state.version;
      },
      trials: async (filter = {}) =>
        clone(e.trials.filter((t) => t.id >= (filter.fromId ?? 0) && (!filter.states || filter.states.includes(t.state)))),
      counts: async () => {
        const c = emptyCounts();
        for (const t of e.trials) c[t.state]++;
        return c;
      },
      insertTrials: async (trials: readonly NewTrial[]) => {
        const now = Date.now();
        return trials.map((t) => {
          if (t.state === 'running' && !t.worker) throw storageError(`a running trial needs its worker (${t.hash})`);
          const id = e.trials.length;
          const running = t.state === 'running';
          e.trials.push({
            id,
            hash: t.hash,
            arch: clone(t.arch),
            fidelity: clone(t.fidelity),
            state: t.state,
            worker: running ? t.worker! : null,
            heartbeat: running ? now : null,
            result: null,
            intermediate: [],
            score: null,
            parent: t.parent ?? null,
            promotedFrom: t.promotedFrom ?? null,
            createdAt: now,
            startedAt: running ? now : null,
            finishedAt: null,
          });
          return id;
        });
      },
      finishTrials: async (trials: readonly FinishedTrial[]) => {
        const now = Date.now();
        for (const f of trials) Object.assign(byId(f.id), { state: f.state, score: f.score !== null && Number.isFinite(f.score) ? f.score : null, result: viaJson(f.result), finishedAt: now });
      },
      requeue: async (ids: readonly number[]) => {
        for (const id of ids) Object.assign(byId(id), { state: 'pending', worker: null, heartbeat: null, startedAt: null });
      },
      claim: async (worker: string, limit: number, staleBefore: number) => {
        const now = Date.now();
        const out: TrialRow[] = [];
        for (const t of e.trials) {
          if (out.length >= limit) break;
          if (t.state === 'pending' || (t.state === 'running' && (t.heartbeat === null || t.heartbeat < staleBefore))) {
            Object.assign(t, { state: 'running', worker, heartbeat: now, startedAt: now });
            out.push(clone(t));
          }
        }
        return out;
      },
      setStatus: async (status: StudyStatus, budget?: Budget) => {
        e.record.status = status;
        if (budget) e.record.budget = clone(budget);
        e.record.updatedAt = Date.now();
      },
    };
  }

  async heartbeat(name: string, worker: string, ids: readonly number[]): Promise<void> {
    const e = this.need(name);
    const now = Date.now();
    for (const id of ids) {
      const t = e.trials[id];
      if (t && t.worker === worker && t.state === 'running') t.heartbeat = now;
    }
  }

  async reportIntermediate(name: string, id: number, values: readonly (number | null)[]): Promise<void> {
    const t = this.need(name).trials[id];
    if (t && t.state === 'running') t.intermediate = [...values];
  }

  async putBlob(name: string, key: string, bytes: Uint8Array): Promise<void> {
    this.need(name).blobs.set(key, new Uint8Array(bytes));
  }

  async getBlob(name: string, key: string): Promise<Uint8Array | undefined> {
    const b = this.need(name).blobs.get(key);
    return b ? new Uint8Array(b) : undefined;
  }

  async deleteBlob(name: string, key: string): Promise<void> {
    this.need(name).blobs.delete(key);
  }

  async deleteStudy(name: string): Promise<boolean> {
    return this.studies.delete(name);
  }

  async close(): Promise<void> {
    this.studies.clear();
  }
}
