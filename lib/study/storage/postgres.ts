/**
 * Studies in a PostgreSQL database (node-postgres), shared by workers on many machines. Every change is
 * a transaction on one pooled connection that first locks the study's row (`SELECT … FOR UPDATE`), so
 * asks and tells are serial across all workers of a study; claims skip trials another transaction has
 * locked (`FOR UPDATE SKIP LOCKED`). Workers share a study: there is no owner (no `acquireStudy`).
 *
 * A connection the server drops (a restart, `pg_terminate_backend`, a network cut) is replaced: work
 * whose connection broke before its COMMIT was sent is run again on a fresh one, a few times with a
 * short backoff. Transaction bodies must therefore be re-runnable: computed only from what the
 * transaction reads, with no side effects outside it. A connection lost while committing leaves the
 * outcome unknown, and says so.
 *
 * BIGINT columns arrive as strings; the shared row converters turn them into numbers (ids, counts and
 * milliseconds since the epoch all fit a double exactly).
 *
 * @example
 * const storage = await PostgresStorage.open('postgresql://nasx:secret@db.lan/nasx');
 */
import pg from 'pg';
import { checkInteger, NasxError, typeError } from '../../errors.js';
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

export interface PostgresStorageOptions {
  /** Connections this storage keeps open at most (one runs transactions, the rest heartbeats and reads). Default 4. */
  poolSize?: number;
  /**
   * How long one statement may run, waiting for another worker's lock on the study included, before it
   * fails. Default 30000 ms.
   */
  statementTimeoutMs?: number;
}

/** pg_advisory_xact_lock key held while migrating: "nasx" in ASCII. */
const MIGRATION_LOCK = 0x6e617378;
/**
 * Tries of work whose connection is lost before its COMMIT, with a backoff doubling from 100 ms up to
 * 3 s between them: about 9 s in all, which a server restart fits in.
 */
const ATTEMPTS = 8;
const backoffMs = (retry: number) => Math.min(100 * 2 ** (retry - 1), 3000);
/**
 * A worker stopped in the middle of a transaction (SIGSTOP, a hung host) would hold its study's lock for
 * ever; the server ends such a session after this long, and the worker's next statement reconnects.
 */
const IDLE_IN_TRANSACTION_MS = 10 * 60_000;

/**
 * A statement with `?` placeholders numbered `$1…$n` for PostgreSQL. Question marks inside quoted
 * literals or identifiers are left as they are.
 */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let quote: string | null = null;
  let out = '';
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

interface Statement {
  /** Prepared once per connection under this name. */
  name: string;
  text: string;
}
type Key = keyof typeof SQL | 'lockStudy' | 'claimLocked';
const STATEMENTS = Object.fromEntries(
  Object.entries({
    ...SQL,
    lockStudy: `${SQL.study} FOR UPDATE`,
    claimLocked: `${SQL.claimable} FOR UPDATE SKIP LOCKED`,
  }).map(([key, sql]) => [key, { name: `nasx_${key}`, text: numberPlaceholders(sql) }]),
) as Record<Key, Statement>;

/** The URL as it may be shown: without its password (in the authority or as a `password` parameter). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    if (u.searchParams.has('password')) u.searchParams.delete('password');
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1@');
  }
}

/** Where the server is, as node-postgres resolves the URL (environment defaults included). */
interface Target {
  /** "127.0.0.1:5432", or "socket /run/postgresql/.s.PGSQL.5432". */
  where: string;
  host: string;
  port: number;
  user: string;
  database: string;
}

function targetOf(url: string): Target {
  const c = new pg.Client({ connectionString: url });
  const host = c.host || 'localhost';
  const port = c.port || 5432;
  const where = host.startsWith('/') ? `socket ${host}/.s.PGSQL.${port}` : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { where, host, port, user: c.user ?? '', database: c.database ?? c.user ?? '' };
}

