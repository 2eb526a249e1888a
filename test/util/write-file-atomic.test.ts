import test from 'ava';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NasxError, describeValue } from '../../lib/errors.js';
import { checkWritable, writeFileAtomic } from '../../lib/util/write-file-atomic.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-write-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tmpFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

function fifo(file: string): string {
  const r = spawnSync('mkfifo', [file]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
  return file;
}

test('writes a new file and replaces an existing one, leaving no temporary file', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.json');
  await writeFileAtomic(file, 'one');
  t.is(readFileSync(file, 'utf8'), 'one');
  await writeFileAtomic(file, new Uint8Array([0x74, 0x77, 0x6f]));
  t.is(readFileSync(file, 'utf8'), 'two');
  t.deepEqual(readdirSync(dir), ['out.json']);
});

test('a symbolic link is followed: its target is replaced and the link stays a link', async (t) => {
  const dir = tempDir(t);
  const targets = path.join(dir, 'targets');
  const links = path.join(dir, 'links');
  mkdirSync(targets);
  mkdirSync(links);
  const target = path.join(targets, 'results.json');
  writeFileSync(target, 'old');
  const link = path.join(links, 'results.json');
  symlinkSync('../targets/results.json', link);
  await writeFileAtomic(link, 'new');
  t.true(lstatSync(link).isSymbolicLink());
  t.is(readlinkSync(link), '../targets/results.json');
  t.is(readFileSync(target, 'utf8'), 'new');
  t.deepEqual(readdirSync(targets), ['results.json'], 'the temporary file was in the target directory and is gone');
  t.deepEqual(readdirSync(links), ['results.json']);
});

test('a dangling symbolic link (a chain of them too) creates the file it names, relative to the link', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'sub'));
  const link = path.join(dir, 'link.json');
  symlinkSync('sub/middle.json', link);
  symlinkSync('end.json', path.join(dir, 'sub', 'middle.json'));
  await writeFileAtomic(link, 'created');
  t.true(lstatSync(link).isSymbolicLink());
  t.true(lstatSync(path.join(dir, 'sub', 'middle.json')).isSymbolicLink());
  t.is(readFileSync(path.join(dir, 'sub', 'end.json'), 'utf8'), 'created');
  t.deepEqual(tmpFiles(path.join(dir, 'sub')), []);
});

test('a path that is not a regular file (a directory, a FIFO, a socket) is refused and left as it was', async (t) => {
  const dir = tempDir(t);
  const sub = path.join(dir, 'a-directory');
  mkdirSync(sub);
  await t.throwsAsync(writeFileAtomic(sub, 'x'), { instanceOf: NasxError, message: `Cannot write ${sub}: it is not a regular file (a directory)` });
  t.true(statSync(sub).isDirectory());

  const pipe = fifo(path.join(dir, 'pipe'));
  await t.throwsAsync(writeFileAtomic(pipe, 'x'), { message: `Cannot write ${pipe}: it is not a regular file (a FIFO)` });
  t.true(lstatSync(pipe).isFIFO());

  const socket = path.join(dir, 'socket');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => server.close());
  await t.throwsAsync(writeFileAtomic(socket, 'x'), { message: `Cannot write ${socket}: it is not a regular file (a socket)` });
  t.true(lstatSync(socket).isSocket());

  const link = path.join(dir, 'link-to-directory');
  symlinkSync(sub, link);
  await t.throwsAsync(writeFileAtomic(link, 'x'), { message: `Cannot write ${link}: it is not a regular file (a directory)` });
  t.true(lstatSync(link).isSymbolicLink());
  t.deepEqual(tmpFiles(dir), []);
});

test('write errors say why: a missing directory, a file as directory, a symbolic link loop', async (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'missing', 'x.json');
  const err = await t.throwsAsync(writeFileAtomic(missing, 'x'), { message: `Cannot write ${missing}: the directory ${path.join(dir, 'missing')} does not exist` });
  t.is((err as NasxError).code, 'ERR_NASX_IO');
  const file = path.join(dir, 'file');
  writeFileSync(file, '');
  await t.throwsAsync(writeFileAtomic(path.join(file, 'x.json'), 'x'), { message: `Cannot write ${path.join(file, 'x.json')}: ${file} is not a directory` });
  const a = path.join(dir, 'a');
  symlinkSync('b', a);
  symlinkSync('a', path.join(dir, 'b'));
  await t.throwsAsync(writeFileAtomic(a, 'x'), { message: `Cannot write ${a}: it is a symbolic link that loops` });
  const danglingIntoNowhere = path.join(dir, 'dangling');
  symlinkSync(path.join(dir, 'nowhere', 'x.json'), danglingIntoNowhere);
  await t.throwsAsync(writeFileAtomic(danglingIntoNowhere, 'x'), {
    message: `Cannot write ${danglingIntoNowhere}: the directory ${path.join(dir, 'nowhere')} does not exist`,
  });
});

