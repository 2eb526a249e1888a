/**
 * Writes the seed corpora of the native fuzzers (native/fuzz) from real architectures: samples of the
 * built-in spaces and of the test fixtures' JSON spaces, lowered to the engine's nodes exactly as
 * training lowers them, and the MCTS decision structures of those spaces. The byte format is the one
 * native/fuzz/decode.h reads.
 *
 *   node --import tsx scripts/fuzz-corpus.ts        (rewrites native/fuzz/corpus/{plan,train,mcts})
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lowerArch } from '../lib/arch/arch.js';
import type { NativeNode } from '../lib/native/binding.js';
import { getSpace, loadSearchSpace, type DslSpace } from '../lib/space/index.js';
import { decisionStructure } from '../lib/strategies/mcts-rollout.js';
import { packageRoot } from '../lib/util/package-root.js';
import { createRng } from '../lib/util/rng.js';

const root = packageRoot();
const OPS: NativeNode['op'][] = [
  'dense', 'conv2d', 'depthwise_conv2d', 'max_pool', 'avg_pool', 'global_avg_pool', 'batch_norm', 'dropout', 'activation', 'flatten', 'add',
];
const ACTS = ['identity', 'relu', 'gelu', 'tanh', 'sigmoid'];
// decode.h's size(): bytes 0–199 are -8…191; bytes from 200 index its table of edge values.
const EDGES = [
  0, -1, 1, 2, 3, 4, 5, 7, 8, 16, 255, 256, 1024, 4096, 65535, 65536, 1 << 20, 1 << 24, 1 << 30, 2147483647, -2147483648, -65536, 200000,
  1048576, 4097, 8191, 8193, 12, 28, 32, 64, 100, 127, 128, 129, 511, 512, 513, 2047, 2048, 2049, 16383, 16384, 16385, 32767, 32768,
  131072, 262144, 524288, 6, 9, 10, 11, 13, 15, 17,
];

function sizeByte(v: number): number {
  if (v >= -8 && v <= 191) return v + 8;
  const exact = EDGES.indexOf(v);
  if (exact >= 0) return 200 + exact;
  // The nearest representable value keeps the seed's shape of the network.
  let best = 0;
  EDGES.forEach((e, i) => {
    if (Math.abs(e - v) < Math.abs(EDGES[best]! - v)) best = i;
  });
  return Math.abs(EDGES[best]! - v) < Math.abs(191 - v) ? 200 + best : 199;
}

function encodeNodes(nodes: readonly NativeNode[]): number[] {
  const out: number[] = [];
  for (const n of nodes) {
    let a = 0;
    let b = 0;
    let c = 0;
    if (n.op === 'dense') a = sizeByte(n.units ?? 0);
    if (n.op === 'conv2d') a = sizeByte(n.filters ?? 0);
    if (['conv2d', 'depthwise_conv2d', 'max_pool', 'avg_pool'].includes(n.op)) {
      b = sizeByte(n.kernel ?? 0);
      c = sizeByte(n.stride ?? 1);
    }
    if (n.op === 'dropout') a = Math.max(0, Math.min(255, Math.round(((n.rate ?? 0) + 0.25) * 128)));
    if (n.op === 'activation') a = Math.max(0, ACTS.indexOf(n.activation ?? 'identity'));
    const inputs = n.inputs ?? [];
    const flags = (inputs.length > 0 ? 1 : 0) | (inputs.length > 1 ? 2 : 0) | (n.bias === false ? 4 : 0) | (n.project ? 8 : 0);
    out.push(OPS.indexOf(n.op), a, b, c, flags, (inputs[0] ?? -1) + 2, (inputs[1] ?? -1) + 2);
  }
  return out;
}

function write(dir: string, name: string, bytes: number[]): void {
  writeFileSync(path.join(dir, name), Uint8Array.from(bytes.map((b) => b & 0xff)));
}

function fresh(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(path.join(dir, f));
  return dir;
}

const corpus = path.join(root, 'native', 'fuzz', 'corpus');
const planDir = fresh(path.join(corpus, 'plan'));
const trainDir = fresh(path.join(corpus, 'train'));
const mctsDir = fresh(path.join(corpus, 'mcts'));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const spaces: { space: DslSpace<any>; shape: [number, number, number]; outputs: number }[] = [
  { space: getSpace('mlp'), shape: [8, 8, 1], outputs: 10 },
  { space: getSpace('cnn'), shape: [8, 8, 1], outputs: 10 },
  { space: getSpace('cnn'), shape: [28, 28, 1], outputs: 10 },
  { space: getSpace('nb201'), shape: [8, 8, 3], outputs: 10 },
  { space: await loadSearchSpace(path.join(root, 'test', 'space', 'fixtures', 'user-mlp.json')), shape: [1, 1, 12], outputs: 3 },
];
let planned = 0;
const rng = createRng(2026);
for (const [k, { space, shape, outputs }] of spaces.entries()) {
  for (let i = 0; i < 6; i++) {
    const arch = space.sample(rng);
    let nodes: NativeNode[];
    try {
      nodes = lowerArch(space.build(arch, { inputShape: shape, outputSize: outputs }), outputs);
    } catch {
      continue;  // e.g. an nb201 cell whose output is always zero
    }
    const body = encodeNodes(nodes);
    write(planDir, `${space.name}-${k}-${i}`, [sizeByte(shape[0]), sizeByte(shape[1]), sizeByte(shape[2]), sizeByte(outputs), 3, ...body]);
    // train: h w c task outputs count val epochs batch optimizer lr fraction resolution threads warmup keep memory cancel,
    // then the data, labels, targets and one candidate.
    const tiny = [1, 1, 4];
    if (space.name === 'mlp' || shape[0] === 1) {
      const header = [tiny[0]! - 1, tiny[1]! - 1, tiny[2]! - 1, 0, sizeByte(outputs), 23, 8, sizeByte(1), sizeByte(8), i % 2, 20, 200, 8, i % 3, 1, i % 2, 10, i % 4];
      const data = Array.from({ length: 24 * 4 }, (_, j) => (j * 37 + i) % 250);
      const labels = Array.from({ length: 24 }, (_, j) => [j % outputs, 1]).flat();
      const targets = Array.from({ length: 24 * outputs }, (_, j) => (j * 11) % 250);
      const small = lowerArch(space.build(arch, { inputShape: tiny as [number, number, number], outputSize: outputs }), outputs);
      write(trainDir, `${space.name}-${i}`, [...header, ...data, ...labels, ...targets, 0, ...encodeNodes(small)]);
    }
    planned++;
  }
  // mcts: the space's decision structure, a linear surrogate, one prefix.
  const s = decisionStructure(space);
  if (s && s.slotOptions.length <= 63 && s.gateParent.length <= 31 && s.gateAllowed.length <= 255) {
    const features = Array.from(s.slotOptions).reduce((a, b) => a + b, 0);
    const bytes = [
      s.slotOptions.length, s.gateParent.length,
      ...Array.from(s.slotOptions, (o) => sizeByte(o % 16)),
      ...Array.from(s.slotGate, (g) => g + 1),
      ...Array.from(s.gateParent, (g) => g + 1),
      ...Array.from(s.gateSlot, (g) => g + 1),
      s.gateAllowed.length, ...Array.from(s.gateAllowed),
      128, Math.min(255, features), ...Array.from({ length: Math.min(255, features) }, (_, j) => 100 + ((j * 29) % 56)),
      0, 1, 1, 1, 16, 3, 1, 1,
    ];
    write(mctsDir, space.name, bytes);
  }
}
console.log(`wrote ${planned} plan seeds, ${readdirSync(trainDir).length} train seeds, ${readdirSync(mctsDir).length} mcts seeds under ${path.relative(root, corpus)}`);
