/**
 * Where a study lives: its settings, its trials (pending → running → complete / failed / pruned, with
 * their results, intermediate values, worker and heartbeat), the serial state of its strategy and
 * scheduler (their `stateDict` after every ask and tell) and blobs (weights, training states).
 *
 * The Study talks only to a `Storage`. Three implementations share this contract: `MemoryStorage`
 * (one process, nothing kept), `SqliteStorage` (a file; one process runs a study at a time) and
 * `PostgresStorage` (workers on many machines). The two SQL ones share one schema and one list of
 * migrations (below) and their statements.
 *
 * Every change happens inside `transaction(study, fn)`, which holds the study's serial state locked
 * (SQLite: the database's write lock; PostgreSQL: the study row `FOR UPDATE`), so that asks and tells
 * are serial across processes, and a crash at any instant leaves what the last committed transaction
 * wrote.
 */
import { NasxError } from '../../errors.js';
import type { Fidelity } from '../../evaluators/evaluator.js';
import type { Budget, StudyStatus } from '../study.js';

export type TrialState = 'pending' | 'running' | 'complete' | 'failed' | 'pruned';
export const TRIAL_STATES: readonly TrialState[] = ['pending', 'running', 'complete', 'failed', 'pruned'];
export const FINISHED_STATES: readonly TrialState[] = ['complete', 'failed', 'pruned'];

/** The schema version this nasx writes; a database at a newer one is refused. */
export const SCHEMA_VERSION = 1;

export interface StudyRecord {
  name: string;
  /** The search space's name. */
  space: string;
  /** The strategy's name. */
  strategy: string;
  seed: number;
  budget: Budget;
  /** The rest of the settings the study was created with (JSON): to recreate and check it on resume. */
  options: Record<string, unknown>;
  status: StudyStatus;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

/** A study with its trial counts and best score, as `listStudies` gives it. */
export interface StudyListing extends StudyRecord {
  trials: Record<TrialState, number>;
  best: number | null;
}

/** What must stay serial: the strategy's and the scheduler's state dicts and the loop's counters. */
export interface SerialState {
  strategy: unknown;
  scheduler: unknown;
  counters: Record<string, number>;
  /** Incremented by every write: a process whose copy is older reloads. */
  version: number;
}

export interface TrialRow {
  /** 0-based within the study, in the order trials were created. */
  id: number;
  hash: string;
  arch: unknown;
  fidelity: Fidelity;
  state: TrialState;
  /** The worker running (or that ran) it: "host:pid:random". */
  worker: string | null;
  /** When its worker last said it is alive (ms since the epoch). */
  heartbeat: number | null;
  /** The finished trial as the Study records it (JSON), once finished. */
  result: Record<string, unknown> | null;
  /** Score after each epoch so far, reported while it runs. */
  intermediate: (number | null)[];
  score: number | null;
  /** The trial whose weights it started from (inheritance), or that it continues (a promotion). */
  parent: number | null;
  promotedFrom: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface NewTrial {
  hash: string;
  arch: unknown;
  fidelity: Fidelity;
  state: 'pending' | 'running';
  /** Required when running. */
  worker?: string;
  parent?: number | null;
  promotedFrom?: number | null;
}

export interface FinishedTrial {
  id: number;
  state: 'complete' | 'failed' | 'pruned';
  score: number | null;
  result: Record<string, unknown>;
}

/** The operations of one transaction on one study (see `Storage.transaction`). */
export interface StorageTx {
  readonly study: StudyRecord;
  /** The serial state; undefined before the first write. */
  readState(): Promise<SerialState | undefined>;
  /** Writes the serial state; returns its new version. */
  writeState(state: Omit<SerialState, 'version'>): Promise<number>;
  /** Trials in id order, optionally only those in `states` and with id ≥ `fromId`. */
  trials(filter?: { states?: readonly TrialState[]; fromId?: number }): Promise<TrialRow[]>;
  /** Counts of trials by state. */
  counts(): Promise<Record<TrialState, number>>;
  /** Adds trials; returns their ids. */
  insertTrials(trials: readonly NewTrial[]): Promise<number[]>;
  finishTrials(trials: readonly FinishedTrial[]): Promise<void>;
  /** Puts trials back to pending, with no worker (interrupted before they finished). */
  requeue(ids: readonly number[]): Promise<void>;
  /**
   * Claims for `worker` up to `limit` trials, in id order, that are pending or running with a
   * heartbeat older than `staleBefore` (ms since the epoch; a dead worker's), and returns them as
   * running (heartbeat now). PostgreSQL: `FOR UPDATE SKIP LOCKED`.
   */
  claim(worker: string, limit: number, staleBefore: number): Promise<TrialRow[]>;
  setStatus(status: StudyStatus, budget?: Budget): Promise<void>;
}

export interface Storage {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Where it is (a file, a URL without its password, or ":memory:"). */
  readonly location: string;
  /** Creates a study; ERR_NASX_STORAGE when one of that name exists. */
  createStudy(record: Omit<StudyRecord, 'createdAt' | 'updatedAt'>): Promise<StudyRecord>;
  getStudy(name: string): Promise<StudyRecord | undefined>;
  listStudies(): Promise<StudyListing[]>;
  /** Every trial of a study, in id order. */
  trials(name: string): Promise<TrialRow[]>;
  /**
   * Runs `fn` in one transaction with the study's serial state locked; commits when it resolves,
   * rolls back when it throws (and rethrows). Transactions of one Storage never interleave.
   */
  transaction<T>(name: string, fn: (tx: StorageTx) => Promise<T>): Promise<T>;
  /** Refreshes the heartbeat of `worker`'s running trials `ids` (no study lock). */
  heartbeat(name: string, worker: string, ids: readonly number[]): Promise<void>;
  /** Records a running trial's score after each epoch so far (no study lock). */
  reportIntermediate(name: string, id: number, values: readonly (number | null)[]): Promise<void>;
  putBlob(name: string, key: string, bytes: Uint8Array): Promise<void>;
  getBlob(name: string, key: string): Promise<Uint8Array | undefined>;
  deleteBlob(name: string, key: string): Promise<void>;
  /**
   * Where only one process may run a study at a time (SQLite): makes `worker` its owner, or throws
   * ERR_NASX_STORAGE naming the live owner. The owner keeps it by `heartbeat` and gives it up by
   * `releaseStudy`; an owner whose process is gone (same host) or whose heartbeat is older than
   * `staleBefore` is replaced. Absent where many workers share a study (PostgreSQL).
   */
  acquireStudy?(name: string, worker: string, staleBefore: number): Promise<void>;
  releaseStudy?(name: string, worker: string): Promise<void>;
  /** Removes a study with its trials and blobs; false when there was none. */
  deleteStudy(name: string): Promise<boolean>;
  close(): Promise<void>;
}

/** What a study's name may be (it names the study on the command line and in the database). */
export const STUDY_NAME_RULE = 'letters, digits, ".", "_" and "-" (at most 128, starting with a letter or digit)';
export function isStudyName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name);
}

