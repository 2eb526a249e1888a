// The nasx command with random flags and values (scripts/fuzz/cli-cases.ts), each run in its own
// process with a time limit and a memory watchdog: exit status 0, 1, 2 or 130 only, never a signal or
// a stack trace, and a usage error is one `nasx: ...` line on stderr.
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveModel } from '../../lib/export/model-file.js';
import { trainModel } from '../../lib/export/train-model.js';
import { cliCase, judgeCli, runNasx, type CliFixtures } from '../../scripts/fuzz/cli-cases.js';
import { FuzzRng } from '../../scripts/fuzz/mutate.js';
import { SEED_CORPUS_DIR } from '../../scripts/fuzz/supervisor.js';

const SEED = 1;
const CASES = 48;

let fx: CliFixtures;

test.before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nasx-cli-fuzz-'));
  const modelFile = path.join(dir, 'model.nasx');
  await saveModel(await trainModel({ type: 'mlp', layers: [{ units: 8 }] }, 'digits', { epochs: 1 }), modelFile);
  const csvFile = path.join(dir, 'table.csv');
  const rows = ['f1,f2,f3,label'];
  for (let i = 0; i < 40; i++) rows.push(`${i % 5},${(i * 7) % 3},${i / 10},${i % 3}`);
  writeFileSync(csvFile, `${rows.join('\n')}\n`);
  const spaceFile = path.join(dir, 'space.json');
  writeFileSync(spaceFile, readFileSync(path.join(SEED_CORPUS_DIR, 'json-space', 'user-mlp.json')));
  const archDir = path.join(SEED_CORPUS_DIR, 'arch');
  const archs = readdirSync(archDir).sort().map((f) => JSON.parse(readFileSync(path.join(archDir, f), 'utf8')) as unknown);
  const spaceDir = path.join(SEED_CORPUS_DIR, 'json-space');
  const spaces = readdirSync(spaceDir).sort().map((f) => JSON.parse(readFileSync(path.join(spaceDir, f), 'utf8')) as unknown);
  fx = { dir, modelFile, csvFile, spaceFile, archs, spaces };
});
test.after.always(() => rmSync(fx.dir, { recursive: true, force: true }));

test(`${CASES} random nasx command lines (seed ${SEED}) end with status 0, 1, 2 or 130 and a clear message`, async (t) => {
  const failures: string[] = [];
  const codes: Record<string, number> = {};
  for (let i = 0; i < CASES; i++) {
    const { args, notes } = cliCase(new FuzzRng(SEED * 100_003 + i), fx);
    const outcome = await runNasx(args, fx.dir);
    codes[String(outcome.code ?? outcome.signal)] = (codes[String(outcome.code ?? outcome.signal)] ?? 0) + 1;
    const why = judgeCli(outcome);
    if (why) {
      failures.push(`case ${i} (seed ${SEED}): nasx ${args.map((a) => (/^[\w./,=-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}\n  changed: ${notes.join('; ') || 'nothing'}\n  ${why}`);
    }
  }
  t.log(`exit statuses: ${JSON.stringify(codes)}`);
  t.true((codes['0'] ?? 0) > 0 && (codes['2'] ?? 0) > 0, `expected both successful runs and usage errors, got ${JSON.stringify(codes)}`);
  if (failures.length > 0) t.fail(`${failures.length} of ${CASES} command lines misbehaved:\n${failures.join('\n')}`);
});
