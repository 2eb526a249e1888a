/**
 * PostgresStorage on a real server: the storage contract, workers sharing a study, migrations racing,
 * lost connections and the errors a user sees. The server is NASX_TEST_POSTGRES_URL (a role that may
 * create databases) or, when that is unset, a throwaway one started by scripts/pg-test-server.sh.
 * Where no server can be started the tests are skipped, saying why, except under CI=true, where
 * they fail.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PostgresStorage, numberPlaceholders, redactUrl } from '../../lib/study/storage/postgres.js';
import { SCHEMA_VERSION, type TrialRow } from '../../lib/study/storage/storage.js';
import { checkStorageContract } from './storage-contract.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = path.join(root, 'scripts', 'pg-test-server.sh');
const external = process.env.NASX_TEST_POSTGRES_URL;
const ci = process.env.CI === 'true';

/** Why the script cannot start a server here, or undefined. */
function scriptUnavailable(): string | undefined {
  const r = spawnSync(script, ['check'], { encoding: 'utf8' });
  if (r.error) return `${script} could not be run (${r.error.message})`;
  return r.status === 0 ? undefined : (r.stdout + r.stderr).trim() || `${script} check failed`;
}
const unavailable = external ? undefined : scriptUnavailable();
const skipping = unavailable !== undefined && !ci;
if (skipping) console.error(`PostgreSQL storage tests skipped: ${unavailable} (or set NASX_TEST_POSTGRES_URL)`);

/** A test on the server; skipped, with the reason in its title, where there is none. */
const pgTest = (title: string, impl: (t: ExecutionContext) => Promise<void>) =>
  skipping ? test.skip(`${title} (skipped: ${unavailable})`, impl) : test.serial(title, impl);

interface Server {
  url: string;
  /** Set when this file started it. */
  dir?: string;
}

/** Starts a throwaway server with the script; it is stopped with `stopServer`. */
function startServer(): Server {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-pg-'));
  const r = spawnSync(script, ['start', dir], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${script} start failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}): ${r.stderr.trim()}`);
  }
  return { url: r.stdout.trim().split('\n').pop()!, dir };
}

function stopServer(server: Server | undefined): void {
  if (server?.dir) spawnSync(script, ['stop', server.dir], { stdio: 'ignore' });
}

let server: Server | undefined;
test.before(() => {
  if (skipping) return;
  if (external) server = { url: external };
  else if (unavailable) throw new Error(`CI=true, so the PostgreSQL storage tests fail instead of skipping: ${unavailable}`);
  else server = startServer();
});
test.after.always(() => stopServer(server));

/** The server's URL with another database. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

let databases = 0;
/** A new empty database on the server, dropped when the test ends; returns its URL. */
async function freshDatabase(t: ExecutionContext, base = server!.url): Promise<string> {
  const name = `nasx_t${process.pid}_${++databases}`;
  await admin(base, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  t.teardown(() => admin(base, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined));
  return withDatabase(base, name);
}

async function open(t: ExecutionContext, url: string): Promise<PostgresStorage> {
  const storage = await PostgresStorage.open(url);
  t.teardown(() => storage.close());
  return storage;
}

const study = (name: string) => ({ name, space: 'mlp', strategy: 'random', seed: 0, budget: { evaluations: 10 }, options: {}, status: 'pending' as const });

/** Ends every connection to `database` but the caller's, as an administrator would; returns how many. */
async function terminateBackends(url: string, database: string): Promise<number> {
  return admin(url, async (c) => {
    const r = await c.query(`SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database]);
    return r.rows.filter((row: { ended: boolean }) => row.ended).length;
  });
}

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

test('placeholders are numbered outside quotes, and a URL is shown without its password', (t) => {
  t.is(numberPlaceholders(`UPDATE t SET a = ?, b = '?' WHERE c = ? AND "d?" = ?`), `UPDATE t SET a = $1, b = '?' WHERE c = $2 AND "d?" = $3`);
  t.is(redactUrl('postgresql://nasx:s3cret@db.lan:5433/nasx'), 'postgresql://nasx@db.lan:5433/nasx');
  t.is(redactUrl('postgres://db.lan/nasx?user=u&password=s3cret'), 'postgres://db.lan/nasx?user=u');
  t.is(redactUrl('postgresql:///nasx?host=/run/postgresql'), 'postgresql:///nasx?host=/run/postgresql');
});

