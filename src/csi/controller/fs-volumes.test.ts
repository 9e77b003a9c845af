// createFsVolume over an in-memory FileSystem store (the Kubernetes seam): what a failed restore leaves behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backup, DataRepositoryAssociation, FileSystem } from '../../api/index.ts';
import { GIB } from './capacity.ts';
import { createFsVolume } from './fs-volumes.ts';
import { parseVolumeParams } from './parameters.ts';
import type { ResourceStore } from './stores.ts';

/** Objects by name; `settle` gives a created object the status the operator would give it. */
function memoryStore<T extends { metadata: { name: string } }>(
  settle: (obj: T) => T,
  patched: (obj: T, patch: object) => T = () => {
    throw new Error('not used');
  },
): ResourceStore<T> & { names(): string[]; patches: object[] } {
  const patches: object[] = [];
  const objs = new Map<string, T>();
  return {
    names: () => [...objs.keys()],
    patches,
    async get(_ns, name) {
      return structuredClone(objs.get(name));
    },
    async create(obj) {
      const made = settle(obj);
      objs.set(obj.metadata.name, made);
      return structuredClone(made);
    },
    async delete(_ns, name) {
      objs.delete(name);
    },
    async mergePatch(_ns, name, patch) {
      const cur = objs.get(name);
      if (!cur) throw new Error(`no ${name}`);
      patches.push(patch);
      const next = patched(cur, patch);
      objs.set(name, next);
      return structuredClone(next);
    },
    async list() {
      return [...objs.values()];
    },
  };
}

/**
 * FileSystems by name; a created one turns AVAILABLE with `restoredGiB`, as the operator restores a
 * backup; a patched storageCapacity is UPDATING, then AVAILABLE at the new size once `grow()` runs.
 */
function fileSystemStore(restoredGiB: number, extra: Partial<FileSystem['status']> = {}) {
  let pending: (() => void) | undefined;
  const store = memoryStore<FileSystem>(
    (obj) =>
      ({
        ...obj,
        status: {
          lifecycle: 'AVAILABLE',
          dnsName: 'mgs.example',
          mountName: 'abcd',
          storageCapacity: restoredGiB,
          ...extra,
        },
      }) as FileSystem,
    (obj, patch) => {
      const storageCapacity = (patch as { spec: { storageCapacity: number } }).spec.storageCapacity;
      const next = { ...obj, spec: { ...obj.spec, storageCapacity } } as FileSystem;
      next.status = { ...obj.status, lifecycle: 'UPDATING' };
      pending = () => {
        next.status = { ...next.status, lifecycle: 'AVAILABLE', storageCapacity };
      };
      return next;
    },
  );
  return Object.assign(store, { grow: () => pending?.() });
}

/** Associations by name; a created one turns AVAILABLE, or MISCONFIGURED for bucket "missing". */
function associationStore() {
  return memoryStore<DataRepositoryAssociation>((obj) => {
    const missing = obj.spec.dataRepositoryPath.startsWith('s3://missing');
    return {
      ...obj,
      status: missing
        ? {
            lifecycle: 'MISCONFIGURED',
            failureDetails: { message: 'The bucket does not exist.' },
            conditions: [],
          }
        : {
            lifecycle: 'AVAILABLE',
            conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: 'AVAILABLE' }],
          },
    } as DataRepositoryAssociation;
  });
}

const backup = {
  status: { lifecycle: 'AVAILABLE', backupID: 'backup-0123456789abcdef0' },
} as unknown as Backup;

function restore(fileSystems: ResourceStore<FileSystem>, required: number, limit = 0, from = backup) {
  return createFsVolume(
    {
      stores: { fileSystems, backups: {} as ResourceStore<Backup>, associations: associationStore() },
      namespace: 'nacre-system',
      waitMs: 1_000,
    },
    {
      objectName: 'pvc-1',
      csiName: 'pvc-1',
      spec: { lustreConfiguration: { deploymentType: 'PERSISTENT_2' } } as FileSystem['spec'],
      range: { required, limit },
      snapshot: { backup: from, snapshotId: 'snap/nacre-system/s1' },
    },
    AbortSignal.timeout(5_000),
  );
}

