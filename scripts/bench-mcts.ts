/**
 * `npm run bench:mcts`: MCTS rollouts per second of the native engine, single-threaded and on every
 * thread, against the TypeScript rollout (lib/strategies/mcts-rollout.ts) measured in the same run.
 *
 *   npm run bench:mcts -- [--threads N] [--rounds R] [--seconds S] [--json]
 *
 * Workload: the nb201 space (6 decisions of 5 options) with a surrogate of linear and pairwise
 * weights (random, seeded), rollouts from the root and from a depth-2 prefix, top 16 kept — what
 * the `mcts` strategy asks for each proposal. Each peer repeats calls for --seconds per round; the
 * peers alternate within each round, so load from other work on the machine falls on all of them;
 * figures are medians over rounds. The native and TypeScript results are checked to be identical.
 * Target: native single-thread ≥ 20× the TypeScript rollout.
 */
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { checkInteger, checkNumber } from '../lib/errors.js';
import { native } from '../lib/native/binding.js';
import { createNb201Space } from '../lib/space/nb201-space.js';
import {
  decisionStructure,
  featureCount,
  nativeRollouts,
  tsRollouts,
  type DecisionStructure,
  type RolloutOptions,
  type RolloutSurrogate,
} from '../lib/strategies/mcts-rollout.js';
import { createRng } from '../lib/util/rng.js';

const USAGE = `Usage: npm run bench:mcts -- [options]
  --threads N    threads of the multi-threaded native peer (default: all hardware threads)
  --rounds R     rounds of all peers; figures are medians (default 5)
  --seconds S    seconds per peer per round (default 1)
  --json         print one JSON object instead of the table
  --help         this text`;

const TARGET_PER_THREAD = 20;
const PREFIXES: number[][] = [[], [3, 1]];
/** Rollouts per prefix per call: large enough that call overhead is noise. */
const ROLLOUTS = 1 << 16;

interface Peer {
  name: string;
  threads: number;
  call: () => Promise<void> | void;
  perSecond: number[];
}

function surrogateFor(structure: DecisionStructure): RolloutSurrogate {
  const rng = createRng(7);
  const f = featureCount(structure);
  return {
    bias: 85,
    linear: Float64Array.from({ length: f }, () => 4 * rng.next() - 2),
    pairwise: Float64Array.from({ length: f * f }, () => rng.next() - 0.5),
  };
}

async function measure(peer: Peer, rolloutsPerCall: number, seconds: number): Promise<void> {
  const start = performance.now();
  let calls = 0;
  let elapsed = 0;
  do {
    await peer.call();
    calls++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds);
  peer.perSecond.push((calls * rolloutsPerCall) / elapsed);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
};

async function main(): Promise<void> {
  const hardwareThreads = native().buildInfo.hardwareThreads;
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      threads: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const threads = values.threads === undefined ? hardwareThreads : checkInteger('--threads', Number(values.threads), 1, 1024);
  const rounds = values.rounds === undefined ? 5 : checkInteger('--rounds', Number(values.rounds), 1, 1000);
  const seconds = values.seconds === undefined ? 1 : checkNumber('--seconds', Number(values.seconds), 0.01, 600);

  const space = createNb201Space();
  const structure = decisionStructure(space)!;
  const surrogate = surrogateFor(structure);
  const options = (t: number): RolloutOptions => ({ rollouts: ROLLOUTS, seed: 1, topK: 16, threads: t });

  // The two implementations agree exactly (same seed → same statistics and best sequences).
  const check = { ...options(1), rollouts: 8192 };
  const identical = isDeepStrictEqual(await nativeRollouts(structure, surrogate, PREFIXES, check), tsRollouts(structure, surrogate, PREFIXES, check));

  const perCall = ROLLOUTS * PREFIXES.length;
  const peers: Peer[] = [
    { name: 'native, 1 thread', threads: 1, call: async () => void (await nativeRollouts(structure, surrogate, PREFIXES, options(1))), perSecond: [] },
    {
      name: `native, ${threads} threads`,
      threads,
      call: async () => void (await nativeRollouts(structure, surrogate, PREFIXES, options(threads))),
      perSecond: [],
    },
    { name: 'TypeScript', threads: 1, call: () => void tsRollouts(structure, surrogate, PREFIXES, options(1)), perSecond: [] },
  ];
  // Warm-up: JIT for the TypeScript peer, page faults and thread start-up for the native ones.
  for (const p of peers) await measure(p, perCall, Math.min(0.3, seconds));
  for (const p of peers) p.perSecond.length = 0;
  for (let r = 0; r < rounds; r++) {
    for (const p of peers) await measure(p, perCall, seconds);
    process.stderr.write(`round ${r + 1}/${rounds}: ${peers.map((p) => `${p.name} ${(p.perSecond[r]! / 1e6).toFixed(2)}M/s`).join(', ')}\n`);
  }

  const [one, all, ts] = peers.map((p) => median(p.perSecond)) as [number, number, number];
  const result = {
    workload: { space: 'nb201', slots: structure.slotOptions.length, features: featureCount(structure), pairwise: true, prefixes: PREFIXES, rolloutsPerCall: perCall, topK: 16 },
    hardwareThreads,
    rounds,
    secondsPerRound: seconds,
    identical,
    rolloutsPerSecond: { native1: one, nativeAll: all, typescript: ts },
    threads,
    ratios: { native1VsTypescript: one / ts, nativeAllVsTypescript: all / ts, nativeAllVsNative1: all / one, perThreadVsTypescript: all / threads / ts },
    target: { native1VsTypescript: TARGET_PER_THREAD, met: one / ts >= TARGET_PER_THREAD },
  };
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const m = (x: number) => `${(x / 1e6).toFixed(2)} M/s`;
  console.log(`MCTS rollouts on nb201 (6 decisions × 5 options, linear + pairwise surrogate), median of ${rounds} rounds of ${seconds} s`);
  console.log(`  native, 1 thread          ${m(one).padStart(12)}   ${(one / ts).toFixed(1)}× TypeScript (target ≥ ${TARGET_PER_THREAD}×: ${one / ts >= TARGET_PER_THREAD ? 'met' : 'NOT met'})`);
  console.log(`  native, ${String(threads).padEnd(3)} threads      ${m(all).padStart(12)}   ${(all / ts).toFixed(1)}× TypeScript, ${(all / one).toFixed(1)}× one thread (${((all / one / threads) * 100).toFixed(0)}% scaling)`);
  console.log(`  TypeScript (1 thread)     ${m(ts).padStart(12)}`);
  console.log(`  native and TypeScript results identical: ${identical ? 'yes' : 'NO'}`);
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
