import { constants, type Stats } from 'node:fs';
import { access, lstat, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NasxError, checkFilePath } from '../errors.js';

/** What a file-system entry is, in words ("a directory", "a character device", ...). */
function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a file';
}

/**
 * Why `target` cannot be written, in words: a system error (the common file-system ones phrased for
 * people, else the system's message) or an entry that is not a regular file. `target` is the file
 * actually written (a symbolic link's target), so the directory named is the one that matters.
 */
function reason(cause: NodeJS.ErrnoException | Stats, target: string): string {
  if (!(cause instanceof Error)) return `it is not a regular file (${kindOf(cause)})`;
  const dir = path.dirname(target);
  switch (cause.code) {
    case 'ENOENT':
      return `the directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${dir} is not a directory`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `permission denied in ${dir}`;
    case 'EISDIR':
      return `${target} is a directory`;
    case 'ENOSPC':
      return 'no space left on the device';
    case 'ELOOP':
      return 'it is a symbolic link that loops';
    default:
      return cause.message;
  }
}

/** The file a write to `file` must replace: `file` itself, or the end of its chain of symbolic links. */
interface WriteTarget {
  path: string;
  /** The target's stats; null when it does not exist yet. */
  stats: Stats | null;
}

const MAX_LINKS = 40;

async function statOrNull(file: string, follow: boolean): Promise<Stats | null> {
  try {
    return await (follow ? stat(file) : lstat(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Resolves symbolic links, so that writing replaces the link's target and leaves the link a link.
 * A dangling link resolves to the path it names (relative to the link's directory), which the write
 * then creates.
 */
async function writeTarget(file: string): Promise<WriteTarget> {
  const own = await statOrNull(file, false);
  if (own === null || !own.isSymbolicLink()) return { path: file, stats: own };
  try {
    const resolved = await realpath(file);
    return { path: resolved, stats: await stat(resolved) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Dangling: follow the chain by hand to the first name that does not exist.
  let current = file;
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    const stats = await statOrNull(current, false);
    if (stats === null || !stats.isSymbolicLink()) return { path: current, stats };
    current = path.resolve(path.dirname(current), await readlink(current));
  }
  throw Object.assign(new Error(`too many symbolic links at ${file}`), { code: 'ELOOP' });
}

function writeError(label: string, cause: NodeJS.ErrnoException | Stats, target: string): NasxError {
  return new NasxError('ERR_NASX_IO', `Cannot write ${label}: ${reason(cause, target)}`, cause instanceof Error ? { cause } : {});
}

/**
 * Checks up front that `writeFileAtomic(file, ...)` can succeed, so that a command can refuse a bad
 * output path before hours of work rather than after: the file (a symbolic link's target) is a
 * regular file or absent, and its directory exists, is a directory and is writable. `flag` names the
 * option in the message.
 *
 * @example await checkWritable('/nonexistent/x.json', '--out');
 * // NasxError: Cannot write --out /nonexistent/x.json: the directory /nonexistent does not exist
 */
export async function checkWritable(file: string, flag: string): Promise<void> {
  const label = `${flag} ${file}`;
  let target: WriteTarget;
  try {
    target = await writeTarget(file);
  } catch (err) {
    throw writeError(label, err as NodeJS.ErrnoException, file);
  }
  if (target.stats !== null && !target.stats.isFile()) throw writeError(label, target.stats, target.path);
  const dir = path.dirname(target.path);
  let dirStats: Stats;
  try {
    dirStats = await stat(dir);
    if (!dirStats.isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw writeError(label, err as NodeJS.ErrnoException, target.path);
  }
}

let tmpCounter = 0;

/**
 * Writes `data` to `file` through a temporary file in the same directory and a rename, so that a
 * reader never sees a half-written file and a failure leaves nothing behind. A symbolic link is
 * followed: its target is replaced and the link stays a link. A path that exists but is not a
 * regular file (a directory, a device, a FIFO, a socket) is refused rather than replaced. `name`
 * names the path's argument in the error for a path that is not one (not a string, empty).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, name = 'file'): Promise<void> {
  checkFilePath(name, file);
  let target: WriteTarget;
  try {
    target = await writeTarget(file);
  } catch (err) {
    throw writeError(file, err as NodeJS.ErrnoException, file);
  }
  if (target.stats !== null && !target.stats.isFile()) throw writeError(file, target.stats, target.path);
  const tmp = path.join(path.dirname(target.path), `.${path.basename(target.path)}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`);
  try {
    // 'wx': never write through something already at the temporary name.
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, target.path);
  } catch (err) {
    // EEXIST: the temporary name is someone else's file; leave it alone.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await rm(tmp, { force: true });
    throw writeError(file, err as NodeJS.ErrnoException, target.path);
  }
}
