import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Arch } from '../../lib/arch/arch.js';
import { loadDataset } from '../../lib/data/load.js';
import { PROXY_NAMES, proxyRanks, scoreProxies } from '../../lib/estimation/proxies.js';
import { native, type NativeNode } from '../../lib/native/binding.js';
import { packageRoot } from '../../lib/util/package-root.js';

const archs: Arch[] = [
  { type: 'mlp', layers: [{ units: 64 }] },
  { type: 'mlp', layers: [{ units: 128, activation: 'tanh', batchNorm: true }, { units: 32, dropout: 0.2 }] },
  { type: 'cnn', layers: [{ conv: 8 }, { pool: 'max' }, { residual: [{ conv: 8 }] }, { globalPool: 'avg' }] },
];

test('scores are seeded and do not depend on the threads or the other candidates; a bad candidate is invalid with null scores', async (t) => {
  const data = await loadDataset('digits');
  const a = await scoreProxies(archs, data, { seed: 3, threads: 2 });
  const b = await scoreProxies([archs[1]!], data, { seed: 3, threads: 1 });
  const c = await scoreProxies(archs, data, { seed: 4 });
  t.deepEqual(a.map((r) => r.status), ['ok', 'ok', 'ok']);
  t.deepEqual(a[1]!.scores, b[0]!.scores);
  t.notDeepEqual(a[1]!.scores, c[1]!.scores);
  for (const r of a) for (const p of PROXY_NAMES) t.true(Number.isFinite(r.scores[p]), `${p} of ${JSON.stringify(r.arch)}`);
  const [bad] = await scoreProxies([{ type: 'mlp', layers: [{ units: 0 }] }], data);
  t.is(bad!.status, 'invalid');
  t.is(bad!.error, 'Expected an integer between 1 and 1048576 for archs[0].layers[0].units but received 0 of type number');
  t.deepEqual(Object.values(bad!.scores), [null, null, null, null, null, null]);
  await t.throwsAsync(scoreProxies(archs, data, { batchSize: 512 }), {
    instanceOf: RangeError,
    message: 'Expected an integer between 1 and 256 for options.batchSize but received 512 of type number',
  });
  // The average rank: 1 for a candidate best on every proxy.
  const ranks = proxyRanks(a, ['params']);
  t.deepEqual(ranks, [2, 1, 3]);
});

