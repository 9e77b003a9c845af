// Test support for eviction races: an MDT on a temporary file whose glimpse waits until the test hands it the objects' size.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Mdt } from '../../src/lustre/mds/mdt.ts';
import type { ServerSession } from '../../src/lustre/protocol/rpc-server.ts';
import { fourOsts } from './mds-fixtures.ts';

/** A server session that goes nowhere (pushes are dropped). */
export function fakeSession(id: number): ServerSession {
  return { id, remote: 'test', data: new Map(), push: () => {}, onClose: () => {}, closed: false };
}

/**
 * An MDT (closed and removed after the test) whose glimpse resolves `glimpsing` when it starts
 * and then waits for `objects`: the test decides what happens while an eviction glimpses.
 */
export async function mdtWithHeldGlimpse(t: TestContext): Promise<{
  mdt: Mdt;
  glimpsing: PromiseWithResolvers<void>;
  objects: PromiseWithResolvers<number>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-glimpse-'));
  const glimpsing = Promise.withResolvers<void>();
  const objects = Promise.withResolvers<number>();
  const mdt = await Mdt.open({
    path: join(dir, 'mdt.db'),
    fsname: 'fs',
    osts: async () => fourOsts(),
    destroyObjects: async () => {},
    glimpse: () => {
      glimpsing.resolve();
      return objects.promise;
    },
  });
  t.after(async () => {
    await mdt.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { mdt, glimpsing, objects };
}
