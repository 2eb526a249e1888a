#!/usr/bin/env node
// The nasx command: runs the compiled CLI (dist/), built by `npm install` (prepare) or `npm run build:ts`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const entry = path.join(root, 'dist', 'lib', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`nasx: ${entry} is missing; run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
// Output piped into a reader that stops early (`nasx proxy --json | head`): end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
