// Shared by the data tests: IDX bytes built by hand and self-cleaning temporary directories.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** IDX bytes: 0x00 0x00 type rank, big-endian dims, then `data` (unsigned bytes unless `type` says). */
export function idxBytes(dims: number[], data: ArrayLike<number>, type = 0x08): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * dims.length + data.length);
  bytes.set([0, 0, type, dims.length]);
  const view = new DataView(bytes.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  bytes.set(data, 4 + 4 * dims.length);
  return bytes;
}

/** `count` images of height×width with pixel value (i·7 + j) mod 256 and labels i mod classes. */
export function imageSet(count: number, height: number, width: number, classes: number) {
  const pixels = new Uint8Array(count * height * width);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < height * width; j++) pixels[i * height * width + j] = (i * 7 + j) % 256;
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % classes);
  return { images: idxBytes([count, height, width], pixels), labels: idxBytes([count], labels), pixels };
}

/** A fresh temporary directory, removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nasx-data-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
