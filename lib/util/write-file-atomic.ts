import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NasxError } from '../errors.js';

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
    throw new NasxError('ERR_NASX_IO', `Cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}