export function storageError(message: string, cause?: unknown): NasxError {
  return new NasxError('ERR_NASX_STORAGE', message, cause === undefined ? undefined : { cause });
}

export function emptyCounts(): Record<TrialState, number> {
  return { pending: 0, running: 0, complete: 0, failed: 0, pruned: 0 };
}

// ---------------------------------------------------------------------------------------------------
// The SQL schema, its migrations and statements, shared by SQLite and PostgreSQL. Statements use `?`
// placeholders (PostgreSQL's implementation numbers them). JSON is stored as TEXT in both.

export type Dialect = 'sqlite' | 'postgres';

const TYPES: Record<Dialect, Record<'ID' | 'BLOB' | 'FLOAT', string>> = {
  sqlite: { ID: 'INTEGER PRIMARY KEY', BLOB: 'BLOB', FLOAT: 'DOUBLE PRECISION' },
  postgres: { ID: 'BIGSERIAL PRIMARY KEY', BLOB: 'BYTEA', FLOAT: 'DOUBLE PRECISION' },
};

/**
 * Migration n takes the schema from version n − 1 to n. Appended to, never edited: a database
 * records the version it is at (nasx_meta.schema_version).
 */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE IF NOT EXISTS nasx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE nasx_studies (
       id {ID},
       name TEXT NOT NULL UNIQUE,
       space TEXT NOT NULL,
       strategy TEXT NOT NULL,
       seed BIGINT NOT NULL,
       budget TEXT NOT NULL,
       options TEXT NOT NULL,
       status TEXT NOT NULL,
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL,
       strategy_state TEXT,
       scheduler_state TEXT,
       counters TEXT,
       state_version BIGINT NOT NULL DEFAULT 0,
       owner TEXT,
       owner_heartbeat BIGINT
     )`,
    `CREATE TABLE nasx_trials (
       study_id BIGINT NOT NULL REFERENCES nasx_studies(id) ON DELETE CASCADE,
       id BIGINT NOT NULL,
       hash TEXT NOT NULL,
       arch TEXT NOT NULL,
       fidelity TEXT NOT NULL,
       state TEXT NOT NULL,
       worker TEXT,
       heartbeat BIGINT,
       result TEXT,
       intermediate TEXT NOT NULL DEFAULT '[]',
       score {FLOAT},
       parent BIGINT,
       promoted_from BIGINT,
       created_at BIGINT NOT NULL,
       started_at BIGINT,
       finished_at BIGINT,
       PRIMARY KEY (study_id, id)
     )`,
    `CREATE INDEX nasx_trials_by_state ON nasx_trials (study_id, state, id)`,
    `CREATE TABLE nasx_blobs (
       study_id BIGINT NOT NULL REFERENCES nasx_studies(id) ON DELETE CASCADE,
       key TEXT NOT NULL,
       bytes {BLOB} NOT NULL,
       PRIMARY KEY (study_id, key)
     )`,
  ],
];
if (MIGRATIONS.length !== SCHEMA_VERSION) throw new Error('every schema version needs its migration');

/** The statements of migration `version` (1-based) for a dialect. */
export function migrationStatements(version: number, dialect: Dialect): string[] {
  const types = TYPES[dialect];
  return MIGRATIONS[version - 1]!.map((sql) => sql.replace(/\{(ID|BLOB|FLOAT)\}/g, (_, k: 'ID' | 'BLOB' | 'FLOAT') => types[k]));
}

/** The error for a database whose schema is newer than this nasx's. */
export function newerSchemaError(location: string, found: number): NasxError {
  return storageError(
    `${location} holds a nasx study database at schema version ${found}, newer than this nasx's (${SCHEMA_VERSION}): upgrade nasx to open it`,
  );
}

