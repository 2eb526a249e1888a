/**
 * The built-in data sets, by name: `digits` (shipped inside the package) and `fashion-mnist` (found
 * on disk, or downloaded and verified).
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { packageRoot } from '../util/package-root.js';
import { NasxError } from '../errors.js';
import { readCsv } from './csv.js';
import { readIdxDataset } from './idx.js';
import type { RawDataset } from './split.js';

export const BUILTIN_DATASET_NAMES = ['digits', 'fashion-mnist'] as const;
export type BuiltinDatasetName = (typeof BUILTIN_DATASET_NAMES)[number];

export interface BuiltinDatasetOptions {
  /**
   * Directories to look in, in order, for data sets that live outside the package (Fashion-MNIST).
   * Default: `defaultSearchPaths(name)`.
   */
  searchPaths?: readonly string[];
  /** Where downloads are written (default `<userCacheDir()>/<name>`). */
  cacheDir?: string;
  /** Download when the files are not found (default true). */
  download?: boolean;
  /** Base URL of the download (default: the upstream Fashion-MNIST files). */
  downloadBaseUrl?: string;
}

/** A built-in data set, located: `files` identify it (for caching); `read()` decodes them. */
export interface BuiltinLocation {
  readonly name: BuiltinDatasetName;
  readonly files: readonly string[];
  read(): Promise<RawDataset>;
}

export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/**
 * The four upstream files with the SHA-256 of their *decompressed* contents (the IDX bytes). The
 * gzip wrappers differ between copies (Debian's repacked files carry no original file name, so their
 * .gz checksums differ from upstream's) while the contents are identical, so the contents are what
 * a download is checked against.
 */
export const FASHION_MNIST_FILES = [
  {
    file: 'train-images-idx3-ubyte.gz',
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  },
  {
    file: 'train-labels-idx1-ubyte.gz',
    sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  },
  {
    file: 't10k-images-idx3-ubyte.gz',
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  },
  {
    file: 't10k-labels-idx1-ubyte.gz',
    sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
  },
] as const;

/** Debian's `dataset-fashion-mnist` installs the upstream files here. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** A download that receives nothing for this long is abandoned. */
const DOWNLOAD_IDLE_TIMEOUT_MS = 30_000;

export { packageRoot };

/** nasx's user cache directory: `$XDG_CACHE_HOME/nasx`, or `~/.cache/nasx`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'nasx');
}

/**
 * Where a data set that lives outside the package is looked for, in order:
 * `$NASX_DATA_DIR/<name>`, `<userCacheDir()>/<name>`, then the system directory (Debian's).
 */
export function defaultSearchPaths(name: 'fashion-mnist', env: NodeJS.ProcessEnv = process.env): string[] {
  const paths: string[] = [];
  if (env.NASX_DATA_DIR) paths.push(join(env.NASX_DATA_DIR, name));
  paths.push(join(userCacheDir(env), name), DEBIAN_FASHION_MNIST_DIR);
  return paths;
}

const LOCATORS: Record<BuiltinDatasetName, (options: BuiltinDatasetOptions) => Promise<BuiltinLocation>> = {
  digits: locateDigits,
  'fashion-mnist': locateFashionMnist,
};

/** Finds a built-in data set's files (downloading them if allowed and needed). */
export function locateBuiltin(name: BuiltinDatasetName, options: BuiltinDatasetOptions = {}): Promise<BuiltinLocation> {
  return LOCATORS[name](options);
}

async function locateDigits(): Promise<BuiltinLocation> {
  const path = join(packageRoot(), 'data', 'digits', 'digits.csv.gz');
  if (!(await isFile(path))) {
    throw new NasxError(
      'ERR_NASX_DATA_NOT_FOUND',
      `The embedded digits data set is missing: ${path} does not exist. The nasx installation is ` +
        'incomplete; reinstall the package.',
    );
  }
  return {
    name: 'digits',
    files: [path],
    async read() {
      const table = await readCsv(path, { header: false, task: 'classification', numClasses: 10 });
      if (table.featureNames.length !== 64) {
        throw new NasxError(
          'ERR_NASX_DATA',
          `Expected 64 pixel values per row in ${path} but found ${table.featureNames.length}`,
        );
      }
      return {
        name: 'digits',
        task: 'classification',
        inputShape: [8, 8, 1],
        outputSize: 10,
        classNames: table.classNames,
        scale: 1 / 16,
        train: { x: table.features, y: table.labels, count: table.count },
      };
    },
  };
}

