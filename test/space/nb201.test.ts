import test from 'ava';
import { describeArch } from '../../lib/arch/describe.js';
import { NasxError } from '../../lib/errors.js';
import { canonicalHash } from '../../lib/space/canonical-hash.js';
import {
  NB201_OPS,
  buildNb201,
  canonicalNb201,
  fromNb201String,
  isNb201OutputZero,
  pruneNb201,
  toNb201String,
  type Nb201Arch,
  type Nb201Op,
} from '../../lib/space/nb201-space.js';
import { getSpace } from '../../lib/space/index.js';
import { trainCandidates } from '../../lib/train.js';

const digits = { inputShape: [8, 8, 1] as const, outputSize: 10 };
const mnist = { inputShape: [28, 28, 1] as const, outputSize: 10 };
const space = getSpace('nb201');
const all = [...space.enumerate()];

/** A cell from short op names, edges in the order 1←0, 2←0, 2←1, 3←0, 3←1, 3←2. */
function cell(...ops: ('-' | 'skip' | 'c1' | 'c3' | 'avg')[]): Nb201Arch {
  const names: Record<string, Nb201Op> = { '-': 'none', skip: 'skip_connect', c1: 'nor_conv_1x1', c3: 'nor_conv_3x3', avg: 'avg_pool_3x3' };
  return { type: 'nb201', edges: ops.map((o) => names[o]!) as Nb201Arch['edges'] };
}

test('the space enumerates all 5^6 cells, each once', (t) => {
  t.is(all.length, 15625);
  t.is(new Set(all.map((a) => a.edges.join(','))).size, 15625);
  t.is(space.encodingLength, 30);
});

test('cells round-trip through NAS-Bench-201 strings', (t) => {
  const a = fromNb201String('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|');
  t.deepEqual(a, cell('c3', 'c3', 'avg', 'skip', 'c3', 'skip'));
  for (const c of all) t.deepEqual(fromNb201String(toNb201String(c)), c);
  t.is(new Set(all.map(toNb201String)).size, 15625);
});

