import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NasxError } from '../errors.js';

let root: string | undefined;

/** The directory holding nasx's package.json (works from lib/ under tsx and from dist/lib/). */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'native'))) break;
    const parent = path.dirname(dir);
    if (parent === dir) throw new NasxError('ERR_NASX_IO', `Cannot find the nasx package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  root = dir;
  return root;
}
