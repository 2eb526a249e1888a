/**
 * Studies in one SQLite file (better-sqlite3): WAL journal, every change in a `BEGIN IMMEDIATE`
 * transaction. By default `synchronous = NORMAL`: a killed process loses nothing it committed and the
 * file is consistent after any crash, but a power cut or an operating-system crash may lose the last
 * transactions (their trials are run again on resume); `synchronous: 'full'` makes every commit
 * survive a power cut too, at the cost of a flush to disk per commit (milliseconds each). One process
 * runs a study at a time (`acquireStudy`); others may read it (`nasx studies`) while it runs. Another
 * process holding the write lock for longer than `busyTimeoutMs` is an ERR_NASX_STORAGE error that
 * says so, not a retry storm.
 */
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import type { Budget, StudyStatus } from '../study.js';
import {
  SCHEMA_VERSION,
  SQL,
  Serial,
  emptyCounts,
  migrationStatements,
  newerSchemaError,
  stateFromRow,
  storageError,
  studyFromRow,
  studyParams,
  toJson,
  trialFromRow,
  trialParams,
  type FinishedTrial,
  type NewTrial,
  type SerialState,
  type Storage,
  type StorageTx,
  type StudyListing,
  type StudyRecord,
  type TrialRow,
  type TrialState,
} from './storage.js';

type Row = Record<string, unknown>;
const require = createRequire(import.meta.url);

export interface SqliteStorageOptions {
  /** How long to wait for another process's write lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** "normal" (default) or "full": see above. */
  synchronous?: 'normal' | 'full';
}

