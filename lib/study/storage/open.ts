/**
 * Opens a storage from a location string: `postgres://…` / `postgresql://…` (PostgreSQL), a file
 * name (SQLite), or ":memory:" (nothing kept).
 */
import { MemoryStorage } from './memory.js';
import { SqliteStorage } from './sqlite.js';
import { storageError, type Storage } from './storage.js';

/** The CLI's default study database. */
export const DEFAULT_STORAGE = 'nasx.db';

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * @example const storage = await openStorage('nasx.db'); // or 'postgres://user@host/nasx'
 */
export async function openStorage(location: string): Promise<Storage> {
  if (typeof location !== 'string' || location.length === 0) throw storageError(`Expected a storage location (a file, postgres://…, or :memory:) but received ${JSON.stringify(location)}`);
  if (location === ':memory:') return new MemoryStorage();
  if (isPostgresUrl(location)) {
    const { PostgresStorage } = await import('./postgres.js');
    return PostgresStorage.open(location);
  }
  return SqliteStorage.open(location);
}