test('PostgresStorage.open checks its arguments', async (t) => {
  await t.throwsAsync(PostgresStorage.open(5 as unknown as string), { instanceOf: TypeError, message: 'Expected a postgres:// or postgresql:// URL for url but received 5 of type number' });
  await t.throwsAsync(PostgresStorage.open('mysql://u:pw@h/db'), { code: 'ERR_NASX_STORAGE', message: 'Expected a postgres:// or postgresql:// URL but received "mysql://u@h/db"' });
  await t.throwsAsync(PostgresStorage.open('postgresql://h/db', { poolSize: 0 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 1000 for poolSize but received 0 of type number' });
});

pgTest('the PostgreSQL storage keeps the storage contract, and names its server without the password', async (t) => {
  const url = await freshDatabase(t);
  const storage = await open(t, url);
  t.is(storage.kind, 'postgres');
  t.is(storage.location, redactUrl(url));
  const password = new URL(url).password;
  if (password) t.false(storage.location.includes(password));
  await checkStorageContract(t, storage, 'p');
  await storage.close();
  await t.throwsAsync(storage.getStudy('p'), { code: 'ERR_NASX_STORAGE', message: `${redactUrl(url)} is closed` });
});

pgTest('4 workers claiming from 200 pending trials of one study claim each exactly once', async (t) => {
  const url = await freshDatabase(t);
  const workers = await Promise.all([0, 1, 2, 3].map(() => open(t, url)));
  await workers[0]!.createStudy(study('shared'));
  await workers[0]!.transaction('shared', (tx) =>
    tx.insertTrials(Array.from({ length: 200 }, (_, i) => ({ hash: `h${i}`, arch: { i }, fidelity: {}, state: 'pending' as const }))),
  );
  const claims = await Promise.all(
    workers.map(async (storage, w) => {
      const mine: TrialRow[] = [];
      for (let round = 0; ; round++) {
        const got = await storage.transaction('shared', (tx) => tx.claim(`w${w}`, 1 + ((round + w) % 3), 0));
        if (got.length === 0) return mine;
        mine.push(...got);
      }
    }),
  );
  const ids = claims.flat().map((r) => r.id);
  t.is(ids.length, 200);
  t.is(new Set(ids).size, 200, 'no trial is claimed twice');
  t.true(claims.every((c) => c.length > 0), 'every worker got some');
  const rows = await workers[0]!.trials('shared');
  claims.forEach((c, w) => c.forEach((r) => t.like(rows[r.id], { state: 'running', worker: `w${w}` })));
});

pgTest('a claim skips a trial whose row another transaction holds, without waiting for it', async (t) => {
  const url = await freshDatabase(t);
  const storage = await open(t, url);
  await storage.createStudy(study('s'));
  await storage.transaction('s', (tx) => tx.insertTrials([0, 1].map((i) => ({ hash: `h${i}`, arch: {}, fidelity: {}, state: 'pending' as const }))));
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('SELECT * FROM nasx_trials WHERE id = 0 FOR UPDATE');
  const claimed = await storage.transaction('s', (tx) => tx.claim('w', 2, 0));
  t.deepEqual(claimed.map((r) => r.id), [1]);
  await holder.query('ROLLBACK');
  t.deepEqual((await storage.transaction('s', (tx) => tx.claim('w', 2, 0))).map((r) => r.id), [0]);
});

pgTest('transactions of two workers on one study are serial: the second sees what the first wrote', async (t) => {
  const url = await freshDatabase(t);
  const [a, b] = await Promise.all([open(t, url), open(t, url)]);
  await a!.createStudy(study('s'));
  const events: string[] = [];
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  const first = a!.transaction('s', async (tx) => {
    await tx.writeState({ strategy: { by: 'a' }, scheduler: null, counters: {} });
    wrote();
    await new Promise((resolve) => setTimeout(resolve, 300));
    events.push('a commits');
  });
  await written;
  events.push('b asks');
  const second = b!.transaction('s', async (tx) => {
    const state = await tx.readState();
    events.push(`b reads ${JSON.stringify(state?.strategy)} at version ${state?.version}`);
    return tx.writeState({ strategy: { by: 'b' }, scheduler: null, counters: {} });
  });
  await first;
  t.is(await second, 2);
  t.deepEqual(events, ['b asks', 'a commits', 'b reads {"by":"a"} at version 1']);

  // Read-modify-write from 4 workers at once loses nothing.
  const workers = await Promise.all([0, 1, 2, 3].map(() => open(t, url)));
  await Promise.all(
    workers.map(async (storage) => {
      for (let i = 0; i < 25; i++) {
        await storage.transaction('s', async (tx) => {
          const s = await tx.readState();
          return tx.writeState({ strategy: s!.strategy, scheduler: null, counters: { n: (s!.counters.n ?? 0) + 1 } });
        });
      }
    }),
  );
  await a!.transaction('s', async (tx) => t.like(await tx.readState(), { counters: { n: 100 }, version: 102 }));
});

pgTest('4 workers opening a fresh database at once all migrate it, and the schema version is recorded once', async (t) => {
  for (let round = 0; round < 2; round++) {
    const url = await freshDatabase(t);
    const storages = await Promise.all([0, 1, 2, 3].map(() => PostgresStorage.open(url)));
    await Promise.all(storages.map((s) => s.close()));
    const rows = await admin(url, async (c) => (await c.query(`SELECT key, value FROM nasx_meta`)).rows);
    t.deepEqual(rows, [{ key: 'schema_version', value: String(SCHEMA_VERSION) }]);
  }
});

pgTest('after the server ends its connections, transactions, heartbeats and reads work on fresh ones', async (t) => {
  const url = await freshDatabase(t);
  const storage = await open(t, url);
  await storage.createStudy(study('s'));
  const [id] = await storage.transaction('s', (tx) => tx.insertTrials([{ hash: 'a', arch: {}, fidelity: {}, state: 'running', worker: 'w' }]));
  await storage.heartbeat('s', 'w', [id!]);
  t.true((await terminateBackends(url, databaseOf(url))) > 0, 'the storage had connections to end');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is((await storage.transaction('s', (tx) => tx.writeState({ strategy: {}, scheduler: null, counters: {} }))), 1);
  const before = (await storage.trials('s'))[0]!.heartbeat!;
  await new Promise((resolve) => setTimeout(resolve, 5));
  await terminateBackends(url, databaseOf(url));
  await storage.heartbeat('s', 'w', [id!]);
  t.true((await storage.trials('s'))[0]!.heartbeat! > before);

  // Ended in the middle of a transaction: the server rolls it back and the body runs again, once.
  let runs = 0;
  const ids = await storage.transaction('s', async (tx) => {
    runs++;
    const inserted = await tx.insertTrials([{ hash: `b${runs}`, arch: {}, fidelity: {}, state: 'pending' }]);
    if (runs === 1) await terminateBackends(url, databaseOf(url));
    await tx.writeState({ strategy: { runs }, scheduler: null, counters: {} });
    return inserted;
  });
  t.is(runs, 2);
  t.deepEqual(ids, [1]);
  t.deepEqual((await storage.trials('s')).map((r) => r.hash), ['a', 'b2']);
  await storage.transaction('s', async (tx) => t.like(await tx.readState(), { strategy: { runs: 2 }, version: 2 }));
});

pgTest('a connection lost while committing is an error that says the outcome is unknown', async (t) => {
  const url = await freshDatabase(t);
  const storage = await open(t, url);
  await storage.createStudy(study('s'));
  // A deferred trigger runs at COMMIT: it holds the commit long enough to end its connection then.
  await admin(url, async (c) => {
    await c.query(`CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$`);
    await c.query(`CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON nasx_trials DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()`);
  });
  let runs = 0;
  const committing = storage.transaction('s', async (tx) => {
    runs++;
    return tx.insertTrials([{ hash: 'a', arch: {}, fidelity: {}, state: 'pending' }]);
  });
  const ended = admin(url, async (c) => {
    for (let i = 0; i < 100; i++) {
      const r = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'PgSleep'`, [databaseOf(url)]);
      if (r.rowCount) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  });
  const err = await t.throwsAsync(committing, { code: 'ERR_NASX_STORAGE' });
  t.true(await ended);
  t.regex(err!.message, /the connection to PostgreSQL at .* was lost while committing a transaction on study "s", so whether it was committed is unknown/);
  t.is(runs, 1, 'a commit whose outcome is unknown is not run again');
});

pgTest('a server restart is survived: work waits for the server to come back', async (t) => {
  if (unavailable) {
    t.log(`this test restarts a server of its own, which needs scripts/pg-test-server.sh: ${unavailable}`);
    t.pass();
    return;
  }
  const own = startServer();
  t.teardown(() => stopServer(own));
  const storage = await open(t, own.url);
  await storage.createStudy(study('s'));
  await storage.transaction('s', (tx) => tx.writeState({ strategy: { n: 1 }, scheduler: null, counters: {} }));
  const restarted = new Promise<number | null>((resolve) => spawn(script, ['restart', own.dir!], { stdio: 'ignore' }).on('exit', resolve));
  // Asked for while the server goes down and comes back.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const version = await storage.transaction('s', async (tx) => tx.writeState({ strategy: { n: 2 }, scheduler: null, counters: {} }));
  t.is(await restarted, 0);
  t.true(version === 2);
  await storage.transaction('s', async (tx) => t.like(await tx.readState(), { strategy: { n: 2 }, version: 2 }));
  await storage.heartbeat('s', 'w', []);
});

pgTest('a database at a newer schema version is refused', async (t) => {
  const url = await freshDatabase(t);
  await (await PostgresStorage.open(url)).close();
  await admin(url, (c) => c.query(`UPDATE nasx_meta SET value = $1 WHERE key = 'schema_version'`, [String(SCHEMA_VERSION + 1)]));
  await t.throwsAsync(PostgresStorage.open(url), {
    code: 'ERR_NASX_STORAGE',
    message: `${redactUrl(url)} holds a nasx study database at schema version ${SCHEMA_VERSION + 1}, newer than this nasx's (${SCHEMA_VERSION}): upgrade nasx to open it`,
  });
});

pgTest('a missing database, a wrong password and an unreachable server each say so', async (t) => {
  const url = new URL(server!.url);
  const where = `${url.hostname}:${url.port || 5432}`;
  await t.throwsAsync(PostgresStorage.open(withDatabase(server!.url, 'nasx_no_such_db')), {
    code: 'ERR_NASX_STORAGE',
    message: new RegExp(`^PostgreSQL at ${where}: database "nasx_no_such_db" does not exist: create it with createdb .*nasx_no_such_db$`),
  });
  if (url.password) {
    const wrong = new URL(server!.url);
    wrong.password = 'not-the-password';
    const err = await t.throwsAsync(PostgresStorage.open(wrong.toString()), {
      code: 'ERR_NASX_STORAGE',
      message: new RegExp(`^PostgreSQL at ${where} refused user "${url.username}": password authentication failed`),
    });
    t.false(err!.message.includes('not-the-password'));
  }
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  await t.throwsAsync(PostgresStorage.open(`postgresql://nasx:pw@127.0.0.1:${port}/nasx`), {
    code: 'ERR_NASX_STORAGE',
    message: new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:${port} is unreachable \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\): is the server running`),
  });
});

pgTest('three nasx search --worker processes on one study: one SIGKILLed mid-trial, its trial re-run after the lease, exactly the budget, nothing twice, and a lost connection survived', async (t) => {
  const url = await freshDatabase(t);
  const budget = 24;
  const args = ['search', '--study', 'w', '--storage', url, '--worker', '--lease', '2', '--budget', String(budget), '--parallel', '1', '--epochs', '3', '--seed', '1'];
  const bin = path.join(root, 'bin', 'nasx.js');
  const workers = [0, 1, 2].map(() => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const w = { child, stderr: '', exit: new Promise<number | null>((resolve) => child.on('close', resolve)) };
    child.stderr.on('data', (d) => (w.stderr += d));
    child.stdout.resume();
    return w;
  });
  t.teardown(() => workers.forEach((w) => w.child.kill('SIGKILL')));
  const storage = await open(t, url);
  // The victim is killed while it holds a running trial.
  const victim = workers[0]!;
  let killed: TrialRow | undefined;
  for (let tries = 0; !killed && tries < 600; tries++) {
    const rows = await storage.trials('w').catch(() => [] as TrialRow[]);
    killed = rows.find((r) => r.state === 'running' && r.worker?.includes(`:${victim.child.pid}:`));
    if (!killed) await new Promise((r) => setTimeout(r, 50));
  }
  t.truthy(killed, 'the victim was seen running a trial');
  victim.child.kill('SIGKILL');
  t.is(await victim.exit, null);
  // The others lose their connections once, mid-study.
  t.true((await terminateBackends(server!.url, databaseOf(url))) >= 1);
  t.deepEqual(await Promise.all(workers.slice(1).map((w) => w.exit)), [0, 0], workers.map((w) => w.stderr).join('\n---\n'));
  const rows = await storage.trials('w');
  t.is(rows.length, budget, 'the abandoned trial was run again, not added anew');
  t.true(rows.every((r) => r.state === 'complete' || r.state === 'failed'));
  t.is(new Set(rows.map((r) => r.hash)).size, budget, 'no architecture twice');
  const again = rows.find((r) => r.id === killed!.id)!;
  t.is(again.state, 'complete');
  t.false(again.worker!.includes(`:${victim.child.pid}:`), 'another worker finished the dead one\'s trial');
  // Each finished trial was announced by exactly one worker.
  const announced = workers.flatMap((w) => [...w.stderr.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1])));
  t.is(new Set(announced).size, announced.length, 'no trial finished twice');
  t.true(announced.length >= budget - 1 && announced.length <= budget);
  t.is((await storage.getStudy('w'))!.status, 'done');
  t.true(new Set(rows.map((r) => r.worker!.split(':')[1])).size >= 2, 'the work was shared');
});
