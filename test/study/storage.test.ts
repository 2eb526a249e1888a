import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MemoryStorage } from '../../lib/study/storage/memory.js';
import { SqliteStorage } from '../../lib/study/storage/sqlite.js';
import { SCHEMA_VERSION } from '../../lib/study/storage/storage.js';
import { checkStorageContract } from './storage-contract.js';

const scratch = () => mkdtempSync(path.join(tmpdir(), 'nasx-storage-'));

test('the memory storage keeps the storage contract', async (t) => {
  await checkStorageContract(t, new MemoryStorage(), 'm');
});

test('the SQLite storage keeps the storage contract, and its file passes an integrity check', async (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storage = await SqliteStorage.open(path.join(dir, 'sub', 'nasx.db'));
  await checkStorageContract(t, storage, 's');
  t.is(storage.integrityCheck(), 'ok');
  await storage.close();
});

test('SQLite: a newer schema is refused, a file that is not a database is named, a second owner is refused', async (t) => {
  const dir = scratch();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'nasx.db');
  (await SqliteStorage.open(file)).close();
  const raw = new BetterSqlite3(file);
  raw.prepare(`UPDATE nasx_meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION + 1));
  raw.close();
  await t.throwsAsync(SqliteStorage.open(file), { code: 'ERR_NASX_STORAGE', message: new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this nasx's \\(${SCHEMA_VERSION}\\): upgrade nasx`) });

  const junk = path.join(dir, 'junk.db');
  writeFileSync(junk, 'not a database at all, just text that is long enough to be read as a header');
  await t.throwsAsync(SqliteStorage.open(junk), { code: 'ERR_NASX_STORAGE', message: /junk\.db is not a SQLite database/ });

  const good = await SqliteStorage.open(path.join(dir, 'owned.db'));
  await good.createStudy({ name: 's', space: 'mlp', strategy: 'random', seed: 0, budget: { evaluations: 1 }, options: {}, status: 'pending' });
  await good.acquireStudy('s', 'otherhost:1:abc', 0);
  await t.throwsAsync(good.acquireStudy('s', 'me:2:def', 0), { code: 'ERR_NASX_STORAGE', message: /Study "s" .* is being run by process 1 on otherhost .* one process at a time/ });
  await good.acquireStudy('s', 'me:2:def', Date.now() + 1000);
  await good.releaseStudy('s', 'me:2:def');
  await good.acquireStudy('s', 'third:3:ghi', 0);
  await good.close();
});
