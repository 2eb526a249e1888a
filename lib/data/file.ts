/**
 * Reading data files that may or may not be gzipped, shared by the IDX and CSV readers.
 */

import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { NasxError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

/** True when the bytes start with the gzip magic number 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The contents of a data file and whether they were gunzipped (for error messages). */
export interface DataFileContents {
  readonly bytes: Uint8Array;
  readonly gzipped: boolean;
}

/**
 * Reads a file, gunzipping it (off the main thread) when it starts with the gzip magic number,
 * whatever its name. `kind` names the file in messages, e.g. "IDX file".
 */
export async function readDataFile(path: string, kind: string): Promise<DataFileContents> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (error) {
    throw new NasxError('ERR_NASX_IO', `Cannot read ${kind} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isGzip(raw)) return { bytes: raw, gzipped: false };
  try {
    return { bytes: await gunzipAsync(raw), gzipped: true };
  } catch (error) {
    throw new NasxError(
      'ERR_NASX_DATA',
      `Corrupt gzip data in ${kind} ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
