// The FSx API over the real MGS and OSS servers: targets are created, grown and destroyed on the OSTs' servers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateFileSystemCommand,
  DeleteFileSystemCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
  FileSystemNotFound,
  type FSxClient,
  UpdateFileSystemCommand,
} from '@aws-sdk/client-fsx';
import {
  ACCESS_KEY,
  ACCOUNT,
  REGION,
  SECRET_KEY,
  SUBNET,
  sdkClient,
  waitFor,
} from '../../../test/fsx/harness.ts';
import { FsError } from '../../lib/errors.ts';
import { type MgsServer, startMgs } from '../../lustre/mgs/mgs-server.ts';
import { parseMountSource } from '../../lustre/mount-source.ts';
import { type OssServer, startOss } from '../../lustre/oss/oss-server.ts';
import { MgsClient } from '../../lustre/protocol/mgs-client.ts';
import { OssClient } from '../../lustre/protocol/oss-client.ts';
import { type FsxApi, MgsTargetAllocator, startFsxApi } from './fsx-server.ts';

const MiB = 1024 * 1024;
let dir: string;
let mgs: MgsServer;
let mgsClient: MgsClient;
let allocator: MgsTargetAllocator;
const oss: OssServer[] = [];
let api: FsxApi;
let fsx: FSxClient;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'nacre-fsx-real-'));
  mgs = await startMgs({ dataDir: path.join(dir, 'mgs'), listen: { host: '127.0.0.1', port: 0 } });
  mgsClient = new MgsClient({ address: mgs.address });
  for (const name of ['oss-a', 'oss-b']) {
    oss.push(
      await startOss({
        dataDir: path.join(dir, name),
        name,
        host: `host-${name}`,
        listen: { host: '127.0.0.1', port: 0 },
        mgsAddress: mgs.address,
        capacityBytes: 8 * 1024 * MiB,
        registerIntervalMs: 200,
      }),
    );
  }
  // The MDS registers itself once it exists; until then the MGS only needs to know one.
  await mgsClient.registerServer({
    name: 'mds-0',
    role: 'mds',
    address: '127.0.0.1:9',
    host: 'host-m',
    capacityBytes: 1024 * MiB,
  });
  allocator = new MgsTargetAllocator(mgs.address, { timeoutMs: 30_000 });
  api = await startFsxApi({
    dataDir: path.join(dir, 'api'),
    listen: { host: '127.0.0.1', port: 0 },
    region: REGION,
    accountId: ACCOUNT,
    credentials: { [ACCESS_KEY]: SECRET_KEY },
    mgs: allocator,
    mountHost: mgs.address,
  });
  fsx = sdkClient(api.endpoint);
});

after(async () => {
  fsx.destroy();
  await api.close();
  allocator.close();
  mgsClient.close();
  for (const s of oss) await s.close();
  await mgs.close();
  await rm(dir, { recursive: true, force: true });
});

async function describeOne(id: string): Promise<FileSystem> {
  return (await fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [id] }))).FileSystems![0]!;
}

function statTarget(address: string, target: string) {
  const c = new OssClient({ address });
  return c.statfs(target).finally(() => c.close());
}

test('a PERSISTENT file system gets replicated OSTs on the OSS servers, grows, and is destroyed', async () => {
  const { FileSystem: created } = await fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 2400,
      SubnetIds: [SUBNET],
      LustreConfiguration: { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
    }),
  );
  const id = created!.FileSystemId!;
  const fs = await waitFor(
    'AVAILABLE',
    async () => {
      const d = await describeOne(id);
      if (d.Lifecycle === 'FAILED') throw new Error(d.FailureDetails?.Message);
      return d.Lifecycle === 'AVAILABLE' ? d : undefined;
    },
    30_000,
  );
  assert.equal(fs.DNSName, mgs.address);
  const fsname = fs.LustreConfiguration!.MountName!;
  const source = parseMountSource(`${fs.DNSName}@tcp:/${fsname}`);
  assert.deepEqual(source, { mgsAddress: mgs.address, fsname });
  const cfg = await mgsClient.getConfig(fsname);
  assert.equal(cfg.osts.length, 2);
  assert.equal(cfg.replicas, 2);
  for (const ost of cfg.osts) {
    assert.equal(ost.capacityBytes, 1200 * MiB);
    assert.equal((await statTarget(ost.address, ost.target)).capacityBytes, 1200 * MiB);
  }

  await fsx.send(new UpdateFileSystemCommand({ FileSystemId: id, StorageCapacity: 4800 }));
  await waitFor(
    'grown',
    async () => {
      const d = await describeOne(id);
      return d.StorageCapacity === 4800 && d.Lifecycle === 'AVAILABLE' ? d : undefined;
    },
    30_000,
  );
  const grown = await mgsClient.getConfig(fsname);
  assert.equal(grown.osts.length, 4);

  await fsx.send(new DeleteFileSystemCommand({ FileSystemId: id }));
  await waitFor(
    'deleted',
    async () => {
      try {
        await describeOne(id);
        return undefined;
      } catch (err) {
        return err instanceof FileSystemNotFound ? true : undefined;
      }
    },
    30_000,
  );
  await assert.rejects(
    mgsClient.getConfig(fsname),
    (e: unknown) => e instanceof FsError && e.code === 'ENOENT',
  );
  await assert.rejects(statTarget(grown.osts[0]!.address, grown.osts[0]!.target));
});

test('a file system larger than the OSS servers can hold becomes FAILED with the MGS reason', async () => {
  const { FileSystem: created } = await fsx.send(
    new CreateFileSystemCommand({
      FileSystemType: 'LUSTRE',
      StorageCapacity: 24_000,
      SubnetIds: [SUBNET],
      LustreConfiguration: { DeploymentType: 'SCRATCH_2' },
    }),
  );
  const failed = await waitFor(
    'FAILED',
    async () => {
      const d = await describeOne(created!.FileSystemId!);
      return d.Lifecycle === 'FAILED' ? d : undefined;
    },
    30_000,
  );
  assert.ok(failed.FailureDetails?.Message);
  await fsx.send(new DeleteFileSystemCommand({ FileSystemId: created!.FileSystemId }));
});