/** Whether a worker id ("host:pid:…") names a process on this host that has exited. */
export function deadOnThisHost(worker: string): boolean {
  const [host, pid] = worker.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class SqliteStorage implements Storage {
  readonly kind = 'sqlite';
  private readonly serial = new Serial();
  private closed = false;

  private constructor(
    readonly location: string,
    private readonly db: BetterSqlite3.Database,
    /** The write-lock wait the connection was opened with (ms), named in errors. */
    private readonly busy: number,
  ) {}

  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  /** A prepared statement, prepared once (preparing costs more than running most of them). */
  private stmt(sql: string): BetterSqlite3.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  /** Opens (creating it and its directory when missing) and migrates a study database. */
  static async open(file: string, options: SqliteStorageOptions = {}): Promise<SqliteStorage> {
    if (typeof file !== 'string' || file.length === 0) throw storageError(`Expected a database file name but received ${JSON.stringify(file)}`);
    const busy = options.busyTimeoutMs ?? 5000;
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') throw storageError(`Expected options.synchronous to be "normal" or "full" but received ${JSON.stringify(synchronous)}`);
    let Database: typeof BetterSqlite3;
    try {
      Database = require('better-sqlite3') as typeof BetterSqlite3;
    } catch (err) {
      throw storageError(`better-sqlite3 could not be loaded (${(err as Error).message}); reinstall nasx with a C++ compiler available`, err);
    }
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: BetterSqlite3.Database;
    try {
      db = new Database(file, { timeout: busy });
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
    } catch (err) {
      throw sqliteError(file, err, busy);
    }
    const storage = new SqliteStorage(file, db, busy);
    try {
      storage.migrate();
    } catch (err) {
      db.close();
      throw err;
    }
    return storage;
  }

  private migrate(): void {
    this.write(() => {
      this.db.exec(migrationStatements(1, 'sqlite')[0]!);
      const row = this.stmt(SQL.schemaVersion).get() as Row | undefined;
      const at = row ? Number(row.value) : 0;
      if (at > SCHEMA_VERSION) throw newerSchemaError(this.location, at);
      for (let v = at + 1; v <= SCHEMA_VERSION; v++) {
        for (const sql of migrationStatements(v, 'sqlite')) if (!(v === 1 && sql.includes('nasx_meta'))) this.db.exec(sql);
      }
      if (!row) this.stmt(SQL.insertSchemaVersion).run(String(SCHEMA_VERSION));
      else if (at < SCHEMA_VERSION) this.stmt(SQL.setSchemaVersion).run(String(SCHEMA_VERSION));
    });
  }

  /** Runs `body` in a BEGIN IMMEDIATE transaction (synchronously). */
  private write<T>(body: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw sqliteError(this.location, err, this.busy);
    }
    try {
      const out = body();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private check(): void {
    if (this.closed) throw storageError(`${this.location} is closed`);
  }

  private studyId(name: string): { id: number; record: StudyRecord } | undefined {
    const row = this.stmt(SQL.study).get(name) as Row | undefined;
    return row ? { id: Number(row.id), record: studyFromRow(row) } : undefined;
  }

  private need(name: string): { id: number; record: StudyRecord } {
    const s = this.studyId(name);
    if (!s) throw storageError(`There is no study named ${JSON.stringify(name)} in ${this.location}`);
    return s;
  }

  createStudy(record: Omit<StudyRecord, 'createdAt' | 'updatedAt'>): Promise<StudyRecord> {
    return this.serial.run(async () => {
      this.check();
      return this.write(() => {
        if (this.studyId(record.name)) throw storageError(`A study named ${JSON.stringify(record.name)} already exists in ${this.location}`);
        const now = Date.now();
        this.stmt(SQL.insertStudy).run(...studyParams(record, now));
        return { ...record, createdAt: now, updatedAt: now };
      });
    });
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    this.check();
    return this.studyId(name)?.record;
  }

  async listStudies(): Promise<StudyListing[]> {
    this.check();
    const counts = new Map<number, { trials: Record<TrialState, number>; best: number | null }>();
    for (const r of this.stmt(SQL.studyCounts).all() as Row[]) {
      const id = Number(r.study_id);
      const c = counts.get(id) ?? { trials: emptyCounts(), best: null };
      c.trials[String(r.state) as TrialState] = Number(r.n);
      if (r.state === 'complete' && r.best !== null) c.best = Math.max(c.best ?? -Infinity, Number(r.best));
      counts.set(id, c);
    }
    return (this.stmt(SQL.studies).all() as Row[]).map((r) => ({ ...studyFromRow(r), ...(counts.get(Number(r.id)) ?? { trials: emptyCounts(), best: null }) }));
  }

  async trials(name: string): Promise<TrialRow[]> {
    this.check();
    const { id } = this.need(name);
    return (this.stmt(SQL.trials).all(id, 0) as Row[]).map(trialFromRow);
  }

  transaction<T>(name: string, fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      this.check();
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        throw sqliteError(this.location, err, this.busy);
      }
      try {
        const { id, record } = this.need(name);
        const out = await fn(this.tx(id, record));
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  private tx(studyId: number, study: StudyRecord): StorageTx {
    return {
      study,
      readState: async () => stateFromRow(this.stmt(SQL.readState).get(studyId) as Row),
      writeState: async (s: Omit<SerialState, 'version'>) => {
        this.stmt(SQL.writeState).run(toJson(s.strategy), toJson(s.scheduler ?? null), toJson(s.counters), Date.now(), studyId);
        return Number((this.stmt(SQL.stateVersion).get(studyId) as Row).state_version);
      },
      trials: async (filter = {}) => {
        const rows = (this.stmt(SQL.trials).all(studyId, filter.fromId ?? 0) as Row[]).map(trialFromRow);
        return filter.states ? rows.filter((r) => filter.states!.includes(r.state)) : rows;
      },
      counts: async () => {
        const c = emptyCounts();
        for (const r of this.stmt(SQL.counts).all(studyId) as Row[]) c[String(r.state) as TrialState] = Number(r.n);
        return c;
      },
      insertTrials: async (trials: readonly NewTrial[]) => {
        let next = Number((this.stmt(SQL.nextTrialId).get(studyId) as Row).next);
        const now = Date.now();
        const insert = this.stmt(SQL.insertTrial);
        return trials.map((t) => {
          const id = next++;
          insert.run(...trialParams(studyId, id, t, now));
          return id;
        });
      },
      finishTrials: async (trials: readonly FinishedTrial[]) => {
        const now = Date.now();
        const update = this.stmt(SQL.finishTrial);
        for (const t of trials) update.run(t.state, t.score !== null && Number.isFinite(t.score) ? t.score : null, toJson(t.result), now, studyId, t.id);
      },
      requeue: async (ids: readonly number[]) => {
        const update = this.stmt(SQL.requeue);
        for (const id of ids) update.run(studyId, id);
      },
      claim: async (worker: string, limit: number, staleBefore: number) => {
        const ids = (this.stmt(SQL.claimable).all(studyId, staleBefore, limit) as Row[]).map((r) => Number(r.id));
        if (ids.length === 0) return [];
        const now = Date.now();
        const update = this.stmt(SQL.claimOne);
        for (const id of ids) update.run(worker, now, now, studyId, id);
        const claimed = new Set(ids);
        return (this.stmt(SQL.trials).all(studyId, Math.min(...ids)) as Row[]).map(trialFromRow).filter((r) => claimed.has(r.id));
      },
      setStatus: async (status: StudyStatus, budget?: Budget) => {
        if (budget) this.stmt(SQL.setStatusBudget).run(status, JSON.stringify(budget), Date.now(), studyId);
        else this.stmt(SQL.setStatus).run(status, Date.now(), studyId);
      },
    };
  }

  async heartbeat(name: string, worker: string, ids: readonly number[]): Promise<void> {
    return this.serial.run(async () => {
      this.check();
      const { id: studyId } = this.need(name);
      this.write(() => {
        const now = Date.now();
        const update = this.stmt(SQL.heartbeat);
        for (const id of ids) update.run(now, studyId, id, worker);
        this.stmt(SQL.ownerHeartbeat).run(now, studyId, worker);
      });
    });
  }

  async reportIntermediate(name: string, id: number, values: readonly (number | null)[]): Promise<void> {
    return this.serial.run(async () => {
      this.check();
      const { id: studyId } = this.need(name);
      this.write(() => this.stmt(SQL.intermediate).run(toJson(values), studyId, id));
    });
  }

  acquireStudy(name: string, worker: string, staleBefore: number): Promise<void> {
    return this.serial.run(async () => {
      this.check();
      this.write(() => {
        const { id } = this.need(name);
        const row = this.stmt(SQL.owner).get(id) as Row;
        const owner = row.owner === null ? null : String(row.owner);
        if (owner !== null && owner !== worker && !deadOnThisHost(owner) && Number(row.owner_heartbeat ?? 0) >= staleBefore) {
          const [host, pid] = owner.split(':');
          throw storageError(
            `Study ${JSON.stringify(name)} in ${this.location} is being run by process ${pid} on ${host} (its last sign of life ${new Date(Number(row.owner_heartbeat)).toISOString()}); ` +
              'a SQLite study takes one process at a time: wait for it to end or stop it, or use PostgreSQL (--storage postgres://…) for several workers',
          );
        }
        this.stmt(SQL.setOwner).run(worker, Date.now(), id);
      });
    });
  }

  releaseStudy(name: string, worker: string): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) return;
      const s = this.studyId(name);
      if (s) this.write(() => this.stmt(SQL.release).run(s.id, worker));
    });
  }

  putBlob(name: string, key: string, bytes: Uint8Array): Promise<void> {
    return this.serial.run(async () => {
      this.check();
      const { id } = this.need(name);
      this.write(() => this.stmt(SQL.putBlob).run(id, key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    });
  }

  async getBlob(name: string, key: string): Promise<Uint8Array | undefined> {
    this.check();
    const { id } = this.need(name);
    const row = this.stmt(SQL.getBlob).get(id, key) as Row | undefined;
    return row ? new Uint8Array(row.bytes as Buffer) : undefined;
  }

  deleteBlob(name: string, key: string): Promise<void> {
    return this.serial.run(async () => {
      this.check();
      const { id } = this.need(name);
      this.write(() => this.stmt(SQL.deleteBlob).run(id, key));
    });
  }

  deleteStudy(name: string): Promise<boolean> {
    return this.serial.run(async () => {
      this.check();
      return this.write(() => {
        const s = this.studyId(name);
        if (!s) return false;
        this.stmt(SQL.deleteStudyBlobs).run(s.id);
        this.stmt(SQL.deleteStudyTrials).run(s.id);
        this.stmt(SQL.deleteStudy).run(s.id);
        return true;
      });
    });
  }

  /** `PRAGMA integrity_check`: "ok" for a sound file. */
  integrityCheck(): string {
    this.check();
    return (this.db.pragma('integrity_check') as Row[]).map((r) => String(r.integrity_check)).join('; ');
  }

  close(): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.db.close();
    });
  }
}

/** A SQLite failure as an ERR_NASX_STORAGE error that says what it means. */
function sqliteError(file: string, err: unknown, busy: number): Error {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return storageError(`${file} is locked by another process that is writing to it (waited ${busy} ms): a SQLite study database takes one writer at a time`, err);
  }
  if (code === 'SQLITE_NOTADB') return storageError(`${file} is not a SQLite database`, err);
  if (code === 'SQLITE_CANTOPEN') return storageError(`${file} cannot be opened (${(err as Error).message})`, err);
  return storageError(`${file}: ${(err as Error).message}`, err);
}