/** The server's SQLSTATE or the socket's errno code of a failure (looking through our wrapping). */
function failureCode(err: unknown): string {
  if (err instanceof NasxError) return failureCode(err.cause);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Socket errors of a server that is not there (yet, or any more). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether a failure means the connection is gone (the server ended it, or it could not be made). */
function isConnectionLoss(err: unknown): boolean {
  const code = failureCode(err);
  // 08…: connection exceptions; 57P01/57P02: terminated by an administrator or a crash; 57P03: starting up.
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  if (UNREACHABLE.has(code) || code === 'ECONNRESET' || code === 'EPIPE') return true;
  const message = err instanceof NasxError ? String((err.cause as Error | undefined)?.message ?? '') : String((err as Error | null)?.message ?? '');
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended/i.test(message);
}

/** Conflicts the server resolved by rolling the transaction back (a deadlock, a serialization failure). */
function isConflict(err: unknown): boolean {
  const code = failureCode(err);
  return code === '40P01' || code === '40001';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs one of the shared statements (prepared per connection), or, for the migration's DDL, raw SQL text. */
type Query = (statement: Key | { sql: string }, params?: unknown[]) => Promise<Row[]>;

interface Work<T> {
  /** What it is, for messages: "a transaction on study \"s\"". */
  what: string;
  body: (query: Query) => Promise<T>;
  /** Whether running it twice is harmless, so a connection lost while committing is retried too. */
  idempotent: boolean;
}

export class PostgresStorage implements Storage {
  readonly kind = 'postgres';
  private readonly serial = new Serial();
  private closed = false;

  private constructor(
    readonly location: string,
    private readonly pool: pg.Pool,
    private readonly target: Target,
    private readonly statementTimeoutMs: number,
  ) {}

  /**
   * Connects to a PostgreSQL database (which must exist) and migrates it to this nasx's schema. Several
   * workers may open one database at once: the migration runs under an advisory lock.
   */
  static async open(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    if (typeof url !== 'string') throw typeError('url', 'a postgres:// or postgresql:// URL', url);
    if (!/^postgres(ql)?:\/\//i.test(url)) throw storageError(`Expected a postgres:// or postgresql:// URL but received ${JSON.stringify(redactUrl(url))}`);
    const poolSize = checkInteger('poolSize', options.poolSize ?? 4, 1, 1000);
    const statementTimeoutMs = checkInteger('statementTimeoutMs', options.statementTimeoutMs ?? 30_000, 1);
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
      application_name: 'nasx',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      // Statements that do not wait on each other's results (BEGIN and the first statement, a batch of
      // inserts or updates) go out together: one round trip instead of one each.
      pipeline: true,
    });
    // An idle pooled connection that the server closes is dropped by the pool, which reports it here;
    // the next operation connects afresh. Without a listener the report would crash the process.
    pool.on('error', () => undefined);
    const storage = new PostgresStorage(redactUrl(url), pool, targetOf(url), statementTimeoutMs);
    try {
      // The first connection fails fast: an unreachable server or a wrong password is not transient.
      const client = await pool.connect().catch((err: unknown) => {
        throw storage.failure(err);
      });
      client.release();
      await storage.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return storage;
  }

  private migrate(): Promise<void> {
    return this.serial.run(() =>
      this.run({
        what: 'the schema migration',
        idempotent: true,
        body: async (query) => {
          // Workers starting together take turns here; the later ones find the schema up to date.
          await query({ sql: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})` });
          await query({ sql: migrationStatements(1, 'postgres')[0]! });
          const [row] = await query('schemaVersion');
          const at = row ? Number(row.value) : 0;
          if (at > SCHEMA_VERSION) throw newerSchemaError(this.location, at);
          for (let v = at + 1; v <= SCHEMA_VERSION; v++) {
            for (const sql of migrationStatements(v, 'postgres')) if (!(v === 1 && sql.includes('nasx_meta'))) await query({ sql });
          }
          if (!row) await query('insertSchemaVersion', [String(SCHEMA_VERSION)]);
          else if (at < SCHEMA_VERSION) await query('setSchemaVersion', [String(SCHEMA_VERSION)]);
        },
      }),
    );
  }

  private check(): void {
    if (this.closed) throw storageError(`${this.location} is closed`);
  }

  /** A failure of the server or the connection as an ERR_NASX_STORAGE error that says what it means. */
  private failure(err: unknown): NasxError {
    if (err instanceof NasxError) return err;
    const { where, user, database } = this.target;
    const code = failureCode(err);
    const message = (err as Error | null)?.message ?? String(err);
    if (code === '28P01' || code === '28000') {
      return storageError(`PostgreSQL at ${where} refused user ${JSON.stringify(user)}: ${message} (check the user name and password in the URL)`, err);
    }
    if (code === '3D000') {
      const flags = [`-h ${this.target.host}`, `-p ${this.target.port}`, user ? `-U ${user}` : ''].filter(Boolean).join(' ');
      return storageError(`PostgreSQL at ${where}: database ${JSON.stringify(database)} does not exist: create it with createdb ${flags} ${database}`, err);
    }
    if (UNREACHABLE.has(code) || /timeout exceeded when trying to connect/i.test(message)) {
      return storageError(`PostgreSQL at ${where} is unreachable (${message}): is the server running, and are the host and port in the URL right?`, err);
    }
    if (code === '53300') return storageError(`PostgreSQL at ${where} has no free connection (${message}): lower poolSize or raise the server's max_connections`, err);
    if (code === '57014') {
      return storageError(
        `${this.location}: a statement ran longer than statementTimeoutMs (${this.statementTimeoutMs} ms) and was cancelled; another worker may be holding the study's lock`,
        err,
      );
    }
    return storageError(`${this.location}: ${message}`, err);
  }

  /**
   * Runs `work.body` in a transaction on one pooled connection; retries it on a fresh connection when
   * the connection is lost before COMMIT (or at any point when the work is idempotent), and when the
   * server rolled it back to resolve a deadlock.
   */
  private async run<T>(work: Work<T>): Promise<T> {
    let last: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      this.check();
      if (attempt > 1) await sleep(backoffMs(attempt - 1));
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        this.check();
        if (!isConnectionLoss(err)) throw this.failure(err);
        last = err;
        continue;
      }
      const session = { broken: false, ended: false, lost: undefined as unknown };
      const onError = (err: Error) => {
        session.broken = true;
        session.lost ??= err;
      };
      // A checked-out connection that the server ends reports it here (and would crash the process
      // with no listener); the statement that finds it broken fails and the work is retried.
      client.on('error', onError);
      // BEGIN goes out with the first statement.
      let begin: Promise<unknown> | undefined = client.query('BEGIN');
      // Its failure is seen by whichever statement waits on it; none may if the body throws first.
      begin.catch(() => undefined);
      const query: Query = async (statement, params = []) => {
        if (session.ended) throw storageError(`${this.location}: an operation of ${work.what} was used after the transaction ended`);
        const config = typeof statement === 'string' ? { ...STATEMENTS[statement], values: params } : { text: statement.sql, values: params };
        const begun = begin;
        begin = undefined;
        try {
          const [, result] = await Promise.all([begun, client.query<Row>(config)]);
          return result.rows;
        } catch (err) {
          if (isConnectionLoss(err)) {
            session.broken = true;
            session.lost ??= err;
          }
          throw this.failure(err);
        }
      };
      let committing = false;
      try {
        const out = await work.body(query);
        committing = true;
        await Promise.all([begin, client.query('COMMIT')]);
        return out;
      } catch (err) {
        if (!session.broken && isConnectionLoss(err)) {
          session.broken = true;
          session.lost ??= err;
        }
        if (!session.broken) {
          await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
            session.broken = true;
            session.lost ??= rollbackErr;
          });
          if (!isConflict(err) || attempt === ATTEMPTS) throw err instanceof NasxError || committing ? this.failure(err) : err;
          last = err;
          continue;
        }
        last = session.lost ?? err;
        if (committing && !work.idempotent) {
          throw storageError(
            `${this.location}: the connection to PostgreSQL at ${this.target.where} was lost while committing ${work.what}, so whether it was committed is unknown (${errorMessage(last)})`,
            last,
          );
        }
      } finally {
        session.ended = true;
        client.removeListener('error', onError);
        client.release(session.broken ? ((session.lost as Error | undefined) ?? new Error('connection lost')) : undefined);
      }
    }
    throw storageError(`${this.location}: ${work.what} failed ${ATTEMPTS} times in a row on a lost or refused connection to PostgreSQL at ${this.target.where}: ${errorMessage(last)}`, last);
  }

  private noStudy(name: string): NasxError {
    return storageError(`There is no study named ${JSON.stringify(name)} in ${this.location}`);
  }

  /** The study's id and record, or undefined. */
  private async find(query: Query, name: string, lock = false): Promise<{ id: number; record: StudyRecord } | undefined> {
    const [row] = await query(lock ? 'lockStudy' : 'study', [name]);
    return row ? { id: Number(row.id), record: studyFromRow(row) } : undefined;
  }

  private async need(query: Query, name: string): Promise<number> {
    const s = await this.find(query, name);
    if (!s) throw this.noStudy(name);
    return s.id;
  }

  createStudy(record: Omit<StudyRecord, 'createdAt' | 'updatedAt'>): Promise<StudyRecord> {
    return this.serial.run(() =>
      this.run({
        what: `the creation of study ${JSON.stringify(record.name)}`,
        idempotent: false,
        body: async (query) => {
          if (await this.find(query, record.name)) throw storageError(`A study named ${JSON.stringify(record.name)} already exists in ${this.location}`);
          const now = Date.now();
          try {
            await query('insertStudy', studyParams(record, now));
          } catch (err) {
            // Another worker created it between our look and our insert.
            if (failureCode(err) === '23505') throw storageError(`A study named ${JSON.stringify(record.name)} already exists in ${this.location}`, err);
            throw err;
          }
          return { ...record, createdAt: now, updatedAt: now };
        },
      }),
    );
  }

  getStudy(name: string): Promise<StudyRecord | undefined> {
    return this.run({ what: `reading study ${JSON.stringify(name)}`, idempotent: true, body: async (query) => (await this.find(query, name))?.record });
  }

  listStudies(): Promise<StudyListing[]> {
    return this.run({
      what: 'listing the studies',
      idempotent: true,
      body: async (query) => {
        const counts = new Map<number, { trials: Record<TrialState, number>; best: number | null }>();
        for (const r of await query('studyCounts')) {
          const id = Number(r.study_id);
          const c = counts.get(id) ?? { trials: emptyCounts(), best: null };
          c.trials[String(r.state) as TrialState] = Number(r.n);
          if (r.state === 'complete' && r.best !== null) c.best = Math.max(c.best ?? -Infinity, Number(r.best));
          counts.set(id, c);
        }
        return (await query('studies')).map((r) => ({ ...studyFromRow(r), ...(counts.get(Number(r.id)) ?? { trials: emptyCounts(), best: null }) }));
      },
    });
  }

  trials(name: string): Promise<TrialRow[]> {
    return this.run({
      what: `reading the trials of study ${JSON.stringify(name)}`,
      idempotent: true,
      body: async (query) => (await query('trials', [await this.need(query, name), 0])).map(trialFromRow),
    });
  }

  /**
   * Runs `fn` in one transaction holding the study's row lock. `fn` may be called more than once: when
   * the connection is lost before the commit, the transaction is rolled back by the server and `fn` is
   * run again on a fresh connection, so it must compute only from what it reads through `tx`.
   */
  transaction<T>(name: string, fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.serial.run(() =>
      this.run({
        what: `a transaction on study ${JSON.stringify(name)}`,
        idempotent: false,
        body: async (query) => {
          const s = await this.find(query, name, true);
          if (!s) throw this.noStudy(name);
          return fn(this.tx(query, s.id, s.record));
        },
      }),
    );
  }

  private tx(query: Query, studyId: number, study: StudyRecord): StorageTx {
    const trialsFrom = async (fromId: number) => (await query('trials', [studyId, fromId])).map(trialFromRow);
    return {
      study,
      readState: async () => stateFromRow((await query('readState', [studyId]))[0]!),
      writeState: async (s: Omit<SerialState, 'version'>) => {
        const [, [row]] = await Promise.all([
          query('writeState', [toJson(s.strategy), toJson(s.scheduler ?? null), toJson(s.counters), Date.now(), studyId]),
          query('stateVersion', [studyId]),
        ]);
        return Number(row!.state_version);
      },
      trials: async (filter = {}) => {
        const rows = await trialsFrom(filter.fromId ?? 0);
        return filter.states ? rows.filter((r) => filter.states!.includes(r.state)) : rows;
      },
      counts: async () => {
        const c = emptyCounts();
        for (const r of await query('counts', [studyId])) c[String(r.state) as TrialState] = Number(r.n);
        return c;
      },
      insertTrials: async (trials: readonly NewTrial[]) => {
        let next = Number((await query('nextTrialId', [studyId]))[0]!.next);
        const now = Date.now();
        const rows = trials.map((t) => trialParams(studyId, next++, t, now));
        await Promise.all(rows.map((params) => query('insertTrial', params)));
        return rows.map((params) => params[1] as number);
      },
      finishTrials: async (trials: readonly FinishedTrial[]) => {
        const now = Date.now();
        await Promise.all(trials.map((t) => query('finishTrial', [t.state, t.score !== null && Number.isFinite(t.score) ? t.score : null, toJson(t.result), now, studyId, t.id])));
      },
      requeue: async (ids: readonly number[]) => {
        await Promise.all(ids.map((id) => query('requeue', [studyId, id])));
      },
      claim: async (worker: string, limit: number, staleBefore: number) => {
        const ids = (await query('claimLocked', [studyId, staleBefore, limit])).map((r) => Number(r.id));
        if (ids.length === 0) return [];
        const now = Date.now();
        const claimed = new Set(ids);
        const [, rows] = await Promise.all([Promise.all(ids.map((id) => query('claimOne', [worker, now, now, studyId, id]))), trialsFrom(Math.min(...ids))]);
        return rows.filter((r) => claimed.has(r.id));
      },
      setStatus: async (status: StudyStatus, budget?: Budget) => {
        if (budget) await query('setStatusBudget', [status, JSON.stringify(budget), Date.now(), studyId]);
        else await query('setStatus', [status, Date.now(), studyId]);
      },
    };
  }

  heartbeat(name: string, worker: string, ids: readonly number[]): Promise<void> {
    return this.run({
      what: `a heartbeat in study ${JSON.stringify(name)}`,
      idempotent: true,
      body: async (query) => {
        const studyId = await this.need(query, name);
        const now = Date.now();
        await Promise.all(ids.map((id) => query('heartbeat', [now, studyId, id, worker])));
      },
    });
  }

  reportIntermediate(name: string, id: number, values: readonly (number | null)[]): Promise<void> {
    return this.run({
      what: `reporting trial ${id} of study ${JSON.stringify(name)}`,
      idempotent: true,
      body: async (query) => {
        await query('intermediate', [toJson(values), await this.need(query, name), id]);
      },
    });
  }

  putBlob(name: string, key: string, bytes: Uint8Array): Promise<void> {
    return this.run({
      what: `writing blob ${JSON.stringify(key)} of study ${JSON.stringify(name)}`,
      idempotent: true,
      body: async (query) => {
        await query('putBlob', [await this.need(query, name), key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
      },
    });
  }

  getBlob(name: string, key: string): Promise<Uint8Array | undefined> {
    return this.run({
      what: `reading blob ${JSON.stringify(key)} of study ${JSON.stringify(name)}`,
      idempotent: true,
      body: async (query) => {
        const [row] = await query('getBlob', [await this.need(query, name), key]);
        return row ? new Uint8Array(row.bytes as Buffer) : undefined;
      },
    });
  }

  deleteBlob(name: string, key: string): Promise<void> {
    return this.run({
      what: `deleting blob ${JSON.stringify(key)} of study ${JSON.stringify(name)}`,
      idempotent: true,
      body: async (query) => {
        await query('deleteBlob', [await this.need(query, name), key]);
      },
    });
  }

  deleteStudy(name: string): Promise<boolean> {
    return this.serial.run(() =>
      this.run({
        what: `the deletion of study ${JSON.stringify(name)}`,
        idempotent: false,
        body: async (query) => {
          const s = await this.find(query, name, true);
          if (!s) return false;
          await query('deleteStudyBlobs', [s.id]);
          await query('deleteStudyTrials', [s.id]);
          await query('deleteStudy', [s.id]);
          return true;
        },
      }),
    );
  }

  /** Ends the pool once the transactions already asked for are done. */
  close(): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.pool.end();
    });
  }
}

function errorMessage(err: unknown): string {
  return (err as Error | null)?.message ?? String(err);
}
