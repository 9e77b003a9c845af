import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logger } from '../lib/log.ts';
import { waitFor } from '../lib/wait-for.ts';
import { KubeError } from '../platform/kube.ts';
import type { LeaseRecord, LeaseStore } from '../platform/kube-core.ts';
import { LeaderElector } from './leader-election.ts';

/** A Lease in memory with the API server's optimistic concurrency. */
class MemoryLease implements LeaseStore {
  rec: LeaseRecord | undefined;
  #rv = 0;
  failing = false;
  async read(): Promise<LeaseRecord | undefined> {
    if (this.failing) throw new KubeError('Unavailable', 'down');
    return this.rec ? { ...this.rec } : undefined;
  }
  async write(lease: LeaseRecord): Promise<LeaseRecord> {
    if (this.failing) throw new KubeError('Unavailable', 'down');
    if ((this.rec?.resourceVersion ?? undefined) !== lease.resourceVersion)
      throw new KubeError('Conflict', 'conflict');
    this.rec = { ...lease, resourceVersion: String(++this.#rv) };
    return { ...this.rec };
  }
}

const until = (what: string, cond: () => boolean, timeoutMs = 5_000) =>
  waitFor(what, cond, { timeoutMs, intervalMs: 5 });

const timings = { leaseDurationMs: 300, renewDeadlineMs: 150, retryPeriodMs: 20 };

function candidate(store: LeaseStore, identity: string, state: { leading: Set<string> }) {
  const ac = new AbortController();
  const elector = new LeaderElector({
    store,
    identity,
    log: logger('test'),
    ...timings,
    lead: async (signal) => {
      state.leading.add(identity);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      state.leading.delete(identity);
    },
  });
  const run = elector.run(ac.signal);
  return { stop: () => ac.abort(), run };
}

test('of two replicas exactly one leads; the other takes over at once when the leader stops', async (t) => {
  const store = new MemoryLease();
  const state = { leading: new Set<string>() };
  const a = candidate(store, 'a', state);
  t.after(() => a.stop());
  await until('a to lead', () => state.leading.has('a'));
  const b = candidate(store, 'b', state);
  t.after(() => b.stop());
  // b must not lead while a renews: watch for longer than a lease duration.
  const watchUntil = Date.now() + timings.leaseDurationMs * 2;
  while (Date.now() < watchUntil) {
    assert.equal(state.leading.size, 1);
    await new Promise((r) => setTimeout(r, 10));
  }
  a.stop();
  await a.run;
  assert.equal(store.rec?.holderIdentity, undefined, 'a released the lease');
  await until('b to lead', () => state.leading.has('b'));
  assert.equal(store.rec?.leaseTransitions, 1, 'the change of holder is counted');
  b.stop();
  await b.run;
});

test('a leader that cannot renew steps down before its lease could be taken', async (t) => {
  const store = new MemoryLease();
  const state = { leading: new Set<string>() };
  const a = candidate(store, 'a', state);
  t.after(() => a.stop());
  await until('a to lead', () => state.leading.has('a'));
  store.failing = true;
  const lostAt = Date.now();
  await until('a to step down', () => !state.leading.has('a'));
  assert.ok(Date.now() - lostAt < timings.leaseDurationMs + 100, 'stepped down within the lease duration');
  a.stop();
  await a.run;
});

test('a lease held by another replica is taken only after it has not changed for a whole duration', async (t) => {
  const store = new MemoryLease();
  await store.write({
    holderIdentity: 'gone',
    leaseDurationSeconds: 1,
    renewTime: new Date(0),
    leaseTransitions: 3,
  });
  const state = { leading: new Set<string>() };
  const started = Date.now();
  const b = candidate(store, 'b', state);
  t.after(() => b.stop());
  await until('b to lead', () => state.leading.has('b'));
  assert.ok(Date.now() - started >= timings.leaseDurationMs, 'b waited out the lease on its own clock');
  assert.equal(store.rec?.leaseTransitions, 4);
  b.stop();
  await b.run;
});

test('a stop that lands while the lease is being won stops the elector at once and releases the lease', async () => {
  // The write reaches the server, but the stop comes before the elector starts leading: the
  // stop's abort event has already fired by the time the leader would listen for it.
  const store = new MemoryLease();
  const ac = new AbortController();
  const { read, write } = { read: store.read.bind(store), write: store.write.bind(store) };
  let readsAfterStop = 0;
  store.read = async () => {
    if (ac.signal.aborted) {
      readsAfterStop++;
      throw new KubeError('Unavailable', 'down'); // so that an elector that missed the stop still ends
    }
    return await read();
  };
  store.write = async (lease) => {
    const out = await write(lease);
    if (lease.holderIdentity) ac.abort();
    return out;
  };
  let leading = false;
  const elector = new LeaderElector({
    store,
    identity: 'a',
    log: logger('test'),
    ...timings,
    lead: async (signal) => {
      leading = true;
      if (!signal.aborted)
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      leading = false;
    },
  });
  await elector.run(ac.signal);
  assert.equal(leading, false);
  assert.equal(readsAfterStop, 0, 'no attempt to renew a lease after the stop');
  assert.equal(store.rec?.holderIdentity, undefined, 'the lease was released');
});

test('a renewal that does not answer is cut at the renew deadline, counted from the last renewal’s start: the leader steps down by then', async (t) => {
  // Attempts every 100 ms, so an attempt bounded by anything but the time left (e.g. twice the
  // retry period) would run past the 150 ms deadline, towards the 300 ms others wait.
  const slow = { leaseDurationMs: 300, renewDeadlineMs: 150, retryPeriodMs: 100 };
  const store = new MemoryLease();
  const write = store.write.bind(store);
  let hang = false;
  const cut: number[] = [];
  store.write = (lease, signal?: AbortSignal) => {
    if (!hang) return write(lease);
    // A server that never answers: the call ends only when its signal aborts.
    return new Promise((_resolve, reject) =>
      signal?.addEventListener('abort', () => {
        cut.push(Date.now());
        reject(signal.reason);
      }),
    );
  };
  let steppedDownAt = 0;
  const ac = new AbortController();
  t.after(() => ac.abort());
  let leading = false;
  const run = new LeaderElector({
    store,
    identity: 'a',
    log: logger('test'),
    ...slow,
    lead: async (signal) => {
      leading = true;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      steppedDownAt = Date.now();
      leading = false;
    },
  }).run(ac.signal);
  await until('a to lead', () => leading);
  hang = true;
  const renewedAt = () => store.rec?.renewTime?.getTime() ?? 0;
  await until('a to step down', () => steppedDownAt !== 0);
  const deadline = renewedAt() + slow.renewDeadlineMs;
  assert.ok(cut.length > 0, 'a renewal was attempted and cut');
  const slack = 50;
  for (const at of cut)
    assert.ok(at <= deadline + slack, `an attempt ran ${at - deadline} ms past the deadline`);
  assert.ok(
    steppedDownAt <= deadline + slack,
    `stepped down ${steppedDownAt - deadline} ms after the renew deadline`,
  );
  ac.abort();
  await run;
});