async function locateFashionMnist(options: BuiltinDatasetOptions): Promise<BuiltinLocation> {
  const searchPaths = options.searchPaths ?? defaultSearchPaths('fashion-mnist');
  let files: string[] | undefined;
  for (const dir of searchPaths) {
    files = await findFiles(dir);
    if (files !== undefined) break;
  }
  if (files === undefined) {
    const cacheDir = options.cacheDir ?? join(userCacheDir(), 'fashion-mnist');
    const baseUrl = options.downloadBaseUrl ?? FASHION_MNIST_URL;
    if (options.download === false) {
      throw fashionMnistNotFound(searchPaths, cacheDir, 'Download skipped (download: false).');
    }
    try {
      files = await downloadFashionMnist(cacheDir, baseUrl);
    } catch (error) {
      throw fashionMnistNotFound(
        searchPaths,
        cacheDir,
        `Downloading from ${baseUrl} into ${cacheDir} failed: ${describeError(error)}.`,
        error,
      );
    }
  }
  const [trainImages, trainLabels, testImages, testLabels] = files;
  return {
    name: 'fashion-mnist',
    files,
    read: () =>
      readIdxDataset(
        { trainImages, trainLabels, testImages, testLabels },
        { name: 'fashion-mnist', classNames: FASHION_MNIST_CLASS_NAMES, imageShape: [28, 28, 1], scale: 1 / 255 },
      ),
  };
}

/** The four files in `dir`, each gzipped (`x.gz`) or not (`x`); undefined unless all are there. */
async function findFiles(dir: string): Promise<string[] | undefined> {
  const found: string[] = [];
  for (const { file } of FASHION_MNIST_FILES) {
    const candidates = [join(dir, file), join(dir, file.slice(0, -'.gz'.length))];
    let path: string | undefined;
    for (const candidate of candidates) {
      if (await isFile(candidate)) {
        path = candidate;
        break;
      }
    }
    if (path === undefined) return undefined;
    found.push(path);
  }
  return found;
}

async function downloadFashionMnist(cacheDir: string, baseUrl: string): Promise<string[]> {
  await mkdir(cacheDir, { recursive: true });
  const paths: string[] = [];
  for (const { file, sha256 } of FASHION_MNIST_FILES) {
    const path = join(cacheDir, file);
    // A file already in the cache dir (but not a full set, or we would not be here) is re-checked.
    if (!(await isFile(path)) || (await sha256OfContents(path).catch(() => '')) !== sha256) {
      await downloadVerified(new URL(file, baseUrl).href, path, sha256);
    }
    paths.push(path);
  }
  return paths;
}

/**
 * Downloads `url` to a temporary file next to `dest`, checks the SHA-256 of its decompressed
 * contents, and only then renames it into place, so `dest` is never a partial or wrong file.
 */
async function downloadVerified(url: string, dest: string, sha256: string): Promise<void> {
  const temp = `${dest}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new Error(`no data received for ${DOWNLOAD_IDLE_TIMEOUT_MS / 1000} s`)),
      DOWNLOAD_IDLE_TIMEOUT_MS,
    );
  };
  rearm();
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (!response.ok || response.body === null) {
      throw new Error(`GET ${url} answered HTTP ${response.status} ${response.statusText}`);
    }
    const watchdog = new Transform({
      transform(chunk, _encoding, callback) {
        rearm();
        callback(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>),
      watchdog,
      createWriteStream(temp),
      { signal: controller.signal },
    );
    clearTimeout(timer);
    let actual: string;
    try {
      actual = await sha256OfContents(temp);
    } catch (error) {
      throw new Error(`${url} is not a gzip file: ${(error as Error).message}`);
    }
    if (actual !== sha256) {
      throw new Error(`checksum mismatch for ${url}: expected SHA-256 ${sha256} of its contents but got ${actual}`);
    }
    await rename(temp, dest);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** SHA-256 (hex) of a gzip file's decompressed contents. */
async function sha256OfContents(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), createGunzip(), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hash.update(chunk);
  });
  return hash.digest('hex');
}

function fashionMnistNotFound(
  searchPaths: readonly string[],
  cacheDir: string,
  downloadOutcome: string,
  cause?: unknown,
): NasxError {
  const files = FASHION_MNIST_FILES.map((f) => f.file);
  const looked =
    searchPaths.length === 0 ? ' (no directories to search)' : `:\n${searchPaths.map((p) => `  ${p}`).join('\n')}`;
  return new NasxError(
    'ERR_NASX_DATA_NOT_FOUND',
    `Fashion-MNIST was not found. Looked for ${files.slice(0, -1).join(', ')} and ${files.at(-1)} in` +
      `${looked}\n${downloadOutcome}\n` +
      'Provide the files in one of three ways:\n' +
      '  - set NASX_DATA_DIR to a directory whose fashion-mnist/ subdirectory holds them;\n' +
      `  - put them in ${cacheDir};\n` +
      `  - apt-get install dataset-fashion-mnist (installs them in ${DEBIAN_FASHION_MNIST_DIR}).`,
    cause === undefined ? undefined : { cause },
  );
}

/** An error's message followed by its causes' (fetch hides the useful part in `cause`). */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && parts.length < 4; ) {
    if (e instanceof Error) {
      const code = (e as NodeJS.ErrnoException).code;
      const message = e.message || (e instanceof AggregateError ? e.errors.map(describeError).join('; ') : '');
      parts.push(message || code || e.name);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(': ');
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
