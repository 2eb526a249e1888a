// Every public function of lib/index.ts that takes user input, called with random and mutated
// arguments (scripts/fuzz/api-cases.ts), in child processes: each call must return or throw a
// TypeError/RangeError in the project's wording or a NasxError — never another exception, a crash,
// a hang or runaway memory. A failure names the call, how its arguments were made and how to replay it.
import test from 'ava';
import { formatFailures, runCases } from '../../scripts/fuzz/cases.js';

const SEED = 1;
const CALLS = 1000;

test(`${CALLS} random calls of the public API (seed ${SEED}) each return or throw a clear refusal`, async (t) => {
  const report = await runCases({ suite: 'api', seed: SEED, count: CALLS });
  t.log(`${report.calls} calls in ${report.seconds.toFixed(1)} s; per function (calls/returned): ${Object.entries(report.perFunction).map(([f, s]) => `${f} ${s.calls}/${s.returned}`).join(', ')}`);
  t.is(report.calls, CALLS);
  // Not vacuous: every function is called, and a good share of the calls get past argument checking.
  const returned = Object.values(report.perFunction).reduce((a, s) => a + s.returned, 0);
  t.true(Object.keys(report.perFunction).length >= 20, `only ${Object.keys(report.perFunction).length} functions were called`);
  t.true(returned > CALLS / 10, `only ${returned} of ${CALLS} calls returned`);
  if (report.failures.length > 0) t.fail(`${report.failures.length} of ${report.calls} calls did not end in a clear refusal:\n${formatFailures(report)}`);
});
