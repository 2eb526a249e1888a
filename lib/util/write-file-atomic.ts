import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NasxError } from '../errors.js';

/** Why a write failed, in words, for the common file-system errors (else the system's message). */
function reason(err: NodeJS.ErrnoException, file: string): string {
  const dir = path.dirname(file);
  switch (err.code) {
    case 'ENOENT':
      return `the directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${dir} is not a directory`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `permission denied in ${dir}`;
    case 'EISDIR':
      return `${file} is a directory`;
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return err.message;
  }
}

/**
 * Writes `data` to `file` through a temporary file in the same directory and a rename, so that a
 * reader never sees a half-written file and a failure leaves nothing behind.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new NasxError('ERR_NASX_IO', `Cannot write ${file}: ${reason(err as NodeJS.ErrnoException, file)}`, { cause: err });
  }
}