test('malformed NAS-Bench-201 strings are rejected with the expected form', (t) => {
  const form =
    'Expected a NAS-Bench-201 cell string like "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|" for arch but received ';
  for (const bad of ['', '|none~0|+|none~0|none~1|', '|none~1|+|none~0|none~1|+|none~0|none~1|none~2|', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2']) {
    const err = t.throws(() => fromNb201String(bad), { instanceOf: NasxError, message: form + JSON.stringify(bad) + ' of type string' });
    t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARCH');
  }
  t.throws(() => fromNb201String(42 as never), { instanceOf: NasxError, message: `${form}42 of type number` });
  t.throws(() => fromNb201String('|none~0|+|none~0|conv_3x3~1|+|none~0|none~1|none~2|'), {
    instanceOf: NasxError,
    message: 'Expected one of "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3" for edge 2←1 but received "conv_3x3" of type string',
  });
});

test('validate names the edge and the op', (t) => {
  t.throws(() => space.validate({ type: 'nb201', edges: ['none', 'none', 'conv_3x3', 'none', 'none', 'none'] } as never), {
    instanceOf: NasxError,
    message: 'Expected one of "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3" for edges[2] but received "conv_3x3" of type string',
  });
  t.throws(() => space.validate({ type: 'nb201', edges: ['none'] } as never), {
    instanceOf: NasxError,
    message: 'Expected an array of 6 items for edges but received an array of length 1',
  });
  t.throws(() => space.validate({ type: 'graph', edges: cell('-', '-', '-', '-', '-', '-').edges } as never), {
    instanceOf: NasxError,
    message: 'Expected "nb201" for type but received "graph" of type string',
  });
});

/** Independent of the pruning code: is there a path of non-none edges from node 0 to node 3? */
function reachesOutput(a: Nb201Arch): boolean {
  const [e10, e20, e21, e30, e31, e32] = a.edges.map((o) => o !== 'none');
  return !!(e30 || (e10 && e31) || (e20 && e32) || (e10 && e21 && e32));
}

test('equivalent cells hash alike: edges into nodes that do not reach the output', (t) => {
  // Node 2 feeds nothing (2→3 is none): its inputs 0→2 and 1→2 cannot matter.
  t.is(space.hash(cell('c3', 'c3', 'avg', 'skip', 'c1', '-')), space.hash(cell('c3', '-', '-', 'skip', 'c1', '-')));
  t.is(space.hash(cell('c3', 'c1', 'skip', 'skip', 'c1', '-')), space.hash(cell('c3', 'avg', 'c3', 'skip', 'c1', '-')));
  // Node 1 feeds nothing: 0→1 cannot matter.
  t.is(space.hash(cell('c3', 'c1', '-', 'avg', '-', 'skip')), space.hash(cell('avg', 'c1', '-', 'avg', '-', 'skip')));
});

test('equivalent cells hash alike: edges out of dead (always zero) nodes', (t) => {
  // Node 1 receives only none: 1→2 and 1→3 carry zeros.
  t.is(space.hash(cell('-', 'c3', 'c1', 'skip', 'avg', 'c3')), space.hash(cell('-', 'c3', '-', 'skip', '-', 'c3')));
  // Node 2's only input is the dead node 1, so node 2 is dead too and 2→3 carries zeros.
  t.is(space.hash(cell('-', '-', 'c3', 'c1', 'avg', 'c3')), space.hash(cell('-', '-', '-', 'c1', '-', '-')));
});

test('equivalent cells hash alike: nodes 1 and 2 swapped when 2←1 is none', (t) => {
  t.is(space.hash(cell('c3', 'avg', '-', 'skip', 'c1', 'c3')), space.hash(cell('avg', 'c3', '-', 'skip', 'c3', 'c1')));
  t.is(space.hash(cell('c1', '-', '-', '-', 'c3', '-')), space.hash(cell('-', 'c1', '-', '-', '-', 'c3')));
});

test('a cell whose output is always zero hashes as one class, whatever its other edges', (t) => {
  const zero = all.filter((a) => !reachesOutput(a));
  t.deepEqual(zero, all.filter(isNb201OutputZero));
  t.is(zero.length, 341);
  t.is(new Set(zero.map((a) => space.hash(a))).size, 1);
  t.is(space.hash(cell('c3', 'c3', 'c3', '-', '-', '-')), space.hash(cell('-', '-', '-', '-', '-', '-')));
  t.is(space.hash(cell('-', '-', '-', '-', 'c3', 'c3')), space.hash(cell('-', '-', '-', '-', '-', '-')));
});

test('genuinely different cells hash differently', (t) => {
  // Another op on a live edge.
  t.not(space.hash(cell('c3', 'c3', 'avg', 'skip', 'c3', 'skip')), space.hash(cell('c1', 'c3', 'avg', 'skip', 'c3', 'skip')));
  // Order matters along a chain 0→1→2→3: conv then pool is not pool then conv.
  t.not(space.hash(cell('c3', '-', 'avg', '-', '-', 'skip')), space.hash(cell('avg', '-', 'c3', '-', '-', 'skip')));
  // With 2←1 present, nodes 1 and 2 are not interchangeable.
  t.not(space.hash(cell('c3', 'avg', 'skip', '-', 'c1', 'c3')), space.hash(cell('avg', 'c3', 'skip', '-', 'c3', 'c1')));
  // An extra live edge.
  t.not(space.hash(cell('-', '-', '-', 'c3', '-', '-')), space.hash(cell('skip', '-', '-', 'c3', 'skip', '-')));
});

test('the canonical form is idempotent and every class is counted', (t) => {
  for (const a of all) {
    const c = canonicalNb201(a);
    t.deepEqual(canonicalNb201(c), c);
    t.deepEqual(pruneNb201(pruneNb201(a)), pruneNb201(a));
    if (space.hash(c) !== space.hash(a)) t.fail(`hash(canonical(${toNb201String(a)})) differs`);
  }
  const hashes = new Set(all.map((a) => space.hash(a)));
  const prunedOnly = new Set(all.map((a) => canonicalHash(pruneNb201(a))));
  t.log(`distinct hashes over 15,625 cells: ${hashes.size} (pruning alone: ${prunedOnly.size})`);
  t.is(prunedOnly.size, 9445);
  t.is(hashes.size, 8765);
});

test('every trainable cell builds and plans; cells that hash alike cost the same', (t) => {
  const costs = new Map<string, string>();
  let built = 0;
  for (const a of all) {
    if (isNb201OutputZero(a)) continue;
    const { params, flops } = space.cost(a, digits);
    const key = `${params}/${flops}`;
    const h = space.hash(a);
    const seen = costs.get(h);
    if (seen !== undefined && seen !== key) t.fail(`${toNb201String(a)} costs ${key} but its class costs ${seen}`);
    costs.set(h, key);
    built++;
  }
  t.is(built, 15625 - 341);
});

test('the build follows the NAS-Bench-201 skeleton and its parameter count', (t) => {
  // The cell is a single 1×1 convolution (node 1 = conv(node 0), node 3 = node 1; node 2 is dead).
  const a = cell('c1', '-', '-', '-', 'skip', '-');
  const arch = buildNb201(a, digits);
  t.deepEqual(
    arch.nodes.map((n) => n.name),
    [
      'stem.conv', 'stem.bn',
      'stage0.cell0.node1.from0.relu', 'stage0.cell0.node1.from0.conv', 'stage0.cell0.node1.from0.bn',
      'reduction1.a.relu', 'reduction1.a.conv', 'reduction1.a.bn', 'reduction1.b.relu', 'reduction1.b.conv', 'reduction1.b.bn',
      'reduction1.shortcut.pool', 'reduction1.shortcut.conv', 'reduction1',
      'stage1.cell0.node1.from0.relu', 'stage1.cell0.node1.from0.conv', 'stage1.cell0.node1.from0.bn',
      'reduction2.a.relu', 'reduction2.a.conv', 'reduction2.a.bn', 'reduction2.b.relu', 'reduction2.b.conv', 'reduction2.b.bn',
      'reduction2.shortcut.pool', 'reduction2.shortcut.conv', 'reduction2',
      'stage2.cell0.node1.from0.relu', 'stage2.cell0.node1.from0.conv', 'stage2.cell0.node1.from0.bn',
      'lastact.bn', 'lastact.relu', 'pool', 'output',
    ],
  );
  const stem = 3 * 3 * 1 * 8 + 2 * 8;
  const cells = [8, 16, 32].reduce((s, c) => s + c * c + 2 * c, 0);
  const reduction = (cin: number, c: number) => 9 * cin * c + 2 * c + 9 * c * c + 2 * c + cin * c;
  const head = 2 * 32 + 32 * 10 + 10;
  const expected = stem + cells + reduction(8, 16) + reduction(16, 32) + head;
  t.is(expected, 20050);
  const plan = describeArch(arch, digits);
  t.is(plan.params, expected);
  t.deepEqual(space.cost(a, digits), { params: plan.params, flops: plan.flops });
  t.deepEqual(plan.nodes.find((n) => n.name === 'pool')!.outputShape, [1, 1, 32]);
  t.deepEqual(plan.nodes.find((n) => n.name === 'reduction2')!.outputShape, [2, 2, 32]);

  // The NAS-Bench-201 size (C=16, N=5) plans on 28×28 inputs too.
  const big = getSpace('nb201', { channels: 16, cellsPerStage: 5 });
  const best = fromNb201String('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
  const bigPlan = describeArch(big.build(best, mnist), mnist);
  t.deepEqual(bigPlan.nodes.find((n) => n.name === 'pool')!.outputShape, [1, 1, 64]);
  t.is(bigPlan.nodes.filter((n) => n.op === 'conv2d' && n.name.startsWith('stage')).length, 15 * 5);
  t.true(describeArch(space.build(best, mnist), mnist).params > 0);
});

test('a cell whose output is always zero cannot be built, with a clear error', (t) => {
  const dead = cell('c3', '-', 'c1', '-', '-', '-');
  space.validate(dead);
  const message =
    'The nb201 cell |nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|none~2| cannot be trained: no path of non-"none" edges joins its input (node 0) to its output (node 3), so it always outputs zero, and the engine has no zero operation';
  for (const fn of [() => space.build(dead, digits), () => space.cost(dead, digits)]) {
    const err = t.throws(fn, { instanceOf: NasxError, message });
    t.is((err as NasxError).code, 'ERR_NASX_INVALID_ARCH');
  }
});

test('build options are validated', (t) => {
  t.throws(() => getSpace('nb201', { chanels: 8 } as never), { instanceOf: RangeError, message: 'Unknown option "chanels" for options; known options are channels, cellsPerStage' });
  t.throws(() => getSpace('nb201', { channels: 0 }), { instanceOf: RangeError, message: 'Expected an integer between 1 and 1024 for options.channels but received 0 of type number' });
  t.throws(() => getSpace('nb201', { cellsPerStage: '2' as never }), { instanceOf: TypeError, message: 'Expected an integer between 1 and 32 for options.cellsPerStage but received "2" of type string' });
});

test('a built cell trains on digits', async (t) => {
  const a = fromNb201String('|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|');
  const [r] = await trainCandidates([space.build(a, digits)], 'digits', { epochs: 1, seed: 1 });
  t.is(r!.status, 'ok', r!.error);
  t.true(Number.isFinite(r!.metrics.trainLoss!));
  t.true(r!.metrics.valAccuracy! >= 0 && r!.metrics.valAccuracy! <= 1);
  t.is(r!.params, space.cost(a, digits).params);
  t.log(`nb201 cell, 1 epoch on digits: val accuracy ${r!.metrics.valAccuracy}, ${r!.params} params`);
});

test('NB201_OPS lists the five operations in the NAS-Bench-201 order', (t) => {
  t.deepEqual([...NB201_OPS], ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']);
});
