/**
 * The Storage contract, run against every implementation (memory, SQLite, PostgreSQL) on a real
 * backend: what the Study relies on.
 */
import type { ExecutionContext } from 'ava';
import type { Storage } from '../../lib/study/storage/storage.js';

export async function checkStorageContract(t: ExecutionContext, storage: Storage, name: string): Promise<void> {
  const record = { name, space: 'mlp', strategy: 'random', seed: 3, budget: { evaluations: 5 }, options: { parallel: 2 }, status: 'pending' as const };
  const created = await storage.createStudy(record);
  t.is(created.name, name);
  await t.throwsAsync(storage.createStudy(record), { code: 'ERR_NASX_STORAGE', message: new RegExp(`A study named "${name}" already exists`) });
  t.like(await storage.getStudy(name), { name, space: 'mlp', strategy: 'random', seed: 3, budget: { evaluations: 5 }, options: { parallel: 2 } });
  t.is(await storage.getStudy(`${name}-none`), undefined);

  // Ask: trials inserted running with the state, in one transaction.
  const ids = await storage.transaction(name, async (tx) => {
    t.is(await tx.readState(), undefined);
    const ids = await tx.insertTrials([
      { hash: 'a', arch: { units: 1 }, fidelity: { epochs: 1 }, state: 'running', worker: 'w1' },
      { hash: 'b', arch: { units: 2 }, fidelity: { epochs: 1 }, state: 'running', worker: 'w1' },
      { hash: 'c', arch: { units: 3 }, fidelity: { epochs: 1 }, state: 'pending', parent: 0 },
    ]);
    t.is(await tx.writeState({ strategy: { rng: 7 }, scheduler: null, counters: { culled: 1 } }), 1);
    return ids;
  });
  t.deepEqual(ids, [0, 1, 2]);

  // A throw rolls back everything the transaction wrote.
  await t.throwsAsync(
    storage.transaction(name, async (tx) => {
      await tx.insertTrials([{ hash: 'x', arch: {}, fidelity: {}, state: 'pending' }]);
      await tx.writeState({ strategy: { rng: 99 }, scheduler: null, counters: {} });
      await tx.setStatus('failed');
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  t.is((await storage.trials(name)).length, 3);
  t.is((await storage.getStudy(name))!.status, 'pending');

  // Tell: finished trials with their results (non-finite numbers become null).
  await storage.transaction(name, async (tx) => {
    const s = await tx.readState();
    t.deepEqual(s, { strategy: { rng: 7 }, scheduler: null, counters: { culled: 1 }, version: 1 });
    await tx.finishTrials([
      { id: 0, state: 'complete', score: 0.5, result: { score: 0.5, metrics: { loss: Number.NaN } } },
      { id: 1, state: 'failed', score: null, result: { error: 'diverged' } },
    ]);
    t.is(await tx.writeState({ strategy: { rng: 8 }, scheduler: { rung: 1 }, counters: { culled: 1 } }), 2);
    t.deepEqual(await tx.counts(), { pending: 1, running: 0, complete: 1, failed: 1, pruned: 0 });
    await tx.setStatus('running', { evaluations: 9 });
  });
  const rows = await storage.trials(name);
  t.deepEqual(rows.map((r) => [r.id, r.hash, r.state, r.score]), [[0, 'a', 'complete', 0.5], [1, 'b', 'failed', null], [2, 'c', 'pending', null]]);
  t.deepEqual(rows[0]!.result, { score: 0.5, metrics: { loss: null } });
  t.deepEqual(rows[0]!.arch, { units: 1 });
  t.deepEqual(rows[0]!.fidelity, { epochs: 1 });
  t.is(rows[2]!.parent, 0);
  t.like(await storage.getStudy(name), { status: 'running', budget: { evaluations: 9 } });

  // Claims: pending first, then running trials whose heartbeat is stale; live ones are left alone.
  const [d] = await storage.transaction(name, (tx) => tx.insertTrials([{ hash: 'd', arch: {}, fidelity: {}, state: 'running', worker: 'w2' }]));
  const now = Date.now();
  const claimed = await storage.transaction(name, (tx) => tx.claim('w3', 5, now - 60_000));
  t.deepEqual(claimed.map((r) => [r.id, r.state, r.worker]), [[2, 'running', 'w3']]);
  await storage.heartbeat(name, 'w2', [d!]);
  const stale = await storage.transaction(name, (tx) => tx.claim('w3', 5, Date.now() + 1));
  t.deepEqual(stale.map((r) => r.id).sort(), [2, d].sort(), 'a heartbeat older than the lease is re-claimed');
  await storage.transaction(name, (tx) => tx.requeue([d!]));
  t.like((await storage.trials(name))[d!], { state: 'pending', worker: null });
  await storage.reportIntermediate(name, 2, [0.1, null]);
  t.deepEqual((await storage.trials(name))[2]!.intermediate, [0.1, null]);

  // Blobs and listing.
  await storage.putBlob(name, 'w:a', new Uint8Array([1, 2, 3]));
  await storage.putBlob(name, 'w:a', new Uint8Array([4, 5]));
  t.deepEqual([...(await storage.getBlob(name, 'w:a'))!], [4, 5]);
  await storage.deleteBlob(name, 'w:a');
  t.is(await storage.getBlob(name, 'w:a'), undefined);
  const listed = (await storage.listStudies()).find((s) => s.name === name)!;
  t.deepEqual(listed.trials, { pending: 1, running: 1, complete: 1, failed: 1, pruned: 0 });
  t.is(listed.best, 0.5);
  await t.throwsAsync(storage.transaction(`${name}-none`, async () => 1), { code: 'ERR_NASX_STORAGE', message: /There is no study named/ });
  t.true(await storage.deleteStudy(name));
  t.false(await storage.deleteStudy(name));
}