test('a path that is not a file path (not a string, empty, with a NUL byte) is refused with the argument named', async (t) => {
  for (const file of [5, Symbol('f'), null, undefined]) {
    await t.throwsAsync(writeFileAtomic(file as string, 'x'), { instanceOf: TypeError, message: `Expected a file path (a string) for file but received ${describeValue(file)}` });
  }
  await t.throwsAsync(writeFileAtomic(7 as unknown as string, 'x', 'options.out'), { instanceOf: TypeError, message: 'Expected a file path (a string) for options.out but received 7 of type number' });
  await t.throwsAsync(writeFileAtomic('', 'x'), { instanceOf: RangeError, message: 'Expected a file path (a non-empty string without NUL bytes) for file but received "" of type string' });
  await t.throwsAsync(writeFileAtomic('a\0b', 'x'), { instanceOf: RangeError, message: 'Expected a file path (a non-empty string without NUL bytes) for file but received "a\\u0000b" of type string' });
});

test('checkWritable accepts an absent file or a regular file (through links) in a writable directory, and writes nothing', async (t) => {
  const dir = tempDir(t);
  await checkWritable(path.join(dir, 'new.json'), '--out');
  const existing = path.join(dir, 'existing.json');
  writeFileSync(existing, 'keep');
  await checkWritable(existing, '--out');
  symlinkSync('existing.json', path.join(dir, 'link.json'));
  await checkWritable(path.join(dir, 'link.json'), '--out');
  symlinkSync('not-yet.json', path.join(dir, 'dangling.json'));
  await checkWritable(path.join(dir, 'dangling.json'), '--out');
  t.deepEqual(readdirSync(dir).sort(), ['dangling.json', 'existing.json', 'link.json']);
  t.is(readFileSync(existing, 'utf8'), 'keep');
});

test('checkWritable refuses up front, naming the flag: a missing directory, a file as directory, not a regular file', async (t) => {
  const dir = tempDir(t);
  await t.throwsAsync(checkWritable('/nonexistent/x.json', '--out'), {
    instanceOf: NasxError,
    message: 'Cannot write --out /nonexistent/x.json: the directory /nonexistent does not exist',
  });
  const file = path.join(dir, 'file');
  writeFileSync(file, '');
  await t.throwsAsync(checkWritable(path.join(file, 'm.nasx'), '--save'), { message: `Cannot write --save ${path.join(file, 'm.nasx')}: ${file} is not a directory` });
  await t.throwsAsync(checkWritable(dir, '--export'), { message: `Cannot write --export ${dir}: it is not a regular file (a directory)` });
  await t.throwsAsync(checkWritable('/dev/null', '--out'), { message: 'Cannot write --out /dev/null: it is not a regular file (a character device)' });
  const pipe = fifo(path.join(dir, 'pipe'));
  await t.throwsAsync(checkWritable(pipe, '--out'), { message: `Cannot write --out ${pipe}: it is not a regular file (a FIFO)` });
  const link = path.join(dir, 'link');
  symlinkSync(path.join(dir, 'nowhere', 'x.json'), link);
  await t.throwsAsync(checkWritable(link, '--out'), { message: `Cannot write --out ${link}: the directory ${path.join(dir, 'nowhere')} does not exist` });
});

// Root may write anywhere, so this can only be seen as another user.
const asUser = process.getuid?.() === 0 ? test.skip : test;

asUser('checkWritable and writeFileAtomic refuse a directory without write permission', async (t) => {
  const dir = tempDir(t);
  const locked = path.join(dir, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o500);
  t.teardown(() => chmodSync(locked, 0o700));
  const file = path.join(locked, 'x.json');
  await t.throwsAsync(checkWritable(file, '--out'), { message: `Cannot write --out ${file}: permission denied in ${locked}` });
  await t.throwsAsync(writeFileAtomic(file, 'x'), { message: `Cannot write ${file}: permission denied in ${locked}` });
});