// A direct computation of every proxy in TypeScript, on a 6 → 16 (ReLU) → 3 network (wide enough that no two of the 8 samples
// share an activation pattern, so the NASWOT kernel is non-singular), from the
// engine's own passes through networks that share its weights.
test('every proxy equals a direct TypeScript computation on a tiny network', (t) => {
  const addon = native();
  const n = 8;
  const h = 16;
  const x = Float32Array.from({ length: n * 6 }, (_, i) => Math.sin(i * 1.7) + (i % 3) * 0.3);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const nodes: NativeNode[] = [{ op: 'dense', units: h }, { op: 'activation', activation: 'relu' }, { op: 'dense', units: 3 }];
  const net = new addon.Network(nodes, [1, 1, 6], 3, n, 21);
  const params = net.params().map((p) => Float32Array.from(p.data));
  const p = net.proxies(x, labels, n);
  const close = (a: number, b: number, what: string) => t.true(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  const fresh = () => {
    const m = new addon.Network(nodes, [1, 1, 6], 3, n, 0);
    m.setParams(params.map((q) => Float32Array.from(q)));
    return m;
  };
  // gradNorm and snip: one training pass of the mean cross-entropy.
  const m = fresh();
  const y = m.forward(x, n, true);
  const { grad } = addon.loss('cross_entropy', y, labels, n, 3);
  const grads = m.backward(grad, false).params;
  const weights = [0, 2];
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, g) => s + g * g, 0));
  close(p.gradNorm, weights.reduce((s, w) => s + norm(grads[w]!), 0), 'gradNorm');
  close(p.snip, weights.reduce((s, w) => s + grads[w]!.reduce((a, g, i) => a + Math.abs(g * params[w]![i]!), 0), 0), 'snip');
  // fisher and naswot need the hidden layer: a head network (dense, ReLU) and a tail (dense).
  const pre = new addon.Network([nodes[0]!], [1, 1, 6], h, n, 0);
  pre.setParams([params[0]!, params[1]!]);
  const z = pre.forward(x, n, true);
  const a = Float32Array.from(z, (v) => Math.max(0, v));
  const tail = new addon.Network([nodes[2]!], [1, 1, h], 3, n, 0);
  tail.setParams([params[2]!, params[3]!]);
  const dy = addon.loss('cross_entropy', tail.forward(a, n, true), labels, n, 3).grad;
  const da = tail.backward(dy, true).input!;
  let fisher = 0;
  for (let s = 0; s < n; s++) for (let c = 0; c < h; c++) fisher += (0.5 * (a[s * h + c]! * da[s * h + c]!) ** 2) / n;
  close(p.fisher, fisher, 'fisher');
  const k = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
    let same = 0;
    for (let u = 0; u < h; u++) same += Number(z[i * h + u]! > 0 === z[j * h + u]! > 0);
    return same;
  }));
  close(p.naswot, logAbsDet(k), 'naswot');
  // jacov: input Jacobians of Σ outputs, their correlation's eigenvalues.
  const j = fresh();
  j.forward(x, n, true);
  const dx = j.backward(new Float32Array(n * 3).fill(1), true).input!;
  const rows = Array.from({ length: n }, (_, s) => {
    const r = Array.from(dx.subarray(s * 6, s * 6 + 6));
    const mean = r.reduce((u, v) => u + v, 0) / 6;
    return r.map((v) => v - mean);
  });
  const corr = rows.map((r) => rows.map((q) => r.reduce((u, v, i) => u + v * q[i]!, 0) / Math.sqrt(r.reduce((u, v) => u + v * v, 0) * q.reduce((u, v) => u + v * v, 0))));
  const jacov = -eigenvalues(corr).reduce((s, l) => s + Math.log(Math.max(l, 0) + 1e-5) + 1 / (Math.max(l, 0) + 1e-5), 0);
  close(p.jacov, jacov, 'jacov');
  // synflow: |θ|, one all-ones sample, Σ θ·∂(Σ y)/∂θ over the weights.
  const s = fresh();
  s.setParams(params.map((q) => Float32Array.from(q, Math.abs)));
  s.forward(new Float32Array(6).fill(1), 1, false);
  const sg = s.backward(new Float32Array(3).fill(1), false).params;
  close(p.synflow, weights.reduce((acc, w) => acc + sg[w]!.reduce((u, g, i) => u + g * Math.abs(params[w]![i]!), 0), 0), 'synflow');
});

test('nasx proxy --json prints one object per architecture', (t) => {
  const r = spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'nasx.js'), 'proxy', '--sample', '5', '--json', '--seed', '2'], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 5);
  for (const o of lines) {
    t.deepEqual(Object.keys(o), ['arch', 'hash', 'status', 'params', 'flops', 'scores', 'seconds']);
    t.deepEqual(Object.keys(o.scores), [...PROXY_NAMES]);
  }
});

/** log |det A| by Gaussian elimination with partial pivoting. */
function logAbsDet(m: number[][]): number {
  const a = m.map((r) => [...r]);
  const n = a.length;
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const d = a[c]![c]!;
    if (d === 0) return -Infinity;
    s += Math.log(Math.abs(d));
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / d;
      for (let k = c; k < n; k++) a[r]![k]! -= f * a[c]![k]!;
    }
  }
  return s;
}

/** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations. */
function eigenvalues(m: number[][]): number[] {
  const a = m.map((r) => [...r]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) if (p !== q) off += a[p]![q]! ** 2;
    if (off < 1e-24) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p]![q]!) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
        const tn = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(tn * tn + 1);
        const s = tn * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!, akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!, aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]!).sort((x, y) => x - y);
}
