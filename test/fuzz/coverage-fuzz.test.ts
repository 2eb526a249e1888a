// A short run of the coverage-guided fuzzer (scripts/fuzz-js.ts) on every target, with a fixed seed
// and a fixed number of inputs (so that a run is the same on a fast or a loaded machine): no input may
// crash, hang, exhaust memory or make a parser throw anything but a clear refusal, and the run must
// reach code the seed corpus does not (so that the test cannot pass by doing nothing).
import test from 'ava';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fuzzTarget, type Finding } from '../../scripts/fuzz/supervisor.js';
import { TARGETS } from '../../scripts/fuzz/targets.js';

const RUNS = 2500;
/** Only a safety limit: RUNS inputs take 3-8 s per target. */
const SECONDS = 90;
const SEED = 1;
/** Findings are kept (outside the tree) so that a failure can be replayed with --reproduce. */
const findingsDir = path.join(tmpdir(), 'nasx-fuzz-findings');

/** The input as text when it is printable UTF-8, else base64. */
function shown(input: Uint8Array): string {
  const text = Buffer.from(input).toString('utf8');
  const printable = !text.includes('\ufffd') && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  const body = printable ? JSON.stringify(text) : `base64 ${Buffer.from(input).toString('base64')}`;
  return body.length > 1500 ? `${body.slice(0, 1500)}… (${input.length} bytes)` : body;
}

function describe(f: Finding): string {
  const where = f.stack.split('\n').find((l) => /\/lib\//.test(l))?.trim();
  return `${f.kind}: ${f.reason}${where ? `\n    ${where}` : ''}\n    input: ${shown(f.input)}\n    saved: ${f.file} (reproduce: node --import tsx scripts/fuzz-js.ts --target ${f.target} --reproduce ${f.file})`;
}

for (const target of TARGETS) {
  test.serial(`fuzzing ${target.name} with ${RUNS} inputs (seed ${SEED}) finds nothing and grows coverage beyond the seed corpus`, async (t) => {
    const report = await fuzzTarget({ target: target.name, runs: RUNS, seconds: SECONDS, seed: SEED, findingsDir });
    t.log(`${report.executions} executions (${report.executionsPerSecond.toFixed(0)}/s), corpus ${report.seeds} → ${report.corpus}, blocks ${report.seedBlocks} → ${report.blocks}`);
    t.true(report.seeds > 0, `the seed corpus test/fuzz/corpus/${target.corpus ?? target.name}/ is empty`);
    t.true(report.executions >= RUNS || report.findings.length > 0, `only ${report.executions} of ${RUNS} inputs ran in ${SECONDS} s`);
    t.true(report.blocks > report.seedBlocks, `coverage did not grow: ${report.blocks} blocks, the seeds alone cover ${report.seedBlocks}`);
    if (report.findings.length > 0) t.fail(`fuzzing ${target.name} (seed ${SEED}) found:\n${report.findings.map(describe).join('\n')}`);
  });
}