/** The statements both SQL implementations run (with `?` placeholders). */
export const SQL = {
  schemaVersion: `SELECT value FROM nasx_meta WHERE key = 'schema_version'`,
  setSchemaVersion: `UPDATE nasx_meta SET value = ? WHERE key = 'schema_version'`,
  insertSchemaVersion: `INSERT INTO nasx_meta (key, value) VALUES ('schema_version', ?)`,
  insertStudy: `INSERT INTO nasx_studies (name, space, strategy, seed, budget, options, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  study: `SELECT * FROM nasx_studies WHERE name = ?`,
  studies: `SELECT * FROM nasx_studies ORDER BY created_at, id`,
  studyCounts: `SELECT study_id, state, COUNT(*) AS n, MAX(score) AS best FROM nasx_trials GROUP BY study_id, state`,
  deleteStudy: `DELETE FROM nasx_studies WHERE id = ?`,
  deleteStudyTrials: `DELETE FROM nasx_trials WHERE study_id = ?`,
  deleteStudyBlobs: `DELETE FROM nasx_blobs WHERE study_id = ?`,
  setStatus: `UPDATE nasx_studies SET status = ?, updated_at = ? WHERE id = ?`,
  setStatusBudget: `UPDATE nasx_studies SET status = ?, budget = ?, updated_at = ? WHERE id = ?`,
  readState: `SELECT strategy_state, scheduler_state, counters, state_version FROM nasx_studies WHERE id = ?`,
  writeState: `UPDATE nasx_studies SET strategy_state = ?, scheduler_state = ?, counters = ?, state_version = state_version + 1, updated_at = ?
               WHERE id = ?`,
  stateVersion: `SELECT state_version FROM nasx_studies WHERE id = ?`,
  trials: `SELECT * FROM nasx_trials WHERE study_id = ? AND id >= ? ORDER BY id`,
  counts: `SELECT state, COUNT(*) AS n FROM nasx_trials WHERE study_id = ? GROUP BY state`,
  nextTrialId: `SELECT COALESCE(MAX(id) + 1, 0) AS next FROM nasx_trials WHERE study_id = ?`,
  insertTrial: `INSERT INTO nasx_trials (study_id, id, hash, arch, fidelity, state, worker, heartbeat, parent, promoted_from, created_at, started_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  finishTrial: `UPDATE nasx_trials SET state = ?, score = ?, result = ?, finished_at = ? WHERE study_id = ? AND id = ?`,
  requeue: `UPDATE nasx_trials SET state = 'pending', worker = NULL, heartbeat = NULL, started_at = NULL WHERE study_id = ? AND id = ?`,
  claimable: `SELECT id FROM nasx_trials WHERE study_id = ? AND (state = 'pending' OR (state = 'running' AND (heartbeat IS NULL OR heartbeat < ?)))
              ORDER BY id LIMIT ?`,
  claimOne: `UPDATE nasx_trials SET state = 'running', worker = ?, heartbeat = ?, started_at = ? WHERE study_id = ? AND id = ?`,
  heartbeat: `UPDATE nasx_trials SET heartbeat = ? WHERE study_id = ? AND id = ? AND worker = ? AND state = 'running'`,
  intermediate: `UPDATE nasx_trials SET intermediate = ? WHERE study_id = ? AND id = ? AND state = 'running'`,
  owner: `SELECT owner, owner_heartbeat FROM nasx_studies WHERE id = ?`,
  setOwner: `UPDATE nasx_studies SET owner = ?, owner_heartbeat = ? WHERE id = ?`,
  ownerHeartbeat: `UPDATE nasx_studies SET owner_heartbeat = ? WHERE id = ? AND owner = ?`,
  release: `UPDATE nasx_studies SET owner = NULL, owner_heartbeat = NULL WHERE id = ? AND owner = ?`,
  putBlob: `INSERT INTO nasx_blobs (study_id, key, bytes) VALUES (?, ?, ?) ON CONFLICT (study_id, key) DO UPDATE SET bytes = excluded.bytes`,
  getBlob: `SELECT bytes FROM nasx_blobs WHERE study_id = ? AND key = ?`,
  deleteBlob: `DELETE FROM nasx_blobs WHERE study_id = ? AND key = ?`,
} as const;

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const json = (v: unknown, fallback: unknown = null): unknown => (v === null || v === undefined ? fallback : JSON.parse(String(v)));

/** A row of nasx_studies as a record. */
export function studyFromRow(row: Row): StudyRecord {
  return {
    name: String(row.name),
    space: String(row.space),
    strategy: String(row.strategy),
    seed: Number(row.seed),
    budget: json(row.budget) as Budget,
    options: json(row.options, {}) as Record<string, unknown>,
    status: String(row.status) as StudyStatus,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** A row of nasx_trials as a trial row. */
export function trialFromRow(row: Row): TrialRow {
  return {
    id: Number(row.id),
    hash: String(row.hash),
    arch: json(row.arch),
    fidelity: json(row.fidelity, {}) as Fidelity,
    state: String(row.state) as TrialState,
    worker: row.worker === null || row.worker === undefined ? null : String(row.worker),
    heartbeat: num(row.heartbeat),
    result: json(row.result) as Record<string, unknown> | null,
    intermediate: json(row.intermediate, []) as (number | null)[],
    score: num(row.score),
    parent: num(row.parent),
    promotedFrom: num(row.promoted_from),
    createdAt: Number(row.created_at),
    startedAt: num(row.started_at),
    finishedAt: num(row.finished_at),
  };
}

/** The serial-state columns of nasx_studies as a state, undefined before the first write. */
export function stateFromRow(row: Row): SerialState | undefined {
  if (row.strategy_state === null || row.strategy_state === undefined) return undefined;
  return {
    strategy: json(row.strategy_state),
    scheduler: json(row.scheduler_state),
    counters: json(row.counters, {}) as Record<string, number>,
    version: Number(row.state_version),
  };
}

/** The parameters of SQL.insertStudy. */
export function studyParams(r: Omit<StudyRecord, 'createdAt' | 'updatedAt'>, now: number): unknown[] {
  return [r.name, r.space, r.strategy, r.seed, JSON.stringify(r.budget), JSON.stringify(r.options), r.status, now, now];
}

/** The parameters of SQL.insertTrial. */
export function trialParams(studyId: number, id: number, t: NewTrial, now: number): unknown[] {
  if (t.state === 'running' && !t.worker) throw storageError(`a running trial needs its worker (trial ${id}, ${t.hash})`);
  return [
    studyId,
    id,
    t.hash,
    JSON.stringify(t.arch),
    JSON.stringify(t.fidelity),
    t.state,
    t.state === 'running' ? t.worker! : null,
    t.state === 'running' ? now : null,
    t.parent ?? null,
    t.promotedFrom ?? null,
    now,
    t.state === 'running' ? now : null,
  ];
}

/** JSON as the storages keep it (JSON.stringify writes NaN and ±Infinity as null). */
export const toJson = (value: unknown): string => JSON.stringify(value);

/** A worker's id: host, process id and a random suffix (a restarted process is a new worker). */
export function workerId(host: string, pid: number): string {
  return `${host}:${pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** Runs async jobs one at a time, in the order given (a Storage's transactions never interleave). */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
