/**
 * `StateStore`: the training states a study may continue (promotions), bounded in memory. States
 * beyond `maxMemoryBytes` spill to files in a private temporary directory — the least valuable first
 * (the lowest score, then the oldest) — and come back when asked for; `delete` drops a state the
 * scheduler will not continue. `close()` removes the spill files.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkInteger, NasxError } from '../errors.js';
import type { TrainingState } from '../train.js';

/** A state as the evaluator hands it over: the engine's (typed arrays) or any JSON value (tables). */
export type StoredState = TrainingState | { readonly epochs: number };

interface Entry {
  key: string;
  score: number;
  order: number;
  bytes: number;
  state?: StoredState;
  file?: string;
}

export interface StateStoreOptions {
  /** Bytes of states kept in memory before spilling to disk. Default 1 GiB. */
  maxMemoryBytes?: number;
  /** Where spill files go (a new directory inside it). Default the OS's temporary directory. */
  dir?: string;
}

function isEngineState(s: StoredState): s is TrainingState {
  return (s as TrainingState).params instanceof Float32Array;
}

function sizeOf(s: StoredState): number {
  if (!isEngineState(s)) return 64;
  return s.params.byteLength + s.state.byteLength + s.m.byteLength + s.v.byteLength + 64;
}

// Spill format: a JSON header line, then the four float arrays back to back.
function encode(s: StoredState): Uint8Array {
  if (!isEngineState(s)) return Buffer.from(`${JSON.stringify({ json: s })}\n`);
  const header = Buffer.from(
    `${JSON.stringify({ epochsDone: s.epochsDone, steps: s.steps, rng: Array.from(s.rng), lengths: [s.params.length, s.state.length, s.m.length, s.v.length] })}\n`,
  );
  const parts = [s.params, s.state, s.m, s.v].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return Buffer.concat([header, ...parts]);
}

function decode(bytes: Buffer): StoredState {
  const nl = bytes.indexOf(10);
  const header = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as
    | { json: StoredState }
    | { epochsDone: number; steps: number; rng: number[]; lengths: [number, number, number, number] };
  if ('json' in header) return header.json;
  let offset = nl + 1;
  const take = (n: number) => {
    const a = new Float32Array(n);
    new Uint8Array(a.buffer).set(bytes.subarray(offset, offset + n * 4));
    offset += n * 4;
    return a;
  };
  const [p, st, m, v] = header.lengths;
  return { epochsDone: header.epochsDone, steps: header.steps, rng: Uint32Array.from(header.rng), params: take(p), state: take(st), m: take(m), v: take(v) };
}

export class StateStore {
  readonly maxMemoryBytes: number;
  private readonly entries = new Map<string, Entry>();
  private memory = 0;
  private disk = 0;
  private order = 0;
  private dir: Promise<string> | undefined;
  private readonly base: string;
  private spills = 0;

  constructor(options: StateStoreOptions = {}) {
    this.maxMemoryBytes = checkInteger('options.maxMemoryBytes', options.maxMemoryBytes ?? 2 ** 30, 0);
    this.base = options.dir ?? tmpdir();
  }

  /** Bytes held in memory and on disk, and the number of states. */
  usage(): { memoryBytes: number; diskBytes: number; states: number } {
    return { memoryBytes: this.memory, diskBytes: this.disk, states: this.entries.size };
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Keeps `state` under `key` (replacing an earlier one); `score` orders what spills first. */
  async put(key: string, state: StoredState, score: number | null): Promise<void> {
    await this.delete(key);
    const e: Entry = { key, score: score ?? -Infinity, order: this.order++, bytes: sizeOf(state), state };
    this.entries.set(key, e);
    this.memory += e.bytes;
    await this.spill();
  }

  /** The state under `key`, from memory or disk; undefined when there is none. */
  async get(key: string): Promise<StoredState | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.state) return e.state;
    try {
      return decode(await readFile(e.file!));
    } catch (err) {
      throw new NasxError('ERR_NASX_IO', `Cannot read the spilled training state of ${key} from ${e.file}: ${(err as Error).message}`, { cause: err });
    }
  }

  async delete(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.state) this.memory -= e.bytes;
    if (e.file) {
      this.disk -= e.bytes;
      await rm(e.file, { force: true });
    }
  }

  /** Removes every state and the spill directory. */
  async close(): Promise<void> {
    this.entries.clear();
    this.memory = 0;
    this.disk = 0;
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** Moves the least valuable in-memory states to disk until memory is within the limit. */
  private async spill(): Promise<void> {
    if (this.memory <= this.maxMemoryBytes) return;
    const inMemory = [...this.entries.values()].filter((e) => e.state).sort((a, b) => a.score - b.score || a.order - b.order);
    for (const e of inMemory) {
      if (this.memory <= this.maxMemoryBytes) break;
      this.dir ??= mkdtemp(path.join(this.base, 'nasx-states-'));
      const file = path.join(await this.dir, `${this.spills++}.state`);
      try {
        await writeFile(file, encode(e.state!));
      } catch (err) {
        throw new NasxError('ERR_NASX_IO', `Cannot spill a training state to ${file}: ${(err as Error).message}`, { cause: err });
      }
      e.file = file;
      e.state = undefined;
      this.memory -= e.bytes;
      this.disk += e.bytes;
    }
  }
}