describe('restoring a snapshot into a file-system-per-volume volume', () => {
  it('a claim larger than the snapshot binds: restored, grown to the next FSx step, returned once grown; a repeat waits on the same FileSystem', async () => {
    const store = fileSystemStore(1200, { deploymentType: 'PERSISTENT_2' });
    await assert.rejects(restore(store, 1201 * GIB), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'Aborted');
      assert.match(err.message, /growing from \d+ bytes to 2400 GiB; retry/);
      return true;
    });
    assert.deepEqual(store.patches, [{ spec: { storageCapacity: 2400 } }]);
    await assert.rejects(restore(store, 1201 * GIB), { code: 'Aborted' });
    store.grow();
    const v = await restore(store, 1201 * GIB);
    assert.equal(v.capacityBytes, String(2400 * GIB));
    assert.deepEqual(v.contentSource, { snapshot: { snapshotId: 'snap/nacre-system/s1' } });
    assert.deepEqual(store.names(), ['pvc-1']);
    assert.equal(store.patches.length, 1, 'the repeats patch nothing more');
  });

  it('a claim whose next FSx step is above the limit is OutOfRange, saying what to ask for, and leaves no FileSystem', async () => {
    const store = fileSystemStore(1200, { deploymentType: 'PERSISTENT_2' });
    await assert.rejects(restore(store, 1201 * GIB, 2000 * GIB), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'OutOfRange');
      assert.match(err.message, /next valid capacity .* is 2400 GiB .* above the limit/);
      return true;
    });
    assert.deepEqual(store.names(), []);
    assert.deepEqual(store.patches, []);
  });

  it('a deployment type that cannot grow is FailedPrecondition and leaves no FileSystem', async () => {
    const store = fileSystemStore(1200, { deploymentType: 'SCRATCH_1' });
    await assert.rejects(restore(store, 2400 * GIB), {
      code: 'FailedPrecondition',
      message: /SCRATCH_1 file system cannot grow/,
    });
    assert.deepEqual(store.names(), []);
  });

  it('a snapshot recorded above the limit is OutOfRange before anything is made', async () => {
    const store = fileSystemStore(2400);
    const sized = { ...backup, metadata: { name: 's1', annotations: { 'csi.nacre.dev/size-gib': '2400' } } };
    await assert.rejects(
      restore(store, 1200 * GIB, 1200 * GIB, sized as Backup),
      /snapshot has \d+ bytes, above the limit/,
    );
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
      stores: { fileSystems: store, backups: {} as ResourceStore<Backup>, associations: associationStore() },
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

describe('a file-system-per-volume volume linked to S3', () => {
  const persistent2 = {
    deploymentType: 'PERSISTENT_2',
    perUnitStorageThroughput: '125',
    s3ImportPath: 's3://bucket/in/',
    autoImportPolicy: 'NEW_CHANGED',
    autoExportPolicy: 'NEW',
  };
  function setup(link: Partial<FileSystem['status']> = { dataRepository: { lifecycle: 'AVAILABLE' } }) {
    const fileSystems = fileSystemStore(1200, link);
    const associations = associationStore();
    const deps = {
      stores: { fileSystems, associations, backups: {} as ResourceStore<Backup> },
      namespace: 'ns',
      waitMs: 1_000,
    };
    const create = (name: string, parameters: Record<string, string>) => {
      const p = parseVolumeParams(parameters);
      assert.equal(p.mode, 'fs');
      if (p.mode !== 'fs') throw new Error('unreachable');
      return createFsVolume(
        deps,
        {
          objectName: name,
          csiName: name,
          spec: p.spec,
          range: { required: GIB, limit: 0 },
          ...(p.association && { association: p.association }),
        },
        AbortSignal.timeout(5_000),
      );
    };
    return { fileSystems, associations, create };
  }

  it('on PERSISTENT_2 gets an association at / with the policies as events, named as its FileSystem', async () => {
    const { associations, create } = setup();
    await create('pvc-s3', persistent2);
    const dra = await associations.get('ns', 'pvc-s3', AbortSignal.timeout(1_000));
    assert.deepEqual(dra?.spec, {
      fileSystemRef: { name: 'pvc-s3' },
      fileSystemPath: '/',
      dataRepositoryPath: 's3://bucket/in/',
      batchImportMetaDataOnCreate: true,
      s3: { autoImportPolicy: { events: ['NEW', 'CHANGED'] }, autoExportPolicy: { events: ['NEW'] } },
    });
  });

  it('a repeat with another S3 path or policy is AlreadyExists; the same parameters find the volume', async () => {
    const { create } = setup();
    const first = await create('pvc-s3', persistent2);
    assert.equal((await create('pvc-s3', { ...persistent2 })).volumeId, first.volumeId);
    await assert.rejects(create('pvc-s3', { ...persistent2, s3ImportPath: 's3://bucket/other/' }), {
      code: 'AlreadyExists',
    });
    await assert.rejects(create('pvc-s3', { ...persistent2, autoExportPolicy: 'NONE' }), {
      code: 'AlreadyExists',
    });
    const legacy = { deploymentType: 'SCRATCH_2', s3ImportPath: 's3://bucket/in' };
    await create('pvc-legacy', legacy);
    await assert.rejects(create('pvc-legacy', { ...legacy, autoImportPolicy: 'NEW' }), {
      code: 'AlreadyExists',
    });
  });

  it('an association the backend cannot make is InvalidArgument with its reason, and leaves nothing', async () => {
    const { fileSystems, associations, create } = setup();
    await assert.rejects(create('pvc-bad', { ...persistent2, s3ImportPath: 's3://missing/in/' }), {
      code: 'InvalidArgument',
      message: /MISCONFIGURED: The bucket does not exist/,
    });
    assert.deepEqual(fileSystems.names(), []);
    assert.deepEqual(associations.names(), []);
  });
});

describe('a file system linked through s3ImportPath (the legacy link)', () => {
  const legacy = { deploymentType: 'SCRATCH_2', s3ImportPath: 's3://bucket/in/' };
  async function attempt(link: NonNullable<FileSystem['status']>['dataRepository']) {
    const fileSystems = fileSystemStore(1200, link ? { dataRepository: link } : {});
    const p = parseVolumeParams(legacy);
    if (p.mode !== 'fs') throw new Error('unreachable');
    const result = createFsVolume(
      {
        stores: { fileSystems, associations: associationStore(), backups: {} as ResourceStore<Backup> },
        namespace: 'ns',
        waitMs: 300,
      },
      { objectName: 'pvc-l', csiName: 'pvc-l', spec: p.spec, range: { required: GIB, limit: 0 } },
      AbortSignal.timeout(5_000),
    );
    return { result, fileSystems };
  }

  it('is not returned while its import at creation runs: Aborted, retry', async () => {
    const { result, fileSystems } = await attempt({ lifecycle: 'CREATING' });
    await assert.rejects(result, { code: 'Aborted' });
    assert.deepEqual(fileSystems.names(), ['pvc-l']);
  });

  it('is returned once the link is AVAILABLE', async () => {
    const { result } = await attempt({ lifecycle: 'AVAILABLE' });
    assert.equal((await result).volumeId, 'fs/ns/pvc-l');
  });

  it('a link that failed is InvalidArgument with the reason, and the file system is deleted', async () => {
    const { result, fileSystems } = await attempt({
      lifecycle: 'FAILED',
      failureDetails: { message: 'The specified bucket does not exist' },
    });
    await assert.rejects(result, {
      code: 'InvalidArgument',
      message: /is FAILED: The specified bucket does not exist/,
    });
    assert.deepEqual(fileSystems.names(), []);
  });
});
