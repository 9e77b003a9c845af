// createFsVolume over an in-memory FileSystem store (the Kubernetes seam): what a failed restore leaves behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backup, FileSystem } from '../../api/index.ts';
import { GIB } from './capacity.ts';
import { createFsVolume } from './fs-volumes.ts';
import type { ResourceStore } from './stores.ts';

/** FileSystems by name; a created one turns AVAILABLE with `restoredGiB`, as the operator restores a backup. */
function fileSystemStore(restoredGiB: number): ResourceStore<FileSystem> & { names(): string[] } {
  const objs = new Map<string, FileSystem>();
  return {
    names: () => [...objs.keys()],
    async get(_ns, name) {
      return structuredClone(objs.get(name));
    },
    async create(obj) {
      const made: FileSystem = {
        ...obj,
        status: {
          lifecycle: 'AVAILABLE',
          dnsName: 'mgs.example',
          mountName: 'abcd',
          storageCapacity: restoredGiB,
        },
      } as FileSystem;
      objs.set(obj.metadata.name, made);
      return structuredClone(made);
    },
    async delete(_ns, name) {
      objs.delete(name);
    },
    async mergePatch() {
      throw new Error('not used');
    },
    async list() {
      return [...objs.values()];
    },
  };
}

const backup = {
  status: { lifecycle: 'AVAILABLE', backupID: 'backup-0123456789abcdef0' },
} as unknown as Backup;

function restore(fileSystems: ResourceStore<FileSystem>, required: number, limit = 0) {
  return createFsVolume(
    {
      stores: { fileSystems, backups: {} as ResourceStore<Backup> },
      namespace: 'nacre-system',
      waitMs: 1_000,
    },
    {
      objectName: 'pvc-1',
      csiName: 'pvc-1',
      spec: { lustreConfiguration: { deploymentType: 'PERSISTENT_2' } } as FileSystem['spec'],
      range: { required, limit },
      snapshot: { backup, snapshotId: 'snap/nacre-system/s1' },
    },
    AbortSignal.timeout(5_000),
  );
}

describe('restoring a snapshot into a file-system-per-volume volume', () => {
  it('a claim larger than the snapshot is OutOfRange, saying what to ask for, and leaves no FileSystem', async () => {
    const store = fileSystemStore(1200);
    await assert.rejects(restore(store, 2400 * GIB), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'OutOfRange');
      assert.match(err.message, /at most the snapshot's size, then expand/);
      return true;
    });
    assert.deepEqual(store.names(), []);
  });

  it('a limit below the snapshot is OutOfRange and leaves no FileSystem', async () => {
    const store = fileSystemStore(2400);
    await assert.rejects(restore(store, 1200 * GIB, 1200 * GIB), /above the limit/);
    assert.deepEqual(store.names(), []);
  });

  it('a claim the snapshot fits is restored and kept', async () => {
    const store = fileSystemStore(1200);
    const v = await restore(store, 1000 * GIB);
    assert.equal(v.capacityBytes, String(1200 * GIB));
    assert.deepEqual(v.contentSource, { snapshot: { snapshotId: 'snap/nacre-system/s1' } });
    assert.deepEqual(store.names(), ['pvc-1']);
  });
});

describe('repeating CreateVolume for a file-system-per-volume volume', () => {
  it('finds the same volume when the parameters arrive in another order (the provisioner sends a Go map)', async () => {
    const store = fileSystemStore(1200);
    const deps = {
      stores: { fileSystems: store, backups: {} as ResourceStore<Backup> },
      namespace: 'ns',
      waitMs: 1_000,
    };
    const create = (spec: FileSystem['spec']) =>
      createFsVolume(
        deps,
        { objectName: 'pvc-2', csiName: 'pvc-2', spec, range: { required: GIB, limit: 0 } },
        AbortSignal.timeout(5_000),
      );
    const first = await create({
      storageType: 'SSD',
      lustreConfiguration: { deploymentType: 'PERSISTENT_2', perUnitStorageThroughput: 125 },
    } as FileSystem['spec']);
    const again = await create({
      lustreConfiguration: { perUnitStorageThroughput: 125, deploymentType: 'PERSISTENT_2' },
      storageType: 'SSD',
    } as FileSystem['spec']);
    assert.equal(again.volumeId, first.volumeId);
    assert.deepEqual(store.names(), ['pvc-2']);
  });
});
